/* check_systemd.c: the shipped unit is hardened: systemd-analyze's
 * exposure score stays at 1.2 or lower, the settings the design asks for
 * are there (no core dumps, no swap), and this systemd knows every key.
 * It runs without PrivateUsers= (canaryd must see officers' real uids), and
 * sysusers/tmpfiles make what it needs. check_nspawn runs it for real. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

static char *unit_path(void)
{
	return g_build_filename(CANARY_SOURCE_DIR, "systemd", "canaryd.service", NULL);
}

static char *read_systemd_file(const char *name)
{
	g_autofree char *path = g_build_filename(CANARY_SOURCE_DIR, "systemd", name, NULL);
	char *text = NULL;
	ck_assert_msg(g_file_get_contents(path, &text, NULL, NULL), "cannot read %s", path);
	return text;
}

/* TEXT has a line that is exactly LINE. */
static gboolean has_line(const char *text, const char *line)
{
	g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
	return g_strv_contains((const char *const *)lines, line);
}

START_TEST(test_exposure_score)
{
	g_autofree char *unit = unit_path();
	const char *argv[] = { "/usr/bin/systemd-analyze", "security", "--offline=true",
			       "--no-pager", unit, NULL };
	if (!g_file_test(argv[0], G_FILE_TEST_IS_EXECUTABLE))
		ck_abort_msg("systemd-analyze is missing: install the systemd package");
	g_autofree char *out = NULL, *err = NULL;
	tu_run(argv, NULL, &out, &err);
	const char *line = strstr(out, "Overall exposure level for canaryd.service:");
	ck_assert_msg(line != NULL, "no score in: %s %s", out, err);
	double score = g_ascii_strtod(line + strlen("Overall exposure level for canaryd.service:"),
				      NULL);
	printf("systemd-analyze security: canaryd.service exposure %.1f\n", score);
	ck_assert_msg(score <= 1.2 + 1e-9, "exposure %.1f > 1.2", score);
}
END_TEST

START_TEST(test_required_settings)
{
	g_autofree char *unit = unit_path();
	char *text = NULL;
	ck_assert(g_file_get_contents(unit, &text, NULL, NULL));
	static const char *const required[] = {
		"Type=notify",
		"WatchdogSec=",
		"User=canary",
		"StateDirectory=canary",
		"StateDirectoryMode=0700\n",
		/* The control socket's directory: open, the socket decides. */
		"RuntimeDirectory=canary\n",
		"RuntimeDirectoryMode=0755\n",
		/* Stopping canaryd must not remove canaryd.socket's socket. */
		"RuntimeDirectoryPreserve=yes\n",
		"Wants=canaryd.socket\n",
		"PrivateMounts=yes\n",
		"LoadCredential=imap-password:",
		"ProtectSystem=strict",
		"ProtectHome=yes",
		"PrivateTmp=yes",
		"PrivateDevices=yes",
		"NoNewPrivileges=yes",
		"CapabilityBoundingSet=\n",
		"RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX",
		"SystemCallFilter=@system-service",
		"MemoryDenyWriteExecute=yes",
		"UMask=0077",
		"LimitCORE=0\n",
		"MemorySwapMax=0\n",
	};
	for (size_t i = 0; i < G_N_ELEMENTS(required); i++)
		ck_assert_msg(strstr(text, required[i]) != NULL, "missing %s", required[i]);
	g_free(text);
}
END_TEST

/* Under PrivateUsers=yes the kernel names every officer to canaryd as
 * nobody (uid and groups 65534, ../shared/NOTES.md): canaryd could not tell
 * them apart, so the unit must not set it, not even to "no" by accident of
 * a drop-in copied from it. */
START_TEST(test_no_private_users)
{
	g_autofree char *text = read_systemd_file("canaryd.service");
	g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
	for (char **line = lines; *line != NULL; line++)
		ck_assert_msg(!g_str_has_prefix(*line, "PrivateUsers="),
			      "canaryd.service sets %s: officers would all be uid 65534", *line);
	ck_assert(!has_line(text, "DynamicUser=yes")); /* implies PrivateUsers= */
}
END_TEST

/* The package's sysusers and tmpfiles files make what the unit needs: the
 * user, the officers' group, the state directory private to canaryd's
 * user, and the runtime directory already canaryd's at boot (so that
 * starting canaryd never chowns the socket canaryd.socket put there). */
START_TEST(test_sysusers_and_tmpfiles)
{
	g_autofree char *sysusers = read_systemd_file("canary.sysusers.conf");
	ck_assert(has_line(sysusers, "u canary - \"canary intake daemon\" /var/lib/canary"));
	ck_assert(has_line(sysusers, "g canary-officers -"));
	g_autofree char *tmpfiles = read_systemd_file("canary.tmpfiles.conf");
	ck_assert(has_line(tmpfiles, "d /var/lib/canary 0700 canary canary -"));
	ck_assert(has_line(tmpfiles, "d /run/canary 0755 canary canary -"));
}
END_TEST

/* A key this systemd does not know is ignored with a warning, and its
 * protection silently missing (MemoryZSwapMax= came only in systemd 253). */
START_TEST(test_every_key_known)
{
	g_autofree char *unit = unit_path();
	const char *argv[] = {"/usr/bin/systemd-analyze", "verify", "--man=no", unit, NULL};
	if (!g_file_test(argv[0], G_FILE_TEST_IS_EXECUTABLE))
		ck_abort_msg("systemd-analyze is missing: install the systemd package");
	g_autofree char *out = NULL, *err = NULL;
	/* It fails here anyway: /usr/sbin/canaryd is not installed. */
	tu_run(argv, NULL, &out, &err);
	ck_assert_msg(strstr(err, "Unknown") == NULL && strstr(err, "ignoring") == NULL,
		      "systemd-analyze verify: %s", err);
}
END_TEST

static Suite *systemd_suite(void)
{
	Suite *s = suite_create("systemd");
	TCase *tc = tcase_create("unit");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_exposure_score);
	tcase_add_test(tc, test_required_settings);
	tcase_add_test(tc, test_no_private_users);
	tcase_add_test(tc, test_sysusers_and_tmpfiles);
	tcase_add_test(tc, test_every_key_known);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run_suite(systemd_suite());
}
