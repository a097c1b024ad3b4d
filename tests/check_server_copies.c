/* check_server_copies.c: nothing of a filed message is left on the mail
 * server. canaryd --once with the shipped [imap] retention files the demo
 * corpus and a too-large message from a real Dovecot; then every file under
 * the user's Maildir (messages, dovecot.index*, dovecot-uidlist, ...) is
 * searched for each sender's address and name, each subject and a phrase of
 * each body, in UTF-8 and UTF-16: only the too-large message, of which
 * canary sealed just the header, may still be there. With
 * processed_retention = 2d the copies stay until their arrival is two days
 * old (the clock is moved on the server's side: the Maildir files' times). */
#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <utime.h>

#include "canaryd.h"
#include "dovecot.h"
#include "mail.h"
#include "testutil.h"

/* What the test Dovecot is told, as the README tells admins: cache no
 * field of any message (headers, envelope, snippet), since Dovecot keeps a
 * cache record after its message is expunged (README, "Server copies"). */
#define DOVECOT_PRIVACY "mail_never_cache_fields = *\n"

static struct tu_dovecot *dovecot;
static char *home;
static char *config;

/* The too-large message: over [limits] max_message_size below. */
#define LARGE_FROM_NAME    "Kept Whole"
#define LARGE_FROM_ADDRESS "kept.whole@example.org"
#define LARGE_SUBJECT      "Too large to be sealed whole"
#define LARGE_PHRASE       "the annexed recordings of the hearing"

static void setup(void)
{
	canary_mail_init();
	dovecot = tu_dovecot_start(DOVECOT_PRIVACY);
	home = tu_make_tempdir();
}

static void teardown(void)
{
	tu_dovecot_free(dovecot);
	tu_rmtree(home);
	g_clear_pointer(&home, g_free);
	g_clear_pointer(&config, g_free);
}

/* The canary home for the test Dovecot with EXTRA in [imap]. Only the
 * message size limit differs from the shipped defaults, so that the
 * too-large message stays small. */
static void write_config(const char *extra)
{
	g_autofree char *group = tu_dovecot_imap_group(dovecot, home, NULL);
	g_autofree char *text =
		g_strconcat("[limits]\nmax_message_size = 64K\n", group, extra, NULL);
	g_free(config);
	config = tu_make_canary_home(home, TRUE, text);
}

/* How many cases still have a content hash. */
static gint64 hashes_remembered(void)
{
	g_autofree char *path = g_build_filename(home, "state", "canary.db", NULL);
	sqlite3 *db = NULL;
	ck_assert_int_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	gint64 n = tu_query_int(db, "SELECT count(*) FROM cases WHERE content_hash IS NOT NULL");
	sqlite3_close(db);
	return n;
}

static void run_once_ok(void)
{
	tu_canaryd_once_ok(config);
}

/* What must not be found: NEEDLES holds GBytes, LABELS what each is. */
struct needles {
	GPtrArray *bytes;
	GPtrArray *labels;
};

static void add_needle(struct needles *n, const char *label, const void *data, gsize len)
{
	g_ptr_array_add(n->bytes, g_bytes_new(data, len));
	g_ptr_array_add(n->labels, g_strdup(label));
}

/* Adds TEXT (UTF-8) as it is and in UTF-16 (both byte orders). */
static void add_text(struct needles *n, const char *what, const char *file, const char *text)
{
	if (text == NULL || strlen(text) < 6)
		return;
	g_autofree char *label = g_strdup_printf("%s of %s", what, file);
	add_needle(n, label, text, strlen(text));
	static const char *const encodings[] = {"UTF-16LE", "UTF-16BE"};
	for (gsize i = 0; i < G_N_ELEMENTS(encodings); i++) {
		gsize len = 0;
		g_autofree char *wide =
			g_convert(text, -1, encodings[i], "UTF-8", NULL, &len, NULL);
		ck_assert_ptr_nonnull(wide);
		g_autofree char *wide_label = g_strdup_printf("%s (%s)", label, encodings[i]);
		add_needle(n, wide_label, wide, len);
	}
}

/* A phrase of TEXT: up to 40 bytes from its middle, cut at spaces, or the
 * text itself when short. A new string. */
static char *phrase_of(const char *text)
{
	gsize len = strlen(text);
	if (len < 40)
		return g_strdup(text);
	const char *start = text + len / 2;
	while (start > text && *start != ' ' && *start != '\n')
		start--;
	start++;
	const char *end = start;
	while (*end != '\0' && *end != '\n' && *end != '\r' && end - start < 40)
		end++;
	/* Whole UTF-8 characters only. */
	const char *valid_end = NULL;
	g_utf8_validate(start, end - start, &valid_end);
	return g_strndup(start, (gsize)(valid_end - start));
}

/* The value of the first header line NAME in RAW, as written (unfolded
 * first line only). A new string, or NULL. */
static char *raw_header(const char *raw, const char *name)
{
	g_autofree char *prefix = g_strdup_printf("\n%s: ", name);
	const char *at = strstr(raw, prefix);
	if (at == NULL)
		return NULL;
	at += strlen(prefix);
	return g_strndup(at, strcspn(at, "\r\n"));
}

/* Adds what identifies message RAW (of file FILE) or says what it says. */
static void add_message(struct needles *n, const char *file, GBytes *raw)
{
	struct canary_limits limits;
	canary_limits_init_default(&limits);
	struct canary_mail *mail = canary_mail_parse(raw, &limits);
	ck_assert_ptr_nonnull(mail);
	for (guint i = 0; mail->from != NULL && i < mail->from->len; i++) {
		const struct canary_address *a = mail->from->pdata[i];
		add_text(n, "sender address", file, a->address);
		add_text(n, "sender name", file, a->name);
	}
	add_text(n, "subject", file, mail->subject);
	g_autofree char *phrase = phrase_of(mail->text);
	add_text(n, "body phrase", file, phrase);
	/* As written in the file too: encoded words, and the raw body. */
	g_autofree char *text = g_strndup(g_bytes_get_data(raw, NULL), g_bytes_get_size(raw));
	g_autofree char *from = raw_header(text, "From");
	g_autofree char *subject = raw_header(text, "Subject");
	add_text(n, "raw From", file, from);
	add_text(n, "raw Subject", file, subject);
	const char *body = strstr(text, "\n\r\n");
	if (body == NULL)
		body = strstr(text, "\n\n");
	if (body != NULL) {
		g_autofree char *raw_phrase = phrase_of(body + 1);
		add_text(n, "raw body phrase", file, raw_phrase);
	}
	canary_mail_free(mail);
}

/* The too-large message. */
static GBytes *large_message(void)
{
	GString *s = g_string_new("From: " LARGE_FROM_NAME " <" LARGE_FROM_ADDRESS ">\r\n"
				  "To: reprisals@example.org\r\nSubject: " LARGE_SUBJECT "\r\n"
				  "Message-ID: <large@example.org>\r\n\r\n");
	while (s->len < 100 * 1024)
		g_string_append(s, "Please find " LARGE_PHRASE " attached below.\r\n");
	return g_string_free_to_bytes(s);
}

/* Delivers the demo corpus and the too-large message; fills DEMO with the
 * demo's needles and LARGE with the too-large message's. */
static void deliver_all(struct needles *demo, struct needles *large)
{
	g_autoptr(GPtrArray) messages = tu_data_messages("demo");
	for (guint i = 0; i < messages->len; i++) {
		g_autoptr(GBytes) raw = tu_data_bytes(messages->pdata[i]);
		g_autofree char *name = g_path_get_basename(messages->pdata[i]);
		tu_dovecot_deliver(dovecot, "INBOX", raw);
		add_message(demo, name, raw);
	}
	ck_assert_uint_eq(messages->len, 12);
	g_autoptr(GBytes) raw = large_message();
	tu_dovecot_deliver(dovecot, "INBOX", raw);
	add_message(large, "the too-large message", raw);
}

static struct needles needles_new(void)
{
	return (struct needles){g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref),
				g_ptr_array_new_with_free_func(g_free)};
}

static void needles_clear(struct needles *n)
{
	g_ptr_array_unref(n->bytes);
	g_ptr_array_unref(n->labels);
}

/* Every regular file under DIR, appended to FILES. */
static void list_files(const char *dir, GPtrArray *files)
{
	g_autoptr(GDir) handle = g_dir_open(dir, 0, NULL);
	ck_assert_ptr_nonnull(handle);
	for (const char *name; (name = g_dir_read_name(handle)) != NULL;) {
		char *path = g_build_filename(dir, name, NULL);
		if (g_file_test(path, G_FILE_TEST_IS_SYMLINK) ||
		    !g_file_test(path, G_FILE_TEST_IS_DIR)) {
			g_ptr_array_add(files, path);
			continue;
		}
		list_files(path, files);
		g_free(path);
	}
}

/* Where the needles of N are found under the Maildir: one line per hit,
 * "LABEL in FILE", or "" when none is. */
static char *hits(const struct needles *n)
{
	g_autoptr(GPtrArray) files = g_ptr_array_new_with_free_func(g_free);
	list_files(dovecot->maildir, files);
	ck_assert_uint_gt(files->len, 0);
	GString *found = g_string_new(NULL);
	for (guint f = 0; f < files->len; f++) {
		for (guint i = 0; i < n->bytes->len; i++) {
			gsize len = 0;
			const void *data = g_bytes_get_data(n->bytes->pdata[i], &len);
			if (tu_count_in_file(files->pdata[f], data, len) > 0)
				g_string_append_printf(found, "%s in %s\n",
						       (const char *)n->labels->pdata[i],
						       (const char *)files->pdata[f]);
		}
	}
	return g_string_free(found, FALSE);
}

/* Fails unless no needle of N is found under the Maildir. */
static void assert_nothing_left(const struct needles *n)
{
	g_autofree char *left = hits(n);
	/* Check's failure messages are short: the whole list goes to stderr. */
	if (left[0] != '\0')
		fprintf(stderr, "left on the mail server:\n%s", left);
	ck_assert_msg(left[0] == '\0', "left on the mail server:\n%.500s", left);
}

/* Does every file name in HITS lie in the quarantine folder? */
static gboolean only_in_quarantine(const char *found)
{
	g_autofree char *quarantine = g_build_filename(dovecot->maildir, ".Quarantine", NULL);
	g_auto(GStrv) lines = g_strsplit(found, "\n", -1);
	for (guint i = 0; lines[i] != NULL; i++)
		if (lines[i][0] != '\0' && strstr(lines[i], quarantine) == NULL)
			return FALSE;
	return TRUE;
}

/* Reads the senders, subjects and a snippet of every message in the inbox,
 * as a mail client would before canary gets to them: Dovecot then caches
 * those fields in the folder's dovecot.index.cache, which outlives the
 * messages unless told not to (DOVECOT_PRIVACY). */
static void read_inbox_as_a_client(void)
{
	const char *argv[] = {"/usr/bin/doveadm",
			      "-c",
			      dovecot->conf,
			      "fetch",
			      "-u",
			      dovecot->user,
			      "hdr.from hdr.subject imap.envelope body.snippet",
			      "mailbox",
			      "INBOX",
			      "all",
			      NULL};
	g_autofree char *out = NULL, *err = NULL;
	ck_assert_msg(tu_run(argv, NULL, &out, &err) == 0, "doveadm fetch: %s", err);
}

START_TEST(test_defaults_leave_nothing_on_the_server)
{
	struct needles demo = needles_new(), large = needles_new();
	deliver_all(&demo, &large);
	read_inbox_as_a_client();
	write_config(NULL);
	g_autofree char *before = hits(&demo);
	ck_assert_msg(before[0] != '\0', "the search finds nothing even before the pass");

	run_once_ok();
	ck_assert_uint_eq(tu_dovecot_count(dovecot, "INBOX"), 0);
	ck_assert_uint_eq(tu_dovecot_count(dovecot, "Processed"), 0);
	ck_assert_uint_eq(tu_dovecot_count(dovecot, "Quarantine"), 1);
	assert_nothing_left(&demo);
	/* The content hashes went with the server copies, but for the one
	 * message still on the server. */
	ck_assert_int_eq(hashes_remembered(), 1);
	/* The too-large message, sealed only in part, is kept whole. */
	g_autofree char *kept = hits(&large);
	ck_assert_msg(strstr(kept, "body phrase") != NULL, "%s", kept);
	ck_assert_msg(only_in_quarantine(kept), "%s", kept);
	needles_clear(&demo);
	needles_clear(&large);
}
END_TEST

/* Moves the arrival of every message in FOLDER back by SECONDS: Dovecot's
 * INTERNALDATE of a Maildir message is its file's time. The server is
 * stopped and the folder's index dropped, so that it reads them again. */
static void age_folder(const char *folder, gint64 seconds)
{
	tu_dovecot_stop(dovecot);
	g_autofree char *dir = g_strdup_printf("%s/.%s", dovecot->maildir, folder);
	static const char *const subdirs[] = {"cur", "new"};
	for (gsize s = 0; s < G_N_ELEMENTS(subdirs); s++) {
		g_autofree char *sub = g_build_filename(dir, subdirs[s], NULL);
		g_autoptr(GDir) handle = g_dir_open(sub, 0, NULL);
		for (const char *name;
		     handle != NULL && (name = g_dir_read_name(handle)) != NULL;) {
			g_autofree char *path = g_build_filename(sub, name, NULL);
			struct stat st;
			ck_assert_int_eq(stat(path, &st), 0);
			struct utimbuf times = {.actime = st.st_atime - seconds,
						.modtime = st.st_mtime - seconds};
			ck_assert_msg(utime(path, &times) == 0, "%s: %s", path, g_strerror(errno));
		}
	}
	static const char *const index_files[] = {"dovecot.index", "dovecot.index.cache",
						  "dovecot.index.log", "dovecot.index.log.2"};
	for (gsize i = 0; i < G_N_ELEMENTS(index_files); i++) {
		g_autofree char *path = g_build_filename(dir, index_files[i], NULL);
		unlink(path);
	}
	tu_dovecot_restart(dovecot);
}

START_TEST(test_retention_keeps_then_removes)
{
	struct needles demo = needles_new(), large = needles_new();
	deliver_all(&demo, &large);
	write_config("processed_retention = 2d\nquarantine_retention = 2d\n");
	run_once_ok();
	ck_assert_uint_eq(tu_dovecot_count(dovecot, "INBOX"), 0);
	/* Kept for now: the filed ones, the malformed one (quarantined, sealed
	 * whole) and the too-large one. */
	ck_assert_uint_eq(tu_dovecot_count(dovecot, "Processed"), 11);
	ck_assert_uint_eq(tu_dovecot_count(dovecot, "Quarantine"), 2);
	ck_assert_int_eq(hashes_remembered(), 13); /* the copies may still come back */
	g_autofree char *kept = hits(&demo);
	ck_assert_msg(strstr(kept, ".Processed") != NULL, "%s", kept);

	/* A day later: still kept. */
	age_folder("Processed", 86400);
	age_folder("Quarantine", 86400);
	run_once_ok();
	ck_assert_uint_eq(tu_dovecot_count(dovecot, "Processed"), 11);
	ck_assert_uint_eq(tu_dovecot_count(dovecot, "Quarantine"), 2);

	/* Three days after their arrival: gone, and with them every trace. */
	age_folder("Processed", 2 * 86400);
	age_folder("Quarantine", 2 * 86400);
	run_once_ok();
	ck_assert_uint_eq(tu_dovecot_count(dovecot, "Processed"), 0);
	ck_assert_uint_eq(tu_dovecot_count(dovecot, "Quarantine"), 1);
	assert_nothing_left(&demo);
	needles_clear(&demo);
	needles_clear(&large);
}
END_TEST

/* A server without UIDPLUS cannot remove single messages from the inbox
 * safely: they are moved, then swept from the processed folder, which is
 * canary's, in the same pass. */
START_TEST(test_without_uidplus)
{
	tu_dovecot_free(dovecot);
	dovecot = tu_dovecot_start(DOVECOT_PRIVACY "protocol imap {\n  imap_capability = "
						   "IMAP4rev1 MOVE ESEARCH LITERAL+\n}\n");
	struct needles demo = needles_new(), large = needles_new();
	deliver_all(&demo, &large);
	write_config(NULL);
	run_once_ok();
	ck_assert_uint_eq(tu_dovecot_count(dovecot, "INBOX"), 0);
	ck_assert_uint_eq(tu_dovecot_count(dovecot, "Processed"), 0);
	ck_assert_uint_eq(tu_dovecot_count(dovecot, "Quarantine"), 1);
	assert_nothing_left(&demo);
	needles_clear(&demo);
	needles_clear(&large);
}
END_TEST

static Suite *server_copies_suite(void)
{
	Suite *s = suite_create("server_copies");
	TCase *tc = tcase_create("server_copies");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_defaults_leave_nothing_on_the_server);
	tcase_add_test(tc, test_retention_keeps_then_removes);
	tcase_add_test(tc, test_without_uidplus);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run_suite(server_copies_suite());
}
