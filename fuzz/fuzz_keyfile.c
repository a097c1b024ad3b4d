/* fuzz_keyfile.c: libFuzzer target for the key file parsers (public, secret
 * under a fixed passphrase, pseudonym). Seeds: tests/data/keys (the secret
 * key's passphrase is PASSPHRASE). lib/seal.c built with -DCANARY_FUZZING (as
 * CANARY_FUZZ=ON does) refuses stored Argon2id limits above INTERACTIVE, so
 * every run stays fast; replayed in a test build (fuzz_replay_keyfile),
 * canary_key_test_cap_kdf() does the same. By hand:
 *   clang -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -DCANARY_FUZZING \
 *     -Ilib fuzz/fuzz_keyfile.c lib/seal.c lib/passphrase.c lib/log.c \
 *     $(pkg-config --cflags --libs glib-2.0 libsodium) -lpasswdqc -o fuzz_keyfile */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "seal.h"

#define PASSPHRASE "canary test key - not secret"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Every parser either returns a key or sets an error of ours, never both. */
static void check(gboolean loaded, GError *error)
{
	if (loaded == (error != NULL) || (error != NULL && error->domain != CANARY_SEAL_ERROR))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static gboolean started;
	if (!started) {
		if (!canary_seal_init(NULL))
			abort();
#ifdef CANARY_TEST_KDF
		canary_key_test_cap_kdf();
#endif
		started = TRUE;
	}
	GError *error = NULL;

	struct canary_public_key *pub = canary_key_parse_public("fuzz.pub", data, size, &error);
	check(pub != NULL, error);
	g_free(pub);
	g_clear_error(&error);

	struct canary_secret_key *secret = canary_key_parse_secret(
		"fuzz.key", data, size, PASSPHRASE, strlen(PASSPHRASE), &error);
	check(secret != NULL, error);
	if (secret != NULL && strlen(canary_secret_key_public(secret)->id) != CANARY_KEY_ID_LEN)
		abort();
	canary_secret_key_free(secret);
	g_clear_error(&error);

	struct canary_pseudonym_key *pseudonym =
		canary_key_parse_pseudonym("fuzz.pseudonym", data, size, &error);
	check(pseudonym != NULL, error);
	canary_pseudonym_key_free(pseudonym);
	g_clear_error(&error);
	return 0;
}
