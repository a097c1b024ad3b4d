/* key_limits.h: reads the Argon2id limits a secret key file stores, for
 * check_seal and check_seal_release (which is built apart from libcanary
 * and the test utilities, so this is a header of its own). */
#ifndef CANARY_TEST_KEY_LIMITS_H
#define CANARY_TEST_KEY_LIMITS_H

#include <check.h>
#include <glib.h>
#include <sodium.h>
#include <string.h>

/* The ops and memory limits stored in the secret key file at PATH. */
static inline void tu_stored_limits(const char *path, guint64 *ops, guint64 *mem)
{
	g_autofree char *text = NULL;
	ck_assert(g_file_get_contents(path, &text, NULL, NULL));
	g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
	ck_assert_str_eq(lines[0], "canary-secret-key-v1");
	gsize n = 0;
	g_autofree guint8 *raw = g_base64_decode(lines[1], &n);
	ck_assert_uint_ge(n, crypto_pwhash_SALTBYTES + 16);
	guint64 v;
	memcpy(&v, raw + crypto_pwhash_SALTBYTES, 8);
	*ops = GUINT64_FROM_LE(v);
	memcpy(&v, raw + crypto_pwhash_SALTBYTES + 8, 8);
	*mem = GUINT64_FROM_LE(v);
}

#endif
