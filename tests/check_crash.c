/* check_crash.c: the crash mark (lib/crash.c). Each case runs in a child
 * that arms the mark and then dies, or does not, as the case says. */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "crash.h"
#include "testutil.h"

/* Runs a child that marks FIRST (and then SECOND, when not NULL) and ends
 * with SIG (0: exits 0); returns its wait status. */
static int child_status(const char *first, const char *second, int sig)
{
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		if (!canary_crash_mark_at(first, NULL) ||
		    (second != NULL && !canary_crash_mark_at(second, NULL)))
			_exit(3);
		if (sig != 0)
			kill(getpid(), sig);
		_exit(0);
	}
	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return status;
}

/* The signals the handler takes; each must still end the process with
 * that signal, or systemd and the shell would read a different death. */
static const int crash_signals[] = {SIGABRT, SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGSYS};

START_TEST(test_crash_leaves_the_mark_and_dies_of_it)
{
	int sig = crash_signals[_i];
	g_autofree char *dir = tu_make_tempdir();
	g_autofree char *mark = g_build_filename(dir, "db.in-hand.crashed", NULL);
	int status = child_status(mark, NULL, sig);
	ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == sig, "status %d for signal %d",
		      status, sig);
	ck_assert(g_file_test(mark, G_FILE_TEST_IS_REGULAR));
	struct stat st;
	ck_assert_int_eq(stat(mark, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0600);
	tu_rmtree(dir);
}
END_TEST

START_TEST(test_kill_and_exit_leave_no_mark)
{
	g_autofree char *dir = tu_make_tempdir();
	g_autofree char *mark = g_build_filename(dir, "mark", NULL);
	int status = child_status(mark, NULL, SIGKILL);
	ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	ck_assert(!g_file_test(mark, G_FILE_TEST_EXISTS));
	status = child_status(mark, NULL, 0);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ck_assert(!g_file_test(mark, G_FILE_TEST_EXISTS));
	tu_rmtree(dir);
}
END_TEST

/* A reload to another database moves the mark there. */
START_TEST(test_last_path_is_marked)
{
	g_autofree char *dir = tu_make_tempdir();
	g_autofree char *old = g_build_filename(dir, "old", NULL);
	g_autofree char *new = g_build_filename(dir, "new", NULL);
	int status = child_status(old, new, SIGABRT);
	ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
	ck_assert(!g_file_test(old, G_FILE_TEST_EXISTS));
	ck_assert(g_file_test(new, G_FILE_TEST_EXISTS));
	tu_rmtree(dir);
}
END_TEST

START_TEST(test_too_long_a_path_is_refused)
{
	g_autofree char *path = g_strnfill(PATH_MAX + 10, 'a');
	g_autoptr(GError) error = NULL;
	ck_assert(!canary_crash_mark_at(path, &error));
	ck_assert_ptr_nonnull(strstr(error->message, "too long"));
}
END_TEST

static Suite *crash_suite(void)
{
	Suite *s = suite_create("crash");
	TCase *tc = tcase_create("mark");
	tcase_add_loop_test(tc, test_crash_leaves_the_mark_and_dies_of_it, 0,
			    G_N_ELEMENTS(crash_signals));
	tcase_add_test(tc, test_kill_and_exit_leave_no_mark);
	tcase_add_test(tc, test_last_path_is_marked);
	tcase_add_test(tc, test_too_long_a_path_is_refused);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run_suite(crash_suite());
}
