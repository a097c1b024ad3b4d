/* check_fetch_reader.c: the reader of answers on canary's own IMAP
 * connection (lib/fetch_reader.c), fed recorded and crafted answers in
 * pieces of every size from 1 byte up, as receives would cut them: the
 * messages come out whole with their UIDs, and every answer that is not a
 * plain one stops the reading with an error that says why. */
#include <string.h>

#include "fetch_reader.h"
#include "imap.h"
#include "testutil.h"

/* What reading TEXT gave: the messages as "UID:bytes|", then the end. */
struct outcome {
	GString *messages;
	enum canary_fetch_step last; /* DONE, FAILED, or MORE: wants more */
	GError *error;
	guint32 uidvalidity;
};

static void outcome_clear(struct outcome *o)
{
	g_string_free(o->messages, TRUE);
	g_clear_error(&o->error);
}

/* Feeds TEXT (LEN bytes) to a reader for tag "c1", PIECE bytes at most at
 * a time, with literals of at most LIMIT bytes. */
static struct outcome read_all(const char *text, gsize len, gsize piece, guint64 limit)
{
	struct outcome o = {.messages = g_string_new(NULL)};
	g_autoptr(canary_fetch_reader) r = canary_fetch_reader_new("c1", limit);
	gsize at = 0;
	for (;;) {
		guint32 uid = 0;
		GBytes *message = NULL;
		o.last = canary_fetch_reader_next(r, &uid, &message, &o.error);
		if (o.last == CANARY_FETCH_MESSAGE) {
			gsize size = 0;
			const char *data = g_bytes_get_data(message, &size);
			g_string_append_printf(o.messages, "%u:%.*s|", uid, (int)size, data);
			g_bytes_unref(message);
			continue;
		}
		if (o.last != CANARY_FETCH_MORE || at == len)
			break;
		gsize room = 0;
		guint8 *space = canary_fetch_reader_space(r, &room);
		gsize n = MIN(MIN(room, piece), len - at);
		memcpy(space, text + at, n);
		canary_fetch_reader_filled(r, n);
		at += n;
	}
	o.uidvalidity = canary_fetch_reader_uidvalidity(r);
	return o;
}

static char *data_file(const char *name, gsize *len_r)
{
	g_autofree char *relative = g_build_filename("fetch", name, NULL);
	g_autofree char *path = tu_data_path(relative);
	char *text = NULL;
	ck_assert(g_file_get_contents(path, &text, len_r, NULL));
	return text;
}

/* A recorded answer of two messages (one with its UID after the literal)
 * and a flag change, cut every way. */
START_TEST(test_many)
{
	gsize len = 0;
	g_autofree char *text = data_file("many.txt", &len);
	for (gsize piece = 1; piece <= len; piece++) {
		struct outcome o = read_all(text, len, piece, 100);
		ck_assert_msg(o.last == CANARY_FETCH_DONE, "piece %zu: %s", piece,
			      o.error ? o.error->message : "");
		ck_assert_str_eq(o.messages->str, "4:Subject: a\r\n|5:x: b\r\n\r\nc|");
		outcome_clear(&o);
	}
}
END_TEST

START_TEST(test_examine)
{
	gsize len = 0;
	g_autofree char *text = data_file("examine.txt", &len);
	struct outcome o = read_all(text, len, 7, 0);
	ck_assert_int_eq(o.last, CANARY_FETCH_DONE);
	ck_assert_str_eq(o.messages->str, "");
	ck_assert_uint_eq(o.uidvalidity, 1733400000u);
	outcome_clear(&o);
}
END_TEST

/* A message as a quoted string is read; the server's NO is quoted. */
START_TEST(test_quoted_then_no)
{
	gsize len = 0;
	g_autofree char *text = data_file("quoted-then-no.txt", &len);
	struct outcome o = read_all(text, len, 3, 100);
	ck_assert_int_eq(o.last, CANARY_FETCH_FAILED);
	ck_assert_str_eq(o.messages->str, "4:quoted \"body\"|");
	ck_assert(g_error_matches(o.error, CANARY_IMAP_ERROR, CANARY_IMAP_ERROR_REFUSED));
	ck_assert_ptr_nonnull(strstr(o.error->message, "NO [SERVERBUG] failed"));
	outcome_clear(&o);
}
END_TEST

/* A literal cut short wants more, and gives nothing of it. */
START_TEST(test_cut)
{
	gsize len = 0;
	g_autofree char *text = data_file("cut.txt", &len);
	struct outcome o = read_all(text, len, 1, 100);
	ck_assert_int_eq(o.last, CANARY_FETCH_MORE);
	ck_assert_str_eq(o.messages->str, "");
	outcome_clear(&o);
}
END_TEST

/* Answers that are not plain ones, and what the error says. */
static const struct {
	const char *text;
	guint64 limit;
	const char *says;
} refused[] = {
	{"* 1 FETCH (UID 4 BODY[] {101}\r\n", 100, "a literal of 101 bytes, more than the 100"},
	{"* 1 FETCH (UID 4 FLAGS {3}\r\nabc BODY[] {2}\r\nxy)\r\nc1 OK\r\n", 100,
	 "two literals in one response"},
	{"* 1 FETCH (UID 4 FLAGS {3}\r\nabc)\r\nc1 OK\r\n", 100, "where no message belongs"},
	{"* 1 FETCH (BODY[] {2}\r\nxy)\r\nc1 OK\r\n", 100, "a message without its UID"},
	{"* 1 FETCH (UID 0 BODY[] {2}\r\nxy)\r\n", 100, "cannot read"},
	{"* 1 FETCH (UID 4294967296 BODY[] {2}\r\nxy)\r\n", 100, "cannot read"},
	{"* 1 FETCH (UID 4 BODY[] NIL)\r\n", 100, "cannot read"},
	{"* 1 FETCH (UID 4 BODY[] {2}\r\nxy\r\n", 100, "cannot read"},
	{"* 1 FETCH (UID 4 BODY[] {2}\r\nxy) extra\r\n", 100, "cannot read"},
	{"* 1 FETCH UID 4\r\n", 100, "without its list"},
	{"* 3 EXISTS {2}\r\nxy\r\n", 100, "where no message belongs"},
	{"+ go ahead\r\n", 100, "continuation"},
	{"c2 OK done\r\n", 100, "another command"},
	{"c1 MAYBE\r\n", 100, "status line"},
	{"* BYE shutting down\r\n", 100, "closed the connection"},
	{"* OK [UIDVALIDITY x]\r\n", 100, "UIDVALIDITY"},
	{"* OK [UIDVALIDITY 4294967296]\r\n", 100, "UIDVALIDITY"},
	/* Numbers: more than 32 bits, or more than 10 digits even when
	 * leading zeros keep them small. A sequence number's digits are
	 * read up to the 10th, and the rest of the line from there. */
	{"* 1 FETCH (UID 00000000004 BODY[] {2}\r\nxy)\r\nc1 OK\r\n", 100, "cannot read"},
	{"* 4294967296 FETCH (UID 4 BODY[] {2}\r\nxy)\r\n", 100,
	 "an untagged response canary cannot read"},
	{"* 99999999999 FETCH (UID 4 BODY[] {2}\r\nxy)\r\n", 100, "where no message belongs"},
	/* A literal's size of 19 digits is announced, however large; one
	 * of 20 digits is no announcement, even of 2 bytes. */
	{"* 1 FETCH (UID 4 BODY[] {9999999999999999999}\r\n", 100,
	 "a literal of 9999999999999999999 bytes, more than the 100"},
	{"* 1 FETCH (UID 4 BODY[] {00000000000000000002}\r\nxy)\r\nc1 OK\r\n", 100, "cannot read"},
	/* A quoted string not closed, or closed only by an escaped quote. */
	{"* 1 FETCH (UID 4 BODY[] \"xy)\r\nc1 OK\r\n", 100, "cannot read"},
	{"* 1 FETCH (UID 4 BODY[] \"xy\\\")\r\nc1 OK\r\n", 100, "cannot read"},
	/* A list not closed before the literal, a section not closed. */
	{"* 1 FETCH (UID 4 FLAGS (\\Seen BODY[] {2}\r\nxy)\r\nc1 OK\r\n", 100, "cannot read"},
	{"* 1 FETCH (UID 4 BODY[ {2}\r\nxy)\r\nc1 OK\r\n", 100, "cannot read"},
	/* A UID that is not a number: a list, a quoted string. */
	{"* 1 FETCH (UID (4) BODY[] {2}\r\nxy)\r\nc1 OK\r\n", 100, "cannot read"},
	{"* 1 FETCH (UID \"4\" BODY[] {2}\r\nxy)\r\nc1 OK\r\n", 100, "cannot read"},
	/* A carriage return inside a line is part of the word it is in. */
	{"* 1 FETCH (UID 4\r BODY[] {2}\r\nxy)\r\nc1 OK\r\n", 100, "cannot read"},
};

START_TEST(test_refused)
{
	const char *text = refused[_i].text;
	for (gsize piece = 1; piece <= strlen(text); piece++) {
		struct outcome o = read_all(text, strlen(text), piece, refused[_i].limit);
		ck_assert_msg(o.last == CANARY_FETCH_FAILED, "%s: step %d", text, o.last);
		ck_assert_msg(strstr(o.error->message, refused[_i].says) != NULL, "%s: %s", text,
			      o.error->message);
		ck_assert_str_eq(o.messages->str, "");
		outcome_clear(&o);
	}
}
END_TEST

/* Answers read whole, their tokens at the edges of what is taken. */
static const struct {
	const char *text;
	const char *messages;
} accepted[] = {
	/* Numbers of 10 digits, leading zeros and all; the largest UID. */
	{"* 0000000001 FETCH (UID 0000000004 BODY[] {2}\r\nxy)\r\nc1 OK\r\n", "4:xy|"},
	{"* 1 FETCH (UID 4294967295 BODY[] {2}\r\nxy)\r\nc1 OK\r\n", "4294967295:xy|"},
	/* A literal's size of 19 digits. */
	{"* 1 FETCH (UID 4 BODY[] {0000000000000000002}\r\nxy)\r\nc1 OK\r\n", "4:xy|"},
	/* Nested lists, with quoted parentheses and an escaped quote in them. */
	{"* 1 FETCH (UID 4 X-LIST ((a \")(\\\"\") b) BODY[] {2}\r\nxy)\r\nc1 OK\r\n", "4:xy|"},
	/* A section's spaces and parentheses are part of the item's name. */
	{"* 1 FETCH (UID 4 BODY[HEADER.FIELDS (FROM)] \"x\" BODY[] {2}\r\nxy)\r\nc1 OK\r\n",
	 "4:xy|"},
	/* Words in any case; a quoted message with its escapes taken out. */
	{"* 1 fetch (uid 4 body[] \"a\\\\b\\\"\")\r\nc1 ok\r\n", "4:a\\b\"|"},
};

START_TEST(test_accepted)
{
	const char *text = accepted[_i].text;
	for (gsize piece = 1; piece <= strlen(text); piece++) {
		struct outcome o = read_all(text, strlen(text), piece, 100);
		ck_assert_msg(o.last == CANARY_FETCH_DONE, "%s: step %d: %s", text, o.last,
			      o.error ? o.error->message : "");
		ck_assert_str_eq(o.messages->str, accepted[_i].messages);
		outcome_clear(&o);
	}
}
END_TEST

/* An endless line fails once it passes the limit, holding no more than
 * that; a long literal is no line. */
START_TEST(test_line_limit)
{
	gsize len = CANARY_FETCH_READER_MAX_LINE + 2;
	g_autofree char *endless = g_malloc(len);
	memset(endless, 'x', len);
	memcpy(endless, "* 1 FETCH (UID 4 ", 17);
	struct outcome o = read_all(endless, len, 16384, 100);
	ck_assert_int_eq(o.last, CANARY_FETCH_FAILED);
	ck_assert_ptr_nonnull(strstr(o.error->message, "a response line over"));
	outcome_clear(&o);

	gsize body = 3 * CANARY_FETCH_READER_MAX_LINE;
	GString *big = g_string_new(NULL);
	g_string_append_printf(big, "* 1 FETCH (UID 9 BODY[] {%zu}\r\n", body);
	for (gsize i = 0; i < body; i++)
		g_string_append_c(big, 'a');
	g_string_append(big, ")\r\nc1 OK\r\n");
	o = read_all(big->str, big->len, 5000, body);
	ck_assert_int_eq(o.last, CANARY_FETCH_DONE);
	ck_assert_uint_eq(o.messages->len, strlen("9:|") + body);
	outcome_clear(&o);
	g_string_free(big, TRUE);
}
END_TEST

/* After a failure, every later call fails alike. */
START_TEST(test_failure_stays)
{
	g_autoptr(canary_fetch_reader) r = canary_fetch_reader_new("c1", 10);
	gsize room = 0;
	guint8 *space = canary_fetch_reader_space(r, &room);
	const char *text = "+ more\r\n* 1 FETCH (UID 4 BODY[] {2}\r\nxy)\r\nc1 OK\r\n";
	memcpy(space, text, strlen(text));
	canary_fetch_reader_filled(r, strlen(text));
	for (int i = 0; i < 3; i++) {
		guint32 uid = 0;
		GBytes *message = NULL;
		g_autoptr(GError) error = NULL;
		ck_assert_int_eq(canary_fetch_reader_next(r, &uid, &message, &error),
				 CANARY_FETCH_FAILED);
		ck_assert_ptr_null(message);
		ck_assert_ptr_nonnull(strstr(error->message, "continuation"));
	}
}
END_TEST

static Suite *fetch_reader_suite(void)
{
	Suite *s = suite_create("fetch_reader");
	TCase *tc = tcase_create("answers");
	tcase_add_test(tc, test_many);
	tcase_add_test(tc, test_examine);
	tcase_add_test(tc, test_quoted_then_no);
	tcase_add_test(tc, test_cut);
	tcase_add_loop_test(tc, test_refused, 0, G_N_ELEMENTS(refused));
	tcase_add_loop_test(tc, test_accepted, 0, G_N_ELEMENTS(accepted));
	tcase_add_test(tc, test_line_limit);
	tcase_add_test(tc, test_failure_stays);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run_suite(fetch_reader_suite());
}
