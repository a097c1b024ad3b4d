/* check_source.c: import sources: .eml files, mbox splitting (RFC 4155
 * separators with or without an empty line before them; mboxo, mboxrd,
 * mboxcl, mboxcl2; LF and CRLF; byte-order mark), Maildir order and
 * subfolders, nested folders, skipped entries and their reports, refused
 * entries, errors, and malformed mboxes. */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <utime.h>

#include <glib/gstdio.h>

#include "identity.h"
#include "mail.h"
#include "source.h"
#include "testutil.h"

/* One message as the walk handed it over (copied out of the callback). */
struct got {
	GBytes *raw;
	char *origin;
	guint index;
	gint64 mtime;
};

/* Frees one struct got. */
static void got_free(gpointer p)
{
	struct got *g = p;
	g_bytes_unref(g->raw);
	g_free(g->origin);
	g_free(g);
}

/* What the collecting callback saw; STOP_AFTER > 0 makes it fail then. */
struct collector {
	GPtrArray *messages; /* struct got * */
	GPtrArray *skips;    /* "PATH: REASON" */
	guint stop_after;
};

static char *tmpdir;
static struct collector col;
static struct canary_source_walker walker;

static gboolean collect(const struct canary_source_message *message, gpointer user_data,
			GError **error);
static void collect_skip(const char *path, const char *reason, gpointer user_data);

static void setup(void)
{
	tmpdir = tu_make_tempdir();
	col.messages = g_ptr_array_new_with_free_func(got_free);
	col.skips = g_ptr_array_new_with_free_func(g_free);
	col.stop_after = 0;
	walker = (struct canary_source_walker){
		.message = collect, .skipped = collect_skip, .user_data = &col};
}

static void teardown(void)
{
	tu_rmtree(tmpdir);
	g_clear_pointer(&tmpdir, g_free);
	g_clear_pointer(&col.messages, g_ptr_array_unref);
	g_clear_pointer(&col.skips, g_ptr_array_unref);
}

/* Records MESSAGE; fails with a test error after STOP_AFTER messages. */
static gboolean collect(const struct canary_source_message *message, gpointer user_data,
			GError **error)
{
	struct collector *c = user_data;
	struct got *g = g_new0(struct got, 1);
	g->raw = g_bytes_ref(message->raw);
	g->origin = g_strdup(message->origin);
	g->index = message->index;
	g->mtime = message->mtime;
	g_ptr_array_add(c->messages, g);
	if (c->stop_after > 0 && c->messages->len >= c->stop_after) {
		g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_FAILED, "stopped by the callback");
		return FALSE;
	}
	return TRUE;
}

/* Records a skip report as "PATH: REASON". */
static void collect_skip(const char *path, const char *reason, gpointer user_data)
{
	struct collector *c = user_data;
	g_ptr_array_add(c->skips, g_strdup_printf("%s: %s", path, reason));
}

/* Walks PATH into COL with WALKER; returns what canary_source_walk_with()
 * returned. */
static gboolean walk(const char *path, GError **error)
{
	return canary_source_walk_with(path, &walker, error);
}

/* Fails unless skip report I is DIR/RELATIVE with REASON. */
static void assert_skip(guint i, const char *dir, const char *relative, const char *reason)
{
	ck_assert_uint_lt(i, col.skips->len);
	g_autofree char *want = g_strdup_printf("%s/%s: %s", dir, relative, reason);
	ck_assert_str_eq(g_ptr_array_index(col.skips, i), want);
}

/* Splits the LEN bytes at DATA as an mbox into COL. */
static gboolean split(const char *data, gsize len, GError **error)
{
	g_autoptr(GBytes) bytes = g_bytes_new(data, len);
	return canary_source_split_mbox(bytes, "test.mbox", 42, collect, &col, error);
}

/* Returns message I seen so far. */
static const struct got *got_at(guint i)
{
	ck_assert_uint_lt(i, col.messages->len);
	return g_ptr_array_index(col.messages, i);
}

/* Fails unless message I's bytes are exactly EXPECT. */
static void assert_raw(guint i, const char *expect)
{
	gsize len = 0;
	const char *data = g_bytes_get_data(got_at(i)->raw, &len);
	g_autofree char *text = g_strndup(data, len);
	ck_assert_msg(len == strlen(expect) && memcmp(data, expect, len) == 0,
		      "message %u is:\n[%s]\nnot:\n[%s]", i, text, expect);
}

/* Fails unless message I came from DIR/RELATIVE. */
static void assert_origin(guint i, const char *dir, const char *relative)
{
	g_autofree char *path = g_build_filename(dir, relative, NULL);
	ck_assert_str_eq(got_at(i)->origin, path);
}

/* Creates DIR/RELATIVE (and its parents) holding CONTENTS. */
static void make_file(const char *dir, const char *relative, const char *contents)
{
	g_autofree char *path = g_build_filename(dir, relative, NULL);
	g_autofree char *parent = g_path_get_dirname(path);
	ck_assert_int_eq(g_mkdir_with_parents(parent, 0700), 0);
	g_autoptr(GError) error = NULL;
	ck_assert_msg(g_file_set_contents(path, contents, -1, &error), "%s",
		      error ? error->message : "");
}

static const char *const three_expected[] = {
	"From: Alice <alice@example.org>\nSubject: one\n\n"
	"From here on, this line was quoted by the writer.\n"
	">From a line that already began \">From \".\n"
	" >From not at the start of the line: kept.\n"
	"Last line of one.\n",
	"From: Bob <bob@example.org>\nSubject: two\n\nbody two\n"
	"From the desk of Bob: after a non-empty line, so not a separator.\n",
	"From: Carol <carol@example.org>\nSubject: three\n\nbody three\n",
};

/* A plain file is one message with its path and modification time. */
START_TEST(test_eml)
{
	g_autofree char *copy = g_build_filename(tmpdir, "one.eml", NULL);
	g_autoptr(GBytes) bytes = tu_data_bytes("source/one.eml");
	ck_assert(g_file_set_contents(copy, g_bytes_get_data(bytes, NULL),
				      (gssize)g_bytes_get_size(bytes), NULL));
	struct utimbuf times = {1700000000, 1700000000};
	ck_assert_int_eq(utime(copy, &times), 0);
	g_autoptr(GError) error = NULL;
	ck_assert_msg(walk(copy, &error), "%s", error ? error->message : "");
	ck_assert_uint_eq(col.messages->len, 1);
	ck_assert(g_bytes_equal(got_at(0)->raw, bytes));
	ck_assert_str_eq(got_at(0)->origin, copy);
	ck_assert_uint_eq(got_at(0)->index, 0);
	ck_assert_int_eq(got_at(0)->mtime, 1700000000);
}
END_TEST

/* An mbox splits into its messages; ">From " lines lose one '>'; a body
 * "From " line after a non-empty line stays in its message. */
START_TEST(test_mbox_three)
{
	g_autofree char *path = tu_data_path("source/three.mbox");
	g_autoptr(GError) error = NULL;
	ck_assert_msg(walk(path, &error), "%s", error ? error->message : "");
	ck_assert_uint_eq(col.messages->len, 3);
	for (guint i = 0; i < 3; i++) {
		assert_raw(i, three_expected[i]);
		ck_assert_uint_eq(got_at(i)->index, i);
		ck_assert_str_eq(got_at(i)->origin, path);
	}
}
END_TEST

/* Messages without ">From " lines are slices of the mbox, not copies. */
START_TEST(test_mbox_copies_only_quoted)
{
	g_autoptr(GBytes) bytes = tu_data_bytes("source/three.mbox");
	gsize size = 0;
	const char *data = g_bytes_get_data(bytes, &size);
	g_autoptr(GError) error = NULL;
	ck_assert(canary_source_split_mbox(bytes, "three.mbox", 7, collect, &col, &error));
	ck_assert_uint_eq(col.messages->len, 3);
	for (guint i = 0; i < 3; i++) {
		const char *p = g_bytes_get_data(got_at(i)->raw, NULL);
		gboolean inside = p >= data && p < data + size;
		ck_assert_msg(inside == (i != 0), "message %u: inside %d", i, inside);
		ck_assert_int_eq(got_at(i)->mtime, 7);
	}
}
END_TEST

/* The same mbox with CRLF line ends: same split, CRLF kept in the messages. */
START_TEST(test_mbox_crlf)
{
	g_autoptr(GBytes) bytes = tu_data_bytes("source/three.mbox");
	g_autofree char *lf = g_strndup(g_bytes_get_data(bytes, NULL), g_bytes_get_size(bytes));
	g_auto(GStrv) lines = g_strsplit(lf, "\n", -1);
	g_autofree char *crlf = g_strjoinv("\r\n", lines);
	g_autofree char *path = tu_write_file(tmpdir, "crlf.mbox", crlf);
	g_autoptr(GError) error = NULL;
	ck_assert_msg(walk(path, &error), "%s", error ? error->message : "");
	ck_assert_uint_eq(col.messages->len, 3);
	for (guint i = 0; i < 3; i++) {
		g_auto(GStrv) expect_lines = g_strsplit(three_expected[i], "\n", -1);
		g_autofree char *expect = g_strjoinv("\r\n", expect_lines);
		assert_raw(i, expect);
	}
}
END_TEST

/* An unquoted body line "From ..." after an empty line is text, not a
 * separator (it has no date), and is kept. */
START_TEST(test_mbox_unquoted_from_after_blank)
{
	static const char mbox[] = "From a@example.org Mon Jan  1 00:00:00 2024\n"
				   "Subject: x\n\nFirst paragraph.\n\n"
				   "From my side, more text.\n\nFrom time to time\nlast line\n";
	g_autoptr(GError) error = NULL;
	ck_assert(split(mbox, sizeof mbox - 1, &error));
	ck_assert_uint_eq(col.messages->len, 1);
	assert_raw(0, "Subject: x\n\nFirst paragraph.\n\n"
		      "From my side, more text.\n\nFrom time to time\nlast line\n");
}
END_TEST

/* Separators as writers date them, each without an empty line before it:
 * every one splits. */
START_TEST(test_mbox_separator_shapes)
{
	static const char *const shapes[] = {
		"From a@example.org Mon Jan  1 00:00:00 2024",
		"From a@example.org Mon Jan 1 00:00 2024",
		"From - Tue Feb 13 17:05:09 2024",
		"From MAILER-DAEMON Fri Jul  8 12:08:34 2011",
		"From a@example.org Mon Jan  1 00:00:00 +0000 2024",
		"From a@example.org Mon Jan  1 00:00:00 2024 +0100",
		"From a@example.org Mon Jan  1 00:00:00 CET 2024",
		"From a@example.org Mon Jan  1 00:00:00 2024 remote from gateway",
		"From a@example.org Mon, 1 Jan 2024 00:00:00 +0000",
		"From \"a b\"@example.org Mon Jan  1 00:00:00 2024",
		"From  Mon Jan  1 00:00:00 2024",
		"From a@example.org Mon Jan  1 00:00:00 -0500 (EST) 2024",
		"From a@example.org Mon Jan  1 00:00:00 2024\r",
		"From a@example.org\nReturn-Path: <a@example.org>",
	};
	for (guint i = 0; i < G_N_ELEMENTS(shapes); i++) {
		g_autofree char *mbox =
			g_strdup_printf("From x\nX: 1\n\nbody\n%s\nX: 2\n", shapes[i]);
		g_autoptr(GError) error = NULL;
		g_ptr_array_set_size(col.messages, 0);
		ck_assert(split(mbox, strlen(mbox), &error));
		ck_assert_msg(col.messages->len == 2, "[%s]: %u messages", shapes[i],
			      col.messages->len);
		assert_raw(0, "X: 1\n\nbody\n");
	}
}
END_TEST

/* "From " lines that are text: no date, or a date of another shape; kept
 * in the message they are in. */
START_TEST(test_mbox_not_separators)
{
	static const char *const lines[] = {
		"From time to time",
		"From Jan 1 to Feb 2 2024",
		"From 2019 until 00:00 2024",
		"From a@example.org Mon Jan 32 00:00:00 2024",
		"From a@example.org Mon Jan  1 25:00:00 2024",
		"From a@example.org Mon Jan  1 00:00:00",
		"From a@example.org Mon Jan  1 00:00:00 24",
		"From Jan  1 00:00:00 2024",
		"From 3 May 2021 10:00 the police came back",
		"From May 3 10:00 until 2024",
		"From the 3 May 2021 10:00 hearing",
		"From a@example.org",
		"From the office: nothing new",
		"From:",
		"From ",
	};
	for (guint i = 0; i < G_N_ELEMENTS(lines); i++) {
		g_autofree char *mbox = g_strdup_printf("From x\nX: 1\n\n%s\nbody\n", lines[i]);
		g_autoptr(GError) error = NULL;
		g_ptr_array_set_size(col.messages, 0);
		ck_assert(split(mbox, strlen(mbox), &error));
		g_autofree char *expect = g_strdup_printf("X: 1\n\n%s\nbody\n", lines[i]);
		ck_assert_msg(col.messages->len == 1, "[%s]: %u messages", lines[i],
			      col.messages->len);
		assert_raw(0, expect);
	}
}
END_TEST

/* Returns the number of lines of message I that start with PREFIX. */
static guint count_lines(guint i, const char *prefix)
{
	gsize len = 0;
	const char *data = g_bytes_get_data(got_at(i)->raw, &len);
	g_autofree char *text = g_strndup(data, len);
	g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
	guint n = 0;
	for (guint k = 0; lines[k] != NULL; k++)
		n += g_str_has_prefix(lines[k], prefix);
	return n;
}

/* Fails unless message I holds NEEDLE. */
static void assert_has(guint i, const char *needle)
{
	gsize len = 0;
	const char *data = g_bytes_get_data(got_at(i)->raw, &len);
	g_autofree char *text = g_strndup(data, len);
	ck_assert_msg(strstr(text, needle) != NULL, "message %u lacks [%s]:\n%s", i, needle, text);
}

/* 29 messages, every third separator without an empty line before it,
 * bodies with unquoted "From " lines after empty lines: 29 messages, each
 * with its own sender (in its identity record too) and all of its text,
 * none inside another. */
START_TEST(test_mbox_no_blank_before_separator)
{
	static const char *const bodies[] = {
		"From time to time I write to you.", "From here on the letter continues.",
		"From the office: nothing new.", "From 2019 until now."};
	g_autofree char *path = tu_data_path("source/no-blank.mbox");
	g_autoptr(GError) error = NULL;
	struct canary_limits limits;
	canary_limits_init_default(&limits);
	ck_assert_msg(walk(path, &error), "%s", error ? error->message : "");
	ck_assert_uint_eq(col.messages->len, 29);
	ck_assert_uint_eq(col.skips->len, 0);
	for (guint i = 0; i < 29; i++) {
		guint n = i + 1;
		ck_assert_uint_eq(got_at(i)->index, i);
		ck_assert_uint_eq(count_lines(i, "From: "), 1);
		ck_assert_uint_eq(count_lines(i, "Message-ID: "), 1);
		g_autofree char *address = g_strdup_printf("<p%02u@example.org>\n", n);
		g_autofree char *subject = g_strdup_printf("Subject: message %u\n", n);
		g_autofree char *ending =
			g_strdup_printf("%s\nEnd of message %u.\n", bodies[n % 4], n);
		assert_has(i, address);
		assert_has(i, subject);
		ck_assert_msg(g_str_has_prefix(g_bytes_get_data(got_at(i)->raw, NULL), "From: "),
			      "message %u does not start with its From:", i);
		gsize len = g_bytes_get_size(got_at(i)->raw);
		const char *data = g_bytes_get_data(got_at(i)->raw, NULL);
		ck_assert_msg(len >= strlen(ending) && memcmp(data + len - strlen(ending), ending,
							      strlen(ending)) == 0,
			      "message %u does not end with [%s]", i, ending);
		/* The identity record names this message's sender, and only them. */
		g_autoptr(canary_mail) mail = canary_mail_parse(got_at(i)->raw, &limits);
		g_autoptr(canary_identity) id = canary_identity_extract(mail);
		g_autofree char *primary = g_strdup_printf("p%02u@example.org", n);
		ck_assert_str_eq(id->primary, primary);
		ck_assert_uint_eq(id->addresses->len, 1);
	}
}
END_TEST

/* Returns the bytes of the test file source/NAME as a string. */
static char *data_text(const char *name)
{
	g_autofree char *relative = g_strconcat("source/", name, NULL);
	g_autoptr(GBytes) bytes = tu_data_bytes(relative);
	return g_strndup(g_bytes_get_data(bytes, NULL), g_bytes_get_size(bytes));
}

/* mboxrd: each level of quoting loses one '>'; "> From" is no quoting. */
START_TEST(test_mboxrd)
{
	g_autofree char *path = tu_data_path("source/mboxrd.mbox");
	g_autoptr(GError) error = NULL;
	ck_assert(walk(path, &error));
	ck_assert_uint_eq(col.messages->len, 2);
	assert_raw(0, "From: Olga Reyes <r1@example.org>\nSubject: rd one\n\n"
		      "From one level.\n>From two levels.\n>>From three levels.\n"
		      "> From not quoting.\n");
	assert_raw(1, "From: Pavel Nunes <r2@example.org>\nSubject: rd two\n\nBody two.\n");
}
END_TEST

/* mboxo: ">From " is unquoted; an unquoted "From time to time" stays. */
START_TEST(test_mboxo)
{
	g_autofree char *path = tu_data_path("source/mboxo.mbox");
	g_autoptr(GError) error = NULL;
	ck_assert(walk(path, &error));
	ck_assert_uint_eq(col.messages->len, 2);
	assert_raw(0, "From: Rosa Keller <o1@example.org>\nSubject: o one\n\nDear office,\n\n"
		      "From the start of the year we were watched.\n"
		      "From time to time they came back.\n");
	assert_raw(1, "From: Samir Ito <o2@example.org>\nSubject: o two\n\nBody two.\n");
}
END_TEST

/* mboxcl2: Content-Length keeps an unquoted separator-shaped line inside
 * its message, and nothing is unquoted there; a length that lands nowhere
 * is not trusted and the separators decide; the last length ends the file. */
START_TEST(test_mboxcl2)
{
	g_autofree char *path = tu_data_path("source/mboxcl2.mbox");
	g_autoptr(GError) error = NULL;
	ck_assert(walk(path, &error));
	ck_assert_uint_eq(col.messages->len, 4);
	assert_raw(0, "From: Ines Varga <s1@example.org>\nSubject: cl2 one\n"
		      "Content-Length: 219\n\n"
		      "I copy below what I found in the shared mailbox:\n\n"
		      "From records@example.net Mon Mar  4 08:00:00 2024\n"
		      "From: Records <records@example.net>\n"
		      "Subject: quoted, not a message of this mbox\n\n"
		      ">From a line that began with a quote.\n");
	assert_raw(1, "From: Joao Abebe <s2@example.org>\nSubject: cl2 two\n"
		      "Content-Length: 39\n\nSecond body.\nFrom time to time, short.\n");
	assert_raw(2, "From: Kira Mensah <s3@example.org>\nSubject: cl2 three\n"
		      "Content-Length: 20\n\n"
		      "The writer got this length wrong, so the separators decide.\n"
		      "Second line of message 3.\n");
	assert_raw(3, "From: Luis Ferrand <s4@example.org>\nSubject: cl2 four\n"
		      "Content-Length: 28\n\nLast body, ending the file.\n");
}
END_TEST

/* mboxcl: Content-Length with mboxo quoting, which is undone. */
START_TEST(test_mboxcl)
{
	g_autofree char *path = tu_data_path("source/mboxcl.mbox");
	g_autoptr(GError) error = NULL;
	ck_assert(walk(path, &error));
	ck_assert_uint_eq(col.messages->len, 2);
	assert_raw(0, "From: Mira Osei <c1@example.org>\nSubject: cl one\n"
		      "Content-Length: 39\n\nBody one.\nFrom the quoting of mboxcl.\n");
	assert_raw(1, "From: Niko Barros <c2@example.org>\nSubject: cl two\n"
		      "Content-Length: 10\n\nBody two.\n");
}
END_TEST

/* In an mbox whose first message has no Content-Length, a later message's
 * Content-Length (stale, or forged to reach the next separator but one)
 * is ignored: the message after it is not swallowed. */
START_TEST(test_mbox_content_length_ignored)
{
	static const char mbox[] = "From a@example.org Mon Jan  1 00:00:00 2024\n"
				   "Subject: one\n\nbody one\n\n"
				   "From b@example.org Mon Jan  1 00:00:01 2024\n"
				   "Subject: two\nContent-Length: 81\n\nbody two\n\n"
				   "From c@example.org Mon Jan  1 00:00:02 2024\n"
				   "Subject: three\n\nbody three\n\n"
				   "From d@example.org Mon Jan  1 00:00:03 2024\n"
				   "Subject: four\n\nbody four\n";
	g_autoptr(GError) error = NULL;
	ck_assert(split(mbox, sizeof mbox - 1, &error));
	ck_assert_uint_eq(col.messages->len, 4);
	assert_raw(1, "Subject: two\nContent-Length: 81\n\nbody two\n");
	assert_raw(2, "Subject: three\n\nbody three\n");
	/* The same length trusted in an mboxcl file, where it lands on "From d". */
	g_autofree char *cl = g_strconcat("From z@example.org Mon Jan  1 00:00:00 2024\n"
					  "Content-Length: 2\n\nz\n\n",
					  mbox, NULL);
	g_ptr_array_set_size(col.messages, 0);
	ck_assert(split(cl, strlen(cl), &error));
	ck_assert_uint_eq(col.messages->len, 4);
	assert_raw(0, "Content-Length: 2\n\nz\n");
	assert_raw(2, "Subject: two\nContent-Length: 81\n\nbody two\n\n"
		      "From c@example.org Mon Jan  1 00:00:02 2024\n"
		      "Subject: three\n\nbody three\n");
}
END_TEST

/* A byte-order mark before an mbox or a single message is dropped. */
START_TEST(test_byte_order_mark)
{
	g_autofree char *path = tu_data_path("source/bom.mbox");
	g_autoptr(GError) error = NULL;
	ck_assert(walk(path, &error));
	ck_assert_uint_eq(col.messages->len, 2);
	assert_raw(0, "From: Tomas Weber <b1@example.org>\nSubject: bom one\n\nBody one.\n");
	assert_raw(1,
		   "From: Ulla S\xc3\xa1nchez <b2@example.org>\nSubject: bom two\n\nBody two.\n");
	g_autofree char *eml = tu_data_path("source/bom.eml");
	g_autofree char *text = data_text("bom.eml");
	ck_assert(walk(eml, &error));
	ck_assert_uint_eq(col.messages->len, 3);
	ck_assert(g_str_has_prefix(text, "\xef\xbb\xbf"));
	assert_raw(2, text + 3);
	ck_assert_uint_eq(walker.files_read, 2);
}
END_TEST

struct mbox_case {
	const char *data; /* NUL-terminated */
	guint count;      /* messages expected */
	const char *first;
	guint first_index;
};

static const struct mbox_case mbox_cases[] = {
	/* Only a separator, with or without its newline or a blank line. */
	{"From ", 0, NULL, 0},
	{"From x", 0, NULL, 0},
	{"From x\n", 0, NULL, 0},
	{"From x\r\n", 0, NULL, 0},
	{"From x\n\n", 0, NULL, 0},
	{"From x\r\n\r\n", 0, NULL, 0},
	/* Empty messages are skipped but still counted in the index. */
	{"From a\n\nFrom b Mon Jan  1 00:00:00 2024\n\nFrom c\nX: y\n", 1, "X: y\n", 2},
	{"From a\nFrom b Mon Jan  1 00:00:00 2024\nX: y\n", 1, "X: y\n", 1},
	/* Byte-order mark and empty lines before the first separator. */
	{"\xef\xbb\xbf"
	 "From a\nX: 1\n",
	 1, "X: 1\n", 0},
	{"\n\r\nFrom a\nX: 1\n", 1, "X: 1\n", 0},
	{"\xef\xbb\xbf", 0, NULL, 0},
	{"From a\nFrom b\n", 1, "From b\n", 0},
	/* The last message: one final empty line dropped, no more. */
	{"From a\nX: 1\n\nbody", 1, "X: 1\n\nbody", 0},
	{"From a\nX: 1\n\nbody\n", 1, "X: 1\n\nbody\n", 0},
	{"From a\nX: 1\n\nbody\n\n\n", 1, "X: 1\n\nbody\n\n", 0},
	{"From a\n\n\nbody\n", 1, "\n\nbody\n", 0},
	/* Quoting at every depth, and lines that only look quoted. */
	{"From a\n>From x\n>>>From y\n>from z\n>Fromage\n>\n", 1,
	 "From x\n>>From y\n>from z\n>Fromage\n>\n", 0},
	{"From a\n>From ", 1, "From ", 0},
	{"From a\n>", 1, ">", 0},
	/* "From" without the space is no separator. */
	{"From a\nX: 1\n\nFromage\n", 1, "X: 1\n\nFromage\n", 0},
	/* A lone CR is not a line end. */
	{"From a\nX: 1\r\rFrom b\n", 1, "X: 1\r\rFrom b\n", 0},
};

/* Malformed and edge-case mboxes split as documented, without crashing. */
START_TEST(test_mbox_edge_cases)
{
	const struct mbox_case *c = &mbox_cases[_i];
	g_autoptr(GError) error = NULL;
	ck_assert_msg(split(c->data, strlen(c->data), &error), "case %d: %s", _i,
		      error ? error->message : "");
	ck_assert_msg(col.messages->len == c->count, "case %d: %u messages", _i, col.messages->len);
	if (c->first != NULL) {
		assert_raw(0, c->first);
		ck_assert_uint_eq(got_at(0)->index, c->first_index);
	}
}
END_TEST

/* A separator line of a megabyte without a newline yields no message; a
 * message of one such line is kept whole. */
START_TEST(test_mbox_huge_lines)
{
	gsize n = 1024 * 1024;
	GString *text = g_string_new("From ");
	for (gsize i = 0; i < n; i++)
		g_string_append_c(text, 'a');
	g_autoptr(GError) error = NULL;
	ck_assert(split(text->str, text->len, &error));
	ck_assert_uint_eq(col.messages->len, 0);

	g_string_assign(text, "From a\n");
	for (gsize i = 0; i < n; i++)
		g_string_append_c(text, i % 2 ? '>' : 'x');
	ck_assert(split(text->str, text->len, &error));
	ck_assert_uint_eq(col.messages->len, 1);
	ck_assert_uint_eq(g_bytes_get_size(got_at(0)->raw), n);
	g_string_free(text, TRUE);
}
END_TEST

/* Bytes that are not an mbox are refused by the splitter; an empty input
 * has no messages. */
START_TEST(test_split_not_mbox)
{
	g_autoptr(GError) error = NULL;
	ck_assert(!split("Subject: x\n\nbody\n", 17, &error));
	ck_assert(g_error_matches(error, CANARY_SOURCE_ERROR, CANARY_SOURCE_ERROR_UNKNOWN));
	ck_assert_str_eq(error->message,
			 "test.mbox: does not start with a \"From \" line; expected an mbox");
	g_clear_error(&error);
	ck_assert(split("", 0, &error));
	ck_assert_uint_eq(col.messages->len, 0);
}
END_TEST

/* A Maildir: new/ then cur/, each sorted by name; tmp/, hidden files and
 * Maildir++ subfolders, and files beside new/ and cur/ are skipped. */
START_TEST(test_maildir)
{
	make_file(tmpdir, "new/1700000002.M2.host", "X: new2\n");
	make_file(tmpdir, "new/1700000001.M1.host", "X: new1\n");
	make_file(tmpdir, "new/.hidden", "X: hidden\n");
	make_file(tmpdir, "cur/1600000000.M0.host:2,S", "X: cur\n");
	make_file(tmpdir, "tmp/1700000003.M3.host", "X: unfinished\n");
	make_file(tmpdir, ".Sent/cur/1.host:2,S", "X: subfolder\n");
	make_file(tmpdir, "dovecot-uidlist", "3 V1 N4\n");
	make_file(tmpdir, "notes.txt", "not mail\n");
	g_autoptr(GError) error = NULL;
	ck_assert_msg(walk(tmpdir, &error), "%s", error ? error->message : "");
	ck_assert_uint_eq(col.messages->len, 3);
	assert_raw(0, "X: new1\n");
	assert_origin(0, tmpdir, "new/1700000001.M1.host");
	assert_raw(1, "X: new2\n");
	assert_raw(2, "X: cur\n");
	assert_origin(2, tmpdir, "cur/1600000000.M0.host:2,S");
	ck_assert_uint_eq(col.skips->len, 5);
	assert_skip(0, tmpdir, "new/.hidden", "hidden");
	assert_skip(1, tmpdir, ".Sent",
		    "Maildir subfolder of the office's own mail (sent or drafts), not cases; "
		    "name it to import it");
	assert_skip(2, tmpdir, "dovecot-uidlist", "Maildir control file");
	assert_skip(3, tmpdir, "notes.txt", "not a message folder of the Maildir");
	assert_skip(4, tmpdir, "tmp", "1 unfinished deliveries (Maildir tmp/)");
	ck_assert_uint_eq(walker.skipped_count, 5);
	ck_assert_uint_eq(walker.files_read, 3);
}
END_TEST

/* Maildir++ subfolders (and those of the verbatim layout) are reported
 * unless --subfolders; with it they are walked, each after its parent,
 * except the folders of the office's own mail, which stay reported; an
 * own-mail folder named directly is imported. */
START_TEST(test_maildir_subfolders)
{
	make_file(tmpdir, "cur/1.host:2,S", "X: inbox\n");
	make_file(tmpdir, ".Archive/cur/2.host:2,S", "X: archive\n");
	make_file(tmpdir, ".Archive/maildirfolder", "");
	make_file(tmpdir, ".INBOX.Drafts/cur/3.host:2,D", "X: draft\n");
	make_file(tmpdir, ".Sent Items/cur/4.host:2,S", "X: sent\n");
	make_file(tmpdir, ".Trash/new/5.host", "X: trash\n");
	make_file(tmpdir, "Lists/cur/6.host:2,S", "X: list\n");
	make_file(tmpdir, "Lists/.Sent/cur/7.host:2,S", "X: list sent\n");
	make_file(tmpdir, "tmp/.keep", "");
	make_file(tmpdir, "tmp/8.host", "X: half\n");
	g_autoptr(GError) error = NULL;
	ck_assert(walk(tmpdir, &error));
	ck_assert_uint_eq(col.messages->len, 1);
	static const char *const reported[] = {".Archive", ".INBOX.Drafts", ".Sent Items",
					       ".Trash",   "Lists",         "tmp"};
	ck_assert_uint_eq(col.skips->len, G_N_ELEMENTS(reported));
	for (guint i = 0; i < G_N_ELEMENTS(reported); i++) {
		g_autofree char *prefix = g_strdup_printf("%s/%s: ", tmpdir, reported[i]);
		ck_assert_msg(g_str_has_prefix(g_ptr_array_index(col.skips, i), prefix), "%s",
			      (char *)g_ptr_array_index(col.skips, i));
	}
	assert_skip(0, tmpdir, ".Archive", "Maildir subfolder; give --subfolders to import it");
	assert_skip(5, tmpdir, "tmp", "2 unfinished deliveries (Maildir tmp/)");

	g_ptr_array_set_size(col.messages, 0);
	g_ptr_array_set_size(col.skips, 0);
	walker.subfolders = TRUE;
	ck_assert(walk(tmpdir, &error));
	static const char *const expect[] = {"X: inbox\n", "X: archive\n", "X: trash\n",
					     "X: list\n"};
	ck_assert_uint_eq(col.messages->len, G_N_ELEMENTS(expect));
	for (guint i = 0; i < G_N_ELEMENTS(expect); i++)
		assert_raw(i, expect[i]);
	static const char *const own[] = {".Archive/maildirfolder", ".INBOX.Drafts", ".Sent Items",
					  "Lists/.Sent", "tmp"};
	ck_assert_uint_eq(col.skips->len, G_N_ELEMENTS(own));
	for (guint i = 0; i < G_N_ELEMENTS(own); i++) {
		g_autofree char *prefix = g_strdup_printf("%s/%s: ", tmpdir, own[i]);
		ck_assert_msg(g_str_has_prefix(g_ptr_array_index(col.skips, i), prefix), "%s",
			      (char *)g_ptr_array_index(col.skips, i));
	}

	g_ptr_array_set_size(col.messages, 0);
	g_autofree char *sent = g_build_filename(tmpdir, ".Sent Items", NULL);
	ck_assert(walk(sent, &error));
	ck_assert_uint_eq(col.messages->len, 1);
	assert_raw(0, "X: sent\n");
}
END_TEST

/* A separator with nothing after it is reported with its place. */
START_TEST(test_mbox_empty_message_reported)
{
	make_file(tmpdir, "a.mbox",
		  "From a@example.org Mon Jan  1 00:00:00 2024\n\n"
		  "From b@example.org Mon Jan  1 00:00:01 2024\nX: b\n");
	g_autofree char *path = g_build_filename(tmpdir, "a.mbox", NULL);
	g_autoptr(GError) error = NULL;
	ck_assert(walk(path, &error));
	ck_assert_uint_eq(col.messages->len, 1);
	ck_assert_uint_eq(col.skips->len, 1);
	assert_skip(0, tmpdir, "a.mbox", "message 1 of the mbox is empty");
}
END_TEST

/* A Maildir with only cur/ is still a Maildir. */
START_TEST(test_maildir_cur_only)
{
	make_file(tmpdir, "cur/b", "X: b\n");
	make_file(tmpdir, "cur/a", "X: a\n");
	make_file(tmpdir, "other/c", "X: c\n");
	g_autoptr(GError) error = NULL;
	ck_assert(walk(tmpdir, &error));
	ck_assert_uint_eq(col.messages->len, 2);
	assert_raw(0, "X: a\n");
	assert_raw(1, "X: b\n");
}
END_TEST

/* Plain folders are walked recursively in g_strcmp0() order of names,
 * hidden entries skipped, Maildirs and mboxes inside recognised. */
START_TEST(test_nested_folders)
{
	make_file(tmpdir, "b/2.eml", "X: b2\n");
	make_file(tmpdir, "a/1.eml", "X: a1\n");
	make_file(tmpdir, "a/sub/x.eml", "X: ax\n");
	make_file(tmpdir, "C.eml", "X: C\n");
	make_file(tmpdir, "c.mbox", "From a\nX: c1\n\nFrom b\nX: c2\n");
	make_file(tmpdir, "d/new/m1", "X: d1\n");
	make_file(tmpdir, ".hidden/x.eml", "X: hidden\n");
	make_file(tmpdir, ".y.eml", "X: hidden\n");
	g_autoptr(GError) error = NULL;
	ck_assert_msg(walk(tmpdir, &error), "%s", error ? error->message : "");
	static const char *const expect[] = {"X: C\n",  "X: a1\n", "X: ax\n", "X: b2\n",
					     "X: c1\n", "X: c2\n", "X: d1\n"};
	ck_assert_uint_eq(col.messages->len, G_N_ELEMENTS(expect));
	for (guint i = 0; i < G_N_ELEMENTS(expect); i++)
		assert_raw(i, expect[i]);
	assert_origin(4, tmpdir, "c.mbox");
	ck_assert_uint_eq(got_at(5)->index, 1);
	ck_assert_uint_eq(col.skips->len, 2);
	assert_skip(0, tmpdir, ".hidden", "hidden");
	assert_skip(1, tmpdir, ".y.eml", "hidden");
}
END_TEST

/* Many names come back in byte order ("1" < "10" < "2"), not in the order
 * the directory lists them. */
START_TEST(test_sorted_by_name)
{
	for (int i = 40; i >= 0; i--) {
		g_autofree char *name = g_strdup_printf("%d", i * 7 % 41);
		g_autofree char *body = g_strdup_printf("X: %s\n", name);
		make_file(tmpdir, name, body);
	}
	g_autoptr(GError) error = NULL;
	ck_assert(walk(tmpdir, &error));
	ck_assert_uint_eq(col.messages->len, 41);
	assert_origin(0, tmpdir, "0");
	assert_origin(1, tmpdir, "1");
	assert_origin(2, tmpdir, "10");
	for (guint i = 0; i + 1 < 41; i++)
		ck_assert_msg(strcmp(got_at(i)->origin, got_at(i + 1)->origin) < 0, "%s before %s",
			      got_at(i)->origin, got_at(i + 1)->origin);
}
END_TEST

/* Empty files are skipped and reported, in folders and when named
 * directly; so is a file of only a byte-order mark and empty lines. */
START_TEST(test_empty_file_skipped)
{
	make_file(tmpdir, "a-empty.eml", "");
	make_file(tmpdir, "b.eml", "X: b\n");
	make_file(tmpdir, "c-blank.mbox", "\xef\xbb\xbf\n\r\n");
	g_autoptr(GError) error = NULL;
	ck_assert(walk(tmpdir, &error));
	ck_assert_uint_eq(col.messages->len, 1);
	assert_raw(0, "X: b\n");
	ck_assert_uint_eq(col.skips->len, 2);
	assert_skip(0, tmpdir, "a-empty.eml", "empty file");
	assert_skip(1, tmpdir, "c-blank.mbox", "no message in the file");
	ck_assert_uint_eq(walker.files_read, 1);
	g_autofree char *empty = g_build_filename(tmpdir, "a-empty.eml", NULL);
	ck_assert(walk(empty, &error));
	ck_assert_uint_eq(col.messages->len, 1);
	ck_assert_uint_eq(col.skips->len, 3);
	assert_skip(2, tmpdir, "a-empty.eml", "empty file");
}
END_TEST

/* A path that does not exist is an I/O error naming it. */
START_TEST(test_nonexistent)
{
	g_autofree char *path = g_build_filename(tmpdir, "nowhere", NULL);
	g_autoptr(GError) error = NULL;
	ck_assert(!walk(path, &error));
	ck_assert(g_error_matches(error, CANARY_SOURCE_ERROR, CANARY_SOURCE_ERROR_IO));
	g_autofree char *want = g_strdup_printf("%s: cannot read: %s", path, g_strerror(ENOENT));
	ck_assert_str_eq(error->message, want);
	ck_assert_str_eq(g_quark_to_string(error->domain), "canary-source-error-quark");
}
END_TEST

/* A FIFO, named or met in a folder, is refused without blocking. */
START_TEST(test_fifo)
{
	make_file(tmpdir, "a.eml", "X: a\n");
	g_autofree char *fifo = g_build_filename(tmpdir, "b-fifo", NULL);
	ck_assert_int_eq(mkfifo(fifo, 0600), 0);
	g_autoptr(GError) error = NULL;
	ck_assert(!walk(fifo, &error));
	ck_assert(g_error_matches(error, CANARY_SOURCE_ERROR, CANARY_SOURCE_ERROR_UNKNOWN));
	g_autofree char *want = g_strdup_printf(
		"%s: neither a file nor a folder; expected .eml, mbox or Maildir", fifo);
	ck_assert_str_eq(error->message, want);
	g_clear_error(&error);
	ck_assert(!walk(tmpdir, &error));
	ck_assert(g_error_matches(error, CANARY_SOURCE_ERROR, CANARY_SOURCE_ERROR_UNKNOWN));
	ck_assert_uint_eq(col.messages->len, 1); /* a.eml came first */
	g_clear_error(&error);
	ck_assert(!walk("/dev/null", &error));
	ck_assert(g_error_matches(error, CANARY_SOURCE_ERROR, CANARY_SOURCE_ERROR_UNKNOWN));
}
END_TEST

/* Links: to files followed, to folders skipped inside the tree (no loops),
 * followed when named; a dangling link is an I/O error. */
START_TEST(test_symlinks)
{
	make_file(tmpdir, "tree/a.eml", "X: a\n");
	make_file(tmpdir, "outside/o.eml", "X: outside\n");
	g_autofree char *tree = g_build_filename(tmpdir, "tree", NULL);
	g_autofree char *loop = g_build_filename(tree, "loop", NULL);
	g_autofree char *out = g_build_filename(tree, "out", NULL);
	g_autofree char *file_link = g_build_filename(tree, "b.eml", NULL);
	g_autofree char *outside = g_build_filename(tmpdir, "outside", NULL);
	g_autofree char *outside_file = g_build_filename(outside, "o.eml", NULL);
	ck_assert_int_eq(symlink(tree, loop), 0);
	ck_assert_int_eq(symlink(outside, out), 0);
	ck_assert_int_eq(symlink(outside_file, file_link), 0);
	g_autoptr(GError) error = NULL;
	ck_assert_msg(walk(tree, &error), "%s", error ? error->message : "");
	ck_assert_uint_eq(col.messages->len, 2);
	assert_raw(0, "X: a\n");
	assert_raw(1, "X: outside\n");
	ck_assert_uint_eq(col.skips->len, 2);
	static const char link_reason[] =
		"link to a folder, followed only when named; name it to import it";
	assert_skip(0, tree, "loop", link_reason);
	assert_skip(1, tree, "out", link_reason);

	g_ptr_array_set_size(col.messages, 0);
	ck_assert(walk(out, &error));
	ck_assert_uint_eq(col.messages->len, 1);

	g_autofree char *dangling = g_build_filename(tree, "c.eml", NULL);
	ck_assert_int_eq(symlink("/nonexistent/canary", dangling), 0);
	ck_assert(!walk(tree, &error));
	ck_assert(g_error_matches(error, CANARY_SOURCE_ERROR, CANARY_SOURCE_ERROR_IO));
	ck_assert(g_str_has_prefix(error->message, dangling));
}
END_TEST

/* A file that cannot be read is an I/O error naming it (not as root, who
 * reads through chmod 000). */
START_TEST(test_unreadable)
{
	if (geteuid() == 0)
		return;
	make_file(tmpdir, "secret.eml", "X: s\n");
	g_autofree char *path = g_build_filename(tmpdir, "secret.eml", NULL);
	ck_assert_int_eq(chmod(path, 0), 0);
	g_autoptr(GError) error = NULL;
	ck_assert(!walk(tmpdir, &error));
	ck_assert(g_error_matches(error, CANARY_SOURCE_ERROR, CANARY_SOURCE_ERROR_IO));
	ck_assert(g_str_has_prefix(error->message, path));
}
END_TEST

/* A callback returning FALSE stops the walk, in a folder and in an mbox,
 * and its error comes back unchanged. */
START_TEST(test_callback_stops)
{
	make_file(tmpdir, "a.eml", "X: a\n");
	make_file(tmpdir, "b.mbox", "From a\nX: b1\n\nFrom b\nX: b2\n\nFrom c\nX: b3\n");
	make_file(tmpdir, "c.eml", "X: c\n");
	g_autoptr(GError) error = NULL;
	col.stop_after = 1;
	ck_assert(!walk(tmpdir, &error));
	ck_assert(g_error_matches(error, G_FILE_ERROR, G_FILE_ERROR_FAILED));
	ck_assert_str_eq(error->message, "stopped by the callback");
	ck_assert_uint_eq(col.messages->len, 1);

	g_clear_error(&error);
	g_ptr_array_set_size(col.messages, 0);
	col.stop_after = 2;
	g_autofree char *mbox = g_build_filename(tmpdir, "b.mbox", NULL);
	ck_assert(!walk(mbox, &error));
	ck_assert(g_error_matches(error, G_FILE_ERROR, G_FILE_ERROR_FAILED));
	ck_assert_uint_eq(col.messages->len, 2);
	assert_raw(1, "X: b2\n");
}
END_TEST

static Suite *source_suite(void)
{
	Suite *s = suite_create("source");
	TCase *tc = tcase_create("walk");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_eml);
	tcase_add_test(tc, test_mbox_three);
	tcase_add_test(tc, test_mbox_copies_only_quoted);
	tcase_add_test(tc, test_mbox_crlf);
	tcase_add_test(tc, test_mbox_unquoted_from_after_blank);
	tcase_add_test(tc, test_mbox_separator_shapes);
	tcase_add_test(tc, test_mbox_not_separators);
	tcase_add_test(tc, test_mbox_no_blank_before_separator);
	tcase_add_test(tc, test_mboxrd);
	tcase_add_test(tc, test_mboxo);
	tcase_add_test(tc, test_mboxcl2);
	tcase_add_test(tc, test_mboxcl);
	tcase_add_test(tc, test_mbox_content_length_ignored);
	tcase_add_test(tc, test_byte_order_mark);
	tcase_add_test(tc, test_mbox_empty_message_reported);
	tcase_add_loop_test(tc, test_mbox_edge_cases, 0, G_N_ELEMENTS(mbox_cases));
	tcase_add_test(tc, test_mbox_huge_lines);
	tcase_add_test(tc, test_split_not_mbox);
	tcase_add_test(tc, test_maildir);
	tcase_add_test(tc, test_maildir_cur_only);
	tcase_add_test(tc, test_maildir_subfolders);
	tcase_add_test(tc, test_nested_folders);
	tcase_add_test(tc, test_sorted_by_name);
	tcase_add_test(tc, test_empty_file_skipped);
	tcase_add_test(tc, test_nonexistent);
	tcase_add_test(tc, test_fifo);
	tcase_add_test(tc, test_symlinks);
	tcase_add_test(tc, test_unreadable);
	tcase_add_test(tc, test_callback_stops);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	/* Once per process: GMime 3.2 cannot be set up again after its shutdown. */
	canary_mail_init();
	int rc = tu_run_suite(source_suite());
	canary_mail_shutdown();
	return rc;
}
