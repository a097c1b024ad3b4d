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
