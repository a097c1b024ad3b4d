/* check_backup.c: canary backup end to end on real databases made by canary
 * import: the copy is one checked 0600 file that never replaces anything
 * unasked, restoring it as the README says gives a database that audit
 * --verify accepts and whose cases open with their keys, and copies taken
 * while other processes keep filing are consistent snapshots. */
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "health.h"
#include "store.h"
#include "testutil.h"

static char *tmpdir;
static char *config_path;
static char *db_path;
static char *section_key, *passphrase;

static void setup(void)
{
	tmpdir = tu_make_tempdir();
	config_path = tu_make_canary_home(tmpdir, TRUE, NULL);
	db_path = g_build_filename(tmpdir, "state", "canary.db", NULL);
	section_key = g_build_filename(tmpdir, "keys", "section.key", NULL);
	passphrase = g_build_filename(tmpdir, "passphrase", NULL);
}

static void teardown(void)
{
	tu_rmtree(tmpdir);
	g_clear_pointer(&tmpdir, g_free);
	g_clear_pointer(&config_path, g_free);
	g_clear_pointer(&db_path, g_free);
	g_clear_pointer(&section_key, g_free);
	g_clear_pointer(&passphrase, g_free);
}

#define canary(out_r, err_r, ...) tu_run_canary(config_path, out_r, err_r, __VA_ARGS__)

/* Writes N messages into DIR/NAME/ as 0.eml..., each with its own subject
 * ("Backup test report I") and body; EXTRA bytes of attachment each.
 * Returns the directory. */
static char *write_messages(const char *name, guint n, gsize extra)
{
	char *dir = g_build_filename(tmpdir, name, NULL);
	ck_assert_int_eq(g_mkdir_with_parents(dir, 0700), 0);
	g_autofree guint8 *noise = g_malloc(extra + 1);
	for (gsize i = 0; i < extra; i++)
		noise[i] = (guint8)g_random_int();
	g_autofree char *b64 = g_base64_encode(noise, extra);
	for (guint i = 0; i < n; i++) {
		g_autofree char *file = g_strdup_printf("%u.eml", i);
		g_autofree char *attachment =
			extra == 0 ? g_strdup("")
				   : g_strdup_printf("--b\nContent-Type: application/octet-stream\n"
						     "Content-Disposition: attachment; "
						     "filename=\"scan%u.bin\"\n"
						     "Content-Transfer-Encoding: base64\n\n%s\n",
						     i, b64);
		g_autofree char *text = g_strdup_printf(
			"From: Sender %u <sender%u@example.net>\nTo: reprisals@example.org\n"
			"Message-ID: <backup-%s-%u@example.net>\nSubject: Backup test report %u\n"
			"MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n"
			"--b\nContent-Type: text/plain; charset=utf-8\n\n"
			"Detained after the session, report number %u.\n%s--b--\n",
			i, i, name, i, i, i, attachment);
		g_free(tu_write_file(dir, file, text));
	}
	return dir;
}

/* canary import DIR; returns the cases it made. */
static guint import(const char *dir)
{
	g_autofree char *out = NULL, *err = NULL;
	ck_assert_msg(canary(&out, &err, "import", dir, NULL) == 0, "import: %s", err);
	guint cases = 0;
	ck_assert_int_eq(sscanf(out, "%u cases", &cases), 1);
	return cases;
}

static sqlite3 *open_readonly(const char *path)
{
	sqlite3 *db = NULL;
	ck_assert_int_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	return db;
}

static char *query_text(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *s = NULL;
	ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(s), SQLITE_ROW);
	char *text = g_strdup((const char *)sqlite3_column_text(s, 0));
	sqlite3_finalize(s);
	return text;
}

/* A copy that stands on its own: passes integrity_check, is ours, is in
 * rollback-journal mode (header bytes 18 and 19 are 1) with no -wal, -shm
 * or -journal beside it, and is 0600. Returns its case count. */
static gint64 check_copy(const char *path)
{
	struct stat st;
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_msg((st.st_mode & 07777) == 0600, "%s: mode %o", path, st.st_mode & 07777);
	guint8 header[20];
	FILE *f = fopen(path, "rb");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fread(header, 1, sizeof(header), f), sizeof(header));
	fclose(f);
	ck_assert_int_eq(memcmp(header, "SQLite format 3", 16), 0);
	ck_assert_msg(header[18] == 1 && header[19] == 1, "not a rollback journal: %u %u",
		      header[18], header[19]);
	sqlite3 *db = open_readonly(path);
	g_autofree char *integrity = query_text(db, "PRAGMA integrity_check");
	ck_assert_str_eq(integrity, "ok");
	ck_assert_int_eq(tu_query_int(db, "PRAGMA application_id"), 0x434e5259);
	ck_assert_int_eq(tu_query_int(db, "PRAGMA user_version"), CANARY_STORE_SCHEMA_VERSION);
	/* Filed together: every case has its filing event, and no more. */
	gint64 cases = tu_query_int(db, "SELECT count(*) FROM cases");
	ck_assert_int_eq(tu_query_int(db, "SELECT count(*) FROM events "
					  "WHERE action IN ('filed', 'quarantined')"),
			 cases);
	sqlite3_close(db);
	static const char *const beside[] = {"-wal", "-shm", "-journal"};
	for (gsize i = 0; i < G_N_ELEMENTS(beside); i++) {
		g_autofree char *other = g_strconcat(path, beside[i], NULL);
		ck_assert_msg(!g_file_test(other, G_FILE_TEST_EXISTS), "%s exists", other);
	}
	return cases;
}

static gint compare_names(gconstpointer a, gconstpointer b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names in DIR, sorted, joined by spaces. */
static char *list_dir(const char *dir)
{
	g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
	ck_assert_ptr_nonnull(d);
	g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
	for (const char *name; (name = g_dir_read_name(d)) != NULL;)
		g_ptr_array_add(names, g_strdup(name));
	g_ptr_array_sort(names, compare_names);
	g_ptr_array_add(names, NULL);
	return g_strjoinv(" ", (char **)names->pdata);
}

/* Restores BACKUP as README says (the copy put in place of the database,
 * 0600, nothing of the old database beside it) under DIR/restored/, with a
 * canary.conf naming it and the same keys. Returns that config's path. */
static char *restore(const char *backup)
{
	g_autofree char *dir = g_build_filename(tmpdir, "restored", NULL);
	ck_assert_int_eq(g_mkdir_with_parents(dir, 0700), 0);
	g_autofree char *database = g_build_filename(dir, "canary.db", NULL);
	const char *argv[] = {"/usr/bin/install", "-m", "0600", backup, database, NULL};
	ck_assert_int_eq(tu_run(argv, NULL, NULL, NULL), 0);
	g_autofree char *text = NULL;
	ck_assert(g_file_get_contents(config_path, &text, NULL, NULL));
	g_autofree char *line = g_strdup_printf("database = %s", database);
	g_auto(GStrv) parts = g_strsplit(text, "database = state/canary.db", 2);
	ck_assert_ptr_nonnull(parts[1]);
	g_autofree char *restored = g_strconcat(parts[0], line, parts[1], NULL);
	return tu_write_file(tmpdir, "restored.conf", restored);
}

/* The references canary list --json gives with CONFIG, joined by spaces. */
static char *list_refs(const char *config)
{
	g_autofree char *out = NULL, *err = NULL;
	ck_assert_msg(tu_run_canary(config, &out, &err, "list", "--json", NULL) == 0, "list: %s",
		      err);
	g_autoptr(JsonParser) parser = json_parser_new();
	ck_assert(json_parser_load_from_data(parser, out, -1, NULL));
	JsonArray *a = json_node_get_array(json_parser_get_root(parser));
	g_autoptr(GString) refs = g_string_new(NULL);
	for (guint i = 0; i < json_array_get_length(a); i++)
		g_string_append_printf(
			refs, "%s ",
			json_object_get_string_member(json_array_get_object_element(a, i), "ref"));
	return g_string_free(g_steal_pointer(&refs), FALSE);
}

START_TEST(test_backup_and_restore)
{
	g_autofree char *inbox = write_messages("inbox", 6, 0);
	ck_assert_uint_eq(import(inbox), 6);
	g_autofree char *refs = list_refs(config_path);
	char ref[64] = "";
	ck_assert_int_eq(sscanf(refs, "%63s", ref), 1);
	ck_assert_int_eq(canary(NULL, NULL, "assign", ref, "--to", "ana", NULL), 0);

	g_autofree char *vault = g_build_filename(tmpdir, "vault", NULL);
	ck_assert_int_eq(g_mkdir_with_parents(vault, 0700), 0);
	g_autofree char *backup = g_build_filename(vault, "canary-backup.db", NULL);
	g_autofree char *out = NULL, *err = NULL;
	ck_assert_msg(canary(&out, &err, "backup", backup, NULL) == 0, "backup: %s", err);
	ck_assert_msg(strstr(out, "backed up") != NULL && strstr(out, backup) != NULL, "%s", out);
	ck_assert_int_eq(check_copy(backup), 6);
	/* Only the backup: no temporary file left behind. */
	g_autofree char *names = list_dir(vault);
	ck_assert_str_eq(names, "canary-backup.db");
	/* Nothing of the messages in clear: it may be kept anywhere. */
	static const char *const clear[] = {"sender0@example.net", "Sender 0", "Backup test report",
					    "Detained after the session"};
	g_autofree char *message = g_build_filename(inbox, "0.eml", NULL);
	for (gsize i = 0; i < G_N_ELEMENTS(clear); i++) {
		ck_assert_uint_gt(tu_count_text_in_file(message, clear[i]), 0); /* the search works */
		ck_assert_msg(tu_count_text_in_file(backup, clear[i]) == 0, "%s in the backup", clear[i]);
	}

	/* Recorded: the time for health, an event with the user for the history. */
	g_autofree char *hist = NULL;
	ck_assert_int_eq(canary(&hist, NULL, "history", "database", NULL), 0);
	ck_assert_msg(strstr(hist, "backup") != NULL && strstr(hist, backup) != NULL, "%s", hist);
	g_autoptr(GError) error = NULL;
	struct canary_store *store = canary_store_open(db_path, &error);
	ck_assert_ptr_nonnull(store);
	g_autofree char *last = NULL;
	ck_assert(canary_store_get_state(store, CANARY_STATE_LAST_BACKUP, &last, NULL));
	canary_store_close(&store);
	ck_assert_ptr_nonnull(last);
	ck_assert_int_le(ABS(g_ascii_strtoll(last, NULL, 10) - g_get_real_time() / G_USEC_PER_SEC),
			 60);

	/* An existing file is not replaced unasked, and stays as it was. */
	g_autofree char *before = NULL;
	gsize before_len = 0;
	ck_assert(g_file_get_contents(backup, &before, &before_len, NULL));
	ck_assert_int_eq(canary(NULL, NULL, "assign", ref, "--to", "ben", NULL), 0);
	g_autofree char *err2 = NULL;
	ck_assert_int_eq(canary(NULL, &err2, "backup", backup, NULL), 1);
	ck_assert_msg(strstr(err2, "exists") != NULL && strstr(err2, "--force") != NULL, "%s",
		      err2);
	g_autofree char *unchanged = NULL;
	gsize unchanged_len = 0;
	ck_assert(g_file_get_contents(backup, &unchanged, &unchanged_len, NULL));
	ck_assert(unchanged_len == before_len && memcmp(before, unchanged, before_len) == 0);
	ck_assert_int_eq(canary(NULL, NULL, "backup", "--force", backup, NULL), 0);
	check_copy(backup);

	/* Never the database itself or its files, not even with --force; no
	 * directory that does not exist. */
	g_autofree char *wal = g_strconcat(db_path, "-wal", NULL);
	const char *const wrong[] = {db_path, wal};
	for (gsize i = 0; i < G_N_ELEMENTS(wrong); i++) {
		g_autofree char *e = NULL;
		ck_assert_int_eq(canary(NULL, &e, "backup", "--force", wrong[i], NULL), 1);
		ck_assert_msg(strstr(e, "the database itself") != NULL, "%s", e);
	}
	g_autofree char *nowhere = g_build_filename(tmpdir, "missing", "b.db", NULL);
	g_autofree char *e3 = NULL;
	ck_assert_int_eq(canary(NULL, &e3, "backup", nowhere, NULL), 1);
	ck_assert_msg(strstr(e3, "missing: No such file") != NULL, "%s", e3);
	ck_assert_int_eq(canary(NULL, NULL, "backup", NULL), 2);
	ck_assert_int_eq(canary(NULL, NULL, "audit", "--verify", NULL), 0);

	/* "-": through a pipe, to another program or host; nothing left in
	 * $TMPDIR. */
	g_autofree char *piped = g_build_filename(vault, "piped.db", NULL);
	g_autofree char *tmp = g_build_filename(tmpdir, "tmp", NULL);
	ck_assert_int_eq(g_mkdir_with_parents(tmp, 0700), 0);
	g_autofree char *script =
		g_strdup_printf("umask 077; TMPDIR='%s' '%s' backup - -c '%s' | cat > '%s'", tmp,
				CANARY_TOOL_PATH, config_path, piped);
	const char *sh[] = {"/bin/sh", "-c", script, NULL};
	g_autofree char *sh_err = NULL;
	ck_assert_msg(tu_run(sh, NULL, NULL, &sh_err) == 0, "%s", sh_err);
	ck_assert_int_eq(check_copy(piped), 6);
	g_autofree char *tmp_names = list_dir(tmp);
	ck_assert_str_eq(tmp_names, "");
	g_autofree char *hist2 = NULL;
	ck_assert_int_eq(canary(&hist2, NULL, "history", "database", NULL), 0);
	ck_assert_msg(strstr(hist2, "backup (to standard output)") != NULL, "%s", hist2);

	/* Restored in a new place: the history verifies, the same cases are
	 * listed, the assignment made before the backup is there, and a case
	 * opens with its section's key. */
	g_autofree char *restored = restore(backup);
	g_autofree char *audit = NULL;
	ck_assert_int_eq(tu_run_canary(restored, &audit, NULL, "audit", "--verify", NULL), 0);
	ck_assert_ptr_nonnull(strstr(audit, "ok: "));
	g_autofree char *restored_refs = list_refs(restored);
	ck_assert_str_eq(restored_refs, refs);
	g_autofree char *show = NULL, *show_err = NULL;
	ck_assert_msg(tu_run_canary(restored, &show, &show_err, "show", ref, "--key", section_key,
				    "--passphrase-file", passphrase, NULL) == 0,
		      "show: %s", show_err);
	ck_assert_msg(strstr(show, "Backup test report") != NULL, "%s", show);
	ck_assert_ptr_nonnull(strstr(show, "ben")); /* assigned before the second backup */
	/* It carries on filing. */
	g_autofree char *more = write_messages("more", 2, 0);
	ck_assert_msg(tu_run_canary(restored, NULL, NULL, "import", more, NULL) == 0, "import");
	ck_assert_int_eq(tu_run_canary(restored, NULL, NULL, "audit", "--verify", NULL), 0);
}
END_TEST

/* Runs SCRIPT under /bin/sh in the background; returns its pid. */
static GPid spawn_shell(const char *script)
{
	const char *argv[] = {"/bin/sh", "-c", script, NULL};
	GPid pid = 0;
	g_autoptr(GError) error = NULL;
	ck_assert_msg(g_spawn_async(NULL, (char **)argv, NULL,
				    G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDOUT_TO_DEV_NULL, NULL,
				    NULL, &pid, &error),
		      "%s", error ? error->message : "");
	return pid;
}

/* The cases in the live database, read as another process would. */
static gint64 live_cases(void)
{
	sqlite3 *db = open_readonly(db_path);
	gint64 n = tu_query_int(db, "SELECT count(*) FROM cases");
	sqlite3_close(db);
	return n;
}

START_TEST(test_backup_while_filing)
{
	/* Big enough to take several backup steps (16 MiB each). */
	g_autofree char *big = write_messages("big", 6, 3 * 1024 * 1024);
	ck_assert_uint_eq(import(big), 6);
	gint64 base = live_cases();

	/* Another process files one message at a time meanwhile. */
	const guint n = 120;
	g_autofree char *small = write_messages("small", n, 0);
	g_autofree char *script = g_strdup_printf(
		"i=0; while [ $i -lt %u ]; do '%s' import -c '%s' '%s/'$i.eml || exit 1; "
		"i=$((i+1)); done",
		n, CANARY_TOOL_PATH, config_path, small);
	GPid writer = spawn_shell(script);

	g_autoptr(GError) error = NULL;
	struct canary_store *store = canary_store_open(db_path, &error);
	ck_assert_msg(store != NULL, "%s", error ? error->message : "");
	guint backups = 0, overlapped = 0, between = 0;
	gint64 previous = 0, size = 0;
	int status = 0;
	for (;;) {
		pid_t done = waitpid(writer, &status, WNOHANG);
		g_autofree char *copy = g_strdup_printf("%s/copy%u.db", tmpdir, backups++);
		gint64 live_before = live_cases();
		gint64 bytes = 0;
		ck_assert_msg(canary_store_backup(store, copy, FALSE, &bytes, &error), "%s",
			      error ? error->message : "");
		gint64 live_after = live_cases();
		gint64 cases = check_copy(copy);
		ck_assert_int_gt(bytes, 16 * 1024 * 1024);
		size = bytes;
		/* A snapshot of one commit: at least what was there before the
		 * copy began, at most what was there when it ended. */
		ck_assert_int_ge(cases, live_before);
		ck_assert_int_le(cases, live_after);
		ck_assert_int_ge(cases, previous);
		previous = cases;
		overlapped += live_after > live_before; /* filing went on meanwhile */
		between += cases > base && cases < base + n;
		g_unlink(copy);
		if (done == writer)
			break;
	}
	canary_store_close(&store);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the writer failed");
	printf("backup while filing: %u backups of %.1f MB, %u with commits during the copy, %u "
	       "partial\n",
	       backups, (double)size / 1e6, overlapped, between);
	ck_assert_uint_gt(between, 1);
	ck_assert_uint_gt(overlapped, 0);
	ck_assert_int_eq(live_cases(), base + n);

	/* The command line the same way, with the final state. */
	g_autofree char *last = g_build_filename(tmpdir, "last.db", NULL);
	ck_assert_int_eq(canary(NULL, NULL, "backup", last, NULL), 0);
	ck_assert_int_eq(check_copy(last), base + n);
	g_autofree char *restored = restore(last);
	ck_assert_int_eq(tu_run_canary(restored, NULL, NULL, "audit", "--verify", NULL), 0);
}
END_TEST

START_TEST(test_killed_backup)
{
	g_autofree char *big = write_messages("big", 6, 3 * 1024 * 1024);
	ck_assert_uint_eq(import(big), 6);
	g_autofree char *vault = g_build_filename(tmpdir, "vault", NULL);
	ck_assert_int_eq(g_mkdir_with_parents(vault, 0700), 0);
	/* kill -9 at moments spread over a backup: FILE is either missing or
	 * whole, never half-written; only a hidden temporary file may stay. */
	guint missing = 0, whole = 0, temporaries = 0;
	for (guint i = 0; i < 16; i++) {
		g_autofree char *name = g_strdup_printf("b%u.db", i);
		g_autofree char *file = g_build_filename(vault, name, NULL);
		const char *argv[] = {CANARY_TOOL_PATH, "backup", file, "-c", config_path, NULL};
		GPid pid = 0;
		ck_assert(g_spawn_async(NULL, (char **)argv, NULL,
					G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDOUT_TO_DEV_NULL |
						G_SPAWN_STDERR_TO_DEV_NULL,
					NULL, NULL, &pid, NULL));
		g_usleep(i * i * 4000); /* 0 to 900 ms */
		kill(pid, SIGKILL);
		int status = 0;
		ck_assert_int_eq(waitpid(pid, &status, 0), pid);
		if (g_file_test(file, G_FILE_TEST_EXISTS)) {
			check_copy(file);
			whole++;
		} else {
			missing++;
		}
	}
	g_autoptr(GDir) d = g_dir_open(vault, 0, NULL);
	for (const char *name; (name = g_dir_read_name(d)) != NULL;) {
		gboolean backup = name[0] == 'b' && g_str_has_suffix(name, ".db");
		ck_assert_msg(backup || name[0] == '.', "%s left in the backup directory", name);
		temporaries += name[0] == '.';
	}
	printf("backup killed: %u times before FILE appeared (%u temporary files left), %u "
	       "after\n",
	       missing, temporaries, whole);
	ck_assert_uint_gt(missing, 0);
	/* The database is unharmed and the next backup works. */
	ck_assert_int_eq(canary(NULL, NULL, "audit", "--verify", NULL), 0);
	g_autofree char *after = g_build_filename(vault, "after.db", NULL);
	ck_assert_int_eq(canary(NULL, NULL, "backup", after, NULL), 0);
	ck_assert_int_eq(check_copy(after), 6);
}
END_TEST

static Suite *backup_suite(void)
{
	Suite *s = suite_create("backup");
	TCase *tc = tcase_create("backup");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 600);
	tcase_add_test(tc, test_backup_and_restore);
	tcase_add_test(tc, test_backup_while_filing);
	tcase_add_test(tc, test_killed_backup);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run_suite(backup_suite());
}
