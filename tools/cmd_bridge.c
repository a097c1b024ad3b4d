/* cmd_bridge.c: canary bridge: the server's end of canary --host. Joins
 * standard input and output to canaryd's control socket, frame by frame:
 * canaryd sees this process, so the caller is the user ssh logged in. Each
 * frame is checked against the protocol's size limits as it passes (a
 * broken client cannot push a huge frame at canaryd); its JSON is left to
 * canaryd. */
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include "cli.h"
#include "client.h"
#include "commands.h"
#include "control.h"

/* Answers the client on standard output with ERROR as a response frame. */
static void answer_error(const GError *error)
{
	g_autoptr(JsonObject) response = canary_control_error_response(error);
	canary_control_write_frame(STDOUT_FILENO, response, CANARY_CONTROL_RESPONSE_MAX, -1, NULL);
}

/* The socket of the configuration COMMON names, read leniently (an officer
 * cannot read every file it names). NULL after printing the problem. */
static char *configured_socket(const struct cli_common *common)
{
	g_autofree char *path = canary_config_resolve_path(common->config_path);
	g_autoptr(GError) error = NULL;
	char *socket = canary_config_control_socket(path, &error);
	/* As cli_connect(): a configuration closed to officers. */
	if (socket == NULL && common->config_path == NULL && g_getenv("CANARY_CONFIG") == NULL &&
	    g_error_matches(error, CANARY_CONFIG_ERROR, CANARY_CONFIG_ERROR_IO))
		return g_strdup(CANARY_CONTROL_DEFAULT_SOCKET);
	if (socket == NULL)
		cli_error("%s", error->message);
	return socket;
}

/* Relays one request from standard input to SOCKET and its response back.
 * FALSE when the client is done or the relay broke (told to the client
 * when it can still hear). */
static gboolean relay_one(int socket_fd, int *status)
{
	g_autoptr(GError) error = NULL;
	gboolean eof = FALSE;
	g_autoptr(GBytes) request = canary_control_read_payload(
		STDIN_FILENO, CANARY_CONTROL_REQUEST_MAX, -1, &eof, &error);
	if (request == NULL) {
		if (!eof) {
			answer_error(error);
			*status = CLI_EXIT_FAILED;
		}
		return FALSE;
	}
	gsize len = 0;
	const void *data = g_bytes_get_data(request, &len);
	if (!canary_control_write_payload(socket_fd, data, len, CANARY_CONTROL_REQUEST_MAX, -1,
					  &error)) {
		answer_error(error);
		*status = CLI_EXIT_DAEMON;
		return FALSE;
	}
	g_autoptr(GBytes) response = canary_control_read_payload(
		socket_fd, CANARY_CONTROL_RESPONSE_MAX, -1, &eof, &error);
	if (response == NULL) {
		g_autoptr(GError) gone =
			g_error_new(CANARY_CONTROL_ERROR, CANARY_CONTROL_ERROR_UNAVAILABLE,
				    "canaryd closed the connection without answering%s%s",
				    error != NULL ? ": " : "", error != NULL ? error->message : "");
		answer_error(gone);
		*status = CLI_EXIT_DAEMON;
		return FALSE;
	}
	data = g_bytes_get_data(response, &len);
	if (!canary_control_write_payload(STDOUT_FILENO, data, len, CANARY_CONTROL_RESPONSE_MAX, -1,
					  &error)) {
		*status = CLI_EXIT_FAILED; /* the client is gone */
		return FALSE;
	}
	return TRUE;
}

int cmd_bridge(int argc, char **argv)
{
	g_auto(cli_common) common = {0};
	g_autofree char *socket_path = NULL;
	GOptionEntry entries[] = {{"socket", 0, 0, G_OPTION_ARG_FILENAME, &socket_path,
				   "canaryd's control socket (default: [control] socket of the "
				   "configuration)",
				   "PATH"},
				  G_OPTION_ENTRY_NULL};
	if (!cli_parse(&argc, &argv, "",
		       "Joins standard input and output to canaryd's control socket: the "
		       "command canary --host runs on the server through ssh. See "
		       "canary-control(7).",
		       entries, &common))
		return CLI_EXIT_USAGE;
	if (argc > 1) {
		cli_error("bridge takes no arguments");
		return CLI_EXIT_USAGE;
	}
	if (socket_path == NULL)
		socket_path = configured_socket(&common);
	if (socket_path == NULL)
		return CLI_EXIT_CONFIG;
	signal(SIGPIPE, SIG_IGN);
	g_autoptr(GError) error = NULL;
	int fd = canary_client_connect(socket_path, &error);
	if (fd < 0) {
		/* The client hears why once it has asked; stderr is for a human. */
		gboolean eof = FALSE;
		GBytes *request = canary_control_read_payload(
			STDIN_FILENO, CANARY_CONTROL_REQUEST_MAX, -1, &eof, NULL);
		g_clear_pointer(&request, g_bytes_unref); /* read only to be answered */
		answer_error(error);
		return g_error_matches(error, CANARY_CONTROL_ERROR, CANARY_CONTROL_ERROR_FORBIDDEN)
			       ? CLI_EXIT_DENIED
			       : CLI_EXIT_DAEMON;
	}
	int status = CLI_EXIT_OK;
	while (relay_one(fd, &status))
		;
	close(fd);
	return status;
}
