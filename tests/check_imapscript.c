/* check_imapscript.c: canaryd --once end to end against a server that
 * misbehaves on one message (tests/imapscript.c in front of a real
 * Dovecot): the bad message is not stored, not even in part, stays in the
 * inbox, and is named in the log by UID with a clear reason; every other
 * message is filed in the same pass; memory and the bytes read stay
 * bounded. After 3 failed attempts the message is no longer fetched. */
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "canaryd.h"
#include "dovecot.h"
#include "imap.h"
#include "imapscript.h"
#include "store.h"
#include "testutil.h"

static struct tu_dovecot *dovecot;
static char *home;     /* the canary home: keys, config, state */
static char *config;   /* its canary.conf */
static char *database; /* its state/canary.db */

static void setup(void)
{
	dovecot = tu_dovecot_start(NULL);
	home = tu_make_tempdir();
	database = g_build_filename(home, "state", "canary.db", NULL);
}

static void teardown(void)
{
	tu_dovecot_free(dovecot);
	tu_rmtree(home);
	g_clear_pointer(&home, g_free);
	g_clear_pointer(&config, g_free);
	g_clear_pointer(&database, g_free);
}

/* A canary home that fetches through SCRIPT, with the 1K limit. */
static void write_home(struct tu_imapscript *script)
{
	g_autofree char *password_file = tu_write_file(home, "imap-password", dovecot->password);
	g_autofree char *url = tu_imapscript_url(script);
	g_autofree char *extra =
		g_strdup_printf("[imap]\nurl = %s\nusername = %s\npassword_file = imap-password\n"
				"ca_file = %s\nconnect_timeout = 5s\nio_timeout = 2s\n"
				"[limits]\nmax_message_size = 1K\n",
				url, dovecot->user, tu_imapscript_ca_file(script));
	config = tu_make_canary_home(home, TRUE, extra);
}

static void deliver_reports(guint count)
{
	for (guint i = 1; i <= count; i++) {
		g_autofree char *text =
			g_strdup_printf("From: Amina Diallo <amina.diallo%u@example.org>\r\n"
					"To: reprisals@example.org\r\nSubject: report %u\r\n"
					"Message-ID: <script-%u@example.org>\r\n\r\n"
					"After the session in Geneva I was questioned again.\r\n",
					i, i, i);
		tu_dovecot_deliver_text(dovecot, "INBOX", text);
	}
}

/* The UIDs now in the inbox, asked of Dovecot itself. */
static GArray *inbox_uids(guint32 *uidvalidity_r)
{
	g_autofree char *url = tu_dovecot_url(dovecot, TRUE);
	struct canary_imap_options options = {.url = url,
					      .username = dovecot->user,
					      .password = dovecot->password,
					      .ca_file = dovecot->ca_file,
					      .connect_timeout = 5,
					      .io_timeout = 10};
	g_autoptr(GError) error = NULL;
	g_autoptr(canary_imap) imap = canary_imap_new(&options, &error);
	ck_assert_ptr_nonnull(imap);
	struct canary_imap_status status;
	ck_assert_msg(canary_imap_status(imap, "INBOX", &status, &error), "%s",
		      error ? error->message : "");
	*uidvalidity_r = status.uidvalidity;
	g_autoptr(GArray) list = canary_imap_list(imap, 0, &error);
	ck_assert_ptr_nonnull(list);
	GArray *uids = g_array_new(FALSE, FALSE, sizeof(guint32));
	for (guint i = 0; i < list->len; i++)
		g_array_append_val(uids, g_array_index(list, struct canary_imap_message, i).uid);
	return uids;
}

static gboolean holds(GArray *uids, guint32 uid)
{
	for (guint i = 0; i < uids->len; i++)
		if (g_array_index(uids, guint32, i) == uid)
			return TRUE;
	return FALSE;
}

/* Is there a case for UID? */
static gboolean stored(guint32 uidvalidity, guint32 uid)
{
	g_autoptr(GError) error = NULL;
	struct canary_store *store = canary_store_open(database, &error);
	ck_assert_msg(store != NULL, "%s", error ? error->message : "");
	g_autofree char *ref = NULL;
	ck_assert(canary_store_find_source(store, "INBOX", uidvalidity, uid, &ref, &error));
	canary_store_close(&store);
	return ref != NULL;
}

#define MIB (1024u * 1024u)

/* UID 3 of 5 misbehaves; what the log says about it. */
static const struct {
	struct tu_imapscript_rule rule;
	const char *says;
} scenarios[] = {
	{{3, TU_IMAPSCRIPT_OVERSIZED, 300ull * MIB, 0}, "more than the"},
	{{3, TU_IMAPSCRIPT_WRONG_UID, 0, 4}, "answered with UID 4"},
	{{3, TU_IMAPSCRIPT_ENDLESS_LINE, 8ull * MIB, 0}, "endless line"},
	{{3, TU_IMAPSCRIPT_CUT_LITERAL, 10000, 0}, "cut after"},
};

START_TEST(test_bad_message_is_kept_on_the_server)
{
	deliver_reports(5);
	struct tu_imapscript *script = tu_imapscript_start(dovecot, &scenarios[_i].rule, 1);
	write_home(script);
	g_autofree char *err = NULL;
	tu_canaryd_once(config, &err);
	ck_assert_uint_ge(tu_imapscript_played(script), 1);
	ck_assert_msg(tu_imapscript_bytes_sent(script) < 64 * MIB,
		      "canaryd read %" G_GUINT64_FORMAT " bytes", tu_imapscript_bytes_sent(script));
	tu_imapscript_free(script);

	/* canaryd stayed small (610 MB before the bound), even under ASan. */
	struct rusage usage;
	ck_assert_int_eq(getrusage(RUSAGE_CHILDREN, &usage), 0);
	ck_assert_int_lt(usage.ru_maxrss, 256 * 1024);

	/* A clear reason, by UID only. */
	ck_assert_msg(strstr(err, "UID 3") != NULL && strstr(err, scenarios[_i].says) != NULL, "%s",
		      err);
	ck_assert_msg(strstr(err, "example.org") == NULL && strstr(err, "Amina") == NULL, "%s",
		      err);

	guint32 uidvalidity = 0;
	g_autoptr(GArray) left = inbox_uids(&uidvalidity);
	ck_assert(holds(left, 3));
	ck_assert(!stored(uidvalidity, 3));
	/* Every other one, before and after it, is filed in the same pass
	 * (and, by the shipped retention, off the server). */
	for (guint32 uid = 1; uid <= 5; uid++) {
		if (uid == 3)
			continue;
		ck_assert_msg(stored(uidvalidity, uid), "UID %u not filed", uid);
		ck_assert(!holds(left, uid));
	}
	/* Nothing near the 300 MB was written. */
	struct stat st;
	ck_assert_int_eq(stat(database, &st), 0);
	ck_assert_int_lt(st.st_size, 16 * MIB);
}
END_TEST

/* Of three messages, UID 2 alone is in the inbox and not stored; UIDs 1 and
 * 3 are filed. */
static void assert_only_uid_2_left(void)
{
	guint32 uidvalidity = 0;
	g_autoptr(GArray) left = inbox_uids(&uidvalidity);
	ck_assert_uint_eq(left->len, 1);
	ck_assert(holds(left, 2));
	ck_assert(!stored(uidvalidity, 2));
	ck_assert(stored(uidvalidity, 1));
	ck_assert(stored(uidvalidity, 3));
}

/* A message whose fetch fails every time is tried in 3 passes, then left
 * in the inbox unfetched, each pass saying so; the others are filed at the
 * first. */
START_TEST(test_failing_message_is_tried_three_times)
{
	deliver_reports(3);
	struct tu_imapscript_rule rule = {2, TU_IMAPSCRIPT_CUT_LITERAL, 10000, 0};
	struct tu_imapscript *script = tu_imapscript_start(dovecot, &rule, 1);
	write_home(script);
	for (guint pass = 1; pass <= 4; pass++) {
		g_autofree char *err = NULL;
		tu_canaryd_once(config, &err);
		g_autofree char *attempt = g_strdup_printf("attempt %u of 3", pass);
		const char *expected = pass <= 3 ? attempt : "no longer fetched";
		ck_assert_msg(strstr(err, "UID 2") != NULL && strstr(err, expected) != NULL,
			      "pass %u: %s", pass, err);
		ck_assert_uint_eq(tu_imapscript_played(script), MIN(pass, 3));
	}
	tu_imapscript_free(script);
	assert_only_uid_2_left();
}
END_TEST

/* A message the store refuses as too big (SQLITE_TOOBIG, here with SQLite's
 * limit lowered by the test-build hook) is undone alone and left in the
 * inbox; the messages before and after it in the same batch are filed. */
START_TEST(test_message_too_big_for_the_store_is_skipped)
{
	deliver_reports(1);
	GString *big = g_string_new("From: Amina Diallo <amina.diallo2@example.org>\r\n"
				    "To: reprisals@example.org\r\nSubject: report 2\r\n"
				    "Message-ID: <script-2@example.org>\r\n\r\n");
	while (big->len < 900)
		g_string_append(big, "They took my passport at the airport.\r\n");
	tu_dovecot_deliver_text(dovecot, "INBOX", big->str);
	g_string_free(big, TRUE);
	tu_dovecot_deliver_text(dovecot, "INBOX",
				"From: Amina Diallo <amina.diallo3@example.org>\r\n"
				"To: reprisals@example.org\r\nSubject: report 3\r\n"
				"Message-ID: <script-3@example.org>\r\n\r\nShort.\r\n");
	struct tu_imapscript *script = tu_imapscript_start(dovecot, NULL, 0);
	write_home(script);
	g_setenv("CANARY_TEST_SQLITE_MAX_LENGTH", "800", TRUE);
	g_autofree char *err = NULL;
	tu_canaryd_once(config, &err);
	g_unsetenv("CANARY_TEST_SQLITE_MAX_LENGTH");
	tu_imapscript_free(script);
	ck_assert_msg(strstr(err, "UID 2 could not be stored") != NULL &&
			      strstr(err, "attempt 1 of 3") != NULL,
		      "%s", err);
	ck_assert_msg(strstr(err, "example.org") == NULL && strstr(err, "passport") == NULL, "%s",
		      err);
	assert_only_uid_2_left();
}
END_TEST

static Suite *imapscript_suite(void)
{
	Suite *s = suite_create("imapscript");
	TCase *tc = tcase_create("canaryd");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 300);
	tcase_add_loop_test(tc, test_bad_message_is_kept_on_the_server, 0, G_N_ELEMENTS(scenarios));
	tcase_add_test(tc, test_failing_message_is_tried_three_times);
	tcase_add_test(tc, test_message_too_big_for_the_store_is_skipped);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run_suite(imapscript_suite());
}
