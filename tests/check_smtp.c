/* check_smtp.c: outgoing mail (outgoing.c, smtp.c, [smtp] in config.c)
 * through a real Postfix on 127.0.0.1 into the test Dovecot's Maildirs. */
#include <check.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "mail.h"
#include "mta.h"
#include "outgoing.h"
#include "process.h"
#include "smtp.h"
#include "testutil.h"

static struct tu_dovecot *dovecot;
static struct tu_mta *mta;
static char *dir;

static void setup(void)
{
	dir = tu_make_tempdir();
	dovecot = tu_dovecot_start(NULL);
	mta = tu_mta_start(dovecot);
}

static void teardown(void)
{
	tu_mta_free(mta);
	tu_dovecot_free(dovecot);
	tu_rmtree(dir);
	g_free(dir);
}

static void setup_dir_only(void)
{
	dir = tu_make_tempdir();
}

static void teardown_dir_only(void)
{
	tu_rmtree(dir);
	g_free(dir);
}

/* A configuration holding [smtp] as the test MTA wants it, with EXTRA
 * lines appended to the group (later keys win: GKeyFile keeps the last). */
static struct canary_config *smtp_config(const char *extra)
{
	g_autofree char *smtp = tu_mta_canary_config(mta, mta->confidential);
	/* Each line of EXTRA replaces the line of the same key. */
	g_auto(GStrv) lines = g_strsplit(smtp, "\n", -1);
	g_auto(GStrv) overrides = g_strsplit(extra != NULL ? extra : "", "\n", -1);
	for (gsize o = 0; overrides[o] != NULL; o++) {
		const char *eq = strchr(overrides[o], '=');
		if (eq == NULL)
			continue;
		g_autofree char *key = g_strndup(overrides[o], (gsize)(eq - overrides[o]));
		gboolean replaced = FALSE;
		for (gsize l = 0; lines[l] != NULL && !replaced; l++)
			if (g_str_has_prefix(lines[l], key)) {
				g_free(lines[l]);
				lines[l] = g_strdup(overrides[o]);
				replaced = TRUE;
			}
		if (!replaced) {
			char *joined = g_strjoinv("\n", lines);
			g_strfreev(lines);
			g_autofree char *more = g_strconcat(joined, "\n", overrides[o], NULL);
			g_free(joined);
			lines = g_strsplit(more, "\n", -1);
		}
	}
	g_autofree char *group = g_strjoinv("\n", lines);
	g_autofree char *text = g_strdup_printf("[keys]\ncustodian_public = k.pub\n"
						"pseudonym_key = k.key\n"
						"default_section_public = k.pub\n%s\n",
						group);
	g_autofree char *path = g_build_filename(dir, "canary.conf", NULL);
	g_autofree char *pub = tu_write_file(dir, "k.pub", "x");
	g_autofree char *key = tu_write_file(dir, "k.key", "x");
	g_autoptr(GError) error = NULL;
	struct canary_config *config = canary_config_load_data(path, text, strlen(text), &error);
	ck_assert_msg(config != NULL, "%s", error != NULL ? error->message : "?");
	return config;
}

static const char *const references[] = {"first.1@example.net", "answer.2@example.org", NULL};
#define SUBJECT "Re: Résumé of the hearing — ✓"
#define TEXT    "Dear friend,\n\nwe received your documents. Ünïcode stays.\n"

static GBytes *compose(enum canary_outgoing_kind kind, const char *to, char **id_r)
{
	const char *const rcpt[] = {to, NULL};
	struct canary_outgoing m = {
		.kind = kind,
		.from = mta->confidential,
		.to = rcpt,
		.subject = SUBJECT,
		.text = TEXT,
		.in_reply_to = references[0],
		.references = references,
	};
	g_autoptr(GError) error = NULL;
	GBytes *bytes = canary_outgoing_compose(&m, id_r, &error);
	ck_assert_msg(bytes != NULL, "%s", error != NULL ? error->message : "?");
	return bytes;
}

/* The header block of TEXT (up to the first empty line). New string. */
static char *headers_of(const char *text)
{
	const char *end = strstr(text, "\n\n");
	const char *crlf = strstr(text, "\r\n\r\n");
	if (crlf != NULL && (end == NULL || crlf < end))
		end = crlf;
	return g_strndup(text, end != NULL ? (gsize)(end - text) : strlen(text));
}

static void send_ok(const struct canary_config *config, const char *to, GBytes *message)
{
	const char *const rcpt[] = {to};
	g_autoptr(GError) error = NULL;
	ck_assert_msg(canary_smtp_send(config, rcpt, 1, message, &error), "%s",
		      error != NULL ? error->message : "?");
}

/* Sent over STARTTLS and over SMTPS, each arrives as written, threaded. */
START_TEST(test_sent_mail_arrives_as_written)
{
	g_autoptr(canary_config) starttls = smtp_config(NULL);
	g_autofree char *smtps_url = tu_mta_url(mta, TRUE);
	g_autofree char *extra = g_strdup_printf("url = %s\n", smtps_url);
	g_autoptr(canary_config) smtps = smtp_config(extra);
	g_autofree char *id1 = NULL, *id2 = NULL;
	g_autoptr(GBytes) personal = compose(CANARY_OUTGOING_PERSONAL, mta->submitter, &id1);
	g_autoptr(GBytes) auto_reply = compose(CANARY_OUTGOING_AUTO_REPLIED, mta->submitter, &id2);
	send_ok(starttls, mta->submitter, personal);
	send_ok(smtps, mta->submitter, auto_reply);
	g_autoptr(GPtrArray) arrived = tu_mta_wait_messages(mta->submitter_maildir, 2, 30);

	char host[256] = "";
	gethostname(host, sizeof host - 1);
	for (guint i = 0; i < 2; i++) {
		const char *text = arrived->pdata[i];
		g_autoptr(GBytes) raw = g_bytes_new(text, strlen(text));
		g_autoptr(canary_mail) mail = canary_mail_parse(raw, NULL);
		ck_assert_int_eq(mail->quarantine, CANARY_QUARANTINE_NONE);
		ck_assert_str_eq(mail->subject, SUBJECT);
		ck_assert_ptr_nonnull(strstr(mail->text, "Ünïcode stays."));
		ck_assert(g_str_has_suffix(mail->message_id, "@example.org"));
		ck_assert(strcmp(mail->message_id, id1) == 0 || strcmp(mail->message_id, id2) == 0);
		ck_assert_uint_eq(mail->in_reply_to->len, 1);
		ck_assert_str_eq(mail->in_reply_to->pdata[0], references[0]);
		ck_assert_uint_eq(mail->references->len, 2);
		ck_assert_str_eq(mail->references->pdata[1], references[1]);
		ck_assert_uint_eq(mail->from->len, 1);
		gboolean is_auto = strcmp(mail->message_id, id2) == 0;
		ck_assert(mail->auto_submitted == is_auto);
		/* What canary wrote names no software and no machine (Postfix's own
		 * Received line comes first and is the MTA's). */
		g_autofree char *headers = headers_of(text);
		const char *ours = strstr(headers, "\nFrom:");
		ck_assert_ptr_nonnull(ours);
		g_autofree char *lower = g_ascii_strdown(ours, -1);
		const char *const tells[] = {"canary", "gmime", "x-mailer", "user-agent", "glib"};
		for (gsize t = 0; t < G_N_ELEMENTS(tells); t++)
			ck_assert_msg(strstr(lower, tells[t]) == NULL, "the headers name %s:\n%s",
				      tells[t], ours);
		/* Nor does the server learn it (EHLO, in its Received line). */
		g_autofree char *from_host = g_strdup_printf("from %s ", host);
		if (host[0] != '\0' && strcmp(host, "localhost") != 0) {
			ck_assert_msg(strstr(ours, host) == NULL, "the headers name the host");
			ck_assert_msg(strstr(headers, from_host) == NULL, "EHLO named the host");
		}
		ck_assert_ptr_nonnull(strstr(headers, "\nMIME-Version: 1.0"));
		ck_assert_ptr_nonnull(strstr(lower, "charset=utf-8"));
		ck_assert_ptr_nonnull(strstr(lower, "\nsubject: re: =?utf-8?"));
	}
}
END_TEST

/* The error for sending with CONFIG, which must fail with CODE. */
static void send_fails(const struct canary_config *config, const char *to, int code)
{
	g_autoptr(GBytes) message = compose(CANARY_OUTGOING_PERSONAL, to, NULL);
	const char *const rcpt[] = {to};
	g_autoptr(GError) error = NULL;
	ck_assert(!canary_smtp_send(config, rcpt, 1, message, &error));
	ck_assert_msg(g_error_matches(error, CANARY_SMTP_ERROR, code), "%s (%d, wanted %d)",
		      error->message, error->code, code);
	/* Errors reach the log: never an address. */
	ck_assert_msg(strstr(error->message, "@") == NULL, "%s", error->message);
}

START_TEST(test_bad_login_and_certificates_are_refused)
{
	g_autofree char *wrong = g_build_filename(dir, "wrong-password", NULL);
	ck_assert(g_file_set_contents(wrong, "not the password\n", -1, NULL));
	g_autofree char *bad_login = g_strdup_printf("password_file = %s\n", wrong);
	g_autoptr(canary_config) login = smtp_config(bad_login);
	send_fails(login, mta->submitter, CANARY_SMTP_ERROR_AUTH);

	g_autofree char *other = tu_dovecot_other_cert(dir);
	g_autofree char *bad_ca = g_strdup_printf("ca_file = %s\n", other);
	g_autoptr(canary_config) ca = smtp_config(bad_ca);
	send_fails(ca, mta->submitter, CANARY_SMTP_ERROR_CONNECT);

	g_autoptr(canary_config) pin = smtp_config(
		"pinned_public_key = sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n");
	send_fails(pin, mta->submitter, CANARY_SMTP_ERROR_CONNECT);

	/* A server that offers no STARTTLS gets nothing. */
	g_autofree char *plain = g_strdup_printf("url = smtp://localhost:%u\n", mta->plain_port);
	g_autoptr(canary_config) no_tls = smtp_config(plain);
	send_fails(no_tls, mta->submitter, CANARY_SMTP_ERROR_CONNECT);

	/* A recipient the server refuses: the error does not name it. */
	g_autoptr(canary_config) good = smtp_config(NULL);
	send_fails(good, TU_MTA_REFUSED, CANARY_SMTP_ERROR_REFUSED);
	ck_assert_uint_eq(tu_mta_count(mta->submitter_maildir), 0);
	ck_assert_uint_eq(tu_mta_count(mta->office_maildir), 0);
}
END_TEST

/* Nothing to compose that is not an address or a Message-ID. */
START_TEST(test_compose_refuses_what_is_not_mail)
{
	const char *const bad_to[] = {"Amina <amina@example.net>", NULL};
	const char *const good_to[] = {"amina@example.net", NULL};
	const char *const bad_refs[] = {"a@b", "has space@example.net", NULL};
	struct canary_outgoing cases[] = {
		{.from = "reprisals@example.org", .to = bad_to, .text = "x"},
		{.from = "not an address", .to = good_to, .text = "x"},
		{.from = "reprisals@example.org",
		 .to = good_to,
		 .text = "x",
		 .in_reply_to = "a\r\nBcc: x@example.net"},
		{.from = "reprisals@example.org",
		 .to = good_to,
		 .text = "x",
		 .references = bad_refs},
	};
	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(GError) error = NULL;
		g_autofree char *id = NULL;
		GBytes *bytes = canary_outgoing_compose(&cases[i], &id, &error);
		ck_assert_msg(bytes == NULL, "case %zu composed", i);
		ck_assert(g_error_matches(error, CANARY_OUTGOING_ERROR,
					  CANARY_OUTGOING_ERROR_INVALID));
		ck_assert_msg(strstr(error->message, "amina") == NULL, "%s", error->message);
		ck_assert_ptr_null(id);
	}
}
END_TEST

/* [smtp] mistakes name the file, group and key. */
START_TEST(test_config_errors_name_the_key)
{
	g_autofree char *pub = tu_write_file(dir, "k.pub", "x");
	g_autofree char *key = tu_write_file(dir, "k.key", "x");
	const char *const base = "[keys]\ncustodian_public = k.pub\npseudonym_key = k.key\n"
				 "default_section_public = k.pub\n";
	const struct {
		const char *group, *needle;
	} cases[] = {
		{"[smtp]\nurl = https://mail.example.org\nfrom = r@example.org\n",
		 "[smtp] url: 'https://mail.example.org' is not smtps://"},
		{"[smtp]\nurl = smtps://user:pw@mail.example.org\nfrom = r@example.org\n",
		 "[smtp] url: the URL holds credentials"},
		{"[smtp]\nurl = smtps://mail.example.org/x\nfrom = r@example.org\n", "[smtp] url:"},
		{"[smtp]\nurl = smtps://mail.example.org\n", "[smtp] from: not set"},
		{"[smtp]\nurl = smtps://mail.example.org\nfrom = Office <r@example.org>\n",
		 "[smtp] from: 'Office <r@example.org>' is not an address"},
		{"[smtp]\nfrom = r@example.org\n", "[smtp] url: not set"},
		{"[smtp]\nurl = smtps://mail.example.org\nfrom = r@example.org\n"
		 "password_file = /nonexistent/pw\n",
		 "[smtp] password_file: /nonexistent/pw: no such file"},
	};
	g_autofree char *path = g_build_filename(dir, "canary.conf", NULL);
	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autofree char *text = g_strconcat(base, cases[i].group, NULL);
		g_autoptr(GError) error = NULL;
		g_autoptr(canary_config) config =
			canary_config_load_data(path, text, strlen(text), &error);
		ck_assert_msg(config == NULL, "case %zu loaded", i);
		ck_assert_msg(strstr(error->message, path) != NULL, "%s", error->message);
		ck_assert_msg(strstr(error->message, cases[i].needle) != NULL, "case %zu: %s", i,
			      error->message);
	}
}
END_TEST

/* Delivers a message from FROM (extra header lines EXTRA) to the
 * confidential mailbox. */
static void deliver_from(const char *from, const char *id, const char *extra)
{
	g_autofree char *text = g_strdup_printf(
		"From: Amina Haddad <%s>\nTo: reprisals@example.org\nSubject: my brother\n"
		"Message-ID: <%s>\n%sMIME-Version: 1.0\nContent-Type: text/plain\n\n"
		"They took my brother after the hearing.\n",
		from, id, extra);
	tu_dovecot_deliver_text(dovecot, "INBOX", text);
}

/* How many messages Postfix accepted (its cleanup logs one line each). */
static guint accepted(void)
{
	return tu_count_text_in_file(mta->log, ": message-id=");
}

/* [reply] acknowledge: once a day per sender, never to automatic or list
 * mail or a null sender, threaded under the message, with its reference. */
START_TEST(test_acknowledgement)
{
	g_autofree char *ack = tu_write_file(dir, "ack.txt",
					     "We received your message ({reference}).\n"
					     "Nous avons recu votre message ({reference}).\n");
	g_autofree char *pw = g_strdup_printf("%s\n", dovecot->password);
	g_free(tu_write_file(dir, "imap-password", pw));
	g_autofree char *imap = tu_dovecot_url(dovecot, TRUE);
	g_autofree char *smtp = tu_mta_canary_config(mta, mta->confidential);
	g_autofree char *extra = g_strdup_printf(
		"[imap]\nurl = %s\nusername = %s\npassword_file = imap-password\nca_file = %s\n"
		"connect_timeout = 5s\n%s\n[reply]\nacknowledge = %s\n"
		"acknowledge_subject = Received: {reference}\n",
		imap, dovecot->user, dovecot->ca_file, smtp, ack);
	g_autofree char *config = tu_make_canary_home(dir, FALSE, extra);
	deliver_from(mta->submitter, "first.1@example.net", "");
	deliver_from(mta->submitter, "second.2@example.net", "");
	deliver_from("list@example.net", "list.3@example.net", "List-Id: <news.example.net>\n");
	deliver_from("bot@example.net", "auto.4@example.net", "Auto-Submitted: auto-replied\n");
	deliver_from("bounce@example.net", "null.5@example.net", "Return-Path: <>\n");
	const char *argv[] = {CANARYD_PATH, "--once", "-c", config, NULL};
	g_autofree char *err = NULL;
	ck_assert_msg(tu_run(argv, NULL, NULL, &err) == 0, "canaryd --once: %s", err);

	g_autoptr(GPtrArray) arrived = tu_mta_wait_messages(mta->submitter_maildir, 1, 30);
	ck_assert_uint_eq(accepted(), 1);
	ck_assert_uint_eq(tu_mta_count(mta->office_maildir), 0);
	const char *text = arrived->pdata[0];
	g_autoptr(GBytes) raw = g_bytes_new(text, strlen(text));
	g_autoptr(canary_mail) mail = canary_mail_parse(raw, NULL);
	ck_assert(mail->auto_submitted);
	ck_assert_uint_eq(mail->in_reply_to->len, 1);
	ck_assert_str_eq(mail->in_reply_to->pdata[0], "first.1@example.net");
	ck_assert_msg(g_str_has_prefix(mail->subject, "Received: R-"), "%s", mail->subject);
	const char *ref = mail->subject + strlen("Received: ");
	g_autofree char *line = g_strdup_printf("We received your message (%s).", ref);
	ck_assert_msg(strstr(mail->text, line) != NULL, "%s", mail->text);

	/* The once-a-day record holds no address. */
	g_autofree char *db = g_build_filename(dir, "state", "canary.db", NULL);
	g_autofree char *wal = g_strconcat(db, "-wal", NULL);
	ck_assert_uint_eq(tu_count_text_in_file(db, mta->submitter), 0);
	ck_assert_uint_eq(tu_count_text_in_file(wal, mta->submitter), 0);
}
END_TEST

/* A canary home polling the test Dovecot and sending through the test MTA,
 * with EXTRA appended. Returns the config path. */
static char *mail_home(const char *extra)
{
	g_autofree char *pw = g_strdup_printf("%s\n", dovecot->password);
	g_free(tu_write_file(dir, "imap-password", pw));
	g_autofree char *imap = tu_dovecot_url(dovecot, TRUE);
	g_autofree char *smtp = tu_mta_canary_config(mta, mta->confidential);
	g_autofree char *socket = g_build_filename(dir, "control", NULL);
	g_autofree char *all = g_strdup_printf(
		"[imap]\nurl = %s\nusername = %s\npassword_file = imap-password\nca_file = %s\n"
		"connect_timeout = 5s\npoll_interval = 1h\n%s\n[control]\nsocket = %s\ngroup = "
		"root\n%s",
		imap, dovecot->user, dovecot->ca_file, smtp, socket, extra);
	return tu_make_canary_home(dir, TRUE, all);
}

/* Notices: after a pass that filed cases, triage's list gets one message
 * with how many and their references, and nothing of the messages. */
START_TEST(test_notice_tells_references_only)
{
	g_autofree char *config =
		mail_home("[notify]\ntriage = triage-desk@example.org, head@example.net\n");
	deliver_from(mta->submitter, "n1@example.net", "");
	deliver_from("other@example.net", "n2@example.net", "");
	g_autofree char *log_path = g_build_filename(dir, "canaryd.log", NULL);
	pid_t test = getpid();
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		tu_die_with_parent(test);
		int fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (fd < 0 || dup2(fd, STDERR_FILENO) < 0)
			_exit(127);
		execl(CANARYD_PATH, CANARYD_PATH, "--foreground", "-c", config, (char *)NULL);
		_exit(127);
	}
	/* Both addresses of the list, in the office mailbox. */
	g_autoptr(GPtrArray) notices = tu_mta_wait_messages(mta->office_maildir, 2, 60);
	kill(pid, SIGTERM);
	int status = 0;
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "canaryd: %d", status);
	ck_assert_uint_eq(tu_mta_count(mta->submitter_maildir), 0);
	const char *needles[] = {"my brother",     "They took",     "Amina",
				 "Haddad",         mta->submitter,  "other@example.net",
				 "n1@example.net", "n2@example.net"};
	for (guint i = 0; i < notices->len; i++) {
		const char *text = notices->pdata[i];
		g_autoptr(GBytes) raw = g_bytes_new(text, strlen(text));
		g_autoptr(canary_mail) mail = canary_mail_parse(raw, NULL);
		ck_assert(mail->auto_submitted);
		ck_assert_msg(strstr(mail->subject, "2 new cases") != NULL, "%s", mail->subject);
		ck_assert_msg(g_regex_match_simple("R-[0-9]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}[\\s\\S]*"
						   "R-[0-9]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}",
						   mail->text, 0, 0),
			      "%s", mail->text);
		for (gsize n = 0; n < G_N_ELEMENTS(needles); n++)
			ck_assert_msg(strstr(text, needles[n]) == NULL,
				      "a notice holds \"%s\":\n%s", needles[n], text);
	}
	for (gsize n = 0; n < G_N_ELEMENTS(needles); n++)
		ck_assert_uint_eq(tu_count_text_in_file(log_path, needles[n]), 0);
}
END_TEST

static Suite *smtp_suite(void)
{
	Suite *s = suite_create("smtp");
	TCase *offline = tcase_create("offline");
	tcase_add_checked_fixture(offline, setup_dir_only, teardown_dir_only);
	tcase_add_test(offline, test_compose_refuses_what_is_not_mail);
	tcase_add_test(offline, test_config_errors_name_the_key);
	suite_add_tcase(s, offline);
	TCase *mta_case = tcase_create("mta");
	tcase_add_checked_fixture(mta_case, setup, teardown);
	tcase_set_timeout(mta_case, 120);
	tcase_add_test(mta_case, test_sent_mail_arrives_as_written);
	tcase_add_test(mta_case, test_bad_login_and_certificates_are_refused);
	tcase_add_test(mta_case, test_acknowledgement);
	tcase_add_test(mta_case, test_notice_tells_references_only);
	suite_add_tcase(s, mta_case);
	return s;
}

int main(void)
{
	g_autoptr(GError) error = NULL;
	if (!canary_process_init(&error))
		g_error("%s", error->message);
	return tu_run_suite(smtp_suite());
}
