/* check_confidentiality.c: the promise canary exists for. Every test
 * message goes in, each key opens exactly what it should, sealed blobs
 * cannot be swapped or altered, and nothing that identifies a submitter or
 * says what they wrote is left in clear in the database, its WAL and
 * shared-memory files, or anything the programs logged. */
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "envelope.h"
#include "identity.h"
#include "ingest.h"
#include "process.h"
#include "testutil.h"

static char *tmpdir;
static char *config_path;
static char *log_path;

static void setup(void)
{
	ck_assert(canary_process_init(NULL));
	tmpdir = tu_make_tempdir();
	config_path = tu_make_canary_home(tmpdir, TRUE, NULL);
	log_path = g_build_filename(tmpdir, "programs.log", NULL);
	ck_assert(g_file_set_contents(log_path, "", 0, NULL));
}

static void teardown(void)
{
	tu_rmtree(tmpdir);
	g_clear_pointer(&tmpdir, g_free);
	g_clear_pointer(&config_path, g_free);
	g_clear_pointer(&log_path, g_free);
	canary_process_shutdown();
}

/* Appends TEXT to the programs' log. */
static void append_log(const char *text)
{
	if (text == NULL)
		return;
	FILE *f = fopen(log_path, "a");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

/* Runs canary with ARGV (NULL-terminated, after the program name) plus
 * -c CONFIG; stderr goes to the log. Returns the exit status. */
static int canary_v(char **out_r, const char *const *args)
{
	g_autoptr(GPtrArray) argv = g_ptr_array_new();
	g_ptr_array_add(argv, (gpointer)CANARY_TOOL_PATH);
	for (size_t i = 0; args[i] != NULL; i++)
		g_ptr_array_add(argv, (gpointer)args[i]);
	g_ptr_array_add(argv, (gpointer) "-c");
	g_ptr_array_add(argv, config_path);
	g_ptr_array_add(argv, NULL);
	g_autofree char *err = NULL;
	int status = tu_run((const char *const *)argv->pdata, NULL, out_r, &err);
	append_log(err);
	return status;
}

static char *key_path(const char *name)
{
	g_autofree char *file = g_strdup_printf("%s.key", name);
	return g_build_filename(tmpdir, "keys", file, NULL);
}

static char *pass_path(void)
{
	return g_build_filename(tmpdir, "passphrase", NULL);
}

/* Runs "canary COMMAND REF --key keys/KEY.key --passphrase-file ...". */
static int with_key(const char *command, const char *ref, const char *key, char **out_r)
{
	g_autofree char *k = key_path(key);
	g_autofree char *p = pass_path();
	const char *args[] = { command, ref, "--key", k, "--passphrase-file", p, NULL };
	return canary_v(out_r, args);
}

/* Lists every corpus file (demo and mail) as paths under tests/data. */
static GPtrArray *corpus_files(void)
{
	GPtrArray *files = tu_data_messages("demo");
	g_autoptr(GPtrArray) mail = tu_data_messages("mail");
	for (guint i = 0; i < mail->len; i++)
		g_ptr_array_add(files, g_strdup(mail->pdata[i]));
	return files;
}

/* --- Round trip through the library ----------------------------------- */

START_TEST(test_round_trip_every_message)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(canary_config) config = canary_config_load(config_path, &error);
	ck_assert_msg(config != NULL, "%s", error ? error->message : "?");
	struct canary_store *store = canary_store_open(config->store.database, &error);
	ck_assert_ptr_nonnull(store);
	struct canary_ingest *ingest = canary_ingest_new(config, store, "test", &error);
	ck_assert_msg(ingest != NULL, "%s", error ? error->message : "?");

	g_autofree char *sk = key_path("section"), *tk = key_path("triage"),
			*ck = key_path("custodian"), *ok = key_path("other");
	const char *pw = TU_PASSPHRASE;
	g_autoptr(canary_secret_key) section = canary_key_load_secret(sk, pw, strlen(pw), NULL);
	g_autoptr(canary_secret_key) triage = canary_key_load_secret(tk, pw, strlen(pw), NULL);
	g_autoptr(canary_secret_key) custodian = canary_key_load_secret(ck, pw, strlen(pw), NULL);
	g_autoptr(canary_secret_key) other = canary_key_load_secret(ok, pw, strlen(pw), NULL);
	ck_assert(section && triage && custodian && other);

	g_autoptr(GPtrArray) files = corpus_files();
	for (guint i = 0; i < files->len; i++) {
		const char *file = files->pdata[i];
		g_autoptr(GBytes) raw = tu_data_bytes(file);
		struct canary_ingest_source src = { 0 };
		struct canary_ingest_result result;
		ck_assert(canary_store_begin(store, NULL));
		ck_assert_msg(canary_ingest_message(ingest, raw, &src, &result, &error), "%s: %s",
			      file, error ? error->message : "?");
		ck_assert(canary_store_commit(store, NULL));
		if (result.outcome == CANARY_INGEST_DUPLICATE) {
			canary_ingest_result_clear(&result);
			continue;
		}
		g_autoptr(canary_case) c = canary_store_get_case(store, result.ref, NULL);
		g_autoptr(canary_mail) mail = canary_mail_parse(raw, &config->limits);
		g_autoptr(canary_identity) expected = canary_identity_extract(mail);

		/* The custodian gets the identity and the untouched original. */
		g_autoptr(GBytes) raw_back = NULL;
		g_autoptr(canary_identity) id =
			canary_envelope_open_identity(store, c->id, custodian, &raw_back, &error);
		ck_assert_msg(id != NULL, "%s: %s", file, error ? error->message : "?");
		ck_assert(g_bytes_equal(raw, raw_back));
		ck_assert_uint_eq(id->addresses->len, expected->addresses->len);
		ck_assert_uint_eq(id->ips->len, expected->ips->len);
		ck_assert_uint_eq(id->phones->len, expected->phones->len);
		ck_assert_ptr_null(canary_envelope_open_identity(store, c->id, section, NULL, NULL));
		ck_assert_ptr_null(canary_envelope_open_identity(store, c->id, other, NULL, NULL));

		/* The exact values and the pseudonym: the custodian always. */
		g_autoptr(canary_case_meta) meta =
			canary_envelope_open_meta(store, c->id, custodian, &error);
		ck_assert_msg(meta != NULL, "%s: %s", file, error ? error->message : "?");
		ck_assert_uint_eq(meta->size, g_bytes_get_size(raw));
		ck_assert_uint_eq(c->size_class, canary_store_size_class((gint64)meta->size));
		ck_assert_int_eq(c->received_day, canary_store_day(meta->received_at));
		ck_assert_ptr_null(canary_envelope_open_meta(store, c->id, other, NULL));

		if (result.outcome == CANARY_INGEST_QUARANTINED) {
			/* Quarantined: nobody but the custodian opens anything. */
			ck_assert_ptr_null(canary_envelope_open_content(store, c->id, section, NULL));
			ck_assert_ptr_null(canary_envelope_open_meta(store, c->id, section, NULL));
			ck_assert_ptr_null(canary_envelope_open_meta(store, c->id, triage, NULL));
			canary_ingest_result_clear(&result);
			continue;
		}
		g_autoptr(canary_case_meta) section_meta =
			canary_envelope_open_meta(store, c->id, section, &error);
		ck_assert_msg(section_meta != NULL, "%s: %s", file, error ? error->message : "?");
		ck_assert_str_eq(section_meta->pseudonym != NULL ? section_meta->pseudonym : "-",
				 meta->pseudonym != NULL ? meta->pseudonym : "-");
		g_autoptr(canary_case_meta) triage_meta =
			canary_envelope_open_meta(store, c->id, triage, NULL);
		ck_assert_ptr_nonnull(triage_meta);
		g_autoptr(canary_case_content) content =
			canary_envelope_open_content(store, c->id, section, &error);
		ck_assert_msg(content != NULL, "%s: %s", file, error ? error->message : "?");
		const char *shown = meta->pseudonym != NULL ? meta->pseudonym : "[sender]";
		g_autofree char *scrubbed = canary_identity_scrub(expected, mail->text, shown);
		ck_assert_str_eq(content->text, scrubbed);
		ck_assert_uint_eq(content->attachments->len, mail->attachments->len);
		for (guint a = 0; a < mail->attachments->len; a++) {
			struct canary_attachment *orig = mail->attachments->pdata[a];
			g_autoptr(GBytes) data =
				canary_envelope_open_attachment(store, c->id, triage, a, &error);
			ck_assert_msg(data != NULL, "%s #%u: %s", file, a,
				      error ? error->message : "?");
			ck_assert(g_bytes_equal(data, canary_attachment_data(orig)));
		}
		g_autoptr(canary_case_content) via_triage =
			canary_envelope_open_content(store, c->id, triage, NULL);
		ck_assert_ptr_nonnull(via_triage);
		g_autoptr(GError) denied = NULL;
		ck_assert_ptr_null(canary_envelope_open_content(store, c->id, other, &denied));
		ck_assert(g_error_matches(denied, CANARY_ENVELOPE_ERROR,
					  CANARY_ENVELOPE_ERROR_NO_ACCESS));
		ck_assert_ptr_null(canary_envelope_open_content(store, c->id, custodian, NULL));
		canary_ingest_result_clear(&result);
	}
	canary_ingest_free(ingest);
	canary_store_close(&store);
}
END_TEST

/* --- Tampering ----------------------------------------------------------- */

START_TEST(test_swapped_and_flipped_blobs_fail)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(canary_config) config = canary_config_load(config_path, &error);
	struct canary_store *store = canary_store_open(config->store.database, &error);
	struct canary_ingest *ingest = canary_ingest_new(config, store, "test", &error);
	ck_assert_ptr_nonnull(ingest);
	static const char *const messages[] = {
		"From: One <one@example.org>\nSubject: first report\n\nThe first body text.\n",
		"From: Two <two@example.org>\nSubject: second report\n\nThe second body text.\n",
	};
	gint64 ids[2];
	for (int i = 0; i < 2; i++) {
		g_autoptr(GBytes) raw = g_bytes_new_static(messages[i], strlen(messages[i]));
		struct canary_ingest_source src = { 0 };
		struct canary_ingest_result result;
		ck_assert(canary_store_begin(store, NULL));
		ck_assert(canary_ingest_message(ingest, raw, &src, &result, &error));
		ck_assert(canary_store_commit(store, NULL));
		g_autoptr(canary_case) c = canary_store_get_case(store, result.ref, NULL);
		ids[i] = c->id;
		canary_ingest_result_clear(&result);
	}
	g_autofree char *sk = key_path("section");
	g_autoptr(canary_secret_key) section =
		canary_key_load_secret(sk, TU_PASSPHRASE, strlen(TU_PASSPHRASE), NULL);

	/* Case 2's text copied into case 1: fails to open, names the field. */
	g_autoptr(GBytes) text2 = canary_store_get_blob(store, ids[1], "text", NULL);
	g_autoptr(GBytes) text1 = canary_store_get_blob(store, ids[0], "text", NULL);
	ck_assert(canary_store_begin(store, NULL));
	ck_assert(canary_store_put_blob(store, ids[0], "text", text2, NULL));
	ck_assert(canary_store_commit(store, NULL));
	ck_assert_ptr_null(canary_envelope_open_content(store, ids[0], section, &error));
	ck_assert(g_error_matches(error, CANARY_SEAL_ERROR, CANARY_SEAL_ERROR_TAMPERED));
	ck_assert_ptr_nonnull(strstr(error->message, "text"));
	g_clear_error(&error);

	/* Case 1's subject moved into its own text field: fails too. */
	g_autoptr(GBytes) subject1 = canary_store_get_blob(store, ids[0], "subject", NULL);
	ck_assert(canary_store_begin(store, NULL));
	ck_assert(canary_store_put_blob(store, ids[0], "text", subject1, NULL));
	ck_assert(canary_store_commit(store, NULL));
	ck_assert_ptr_null(canary_envelope_open_content(store, ids[0], section, &error));
	ck_assert(g_error_matches(error, CANARY_SEAL_ERROR, CANARY_SEAL_ERROR_TAMPERED));
	g_clear_error(&error);

	/* One flipped byte. */
	gsize len = 0;
	const guint8 *original = g_bytes_get_data(text1, &len);
	ck_assert_uint_gt(len, 0);
	guint8 *flipped = g_memdup2(original, len);
	flipped[len / 2] ^= 0x01;
	g_autoptr(GBytes) bad = g_bytes_new_take(flipped, len);
	ck_assert(canary_store_begin(store, NULL));
	ck_assert(canary_store_put_blob(store, ids[0], "text", bad, NULL));
	ck_assert(canary_store_commit(store, NULL));
	ck_assert_ptr_null(canary_envelope_open_content(store, ids[0], section, &error));
	ck_assert(g_error_matches(error, CANARY_SEAL_ERROR, CANARY_SEAL_ERROR_TAMPERED));
	g_clear_error(&error);

	/* Restored, it opens again. */
	ck_assert(canary_store_begin(store, NULL));
	ck_assert(canary_store_put_blob(store, ids[0], "text", text1, NULL));
	ck_assert(canary_store_commit(store, NULL));
	g_autoptr(canary_case_content) content =
		canary_envelope_open_content(store, ids[0], section, &error);
	ck_assert_ptr_nonnull(content);
	ck_assert_str_eq(content->text, "The first body text.");

	canary_ingest_free(ingest);
	canary_store_close(&store);
}
END_TEST

/* --- The commands ---------------------------------------------------------- */

START_TEST(test_commands_open_only_with_the_right_key)
{
	g_autofree char *msg = tu_write_file(
		tmpdir, "report.eml",
		"From: \"Amara Diallo\" <amara.diallo@example.org>\n"
		"Subject: Travel ban after Geneva\n"
		"Content-Type: text/plain; charset=utf-8\n\n"
		"I am Amara Diallo. After I spoke in Geneva my passport was seized.\n"
		"Call me on +221 77 123 45 67.\n");
	const char *import[] = { "import", msg, NULL };
	g_autofree char *out = NULL;
	ck_assert_int_eq(canary_v(&out, import), 0);
	/* The pseudonym is sealed: listed only with a key. */
	g_autofree char *section_key = key_path("section");
	g_autofree char *passphrase = pass_path();
	const char *list[] = { "list", "--json", "--key", section_key, "--passphrase-file",
			       passphrase, NULL };
	g_autofree char *json = NULL;
	ck_assert_int_eq(canary_v(&json, list), 0);
	g_autoptr(JsonParser) parser = json_parser_new();
	ck_assert(json_parser_load_from_data(parser, json, -1, NULL));
	JsonArray *cases = json_node_get_array(json_parser_get_root(parser));
	ck_assert_uint_eq(json_array_get_length(cases), 1);
	JsonObject *o = json_array_get_object_element(cases, 0);
	const char *the_ref = json_object_get_string_member(o, "ref");
	const char *pseudonym = json_object_get_string_member(o, "pseudonym");
	ck_assert_ptr_nonnull(pseudonym);
	ck_assert(g_regex_match_simple("^P-[0-9A-Z]{4}-[0-9A-Z]{4}$", pseudonym, 0, 0));

	g_autofree char *shown = NULL;
	ck_assert_int_eq(with_key("show", the_ref, "section", &shown), 0);
	ck_assert_ptr_nonnull(strstr(shown, "my passport was seized"));
	ck_assert_ptr_nonnull(strstr(shown, "Travel ban after Geneva"));
	ck_assert_ptr_nonnull(strstr(shown, pseudonym));
	ck_assert_ptr_null(strstr(shown, "Amara"));
	ck_assert_ptr_null(strstr(shown, "Diallo"));
	ck_assert_ptr_null(strstr(shown, "amara.diallo@example.org"));
	ck_assert_ptr_null(strstr(shown, "123 45 67"));

	g_autofree char *triage = NULL;
	ck_assert_int_eq(with_key("show", the_ref, "triage", &triage), 0);
	ck_assert_int_eq(with_key("show", the_ref, "other", NULL), 6);
	ck_assert_int_eq(with_key("show", the_ref, "custodian", NULL), 6);
	ck_assert_int_eq(with_key("show", "R-2026-999999", "section", NULL), 5);

	g_autofree char *revealed = NULL;
	ck_assert_int_eq(with_key("reveal", the_ref, "custodian", &revealed), 0);
	ck_assert_ptr_nonnull(strstr(revealed, "Amara Diallo <amara.diallo@example.org>"));
	ck_assert_ptr_nonnull(strstr(revealed, "+221 77 123 45 67"));
	ck_assert_int_eq(with_key("reveal", the_ref, "section", NULL), 6);

	/* A wrong passphrase is one clear line. */
	g_autofree char *wrong = tu_write_file(tmpdir, "wrong", "not it\n");
	g_autofree char *sk = key_path("section");
	const char *bad_pass[] = { "show", the_ref, "--key", sk, "--passphrase-file", wrong, NULL };
	ck_assert_int_eq(canary_v(NULL, bad_pass), 6);

	/* Every access is in the history. */
	g_autoptr(GError) error = NULL;
	g_autoptr(canary_config) config = canary_config_load(config_path, &error);
	struct canary_store *store = canary_store_open(config->store.database, &error);
	g_autoptr(GPtrArray) events = canary_store_list_events(store, the_ref, &error);
	guint shows = 0, reveals = 0;
	for (guint i = 0; i < events->len; i++) {
		const struct canary_event *e = events->pdata[i];
		shows += strcmp(e->action, "show") == 0;
		reveals += strcmp(e->action, "reveal") == 0;
	}
	ck_assert_uint_eq(shows, 2);
	ck_assert_uint_eq(reveals, 1);
	canary_store_close(&store);
}
END_TEST

START_TEST(test_raw_and_attachment_files)
{
	g_autofree char *demo = tu_data_path("demo");
	const char *import[] = { "import", demo, NULL };
	ck_assert_int_eq(canary_v(NULL, import), 0);
	const char *list[] = { "list", "--json", NULL };
	g_autofree char *json = NULL;
	ck_assert_int_eq(canary_v(&json, list), 0);
	g_autoptr(JsonParser) parser = json_parser_new();
	ck_assert(json_parser_load_from_data(parser, json, -1, NULL));
	JsonArray *cases = json_node_get_array(json_parser_get_root(parser));
	g_autofree char *out_dir = g_build_filename(tmpdir, "out", NULL);
	g_mkdir(out_dir, 0700);
	g_autofree char *sk = key_path("section");
	g_autofree char *pp = pass_path();
	guint written = 0;
	for (guint i = 0; i < json_array_get_length(cases); i++) {
		JsonObject *o = json_array_get_object_element(cases, i);
		const char *ref = json_object_get_string_member(o, "ref");
		gint64 n = json_object_get_int_member(o, "attachments");
		if (strcmp(json_object_get_string_member(o, "status"), "quarantined") == 0)
			continue;
		for (gint64 a = 1; a <= n; a++) {
			g_autofree char *num = g_strdup_printf("%" G_GINT64_FORMAT, a);
			const char *args[] = { "attachment", ref, num, "--key", sk,
					       "--passphrase-file", pp, "-o", out_dir, NULL };
			g_autofree char *out = NULL;
			ck_assert_int_eq(canary_v(&out, args), 0);
			written++;
		}
		g_autofree char *past = g_strdup_printf("%" G_GINT64_FORMAT, n + 1);
		const char *beyond[] = { "attachment", ref, past, "--key", sk,
					 "--passphrase-file", pp, "-o", out_dir, NULL };
		ck_assert_int_eq(canary_v(NULL, beyond), 5);
	}
	ck_assert_uint_ge(written, 3);
	/* Every file landed inside DIR, none hidden. */
	g_autoptr(GDir) dir = g_dir_open(out_dir, 0, NULL);
	guint files = 0;
	for (const char *name; (name = g_dir_read_name(dir)) != NULL; files++)
		ck_assert(name[0] != '.' && strchr(name, '/') == NULL);
	ck_assert_uint_le(files, written);

	/* reveal --raw writes the original, and never over a file. */
	JsonObject *first = json_array_get_object_element(cases, 0);
	const char *ref = json_object_get_string_member(first, "ref");
	g_autofree char *ck = key_path("custodian");
	g_autofree char *raw = g_build_filename(tmpdir, "raw.eml", NULL);
	const char *reveal[] = { "reveal", ref, "--key", ck, "--passphrase-file", pp,
				 "--raw", raw, NULL };
	ck_assert_int_eq(canary_v(NULL, reveal), 0);
	ck_assert(g_file_test(raw, G_FILE_TEST_IS_REGULAR));
	ck_assert_int_ne(canary_v(NULL, reveal), 0);
}
END_TEST

/* --- The leak test ----------------------------------------------------------- */

/* Adds NEEDLE (if long enough to be meaningful) to SET. */
static void add_needle(GHashTable *set, const char *needle)
{
	if (needle == NULL)
		return;
	g_autofree char *trimmed = g_strstrip(g_strdup(needle));
	if (strlen(trimmed) >= 5)
		g_hash_table_add(set, g_steal_pointer(&trimmed));
}

/* Adds a window of about 32 bytes from the middle of TEXT. */
static void add_phrase(GHashTable *set, const char *text)
{
	gsize len = text != NULL ? strlen(text) : 0;
	if (len < 48) {
		add_needle(set, text);
		return;
	}
	const char *start = g_utf8_find_next_char(text + len / 2 - 16, NULL);
	const char *end = g_utf8_find_prev_char(text, start + 32);
	g_autofree char *phrase = g_strndup(start, (gsize)(end - start));
	add_needle(set, phrase);
}

/* Collects what must never appear in clear for every corpus message. */
static GHashTable *collect_needles(void)
{
	GHashTable *set = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	struct canary_limits limits;
	canary_limits_init_default(&limits);
	g_autoptr(GPtrArray) files = corpus_files();
	for (guint i = 0; i < files->len; i++) {
		g_autoptr(GBytes) raw = tu_data_bytes(files->pdata[i]);
		g_autoptr(canary_mail) mail = canary_mail_parse(raw, &limits);
		g_autoptr(canary_identity) id = canary_identity_extract(mail);
		for (guint a = 0; a < id->addresses->len; a++) {
			const struct canary_address *addr = id->addresses->pdata[a];
			add_needle(set, addr->address);
			add_needle(set, addr->name);
		}
		for (guint a = 0; a < id->ips->len; a++)
			add_needle(set, id->ips->pdata[a]);
		for (guint a = 0; a < id->phones->len; a++)
			add_needle(set, id->phones->pdata[a]);
		for (guint a = 0; a < id->emails->len; a++)
			add_needle(set, id->emails->pdata[a]);
		add_needle(set, mail->subject);
		add_phrase(set, mail->text);
		for (guint a = 0; a < mail->attachments->len; a++) {
			const struct canary_attachment *att = mail->attachments->pdata[a];
			add_needle(set, att->filename);
		}
	}
	/* What the leak test's own command adds. */
	add_needle(set, "amara.diallo@example.org");
	add_needle(set, "Amara Diallo");
	return set;
}

START_TEST(test_nothing_in_clear)
{
	/* Hold a connection so the WAL file stays on disk to be searched. */
	g_autoptr(GError) error = NULL;
	g_autoptr(canary_config) config = canary_config_load(config_path, &error);
	struct canary_store *holder = canary_store_open(config->store.database, &error);
	ck_assert_ptr_nonnull(holder);

	g_autofree char *inbox = g_build_filename(tmpdir, "inbox", NULL);
	g_mkdir(inbox, 0700);
	g_autoptr(GPtrArray) files = corpus_files();
	for (guint i = 0; i < files->len; i++) {
		g_autoptr(GBytes) raw = tu_data_bytes(files->pdata[i]);
		g_autofree char *name = g_strdup_printf("%03u.eml", i);
		g_autofree char *to = g_build_filename(inbox, name, NULL);
		ck_assert(g_file_set_contents(to, g_bytes_get_data(raw, NULL),
					      (gssize)g_bytes_get_size(raw), NULL));
	}
	const char *import[] = { "import", inbox, NULL };
	ck_assert_int_eq(canary_v(NULL, import), 0);
	/* Officers at work: list, show, reveal, all logged. */
	const char *list[] = { "list", "--json", NULL };
	g_autofree char *json = NULL;
	ck_assert_int_eq(canary_v(&json, list), 0);
	g_autoptr(JsonParser) parser = json_parser_new();
	ck_assert(json_parser_load_from_data(parser, json, -1, NULL));
	JsonArray *cases = json_node_get_array(json_parser_get_root(parser));
	for (guint i = 0; i < json_array_get_length(cases); i++) {
		JsonObject *o = json_array_get_object_element(cases, i);
		const char *ref = json_object_get_string_member(o, "ref");
		gboolean quarantined =
			strcmp(json_object_get_string_member(o, "status"), "quarantined") == 0;
		ck_assert_int_eq(with_key("show", ref, "section", NULL), quarantined ? 6 : 0);
		ck_assert_int_eq(with_key("reveal", ref, "custodian", NULL), 0);
	}
	const char *missing[] = { "show", "R-2026-999999", "--key", "/nonexistent", NULL };
	canary_v(NULL, missing);

	g_autoptr(GHashTable) needles = collect_needles();
	ck_assert_uint_gt(g_hash_table_size(needles), 50);
	g_autofree char *wal = g_strdup_printf("%s-wal", config->store.database);
	g_autofree char *shm = g_strdup_printf("%s-shm", config->store.database);
	ck_assert(g_file_test(wal, G_FILE_TEST_EXISTS));
	const char *places[] = { config->store.database, wal, shm, log_path };

	/* Each file read once, for every needle. */
	g_autoptr(GPtrArray) read = tu_read_files(places, G_N_ELEMENTS(places));
	GHashTableIter iter;
	gpointer needle;
	guint leaks = 0;
	g_hash_table_iter_init(&iter, needles);
	while (g_hash_table_iter_next(&iter, &needle, NULL)) {
		for (size_t p = 0; p < G_N_ELEMENTS(places); p++) {
			guint hits = tu_count_text_in_bytes(read->pdata[p], needle);
			if (hits > 0) {
				leaks++;
				fprintf(stderr, "LEAK: %u hit(s) of a %zu-byte needle in %s\n", hits,
					strlen(needle), places[p]);
			}
		}
	}
	ck_assert_uint_eq(leaks, 0);
	canary_store_close(&holder);
}
END_TEST

/* --- No oracle, no exact metadata --------------------------------------- */

/* What a test that holds the pseudonym key knows of a message it filed. */
struct filed {
	char *ref;
	char *pseudonym; /* NULL without a sender address */
	guint8 hash[32];
	gint64 received_at;
	gint64 size;
	guint32 uid;
};

static void filed_clear(struct filed *f)
{
	g_free(f->ref);
	g_free(f->pseudonym);
}

/* The server says message I arrived at this time: odd seconds on purpose. */
#define FIRST_ARRIVAL 1767237945 /* 2026-01-01T03:25:45Z */
#define ARRIVAL_STEP  3607
#define INBOX_VALIDITY 9

/* Files every corpus message through the library as from INBOX (UID I+1),
 * computing with the pseudonym key what an attacker holding it would: the
 * sender's pseudonym and the message's content hash. The ingest times fall
 * in [*START_R, *END_R]. Returns a new array of struct filed. */
static GArray *file_corpus(struct tu_pipeline *pl, gint64 *start_r, gint64 *end_r)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(canary_pseudonym_key) pkey =
		canary_key_load_pseudonym(pl->config->keys.pseudonym_key, &error);
	ck_assert_msg(pkey != NULL, "%s", error ? error->message : "?");
	GArray *filed = g_array_new(FALSE, TRUE, sizeof(struct filed));
	g_array_set_clear_func(filed, (GDestroyNotify)filed_clear);
	g_autoptr(GPtrArray) files = corpus_files();
	*start_r = g_get_real_time() / G_USEC_PER_SEC;
	for (guint i = 0; i < files->len; i++) {
		g_autoptr(GBytes) raw = tu_data_bytes(files->pdata[i]);
		struct canary_ingest_source src = {.mailbox = "INBOX",
						   .uidvalidity = INBOX_VALIDITY,
						   .uid = i + 1,
						   .received_at = FIRST_ARRIVAL + i * ARRIVAL_STEP};
		struct canary_ingest_result result;
		ck_assert(canary_store_begin(pl->store, NULL));
		ck_assert_msg(canary_ingest_message(pl->ingest, raw, &src, &result, &error),
			      "%s: %s", (char *)files->pdata[i], error ? error->message : "?");
		ck_assert(canary_store_commit(pl->store, NULL));
		if (result.outcome == CANARY_INGEST_DUPLICATE) {
			canary_ingest_result_clear(&result);
			continue;
		}
		struct filed f = {.ref = g_steal_pointer(&result.ref),
				  .received_at = src.received_at,
				  .size = (gint64)g_bytes_get_size(raw),
				  .uid = src.uid};
		g_autoptr(canary_mail) mail = canary_mail_parse(raw, &pl->config->limits);
		g_autoptr(canary_identity) id = canary_identity_extract(mail);
		if (id->primary != NULL)
			f.pseudonym = canary_seal_pseudonym(pkey, id->primary);
		gsize len = 0;
		const void *data = g_bytes_get_data(raw, &len);
		canary_seal_content_hash(pkey, data, len, f.hash);
		g_array_append_val(filed, f);
	}
	*end_r = g_get_real_time() / G_USEC_PER_SEC;
	return filed;
}

/* Whoever holds the pseudonym key (it is on the server) computes the
 * pseudonym of a guessed sender and the hash of a guessed message: neither
 * is anywhere in the database, its WAL or what list prints without a key
 * (the hash once its server copy is gone and the hash forgotten). */
START_TEST(test_pseudonym_key_is_no_oracle)
{
	struct tu_pipeline pl = {0};
	tu_pipeline_open(&pl, config_path);
	gint64 start = 0, end = 0;
	g_autoptr(GArray) filed = file_corpus(&pl, &start, &end);
	g_autofree char *db = g_strdup(pl.config->store.database);
	g_autofree char *wal = g_strconcat(db, "-wal", NULL);
	g_autofree char *shm = g_strconcat(db, "-shm", NULL);
	ck_assert(g_file_test(wal, G_FILE_TEST_EXISTS)); /* held open: still there */

	const char *list[] = {"list", "--json", NULL};
	g_autofree char *json = NULL;
	ck_assert_int_eq(canary_v(&json, list), 0);
	g_autofree char *json_path = tu_write_file(tmpdir, "list.json", json);
	const char *places[] = {db, wal, shm, json_path};
	/* Each file read once, for every message. */
	g_autoptr(GPtrArray) read = tu_read_files(places, G_N_ELEMENTS(places));

	guint pseudonyms = 0, hashes_before = 0;
	for (guint i = 0; i < filed->len; i++) {
		const struct filed *f = &g_array_index(filed, struct filed, i);
		ck_assert_ptr_nonnull(strstr(json, f->ref));
		for (size_t p = 0; f->pseudonym != NULL && p < G_N_ELEMENTS(places); p++)
			ck_assert_msg(tu_count_text_in_bytes(read->pdata[p], f->pseudonym) == 0,
				      "%s: its pseudonym is in %s", f->ref, places[p]);
		pseudonyms += f->pseudonym != NULL;
		/* Kept while the message may come back from the server. */
		hashes_before += tu_count_in_bytes(read->pdata[0], f->hash, 32) + /* db */
				 tu_count_in_bytes(read->pdata[1], f->hash, 32);  /* wal */
	}
	ck_assert_uint_ge(pseudonyms, 10);
	ck_assert_uint_ge(hashes_before, filed->len);

	/* The server copies are expunged: the hashes are forgotten. */
	g_autoptr(GArray) uids = g_array_new(FALSE, FALSE, sizeof(guint32));
	for (guint i = 0; i < filed->len; i++)
		g_array_append_val(uids, g_array_index(filed, struct filed, i).uid);
	g_autoptr(GError) error = NULL;
	ck_assert(canary_store_forget_hashes_of_sources(pl.store, "INBOX", INBOX_VALIDITY,
							(const guint32 *)(void *)uids->data,
							uids->len, NULL, &error));
	ck_assert_msg(canary_store_checkpoint(pl.store, &error), "%s",
		      error ? error->message : "?");
	g_autofree char *json2 = NULL;
	ck_assert_int_eq(canary_v(&json2, list), 0);
	g_autofree char *json2_path = tu_write_file(tmpdir, "list2.json", json2);
	const char *after[] = {db, wal, shm, json2_path};
	g_autoptr(GPtrArray) read_after = tu_read_files(after, G_N_ELEMENTS(after));
	for (guint i = 0; i < filed->len; i++) {
		const struct filed *f = &g_array_index(filed, struct filed, i);
		char *found = NULL;
		ck_assert(canary_store_find_hash(pl.store, f->hash, &found, &error));
		ck_assert_ptr_null(found);
		g_autofree char *hex = g_malloc(65);
		for (int b = 0; b < 32; b++)
			g_snprintf(hex + 2 * b, 3, "%02x", f->hash[b]);
		for (size_t p = 0; p < G_N_ELEMENTS(after); p++) {
			ck_assert_msg(tu_count_in_bytes(read_after->pdata[p], f->hash, 32) == 0,
				      "%s: its content hash is in %s", f->ref, after[p]);
			ck_assert_uint_eq(tu_count_in_bytes(read_after->pdata[p], hex, 64), 0);
			if (f->pseudonym != NULL)
				ck_assert_uint_eq(
					tu_count_text_in_bytes(read_after->pdata[p], f->pseudonym), 0);
		}
		/* The source still says the message was filed. */
		ck_assert(canary_store_find_source(pl.store, "INBOX", INBOX_VALIDITY, f->uid, &found,
						   &error));
		ck_assert_str_eq(found, f->ref);
		g_free(found);
	}
	tu_pipeline_close(&pl);
}
END_TEST

/* TRUE when V is a moment within the window of the test's arrivals and
 * ingestion, not on a day boundary. */
static gboolean finer_than_day(gint64 v, gint64 first, gint64 last, gint64 start, gint64 end)
{
	gboolean arrival = v >= first - 2 * 86400 && v <= last + 2 * 86400;
	gboolean ingestion = v >= start - 5 && v <= end + 5;
	return (arrival || ingestion) && v % 86400 != 0;
}

/* Every value of every column of every table, dumped: no exact message size
 * and no time of arrival or ingestion finer than the day. */
START_TEST(test_dump_has_no_exact_size_or_time)
{
	struct tu_pipeline pl = {0};
	tu_pipeline_open(&pl, config_path);
	gint64 start = 0, end = 0;
	g_autoptr(GArray) filed = file_corpus(&pl, &start, &end);
	g_autofree char *db_path = g_strdup(pl.config->store.database);
	tu_pipeline_close(&pl);
	g_autoptr(GHashTable) sizes = g_hash_table_new(g_int64_hash, g_int64_equal);
	gint64 last = FIRST_ARRIVAL;
	for (guint i = 0; i < filed->len; i++) {
		struct filed *f = &g_array_index(filed, struct filed, i);
		if (f->size >= 256) /* smaller ones could be a count or an id */
			g_hash_table_add(sizes, &f->size);
		last = MAX(last, f->received_at);
	}
	ck_assert_uint_ge(g_hash_table_size(sizes), 10);

	sqlite3 *db = NULL;
	ck_assert_int_eq(sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	sqlite3_stmt *tables = NULL;
	ck_assert_int_eq(sqlite3_prepare_v2(db,
					    "SELECT name FROM sqlite_schema WHERE type = 'table' "
					    "AND name NOT LIKE 'sqlite_%'",
					    -1, &tables, NULL),
			 SQLITE_OK);
	guint values = 0, days = 0, bad = 0;
	while (sqlite3_step(tables) == SQLITE_ROW) {
		const char *t = (const char *)sqlite3_column_text(tables, 0);
		char *sql = sqlite3_mprintf("SELECT * FROM \"%w\"", t);
		sqlite3_stmt *rows = NULL;
		ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &rows, NULL), SQLITE_OK);
		sqlite3_free(sql);
		while (sqlite3_step(rows) == SQLITE_ROW) {
			for (int col = 0; col < sqlite3_column_count(rows); col++) {
				int type = sqlite3_column_type(rows, col);
				const char *text = (const char *)sqlite3_column_text(rows, col);
				char *rest = NULL;
				gint64 v = sqlite3_column_int64(rows, col);
				if (type == SQLITE_TEXT) {
					v = g_ascii_strtoll(text, &rest, 10);
					if (rest == text || *rest != '\0')
						continue; /* not a number */
				} else if (type != SQLITE_INTEGER) {
					continue; /* sealed blobs, NULL */
				}
				values++;
				days += v >= FIRST_ARRIVAL - 86400 && v <= end && v % 86400 == 0;
				if (g_hash_table_contains(sizes, &v) ||
				    finer_than_day(v, FIRST_ARRIVAL, last, start, end)) {
					fprintf(stderr, "EXACT: %s.%s = %" G_GINT64_FORMAT "\n", t,
						sqlite3_column_name(rows, col), v);
					bad++;
				}
			}
		}
		sqlite3_finalize(rows);
	}
	sqlite3_finalize(tables);
	sqlite3_close(db);
	ck_assert_uint_gt(values, 100);
	ck_assert_uint_ge(days, filed->len); /* the days are there, and were looked at */
	ck_assert_uint_eq(bad, 0);
}
END_TEST

/* A message from SENDER (a From: header's value) telling the same story
 * as every other made here. New string. */
static char *message_from(const char *sender)
{
	return g_strdup_printf("From: %s\nTo: reprisals@example.org\n"
			       "Subject: Summoned after the session in Geneva\n\n"
			       "I was questioned for six hours at the airport on my return and\n"
			       "my passport was taken. They asked about the people I met in\n"
			       "Geneva, who had paid for my journey and what I had told the\n"
			       "committee. They said my family would not be safe if I spoke\n"
			       "again. Since then a car has waited outside our building every\n"
			       "night, and my employer was told to let me go. I do not know\n"
			       "whom to trust here; please answer only to this address.\n",
			       sender);
}

/* The sizes of the sealed fields of case REF in DB, by field name. */
static GHashTable *blob_sizes(sqlite3 *db, const char *ref)
{
	GHashTable *sizes = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	sqlite3_stmt *s = NULL;
	ck_assert_int_eq(sqlite3_prepare_v2(db,
					    "SELECT b.field, length(b.data) FROM case_blobs b "
					    "JOIN cases c ON c.id = b.case_id WHERE c.ref = ?1",
					    -1, &s, NULL),
			 SQLITE_OK);
	sqlite3_bind_text(s, 1, ref, -1, SQLITE_STATIC);
	while (sqlite3_step(s) == SQLITE_ROW)
		g_hash_table_insert(sizes, g_strdup((const char *)sqlite3_column_text(s, 0)),
				    GINT_TO_POINTER(sqlite3_column_int(s, 1)));
	sqlite3_finalize(s);
	return sizes;
}

/* The plaintext length a sealed field of N bytes in FORMAT holds: 0 when
 * that is no length a padded field can have. */
static gsize padded_length_of(guint8 format, gsize n)
{
	gsize padded = 0;
	if (format == 0x03 && n > 1 + 24 + 16)
		padded = n - 1 - 24 - 16;
	else if (format == 0x04 && n > 1 + 24)
		padded = (n - 1 - 24) - ((n - 1 - 24) + 64 * 1024 + 16) / (64 * 1024 + 17) * 17;
	return padded > 0 && canary_seal_padded_size(padded - 1) == padded ? padded : 0;
}

/* The thief with the database learns no field's exact length: every sealed
 * field but the fixed-size key copies is padded (canary_seal_padded_size()),
 * so two messages whose senders' names and addresses differ by a hundred
 * bytes, and whose lengths fall in one bucket, leave fields of the same
 * sizes. */
START_TEST(test_sealed_lengths_are_padded)
{
	struct tu_pipeline pl = {0};
	tu_pipeline_open(&pl, config_path);
	g_autofree char *brief = message_from("Ana <ana@example.org>");
	g_autofree char *lengthy = message_from(
		"Ana Maria Gonzalez de la Fuente y Rodriguez "
		"<ana.maria.gonzalez.delafuente@ministerio-de-relaciones.example.org>");
	g_autofree char *brief_ref = tu_pipeline_file(&pl, brief);
	g_autofree char *lengthy_ref = tu_pipeline_file(&pl, lengthy);
	gint64 start = 0, end = 0;
	g_autoptr(GArray) filed = file_corpus(&pl, &start, &end);
	g_autofree char *db_path = g_strdup(pl.config->store.database);
	tu_pipeline_close(&pl);

	sqlite3 *db = NULL;
	ck_assert_int_eq(sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	g_autoptr(GHashTable) a = blob_sizes(db, brief_ref);
	g_autoptr(GHashTable) b = blob_sizes(db, lengthy_ref);
	ck_assert_uint_ge(g_hash_table_size(a), 8);
	ck_assert_uint_eq(g_hash_table_size(a), g_hash_table_size(b));
	GHashTableIter iter;
	gpointer field, size;
	g_hash_table_iter_init(&iter, a);
	while (g_hash_table_iter_next(&iter, &field, &size))
		ck_assert_msg(g_hash_table_lookup(b, field) == size, "%s: %d against %d",
			      (char *)field, GPOINTER_TO_INT(size),
			      GPOINTER_TO_INT(g_hash_table_lookup(b, field)));

	sqlite3_stmt *s = NULL;
	ck_assert_int_eq(sqlite3_prepare_v2(db, "SELECT field, data FROM case_blobs", -1, &s, NULL),
			 SQLITE_OK);
	guint padded = 0;
	while (sqlite3_step(s) == SQLITE_ROW) {
		const char *f = (const char *)sqlite3_column_text(s, 0);
		const guint8 *data = sqlite3_column_blob(s, 1);
		gsize n = (gsize)sqlite3_column_bytes(s, 1);
		if (n == CANARY_SEALED_KEY_SIZE || (n == 1 + 24 + 32 + 16 && data[0] == 0x01))
			continue; /* a key copy, sealed or wrapped: 32 bytes inside */
		ck_assert_msg(padded_length_of(data[0], n) > 0,
			      "%s: %zu bytes in format %u, not a padded length", f, n, data[0]);
		padded++;
	}
	sqlite3_finalize(s);
	sqlite3_close(db);
	ck_assert_uint_ge(padded, 4 * filed->len);
}
END_TEST

static Suite *confidentiality_suite(void)
{
	Suite *s = suite_create("confidentiality");
	TCase *tc = tcase_create("confidentiality");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 600);
	tcase_add_test(tc, test_round_trip_every_message);
	tcase_add_test(tc, test_swapped_and_flipped_blobs_fail);
	tcase_add_test(tc, test_commands_open_only_with_the_right_key);
	tcase_add_test(tc, test_raw_and_attachment_files);
	tcase_add_test(tc, test_nothing_in_clear);
	tcase_add_test(tc, test_pseudonym_key_is_no_oracle);
	tcase_add_test(tc, test_dump_has_no_exact_size_or_time);
	tcase_add_test(tc, test_sealed_lengths_are_padded);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run_suite(confidentiality_suite());
}
