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
	CANARY_SEAL_ERROR_MEMORY,     /* not enough memory for Argon2id */
	CANARY_SEAL_ERROR_WEAK_KDF,   /* a secret key file's Argon2id limits are below
					 what keygen writes (MODERATE) */
};

#define CANARY_KEY_ID_LEN 16 /* hex characters of a key id, plus NUL below */

/* An X25519 public key (crypto_box). Plain memory: public keys are not secret. */
struct canary_public_key {
	guint8 bytes[32];
	char id[CANARY_KEY_ID_LEN + 1]; /* hex of BLAKE2b-64 (8-byte output) of BYTES:
					   names the key */
};

/* Opaque: held in sodium_malloc()ed, mlock()ed memory, wiped on free. */
struct canary_secret_key;     /* X25519 secret + its public half */
struct canary_pseudonym_key;  /* 32 bytes for keyed BLAKE2b */
struct canary_content_key;    /* 32 bytes for XChaCha20-Poly1305 */

/* Starts libsodium; call once per process before anything else here (the
 * functions that need it start it themselves if you forget, but only this one
 * reports a failure). */
gboolean canary_seal_init(GError **error);

/* --- Key files ----------------------------------------------------------- */

/* Key files are two text lines: a magic line naming kind and version
 * ("canary-public-key-v1", "canary-secret-key-v1", "canary-pseudonym-key-v1")
 * and base64 of the payload plus a BLAKE2b-64 check value (see seal.c), so
 * a wrong, truncated or damaged file is refused with a message naming it.
 * Errors: _IO (cannot read or write; "PATH: no such file"), _FORMAT (not a
 * canary key file of that kind, or truncated or damaged), _WRONG_KIND,
 * _PASSPHRASE, _EXISTS, _MEMORY, _WEAK_KDF. */

/* Writes DIR/NAME.pub and DIR/NAME.key (the secret key encrypted under
 * PASSPHRASE with Argon2id at the MODERATE limits, then crypto_secretbox).
 * Files are 0600 (the .pub 0644, whatever the umask). Without FORCE both are
 * created with O_EXCL and an existing one is refused with _EXISTS, leaving
 * nothing behind; with FORCE each is written to a temporary file in DIR,
 * fsynced and renamed over the old one. NAME must be a plain file name (no
 * '/', not starting with '.'); an empty passphrase is refused
 * (_PASSPHRASE), and so is one that breaks the rules of
 * canary_passphrase_check() (passphrase.h), with its CANARY_PASSPHRASE_ERROR.
 * Test builds only (CMake's CANARY_TEST_KDF): with CANARY_TEST_FAST_KDF=1 in
 * the environment the weaker INTERACTIVE limits are used, with a warning, to
 * keep test suites fast. Other builds never read the variable. */
gboolean canary_key_generate(const char *dir, const char *name, const char *passphrase,
			     gsize passphrase_len, gboolean force, GError **error);

/* Re-encrypts the secret key file at PATH, opened with OLD_PASSPHRASE,
 * under NEW_PASSPHRASE at the limits canary_key_generate() uses, replacing
 * the file (a temporary file in its directory, fsynced, renamed over it;
 * 0600). The key stays the same: its .pub and everything sealed to it stay
 * valid. NEW_PASSPHRASE must pass canary_passphrase_check() (checked before
 * anything is read). Unlike the loaders this opens a file whose limits are
 * below MODERATE: it is the way out for keys made cheap. Errors as
 * canary_key_load_secret() (never _WEAK_KDF) and CANARY_PASSPHRASE_ERROR. */
gboolean canary_key_rewrap(const char *path, const char *old_passphrase, gsize old_len,
			   const char *new_passphrase, gsize new_len, GError **error);

/* Loads a public key file. A secret key file (or anything else) is refused
 * with CANARY_SEAL_ERROR_WRONG_KIND / _FORMAT and a message naming PATH, as is
 * a point of small order (nothing could be sealed to it).
 * Returns a new key; free with g_free(). */
struct canary_public_key *canary_key_load_public(const char *path,
						 GError **error) G_GNUC_WARN_UNUSED_RESULT;

/* Loads and decrypts a secret key file. A wrong passphrase gives
 * _PASSPHRASE; a damaged file _FORMAT (caught by the check value before
 * Argon2id runs). Stored Argon2id limits below MODERATE (what keygen
 * writes) are refused with _WEAK_KDF naming what was found and what is
 * needed, except in test builds, which accept INTERACTIVE; above SENSITIVE,
 * with _FORMAT. The public half is derived from the secret (crypto_scalarmult_base).
 * Returns a new key in guarded, read-only memory; free with
 * canary_secret_key_free(). */
struct canary_secret_key *canary_key_load_secret(const char *path, const char *passphrase,
						 gsize passphrase_len,
						 GError **error) G_GNUC_WARN_UNUSED_RESULT;
void canary_secret_key_free(struct canary_secret_key *key);
/* The public half of KEY.
 * WARNING: points into KEY; it dies with canary_secret_key_free(KEY). */
const struct canary_public_key *canary_secret_key_public(const struct canary_secret_key *key);

/* Writes a new random 32-byte pseudonym key file (0600); refuses to
 * overwrite unless FORCE. */
gboolean canary_key_generate_pseudonym(const char *path, gboolean force, GError **error);
/* Loads a pseudonym key file; free with canary_pseudonym_key_free(). */
struct canary_pseudonym_key *canary_key_load_pseudonym(const char *path,
						       GError **error) G_GNUC_WARN_UNUSED_RESULT;
void canary_pseudonym_key_free(struct canary_pseudonym_key *key);

/* Parses key file contents already in memory (for fuzzing and tests): the
 * same checks as the loaders, PATH used only in messages. */
struct canary_public_key *canary_key_parse_public(const char *path, const void *data, gsize len,
						  GError **error) G_GNUC_WARN_UNUSED_RESULT;
struct canary_secret_key *canary_key_parse_secret(const char *path, const void *data, gsize len,
						  const char *passphrase, gsize passphrase_len,
						  GError **error) G_GNUC_WARN_UNUSED_RESULT;
struct canary_pseudonym_key *canary_key_parse_pseudonym(const char *path, const void *data,
							gsize len,
							GError **error) G_GNUC_WARN_UNUSED_RESULT;

/* TRUE in a test build (CMake's CANARY_TEST_KDF): one that makes cheap keys
 * under CANARY_TEST_FAST_KDF=1 and loads them. Never installed for real. */
gboolean canary_seal_test_build(void);

#ifdef CANARY_TEST_KDF
/* Test builds only: from now on, secret key files asking for more than the
 * INTERACTIVE limits are refused, so that replaying fuzz inputs in a test
 * build stays as cheap as fuzzing (where CANARY_FUZZING caps them). */
void canary_key_test_cap_kdf(void);
#endif

/* --- Envelope encryption -------------------------------------------------- */

/* A new random content key in guarded memory; free with
 * canary_content_key_free(). Aborts like g_malloc() when out of memory. */
struct canary_content_key *canary_content_key_new(void);
void canary_content_key_free(struct canary_content_key *key);

/* The size of a sealed content key: what canaryd checks of key copies an
 * officer's process re-sealed. */
#define CANARY_SEALED_KEY_SIZE 80

/* Seals KEY to RECIPIENT (crypto_box_seal). Returns the sealed bytes (80),
 * or NULL only if RECIPIENT is a point of small order, which the loaders
 * refuse. */
GBytes *canary_content_key_seal(const struct canary_content_key *key,
				const struct canary_public_key *recipient);

/* Seals the keys of one message to its recipients: sealed boxes as
 * canary_content_key_seal() makes them, but with one ephemeral key pair
 * for all of them instead of one each (its X25519 key generation is half
 * of a sealed box's cost). Every box still has its own shared secret and
 * nonce, the recipients being distinct; a key sealed to a recipient the
 * sealer already sealed to gets an ephemeral key pair of its own. The
 * boxes share their first 32 bytes, the ephemeral public key: use one
 * sealer for one message's keys only, so that nothing links two messages.
 * Free with canary_key_sealer_free(), which wipes the ephemeral secret. */
struct canary_key_sealer;
struct canary_key_sealer *canary_key_sealer_new(void);
void canary_key_sealer_free(struct canary_key_sealer *sealer);

/* KEY sealed to RECIPIENT by SEALER: 80 bytes that canary_content_key_open()
 * opens, or NULL as for canary_content_key_seal(). */
GBytes *canary_key_sealer_seal(struct canary_key_sealer *sealer,
			       const struct canary_content_key *key,
			       const struct canary_public_key *recipient);

/* Opens SEALED with SECRET. Returns a new content key, or NULL with
 * CANARY_SEAL_ERROR_WRONG_KEY when SECRET is not the recipient (a damaged
 * sealed key looks the same), or _TAMPERED when SEALED has the wrong size. */
struct canary_content_key *canary_content_key_open(GBytes *sealed,
						   const struct canary_secret_key *secret,
						   GError **error) G_GNUC_WARN_UNUSED_RESULT;

/* KEY encrypted under WRAPPING (canary_seal_encrypt() of its bytes, bound
 * to CASE_ID and FIELD): a key that whoever opens WRAPPING opens too,
 * without an X25519 exchange of its own (about 70 us each here). */
GBytes *canary_content_key_wrap(const struct canary_content_key *key,
				const struct canary_content_key *wrapping, gint64 case_id,
				const char *field);

/* Opens what canary_content_key_wrap() made for the same CASE_ID and FIELD.
 * Returns a new content key, or NULL with CANARY_SEAL_ERROR_TAMPERED. */
struct canary_content_key *canary_content_key_unwrap(GBytes *wrapped,
						     const struct canary_content_key *wrapping,
						     gint64 case_id, const char *field,
						     GError **error) G_GNUC_WARN_UNUSED_RESULT;

/* The length a plaintext of LEN bytes is padded to before it is sealed:
 * LEN + 1 (the end marker) rounded up to a power of two of at least 256
 * bytes while that is at most 4 KiB; above, Padmé's rounding (Nikitin et
 * al., "Reducing Metadata Leakage from Encrypted Files and Communication
 * with PURBs", 2019), which keeps only the top log2(log2(LEN)) + 1 bits
 * of the length (4 below 64 KiB, 5 from 64 KiB to 4 GiB): less than 6.3%
 * more, less than 3.2% from 64 KiB. 0 when LEN is too large to
 * represent. */
gsize canary_seal_padded_size(gsize len);

/* Encrypts PLAIN (LEN bytes; may be NULL when LEN is 0), padded to
 * canary_seal_padded_size(LEN), with XChaCha20-Poly1305 under KEY. The
 * associated data binds the ciphertext to CASE_ID and FIELD ("subject",
 * "text", "attachment/3/data", ...), so a blob copied elsewhere fails to
 * open. Returns a format byte, then up to 64 KiB padded: nonce ||
 * ciphertext || tag; above: a crypto_secretstream of 64 KiB chunks, the
 * last tagged FINAL (format in seal.c). Besides the output, only the chunk
 * where the padding begins is copied (and wiped). NULL only if LEN is too
 * large to represent.
 * WARNING: CASE_ID and FIELD are not stored in the blob: decrypt must be
 * given exactly the same ones, byte for byte. */
GBytes *canary_seal_encrypt(const struct canary_content_key *key, gint64 case_id,
			    const char *field, const void *plain, gsize len);

/* Decrypts what canary_seal_encrypt() made for the same CASE_ID and FIELD.
 * Returns the plaintext in a GBytes that is wiped when freed, or NULL with
 * CANARY_SEAL_ERROR_TAMPERED naming FIELD (any flipped, missing or extra
 * byte, another key, case or field, an unknown format byte). */
GBytes *canary_seal_decrypt(const struct canary_content_key *key, gint64 case_id,
			    const char *field, GBytes *sealed,
			    GError **error) G_GNUC_WARN_UNUSED_RESULT;

/* --- Pseudonyms and hashes ------------------------------------------------ */

/* Keyed BLAKE2b of the normalised ADDRESS (NFKC, case-folded UTF-8, white
 * space trimmed) as a short stable code "P-XXXX-XXXX" (Crockford base32, 40
 * bits: expect a collision somewhere among ~1 million senders). Returns a
 * new string. */
char *canary_seal_pseudonym(const struct canary_pseudonym_key *key, const char *address);

/* Content hash for exactly-once ingestion: keyed BLAKE2b-256 of DATA under a
 * subkey derived from KEY (crypto_kdf, context "canaryCH"; so a stolen
 * database cannot confirm a guessed message), or unkeyed when KEY is NULL. */
void canary_seal_content_hash(const struct canary_pseudonym_key *key, const void *data,
			      gsize len, guint8 out[32]);

/* Keyed hashes of what must be recognised but never stored in clear, each
 * under its own subkey of the pseudonym key (crypto_kdf, CONTEXT of 8
 * characters): a stolen database alone cannot confirm a guessed value. */
#define CANARY_SEAL_CONTEXT_MESSAGE_ID "canaryMI" /* Message-IDs (store.h) */
#define CANARY_SEAL_CONTEXT_ACKNOWLEDGED "canaryAK" /* senders answered today */
/* Keyed BLAKE2b-256 of DATA (LEN bytes) under KEY's subkey for CONTEXT. */
void canary_seal_keyed_hash(const struct canary_pseudonym_key *key, const char *context,
			    const void *data, gsize len, guint8 out[32]);

/* Compares two 32-byte hashes in constant time. */
gboolean canary_seal_hash_equal(const guint8 a[32], const guint8 b[32]);

typedef struct canary_secret_key canary_secret_key;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(canary_secret_key, canary_secret_key_free)
typedef struct canary_pseudonym_key canary_pseudonym_key;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(canary_pseudonym_key, canary_pseudonym_key_free)
typedef struct canary_content_key canary_content_key;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(canary_content_key, canary_content_key_free)
typedef struct canary_key_sealer canary_key_sealer;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(canary_key_sealer, canary_key_sealer_free)

#endif
