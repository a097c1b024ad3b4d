/* fuzz_imap.c: libFuzzer target for the parsers of IMAP answers (STATUS,
 * SEARCH/ESEARCH, FETCH sizes, CAPABILITY, what one line says to the
 * operator, and the check of a fetch's answer, fed as libcurl feeds it:
 * lines, the literal, lines): any bytes a hostile or broken
 * server sends give a result or an error, never a crash or a huge
 * allocation, and a fetch is accepted only whole and within its bound. */
#include <stdint.h>
#include <string.h>

#include "imap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The answer to a fetch of UID 3, listed with RFC822.SIZE 92. */
static void check_fetch_answer(const char *text, size_t size)
{
	struct canary_imap_fetch_check check;
	canary_imap_fetch_check_init(&check, 3, canary_imap_fetch_limit(92));
	const char *p = text, *end = text + size;
	gboolean going = TRUE;
	while (p < end && going) {
		if (check.literal && check.received < check.announced) {
			/* libcurl hands a literal over in pieces, and a cut one ends early. */
			gsize n = (gsize)MIN((guint64)(end - p), check.announced - check.received);
			n = MIN(n, 7);
			going = canary_imap_fetch_check_data(&check, n);
			p += n;
			continue;
		}
		const char *eol = memchr(p, '\n', (gsize)(end - p));
		const char *next = eol != NULL ? eol + 1 : end;
		going = canary_imap_fetch_check_line(&check, p, (gsize)(next - p));
		p = next;
	}
	GError *error = NULL;
	if (canary_imap_fetch_check_finish(&check, &error)) {
		g_assert(check.literal && check.problem == NULL);
		g_assert(check.received == check.announced && check.received <= check.limit);
	} else {
		g_assert(g_error_matches(error, CANARY_IMAP_ERROR, CANARY_IMAP_ERROR_MESSAGE));
	}
	g_assert(check.received <= check.limit);
	g_clear_error(&error);
	canary_imap_fetch_check_clear(&check);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	GError *error = NULL;

	struct canary_imap_status status;
	if (canary_imap_parse_status(text, size, &status, &error))
		g_assert(status.uidvalidity != 0 && status.uidnext != 0);
	else
		g_assert(error != NULL);
	g_clear_error(&error);

	GArray *uids = g_array_new(FALSE, FALSE, sizeof(guint32));
	if (!canary_imap_parse_search(text, size, uids, &error))
		g_assert(error != NULL);
	for (guint i = 0; i < uids->len; i++)
		g_assert(g_array_index(uids, guint32, i) != 0);
	g_clear_error(&error);
	g_array_unref(uids);

	GArray *messages = g_array_new(FALSE, TRUE, sizeof(struct canary_imap_message));
	if (!canary_imap_parse_fetch_sizes(text, size, messages, &error))
		g_assert(error != NULL);
	for (guint i = 0; i < messages->len; i++)
		g_assert(g_array_index(messages, struct canary_imap_message, i).uid != 0);
	g_clear_error(&error);
	g_array_unref(messages);

	g_hash_table_unref(canary_imap_parse_capabilities(text, size));

	/* What reaches the log: printable ASCII, at most 200 bytes. */
	char *said = NULL;
	enum canary_imap_said kind = canary_imap_parse_said(text, size, &said);
	g_assert((kind == CANARY_IMAP_SAID_NOTHING) == (said == NULL));
	if (said != NULL) {
		g_assert(strlen(said) <= 200);
		for (const char *c = said; *c != '\0'; c++)
			g_assert(g_ascii_isprint(*c));
	}
	g_free(said);

	check_fetch_answer(text, size);
	return 0;
}
