/* control.h: the protocol between canary and canaryd: framed JSON requests
 * and responses, and the one function that answers a request for a caller.
 * Documented for outsiders in canary-control(7). */
#ifndef CANARY_CONTROL_H
#define CANARY_CONTROL_H

#include <glib.h>
#include <json-glib/json-glib.h>

#include "caller.h"
#include "config.h"
#include "store.h"

/* The protocol version: requests and responses carry it as "canary". */
#define CANARY_CONTROL_VERSION 1

/*
 * A request:  {"canary": 1, "op": "list", "args": {...}}
 * A response: {"canary": 1, "ok": true, "result": {...}}
 *         or: {"canary": 1, "ok": false, "error": {"code": CODE, "message": TEXT}}
 * Bytes (sealed blobs) travel as base64 strings. The framing on the wire
 * (canary_control_read_frame / write_frame) belongs to control.c.
 */

/*
 * Framing (canary-control(7)): every message on the wire is a frame: a
 * 4-byte big-endian length N, then N bytes of UTF-8 JSON text whose top
 * level is an object. Nothing else is ever sent. One connection carries any
 * number of request/response pairs, one at a time.
 */
#define CANARY_CONTROL_FRAME_HEADER 4
/* Where canaryd listens unless [control] socket says otherwise. */
#define CANARY_CONTROL_DEFAULT_SOCKET "/run/canary/control"
/* A request is small (arguments, references, a sealed note). */
#define CANARY_CONTROL_REQUEST_MAX (1024 * 1024)
/* A response may carry sealed blobs: a whole message of at most 4G raw is
 * refused by [limits] max_message_size long before; 256 MiB covers base64
 * of a 50M message and its attachments with room to spare. */
#define CANARY_CONTROL_RESPONSE_MAX (256 * 1024 * 1024)
/* JSON nesting deeper than this is refused before it is parsed (the parser
 * recurses). No message of the protocol nests deeper than 8. */
#define CANARY_CONTROL_MAX_DEPTH 32
/* canaryd's patience with one client: the whole of a request must arrive
 * within this long of the previous answer (or of connecting), and each
 * write of an answer must make progress within it. */
#define CANARY_CONTROL_TIMEOUT_MS (30 * 1000)

/* Error codes of a refused or failed request; each maps to one exit code of
 * canary(1). */
typedef enum {
	CANARY_CONTROL_ERROR_PROTOCOL,  /* "protocol": malformed frame or request, wrong version */
	CANARY_CONTROL_ERROR_USAGE,     /* "usage": unknown op, missing or wrong argument */
	CANARY_CONTROL_ERROR_FORBIDDEN, /* "forbidden": the caller lacks a group; says which */
	CANARY_CONTROL_ERROR_NOT_FOUND, /* "not-found": no such case, attachment or event */
	CANARY_CONTROL_ERROR_STORE,     /* "store": the database failed */
	CANARY_CONTROL_ERROR_FAILED,    /* "failed": anything else */
	CANARY_CONTROL_ERROR_UNAVAILABLE, /* "unavailable": canaryd cannot be reached (client side
					     only) */
} CanaryControlError;
#define CANARY_CONTROL_ERROR canary_control_error_quark()
GQuark canary_control_error_quark(void);

/* "forbidden" for CANARY_CONTROL_ERROR_FORBIDDEN, and back (-1 when unknown). */
const char *canary_control_error_name(CanaryControlError code);
int canary_control_error_from_name(const char *name);

/* Parses one frame's payload DATA (LEN bytes, not NUL-terminated): UTF-8
 * JSON whose top level is an object, nested at most CANARY_CONTROL_MAX_DEPTH.
 * Returns the object (new) or NULL with a PROTOCOL error. */
JsonObject *canary_control_parse(const char *data, gsize len, GError **error);

/* Reads the payload of one frame of at most MAX bytes from FD, waiting at
 * most TIMEOUT_MS in all (-1: no limit). Returns it (new), or NULL: with
 * ERROR set (PROTOCOL: truncated, oversize or empty frame, or the time ran
 * out; FAILED: a read error), or with *EOF_R TRUE and no error when the
 * peer closed the connection cleanly between two frames. */
GBytes *canary_control_read_payload(int fd, gsize max, int timeout_ms, gboolean *eof_r,
				    GError **error);

/* canary_control_read_payload() then canary_control_parse(). */
JsonObject *canary_control_read_frame(int fd, gsize max, int timeout_ms, gboolean *eof_r,
				      GError **error);

/* Writes PAYLOAD (LEN bytes, at most MAX) as one frame to FD; each write
 * must make progress within TIMEOUT_MS (-1: no limit). A payload over MAX
 * (or empty) is a USAGE error and nothing is written. */
gboolean canary_control_write_payload(int fd, const void *payload, gsize len, gsize max,
				      int timeout_ms, GError **error);

/* Writes MESSAGE as one frame of at most MAX bytes. */
gboolean canary_control_write_frame(int fd, JsonObject *message, gsize max, int timeout_ms,
				    GError **error);

/* What a request is answered against: the configuration and the store of the
 * process that answers (canaryd, or canary itself when run as root or as
 * canaryd's user). */
struct canary_control_context {
	const struct canary_config *config;
	struct canary_store *store;
};

/* One operation. RUN returns the "result" object (new), or NULL with ERROR
 * set in the CANARY_CONTROL_ERROR domain (any other domain is answered as
 * "failed" or "store"). ARGS is never NULL (an empty object when absent). */
struct canary_control_op {
	const char *name;
	JsonObject *(*run)(struct canary_control_context *ctx, const struct canary_caller *caller,
			   JsonObject *args, GError **error);
};

/* The operations canaryd answers (case.c); NULL when NAME is none of them. */
const struct canary_control_op *canary_case_find_op(const char *name);

/* Checks REQUEST's version, op and args without running anything: returns
 * the op and *ARGS_R (new; an empty object when absent), or NULL with a
 * PROTOCOL or USAGE error. */
const struct canary_control_op *canary_control_check_request(JsonObject *request,
							     JsonObject **args_r, GError **error);

/* The arguments of a request, checked: a missing or null member is absent;
 * a member of the wrong type is a USAGE error naming it. */

/* String NAME: *VALUE_R NULL when absent, which is a USAGE error when
 * REQUIRED. *VALUE_R borrows from ARGS. */
gboolean canary_control_arg_string(JsonObject *args, const char *name, gboolean required,
				   const char **value_r, GError **error);

/* Whole number NAME into *VALUE_R (left alone when absent); *GIVEN_R says
 * whether it was there. */
gboolean canary_control_arg_int(JsonObject *args, const char *name, gint64 *value_r,
				gboolean *given_r, GError **error);

/* Boolean NAME; FALSE when absent. */
gboolean canary_control_arg_bool(JsonObject *args, const char *name, gboolean *value_r,
				 GError **error);

/* For ops that want the value itself: string NAME as above (NULL when
 * absent or refused), and whether boolean NAME is there and true. */
const char *canary_control_arg_text(JsonObject *args, const char *name, gboolean required,
				    GError **error);
gboolean canary_control_arg_true(JsonObject *args, const char *name);

/* A response refusing with ERROR: its code in our domain ("store" for the
 * store's, else "failed") and its message. New object. */
JsonObject *canary_control_error_response(const GError *error);

/* Answers REQUEST for CALLER: checks the version, finds the op, runs it and
 * wraps its result or error. Never NULL. */
JsonObject *canary_control_handle(struct canary_control_context *ctx,
				  const struct canary_caller *caller, JsonObject *request);

#endif
