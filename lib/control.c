/* control.c: answering one request of the control protocol for a caller. */
#include "control.h"

#include <errno.h>
#include <limits.h>
#include <sys/poll.h> /* <poll.h> would find lib/poll.h */
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

G_DEFINE_QUARK(canary - control - error - quark, canary_control_error)

static const char *const error_names[] = {
	[CANARY_CONTROL_ERROR_PROTOCOL] = "protocol",
	[CANARY_CONTROL_ERROR_USAGE] = "usage",
	[CANARY_CONTROL_ERROR_FORBIDDEN] = "forbidden",
	[CANARY_CONTROL_ERROR_NOT_FOUND] = "not-found",
	[CANARY_CONTROL_ERROR_STORE] = "store",
	[CANARY_CONTROL_ERROR_FAILED] = "failed",
	[CANARY_CONTROL_ERROR_UNAVAILABLE] = "unavailable",
};

const char *canary_control_error_name(CanaryControlError code)
{
	if ((guint)code >= G_N_ELEMENTS(error_names))
		return "failed";
	return error_names[code];
}

int canary_control_error_from_name(const char *name)
{
	for (guint i = 0; i < G_N_ELEMENTS(error_names); i++)
		if (g_strcmp0(name, error_names[i]) == 0)
			return (int)i;
	return -1;
}

static JsonObject *response_new(gboolean ok)
{
	JsonObject *response = json_object_new();
	json_object_set_int_member(response, "canary", CANARY_CONTROL_VERSION);
	json_object_set_boolean_member(response, "ok", ok);
	return response;
}

static JsonObject *error_response(CanaryControlError code, const char *message)
{
	JsonObject *response = response_new(FALSE);
	JsonObject *error = json_object_new();
	json_object_set_string_member(error, "code", canary_control_error_name(code));
	json_object_set_string_member(error, "message", message);
	json_object_set_object_member(response, "error", error);
	return response;
}

/* The code to answer for ERROR: its own in our domain, else store or failed. */
static CanaryControlError code_of(const GError *error)
{
	if (error->domain == CANARY_CONTROL_ERROR)
		return (CanaryControlError)error->code;
	if (error->domain == CANARY_STORE_ERROR)
		return CANARY_CONTROL_ERROR_STORE;
	return CANARY_CONTROL_ERROR_FAILED;
}

const struct canary_control_op *canary_control_check_request(JsonObject *request,
							     JsonObject **args_r, GError **error)
{
	JsonNode *version = json_object_get_member(request, "canary");
	if (version == NULL || json_node_get_value_type(version) != G_TYPE_INT64 ||
	    json_node_get_int(version) != CANARY_CONTROL_VERSION) {
		g_set_error_literal(error, CANARY_CONTROL_ERROR, CANARY_CONTROL_ERROR_PROTOCOL,
				    "unsupported protocol version: this canaryd speaks version 1");
		return NULL;
	}
	JsonNode *op_node = json_object_get_member(request, "op");
	const char *op_name = op_node != NULL && JSON_NODE_HOLDS_VALUE(op_node) &&
					      json_node_get_value_type(op_node) == G_TYPE_STRING
				      ? json_node_get_string(op_node)
				      : NULL;
	if (op_name == NULL) {
		g_set_error_literal(error, CANARY_CONTROL_ERROR, CANARY_CONTROL_ERROR_PROTOCOL,
				    "the request has no \"op\"");
		return NULL;
	}
	const struct canary_control_op *op = canary_case_find_op(op_name);
	if (op == NULL) {
		g_set_error(error, CANARY_CONTROL_ERROR, CANARY_CONTROL_ERROR_USAGE,
			    "unknown operation \"%s\"", op_name);
		return NULL;
	}
	JsonNode *args_node = json_object_get_member(request, "args");
	if (args_node != NULL && !JSON_NODE_HOLDS_OBJECT(args_node) &&
	    !JSON_NODE_HOLDS_NULL(args_node)) {
		g_set_error_literal(error, CANARY_CONTROL_ERROR, CANARY_CONTROL_ERROR_PROTOCOL,
				    "\"args\" must be an object");
		return NULL;
	}
	*args_r = args_node != NULL && JSON_NODE_HOLDS_OBJECT(args_node)
			  ? json_object_ref(json_node_get_object(args_node))
			  : json_object_new();
	return op;
}

JsonObject *canary_control_error_response(const GError *error)
{
	return error_response(code_of(error), error->message);
}

JsonObject *canary_control_handle(struct canary_control_context *ctx,
				  const struct canary_caller *caller, JsonObject *request)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(JsonObject) args = NULL;
	const struct canary_control_op *op = canary_control_check_request(request, &args, &error);
	JsonObject *result = op != NULL ? op->run(ctx, caller, args, &error) : NULL;
	if (result == NULL)
		return error_response(error != NULL ? code_of(error) : CANARY_CONTROL_ERROR_FAILED,
				      error != NULL ? error->message : "failed");
	JsonObject *response = response_new(TRUE);
	json_object_set_object_member(response, "result", result);
	return response;
}

/* --- Framing --- */

/* TRUE if the JSON text DATA nests arrays and objects at most MAX_DEPTH deep
 * (brackets inside strings do not count). Checked before parsing: json-glib
 * recurses once per level. */
static gboolean depth_within(const char *data, gsize len, guint max_depth)
{
	guint depth = 0;
	gboolean in_string = FALSE, escaped = FALSE;
	for (gsize i = 0; i < len; i++) {
		char c = data[i];
		if (in_string) {
			if (escaped)
				escaped = FALSE;
			else if (c == '\\')
				escaped = TRUE;
			else if (c == '"')
				in_string = FALSE;
		} else if (c == '"') {
			in_string = TRUE;
		} else if (c == '[' || c == '{') {
			if (++depth > max_depth)
				return FALSE;
		} else if ((c == ']' || c == '}') && depth > 0) {
			depth--;
		}
	}
	return TRUE;
}

JsonObject *canary_control_parse(const char *data, gsize len, GError **error)
{
	if (len == 0 || memchr(data, '\0', len) != NULL) {
		g_set_error_literal(error, CANARY_CONTROL_ERROR, CANARY_CONTROL_ERROR_PROTOCOL,
				    len == 0 ? "empty frame; expected a JSON object"
					     : "the frame holds a NUL byte; expected JSON text");
		return NULL;
	}
	if (!g_utf8_validate(data, (gssize)len, NULL)) {
		g_set_error_literal(error, CANARY_CONTROL_ERROR, CANARY_CONTROL_ERROR_PROTOCOL,
				    "the frame is not UTF-8; expected JSON text");
		return NULL;
	}
	if (!depth_within(data, len, CANARY_CONTROL_MAX_DEPTH)) {
		g_set_error(error, CANARY_CONTROL_ERROR, CANARY_CONTROL_ERROR_PROTOCOL,
			    "the JSON nests deeper than %d levels", CANARY_CONTROL_MAX_DEPTH);
		return NULL;
	}
	g_autoptr(JsonParser) parser = json_parser_new_immutable();
	g_autoptr(GError) parse_error = NULL;
	if (!json_parser_load_from_data(parser, data, (gssize)len, &parse_error)) {
		g_set_error(error, CANARY_CONTROL_ERROR, CANARY_CONTROL_ERROR_PROTOCOL,
			    "invalid JSON: %s", parse_error->message);
		return NULL;
	}
	JsonNode *root = json_parser_get_root(parser);
	if (root == NULL || !JSON_NODE_HOLDS_OBJECT(root)) {
		g_set_error_literal(error, CANARY_CONTROL_ERROR, CANARY_CONTROL_ERROR_PROTOCOL,
				    "the frame is not a JSON object");
		return NULL;
	}
	return json_object_ref(json_node_get_object(root));
}

/* Milliseconds left until DEADLINE (monotonic, microseconds; 0: none), for
 * poll(): -1 without a deadline, 0 when it has passed. */
static int ms_left(gint64 deadline)
{
	if (deadline == 0)
		return -1;
	gint64 left = (deadline - g_get_monotonic_time()) / 1000;
	return (int)CLAMP(left, 0, INT_MAX);
}

/* Waits until FD is ready for EVENTS or DEADLINE passes. FALSE with ERROR
 * when it passed. */
static gboolean wait_ready(int fd, short events, gint64 deadline, GError **error)
{
	for (;;) {
		struct pollfd pfd = {.fd = fd, .events = events};
		int n = poll(&pfd, 1, ms_left(deadline));
		if (n > 0)
			return TRUE;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			g_set_error(error, CANARY_CONTROL_ERROR, CANARY_CONTROL_ERROR_FAILED,
				    "poll: %s", g_strerror(errno));
			return FALSE;
		}
		g_set_error_literal(error, CANARY_CONTROL_ERROR, CANARY_CONTROL_ERROR_PROTOCOL,
				    "timed out waiting for the other side");
		return FALSE;
	}
}

/* Reads exactly LEN bytes into BUF. Returns the bytes read before the end
 * of the stream (LEN on success), or -1 with ERROR. */
static gssize read_full(int fd, void *buf, gsize len, gint64 deadline, GError **error)
{
	gsize got = 0;
	while (got < len) {
		if (!wait_ready(fd, POLLIN, deadline, error))
			return -1;
		ssize_t n = read(fd, (char *)buf + got, len - got);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0) {
			g_set_error(error, CANARY_CONTROL_ERROR, CANARY_CONTROL_ERROR_FAILED,
				    "read: %s", g_strerror(errno));
			return -1;
		}
		if (n == 0)
			break;
		got += (gsize)n;
	}
	return (gssize)got;
}

GBytes *canary_control_read_payload(int fd, gsize max, int timeout_ms, gboolean *eof_r,
				    GError **error)
{
	*eof_r = FALSE;
	gint64 deadline = timeout_ms < 0 ? 0 : g_get_monotonic_time() + (gint64)timeout_ms * 1000;
	guint8 header[CANARY_CONTROL_FRAME_HEADER];
	gssize got = read_full(fd, header, sizeof(header), deadline, error);
	if (got < 0)
		return NULL;
	if (got == 0) {
		*eof_r = TRUE;
		return NULL;
	}
	if (got < (gssize)sizeof(header)) {
		g_set_error(error, CANARY_CONTROL_ERROR, CANARY_CONTROL_ERROR_PROTOCOL,
			    "truncated frame: the connection closed after %zd of the %zu bytes "
			    "of a frame's length",
			    got, sizeof(header));
		return NULL;
	}
	guint32 len = ((guint32)header[0] << 24) | ((guint32)header[1] << 16) |
		      ((guint32)header[2] << 8) | header[3];
	if (len == 0 || len > max) {
		g_set_error(error, CANARY_CONTROL_ERROR, CANARY_CONTROL_ERROR_PROTOCOL,
			    "%s frame of %u bytes; expected 1 to %zu",
			    len == 0 ? "empty" : "oversize", len, max);
		return NULL;
	}
	g_autofree char *payload = g_malloc(len);
	got = read_full(fd, payload, len, deadline, error);
	if (got < 0)
		return NULL;
	if ((guint32)got < len) {
		g_set_error(error, CANARY_CONTROL_ERROR, CANARY_CONTROL_ERROR_PROTOCOL,
			    "truncated frame: the connection closed after %zd of its %u bytes", got,
			    len);
		return NULL;
	}
	return g_bytes_new_take(g_steal_pointer(&payload), len);
}

JsonObject *canary_control_read_frame(int fd, gsize max, int timeout_ms, gboolean *eof_r,
				      GError **error)
{
	g_autoptr(GBytes) payload = canary_control_read_payload(fd, max, timeout_ms, eof_r, error);
	if (payload == NULL)
		return NULL;
	gsize len = 0;
	const char *data = g_bytes_get_data(payload, &len);
	return canary_control_parse(data, len, error);
}

/* Writes some of BUF (LEN bytes) without blocking past what poll() said:
 * a socket is sent to without waiting (and without SIGPIPE), a pipe is
 * written at most PIPE_BUF at a time. */
static ssize_t write_some(int fd, const char *buf, gsize len)
{
	ssize_t n = send(fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
	if (n >= 0 || errno != ENOTSOCK)
		return n;
	return write(fd, buf, MIN(len, (gsize)PIPE_BUF));
}

static gboolean write_full(int fd, const char *buf, gsize len, int timeout_ms, GError **error)
{
	gsize done = 0;
	while (done < len) {
		gint64 deadline =
			timeout_ms < 0 ? 0 : g_get_monotonic_time() + (gint64)timeout_ms * 1000;
		if (!wait_ready(fd, POLLOUT, deadline, error))
			return FALSE;
		ssize_t n = write_some(fd, buf + done, len - done);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0) {
			g_set_error(error, CANARY_CONTROL_ERROR, CANARY_CONTROL_ERROR_FAILED,
				    "write: %s", g_strerror(errno));
			return FALSE;
		}
		done += (gsize)n;
	}
	return TRUE;
}

gboolean canary_control_write_payload(int fd, const void *payload, gsize len, gsize max,
				      int timeout_ms, GError **error)
{
	if (len == 0 || len > max) {
		g_set_error(error, CANARY_CONTROL_ERROR, CANARY_CONTROL_ERROR_USAGE,
			    "a frame of %zu bytes cannot be sent; the limit is %zu", len, max);
		return FALSE;
	}
	guint8 header[CANARY_CONTROL_FRAME_HEADER] = {(guint8)(len >> 24), (guint8)(len >> 16),
						      (guint8)(len >> 8), (guint8)len};
	return write_full(fd, (const char *)header, sizeof(header), timeout_ms, error) &&
	       write_full(fd, payload, len, timeout_ms, error);
}

gboolean canary_control_write_frame(int fd, JsonObject *message, gsize max, int timeout_ms,
				    GError **error)
{
	g_autoptr(JsonNode) node = json_node_init_object(json_node_alloc(), message);
	gsize len = 0;
	g_autofree char *text = json_to_string(node, FALSE);
	len = strlen(text);
	return canary_control_write_payload(fd, text, len, max, timeout_ms, error);
}

/* --- Arguments: nothing a client sends is trusted ----------------------- */

gboolean canary_control_arg_string(JsonObject *args, const char *name, gboolean required,
				   const char **value_r, GError **error)
{
	*value_r = NULL;
	JsonNode *node = json_object_get_member(args, name);
	if (node == NULL || JSON_NODE_HOLDS_NULL(node)) {
		if (!required)
			return TRUE;
		g_set_error(error, CANARY_CONTROL_ERROR, CANARY_CONTROL_ERROR_USAGE,
			    "the request has no \"%s\"", name);
		return FALSE;
	}
	if (!JSON_NODE_HOLDS_VALUE(node) || json_node_get_value_type(node) != G_TYPE_STRING) {
		g_set_error(error, CANARY_CONTROL_ERROR, CANARY_CONTROL_ERROR_USAGE,
			    "\"%s\" must be a string", name);
		return FALSE;
	}
	*value_r = json_node_get_string(node);
	return TRUE;
}

gboolean canary_control_arg_int(JsonObject *args, const char *name, gint64 *value_r,
				gboolean *given_r, GError **error)
{
	JsonNode *node = json_object_get_member(args, name);
	*given_r = node != NULL && !JSON_NODE_HOLDS_NULL(node);
	if (!*given_r)
		return TRUE;
	if (!JSON_NODE_HOLDS_VALUE(node) || json_node_get_value_type(node) != G_TYPE_INT64) {
		g_set_error(error, CANARY_CONTROL_ERROR, CANARY_CONTROL_ERROR_USAGE,
			    "\"%s\" must be a whole number", name);
		return FALSE;
	}
	*value_r = json_node_get_int(node);
	return TRUE;
}

gboolean canary_control_arg_bool(JsonObject *args, const char *name, gboolean *value_r,
				 GError **error)
{
	JsonNode *node = json_object_get_member(args, name);
	*value_r = FALSE;
	if (node == NULL || JSON_NODE_HOLDS_NULL(node))
		return TRUE;
	if (!JSON_NODE_HOLDS_VALUE(node) || json_node_get_value_type(node) != G_TYPE_BOOLEAN) {
		g_set_error(error, CANARY_CONTROL_ERROR, CANARY_CONTROL_ERROR_USAGE,
			    "\"%s\" must be true or false", name);
		return FALSE;
	}
	*value_r = json_node_get_boolean(node);
	return TRUE;
}

const char *canary_control_arg_text(JsonObject *args, const char *name, gboolean required,
				    GError **error)
{
	const char *value = NULL;
	canary_control_arg_string(args, name, required, &value, error);
	return value;
}

gboolean canary_control_arg_true(JsonObject *args, const char *name)
{
	gboolean value = FALSE;
	return canary_control_arg_bool(args, name, &value, NULL) && value;
}
