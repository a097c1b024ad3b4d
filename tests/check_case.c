/* check_case.c: the sealed ops of the control protocol, driven through
 * canary_control_handle() with constructed callers: every access recorded
 * under the caller before a blob goes out, answers that hold ciphertext
 * only, a move re-sealed by the caller that canaryd checks, and a note
 * sealed by the caller. */
#include <json-glib/json-glib.h>
#include <sqlite3.h>
#include <string.h>

#include "case_sealed.h"
#include "control.h"
#include "envelope.h"
#include "process.h"
#include "testutil.h"

/* The submitter of the test message, and a phrase of its body. */
#define SENDER_ADDRESS "ada.witness@example.net"
#define SENDER_NAME    "Adaline Quarrender"
#define BODY_PHRASE    "the river crossing at dawn"

/* mena's officers are the group GROUP (printf argument). */
#define RULES_FORMAT                                                                               \
	"[section mena]\npublic_key = keys/section.pub\ncountries = Egypt\ngroup = %s\n"           \
	"[section africa]\npublic_key = keys/other.pub\nkeywords = Sahel\n"                        \
	"[section triage]\npublic_key = keys/triage.pub\n"                                         \
	"[country Egypt]\nnames = Egypt\n"

static const char *const message =
	"From: " SENDER_NAME " <" SENDER_ADDRESS ">\n"
	"To: reprisals@example.org\n"
	"Subject: Ferry report from Egypt\n"
	"Message-ID: <ferry1@example.net>\n"
	"MIME-Version: 1.0\n"
	"Content-Type: multipart/mixed; boundary=b\n\n"
	"--b\nContent-Type: text/plain; charset=utf-8\n\n"
	"I was stopped in Egypt at " BODY_PHRASE ". Call me on +20 100 555 0101.\n"
	"--b\nContent-Type: application/octet-stream\n"
	"Content-Disposition: attachment; filename=\"ferry-notes.txt\"\n\n"
	"attachment bytes of the ferry notes\n"
	"--b--\n";

static char *tmpdir;
static struct tu_pipeline pl;
static struct canary_control_context ctx;
static struct canary_caller *officer;
static char *ref;

static void setup(void)
{
	tmpdir = tu_make_tempdir();
	/* The caller as the kernel would name "nobody": uid and group 65534.
	 * Its group is mena's, triage's and the custodian's here: these tests
	 * are about what crosses the socket; check_access and check_control
	 * test who may ask. */
	const gid_t gids[] = {65534};
	officer = canary_caller_new(65534, gids, 1);
	const char *group = officer->groups[0];
	g_autofree char *routing = g_strdup_printf(RULES_FORMAT, group);
	g_free(tu_write_file(tmpdir, "routing.conf", routing));
	g_autofree char *extra = g_strdup_printf(
		"[routing]\nrules = routing.conf\n[access]\ntriage = %s\ncustodian = %s\n", group,
		group);
	g_autofree char *config = tu_make_canary_home(tmpdir, TRUE, extra);
	tu_pipeline_open(&pl, config);
	ref = tu_pipeline_file(&pl, message);
	ctx = (struct canary_control_context){.config = pl.config, .store = pl.store};
}

static void teardown(void)
{
	canary_caller_free(officer);
	tu_pipeline_close(&pl);
	tu_rmtree(tmpdir);
	g_clear_pointer(&tmpdir, g_free);
	g_clear_pointer(&ref, g_free);
}

/* Answers OP with ARGS (taken over; NULL: none) for CALLER on STORE. */
static JsonObject *handle_on(struct canary_store *store, const struct canary_caller *caller,
			     const char *op, JsonObject *args)
{
	return tu_control_ask(pl.config, store, caller, op, args);
}

static JsonObject *handle(const char *op, JsonObject *args)
{
	return handle_on(ctx.store, officer, op, args);
}

static JsonObject *ref_args(void)
{
	JsonObject *args = json_object_new();
	json_object_set_string_member(args, "ref", ref);
	return args;
}

static struct canary_sealed_case *sealed_of(JsonObject *result, gint64 case_id)
{
	g_autoptr(GError) error = NULL;
	struct canary_sealed_case *sc = canary_sealed_case_from_json(
		case_id, json_object_get_object_member(result, "sealed"), &error);
	ck_assert_msg(sc != NULL, "%s", error ? error->message : "?");
	return sc;
}

static struct canary_case *get_case(void)
{
	struct canary_case *c = canary_store_get_case(pl.store, ref, NULL);
	ck_assert_ptr_nonnull(c);
	return c;
}

/* How many events of the case have ACTION (any actor when ACTOR is NULL). */
static guint count_events(const char *action, const char *actor)
{
	return tu_count_events(pl.store, ref, action, actor);
}

static char *to_text(JsonObject *o)
{
	g_autoptr(JsonNode) node = json_node_init_object(json_node_alloc(), o);
	return json_to_string(node, FALSE);
}

/* --- Recorded before anything leaves --------------------------------------- */

START_TEST(test_access_recorded_under_caller_before_blobs)
{
	ck_assert_str_eq(officer->user, "nobody");
	g_autoptr(JsonObject) shown = handle("show", ref_args());
	tu_control_ok(shown);
	ck_assert_uint_eq(count_events("show", "nobody"), 1);

	JsonObject *args = ref_args();
	json_object_set_int_member(args, "number", 1);
	g_autoptr(JsonObject) attachment = handle("attachment", args);
	tu_control_ok(attachment);
	ck_assert_uint_eq(count_events("attachment", "nobody"), 1);

	JsonObject *raw = ref_args();
	json_object_set_boolean_member(raw, "raw", TRUE);
	g_autoptr(JsonObject) revealed = handle("reveal", raw);
	tu_control_ok(revealed);
	ck_assert_uint_eq(count_events("reveal", "nobody"), 1);

	/* Key copies alone open nothing and are not an access. */
	g_autoptr(JsonObject) keys = handle("keys", ref_args());
	tu_control_ok(keys);
	ck_assert_uint_eq(count_events("show", NULL), 1);

	/* A store that cannot record the access hands out nothing. */
	g_autoptr(GError) error = NULL;
	struct canary_store *readonly =
		canary_store_open_readonly(pl.config->store.database, &error);
	ck_assert_msg(readonly != NULL, "%s", error ? error->message : "?");
	static const char *const ops[] = {"show", "reveal", "attachment"};
	for (gsize i = 0; i < G_N_ELEMENTS(ops); i++) {
		JsonObject *a = ref_args();
		json_object_set_int_member(a, "number", 1);
		g_autoptr(JsonObject) denied = handle_on(readonly, officer, ops[i], a);
		ck_assert_str_eq(tu_control_refused(denied, NULL), "store");
		g_autofree char *text = to_text(denied);
		ck_assert_ptr_null(strstr(text, "sealed"));
	}
	JsonObject *list_args = json_object_new();
	JsonArray *subjects = json_array_new();
	json_array_add_string_element(subjects, ref);
	json_object_set_array_member(list_args, "subjects", subjects);
	g_autoptr(JsonObject) list_denied = handle_on(readonly, officer, "list", list_args);
	ck_assert_str_eq(tu_control_refused(list_denied, NULL), "store");
	canary_store_close(&readonly);
	ck_assert_uint_eq(count_events("show", NULL), 1);
}
END_TEST

/* --- Ciphertext only ---------------------------------------------------------- */

START_TEST(test_answers_hold_no_plaintext)
{
	JsonObject *list_args = json_object_new();
	JsonArray *subjects = json_array_new();
	json_array_add_string_element(subjects, ref);
	json_object_set_array_member(list_args, "subjects", subjects);
	json_object_set_boolean_member(list_args, "keys", TRUE);
	g_autoptr(JsonObject) listed = handle("list", list_args);
	g_autoptr(JsonObject) shown = handle("show", ref_args());
	JsonObject *att_args = ref_args();
	json_object_set_int_member(att_args, "number", 1);
	g_autoptr(JsonObject) attachment = handle("attachment", att_args);
	JsonObject *raw = ref_args();
	json_object_set_boolean_member(raw, "raw", TRUE);
	g_autoptr(JsonObject) revealed = handle("reveal", raw);
	JsonObject *all[] = {listed, shown, attachment, revealed};
	static const char *const needles[] = {SENDER_ADDRESS, "Adaline",         "Quarrender",
					      BODY_PHRASE,    "Ferry report",    "ferry-notes",
					      "555 0101",     "attachment bytes"};
	for (gsize i = 0; i < G_N_ELEMENTS(all); i++) {
		tu_control_ok(all[i]);
		g_autofree char *text = to_text(all[i]);
		for (gsize n = 0; n < G_N_ELEMENTS(needles); n++)
			ck_assert_msg(strstr(text, needles[n]) == NULL, "%s in an answer",
				      needles[n]);
	}

	/* And yet it is all there, for the right key, in this process. */
	g_autoptr(canary_case) c = get_case();
	g_autoptr(canary_secret_key) section = tu_load_secret(tmpdir, "section");
	g_autoptr(canary_sealed_case) sc = sealed_of(tu_control_ok(shown), c->id);
	g_autoptr(GError) error = NULL;
	g_autoptr(canary_case_content) content = canary_sealed_open_content(sc, section, &error);
	ck_assert_msg(content != NULL, "%s", error ? error->message : "?");
	ck_assert_ptr_nonnull(strstr(content->text, BODY_PHRASE));
	ck_assert_ptr_null(strstr(content->text, SENDER_ADDRESS));
	g_autoptr(canary_secret_key) custodian = tu_load_secret(tmpdir, "custodian");
	g_autoptr(canary_sealed_case) id = sealed_of(tu_control_ok(revealed), c->id);
	g_autoptr(GBytes) raw_back = NULL;
	g_autoptr(canary_identity) identity =
		canary_sealed_open_identity(id, custodian, &raw_back, &error);
	ck_assert_msg(identity != NULL, "%s", error ? error->message : "?");
	ck_assert_uint_eq(g_bytes_get_size(raw_back), strlen(message));
	ck_assert_mem_eq(g_bytes_get_data(raw_back, NULL), message, strlen(message));
	/* The section key does not open the identity, nor the custodian's the text. */
	ck_assert_ptr_null(canary_sealed_open_identity(id, section, NULL, NULL));
	ck_assert_ptr_null(canary_sealed_open_content(sc, custodian, NULL));
	g_autoptr(canary_sealed_case) att = sealed_of(tu_control_ok(attachment), c->id);
	g_autoptr(GBytes) bytes = canary_sealed_open_attachment(att, section, 0, &error);
	ck_assert_msg(bytes != NULL, "%s", error ? error->message : "?");
	ck_assert(g_strstr_len(g_bytes_get_data(bytes, NULL), (gssize)g_bytes_get_size(bytes),
			       "attachment bytes") != NULL);
	/* show never carries attachment bytes, identity or raw message. */
	ck_assert_ptr_null(canary_sealed_case_get(sc, "attachment/0"));
	ck_assert_ptr_null(canary_sealed_case_get(sc, "identity"));
	ck_assert_ptr_null(canary_sealed_case_get(sc, "raw"));
	ck_assert_ptr_null(canary_sealed_case_get(sc, "raw/rest"));
}
END_TEST

/* --- Attachments sealed once ------------------------------------------------ */

#define BIG_ATTACHMENT (96 * 1024)

/* A message with a base64 attachment of BIG_ATTACHMENT bytes, and its
 * decoded bytes in *DATA_R. New string. */
static char *message_with_big_attachment(GBytes **data_r)
{
	guint8 *data = g_malloc(BIG_ATTACHMENT);
	for (gsize i = 0; i < BIG_ATTACHMENT; i++)
		data[i] = (guint8)(i * 7 + i / 251);
	g_autofree char *b64 = g_base64_encode(data, BIG_ATTACHMENT);
	g_autoptr(GString) m = g_string_new(
		"From: " SENDER_NAME " <" SENDER_ADDRESS ">\nTo: reprisals@example.org\n"
		"Subject: Ferry photographs from Egypt\nMIME-Version: 1.0\n"
		"Content-Type: multipart/mixed; boundary=b\n\n"
		"--b\nContent-Type: text/plain\n\nThe photographs from Egypt.\n"
		"--b\nContent-Type: image/jpeg\nContent-Transfer-Encoding: base64\n"
		"Content-Disposition: attachment; filename=\"ferry.jpg\"\n\n");
	for (const char *p = b64; *p != '\0'; p += MIN(strlen(p), 76)) {
		g_string_append_len(m, p, (gssize)MIN(strlen(p), 76));
		g_string_append_c(m, '\n');
	}
	g_string_append(m, "--b--\n");
	*data_r = g_bytes_new_take(data, BIG_ATTACHMENT);
	return g_string_free(g_steal_pointer(&m), FALSE);
}

/* The ciphertext of FIELD as stored for case CASE_ID, or NULL. */
static GBytes *stored_blob(gint64 case_id, const char *field)
{
	return canary_store_get_blob(pl.store, case_id, field, NULL);
}

/* The key copy FIELD of SC opened with SECRET. */
static struct canary_content_key *open_copy(const struct canary_sealed_case *sc, const char *field,
					    const struct canary_secret_key *secret)
{
	g_autoptr(GError) error = NULL;
	struct canary_content_key *key =
		canary_content_key_open(canary_sealed_case_get(sc, field), secret, &error);
	ck_assert_msg(key != NULL, "%s: %s", field, error ? error->message : "?");
	return key;
}

/* Replaces FIELD of SC by LEN bytes at PLAIN sealed under KEY. */
static void reseal_field(struct canary_sealed_case *sc, const struct canary_content_key *key,
			 const char *field, const void *plain, gsize len)
{
	g_autoptr(GBytes) sealed = canary_seal_encrypt(key, sc->case_id, field, plain, len);
	canary_sealed_case_put(sc, field, sealed);
}

/* An attachment is sealed once: the store holds its bytes as they stand in
 * the message, and the raw message without them; the section gets the
 * decoded file, the custodian the original byte for byte. */
START_TEST(test_attachments_sealed_once)
{
	g_autoptr(GBytes) data = NULL;
	g_autofree char *raw = message_with_big_attachment(&data);
	g_free(ref);
	ref = tu_pipeline_file(&pl, raw);
	g_autoptr(canary_case) c = get_case();

	/* No field holds the attachment twice. */
	g_autoptr(GBytes) whole = stored_blob(c->id, "raw");
	ck_assert_ptr_null(whole);
	g_autoptr(GBytes) rest = stored_blob(c->id, "raw/rest");
	g_autoptr(GBytes) attachment = stored_blob(c->id, "attachment/0");
	ck_assert_ptr_nonnull(rest);
	ck_assert_ptr_nonnull(attachment);
	/* Each sealed field is padded (under 3.2% more for a large one, 256
	 * bytes at least for a small one): still far from a second copy. */
	gsize padded_raw = canary_seal_padded_size(strlen(raw));
	ck_assert_uint_lt(g_bytes_get_size(rest), 2048);
	ck_assert_uint_lt(g_bytes_get_size(attachment), padded_raw + 1024);
	sqlite3 *db = NULL;
	ck_assert_int_eq(sqlite3_open_v2(pl.config->store.database, &db, SQLITE_OPEN_READONLY, NULL),
			 SQLITE_OK);
	g_autofree char *sql = g_strdup_printf(
		"SELECT sum(length(data)) FROM case_blobs WHERE case_id = %" G_GINT64_FORMAT, c->id);
	gint64 stored = tu_query_int(db, sql);
	sqlite3_close(db);
	ck_assert_int_lt(stored, (gint64)padded_raw + 16384);

	/* The section opens the decoded file; the custodian the original. */
	g_autoptr(canary_secret_key) section = tu_load_secret(tmpdir, "section");
	g_autoptr(canary_secret_key) custodian = tu_load_secret(tmpdir, "custodian");
	JsonObject *att_args = ref_args();
	json_object_set_int_member(att_args, "number", 1);
	g_autoptr(JsonObject) att_answer = handle("attachment", att_args);
	g_autoptr(canary_sealed_case) att = sealed_of(tu_control_ok(att_answer), c->id);
	g_autoptr(GError) error = NULL;
	g_autoptr(GBytes) opened = canary_sealed_open_attachment(att, section, 0, &error);
	ck_assert_msg(opened != NULL, "%s", error ? error->message : "?");
	ck_assert(g_bytes_equal(opened, data));
	ck_assert_ptr_null(canary_sealed_open_attachment(att, custodian, 0, NULL));
	JsonObject *reveal_args = ref_args();
	json_object_set_boolean_member(reveal_args, "raw", TRUE);
	g_autoptr(JsonObject) revealed = handle("reveal", reveal_args);
	g_autoptr(canary_sealed_case) id = sealed_of(tu_control_ok(revealed), c->id);
	g_autoptr(GBytes) raw_back = NULL;
	g_autoptr(canary_identity) identity =
		canary_sealed_open_identity(id, custodian, &raw_back, &error);
	ck_assert_msg(identity != NULL, "%s", error ? error->message : "?");
	ck_assert_uint_eq(g_bytes_get_size(raw_back), strlen(raw));
	ck_assert_mem_eq(g_bytes_get_data(raw_back, NULL), raw, strlen(raw));
	ck_assert_ptr_null(canary_sealed_open_identity(id, section, NULL, NULL));

	/* A span missing or changed is an error, never a shorter message. */
	g_autoptr(canary_sealed_case) missing = canary_sealed_case_message(id, 1);
	g_hash_table_remove(missing->blobs, "attachment/0");
	g_autoptr(GBytes) none = NULL;
	g_autoptr(canary_identity) no_identity =
		canary_sealed_open_identity(missing, custodian, &none, &error);
	ck_assert_ptr_null(no_identity);
	ck_assert_ptr_null(none);
	ck_assert_msg(g_error_matches(error, CANARY_ENVELOPE_ERROR, CANARY_ENVELOPE_ERROR_FORMAT),
		      "%s", error ? error->message : "?");
	g_clear_error(&error);
	g_autoptr(canary_sealed_case) swapped = canary_sealed_case_message(id, 1);
	canary_sealed_case_put(swapped, "attachment/0", rest);
	g_autoptr(canary_identity) swapped_identity =
		canary_sealed_open_identity(swapped, custodian, &none, &error);
	ck_assert_ptr_null(swapped_identity);
	ck_assert_msg(g_error_matches(error, CANARY_SEAL_ERROR, CANARY_SEAL_ERROR_TAMPERED), "%s",
		      error ? error->message : "?");
	g_clear_error(&error);

	/* A record that does not add up (only canary could have sealed it,
	 * but a bug must not hand out a wrong message). */
	g_autoptr(canary_content_key) identity_key = open_copy(id, "key/identity/custodian",
							       custodian);
	static const struct {
		const char *bytes;
		gsize len;
	} bad[] = {
		{"", 0},
		{"\x09\0\0\0\0", 5},                                  /* unknown version */
		{"\x01\x02\0\0\0" "\0\0\0\0\0\0\0\0\0\0\0\0", 17},  /* two spans, one given */
		{"\x01\x01\0\0\0" "\xff\0\0\0\0\0\0\0\0\0\0\0ab", 19}, /* past the rest */
		{"\x01\x01\0\0\0" "\0\0\0\0\0\0\0\0\x07\0\0\0", 17}, /* no attachment 7 */
	};
	for (gsize i = 0; i < G_N_ELEMENTS(bad); i++) {
		g_autoptr(canary_sealed_case) crafted = canary_sealed_case_message(id, 1);
		reseal_field(crafted, identity_key, "raw/rest", bad[i].bytes, bad[i].len);
		g_autoptr(GBytes) back = NULL;
		g_autoptr(canary_identity) crafted_identity =
			canary_sealed_open_identity(crafted, custodian, &back, &error);
		ck_assert_msg(crafted_identity == NULL && back == NULL, "record %zu opened", i);
		ck_assert_msg(g_error_matches(error, CANARY_ENVELOPE_ERROR,
					      CANARY_ENVELOPE_ERROR_FORMAT),
			      "record %zu: %s", i, error ? error->message : "?");
		g_clear_error(&error);
	}
}
END_TEST

/* Cases sealed before attachments were sealed once: the decoded bytes
 * under the content key, an attachment list of version 1, the whole raw
 * message. They still open. */
START_TEST(test_attachments_sealed_before)
{
	g_autoptr(canary_case) c = get_case();
	g_autoptr(canary_secret_key) section = tu_load_secret(tmpdir, "section");
	JsonObject *att_args = ref_args();
	json_object_set_int_member(att_args, "number", 1);
	g_autoptr(JsonObject) att_answer = handle("attachment", att_args);
	g_autoptr(canary_sealed_case) att = sealed_of(tu_control_ok(att_answer), c->id);
	g_autoptr(canary_content_key) content = open_copy(att, "key/content/section", section);
	static const char old_bytes[] = "attachment bytes sealed the old way";
	g_hash_table_remove(att->blobs, "key/attachments/content");
	reseal_field(att, content, "attachment/0", old_bytes, strlen(old_bytes));
	GVariantBuilder list;
	g_variant_builder_init(&list, G_VARIANT_TYPE("a(msst)"));
	g_variant_builder_add(&list, "(msst)", "old.txt", "text/plain",
			      (guint64)strlen(old_bytes));
	g_autoptr(GVariant) v1 =
		g_variant_ref_sink(g_variant_new("(y@a(msst))", 1, g_variant_builder_end(&list)));
	reseal_field(att, content, "attachments", g_variant_get_data(v1), g_variant_get_size(v1));
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) manifest = canary_sealed_open_manifest(att, section, &error);
	ck_assert_msg(manifest != NULL, "%s", error ? error->message : "?");
	ck_assert_uint_eq(manifest->len, 1);
	const struct canary_attachment_info *info = manifest->pdata[0];
	ck_assert_str_eq(info->filename, "old.txt");
	ck_assert_uint_eq(info->size, strlen(old_bytes));
	g_autoptr(GBytes) opened = canary_sealed_open_attachment(att, section, 0, &error);
	ck_assert_msg(opened != NULL, "%s", error ? error->message : "?");
	ck_assert_uint_eq(g_bytes_get_size(opened), strlen(old_bytes));
	ck_assert_mem_eq(g_bytes_get_data(opened, NULL), old_bytes, strlen(old_bytes));

	/* And a whole raw message under the identity key. */
	g_autoptr(canary_secret_key) custodian = tu_load_secret(tmpdir, "custodian");
	JsonObject *reveal_args = ref_args();
	json_object_set_boolean_member(reveal_args, "raw", TRUE);
	g_autoptr(JsonObject) revealed = handle("reveal", reveal_args);
	g_autoptr(canary_sealed_case) id = sealed_of(tu_control_ok(revealed), c->id);
	g_autoptr(canary_content_key) identity_key = open_copy(id, "key/identity/custodian",
							       custodian);
	g_hash_table_remove(id->blobs, "raw/rest");
	reseal_field(id, identity_key, "raw", "the old raw", 11);
	g_autoptr(GBytes) raw_back = NULL;
	g_autoptr(canary_identity) identity =
		canary_sealed_open_identity(id, custodian, &raw_back, &error);
	ck_assert_msg(identity != NULL, "%s", error ? error->message : "?");
	ck_assert_uint_eq(g_bytes_get_size(raw_back), 11);
	ck_assert_mem_eq(g_bytes_get_data(raw_back, NULL), "the old raw", 11);
}
END_TEST

/* --- Moving ---------------------------------------------------------------- */

/* The arguments of a move of the case to SECTION with SEALED (taken over). */
static JsonObject *move_args(const char *section, JsonObject *sealed)
{
	JsonObject *args = ref_args();
	json_object_set_string_member(args, "section", section);
	if (sealed != NULL)
		json_object_set_object_member(args, "sealed", sealed);
	return args;
}

/* The key copies re-sealed with the triage key to the public key
 * move-prepare hands out for SECTION. */
static struct canary_sealed_case *reseal_for(const char *section)
{
	g_autoptr(canary_case) c = get_case();
	g_autoptr(JsonObject) prepared = handle("move-prepare", move_args(section, NULL));
	JsonObject *result = tu_control_ok(prepared);
	const char *text = json_object_get_string_member(result, "public_key");
	g_autoptr(GError) error = NULL;
	g_autofree struct canary_public_key *target =
		canary_key_parse_public(section, text, strlen(text), &error);
	ck_assert_msg(target != NULL, "%s", error ? error->message : "?");
	g_autoptr(canary_sealed_case) copies = sealed_of(result, c->id);
	g_autoptr(canary_secret_key) triage = tu_load_secret(tmpdir, "triage");
	struct canary_sealed_case *resealed =
		canary_sealed_reseal_section(copies, triage, target, &error);
	ck_assert_msg(resealed != NULL, "%s", error ? error->message : "?");
	return resealed;
}

static struct canary_sealed_case *shown_case(void)
{
	g_autoptr(canary_case) c = get_case();
	g_autoptr(JsonObject) shown = handle("show", ref_args());
	return sealed_of(tu_control_ok(shown), c->id);
}

START_TEST(test_move_reseals_to_the_new_section)
{
	g_autoptr(canary_case) before = get_case();
	ck_assert_str_eq(before->section, "mena");
	g_autoptr(canary_sealed_case) resealed = reseal_for("africa");
	g_autoptr(JsonObject) moved =
		handle("move", move_args("africa", canary_sealed_case_to_json(resealed)));
	tu_control_ok(moved);
	g_autoptr(canary_case) after = get_case();
	ck_assert_str_eq(after->section, "africa");
	ck_assert_uint_eq(count_events("moved to section africa", "nobody"), 1);

	g_autoptr(canary_sealed_case) sc = shown_case();
	g_autoptr(canary_secret_key) africa = tu_load_secret(tmpdir, "other");
	g_autoptr(canary_secret_key) mena = tu_load_secret(tmpdir, "section");
	g_autoptr(canary_secret_key) triage = tu_load_secret(tmpdir, "triage");
	g_autoptr(GError) error = NULL;
	g_autoptr(canary_case_content) content = canary_sealed_open_content(sc, africa, &error);
	ck_assert_msg(content != NULL, "%s", error ? error->message : "?");
	ck_assert_ptr_nonnull(strstr(content->text, BODY_PHRASE));
	g_autoptr(canary_case_meta) meta = canary_sealed_open_meta(sc, africa, &error);
	ck_assert_msg(meta != NULL, "%s", error ? error->message : "?");
	ck_assert_ptr_null(canary_sealed_open_content(sc, mena, &error));
	ck_assert(g_error_matches(error, CANARY_ENVELOPE_ERROR, CANARY_ENVELOPE_ERROR_NO_ACCESS));
	g_clear_error(&error);
	g_autoptr(canary_case_content) by_triage = canary_sealed_open_content(sc, triage, &error);
	ck_assert_ptr_nonnull(by_triage);
}
END_TEST

/* Asserts that the case is unchanged by a refused move: section, blobs,
 * history. */
static void assert_not_moved(JsonObject *response, GBytes *section_copy, guint events)
{
	ck_assert_str_eq(tu_control_refused(response, NULL), "usage");
	g_autoptr(canary_case) c = get_case();
	ck_assert_str_eq(c->section, "mena");
	g_autoptr(GBytes) now = canary_store_get_blob(pl.store, c->id, "key/content/section", NULL);
	ck_assert(g_bytes_equal(now, section_copy));
	g_autoptr(GPtrArray) history = canary_store_list_events(pl.store, ref, NULL);
	ck_assert_uint_eq(history->len, events);
}

START_TEST(test_forged_move_refused_without_change)
{
	g_autoptr(canary_case) c = get_case();
	g_autoptr(GBytes) original =
		canary_store_get_blob(pl.store, c->id, "key/content/section", NULL);
	g_autoptr(GBytes) text = canary_store_get_blob(pl.store, c->id, "text", NULL);
	g_autoptr(GPtrArray) history = canary_store_list_events(pl.store, ref, NULL);
	guint events = history->len;
	g_autoptr(canary_sealed_case) good = reseal_for("africa");
	GBytes *copy = canary_sealed_case_get(good, "key/content/section");

	/* A blob for a field that is not a section's key copy. */
	g_autoptr(canary_sealed_case) wrong_field = reseal_for("africa");
	canary_sealed_case_put(wrong_field, "text", copy);
	g_autoptr(JsonObject) r1 =
		handle("move", move_args("africa", canary_sealed_case_to_json(wrong_field)));
	assert_not_moved(r1, original, events);
	g_autoptr(GBytes) text_now = canary_store_get_blob(pl.store, c->id, "text", NULL);
	ck_assert(g_bytes_equal(text_now, text));

	/* The custodian's copy is not the section's to replace. */
	g_autoptr(canary_sealed_case) custodian_field = reseal_for("africa");
	canary_sealed_case_put(custodian_field, "key/identity/custodian", copy);
	g_autoptr(JsonObject) r2 =
		handle("move", move_args("africa", canary_sealed_case_to_json(custodian_field)));
	assert_not_moved(r2, original, events);

	/* A note key for a note the case does not have. */
	g_autoptr(canary_sealed_case) no_note = reseal_for("africa");
	canary_sealed_case_put(no_note, "key/note.7/section", copy);
	g_autoptr(JsonObject) r3 =
		handle("move", move_args("africa", canary_sealed_case_to_json(no_note)));
	assert_not_moved(r3, original, events);

	/* Not a sealed key. */
	g_autoptr(canary_sealed_case) short_key = canary_sealed_case_new(c->id);
	g_autoptr(GBytes) junk = g_bytes_new_static("junk", 4);
	canary_sealed_case_put(short_key, "key/content/section", junk);
	g_autoptr(JsonObject) r4 =
		handle("move", move_args("africa", canary_sealed_case_to_json(short_key)));
	assert_not_moved(r4, original, events);

	/* Without argument "sealed" at all. */
	g_autoptr(JsonObject) r0 = handle("move", move_args("africa", NULL));
	assert_not_moved(r0, original, events);

	/* Without the content key's copy, or not base64. */
	g_autoptr(canary_sealed_case) empty = canary_sealed_case_new(c->id);
	g_autoptr(JsonObject) r5 =
		handle("move", move_args("africa", canary_sealed_case_to_json(empty)));
	assert_not_moved(r5, original, events);
	JsonObject *not_base64 = json_object_new();
	json_object_set_string_member(not_base64, "key/content/section", "not base64!");
	g_autoptr(JsonObject) r6 = handle("move", move_args("africa", not_base64));
	assert_not_moved(r6, original, events);

	/* A section the routing rules do not name. */
	g_autoptr(JsonObject) r7 =
		handle("move", move_args("nowhere", canary_sealed_case_to_json(good)));
	assert_not_moved(r7, original, events);
	g_autoptr(JsonObject) r8 = handle("move-prepare", move_args("nowhere", NULL));
	ck_assert_str_eq(tu_control_refused(r8, NULL), "usage");

	/* The genuine one still goes through. */
	g_autoptr(JsonObject) moved =
		handle("move", move_args("africa", canary_sealed_case_to_json(good)));
	tu_control_ok(moved);
}
END_TEST

/* --- Status with a note sealed by the caller -------------------------------- */

START_TEST(test_status_note_sealed_by_the_caller)
{
	g_autoptr(canary_case) c = get_case();
	g_autoptr(JsonObject) prepared = handle("status-prepare", ref_args());
	JsonObject *p = tu_control_ok(prepared);
	ck_assert_int_eq(json_object_get_int_member(p, "note"), 1);
	ck_assert_str_eq(json_object_get_string_member(p, "user"), "nobody");
	const char *section_text = json_object_get_string_member(p, "section_key");
	const char *triage_text = json_object_get_string_member(p, "triage_key");
	g_autofree struct canary_public_key *section =
		canary_key_parse_public("section", section_text, strlen(section_text), NULL);
	g_autofree struct canary_public_key *triage =
		canary_key_parse_public("triage", triage_text, strlen(triage_text), NULL);
	ck_assert_ptr_nonnull(section);
	ck_assert_ptr_nonnull(triage);
	struct canary_envelope_recipients to = {.section = section, .triage = triage};
	g_autoptr(canary_sealed_case) note = canary_sealed_case_new(c->id);
	ck_assert(canary_sealed_seal_note(note, 1, &to, "nobody", 1764806400,
					  "Spoke to the witness.", NULL));

	/* The wrong number is refused, nothing stored. */
	JsonObject *wrong = ref_args();
	json_object_set_string_member(wrong, "status", "open");
	json_object_set_int_member(wrong, "note", 2);
	json_object_set_object_member(wrong, "sealed", canary_sealed_case_to_json(note));
	g_autoptr(JsonObject) r1 = handle("status", wrong);
	ck_assert_str_eq(tu_control_refused(r1, NULL), "usage");
	g_autoptr(canary_case) still = get_case();
	ck_assert_str_eq(still->status, "new");

	JsonObject *args = ref_args();
	json_object_set_string_member(args, "status", "open");
	json_object_set_int_member(args, "note", 1);
	json_object_set_object_member(args, "sealed", canary_sealed_case_to_json(note));
	g_autoptr(JsonObject) r2 = handle("status", args);
	tu_control_ok(r2);
	g_autoptr(canary_case) after = get_case();
	ck_assert_str_eq(after->status, "open");
	ck_assert_uint_eq(count_events("status open", "nobody"), 1);

	g_autoptr(canary_sealed_case) sc = shown_case();
	g_autoptr(canary_secret_key) key = tu_load_secret(tmpdir, "section");
	g_autoptr(GPtrArray) notes = canary_sealed_open_notes(sc, key, NULL);
	ck_assert_uint_eq(notes->len, 1);
	const struct canary_case_note *n = notes->pdata[0];
	ck_assert_str_eq(n->text, "Spoke to the witness.");
	ck_assert_str_eq(n->author, "nobody");
	/* The note's text never reaches the history. */
	g_autoptr(GPtrArray) events = canary_store_list_events(pl.store, ref, NULL);
	for (guint i = 0; i < events->len; i++) {
		const struct canary_event *e = events->pdata[i];
		ck_assert(e->detail == NULL || strstr(e->detail, "witness") == NULL);
	}
}
END_TEST

/* --- Bad requests ------------------------------------------------------------ */

START_TEST(test_missing_cases_and_bad_arguments)
{
	JsonObject *missing = json_object_new();
	json_object_set_string_member(missing, "ref", "R-2026-999999");
	g_autoptr(JsonObject) r1 = handle("show", missing);
	ck_assert_str_eq(tu_control_refused(r1, NULL), "not-found");
	g_autoptr(JsonObject) r2 = handle("show", NULL);
	ck_assert_str_eq(tu_control_refused(r2, NULL), "usage");
	JsonObject *beyond = ref_args();
	json_object_set_int_member(beyond, "number", 2);
	g_autoptr(JsonObject) r3 = handle("attachment", beyond);
	ck_assert_str_eq(tu_control_refused(r3, NULL), "not-found");
	JsonObject *bad_status = json_object_new();
	json_object_set_string_member(bad_status, "status", "pending");
	g_autoptr(JsonObject) r4 = handle("list", bad_status);
	ck_assert_str_eq(tu_control_refused(r4, NULL), "usage");
	JsonObject *status = ref_args();
	json_object_set_string_member(status, "status", "gone");
	g_autoptr(JsonObject) r5 = handle("status", status);
	ck_assert_str_eq(tu_control_refused(r5, NULL), "usage");
	g_autoptr(GPtrArray) history = canary_store_list_events(pl.store, ref, NULL);
	for (guint i = 0; i < history->len; i++) {
		const struct canary_event *e = history->pdata[i];
		ck_assert_str_ne(e->action, "show");
		ck_assert_str_ne(e->action, "attachment");
	}
}
END_TEST

static Suite *case_suite(void)
{
	Suite *s = suite_create("case");
	TCase *tc = tcase_create("sealed ops");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_access_recorded_under_caller_before_blobs);
	tcase_add_test(tc, test_answers_hold_no_plaintext);
	tcase_add_test(tc, test_attachments_sealed_once);
	tcase_add_test(tc, test_attachments_sealed_before);
	tcase_add_test(tc, test_move_reseals_to_the_new_section);
	tcase_add_test(tc, test_forged_move_refused_without_change);
	tcase_add_test(tc, test_status_note_sealed_by_the_caller);
	tcase_add_test(tc, test_missing_cases_and_bad_arguments);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run_suite(case_suite());
}
