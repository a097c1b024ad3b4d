/* fetch_reader.c: see fetch_reader.h. A response is read line by line into
 * one text, each literal standing in it as its "{N}" announcement; the
 * bytes of the one literal a response may carry go to a buffer of their
 * own. Once the response's last line is in, the text is parsed whole. */
#include "fetch_reader.h"

#include <string.h>

#include "imap.h"
#include "imap_syntax.h"
#include "wipe.h"

/* Bytes asked of each receive while reading lines. */
#define RECV_CHUNK (16 * 1024)

struct canary_fetch_reader {
	char *tag;
	guint64 max_literal;

	/* Received bytes; [start, end) are not read yet. */
	guint8 *buf;
	gsize cap, start, end;

	GString *response;  /* the response being read, literals as "{N}" */
	gssize literal_at;  /* where its literal's "{N}" starts in it, or -1 */
	guint8 *literal;    /* that literal's bytes, while they arrive */
	gsize literal_len, literal_got;
	GBytes *message;    /* that literal, complete */

	guint32 uidvalidity;
	GError *failed;
};

static void wiped_free(gpointer data, gsize len)
{
	canary_wipe(data, len);
	g_free(data);
}

static void literal_free(gpointer data)
{
	/* The length is not passed to a GDestroyNotify: it sits before the data. */
	gsize *head = (gsize *)data - 1;
	wiped_free(head, *head + sizeof *head);
}

/* LEN bytes for a literal, wiped when freed as a GBytes (see take_literal()). */
static guint8 *literal_new(gsize len)
{
	gsize *head = g_malloc(sizeof *head + MAX(len, 1));
	*head = len;
	return (guint8 *)(head + 1);
}

static GBytes *take_literal(guint8 *literal, gsize len)
{
	return g_bytes_new_with_free_func(literal, len, literal_free, literal);
}

struct canary_fetch_reader *canary_fetch_reader_new(const char *tag, guint64 max_literal)
{
	struct canary_fetch_reader *r = g_new0(struct canary_fetch_reader, 1);
	r->tag = g_strdup(tag);
	r->max_literal = max_literal;
	r->cap = RECV_CHUNK;
	r->buf = g_malloc(r->cap);
	r->response = g_string_new(NULL);
	r->literal_at = -1;
	return r;
}

static void forget_response(struct canary_fetch_reader *r)
{
	canary_wipe(r->response->str, r->response->len);
	g_string_truncate(r->response, 0);
	r->literal_at = -1;
	g_clear_pointer(&r->message, g_bytes_unref);
}

void canary_fetch_reader_free(struct canary_fetch_reader *r)
{
	if (r == NULL)
		return;
	forget_response(r);
	g_string_free(r->response, TRUE);
	if (r->literal != NULL)
		literal_free(r->literal);
	wiped_free(r->buf, r->cap);
	g_clear_error(&r->failed);
	g_free(r->tag);
	g_free(r);
}

guint8 *canary_fetch_reader_space(struct canary_fetch_reader *r, gsize *len_r)
{
	if (r->literal != NULL && r->literal_got < r->literal_len) {
		*len_r = r->literal_len - r->literal_got;
		return r->literal + r->literal_got;
	}
	if (r->end == r->cap && r->start > 0) {
		memmove(r->buf, r->buf + r->start, r->end - r->start);
		r->end -= r->start;
		r->start = 0;
	}
	if (r->end == r->cap) {
		/* A line longer than the buffer: grow it, never past what a
		 * line may take (next() refuses a longer one first). */
		gsize cap = r->cap * 2;
		guint8 *buf = g_malloc(cap);
		memcpy(buf, r->buf, r->end);
		wiped_free(r->buf, r->cap);
		r->buf = buf;
		r->cap = cap;
	}
	*len_r = r->cap - r->end;
	return r->buf + r->end;
}

void canary_fetch_reader_filled(struct canary_fetch_reader *r, gsize len)
{
	if (r->literal != NULL && r->literal_got < r->literal_len)
		r->literal_got += MIN(len, r->literal_len - r->literal_got);
	else
		r->end += MIN(len, r->cap - r->end);
}

guint32 canary_fetch_reader_uidvalidity(const struct canary_fetch_reader *r)
{
	return r->uidvalidity;
}

static enum canary_fetch_step fail(struct canary_fetch_reader *r, GError **error, int code,
				   const char *format, ...) G_GNUC_PRINTF(4, 5);

static enum canary_fetch_step fail(struct canary_fetch_reader *r, GError **error, int code,
				   const char *format, ...)
{
	if (r->failed == NULL) {
		va_list args;
		va_start(args, format);
		g_autofree char *why = g_strdup_vprintf(format, args);
		va_end(args);
		r->failed = g_error_new(CANARY_IMAP_ERROR, code, "%s", why);
	}
	g_propagate_error(error, g_error_copy(r->failed));
	return CANARY_FETCH_FAILED;
}

#define PROTOCOL CANARY_IMAP_ERROR_PROTOCOL

/* --- Parsing one whole response ------------------------------------------- */

/* One FETCH item's value. */
struct value {
	gboolean literal;  /* the response's literal */
	GString *quoted;   /* a quoted string's characters, or NULL */
	gboolean nil;
	const char *word;  /* an atom or number, or NULL */
	gsize word_len;
};

static void value_clear(struct value *v)
{
	if (v->quoted != NULL) {
		canary_wipe(v->quoted->str, v->quoted->len);
		g_string_free(v->quoted, TRUE);
		v->quoted = NULL;
	}
}

static gboolean read_value(struct canary_imap_cursor *c, struct value *v)
{
	*v = (struct value){0};
	if (c->p == c->literal) {
		canary_imap_syntax_skip_past(c, '}'); /* the "{N}" */
		v->literal = TRUE;
		return TRUE;
	}
	if (canary_imap_syntax_at(c, '('))
		return canary_imap_syntax_skip_list(c);
	if (canary_imap_syntax_at(c, '"')) {
		v->quoted = g_string_new(NULL);
		if (canary_imap_syntax_read_quoted(c, v->quoted))
			return TRUE;
		value_clear(v); /* not closed: the caller clears no value it did not get */
		return FALSE;
	}
	const char *before = c->p;
	if (!canary_imap_syntax_read_section_atom(c, &v->word, &v->word_len))
		return FALSE;
	/* An atom that runs over the literal's place hides it. */
	if (c->literal != NULL && before < c->literal && c->p > c->literal)
		return FALSE;
	v->nil = canary_imap_syntax_word_is(v->word, v->word_len, "NIL");
	return TRUE;
}

/* "(UID 7 BODY[] {N})", after "* 3 FETCH ". */
static enum canary_fetch_step fetch_response(struct canary_fetch_reader *r,
					     struct canary_imap_cursor *c, guint32 *uid_r,
					     GBytes **message_r, GError **error)
{
	if (!canary_imap_syntax_at(c, '('))
		return fail(r, error, PROTOCOL, "a FETCH response without its list");
	c->p++;
	guint32 uid = 0;
	gboolean has_uid = FALSE;
	GBytes *body = NULL;
	gboolean ok = TRUE, misplaced = FALSE;
	while (ok && !misplaced && !canary_imap_syntax_at(c, ')')) {
		if (canary_imap_syntax_at(c, ' '))
			c->p++;
		const char *name = NULL;
		gsize name_len = 0;
		struct value v;
		ok = canary_imap_syntax_read_section_atom(c, &name, &name_len) &&
		     canary_imap_syntax_at(c, ' ') && (c->p++, read_value(c, &v));
		if (!ok)
			break;
		if (canary_imap_syntax_word_is(name, name_len, "UID")) {
			ok = v.word != NULL; /* not a list, a string or the literal */
			if (ok) {
				struct canary_imap_cursor number = {.p = v.word,
								    .end = v.word + v.word_len};
				ok = canary_imap_syntax_read_u32(&number, &uid) &&
				     number.p == number.end && uid > 0;
			}
			has_uid = ok;
		} else if (canary_imap_syntax_word_is(name, name_len, "BODY[]") && body == NULL) {
			if (v.literal)
				body = g_bytes_ref(r->message);
			else if (v.quoted != NULL)
				body = g_bytes_new(v.quoted->str, v.quoted->len);
			else
				ok = FALSE;
		} else if (v.literal) {
			misplaced = TRUE;
		}
		value_clear(&v);
	}
	if (misplaced) {
		g_clear_pointer(&body, g_bytes_unref);
		return fail(r, error, PROTOCOL, "a literal where no message belongs");
	}
	if (!ok || !canary_imap_syntax_at(c, ')') || c->p + 1 != c->end) {
		g_clear_pointer(&body, g_bytes_unref);
		return fail(r, error, PROTOCOL, "a FETCH response canary cannot read");
	}
	if (body == NULL && c->literal != NULL)
		return fail(r, error, PROTOCOL, "a literal where no message belongs");
	if (body == NULL)
		return CANARY_FETCH_MORE; /* flags changed meanwhile: not an answer */
	if (!has_uid) {
		g_bytes_unref(body);
		return fail(r, error, PROTOCOL, "a message without its UID");
	}
	*uid_r = uid;
	*message_r = body;
	return CANARY_FETCH_MESSAGE;
}

/* "* ..." lines: a FETCH, or news to pass over. */
static enum canary_fetch_step untagged(struct canary_fetch_reader *r, struct canary_imap_cursor *c,
				       guint32 *uid_r, GBytes **message_r, GError **error)
{
	guint32 number = 0;
	gboolean numbered = canary_imap_syntax_read_u32(c, &number) &&
			    canary_imap_syntax_at(c, ' ') && (c->p++, TRUE);
	const char *word = NULL;
	gsize len = 0;
	if (!canary_imap_syntax_read_section_atom(c, &word, &len))
		return fail(r, error, PROTOCOL, "an untagged response canary cannot read");
	if (canary_imap_syntax_at(c, ' '))
		c->p++;
	if (numbered && canary_imap_syntax_word_is(word, len, "FETCH"))
		return fetch_response(r, c, uid_r, message_r, error);
	if (c->literal != NULL)
		return fail(r, error, PROTOCOL, "a literal where no message belongs");
	if (!numbered && canary_imap_syntax_word_is(word, len, "BYE"))
		return fail(r, error, CANARY_IMAP_ERROR_TEMPORARY, "the server closed the connection");
	const char *code = "[UIDVALIDITY ";
	if (!numbered && canary_imap_syntax_word_is(word, len, "OK") &&
	    c->end - c->p > (gssize)strlen(code) &&
	    g_ascii_strncasecmp(c->p, code, strlen(code)) == 0) {
		struct canary_imap_cursor v = {.p = c->p + strlen(code), .end = c->end};
		if (!canary_imap_syntax_read_u32(&v, &r->uidvalidity) ||
		    !canary_imap_syntax_at(&v, ']'))
			return fail(r, error, PROTOCOL, "an UIDVALIDITY canary cannot read");
	}
	return CANARY_FETCH_MORE; /* EXISTS, EXPUNGE, FLAGS, OK, NO...: not ours */
}

/* The tagged status line that ends the answer. */
static enum canary_fetch_step tagged(struct canary_fetch_reader *r, struct canary_imap_cursor *c,
				     GError **error)
{
	const char *tag = NULL, *status = NULL;
	gsize tag_len = 0, status_len = 0;
	if (!canary_imap_syntax_read_section_atom(c, &tag, &tag_len) ||
	    !canary_imap_syntax_word_is(tag, tag_len, r->tag) || !canary_imap_syntax_at(c, ' '))
		return fail(r, error, PROTOCOL, "an answer to another command");
	c->p++;
	if (c->literal != NULL || !canary_imap_syntax_read_section_atom(c, &status, &status_len))
		return fail(r, error, PROTOCOL, "a status line canary cannot read");
	if (canary_imap_syntax_word_is(status, status_len, "OK"))
		return CANARY_FETCH_DONE;
	if (!canary_imap_syntax_word_is(status, status_len, "NO") &&
	    !canary_imap_syntax_word_is(status, status_len, "BAD"))
		return fail(r, error, PROTOCOL, "a status line canary cannot read");
	g_autofree char *said = g_strndup(status, (gsize)MIN(c->end - status, 200));
	for (char *p = said; *p != '\0'; p++)
		if (!g_ascii_isprint(*p))
			*p = '?';
	return fail(r, error, CANARY_IMAP_ERROR_REFUSED, "the server said \"%s\"", said);
}

static enum canary_fetch_step response(struct canary_fetch_reader *r, guint32 *uid_r,
				       GBytes **message_r, GError **error)
{
	const char *text = r->response->str;
	struct canary_imap_cursor c = {text, text + r->response->len,
				       r->literal_at >= 0 ? text + r->literal_at : NULL};
	if (canary_imap_syntax_at(&c, '+'))
		return fail(r, error, PROTOCOL, "a continuation request no command of ours asks for");
	if (canary_imap_syntax_skip_untagged(&c))
		return untagged(r, &c, uid_r, message_r, error);
	return tagged(r, &c, error);
}

/* --- Lines and literals ------------------------------------------------------- */

/* The N of a line ending in "{N}": at most 19 digits, whatever 64-bit
 * size they write (max_literal refuses the large ones, saying so). */
static gboolean literal_announced(const char *line, gsize len, guint64 *size_r, gsize *at_r)
{
	const char *open =
		canary_imap_syntax_literal_at_end(line, line + len, 19, G_MAXUINT64, size_r);
	if (open == NULL)
		return FALSE;
	*at_r = (gsize)(open - line);
	return TRUE;
}

/* Starts receiving a literal of LEN bytes, taking those already received. */
static void start_literal(struct canary_fetch_reader *r, gsize len)
{
	r->literal = literal_new(len);
	r->literal_len = len;
	gsize have = MIN(len, r->end - r->start);
	memcpy(r->literal, r->buf + r->start, have);
	canary_wipe(r->buf + r->start, have);
	r->start += have;
	r->literal_got = have;
}

enum canary_fetch_step canary_fetch_reader_next(struct canary_fetch_reader *r, guint32 *uid_r,
						GBytes **message_r, GError **error)
{
	for (;;) {
		if (r->failed != NULL)
			return fail(r, error, 0, "%s", "");
		if (r->literal != NULL) {
			if (r->literal_got < r->literal_len)
				return CANARY_FETCH_MORE;
			r->message = take_literal(r->literal, r->literal_len);
			r->literal = NULL;
		}
		guint8 *from = r->buf + r->start;
		guint8 *eol = memchr(from, '\n', r->end - r->start);
		if (eol == NULL) {
			if (r->end - r->start > CANARY_FETCH_READER_MAX_LINE)
				return fail(r, error, PROTOCOL, "a response line over %d bytes",
					    CANARY_FETCH_READER_MAX_LINE);
			return CANARY_FETCH_MORE;
		}
		gsize len = (gsize)(eol - from);
		r->start += len + 1;
		if (len > 0 && from[len - 1] == '\r')
			len--;
		if (r->response->len + len > CANARY_FETCH_READER_MAX_LINE)
			return fail(r, error, PROTOCOL, "a response over %d bytes",
				    CANARY_FETCH_READER_MAX_LINE);
		gsize line_at = r->response->len;
		g_string_append_len(r->response, (const char *)from, (gssize)len);
		guint64 size = 0;
		gsize brace = 0;
		if (literal_announced((const char *)from, len, &size, &brace)) {
			if (r->literal_at >= 0)
				return fail(r, error, PROTOCOL, "two literals in one response");
			if (size > r->max_literal)
				return fail(r, error, PROTOCOL,
					    "a literal of %" G_GUINT64_FORMAT
					    " bytes, more than the %" G_GUINT64_FORMAT " allowed",
					    size, r->max_literal);
			r->literal_at = (gssize)(line_at + brace);
			start_literal(r, (gsize)size);
			continue;
		}
		enum canary_fetch_step step = response(r, uid_r, message_r, error);
		forget_response(r);
		if (step != CANARY_FETCH_MORE)
			return step;
	}
}
