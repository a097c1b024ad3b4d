/* crash.c: see crash.h. The handler may only use async-signal-safe calls:
 * open, close and raise, on a path copied in advance. */
#include "crash.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include "config.h"

static const int crash_signals[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGSYS, SIGABRT};

/* Two buffers: a new path is written into the one the handler is not
 * reading, then made current. */
static char mark_paths[2][PATH_MAX];
static atomic_int current_mark = -1;

static void on_crash(int sig)
{
	int saved = errno;
	int k = atomic_load(&current_mark);
	if (k >= 0) {
		int fd = open(mark_paths[k], O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd >= 0)
			close(fd);
	}
	errno = saved;
	/* SA_RESETHAND has put back the default action, and SA_NODEFER leaves
	 * the signal unblocked: this ends the process as the signal would. */
	raise(sig);
}

static void install_handlers(void)
{
	struct sigaction sa = {0};
	sa.sa_handler = on_crash;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESETHAND | SA_NODEFER;
	for (gsize i = 0; i < G_N_ELEMENTS(crash_signals); i++)
		sigaction(crash_signals[i], &sa, NULL);
}

gboolean canary_crash_mark_at(const char *path, GError **error)
{
	int k = atomic_load(&current_mark);
	int next = k == 0 ? 1 : 0;
	if (g_strlcpy(mark_paths[next], path, sizeof mark_paths[next]) >=
	    sizeof mark_paths[next]) {
		g_set_error(error, CANARY_CONFIG_ERROR, CANARY_CONFIG_ERROR_INVALID,
			    "the path %s is too long for the crash mark (at most %d bytes)", path,
			    PATH_MAX - 1);
		return FALSE;
	}
	atomic_store(&current_mark, next);
	if (k < 0)
		install_handlers();
	return TRUE;
}
