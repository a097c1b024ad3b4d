/* check_smtp.c: outgoing mail (outgoing.c, smtp.c, [smtp] in config.c)
 * through a real Postfix on 127.0.0.1 into the test Dovecot's Maildirs. */
#include <check.h>
#include <grp.h>
#include <string.h>
#include <unistd.h>

#include <json-glib/json-glib.h>

#include "canaryd.h"
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
	g_autofree char *imap = tu_dovecot_imap_group(dovecot, dir, NULL);
	g_autofree char *smtp = tu_mta_canary_config(mta, mta->confidential);
	g_autofree char *extra = g_strdup_printf("%s%s\n[reply]\nacknowledge = %s\n"
						 "acknowledge_subject = Received: {reference}\n",
						 imap, smtp, ack);
	g_autofree char *config = tu_make_canary_home(dir, FALSE, extra);
	deliver_from(mta->submitter, "first.1@example.net", "");
	deliver_from(mta->submitter, "second.2@example.net", "");
	deliver_from("list@example.net", "list.3@example.net", "List-Id: <news.example.net>\n");
	deliver_from("bot@example.net", "auto.4@example.net", "Auto-Submitted: auto-replied\n");
	deliver_from("bounce@example.net", "null.5@example.net", "Return-Path: <>\n");
	tu_canaryd_once_ok(config);

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
	g_autofree char *imap = tu_dovecot_imap_group(dovecot, dir, NULL);
	g_autofree char *smtp = tu_mta_canary_config(mta, mta->confidential);
	g_autofree char *socket = g_build_filename(dir, "control", NULL);
	g_autofree char *all =
		g_strdup_printf("%spoll_interval = 1h\n%s\n[control]\nsocket = %s\ngroup = root\n%s",
				imap, smtp, socket, extra);
	return tu_make_canary_home(dir, TRUE, all);
}

/* Starts canaryd in the foreground on CONFIG with its log in LOG_PATH. */
static pid_t start_canaryd(const char *config, const char *log_path)
{
	return tu_canaryd_start(config, log_path, NULL, -1);
}

/* Stops canaryd PID (it finishes the notice it is sending) and checks that
 * it exits well. */
static void stop_canaryd(pid_t pid)
{
	int status = tu_canaryd_stop(pid, 60);
	ck_assert_msg(status == 0, "canaryd: exit %d", status);
}

/* Waits up to 60 s until the log at LOG_PATH has COUNT lines holding
 * each of A and B. */
static void wait_log(const char *log_path, guint count, const char *a, const char *b)
{
	ck_assert_msg(tu_wait_for_lines(log_path, count, a, b, 60), "no \"%s ... %s\" in %s", a,
		      b, log_path);
}

/* Fails if TEXT (a notice, its log) holds any of the test messages'
 * subjects, phrases, names, addresses or Message-IDs. */
static void assert_tells_nothing_of_the_mail(const char *text, const char *where)
{
	const char *needles[] = {"my brother", "They took", "Amina", "Haddad", "Cairo",
				 "arrested", mta->submitter, "other@example.net", "@example.net>"};
	for (gsize n = 0; n < G_N_ELEMENTS(needles); n++)
		ck_assert_msg(strstr(text, needles[n]) == NULL, "%s holds \"%s\":\n%s", where,
			      needles[n], text);
}

/* The notices in the office mailbox as parsed mail, waiting for COUNT. */
static GPtrArray *office_notices(guint count)
{
	g_autoptr(GPtrArray) texts = tu_mta_wait_messages(mta->office_maildir, count, 60);
	GPtrArray *mails = g_ptr_array_new_with_free_func((GDestroyNotify)canary_mail_free);
	for (guint i = 0; i < texts->len; i++) {
		const char *text = texts->pdata[i];
		assert_tells_nothing_of_the_mail(text, "a notice");
		g_autoptr(GBytes) raw = g_bytes_new(text, strlen(text));
		canary_mail *mail = canary_mail_parse(raw, NULL);
		ck_assert(mail->auto_submitted);
		g_ptr_array_add(mails, mail);
	}
	return mails;
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
	pid_t pid = start_canaryd(config, log_path);
	/* Both addresses of the list, in the office mailbox. */
	g_autoptr(GPtrArray) notices = office_notices(2);
	stop_canaryd(pid);
	ck_assert_uint_eq(tu_mta_count(mta->submitter_maildir), 0);
	for (guint i = 0; i < notices->len; i++) {
		const struct canary_mail *mail = notices->pdata[i];
		ck_assert_msg(strstr(mail->subject, "2 new cases") != NULL, "%s", mail->subject);
		ck_assert_msg(g_regex_match_simple("R-[0-9]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}[\\s\\S]*"
						   "R-[0-9]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}",
						   mail->text, 0, 0),
			      "%s", mail->text);
	}
	g_autofree char *log = NULL;
	ck_assert(g_file_get_contents(log_path, &log, NULL, NULL));
	assert_tells_nothing_of_the_mail(log, "canaryd's log");
}
END_TEST

/* Delivers a message about Cairo (routed to the section mena). */
static void deliver_cairo(const char *id)
{
	g_autofree char *text = g_strdup_printf(
		"From: Amina Haddad <%s>\nTo: reprisals@example.org\nSubject: Cairo\n"
		"Message-ID: <%s>\nMIME-Version: 1.0\nContent-Type: text/plain\n\n"
		"My brother was arrested in Cairo after the hearing.\n",
		mta->submitter, id);
	tu_dovecot_deliver_text(dovecot, "INBOX", text);
}

/* The references of the cases canary list --json shows in SECTION. */
static GPtrArray *refs_in(const char *config, const char *section)
{
	g_autofree char *out = NULL, *err = NULL;
	ck_assert_msg(tu_run_canary(config, &out, &err, "list", "--json", NULL) == 0, "list: %s",
		      err);
	g_autoptr(JsonNode) root = json_from_string(out, NULL);
	ck_assert(root != NULL && JSON_NODE_HOLDS_ARRAY(root));
	JsonArray *cases = json_node_get_array(root);
	GPtrArray *refs = g_ptr_array_new_with_free_func(g_free);
	for (guint i = 0; i < json_array_get_length(cases); i++) {
		JsonObject *c = json_array_get_object_element(cases, i);
		if (g_strcmp0(json_object_get_string_member(c, "section"), section) == 0)
			g_ptr_array_add(refs, g_strdup(json_object_get_string_member(c, "ref")));
	}
	return refs;
}

/* Whether MAIL is addressed to TO alone. */
static gboolean addressed_to(const struct canary_mail *mail, const char *to)
{
	if (mail->to->len != 1)
		return FALSE;
	const struct canary_address *a = mail->to->pdata[0];
	return g_strcmp0(a->address, to) == 0;
}

/* The notice of MAILS sent to TO. */
static const struct canary_mail *notice_to(const GPtrArray *mails, const char *to)
{
	const struct canary_mail *found = NULL;
	for (guint i = 0; i < mails->len; i++) {
		const struct canary_mail *m = mails->pdata[i];
		if (addressed_to(m, to)) {
			ck_assert_msg(found == NULL, "two notices to %s", to);
			found = m;
		}
	}
	ck_assert_msg(found != NULL, "no notice to %s", to);
	return found;
}

/* A daily digest and a notice retried after the MTA was down, end to end:
 * the MTA is down for the first pass (nothing marked sent, intake goes
 * on); once it is back, triage is told of its case and the section mena's
 * digest of both its cases; a later case of the same day waits for the
 * next day's digest. */
START_TEST(test_digest_and_retry_through_the_mta)
{
	const struct group *gr = getgrgid(getgid());
	ck_assert_ptr_nonnull(gr);
	g_autofree char *routing = g_strdup_printf(
		"[section mena]\npublic_key = keys/section.pub\nkeywords = Cairo\ngroup = %s\n"
		"notify = mena-desk@example.org\nnotify_digest = daily\n"
		"[section triage]\npublic_key = keys/triage.pub\n",
		gr->gr_name);
	g_free(tu_write_file(dir, "routing.conf", routing));
	g_autofree char *config = mail_home("[routing]\nrules = routing.conf\n"
					    "[notify]\ntriage = triage-desk@example.org\n");
	g_autofree char *log1 = g_build_filename(dir, "canaryd-1.log", NULL);
	g_autofree char *log2 = g_build_filename(dir, "canaryd-2.log", NULL);
	g_autofree char *log3 = g_build_filename(dir, "canaryd-3.log", NULL);
	g_autofree char *log4 = g_build_filename(dir, "canaryd-4.log", NULL);
	g_setenv("CANARY_TEST_NOW", "1796378400", TRUE); /* 2026-12-04 10:00 UTC */

	/* The MTA is down: the pass files both, the notices wait. */
	tu_mta_stop(mta);
	deliver_cairo("d1@example.net");
	deliver_from("other@example.net", "d2@example.net", "");
	pid_t pid = start_canaryd(config, log1);
	wait_log(log1, 1, "notice to triage (1 case(s)) not sent", "tried again");
	wait_log(log1, 1, "notice to section mena (1 case(s)) not sent", "tried again");
	stop_canaryd(pid);
	ck_assert_uint_eq(tu_dovecot_count(dovecot, "INBOX"), 0);

	/* Back up: triage's notice is retried, mena's digest tells of both. */
	tu_mta_restart(mta);
	deliver_cairo("d3@example.net");
	pid = start_canaryd(config, log2);
	wait_log(log2, 1, "notice to triage sent", "(1 case(s))");
	wait_log(log2, 1, "notice to section mena sent", "(2 case(s))");
	stop_canaryd(pid);
	g_autoptr(GPtrArray) first = office_notices(2);
	g_autoptr(GPtrArray) mena = refs_in(config, "mena");
	g_autoptr(GPtrArray) triage = refs_in(config, "triage");
	ck_assert_uint_eq(mena->len, 2);
	ck_assert_uint_eq(triage->len, 1);
	const struct canary_mail *t = notice_to(first, "triage-desk@example.org");
	ck_assert_str_eq(t->subject, "canary: 1 new case (triage)");
	ck_assert_ptr_nonnull(strstr(t->text, triage->pdata[0]));
	const struct canary_mail *m = notice_to(first, "mena-desk@example.org");
	ck_assert_str_eq(m->subject, "canary: 2 new cases (mena)");
	ck_assert_msg(g_str_has_prefix(m->text, "Today: 2 new cases."), "%s", m->text);
	for (guint i = 0; i < mena->len; i++)
		ck_assert_ptr_nonnull(strstr(m->text, mena->pdata[i]));

	/* Later the same day: triage is told at once, mena not before tomorrow.
	 * canaryd finishes the round it is in before it stops, so the MTA's
	 * count is final then. */
	guint accepted_before = accepted();
	deliver_cairo("d4@example.net");
	deliver_from("other@example.net", "d5@example.net", "");
	pid = start_canaryd(config, log3);
	wait_log(log3, 1, "notice to triage sent", "(1 case(s))");
	stop_canaryd(pid);
	ck_assert_uint_eq(accepted(), accepted_before + 1);

	/* The next day's digest: the third case alone. */
	g_setenv("CANARY_TEST_NOW", "1796464800", TRUE); /* 2026-12-05 10:00 UTC */
	pid = start_canaryd(config, log4);
	wait_log(log4, 1, "notice to section mena sent", "(1 case(s))");
	stop_canaryd(pid);
	g_unsetenv("CANARY_TEST_NOW");
	g_autoptr(GPtrArray) all = office_notices(4);
	ck_assert_uint_eq(all->len, 4);
	g_autoptr(GPtrArray) mena_now = refs_in(config, "mena");
	ck_assert_uint_eq(mena_now->len, 3);
	const struct canary_mail *digest = NULL;
	for (guint i = 0; i < all->len; i++) {
		const struct canary_mail *n = all->pdata[i];
		if (addressed_to(n, "mena-desk@example.org") &&
		    strstr(n->subject, "1 new case") != NULL)
			digest = n;
	}
	ck_assert_ptr_nonnull(digest);
	guint told = 0;
	for (guint i = 0; i < mena_now->len; i++)
		told += strstr(digest->text, mena_now->pdata[i]) != NULL;
	ck_assert_uint_eq(told, 1);
	const char *logs[] = {log1, log2, log3, log4};
	for (gsize i = 0; i < G_N_ELEMENTS(logs); i++) {
		g_autofree char *log = NULL;
		ck_assert(g_file_get_contents(logs[i], &log, NULL, NULL));
		assert_tells_nothing_of_the_mail(log, logs[i]);
	}
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
	tcase_add_test(mta_case, test_digest_and_retry_through_the_mta);
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
