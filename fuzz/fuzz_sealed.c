/* fuzz_sealed.c: libFuzzer target for what crosses the control socket
 * carrying sealed blobs: an answer's case ("case") and blobs ("sealed",
 * field -> base64), as canary reads canaryd's answers and canaryd reads the
 * blobs of a move or a note; the blobs then go through every opener with
 * a section key made for it (below: cheap Argon2id limits, so that fuzz
 * builds load it). Seeds: tests/data/sealed (notes sealed to that key). */
#include <json-glib/json-glib.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "case_sealed.h"
#include "envelope.h"

#define PASSPHRASE "test passphrase, not secret"
static const char key_file[] =
	"canary-secret-key-v1\n"
	"NfmYNdUffo3I7L7x3c+"
	"drAIAAAAAAAAAAAAABAAAAADo5fuSGwbPk6TXopXto2EpAFD0ObbZmfq48O0GBpSWGmkpa1rVQ4hKY9NVtcar6S+"
	"6w/SE1IhTMpRaURBgIBMzc8uU5vv/xI04bflK69fEmQ==\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Fails unless exactly one of RESULT and ERROR is set. */
static void check(gboolean result, GError **error)
{
	if (result == (*error != NULL))
		abort();
	g_clear_error(error);
}

/* Runs every opener of SC with KEY. */
static void open_all(const struct canary_sealed_case *sc, const struct canary_secret_key *key)
{
	GError *error = NULL;
	guint parts = 0;
	check(canary_sealed_opens(sc, key, &parts, &error), &error);
	struct canary_case_content *content = canary_sealed_open_content(sc, key, &error);
	check(content != NULL, &error);
	canary_case_content_free(content);
	struct canary_case_meta *meta = canary_sealed_open_meta(sc, key, &error);
	check(meta != NULL, &error);
	canary_case_meta_free(meta);
	GPtrArray *notes = canary_sealed_open_notes(sc, key, &error);
	check(notes != NULL, &error);
	if (notes != NULL)
		g_ptr_array_unref(notes);
	GPtrArray *manifest = canary_sealed_open_manifest(sc, key, &error);
	check(manifest != NULL, &error);
	if (manifest != NULL)
		g_ptr_array_unref(manifest);
	GBytes *attachment = canary_sealed_open_attachment(sc, key, 0, &error);
	check(attachment != NULL, &error);
	if (attachment != NULL)
		g_bytes_unref(attachment);
	GBytes *raw = NULL;
	struct canary_identity *identity = canary_sealed_open_identity(sc, key, &raw, &error);
	check(identity != NULL, &error);
	if (raw != NULL)
		g_bytes_unref(raw);
	canary_identity_free(identity);
	struct canary_sealed_case *resealed =
		canary_sealed_reseal_section(sc, key, canary_secret_key_public(key), &error);
	check(resealed != NULL, &error);
	canary_sealed_case_free(resealed);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct canary_secret_key *key;
	if (key == NULL) {
		if (!canary_seal_init(NULL))
			abort();
#ifdef CANARY_TEST_KDF
		canary_key_test_cap_kdf();
#endif
		key = canary_key_parse_secret("test-section.key", key_file, strlen(key_file),
					      PASSPHRASE, strlen(PASSPHRASE), NULL);
		if (key == NULL)
			abort();
	}
	JsonParser *parser = json_parser_new();
	if (!json_parser_load_from_data(parser, (const char *)data, (gssize)size, NULL) ||
	    !JSON_NODE_HOLDS_OBJECT(json_parser_get_root(parser))) {
		g_object_unref(parser);
		return 0;
	}
	JsonObject *answer = json_node_get_object(json_parser_get_root(parser));
	GError *error = NULL;
	JsonNode *c_node = json_object_get_member(answer, "case");
	struct canary_case *c = canary_case_from_json(
		c_node != NULL && JSON_NODE_HOLDS_OBJECT(c_node) ? json_node_get_object(c_node)
								 : NULL,
		&error);
	check(c != NULL, &error);
	JsonNode *s_node = json_object_get_member(answer, "sealed");
	if (s_node != NULL && JSON_NODE_HOLDS_OBJECT(s_node)) {
		struct canary_sealed_case *sc = canary_sealed_case_from_json(
			c != NULL ? c->id : 0, json_node_get_object(s_node), &error);
		check(sc != NULL, &error);
		if (sc != NULL) {
			JsonObject *back = canary_sealed_case_to_json(sc);
			json_object_unref(back);
			open_all(sc, key);
		}
		canary_sealed_case_free(sc);
	}
	canary_case_free(c);
	g_object_unref(parser);
	return 0;
}
