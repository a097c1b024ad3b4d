/* canaryd.h: the built canaryd for one test: one pass (--once), or running
 * in the foreground with its log in a file, started and stopped by the
 * test. */
#ifndef CANARY_TEST_CANARYD_H
#define CANARY_TEST_CANARYD_H

#include <glib.h>
#include <sys/types.h>

/* Runs "canaryd --once -c CONFIG"; returns its exit status, its stderr in
 * *ERR_R (new string) when ERR_R is not NULL. */
int tu_canaryd_once(const char *config, char **err_r);

/* The same, failing the test unless it exits 0. */
void tu_canaryd_once_ok(const char *config);

/* Starts "canaryd -c CONFIG" in the foreground: stderr to LOG_PATH
 * (appended to), stdout to /dev/null, killed if the test's process dies.
 * LISTEN_FD, unless -1, is handed over as systemd's socket activation does
 * (fd 3, LISTEN_FDS, LISTEN_PID). When SOCKET is not NULL, waits up to 10 s
 * until something answers there (fails the test if canaryd exits first).
 * Returns its pid. */
pid_t tu_canaryd_start(const char *config, const char *log_path, const char *socket,
		       int listen_fd);

/* Sends SIGTERM and waits up to SECONDS for canaryd PID to exit (then
 * kills it and fails the test). Returns its exit status, -1 if a signal
 * ended it. _with: sends SIGNAL_NUMBER instead. */
int tu_canaryd_stop(pid_t pid, guint seconds);
int tu_canaryd_stop_with(pid_t pid, int signal_number, guint seconds);

/* TRUE once something accepts connections on the Unix socket PATH. */
gboolean tu_socket_answers(const char *path);

#endif
