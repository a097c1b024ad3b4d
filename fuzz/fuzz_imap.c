/* fuzz_imap.c: libFuzzer target for the parsers of IMAP answers (STATUS,
 * SEARCH/ESEARCH, FETCH sizes, CAPABILITY, and what one line says to the
 * operator): any bytes a hostile or broken
 * server sends give a result or an error, never a crash or a huge
 * allocation. */
#include <stdint.h>
#include <string.h>

#include "imap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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
	return 0;
}
