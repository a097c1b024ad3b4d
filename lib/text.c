/* text.c: see text.h. */
#include "text.h"

#include <string.h>

/* Appends the fold of TEXT[0..LEN), valid UTF-8, to OUT the slow way. */
static void fold_slowly(GString *out, const char *text, gsize len)
{
	g_autofree char *normal = g_utf8_normalize(text, (gssize)len, G_NORMALIZE_NFKC);
	g_autofree char *folded = g_utf8_casefold(normal, -1);
	g_string_append(out, folded);
}

/* The fold of C when it needs no tables: C is a starter that NFKC leaves
 * as it is, that folds to one code point, and that composes with nothing
 * before it (it is never the second of a canonical pair). ASCII, the
 * Latin-1 letters, basic Cyrillic, the Arabic letters and the CJK unified
 * ideographs: most of the text of the mail canary reads. 0 for the rest. */
static inline gunichar fold_simple(gunichar c)
{
	if (c < 0x80)
		return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
	if ((c >= 0xc0 && c <= 0xde && c != 0xd7) || (c >= 0x410 && c <= 0x42f))
		return c + 0x20; /* À-Þ but ×, А-Я */
	if (c >= 0x400 && c <= 0x40f)
		return c + 0x50; /* Ѐ-Џ */
	if ((c >= 0xe0 && c <= 0xff) || (c >= 0x430 && c <= 0x45f) ||
	    (c >= 0x621 && c <= 0x63a) || (c >= 0x641 && c <= 0x64a) ||
	    (c >= 0x4e00 && c <= 0x9fff))
		return c;
	return 0;
}

/* Characters fold_simple() knows are folded straight into the output, each
 * as long in UTF-8 as the character it folds. The others go through GLib
 * in runs, each with the simple character just before it, which a
 * combining mark may compose with (e + U+0301, е + U+0308). Cutting before
 * a simple character changes nothing: it is a starter (ordering marks
 * stops at it), and it composes with nothing before it. */
char *canary_text_fold(const char *text)
{
	gsize len = strlen(text);
	if (!g_utf8_validate_len(text, len, NULL))
		return NULL;
	GString *out = g_string_sized_new(len + 1);
	const char *p = text, *end = text + len;
	while (p < end) {
		/* Room for the rest of TEXT as it is: simple characters keep
		 * their length. */
		gsize at = out->len;
		g_string_set_size(out, at + (gsize)(end - p));
		char *o = out->str + at;
		const char *last = NULL; /* the last simple character */
		while (p < end) {
			const char *here = p;
			gunichar folded = fold_simple(canary_text_next_char(&p));
			if (folded == 0) {
				p = here;
				break;
			}
			/* Simple folds are below U+10000 (fold_simple()). */
			if (folded < 0x80) {
				*o++ = (char)folded;
			} else if (folded < 0x800) {
				*o++ = (char)(0xc0 | (folded >> 6));
				*o++ = (char)(0x80 | (folded & 0x3f));
			} else {
				*o++ = (char)(0xe0 | (folded >> 12));
				*o++ = (char)(0x80 | ((folded >> 6) & 0x3f));
				*o++ = (char)(0x80 | (folded & 0x3f));
			}
			last = here;
		}
		g_string_truncate(out, (gsize)(o - out->str));
		if (p == end)
			break;
		const char *slow = p;
		if (last != NULL) { /* taken back, to go through GLib too */
			slow = last;
			g_string_truncate(out, out->len - (gsize)(p - last));
		}
		while (p < end) {
			const char *here = p;
			if (fold_simple(canary_text_next_char(&p)) != 0) {
				p = here;
				break;
			}
		}
		fold_slowly(out, slow, (gsize)(p - slow));
	}
	return g_string_free(out, FALSE);
}

static gboolean script_is_unspaced(gunichar c)
{
	switch (g_unichar_get_script(c)) {
	case G_UNICODE_SCRIPT_HAN:
	case G_UNICODE_SCRIPT_HIRAGANA:
	case G_UNICODE_SCRIPT_KATAKANA:
	case G_UNICODE_SCRIPT_HANGUL:
	case G_UNICODE_SCRIPT_BOPOMOFO:
	case G_UNICODE_SCRIPT_THAI:
	case G_UNICODE_SCRIPT_LAO:
	case G_UNICODE_SCRIPT_KHMER:
	case G_UNICODE_SCRIPT_MYANMAR:
		return TRUE;
	default:
		return FALSE;
	}
}

/* GLib's answers for C (for ASCII the same as text.h's own). */
static guint8 classes_asked(gunichar c)
{
	guint8 classes = 0;
	if (g_unichar_isalnum(c) || g_unichar_ismark(c))
		classes |= CANARY_TEXT_WORD;
	if (script_is_unspaced(c))
		classes |= CANARY_TEXT_UNSPACED;
	return classes;
}

/* The classes of the Basic Multilingual Plane's characters, a page of 256
 * at a time, each page asked of GLib when first needed and kept for the
 * process (facts of Unicode, not of any text): scrubbing and routing ask
 * them of nearly every character, and GLib's tables take several calls. */
#define CLASS_PAGES 256
static guint8 *class_pages[CLASS_PAGES];

/* Makes the page of C, or takes the one another thread made first. */
static G_GNUC_NO_INLINE const guint8 *class_page(gunichar c)
{
	guint8 *made = g_malloc(256);
	for (gunichar i = 0; i < 256; i++)
		made[i] = classes_asked(c / 256 * 256 + i);
	if (g_atomic_pointer_compare_and_exchange(&class_pages[c / 256], NULL, made))
		return made;
	g_free(made);
	return g_atomic_pointer_get(&class_pages[c / 256]);
}

guint canary_text_classes_beyond_ascii(gunichar c)
{
	if (c >= CLASS_PAGES * 256)
		return classes_asked(c);
	const guint8 *page = g_atomic_pointer_get(&class_pages[c / 256]);
	if (G_UNLIKELY(page == NULL))
		page = class_page(c);
	return page[c % 256];
}

gboolean canary_text_is_control(gunichar c)
{
	if (c < 0x20 || (c >= 0x7f && c < 0xa0))
		return TRUE;
	return (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069) || c == 0x200e ||
	       c == 0x200f || c == 0x061c || c == 0x2028 || c == 0x2029 || c == 0xfeff;
}

/* Appends control character C to OUT as a visible escape. */
static void append_escaped(GString *out, gunichar c)
{
	switch (c) {
	case '\n':
		g_string_append(out, "\\n");
		break;
	case '\r':
		g_string_append(out, "\\r");
		break;
	case '\t':
		g_string_append(out, "\\t");
		break;
	default:
		if (c < 0x100)
			g_string_append_printf(out, "\\x%02x", c);
		else
			g_string_append_printf(out, "\\u%04x", c);
	}
}

char *canary_text_escape(const char *text, gssize len, enum canary_text_shape shape)
{
	if (text == NULL)
		return g_strdup("");
	gsize n = len < 0 ? strlen(text) : (gsize)len;
	/* The longest escape, "\x1b", is 4 bytes for 1: sized once, so no
	 * copy of plaintext is left behind by a reallocation. */
	GString *out = g_string_sized_new(4 * n + 1);
	const char *p = text, *end = text + n;
	while (p < end) {
		gunichar c = *p == '\0' ? 0 : g_utf8_get_char_validated(p, end - p);
		if (c == (gunichar)-1 || c == (gunichar)-2) {
			g_string_append(out, "\xef\xbf\xbd"); /* U+FFFD */
			p++;
			continue;
		}
		const char *next = g_utf8_next_char(p);
		gboolean keep =
			shape == CANARY_TEXT_LINES &&
			(c == '\n' || c == '\t' || (c == '\r' && next < end && *next == '\n'));
		if (c == '\r' && keep) {
			p = next; /* CRLF: the line break only */
			continue;
		}
		if (keep || !canary_text_is_control(c))
			g_string_append_len(out, p, next - p);
		else
			append_escaped(out, c);
		p = next;
	}
	return g_string_free(out, FALSE);
}
