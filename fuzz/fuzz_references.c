/* fuzz_references.c: libFuzzer target for the reply headers: In-Reply-To
 * and References through canary_mail_parse(), then each Message-ID through
 * the lookup's normalisation and keyed hash (canary_ingest_message_id_hash()).
 * Seeds: tests/data/references. Every id must be valid UTF-8, within the
 * cap, and hash (or be refused) without a fault. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ingest.h"
#include "mail.h"
#include "seal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Hashes each id of IDS; aborts on an id that is not UTF-8. */
static void hash_all(const struct canary_pseudonym_key *key, const GPtrArray *ids)
{
	if (ids->len > CANARY_MAIL_MAX_REFERENCES)
		abort();
	for (guint i = 0; i < ids->len; i++) {
		const char *id = ids->pdata[i];
		guint8 hash[32];
		if (id == NULL || !g_utf8_validate(id, -1, NULL))
			abort();
		(void)canary_ingest_message_id_hash(key, id, hash);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static gboolean initialized;
	static struct canary_pseudonym_key *key;
	if (!initialized) {
		canary_mail_init();
		/* A fixed key (tests/data/keys/test-pseudonym.key): hashing is
		 * what is fuzzed, not the key. */
		static const char text[] = "canary-pseudonym-key-v1\n"
					   "EvTbdRFOqMxSgIGoyxWnWJACVdVjny5nkiNMfBiQ2TxHQ9Di73c97A==\n";
		if (!canary_seal_init(NULL))
			abort();
		key = canary_key_parse_pseudonym("fuzz.pseudonym", text, sizeof text - 1, NULL);
		if (key == NULL)
			abort();
		initialized = TRUE;
	}
	struct canary_limits limits;
	canary_limits_init_default(&limits);
	GBytes *raw = g_bytes_new_static(data, size);
	struct canary_mail *mail = canary_mail_parse(raw, &limits);
	if (mail == NULL)
		abort();
	hash_all(key, mail->in_reply_to);
	hash_all(key, mail->references);
	if (mail->message_id != NULL)
		hash_all(key, &(GPtrArray){.pdata = (gpointer *)&mail->message_id, .len = 1});
	canary_mail_free(mail);
	g_bytes_unref(raw);
	return 0;
}
