/* client.c: sending a request and reading its answer, over whichever
 * transport the client was opened with. */
#include "client.h"

#include "caller.h"
#include "control.h"
#include "store.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

/* A transport: sends one request, returns the whole response (new). */
struct canary_client {
	JsonObject *(*exchange)(struct canary_client *client, JsonObject *request, GError **error);
	void (*close)(struct canary_client *client);
	/* The local transport. */
	struct canary_control_context ctx;
	struct canary_config *config;
	struct canary_caller *caller;
	/* The socket and ssh transports: frames go out on OUT_FD and come back
	 * on IN_FD (the same socket, or ssh's two pipes). */
	int in_fd, out_fd;
	GPid ssh_pid; /* 0 for the socket */
	char *peer;   /* "canaryd at PATH" or "HOST (ssh)", for messages */
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

/* --- Frames over a descriptor: the socket and ssh --- */

static JsonObject *stream_exchange(struct canary_client *client, JsonObject *request,
				   GError **error)
{
	g_autoptr(GError) e = NULL;
	gboolean eof = FALSE;
	JsonObject *response = NULL;
	if (canary_control_write_frame(client->out_fd, request, CANARY_CONTROL_REQUEST_MAX, -1, &e))
		response = canary_control_read_frame(client->in_fd, CANARY_CONTROL_RESPONSE_MAX, -1,
						     &eof, &e);
	if (response != NULL)
		return response;
	if (eof || g_error_matches(e, CANARY_CONTROL_ERROR, CANARY_CONTROL_ERROR_FAILED))
		g_set_error(error, CANARY_CONTROL_ERROR, CANARY_CONTROL_ERROR_UNAVAILABLE,
			    "%s closed the connection without answering%s%s", client->peer,
			    e != NULL ? ": " : "", e != NULL ? e->message : "");
	else
		g_set_error(error, CANARY_CONTROL_ERROR, CANARY_CONTROL_ERROR_PROTOCOL, "%s: %s",
			    client->peer, e->message);
	return NULL;
}

static void stream_close(struct canary_client *client)
{
	if (client->out_fd != client->in_fd)
		close(client->out_fd);
	close(client->in_fd);
	if (client->ssh_pid > 0) {
		int status;
		while (waitpid(client->ssh_pid, &status, 0) < 0 && errno == EINTR)
			;
		g_spawn_close_pid(client->ssh_pid);
	}
	g_free(client->peer);
}

int canary_client_connect(const char *path, GError **error)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(addr.sun_path)) {
		g_set_error(error, CANARY_CONTROL_ERROR, CANARY_CONTROL_ERROR_UNAVAILABLE,
			    "%s: the path is too long for a Unix socket", path);
		return -1;
	}
	strcpy(addr.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0)
		return fd;
	int e = errno;
	if (fd >= 0)
		close(fd);
	if (e == EACCES || e == EPERM)
		g_set_error(error, CANARY_CONTROL_ERROR, CANARY_CONTROL_ERROR_FORBIDDEN,
			    "cannot connect to canaryd at %s: %s (the socket is open to its "
			    "group only: ask an admin to add you)",
			    path, g_strerror(e));
	else
		g_set_error(error, CANARY_CONTROL_ERROR, CANARY_CONTROL_ERROR_UNAVAILABLE,
			    "canaryd is not running (no control socket at %s: %s)", path,
			    g_strerror(e));
	return -1;
}

struct canary_client *canary_client_open_socket(const char *path, GError **error)
{
	int fd = canary_client_connect(path, error);
	if (fd < 0)
		return NULL;
	struct canary_client *client = g_new0(struct canary_client, 1);
	client->exchange = stream_exchange;
	client->close = stream_close;
	client->in_fd = client->out_fd = fd;
	client->peer = g_strdup_printf("canaryd at %s", path);
	return client;
}

gboolean canary_client_host_valid(const char *host)
{
	if (host == NULL || host[0] == '\0' || host[0] == '-' || strlen(host) > 255)
		return FALSE;
	for (const char *c = host; *c != '\0'; c++)
		if (g_ascii_isspace(*c) || g_ascii_iscntrl(*c) || *c == '\'' || *c == '"')
			return FALSE;
	return TRUE;
}

struct canary_client *canary_client_open_ssh(const char *host, GError **error)
{
	if (!canary_client_host_valid(host)) {
		g_set_error(error, CANARY_CONTROL_ERROR, CANARY_CONTROL_ERROR_USAGE,
			    "'%s' is not a host; expected [USER@]HOST (not starting with '-')",
			    host != NULL ? host : "");
		return NULL;
	}
	const char *ssh = g_getenv("CANARY_SSH");
	const char *remote = g_getenv("CANARY_REMOTE_COMMAND");
	/* No shell here: ssh gets an argv. "--" ends its options, so HOST can
	 * never be read as one. */
	const char *argv[] = {ssh != NULL && ssh[0] != '\0' ? ssh : "ssh",
			      "-T",
			      "--",
			      host,
			      remote != NULL && remote[0] != '\0' ? remote : "canary bridge",
			      NULL};
	GPid pid = 0;
	int to_ssh = -1, from_ssh = -1;
	g_autoptr(GError) spawn_error = NULL;
	if (!g_spawn_async_with_pipes(NULL, (char **)argv, NULL,
				      G_SPAWN_SEARCH_PATH | G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL,
				      &pid, &to_ssh, &from_ssh, NULL, &spawn_error)) {
		g_set_error(error, CANARY_CONTROL_ERROR, CANARY_CONTROL_ERROR_UNAVAILABLE,
			    "cannot run %s: %s", argv[0], spawn_error->message);
		return NULL;
	}
	/* ssh ending early must be an error of ours, not a SIGPIPE. */
	signal(SIGPIPE, SIG_IGN);
	struct canary_client *client = g_new0(struct canary_client, 1);
	client->exchange = stream_exchange;
	client->close = stream_close;
	client->in_fd = from_ssh;
	client->out_fd = to_ssh;
	client->ssh_pid = pid;
	client->peer = g_strdup_printf("canaryd on %s (over ssh)", host);
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
