/* seal.h: every byte of cryptography in canary: key files, envelope
 * encryption of case fields, pseudonyms and content hashes.
 * The only user of libsodium's box, AEAD, secretstream and pwhash calls. */
#ifndef CANARY_SEAL_H
#define CANARY_SEAL_H

#include <glib.h>

#define CANARY_SEAL_ERROR (canary_seal_error_quark())
GQuark canary_seal_error_quark(void);

enum canary_seal_error {
	CANARY_SEAL_ERROR_INIT,       /* libsodium could not start */
	CANARY_SEAL_ERROR_IO,         /* a key file cannot be read or written */
	CANARY_SEAL_ERROR_EXISTS,     /* refusing to overwrite without force */
	CANARY_SEAL_ERROR_FORMAT,     /* not a canary key file, or damaged */
	CANARY_SEAL_ERROR_WRONG_KIND, /* e.g. a secret key given where a public one belongs */
	CANARY_SEAL_ERROR_PASSPHRASE, /* wrong passphrase (or damaged secret file) */
	CANARY_SEAL_ERROR_WRONG_KEY,  /* this key does not open that sealed key */
	CANARY_SEAL_ERROR_TAMPERED,   /* a ciphertext fails to authenticate: damaged,
					 or moved from another case or field */
};

#define CANARY_KEY_ID_LEN 16 /* hex characters of a key id, plus NUL below */

/* An X25519 public key (crypto_box). Plain memory: public keys are not secret. */
struct canary_public_key {
	guint8 bytes[32];
	char id[CANARY_KEY_ID_LEN + 1]; /* hex of BLAKE2b-64 of BYTES: names the key */
};

/* Opaque: held in sodium_malloc()ed, mlock()ed memory, wiped on free. */
struct canary_secret_key;     /* X25519 secret + its public half */
struct canary_pseudonym_key;  /* 32 bytes for keyed BLAKE2b */
struct canary_content_key;    /* 32 bytes for XChaCha20-Poly1305 */

/* Starts libsodium; call once per process before anything else here. */
gboolean canary_seal_init(GError **error);

/* --- Key files ----------------------------------------------------------- */

/* Writes DIR/NAME.pub and DIR/NAME.key (the secret key encrypted under
 * PASSPHRASE with Argon2id at least at the MODERATE limits, then
 * crypto_secretbox). Files are 0600 (the .pub 0644), written atomically, and
 * never overwritten unless FORCE. NAME must be a plain file name. */
gboolean canary_key_generate(const char *dir, const char *name, const char *passphrase,
			     gsize passphrase_len, gboolean force, GError **error);

/* Loads a public key file. A secret key file (or anything else) is refused
 * with CANARY_SEAL_ERROR_WRONG_KIND / _FORMAT and a message naming PATH.
 * Returns a new key; free with g_free(). */
struct canary_public_key *canary_key_load_public(const char *path, GError **error);

/* Loads and decrypts a secret key file. Returns a new key; free with
 * canary_secret_key_free(). */
struct canary_secret_key *canary_key_load_secret(const char *path, const char *passphrase,
						 gsize passphrase_len, GError **error);
void canary_secret_key_free(struct canary_secret_key *key);
/* The public half of KEY (points into KEY). */
const struct canary_public_key *canary_secret_key_public(const struct canary_secret_key *key);

/* Writes a new random 32-byte pseudonym key file (0600); refuses to
 * overwrite unless FORCE. */
gboolean canary_key_generate_pseudonym(const char *path, gboolean force, GError **error);
/* Loads a pseudonym key file; free with canary_pseudonym_key_free(). */
struct canary_pseudonym_key *canary_key_load_pseudonym(const char *path, GError **error);
void canary_pseudonym_key_free(struct canary_pseudonym_key *key);

/* Parses key file contents already in memory (for fuzzing and tests): the
 * same checks as the loaders, PATH used only in messages. */
struct canary_public_key *canary_key_parse_public(const char *path, const void *data, gsize len,
						  GError **error);
struct canary_secret_key *canary_key_parse_secret(const char *path, const void *data, gsize len,
						  const char *passphrase, gsize passphrase_len,
						  GError **error);

/* --- Envelope encryption -------------------------------------------------- */

/* A new random content key; free with canary_content_key_free(). */
struct canary_content_key *canary_content_key_new(void);
void canary_content_key_free(struct canary_content_key *key);

/* Seals KEY to RECIPIENT (crypto_box_seal). Returns the sealed bytes. */
GBytes *canary_content_key_seal(const struct canary_content_key *key,
				const struct canary_public_key *recipient);

/* Opens SEALED with SECRET. Returns a new content key, or NULL with
 * CANARY_SEAL_ERROR_WRONG_KEY when SECRET is not the recipient. */
struct canary_content_key *canary_content_key_open(GBytes *sealed,
						   const struct canary_secret_key *secret,
						   GError **error);

/* Encrypts PLAIN with XChaCha20-Poly1305 under KEY. The associated data
 * binds the ciphertext to CASE_ID and FIELD ("subject", "text",
 * "attachment/3/data", ...), so a blob copied elsewhere fails to open.
 * Returns nonce || ciphertext || tag. Large inputs are processed in chunks
 * (crypto_secretstream) so memory stays at one copy. */
GBytes *canary_seal_encrypt(const struct canary_content_key *key, gint64 case_id,
			    const char *field, const void *plain, gsize len);

/* Decrypts what canary_seal_encrypt() made for the same CASE_ID and FIELD.
 * Returns the plaintext in a GBytes that is wiped when freed, or NULL with
 * CANARY_SEAL_ERROR_TAMPERED naming FIELD. */
GBytes *canary_seal_decrypt(const struct canary_content_key *key, gint64 case_id,
			    const char *field, GBytes *sealed, GError **error);

/* --- Pseudonyms and hashes ------------------------------------------------ */

/* Keyed BLAKE2b of the normalised ADDRESS (trimmed, lower-cased UTF-8) as a
 * short stable code "P-XXXX-XXXX" (Crockford base32, 40 bits). Returns a new
 * string. */
char *canary_seal_pseudonym(const struct canary_pseudonym_key *key, const char *address);

/* Content hash for exactly-once ingestion: keyed BLAKE2b-256 of DATA under a
 * subkey derived from KEY (so a stolen database cannot confirm a guessed
 * message), or unkeyed when KEY is NULL. */
void canary_seal_content_hash(const struct canary_pseudonym_key *key, const void *data,
			      gsize len, guint8 out[32]);

/* BLAKE2b-256 of DATA, for the case history's hash chain. */
void canary_seal_chain_hash(const void *data, gsize len, guint8 out[32]);

/* Compares two 32-byte hashes in constant time. */
gboolean canary_seal_hash_equal(const guint8 a[32], const guint8 b[32]);

/* Wipes LEN bytes at P (sodium_memzero). For plaintext buffers elsewhere. */
void canary_wipe(void *p, gsize len);

/* Frees a NUL-terminated string after wiping it; NULL is fine. */
void canary_wipe_free(char *s);

typedef struct canary_secret_key canary_secret_key;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(canary_secret_key, canary_secret_key_free)
typedef struct canary_pseudonym_key canary_pseudonym_key;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(canary_pseudonym_key, canary_pseudonym_key_free)
typedef struct canary_content_key canary_content_key;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(canary_content_key, canary_content_key_free)

#endif
