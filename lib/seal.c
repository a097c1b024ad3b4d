/* seal.c: every byte of cryptography in canary, on libsodium: versioned key
 * files (Argon2id + secretbox for secret keys), envelope encryption of case
 * fields (XChaCha20-Poly1305, secretstream), pseudonyms and content hashes. */
#include "seal.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "byteorder.h"
#include "fdio.h"
#include "log.h"
#include "passphrase.h"
#include "wipe.h"

/* The quark name is stringified as written: keep clang-format off it. */
// clang-format off
G_DEFINE_QUARK(canary-seal-error-quark, canary_seal_error)
// clang-format on

G_STATIC_ASSERT(crypto_box_PUBLICKEYBYTES == 32);
G_STATIC_ASSERT(crypto_box_SECRETKEYBYTES == 32);
G_STATIC_ASSERT(crypto_aead_xchacha20poly1305_ietf_KEYBYTES == 32);
G_STATIC_ASSERT(crypto_secretstream_xchacha20poly1305_KEYBYTES == 32);
G_STATIC_ASSERT(crypto_secretbox_KEYBYTES == 32);
G_STATIC_ASSERT(crypto_kdf_KEYBYTES == 32);

struct canary_secret_key {
	guint8 secret[crypto_box_SECRETKEYBYTES];
	struct canary_public_key public; /* derived from SECRET at load */
};

struct canary_pseudonym_key {
	guint8 key[32];
	guint8 content_subkey[32]; /* crypto_kdf subkey for content hashes */
};

struct canary_content_key {
	guint8 bytes[crypto_aead_xchacha20poly1305_ietf_KEYBYTES];
};

/* Starts libsodium once, for callers that skipped canary_seal_init():
 * sodium_malloc() needs it. */
static void ensure_sodium(void)
{
	static gsize done;
	if (g_once_init_enter(&done)) {
		int rc = sodium_init(); /* a failure is reported by canary_seal_init() */
		(void)rc;
		g_once_init_leave(&done, 1);
	}
}

gboolean canary_seal_init(GError **error)
{
	if (sodium_init() < 0) {
		g_set_error(error, CANARY_SEAL_ERROR, CANARY_SEAL_ERROR_INIT,
			    "libsodium failed to initialise");
		return FALSE;
	}
	ensure_sodium();
	return TRUE;
}

/* Returns SIZE bytes of guarded memory, mlock()ed where the system allows
 * (libsodium tolerates a failed mlock). Free with sodium_free(), which wipes.
 * Aborts like g_malloc() when memory is exhausted. */
static void *secure_new(gsize size)
{
	ensure_sodium();
	void *p = sodium_malloc(size);
	if (p == NULL)
		g_error("canary: out of memory for %" G_GSIZE_FORMAT " bytes of key memory", size);
	return p;
}

/* --- Key files ----------------------------------------------------------- */

/* A key file is two lines of text:
 *
 *   canary-<kind>-key-v1
 *   base64(PAYLOAD || CHECK)
 *
 * standard padded base64 (RFC 4648 section 4) on one line, each line ending
 * in "\n", nothing else. CHECK is BLAKE2b-64 of the magic line (with its
 * "\n") and PAYLOAD: it makes a damaged public or pseudonym key (which have
 * no MAC) fail to load instead of silently sealing to nobody or changing
 * every pseudonym, and it tells a damaged secret key file from a wrong
 * passphrase before Argon2id runs. It is not a signature: whoever can write
 * the file can recompute it.
 *
 * PAYLOAD by kind:
 *   public     the X25519 public key (32)
 *   pseudonym  the key (32)
 *   secret     salt (crypto_pwhash_SALTBYTES) | opslimit (u64 LE) |
 *              memlimit (u64 LE) | nonce (crypto_secretbox_NONCEBYTES) |
 *              crypto_secretbox_easy(X25519 secret key (32)) under the
 *              Argon2id13 hash of the passphrase with that salt and limits.
 *
 * Changing the salt, limits or nonce changes the secretbox key or nonce, so
 * the MAC covers them too. */

enum kind { KIND_PUBLIC, KIND_SECRET, KIND_PSEUDONYM, N_KINDS };

#define CHECK_LEN 8

#define SECRET_SALT   0
#define SECRET_OPS    (SECRET_SALT + crypto_pwhash_SALTBYTES)
#define SECRET_MEM    (SECRET_OPS + 8)
#define SECRET_NONCE  (SECRET_MEM + 8)
#define SECRET_BOX    (SECRET_NONCE + crypto_secretbox_NONCEBYTES)
#define SECRET_BOXLEN (crypto_box_SECRETKEYBYTES + crypto_secretbox_MACBYTES)
#define SECRET_LEN    (SECRET_BOX + SECRET_BOXLEN)

#define PAYLOAD_MAX SECRET_LEN
#define DECODED_MAX (PAYLOAD_MAX + CHECK_LEN)
#define ENCODED_MAX ((DECODED_MAX + 2) / 3 * 4)

/* No key file is anywhere near this: anything larger is refused unread. */
#define KEYFILE_MAX 4096

static const struct {
	const char *magic;  /* the first line, without "\n" */
	const char *family; /* the part of MAGIC every version shares */
	const char *what;   /* for messages */
	gsize payload;      /* bytes */
} kinds[N_KINDS] = {
	[KIND_PUBLIC] = {"canary-public-key-v1", "canary-public-key-v", "public key",
			 crypto_box_PUBLICKEYBYTES},
	[KIND_SECRET] = {"canary-secret-key-v1", "canary-secret-key-v", "secret key", SECRET_LEN},
	[KIND_PSEUDONYM] = {"canary-pseudonym-key-v1", "canary-pseudonym-key-v", "pseudonym key",
			    32},
};

/* Argon2id limits. Generated keys use MODERATE, and loading refuses less, so
 * a weak key file cannot pass for a real one; nor more than SENSITIVE, so a
 * crafted file cannot make us allocate terabytes or run for hours. */
#if defined(CANARY_FUZZING) || defined(FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION)
/* Fuzz builds only (CMake's CANARY_FUZZ defines CANARY_FUZZING): every input
 * that reaches Argon2id stays cheap. */
#define KDF_OPS_MIN crypto_pwhash_OPSLIMIT_INTERACTIVE
#define KDF_MEM_MIN crypto_pwhash_MEMLIMIT_INTERACTIVE
#define KDF_OPS_MAX crypto_pwhash_OPSLIMIT_INTERACTIVE
#define KDF_MEM_MAX crypto_pwhash_MEMLIMIT_INTERACTIVE
#elif defined(CANARY_TEST_KDF)
/* Test builds only (CMake's CANARY_TEST_KDF, which the Debian package's
 * build refuses): the suites' cheap keys load. */
#define KDF_OPS_MIN crypto_pwhash_OPSLIMIT_INTERACTIVE
#define KDF_MEM_MIN crypto_pwhash_MEMLIMIT_INTERACTIVE
#define KDF_OPS_MAX crypto_pwhash_OPSLIMIT_SENSITIVE
#define KDF_MEM_MAX crypto_pwhash_MEMLIMIT_SENSITIVE
#else
#define KDF_OPS_MIN crypto_pwhash_OPSLIMIT_MODERATE
#define KDF_MEM_MIN crypto_pwhash_MEMLIMIT_MODERATE
#define KDF_OPS_MAX crypto_pwhash_OPSLIMIT_SENSITIVE
#define KDF_MEM_MAX crypto_pwhash_MEMLIMIT_SENSITIVE
#endif

#ifdef CANARY_TEST_KDF
/* Set by canary_key_test_cap_kdf(): a replayed fuzz input stays cheap. */
static gboolean kdf_capped;

void canary_key_test_cap_kdf(void)
{
	kdf_capped = TRUE;
}
#endif

gboolean canary_seal_test_build(void)
{
#ifdef CANARY_TEST_KDF
	return TRUE;
#else
	return FALSE;
#endif
}

/* Writes the check value of PAYLOAD as a KIND file into OUT. */
static void check_value(enum kind kind, const guint8 *payload, guint8 out[CHECK_LEN])
{
	crypto_generichash_state state;
	crypto_generichash_init(&state, NULL, 0, CHECK_LEN);
	crypto_generichash_update(&state, (const guint8 *)kinds[kind].magic,
				  strlen(kinds[kind].magic));
	crypto_generichash_update(&state, (const guint8 *)"\n", 1);
	crypto_generichash_update(&state, payload, kinds[kind].payload);
	crypto_generichash_final(&state, out, CHECK_LEN);
	sodium_memzero(&state, sizeof state);
}

/* Names a public key: hex of BLAKE2b-64 of its bytes. A name, not a
 * security boundary, hence below crypto_generichash_BYTES_MIN. */
static void key_id(const guint8 pk[32], char id[CANARY_KEY_ID_LEN + 1])
{
	guint8 hash[CANARY_KEY_ID_LEN / 2];
	crypto_generichash(hash, sizeof hash, pk, 32, NULL, 0);
	sodium_bin2hex(id, CANARY_KEY_ID_LEN + 1, hash, sizeof hash);
}

/* TRUE unless PK is a point of small order, to which nothing can be sealed
 * (crypto_scalarmult refuses an all-zero result). */
static gboolean usable_public(const guint8 pk[32])
{
	static const guint8 probe[32] = {9};
	guint8 q[32];
	int rc = crypto_scalarmult(q, probe, pk);
	sodium_memzero(q, sizeof q);
	return rc == 0;
}

/* Returns the text of a KIND key file holding PAYLOAD, a new string in
 * ordinary memory: wipe it (canary_wipe_free) when PAYLOAD is secret. */
static char *armor(enum kind kind, const guint8 *payload)
{
	gsize n = kinds[kind].payload;
	guint8 raw[DECODED_MAX];
	memcpy(raw, payload, n);
	check_value(kind, payload, raw + n);
	char *b64 = g_base64_encode(raw, n + CHECK_LEN);
	sodium_memzero(raw, sizeof raw);
	char *text = g_strconcat(kinds[kind].magic, "\n", b64, "\n", NULL);
	canary_wipe_free(b64);
	return text;
}

static gboolean is_base64_char(char c)
{
	return g_ascii_isalnum(c) || c == '+' || c == '/';
}

/* The error for a file that begins like a canary key file of kind FOUND
 * where one of kind WANTED belongs. */
static void set_wrong_kind(const char *path, enum kind wanted, enum kind found, GError **error)
{
	static const char *const hint[N_KINDS] = {
		[KIND_PUBLIC] = "give the public key (.pub)",
		[KIND_SECRET] = "give the secret key (.key)",
		[KIND_PSEUDONYM] = "give the pseudonym key",
	};
	g_set_error(error, CANARY_SEAL_ERROR, CANARY_SEAL_ERROR_WRONG_KIND,
		    "%s: this is a %s file; %s", path, kinds[found].what, hint[wanted]);
}

static void set_damaged(const char *path, GError **error)
{
	g_set_error(error, CANARY_SEAL_ERROR, CANARY_SEAL_ERROR_FORMAT, "%s: truncated or damaged",
		    path);
}

/* Checks the magic line of DATA against KIND. Returns the length of the
 * line (without its "\n") when it is KIND's, or -1 with an error naming
 * PATH. */
static gssize check_magic(const char *path, enum kind kind, const char *data, gsize len,
			  GError **error)
{
	if (len == 0) {
		g_set_error(error, CANARY_SEAL_ERROR, CANARY_SEAL_ERROR_FORMAT,
			    "%s: empty file, not a canary %s file", path, kinds[kind].what);
		return -1;
	}
	const char *nl = memchr(data, '\n', len);
	gsize line = nl != NULL ? (gsize)(nl - data) : len;
	for (int k = 0; k < N_KINDS; k++) {
		gsize mlen = strlen(kinds[k].magic);
		/* A file cut inside (or right after) its magic line. */
		if (nl == NULL && len <= mlen && memcmp(data, kinds[k].magic, len) == 0) {
			set_damaged(path, error);
			return -1;
		}
	}
	for (int k = 0; k < N_KINDS; k++) {
		gsize flen = strlen(kinds[k].family);
		if (line < flen || memcmp(data, kinds[k].family, flen) != 0)
			continue;
		if ((enum kind)k != kind) {
			set_wrong_kind(path, kind, (enum kind)k, error);
			return -1;
		}
		if (line == strlen(kinds[k].magic) && memcmp(data, kinds[k].magic, line) == 0)
			return (gssize)line;
		g_set_error(error, CANARY_SEAL_ERROR, CANARY_SEAL_ERROR_FORMAT,
			    "%s: a canary %s file in a format this version does not read", path,
			    kinds[kind].what);
		return -1;
	}
	g_set_error(error, CANARY_SEAL_ERROR, CANARY_SEAL_ERROR_FORMAT, "%s: not a canary %s file",
		    path, kinds[kind].what);
	return -1;
}

/* Parses DATA as a KIND key file and writes its payload
 * (kinds[KIND].payload bytes) to OUT. Returns FALSE with an error naming PATH
 * for anything but exactly what armor() writes. */
static gboolean parse_armor(const char *path, enum kind kind, const void *data, gsize len,
			    guint8 *out, GError **error)
{
	const char *text = data;
	gssize line = check_magic(path, kind, text, len, error);
	if (line < 0)
		return FALSE;
	const char *body = text + line + 1;
	gsize body_len = len - (gsize)line - 1;
	gsize n = kinds[kind].payload + CHECK_LEN;
	gsize enc = (n + 2) / 3 * 4;
	gsize pad = (3 - n % 3) % 3;
	if (body_len != enc + 1 || body[enc] != '\n') {
		set_damaged(path, error);
		return FALSE;
	}
	for (gsize i = 0; i < enc; i++) {
		if (i < enc - pad ? !is_base64_char(body[i]) : body[i] != '=') {
			set_damaged(path, error);
			return FALSE;
		}
	}

	/* Buffer sizes as g_base64_decode_step() and _encode_step() ask. */
	guint8 raw[ENCODED_MAX / 4 * 3 + 4];
	char again[(DECODED_MAX / 3 + 1) * 4 + 4];
	gint state = 0, estate = 0, esave = 0;
	guint save = 0;
	gboolean ok = g_base64_decode_step(body, enc, raw, &state, &save) == n;
	if (ok) {
		/* Canonical form only (the unused low bits of the last group
		 * zero), so that one key has one file. */
		gsize w = g_base64_encode_step(raw, n, FALSE, again, &estate, &esave);
		w += g_base64_encode_close(FALSE, again + w, &estate, &esave);
		ok = w == enc && sodium_memcmp(again, body, enc) == 0;
	}
	if (ok) {
		guint8 check[CHECK_LEN];
		check_value(kind, raw, check);
		ok = sodium_memcmp(check, raw + kinds[kind].payload, CHECK_LEN) == 0;
	}
	if (ok)
		memcpy(out, raw, kinds[kind].payload);
	else
		set_damaged(path, error);
	sodium_memzero(raw, sizeof raw);
	sodium_memzero(again, sizeof again);
	sodium_memzero(&save, sizeof save);
	sodium_memzero(&esave, sizeof esave);
	return ok;
}

/* Reads the key file at PATH whole into BUF (KEYFILE_MAX + 1 bytes).
 * Returns its length, or -1 with an error naming PATH. */
static gssize read_keyfile(const char *path, guint8 *buf, GError **error)
{
	/* O_NONBLOCK: a FIFO in place of a key must not hang the daemon. */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		int e = errno;
		g_set_error(error, CANARY_SEAL_ERROR, CANARY_SEAL_ERROR_IO, "%s: %s", path,
			    e == ENOENT ? "no such file" : g_strerror(e));
		return -1;
	}
	struct stat st;
	const char *problem = NULL;
	if (fstat(fd, &st) != 0)
		problem = g_strerror(errno);
	else if (S_ISDIR(st.st_mode))
		problem = "is a directory, not a key file";
	else if (!S_ISREG(st.st_mode))
		problem = "not a regular file";
	if (problem != NULL) {
		g_set_error(error, CANARY_SEAL_ERROR, CANARY_SEAL_ERROR_IO, "%s: %s", path,
			    problem);
		close(fd);
		return -1;
	}
	gsize len = 0;
	while (len <= KEYFILE_MAX) {
		ssize_t r = read(fd, buf + len, KEYFILE_MAX + 1 - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = errno;
			g_set_error(error, CANARY_SEAL_ERROR, CANARY_SEAL_ERROR_IO, "%s: %s", path,
				    g_strerror(e));
			close(fd);
			return -1;
		}
		if (r == 0)
			break;
		len += (gsize)r;
	}
	close(fd);
	if (len > KEYFILE_MAX) {
		g_set_error(error, CANARY_SEAL_ERROR, CANARY_SEAL_ERROR_FORMAT,
			    "%s: too large for a canary key file", path);
		return -1;
	}
	return (gssize)len;
}

struct canary_public_key *canary_key_parse_public(const char *path, const void *data, gsize len,
						  GError **error)
{
	guint8 pk[crypto_box_PUBLICKEYBYTES];
	if (!parse_armor(path, KIND_PUBLIC, data, len, pk, error))
		return NULL;
	if (!usable_public(pk)) {
		g_set_error(error, CANARY_SEAL_ERROR, CANARY_SEAL_ERROR_FORMAT,
			    "%s: not a usable public key (a point of small order)", path);
		return NULL;
	}
	struct canary_public_key *key = g_new0(struct canary_public_key, 1);
	memcpy(key->bytes, pk, sizeof pk);
	key_id(key->bytes, key->id);
	return key;
}

struct canary_public_key *canary_key_load_public(const char *path, GError **error)
{
	guint8 buf[KEYFILE_MAX + 1];
	gssize len = read_keyfile(path, buf, error);
	if (len < 0)
		return NULL;
	return canary_key_parse_public(path, buf, (gsize)len, error);
}

/* Derives the secretbox key for a secret key file from PASSPHRASE into OUT
 * (guarded memory of crypto_secretbox_KEYBYTES). */
static gboolean derive_file_key(const char *path, const char *passphrase, gsize passphrase_len,
				const guint8 *salt, guint64 ops, gsize mem, guint8 *out,
				GError **error)
{
	if (crypto_pwhash(out, crypto_secretbox_KEYBYTES, passphrase, passphrase_len, salt, ops,
			  mem, crypto_pwhash_ALG_ARGON2ID13) != 0) {
		g_set_error(error, CANARY_SEAL_ERROR, CANARY_SEAL_ERROR_MEMORY,
			    "%s: not enough memory for Argon2id (%" G_GSIZE_FORMAT " MiB)", path,
			    mem >> 20);
		return FALSE;
	}
	return TRUE;
}

/* Checks the Argon2id limits stored in the secret key file at PATH: below
 * MODERATE is a weak file (made by a test build, or crafted) and refused
 * with _WEAK_KDF saying what it found and what it needs, unless ANY_WEAK
 * (rewrapping it is the way out); above the maximum, _FORMAT. */
static gboolean check_limits(const char *path, guint64 ops, guint64 mem, gboolean any_weak,
			     GError **error)
{
	if (!any_weak && (ops < KDF_OPS_MIN || mem < KDF_MEM_MIN)) {
		g_set_error(error, CANARY_SEAL_ERROR, CANARY_SEAL_ERROR_WEAK_KDF,
			    "%s: Argon2id limits too weak for a secret key file: opslimit %" G_GUINT64_FORMAT
			    " and %" G_GUINT64_FORMAT " MiB, where at least opslimit %llu and %llu MiB "
			    "are needed (a key made by a test build or with CANARY_TEST_FAST_KDF); "
			    "re-encrypt it with canary keygen --rewrap, which keeps the key",
			    path, ops, mem >> 20, (unsigned long long)KDF_OPS_MIN,
			    (unsigned long long)(KDF_MEM_MIN >> 20));
		return FALSE;
	}
	/* Argon2id's own floor, for ANY_WEAK. */
	gboolean outside = ops > KDF_OPS_MAX || mem > KDF_MEM_MAX ||
			   ops < crypto_pwhash_OPSLIMIT_MIN || mem < crypto_pwhash_MEMLIMIT_MIN;
#ifdef CANARY_TEST_KDF
	outside = outside || (kdf_capped && (ops > crypto_pwhash_OPSLIMIT_INTERACTIVE ||
					     mem > crypto_pwhash_MEMLIMIT_INTERACTIVE));
#endif
	if (outside) {
		g_set_error(
			error, CANARY_SEAL_ERROR, CANARY_SEAL_ERROR_FORMAT,
			"%s: Argon2id limits outside the accepted range (damaged or crafted file)",
			path);
		return FALSE;
	}
	return TRUE;
}

/* canary_key_parse_secret(), also of a weak file when ANY_WEAK. */
static struct canary_secret_key *parse_secret(const char *path, const void *data, gsize len,
					      const char *passphrase, gsize passphrase_len,
					      gboolean any_weak, GError **error)
{
	guint8 payload[SECRET_LEN];
	if (!parse_armor(path, KIND_SECRET, data, len, payload, error))
		return NULL;
	guint64 ops = canary_get_le64(payload + SECRET_OPS);
	guint64 mem = canary_get_le64(payload + SECRET_MEM);
	if (!check_limits(path, ops, mem, any_weak, error))
		return NULL;

	guint8 *file_key = secure_new(crypto_secretbox_KEYBYTES);
	if (!derive_file_key(path, passphrase, passphrase_len, payload + SECRET_SALT, ops,
			     (gsize)mem, file_key, error)) {
		sodium_free(file_key);
		return NULL;
	}
	struct canary_secret_key *key = secure_new(sizeof *key);
	int rc = crypto_secretbox_open_easy(key->secret, payload + SECRET_BOX, SECRET_BOXLEN,
					    payload + SECRET_NONCE, file_key);
	sodium_free(file_key); /* wipes */
	if (rc != 0) {
		/* The check value held, so the file is as written: the
		 * passphrase is wrong. */
		g_set_error(error, CANARY_SEAL_ERROR, CANARY_SEAL_ERROR_PASSPHRASE,
			    "%s: wrong passphrase", path);
		sodium_free(key);
		return NULL;
	}
	if (crypto_scalarmult_base(key->public.bytes, key->secret) != 0) {
		set_damaged(path, error);
		sodium_free(key);
		return NULL;
	}
	key_id(key->public.bytes, key->public.id);
	sodium_mprotect_readonly(key);
	return key;
}

struct canary_secret_key *canary_key_parse_secret(const char *path, const void *data, gsize len,
						  const char *passphrase, gsize passphrase_len,
						  GError **error)
{
	return parse_secret(path, data, len, passphrase, passphrase_len, FALSE, error);
}

struct canary_secret_key *canary_key_load_secret(const char *path, const char *passphrase,
						 gsize passphrase_len, GError **error)
{
	guint8 buf[KEYFILE_MAX + 1];
	gssize len = read_keyfile(path, buf, error);
	if (len < 0)
		return NULL;
	return canary_key_parse_secret(path, buf, (gsize)len, passphrase, passphrase_len, error);
}

void canary_secret_key_free(struct canary_secret_key *key)
{
	if (key != NULL)
		sodium_free(key); /* wipes, even when read-only */
}

const struct canary_public_key *canary_secret_key_public(const struct canary_secret_key *key)
{
	return &key->public;
}

struct canary_pseudonym_key *canary_key_parse_pseudonym(const char *path, const void *data,
							gsize len, GError **error)
{
	struct canary_pseudonym_key *key = secure_new(sizeof *key);
	if (!parse_armor(path, KIND_PSEUDONYM, data, len, key->key, error)) {
		sodium_free(key);
		return NULL;
	}
	crypto_kdf_derive_from_key(key->content_subkey, sizeof key->content_subkey, 1, "canaryCH",
				   key->key);
	sodium_mprotect_readonly(key);
	return key;
}

struct canary_pseudonym_key *canary_key_load_pseudonym(const char *path, GError **error)
{
	guint8 buf[KEYFILE_MAX + 1];
	gssize len = read_keyfile(path, buf, error);
	if (len < 0)
		return NULL;
	struct canary_pseudonym_key *key = canary_key_parse_pseudonym(path, buf, (gsize)len, error);
	sodium_memzero(buf, (gsize)len);
	return key;
}

void canary_pseudonym_key_free(struct canary_pseudonym_key *key)
{
	if (key != NULL)
		sodium_free(key);
}

/* --- Writing key files ---------------------------------------------------- */

/* A key file being written. Without FORCE it is created in place with
 * O_EXCL (refusing an existing file); with FORCE it is written to a
 * temporary name in the same directory and renamed over PATH. */
struct pending {
	const char *path;
	char *tmp; /* NULL when writing PATH in place */
	int fd;
	gboolean created; /* something of ours exists on disk to undo */
};

static gboolean pending_open(struct pending *p, const char *path, mode_t mode, gboolean force,
			     GError **error)
{
	p->path = path;
	p->tmp = NULL;
	p->fd = -1;
	p->created = FALSE;
	if (force) {
		g_autofree char *dir = g_path_get_dirname(path);
		g_autofree char *base = g_path_get_basename(path);
		p->tmp = g_strdup_printf("%s/.%s.XXXXXX", dir, base);
		p->fd = g_mkstemp_full(p->tmp, O_WRONLY | O_CLOEXEC, (int)mode);
	} else {
		p->fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
	}
	if (p->fd < 0) {
		int e = errno;
		if (e == EEXIST && !force)
			g_set_error(error, CANARY_SEAL_ERROR, CANARY_SEAL_ERROR_EXISTS,
				    "%s: already exists; refusing to overwrite a key file", path);
		else
			g_set_error(error, CANARY_SEAL_ERROR, CANARY_SEAL_ERROR_IO,
				    "%s: cannot create: %s", path, g_strerror(e));
		g_clear_pointer(&p->tmp, g_free);
		return FALSE;
	}
	p->created = TRUE;
	/* The exact mode, whatever the umask. */
	if (fchmod(p->fd, mode) != 0) {
		int e = errno;
		g_set_error(error, CANARY_SEAL_ERROR, CANARY_SEAL_ERROR_IO, "%s: chmod: %s", path,
			    g_strerror(e));
		return FALSE;
	}
	return TRUE;
}

/* Writes LEN bytes of TEXT, fsyncs and closes. */
static gboolean pending_write(struct pending *p, const char *text, gsize len, GError **error)
{
	if (!canary_write_all(p->fd, text, len) || fsync(p->fd) != 0)
		goto fail;
	int fd = p->fd;
	p->fd = -1;
	if (close(fd) != 0)
		goto fail;
	return TRUE;
fail:;
	int e = errno;
	g_set_error(error, CANARY_SEAL_ERROR, CANARY_SEAL_ERROR_IO, "%s: cannot write: %s", p->path,
		    g_strerror(e));
	return FALSE;
}

/* Puts the written file in place (renames it over PATH when forced). */
static gboolean pending_commit(struct pending *p, GError **error)
{
	if (p->tmp != NULL && rename(p->tmp, p->path) != 0) {
		int e = errno;
		g_set_error(error, CANARY_SEAL_ERROR, CANARY_SEAL_ERROR_IO,
			    "%s: cannot replace: %s", p->path, g_strerror(e));
		return FALSE;
	}
	g_clear_pointer(&p->tmp, g_free);
	p->created = FALSE;
	return TRUE;
}

/* Undoes what P left on disk (never a file it did not create) and frees it. */
static void pending_abort(struct pending *p)
{
	if (p->fd >= 0)
		close(p->fd);
	p->fd = -1;
	if (p->created)
		unlink(p->tmp != NULL ? p->tmp : p->path);
	p->created = FALSE;
	g_clear_pointer(&p->tmp, g_free);
}

/* Makes new and renamed entries in the directory of PATH durable. */
static gboolean sync_dir_of(const char *path, GError **error)
{
	g_autofree char *dir = g_path_get_dirname(path);
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) != 0) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		g_set_error(error, CANARY_SEAL_ERROR, CANARY_SEAL_ERROR_IO, "%s: fsync: %s", dir,
			    g_strerror(e));
		return FALSE;
	}
	close(fd);
	return TRUE;
}

/* Writes N key files (PATHS, TEXTS, MODES) all or none: on failure nothing
 * of ours is left behind. */
static gboolean write_key_files(gsize n, const char *const *paths, const char *const *texts,
				const mode_t *modes, gboolean force, GError **error)
{
	struct pending p[2];
	g_assert(n <= G_N_ELEMENTS(p));
	gsize opened = 0;
	gboolean ok = TRUE;
	/* Order is important: claim every name before writing any, so that a
	 * refusal of the second leaves no lone first file. */
	for (; ok && opened < n; opened++)
		ok = pending_open(&p[opened], paths[opened], modes[opened], force, error);
	if (!ok)
		goto undo;
	for (gsize i = 0; ok && i < n; i++)
		ok = pending_write(&p[i], texts[i], strlen(texts[i]), error);
	for (gsize i = 0; ok && i < n; i++)
		ok = pending_commit(&p[i], error);
	if (ok)
		return sync_dir_of(paths[0], error);
undo:
	for (gsize i = 0; i < opened; i++)
		pending_abort(&p[i]);
	return FALSE;
}

/* TRUE when NAME can be a key file name: no directories, not hidden. */
static gboolean plain_name(const char *name)
{
	return name != NULL && name[0] != '\0' && name[0] != '.' && strchr(name, '/') == NULL;
}

/* Argon2id limits for the new key file at PATH: MODERATE; in test builds
 * only, INTERACTIVE under CANARY_TEST_FAST_KDF=1, with a warning (once a
 * process: a test suite makes hundreds of keys, and a failure must not
 * drown in the warnings). A release build never reads the variable. */
static void new_key_limits(const char *path, guint64 *ops_r, gsize *mem_r)
{
#ifdef CANARY_TEST_KDF
	if (g_strcmp0(g_getenv("CANARY_TEST_FAST_KDF"), "1") == 0) {
		static gsize warned = 0;
		if (g_once_init_enter(&warned)) {
			canary_warning("%s: test build: a cheap Argon2id "
				       "(CANARY_TEST_FAST_KDF=1); never use this key, "
				       "or any other this process makes, for real reports",
				       path);
			g_once_init_leave(&warned, 1);
		}
		*ops_r = crypto_pwhash_OPSLIMIT_INTERACTIVE;
		*mem_r = crypto_pwhash_MEMLIMIT_INTERACTIVE;
		return;
	}
#else
	(void)path;
#endif
	*ops_r = crypto_pwhash_OPSLIMIT_MODERATE;
	*mem_r = crypto_pwhash_MEMLIMIT_MODERATE;
}

/* Returns the text of the secret key file of KEY under PASSPHRASE, or NULL
 * with an error naming PATH. */
static char *secret_file_text(const char *path, const struct canary_secret_key *key,
			      const char *passphrase, gsize passphrase_len, GError **error)
{
	guint64 ops;
	gsize mem;
	new_key_limits(path, &ops, &mem);
	guint8 payload[SECRET_LEN];
	randombytes_buf(payload + SECRET_SALT, crypto_pwhash_SALTBYTES);
	canary_put_le64(payload + SECRET_OPS, ops);
	canary_put_le64(payload + SECRET_MEM, mem);
	randombytes_buf(payload + SECRET_NONCE, crypto_secretbox_NONCEBYTES);
	guint8 *file_key = secure_new(crypto_secretbox_KEYBYTES);
	if (!derive_file_key(path, passphrase, passphrase_len, payload + SECRET_SALT, ops, mem,
			     file_key, error)) {
		sodium_free(file_key);
		return NULL;
	}
	crypto_secretbox_easy(payload + SECRET_BOX, key->secret, sizeof key->secret,
			      payload + SECRET_NONCE, file_key);
	sodium_free(file_key);
	return armor(KIND_SECRET, payload);
}

gboolean canary_key_generate(const char *dir, const char *name, const char *passphrase,
			     gsize passphrase_len, gboolean force, GError **error)
{
	if (!plain_name(name)) {
		g_set_error(
			error, CANARY_SEAL_ERROR, CANARY_SEAL_ERROR_IO,
			"key name '%s' must be a plain file name (no '/', not starting with '.')",
			name != NULL ? name : "");
		return FALSE;
	}
	g_autofree char *stem = g_build_filename(dir, name, NULL);
	g_autofree char *secret_path = g_strconcat(stem, ".key", NULL);
	g_autofree char *public_path = g_strconcat(stem, ".pub", NULL);
	if (passphrase_len == 0) {
		g_set_error(error, CANARY_SEAL_ERROR, CANARY_SEAL_ERROR_PASSPHRASE,
			    "%s: refusing an empty passphrase", secret_path);
		return FALSE;
	}
	if (!canary_passphrase_check(passphrase, passphrase_len, error))
		return FALSE;

	struct canary_secret_key *key = secure_new(sizeof *key);
	crypto_box_keypair(key->public.bytes, key->secret);
	g_autofree char *secret_text =
		secret_file_text(secret_path, key, passphrase, passphrase_len, error);
	g_autofree char *public_text = armor(KIND_PUBLIC, key->public.bytes);
	canary_secret_key_free(key);
	if (secret_text == NULL)
		return FALSE;

	const char *paths[] = {secret_path, public_path};
	const char *texts[] = {secret_text, public_text};
	const mode_t modes[] = {0600, 0644};
	return write_key_files(2, paths, texts, modes, force, error);
}

gboolean canary_key_rewrap(const char *path, const char *old_passphrase, gsize old_len,
			   const char *new_passphrase, gsize new_len, GError **error)
{
	/* Cheap first: a refused new passphrase costs no Argon2id. */
	if (!canary_passphrase_check(new_passphrase, new_len, error))
		return FALSE;
	guint8 buf[KEYFILE_MAX + 1];
	gssize len = read_keyfile(path, buf, error);
	if (len < 0)
		return FALSE;
	struct canary_secret_key *key =
		parse_secret(path, buf, (gsize)len, old_passphrase, old_len, TRUE, error);
	if (key == NULL)
		return FALSE;
	g_autofree char *text = secret_file_text(path, key, new_passphrase, new_len, error);
	canary_secret_key_free(key);
	if (text == NULL)
		return FALSE;
	/* A new file renamed over the old one: a crash leaves one or the other. */
	const char *paths[] = {path};
	const char *texts[] = {text};
	const mode_t modes[] = {0600};
	return write_key_files(1, paths, texts, modes, TRUE, error);
}

gboolean canary_key_generate_pseudonym(const char *path, gboolean force, GError **error)
{
	guint8 *key = secure_new(32);
	randombytes_buf(key, 32);
	char *text = armor(KIND_PSEUDONYM, key);
	sodium_free(key);
	const char *paths[] = {path};
	const char *texts[] = {text};
	const mode_t modes[] = {0600};
	gboolean ok = write_key_files(1, paths, texts, modes, force, error);
	canary_wipe_free(text);
	return ok;
}

/* --- Envelope encryption -------------------------------------------------- */

/* A sealed field is one format byte, then:
 *
 *   0x01 (plaintext up to SINGLE_MAX): nonce (24) | XChaCha20-Poly1305-IETF
 *        ciphertext | tag (16)
 *   0x02 (larger): secretstream header (24) | chunks, each CHUNK plaintext
 *        bytes (the last 1..CHUNK) + ABYTES; the last tagged FINAL, every
 *        other MESSAGE, so truncation and reordering fail.
 *   0x03, 0x04: the same, of the plaintext padded (canary_seal_padded_size():
 *        the text, 0x80, then zeros), so that the length tells little.
 *
 * Associated data of every message or chunk: "canary-v1\0" ("canary-v2\0"
 * when padded, so a format byte changed from one to the other fails) |
 * case id (u64 LE) | field | "\0". Fields sealed before padding came
 * (0x01, 0x02) still open; a wrapped key, always 32 bytes, is not padded. */

#define FORMAT_SINGLE        0x01
#define FORMAT_STREAM        0x02
#define FORMAT_SINGLE_PADDED 0x03
#define FORMAT_STREAM_PADDED 0x04
#define CHUNK                ((gsize)64 * 1024)
#define SINGLE_MAX           CHUNK
#define PAD_END              0x80 /* ISO/IEC 7816-4, as sodium_pad() */
#define PAD_SMALLEST         ((gsize)256)
/* Powers of two up to here: the fields that tell who wrote (identity,
 * subject, meta) fit, at little cost; longer texts and messages would
 * cost 40% more on average, so they take Padmé's rounding. */
#define PAD_POWER_OF_TWO_MAX ((gsize)4096)

#define AEAD_NONCE  crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define AEAD_TAG    crypto_aead_xchacha20poly1305_ietf_ABYTES
#define STREAM_HDR  crypto_secretstream_xchacha20poly1305_HEADERBYTES
#define STREAM_TAG  crypto_secretstream_xchacha20poly1305_ABYTES
#define STREAM_CELL (CHUNK + STREAM_TAG)

#define AD_PREFIX        "canary-v1"
#define AD_PREFIX_PADDED "canary-v2"
#define AD_PREFIX_LEN    sizeof(AD_PREFIX) /* with its NUL; both the same */

/* Content keys are made and dropped once per message, three a message,
 * and as many wait as there are messages prepared and not yet stored
 * (hundreds, when they are small). A sodium_malloc() of its own would map
 * guarded, locked pages for each 32-byte key: 4 KiB resident, and an
 * mprotect() and an munmap() (a TLB flush on every core) per key. So keys
 * are cut from slabs of guarded, locked memory instead, which are never
 * unmapped: a released key is wiped at once and keeps only the link to the
 * next free one. The keys of one slab have no guard pages between them;
 * nothing writes a key but with its fixed size. */
union key_cell {
	struct canary_content_key key;
	union key_cell *next_free;
};
/* 500 keys (16,000 bytes) fill four pages beside sodium_malloc()'s canary. */
#define KEY_SLAB_KEYS 500
static GMutex key_slab_lock;
static union key_cell *free_keys;

static struct canary_content_key *content_key_alloc(void)
{
	g_mutex_lock(&key_slab_lock);
	if (free_keys == NULL) {
		union key_cell *slab = secure_new(KEY_SLAB_KEYS * sizeof *slab);
		for (guint i = 0; i < KEY_SLAB_KEYS; i++) {
			slab[i].next_free = free_keys;
			free_keys = &slab[i];
		}
	}
	union key_cell *cell = free_keys;
	free_keys = cell->next_free;
	g_mutex_unlock(&key_slab_lock);
	sodium_memzero(cell, sizeof *cell);
	return &cell->key;
}

struct canary_content_key *canary_content_key_new(void)
{
	struct canary_content_key *key = content_key_alloc();
	crypto_aead_xchacha20poly1305_ietf_keygen(key->bytes);
	return key;
}

void canary_content_key_free(struct canary_content_key *key)
{
	if (key == NULL)
		return;
	union key_cell *cell = (union key_cell *)key;
	sodium_memzero(cell, sizeof *cell);
	g_mutex_lock(&key_slab_lock);
	cell->next_free = free_keys;
	free_keys = cell;
	g_mutex_unlock(&key_slab_lock);
}

G_STATIC_ASSERT(CANARY_SEALED_KEY_SIZE ==
		crypto_aead_xchacha20poly1305_ietf_KEYBYTES + crypto_box_SEALBYTES);

GBytes *canary_content_key_seal(const struct canary_content_key *key,
				const struct canary_public_key *recipient)
{
	gsize len = sizeof key->bytes + crypto_box_SEALBYTES;
	guint8 *out = g_malloc(len);
	if (crypto_box_seal(out, key->bytes, sizeof key->bytes, recipient->bytes) != 0) {
		g_free(out);
		return NULL;
	}
	return g_bytes_new_take(out, len);
}

/* A sealer seals a key to at most this many recipients with its own
 * ephemeral key pair (a message's keys go to three at most). */
#define SEALER_RECIPIENTS 4

struct canary_key_sealer {
	guint8 ephemeral_public[crypto_box_PUBLICKEYBYTES];
	/* 32 bytes of locked memory from the content keys' slabs. */
	struct canary_content_key *ephemeral_secret;
	guint8 sealed_to[SEALER_RECIPIENTS][crypto_box_PUBLICKEYBYTES];
	guint n_sealed_to;
};

G_STATIC_ASSERT(sizeof(struct canary_content_key) == crypto_box_SECRETKEYBYTES);

struct canary_key_sealer *canary_key_sealer_new(void)
{
	struct canary_key_sealer *sealer = g_new0(struct canary_key_sealer, 1);
	sealer->ephemeral_secret = content_key_alloc();
	crypto_box_keypair(sealer->ephemeral_public, sealer->ephemeral_secret->bytes);
	return sealer;
}

void canary_key_sealer_free(struct canary_key_sealer *sealer)
{
	if (sealer == NULL)
		return;
	canary_content_key_free(sealer->ephemeral_secret);
	g_free(sealer);
}

/* TRUE, noting RECIPIENT, if SEALER has not sealed to it yet and has room
 * to remember it: the same recipient twice would get the same shared
 * secret and nonce for two keys. */
static gboolean sealer_takes(struct canary_key_sealer *sealer,
			     const struct canary_public_key *recipient)
{
	for (guint i = 0; i < sealer->n_sealed_to; i++)
		if (sodium_memcmp(sealer->sealed_to[i], recipient->bytes, sizeof recipient->bytes) == 0)
			return FALSE;
	if (sealer->n_sealed_to == SEALER_RECIPIENTS)
		return FALSE;
	memcpy(sealer->sealed_to[sealer->n_sealed_to++], recipient->bytes, sizeof recipient->bytes);
	return TRUE;
}

GBytes *canary_key_sealer_seal(struct canary_key_sealer *sealer,
			       const struct canary_content_key *key,
			       const struct canary_public_key *recipient)
{
	if (!sealer_takes(sealer, recipient))
		return canary_content_key_seal(key, recipient);
	/* crypto_box_seal()'s own construction and layout, with the sealer's
	 * key pair: the nonce is BLAKE2b-192 of the ephemeral public key and
	 * the recipient's. */
	guint8 nonce[crypto_box_NONCEBYTES];
	crypto_generichash_state state;
	crypto_generichash_init(&state, NULL, 0, sizeof nonce);
	crypto_generichash_update(&state, sealer->ephemeral_public, crypto_box_PUBLICKEYBYTES);
	crypto_generichash_update(&state, recipient->bytes, sizeof recipient->bytes);
	crypto_generichash_final(&state, nonce, sizeof nonce);
	gsize len = sizeof key->bytes + crypto_box_SEALBYTES;
	guint8 *out = g_malloc(len);
	memcpy(out, sealer->ephemeral_public, crypto_box_PUBLICKEYBYTES);
	if (crypto_box_easy(out + crypto_box_PUBLICKEYBYTES, key->bytes, sizeof key->bytes, nonce,
			    recipient->bytes, sealer->ephemeral_secret->bytes) != 0) {
		g_free(out);
		return NULL;
	}
	return g_bytes_new_take(out, len);
}

struct canary_content_key *
canary_content_key_open(GBytes *sealed, const struct canary_secret_key *secret, GError **error)
{
	gsize len = 0;
	const guint8 *data = g_bytes_get_data(sealed, &len);
	if (len != crypto_aead_xchacha20poly1305_ietf_KEYBYTES + crypto_box_SEALBYTES) {
		g_set_error(error, CANARY_SEAL_ERROR, CANARY_SEAL_ERROR_TAMPERED,
			    "a sealed content key is damaged (%" G_GSIZE_FORMAT " bytes)", len);
		return NULL;
	}
	struct canary_content_key *key = content_key_alloc();
	if (crypto_box_seal_open(key->bytes, data, len, secret->public.bytes, secret->secret) !=
	    0) {
		g_set_error(error, CANARY_SEAL_ERROR, CANARY_SEAL_ERROR_WRONG_KEY,
			    "key %s cannot open this sealed content key (sealed to another key, "
			    "or damaged)",
			    secret->public.id);
		canary_content_key_free(key);
		return NULL;
	}
	return key;
}

static GBytes *seal_bytes(const struct canary_content_key *key, gint64 case_id, const char *field,
			  const void *plain, gsize len, gboolean pad);

GBytes *canary_content_key_wrap(const struct canary_content_key *key,
				const struct canary_content_key *wrapping, gint64 case_id,
				const char *field)
{
	return seal_bytes(wrapping, case_id, field, key->bytes, sizeof key->bytes, FALSE);
}

struct canary_content_key *canary_content_key_unwrap(GBytes *wrapped,
						     const struct canary_content_key *wrapping,
						     gint64 case_id, const char *field,
						     GError **error)
{
	g_autoptr(GBytes) plain = canary_seal_decrypt(wrapping, case_id, field, wrapped, error);
	if (plain == NULL)
		return NULL;
	gsize len = 0;
	const guint8 *bytes = g_bytes_get_data(plain, &len);
	struct canary_content_key *key = NULL;
	if (len != sizeof key->bytes) {
		g_set_error(error, CANARY_SEAL_ERROR, CANARY_SEAL_ERROR_TAMPERED,
			    "the wrapped key %s is damaged (%" G_GSIZE_FORMAT " bytes)", field, len);
		return NULL;
	}
	key = content_key_alloc();
	memcpy(key->bytes, bytes, len);
	return key;
}

/* Returns the associated data for FIELD of CASE_ID, PADDED or not (new;
 * *LEN_R its length). */
static guint8 *make_ad(gboolean padded, gint64 case_id, const char *field, gsize *len_r)
{
	gsize flen = strlen(field);
	gsize len = AD_PREFIX_LEN + 8 + flen + 1;
	guint8 *ad = g_malloc(len);
	memcpy(ad, padded ? AD_PREFIX_PADDED : AD_PREFIX, AD_PREFIX_LEN);
	canary_put_le64(ad + AD_PREFIX_LEN, (guint64)case_id);
	memcpy(ad + AD_PREFIX_LEN + 8, field, flen + 1);
	*len_r = len;
	return ad;
}

gsize canary_seal_padded_size(gsize len)
{
	if (len >= G_MAXSIZE / 2)
		return 0;
	gsize with_end = len + 1;
	if (with_end <= PAD_POWER_OF_TWO_MAX) {
		gsize size = PAD_SMALLEST;
		while (size < with_end)
			size *= 2;
		return size;
	}
	/* Padmé: keep the top log2(E) + 1 bits of a length of E + 1 bits. */
	guint e = (guint)g_bit_nth_msf(with_end, -1);
	guint s = (guint)g_bit_nth_msf(e, -1) + 1;
	gsize mask = ((gsize)1 << (e - s)) - 1;
	return (with_end + mask) & ~mask;
}

/* What is sealed: LEN bytes at M, padded to TOTAL bytes when PAD (else
 * TOTAL is LEN). SCRATCH holds the chunk where the padding begins. */
struct plaintext {
	const guint8 *m;
	gsize len, total;
	gboolean pad;
	guint8 *scratch;
};

/* The N bytes of P from DONE: M itself while the text lasts, else SCRATCH
 * filled with what is left of the text, the end marker and zeros. */
static const guint8 *plaintext_run(const struct plaintext *p, gsize done, gsize n)
{
	if (done + n <= p->len)
		return p->m + done;
	gsize text = done < p->len ? p->len - done : 0;
	if (text > 0)
		memcpy(p->scratch, p->m + done, text);
	memset(p->scratch + text, 0, n - text);
	if (done <= p->len)
		p->scratch[p->len - done] = PAD_END;
	return p->scratch;
}

/* P as one AEAD message: format byte, nonce, ciphertext, tag. */
static guint8 *seal_single(const struct canary_content_key *key, const guint8 *ad, gsize ad_len,
			   const struct plaintext *p, gsize *out_len_r)
{
	*out_len_r = 1 + AEAD_NONCE + p->total + AEAD_TAG;
	guint8 *out = g_malloc(*out_len_r);
	out[0] = p->pad ? FORMAT_SINGLE_PADDED : FORMAT_SINGLE;
	guint8 *nonce = out + 1;
	randombytes_buf(nonce, AEAD_NONCE);
	crypto_aead_xchacha20poly1305_ietf_encrypt(out + 1 + AEAD_NONCE, NULL,
						   plaintext_run(p, 0, p->total), p->total, ad,
						   ad_len, NULL, nonce, key->bytes);
	return out;
}

/* P as a stream of CHUNK-byte chunks, the last tagged FINAL; NULL when
 * its size cannot be represented. */
static guint8 *seal_stream(const struct canary_content_key *key, const guint8 *ad, gsize ad_len,
			   const struct plaintext *p, gsize *out_len_r)
{
	gsize chunks = p->total / CHUNK + (p->total % CHUNK != 0);
	gsize tags, out_len;
	if (!g_size_checked_mul(&tags, chunks, STREAM_TAG) ||
	    !g_size_checked_add(&out_len, p->total, tags) ||
	    !g_size_checked_add(&out_len, out_len, 1 + STREAM_HDR))
		return NULL;
	guint8 *out = g_malloc(out_len);
	out[0] = p->pad ? FORMAT_STREAM_PADDED : FORMAT_STREAM;
	crypto_secretstream_xchacha20poly1305_state state;
	crypto_secretstream_xchacha20poly1305_init_push(&state, out + 1, key->bytes);
	guint8 *c = out + 1 + STREAM_HDR;
	for (gsize done = 0; done < p->total;) {
		gsize n = MIN(CHUNK, p->total - done);
		guint8 tag = done + n == p->total
				     ? crypto_secretstream_xchacha20poly1305_TAG_FINAL
				     : crypto_secretstream_xchacha20poly1305_TAG_MESSAGE;
		crypto_secretstream_xchacha20poly1305_push(
			&state, c, NULL, plaintext_run(p, done, n), n, ad, ad_len, tag);
		c += n + STREAM_TAG;
		done += n;
	}
	sodium_memzero(&state, sizeof state);
	*out_len_r = out_len;
	return out;
}

/* Seals LEN bytes at PLAIN as FIELD of CASE_ID, padded first when PAD:
 * one AEAD message up to SINGLE_MAX bytes, else a stream. */
static GBytes *seal_bytes(const struct canary_content_key *key, gint64 case_id, const char *field,
			  const void *plain, gsize len, gboolean pad)
{
	static const guint8 nothing[1];
	struct plaintext p = {plain != NULL ? plain : nothing, len, len, pad, NULL};
	if (pad && (p.total = canary_seal_padded_size(len)) == 0)
		return NULL;
	gsize ad_len, out_len = 0, scratch_len = pad ? MIN(p.total, CHUNK) : 0;
	g_autofree guint8 *ad = make_ad(pad, case_id, field, &ad_len);
	if (pad)
		p.scratch = g_malloc(scratch_len);
	guint8 *out = p.total <= SINGLE_MAX ? seal_single(key, ad, ad_len, &p, &out_len)
					    : seal_stream(key, ad, ad_len, &p, &out_len);
	if (p.scratch != NULL) {
		sodium_memzero(p.scratch, scratch_len);
		g_free(p.scratch);
	}
	return out != NULL ? g_bytes_new_take(out, out_len) : NULL;
}

GBytes *canary_seal_encrypt(const struct canary_content_key *key, gint64 case_id, const char *field,
			    const void *plain, gsize len)
{
	return seal_bytes(key, case_id, field, plain, len, TRUE);
}

/* Plaintext memory that is wiped when its GBytes goes. */
struct wiped {
	gsize len;
	guint8 data[];
};

static void wiped_free(gpointer p)
{
	struct wiped *w = p;
	sodium_memzero(w->data, w->len); /* wipe, then free */
	g_free(w);
}

static void set_tampered(const char *field, GError **error)
{
	g_set_error(error, CANARY_SEAL_ERROR, CANARY_SEAL_ERROR_TAMPERED,
		    "sealed field '%s' of this case fails to authenticate (damaged, or moved from "
		    "another case or field)",
		    field);
}

/* Decrypts a FORMAT_SINGLE body C (CLEN bytes) into W (W->len bytes). */
static gboolean open_single(const struct canary_content_key *key, const guint8 *c, gsize clen,
			    const guint8 *ad, gsize ad_len, struct wiped *w)
{
	return crypto_aead_xchacha20poly1305_ietf_decrypt(w->data, NULL, NULL, c + AEAD_NONCE,
							  clen - AEAD_NONCE, ad, ad_len, c,
							  key->bytes) == 0;
}

/* Decrypts a FORMAT_STREAM body C (CLEN bytes) into W (W->len bytes). */
static gboolean open_stream(const struct canary_content_key *key, const guint8 *c, gsize clen,
			    const guint8 *ad, gsize ad_len, struct wiped *w)
{
	crypto_secretstream_xchacha20poly1305_state state;
	gboolean ok = crypto_secretstream_xchacha20poly1305_init_pull(&state, c, key->bytes) == 0;
	const guint8 *p = c + STREAM_HDR, *end = c + clen;
	guint8 *m = w->data;
	while (ok && p < end) {
		gsize n = MIN(STREAM_CELL, (gsize)(end - p));
		unsigned char tag = 0;
		ok = crypto_secretstream_xchacha20poly1305_pull(&state, m, NULL, &tag, p, n, ad,
								ad_len) == 0;
		p += n;
		m += n - STREAM_TAG;
		/* FINAL on the last chunk and only there: no cut, no splice. */
		guint8 want = p == end ? crypto_secretstream_xchacha20poly1305_TAG_FINAL
				       : crypto_secretstream_xchacha20poly1305_TAG_MESSAGE;
		ok = ok && tag == want;
	}
	sodium_memzero(&state, sizeof state);
	return ok;
}

/* The length of the text in padded plaintext P (LEN bytes): up to the
 * last PAD_END, which only zeros may follow. */
static gboolean unpadded_length(const guint8 *p, gsize len, gsize *text_len_r)
{
	gsize end = len;
	while (end > 0 && p[end - 1] == 0)
		end--;
	if (end == 0 || p[end - 1] != PAD_END)
		return FALSE;
	*text_len_r = end - 1;
	return TRUE;
}

GBytes *canary_seal_decrypt(const struct canary_content_key *key, gint64 case_id, const char *field,
			    GBytes *sealed, GError **error)
{
	gsize len = 0;
	const guint8 *data = g_bytes_get_data(sealed, &len);
	if (data == NULL || len < 1) {
		set_tampered(field, error);
		return NULL;
	}
	const guint8 *c = data + 1;
	gsize clen = len - 1, plen;
	gboolean padded = data[0] == FORMAT_SINGLE_PADDED || data[0] == FORMAT_STREAM_PADDED;
	gboolean single = data[0] == FORMAT_SINGLE || data[0] == FORMAT_SINGLE_PADDED;
	gboolean stream = data[0] == FORMAT_STREAM || data[0] == FORMAT_STREAM_PADDED;
	if (single && clen >= AEAD_NONCE + AEAD_TAG) {
		plen = clen - AEAD_NONCE - AEAD_TAG;
	} else if (stream && clen >= STREAM_HDR + STREAM_TAG) {
		gsize body = clen - STREAM_HDR;
		gsize cells = body / STREAM_CELL + (body % STREAM_CELL != 0);
		if (body % STREAM_CELL != 0 && body % STREAM_CELL < STREAM_TAG) {
			set_tampered(field, error);
			return NULL;
		}
		plen = body - cells * STREAM_TAG;
	} else {
		set_tampered(field, error);
		return NULL;
	}
	if (plen > G_MAXSIZE - sizeof(struct wiped)) {
		set_tampered(field, error);
		return NULL;
	}

	gsize ad_len;
	g_autofree guint8 *ad = make_ad(padded, case_id, field, &ad_len);
	struct wiped *w = g_malloc(sizeof *w + plen);
	w->len = plen;
	gboolean ok = single ? open_single(key, c, clen, ad, ad_len, w)
			     : open_stream(key, c, clen, ad, ad_len, w);
	gsize text_len = plen;
	if (!ok || (padded && !unpadded_length(w->data, plen, &text_len))) {
		wiped_free(w); /* may hold chunks that did authenticate */
		set_tampered(field, error);
		return NULL;
	}
	return g_bytes_new_with_free_func(w->data, text_len, wiped_free, w);
}

/* --- Pseudonyms and hashes ------------------------------------------------ */

/* Crockford's base32: no I, L, O, U. */
static const char crockford[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/* Returns ADDRESS normalised for pseudonyms (new; wipe it): NFKC, case
 * folded, surrounding white space removed. Invalid UTF-8 is only trimmed and
 * ASCII-lowered; it stays invalid, so it cannot meet a valid address. */
static char *normalise_address(const char *address)
{
	if (!g_utf8_validate(address, -1, NULL)) {
		char *trimmed = g_strstrip(g_strdup(address));
		char *lower = g_ascii_strdown(trimmed, -1);
		canary_wipe_free(trimmed);
		return lower;
	}
	char *nfkc = g_utf8_normalize(address, -1, G_NORMALIZE_NFKC);
	char *folded = g_utf8_casefold(nfkc, -1);
	char *again = g_utf8_normalize(folded, -1, G_NORMALIZE_NFKC);
	canary_wipe_free(nfkc);
	canary_wipe_free(folded);
	/* After NFKC, odd spaces (no-break, ideographic) are plain ones. */
	char *result = g_strdup(g_strstrip(again));
	canary_wipe_free(again);
	return result;
}

char *canary_seal_pseudonym(const struct canary_pseudonym_key *key, const char *address)
{
	char *norm = normalise_address(address);
	guint8 hash[crypto_generichash_BYTES_MIN];
	crypto_generichash(hash, sizeof hash, (const guint8 *)norm, strlen(norm), key->key,
			   sizeof key->key);
	canary_wipe_free(norm);
	guint64 v = 0;
	for (int i = 0; i < 5; i++)
		v = v << 8 | hash[i];
	sodium_memzero(hash, sizeof hash);
	char code[] = "P-XXXX-XXXX";
	for (int i = 0; i < 8; i++)
		code[i < 4 ? 2 + i : 3 + i] = crockford[(v >> (35 - 5 * i)) & 31];
	return g_strdup(code);
}

void canary_seal_content_hash(const struct canary_pseudonym_key *key, const void *data, gsize len,
			      guint8 out[32])
{
	static const guint8 nothing[1];
	const guint8 *d = data != NULL ? data : nothing;
	if (key != NULL)
		crypto_generichash(out, 32, d, len, key->content_subkey,
				   sizeof key->content_subkey);
	else
		crypto_generichash(out, 32, d, len, NULL, 0);
}

void canary_seal_keyed_hash(const struct canary_pseudonym_key *key, const char *context,
			    const void *data, gsize len, guint8 out[32])
{
	g_return_if_fail(key != NULL && strlen(context) == crypto_kdf_CONTEXTBYTES);
	static const guint8 nothing[1];
	guint8 subkey[32];
	crypto_kdf_derive_from_key(subkey, sizeof subkey, 1, context, key->key);
	crypto_generichash(out, 32, data != NULL ? data : nothing, len, subkey, sizeof subkey);
	sodium_memzero(subkey, sizeof subkey);
}

gboolean canary_seal_hash_equal(const guint8 a[32], const guint8 b[32])
{
	return sodium_memcmp(a, b, 32) == 0;
}
