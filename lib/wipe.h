/* wipe.h: plaintext is wiped before its memory goes back to the allocator,
 * so that a later allocation, a core dump or swap never shows it. Used by
 * every module that holds a sender's words, not only by the sealing code. */
#ifndef CANARY_WIPE_H
#define CANARY_WIPE_H

#include <glib.h>

/* Wipes LEN bytes at P (sodium_memzero: never optimised away); NULL or 0
 * is fine. */
void canary_wipe(void *p, gsize len);

/* Wipes and frees the NUL-terminated string S; NULL is fine. A
 * GDestroyNotify, for arrays and hash tables of secret strings. */
void canary_wipe_free(gpointer s);

/* Wipes ARRAY's bytes and frees it (a GByteArray *); NULL is fine. A
 * GDestroyNotify. */
void canary_wipe_byte_array(gpointer array);

/* A new GBytes over ARRAY's bytes that wipes them when its last reference
 * goes; takes ARRAY. */
GBytes *canary_wipe_bytes_take(GByteArray *array);

#endif
