/* control.c: answering one request of the control protocol for a caller. */
#include "control.h"

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

JsonObject *canary_control_handle(struct canary_control_context *ctx,
				  const struct canary_caller *caller, JsonObject *request)
{
	JsonNode *version = json_object_get_member(request, "canary");
	if (version == NULL || json_node_get_value_type(version) != G_TYPE_INT64 ||
	    json_node_get_int(version) != CANARY_CONTROL_VERSION)
		return error_response(
			CANARY_CONTROL_ERROR_PROTOCOL,
			"unsupported protocol version: this canaryd speaks version 1");
	JsonNode *op_node = json_object_get_member(request, "op");
	const char *op_name = op_node != NULL && JSON_NODE_HOLDS_VALUE(op_node) &&
					      json_node_get_value_type(op_node) == G_TYPE_STRING
				      ? json_node_get_string(op_node)
				      : NULL;
	if (op_name == NULL)
		return error_response(CANARY_CONTROL_ERROR_PROTOCOL, "the request has no \"op\"");
	const struct canary_control_op *op = canary_case_find_op(op_name);
	if (op == NULL) {
		g_autofree char *message = g_strdup_printf("unknown operation \"%s\"", op_name);
		return error_response(CANARY_CONTROL_ERROR_USAGE, message);
	}
	JsonNode *args_node = json_object_get_member(request, "args");
	if (args_node != NULL && !JSON_NODE_HOLDS_OBJECT(args_node) &&
	    !JSON_NODE_HOLDS_NULL(args_node))
		return error_response(CANARY_CONTROL_ERROR_PROTOCOL, "\"args\" must be an object");
	g_autoptr(JsonObject) empty = json_object_new();
	JsonObject *args = args_node != NULL && JSON_NODE_HOLDS_OBJECT(args_node)
				   ? json_node_get_object(args_node)
				   : empty;
	g_autoptr(GError) error = NULL;
	JsonObject *result = op->run(ctx, caller, args, &error);
	if (result == NULL)
		return error_response(code_of(error), error != NULL ? error->message : "failed");
	JsonObject *response = response_new(TRUE);
	json_object_set_object_member(response, "result", result);
	return response;
}
