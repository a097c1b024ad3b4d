/* check_text.c: the one escaper of text from outside (lib/text.c), table
 * driven: what each shape keeps, how each kind of control is shown, and
 * that the result never outgrows the size it was given. */
#include <string.h>

#include "text.h"
#include "testutil.h"

static const struct {
	const char *in;
	gssize len;
	const char *line;  /* CANARY_TEXT_LINE */
	const char *lines; /* CANARY_TEXT_LINES */
} cases[] = {
	{"plain text, caf\xc3\xa9 \xe4\xb8\xad", -1, "plain text, caf\xc3\xa9 \xe4\xb8\xad",
	 "plain text, caf\xc3\xa9 \xe4\xb8\xad"},
	{"a\r\nPseudonym: x\nb\tc", -1, "a\\r\\nPseudonym: x\\nb\\tc", "a\nPseudonym: x\nb\tc"},
	{"lone\rcr", -1, "lone\\rcr", "lone\\rcr"},
	{"\x1b[2J\x07\x7f", -1, "\\x1b[2J\\x07\\x7f", "\\x1b[2J\\x07\\x7f"},
	{"c1 \xc2\x85 \xc2\x9b"
	 "31m",
	 -1, "c1 \\x85 \\x9b31m", "c1 \\x85 \\x9b31m"},
	{"bidi \xe2\x80\xae \xe2\x81\xa6 \xe2\x80\x8f \xd8\x9c \xef\xbb\xbf", -1,
	 "bidi \\u202e \\u2066 \\u200f \\u061c \\ufeff",
	 "bidi \\u202e \\u2066 \\u200f \\u061c \\ufeff"},
	{"sep \xe2\x80\xa8 \xe2\x80\xa9", -1, "sep \\u2028 \\u2029", "sep \\u2028 \\u2029"},
	{"bad \xff\xc3 end", -1, "bad \xef\xbf\xbd\xef\xbf\xbd end",
	 "bad \xef\xbf\xbd\xef\xbf\xbd end"},
	{"nul\0after", 9, "nul\\x00after", "nul\\x00after"},
	{"back\\slash \\n", -1, "back\\slash \\n", "back\\slash \\n"},
	/* Joiners stay: Persian and emoji need them. */
	{"\xe2\x80\x8c\xe2\x80\x8d", -1, "\xe2\x80\x8c\xe2\x80\x8d", "\xe2\x80\x8c\xe2\x80\x8d"},
};

START_TEST(test_escape)
{
	char *line = canary_text_escape(cases[_i].in, cases[_i].len, CANARY_TEXT_LINE);
	char *lines = canary_text_escape(cases[_i].in, cases[_i].len, CANARY_TEXT_LINES);
	ck_assert_str_eq(line, cases[_i].line);
	ck_assert_str_eq(lines, cases[_i].lines);
	ck_assert(g_utf8_validate(line, -1, NULL));
	g_free(line);
	g_free(lines);
}
END_TEST

/* The worst case, one escape of 4 bytes per input byte, stays within the
 * 4 * LEN the buffer was sized for (a reallocation would leave a copy of
 * plaintext behind). */
START_TEST(test_worst_case_size)
{
	char in[256];
	for (int i = 0; i < 256; i++)
		in[i] = (char)(i < 0x20 ? i : 0x7f);
	char *out = canary_text_escape(in, sizeof(in), CANARY_TEXT_LINE);
	ck_assert_uint_le(strlen(out), 4 * sizeof(in));
	ck_assert_ptr_null(strchr(out, 0x1b));
	g_free(out);
	char *empty = canary_text_escape(NULL, -1, CANARY_TEXT_LINE);
	ck_assert_str_eq(empty, "");
	g_free(empty);
}
END_TEST

/* The fast fold gives what GLib's normalise-then-fold gives. */
static void check_fold(const char *text)
{
	g_autofree char *fast = canary_text_fold(text);
	g_autofree char *normal = g_utf8_normalize(text, -1, G_NORMALIZE_NFKC);
	g_autofree char *slow = normal != NULL ? g_utf8_casefold(normal, -1) : NULL;
	ck_assert_msg(g_strcmp0(fast, slow) == 0, "fold of '%s': '%s', expected '%s'", text,
		      fast ? fast : "(null)", slow ? slow : "(null)");
}

START_TEST(test_fold_agrees_with_glib)
{
	static const char *const texts[] = {
		"", "Plain ASCII, Mixed CASE 123!", "caf\xc3\xa9 CAF\xc3\x89",
		/* combining marks after ASCII letters compose with them */
		"Cafe\xcc\x81 Jose\xcc\x81 A\xcc\x8a\xcc\x81x", "e\xcc\x81", "\xcc\x81" "e",
		/* marks out of order, reordered by class */
		"a\xcc\x9b\xcc\x81\xcc\xa3" "b",
		/* compatibility forms: ligatures, full width, superscripts, Roman numerals */
		"\xef\xac\x81nance \xef\xbc\xa1\xef\xbd\x82" "c x\xc2\xb2 \xe2\x85\xa8",
		/* special foldings: sharp s, final sigma, Kelvin sign, dotted I */
		"STRA\xc3\x9f" "E \xce\xa3\xce\x99\xce\xa3\xce\xa5\xcf\x86\xce\xbf\xcf\x82 "
		"\xe2\x84\xaa \xc4\xb0stanbul",
		/* Hangul jamo compose; CJK, Thai, Arabic with marks, emoji with joiners */
		"\xe1\x84\x80\xe1\x85\xa1\xe1\x86\xa8 \xe4\xb8\xad\xe6\x96\x87 "
		"\xe0\xb8\x81\xe0\xb8\xb3 \xd9\x85\xd9\x8e "
		"\xf0\x9f\x91\xa9\xe2\x80\x8d\xf0\x9f\x92\xbb",
		"ends with a mark e\xcc\x81", "\xe2\x80\xae reversed", "tab\tnew\nline",
		/* folded without GLib, and with marks that compose with them */
		"\xd0\x9f\xd0\xa0\xd0\x98\xd0\x92\xd0\x95\xd0\xa2 \xd0\x80\xd0\x8f "
		"\xd0\x95\xcc\x88\xd0\xb5\xcc\x88 \xc3\x80\xc3\x9e\xc3\x97\xc3\x9f\xc3\xbf "
		"\xd8\xb9\xd9\x8e\xd8\xb1\xd9\x8e\xd8\xa8\xd9\x90\xd9\x8a \xd8\xa7\xd9\x93 "
		"\xe4\xb8\xad\xe6\x96\x87\xef\xa4\x80",
	};
	for (gsize i = 0; i < G_N_ELEMENTS(texts); i++)
		check_fold(texts[i]);
	/* Every character of the first planes, alone, after ASCII, before it,
	 * and after each kind of character folded without GLib: Latin-1,
	 * Cyrillic (capital and small), Arabic and CJK. */
	for (gunichar c = 0x80; c < 0x30000; c++) {
		if (!g_unichar_validate(c))
			continue;
		char u[8] = {0};
		g_unichar_to_utf8(c, u);
		g_autofree char *mixed = g_strdup_printf("A%sZ%se%s\xc3\x89%s\xd0\x95%s\xd0\xb5%s"
							 "\xd8\xb9%s\xe4\xb8\xad%s",
							 u, u, u, u, u, u, u, u);
		check_fold(mixed);
	}
}
END_TEST

/* The classes kept a page at a time say what GLib says of every
 * character, in every plane; asked from two threads at once, too. */
static gpointer assert_classes(gpointer data)
{
	(void)data;
	for (gunichar c = 0; c <= 0x10ffff; c += c < 0x30000 ? 1 : 97) {
		gboolean word = g_unichar_isalnum(c) || g_unichar_ismark(c);
		GUnicodeScript script = g_unichar_get_script(c);
		gboolean unspaced =
			c >= 0x80 &&
			(script == G_UNICODE_SCRIPT_HAN || script == G_UNICODE_SCRIPT_HIRAGANA ||
			 script == G_UNICODE_SCRIPT_KATAKANA || script == G_UNICODE_SCRIPT_HANGUL ||
			 script == G_UNICODE_SCRIPT_BOPOMOFO || script == G_UNICODE_SCRIPT_THAI ||
			 script == G_UNICODE_SCRIPT_LAO || script == G_UNICODE_SCRIPT_KHMER ||
			 script == G_UNICODE_SCRIPT_MYANMAR);
		guint classes = (word ? CANARY_TEXT_WORD : 0) | (unspaced ? CANARY_TEXT_UNSPACED : 0);
		if (canary_text_is_word(c) != word || canary_text_is_unspaced(c) != unspaced ||
		    canary_text_classes(c) != classes)
			return GUINT_TO_POINTER(c + 1);
	}
	return NULL;
}

START_TEST(test_classes_agree_with_glib)
{
	GThread *other = g_thread_new("classes", assert_classes, NULL);
	gunichar failed = GPOINTER_TO_UINT(assert_classes(NULL));
	gunichar failed_other = GPOINTER_TO_UINT(g_thread_join(other));
	ck_assert_msg(failed == 0, "U+%04X", failed - 1);
	ck_assert_msg(failed_other == 0, "U+%04X", failed_other - 1);
	ck_assert(canary_text_is_word('a') && canary_text_is_word(0x301) &&
		  canary_text_is_word(0x4e2d) && !canary_text_is_word(' ') &&
		  !canary_text_is_word(0x3002));
	ck_assert(canary_text_is_unspaced(0x4e2d) && canary_text_is_unspaced(0xe01) &&
		  !canary_text_is_unspaced('a') && !canary_text_is_unspaced(0x430));
}
END_TEST

/* GLib normalises some invalid sequences (an overlong form) although it
 * asks for valid UTF-8; the fold refuses every one (found by fuzz_text). */
START_TEST(test_fold_refuses_invalid_utf8)
{
	static const char *const texts[] = {
		"bad \xff UTF-8", "Charg\xc1\xa9" "e", "surrogate \xed\xa0\x80", "cut \xc3",
		"\xf4\x90\x80\x80 beyond U+10FFFF",
	};
	for (gsize i = 0; i < G_N_ELEMENTS(texts); i++)
		ck_assert_ptr_null(canary_text_fold(texts[i]));
}
END_TEST

static Suite *text_suite(void)
{
	Suite *s = suite_create("text");
	TCase *tc = tcase_create("escape");
	tcase_add_loop_test(tc, test_escape, 0, G_N_ELEMENTS(cases));
	tcase_add_test(tc, test_worst_case_size);
	tcase_add_test(tc, test_fold_agrees_with_glib);
	tcase_add_test(tc, test_fold_refuses_invalid_utf8);
	tcase_add_test(tc, test_classes_agree_with_glib);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run_suite(text_suite());
}
