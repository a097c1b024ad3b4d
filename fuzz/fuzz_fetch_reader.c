/* fuzz_fetch_reader.c: libFuzzer target for the reader of answers on
 * canary's own IMAP connection (fetch_reader.h). The first byte sets how
 * the rest arrives (pieces of 1 to 256 bytes, as receives would cut it);
 * any bytes give messages within the limit, the end, more wanted, or a
 * failure that stays one, never a crash or a larger allocation. */
#include <stdint.h>
#include <string.h>

#include "fetch_reader.h"
#include "imap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define LIMIT 4096

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	gsize piece = (gsize)data[0] + 1;
	const uint8_t *p = data + 1, *end = data + size;
	struct canary_fetch_reader *r = canary_fetch_reader_new("c1", LIMIT);
	for (;;) {
		guint32 uid = 0;
		GBytes *message = NULL;
		GError *error = NULL;
		enum canary_fetch_step step = canary_fetch_reader_next(r, &uid, &message, &error);
		if (step == CANARY_FETCH_MESSAGE) {
			g_assert(message != NULL && uid > 0);
			g_assert(g_bytes_get_size(message) <= LIMIT);
			g_bytes_unref(message);
			continue;
		}
		if (step == CANARY_FETCH_FAILED) {
			g_assert(error != NULL && error->domain == CANARY_IMAP_ERROR);
			g_clear_error(&error);
			/* A failure stays one. */
			g_assert(canary_fetch_reader_next(r, &uid, &message, &error) ==
				 CANARY_FETCH_FAILED);
			g_clear_error(&error);
			break;
		}
		g_assert(error == NULL && message == NULL);
		if (step == CANARY_FETCH_DONE || p == end)
			break;
		gsize room = 0;
		guint8 *space = canary_fetch_reader_space(r, &room);
		g_assert(room > 0);
		gsize n = MIN(MIN(room, piece), (gsize)(end - p));
		memcpy(space, p, n);
		canary_fetch_reader_filled(r, n);
		p += n;
	}
	canary_fetch_reader_free(r);
	return 0;
}
