/* check_daemon.c: canaryd end to end against a real Dovecot on 127.0.0.1:
 * one pass over the demo corpus, commit before move or removal (a move
 * that fails loses nothing and stores nothing twice; kill -9 and a server
 * killed mid-pass never remove a message whose case is not committed),
 * oversized mail kept on the server, a recreated
 * mailbox, login and TLS failures without tight loops, SIGHUP with a bad
 * config, SIGTERM, STARTTLS and systemd credentials, and no personal data
 * in the log or the database files. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "canaryd.h"
#include "dovecot.h"
#include "envelope.h"
#include "store.h"
#include "testutil.h"

static struct tu_dovecot *dovecot;
static char *home;     /* the canary home: keys, config, state */
static char *config;   /* its canary.conf */
static char *database; /* its state/canary.db */

/* Writes the canary home with an [imap] group for the test Dovecot, plus
 * EXTRA (more config, may be NULL). */
static void write_home(const char *password, const char *extra)
{
	static char *base; /* the config without [imap], as made once per test */
	g_autofree char *group = tu_dovecot_imap_group(dovecot, home, password);
	g_autofree char *imap = g_strconcat(group, extra, NULL);
	if (config == NULL) {
		config = tu_make_canary_home(home, TRUE, NULL);
		g_free(base);
		ck_assert(g_file_get_contents(config, &base, NULL, NULL));
	}
	g_autofree char *text = g_strconcat(base, imap, NULL);
	ck_assert(g_file_set_contents(config, text, -1, NULL));
}

/* Adds TEXT (whole groups) at the end of the config. */
static void append_config(const char *text)
{
	g_autofree char *old = NULL;
	ck_assert(g_file_get_contents(config, &old, NULL, NULL));
	g_autofree char *new_text = g_strconcat(old, text, NULL);
	ck_assert(g_file_set_contents(config, new_text, -1, NULL));
}

/* Replaces the first FROM in the config by TO. */
static void edit_config(const char *from, const char *to)
{
	g_autofree char *old = NULL;
	ck_assert(g_file_get_contents(config, &old, NULL, NULL));
	ck_assert_ptr_nonnull(strstr(old, from));
	g_auto(GStrv) parts = g_strsplit(old, from, 2);
	g_autofree char *new_text = g_strjoinv(to, parts);
	ck_assert(g_file_set_contents(config, new_text, -1, NULL));
}

static void setup(void)
{
	dovecot = tu_dovecot_start(NULL);
	home = tu_make_tempdir();
	database = g_build_filename(home, "state", "canary.db", NULL);
	write_home(dovecot->password, NULL);
}

/* A canaryd the test started and has not stopped (a failed assertion
 * skips the stop): killed here, so no orphan holds the test's output open. */
static pid_t running_pid;

static void teardown(void)
{
	if (running_pid > 0) {
		kill(running_pid, SIGKILL);
		waitpid(running_pid, NULL, 0);
		running_pid = 0;
	}
	tu_dovecot_free(dovecot);
	tu_rmtree(home);
	g_clear_pointer(&home, g_free);
	g_clear_pointer(&config, g_free);
	g_clear_pointer(&database, g_free);
}

/* Runs canaryd --once; returns its exit status, stderr in *ERR_R. */
static int run_once(char **err_r)
{
	return tu_canaryd_once(config, err_r);
}

static int run_once_ok(void)
{
	g_autofree char *err = NULL;
	int status = run_once(&err);
	ck_assert_msg(status == 0, "canaryd --once: %d: %s", status, err);
	return status;
}

static GPtrArray *cases(const char *status)
{
	g_autoptr(GError) error = NULL;
	struct canary_store *store = canary_store_open(database, &error);
	ck_assert_msg(store != NULL, "%s", error ? error->message : "");
	struct canary_case_filter filter = {.status = status};
	GPtrArray *list = canary_store_list_cases(store, &filter, &error);
	canary_store_close(&store);
	ck_assert_msg(list != NULL, "%s", error ? error->message : "");
	return list;
}

static guint count_cases(const char *status)
{
	g_autoptr(GPtrArray) list = cases(status);
	return list->len;
}

static guint deliver_demo(void)
{
	g_autoptr(GPtrArray) messages = tu_data_messages("demo");
	for (guint i = 0; i < messages->len; i++) {
		g_autoptr(GBytes) raw = tu_data_bytes(messages->pdata[i]);
		tu_dovecot_deliver(dovecot, "INBOX", raw);
	}
	return messages->len;
}

static char *report(guint n, gsize body_size)
{
	GString *s = g_string_new(NULL);
	g_string_append_printf(s,
			       "From: Amina Diallo <amina.diallo%u@example.org>\r\n"
			       "To: reprisals@example.org\r\nSubject: report %u\r\n"
			       "Message-ID: <daemon-%u@example.org>\r\n\r\n",
			       n, n, n);
	while (s->len < body_size)
		g_string_append(s, "After the session in Geneva I was questioned again.\r\n");
	return g_string_free(s, FALSE);
}

static void deliver_reports(guint first, guint count, gsize body_size)
{
	for (guint i = first; i < first + count; i++) {
		g_autofree char *text = report(i, body_size);
		tu_dovecot_deliver_text(dovecot, "INBOX", text);
	}
}

/* Files that must never hold personal data in clear. */
static void assert_no_personal_data(const char *log_text)
{
	static const char *const needles[] = {"example.org", "example.net", "example.com", "Amina",
					      "Diallo"};
	g_autofree char *wal = g_strconcat(database, "-wal", NULL);
	const char *files[] = {database, wal};
	for (gsize n = 0; n < G_N_ELEMENTS(needles); n++) {
		if (log_text != NULL)
			ck_assert_msg(strstr(log_text, needles[n]) == NULL, "log holds %s: %s",
				      needles[n], log_text);
		for (gsize f = 0; f < G_N_ELEMENTS(files); f++)
			ck_assert_msg(tu_count_in_file(files[f], needles[n], strlen(needles[n])) ==
					      0,
				      "%s holds %s", files[f], needles[n]);
	}
}

START_TEST(test_once_files_the_demo_corpus)
{
	guint n = deliver_demo();
	ck_assert_uint_eq(n, 12);
	g_autofree char *err = NULL;
	ck_assert_msg(run_once(&err) == 0, "%s", err);
	/* The shipped retention keeps no server copy: the malformed message,
	 * sealed whole, goes too. */
	ck_assert_uint_eq(tu_dovecot_count(dovecot, "INBOX"), 0);
	ck_assert_uint_eq(tu_dovecot_count(dovecot, "Processed"), 0);
	ck_assert_uint_eq(tu_dovecot_count(dovecot, "Quarantine"), 0);
	ck_assert_uint_eq(count_cases(NULL), 12);
	ck_assert_msg(strstr(err, "12 out of the inbox (12 removed from the server)") != NULL,
		      "%s", err);
	g_autoptr(GPtrArray) quarantined = cases(CANARY_STATUS_QUARANTINED);
	ck_assert_uint_eq(quarantined->len, 1);
	ck_assert_str_eq(((struct canary_case *)quarantined->pdata[0])->quarantine_reason,
			 "unparseable");
	assert_no_personal_data(err);

	/* A second pass finds nothing and stores nothing. */
	g_autofree char *again = NULL;
	ck_assert_msg(run_once(&again) == 0, "%s", again);
	ck_assert_uint_eq(count_cases(NULL), 12);
}
END_TEST

START_TEST(test_failed_move_stores_once)
{
	/* The Processed folder exists but Dovecot may not write to it: the
	 * cases commit, the move fails, the messages stay in the inbox. */
	write_home(dovecot->password, "processed_retention = forever\n");
	deliver_reports(1, 3, 200);
	tu_dovecot_deliver_text(dovecot, "Processed", "From: old@example.org\r\n\r\nold\r\n");
	g_autofree char *processed = g_build_filename(dovecot->maildir, ".Processed", NULL);
	char *subdirs[] = {g_build_filename(processed, "tmp", NULL),
			   g_build_filename(processed, "new", NULL),
			   g_build_filename(processed, "cur", NULL), NULL};
	for (int i = 0; subdirs[i] != NULL; i++)
		ck_assert_int_eq(chmod(subdirs[i], 0500), 0);
	ck_assert_int_eq(chmod(processed, 0500), 0);

	g_autofree char *err = NULL;
	ck_assert_int_ne(run_once(&err), 0);
	ck_assert_uint_eq(count_cases(NULL), 3);
	ck_assert_uint_eq(tu_dovecot_count(dovecot, "INBOX"), 3);

	ck_assert_int_eq(chmod(processed, 0700), 0);
	for (int i = 0; subdirs[i] != NULL; i++) {
		ck_assert_int_eq(chmod(subdirs[i], 0700), 0);
		g_free(subdirs[i]);
	}
	/* The next pass only moves them. */
	run_once_ok();
	ck_assert_uint_eq(count_cases(NULL), 3);
	ck_assert_uint_eq(tu_dovecot_count(dovecot, "INBOX"), 0);
	ck_assert_uint_eq(tu_dovecot_count(dovecot, "Processed"), 4);
}
END_TEST

/* The listing is sorted a window at a time (3 messages here): messages
 * stored by an earlier pass whose move failed are only moved, new ones
 * after them filed, each once, though the windows mix both. */
START_TEST(test_windows_move_stored_and_file_new)
{
	write_home(dovecot->password, "processed_retention = forever\n");
	deliver_reports(1, 10, 200);
	tu_dovecot_deliver_text(dovecot, "Processed", "From: old@example.org\r\n\r\nold\r\n");
	g_autofree char *processed = g_build_filename(dovecot->maildir, ".Processed", NULL);
	const char *const subdirs[] = {"tmp", "new", "cur", ""};
	for (gsize i = 0; i < G_N_ELEMENTS(subdirs); i++) {
		g_autofree char *dir = g_build_filename(processed, subdirs[i], NULL);
		ck_assert_int_eq(chmod(dir, 0500), 0);
	}
	g_autofree char *err = NULL;
	ck_assert_int_ne(run_once(&err), 0);
	ck_assert_uint_eq(count_cases(NULL), 10);
	ck_assert_uint_eq(tu_dovecot_count(dovecot, "INBOX"), 10);
	for (gsize i = 0; i < G_N_ELEMENTS(subdirs); i++) {
		g_autofree char *dir = g_build_filename(processed, subdirs[i], NULL);
		ck_assert_int_eq(chmod(dir, 0700), 0);
	}
	deliver_reports(11, 10, 200);
	g_setenv("CANARY_TEST_SORT_WINDOW", "3", TRUE);
	g_autofree char *again = NULL;
	int status = run_once(&again);
	g_unsetenv("CANARY_TEST_SORT_WINDOW");
	ck_assert_msg(status == 0, "%s", again);
	ck_assert_uint_eq(count_cases(NULL), 20);
	ck_assert_uint_eq(tu_dovecot_count(dovecot, "INBOX"), 0);
	ck_assert_uint_eq(tu_dovecot_count(dovecot, "Processed"), 21);
	ck_assert_msg(strstr(again, "20 out of the inbox") != NULL, "%s", again);
	assert_no_personal_data(again);
}
END_TEST

START_TEST(test_too_large_is_quarantined_unread)
{
	append_config("[limits]\nmax_message_size = 4K\n");
	/* A mixed mailbox: good, oversized, malformed. */
	deliver_reports(1, 1, 200);
	deliver_reports(2, 1, 20000);
	g_autoptr(GBytes) malformed = tu_data_bytes("demo/12-malformed-pasted-fragment.eml");
	tu_dovecot_deliver(dovecot, "INBOX", malformed);
	run_once_ok();
	/* Only the oversized one stays on the server: canary sealed just its
	 * header. */
	ck_assert_uint_eq(tu_dovecot_count(dovecot, "INBOX"), 0);
	ck_assert_uint_eq(tu_dovecot_count(dovecot, "Processed"), 0);
	ck_assert_uint_eq(tu_dovecot_count(dovecot, "Quarantine"), 1);
	g_autoptr(GPtrArray) quarantined = cases(CANARY_STATUS_QUARANTINED);
	ck_assert_uint_eq(quarantined->len, 2);
	const struct canary_case *c = quarantined->pdata[0];
	if (strcmp(c->quarantine_reason, "too-large") != 0)
		c = quarantined->pdata[1];
	ck_assert_str_eq(c->quarantine_reason, "too-large");
	/* Its whole size, not the header's, in clear as a class only. */
	ck_assert_uint_ge(c->size_class, canary_store_size_class(20000));
	assert_no_personal_data(NULL);
}
END_TEST

/* A database from schema 3 kept exact times, sizes and pseudonyms in
 * clear: canaryd, holding the public keys, seals them to each case when it
 * starts, and leaves none of them in the file. */
START_TEST(test_start_seals_older_clear_values)
{
	g_autofree char *fixture = tu_data_path("schema/v3.db");
	g_autofree char *state = g_path_get_dirname(database);
	g_mkdir_with_parents(state, 0700);
	g_autoptr(GBytes) bytes = tu_data_bytes("schema/v3.db");
	ck_assert(g_file_set_contents(database, g_bytes_get_data(bytes, NULL),
				      (gssize)g_bytes_get_size(bytes), NULL));
	g_autoptr(GPtrArray) refs = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GPtrArray) pseudonyms = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GArray) times = g_array_new(FALSE, FALSE, sizeof(gint64));
	sqlite3 *old = NULL;
	ck_assert_int_eq(sqlite3_open_v2(fixture, &old, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	sqlite3_stmt *s = NULL;
	ck_assert_int_eq(sqlite3_prepare_v2(old, "SELECT ref, pseudonym, received_at FROM cases",
					    -1, &s, NULL),
			 SQLITE_OK);
	while (sqlite3_step(s) == SQLITE_ROW) {
		g_ptr_array_add(refs, g_strdup((const char *)sqlite3_column_text(s, 0)));
		g_ptr_array_add(pseudonyms, g_strdup((const char *)sqlite3_column_text(s, 1)));
		gint64 t = sqlite3_column_int64(s, 2);
		g_array_append_val(times, t);
	}
	sqlite3_finalize(s);
	sqlite3_close(old);
	ck_assert_uint_ge(refs->len, 10);

	run_once_ok();

	g_autoptr(GError) error = NULL;
	struct canary_store *store = canary_store_open(database, &error);
	ck_assert_msg(store != NULL, "%s", error ? error->message : "");
	gint64 left = -1;
	ck_assert(canary_store_count_legacy(store, &left, &error));
	ck_assert_int_eq(left, 0);
	g_autofree char *key_path = g_build_filename(home, "keys", "custodian.key", NULL);
	g_autoptr(canary_secret_key) custodian =
		canary_key_load_secret(key_path, TU_PASSPHRASE, strlen(TU_PASSPHRASE), &error);
	ck_assert_msg(custodian != NULL, "%s", error ? error->message : "");
	for (guint i = 0; i < refs->len; i++) {
		g_autoptr(canary_case) c = canary_store_get_case(store, refs->pdata[i], &error);
		ck_assert_msg(c != NULL, "%s", error ? error->message : "");
		g_autoptr(canary_case_meta) meta =
			canary_envelope_open_meta(store, c->id, custodian, &error);
		ck_assert_msg(meta != NULL, "%s: %s", c->ref, error ? error->message : "");
		ck_assert_int_eq(meta->received_at, g_array_index(times, gint64, i));
		ck_assert_str_eq(meta->pseudonym != NULL ? meta->pseudonym : "-",
				 pseudonyms->pdata[i] != NULL ? pseudonyms->pdata[i] : "-");
	}
	canary_store_close(&store);
	g_autofree char *wal = g_strconcat(database, "-wal", NULL);
	for (guint i = 0; i < pseudonyms->len; i++) {
		const char *p = pseudonyms->pdata[i];
		if (p == NULL)
			continue;
		ck_assert_uint_eq(tu_count_in_file(database, p, strlen(p)), 0);
		ck_assert_uint_eq(tu_count_in_file(wal, p, strlen(p)), 0);
	}
}
END_TEST

/* While the server keeps a copy (here in Processed, for 2 days), a
 * message that comes back under a new UIDVALIDITY is recognised by its
 * content hash. */
START_TEST(test_recreated_mailbox_dedupes_by_content)
{
	write_home(dovecot->password, "processed_retention = 2d\n");
	deliver_reports(1, 2, 200);
	run_once_ok();
	ck_assert_uint_eq(count_cases(NULL), 2);

	/* The mailbox is restored from a backup: new UIDVALIDITY, and report 1
	 * is back in the inbox beside a new report 3. */
	tu_dovecot_reset_inbox(dovecot);
	deliver_reports(1, 1, 200);
	deliver_reports(3, 1, 200);
	g_autofree char *err = NULL;
	ck_assert_msg(run_once(&err) == 0, "%s", err);
	ck_assert_ptr_nonnull(strstr(err, "UIDVALIDITY"));
	ck_assert_uint_eq(count_cases(NULL), 3);
	ck_assert_uint_eq(tu_dovecot_count(dovecot, "INBOX"), 0);
	ck_assert_uint_eq(tu_dovecot_count(dovecot, "Processed"), 4);
}
END_TEST

/* With the shipped retention the server copy is expunged once its case is
 * committed, and the content hash with it: the database can no longer
 * confirm a guessed message. The price: a message the mail server gives
 * back later (its own backup restored) is filed again, as a new case;
 * nothing is lost. */
START_TEST(test_expunged_message_is_not_recognised)
{
	deliver_reports(1, 1, 200);
	run_once_ok();
	ck_assert_uint_eq(count_cases(NULL), 1);

	tu_dovecot_reset_inbox(dovecot);
	deliver_reports(1, 1, 200);
	run_once_ok();
	ck_assert_uint_eq(count_cases(NULL), 2);
	ck_assert_uint_eq(tu_dovecot_count(dovecot, "INBOX"), 0);
}
END_TEST

START_TEST(test_wrong_password_once)
{
	write_home("wrong password", NULL);
	deliver_reports(1, 1, 200);
	g_autofree char *err = NULL;
	ck_assert_int_eq(run_once(&err), 1);
	ck_assert_ptr_nonnull(strstr(err, "LOGIN REFUSED"));
	ck_assert_ptr_null(strstr(err, "wrong password"));
	ck_assert_uint_eq(tu_dovecot_count(dovecot, "INBOX"), 1);
}
END_TEST

START_TEST(test_untrusted_server_once)
{
	g_autofree char *other = tu_dovecot_other_cert(home);
	edit_config(dovecot->ca_file, other);
	deliver_reports(1, 1, 200);
	g_autofree char *err = NULL;
	ck_assert_int_eq(run_once(&err), 1);
	ck_assert_ptr_nonnull(strstr(err, "TLS FAILURE"));
	ck_assert_uint_eq(tu_dovecot_count(dovecot, "INBOX"), 1);
}
END_TEST

START_TEST(test_server_down_once)
{
	tu_dovecot_stop(dovecot);
	g_autofree char *err = NULL;
	ck_assert_int_eq(run_once(&err), 1);
	ck_assert_ptr_nonnull(strstr(err, "pass failed"));
}
END_TEST

START_TEST(test_starttls_and_credentials_directory)
{
	/* The config's password file is wrong; systemd's credential is right,
	 * and wins. */
	g_autofree char *creds = g_build_filename(home, "credentials", NULL);
	ck_assert_int_eq(g_mkdir_with_parents(creds, 0700), 0);
	g_autofree char *pass = g_strdup_printf("%s\n", dovecot->password);
	g_autofree char *cred = tu_write_file(creds, "imap-password", pass);
	write_home("wrong password", NULL);
	g_autofree char *imaps = tu_dovecot_url(dovecot, TRUE);
	g_autofree char *starttls = tu_dovecot_url(dovecot, FALSE);
	edit_config(imaps, starttls);

	deliver_reports(1, 2, 200);
	g_autofree char *env = g_strdup_printf("CREDENTIALS_DIRECTORY=%s", creds);
	const char *envp[] = {env, NULL};
	const char *argv[] = {CANARYD_PATH, "--once", "-c", config, NULL};
	g_autofree char *err = NULL;
	ck_assert_msg(tu_run(argv, envp, NULL, &err) == 0, "%s", err);
	ck_assert_uint_eq(count_cases(NULL), 2);
	ck_assert_uint_eq(tu_dovecot_count(dovecot, "INBOX"), 0);
}
END_TEST

START_TEST(test_tells_systemd)
{
	/* A notification socket as systemd gives a Type=notify service. */
	g_autofree char *socket_path = g_build_filename(home, "notify", NULL);
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	ck_assert_int_ge(fd, 0);
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	g_strlcpy(sun.sun_path, socket_path, sizeof sun.sun_path);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sun, sizeof sun), 0);
	deliver_reports(1, 2, 200);
	g_autofree char *env = g_strdup_printf("NOTIFY_SOCKET=%s", socket_path);
	const char *envp[] = {env, "JOURNAL_STREAM=8:12345", NULL};
	const char *argv[] = {CANARYD_PATH, "--once", "-c", config, NULL};
	g_autofree char *err = NULL;
	ck_assert_msg(tu_run(argv, envp, NULL, &err) == 0, "%s", err);
	GString *said = g_string_new(NULL);
	char buffer[4096];
	for (ssize_t n; (n = recv(fd, buffer, sizeof buffer - 1, 0)) > 0;) {
		buffer[n] = '\0';
		g_string_append_printf(said, "%s\n", buffer);
	}
	close(fd);
	g_autofree char *text = g_string_free(said, FALSE);
	ck_assert_msg(strstr(text, "READY=1") != NULL, "%s", text);
	ck_assert_msg(
		g_regex_match_simple("STATUS=idle; 2 cases today; last pass [0-9]{2}:[0-9]{2}",
				     text, 0, 0),
		"%s", text);
	/* Under the journal, each line starts with its syslog priority. */
	ck_assert_msg(g_regex_match_simple("^<5>started", err, G_REGEX_MULTILINE, 0), "%s", err);
}
END_TEST

/* --- The long-running daemon ------------------------------------------------ */

struct running {
	pid_t pid;
	char *log_path;
};

/* Starts canaryd in the foreground with its stderr in a file. */
static struct running start_daemon(void)
{
	struct running r = {0};
	r.log_path = g_build_filename(home, "canaryd.log", NULL);
	r.pid = tu_canaryd_start(config, r.log_path, NULL, -1);
	running_pid = r.pid;
	return r;
}

static char *daemon_log(const struct running *r)
{
	char *text = NULL;
	ck_assert(g_file_get_contents(r->log_path, &text, NULL, NULL));
	return text;
}

/* Prints the daemon's log so far, for a check about to fail. */
static void show_daemon_log(const struct running *r)
{
	g_autofree char *so_far = daemon_log(r);
	fprintf(stderr, "canaryd log:\n%s\n", so_far);
}

/* Sends SIGNAL and returns the exit status, failing after SECONDS. */
static int stop_daemon(struct running *r, int signal_number, guint seconds)
{
	running_pid = 0;
	return tu_canaryd_stop_with(r->pid, signal_number, seconds);
}

/* Waits up to SECONDS for COUNT messages in FOLDER. */
static gboolean wait_for(const char *folder, guint count, guint seconds)
{
	for (guint i = 0; i < seconds * 10; i++) {
		if (tu_dovecot_count(dovecot, folder) == count)
			return TRUE;
		g_usleep(100000);
	}
	return FALSE;
}

START_TEST(test_daemon_polls_reloads_and_stops)
{
	g_autofree char *good = NULL;
	write_home(dovecot->password, "poll_interval = 1s\n");
	ck_assert(g_file_get_contents(config, &good, NULL, NULL));
	struct running r = start_daemon();
	deliver_reports(1, 2, 200);
	ck_assert_msg(wait_for("INBOX", 0, 20), "not processed");

	/* A bad new config is refused; the daemon goes on with the old one. */
	g_autofree char *bad = g_strconcat(good, "[limits]\nmax_message_size = lots\n", NULL);
	ck_assert(g_file_set_contents(config, bad, -1, NULL));
	kill(r.pid, SIGHUP);
	deliver_reports(3, 1, 200);
	ck_assert_msg(wait_for("INBOX", 0, 20), "stopped polling after a bad reload");
	g_autofree char *log = daemon_log(&r);
	ck_assert_msg(strstr(log, "max_message_size") != NULL, "%s", log);
	ck_assert_ptr_nonnull(strstr(log, "still running with the old one"));

	/* A good one is taken. */
	ck_assert(g_file_set_contents(config, good, -1, NULL));
	kill(r.pid, SIGHUP);
	for (int i = 0; i < 100; i++) {
		g_free(log);
		log = daemon_log(&r);
		if (strstr(log, "configuration reloaded") != NULL)
			break;
		g_usleep(100000);
	}
	ck_assert_ptr_nonnull(strstr(log, "configuration reloaded"));

	gint64 asked = g_get_monotonic_time();
	ck_assert_int_eq(stop_daemon(&r, SIGTERM, 10), 0);
	ck_assert_int_lt(g_get_monotonic_time() - asked, 5 * G_USEC_PER_SEC);
	g_free(log);
	log = daemon_log(&r);
	ck_assert_ptr_nonnull(strstr(log, "stopping on request"));
	ck_assert_uint_eq(count_cases(NULL), 3);
	assert_no_personal_data(log);
	g_free(r.log_path);
}
END_TEST

START_TEST(test_daemon_login_refused_no_tight_loop)
{
	write_home("wrong password", "poll_interval = 1s\n");
	struct running r = start_daemon();
	/* The first refusal, however slowly the daemon starts; then three
	 * seconds, three poll intervals. */
	ck_assert(tu_wait_for_lines(r.log_path, 1, "LOGIN REFUSED", NULL, 60));
	g_usleep(3 * G_USEC_PER_SEC);
	ck_assert_int_eq(stop_daemon(&r, SIGTERM, 10), 0);
	g_autofree char *log = daemon_log(&r);
	ck_assert_msg(tu_count_in_file(r.log_path, "LOGIN REFUSED", 13) == 1, "%s", log);
	ck_assert_ptr_null(strstr(log, "wrong password"));
	/* One login attempt in those three seconds and more, not one per
	 * poll interval. */
	g_autofree char *dovecot_log = g_build_filename(dovecot->dir, "dovecot.log", NULL);
	ck_assert_uint_le(tu_count_in_file(dovecot_log, "auth failed", 11), 1);
	g_free(r.log_path);
}
END_TEST

START_TEST(test_daemon_recovers_when_server_returns)
{
	write_home(dovecot->password, "poll_interval = 1s\n");
	tu_dovecot_stop(dovecot);
	struct running r = start_daemon();
	ck_assert(tu_wait_for_lines(r.log_path, 1, "pass failed", NULL, 30));
	tu_dovecot_restart(dovecot);
	deliver_reports(1, 1, 200);
	/* The first retry waits 2-2.5 s, the next 4-5 s. */
	ck_assert_msg(wait_for("INBOX", 0, 30), "no recovery");
	ck_assert_int_eq(stop_daemon(&r, SIGINT, 10), 0);
	g_autofree char *log = daemon_log(&r);
	ck_assert_msg(tu_count_in_file(r.log_path, "pass failed", 11) == 1, "%s", log);
	ck_assert_ptr_nonnull(strstr(log, "recovered"));
	g_free(r.log_path);
}
END_TEST

/* Starts canaryd --once without waiting for it. */
static pid_t spawn_once(void)
{
	pid_t test = getpid();
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		tu_die_with_parent(test);
		int null = open("/dev/null", O_WRONLY);
		if (null < 0 || dup2(null, STDERR_FILENO) < 0 || dup2(null, STDOUT_FILENO) < 0)
			_exit(127);
		execl(CANARYD_PATH, CANARYD_PATH, "--once", "-c", config, (char *)NULL);
		_exit(127);
	}
	return pid;
}

/* Adds to FOUND the numbers of the reports (Message-ID <daemon-N@...>)
 * whose files are in FOLDER. */
static void reports_in(const char *folder, GHashTable *found)
{
	static const char *const subdirs[] = {"new", "cur"};
	for (gsize i = 0; i < G_N_ELEMENTS(subdirs); i++) {
		g_autofree char *dir =
			g_strcmp0(folder, "INBOX") == 0
				? g_build_filename(dovecot->maildir, subdirs[i], NULL)
				: g_strdup_printf("%s/.%s/%s", dovecot->maildir, folder, subdirs[i]);
		g_autoptr(GDir) handle = g_dir_open(dir, 0, NULL);
		for (const char *name; handle != NULL && (name = g_dir_read_name(handle)) != NULL;) {
			g_autofree char *path = g_build_filename(dir, name, NULL);
			g_autofree char *text = NULL;
			/* Dovecot may expunge it meanwhile: then it is not there. */
			if (!g_file_get_contents(path, &text, NULL, NULL))
				continue;
			const char *id = strstr(text, "Message-ID: <daemon-");
			guint n = 0;
			if (id != NULL && sscanf(id, "Message-ID: <daemon-%u@", &n) == 1)
				g_hash_table_add(found, GUINT_TO_POINTER(n));
		}
	}
}

/* The first of reports 1..N that is neither on the server nor stored (0:
 * none). Report I has UID I (a fresh inbox, delivered in order). */
static guint first_lost(guint n)
{
	g_autoptr(GHashTable) on_server = g_hash_table_new(NULL, NULL);
	reports_in("INBOX", on_server);
	reports_in("Processed", on_server);
	reports_in("Quarantine", on_server);
	g_autoptr(GError) error = NULL;
	struct canary_store *store = canary_store_open_readonly(database, &error);
	ck_assert_msg(store != NULL, "%s", error ? error->message : "");
	g_autofree char *uidvalidity = NULL;
	ck_assert(canary_store_get_state(store, "imap.uidvalidity.INBOX", &uidvalidity, &error));
	guint lost = 0;
	for (guint i = 1; i <= n && lost == 0; i++) {
		if (g_hash_table_contains(on_server, GUINT_TO_POINTER(i)))
			continue;
		g_autofree char *ref = NULL;
		ck_assert_ptr_nonnull(uidvalidity);
		ck_assert(canary_store_find_source(store, "INBOX",
						   (guint32)g_ascii_strtoull(uidvalidity, NULL, 10),
						   i, &ref, &error));
		if (ref == NULL)
			lost = i;
	}
	canary_store_close(&store);
	return lost;
}

/* Fails unless each of reports 1..N is still on the server or stored: a
 * message removed whose case is not committed would be neither. A file
 * Dovecot renames (a flag changed) while it is looked for is looked for
 * again. */
static void assert_each_kept_or_stored(guint n)
{
	guint lost = first_lost(n);
	for (int i = 0; i < 50 && lost != 0; i++) {
		g_usleep(20000);
		lost = first_lost(n);
	}
	ck_assert_msg(lost == 0, "report %u is neither on the server nor stored", lost);
}

/* Whether the in-hand record beside the database was written at or after
 * SINCE (CLOCK_REALTIME_COARSE, which file times follow): one a killed
 * process left behind is older. */
static gboolean in_hand_since(const struct timespec *since)
{
	g_autofree char *in_hand = g_strconcat(database, ".in-hand", NULL);
	struct stat st;
	if (stat(in_hand, &st) != 0)
		return FALSE;
	return st.st_mtim.tv_sec > since->tv_sec ||
	       (st.st_mtim.tv_sec == since->tv_sec && st.st_mtim.tv_nsec >= since->tv_nsec);
}

/* Starts canaryd --once and waits until it has a message in hand, or has
 * exited: FALSE then, with its exit status in *STATUS_R. */
static gboolean spawn_until_in_hand(pid_t *pid_r, int *status_r)
{
	struct timespec since;
	clock_gettime(CLOCK_REALTIME_COARSE, &since);
	*pid_r = spawn_once();
	while (!in_hand_since(&since)) {
		if (waitpid(*pid_r, status_r, WNOHANG) == *pid_r)
			return FALSE;
		g_usleep(1000);
	}
	return TRUE;
}

/* Run with the listing sorted whole (_i 0) and 7 messages at a time (_i 1),
 * so that kills land between windows too. Every other kill comes at a
 * random time after the start, the others a little after the first
 * message is in hand: a pass of 500 messages takes a third of a second
 * here, so only those are sure to land mid-pass. */
START_TEST(test_kill_9_loses_nothing_and_stores_nothing_twice)
{
	enum { N = 500 };
	if (_i == 1)
		g_setenv("CANARY_TEST_SORT_WINDOW", "7", TRUE);
	write_home(dovecot->password, "batch_size = 25\n");
	deliver_reports(1, N, 2000);
	GRand *rand = g_rand_new_with_seed(20261125);
	guint interrupted = 0; /* kills that landed in the middle of a pass */
	for (guint round = 0; round < 8 && tu_dovecot_count(dovecot, "INBOX") > 0; round++) {
		pid_t pid = 0;
		int status = 0;
		gboolean running = TRUE;
		if (round % 2 == 0)
			running = spawn_until_in_hand(&pid, &status);
		else
			pid = spawn_once();
		if (running) {
			g_usleep((gulong)(round % 2 == 0 ? g_rand_int_range(rand, 0, 150)
							 : g_rand_int_range(rand, 100, 700)) *
				 1000);
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
		}
		if (WIFSIGNALED(status))
			interrupted++;
		/* Nothing lost: every message is on the server or its case is
		 * committed (checked whatever Dovecot still finishes of a move or
		 * an expunge the client no longer waits for). */
		assert_each_kept_or_stored(N);
		/* Nothing stored twice: never more cases than messages. */
		ck_assert_uint_le(count_cases(NULL), N);
	}
	g_rand_free(rand);
	ck_assert_uint_gt(interrupted, 0);
	run_once_ok();
	ck_assert_uint_eq(count_cases(NULL), N);
	ck_assert_uint_eq(tu_dovecot_count(dovecot, "INBOX"), 0);
	ck_assert_uint_eq(tu_dovecot_count(dovecot, "Processed"), 0);
	/* Each message is its own case: the references are distinct and so
	 * are the content hashes (the store enforces the latter). */
	g_autoptr(GPtrArray) all = cases(NULL);
	g_autoptr(GHashTable) refs = g_hash_table_new(g_str_hash, g_str_equal);
	for (guint i = 0; i < all->len; i++)
		g_hash_table_add(refs, ((struct canary_case *)all->pdata[i])->ref);
	ck_assert_uint_eq(g_hash_table_size(refs), N);
	g_unsetenv("CANARY_TEST_SORT_WINDOW");
}
END_TEST

START_TEST(test_server_stopped_mid_pass)
{
	enum { N = 300 };
	write_home(dovecot->password, "poll_interval = 1s\nbatch_size = 10\n");
	deliver_reports(1, N, 2000);
	struct running r = start_daemon();
	for (int i = 0; i < 600 && tu_dovecot_count(dovecot, "INBOX") == N; i++)
		g_usleep(10000);
	ck_assert_uint_lt(tu_dovecot_count(dovecot, "INBOX"), N);
	tu_dovecot_kill(dovecot);
	guint moved = N - tu_dovecot_count(dovecot, "INBOX");
	/* The daemon keeps going (and failing) meanwhile; what it removed
	 * before is committed. */
	assert_each_kept_or_stored(N);
	/* It has noticed: the server is restarted under a failing daemon. */
	gboolean noticed = tu_wait_for_lines(r.log_path, 1, "pass failed", NULL, 30);
	if (!noticed)
		show_daemon_log(&r);
	ck_assert_msg(noticed, "no failed pass logged within 30 s of the server's death");
	tu_dovecot_restart(dovecot);
	/* Dovecot killed in the middle of an expunge may have marked messages
	 * \Deleted without removing them: the next pass finds them stored and
	 * removes them again. It may also
	 * leave its dovecot-uidlist.lock: Dovecot does not check the PID in a
	 * lock younger than 2 s, and waits until the lock is 2 minutes old
	 * before overriding it, sending "Mailbox is locked" notices meanwhile.
	 * The daemon's SELECT waits through that, so the test must too. */
	gboolean finished = wait_for("INBOX", 0, 200);
	if (!finished)
		show_daemon_log(&r);
	ck_assert_msg(finished, "the daemon did not finish after the restart: %u left",
		      tu_dovecot_count(dovecot, "INBOX"));
	ck_assert_int_eq(stop_daemon(&r, SIGTERM, 10), 0);
	g_autofree char *log = daemon_log(&r);
	ck_assert_msg(moved < N, "the pass ended before the server stopped");
	ck_assert_uint_eq(count_cases(NULL), N);
	ck_assert_uint_eq(tu_dovecot_count(dovecot, "Processed"), 0);
	if (strstr(log, "recovered") == NULL)
		fprintf(stderr, "canaryd log:\n%s\n", log);
	ck_assert_msg(strstr(log, "recovered") != NULL, "no recovery in the log");
	g_free(r.log_path);
}
END_TEST

/* --- One message never stops the queue ------------------------------------- */

/* The quarantine reason of the only quarantined case. */
static char *only_quarantine_reason(void)
{
	g_autoptr(GPtrArray) list = cases(CANARY_STATUS_QUARANTINED);
	ck_assert_uint_eq(list->len, 1);
	return g_strdup(((struct canary_case *)list->pdata[0])->quarantine_reason);
}

/* Waits up to SECONDS for the in-hand file beside the database to name UID. */
static gboolean wait_in_hand(guint32 uid, guint seconds)
{
	g_autofree char *path = g_strconcat(database, ".in-hand", NULL);
	g_autofree char *needle = g_strdup_printf(" %u\n", uid);
	for (guint i = 0; i <= seconds * 20; i++) {
		g_autofree char *text = NULL;
		if (g_file_get_contents(path, &text, NULL, NULL) && strstr(text, needle) != NULL)
			return TRUE;
		g_usleep(50000);
	}
	return FALSE;
}

START_TEST(test_too_slow_is_quarantined_and_the_rest_filed)
{
	deliver_reports(1, 3, 2000);
	append_config("[limits]\nmessage_time = 1s\n");
	g_setenv("CANARY_TEST_STALL_UID", "2:2500", TRUE);
	run_once_ok();
	g_unsetenv("CANARY_TEST_STALL_UID");
	ck_assert_uint_eq(count_cases(CANARY_STATUS_NEW), 2);
	g_autofree char *reason = only_quarantine_reason();
	ck_assert_str_eq(reason, "too-slow");
	ck_assert_uint_eq(tu_dovecot_count(dovecot, "INBOX"), 0);
}
END_TEST

/* Binds a notification socket in the canary home, as systemd gives a
 * Type=notify service, that stamps each datagram with its arrival time. */
static int notify_socket(char **env_r)
{
	g_autofree char *socket_path = g_build_filename(home, "notify", NULL);
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	ck_assert_int_ge(fd, 0);
	int on = 1;
	ck_assert_int_eq(setsockopt(fd, SOL_SOCKET, SO_TIMESTAMP, &on, sizeof on), 0);
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	g_strlcpy(sun.sun_path, socket_path, sizeof sun.sun_path);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sun, sizeof sun), 0);
	*env_r = g_strdup_printf("NOTIFY_SOCKET=%s", socket_path);
	return fd;
}

/* The arrival times (seconds) of the WATCHDOG=1 pings queued on FD. */
static GArray *watchdog_pings(int fd)
{
	GArray *times = g_array_new(FALSE, FALSE, sizeof(double));
	for (;;) {
		char buffer[4096];
		union {
			struct cmsghdr align;
			char space[CMSG_SPACE(sizeof(struct timeval))];
		} control;
		struct iovec iov = {buffer, sizeof buffer - 1};
		struct msghdr msg = {.msg_iov = &iov,
				     .msg_iovlen = 1,
				     .msg_control = &control,
				     .msg_controllen = sizeof control};
		ssize_t n = recvmsg(fd, &msg, 0);
		if (n <= 0)
			break;
		buffer[n] = '\0';
		struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
		if (strstr(buffer, "WATCHDOG=1") == NULL || c == NULL ||
		    c->cmsg_type != SCM_TIMESTAMP)
			continue;
		struct timeval tv;
		memcpy(&tv, CMSG_DATA(c), sizeof tv);
		double t = (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
		g_array_append_val(times, t);
	}
	return times;
}

/* While canaryd waits for a message being prepared it pings the watchdog
 * every second, but only within the message's budget: a thread that hangs
 * must let WatchdogSec= kill the process. UID 2 stalls 9 s with a budget of
 * 3 s: pings go on through the first 3 s or so of the wait, then stop
 * until the message is done (without the feeding the gap is the whole 9 s;
 * without the bound there is none). */
START_TEST(test_watchdog_fed_within_the_budget_only)
{
	deliver_reports(1, 3, 200);
	append_config("[limits]\nmessage_time = 3s\n");
	g_autofree char *env = NULL;
	int fd = notify_socket(&env);
	const char *envp[] = {env, NULL};
	const char *argv[] = {CANARYD_PATH, "--once", "-c", config, NULL};
	g_setenv("CANARY_TEST_STALL_UID", "2:9000", TRUE);
	g_autofree char *err = NULL;
	int status = tu_run(argv, envp, NULL, &err);
	g_unsetenv("CANARY_TEST_STALL_UID");
	ck_assert_msg(status == 0, "%s", err);
	g_autoptr(GArray) pings = watchdog_pings(fd);
	close(fd);
	double widest = 0;
	guint fed_before = 0; /* pings within 3.5 s before the widest gap */
	for (guint i = 1; i < pings->len; i++) {
		double gap = g_array_index(pings, double, i) - g_array_index(pings, double, i - 1);
		if (gap <= widest)
			continue;
		widest = gap;
		fed_before = 0;
		for (guint j = 0; j < i; j++)
			fed_before += g_array_index(pings, double, i - 1) -
					      g_array_index(pings, double, j) <
				      3.5;
	}
	ck_assert_msg(widest > 3.5 && widest < 8.0, "widest gap between pings %.2f s", widest);
	ck_assert_msg(fed_before >= 3, "%u pings just before the gap", fed_before);
	g_autofree char *reason = only_quarantine_reason();
	ck_assert_str_eq(reason, "too-slow");
}
END_TEST

/* Follow-ups under kill -9: every answer to report 1 is on the server or
 * a message of its case, and none is stored twice, whenever canaryd dies
 * (between a follow-up's commit and its move included). */
START_TEST(test_kill_9_follow_ups_join_once)
{
	enum { N = 300 };
	write_home(dovecot->password, "batch_size = 25\n");
	deliver_reports(1, 1, 200);
	run_once_ok();
	g_autoptr(GPtrArray) first = cases(NULL);
	ck_assert_uint_eq(first->len, 1);
	g_autofree char *ref = g_strdup(((struct canary_case *)first->pdata[0])->ref);
	for (guint i = 2; i <= N; i++) {
		g_autofree char *text = report(i, 2000);
		g_autofree char *answer =
			g_strconcat("In-Reply-To: <daemon-1@example.org>\r\n", text, NULL);
		tu_dovecot_deliver_text(dovecot, "INBOX", answer);
	}
	GRand *rand = g_rand_new_with_seed(20261204);
	for (guint round = 0; round < 8 && tu_dovecot_count(dovecot, "INBOX") > 0; round++) {
		pid_t pid = spawn_once();
		g_usleep((gulong)g_rand_int_range(rand, 100, 700) * 1000);
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		assert_each_kept_or_stored(N);
		g_autoptr(GPtrArray) now = cases(NULL);
		ck_assert_uint_eq(now->len, 1);
		ck_assert_uint_le(((struct canary_case *)now->pdata[0])->messages, N);
	}
	g_rand_free(rand);
	run_once_ok();
	ck_assert_uint_eq(tu_dovecot_count(dovecot, "INBOX"), 0);
	g_autoptr(GPtrArray) last = cases(NULL);
	ck_assert_uint_eq(last->len, 1);
	const struct canary_case *c = last->pdata[0];
	ck_assert_str_eq(c->ref, ref);
	ck_assert_uint_eq(c->messages, N);
}
END_TEST

/* The count of KIND ("deaths" or "crashes") canaryd keeps for UID in its
 * state. */
static guint count_for(const char *kind, guint32 uid)
{
	g_autoptr(GError) error = NULL;
	struct canary_store *store = canary_store_open_readonly(database, &error);
	if (store == NULL)
		return 0; /* not made (or migrated) yet */
	g_autofree char *key = g_strdup_printf("poll.%s.INBOX", kind);
	g_autofree char *value = NULL;
	gboolean read = canary_store_get_state(store, key, &value, &error);
	canary_store_close(&store);
	guint count = 0;
	g_auto(GStrv) entries = g_strsplit(read && value != NULL ? value : "", ";", -1);
	for (guint i = 0; entries[i] != NULL; i++) {
		guint32 uidvalidity = 0, u = 0, n = 0;
		if (sscanf(entries[i], "%u %u %u", &uidvalidity, &u, &n) == 3 && u == uid)
			count = n;
	}
	return count;
}

/* Waits up to SECONDS until a canaryd that counted DEATHS deaths for UID
 * holds it in hand (the file of the last death may still be there before
 * the new process has counted it). */
static gboolean wait_held_again(guint32 uid, guint deaths, guint seconds)
{
	for (guint i = 0; i < seconds * 20; i++) {
		if (count_for("deaths", uid) == deaths && wait_in_hand(uid, 0))
			return TRUE;
		g_usleep(50000);
	}
	return FALSE;
}

/* Kills canaryd DEATHS times with SIG while UID 2, which hangs when it is
 * prepared, is in hand; each new canaryd first counts the last death, so
 * holding UID 2 again shows it was not found poison yet. */
static void die_with_uid_2_in_hand(guint deaths, int sig)
{
	g_setenv("CANARY_TEST_STALL_UID", "2", TRUE);
	for (guint death = 0; death < deaths; death++) {
		pid_t pid = spawn_once();
		gboolean held = wait_held_again(2, death, 30);
		kill(pid, sig);
		int status = 0;
		waitpid(pid, &status, 0);
		ck_assert_msg(held, "UID 2 not in hand after %u deaths", death);
		ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == sig,
			      "canaryd ended with status %d", status);
	}
}

/* A pass with UID 2 still stalling (for less than message_time, so that a
 * failure here ends) files all three messages and leaves no in-hand file.
 * Returns the reason of the quarantined case, or NULL when there is none. */
static char *pass_after_deaths(void)
{
	g_setenv("CANARY_TEST_STALL_UID", "2:5000", TRUE);
	run_once_ok();
	g_unsetenv("CANARY_TEST_STALL_UID");
	ck_assert_uint_eq(count_cases(NULL), 3);
	ck_assert_uint_eq(tu_dovecot_count(dovecot, "INBOX"), 0);
	g_autofree char *in_hand = g_strconcat(database, ".in-hand", NULL);
	g_autofree char *mark = g_strconcat(database, ".in-hand.crashed", NULL);
	ck_assert(!g_file_test(in_hand, G_FILE_TEST_EXISTS));
	ck_assert(!g_file_test(mark, G_FILE_TEST_EXISTS));
	ck_assert_uint_eq(count_for("deaths", 2), 0); /* forgotten once filed */
	g_autoptr(GPtrArray) list = cases(CANARY_STATUS_QUARANTINED);
	return list->len == 1 ? only_quarantine_reason() : NULL;
}

/* SIGABRT is what abort(), a failed assertion and systemd's watchdog send:
 * two such crashes with UID 2 in hand make it poison, quarantined without
 * being prepared again (it would stall 5 s more and be filed). */
START_TEST(test_poison_after_two_crashes)
{
	deliver_reports(1, 3, 2000);
	die_with_uid_2_in_hand(2, SIGABRT);
	ck_assert_uint_eq(count_for("crashes", 2), 1); /* the second not counted yet */
	g_autofree char *reason = pass_after_deaths();
	ck_assert_str_eq(reason, "poison");
}
END_TEST

/* kill -9 says nothing about the message in hand: nine of them leave UID 2
 * to be filed as a case like any other. */
START_TEST(test_kills_alone_do_not_make_poison)
{
	deliver_reports(1, 3, 2000);
	die_with_uid_2_in_hand(9, SIGKILL);
	ck_assert_uint_eq(count_for("crashes", 2), 0);
	g_autofree char *reason = pass_after_deaths();
	ck_assert_ptr_null(reason);
	ck_assert_uint_eq(count_cases(CANARY_STATUS_NEW), 3);
}
END_TEST

/* ... but the OOM killer's, on a memory bomb, comes back at every start:
 * ten deaths of any kind make the message poison. */
START_TEST(test_poison_after_ten_kills)
{
	deliver_reports(1, 3, 2000);
	die_with_uid_2_in_hand(10, SIGKILL);
	g_autofree char *reason = pass_after_deaths();
	ck_assert_str_eq(reason, "poison");
}
END_TEST

static Suite *daemon_suite(void)
{
	Suite *s = suite_create("daemon");
	TCase *tc = tcase_create("daemon");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_once_files_the_demo_corpus);
	tcase_add_test(tc, test_failed_move_stores_once);
	tcase_add_test(tc, test_windows_move_stored_and_file_new);
	tcase_add_test(tc, test_too_large_is_quarantined_unread);
	tcase_add_test(tc, test_recreated_mailbox_dedupes_by_content);
	tcase_add_test(tc, test_expunged_message_is_not_recognised);
	tcase_add_test(tc, test_start_seals_older_clear_values);
	tcase_add_test(tc, test_wrong_password_once);
	tcase_add_test(tc, test_untrusted_server_once);
	tcase_add_test(tc, test_server_down_once);
	tcase_add_test(tc, test_starttls_and_credentials_directory);
	tcase_add_test(tc, test_tells_systemd);
	tcase_add_test(tc, test_daemon_polls_reloads_and_stops);
	tcase_add_test(tc, test_daemon_login_refused_no_tight_loop);
	tcase_add_test(tc, test_daemon_recovers_when_server_returns);
	tcase_add_loop_test(tc, test_kill_9_loses_nothing_and_stores_nothing_twice, 0, 2);
	tcase_add_test(tc, test_kill_9_follow_ups_join_once);
	tcase_add_test(tc, test_server_stopped_mid_pass);
	suite_add_tcase(s, tc);
	/* One message never stops the queue. */
	TCase *poison = tcase_create("poison");
	tcase_add_checked_fixture(poison, setup, teardown);
	tcase_set_timeout(poison, 120);
	tcase_add_test(poison, test_too_slow_is_quarantined_and_the_rest_filed);
	tcase_add_test(poison, test_poison_after_two_crashes);
	tcase_add_test(poison, test_kills_alone_do_not_make_poison);
	tcase_add_test(poison, test_poison_after_ten_kills);
	tcase_add_test(poison, test_watchdog_fed_within_the_budget_only);
	suite_add_tcase(s, poison);
	return s;
}

int main(void)
{
	return tu_run_suite(daemon_suite());
}
