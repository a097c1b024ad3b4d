/* audit.c: the forward-secure seal of the case history (see audit.h for the
 * scheme): the evolving key and its file, the MAC of each event, the head
 * proof, and the check that canary audit runs with the verification key. */
#include "audit.h"

#include "access.h"
#include "case.h"
#include "case_ops.h"
#include "fdio.h"
#include "seal.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

// clang-format off
G_DEFINE_QUARK(canary-audit-error-quark, canary_audit_error)
// clang-format on

/* crypto_kdf's context and subkey ids: the next key, the MAC key, the id. */
#define KDF_CONTEXT "cnryaudt"
enum { SUBKEY_NEXT = 1, SUBKEY_MAC = 2, SUBKEY_ID = 3 };

#define KEY_BYTES   crypto_kdf_KEYBYTES
#define STATE_MAGIC "canary-audit-state-v1"
#define VKEY_MAGIC  "canary-audit-verification-key-v1"
/* No key file is anywhere near this: anything larger is refused unread. */
#define KEYFILE_MAX 512

G_STATIC_ASSERT(KEY_BYTES == 32);

struct canary_audit_key {
	gint64 event; /* the id of the event this key seals */
	guint8 k[KEY_BYTES];
};

/* --- Keys ------------------------------------------------------------------ */

static struct canary_audit_key *key_new(gint64 event)
{
	/* The store opens without canary_seal_init() (tests, tools that seal
	 * nothing): sodium_malloc() needs libsodium set up. Cheap when it is. */
	if (sodium_init() < 0)
		g_error("libsodium cannot be initialised");
	struct canary_audit_key *key = sodium_malloc(sizeof(*key));
	if (key == NULL)
		g_error("out of memory for a key");
	key->event = event;
	return key;
}

static struct canary_audit_key *key_copy(const struct canary_audit_key *key)
{
	struct canary_audit_key *copy = key_new(key->event);
	memcpy(copy->k, key->k, KEY_BYTES);
	return copy;
}

void canary_audit_key_free(struct canary_audit_key *key)
{
	if (key != NULL)
		sodium_free(key); /* wipes */
}

gint64 canary_audit_key_event(const struct canary_audit_key *key)
{
	return key->event;
}

/* k_(N+1) from k_N, which is overwritten: there is no way back. */
static void key_evolve(struct canary_audit_key *key)
{
	guint8 next[KEY_BYTES];
	crypto_kdf_derive_from_key(next, KEY_BYTES, SUBKEY_NEXT, KDF_CONTEXT, key->k);
	memcpy(key->k, next, KEY_BYTES);
	sodium_memzero(next, sizeof(next));
	key->event++;
}

static void key_evolve_to(struct canary_audit_key *key, gint64 event)
{
	while (key->event < event)
		key_evolve(key);
}

char *canary_audit_key_id(const struct canary_audit_key *key)
{
	guint8 id[8];
	crypto_kdf_derive_from_key(id, sizeof(id), SUBKEY_ID, KDF_CONTEXT, key->k);
	char hex[2 * sizeof(id) + 1];
	sodium_bin2hex(hex, sizeof(hex), id, sizeof(id));
	return g_strdup(hex);
}

static void append_u64(crypto_generichash_state *st, guint64 v)
{
	guint8 b[8];
	for (int i = 0; i < 8; i++)
		b[i] = (guint8)(v >> (8 * i));
	crypto_generichash_update(st, b, sizeof(b));
}

/* MAC under KEY (for event KEY->event) of LABEL, ID and HASH. */
static void key_mac(const struct canary_audit_key *key, const char *label, gint64 id,
		    const guint8 hash[32], guint8 out[CANARY_AUDIT_MAC_BYTES])
{
	guint8 mac_key[32];
	crypto_kdf_derive_from_key(mac_key, sizeof(mac_key), SUBKEY_MAC, KDF_CONTEXT, key->k);
	crypto_generichash_state st;
	crypto_generichash_init(&st, mac_key, sizeof(mac_key), CANARY_AUDIT_MAC_BYTES);
	crypto_generichash_update(&st, (const guint8 *)label, strlen(label) + 1);
	append_u64(&st, (guint64)id);
	crypto_generichash_update(&st, hash, 32);
	crypto_generichash_final(&st, out, CANARY_AUDIT_MAC_BYTES);
	sodium_memzero(mac_key, sizeof(mac_key));
	sodium_memzero(&st, sizeof(st));
}

#define LABEL_EVENT "canary-audit-event-v1"
#define LABEL_HEAD  "canary-audit-head-v1"

/* --- Key files ------------------------------------------------------------- */

/* "MAGIC\nEVENT BASE64\n" for KEY. New string; wipe with canary_audit_text_free(). */
static char *key_text(const char *magic, const struct canary_audit_key *key)
{
	char b64[sodium_base64_ENCODED_LEN(KEY_BYTES, sodium_base64_VARIANT_ORIGINAL)];
	sodium_bin2base64(b64, sizeof(b64), key->k, KEY_BYTES, sodium_base64_VARIANT_ORIGINAL);
	char *text = g_strdup_printf("%s\n%" G_GINT64_FORMAT " %s\n", magic, key->event, b64);
	sodium_memzero(b64, sizeof(b64));
	return text;
}

void canary_audit_text_free(char *text)
{
	if (text != NULL)
		sodium_memzero(text, strlen(text));
	g_free(text);
}

/* Parses "MAGIC\nEVENT BASE64\n" exactly. */
static struct canary_audit_key *parse_key(const char *text, gsize len, const char *magic,
					  const char *what, GError **error)
{
	gsize mlen = strlen(magic);
	const char *end = text + len;
	const char *p = text;
	const char *why = NULL;
	if (len > KEYFILE_MAX || len < mlen + 1 || memcmp(p, magic, mlen) != 0 || p[mlen] != '\n') {
		why = "not a canary audit key of this kind";
		goto fail;
	}
	p += mlen + 1;
	gint64 event = 0;
	const char *digits = p;
	while (p < end && g_ascii_isdigit(*p) && p - digits < 18)
		event = event * 10 + (*p++ - '0');
	if (p == digits || p >= end || *p != ' ' || event < 1) {
		why = "the event number is missing or out of range";
		goto fail;
	}
	p++;
	const char *b64 = p;
	while (p < end && *p != '\n')
		p++;
	if (p >= end || p + 1 != end) {
		why = "the key line must end the file, with a newline";
		goto fail;
	}
	struct canary_audit_key *key = key_new(event);
	size_t got = 0;
	if (sodium_base642bin(key->k, KEY_BYTES, b64, (size_t)(p - b64), NULL, &got, NULL,
			      sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    got != KEY_BYTES) {
		canary_audit_key_free(key);
		why = "the key is not 32 bytes of base64";
		goto fail;
	}
	return key;
fail:
	g_set_error(error, CANARY_AUDIT_ERROR, CANARY_AUDIT_ERROR_FORMAT, "%s: %s", what, why);
	return NULL;
}

struct canary_audit_key *canary_audit_key_parse(const char *text, gsize len, const char *what,
						GError **error)
{
	return parse_key(text, len, VKEY_MAGIC, what, error);
}

/* Reads PATH (at most KEYFILE_MAX + 1 bytes) and parses it as MAGIC. With
 * MISSING_OK, a missing file gives NULL without an error. */
static struct canary_audit_key *load_key(const char *path, const char *magic, gboolean missing_ok,
					 GError **error)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		int e = errno;
		if (!(missing_ok && e == ENOENT))
			g_set_error(error, CANARY_AUDIT_ERROR, CANARY_AUDIT_ERROR_IO, "%s: %s",
				    path, g_strerror(e));
		return NULL;
	}
	char buf[KEYFILE_MAX + 1];
	gsize len = 0;
	ssize_t r = 0;
	while (len < sizeof(buf) &&
	       ((r = read(fd, buf + len, sizeof(buf) - len)) > 0 || (r < 0 && errno == EINTR)))
		len += r > 0 ? (gsize)r : 0;
	int e = errno;
	close(fd);
	struct canary_audit_key *key = NULL;
	if (r < 0)
		g_set_error(error, CANARY_AUDIT_ERROR, CANARY_AUDIT_ERROR_IO, "%s: %s", path,
			    g_strerror(e));
	else
		key = parse_key(buf, len, magic, path, error);
	sodium_memzero(buf, sizeof(buf));
	return key;
}

struct canary_audit_key *canary_audit_key_load(const char *path, GError **error)
{
	return load_key(path, VKEY_MAGIC, FALSE, error);
}

/* Writes TEXT to FD whole, fsyncs. */
static gboolean write_all(int fd, const char *text)
{
	return canary_write_all(fd, text, strlen(text)) && fsync(fd) == 0;
}

/* Replaces PATH with KEY's state (0600, owned like the database DB_PATH when
 * root writes it): a temporary file, fsync, rename, fsync of the directory.
 * Order is important: the file is durable before it replaces the old one. */
static gboolean write_state(const char *path, const char *db_path,
			    const struct canary_audit_key *key, GError **error)
{
	g_autofree char *dir = g_path_get_dirname(path);
	g_autofree char *base = g_path_get_basename(path);
	g_autofree char *tmp = g_strdup_printf("%s/.%s.XXXXXX", dir, base);
	int fd = g_mkstemp_full(tmp, O_WRONLY | O_CLOEXEC, 0600);
	if (fd < 0) {
		int e = errno;
		g_set_error(error, CANARY_AUDIT_ERROR, CANARY_AUDIT_ERROR_IO,
			    "%s: cannot create: %s", tmp, g_strerror(e));
		return FALSE;
	}
	char *text = key_text(STATE_MAGIC, key);
	struct stat db;
	gboolean ok = fchmod(fd, 0600) == 0;
	if (ok && geteuid() == 0 && stat(db_path, &db) == 0 && db.st_uid != 0)
		ok = fchown(fd, db.st_uid, db.st_gid) == 0;
	ok = ok && write_all(fd, text);
	canary_audit_text_free(text);
	int e = errno;
	if (close(fd) != 0 && ok) {
		ok = FALSE;
		e = errno;
	}
	if (ok && rename(tmp, path) != 0) {
		ok = FALSE;
		e = errno;
	}
	if (!ok) {
		unlink(tmp);
		g_set_error(error, CANARY_AUDIT_ERROR, CANARY_AUDIT_ERROR_IO,
			    "%s: cannot write: %s", path, g_strerror(e));
		return FALSE;
	}
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	return TRUE;
}

/* --- The writing side -------------------------------------------------------- */

struct canary_audit_seal {
	char *db_path;
	char *path;                         /* <database>.audit-key */
	gint64 sealed_from;                 /* as last synced; 0: not sealed */
	struct canary_audit_key *committed; /* for the next committed event; NULL: none */
	struct canary_audit_key *pending;   /* moved on by the open transaction's events */
	gboolean starting;                  /* COMMITTED is a new first key, not yet durable */
	char *problem;
};

struct canary_audit_seal *canary_audit_seal_new(const char *db_path)
{
	struct canary_audit_seal *seal = g_new0(struct canary_audit_seal, 1);
	seal->db_path = g_strdup(db_path);
	seal->path = g_strconcat(db_path, ".audit-key", NULL);
	return seal;
}

void canary_audit_seal_free(struct canary_audit_seal *seal)
{
	if (seal == NULL)
		return;
	canary_audit_key_free(seal->committed);
	canary_audit_key_free(seal->pending);
	g_free(seal->db_path);
	g_free(seal->path);
	g_free(seal->problem);
	g_free(seal);
}

static void set_problem(struct canary_audit_seal *seal, char *problem)
{
	g_free(seal->problem);
	seal->problem = problem;
}

const char *canary_audit_seal_problem(const struct canary_audit_seal *seal)
{
	return seal->problem;
}

static void drop_keys(struct canary_audit_seal *seal)
{
	g_clear_pointer(&seal->committed, canary_audit_key_free);
	g_clear_pointer(&seal->pending, canary_audit_key_free);
}

void canary_audit_seal_sync(struct canary_audit_seal *seal, gint64 sealed_from)
{
	if (sealed_from == seal->sealed_from || seal->starting)
		return;
	drop_keys(seal);
	set_problem(seal, NULL);
	seal->sealed_from = sealed_from;
	if (sealed_from <= 0)
		return;
	g_autoptr(GError) error = NULL;
	seal->committed = load_key(seal->path, STATE_MAGIC, TRUE, &error);
	if (seal->committed == NULL)
		set_problem(seal,
			    error != NULL
				    ? g_strdup_printf("the audit key cannot be read: %s",
						      error->message)
				    : g_strdup_printf("%s: the audit key file is missing; events "
						      "are recorded without a MAC",
						      seal->path));
	else if (seal->committed->event < sealed_from) {
		g_clear_pointer(&seal->committed, canary_audit_key_free);
		set_problem(seal, g_strdup_printf("%s: the audit key is older than the sealing "
						  "(event %" G_GINT64_FORMAT ")",
						  seal->path, sealed_from));
	}
}

/* The key ahead of the history at event ID: events were deleted, or the
 * database is a restored backup. */
static void set_ahead(struct canary_audit_seal *seal, gint64 id)
{
	set_problem(seal,
		    g_strdup_printf("the audit key seals event %" G_GINT64_FORMAT
				    " but the history ends at event %" G_GINT64_FORMAT
				    ": events were deleted, or this database is a restored backup "
				    "(see canary audit --start-sealing)",
				    seal->committed->event, id - 1));
}

gboolean canary_audit_seal_event(struct canary_audit_seal *seal, const struct canary_event *e,
				 guint8 mac_r[CANARY_AUDIT_MAC_BYTES])
{
	if (seal->committed == NULL)
		return FALSE;
	/* Events rolled back to a savepoint leave the pending key ahead. */
	if (seal->pending != NULL && seal->pending->event > e->id)
		g_clear_pointer(&seal->pending, canary_audit_key_free);
	if (seal->committed->event > e->id) {
		set_ahead(seal, e->id);
		return FALSE;
	}
	if (seal->pending == NULL)
		seal->pending = key_copy(seal->committed);
	/* Another process (or a crash before the file was written) may have
	 * moved the history on: catch up. */
	key_evolve_to(seal->pending, e->id);
	key_mac(seal->pending, LABEL_EVENT, e->id, e->hash, mac_r);
	key_evolve(seal->pending);
	return TRUE;
}

void canary_audit_seal_committed(struct canary_audit_seal *seal, gint64 last_id)
{
	/* A new start replaces whatever file was there (lost, or ahead). */
	gboolean started = seal->starting;
	seal->starting = FALSE;
	if (seal->committed == NULL || last_id + 1 <= seal->committed->event) {
		g_clear_pointer(&seal->pending, canary_audit_key_free);
		return;
	}
	struct canary_audit_key *next = seal->pending;
	seal->pending = NULL;
	if (next == NULL || next->event > last_id + 1) {
		canary_audit_key_free(next);
		next = key_copy(seal->committed);
	}
	key_evolve_to(next, last_id + 1);
	canary_audit_key_free(seal->committed); /* wipes the old key */
	seal->committed = next;

	/* Never move the file back: another process may have written more. */
	g_autoptr(GError) ignored = NULL;
	g_autoptr(canary_audit_key) on_disk = load_key(seal->path, STATE_MAGIC, TRUE, &ignored);
	if (!started && on_disk != NULL && on_disk->event > next->event)
		return;
	g_autoptr(GError) error = NULL;
	if (!write_state(seal->path, seal->db_path, next, &error))
		/* The commit stands; the next one writes the file again, and
		 * a file left behind catches up when it is read. */
		set_problem(seal, g_strdup_printf("the audit key file was not updated: %s",
						  error->message));
	else if (seal->problem != NULL && g_str_has_prefix(seal->problem, "the audit key file was"))
		set_problem(seal, NULL);
}

void canary_audit_seal_rolled_back(struct canary_audit_seal *seal)
{
	g_clear_pointer(&seal->pending, canary_audit_key_free);
	if (seal->starting) {
		seal->starting = FALSE;
		drop_keys(seal);
		seal->sealed_from = -1; /* read again at the next sync */
	}
}

char *canary_audit_seal_start(struct canary_audit_seal *seal, gint64 first_id, char **key_id_r,
			      GError **error)
{
	/* Working: a key for this event or, behind, one that catches up to it. */
	if (seal->committed != NULL && seal->problem == NULL &&
	    seal->committed->event <= first_id) {
		g_set_error(error, CANARY_AUDIT_ERROR, CANARY_AUDIT_ERROR_SEALED,
			    "the history is already sealed, from event %" G_GINT64_FORMAT
			    "; its verification key was printed then",
			    seal->sealed_from);
		return NULL;
	}
	drop_keys(seal);
	set_problem(seal, NULL);
	struct canary_audit_key *first = key_new(first_id);
	crypto_kdf_keygen(first->k);
	*key_id_r = canary_audit_key_id(first);
	char *text = key_text(VKEY_MAGIC, first);
	seal->committed = first;
	seal->sealed_from = first_id;
	seal->starting = TRUE;
	return text;
}

gboolean canary_audit_seal_head(struct canary_audit_seal *seal, gint64 last_id,
				const guint8 last_hash[32], guint8 proof_r[CANARY_AUDIT_MAC_BYTES])
{
	if (seal->committed == NULL)
		return FALSE;
	if (seal->committed->event > last_id + 1) {
		set_ahead(seal, last_id + 1);
		return FALSE;
	}
	g_autoptr(canary_audit_key) key = key_copy(seal->committed);
	key_evolve_to(key, last_id + 1);
	key_mac(key, LABEL_HEAD, last_id, last_hash, proof_r);
	return TRUE;
}

/* --- The checking side ------------------------------------------------------ */

void canary_audit_result_clear(struct canary_audit_result *result)
{
	g_clear_pointer(&result->bad_ref, g_free);
	g_clear_pointer(&result->why, g_free);
}

/* The events (by position) whose hash is H: a hash table of GBytes -> index+1. */
static GHashTable *index_hashes(GPtrArray *events)
{
	GHashTable *by_hash = g_hash_table_new_full(g_bytes_hash, g_bytes_equal,
						    (GDestroyNotify)g_bytes_unref, NULL);
	for (guint i = 0; i < events->len; i++) {
		const struct canary_event *e = events->pdata[i];
		g_hash_table_insert(by_hash, g_bytes_new(e->hash, 32), GUINT_TO_POINTER(i + 1));
	}
	return by_hash;
}

/* What is wrong with event I's place in the plain hash chain, or NULL. */
static char *chain_break(GPtrArray *events, guint i, GHashTable *by_hash)
{
	static const guint8 zero[32] = {0};
	const struct canary_event *e = events->pdata[i];
	const struct canary_event *prev = i > 0 ? events->pdata[i - 1] : NULL;
	const guint8 *expected = prev != NULL ? prev->hash : zero;
	gint64 expected_id = prev != NULL ? prev->id + 1 : 1;

	/* The link to the event before. */
	if (!canary_seal_hash_equal(e->prev_hash, expected)) {
		g_autoptr(GBytes) key = g_bytes_new(e->prev_hash, 32);
		guint at = GPOINTER_TO_UINT(g_hash_table_lookup(by_hash, key));
		if (at > i + 1) {
			const struct canary_event *later = events->pdata[at - 1];
			return g_strdup_printf(
				"order: it was recorded after event %" G_GINT64_FORMAT
				", which now comes later",
				later->id);
		}
		if (e->id != expected_id)
			return g_strdup_printf(
				"missing predecessor: event %" G_GINT64_FORMAT
				" is gone (the chain continues from a deleted event)",
				expected_id);
		if (canary_seal_hash_equal(e->prev_hash, zero))
			return g_strdup("order: it claims to be the first event, but is not");
		return g_strdup_printf("missing predecessor: the event it was chained to is not "
				       "event %" G_GINT64_FORMAT " (replaced or removed)",
				       expected_id - 1);
	}
	/* Its own fields. */
	guint8 hash[32];
	canary_audit_event_hash(e, hash);
	if (!canary_seal_hash_equal(hash, e->hash))
		return g_strdup("hash mismatch: the event was changed after it was recorded");
	if (e->id != expected_id)
		return g_strdup_printf("order: expected id %" G_GINT64_FORMAT, expected_id);
	if (prev != NULL && e->at < prev->at)
		return g_strdup_printf("order: recorded before event %" G_GINT64_FORMAT, prev->id);
	return NULL;
}

/* The key id a sealing event E names, or NULL when E is not one. */
static const char *sealing_key_id(const struct canary_event *e)
{
	if (g_strcmp0(e->action, CANARY_ACTION_AUDIT_SEALED) != 0 || e->detail == NULL ||
	    !g_str_has_prefix(e->detail, "key "))
		return NULL;
	return e->detail + 4;
}

/* What is wrong with the MAC of sealed event E under KEY (moved to E's id),
 * or NULL. Sets RESULT->key_wrong when KEY is not this history's. */
static char *mac_break(const struct canary_event *e, struct canary_audit_key *key,
		       const char *key_id, struct canary_audit_result *result)
{
	key_evolve_to(key, e->id);
	if (!e->sealed)
		return g_strdup_printf(
			"not sealed: recorded without a MAC inside the sealed part (from event "
			"%" G_GINT64_FORMAT
			"): added with the key file lost or ahead of the history, "
			"or by someone without the key",
			result->sealed_from);
	guint8 mac[CANARY_AUDIT_MAC_BYTES];
	key_mac(key, LABEL_EVENT, e->id, e->hash, mac);
	if (sodium_memcmp(mac, e->mac, sizeof(mac)) == 0)
		return NULL;
	const char *named = sealing_key_id(e);
	if (e->id == result->sealed_from && (named == NULL || strcmp(named, key_id) != 0)) {
		result->key_wrong = TRUE;
		if (named != NULL)
			return g_strdup_printf("wrong verification key: this history was sealed "
					       "with key %s, this key is %s",
					       named, key_id);
		return g_strdup_printf("wrong verification key: it starts at event "
				       "%" G_GINT64_FORMAT ", which is not a sealing event (a key "
				       "of another history, or the event was replaced)",
				       e->id);
	}
	if (named != NULL && strcmp(named, key_id) != 0)
		return g_strdup_printf("sealed again under another key (%s): this key (%s) proves "
				       "events %" G_GINT64_FORMAT " to %" G_GINT64_FORMAT
				       " only; verify the rest with that key",
				       named, key_id, result->sealed_from, e->id - 1);
	return g_strdup("MAC mismatch: the event was changed, added or replaced without the "
			"key it was sealed with");
}

/* Checks the proof over the end of the history under KEY. */
static char *head_break(GPtrArray *events, const struct canary_audit_head *head,
			struct canary_audit_key *key)
{
	const struct canary_event *last = events->len > 0 ? events->pdata[events->len - 1] : NULL;
	gint64 last_id = last != NULL ? last->id : 0;
	if (last_id < key->event)
		return g_strdup_printf("the sealed part starts at event %" G_GINT64_FORMAT
				       ", but the history ends at event %" G_GINT64_FORMAT
				       ": its events were deleted, or the key is another history's",
				       key->event, last_id);
	if (!head->has_proof)
		return g_strdup_printf("the end of the history cannot be proven (events after "
				       "%" G_GINT64_FORMAT " may have been deleted): %s",
				       last_id, head->problem != NULL ? head->problem : "no proof");
	if (head->last_id != last_id)
		return g_strdup_printf("the proof covers event %" G_GINT64_FORMAT
				       " but the history read ends at event %" G_GINT64_FORMAT,
				       head->last_id, last_id);
	key_evolve_to(key, last_id + 1);
	guint8 proof[CANARY_AUDIT_MAC_BYTES];
	key_mac(key, LABEL_HEAD, last_id, last->hash, proof);
	if (sodium_memcmp(proof, head->proof, sizeof(proof)) != 0)
		return g_strdup_printf("the proof over the last event (%" G_GINT64_FORMAT
				       ") does not hold: events after it were deleted, or the "
				       "key file was replaced",
				       last_id);
	return NULL;
}

gboolean canary_audit_verify(GPtrArray *events, const struct canary_audit_head *head,
			     const struct canary_audit_key *vkey,
			     struct canary_audit_result *result)
{
	*result = (struct canary_audit_result){0};
	result->sealed_from = vkey != NULL ? vkey->event : head->sealed_from;
	result->macs_checked = vkey != NULL;
	g_autoptr(GHashTable) by_hash = index_hashes(events);
	g_autoptr(canary_audit_key) key = vkey != NULL ? key_copy(vkey) : NULL;
	g_autofree char *key_id = vkey != NULL ? canary_audit_key_id(vkey) : NULL;
	for (guint i = 0; i < events->len; i++) {
		const struct canary_event *e = events->pdata[i];
		result->events = i + 1;
		char *why = chain_break(events, i, by_hash);
		if (why == NULL && key != NULL && e->id >= vkey->event)
			why = mac_break(e, key, key_id, result);
		if (why != NULL) {
			result->bad_id = e->id;
			result->bad_ref = g_strdup(e->ref);
			result->why = why;
			return FALSE;
		}
	}
	if (key == NULL)
		return TRUE;
	result->why = head_break(events, head, key);
	result->head_proven = result->why == NULL;
	return result->head_proven;
}

/* --- The operations ---------------------------------------------------------- */

/* Pages of the history are at most this many events. */
#define PAGE_MAX 5000

static void set_b64(JsonObject *o, const char *name, const guint8 *data, gsize len)
{
	g_autofree char *b64 = g_base64_encode(data, len);
	json_object_set_string_member(o, name, b64);
}

/* An event as canary_case_event_to_json() gives it, with its chain hashes
 * and MAC: what the verifier checks. */
static JsonObject *event_json(const struct canary_event *e)
{
	JsonObject *o = canary_case_event_to_json(e);
	set_b64(o, "prev_hash", e->prev_hash, 32);
	set_b64(o, "hash", e->hash, 32);
	if (e->sealed)
		set_b64(o, "mac", e->mac, CANARY_AUDIT_MAC_BYTES);
	return o;
}

/* An integer argument NAME of ARGS, or FALLBACK when absent. */
static gboolean int_arg(JsonObject *args, const char *name, gint64 fallback, gint64 *value_r,
			GError **error)
{
	gboolean given = FALSE;
	*value_r = fallback;
	return canary_control_arg_int(args, name, value_r, &given, error);
}

/* The proof over the end of the history, as the verifier needs it. */
static JsonObject *head_json(struct canary_store *store, GError **error)
{
	struct canary_audit_head h;
	if (!canary_store_audit_head(store, &h, error))
		return NULL;
	JsonObject *head = json_object_new();
	json_object_set_int_member(head, "last_id", h.last_id);
	json_object_set_int_member(head, "sealed_from", h.sealed_from);
	if (h.has_proof)
		set_b64(head, "proof", h.proof, sizeof(h.proof));
	else
		json_object_set_string_member(head, "problem", h.problem);
	return head;
}

/* audit {after?, limit?}: a page of the history with every event's chain
 * hash and MAC, and the head proof. Admins only. Nothing here lets anyone
 * check or forge a MAC: the verification key stays with the caller. */
CANARY_OP(canary_op_audit)
{
	g_autoptr(canary_access) access = canary_access_new(ctx->config, caller);
	if (!canary_access_require_role(access, CANARY_ROLE_ADMIN, error))
		return NULL;
	gint64 after = 0, limit = 0;
	if (!int_arg(args, "after", G_MININT64, &after, error) ||
	    !int_arg(args, "limit", 1000, &limit, error))
		return NULL;
	limit = CLAMP(limit, 1, PAGE_MAX);
	g_autoptr(JsonObject) head = head_json(ctx->store, error);
	if (head == NULL)
		return NULL;
	g_autoptr(GPtrArray) events =
		canary_store_list_events_after(ctx->store, after, (guint)limit, error);
	if (events == NULL)
		return NULL;
	JsonArray *list = json_array_new();
	for (guint i = 0; i < events->len; i++)
		json_array_add_object_element(list, event_json(events->pdata[i]));
	JsonObject *result = json_object_new();
	json_object_set_object_member(result, "head", g_steal_pointer(&head));
	json_object_set_array_member(result, "events", list);
	json_object_set_boolean_member(result, "more", events->len == (guint)limit);
	return result;
}

/* audit-start: starts (or, with the key lost or ahead, restarts) sealing and
 * returns the verification key, which exists nowhere else. Root and
 * canaryd's user only: they hold the server anyway. */
CANARY_OP(canary_op_audit_start)
{
	(void)args;
	g_autoptr(canary_access) access = canary_access_new(ctx->config, caller);
	if (!canary_access_require_role(access, CANARY_ROLE_SUPERUSER, error))
		return NULL;
	gint64 first_id = 0;
	g_autoptr(GError) local = NULL;
	char *vkey = canary_store_audit_start(ctx->store, caller->user, &first_id, &local);
	if (vkey == NULL) {
		if (g_error_matches(local, CANARY_AUDIT_ERROR, CANARY_AUDIT_ERROR_SEALED))
			g_set_error_literal(error, CANARY_CONTROL_ERROR, CANARY_CONTROL_ERROR_USAGE,
					    local->message);
		else
			g_propagate_error(error, g_steal_pointer(&local));
		return NULL;
	}
	JsonObject *result = json_object_new();
	json_object_set_string_member(result, "verification_key", vkey);
	json_object_set_int_member(result, "first_id", first_id);
	canary_audit_text_free(vkey);
	return result;
}

char *canary_audit_head_summary(struct canary_store *store, GError **error)
{
	struct canary_audit_head h;
	if (!canary_store_audit_head(store, &h, error))
		return NULL;
	g_autoptr(GPtrArray) last = canary_store_list_events_after(store, h.last_id - 1, 1, error);
	if (last == NULL)
		return NULL;
	char hash[2 * 32 + 1] = "-";
	if (last->len == 1)
		sodium_bin2hex(hash, sizeof(hash),
			       ((const struct canary_event *)last->pdata[0])->hash, 32);
	GString *s = g_string_new(NULL);
	g_string_append_printf(s, "audit chain head: last event %" G_GINT64_FORMAT ", hash %s",
			       h.last_id, hash);
	if (h.has_proof) {
		char hex[2 * sizeof(h.proof) + 1];
		sodium_bin2hex(hex, sizeof(hex), h.proof, sizeof(h.proof));
		g_string_append_printf(s, ", sealed from event %" G_GINT64_FORMAT ", proof %s",
				       h.sealed_from, hex);
	} else {
		g_string_append_printf(s, ", no proof: %s", h.problem);
	}
	return g_string_free(s, FALSE);
}

/* --- The chain hash of the history ------------------------------------- */

/* Appends a length-prefixed string (NULL and "" differ). */
static void append_str(crypto_generichash_state *st, const char *s)
{
	if (s == NULL) {
		append_u64(st, G_MAXUINT64);
		return;
	}
	gsize len = strlen(s);
	append_u64(st, len);
	crypto_generichash_update(st, (const guint8 *)s, len);
}

void canary_audit_event_hash(const struct canary_event *e, guint8 out[32])
{
	/* Unambiguous: every field fixed-size or length-prefixed. */
	crypto_generichash_state st;
	crypto_generichash_init(&st, NULL, 0, 32);
	crypto_generichash_update(&st, e->prev_hash, 32);
	append_u64(&st, (guint64)e->id);
	append_u64(&st, (guint64)e->at);
	append_str(&st, e->ref);
	append_str(&st, e->actor);
	append_str(&st, e->action);
	append_str(&st, e->detail);
	crypto_generichash_final(&st, out, 32);
}
