/* check_seal.c: key files on real files (round trips, modes, refusals, every
 * truncation and bit flip), content keys, sealed fields bound to case and
 * field, pseudonyms and content hashes. */
#include <errno.h>
#include <sys/poll.h> /* not <poll.h>: lib/poll.h, on the include path, is ours */
#include <pty.h>
#include <signal.h>
#include <sodium.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "passphrase.h"
#include "key_limits.h"
#include "seal.h"
#include "testutil.h"
#include "wipe.h"

/* The committed test keys (tests/data/keys/README). */
#define TEST_KEY_PASSPHRASE "canary test key - not secret"
#define TEST_KEY_ID         "7eb5e69645d08f15"
#define TEST_PSEUDONYM      "P-PG8G-VKFC" /* of amara.diallo@example.org */

#define PASS     "correct horse battery staple"
#define NEW_PASS "a new passphrase for mena"

#define PSEUDONYM_RE "^P-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$"

static char *tmpdir;

static void setup(void)
{
	ck_assert(canary_seal_init(NULL));
	/* Test-only: cheap Argon2id (one test checks MODERATE). */
	g_setenv("CANARY_TEST_FAST_KDF", "1", TRUE);
	tmpdir = tu_make_tempdir();
}

static void teardown(void)
{
	tu_rmtree(tmpdir);
	g_clear_pointer(&tmpdir, g_free);
}

/* --- helpers -------------------------------------------------------------- */

static char *path_in(const char *name)
{
	return g_build_filename(tmpdir, name, NULL);
}

static GBytes *read_bytes(const char *path)
{
	char *data = NULL;
	gsize len = 0;
	g_autoptr(GError) error = NULL;
	if (!g_file_get_contents(path, &data, &len, &error))
		ck_abort_msg("read %s: %s", path, error->message);
	return g_bytes_new_take(data, len);
}

static void write_bytes(const char *path, const void *data, gsize len)
{
	g_autoptr(GError) error = NULL;
	if (!g_file_set_contents(path, data, (gssize)len, &error))
		ck_abort_msg("write %s: %s", path, error->message);
}

/* Generates DIR/NAME.{pub,key} under PASS or fails the test. */
static void generate(const char *name)
{
	g_autoptr(GError) error = NULL;
	ck_assert_msg(canary_key_generate(tmpdir, name, PASS, strlen(PASS), FALSE, &error),
		      "keygen: %s", error ? error->message : "?");
}

static struct canary_public_key *load_public_ok(const char *path)
{
	g_autoptr(GError) error = NULL;
	struct canary_public_key *key = canary_key_load_public(path, &error);
	ck_assert_msg(key != NULL, "%s", error ? error->message : "?");
	return key;
}

static struct canary_secret_key *load_secret_ok(const char *path, const char *pass)
{
	g_autoptr(GError) error = NULL;
	struct canary_secret_key *key = canary_key_load_secret(path, pass, strlen(pass), &error);
	ck_assert_msg(key != NULL, "%s", error ? error->message : "?");
	return key;
}

/* Asserts ERROR is CANARY_SEAL_ERROR CODE and its message is EXACT or, when
 * EXACT is NULL, starts with PREFIX (if not NULL). */
static void assert_error(const GError *error, int code, const char *exact, const char *prefix)
{
	ck_assert_msg(error != NULL, "expected an error");
	ck_assert_msg(error->domain == CANARY_SEAL_ERROR && error->code == code,
		      "expected code %d, got %s %d: %s", code, g_quark_to_string(error->domain),
		      error->code, error->message);
	if (exact != NULL)
		ck_assert_str_eq(error->message, exact);
	if (prefix != NULL)
		ck_assert_msg(g_str_has_prefix(error->message, prefix), "'%s' does not start '%s'",
			      error->message, prefix);
}

static mode_t file_mode(const char *path)
{
	struct stat st;
	ck_assert_int_eq(stat(path, &st), 0);
	return st.st_mode & 07777;
}

static guint count_entries(const char *dir)
{
	g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
	ck_assert_ptr_nonnull(d);
	guint n = 0;
	while (g_dir_read_name(d) != NULL)
		n++;
	return n;
}

/* Parses DATA as KIND ("pub", "key", "pseudonym"): TRUE if it loads. */
static gboolean parse_any(const char *kind, const void *data, gsize len, GError **error)
{
	if (strcmp(kind, "pub") == 0) {
		g_autofree struct canary_public_key *k =
			canary_key_parse_public("f", data, len, error);
		return k != NULL;
	}
	if (strcmp(kind, "key") == 0) {
		g_autoptr(canary_secret_key) k =
			canary_key_parse_secret("f", data, len, PASS, strlen(PASS), error);
		return k != NULL;
	}
	g_autoptr(canary_pseudonym_key) k = canary_key_parse_pseudonym("f", data, len, error);
	return k != NULL;
}

/* --- key files -------------------------------------------------------------- */

START_TEST(test_generate_round_trip)
{
	mode_t old = umask(077); /* the daemon's umask must not make .pub 0600 */
	generate("mena");
	umask(old);
	g_autofree char *pub = path_in("mena.pub");
	g_autofree char *sec = path_in("mena.key");
	ck_assert_uint_eq(file_mode(pub), 0644);
	ck_assert_uint_eq(file_mode(sec), 0600);
	ck_assert_uint_eq(count_entries(tmpdir), 2);

	g_autofree struct canary_public_key *p = load_public_ok(pub);
	g_autoptr(canary_secret_key) s = load_secret_ok(sec, PASS);
	const struct canary_public_key *half = canary_secret_key_public(s);
	ck_assert_mem_eq(p->bytes, half->bytes, 32);
	ck_assert_str_eq(p->id, half->id);
	ck_assert_uint_eq(strlen(p->id), CANARY_KEY_ID_LEN);
	ck_assert(g_regex_match_simple("^[0-9a-f]{16}$", p->id, 0, 0));

	g_autoptr(GBytes) text = read_bytes(pub);
	ck_assert(g_str_has_prefix(g_bytes_get_data(text, NULL), "canary-public-key-v1\n"));

	/* A second pair is another key. */
	generate("other");
	g_autofree char *pub2 = path_in("other.pub");
	g_autofree struct canary_public_key *p2 = load_public_ok(pub2);
	ck_assert_mem_ne(p->bytes, p2->bytes, 32);
	ck_assert_str_ne(p->id, p2->id);
}
END_TEST

START_TEST(test_generate_modes_any_umask)
{
	mode_t old = umask(0);
	generate("wide");
	g_autofree char *ps = path_in("pseudonym.key");
	ck_assert(canary_key_generate_pseudonym(ps, FALSE, NULL));
	umask(old);
	g_autofree char *pub = path_in("wide.pub");
	g_autofree char *sec = path_in("wide.key");
	ck_assert_uint_eq(file_mode(pub), 0644);
	ck_assert_uint_eq(file_mode(sec), 0600);
	ck_assert_uint_eq(file_mode(ps), 0600);
}
END_TEST

/* The one test at the real limits: MODERATE is what keygen writes. */
START_TEST(test_generate_moderate)
{
	g_unsetenv("CANARY_TEST_FAST_KDF");
	generate("real");
	g_autofree char *sec = path_in("real.key");
	guint64 ops = 0, mem = 0;
	tu_stored_limits(sec, &ops, &mem);
	ck_assert_uint_eq(ops, crypto_pwhash_OPSLIMIT_MODERATE);
	ck_assert_uint_eq(mem, crypto_pwhash_MEMLIMIT_MODERATE);
	g_autoptr(canary_secret_key) s = load_secret_ok(sec, PASS);
	g_autofree char *pub = path_in("real.pub");
	g_autofree struct canary_public_key *p = load_public_ok(pub);
	ck_assert_mem_eq(p->bytes, canary_secret_key_public(s)->bytes, 32);
}
END_TEST

START_TEST(test_fast_kdf_is_interactive)
{
	generate("fast");
	g_autofree char *sec = path_in("fast.key");
	guint64 ops = 0, mem = 0;
	tu_stored_limits(sec, &ops, &mem);
	ck_assert_uint_eq(ops, crypto_pwhash_OPSLIMIT_INTERACTIVE);
	ck_assert_uint_eq(mem, crypto_pwhash_MEMLIMIT_INTERACTIVE);
	/* Loading accepts what keygen wrote. */
	g_autoptr(canary_secret_key) s = load_secret_ok(sec, PASS);
}
END_TEST

START_TEST(test_wrong_passphrase)
{
	generate("k");
	g_autofree char *sec = path_in("k.key");
	g_autofree char *expect = g_strdup_printf("%s: wrong passphrase", sec);
	static const char *const wrong[] = {"correct horse battery stapl",
					    "Correct horse battery staple",
					    "correct horse battery staple ", ""};
	for (size_t i = 0; i < G_N_ELEMENTS(wrong); i++) {
		g_autoptr(GError) error = NULL;
		g_autoptr(canary_secret_key) s =
			canary_key_load_secret(sec, wrong[i], strlen(wrong[i]), &error);
		ck_assert_ptr_null(s);
		assert_error(error, CANARY_SEAL_ERROR_PASSPHRASE, expect, NULL);
	}
	/* The passphrase is LEN bytes, not up to a NUL. */
	g_autoptr(GError) error = NULL;
	g_autoptr(canary_secret_key) s =
		canary_key_load_secret(sec, PASS "xyz", strlen(PASS), &error);
	ck_assert_msg(s != NULL, "%s", error ? error->message : "?");
}
END_TEST

/* Every proper prefix of every kind of key file is refused cleanly. */
START_TEST(test_truncated_files)
{
	generate("t");
	g_autofree char *ps = path_in("t.pseudonym");
	ck_assert(canary_key_generate_pseudonym(ps, FALSE, NULL));
	static const char *const kinds[] = {"pub", "key", "pseudonym"};
	for (size_t k = 0; k < G_N_ELEMENTS(kinds); k++) {
		g_autofree char *name = g_strdup_printf("t.%s", kinds[k]);
		g_autofree char *path = path_in(name);
		g_autoptr(GBytes) full = read_bytes(path);
		gsize size = 0;
		const char *data = g_bytes_get_data(full, &size);
		ck_assert(parse_any(kinds[k], data, size, NULL));
		g_autofree char *cut = path_in("cut");
		for (gsize len = 0; len < size; len++) {
			g_autoptr(GError) error = NULL;
			ck_assert_msg(!parse_any(kinds[k], data, len, &error),
				      "%s cut at %zu loads", kinds[k], len);
			assert_error(error, CANARY_SEAL_ERROR_FORMAT, NULL, "f: ");
			/* And through the file loaders, with the path named. */
			write_bytes(cut, data, len);
			g_autoptr(GError) ferror = NULL;
			g_autofree char *prefix = g_strdup_printf("%s: ", cut);
			if (strcmp(kinds[k], "pub") == 0) {
				g_autofree struct canary_public_key *p =
					canary_key_load_public(cut, &ferror);
				ck_assert_ptr_null(p);
			} else if (strcmp(kinds[k], "key") == 0) {
				g_autoptr(canary_secret_key) s =
					canary_key_load_secret(cut, PASS, strlen(PASS), &ferror);
				ck_assert_ptr_null(s);
			} else {
				g_autoptr(canary_pseudonym_key) s =
					canary_key_load_pseudonym(cut, &ferror);
				ck_assert_ptr_null(s);
			}
			assert_error(ferror, CANARY_SEAL_ERROR_FORMAT, NULL, prefix);
		}
		/* A truncated secret key says so, not "wrong passphrase". */
		if (strcmp(kinds[k], "key") == 0) {
			g_autoptr(GError) error = NULL;
			ck_assert(!parse_any("key", data, size - 1, &error));
			ck_assert_str_eq(error->message, "f: truncated or damaged");
		}
	}
}
END_TEST

/* Any single flipped bit anywhere in any key file is refused, and damage
 * to a secret key is reported as damage (before Argon2id), not as a wrong
 * passphrase. */
START_TEST(test_flipped_bits)
{
	generate("f");
	g_autofree char *ps = path_in("f.pseudonym");
	ck_assert(canary_key_generate_pseudonym(ps, FALSE, NULL));
	static const char *const kinds[] = {"pub", "key", "pseudonym"};
	for (size_t k = 0; k < G_N_ELEMENTS(kinds); k++) {
		g_autofree char *name = g_strdup_printf("f.%s", kinds[k]);
		g_autofree char *path = path_in(name);
		g_autoptr(GBytes) full = read_bytes(path);
		gsize size = 0;
		guint8 *data = g_memdup2(g_bytes_get_data(full, &size), g_bytes_get_size(full));
		for (gsize i = 0; i < size; i++) {
			for (int bit = 0; bit < 8; bit++) {
				data[i] ^= (guint8)(1u << bit);
				g_autoptr(GError) error = NULL;
				ck_assert_msg(!parse_any(kinds[k], data, size, &error),
					      "%s with bit %d of byte %zu flipped loads", kinds[k],
					      bit, i);
				ck_assert(error->domain == CANARY_SEAL_ERROR);
				ck_assert_msg(error->code == CANARY_SEAL_ERROR_FORMAT ||
						      error->code == CANARY_SEAL_ERROR_WRONG_KIND,
					      "byte %zu bit %d: %s", i, bit, error->message);
				data[i] ^= (guint8)(1u << bit);
			}
		}
		ck_assert(parse_any(kinds[k], data, size, NULL));
		g_free(data);
	}
}
END_TEST

START_TEST(test_wrong_kind)
{
	generate("custodian");
	g_autofree char *pub = path_in("custodian.pub");
	g_autofree char *sec = path_in("custodian.key");
	g_autofree char *ps = path_in("pseudonym.key");
	ck_assert(canary_key_generate_pseudonym(ps, FALSE, NULL));

	g_autoptr(GError) e1 = NULL;
	g_autofree struct canary_public_key *p1 = canary_key_load_public(sec, &e1);
	ck_assert_ptr_null(p1);
	g_autofree char *m1 =
		g_strdup_printf("%s: this is a secret key file; give the public key (.pub)", sec);
	assert_error(e1, CANARY_SEAL_ERROR_WRONG_KIND, m1, NULL);

	g_autoptr(GError) e2 = NULL;
	g_autoptr(canary_secret_key) s2 = canary_key_load_secret(pub, PASS, strlen(PASS), &e2);
	ck_assert_ptr_null(s2);
	g_autofree char *m2 =
		g_strdup_printf("%s: this is a public key file; give the secret key (.key)", pub);
	assert_error(e2, CANARY_SEAL_ERROR_WRONG_KIND, m2, NULL);

	g_autoptr(GError) e3 = NULL;
	g_autofree struct canary_public_key *p3 = canary_key_load_public(ps, &e3);
	ck_assert_ptr_null(p3);
	assert_error(e3, CANARY_SEAL_ERROR_WRONG_KIND, NULL, ps);

	g_autoptr(GError) e4 = NULL;
	g_autoptr(canary_pseudonym_key) k4 = canary_key_load_pseudonym(pub, &e4);
	ck_assert_ptr_null(k4);
	assert_error(e4, CANARY_SEAL_ERROR_WRONG_KIND, NULL, pub);

	g_autoptr(GError) e5 = NULL;
	g_autoptr(canary_pseudonym_key) k5 = canary_key_load_pseudonym(sec, &e5);
	ck_assert_ptr_null(k5);
	assert_error(e5, CANARY_SEAL_ERROR_WRONG_KIND, NULL, sec);

	g_autoptr(GError) e6 = NULL;
	g_autoptr(canary_secret_key) s6 = canary_key_load_secret(ps, PASS, strlen(PASS), &e6);
	ck_assert_ptr_null(s6);
	assert_error(e6, CANARY_SEAL_ERROR_WRONG_KIND, NULL, ps);
}
END_TEST

/* Writes a public key file for the 32 bytes PK with a valid check value. */
static char *forge_public(const guint8 pk[32])
{
	static const char magic[] = "canary-public-key-v1\n";
	guint8 raw[40];
	memcpy(raw, pk, 32);
	crypto_generichash_state st;
	crypto_generichash_init(&st, NULL, 0, 8);
	crypto_generichash_update(&st, (const guint8 *)magic, strlen(magic));
	crypto_generichash_update(&st, pk, 32);
	crypto_generichash_final(&st, raw + 32, 8);
	g_autofree char *b64 = g_base64_encode(raw, sizeof raw);
	return g_strdup_printf("%s%s\n", magic, b64);
}

/* Writes a secret key file with Argon2id limits OPS and MEM and a valid
 * check value. With PASS, the box holds a random secret key under PASS (runs
 * Argon2id at those limits); without, random bytes: enough for files that
 * must be refused before Argon2id runs. */
static char *forge_secret(guint64 ops, guint64 mem, const char *pass)
{
	static const char magic[] = "canary-secret-key-v1\n";
	enum { SALT = crypto_pwhash_SALTBYTES, NONCE = crypto_secretbox_NONCEBYTES };
	guint8 raw[SALT + 16 + NONCE + 32 + crypto_secretbox_MACBYTES + 8];
	gsize payload = sizeof raw - 8;
	randombytes_buf(raw, sizeof raw);
	guint64 v = GUINT64_TO_LE(ops);
	memcpy(raw + SALT, &v, 8);
	v = GUINT64_TO_LE(mem);
	memcpy(raw + SALT + 8, &v, 8);
	if (pass != NULL) {
		guint8 file_key[crypto_secretbox_KEYBYTES], secret[32];
		ck_assert_int_eq(crypto_pwhash(file_key, sizeof file_key, pass, strlen(pass), raw,
					       ops, (gsize)mem, crypto_pwhash_ALG_ARGON2ID13),
				 0);
		randombytes_buf(secret, sizeof secret);
		crypto_secretbox_easy(raw + SALT + 16 + NONCE, secret, sizeof secret,
				      raw + SALT + 16, file_key);
	}
	crypto_generichash_state st;
	crypto_generichash_init(&st, NULL, 0, 8);
	crypto_generichash_update(&st, (const guint8 *)magic, strlen(magic));
	crypto_generichash_update(&st, raw, payload);
	crypto_generichash_final(&st, raw + payload, 8);
	g_autofree char *b64 = g_base64_encode(raw, sizeof raw);
	return g_strdup_printf("%s%s\n", magic, b64);
}

/* This suite runs in a test build: it makes and loads cheap keys. */
START_TEST(test_is_test_build)
{
	ck_assert(canary_seal_test_build());
}
END_TEST

/* Below INTERACTIVE nothing loads, even in a test build, and the error says
 * what the file asks for and what is needed; above SENSITIVE is a crafted
 * file. Neither runs Argon2id. */
START_TEST(test_weak_limits_refused)
{
	static const struct {
		guint64 ops, mem;
		int code;
		const char *message;
	} cases[] = {
		{1, 8u << 20, CANARY_SEAL_ERROR_WEAK_KDF,
		 "f: Argon2id limits too weak for a secret key file: opslimit 1 and 8 MiB, where "
		 "at least opslimit 2 and 64 MiB are needed (a key made by a test build or with "
		 "CANARY_TEST_FAST_KDF); re-encrypt it with canary keygen --rewrap, which keeps the key"},
		{4, 32u << 20, CANARY_SEAL_ERROR_WEAK_KDF,
		 "f: Argon2id limits too weak for a secret key file: opslimit 4 and 32 MiB, where "
		 "at least opslimit 2 and 64 MiB are needed (a key made by a test build or with "
		 "CANARY_TEST_FAST_KDF); re-encrypt it with canary keygen --rewrap, which keeps the key"},
		{1, 1u << 30, CANARY_SEAL_ERROR_WEAK_KDF, NULL},
		{5, 64u << 20, CANARY_SEAL_ERROR_FORMAT,
		 "f: Argon2id limits outside the accepted range (damaged or crafted file)"},
		{2, 2ull << 30, CANARY_SEAL_ERROR_FORMAT,
		 "f: Argon2id limits outside the accepted range (damaged or crafted file)"},
	};
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autofree char *text = forge_secret(cases[i].ops, cases[i].mem, NULL);
		g_autoptr(GError) error = NULL;
		g_autoptr(canary_secret_key) k =
			canary_key_parse_secret("f", text, strlen(text), PASS, strlen(PASS), &error);
		ck_assert_msg(k == NULL, "case %zu loads", i);
		assert_error(error, cases[i].code, cases[i].message, "f: Argon2id limits");
	}
	/* The forging is right: at INTERACTIVE (a test build's minimum) it loads. */
	g_autofree char *ok = forge_secret(crypto_pwhash_OPSLIMIT_INTERACTIVE,
					   crypto_pwhash_MEMLIMIT_INTERACTIVE, PASS);
	g_autoptr(GError) error = NULL;
	g_autoptr(canary_secret_key) k =
		canary_key_parse_secret("f", ok, strlen(ok), PASS, strlen(PASS), &error);
	ck_assert_msg(k != NULL, "%s", error ? error->message : "?");
}
END_TEST

/* fuzz_replay_keyfile caps what a key file may ask of Argon2id: MODERATE is
 * then refused before Argon2id runs, INTERACTIVE still loads. */
START_TEST(test_cap_kdf)
{
	canary_key_test_cap_kdf(); /* this process only: Check forks each test */
	g_autofree char *moderate = forge_secret(crypto_pwhash_OPSLIMIT_MODERATE,
						 crypto_pwhash_MEMLIMIT_MODERATE, NULL);
	g_autoptr(GError) error = NULL;
	g_autoptr(canary_secret_key) k = canary_key_parse_secret(
		"f", moderate, strlen(moderate), PASS, strlen(PASS), &error);
	ck_assert_ptr_null(k);
	assert_error(error, CANARY_SEAL_ERROR_FORMAT,
		     "f: Argon2id limits outside the accepted range (damaged or crafted file)", NULL);
	g_autofree char *sec = tu_data_path("keys/test-section.key");
	g_autoptr(canary_secret_key) s = load_secret_ok(sec, TEST_KEY_PASSPHRASE);
}
END_TEST

START_TEST(test_garbage)
{
	/* Random bytes of every length up to beyond a key file. */
	GRand *rand = g_rand_new_with_seed(42);
	guint8 buf[400];
	for (gsize len = 0; len <= sizeof buf; len++) {
		for (gsize i = 0; i < len; i++)
			buf[i] = (guint8)g_rand_int(rand);
		static const char *const kinds[] = {"pub", "key", "pseudonym"};
		for (size_t k = 0; k < G_N_ELEMENTS(kinds); k++) {
			g_autoptr(GError) error = NULL;
			ck_assert(!parse_any(kinds[k], buf, len, &error));
			ck_assert(error != NULL && error->domain == CANARY_SEAL_ERROR);
		}
	}
	g_rand_free(rand);

	static const struct {
		const char *text;
		int code;
		const char *message;
	} cases[] = {
		{"", CANARY_SEAL_ERROR_FORMAT, "f: empty file, not a canary public key file"},
		{"hello\n", CANARY_SEAL_ERROR_FORMAT, "f: not a canary public key file"},
		{"-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VuAyEA\n-----END PUBLIC KEY-----\n",
		 CANARY_SEAL_ERROR_FORMAT, "f: not a canary public key file"},
		{"canary-public-key-v2\nAAAA\n", CANARY_SEAL_ERROR_FORMAT,
		 "f: a canary public key file in a format this version does not read"},
		{"canary-public-key-v1\r\nAAAA\r\n", CANARY_SEAL_ERROR_FORMAT,
		 "f: a canary public key file in a format this version does not read"},
		{"canary-public-key-v1\nAAAA\n", CANARY_SEAL_ERROR_FORMAT,
		 "f: truncated or damaged"},
		{"canary-public-key-v1\n\n", CANARY_SEAL_ERROR_FORMAT, "f: truncated or damaged"},
		{"canary-public-key-v1\n"
		 "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==\n",
		 CANARY_SEAL_ERROR_FORMAT, "f: truncated or damaged"},
		{"canary-public-key-v1\n"
		 "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA*A==\n",
		 CANARY_SEAL_ERROR_FORMAT, "f: truncated or damaged"},
		{"canary-public-key-v1\n"
		 "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
		 CANARY_SEAL_ERROR_FORMAT, "f: truncated or damaged"},
		{"canary-secret-key-v7\n", CANARY_SEAL_ERROR_WRONG_KIND,
		 "f: this is a secret key file; give the public key (.pub)"},
		{"canary-pseudonym-key-v1\nAAAA\n", CANARY_SEAL_ERROR_WRONG_KIND,
		 "f: this is a pseudonym key file; give the public key (.pub)"},
		{"canary-pub", CANARY_SEAL_ERROR_FORMAT, "f: truncated or damaged"},
	};
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(GError) error = NULL;
		g_autofree struct canary_public_key *p =
			canary_key_parse_public("f", cases[i].text, strlen(cases[i].text), &error);
		ck_assert_msg(p == NULL, "case %zu loads", i);
		assert_error(error, cases[i].code, cases[i].message, NULL);
	}

	/* A file with embedded NULs. */
	static const char nul[] = "canary-public-key-v1\n\0\0\0\0\n";
	g_autoptr(GError) enul = NULL;
	g_autofree struct canary_public_key *pnul =
		canary_key_parse_public("f", nul, sizeof nul - 1, &enul);
	ck_assert_ptr_null(pnul);
	assert_error(enul, CANARY_SEAL_ERROR_FORMAT, "f: truncated or damaged", NULL);

	/* A well-formed file holding a point of small order. */
	guint8 zero[32] = {0};
	g_autofree char *weak = forge_public(zero);
	g_autoptr(GError) eweak = NULL;
	g_autofree struct canary_public_key *pweak =
		canary_key_parse_public("f", weak, strlen(weak), &eweak);
	ck_assert_ptr_null(pweak);
	assert_error(eweak, CANARY_SEAL_ERROR_FORMAT,
		     "f: not a usable public key (a point of small order)", NULL);
	/* The forging helper is right: a real key through it loads. */
	guint8 pk[32], sk[32];
	crypto_box_keypair(pk, sk);
	g_autofree char *good = forge_public(pk);
	g_autofree struct canary_public_key *pgood =
		canary_key_parse_public("f", good, strlen(good), NULL);
	ck_assert_ptr_nonnull(pgood);
}
END_TEST

/* Only the canonical base64 of a key is accepted: the unused low bits of the
 * last character must be zero. */
START_TEST(test_noncanonical_base64)
{
	generate("c");
	g_autofree char *pub = path_in("c.pub");
	g_autoptr(GBytes) full = read_bytes(pub);
	gsize size = 0;
	g_autofree char *text = g_strndup(g_bytes_get_data(full, &size), g_bytes_get_size(full));
	/* 40 bytes -> 56 characters ending "X==": X carries 2 bits and 4 zeros. */
	char *last = text + size - 4;
	ck_assert_int_eq(last[1], '=');
	static const char alphabet[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const char *at = strchr(alphabet, *last);
	ck_assert_ptr_nonnull(at);
	ck_assert_int_eq((at - alphabet) & 15, 0);
	*last = alphabet[(at - alphabet) | 1];
	g_autoptr(GError) error = NULL;
	g_autofree struct canary_public_key *p = canary_key_parse_public("f", text, size, &error);
	ck_assert_ptr_null(p);
	assert_error(error, CANARY_SEAL_ERROR_FORMAT, "f: truncated or damaged", NULL);
}
END_TEST

START_TEST(test_unreadable_files)
{
	g_autofree char *missing = path_in("keys/mena.pub");
	g_autoptr(GError) e1 = NULL;
	g_autofree struct canary_public_key *p1 = canary_key_load_public(missing, &e1);
	ck_assert_ptr_null(p1);
	g_autofree char *m1 = g_strdup_printf("%s: no such file", missing);
	assert_error(e1, CANARY_SEAL_ERROR_IO, m1, NULL);

	g_autoptr(GError) e2 = NULL;
	g_autoptr(canary_secret_key) s2 = canary_key_load_secret(tmpdir, PASS, strlen(PASS), &e2);
	ck_assert_ptr_null(s2);
	assert_error(e2, CANARY_SEAL_ERROR_IO, NULL, tmpdir);

	g_autofree char *fifo = path_in("fifo");
	ck_assert_int_eq(mkfifo(fifo, 0600), 0);
	g_autoptr(GError) e3 = NULL;
	g_autoptr(canary_pseudonym_key) k3 = canary_key_load_pseudonym(fifo, &e3);
	ck_assert_ptr_null(k3);
	g_autofree char *m3 = g_strdup_printf("%s: not a regular file", fifo);
	assert_error(e3, CANARY_SEAL_ERROR_IO, m3, NULL);

	g_autofree char *big = path_in("big.pub");
	g_autofree char *filler = g_strnfill(100000, 'A');
	write_bytes(big, filler, strlen(filler));
	g_autoptr(GError) e4 = NULL;
	g_autofree struct canary_public_key *p4 = canary_key_load_public(big, &e4);
	ck_assert_ptr_null(p4);
	g_autofree char *m4 = g_strdup_printf("%s: too large for a canary key file", big);
	assert_error(e4, CANARY_SEAL_ERROR_FORMAT, m4, NULL);

	if (geteuid() != 0) { /* root reads anything */
		g_autofree char *locked = path_in("locked.pub");
		write_bytes(locked, "x", 1);
		ck_assert_int_eq(chmod(locked, 0), 0);
		g_autoptr(GError) e5 = NULL;
		g_autofree struct canary_public_key *p5 = canary_key_load_public(locked, &e5);
		ck_assert_ptr_null(p5);
		assert_error(e5, CANARY_SEAL_ERROR_IO, NULL, locked);
	}
}
END_TEST

START_TEST(test_refuse_overwrite)
{
	generate("mena");
	g_autofree char *pub = path_in("mena.pub");
	g_autofree char *sec = path_in("mena.key");
	g_autoptr(GBytes) pub_before = read_bytes(pub);
	g_autoptr(GBytes) sec_before = read_bytes(sec);

	g_autoptr(GError) error = NULL;
	ck_assert(!canary_key_generate(tmpdir, "mena", PASS, strlen(PASS), FALSE, &error));
	assert_error(error, CANARY_SEAL_ERROR_EXISTS, NULL, sec);
	g_autoptr(GBytes) pub_after = read_bytes(pub);
	g_autoptr(GBytes) sec_after = read_bytes(sec);
	ck_assert(g_bytes_equal(pub_before, pub_after));
	ck_assert(g_bytes_equal(sec_before, sec_after));

	/* Only the .pub left: still refused, and no .key appears. */
	ck_assert_int_eq(unlink(sec), 0);
	g_autoptr(GError) e2 = NULL;
	ck_assert(!canary_key_generate(tmpdir, "mena", PASS, strlen(PASS), FALSE, &e2));
	assert_error(e2, CANARY_SEAL_ERROR_EXISTS, NULL, pub);
	ck_assert(!g_file_test(sec, G_FILE_TEST_EXISTS));
	ck_assert_uint_eq(count_entries(tmpdir), 1);

	/* FORCE replaces both, atomically, modes intact, no leftovers. */
	g_autoptr(GError) e3 = NULL;
	ck_assert_msg(canary_key_generate(tmpdir, "mena", NEW_PASS, strlen(NEW_PASS), TRUE, &e3), "%s",
		      e3 ? e3->message : "");
	ck_assert_uint_eq(count_entries(tmpdir), 2);
	ck_assert_uint_eq(file_mode(pub), 0644);
	ck_assert_uint_eq(file_mode(sec), 0600);
	g_autoptr(GBytes) pub_new = read_bytes(pub);
	ck_assert(!g_bytes_equal(pub_before, pub_new));
	g_autofree struct canary_public_key *p = load_public_ok(pub);
	g_autoptr(canary_secret_key) s = load_secret_ok(sec, NEW_PASS);
	ck_assert_mem_eq(p->bytes, canary_secret_key_public(s)->bytes, 32);

	/* The pseudonym key likewise. */
	g_autofree char *ps = path_in("pseudonym.key");
	ck_assert(canary_key_generate_pseudonym(ps, FALSE, NULL));
	g_autoptr(GBytes) ps_before = read_bytes(ps);
	g_autoptr(GError) e4 = NULL;
	ck_assert(!canary_key_generate_pseudonym(ps, FALSE, &e4));
	assert_error(e4, CANARY_SEAL_ERROR_EXISTS, NULL, ps);
	g_autoptr(GBytes) ps_same = read_bytes(ps);
	ck_assert(g_bytes_equal(ps_before, ps_same));
	ck_assert(canary_key_generate_pseudonym(ps, TRUE, NULL));
	g_autoptr(GBytes) ps_new = read_bytes(ps);
	ck_assert(!g_bytes_equal(ps_before, ps_new));
	ck_assert_uint_eq(file_mode(ps), 0600);
	ck_assert_uint_eq(count_entries(tmpdir), 3);
}
END_TEST

START_TEST(test_bad_names)
{
	static const char *const names[] = {"", ".hidden", "a/b", "../up", "/abs"};
	for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
		g_autoptr(GError) error = NULL;
		ck_assert(
			!canary_key_generate(tmpdir, names[i], PASS, strlen(PASS), FALSE, &error));
		ck_assert(error != NULL && error->domain == CANARY_SEAL_ERROR);
	}
	g_autoptr(GError) error = NULL;
	ck_assert(!canary_key_generate(tmpdir, "empty", "", 0, FALSE, &error));
	assert_error(error, CANARY_SEAL_ERROR_PASSPHRASE, NULL, NULL);
	g_autofree char *nodir = g_build_filename(tmpdir, "no", "such", "dir", NULL);
	g_autoptr(GError) e2 = NULL;
	ck_assert(!canary_key_generate(nodir, "k", PASS, strlen(PASS), FALSE, &e2));
	assert_error(e2, CANARY_SEAL_ERROR_IO, NULL, nodir);
	ck_assert_uint_eq(count_entries(tmpdir), 0);
}
END_TEST

START_TEST(test_committed_keys)
{
	g_autofree char *pub = tu_data_path("keys/test-section.pub");
	g_autofree char *sec = tu_data_path("keys/test-section.key");
	g_autofree char *ps = tu_data_path("keys/test-pseudonym.key");
	g_autofree struct canary_public_key *p = load_public_ok(pub);
	g_autoptr(canary_secret_key) s = load_secret_ok(sec, TEST_KEY_PASSPHRASE);
	ck_assert_mem_eq(p->bytes, canary_secret_key_public(s)->bytes, 32);
	ck_assert_str_eq(p->id, TEST_KEY_ID);
	g_autoptr(GError) error = NULL;
	g_autoptr(canary_pseudonym_key) k = canary_key_load_pseudonym(ps, &error);
	ck_assert_msg(k != NULL, "%s", error ? error->message : "");
	/* Pinned: pseudonyms must not change between versions, or one
	 * person's cases stop matching. */
	g_autofree char *code = canary_seal_pseudonym(k, "amara.diallo@example.org");
	ck_assert_str_eq(code, TEST_PSEUDONYM);
}
END_TEST

/* --- passphrase rules ------------------------------------------------------ */

static const struct {
	const char *passphrase;
	int code; /* -1: accepted */
	const char *says;
} passphrases[] = {
	{"ab", CANARY_PASSPHRASE_ERROR_SHORT, "fewer than 12 characters"},
	{"elevenchars", CANARY_PASSPHRASE_ERROR_SHORT, "fewer than 12 characters"},
	/* 11 characters in 21 bytes: characters count, not bytes. */
	{"пароль Zx9!", CANARY_PASSPHRASE_ERROR_SHORT, "fewer than 12 characters"},
	{"password1234", CANARY_PASSPHRASE_ERROR_COMMON, "common word or password"},
	{"qwertyuiop12", CANARY_PASSPHRASE_ERROR_COMMON, "common word or password"},
	{"Password123!", CANARY_PASSPHRASE_ERROR_COMMON, "common word or password"},
	{"iloveyou1234", CANARY_PASSPHRASE_ERROR_COMMON, "common word or password"},
	{"drowssap1234", CANARY_PASSPHRASE_ERROR_COMMON, "common word or password"},
	{"Sommer2024!!", CANARY_PASSPHRASE_ERROR_COMMON, "common word or password"},
	{"letmein12345", CANARY_PASSPHRASE_ERROR_PATTERN, "common sequence of characters"},
	{"1q2w3e4r5t6y", CANARY_PASSPHRASE_ERROR_PATTERN, "common sequence of characters"},
	{"p4ssw0rd1234", CANARY_PASSPHRASE_ERROR_PATTERN, "common sequence of characters"},
	{"aaaaaaaaaaaaaa", CANARY_PASSPHRASE_ERROR_SIMPLE, "too simple"},
	{"abcabcabcabc", CANARY_PASSPHRASE_ERROR_SIMPLE, "too simple"},
	{"internationalization", CANARY_PASSPHRASE_ERROR_SIMPLE, "too simple"},
	{"correcthorsebatterystaple", CANARY_PASSPHRASE_ERROR_SIMPLE, "too simple"},
	{"test passphrase", CANARY_PASSPHRASE_ERROR_SIMPLE, "too simple"},
	{PASS, -1, NULL},
	{NEW_PASS, -1, NULL},
	{TU_PASSPHRASE, -1, NULL},
	{TEST_KEY_PASSPHRASE, -1, NULL},
	{"Tr0ub4dor&3xyz", -1, NULL},
	{"kQ7-vw3-Lp9-xz", -1, NULL},
	{"mena officer keys 2026", -1, NULL},
	{"ветер над рекой", -1, NULL},
};

/* Every rule, with its reason; never the passphrase in the message. */
START_TEST(test_passphrase_rules)
{
	const char *pass = passphrases[_i].passphrase;
	g_autoptr(GError) error = NULL;
	gboolean ok = canary_passphrase_check(pass, strlen(pass), &error);
	if (passphrases[_i].code < 0) {
		ck_assert_msg(ok, "'%s' refused: %s", pass, error ? error->message : "?");
		return;
	}
	ck_assert_msg(!ok, "'%s' accepted", pass);
	ck_assert_msg(g_error_matches(error, CANARY_PASSPHRASE_ERROR, passphrases[_i].code),
		      "'%s': code %d, wanted %d: %s", pass, error->code, passphrases[_i].code,
		      error->message);
	ck_assert_msg(g_str_has_prefix(error->message, "passphrase refused: "), "%s",
		      error->message);
	ck_assert_msg(strstr(error->message, passphrases[_i].says) != NULL, "'%s': %s", pass,
		      error->message);
	ck_assert_msg(strstr(error->message, "three or more unrelated words") != NULL, "%s",
		      error->message);
	ck_assert_msg(strstr(error->message, pass) == NULL, "the message holds '%s'", pass);
}
END_TEST

START_TEST(test_passphrase_bytes)
{
	/* A NUL inside: the passphrase is LEN bytes, none of them hidden. */
	static const char nul[] = "correct horse\0battery staple";
	g_autoptr(GError) error = NULL;
	ck_assert(!canary_passphrase_check(nul, sizeof nul - 1, &error));
	ck_assert(g_error_matches(error, CANARY_PASSPHRASE_ERROR, CANARY_PASSPHRASE_ERROR_INVALID));
	ck_assert_str_eq(error->message, "passphrase refused: it holds a NUL byte");

	/* Long is fine up to the limit. */
	GString *text = g_string_new(NULL);
	while (text->len < CANARY_PASSPHRASE_MAX_BYTES)
		g_string_append(text, "Zebra quilt 7; ");
	g_autoptr(GError) e1 = NULL;
	ck_assert_msg(canary_passphrase_check(text->str, CANARY_PASSPHRASE_MAX_BYTES, &e1), "%s",
		      e1 ? e1->message : "?");
	g_autoptr(GError) e2 = NULL;
	ck_assert(!canary_passphrase_check(text->str, CANARY_PASSPHRASE_MAX_BYTES + 1, &e2));
	ck_assert(g_error_matches(e2, CANARY_PASSPHRASE_ERROR, CANARY_PASSPHRASE_ERROR_LONG));
	g_string_free(text, TRUE);

	/* Not UTF-8: bytes count as characters, and passwdqc still judges. */
	static const char latin1[] = "Gr\xfc\xdf" "e aus K\xf6ln 7";
	g_autoptr(GError) e3 = NULL;
	ck_assert_msg(canary_passphrase_check(latin1, strlen(latin1), &e3), "%s",
		      e3 ? e3->message : "?");
}
END_TEST

/* canary_key_generate() applies the rules before any file is made. */
START_TEST(test_generate_refuses_weak)
{
	g_autoptr(GError) error = NULL;
	ck_assert(!canary_key_generate(tmpdir, "weak", "password1234", 12, FALSE, &error));
	ck_assert(g_error_matches(error, CANARY_PASSPHRASE_ERROR, CANARY_PASSPHRASE_ERROR_COMMON));
	ck_assert_uint_eq(count_entries(tmpdir), 0);
}
END_TEST

/* Runs the built "canary keygen --out TMPDIR NAME --passphrase-file FILE"
 * with PASSPHRASE on the file's first line. Returns the exit status;
 * *ERR_R gets stderr. */
static int run_keygen(const char *name, const char *passphrase, char **err_r)
{
	g_autofree char *line = g_strdup_printf("%s\n", passphrase);
	g_autofree char *file = tu_write_file(tmpdir, "passphrase", line);
	const char *argv[] = {CANARY_TOOL_PATH, "keygen", "--out", tmpdir, name,
			      "--passphrase-file", file, NULL};
	int status = tu_run(argv, NULL, NULL, err_r);
	unlink(file);
	return status;
}

/* The real canary keygen: each rule refused with its reason and nothing
 * written; a good passphrase makes the pair. */
START_TEST(test_keygen_cli)
{
	for (size_t i = 0; i < G_N_ELEMENTS(passphrases); i++) {
		if (passphrases[i].code < 0)
			continue;
		g_autofree char *err = NULL;
		ck_assert_int_eq(run_keygen("weak", passphrases[i].passphrase, &err), 1);
		ck_assert_msg(strstr(err, "canary: passphrase refused: ") != NULL &&
				      strstr(err, passphrases[i].says) != NULL,
			      "'%s': %s", passphrases[i].passphrase, err);
		ck_assert_msg(strstr(err, passphrases[i].passphrase) == NULL, "stderr holds '%s'",
			      passphrases[i].passphrase);
		ck_assert_uint_eq(count_entries(tmpdir), 0);
	}
	g_autofree char *err = NULL;
	ck_assert_int_eq(run_keygen("good", PASS, &err), 0);
	g_autofree char *sec = path_in("good.key");
	g_autoptr(canary_secret_key) s = load_secret_ok(sec, PASS);
	/* A test build says so when it makes a cheap key. */
	ck_assert_msg(strstr(err, "test build: a cheap Argon2id") != NULL, "%s", err);
}
END_TEST

/* Runs the built canary with ARGV after "canary" (NULL-terminated).
 * Returns the exit status; *ERR_R gets stderr. */
static int run_tool(char **err_r, const char *const *args)
{
	g_autoptr(GPtrArray) argv = g_ptr_array_new();
	g_ptr_array_add(argv, (gpointer)CANARY_TOOL_PATH);
	for (; *args != NULL; args++)
		g_ptr_array_add(argv, (gpointer)*args);
	g_ptr_array_add(argv, NULL);
	return tu_run((const char *const *)argv->pdata, NULL, NULL, err_r);
}

/* canary keygen --rewrap: a new passphrase on the same key; the old one
 * no longer opens it; a wrong old or a weak new one changes nothing. */
START_TEST(test_keygen_rewrap_cli)
{
	generate("r");
	g_autofree char *sec = path_in("r.key");
	g_autofree char *pub = path_in("r.pub");
	g_autofree char *old_file = tu_write_file(tmpdir, "old", PASS "\n");
	g_autofree char *new_file = tu_write_file(tmpdir, "new", NEW_PASS "\n");
	g_autofree char *weak_file = tu_write_file(tmpdir, "weak", "qwertyuiop12\n");
	g_autoptr(GBytes) before = read_bytes(sec);

	g_autofree char *e1 = NULL;
	const char *weak[] = {"keygen", "--rewrap", sec, "--old-passphrase-file", old_file,
			      "--passphrase-file", weak_file, NULL};
	ck_assert_int_eq(run_tool(&e1, weak), 1);
	ck_assert_msg(strstr(e1, "passphrase refused: ") != NULL, "%s", e1);
	g_autofree char *e2 = NULL;
	const char *wrong[] = {"keygen", "--rewrap", sec, "--old-passphrase-file", new_file,
			       "--passphrase-file", new_file, NULL};
	ck_assert_int_eq(run_tool(&e2, wrong), 6);
	ck_assert_msg(strstr(e2, "wrong passphrase") != NULL, "%s", e2);
	g_autoptr(GBytes) after_refusals = read_bytes(sec);
	ck_assert(g_bytes_equal(before, after_refusals));

	g_autofree char *e3 = NULL;
	const char *good[] = {"keygen", "--rewrap", sec, "--old-passphrase-file", old_file,
			      "--passphrase-file", new_file, NULL};
	ck_assert_msg(run_tool(&e3, good) == 0, "%s", e3);
	ck_assert_uint_eq(file_mode(sec), 0600);
	g_autoptr(canary_secret_key) s = load_secret_ok(sec, NEW_PASS);
	g_autofree struct canary_public_key *p = load_public_ok(pub);
	ck_assert_mem_eq(p->bytes, canary_secret_key_public(s)->bytes, 32);
	g_autoptr(GError) error = NULL;
	g_autoptr(canary_secret_key) old = canary_key_load_secret(sec, PASS, strlen(PASS), &error);
	ck_assert_ptr_null(old);
	assert_error(error, CANARY_SEAL_ERROR_PASSPHRASE, NULL, NULL);

	/* --rewrap is alone; --old-passphrase-file only goes with it. */
	const char *mixed[] = {"keygen", "--rewrap", sec, "--out", tmpdir, "x", NULL};
	ck_assert_int_eq(run_tool(NULL, mixed), 2);
	const char *stray[] = {"keygen", "--out", tmpdir, "x", "--old-passphrase-file", old_file,
			       NULL};
	ck_assert_int_eq(run_tool(NULL, stray), 2);
}
END_TEST

/* A prompt of the program and the line typed once it shows. */
struct answer {
	const char *prompt;
	const char *line;
};

/* Reads what the terminal MASTER shows into SHOWN until it holds NEEDLE
 * (after FROM) or, with NEEDLE NULL, until the program is gone. FALSE on
 * a timeout of 30 s, or at the end without NEEDLE. */
static gboolean read_tty_until(int master, GString *shown, gsize from, const char *needle)
{
	for (;;) {
		if (needle != NULL && strstr(shown->str + from, needle) != NULL)
			return TRUE;
		struct pollfd pfd = {.fd = master, .events = POLLIN};
		if (poll(&pfd, 1, 30000) <= 0)
			return FALSE;
		char buf[512];
		ssize_t n = read(master, buf, sizeof buf);
		if (n <= 0) /* EIO: the program and its terminal are gone */
			return needle == NULL;
		g_string_append_len(shown, buf, n);
	}
}

/* Runs "canary ARGS..." on a new pseudo-terminal, typing each answer once
 * its prompt shows (ANSWERS ends with a NULL prompt). Returns the exit
 * status, or -1 when a prompt never showed; *SHOWN_R gets everything the
 * terminal showed. */
static int run_on_tty(const char *const *args, const struct answer *answers, char **shown_r)
{
	g_autoptr(GPtrArray) argv = g_ptr_array_new();
	g_ptr_array_add(argv, (gpointer)CANARY_TOOL_PATH);
	for (; *args != NULL; args++)
		g_ptr_array_add(argv, (gpointer)*args);
	g_ptr_array_add(argv, NULL);
	pid_t parent = getpid();
	int master = -1;
	pid_t pid = forkpty(&master, NULL, NULL, NULL);
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		tu_die_with_parent(parent);
		execv(CANARY_TOOL_PATH, (char *const *)argv->pdata);
		_exit(127);
	}
	GString *shown = g_string_new(NULL);
	gboolean ok = TRUE;
	for (gsize from = 0; ok && answers->prompt != NULL; answers++) {
		ok = read_tty_until(master, shown, from, answers->prompt);
		from = shown->len;
		if (ok) {
			g_autofree char *line = g_strdup_printf("%s\n", answers->line);
			ok = write(master, line, strlen(line)) == (ssize_t)strlen(line);
		}
	}
	if (ok)
		read_tty_until(master, shown, 0, NULL);
	else
		kill(pid, SIGKILL);
	close(master);
	int status = 0;
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	*shown_r = g_string_free(shown, FALSE);
	if (!ok)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* On a terminal, keygen judges the passphrase before asking for it again:
 * a refused one is typed once, and nothing echoes it. */
START_TEST(test_keygen_terminal)
{
	const char *make_weak[] = {"keygen", "--out", tmpdir, "weak", NULL};
	const struct answer weak[] = {{"Passphrase for the new key: ", "password1234"}, {NULL, NULL}};
	g_autofree char *shown = NULL;
	ck_assert_int_eq(run_on_tty(make_weak, weak, &shown), 1);
	ck_assert_msg(strstr(shown, "passphrase refused: it is based on a common word") != NULL,
		      "%s", shown);
	ck_assert_msg(strstr(shown, "Repeat") == NULL, "%s", shown);
	ck_assert_msg(strstr(shown, "password1234") == NULL, "echoed: %s", shown);
	ck_assert_uint_eq(count_entries(tmpdir), 0);

	const char *make_good[] = {"keygen", "--out", tmpdir, "good", NULL};
	const struct answer differ[] = {{"Passphrase for the new key: ", PASS},
					{"Repeat the passphrase: ", NEW_PASS},
					{NULL, NULL}};
	g_autofree char *shown2 = NULL;
	ck_assert_int_eq(run_on_tty(make_good, differ, &shown2), 1);
	ck_assert_msg(strstr(shown2, "the two passphrases differ") != NULL, "%s", shown2);
	ck_assert_uint_eq(count_entries(tmpdir), 0);

	const struct answer good[] = {{"Passphrase for the new key: ", PASS},
				      {"Repeat the passphrase: ", PASS},
				      {NULL, NULL}};
	g_autofree char *shown3 = NULL;
	ck_assert_msg(run_on_tty(make_good, good, &shown3) == 0, "%s", shown3);
	ck_assert_msg(strstr(shown3, PASS) == NULL, "echoed: %s", shown3);
	g_autofree char *sec = path_in("good.key");
	g_autoptr(canary_secret_key) s = load_secret_ok(sec, PASS);
}
END_TEST

START_TEST(test_version_says_test_build)
{
	g_autofree char *out = NULL;
	const char *argv[] = {CANARY_TOOL_PATH, "--version", NULL};
	ck_assert_int_eq(tu_run(argv, NULL, &out, NULL), 0);
	ck_assert_msg(g_str_has_prefix(out, "canary " CANARY_VERSION " (test build: CANARY_TEST_KDF;"),
		      "%s", out);
}
END_TEST

/* --- envelope ---------------------------------------------------------------- */

START_TEST(test_content_key_seal_open)
{
	generate("a");
	generate("b");
	g_autofree char *apub = path_in("a.pub");
	g_autofree char *akey = path_in("a.key");
	g_autofree char *bkey = path_in("b.key");
	g_autofree struct canary_public_key *a = load_public_ok(apub);
	g_autoptr(canary_secret_key) as = load_secret_ok(akey, PASS);
	g_autoptr(canary_secret_key) bs = load_secret_ok(bkey, PASS);

	g_autoptr(canary_content_key) ck = canary_content_key_new();
	g_autoptr(GBytes) sealed = canary_content_key_seal(ck, a);
	ck_assert_ptr_nonnull(sealed);
	ck_assert_uint_eq(g_bytes_get_size(sealed), 32 + crypto_box_SEALBYTES);
	g_autoptr(GBytes) sealed2 = canary_content_key_seal(ck, a);
	ck_assert(!g_bytes_equal(sealed, sealed2)); /* ephemeral sender key */

	g_autoptr(GError) error = NULL;
	g_autoptr(canary_content_key) opened = canary_content_key_open(sealed, as, &error);
	ck_assert_msg(opened != NULL, "%s", error ? error->message : "");
	/* Same key: what one encrypts the other decrypts. */
	g_autoptr(GBytes) blob = canary_seal_encrypt(ck, 7, "text", "hello", 5);
	g_autoptr(GBytes) plain = canary_seal_decrypt(opened, 7, "text", blob, &error);
	ck_assert_ptr_nonnull(plain);
	ck_assert_mem_eq(g_bytes_get_data(plain, NULL), "hello", 5);

	g_autoptr(GError) e2 = NULL;
	g_autoptr(canary_content_key) wrong = canary_content_key_open(sealed, bs, &e2);
	ck_assert_ptr_null(wrong);
	assert_error(e2, CANARY_SEAL_ERROR_WRONG_KEY, NULL, "key ");
	ck_assert_ptr_nonnull(strstr(e2->message, canary_secret_key_public(bs)->id));

	/* A flipped bit: indistinguishable from another recipient. */
	gsize n = 0;
	guint8 *bad = g_memdup2(g_bytes_get_data(sealed, &n), g_bytes_get_size(sealed));
	bad[40] ^= 1;
	g_autoptr(GBytes) flipped = g_bytes_new_take(bad, n);
	g_autoptr(GError) e3 = NULL;
	g_autoptr(canary_content_key) k3 = canary_content_key_open(flipped, as, &e3);
	ck_assert_ptr_null(k3);
	assert_error(e3, CANARY_SEAL_ERROR_WRONG_KEY, NULL, NULL);

	/* A wrong size is damage. */
	g_autoptr(GBytes) cut = g_bytes_new_from_bytes(sealed, 0, n - 1);
	g_autoptr(GError) e4 = NULL;
	g_autoptr(canary_content_key) k4 = canary_content_key_open(cut, as, &e4);
	ck_assert_ptr_null(k4);
	assert_error(e4, CANARY_SEAL_ERROR_TAMPERED, NULL, NULL);
	g_autoptr(GBytes) empty = g_bytes_new(NULL, 0);
	g_autoptr(GError) e5 = NULL;
	g_autoptr(canary_content_key) k5 = canary_content_key_open(empty, as, &e5);
	ck_assert_ptr_null(k5);
	assert_error(e5, CANARY_SEAL_ERROR_TAMPERED, NULL, NULL);
}
END_TEST

/* What KEY encrypts, OPENED decrypts: the same key. */
static void assert_same_key(const struct canary_content_key *key,
			    const struct canary_content_key *opened)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GBytes) blob = canary_seal_encrypt(key, 7, "text", "hello", 5);
	g_autoptr(GBytes) plain = canary_seal_decrypt(opened, 7, "text", blob, &error);
	ck_assert_msg(plain != NULL, "%s", error != NULL ? error->message : "");
	ck_assert_mem_eq(g_bytes_get_data(plain, NULL), "hello", 5);
}

/* One message's keys sealed to its recipients with one ephemeral key pair:
 * sealed boxes that crypto_box_seal_open() opens, one shared public key
 * for distinct recipients, a key pair of its own for a recipient again. */
START_TEST(test_key_sealer)
{
	const char *names[] = {"a", "b", "c"};
	struct canary_public_key *pub[3];
	struct canary_secret_key *sec[3];
	for (int i = 0; i < 3; i++) {
		generate(names[i]);
		g_autofree char *file = g_strconcat(names[i], ".pub", NULL);
		g_autofree char *pub_path = path_in(file);
		g_autofree char *key_file = g_strconcat(names[i], ".key", NULL);
		g_autofree char *key_path = path_in(key_file);
		pub[i] = load_public_ok(pub_path);
		sec[i] = load_secret_ok(key_path, PASS);
	}
	g_autoptr(canary_content_key) content = canary_content_key_new();
	g_autoptr(canary_content_key) identity = canary_content_key_new();
	g_autoptr(canary_key_sealer) sealer = canary_key_sealer_new();
	GBytes *sealed[4] = {
		canary_key_sealer_seal(sealer, content, pub[0]),
		canary_key_sealer_seal(sealer, content, pub[1]),
		canary_key_sealer_seal(sealer, identity, pub[2]),
		canary_key_sealer_seal(sealer, identity, pub[0]), /* a again */
	};
	const struct canary_content_key *sealed_key[4] = {content, content, identity, identity};
	const int opener[4] = {0, 1, 2, 0};
	for (int i = 0; i < 4; i++) {
		ck_assert_ptr_nonnull(sealed[i]);
		ck_assert_uint_eq(g_bytes_get_size(sealed[i]), CANARY_SEALED_KEY_SIZE);
		/* Opened by crypto_box_seal_open(): the sealed box format, unchanged. */
		g_autoptr(GError) error = NULL;
		g_autoptr(canary_content_key) opened =
			canary_content_key_open(sealed[i], sec[opener[i]], &error);
		ck_assert_msg(opened != NULL, "%s", error != NULL ? error->message : "");
		assert_same_key(sealed_key[i], opened);
		/* Nobody else opens it. */
		g_autoptr(GError) wrong_error = NULL;
		g_autoptr(canary_content_key) wrong =
			canary_content_key_open(sealed[i], sec[(opener[i] + 1) % 3], &wrong_error);
		ck_assert_ptr_null(wrong);
	}
	const guint8 *ephemeral = g_bytes_get_data(sealed[0], NULL);
	ck_assert_mem_eq(g_bytes_get_data(sealed[1], NULL), ephemeral, 32);
	ck_assert_mem_eq(g_bytes_get_data(sealed[2], NULL), ephemeral, 32);
	ck_assert(memcmp(g_bytes_get_data(sealed[3], NULL), ephemeral, 32) != 0);
	/* Another message's sealer: another key pair. */
	g_autoptr(canary_key_sealer) other = canary_key_sealer_new();
	g_autoptr(GBytes) elsewhere = canary_key_sealer_seal(other, content, pub[0]);
	ck_assert(memcmp(g_bytes_get_data(elsewhere, NULL), ephemeral, 32) != 0);
	for (int i = 0; i < 4; i++)
		g_bytes_unref(sealed[i]);
	for (int i = 0; i < 3; i++) {
		g_free(pub[i]);
		canary_secret_key_free(sec[i]);
	}
}
END_TEST

#define KIB 1024
static const gsize sizes[] = {0,
			      1,
			      255,
			      256,
			      4 * KIB - 1,
			      4 * KIB,
			      64 * KIB - 2,
			      64 * KIB - 1,
			      64 * KIB,
			      64 * KIB + 1,
			      3 * 64 * KIB,
			      5 * 1000 * 1000};

/* Expected size of a sealed field once padded to PADDED bytes. */
static gsize sealed_size(gsize padded)
{
	if (padded <= 64 * KIB)
		return 1 + 24 + padded + 16;
	gsize chunks = (padded + 64 * KIB - 1) / (64 * KIB);
	return 1 + 24 + padded + chunks * 17;
}

/* Padded lengths worked out by hand: a power of two from 256 to 4 KiB for
 * the text and its end marker, then Padmé (E the top bit's place, S that
 * of E's plus one: rounded to a multiple of 2^(E - S)). */
START_TEST(test_padded_sizes)
{
	static const struct {
		gsize len, padded;
	} cases[] = {
		{0, 256},
		{255, 256},
		{256, 512},
		{1000, 1024},
		{4095, 4096},
		/* 4097: E 12, S 4, multiples of 256. */
		{4096, 17 * 256},
		/* 20001: E 14, S 4, multiples of 1 KiB. */
		{20000, 20 * KIB},
		{64 * KIB - 1, 64 * KIB},
		/* 65537: E 16, S 5, multiples of 2 KiB. */
		{64 * KIB, 33 * 2 * KIB},
		{100000, 49 * 2 * KIB},
		/* 5000001: E 22, S 5, multiples of 128 KiB. */
		{5 * 1000 * 1000, 39 * 128 * KIB},
		/* 2^32 + 1: E 32, S 6, multiples of 64 MiB. */
		{(gsize)1 << 32, ((gsize)1 << 32) + ((gsize)64 << 20)},
	};
	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++)
		ck_assert_uint_eq(canary_seal_padded_size(cases[i].len), cases[i].padded);
	ck_assert_uint_eq(canary_seal_padded_size(G_MAXSIZE), 0);

	/* Texts that end as the padding does come back whole. */
	static const char *const ends[] = {"abc\x80", "abc\0\0", "\x80\0", "\0"};
	static const gsize end_lens[] = {4, 5, 2, 1};
	g_autoptr(canary_content_key) key = canary_content_key_new();
	for (gsize i = 0; i < G_N_ELEMENTS(ends); i++) {
		g_autoptr(GBytes) blob = canary_seal_encrypt(key, 3, "text", ends[i], end_lens[i]);
		g_autoptr(GError) error = NULL;
		g_autoptr(GBytes) back = canary_seal_decrypt(key, 3, "text", blob, &error);
		ck_assert_msg(back != NULL, "%s", error ? error->message : "");
		ck_assert_uint_eq(g_bytes_get_size(back), end_lens[i]);
		ck_assert_mem_eq(g_bytes_get_data(back, NULL), ends[i], end_lens[i]);
	}

	/* Never shorter than the text and its marker, never shrinking as the
	 * text grows, under 6.3% more above 4 KiB and 3.2% above 64 KiB, and
	 * few lengths in all. */
	gsize previous = 0, distinct = 0;
	for (gsize len = 0; len < 4 * 1024 * KIB; len += 1 + len / 4096) {
		gsize padded = canary_seal_padded_size(len);
		ck_assert_uint_ge(padded, len + 1);
		ck_assert_uint_ge(padded, previous);
		if (len >= 4 * KIB)
			ck_assert_uint_lt((padded - len) * 1000, len * (len >= 64 * KIB ? 32 : 63));
		distinct += padded != previous;
		previous = padded;
	}
	ck_assert_uint_le(distinct, 5 + 4 * 16 + 6 * 32 + 1);
}
END_TEST

/* Asserts BLOB does not open as FIELD of CASE_ID under KEY. */
static void assert_tampered(const struct canary_content_key *key, gint64 case_id, const char *field,
			    GBytes *blob, const char *what)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GBytes) plain = canary_seal_decrypt(key, case_id, field, blob, &error);
	ck_assert_msg(plain == NULL, "%s: opens", what);
	g_autofree char *expect = g_strdup_printf(
		"sealed field '%s' of this case fails to authenticate (damaged, or moved from "
		"another case or field)",
		field);
	assert_error(error, CANARY_SEAL_ERROR_TAMPERED, expect, NULL);
}

/* BLOB with byte AT xor MASK. */
static GBytes *flip(GBytes *blob, gsize at, guint8 mask)
{
	gsize n = 0;
	guint8 *d = g_memdup2(g_bytes_get_data(blob, &n), g_bytes_get_size(blob));
	d[at] ^= mask;
	return g_bytes_new_take(d, n);
}

/* BLOB with EXTRA bytes of value 0 appended. */
static GBytes *append(GBytes *blob, gsize extra)
{
	gsize n = g_bytes_get_size(blob);
	guint8 *d = g_malloc0(n + extra);
	memcpy(d, g_bytes_get_data(blob, NULL), n);
	return g_bytes_new_take(d, n + extra);
}

/* Fields sealed before padding came (formats 0x01 and 0x02, written by
 * commit 223ecb9 into tests/data/unpadded) still open. */
START_TEST(test_unpadded_fields_still_open)
{
	g_autofree char *sec = tu_data_path("keys/test-section.key");
	g_autoptr(canary_secret_key) secret = load_secret_ok(sec, TEST_KEY_PASSPHRASE);
	g_autoptr(GBytes) sealed_key = tu_data_bytes("unpadded/key.bin");
	g_autoptr(GError) error = NULL;
	g_autoptr(canary_content_key) key = canary_content_key_open(sealed_key, secret, &error);
	ck_assert_msg(key != NULL, "%s", error ? error->message : "");

	g_autoptr(GBytes) single = tu_data_bytes("unpadded/single.bin");
	ck_assert_uint_eq(((const guint8 *)g_bytes_get_data(single, NULL))[0], 0x01);
	g_autoptr(GBytes) subject = canary_seal_decrypt(key, 42, "subject", single, &error);
	ck_assert_msg(subject != NULL, "%s", error ? error->message : "");
	ck_assert_uint_eq(g_bytes_get_size(subject), 10);
	ck_assert_mem_eq(g_bytes_get_data(subject, NULL), "Travel ban", 10);

	g_autoptr(GBytes) stream = tu_data_bytes("unpadded/stream.bin");
	ck_assert_uint_eq(((const guint8 *)g_bytes_get_data(stream, NULL))[0], 0x02);
	g_autoptr(GBytes) raw = canary_seal_decrypt(key, 42, "raw", stream, &error);
	ck_assert_msg(raw != NULL, "%s", error ? error->message : "");
	gsize len = 0;
	const guint8 *p = g_bytes_get_data(raw, &len);
	ck_assert_uint_eq(len, 64 * KIB + 100);
	for (gsize i = 0; i < len; i++)
		ck_assert_uint_eq(p[i], (i * 7) % 251);

	/* Their format byte changed to the padded one's does not open. */
	g_autoptr(GBytes) single_as_padded = flip(single, 0, 0x01 ^ 0x03);
	assert_tampered(key, 42, "subject", single_as_padded, "0x01 read as 0x03");
	g_autoptr(GBytes) stream_as_padded = flip(stream, 0, 0x02 ^ 0x04);
	assert_tampered(key, 42, "raw", stream_as_padded, "0x02 read as 0x04");
}
END_TEST

/* A key wrapped under another opens with that key only, for the same case
 * and field, and any change to it is damage. */
START_TEST(test_content_key_wrap_unwrap)
{
	g_autoptr(canary_content_key) key = canary_content_key_new();
	g_autoptr(canary_content_key) wrapping = canary_content_key_new();
	g_autoptr(canary_content_key) other = canary_content_key_new();
	g_autoptr(GBytes) wrapped = canary_content_key_wrap(key, wrapping, 7, "key/meta/content");
	ck_assert_uint_eq(g_bytes_get_size(wrapped), 1 + 24 + 32 + 16);

	g_autoptr(GError) error = NULL;
	g_autoptr(canary_content_key) opened =
		canary_content_key_unwrap(wrapped, wrapping, 7, "key/meta/content", &error);
	ck_assert_msg(opened != NULL, "%s", error ? error->message : "");
	g_autoptr(GBytes) blob = canary_seal_encrypt(key, 7, "meta", "exact", 5);
	g_autoptr(GBytes) plain = canary_seal_decrypt(opened, 7, "meta", blob, &error);
	ck_assert_ptr_nonnull(plain);
	ck_assert_mem_eq(g_bytes_get_data(plain, NULL), "exact", 5);

	struct {
		const struct canary_content_key *wrapping;
		gint64 case_id;
		const char *field;
	} const wrong[] = {
		{other, 7, "key/meta/content"},
		{wrapping, 8, "key/meta/content"},
		{wrapping, 7, "key/meta/identity"},
	};
	for (gsize i = 0; i < G_N_ELEMENTS(wrong); i++) {
		g_autoptr(GError) e = NULL;
		ck_assert_ptr_null(canary_content_key_unwrap(wrapped, wrong[i].wrapping,
							     wrong[i].case_id, wrong[i].field, &e));
		ck_assert(g_error_matches(e, CANARY_SEAL_ERROR, CANARY_SEAL_ERROR_TAMPERED));
	}
	/* Something else sealed under the wrapping key is not a key. */
	g_autoptr(GBytes) not_key = canary_seal_encrypt(wrapping, 7, "key/meta/content", "short", 5);
	g_autoptr(GError) e = NULL;
	ck_assert_ptr_null(canary_content_key_unwrap(not_key, wrapping, 7, "key/meta/content", &e));
	ck_assert(g_error_matches(e, CANARY_SEAL_ERROR, CANARY_SEAL_ERROR_TAMPERED));
	ck_assert_ptr_nonnull(strstr(e->message, "key/meta/content"));
}
END_TEST

START_TEST(test_encrypt_round_trip)
{
	gsize len = sizes[_i];
	g_autoptr(canary_content_key) key = canary_content_key_new();
	g_autoptr(canary_content_key) other = canary_content_key_new();
	guint8 *plain = g_malloc(len + 1);
	randombytes_buf(plain, len);
	const gint64 id = 1234567;

	g_autoptr(GBytes) blob = canary_seal_encrypt(key, id, "text", plain, len);
	ck_assert_ptr_nonnull(blob);
	gsize n = g_bytes_get_size(blob);
	gsize padded = canary_seal_padded_size(len);
	ck_assert_uint_eq(n, sealed_size(padded));
	ck_assert_uint_eq(((const guint8 *)g_bytes_get_data(blob, NULL))[0],
			  padded <= 64 * KIB ? 0x03 : 0x04);
	g_autoptr(GError) error = NULL;
	g_autoptr(GBytes) out = canary_seal_decrypt(key, id, "text", blob, &error);
	ck_assert_msg(out != NULL, "%s", error ? error->message : "");
	ck_assert_uint_eq(g_bytes_get_size(out), len);
	if (len > 0)
		ck_assert(memcmp(g_bytes_get_data(out, NULL), plain, len) == 0);

	/* Random nonces: the same plaintext seals differently each time. */
	g_autoptr(GBytes) again = canary_seal_encrypt(key, id, "text", plain, len);
	ck_assert(!g_bytes_equal(blob, again));

	/* Moved to another case or field, or another key. */
	assert_tampered(key, id + 1, "text", blob, "other case");
	assert_tampered(key, -id, "text", blob, "negated case");
	assert_tampered(key, id + ((gint64)1 << 32), "text", blob, "case id high bits");
	assert_tampered(key, id, "subject", blob, "other field");
	assert_tampered(key, id, "tex", blob, "prefix field");
	assert_tampered(key, id, "text ", blob, "longer field");
	assert_tampered(other, id, "text", blob, "other key");

	/* A flipped bit anywhere that matters. */
	gsize at[] = {0,
		      1,
		      24,
		      25,
		      n / 2,
		      n - 17,
		      n - 16,
		      n - 1,
		      1 + 24 + 64 * KIB + 16,
		      1 + 24 + 64 * KIB + 17};
	for (size_t i = 0; i < G_N_ELEMENTS(at); i++) {
		if (at[i] >= n)
			continue;
		for (int bit = 0; bit < 8; bit += 7) {
			g_autoptr(GBytes) bad = flip(blob, at[i], (guint8)(1u << bit));
			g_autofree char *what = g_strdup_printf("bit %d of byte %zu", bit, at[i]);
			assert_tampered(key, id, "text", bad, what);
		}
	}
	/* Unknown or swapped format bytes. */
	static const guint8 formats[] = {0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x80, 0xff};
	for (size_t i = 0; i < G_N_ELEMENTS(formats); i++) {
		guint8 first = ((const guint8 *)g_bytes_get_data(blob, NULL))[0];
		if (formats[i] == first)
			continue;
		g_autoptr(GBytes) bad = flip(blob, 0, first ^ formats[i]);
		assert_tampered(key, id, "text", bad, "format byte");
	}
	/* Truncated, at every chunk boundary and elsewhere. */
	gsize cuts[] = {0, 1, 24, 25, 40, 41, n / 2, n - 17, n - 1};
	for (size_t i = 0; i < G_N_ELEMENTS(cuts); i++) {
		if (cuts[i] >= n)
			continue;
		g_autoptr(GBytes) cut = g_bytes_new_from_bytes(blob, 0, cuts[i]);
		assert_tampered(key, id, "text", cut, "truncated");
	}
	for (gsize end = 1 + 24 + 64 * KIB + 17; end < n; end += 64 * KIB + 17) {
		g_autoptr(GBytes) cut = g_bytes_new_from_bytes(blob, 0, end);
		assert_tampered(key, id, "text", cut, "cut at a chunk boundary");
	}
	/* Extended. */
	gsize extras[] = {1, 16, 17, 64 * KIB + 17};
	for (size_t i = 0; i < G_N_ELEMENTS(extras); i++) {
		g_autoptr(GBytes) longer = append(blob, extras[i]);
		assert_tampered(key, id, "text", longer, "appended");
	}
	g_free(plain);
}
END_TEST

/* Chunks of a stream cannot be reordered, dropped or spliced in from
 * another stream. */
START_TEST(test_stream_chunks_bound)
{
	g_autoptr(canary_content_key) key = canary_content_key_new();
	gsize len = 3 * 64 * KIB + 5;
	guint8 *plain = g_malloc(len);
	randombytes_buf(plain, len);
	g_autoptr(GBytes) blob = canary_seal_encrypt(key, 9, "raw", plain, len);
	g_autoptr(GBytes) blob2 = canary_seal_encrypt(key, 9, "raw", plain, len);
	gsize n = 0;
	const guint8 *d = g_bytes_get_data(blob, &n);
	const gsize cell = 64 * KIB + 17, start = 1 + 24;

	/* Swap chunks 0 and 1. */
	guint8 *swapped = g_memdup2(d, n);
	memcpy(swapped + start, d + start + cell, cell);
	memcpy(swapped + start + cell, d + start, cell);
	g_autoptr(GBytes) b1 = g_bytes_new_take(swapped, n);
	assert_tampered(key, 9, "raw", b1, "swapped chunks");

	/* Drop chunk 1. */
	guint8 *dropped = g_malloc(n - cell);
	memcpy(dropped, d, start + cell);
	memcpy(dropped + start + cell, d + start + 2 * cell, n - start - 2 * cell);
	g_autoptr(GBytes) b2 = g_bytes_new_take(dropped, n - cell);
	assert_tampered(key, 9, "raw", b2, "dropped chunk");

	/* Chunk 1 from another stream of the same plaintext and key. */
	guint8 *spliced = g_memdup2(d, n);
	memcpy(spliced + start + cell, (const guint8 *)g_bytes_get_data(blob2, NULL) + start + cell,
	       cell);
	g_autoptr(GBytes) b3 = g_bytes_new_take(spliced, n);
	assert_tampered(key, 9, "raw", b3, "spliced chunk");
	g_free(plain);
}
END_TEST

/* --- pseudonyms and hashes ----------------------------------------------------- */

static struct canary_pseudonym_key *new_pseudonym_key(const char *name)
{
	g_autofree char *path = path_in(name);
	g_autoptr(GError) error = NULL;
	ck_assert_msg(canary_key_generate_pseudonym(path, FALSE, &error), "%s",
		      error ? error->message : "");
	struct canary_pseudonym_key *key = canary_key_load_pseudonym(path, &error);
	ck_assert_msg(key != NULL, "%s", error ? error->message : "");
	return key;
}

START_TEST(test_pseudonym)
{
	g_autoptr(canary_pseudonym_key) k1 = new_pseudonym_key("p1");
	g_autoptr(canary_pseudonym_key) k2 = new_pseudonym_key("p2");
	g_autofree char *base = canary_seal_pseudonym(k1, "amara.diallo@example.org");
	ck_assert(g_regex_match_simple(PSEUDONYM_RE, base, 0, 0));

	static const char *const same[] = {
		"Amara.Diallo@Example.ORG",
		"  amara.diallo@example.org\n",
		"\tAMARA.DIALLO@EXAMPLE.ORG ",
		"\xc2\xa0"
		"amara.diallo@example.org",            /* no-break space */
		"\xef\xbd\x81mara.diallo@example.org", /* fullwidth a */
	};
	for (size_t i = 0; i < G_N_ELEMENTS(same); i++) {
		g_autofree char *code = canary_seal_pseudonym(k1, same[i]);
		ck_assert_msg(strcmp(code, base) == 0, "'%s' gives %s, not %s", same[i], code,
			      base);
	}
	static const char *const differ[] = {"amara.diallo@example.com",
					     "amara.diallo2@example.org", "amaradiallo@example.org",
					     ""};
	for (size_t i = 0; i < G_N_ELEMENTS(differ); i++) {
		g_autofree char *code = canary_seal_pseudonym(k1, differ[i]);
		ck_assert(g_regex_match_simple(PSEUDONYM_RE, code, 0, 0));
		ck_assert_str_ne(code, base);
	}
	g_autofree char *other_key = canary_seal_pseudonym(k2, "amara.diallo@example.org");
	ck_assert_str_ne(other_key, base);

	/* Non-ASCII case folding. */
	g_autofree char *e1 = canary_seal_pseudonym(k1, "\xc3\x89lodie@exemple.fr");
	g_autofree char *e2 = canary_seal_pseudonym(k1, "\xc3\xa9lodie@EXEMPLE.FR");
	g_autofree char *e3 = canary_seal_pseudonym(k1, "e\xcc\x81lodie@exemple.fr"); /* NFD */
	ck_assert_str_eq(e1, e2);
	ck_assert_str_eq(e1, e3);

	/* Invalid UTF-8: a code, stable under ASCII case, unlike its neighbours. */
	g_autofree char *b1 = canary_seal_pseudonym(k1, "x\xff@Example.org");
	g_autofree char *b2 = canary_seal_pseudonym(k1, " X\xff@example.ORG ");
	g_autofree char *b3 = canary_seal_pseudonym(k1, "x\xfe@example.org");
	ck_assert(g_regex_match_simple(PSEUDONYM_RE, b1, 0, 0));
	ck_assert_str_eq(b1, b2);
	ck_assert_str_ne(b1, b3);

	/* Codes spread over the alphabet. */
	GHashTable *seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	for (int i = 0; i < 2000; i++) {
		g_autofree char *addr = g_strdup_printf("sender%d@example.org", i);
		char *code = canary_seal_pseudonym(k1, addr);
		ck_assert(g_regex_match_simple(PSEUDONYM_RE, code, 0, 0));
		g_hash_table_add(seen, code);
	}
	ck_assert_uint_eq(g_hash_table_size(seen), 2000);
	g_hash_table_unref(seen);
}
END_TEST

START_TEST(test_content_hash)
{
	g_autoptr(canary_pseudonym_key) k1 = new_pseudonym_key("p1");
	g_autoptr(canary_pseudonym_key) k2 = new_pseudonym_key("p2");
	guint8 plain[32], plain2[32], keyed[32], keyed2[32], other[32], chain[32];
	canary_seal_content_hash(NULL, "abc", 3, plain);
	static const char blake2b_256_abc[] =
		"bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319";
	char hex[65];
	sodium_bin2hex(hex, sizeof hex, plain, 32);
	ck_assert_str_eq(hex, blake2b_256_abc);
	canary_seal_content_hash(NULL, "abc", 3, plain2);
	ck_assert_mem_eq(plain, plain2, 32);

	canary_seal_content_hash(k1, "abc", 3, keyed);
	canary_seal_content_hash(k1, "abc", 3, keyed2);
	canary_seal_content_hash(k2, "abc", 3, other);
	ck_assert_mem_eq(keyed, keyed2, 32);
	ck_assert_mem_ne(keyed, plain, 32);
	ck_assert_mem_ne(keyed, other, 32);
	canary_seal_content_hash(k1, "abd", 3, keyed2);
	ck_assert_mem_ne(keyed, keyed2, 32);
	/* The content hash does not reveal the pseudonym of the same bytes. */
	canary_seal_content_hash(k1, NULL, 0, keyed2);
	canary_seal_content_hash(NULL, NULL, 0, plain2);
	ck_assert_mem_ne(keyed2, plain2, 32);

	memcpy(chain, plain, 32);
	ck_assert(canary_seal_hash_equal(chain, plain));
	chain[31] ^= 1;
	ck_assert(!canary_seal_hash_equal(chain, plain));
}
END_TEST

START_TEST(test_wipe)
{
	char buf[16];
	memset(buf, 'x', sizeof buf);
	canary_wipe(buf, sizeof buf);
	for (size_t i = 0; i < sizeof buf; i++)
		ck_assert_int_eq(buf[i], 0);
	canary_wipe(NULL, 0);
	canary_wipe_free(NULL);
	canary_wipe_free(g_strdup("secret"));
}
END_TEST

static Suite *seal_suite(void)
{
	Suite *s = suite_create("seal");
	TCase *keys = tcase_create("keys");
	tcase_add_checked_fixture(keys, setup, teardown);
	tcase_set_timeout(keys, 300);
	tcase_add_test(keys, test_generate_round_trip);
	tcase_add_test(keys, test_generate_modes_any_umask);
	tcase_add_test(keys, test_generate_moderate);
	tcase_add_test(keys, test_fast_kdf_is_interactive);
	tcase_add_test(keys, test_wrong_passphrase);
	tcase_add_test(keys, test_truncated_files);
	tcase_add_test(keys, test_flipped_bits);
	tcase_add_test(keys, test_wrong_kind);
	tcase_add_test(keys, test_garbage);
	tcase_add_test(keys, test_noncanonical_base64);
	tcase_add_test(keys, test_unreadable_files);
	tcase_add_test(keys, test_refuse_overwrite);
	tcase_add_test(keys, test_bad_names);
	tcase_add_test(keys, test_committed_keys);
	tcase_add_test(keys, test_is_test_build);
	tcase_add_test(keys, test_weak_limits_refused);
	tcase_add_test(keys, test_cap_kdf);
	suite_add_tcase(s, keys);

	TCase *rules = tcase_create("passphrase");
	tcase_add_checked_fixture(rules, setup, teardown);
	tcase_set_timeout(rules, 300);
	tcase_add_loop_test(rules, test_passphrase_rules, 0, G_N_ELEMENTS(passphrases));
	tcase_add_test(rules, test_passphrase_bytes);
	tcase_add_test(rules, test_generate_refuses_weak);
	tcase_add_test(rules, test_keygen_cli);
	tcase_add_test(rules, test_keygen_rewrap_cli);
	tcase_add_test(rules, test_keygen_terminal);
	tcase_add_test(rules, test_version_says_test_build);
	suite_add_tcase(s, rules);

	TCase *envelope = tcase_create("envelope");
	tcase_add_checked_fixture(envelope, setup, teardown);
	tcase_set_timeout(envelope, 300);
	tcase_add_test(envelope, test_content_key_seal_open);
	tcase_add_test(envelope, test_key_sealer);
	tcase_add_test(envelope, test_content_key_wrap_unwrap);
	tcase_add_loop_test(envelope, test_encrypt_round_trip, 0, G_N_ELEMENTS(sizes));
	tcase_add_test(envelope, test_padded_sizes);
	tcase_add_test(envelope, test_unpadded_fields_still_open);
	tcase_add_test(envelope, test_stream_chunks_bound);
	suite_add_tcase(s, envelope);

	TCase *hashes = tcase_create("hashes");
	tcase_add_checked_fixture(hashes, setup, teardown);
	tcase_add_test(hashes, test_pseudonym);
	tcase_add_test(hashes, test_content_hash);
	tcase_add_test(hashes, test_wipe);
	suite_add_tcase(s, hashes);
	return s;
}

int main(void)
{
	return tu_run_suite(seal_suite());
}
