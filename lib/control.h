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

/* Answers REQUEST for CALLER: checks the version, finds the op, runs it and
 * wraps its result or error. Never NULL. */
JsonObject *canary_control_handle(struct canary_control_context *ctx,
				  const struct canary_caller *caller, JsonObject *request);

#endif
