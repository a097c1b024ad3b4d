/* fuzz_mbox.c: libFuzzer target for the mbox splitter (RFC 4155 separators,
 * mboxo/mboxrd quoting, mboxcl/mboxcl2 Content-Length, byte-order mark):
 * any bytes split into messages (every byte of each read back) or give an
 * error, never a crash. Seeds: a test mbox of each variant (fuzz/seeds). */
#include <stdint.h>

#include "source.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Where the byte sums go, so the reads cannot be optimised away. */
static volatile guint8 sink;

/* Reads every byte of MESSAGE so that the sanitizers see each access;
 * counts bytes into USER_DATA. Always continues. */
static gboolean touch(const struct canary_source_message *message, gpointer user_data,
		      GError **error)
{
	gsize *total = user_data;
	gsize len = 0;
	const guint8 *bytes = g_bytes_get_data(message->raw, &len);
	guint8 sum = 0;
	for (gsize i = 0; i < len; i++)
		sum += bytes[i];
	sink = sum;
	g_assert(len > 0);
	*total += len;
	return TRUE;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	GBytes *mbox = g_bytes_new_static(data, size);
	GError *error = NULL;
	gsize total = 0;
	gboolean ok = canary_source_split_mbox(mbox, "fuzz.mbox", 0, touch, &total, &error);
	g_assert(ok == (error == NULL));
	/* Messages never grow: unquoting and dropping separators only remove. */
	g_assert(total <= size);
	g_clear_error(&error);
	g_bytes_unref(mbox);
	return 0;
}
