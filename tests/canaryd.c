/* canaryd.c: see canaryd.h. */
#include "canaryd.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"

int tu_canaryd_once(const char *config, char **err_r)
{
	const char *argv[] = {CANARYD_PATH, "--once", "-c", config, NULL};
	return tu_run(argv, NULL, NULL, err_r);
}

void tu_canaryd_once_ok(const char *config)
{
	g_autofree char *err = NULL;
	int status = tu_canaryd_once(config, &err);
	ck_assert_msg(status == 0, "canaryd --once: exit %d: %s", status, err);
}

gboolean tu_socket_answers(const char *path)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	g_strlcpy(addr.sun_path, path, sizeof(addr.sun_path));
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	gboolean ok = fd >= 0 && connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0;
	if (fd >= 0)
		close(fd);
	return ok;
}

/* In the child: stderr appended to LOG_PATH, stdout to /dev/null,
 * LISTEN_FD as fd 3. */
static void exec_canaryd(const char *config, const char *log_path, int listen_fd)
{
	int fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (fd < 0 || null < 0 || dup2(fd, STDERR_FILENO) < 0 || dup2(null, STDOUT_FILENO) < 0)
		_exit(127);
	if (listen_fd >= 0) {
		if (dup2(listen_fd, 3) != 3)
			_exit(127);
		g_autofree char *pid = g_strdup_printf("%ld", (long)getpid());
		g_setenv("LISTEN_FDS", "1", TRUE);
		g_setenv("LISTEN_PID", pid, TRUE);
	}
	execl(CANARYD_PATH, CANARYD_PATH, "--foreground", "-c", config, (char *)NULL);
	_exit(127);
}

pid_t tu_canaryd_start(const char *config, const char *log_path, const char *socket,
		       int listen_fd)
{
	pid_t test = getpid();
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		tu_die_with_parent(test);
		exec_canaryd(config, log_path, listen_fd);
	}
	if (socket == NULL)
		return pid;
	for (int i = 0; i < 1000 && !tu_socket_answers(socket); i++) {
		ck_assert_msg(waitpid(pid, NULL, WNOHANG) == 0, "canaryd exited");
		g_usleep(10 * 1000);
	}
	ck_assert_msg(tu_socket_answers(socket), "no socket at %s", socket);
	return pid;
}

int tu_canaryd_stop(pid_t pid, guint seconds)
{
	return tu_canaryd_stop_with(pid, SIGTERM, seconds);
}

int tu_canaryd_stop_with(pid_t pid, int signal_number, guint seconds)
{
	kill(pid, signal_number);
	for (guint i = 0; i < seconds * 100; i++) {
		int status = 0;
		if (waitpid(pid, &status, WNOHANG) == pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
		g_usleep(10 * 1000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	ck_abort_msg("canaryd did not stop within %u s of signal %d", seconds, signal_number);
	return -1;
}
