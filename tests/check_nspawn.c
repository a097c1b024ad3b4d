/* check_nspawn.c: canary's package installed, upgraded, purged and removed
 * on a Debian 12 booted with systemd in systemd-nspawn, canaryd running
 * under the shipped unit and officers working as real users (tests/nspawn.sh,
 * which runs the scenario tests/nspawn/scenario.sh in the container). This suite starts
 * the Dovecot the container's canaryd polls, on the host's 127.0.0.1, and
 * checks from the outside that every message left its inbox.
 *
 * Root only, and not under ASan (it tests the package's release build).
 * Skipped (exit 77) without systemd-nspawn or debootstrap, except in CI,
 * where scripts/deps installs them and the test must run. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dovecot.h"
#include "testutil.h"

/* The scenario's messages: one per section of tests/nspawn/routing.conf. */
static const char *const messages[] = {"africa.eml", "mena.eml", "triage.eml"};

static void deliver_messages(struct tu_dovecot *dovecot)
{
	for (size_t i = 0; i < G_N_ELEMENTS(messages); i++) {
		g_autofree char *path =
			g_build_filename(CANARY_TEST_DATA, "nspawn", messages[i], NULL);
		g_autofree char *text = NULL;
		ck_assert_msg(g_file_get_contents(path, &text, NULL, NULL), "cannot read %s", path);
		tu_dovecot_deliver_text(dovecot, "INBOX", text);
	}
}

/* Runs tests/nspawn.sh with its output going to the test's own, so that a
 * failure shows every step; returns its exit status. */
static int run_nspawn_script(struct tu_dovecot *dovecot)
{
	g_autofree char *script = g_build_filename(CANARY_SOURCE_DIR, "tests", "nspawn.sh", NULL);
	g_autofree char *url = tu_dovecot_url(dovecot, TRUE);
	g_autofree char *cases = g_strdup_printf("%zu", G_N_ELEMENTS(messages));
	const char *argv[] = {script, CANARY_SOURCE_DIR, CANARY_NSPAWN_CACHE, CANARY_PACKAGE_TREE,
			      NULL};
	g_auto(GStrv) env = g_get_environ();
	env = g_environ_setenv(env, "CANARY_NSPAWN_IMAP_URL", url, TRUE);
	env = g_environ_setenv(env, "CANARY_NSPAWN_IMAP_USER", dovecot->user, TRUE);
	env = g_environ_setenv(env, "CANARY_NSPAWN_IMAP_PASSWORD", dovecot->password, TRUE);
	env = g_environ_setenv(env, "CANARY_NSPAWN_CA_FILE", dovecot->ca_file, TRUE);
	env = g_environ_setenv(env, "CANARY_NSPAWN_CASES", cases, TRUE);
	fflush(stdout);
	g_autoptr(GError) error = NULL;
	int status = 0;
	if (!g_spawn_sync(NULL, (char **)argv, env, G_SPAWN_DEFAULT, NULL, NULL, NULL, NULL,
			  &status, &error))
		ck_abort_msg("spawn %s: %s", script, error->message);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

START_TEST(test_package_under_systemd)
{
	struct tu_dovecot *dovecot = tu_dovecot_start(NULL);
	deliver_messages(dovecot);
	int status = run_nspawn_script(dovecot);
	ck_assert_msg(status == 0, "tests/nspawn.sh failed (exit %d): see its output above",
		      status);
	/* Seen from the mail server: canaryd in the container filed them all. */
	ck_assert_uint_eq(tu_dovecot_count(dovecot, "INBOX"), 0);
	tu_dovecot_free(dovecot);
}
END_TEST

/* NULL when the test can run here, else why not. */
static const char *cannot_run(void)
{
	if (geteuid() != 0)
		return "needs root: it debootstraps, installs the package and boots a container";
	static const char *const tools[] = {"systemd-nspawn", "debootstrap", "dpkg-buildpackage",
					    "dh", "dpkg-deb"};
	for (size_t i = 0; i < G_N_ELEMENTS(tools); i++) {
		g_autofree char *path = g_find_program_in_path(tools[i]);
		if (path == NULL)
			return "needs systemd-nspawn, debootstrap, dpkg-buildpackage, debhelper's dh "
			       "and dpkg-deb (scripts/deps installs them)";
	}
	return NULL;
}

static Suite *nspawn_suite(void)
{
	Suite *s = suite_create("nspawn");
	TCase *tc = tcase_create("debian12");
	/* A first run builds the package and debootstraps (minutes); a rerun
	 * about one minute. */
	tcase_set_timeout(tc, 1500);
	tcase_add_test(tc, test_package_under_systemd);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	const char *why = cannot_run();
	if (why != NULL) {
		printf("%s: %s\n", getenv("CI") != NULL ? "FAIL (CI must run it)" : "SKIP", why);
		return getenv("CI") != NULL ? 1 : 77;
	}
	return tu_run_suite(nspawn_suite());
}
