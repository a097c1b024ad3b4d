/* client.c: sending a request and reading its answer, over whichever
 * transport the client was opened with. */
#include "client.h"

#include "caller.h"
#include "control.h"
#include "store.h"

/* A transport: sends one request, returns the whole response (new). */
struct canary_client {
	JsonObject *(*exchange)(struct canary_client *client, JsonObject *request, GError **error);
	void (*close)(struct canary_client *client);
	/* The local transport. */
	struct canary_control_context ctx;
	struct canary_config *config;
	struct canary_caller *caller;
};

static JsonObject *local_exchange(struct canary_client *client, JsonObject *request, GError **error)
{
	(void)error;
	return canary_control_handle(&client->ctx, client->caller, request);
}

static void local_close(struct canary_client *client)
{
	canary_store_close(&client->ctx.store);
	canary_config_free(client->config);
	canary_caller_free(client->caller);
}

/* Opens the database of CONFIG; unless CREATE, one that does not exist yet
 * is an error, not a new empty file. */
static struct canary_store *open_store(const struct canary_config *config, gboolean create,
				       GError **error)
{
	if (!create && !g_file_test(config->store.database, G_FILE_TEST_EXISTS)) {
		g_set_error(error, CANARY_STORE_ERROR, CANARY_STORE_ERROR_OPEN,
			    "%s: no database yet; canaryd creates it when it first starts "
			    "(canary import does too)",
			    config->store.database);
		return NULL;
	}
	return canary_store_open(config->store.database, error);
}

static struct canary_client *open_local(struct canary_config *config, gboolean create,
					GError **error)
{
	struct canary_store *store = open_store(config, create, error);
	if (store == NULL) {
		canary_config_free(config);
		return NULL;
	}
	struct canary_client *client = g_new0(struct canary_client, 1);
	client->exchange = local_exchange;
	client->close = local_close;
	client->config = config;
	client->ctx = (struct canary_control_context){.config = config, .store = store};
	client->caller = canary_caller_new_self();
	return client;
}

struct canary_client *canary_client_open_local(struct canary_config *config, GError **error)
{
	return open_local(config, TRUE, error);
}

struct canary_client *canary_client_open_local_existing(struct canary_config *config,
							GError **error)
{
	return open_local(config, FALSE, error);
}

/* The "result" of RESPONSE, or NULL with ERROR from its "error". */
static JsonObject *unwrap(JsonObject *response, GError **error)
{
	if (json_object_get_boolean_member_with_default(response, "ok", FALSE)) {
		JsonObject *result = json_object_get_object_member(response, "result");
		return result != NULL ? json_object_ref(result) : json_object_new();
	}
	JsonObject *e =
		json_object_has_member(response, "error") &&
				JSON_NODE_HOLDS_OBJECT(json_object_get_member(response, "error"))
			? json_object_get_object_member(response, "error")
			: NULL;
	const char *code =
		e != NULL ? json_object_get_string_member_with_default(e, "code", NULL) : NULL;
	const char *message =
		e != NULL ? json_object_get_string_member_with_default(e, "message", NULL) : NULL;
	int c = canary_control_error_from_name(code);
	g_set_error_literal(error, CANARY_CONTROL_ERROR, c >= 0 ? c : CANARY_CONTROL_ERROR_FAILED,
			    message != NULL ? message
					    : "canaryd refused the request without saying why");
	return NULL;
}

JsonObject *canary_client_call(struct canary_client *client, const char *op, JsonObject *args,
			       GError **error)
{
	g_autoptr(JsonObject) request = json_object_new();
	json_object_set_int_member(request, "canary", CANARY_CONTROL_VERSION);
	json_object_set_string_member(request, "op", op);
	json_object_set_object_member(request, "args",
				      args != NULL ? json_object_ref(args) : json_object_new());
	g_autoptr(JsonObject) response = client->exchange(client, request, error);
	if (response == NULL)
		return NULL;
	return unwrap(response, error);
}

void canary_client_close(struct canary_client *client)
{
	if (client == NULL)
		return;
	client->close(client);
	g_free(client);
}
