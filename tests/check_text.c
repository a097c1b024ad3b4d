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

static Suite *text_suite(void)
{
	Suite *s = suite_create("text");
	TCase *tc = tcase_create("escape");
	tcase_add_loop_test(tc, test_escape, 0, G_N_ELEMENTS(cases));
	tcase_add_test(tc, test_worst_case_size);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run_suite(text_suite());
}
