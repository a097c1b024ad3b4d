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
