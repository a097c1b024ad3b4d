/* seal.c: all of canary's cryptography, on libsodium. Key files are small
 * versioned text files with a magic first line; secret keys are encrypted
 * under a passphrase (Argon2id, then XSalsa20-Poly1305); case fields are
 * XChaCha20-Poly1305 under per-case keys sealed with crypto_box_seal. */
#include "seal.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

G_DEFINE_QUARK(canary-seal-error-quark, canary_seal_error)

#define MAGIC_PUBLIC "canary-public-key-v1"
#define MAGIC_SECRET "canary-secret-key-v1"
#define MAGIC_PSEUDONYM "canary-pseudonym-key-v1"
#define KEY_FILE_MAX 4096

/* Associated data prefix: versions the binding of blobs to case and field. */
#define AD_PREFIX "canary-v1"

/* Blob format versions (first byte of every sealed field). */
#define BLOB_SINGLE 1 /* nonce | ciphertext+tag */
#define BLOB_STREAM 2 /* secretstream header | chunks */
#define STREAM_CHUNK (64 * 1024)

struct canary_secret_key {
	guint8 secret[crypto_box_SECRETKEYBYTES];
	struct canary_public_key public;
};

struct canary_pseudonym_key {
	guint8 bytes[32];
};

struct canary_content_key {
	guint8 bytes[crypto_aead_xchacha20poly1305_ietf_KEYBYTES];
};

/* The serialised secret key: salt, limits, nonce, then the sealed key. */
#define SECRET_BLOB_LEN                                                                   \
	(crypto_pwhash_SALTBYTES + 8 + 8 + crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + \
	 crypto_box_SECRETKEYBYTES)

gboolean canary_seal_init(GError **error)
{
	if (sodium_init() < 0) {
		g_set_error(error, CANARY_SEAL_ERROR, CANARY_SEAL_ERROR_INIT,
			    "libsodium could not start");
		return FALSE;
	}
	return TRUE;
}

void canary_wipe(void *p, gsize len)
{
	if (p != NULL && len > 0)
		sodium_memzero(p, len);
}

void canary_wipe_free(char *s)
{
	if (s == NULL)
		return;
	sodium_memzero(s, strlen(s));
	g_free(s);
}

/* Allocates zeroed guarded memory for a key, or aborts: without memory for
 * a key nothing sensible can go on. */
static void *secure_alloc(gsize size)
{
	void *p = sodium_malloc(size);
	if (p == NULL)
		g_error("out of memory for key material");
	memset(p, 0, size);
	return p;
}

/* Fills KEY's id from its bytes. */
static void set_key_id(struct canary_public_key *key)
{
	guint8 h[CANARY_KEY_ID_LEN / 2];
	crypto_generichash(h, sizeof(h), key->bytes, sizeof(key->bytes), NULL, 0);
	sodium_bin2hex(key->id, sizeof(key->id), h, sizeof(h));
}

/* Whether the fast test-only Argon2id limits were asked for. */
static gboolean fast_kdf(void)
{
	return g_getenv("CANARY_TEST_FAST_KDF") != NULL;
}

/* --- Writing key files ------------------------------------------------- */

/* Writes LEN bytes of DATA to PATH with MODE: refused if PATH exists
 * unless FORCE; then through a temporary file, fsync and rename. */
static gboolean write_key_file(const char *path, const char *data, gsize len, mode_t mode,
			       gboolean force, GError **error)
{
	if (!force && g_file_test(path, G_FILE_TEST_EXISTS)) {
		g_set_error(error, CANARY_SEAL_ERROR, CANARY_SEAL_ERROR_EXISTS,
			    "%s: already exists; keys are never overwritten without --force", path);
		return FALSE;
	}
	g_autofree char *tmp = g_strdup_printf("%s.tmp-XXXXXX", path);
	int fd = g_mkstemp_full(tmp, O_WRONLY | O_CLOEXEC, (int)mode);
	if (fd < 0) {
		g_set_error(error, CANARY_SEAL_ERROR, CANARY_SEAL_ERROR_IO, "%s: %s", path,
			    g_strerror(errno));
		return FALSE;
	}
	gboolean ok = fchmod(fd, mode) == 0;
	for (gsize done = 0; ok && done < len;) {
		ssize_t n = write(fd, data + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		ok = n > 0;
		done += ok ? (gsize)n : 0;
	}
	ok = ok && fsync(fd) == 0;
	int saved = errno;
	ok = close(fd) == 0 && ok;
	// Order is important: the key is durable before it takes the name.
	if (ok && !force && link(tmp, path) != 0) {
		saved = errno;
		ok = FALSE;
	} else if (ok && force && rename(tmp, path) != 0) {
		saved = errno;
		ok = FALSE;
	}
	unlink(tmp);
	if (!ok) {
		g_set_error(error, CANARY_SEAL_ERROR,
			    saved == EEXIST ? CANARY_SEAL_ERROR_EXISTS : CANARY_SEAL_ERROR_IO,
			    "%s: %s", path, g_strerror(saved));
		return FALSE;
	}
	return TRUE;
}

/* Formats MAGIC and base64 of DATA as a key file's text. New string. */
static char *key_file_text(const char *magic, const guint8 *data, gsize len)
{
	g_autofree char *b64 = g_base64_encode(data, len);
	char *text = g_strdup_printf("%s\n%s\n", magic, b64);
	canary_wipe(b64, strlen(b64));
	return text;
}

/* Checks NAME is a plain file name. */
static gboolean valid_key_name(const char *name, GError **error)
{
	if (name[0] == '\0' || name[0] == '.' || strchr(name, '/') != NULL) {
		g_set_error(error, CANARY_SEAL_ERROR, CANARY_SEAL_ERROR_IO,
			    "'%s' is not a key name: use letters, digits, '-' or '_'", name);
		return FALSE;
	}
	return TRUE;
}

gboolean canary_key_generate(const char *dir, const char *name, const char *passphrase,
			     gsize passphrase_len, gboolean force, GError **error)
{
	if (!valid_key_name(name, error))
		return FALSE;
	g_autofree char *pub_name = g_strdup_printf("%s.pub", name);
	g_autofree char *key_name = g_strdup_printf("%s.key", name);
	g_autofree char *pub_path = g_build_filename(dir, pub_name, NULL);
	g_autofree char *key_path = g_build_filename(dir, key_name, NULL);
	if (!force && (g_file_test(pub_path, G_FILE_TEST_EXISTS) ||
		       g_file_test(key_path, G_FILE_TEST_EXISTS))) {
		g_set_error(error, CANARY_SEAL_ERROR, CANARY_SEAL_ERROR_EXISTS,
			    "%s: a key of that name exists; keys are never overwritten without "
			    "--force",
			    g_file_test(key_path, G_FILE_TEST_EXISTS) ? key_path : pub_path);
		return FALSE;
	}

	guint8 pk[crypto_box_PUBLICKEYBYTES];
	guint8 *blob = secure_alloc(SECRET_BLOB_LEN);
	guint8 *sk = secure_alloc(crypto_box_SECRETKEYBYTES);
	guint8 *kek = secure_alloc(crypto_secretbox_KEYBYTES);
	crypto_box_keypair(pk, sk);

	guint8 *salt = blob;
	guint8 *limits = salt + crypto_pwhash_SALTBYTES;
	guint8 *nonce = limits + 16;
	guint8 *boxed = nonce + crypto_secretbox_NONCEBYTES;
	guint64 ops = fast_kdf() ? crypto_pwhash_OPSLIMIT_INTERACTIVE : crypto_pwhash_OPSLIMIT_MODERATE;
	guint64 mem = fast_kdf() ? crypto_pwhash_MEMLIMIT_INTERACTIVE : crypto_pwhash_MEMLIMIT_MODERATE;
	randombytes_buf(salt, crypto_pwhash_SALTBYTES);
	randombytes_buf(nonce, crypto_secretbox_NONCEBYTES);
	guint64 ops_le = GUINT64_TO_LE(ops), mem_le = GUINT64_TO_LE(mem);
	memcpy(limits, &ops_le, 8);
	memcpy(limits + 8, &mem_le, 8);

	gboolean ok = FALSE;
	char *pub_text = NULL, *key_text = NULL;
	if (crypto_pwhash(kek, crypto_secretbox_KEYBYTES, passphrase, passphrase_len, salt, ops,
			  (size_t)mem, crypto_pwhash_ALG_ARGON2ID13) != 0) {
		g_set_error(error, CANARY_SEAL_ERROR, CANARY_SEAL_ERROR_INIT,
			    "not enough memory to derive the key from the passphrase");
		goto out;
	}
	crypto_secretbox_easy(boxed, sk, crypto_box_SECRETKEYBYTES, nonce, kek);
	pub_text = key_file_text(MAGIC_PUBLIC, pk, sizeof(pk));
	key_text = key_file_text(MAGIC_SECRET, blob, SECRET_BLOB_LEN);
	ok = write_key_file(key_path, key_text, strlen(key_text), 0600, force, error) &&
	     write_key_file(pub_path, pub_text, strlen(pub_text), 0644, force, error);
out:
	g_free(pub_text);
	canary_wipe_free(key_text);
	sodium_free(kek);
	sodium_free(sk);
	sodium_free(blob);
	return ok;
}

gboolean canary_key_generate_pseudonym(const char *path, gboolean force, GError **error)
{
	guint8 *key = secure_alloc(32);
	randombytes_buf(key, 32);
	char *text = key_file_text(MAGIC_PSEUDONYM, key, 32);
	gboolean ok = write_key_file(path, text, strlen(text), 0600, force, error);
	canary_wipe_free(text);
	sodium_free(key);
	return ok;
}

/* --- Reading key files ------------------------------------------------- */

/* Reads PATH whole (small files only). */
static char *read_key_file(const char *path, gsize *len_r, GError **error)
{
	struct stat st;
	if (stat(path, &st) != 0) {
		g_set_error(error, CANARY_SEAL_ERROR, CANARY_SEAL_ERROR_IO, "%s: %s", path,
			    g_strerror(errno));
		return NULL;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > KEY_FILE_MAX) {
		g_set_error(error, CANARY_SEAL_ERROR, CANARY_SEAL_ERROR_FORMAT,
			    "%s: not a canary key file", path);
		return NULL;
	}
	char *data = NULL;
	g_autoptr(GError) local = NULL;
	if (!g_file_get_contents(path, &data, len_r, &local)) {
		g_set_error(error, CANARY_SEAL_ERROR, CANARY_SEAL_ERROR_IO, "%s: %s", path,
			    local->message);
		return NULL;
	}
	return data;
}

/* Splits key file text into its magic line and decoded payload. Returns the
 * payload (wipe it) or NULL; *MAGIC_R points into a static list. */
static guint8 *decode_key_file(const char *path, const void *data, gsize len,
			       const char **magic_r, gsize *payload_len_r, GError **error)
{
	static const char *const magics[] = { MAGIC_PUBLIC, MAGIC_SECRET, MAGIC_PSEUDONYM };
	*magic_r = NULL;
	const char *text = data;
	for (size_t i = 0; i < G_N_ELEMENTS(magics); i++) {
		gsize m = strlen(magics[i]);
		if (len > m && memcmp(text, magics[i], m) == 0 && text[m] == '\n') {
			*magic_r = magics[i];
			break;
		}
	}
	if (*magic_r == NULL || len > KEY_FILE_MAX) {
		g_set_error(error, CANARY_SEAL_ERROR, CANARY_SEAL_ERROR_FORMAT,
			    "%s: not a canary key file", path);
		return NULL;
	}
	gsize start = strlen(*magic_r) + 1;
	char *b64 = g_strndup(text + start, len - start);
	g_strstrip(b64);
	gboolean clean = b64[0] != '\0';
	for (const char *p = b64; *p != '\0' && clean; p++)
		clean = g_ascii_isalnum(*p) || *p == '+' || *p == '/' || *p == '=';
	guint8 *payload = NULL;
	if (clean && strlen(b64) % 4 == 0)
		payload = g_base64_decode(b64, payload_len_r);
	canary_wipe_free(b64);
	if (payload == NULL) {
		g_set_error(error, CANARY_SEAL_ERROR, CANARY_SEAL_ERROR_FORMAT,
			    "%s: truncated or damaged key file", path);
		return NULL;
	}
	return payload;
}

/* Frees a decoded payload after wiping it. */
static void free_payload(guint8 *payload, gsize len)
{
	canary_wipe(payload, len);
	g_free(payload);
}

/* Checks the file's kind is WANT, naming what it is otherwise. */
static gboolean expect_kind(const char *path, const char *magic, const char *want, GError **error)
{
	if (strcmp(magic, want) == 0)
		return TRUE;
	const char *is = strcmp(magic, MAGIC_SECRET) == 0	 ? "a secret key file"
			 : strcmp(magic, MAGIC_PUBLIC) == 0 ? "a public key file"
							    : "a pseudonym key file";
	const char *hint = strcmp(want, MAGIC_PUBLIC) == 0   ? "give the public key (.pub)"
			   : strcmp(want, MAGIC_SECRET) == 0 ? "give the secret key (.key)"
							     : "give the pseudonym key";
	g_set_error(error, CANARY_SEAL_ERROR, CANARY_SEAL_ERROR_WRONG_KIND, "%s: this is %s; %s",
		    path, is, hint);
	return FALSE;
}

struct canary_public_key *canary_key_parse_public(const char *path, const void *data, gsize len,
						  GError **error)
{
	const char *magic = NULL;
	gsize n = 0;
	guint8 *payload = decode_key_file(path, data, len, &magic, &n, error);
	if (payload == NULL)
		return NULL;
	struct canary_public_key *key = NULL;
	if (!expect_kind(path, magic, MAGIC_PUBLIC, error))
		goto out;
	if (n != crypto_box_PUBLICKEYBYTES) {
		g_set_error(error, CANARY_SEAL_ERROR, CANARY_SEAL_ERROR_FORMAT,
			    "%s: truncated or damaged key file", path);
		goto out;
	}
	key = g_new0(struct canary_public_key, 1);
	memcpy(key->bytes, payload, n);
	set_key_id(key);
out:
	free_payload(payload, n);
	return key;
}

struct canary_public_key *canary_key_load_public(const char *path, GError **error)
{
	gsize len = 0;
	g_autofree char *data = read_key_file(path, &len, error);
	return data != NULL ? canary_key_parse_public(path, data, len, error) : NULL;
}

/* Reads a stored Argon2id limit, refusing values outside the bounds a
 * canary key may use (a crafted file must not cost us hours or terabytes). */
static gboolean read_limit(const guint8 *p, guint64 min, guint64 max, guint64 *value_r)
{
	guint64 le;
	memcpy(&le, p, 8);
	*value_r = GUINT64_FROM_LE(le);
	return *value_r >= min && *value_r <= max;
}

struct canary_secret_key *canary_key_parse_secret(const char *path, const void *data, gsize len,
						  const char *passphrase, gsize passphrase_len,
						  GError **error)
{
	const char *magic = NULL;
	gsize n = 0;
	guint8 *payload = decode_key_file(path, data, len, &magic, &n, error);
	if (payload == NULL)
		return NULL;
	struct canary_secret_key *key = NULL;
	guint8 *kek = NULL;
	guint64 ops = 0, mem = 0;
	if (!expect_kind(path, magic, MAGIC_SECRET, error))
		goto out;
	const guint8 *salt = payload;
	const guint8 *limits = salt + crypto_pwhash_SALTBYTES;
	const guint8 *nonce = limits + 16;
	const guint8 *boxed = nonce + crypto_secretbox_NONCEBYTES;
#ifdef CANARY_FUZZING
	const guint64 max_ops = crypto_pwhash_OPSLIMIT_INTERACTIVE;
	const guint64 max_mem = crypto_pwhash_MEMLIMIT_INTERACTIVE;
#else
	const guint64 max_ops = crypto_pwhash_OPSLIMIT_SENSITIVE;
	const guint64 max_mem = crypto_pwhash_MEMLIMIT_SENSITIVE;
#endif
	if (n != SECRET_BLOB_LEN ||
	    !read_limit(limits, crypto_pwhash_OPSLIMIT_INTERACTIVE, max_ops, &ops) ||
	    !read_limit(limits + 8, crypto_pwhash_MEMLIMIT_INTERACTIVE, max_mem, &mem)) {
		g_set_error(error, CANARY_SEAL_ERROR, CANARY_SEAL_ERROR_FORMAT,
			    "%s: truncated or damaged key file", path);
		goto out;
	}
	kek = secure_alloc(crypto_secretbox_KEYBYTES);
	if (crypto_pwhash(kek, crypto_secretbox_KEYBYTES, passphrase, passphrase_len, salt, ops,
			  (size_t)mem, crypto_pwhash_ALG_ARGON2ID13) != 0) {
		g_set_error(error, CANARY_SEAL_ERROR, CANARY_SEAL_ERROR_INIT,
			    "%s: not enough memory to derive the key from the passphrase", path);
		goto out;
	}
	key = secure_alloc(sizeof(*key));
	if (crypto_secretbox_open_easy(key->secret, boxed,
				       crypto_box_SECRETKEYBYTES + crypto_secretbox_MACBYTES, nonce,
				       kek) != 0) {
		g_set_error(error, CANARY_SEAL_ERROR, CANARY_SEAL_ERROR_PASSPHRASE,
			    "%s: wrong passphrase (or a damaged key file)", path);
		canary_secret_key_free(key);
		key = NULL;
		goto out;
	}
	crypto_scalarmult_base(key->public.bytes, key->secret);
	set_key_id(&key->public);
out:
	if (kek != NULL)
		sodium_free(kek);
	free_payload(payload, n);
	return key;
}

struct canary_secret_key *canary_key_load_secret(const char *path, const char *passphrase,
						 gsize passphrase_len, GError **error)
{
	gsize len = 0;
	char *data = read_key_file(path, &len, error);
	if (data == NULL)
		return NULL;
	struct canary_secret_key *key =
		canary_key_parse_secret(path, data, len, passphrase, passphrase_len, error);
	canary_wipe(data, len);
	g_free(data);
	return key;
}

void canary_secret_key_free(struct canary_secret_key *key)
{
	if (key != NULL)
		sodium_free(key); /* wipes */
}

const struct canary_public_key *canary_secret_key_public(const struct canary_secret_key *key)
{
	return &key->public;
}

struct canary_pseudonym_key *canary_key_load_pseudonym(const char *path, GError **error)
{
	gsize len = 0;
	char *data = read_key_file(path, &len, error);
	if (data == NULL)
		return NULL;
	const char *magic = NULL;
	gsize n = 0;
	guint8 *payload = decode_key_file(path, data, len, &magic, &n, error);
	canary_wipe(data, len);
	g_free(data);
	if (payload == NULL)
		return NULL;
	struct canary_pseudonym_key *key = NULL;
	if (expect_kind(path, magic, MAGIC_PSEUDONYM, error)) {
		if (n == 32) {
			key = secure_alloc(sizeof(*key));
			memcpy(key->bytes, payload, 32);
		} else {
			g_set_error(error, CANARY_SEAL_ERROR, CANARY_SEAL_ERROR_FORMAT,
				    "%s: truncated or damaged key file", path);
		}
	}
	free_payload(payload, n);
	return key;
}

void canary_pseudonym_key_free(struct canary_pseudonym_key *key)
{
	if (key != NULL)
		sodium_free(key);
}

/* --- Envelope -------------------------------------------------------- */

struct canary_content_key *canary_content_key_new(void)
{
	struct canary_content_key *key = secure_alloc(sizeof(*key));
	crypto_aead_xchacha20poly1305_ietf_keygen(key->bytes);
	return key;
}

void canary_content_key_free(struct canary_content_key *key)
{
	if (key != NULL)
		sodium_free(key);
}

GBytes *canary_content_key_seal(const struct canary_content_key *key,
				const struct canary_public_key *recipient)
{
	gsize len = crypto_box_SEALBYTES + sizeof(key->bytes);
	guint8 *sealed = g_malloc(len);
	crypto_box_seal(sealed, key->bytes, sizeof(key->bytes), recipient->bytes);
	return g_bytes_new_take(sealed, len);
}

struct canary_content_key *canary_content_key_open(GBytes *sealed,
						   const struct canary_secret_key *secret,
						   GError **error)
{
	gsize len = 0;
	const guint8 *data = g_bytes_get_data(sealed, &len);
	struct canary_content_key *key = secure_alloc(sizeof(*key));
	if (len != crypto_box_SEALBYTES + sizeof(key->bytes) ||
	    crypto_box_seal_open(key->bytes, data, len, secret->public.bytes, secret->secret) != 0) {
		canary_content_key_free(key);
		g_set_error(error, CANARY_SEAL_ERROR, CANARY_SEAL_ERROR_WRONG_KEY,
			    "key %s cannot open it", secret->public.id);
		return NULL;
	}
	return key;
}

/* Builds the associated data binding a blob to CASE_ID and FIELD. */
static GByteArray *associated_data(gint64 case_id, const char *field)
{
	GByteArray *ad = g_byte_array_new();
	g_byte_array_append(ad, (const guint8 *)AD_PREFIX, sizeof(AD_PREFIX)); /* with NUL */
	guint64 id_le = GUINT64_TO_LE((guint64)case_id);
	g_byte_array_append(ad, (const guint8 *)&id_le, 8);
	g_byte_array_append(ad, (const guint8 *)field, (guint)strlen(field) + 1);
	return ad;
}

/* Frees a plaintext buffer after wiping it (GBytes free function). */
static void wipe_and_free(gpointer data, gsize len)
{
	canary_wipe(data, len);
	g_free(data);
}

struct wiped {
	gpointer data;
	gsize len;
};

static void free_wiped(gpointer p)
{
	struct wiped *w = p;
	wipe_and_free(w->data, w->len);
	g_free(w);
}

/* Returns a GBytes owning DATA that wipes it when freed. */
static GBytes *bytes_wiped(gpointer data, gsize len)
{
	struct wiped *w = g_new(struct wiped, 1);
	w->data = data;
	w->len = len;
	return g_bytes_new_with_free_func(data, len, free_wiped, w);
}

GBytes *canary_seal_encrypt(const struct canary_content_key *key, gint64 case_id,
			    const char *field, const void *plain, gsize len)
{
	g_autoptr(GByteArray) ad = associated_data(case_id, field);
	if (len <= STREAM_CHUNK) {
		gsize out_len = 1 + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES + len +
				crypto_aead_xchacha20poly1305_ietf_ABYTES;
		guint8 *out = g_malloc(out_len);
		out[0] = BLOB_SINGLE;
		guint8 *nonce = out + 1;
		randombytes_buf(nonce, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
		crypto_aead_xchacha20poly1305_ietf_encrypt(
			nonce + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES, NULL, plain, len,
			ad->data, ad->len, NULL, nonce, key->bytes);
		return g_bytes_new_take(out, out_len);
	}
	/* Large: 64 KiB chunks, each authenticated, the last one tagged FINAL
	 * so that a truncated blob fails. */
	gsize chunks = (len + STREAM_CHUNK - 1) / STREAM_CHUNK;
	gsize out_len = 1 + crypto_secretstream_xchacha20poly1305_HEADERBYTES + len +
			chunks * crypto_secretstream_xchacha20poly1305_ABYTES;
	guint8 *out = g_malloc(out_len);
	out[0] = BLOB_STREAM;
	crypto_secretstream_xchacha20poly1305_state state;
	crypto_secretstream_xchacha20poly1305_init_push(&state, out + 1, key->bytes);
	guint8 *w = out + 1 + crypto_secretstream_xchacha20poly1305_HEADERBYTES;
	const guint8 *r = plain;
	for (gsize left = len; left > 0;) {
		gsize n = MIN(left, (gsize)STREAM_CHUNK);
		left -= n;
		guint8 tag = left == 0 ? crypto_secretstream_xchacha20poly1305_TAG_FINAL : 0;
		crypto_secretstream_xchacha20poly1305_push(&state, w, NULL, r, n, ad->data, ad->len,
							   tag);
		w += n + crypto_secretstream_xchacha20poly1305_ABYTES;
		r += n;
	}
	sodium_memzero(&state, sizeof(state));
	return g_bytes_new_take(out, out_len);
}

/* Sets the error for a blob that does not open. */
static void set_tampered(const char *field, GError **error)
{
	g_set_error(error, CANARY_SEAL_ERROR, CANARY_SEAL_ERROR_TAMPERED,
		    "sealed field '%s' of this case fails to authenticate (damaged, or moved from "
		    "another case or field)",
		    field);
}

/* Opens a BLOB_STREAM blob of LEN bytes at IN (version byte skipped). */
static GBytes *decrypt_stream(const struct canary_content_key *key, const GByteArray *ad,
			      const guint8 *in, gsize len, const char *field, GError **error)
{
	const gsize header = crypto_secretstream_xchacha20poly1305_HEADERBYTES;
	const gsize abytes = crypto_secretstream_xchacha20poly1305_ABYTES;
	const gsize framed = STREAM_CHUNK + abytes;
	if (len < header + abytes) {
		set_tampered(field, error);
		return NULL;
	}
	gsize body = len - header;
	gsize plain_max = body; /* an upper bound: each chunk also carries ABYTES */
	guint8 *out = g_malloc(plain_max + 1);
	crypto_secretstream_xchacha20poly1305_state state;
	if (crypto_secretstream_xchacha20poly1305_init_pull(&state, in, key->bytes) != 0)
		goto fail;
	gsize done = 0;
	const guint8 *r = in + header;
	gboolean final = FALSE;
	for (gsize left = body; left > 0;) {
		gsize n = MIN(left, framed);
		unsigned long long got = 0;
		guint8 tag = 0;
		if (final || n < abytes ||
		    crypto_secretstream_xchacha20poly1305_pull(&state, out + done, &got, &tag, r, n,
							       ad->data, ad->len) != 0)
			goto fail;
		final = tag == crypto_secretstream_xchacha20poly1305_TAG_FINAL;
		done += got;
		r += n;
		left -= n;
	}
	if (!final)
		goto fail;
	sodium_memzero(&state, sizeof(state));
	return bytes_wiped(out, done);
fail:
	sodium_memzero(&state, sizeof(state));
	wipe_and_free(out, plain_max + 1);
	set_tampered(field, error);
	return NULL;
}

GBytes *canary_seal_decrypt(const struct canary_content_key *key, gint64 case_id,
			    const char *field, GBytes *sealed, GError **error)
{
	gsize len = 0;
	const guint8 *in = g_bytes_get_data(sealed, &len);
	g_autoptr(GByteArray) ad = associated_data(case_id, field);
	if (len >= 1 && in[0] == BLOB_STREAM)
		return decrypt_stream(key, ad, in + 1, len - 1, field, error);
	const gsize overhead = 1 + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES +
			       crypto_aead_xchacha20poly1305_ietf_ABYTES;
	if (len < overhead || in[0] != BLOB_SINGLE) {
		set_tampered(field, error);
		return NULL;
	}
	gsize plain_len = len - overhead;
	guint8 *out = g_malloc(plain_len + 1);
	const guint8 *nonce = in + 1;
	const guint8 *cipher = nonce + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(
		    out, NULL, NULL, cipher, len - 1 - crypto_aead_xchacha20poly1305_ietf_NPUBBYTES,
		    ad->data, ad->len, nonce, key->bytes) != 0) {
		wipe_and_free(out, plain_len + 1);
		set_tampered(field, error);
		return NULL;
	}
	return bytes_wiped(out, plain_len);
}

/* --- Pseudonyms and hashes ---------------------------------------------- */

char *canary_seal_pseudonym(const struct canary_pseudonym_key *key, const char *address)
{
	/* Crockford's base32: no I, L, O, U to misread. */
	static const char alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
	g_autofree char *trimmed = g_strstrip(g_strdup(address));
	g_autofree char *nfkc = g_utf8_normalize(trimmed, -1, G_NORMALIZE_NFKC);
	g_autofree char *folded = g_utf8_strdown(nfkc != NULL ? nfkc : trimmed, -1);
	guint8 h[5];
	crypto_generichash(h, sizeof(h), (const guint8 *)folded, strlen(folded), key->bytes,
			   sizeof(key->bytes));
	guint64 bits = 0;
	for (size_t i = 0; i < sizeof(h); i++)
		bits = (bits << 8) | h[i];
	char code[8];
	for (int i = 7; i >= 0; i--) {
		code[i] = alphabet[bits & 31];
		bits >>= 5;
	}
	canary_wipe(trimmed, strlen(trimmed));
	canary_wipe(folded, strlen(folded));
	if (nfkc != NULL)
		canary_wipe(nfkc, strlen(nfkc));
	return g_strdup_printf("P-%.4s-%.4s", code, code + 4);
}

void canary_seal_content_hash(const struct canary_pseudonym_key *key, const void *data,
			      gsize len, guint8 out[32])
{
	if (key == NULL) {
		crypto_generichash(out, 32, data, len, NULL, 0);
		return;
	}
	/* A subkey of its own: the pseudonym key is never used twice alike. */
	guint8 subkey[32];
	crypto_generichash(subkey, sizeof(subkey), (const guint8 *)"canary content hash", 19,
			   key->bytes, sizeof(key->bytes));
	crypto_generichash(out, 32, data, len, subkey, sizeof(subkey));
	sodium_memzero(subkey, sizeof(subkey));
}

void canary_seal_chain_hash(const void *data, gsize len, guint8 out[32])
{
	crypto_generichash(out, 32, data, len, NULL, 0);
}

gboolean canary_seal_hash_equal(const guint8 a[32], const guint8 b[32])
{
	return sodium_memcmp(a, b, 32) == 0;
}
