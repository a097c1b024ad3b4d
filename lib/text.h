/* text.h: facts about Unicode text that scrubbing (identity) and routing
 * (route) must agree on, and the one escaper that makes text from outside
 * safe to show on a terminal or in JSON. */
#ifndef CANARY_TEXT_H
#define CANARY_TEXT_H

#include <glib.h>

/* What scrubbing and routing ask of a character, as bits. */
enum canary_text_class {
	/* Words are made of letters, digits and the marks that combine with
	 * them (g_unichar_isalnum() or g_unichar_ismark()). */
	CANARY_TEXT_WORD = 1 << 0,
	/* Scripts written without spaces between words (Chinese, Japanese,
	 * Korean Hangul, Thai, Lao, Khmer, Myanmar): there a name may start
	 * or end at any character. No ASCII character is of one. */
	CANARY_TEXT_UNSPACED = 1 << 1,
};

/* canary_text_classes() of C, which is not ASCII: a table look-up. */
guint canary_text_classes_beyond_ascii(gunichar c);

/* The classes of C. The scrubber and the router ask them of nearly every
 * character; ASCII, most text, is answered here without a call. */
static inline guint canary_text_classes(gunichar c)
{
	if (c < 0x80)
		return g_ascii_isalnum((char)c) ? CANARY_TEXT_WORD : 0;
	return canary_text_classes_beyond_ascii(c);
}

static inline gboolean canary_text_is_word(gunichar c)
{
	return (canary_text_classes(c) & CANARY_TEXT_WORD) != 0;
}

static inline gboolean canary_text_is_unspaced(gunichar c)
{
	return (canary_text_classes(c) & CANARY_TEXT_UNSPACED) != 0;
}

/* The character at *P, which must be valid UTF-8 (validated before),
 * moving *P past it: decoded inline, not by a call for each character as
 * g_utf8_get_char() is. */
static inline gunichar canary_text_next_char(const char **p)
{
	const guchar *s = (const guchar *)*p;
	if (s[0] < 0x80) {
		*p += 1;
		return s[0];
	}
	if (s[0] < 0xe0) {
		*p += 2;
		return ((gunichar)(s[0] & 0x1f) << 6) | (s[1] & 0x3f);
	}
	if (s[0] < 0xf0) {
		*p += 3;
		return ((gunichar)(s[0] & 0x0f) << 12) | ((gunichar)(s[1] & 0x3f) << 6) |
		       (s[2] & 0x3f);
	}
	*p += 4;
	return ((gunichar)(s[0] & 0x07) << 18) | ((gunichar)(s[1] & 0x3f) << 12) |
	       ((gunichar)(s[2] & 0x3f) << 6) | (s[3] & 0x3f);
}

/* TEXT normalised (NFKC) and case-folded, as
 * g_utf8_casefold(g_utf8_normalize(TEXT, -1, G_NORMALIZE_NFKC), -1) gives
 * it, but several times faster on text that is mostly ASCII. New string,
 * or NULL when TEXT is not valid UTF-8. */
char *canary_text_fold(const char *text);

/* TRUE for characters that can move the cursor, start a terminal escape,
 * hide, reorder or break text where it is shown: C0 controls (tab and
 * newline included), DEL, C1 controls, bidi embeddings, overrides,
 * isolates and marks (U+202A-202E, U+2066-2069, U+200E, U+200F, U+061C),
 * the line and paragraph separators U+2028 and U+2029, and U+FEFF. */
gboolean canary_text_is_control(gunichar c);

/* How much layout escaped text keeps. */
enum canary_text_shape {
	CANARY_TEXT_LINE,  /* one line: newlines and tabs escaped too */
	CANARY_TEXT_LINES, /* newlines (LF, CRLF) and tabs kept */
};

/* Returns a new copy of TEXT (LEN bytes, or up to its NUL when LEN is -1)
 * in which every canary_text_is_control() character is shown escaped:
 * "\n", "\r", "\t", "\x1b" (other C0, DEL, C1) or "\u202e"; invalid UTF-8
 * becomes U+FFFD. Backslashes are left as they are. The result is valid
 * UTF-8 and never longer than 4 * LEN bytes (so it is never reallocated:
 * wipe it with canary_wipe_free() when TEXT was plaintext). NULL gives "". */
char *canary_text_escape(const char *text, gssize len, enum canary_text_shape shape);

#endif
