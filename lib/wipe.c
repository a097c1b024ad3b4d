/* wipe.c: see wipe.h. */
#include "wipe.h"

#include <string.h>

#include <sodium.h>

void canary_wipe(void *p, gsize len)
{
	if (p != NULL && len > 0)
		sodium_memzero(p, len);
}

void canary_wipe_free(gpointer s)
{
	if (s == NULL)
		return;
	sodium_memzero(s, strlen(s));
	g_free(s);
}

void canary_wipe_byte_array(gpointer array)
{
	GByteArray *a = array;
	if (a == NULL)
		return;
	canary_wipe(a->data, a->len);
	g_byte_array_free(a, TRUE);
}

GBytes *canary_wipe_bytes_take(GByteArray *array)
{
	return g_bytes_new_with_free_func(array->data, array->len, canary_wipe_byte_array, array);
}
