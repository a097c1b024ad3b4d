/* passphrase.h: the rules a passphrase must meet to protect a new secret key
 * file. The only user of libpasswdqc (Openwall's passphrase checker). */
#ifndef CANARY_PASSPHRASE_H
#define CANARY_PASSPHRASE_H

#include <glib.h>

#define CANARY_PASSPHRASE_ERROR (canary_passphrase_error_quark())
GQuark canary_passphrase_error_quark(void);

enum canary_passphrase_error {
	CANARY_PASSPHRASE_ERROR_SHORT,   /* fewer than CANARY_PASSPHRASE_MIN_CHARS characters */
	CANARY_PASSPHRASE_ERROR_LONG,    /* more than CANARY_PASSPHRASE_MAX_BYTES bytes */
	CANARY_PASSPHRASE_ERROR_INVALID, /* holds a NUL byte */
	CANARY_PASSPHRASE_ERROR_COMMON,  /* based on a common word or password */
	CANARY_PASSPHRASE_ERROR_PATTERN, /* based on a common sequence (qwerty, 12345) */
	CANARY_PASSPHRASE_ERROR_SIMPLE,  /* too few different characters, or of one kind only */
	CANARY_PASSPHRASE_ERROR_FAILED,  /* the checker itself failed */
};

#define CANARY_PASSPHRASE_MIN_CHARS 12
#define CANARY_PASSPHRASE_MAX_BYTES 1024

/* Checks PASSPHRASE (LEN bytes; UTF-8 expected, characters counted as such)
 * against the rules for a new key: at least 12 characters; not based on a
 * common word or password, nor on a common sequence of characters (passwdqc's
 * word list, sequences, reversed, with digits for letters); enough different
 * characters, and not all of one kind unless it is three or more words.
 * Returns TRUE if it passes, else FALSE with a CANARY_PASSPHRASE_ERROR whose
 * message names the rule that failed. The message never holds the
 * passphrase, its length or any part of it. */
gboolean canary_passphrase_check(const char *passphrase, gsize len, GError **error);

#endif
