/* fuzz_text.c: libFuzzer target for the escaper every tool prints through
 * (canary_text_escape()): any bytes, in either shape, give valid UTF-8
 * within the size it was given, with no character a terminal acts on but
 * the line breaks and tabs the multi-line shape keeps; and the fold
 * (canary_text_fold()) gives GLib's NFKC + case fold for valid UTF-8 and
 * NULL for anything else. */
#include <stdint.h>
#include <string.h>

#include "text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Checks OUT, escaped from SIZE bytes in SHAPE. */
static void check(const char *out, size_t size, enum canary_text_shape shape)
{
	size_t len = strlen(out);
	g_assert(len <= 4 * size);
	g_assert(g_utf8_validate(out, (gssize)len, NULL));
	for (const char *p = out; *p != '\0'; p = g_utf8_next_char(p)) {
		gunichar c = g_utf8_get_char(p);
		gboolean kept = shape == CANARY_TEXT_LINES && (c == '\n' || c == '\t');
		g_assert(kept || !canary_text_is_control(c));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum canary_text_shape shapes[] = {CANARY_TEXT_LINE, CANARY_TEXT_LINES};
	for (size_t i = 0; i < G_N_ELEMENTS(shapes); i++) {
		char *out = canary_text_escape((const char *)data, (gssize)size, shapes[i]);
		check(out, size, shapes[i]);
		g_free(out);
	}
	char *text = g_strndup((const char *)data, size); /* up to a NUL, as callers give it */
	char *fast = canary_text_fold(text);
	if (g_utf8_validate(text, -1, NULL)) {
		char *normal = g_utf8_normalize(text, -1, G_NORMALIZE_NFKC);
		char *slow = g_utf8_casefold(normal, -1);
		g_assert(g_strcmp0(fast, slow) == 0);
		g_free(slow);
		g_free(normal);
	} else {
		/* GLib wants valid UTF-8 and normalises some invalid sequences
		 * (overlong forms) anyway; the fold refuses them all. */
		g_assert(fast == NULL);
	}
	g_free(fast);
	g_free(text);
	return 0;
}
