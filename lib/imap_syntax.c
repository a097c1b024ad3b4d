/* imap_syntax.c: see imap_syntax.h. RFC 3501 section 9 (quoted, literal). */
#include "imap_syntax.h"

gboolean canary_imap_syntax_read_quoted(struct canary_imap_cursor *c, GString *text)
{
	c->p++; /* the opening quote */
	while (c->p < c->end && *c->p != '"') {
		if (*c->p == '\\' && c->p + 1 < c->end)
			c->p++;
		if (text != NULL)
			g_string_append_c(text, *c->p);
		c->p++;
	}
	if (!canary_imap_syntax_at(c, '"'))
		return FALSE;
	c->p++;
	return TRUE;
}

gboolean canary_imap_syntax_skip_list(struct canary_imap_cursor *c)
{
	int depth = 0;
	do {
		if (c->p >= c->end || c->p == c->literal)
			return FALSE;
		if (*c->p == '"') {
			if (!canary_imap_syntax_read_quoted(c, NULL))
				return FALSE;
			continue;
		}
		if (*c->p == '(')
			depth++;
		else if (*c->p == ')')
			depth--;
		c->p++;
	} while (depth > 0);
	return TRUE;
}

const char *canary_imap_syntax_literal_at_end(const char *start, const char *end, gsize max_digits,
					      guint64 max, guint64 *size_r)
{
	if (end - start < 3 || end[-1] != '}')
		return NULL;
	const char *open = end - 2;
	while (open > start && g_ascii_isdigit(*open))
		open--;
	if (*open != '{' || open == end - 2)
		return NULL;
	/* Only digits stand between the braces: a number read whole ends at '}'. */
	struct canary_imap_cursor size = {.p = open + 1, .end = end - 1};
	if (!canary_imap_syntax_read_number(&size, max_digits, max, size_r))
		return NULL;
	return open;
}
