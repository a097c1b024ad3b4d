/* check_seal_release.c: lib/seal.c as a release build compiles it (without
 * CMake's CANARY_TEST_KDF; tests/CMakeLists.txt builds it apart from
 * libcanary): CANARY_TEST_FAST_KDF has no effect, and cheap key files are
 * refused with a message that says why. */
#include <check.h>
#include <glib/gstdio.h>
#include <sodium.h>
#include <string.h>
#include <unistd.h>

#include "passphrase.h"
#include "key_limits.h"
#include "seal.h"

#ifdef CANARY_TEST_KDF
#error "check_seal_release must be built without CANARY_TEST_KDF"
#endif

#define PASS "correct horse battery staple"

/* The committed test keys (tests/data/keys/README): INTERACTIVE limits. */
#define TEST_KEY_PASSPHRASE "canary test key - not secret"

static char *tmpdir;

static void setup(void)
{
	ck_assert(canary_seal_init(NULL));
	tmpdir = g_dir_make_tmp("canary-release-XXXXXX", NULL);
	ck_assert_ptr_nonnull(tmpdir);
}

static void teardown(void)
{
	g_autoptr(GDir) dir = g_dir_open(tmpdir, 0, NULL);
	const char *name;
	while (dir != NULL && (name = g_dir_read_name(dir)) != NULL) {
		g_autofree char *path = g_build_filename(tmpdir, name, NULL);
		unlink(path);
	}
	rmdir(tmpdir);
	g_clear_pointer(&tmpdir, g_free);
}

START_TEST(test_not_a_test_build)
{
	ck_assert(!canary_seal_test_build());
}
END_TEST

/* The variable that weakened Argon2id in installed programs does nothing. */
START_TEST(test_fast_kdf_variable_ignored)
{
	g_setenv("CANARY_TEST_FAST_KDF", "1", TRUE);
	g_autoptr(GError) error = NULL;
	ck_assert_msg(canary_key_generate(tmpdir, "real", PASS, strlen(PASS), FALSE, &error), "%s",
		      error ? error->message : "?");
	g_autofree char *sec = g_build_filename(tmpdir, "real.key", NULL);
	guint64 ops = 0, mem = 0;
	tu_stored_limits(sec, &ops, &mem);
	ck_assert_uint_eq(ops, crypto_pwhash_OPSLIMIT_MODERATE);
	ck_assert_uint_eq(mem, crypto_pwhash_MEMLIMIT_MODERATE);
	g_autoptr(canary_secret_key) key = canary_key_load_secret(sec, PASS, strlen(PASS), &error);
	ck_assert_msg(key != NULL, "%s", error ? error->message : "?");
}
END_TEST

/* A key file made by a test build (INTERACTIVE) is refused, naming the file,
 * what it holds and what is needed, before Argon2id runs. */
START_TEST(test_cheap_key_refused)
{
	g_autofree char *sec = g_build_filename(CANARY_TEST_DATA, "keys", "test-section.key", NULL);
	g_autoptr(GError) error = NULL;
	g_autoptr(canary_secret_key) key = canary_key_load_secret(
		sec, TEST_KEY_PASSPHRASE, strlen(TEST_KEY_PASSPHRASE), &error);
	ck_assert_ptr_null(key);
	ck_assert(g_error_matches(error, CANARY_SEAL_ERROR, CANARY_SEAL_ERROR_WEAK_KDF));
	g_autofree char *expect = g_strdup_printf(
		"%s: Argon2id limits too weak for a secret key file: opslimit 2 and 64 MiB, where "
		"at least opslimit 3 and 256 MiB are needed (a key made by a test build or with "
		"CANARY_TEST_FAST_KDF); re-encrypt it with canary keygen --rewrap, which keeps the key",
		sec);
	ck_assert_str_eq(error->message, expect);
}
END_TEST

/* The way out for such a key: rewrapping keeps the key and makes the file
 * strong; nothing changes when the old or the new passphrase is refused. */
START_TEST(test_rewrap_cheap_key)
{
	g_autofree char *committed =
		g_build_filename(CANARY_TEST_DATA, "keys", "test-section.key", NULL);
	g_autofree char *before = NULL;
	gsize size = 0;
	ck_assert(g_file_get_contents(committed, &before, &size, NULL));
	g_autofree char *sec = g_build_filename(tmpdir, "section.key", NULL);
	ck_assert(g_file_set_contents_full(sec, before, (gssize)size, G_FILE_SET_CONTENTS_NONE,
					   0600, NULL));

	g_autoptr(GError) e1 = NULL;
	ck_assert(!canary_key_rewrap(sec, "wrong passphrase", 16, PASS, strlen(PASS), &e1));
	ck_assert(g_error_matches(e1, CANARY_SEAL_ERROR, CANARY_SEAL_ERROR_PASSPHRASE));
	g_autoptr(GError) e2 = NULL;
	ck_assert(!canary_key_rewrap(sec, TEST_KEY_PASSPHRASE, strlen(TEST_KEY_PASSPHRASE),
				     "password1234", 12, &e2));
	ck_assert(g_error_matches(e2, CANARY_PASSPHRASE_ERROR, CANARY_PASSPHRASE_ERROR_COMMON));
	g_autofree char *unchanged = NULL;
	ck_assert(g_file_get_contents(sec, &unchanged, NULL, NULL));
	ck_assert_str_eq(unchanged, before);

	g_autoptr(GError) error = NULL;
	ck_assert_msg(canary_key_rewrap(sec, TEST_KEY_PASSPHRASE, strlen(TEST_KEY_PASSPHRASE),
					PASS, strlen(PASS), &error),
		      "%s", error ? error->message : "?");
	guint64 ops = 0, mem = 0;
	tu_stored_limits(sec, &ops, &mem);
	ck_assert_uint_eq(ops, crypto_pwhash_OPSLIMIT_MODERATE);
	ck_assert_uint_eq(mem, crypto_pwhash_MEMLIMIT_MODERATE);
	GStatBuf st;
	ck_assert_int_eq(g_stat(sec, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0600);
	g_autoptr(canary_secret_key) key = canary_key_load_secret(sec, PASS, strlen(PASS), &error);
	ck_assert_msg(key != NULL, "%s", error ? error->message : "?");
	ck_assert_str_eq(canary_secret_key_public(key)->id, "7eb5e69645d08f15"); /* the same key */
	/* Nothing else left in the directory (no temporary file). */
	g_autoptr(GDir) dir = g_dir_open(tmpdir, 0, NULL);
	ck_assert_str_eq(g_dir_read_name(dir), "section.key");
	ck_assert_ptr_null(g_dir_read_name(dir));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("seal_release");
	TCase *tc = tcase_create("release");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_not_a_test_build);
	tcase_add_test(tc, test_fast_kdf_variable_ignored);
	tcase_add_test(tc, test_cheap_key_refused);
	tcase_add_test(tc, test_rewrap_cheap_key);
	suite_add_tcase(s, tc);
	SRunner *runner = srunner_create(s);
	srunner_run_all(runner, CK_ENV);
	int failed = srunner_ntests_failed(runner);
	srunner_free(runner);
	return failed == 0 ? 0 : 1;
}
