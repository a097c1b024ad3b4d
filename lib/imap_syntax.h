/* imap_syntax.h: the syntax of IMAP server responses (RFC 3501 section 9,
 * RFC 9051 section 9) as both of canary's parsers read it: imap.c (STATUS,
 * SEARCH, FETCH sizes, CAPABILITY, the check of a fetch's answer) and
 * fetch_reader.c (many messages per FETCH, on the ingestion's hot path).
 * A cursor over one response line and the readers of its tokens; each
 * rule once, with a parameter or a second name where the two parsers take
 * a rule differently. The small readers are inline: the FETCH reader
 * calls them for every token. No I/O, and no allocation but the caller's
 * GString a quoted string's characters may go to. */
#ifndef CANARY_IMAP_SYNTAX_H
#define CANARY_IMAP_SYNTAX_H

#include <glib.h>
#include <string.h>

/* A cursor over a response line [p, end): the text need not end in a NUL
 * and may hold NULs. LITERAL is where the response's one literal stands
 * as its "{N}" announcement (the FETCH reader keeps the literal's bytes
 * apart), or NULL: a list is never skipped past it. */
struct canary_imap_cursor {
	const char *p, *end;
	const char *literal;
};

/* Moves past the "* " that opens an untagged response; FALSE, the cursor
 * unmoved, if it is not there. */
static inline gboolean canary_imap_syntax_skip_untagged(struct canary_imap_cursor *c)
{
	if (c->end - c->p < 2 || c->p[0] != '*' || c->p[1] != ' ')
		return FALSE;
	c->p += 2;
	return TRUE;
}

/* Is the cursor at CH? */
static inline gboolean canary_imap_syntax_at(const struct canary_imap_cursor *c, char ch)
{
	return c->p < c->end && *c->p == ch;
}

static inline void canary_imap_syntax_skip_spaces(struct canary_imap_cursor *c)
{
	while (canary_imap_syntax_at(c, ' '))
		c->p++;
}

/* Moves past the next CH; FALSE, the cursor unmoved, if there is none. */
static inline gboolean canary_imap_syntax_skip_past(struct canary_imap_cursor *c, char ch)
{
	const char *found = memchr(c->p, ch, (gsize)(c->end - c->p));
	if (found == NULL)
		return FALSE;
	c->p = found + 1;
	return TRUE;
}

/* Reads a number: a run of at most MAX_DIGITS digits worth at most MAX.
 * FALSE if there is no digit, the run is longer or the value larger.
 * Either way the cursor moves past the digits it read: the whole run, or
 * its first MAX_DIGITS when it is longer. *VALUE_R is set only on
 * success.
 *
 * RFC 3501's number is 32 bits; the FETCH reader also refuses more than
 * 10 digits (canary_imap_syntax_read_u32()), imap.c takes any number of
 * leading zeros (MAX_DIGITS G_MAXSIZE) and sizes up to G_MAXINT64. */
static inline gboolean canary_imap_syntax_read_number(struct canary_imap_cursor *c,
						      gsize max_digits, guint64 max,
						      guint64 *value_r)
{
	const char *start = c->p;
	guint64 v = 0;
	gboolean over = FALSE;
	while (c->p < c->end && g_ascii_isdigit(*c->p) && (gsize)(c->p - start) < max_digits) {
		guint digit = (guint)(*c->p++ - '0');
		if (v > max / 10 || (v == max / 10 && digit > max % 10))
			over = TRUE;
		else
			v = v * 10 + digit;
	}
	if (c->p == start || over || (c->p < c->end && g_ascii_isdigit(*c->p)))
		return FALSE;
	*value_r = v;
	return TRUE;
}

/* Reads a number of at most 10 digits and 32 bits (a UID, UIDVALIDITY, a
 * sequence number), as canary_imap_syntax_read_number() does. */
static inline gboolean canary_imap_syntax_read_u32(struct canary_imap_cursor *c, guint32 *value_r)
{
	guint64 v = 0;
	if (!canary_imap_syntax_read_number(c, 10, G_MAXUINT32, &v))
		return FALSE;
	*value_r = (guint32)v;
	return TRUE;
}

/* Does CH end an atom? A space or a parenthesis: of RFC 3501's
 * atom-specials, the ones that part the tokens of canary's answers. */
static inline gboolean canary_imap_syntax_ends_atom(char ch)
{
	return ch == ' ' || ch == '(' || ch == ')';
}

/* Reads an atom: up to a space, a parenthesis, CR, LF or the end. Its
 * bytes in *ATOM_R (not copied) and *LEN_R; FALSE if it is empty. */
static inline gboolean canary_imap_syntax_read_atom(struct canary_imap_cursor *c,
						    const char **atom_r, gsize *len_r)
{
	const char *start = c->p;
	while (c->p < c->end && !canary_imap_syntax_ends_atom(*c->p) && *c->p != '\r' &&
	       *c->p != '\n')
		c->p++;
	*atom_r = start;
	*len_r = (gsize)(c->p - start);
	return c->p > start;
}

/* Reads an atom with its sections, as the FETCH reader takes a tag, a
 * status, an item's name or value: a section "[...]" is taken whole, its
 * spaces and parentheses and all ("BODY[HEADER.FIELDS (A B)]<0>" is one
 * word), and unlike canary_imap_syntax_read_atom() CR and LF do not end
 * it (the reader's lines have none left at their ends). FALSE if it is
 * empty or a '[' is not closed. */
static inline gboolean canary_imap_syntax_read_section_atom(struct canary_imap_cursor *c,
							    const char **atom_r, gsize *len_r)
{
	const char *start = c->p;
	while (c->p < c->end && !canary_imap_syntax_ends_atom(*c->p)) {
		if (*c->p != '[')
			c->p++;
		else if (!canary_imap_syntax_skip_past(c, ']'))
			return FALSE;
	}
	*atom_r = start;
	*len_r = (gsize)(c->p - start);
	return c->p > start;
}

/* Is the word of LEN bytes at WORD the atom EXPECTED, in any case? */
static inline gboolean canary_imap_syntax_word_is(const char *word, gsize len, const char *expected)
{
	return len == strlen(expected) && g_ascii_strncasecmp(word, expected, len) == 0;
}

/* Reads a quoted string, the cursor at its opening quote: its characters,
 * each "\x" taken as "x", are appended to TEXT unless it is NULL. FALSE
 * if the string is not closed (the cursor then at the end). */
gboolean canary_imap_syntax_read_quoted(struct canary_imap_cursor *c, GString *text);

/* Skips a parenthesized list, the cursor at its '(': nested lists and
 * quoted strings and all. FALSE if it is not closed before the end or
 * the response's literal. */
gboolean canary_imap_syntax_skip_list(struct canary_imap_cursor *c);

/* Where the line [START, END) ends in a literal's announcement "{N}": a
 * pointer to its '{', N in *SIZE_R. NULL if it does not end so, or N has
 * more than MAX_DIGITS digits or is over MAX (imap.c: any digits up to
 * G_MAXINT64; the FETCH reader: 19 digits, any 64-bit size they write). */
const char *canary_imap_syntax_literal_at_end(const char *start, const char *end, gsize max_digits,
					      guint64 max, guint64 *size_r);

#endif
