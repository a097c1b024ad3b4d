/* fuzz_tnef.c: libFuzzer target for canary_tnef_read() (winmail.dat, read
 * with libytnef); seed corpus: the .tnef files of tests/data/mail. Every read must come
 * back NULL or whole: valid UTF-8 names and body, files within the caps. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "tnef.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct canary_tnef *tnef = canary_tnef_read(data, size, 4096);
	if (tnef == NULL)
		return 0;
	if (tnef->body != NULL && !g_utf8_validate(tnef->body, -1, NULL))
		abort();
	guint64 total = 0;
	for (guint i = 0; i < tnef->files->len; i++) {
		const struct canary_tnef_file *f = tnef->files->pdata[i];
		if (f->data == NULL || (f->name != NULL && !g_utf8_validate(f->name, -1, NULL)))
			abort();
		total += g_bytes_get_size(f->data);
	}
	if (total > 4096 || tnef->files->len > CANARY_TNEF_MAX_FILES)
		abort();
	canary_tnef_free(tnef);
	return 0;
}
