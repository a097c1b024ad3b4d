/* client.h: canary's side of the control protocol: one call, whatever
 * carries it (canaryd's socket, ssh to another host, or this process
 * answering itself when run as root or as canaryd's user). */
#ifndef CANARY_CLIENT_H
#define CANARY_CLIENT_H

#include <glib.h>
#include <json-glib/json-glib.h>

#include "config.h"

struct canary_client;

/* Answers requests in this process: opens the store of CONFIG (which the
 * client takes over) directly, as the user running it (the caller is
 * canary_caller_new_self()). For root and canaryd's user, and for recovery
 * when canaryd is down. Creates the database if it does not exist. */
struct canary_client *canary_client_open_local(struct canary_config *config, GError **error);

/* Connects to canaryd's control socket at PATH. On failure ERROR is
 * UNAVAILABLE (nothing there, or nobody answers) or FORBIDDEN (the socket
 * is not open to this user: EACCES), and says which. */
struct canary_client *canary_client_open_socket(const char *path, GError **error);

/* The connected socket canary_client_open_socket() talks over (for canary
 * bridge, which relays frames), or -1 with the same errors. */
int canary_client_connect(const char *path, GError **error);

/* Talks to `ssh [USER@]HOST canary bridge` on its standard input and
 * output. HOST must not start with '-' nor hold spaces or control
 * characters. The remote command is $CANARY_REMOTE_COMMAND when set (e.g.
 * "/opt/canary/bin/canary bridge"), the ssh program $CANARY_SSH (default
 * "ssh"). No shell runs on this side. */
struct canary_client *canary_client_open_ssh(const char *host, GError **error);

/* TRUE if HOST is acceptable to canary_client_open_ssh(). */
gboolean canary_client_host_valid(const char *host);
/* The same, except that a database that does not exist yet is an error
 * (CANARY_STORE_ERROR_OPEN naming it), not created: for commands that only
 * read it (report, health). */
struct canary_client *canary_client_open_local_existing(struct canary_config *config,
							GError **error);

/* Sends OP with ARGS (may be NULL) and returns the "result" object (new), or
 * NULL with ERROR in the CANARY_CONTROL_ERROR domain: the server's code and
 * message, or UNAVAILABLE/PROTOCOL for the transport. */
JsonObject *canary_client_call(struct canary_client *client, const char *op, JsonObject *args,
			       GError **error);

void canary_client_close(struct canary_client *client);
typedef struct canary_client canary_client;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(canary_client, canary_client_close)

#endif
