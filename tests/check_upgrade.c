/* check_upgrade.c: databases written by every earlier schema version
 * (tests/data/schema/vN.db, made by that version's own canary import) open
 * with this build: migrated forward with every row kept, sealed content
 * still opening with the fixture's keys, the history chain intact. A
 * database from a newer canary is refused and left byte for byte as it was. */
#include <glib/gstdio.h>
#include <sqlite3.h>
#include <string.h>

#include "envelope.h"
#include "ingest.h"
#include "store.h"
#include "testutil.h"

/* The first schema that sealed case content (schema 1 kept the raw message
 * in clear until sealing landed: see tests/data/schema/README). */
#define FIRST_SEALED_SCHEMA 2

static char *tmpdir;
static char *db_path;
static char *config_path;
static char *passphrase;

/* A private home: the committed keys (git drops their 0600 modes, which
 * canary insists on) and a config naming the database DB_PATH. */
static void setup(void)
{
	tmpdir = tu_make_tempdir();
	g_autofree char *keys = g_build_filename(tmpdir, "keys", NULL);
	g_mkdir(keys, 0700);
	g_autofree char *from = tu_data_path("schema/keys");
	g_autoptr(GDir) dir = g_dir_open(from, 0, NULL);
	ck_assert_ptr_nonnull(dir);
	for (const char *name; (name = g_dir_read_name(dir)) != NULL;) {
		g_autofree char *relative = g_build_filename("schema/keys", name, NULL);
		g_autoptr(GBytes) bytes = tu_data_bytes(relative);
		g_autofree char *path = g_build_filename(keys, name, NULL);
		ck_assert(g_file_set_contents(path, g_bytes_get_data(bytes, NULL),
					      (gssize)g_bytes_get_size(bytes), NULL));
		ck_assert_int_eq(g_chmod(path, 0600), 0);
	}
	passphrase = tu_write_file(tmpdir, "passphrase", TU_SCHEMA_PASSPHRASE "\n");
	ck_assert_int_eq(g_chmod(passphrase, 0600), 0);
	db_path = g_build_filename(tmpdir, "canary.db", NULL);
	/* As scripts/make-schema-fixture sets up v2 and later: the shipped
	 * rules, a key pair per section. */
	g_autofree char *rules_src =
		g_build_filename(CANARY_SOURCE_DIR, "conf", "routing.conf", NULL);
	g_autofree char *rules = NULL;
	ck_assert(g_file_get_contents(rules_src, &rules, NULL, NULL));
	g_free(tu_write_file(tmpdir, "routing.conf", rules));
	config_path = tu_write_file(tmpdir, "canary.conf",
				    "[store]\ndatabase = canary.db\n"
				    "[keys]\ncustodian_public = keys/custodian.pub\n"
				    "triage_public = keys/triage.pub\n"
				    "pseudonym_key = keys/pseudonym.key\n"
				    "[routing]\nrules = routing.conf\n");
}

static void teardown(void)
{
	tu_rmtree(tmpdir);
	g_clear_pointer(&tmpdir, g_free);
	g_clear_pointer(&db_path, g_free);
	g_clear_pointer(&config_path, g_free);
	g_clear_pointer(&passphrase, g_free);
}

static GBytes *file_bytes(const char *path)
{
	char *contents = NULL;
	gsize len = 0;
	ck_assert_msg(g_file_get_contents(path, &contents, &len, NULL), "%s: cannot read", path);
	return g_bytes_new_take(contents, len);
}

/* Copies the fixture of schema VERSION to DB_PATH. FALSE if there is none. */
static gboolean copy_fixture(int version)
{
	g_autofree char *name = g_strdup_printf("schema/v%d.db", version);
	g_autofree char *path = tu_data_path(name);
	if (!g_file_test(path, G_FILE_TEST_EXISTS))
		return FALSE;
	g_autoptr(GBytes) bytes = file_bytes(path);
	ck_assert(g_file_set_contents(db_path, g_bytes_get_data(bytes, NULL),
				      (gssize)g_bytes_get_size(bytes), NULL));
	return TRUE;
}

static sqlite3 *open_raw(const char *path)
{
	sqlite3 *db = NULL;
	ck_assert_int_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_URI, NULL),
			 SQLITE_OK);
	return db;
}

/* The columns TABLE had in the fixture, quoted, comma-separated: a later
 * migration may add columns, never drop or change one. Returns a new string. */
static char *old_columns(sqlite3 *db, const char *table)
{
	sqlite3_stmt *s = NULL;
	ck_assert_int_eq(
		sqlite3_prepare_v2(db,
				   "SELECT group_concat('\"' || replace(name, '\"', '\"\"') "
				   "|| '\"', ', ') FROM pragma_table_info(?1, 'old')",
				   -1, &s, NULL),
		SQLITE_OK);
	sqlite3_bind_text(s, 1, table, -1, SQLITE_STATIC);
	ck_assert_int_eq(sqlite3_step(s), SQLITE_ROW);
	char *columns = g_strdup((const char *)sqlite3_column_text(s, 0));
	sqlite3_finalize(s);
	ck_assert_ptr_nonnull(columns);
	return columns;
}

/* Migration 4 moved the exact values of the cases out of the clear columns
 * into legacy_meta (until canaryd seals them); this view puts the old
 * columns back together, for comparing with the fixture's cases. */
static const char *const cases_as_before =
	"CREATE TEMP VIEW cases_before_4 AS SELECT c.id AS id, c.ref AS ref, "
	"l.received_at AS received_at, l.ingested_at AS ingested_at, c.section AS section, "
	"c.status AS status, c.assignee AS assignee, l.pseudonym AS pseudonym, c.rule AS rule, "
	"c.quarantine_reason AS quarantine_reason, l.size AS size, "
	"c.attachments AS attachments, c.content_hash AS content_hash "
	"FROM main.cases c JOIN main.legacy_meta l ON l.case_id = c.id";

/* Tables a migration retired, with the migration: ref_counters (4), since
 * references are random. */
static gboolean retired(const char *table)
{
	return strcmp(table, "ref_counters") == 0;
}

/* The schema that moved the cases' exact values out of the clear columns. */
#define COARSE_SCHEMA 4

/* Every row of every table of the fixture FIXTURE (of schema VERSION) is in
 * the migrated database with the same values (for schemas before 4, the
 * cases' clear day and size class derived from the old exact values), and
 * no row was added to those tables. */
static void check_rows_kept(const char *fixture, int version)
{
	sqlite3 *db = open_raw(db_path);
	g_autofree char *uri = g_strdup_printf("file:%s?mode=ro&immutable=1", fixture);
	char *sql = sqlite3_mprintf("ATTACH %Q AS old", uri);
	ck_assert_int_eq(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_free(sql);
	gboolean before_4 = version < COARSE_SCHEMA;
	if (before_4) {
		ck_assert_int_eq(sqlite3_exec(db, cases_as_before, NULL, NULL, NULL), SQLITE_OK);
		ck_assert_int_eq(
			tu_query_int(db, "SELECT count(*) FROM old.cases o JOIN main.cases c "
					  "USING (id) WHERE c.received_day != "
					  "o.received_at / 86400 * 86400 OR c.size_class != "
					  "(o.size >= 10240) + (o.size >= 102400) + "
					  "(o.size >= 1048576) + (o.size >= 10485760)"),
			0);
	}
	sqlite3_stmt *tables = NULL;
	ck_assert_int_eq(
		sqlite3_prepare_v2(db,
				   "SELECT name FROM old.sqlite_schema WHERE type = 'table' "
				   "AND name NOT LIKE 'sqlite_%'",
				   -1, &tables, NULL),
		SQLITE_OK);
	guint checked = 0;
	while (sqlite3_step(tables) == SQLITE_ROW) {
		const char *t = (const char *)sqlite3_column_text(tables, 0);
		if (retired(t)) {
			sql = sqlite3_mprintf("SELECT count(*) FROM main.sqlite_schema "
					      "WHERE name = %Q", t);
			ck_assert_msg(tu_query_int(db, sql) == 0, "table %s: not retired", t);
			sqlite3_free(sql);
			checked++;
			continue;
		}
		g_autofree char *main_t = before_4 && strcmp(t, "cases") == 0
						  ? g_strdup("temp.cases_before_4")
						  : g_strdup_printf("main.\"%s\"", t);
		sql = sqlite3_mprintf("SELECT (SELECT count(*) FROM old.\"%w\") = "
				      "(SELECT count(*) FROM %s)",
				      t, main_t);
		ck_assert_msg(tu_query_int(db, sql) == 1, "table %s: rows added or lost", t);
		sqlite3_free(sql);
		g_autofree char *columns = old_columns(db, t);
		sql = sqlite3_mprintf("SELECT count(*) FROM (SELECT %s FROM old.\"%w\" "
				      "EXCEPT SELECT %s FROM %s)",
				      columns, t, columns, main_t);
		ck_assert_msg(tu_query_int(db, sql) == 0, "table %s: rows changed", t);
		sqlite3_free(sql);
		checked++;
	}
	sqlite3_finalize(tables);
	ck_assert_uint_ge(checked, 4); /* cases, case_sources, case_blobs, ref_counters */
	sqlite3_close(db);
}

static gint compare_strings(gconstpointer a, gconstpointer b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The cases of STORE as lines "REF RECEIVED SECTION STATUS ASSIGNEE", sorted,
 * as scripts/make-schema-fixture writes vN.cases, RECEIVED being the day
 * (the store keeps no more in clear); must equal that file with each time
 * turned into its day. Returns the cases (a new array). */
static GPtrArray *check_cases(struct canary_store *store, int version)
{
	g_autoptr(GError) error = NULL;
	GPtrArray *cases = canary_store_list_cases(store, NULL, &error);
	ck_assert_msg(cases != NULL, "list: %s", error ? error->message : "?");
	g_autoptr(GPtrArray) lines = g_ptr_array_new_with_free_func(g_free);
	for (guint i = 0; i < cases->len; i++) {
		const struct canary_case *c = cases->pdata[i];
		g_ptr_array_add(lines, g_strdup_printf("%s %" G_GINT64_FORMAT " %s %s %s\n", c->ref,
						       c->received_day, c->section, c->status,
						       c->assignee != NULL ? c->assignee : "-"));
	}
	g_ptr_array_sort(lines, compare_strings);
	g_ptr_array_add(lines, NULL);
	g_autofree char *got = g_strjoinv("", (char **)lines->pdata);
	g_autofree char *name = g_strdup_printf("schema/v%d.cases", version);
	g_autoptr(GBytes) want = tu_data_bytes(name);
	g_auto(GStrv) want_lines = g_strsplit(g_bytes_get_data(want, NULL), "\n", -1);
	g_autoptr(GString) want_days = g_string_new(NULL);
	for (gsize i = 0; want_lines[i] != NULL && want_lines[i][0] != '\0'; i++) {
		g_auto(GStrv) f = g_strsplit(want_lines[i], " ", 3);
		ck_assert_uint_eq(g_strv_length(f), 3);
		gint64 at = g_ascii_strtoll(f[1], NULL, 10);
		g_string_append_printf(want_days, "%s %" G_GINT64_FORMAT " %s\n", f[0],
				       canary_store_day(at), f[2]);
	}
	ck_assert_str_eq(got, want_days->str);
	ck_assert_uint_ge(cases->len, 10);
	return cases;
}

/* Runs canary COMMAND REF with the fixture key NAME; expects exit 0 and REF
 * in the output. */
static void check_opens(const char *command, const char *ref, const char *name)
{
	g_autofree char *key = g_strdup_printf("%s/keys/%s.key", tmpdir, name);
	g_autofree char *out = NULL, *err = NULL;
	int status = tu_run_canary(config_path, &out, &err, command, ref, "--key", key,
				   "--passphrase-file", passphrase, NULL);
	ck_assert_msg(status == 0, "canary %s %s --key %s.key: exit %d: %s", command, ref, name,
		      status, err);
	ck_assert_msg(strstr(out, ref) != NULL, "canary %s %s: %s", command, ref, out);
}

/* Runs canary COMMAND REF ARG... with the fixture key NAME; expects exit 0. */
static void run_with_key(const char *command, const char *ref, const char *name,
			 const char *arg1, const char *arg2, const char *arg3)
{
	g_autofree char *key = g_strdup_printf("%s/keys/%s.key", tmpdir, name);
	g_autofree char *out = NULL, *err = NULL;
	int status = tu_run_canary(config_path, &out, &err, command, ref, "--key", key,
				   "--passphrase-file", passphrase, arg1, arg2, arg3, NULL);
	ck_assert_msg(status == 0, "canary %s %s %s --key %s.key: exit %d: %s", command, ref,
		      arg1, name, status, err);
}

/* Whether BYTES is one of the demo messages the fixtures imported, byte
 * for byte. */
static gboolean is_demo_message(GBytes *bytes)
{
	g_autoptr(GPtrArray) messages = tu_data_messages("demo");
	for (guint i = 0; i < messages->len; i++) {
		g_autoptr(GBytes) demo = tu_data_bytes(messages->pdata[i]);
		if (g_bytes_equal(demo, bytes))
			return TRUE;
	}
	return FALSE;
}

/* Every case still opens: as its section reads it (quarantined ones only
 * by the custodian), its attachments (sealed decoded, under the content
 * key, listed by a version 1 list), and its sender and its original
 * message, byte for byte, for the custodian. */
static void check_sealed(const GPtrArray *cases)
{
	guint attachments = 0;
	for (guint i = 0; i < cases->len; i++) {
		const struct canary_case *c = cases->pdata[i];
		if (strcmp(c->status, CANARY_STATUS_QUARANTINED) != 0)
			check_opens("show", c->ref, c->section);
		check_opens("reveal", c->ref, "custodian");
		g_autofree char *out_dir = g_build_filename(tmpdir, "opened-XXXXXX", NULL);
		ck_assert_ptr_nonnull(g_mkdtemp(out_dir));
		g_autofree char *raw = g_build_filename(out_dir, "raw.eml", NULL);
		run_with_key("reveal", c->ref, "custodian", "--raw", raw, NULL);
		g_autofree char *contents = NULL;
		gsize len = 0;
		ck_assert(g_file_get_contents(raw, &contents, &len, NULL));
		g_autoptr(GBytes) bytes = g_bytes_new_take(g_steal_pointer(&contents), len);
		ck_assert_msg(is_demo_message(bytes), "%s: reveal --raw is no demo message", c->ref);
		if (c->attachments == 0 || strcmp(c->status, CANARY_STATUS_QUARANTINED) == 0)
			continue;
		run_with_key("attachment", c->ref, c->section, "1", "-o", out_dir);
		attachments++;
	}
	ck_assert_uint_ge(attachments, 1);
}

static void check_history(void)
{
	g_autofree char *out = NULL, *err = NULL;
	ck_assert_msg(tu_run_canary(config_path, &out, &err, "audit", "--verify", NULL) == 0,
		      "audit --verify: %s%s", out, err);
	ck_assert_ptr_nonnull(strstr(out, "ok"));
}

static struct canary_store *open_ok(void)
{
	g_autoptr(GError) error = NULL;
	struct canary_store *store = canary_store_open(db_path, &error);
	ck_assert_msg(store != NULL, "open: %s", error ? error->message : "?");
	return store;
}

static void check_no_wal_left(void)
{
	g_autofree char *wal = g_strconcat(db_path, "-wal", NULL);
	g_autofree char *shm = g_strconcat(db_path, "-shm", NULL);
	ck_assert_msg(!g_file_test(wal, G_FILE_TEST_EXISTS), "%s left behind", wal);
	ck_assert_msg(!g_file_test(shm, G_FILE_TEST_EXISTS), "%s left behind", shm);
}

/* One case's values as the fixture kept them in clear. */
struct old_values {
	char *ref, *section, *status, *pseudonym;
	gint64 received_at, ingested_at, size;
};

static void old_values_free(struct old_values *v)
{
	g_free(v->ref);
	g_free(v->section);
	g_free(v->status);
	g_free(v->pseudonym);
	g_free(v);
}

/* The clear exact values of every case of FIXTURE. */
static GPtrArray *read_old_values(const char *fixture)
{
	g_autofree char *uri = g_strdup_printf("file:%s?mode=ro&immutable=1", fixture);
	sqlite3 *db = open_raw(uri);
	sqlite3_stmt *s = NULL;
	ck_assert_int_eq(sqlite3_prepare_v2(db,
					    "SELECT ref, section, status, pseudonym, received_at, "
					    "ingested_at, size FROM cases",
					    -1, &s, NULL),
			 SQLITE_OK);
	GPtrArray *rows = g_ptr_array_new_with_free_func((GDestroyNotify)old_values_free);
	while (sqlite3_step(s) == SQLITE_ROW) {
		struct old_values *v = g_new0(struct old_values, 1);
		v->ref = g_strdup((const char *)sqlite3_column_text(s, 0));
		v->section = g_strdup((const char *)sqlite3_column_text(s, 1));
		v->status = g_strdup((const char *)sqlite3_column_text(s, 2));
		v->pseudonym = g_strdup((const char *)sqlite3_column_text(s, 3));
		v->received_at = sqlite3_column_int64(s, 4);
		v->ingested_at = sqlite3_column_int64(s, 5);
		v->size = sqlite3_column_int64(s, 6);
		g_ptr_array_add(rows, v);
	}
	sqlite3_finalize(s);
	sqlite3_close(db);
	return rows;
}

/* Loads the fixture's secret key NAME, or NULL when there is none. */
static struct canary_secret_key *fixture_key(const char *name)
{
	g_autofree char *file = g_strdup_printf("%s.key", name);
	g_autofree char *path = g_build_filename(tmpdir, "keys", file, NULL);
	if (!g_file_test(path, G_FILE_TEST_EXISTS))
		return NULL;
	g_autoptr(GError) error = NULL;
	struct canary_secret_key *key =
		canary_key_load_secret(path, TU_SCHEMA_PASSPHRASE, strlen(TU_SCHEMA_PASSPHRASE), &error);
	ck_assert_msg(key != NULL, "%s: %s", path, error ? error->message : "?");
	return key;
}

/* Opens the exact values of REF with KEY and compares them with V. */
static void check_meta(struct canary_store *store, const struct old_values *v,
		       const struct canary_secret_key *key)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(canary_case) c = canary_store_get_case(store, v->ref, &error);
	ck_assert_msg(c != NULL, "%s: %s", v->ref, error ? error->message : "?");
	g_autoptr(canary_case_meta) meta = canary_envelope_open_meta(store, c->id, key, &error);
	ck_assert_msg(meta != NULL, "%s: %s", v->ref, error ? error->message : "?");
	ck_assert_int_eq(meta->received_at, v->received_at);
	ck_assert_int_eq(meta->ingested_at, v->ingested_at);
	ck_assert_int_eq((gint64)meta->size, v->size);
	ck_assert_str_eq(meta->pseudonym != NULL ? meta->pseudonym : "-",
			 v->pseudonym != NULL ? v->pseudonym : "-");
}

/* What canaryd does when it starts on a migrated database: the clear
 * exact values of the older cases are sealed to each case's keys (the
 * custodian's, and unless quarantined its section's and triage's), then
 * deleted, and the file vacuumed: no pseudonym is left in it. */
static void check_legacy_sealed(const char *fixture, int version)
{
	g_autoptr(GPtrArray) old = read_old_values(fixture);
	struct tu_pipeline pl = {0};
	tu_pipeline_open(&pl, config_path);
	g_autoptr(GError) error = NULL;
	gint64 left = -1;
	ck_assert(canary_store_count_legacy(pl.store, &left, &error));
	ck_assert_int_eq(left, old->len);
	guint sealed = 0;
	ck_assert_msg(canary_ingest_seal_legacy(pl.ingest, &sealed, &error), "%s",
		      error ? error->message : "?");
	ck_assert_uint_eq(sealed, old->len);
	ck_assert(canary_store_count_legacy(pl.store, &left, &error));
	ck_assert_int_eq(left, 0);
	g_autofree char *pending = NULL;
	ck_assert(canary_store_get_state(pl.store, "store.legacy_vacuum_pending", &pending, &error));
	ck_assert_str_eq(pending, "0");
	/* Nothing left to do the second time. */
	ck_assert(canary_ingest_seal_legacy(pl.ingest, &sealed, &error));
	ck_assert_uint_eq(sealed, 0);
	/* But a vacuum that failed after sealing (a reader held the file) is
	 * tried again at the next start. */
	ck_assert(canary_store_set_state(pl.store, "store.legacy_vacuum_pending", "1", &error));
	ck_assert(canary_ingest_seal_legacy(pl.ingest, &sealed, &error));
	g_clear_pointer(&pending, g_free);
	ck_assert(canary_store_get_state(pl.store, "store.legacy_vacuum_pending", &pending, &error));
	ck_assert_str_eq(pending, "0");

	g_autoptr(canary_secret_key) custodian = fixture_key("custodian");
	g_autoptr(canary_secret_key) triage = fixture_key("triage");
	guint pseudonyms = 0;
	for (guint i = 0; i < old->len; i++) {
		const struct old_values *v = old->pdata[i];
		check_meta(pl.store, v, custodian);
		if (strcmp(v->status, CANARY_STATUS_QUARANTINED) != 0) {
			check_meta(pl.store, v, triage);
			g_autoptr(canary_secret_key) section = fixture_key(v->section);
			if (section != NULL)
				check_meta(pl.store, v, section);
		}
		pseudonyms += v->pseudonym != NULL;
	}
	tu_pipeline_close(&pl);
	if (version >= FIRST_SEALED_SCHEMA)
		ck_assert_uint_ge(pseudonyms, 5);

	g_autofree char *wal = g_strconcat(db_path, "-wal", NULL);
	for (guint i = 0; i < old->len; i++) {
		const struct old_values *v = old->pdata[i];
		if (v->pseudonym == NULL)
			continue;
		ck_assert_msg(tu_count_in_file(db_path, v->pseudonym, strlen(v->pseudonym)) == 0,
			      "%s: pseudonym %s still in the database", v->ref, v->pseudonym);
		ck_assert_uint_eq(tu_count_in_file(wal, v->pseudonym, strlen(v->pseudonym)), 0);
	}
	sqlite3 *db = open_raw(db_path);
	ck_assert_int_eq(tu_query_int(db, "SELECT count(*) FROM legacy_meta"), 0);
	sqlite3_close(db);
	check_history();
}

/* _i: the schema version of the fixture. Every version before this build's
 * must have one; this build's own is optional (made when the next lands). */
START_TEST(test_migrates_fixture)
{
	int version = _i;
	if (!copy_fixture(version)) {
		ck_assert_msg(version == CANARY_STORE_SCHEMA_VERSION,
			      "no tests/data/schema/v%d.db: make it with "
			      "scripts/make-schema-fixture %d",
			      version, version);
		return;
	}
	g_autofree char *name = g_strdup_printf("schema/v%d.db", version);
	g_autofree char *fixture = tu_data_path(name);
	g_autofree char *uri = g_strdup_printf("file:%s?mode=ro&immutable=1", fixture);
	sqlite3 *old = open_raw(uri);
	ck_assert_int_eq(tu_query_int(old, "PRAGMA user_version"), version);
	sqlite3_close(old);

	struct canary_store *store = open_ok();
	g_autoptr(GPtrArray) cases = check_cases(store, version);
	/* Schema 6: every case from before conversations is one message. */
	for (guint i = 0; i < cases->len; i++)
		ck_assert_uint_eq(((const struct canary_case *)cases->pdata[i])->messages, 1);
	canary_store_close(&store);
	sqlite3 *db = open_raw(db_path);
	ck_assert_int_eq(tu_query_int(db, "PRAGMA user_version"), CANARY_STORE_SCHEMA_VERSION);
	sqlite3_close(db);
	check_rows_kept(fixture, version);
	if (version >= FIRST_SEALED_SCHEMA)
		check_sealed(cases);
	check_history();

	/* Once migrated, opening again changes nothing. */
	g_autoptr(GBytes) before = file_bytes(db_path);
	store = open_ok();
	canary_store_close(&store);
	g_autoptr(GBytes) after = file_bytes(db_path);
	ck_assert(g_bytes_equal(before, after));
	check_no_wal_left();

	if (version < COARSE_SCHEMA) {
		check_legacy_sealed(fixture, version);
		if (version >= FIRST_SEALED_SCHEMA)
			check_sealed(cases);
	}
}
END_TEST

/* The newest fixture, migrated, then marked as written by the next schema
 * (in WAL mode, as canary leaves its databases). */
static void make_newer_database(void)
{
	int version = CANARY_STORE_SCHEMA_VERSION;
	while (version > 1 && !copy_fixture(version))
		version--;
	ck_assert(copy_fixture(version));
	struct canary_store *store = open_ok();
	canary_store_close(&store);
	sqlite3 *db = open_raw(db_path);
	g_autofree char *sql =
		g_strdup_printf("PRAGMA user_version = %d", CANARY_STORE_SCHEMA_VERSION + 1);
	ck_assert_int_eq(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	check_no_wal_left();
	g_autoptr(GBytes) bytes = file_bytes(db_path);
	ck_assert_uint_gt(g_bytes_get_size(bytes), 100);
	ck_assert_uint_eq(((const guint8 *)g_bytes_get_data(bytes, NULL))[18], 2); /* WAL */
}

/* Refused by the store and by the tool, naming both versions; the file keeps
 * every byte and gains no -wal or -shm beside it. */
START_TEST(test_refuses_newer_database)
{
	make_newer_database();
	g_autoptr(GBytes) before = file_bytes(db_path);
	g_autofree char *newer = g_strdup_printf("schema %d", CANARY_STORE_SCHEMA_VERSION + 1);
	g_autofree char *ours = g_strdup_printf("up to %d", CANARY_STORE_SCHEMA_VERSION);

	g_autoptr(GError) error = NULL;
	ck_assert_ptr_null(canary_store_open(db_path, &error));
	ck_assert(g_error_matches(error, CANARY_STORE_ERROR, CANARY_STORE_ERROR_TOO_NEW));
	ck_assert_msg(strstr(error->message, newer) != NULL && strstr(error->message, ours) != NULL,
		      "%s", error->message);
	ck_assert_ptr_nonnull(strstr(error->message, "newer canary"));
	g_autoptr(GBytes) after_open = file_bytes(db_path);
	ck_assert(g_bytes_equal(before, after_open));
	check_no_wal_left();

	g_autofree char *err = NULL;
	ck_assert_int_eq(tu_run_canary(config_path, NULL, &err, "list", NULL), 4); /* store */
	ck_assert_msg(strstr(err, newer) != NULL && strstr(err, "not touched") != NULL, "%s", err);
	g_autoptr(GBytes) after_tool = file_bytes(db_path);
	ck_assert(g_bytes_equal(before, after_tool));
	check_no_wal_left();
}
END_TEST

/* An older history migrates unsealed: audit checks its plain chain and says
 * so; sealed from then on, the key checks every new event and the old part
 * by its chain, and audit says where the sealed part starts. */
START_TEST(test_history_sealed_from_the_migration)
{
	int version = CANARY_STORE_SCHEMA_VERSION - 1;
	ck_assert_msg(copy_fixture(version), "no fixture of schema %d", version);
	sqlite3 *db = open_raw(db_path);
	gint64 old_events = tu_query_int(db, "SELECT count(*) FROM events");
	sqlite3_close(db);
	ck_assert_int_gt(old_events, 10);

	g_autofree char *plain = NULL;
	ck_assert_int_eq(tu_run_canary(config_path, &plain, NULL, "audit", "--verify", NULL), 0);
	ck_assert_msg(strstr(plain, "not sealed") != NULL, "%s", plain);

	g_autofree char *vkey = NULL, *err = NULL;
	ck_assert_msg(tu_run_canary(config_path, &vkey, &err, "audit", "--start-sealing", NULL) ==
			      0,
		      "%s", err);
	g_autofree char *vkey_path = tu_write_file(tmpdir, "audit.vkey", vkey);
	g_autoptr(GError) error = NULL;
	struct canary_store *store = open_ok();
	g_autoptr(GPtrArray) events = canary_store_list_events(store, NULL, &error);
	canary_store_close(&store);
	const struct canary_event *first = events->pdata[0];
	ck_assert_int_eq(tu_run_canary(config_path, NULL, NULL, "assign", first->ref, "--to",
				       "officer-c", NULL),
			 0);

	g_autofree char *out = NULL;
	ck_assert_int_eq(tu_run_canary(config_path, &out, NULL, "audit", "--verify",
				       "--verification-key", vkey_path, NULL),
			 0);
	g_autofree char *want = g_strdup_printf(
		"ok: %" G_GINT64_FORMAT " events\n"
		"events 1 to %" G_GINT64_FORMAT ": hash chain only (recorded before the sealing)\n"
		"events %" G_GINT64_FORMAT " to %" G_GINT64_FORMAT ": sealed, every MAC checked",
		old_events + 2, old_events, old_events + 1, old_events + 2);
	ck_assert_msg(g_str_has_prefix(out, want), "%s", out);
}
END_TEST

static Suite *upgrade_suite(void)
{
	Suite *s = suite_create("upgrade");
	TCase *tc = tcase_create("upgrade");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 300);
	tcase_add_loop_test(tc, test_migrates_fixture, 1, CANARY_STORE_SCHEMA_VERSION + 1);
	tcase_add_test(tc, test_refuses_newer_database);
	tcase_add_test(tc, test_history_sealed_from_the_migration);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run_suite(upgrade_suite());
}
