/* server.h: canaryd's side of the control protocol: the socket officers'
 * commands connect to, each caller named by the kernel (SO_PEERCRED,
 * SO_PEERGROUPS), each connection answered on its own thread with its own
 * store connection. See canary-control(7). */
#ifndef CANARY_SERVER_H
#define CANARY_SERVER_H

#include <glib.h>

#include "caller.h"
#include "config.h"

/* Clients served at once; one more is told canaryd is busy. */
#define CANARY_SERVER_MAX_CLIENTS 16

#define CANARY_SERVER_ERROR (canary_server_error_quark())
GQuark canary_server_error_quark(void);
enum {
	CANARY_SERVER_ERROR_CONFIG, /* [control] is wrong: the message names file, group, key */
	CANARY_SERVER_ERROR_NO_DIR, /* the socket's directory does not exist */
	CANARY_SERVER_ERROR_FAILED, /* anything else */
};

/* Makes and listens on CONFIG's [control] socket: mode 0660, group
 * [control] group. A stale socket left by a dead canaryd is replaced; one a
 * live process answers on is an error. Returns the listening descriptor. */
int canary_server_listen(const struct canary_config *config, GError **error);

/* The caller at the other end of the connected Unix socket FD, as the kernel
 * names it; *PID_R gets its process id. NULL with ERROR if the kernel says
 * nothing. */
struct canary_caller *canary_server_peer(int fd, pid_t *pid_r, GError **error);

struct canary_server;

/* Serves LISTEN_FD (the server takes it over) with the configuration at
 * CONFIG_PATH, loaded here: the server keeps its own copy. UNLINK_PATH, when
 * not NULL, is removed when the server stops (a socket canaryd made itself,
 * not one systemd handed over). Signals stay with the calling thread. */
struct canary_server *canary_server_start(int listen_fd, const char *config_path,
					  const char *unlink_path, GError **error);

/* Answers new connections with the configuration at CONFIG_PATH (SIGHUP);
 * keeps the old one if the new one cannot be loaded. */
gboolean canary_server_reload(struct canary_server *server, const char *config_path,
			      GError **error);

/* Stops accepting, ends every connection after the request in hand and
 * waits for their threads. NULL is ignored. */
void canary_server_stop(struct canary_server *server);

#endif
