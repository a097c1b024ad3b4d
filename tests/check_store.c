/* check_store.c: the SQLite case store on real files: schema, modes,
 * references, idempotence lookups, blobs, refusal of foreign or newer
 * databases, and two processes writing at once. */
#include <glib/gstdio.h>
#include <grp.h>
#include <sodium.h>
#include <sqlite3.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "store.h"
#include "testutil.h"

static char *tmpdir;
static char *dbpath;

static void setup(void)
{
	tmpdir = tu_make_tempdir();
	dbpath = g_build_filename(tmpdir, "state", "canary.db", NULL);
}

static void teardown(void)
{
	tu_rmtree(tmpdir);
	g_clear_pointer(&tmpdir, g_free);
	g_clear_pointer(&dbpath, g_free);
}

static struct canary_store *open_ok(void)
{
	g_autoptr(GError) error = NULL;
	struct canary_store *store = canary_store_open(dbpath, &error);
	ck_assert_msg(store != NULL, "open: %s", error ? error->message : "?");
	return store;
}

/* Inserts C; returns its reference. */
static char *insert_new(struct canary_store *store, const struct canary_case_new *c)
{
	g_autoptr(GError) error = NULL;
	gint64 id = 0;
	char *ref = NULL;
	ck_assert_msg(canary_store_insert_case(store, c, &id, &ref, &error), "insert: %s",
		      error ? error->message : "?");
	ck_assert_int_gt(id, 0);
	return ref;
}

/* Inserts a case whose content hash is derived from N; returns its ref. */
static char *insert(struct canary_store *store, guint n, gint64 ingested_at, const char *mailbox,
		    guint32 uid)
{
	guint8 hash[32] = { 0 };
	memcpy(hash, &n, sizeof(n));
	struct canary_case_new c = {
		.received_at = ingested_at - 60,
		.section = "triage",
		.status = CANARY_STATUS_NEW,
		.rule = "default",
		.size = 1000 + n,
		.attachments = n % 3,
		.content_hash = hash,
		.mailbox = mailbox,
		.uidvalidity = 7,
		.uid = uid,
	};
	return insert_new(store, &c);
}

#define T_2026 1779000000 /* 2026-05-17 */
#define T_2027 1810000000 /* 2027-05-11 */

START_TEST(test_creates_private_files)
{
	struct canary_store *store = open_ok();
	canary_store_close(&store);
	ck_assert_ptr_null(store);
	struct stat st;
	ck_assert_int_eq(stat(dbpath, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0600);
	g_autofree char *dir = g_path_get_dirname(dbpath);
	ck_assert_int_eq(stat(dir, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0700);

	sqlite3 *db = NULL;
	ck_assert_int_eq(sqlite3_open(dbpath, &db), SQLITE_OK);
	sqlite3_stmt *s = NULL;
	sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &s, NULL);
	ck_assert_int_eq(sqlite3_step(s), SQLITE_ROW);
	ck_assert_str_eq((const char *)sqlite3_column_text(s, 0), "wal");
	sqlite3_finalize(s);
	sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &s, NULL);
	ck_assert_int_eq(sqlite3_step(s), SQLITE_ROW);
	ck_assert_int_eq(sqlite3_column_int(s, 0), CANARY_STORE_SCHEMA_VERSION);
	sqlite3_finalize(s);
	sqlite3_close(db);
}
END_TEST

START_TEST(test_tightens_loose_existing_file)
{
	g_autofree char *dir = g_path_get_dirname(dbpath);
	g_mkdir_with_parents(dir, 0700);
	g_autofree char *made = tu_write_file(dir, "canary.db", "");
	chmod(dbpath, 0644);
	struct canary_store *store = open_ok();
	canary_store_close(&store);
	struct stat st;
	ck_assert_int_eq(stat(dbpath, &st), 0);
	ck_assert_int_eq(st.st_mode & 0007, 0);
}
END_TEST

/* A store an older canary shared with a group ([store] group: 0660, its
 * -wal and -shm too) is made private to its owner when opened: officers
 * now ask canaryd, and nothing of it stays readable to them. */
START_TEST(test_shared_store_made_private)
{
	struct canary_store *store = open_ok();
	ck_assert(canary_store_begin(store, NULL));
	g_autofree char *ref = insert(store, 1, T_2026, NULL, 0);
	ck_assert(canary_store_commit(store, NULL));
	/* Held open, so that the -wal and -shm stay. */
	g_autofree char *wal = g_strconcat(dbpath, "-wal", NULL);
	g_autofree char *shm = g_strconcat(dbpath, "-shm", NULL);
	const char *const files[] = {dbpath, wal, shm};
	for (gsize i = 0; i < G_N_ELEMENTS(files); i++)
		ck_assert_msg(chmod(files[i], 0660) == 0, "%s", files[i]);
	struct canary_store *again = open_ok();
	for (gsize i = 0; i < G_N_ELEMENTS(files); i++) {
		struct stat st;
		ck_assert_int_eq(stat(files[i], &st), 0);
		ck_assert_msg((st.st_mode & 0777) == 0600, "%s is %o", files[i], st.st_mode & 0777);
	}
	canary_store_close(&again);
	canary_store_close(&store);
}
END_TEST

START_TEST(test_refs_random_per_year)
{
	struct canary_store *store = open_ok();
	ck_assert(canary_store_begin(store, NULL));
	g_autofree char *a = insert(store, 1, T_2026, NULL, 0);
	g_autofree char *c = insert(store, 3, T_2027, NULL, 0);
	/* Random, so they do not give the arrival order; never the same twice. */
	g_autoptr(GHashTable) seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	for (guint n = 10; n < 210; n++) {
		char *ref = insert(store, n, T_2026, NULL, 0);
		ck_assert_msg(g_hash_table_add(seen, ref), "%s drawn twice", ref);
	}
	ck_assert(canary_store_commit(store, NULL));
#define REF_CODE "-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$"
	const char *in_2026 = "^R-2026" REF_CODE, *in_2027 = "^R-2027" REF_CODE;
	ck_assert_msg(g_regex_match_simple(in_2026, a, 0, 0), "%s", a);
	ck_assert_msg(g_regex_match_simple(in_2027, c, 0, 0), "%s", c);
	/* Not counted: the second case of the year is not ...0002. */
	ck_assert_ptr_null(g_hash_table_lookup(seen, "R-2026-0000-0002"));
	canary_store_close(&store);
}
END_TEST

START_TEST(test_find_by_hash_and_source)
{
	struct canary_store *store = open_ok();
	g_autoptr(GError) error = NULL;
	ck_assert(canary_store_begin(store, NULL));
	g_autofree char *ref = insert(store, 42, T_2026, "INBOX", 1001);
	ck_assert(canary_store_commit(store, NULL));

	guint8 hash[32] = { 0 };
	guint n = 42;
	memcpy(hash, &n, sizeof(n));
	g_autofree char *by_hash = NULL;
	ck_assert(canary_store_find_hash(store, hash, &by_hash, &error));
	ck_assert_str_eq(by_hash, ref);
	hash[31] = 1;
	g_autofree char *none = NULL;
	ck_assert(canary_store_find_hash(store, hash, &none, &error));
	ck_assert_ptr_null(none);

	g_autofree char *by_source = NULL;
	ck_assert(canary_store_find_source(store, "INBOX", 7, 1001, &by_source, &error));
	ck_assert_str_eq(by_source, ref);
	g_autofree char *other_validity = NULL;
	ck_assert(canary_store_find_source(store, "INBOX", 8, 1001, &other_validity, &error));
	ck_assert_ptr_null(other_validity);

	/* A new UIDVALIDITY for the same message is recorded once. */
	ck_assert(canary_store_begin(store, NULL));
	ck_assert(canary_store_add_source(store, ref, "INBOX", 8, 5, &error));
	ck_assert(canary_store_add_source(store, ref, "INBOX", 8, 5, &error));
	ck_assert(canary_store_commit(store, NULL));
	g_autofree char *again = NULL;
	ck_assert(canary_store_find_source(store, "INBOX", 8, 5, &again, &error));
	ck_assert_str_eq(again, ref);
	canary_store_close(&store);
}
END_TEST

START_TEST(test_same_hash_twice_fails)
{
	struct canary_store *store = open_ok();
	ck_assert(canary_store_begin(store, NULL));
	g_autofree char *ref = insert(store, 5, T_2026, NULL, 0);
	guint8 hash[32] = { 5 };
	struct canary_case_new c = { .received_at = T_2026,
				     .section = "triage", .status = CANARY_STATUS_NEW,
				     .rule = "default", .content_hash = hash };
	g_autoptr(GError) error = NULL;
	gint64 id = 0;
	char *ref2 = NULL;
	ck_assert(!canary_store_insert_case(store, &c, &id, &ref2, &error));
	ck_assert_ptr_null(ref2);
	ck_assert_ptr_nonnull(error);
	canary_store_rollback(store);
	canary_store_close(&store);
}
END_TEST

/* A commit that fails leaves no transaction open: what it held is gone and
 * the next transaction starts. (A deferred foreign key makes COMMIT fail.) */
START_TEST(test_failed_commit_rolls_back)
{
	struct canary_store *store = open_ok();
	sqlite3 *db = canary_store_sqlite(store);
	ck_assert(canary_store_begin(store, NULL));
	g_autofree char *ref = insert(store, 9, T_2026, NULL, 0);
	ck_assert_int_eq(sqlite3_exec(db, "PRAGMA defer_foreign_keys = ON", NULL, NULL, NULL),
			 SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(db,
				      "INSERT INTO case_sources (case_id, mailbox, "
				      "uidvalidity, uid) VALUES (424242, 'INBOX', 1, 1)",
				      NULL, NULL, NULL),
			 SQLITE_OK);
	g_autoptr(GError) error = NULL;
	ck_assert(!canary_store_commit(store, &error));
	ck_assert_ptr_nonnull(error);
	ck_assert(sqlite3_get_autocommit(db));
	g_autoptr(GError) gone = NULL;
	g_autoptr(canary_case) c = canary_store_get_case(store, ref, &gone);
	ck_assert_ptr_null(c);
	ck_assert(g_error_matches(gone, CANARY_STORE_ERROR, CANARY_STORE_ERROR_NOT_FOUND));
	ck_assert(canary_store_begin(store, NULL));
	g_autofree char *next = insert(store, 10, T_2026, NULL, 0);
	ck_assert(canary_store_commit(store, NULL));
	canary_store_close(&store);
}
END_TEST

START_TEST(test_blobs)
{
	struct canary_store *store = open_ok();
	g_autoptr(GError) error = NULL;
	ck_assert(canary_store_begin(store, NULL));
	g_autofree char *ref = insert(store, 9, T_2026, NULL, 0);
	g_autoptr(canary_case) c = canary_store_get_case(store, ref, &error);
	ck_assert_ptr_nonnull(c);
	g_autoptr(GBytes) data = g_bytes_new_static("\0\1sealed", 8);
	g_autoptr(GBytes) empty = g_bytes_new_static("", 0);
	ck_assert(canary_store_put_blob(store, c->id, "text", data, &error));
	ck_assert(canary_store_put_blob(store, c->id, "empty", empty, &error));
	ck_assert(canary_store_commit(store, NULL));

	g_autoptr(GBytes) back = canary_store_get_blob(store, c->id, "text", &error);
	ck_assert(back != NULL && g_bytes_equal(back, data));
	g_autoptr(GBytes) back_empty = canary_store_get_blob(store, c->id, "empty", &error);
	ck_assert(back_empty != NULL && g_bytes_get_size(back_empty) == 0);
	ck_assert_ptr_null(canary_store_get_blob(store, c->id, "missing", &error));
	ck_assert(g_error_matches(error, CANARY_STORE_ERROR, CANARY_STORE_ERROR_NOT_FOUND));
	canary_store_close(&store);
}
END_TEST

/* Fields of 1 MiB and more are written in place (zeroblob, then blob I/O):
 * the bytes read back are the bytes stored, including one just at the
 * threshold, one spanning several chunks unevenly, and a replaced one. */
START_TEST(test_large_blobs)
{
	struct canary_store *store = open_ok();
	g_autoptr(GError) error = NULL;
	ck_assert(canary_store_begin(store, NULL));
	g_autofree char *ref = insert(store, 10, T_2026, NULL, 0);
	g_autoptr(canary_case) c = canary_store_get_case(store, ref, &error);
	ck_assert_ptr_nonnull(c);
	const gsize sizes[] = {(gsize)1 << 20, 3 * ((gsize)1 << 20) + 12345};
	for (guint i = 0; i < G_N_ELEMENTS(sizes); i++) {
		guint8 *bytes = g_malloc(sizes[i]);
		for (gsize j = 0; j < sizes[i]; j++)
			bytes[j] = (guint8)(j * 31 + i);
		g_autoptr(GBytes) data = g_bytes_new_take(bytes, sizes[i]);
		ck_assert_msg(canary_store_put_blob(store, c->id, "raw", data, &error), "%s",
			      error != NULL ? error->message : "");
		g_autoptr(GBytes) back = canary_store_get_blob(store, c->id, "raw", &error);
		ck_assert(back != NULL && g_bytes_equal(back, data));
	}
	ck_assert(canary_store_commit(store, NULL));
	canary_store_close(&store);
}
END_TEST

/* Bytes SQLite asked its allocator for (wrapped by count_allocations()). */
static sqlite3_mem_methods sqlite_allocator;
static gsize sqlite_allocated;

static void *counting_malloc(int n)
{
	sqlite_allocated += (gsize)MAX(n, 0);
	return sqlite_allocator.xMalloc(n);
}

static void *counting_realloc(void *p, int n)
{
	sqlite_allocated += (gsize)MAX(n, 0);
	return sqlite_allocator.xRealloc(p, n);
}

/* Wraps SQLite's allocator to count what it asks for: before SQLite is
 * set up, which in a test's own process nothing has done yet. */
static void count_allocations(void)
{
	ck_assert_int_eq(sqlite3_config(SQLITE_CONFIG_GETMALLOC, &sqlite_allocator), SQLITE_OK);
	sqlite3_mem_methods counting = sqlite_allocator;
	counting.xMalloc = counting_malloc;
	counting.xRealloc = counting_realloc;
	ck_assert_int_eq(sqlite3_config(SQLITE_CONFIG_MALLOC, &counting), SQLITE_OK);
}

/* Bytes SQLite allocates to put FIELD of CASE_ID. */
static gsize put_allocates(struct canary_store *store, gint64 case_id, const char *field,
			   GBytes *data)
{
	g_autoptr(GError) error = NULL;
	gsize before = sqlite_allocated;
	ck_assert_msg(canary_store_put_blob(store, case_id, field, data, &error), "%s",
		      error != NULL ? error->message : "");
	return sqlite_allocated - before;
}

/* Putting a small field, new or over an old one, takes no statement
 * journal: that would copy each 64 KiB page the statement changes, in
 * 1 KiB blocks (it did, with INSERT OR REPLACE: two pages for every field
 * stored). Seen in what SQLite allocates, which the copies would raise by
 * a page or more. */
START_TEST(test_put_blob_copies_no_page)
{
	count_allocations();
	struct canary_store *store = open_ok();
	g_autoptr(GError) error = NULL;
	g_autoptr(GBytes) small = g_bytes_new_static("sealed bytes", 12);
	ck_assert(canary_store_begin(store, NULL));
	gint64 last_id = 0;
	static const char *const fields[] = {"subject", "text", "identity"};
	for (guint n = 0; n < 20; n++) {
		g_autofree char *ref = insert(store, n, T_2026, "INBOX", n + 1);
		g_autoptr(canary_case) c = canary_store_get_case(store, ref, &error);
		ck_assert_ptr_nonnull(c);
		last_id = c->id;
		for (gsize f = 0; f < G_N_ELEMENTS(fields); f++) {
			gsize allocated = put_allocates(store, c->id, fields[f], small);
			if (n > 0) /* the first ones read their pages into the cache */
				ck_assert_uint_lt(allocated, 32 * 1024);
		}
	}
	ck_assert_uint_lt(put_allocates(store, last_id, "text", small), 32 * 1024);
	ck_assert(canary_store_commit(store, NULL));
	canary_store_close(&store);
}
END_TEST

/* A new database has 64 KiB pages and an 8 MiB cache; statement journals
 * are kept in memory, except while VACUUM runs, and that setting survives
 * it. */
START_TEST(test_settings)
{
	struct canary_store *store = open_ok();
	sqlite3 *db = canary_store_sqlite(store);
	ck_assert_int_eq(tu_query_int(db, "PRAGMA page_size"), 65536);
	ck_assert_int_eq(tu_query_int(db, "PRAGMA cache_size"), -8192);
	ck_assert_int_eq(tu_query_int(db, "PRAGMA temp_store"), 2);
	ck_assert_int_eq(tu_query_int(db, "PRAGMA synchronous"), 2);
	g_autoptr(GError) error = NULL;
	ck_assert_msg(canary_store_vacuum(store, &error), "%s", error ? error->message : "");
	ck_assert_int_eq(tu_query_int(db, "PRAGMA temp_store"), 2);
	ck_assert_int_eq(tu_query_int(db, "PRAGMA page_size"), 65536);
	canary_store_close(&store);
}
END_TEST

/* The number of this process's open files that SQLite made as temporary
 * ones (named etilqs_*, unlinked at once). */
static guint open_sqlite_temp_files(void)
{
	g_autoptr(GDir) dir = g_dir_open("/proc/self/fd", 0, NULL);
	ck_assert_ptr_nonnull(dir);
	guint n = 0;
	for (const char *fd; (fd = g_dir_read_name(dir)) != NULL;) {
		g_autofree char *link = g_build_filename("/proc/self/fd", fd, NULL);
		g_autofree char *target = g_file_read_link(link, NULL);
		n += target != NULL && strstr(target, "etilqs_") != NULL;
	}
	return n;
}

/* Storing message after message, each under its savepoint (as a pass
 * does), keeps the savepoints' journals in memory: no temporary file, as
 * a file would take two system calls per 64 KiB page. A rollback to the
 * savepoint still undoes its message alone. Deleting a large case under a
 * savepoint, whose journal then holds over 6 MiB of pages, works too
 * (SQLite 3.40 fails such a journal with SQLITE_FULL when it spills from
 * memory to a file past SQLITE_CONFIG_STMTJRNL_SPILL of more than two
 * pages). */
START_TEST(test_savepoints_stay_in_memory)
{
	struct canary_store *store = open_ok();
	g_autoptr(GError) error = NULL;
	guint8 *bytes = g_malloc(100000);
	for (gsize j = 0; j < 100000; j++)
		bytes[j] = (guint8)(j * 7);
	g_autoptr(GBytes) data = g_bytes_new_take(bytes, 100000);
	for (guint batch = 0; batch < 3; batch++) {
		ck_assert(canary_store_begin(store, NULL));
		for (guint i = 0; i < 20; i++) {
			guint n = batch * 100 + i;
			ck_assert(canary_store_mark(store, NULL));
			g_autofree char *ref = insert(store, n, T_2026, "INBOX", n + 1);
			g_autoptr(canary_case) c = canary_store_get_case(store, ref, &error);
			ck_assert_ptr_nonnull(c);
			ck_assert_msg(canary_store_put_blob(store, c->id, "raw", data, &error), "%s",
				      error != NULL ? error->message : "");
			ck_assert_uint_eq(open_sqlite_temp_files(), 0);
			if (i == 7)
				canary_store_rollback_to_mark(store);
			else
				ck_assert(canary_store_release_mark(store, NULL));
		}
		ck_assert(canary_store_commit(store, NULL));
	}
	sqlite3 *db = canary_store_sqlite(store);
	ck_assert_int_eq(tu_query_int(db, "SELECT count(*) FROM cases"), 57);
	ck_assert_int_eq(tu_query_int(db, "SELECT count(*) FROM case_sources "
					  "WHERE uid IN (8, 108, 208)"),
			 0);
	ck_assert_int_eq(tu_query_int(db, "SELECT count(*) FROM case_blobs"), 57);

	gsize big = 6 * ((gsize)1 << 20) + 4321;
	g_autoptr(GBytes) large = g_bytes_new_take(g_malloc0(big), big);
	ck_assert(canary_store_begin(store, NULL));
	g_autofree char *ref = insert(store, 999, T_2026, "INBOX", 999);
	g_autoptr(canary_case) c = canary_store_get_case(store, ref, &error);
	ck_assert_ptr_nonnull(c);
	ck_assert(canary_store_put_blob(store, c->id, "raw", large, NULL));
	ck_assert(canary_store_commit(store, NULL));
	ck_assert(canary_store_begin(store, NULL));
	ck_assert(canary_store_mark(store, NULL));
	ck_assert_msg(canary_store_delete_case(store, ref, &error), "%s",
		      error != NULL ? error->message : "");
	ck_assert(canary_store_release_mark(store, NULL));
	ck_assert(canary_store_commit(store, NULL));
	ck_assert_int_eq(tu_query_int(db, "SELECT count(*) FROM cases"), 57);
	canary_store_close(&store);
}
END_TEST

/* Inserts a case with content hash HASH (NULL: none) received at
 * RECEIVED from source INBOX/7/UID (0: none); returns its reference. */
static char *insert_hashed(struct canary_store *store, const guint8 *hash, gint64 received,
			   guint32 uid)
{
	struct canary_case_new c = {
		.received_at = received,
		.section = "triage",
		.status = CANARY_STATUS_NEW,
		.rule = "default",
		.size = 5000,
		.content_hash = hash,
		.mailbox = uid != 0 ? "INBOX" : NULL,
		.uidvalidity = 7,
		.uid = uid,
	};
	return insert_new(store, &c);
}

/* A pass of many messages keeps in the cache the pages each message goes
 * back to (the last leaf and the inner pages of each table and index):
 * once the first batches have warmed it, storing batches of 25 cases,
 * each with its Message-ID hash and sealed fields of 2 KiB to 600 KiB
 * (6.5 MB a batch), reads back at most one page for ten cases (14 for
 * the 350 cases with 8 MiB; 70 with 4 MiB, 266 with 2 MB). */
START_TEST(test_pass_keeps_what_it_goes_back_to)
{
	enum { BATCHES = 16, PER_BATCH = 25, WARM = 2 };
	struct canary_store *store = open_ok();
	sqlite3 *db = canary_store_sqlite(store);
	/* Every case a text and a header, every other one the raw message,
	 * every fourth an attachment, the larger ones on different cases. */
	struct {
		const char *name;
		gsize size;
		guint every;
		GBytes *data;
	} fields[] = {
		{"text", 2048, 1, NULL},
		{"header", 40 * 1024, 1, NULL},
		{"raw", 150 * 1024, 2, NULL},
		{"attachment-1", 600 * 1024, 4, NULL},
	};
	for (guint f = 0; f < G_N_ELEMENTS(fields); f++) {
		guint8 *bytes = g_malloc(fields[f].size);
		randombytes_buf(bytes, fields[f].size);
		fields[f].data = g_bytes_new_take(bytes, fields[f].size);
	}
	g_autoptr(GError) error = NULL;
	for (guint b = 0; b < BATCHES; b++) {
		if (b == WARM) {
			int current = 0, highest = 0;
			sqlite3_db_status(db, SQLITE_DBSTATUS_CACHE_MISS, &current, &highest, 1);
		}
		ck_assert(canary_store_begin(store, NULL));
		for (guint i = 0; i < PER_BATCH; i++) {
			guint8 hash[32], message_id[32];
			randombytes_buf(hash, sizeof hash);
			randombytes_buf(message_id, sizeof message_id);
			g_autofree char *ref = insert_hashed(store, hash, T_2026, b * PER_BATCH + i + 1);
			g_autoptr(canary_case) c = canary_store_get_case(store, ref, &error);
			ck_assert_ptr_nonnull(c);
			ck_assert(canary_store_add_message_id(store, c->id, message_id, NULL));
			for (guint f = 0; f < G_N_ELEMENTS(fields); f++)
				if ((i + f) % fields[f].every == 0)
					ck_assert(canary_store_put_blob(store, c->id, fields[f].name,
									fields[f].data, NULL));
		}
		ck_assert(canary_store_commit(store, NULL));
	}
	int misses = 0, highest = 0;
	sqlite3_db_status(db, SQLITE_DBSTATUS_CACHE_MISS, &misses, &highest, 0);
	ck_assert_msg(misses <= (BATCHES - WARM) * PER_BATCH / 10,
		      "%d pages read back for %d cases", misses, (BATCHES - WARM) * PER_BATCH);
	for (guint f = 0; f < G_N_ELEMENTS(fields); f++)
		g_bytes_unref(fields[f].data);
	canary_store_close(&store);
}
END_TEST

/* With its checkpoints on a thread of their own, a store written in bulk
 * keeps its write-ahead log as short as SQLite's own checkpoints keep it
 * (the log starts afresh once the thread has copied it all back, not grows
 * by every commit), the thread ran them, what was written reads back
 * after closing, and canary_store_checkpoint() still empties the log.
 * 96 commits of 1.5 MiB: 144 MiB, more than twice the 64 MiB (1,000
 * frames) at which a commit waits for a whole checkpoint. */
START_TEST(test_checkpoints_aside)
{
	enum { COMMITS = 96, FIELD = 1536 * 1024, FRAME = 65536 + 24, LIMIT = 1000 };
	struct canary_store *store = open_ok();
	g_autoptr(GError) error = NULL;
	ck_assert_msg(canary_store_checkpoint_aside(store, &error), "%s",
		      error != NULL ? error->message : "");
	guint8 *bytes = g_malloc(FIELD);
	randombytes_buf(bytes, FIELD);
	g_autoptr(GBytes) data = g_bytes_new_take(bytes, FIELD);
	g_autofree char *wal = g_strconcat(dbpath, "-wal", NULL);
	gint64 first_id = 0;
	goffset longest = 0;
	for (guint i = 0; i < COMMITS; i++) {
		guint8 hash[32];
		randombytes_buf(hash, sizeof hash);
		ck_assert(canary_store_begin(store, NULL));
		g_autofree char *ref = insert_hashed(store, hash, T_2026, i + 1);
		g_autoptr(canary_case) c = canary_store_get_case(store, ref, &error);
		ck_assert_ptr_nonnull(c);
		if (i == 0)
			first_id = c->id;
		ck_assert(canary_store_put_blob(store, c->id, "raw", data, NULL));
		ck_assert(canary_store_commit(store, NULL));
		GStatBuf st;
		ck_assert_int_eq(g_stat(wal, &st), 0);
		longest = MAX(longest, (goffset)st.st_size);
	}
	/* The limit, then the commit that crossed it (its field's pages and a
	 * few of the tables and indexes) and the header. */
	goffset bound = (goffset)(LIMIT + FIELD / 65536 + 10) * FRAME + 32;
	ck_assert_msg(longest <= bound, "the log grew to %" G_GOFFSET_FORMAT " bytes (at most %"
		      G_GOFFSET_FORMAT ")", longest, bound);
	ck_assert_uint_ge(canary_store_checkpoints_aside(store), 2);
	ck_assert_msg(canary_store_checkpoint(store, &error), "%s", error ? error->message : "");
	GStatBuf st;
	ck_assert_int_eq(g_stat(wal, &st), 0);
	ck_assert_int_eq(st.st_size, 0);
	canary_store_close(&store);

	store = open_ok();
	ck_assert_uint_eq(canary_store_checkpoints_aside(store), 0);
	g_autoptr(GBytes) back = canary_store_get_blob(store, first_id, "raw", &error);
	ck_assert_ptr_nonnull(back);
	ck_assert(g_bytes_equal(back, data));
	canary_store_close(&store);
}
END_TEST

/* The hash of a case whose server copy is gone, or that a retention period
 * passed, is forgotten: not found, not in the file; the source stays. */
START_TEST(test_forget_hashes)
{
	struct canary_store *store = open_ok();
	guint8 gone[32], kept[32], old[32], today[32];
	randombytes_buf(gone, sizeof gone);
	randombytes_buf(kept, sizeof kept);
	randombytes_buf(old, sizeof old);
	randombytes_buf(today, sizeof today);
	ck_assert(canary_store_begin(store, NULL));
	g_autofree char *ref_gone = insert_hashed(store, gone, T_2026, 1001);
	g_autofree char *ref_kept = insert_hashed(store, kept, T_2026, 1002);
	g_autofree char *ref_old = insert_hashed(store, old, T_2026 - 10 * 86400, 0);
	g_autofree char *ref_today = insert_hashed(store, today, canary_store_day(T_2026) + 1, 0);
	/* Without a hash (imported before, or forgotten): any number of them. */
	g_autofree char *none1 = insert_hashed(store, NULL, T_2026, 0);
	g_autofree char *none2 = insert_hashed(store, NULL, T_2026, 0);
	ck_assert(canary_store_commit(store, NULL));

	g_autoptr(GError) error = NULL;
	const guint32 uids[] = {1001, 4242};
	guint forgotten = 0;
	ck_assert(canary_store_forget_hashes_of_sources(store, "INBOX", 7, uids, 2, &forgotten,
							&error));
	ck_assert_uint_eq(forgotten, 1); /* 4242 is no source */
	char *found = NULL;
	ck_assert(canary_store_find_hash(store, gone, &found, &error));
	ck_assert_ptr_null(found);
	ck_assert(canary_store_find_hash(store, kept, &found, &error));
	ck_assert_str_eq(found, ref_kept);
	g_free(found);
	ck_assert(canary_store_find_source(store, "INBOX", 7, 1001, &found, &error));
	ck_assert_str_eq(found, ref_gone);
	g_free(found);

	/* Whole days: a case of the day BEFORE falls in keeps its hash. */
	ck_assert(canary_store_forget_hashes_before(store, T_2026 - 5 * 86400, &forgotten, &error));
	ck_assert_uint_eq(forgotten, 1); /* old */
	ck_assert(canary_store_forget_hashes_before(store, canary_store_day(T_2026) + 2, &forgotten,
						    &error));
	ck_assert_uint_eq(forgotten, 0); /* the day of kept and today has not ended */
	ck_assert(canary_store_find_hash(store, old, &found, &error));
	ck_assert_ptr_null(found);
	ck_assert(canary_store_find_hash(store, today, &found, &error));
	ck_assert_str_eq(found, ref_today);
	g_free(found);

	/* Inside a transaction of the caller's: part of it. */
	ck_assert(canary_store_begin(store, NULL));
	const guint32 kept_uid = 1002;
	ck_assert(
		canary_store_forget_hashes_of_sources(store, "INBOX", 7, &kept_uid, 1, NULL, &error));
	canary_store_rollback(store);
	ck_assert(canary_store_find_hash(store, kept, &found, &error));
	ck_assert_str_eq(found, ref_kept);
	g_free(found);

	/* Once checkpointed, the forgotten hashes are nowhere in the files. */
	ck_assert_msg(canary_store_checkpoint(store, &error), "%s", error ? error->message : "?");
	g_autofree char *wal = g_strconcat(dbpath, "-wal", NULL);
	ck_assert_uint_eq(tu_count_in_file(dbpath, gone, sizeof gone), 0);
	ck_assert_uint_eq(tu_count_in_file(dbpath, old, sizeof old), 0);
	ck_assert_uint_eq(tu_count_in_file(wal, gone, sizeof gone), 0);
	ck_assert_uint_eq(tu_count_in_file(wal, old, sizeof old), 0);
	ck_assert_uint_ge(tu_count_in_file(dbpath, kept, sizeof kept), 1); /* the search works */
	canary_store_close(&store);
}
END_TEST

START_TEST(test_list_and_get)
{
	struct canary_store *store = open_ok();
	g_autoptr(GError) error = NULL;
	ck_assert(canary_store_begin(store, NULL));
	for (guint i = 0; i < 5; i++)
		g_free(insert(store, 100 + i, T_2026 - (gint64)i * 86400, NULL, 0));
	ck_assert(canary_store_commit(store, NULL));

	g_autoptr(GPtrArray) all = canary_store_list_cases(store, NULL, &error);
	ck_assert_uint_eq(all->len, 5);
	for (guint i = 1; i < all->len; i++) {
		const struct canary_case *a = all->pdata[i - 1], *b = all->pdata[i];
		ck_assert_int_le(a->received_day, b->received_day);
	}
	struct canary_case_filter closed = { .status = CANARY_STATUS_CLOSED };
	g_autoptr(GPtrArray) none = canary_store_list_cases(store, &closed, &error);
	ck_assert_uint_eq(none->len, 0);
	/* Days, not times: since counts from the start of its day. */
	struct canary_case_filter recent = { .since = T_2026 - 60 - 86400 + 1 };
	g_autoptr(GPtrArray) two = canary_store_list_cases(store, &recent, &error);
	ck_assert_uint_eq(two->len, 2);
	struct canary_case_filter older = { .before = canary_store_day(T_2026) };
	g_autoptr(GPtrArray) four = canary_store_list_cases(store, &older, &error);
	ck_assert_uint_eq(four->len, 4);

	ck_assert_ptr_null(canary_store_get_case(store, "R-2026-000999", &error));
	ck_assert(g_error_matches(error, CANARY_STORE_ERROR, CANARY_STORE_ERROR_NOT_FOUND));
	ck_assert_str_eq(error->message, "no such case R-2026-000999");
	canary_store_close(&store);
}
END_TEST

/* Returns the bytes of PATH, for untouched-file checks. */
static GBytes *file_bytes(const char *path)
{
	char *contents = NULL;
	gsize len = 0;
	ck_assert(g_file_get_contents(path, &contents, &len, NULL));
	return g_bytes_new_take(contents, len);
}

START_TEST(test_refuses_newer_schema)
{
	struct canary_store *store = open_ok();
	canary_store_close(&store);
	sqlite3 *db = NULL;
	ck_assert_int_eq(sqlite3_open(dbpath, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(db, "PRAGMA journal_mode = DELETE; PRAGMA user_version = 99",
				      NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(db);
	g_autoptr(GBytes) before = file_bytes(dbpath);

	g_autoptr(GError) error = NULL;
	ck_assert_ptr_null(canary_store_open(dbpath, &error));
	ck_assert(g_error_matches(error, CANARY_STORE_ERROR, CANARY_STORE_ERROR_TOO_NEW));
	ck_assert_ptr_nonnull(strstr(error->message, "newer canary"));
	g_autoptr(GBytes) after = file_bytes(dbpath);
	ck_assert(g_bytes_equal(before, after));
}
END_TEST

START_TEST(test_refuses_foreign_database)
{
	g_autofree char *dir = g_path_get_dirname(dbpath);
	g_mkdir_with_parents(dir, 0700);
	sqlite3 *db = NULL;
	ck_assert_int_eq(sqlite3_open(dbpath, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(db, "CREATE TABLE accounts (id INTEGER)", NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(db);
	g_autoptr(GError) error = NULL;
	ck_assert_ptr_null(canary_store_open(dbpath, &error));
	ck_assert(g_error_matches(error, CANARY_STORE_ERROR, CANARY_STORE_ERROR_CORRUPT));
	ck_assert_ptr_nonnull(strstr(error->message, "not a canary database"));
}
END_TEST

/* Monitoring's handle: creates nothing, refuses what is not ours, writes
 * nothing, and reads what the daemon wrote. */
START_TEST(test_open_readonly)
{
	g_autoptr(GError) error = NULL;
	ck_assert_ptr_null(canary_store_open_readonly(dbpath, &error));
	ck_assert_ptr_nonnull(strstr(error->message, dbpath));
	ck_assert(!g_file_test(dbpath, G_FILE_TEST_EXISTS));

	struct canary_store *store = open_ok();
	ck_assert(canary_store_set_state(store, "pass.last_ok", "1", NULL));
	canary_store_close(&store);
	store = canary_store_open_readonly(dbpath, &error);
	ck_assert_ptr_nonnull(store);
	g_autofree char *value = NULL;
	ck_assert(canary_store_get_state(store, "pass.last_ok", &value, NULL));
	ck_assert_str_eq(value, "1");
	g_clear_error(&error);
	ck_assert(!canary_store_set_state(store, "pass.last_ok", "0", &error));
	canary_store_close(&store);

	sqlite3 *db = NULL;
	ck_assert_int_eq(sqlite3_open(dbpath, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(db, "PRAGMA user_version = 2", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	g_clear_error(&error);
	ck_assert_ptr_null(canary_store_open_readonly(dbpath, &error));
	ck_assert_ptr_nonnull(strstr(error->message, "start canaryd once"));
}
END_TEST

START_TEST(test_refuses_garbage_file)
{
	g_autofree char *dir = g_path_get_dirname(dbpath);
	g_mkdir_with_parents(dir, 0700);
	g_autofree char *made = tu_write_file(
		dir, "canary.db", "this is not a database, this is a text file, padded out to "
				  "be long enough to look like a header page of some kind........");
	g_autoptr(GError) error = NULL;
	ck_assert_ptr_null(canary_store_open(dbpath, &error));
	ck_assert_ptr_nonnull(error);
	ck_assert_ptr_nonnull(strstr(error->message, dbpath));
}
END_TEST

/* One writer process: COUNT cases, one transaction each. Exits 0 if all
 * were stored. */
static int writer(guint first, guint count)
{
	g_autoptr(GError) error = NULL;
	struct canary_store *store = canary_store_open(dbpath, &error);
	if (store == NULL)
		return 10;
	for (guint i = 0; i < count; i++) {
		if (!canary_store_begin(store, &error))
			return 11;
		g_free(insert(store, first + i, T_2026, NULL, 0));
		if (!canary_store_commit(store, &error))
			return 12;
	}
	canary_store_close(&store);
	return 0;
}

START_TEST(test_concurrent_writers_wait)
{
	/* Fork before any connection exists: SQLite connections must not
	 * cross fork(). The writers start when the pipe closes. */
	enum { WRITERS = 3, EACH = 40 };
	int go[2];
	ck_assert_int_eq(pipe(go), 0);
	pid_t pids[WRITERS];
	for (guint w = 0; w < WRITERS; w++) {
		pids[w] = fork();
		ck_assert_int_ge(pids[w], 0);
		if (pids[w] == 0) {
			char c;
			close(go[1]);
			if (read(go[0], &c, 1) < 0)
				_exit(13);
			_exit(writer(1000 * (w + 1), EACH));
		}
	}
	close(go[0]);
	struct canary_store *holder = open_ok();
	/* Hold the write lock for a while: the writers must wait, not fail. */
	ck_assert(canary_store_begin(holder, NULL));
	g_free(insert(holder, 1, T_2026, NULL, 0));
	close(go[1]);
	g_usleep(1500 * 1000);
	ck_assert(canary_store_commit(holder, NULL));

	/* Reads meanwhile never fail either. */
	for (int i = 0; i < 20; i++) {
		g_autoptr(GError) error = NULL;
		g_autoptr(GPtrArray) cases = canary_store_list_cases(holder, NULL, &error);
		ck_assert_msg(cases != NULL, "%s", error ? error->message : "?");
	}
	for (guint w = 0; w < WRITERS; w++) {
		int status = 0;
		ck_assert_int_eq(waitpid(pids[w], &status, 0), pids[w]);
		ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "writer %u: %d", w,
			      status);
	}
	g_autoptr(GPtrArray) all = canary_store_list_cases(holder, NULL, NULL);
	ck_assert_uint_eq(all->len, 1 + WRITERS * EACH);
	GHashTable *refs = g_hash_table_new(g_str_hash, g_str_equal);
	for (guint i = 0; i < all->len; i++)
		g_hash_table_add(refs, ((struct canary_case *)all->pdata[i])->ref);
	ck_assert_uint_eq(g_hash_table_size(refs), all->len);
	g_hash_table_unref(refs);
	canary_store_close(&holder);
}
END_TEST

static Suite *store_suite(void)
{
	Suite *s = suite_create("store");
	TCase *tc = tcase_create("store");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_creates_private_files);
	tcase_add_test(tc, test_forget_hashes);
	tcase_add_test(tc, test_tightens_loose_existing_file);
	tcase_add_test(tc, test_shared_store_made_private);
	tcase_add_test(tc, test_refs_random_per_year);
	tcase_add_test(tc, test_find_by_hash_and_source);
	tcase_add_test(tc, test_same_hash_twice_fails);
	tcase_add_test(tc, test_blobs);
	tcase_add_test(tc, test_large_blobs);
	tcase_add_test(tc, test_settings);
	tcase_add_test(tc, test_pass_keeps_what_it_goes_back_to);
	tcase_add_test(tc, test_checkpoints_aside);
	tcase_add_test(tc, test_savepoints_stay_in_memory);
	tcase_add_test(tc, test_put_blob_copies_no_page);
	tcase_add_test(tc, test_list_and_get);
	tcase_add_test(tc, test_refuses_newer_schema);
	tcase_add_test(tc, test_refuses_foreign_database);
	tcase_add_test(tc, test_refuses_garbage_file);
	tcase_add_test(tc, test_open_readonly);
	tcase_add_test(tc, test_concurrent_writers_wait);
	tcase_add_test(tc, test_failed_commit_rolls_back);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run_suite(store_suite());
}
