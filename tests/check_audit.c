/* check_audit.c: the forward-secure audit end to end: canary audit
 * --start-sealing prints the verification key once; an insider with the
 * database and the sqlite3 CLI (and the means to recompute the plain hash
 * chain) appends, deletes, edits or reorders events, or deletes the last
 * one: canary audit --verify --verification-key names the first bad event
 * each time, and tells a wrong key from tampering. */
#include <glib/gstdio.h>
#include <sodium.h>
#include <sqlite3.h>
#include <string.h>
#include <sys/stat.h>

#include "audit.h"
#include "store.h"
#include "testutil.h"

static char *tmpdir;
static char *config_path;
static char *db_path;
static char *vkey_path;

static void setup(void)
{
	tmpdir = tu_make_tempdir();
	config_path = tu_make_canary_home(tmpdir, TRUE, NULL);
	db_path = g_build_filename(tmpdir, "state", "canary.db", NULL);
	/* Off the server: anywhere else. */
	vkey_path = g_build_filename(tmpdir, "custodian-laptop.vkey", NULL);
}

static void teardown(void)
{
	tu_rmtree(tmpdir);
	g_clear_pointer(&tmpdir, g_free);
	g_clear_pointer(&config_path, g_free);
	g_clear_pointer(&db_path, g_free);
	g_clear_pointer(&vkey_path, g_free);
}

#define canary(out_r, err_r, ...) tu_run_canary(config_path, out_r, err_r, __VA_ARGS__)

static void import_demo(void)
{
	g_autofree char *demo = tu_data_path("demo");
	g_autofree char *err = NULL;
	ck_assert_msg(canary(NULL, &err, "import", demo, NULL) == 0, "import: %s", err);
}

/* canary audit --start-sealing; saves the key printed to VKEY_PATH. */
static void start_sealing(void)
{
	g_autofree char *out = NULL, *err = NULL;
	ck_assert_msg(canary(&out, &err, "audit", "--start-sealing", NULL) == 0, "%s", err);
	ck_assert_msg(g_str_has_prefix(out, "canary-audit-verification-key-v1\n"), "%s", out);
	ck_assert_ptr_nonnull(strstr(err, "OFF this server"));
	ck_assert(g_file_set_contents(vkey_path, out, -1, NULL));
}

/* Events that happen after the sealing: officers at work. */
static void work(void)
{
	g_autofree char *ref = NULL;
	sqlite3 *db = NULL;
	ck_assert_int_eq(sqlite3_open(db_path, &db), SQLITE_OK);
	sqlite3_stmt *s = NULL;
	ck_assert_int_eq(
		sqlite3_prepare_v2(db, "SELECT ref FROM cases ORDER BY id LIMIT 1", -1, &s, NULL),
		SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(s), SQLITE_ROW);
	ref = g_strdup((const char *)sqlite3_column_text(s, 0));
	sqlite3_finalize(s);
	sqlite3_close(db);
	ck_assert_int_eq(canary(NULL, NULL, "assign", ref, "--to", "ana", NULL), 0);
	ck_assert_int_eq(canary(NULL, NULL, "status", ref, "open", NULL), 0);
	ck_assert_int_eq(canary(NULL, NULL, "assign", ref, "--to", "ben", NULL), 0);
}

static GBytes *file_bytes(const char *path)
{
	char *contents = NULL;
	gsize len = 0;
	ck_assert(g_file_get_contents(path, &contents, &len, NULL));
	return g_bytes_new_take(contents, len);
}

static gint64 count_events(void)
{
	sqlite3 *db = NULL;
	ck_assert_int_eq(sqlite3_open(db_path, &db), SQLITE_OK);
	gint64 n = tu_query_int(db, "SELECT count(*) FROM events");
	sqlite3_close(db);
	return n;
}

/* Runs SQL through the sqlite3 command-line tool, as an insider would,
 * after dropping the append-only triggers. */
static void sqlite3_cli(const char *sql)
{
	g_autofree char *all = g_strconcat("DROP TRIGGER IF EXISTS events_no_update;"
					   "DROP TRIGGER IF EXISTS events_no_delete;",
					   sql, NULL);
	g_autofree char *cli = g_find_program_in_path("sqlite3");
	ck_assert_msg(cli != NULL, "the sqlite3 command-line tool is missing (scripts/deps)");
	const char *argv[] = {cli, db_path, all, NULL};
	g_autofree char *err = NULL;
	ck_assert_msg(tu_run(argv, NULL, NULL, &err) == 0, "sqlite3: %s", err);
}

static char *hex(const guint8 *p, gsize n)
{
	g_autofree char *h = g_malloc(2 * n + 1);
	sodium_bin2hex(h, 2 * n + 1, p, n);
	return g_strdup_printf("X'%s'", h);
}

/* What an insider who knows the plain scheme does after changing rows:
 * renumbers the events 1.. in id order and recomputes every chain hash, so
 * that the unkeyed chain is whole again. MACs are kept as they were. */
static void rechain(void)
{
	g_autoptr(GError) error = NULL;
	struct canary_store *store = canary_store_open_readonly(db_path, &error);
	ck_assert_msg(store != NULL, "%s", error ? error->message : "?");
	g_autoptr(GPtrArray) events = canary_store_list_events(store, NULL, &error);
	canary_store_close(&store);
	ck_assert_ptr_nonnull(events);
	GString *sql = g_string_new("DELETE FROM events;");
	guint8 prev[32] = {0};
	for (guint i = 0; i < events->len; i++) {
		struct canary_event *e = events->pdata[i];
		e->id = i + 1;
		memcpy(e->prev_hash, prev, 32);
		canary_audit_event_hash(e, e->hash);
		memcpy(prev, e->hash, 32);
		g_autofree char *ph = hex(e->prev_hash, 32), *h = hex(e->hash, 32);
		g_autofree char *mac = e->sealed ? hex(e->mac, 32) : g_strdup("NULL");
		char *q = sqlite3_mprintf(
			"INSERT INTO events (id, ref, at, actor, action, detail, prev_hash, hash, "
			"mac) VALUES (%lld, %Q, %lld, %Q, %Q, %Q, %s, %s, %s);",
			(long long)e->id, e->ref, (long long)e->at, e->actor, e->action, e->detail,
			ph, h, mac);
		g_string_append(sql, q);
		sqlite3_free(q);
	}
	sqlite3_cli(sql->str);
	g_string_free(sql, TRUE);
}

/* A fake event after the last, whole in the plain chain; with MAC (32
 * bytes) or without (NULL). */
static void append_fake(const guint8 *mac)
{
	g_autoptr(GError) error = NULL;
	struct canary_store *store = canary_store_open_readonly(db_path, &error);
	ck_assert_ptr_nonnull(store);
	g_autoptr(GPtrArray) events = canary_store_list_events(store, NULL, &error);
	canary_store_close(&store);
	const struct canary_event *last = events->pdata[events->len - 1];
	struct canary_event e = {.id = last->id + 1,
				 .ref = last->ref,
				 .at = last->at,
				 .actor = (char *)"custodian",
				 .action = (char *)"reveal",
				 .detail = NULL};
	memcpy(e.prev_hash, last->hash, 32);
	canary_audit_event_hash(&e, e.hash);
	g_autofree char *ph = hex(e.prev_hash, 32), *h = hex(e.hash, 32);
	g_autofree char *m = mac != NULL ? hex(mac, 32) : g_strdup("NULL");
	char *q = sqlite3_mprintf("INSERT INTO events (id, ref, at, actor, action, detail, "
				  "prev_hash, hash, mac) VALUES (%lld, %Q, %lld, %Q, %Q, NULL, "
				  "%s, %s, %s);",
				  (long long)e.id, e.ref, (long long)e.at, e.actor, e.action, ph, h,
				  m);
	sqlite3_cli(q);
	sqlite3_free(q);
}

/* audit --verify with the key: expects STATUS, and (when ID is not NULL)
 * "broken: event ID" and WHY in the output. Returns the output. */
static char *verify_expect(int status, const char *id, const char *why)
{
	char *out = NULL;
	g_autofree char *err = NULL;
	int got = canary(&out, &err, "audit", "--verify", "--verification-key", vkey_path, NULL);
	ck_assert_msg(got == status, "exit %d, expected %d: %s%s", got, status, out, err);
	if (id != NULL) {
		g_autofree char *named = g_strdup_printf("broken: event %s (", id);
		ck_assert_msg(strstr(out, named) != NULL, "expected '%s' in: %s", named, out);
	}
	if (why != NULL)
		ck_assert_msg(strstr(out, why) != NULL, "expected '%s' in: %s", why, out);
	return out;
}

/* The plain check passes after the attack: what the unkeyed chain proves. */
static void plain_passes(void)
{
	g_autofree char *out = NULL;
	ck_assert_int_eq(canary(&out, NULL, "audit", "--verify", NULL), 0);
	ck_assert_ptr_nonnull(strstr(out, "hash chain only"));
}

START_TEST(test_not_sealed_says_so)
{
	import_demo();
	gint64 n = count_events();
	g_autofree char *out = NULL;
	ck_assert_int_eq(canary(&out, NULL, "audit", "--verify", NULL), 0);
	g_autofree char *ok = g_strdup_printf("ok: %" G_GINT64_FORMAT " events\n", n);
	ck_assert_msg(g_str_has_prefix(out, ok), "%s", out);
	ck_assert_ptr_nonnull(strstr(out, "not sealed"));
	g_autofree char *key_file = g_strconcat(db_path, ".audit-key", NULL);
	ck_assert(!g_file_test(key_file, G_FILE_TEST_EXISTS));

	/* A key file that is not one, and usage errors. */
	g_free(tu_write_file(tmpdir, "custodian-laptop.vkey", "canary-public-key-v1\nAAAA\n"));
	g_autofree char *err = NULL;
	ck_assert_int_eq(
		canary(NULL, &err, "audit", "--verify", "--verification-key", vkey_path, NULL), 6);
	ck_assert_msg(strstr(err, "not a canary audit key") != NULL, "%s", err);
	ck_assert_int_eq(canary(NULL, NULL, "audit", "--verify", "--start-sealing", NULL), 2);
	ck_assert_int_eq(canary(NULL, NULL, "audit", "--verification-key", vkey_path, NULL), 2);
}
END_TEST

START_TEST(test_sealed_history_verifies)
{
	import_demo();
	gint64 before = count_events();
	start_sealing();
	work();
	gint64 n = count_events();
	ck_assert_int_eq(n, before + 4);

	g_autofree char *out = verify_expect(0, NULL, NULL);
	g_autofree char *ok = g_strdup_printf(
		"ok: %" G_GINT64_FORMAT " events\n"
		"events 1 to %" G_GINT64_FORMAT ": hash chain only (recorded before the sealing)\n"
		"events %" G_GINT64_FORMAT " to %" G_GINT64_FORMAT ": sealed, every MAC checked",
		n, before, before + 1, n);
	ck_assert_msg(g_str_has_prefix(out, ok), "%s", out);
	/* Without the key: the chain only, and it says so. */
	g_autofree char *plain = NULL;
	ck_assert_int_eq(canary(&plain, NULL, "audit", "--verify", NULL), 0);
	ck_assert_msg(strstr(plain, "without --verification-key") != NULL, "%s", plain);

	/* The sealing event is in the history; the key state is canaryd's alone
	 * and is not the verification key. */
	g_autofree char *hist = NULL;
	ck_assert_int_eq(canary(&hist, NULL, "history", "database", NULL), 0);
	ck_assert_msg(strstr(hist, "audit sealed") != NULL, "%s", hist);
	g_autofree char *key_file = g_strconcat(db_path, ".audit-key", NULL);
	struct stat st;
	ck_assert_int_eq(stat(key_file, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0600);
	g_autofree char *vkey = NULL, *state = NULL;
	ck_assert(g_file_get_contents(vkey_path, &vkey, NULL, NULL));
	ck_assert(g_file_get_contents(key_file, &state, NULL, NULL));
	g_auto(GStrv) vlines = g_strsplit(vkey, "\n", -1);
	g_auto(GStrv) slines = g_strsplit(state, "\n", -1);
	g_autofree char *n1 = g_strdup_printf("%" G_GINT64_FORMAT " ", n + 1);
	ck_assert_msg(g_str_has_prefix(slines[1], n1), "%s", state);
	ck_assert_str_ne(strchr(vlines[1], ' '), strchr(slines[1], ' '));
	ck_assert_uint_eq(tu_count_in_file(db_path, strchr(vlines[1], ' ') + 1, 44), 0);

	/* Once only. */
	g_autofree char *err = NULL;
	ck_assert_int_eq(canary(NULL, &err, "audit", "--start-sealing", NULL), 2);
	ck_assert_msg(strstr(err, "already sealed") != NULL, "%s", err);
}
END_TEST

START_TEST(test_fake_event_appended)
{
	import_demo();
	start_sealing();
	work();
	gint64 n = count_events();
	append_fake(NULL);
	plain_passes();
	g_autofree char *id = g_strdup_printf("%" G_GINT64_FORMAT, n + 1);
	g_free(verify_expect(1, id, "not sealed"));
}
END_TEST

START_TEST(test_fake_event_with_a_made_up_mac)
{
	import_demo();
	start_sealing();
	work();
	gint64 n = count_events();
	guint8 mac[32];
	randombytes_buf(mac, sizeof(mac));
	append_fake(mac);
	plain_passes();
	g_autofree char *id = g_strdup_printf("%" G_GINT64_FORMAT, n + 1);
	g_free(verify_expect(1, id, "MAC mismatch"));
}
END_TEST

START_TEST(test_middle_event_deleted)
{
	import_demo();
	start_sealing();
	work();
	gint64 n = count_events();
	g_autofree char *sql =
		g_strdup_printf("DELETE FROM events WHERE id = %" G_GINT64_FORMAT, n - 2);
	sqlite3_cli(sql);
	/* Left as it is, the plain chain sees it already. */
	g_autofree char *id = g_strdup_printf("%" G_GINT64_FORMAT, n - 1);
	g_free(verify_expect(1, id, "missing predecessor"));
	/* Covered up: the plain chain is whole, the MACs are not. */
	rechain();
	plain_passes();
	g_autofree char *id2 = g_strdup_printf("%" G_GINT64_FORMAT, n - 2);
	g_free(verify_expect(1, id2, "MAC mismatch"));
}
END_TEST

START_TEST(test_last_event_deleted)
{
	import_demo();
	start_sealing();
	work();
	gint64 n = count_events();
	g_autofree char *sql =
		g_strdup_printf("DELETE FROM events WHERE id = %" G_GINT64_FORMAT, n);
	sqlite3_cli(sql);
	plain_passes();
	g_autofree char *out = verify_expect(1, NULL, "broken: the end of the history");
	ck_assert_msg(strstr(out, "events were deleted") != NULL, "%s", out);

	/* Nor can the key file be put back behind the history: it holds only
	 * the key for the next event, and the proof needs the one before. */
	g_autofree char *key_file = g_strconcat(db_path, ".audit-key", NULL);
	g_autofree char *state = NULL;
	ck_assert(g_file_get_contents(key_file, &state, NULL, NULL));
	g_autofree char *ahead = g_strdup_printf("%" G_GINT64_FORMAT " ", n + 1);
	g_autofree char *behind = g_strdup_printf("%" G_GINT64_FORMAT " ", n);
	g_autofree char *forged = NULL;
	{
		g_autoptr(GString) s = g_string_new(state);
		g_string_replace(s, ahead, behind, 1);
		forged = g_string_free(g_steal_pointer(&s), FALSE);
	}
	ck_assert(g_file_set_contents(key_file, forged, -1, NULL));
	g_free(verify_expect(1, NULL, "does not hold"));
}
END_TEST

START_TEST(test_detail_changed)
{
	import_demo();
	start_sealing();
	work();
	gint64 n = count_events();
	g_autofree char *sql = g_strdup_printf("UPDATE events SET detail = 'to nobody', actor = "
					       "'someone else' WHERE id = %" G_GINT64_FORMAT,
					       n - 1);
	sqlite3_cli(sql);
	rechain();
	plain_passes();
	g_autofree char *id = g_strdup_printf("%" G_GINT64_FORMAT, n - 1);
	g_free(verify_expect(1, id, "MAC mismatch"));
}
END_TEST

START_TEST(test_events_reordered)
{
	import_demo();
	start_sealing();
	work();
	gint64 n = count_events();
	/* Swap the last two, then make the chain whole again, times too. */
	g_autofree char *sql = g_strdup_printf(
		"UPDATE events SET id = -1 WHERE id = %1$" G_GINT64_FORMAT ";"
		"UPDATE events SET id = %1$" G_GINT64_FORMAT " WHERE id = %2$" G_GINT64_FORMAT ";"
		"UPDATE events SET id = %2$" G_GINT64_FORMAT " WHERE id = -1;"
		"UPDATE events SET at = (SELECT max(at) FROM events) WHERE id >= "
		"%1$" G_GINT64_FORMAT ";",
		n - 1, n);
	sqlite3_cli(sql);
	rechain();
	plain_passes();
	g_autofree char *id = g_strdup_printf("%" G_GINT64_FORMAT, n - 1);
	g_free(verify_expect(1, id, "MAC mismatch"));
}
END_TEST

START_TEST(test_wrong_key)
{
	import_demo();
	start_sealing();
	work();
	/* A key of another history (another home, sealed at the same event). */
	g_autofree char *mine = NULL;
	ck_assert(g_file_get_contents(vkey_path, &mine, NULL, NULL));
	g_autofree char *other_home = g_build_filename(tmpdir, "other", NULL);
	g_autofree char *other_config = tu_make_canary_home(other_home, TRUE, NULL);
	g_autofree char *demo = tu_data_path("demo");
	ck_assert_int_eq(tu_run_canary(other_config, NULL, NULL, "import", demo, NULL), 0);
	g_autofree char *other = NULL;
	ck_assert_int_eq(
		tu_run_canary(other_config, &other, NULL, "audit", "--start-sealing", NULL), 0);
	ck_assert_str_ne(other, mine);
	ck_assert(g_file_set_contents(vkey_path, other, -1, NULL));
	g_autofree char *out = verify_expect(6, NULL, "wrong verification key");
	/* Put back, it is fine. */
	ck_assert(g_file_set_contents(vkey_path, mine, -1, NULL));
	g_free(verify_expect(0, NULL, NULL));
}
END_TEST

/* Sealing started again with a new key (the old verification key kept
 * aside): the events after it verify in full. */
static void seal_again(void)
{
	g_autofree char *old = g_strconcat(vkey_path, ".old", NULL);
	ck_assert_int_eq(g_rename(vkey_path, old), 0);
	start_sealing();
	work();
	g_free(verify_expect(0, NULL, NULL));
}

START_TEST(test_key_file_lost)
{
	import_demo();
	start_sealing();
	g_autofree char *key_file = g_strconcat(db_path, ".audit-key", NULL);
	ck_assert_int_eq(g_unlink(key_file), 0);
	gint64 n = count_events();
	work(); /* still recorded: nothing stops */
	ck_assert_int_eq(count_events(), n + 3);
	g_autofree char *id = g_strdup_printf("%" G_GINT64_FORMAT, n + 1);
	g_autofree char *out = verify_expect(1, id, "not sealed");
	/* Sealing starts again, with a new key, from a new sealing event. */
	seal_again();
}
END_TEST

/* A backup restored under a sealed history: the key file is ahead of it,
 * audit says so; sealing starts again with a new key, which checks all. */
START_TEST(test_restored_backup)
{
	import_demo();
	start_sealing();
	g_autofree char *backup = g_build_filename(tmpdir, "backup.db", NULL);
	gint64 n = count_events(); /* the backup's own event comes after the copy */
	ck_assert_int_eq(canary(NULL, NULL, "backup", backup, NULL), 0);
	work();
	g_autofree char *wal = g_strconcat(db_path, "-wal", NULL);
	g_autofree char *shm = g_strconcat(db_path, "-shm", NULL);
	g_unlink(wal);
	g_unlink(shm);
	g_autoptr(GBytes) bytes = file_bytes(backup);
	ck_assert(g_file_set_contents(db_path, g_bytes_get_data(bytes, NULL),
				      (gssize)g_bytes_get_size(bytes), NULL));
	ck_assert_int_eq(count_events(), n);
	g_autofree char *out = verify_expect(1, NULL, "restored backup");
	seal_again();
}
END_TEST

/* The line canaryd writes to the journal: ids and hashes, no content. */
START_TEST(test_head_summary)
{
	import_demo();
	g_autoptr(GError) error = NULL;
	struct canary_store *store = canary_store_open(db_path, &error);
	ck_assert_ptr_nonnull(store);
	g_autofree char *plain = canary_audit_head_summary(store, &error);
	ck_assert_msg(plain != NULL && strstr(plain, "no proof: the history is not sealed"), "%s",
		      plain);
	canary_store_close(&store);
	start_sealing();
	store = canary_store_open(db_path, &error);
	ck_assert_ptr_nonnull(store);
	g_autofree char *sealed = canary_audit_head_summary(store, &error);
	canary_store_close(&store);
	g_autofree char *want = g_strdup_printf(
		"audit chain head: last event %" G_GINT64_FORMAT ", hash ", count_events());
	ck_assert_msg(g_str_has_prefix(sealed, want), "%s", sealed);
	ck_assert_msg(strstr(sealed, ", proof ") != NULL, "%s", sealed);
}
END_TEST

static Suite *audit_suite(void)
{
	Suite *s = suite_create("audit");
	TCase *tc = tcase_create("audit");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_not_sealed_says_so);
	tcase_add_test(tc, test_sealed_history_verifies);
	tcase_add_test(tc, test_fake_event_appended);
	tcase_add_test(tc, test_fake_event_with_a_made_up_mac);
	tcase_add_test(tc, test_middle_event_deleted);
	tcase_add_test(tc, test_last_event_deleted);
	tcase_add_test(tc, test_detail_changed);
	tcase_add_test(tc, test_events_reordered);
	tcase_add_test(tc, test_wrong_key);
	tcase_add_test(tc, test_key_file_lost);
	tcase_add_test(tc, test_restored_backup);
	tcase_add_test(tc, test_head_summary);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run_suite(audit_suite());
}
