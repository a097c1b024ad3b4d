/* check_health.c: canary health end to end: what canaryd records after a
 * pass against a real Dovecot (a good pass is ok, a refused login critical,
 * an unreachable server a warning), and each other reason graded from the
 * state table, the queue, the disk and the key files; text and JSON, exit
 * codes, read-only access to the database. */
#include <json-glib/json-glib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "canaryd.h"
#include "dovecot.h"
#include "health.h"
#include <sqlite3.h>

#include "store.h"
#include "testutil.h"

#define DAY 86400

static struct tu_dovecot *dovecot;
static char *home;
static char *config;
static char *database;
static char *base_config; /* canary.conf as made, without [imap] or extras */

/* Writes the home's config: [imap] for the test Dovecot with PASSWORD, plus
 * EXTRA (whole groups, may be NULL). */
static void write_config(const char *password, const char *extra)
{
	g_autofree char *imap = NULL;
	if (dovecot != NULL) {
		imap = tu_dovecot_imap_group(dovecot, home, password);
	}
	if (config == NULL) {
		config = tu_make_canary_home(home, TRUE, NULL);
		ck_assert(g_file_get_contents(config, &base_config, NULL, NULL));
	}
	g_autofree char *text = g_strconcat(base_config, imap != NULL ? imap : "", extra, NULL);
	ck_assert(g_file_set_contents(config, text, -1, NULL));
}

static void setup(void)
{
	home = tu_make_tempdir();
	database = g_build_filename(home, "state", "canary.db", NULL);
	write_config(NULL, NULL);
}

static void daemon_setup(void)
{
	home = tu_make_tempdir();
	database = g_build_filename(home, "state", "canary.db", NULL);
	dovecot = tu_dovecot_start(NULL);
	write_config(dovecot->password, NULL);
}

static void teardown(void)
{
	tu_dovecot_free(dovecot);
	dovecot = NULL;
	tu_rmtree(home);
	g_clear_pointer(&home, g_free);
	g_clear_pointer(&config, g_free);
	g_clear_pointer(&database, g_free);
	g_clear_pointer(&base_config, g_free);
}

static gint64 now_s(void)
{
	return g_get_real_time() / G_USEC_PER_SEC;
}

static struct canary_store *open_store(void)
{
	g_autoptr(GError) error = NULL;
	struct canary_store *store = canary_store_open(database, &error);
	ck_assert_msg(store != NULL, "%s", error ? error->message : "");
	return store;
}

/* The disk's level here, as canary health will grade it: this machine's
 * free space is not the test's to choose. */
static enum canary_health_level disk_level(void)
{
	g_autofree char *dir = g_path_get_dirname(database);
	struct statvfs vfs;
	ck_assert_int_eq(statvfs(dir, &vfs), 0);
	return canary_health_disk_level((guint64)vfs.f_bavail * vfs.f_frsize,
					(guint64)vfs.f_blocks * vfs.f_frsize);
}

/* Runs canary health (--json when JSON); returns the exit status. */
static int health(gboolean json, char **out_r)
{
	g_autofree char *err = NULL;
	int status = json ? tu_run_canary(config, out_r, &err, "health", "--json", NULL)
			  : tu_run_canary(config, out_r, &err, "health", NULL);
	ck_assert_msg(status >= 0 && status <= 2, "health: %d: %s", status, err);
	return status;
}

/* The level and message of check NAME in canary health's text output. */
static char *check_line(const char *out, const char *name)
{
	g_auto(GStrv) lines = g_strsplit(out, "\n", -1);
	g_autofree char *tag = g_strdup_printf(" %s: ", name);
	for (gsize i = 0; lines[i] != NULL; i++)
		if (strstr(lines[i], tag) != NULL)
			return g_strdup(lines[i]);
	ck_abort_msg("no check %s in:\n%s", name, out);
	return NULL;
}

/* Asserts that check NAME has LEVEL in the text output OUT. */
static void assert_level(const char *out, const char *name, const char *level)
{
	g_autofree char *line = check_line(out, name);
	ck_assert_msg(g_str_has_prefix(line, level), "%s: expected %s: %s", name, level, line);
}

/* Runs canaryd --once; returns its exit status. */
static int run_once(void)
{
	return tu_canaryd_once(config, NULL);
}

/* The exit code expected when every check but the disk has LEVEL. */
static int expect(enum canary_health_level level)
{
	return (int)MAX(level, disk_level());
}

START_TEST(test_disk_levels)
{
	const guint64 mib = 1024 * 1024, gib = 1024 * mib, tib = 1024 * gib;
	static const struct {
		guint64 free_mib, total_mib;
		enum canary_health_level level;
	} cases[] = {
		{50 * 1024, 100 * 1024, CANARY_HEALTH_OK},
		{11 * 1024, 100 * 1024, CANARY_HEALTH_OK},
		{9 * 1024, 100 * 1024, CANARY_HEALTH_WARNING},  /* below 10% */
		{1023, 2000, CANARY_HEALTH_WARNING},            /* below 1 GiB */
		{1 * 1024, 100 * 1024, CANARY_HEALTH_CRITICAL}, /* below 2% */
		{99, 150, CANARY_HEALTH_CRITICAL},              /* below 100 MiB */
		{100, 150, CANARY_HEALTH_WARNING},
	};
	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++)
		ck_assert_msg(canary_health_disk_level(cases[i].free_mib * mib,
						       cases[i].total_mib * mib) == cases[i].level,
			      "case %zu", i);
	/* A large disk: 2% of 1 PiB is 20 TiB, and 15 TiB free is critical. */
	ck_assert_int_eq(canary_health_disk_level(15 * tib, 1024 * tib), CANARY_HEALTH_CRITICAL);
}
END_TEST

START_TEST(test_no_database_and_no_daemon)
{
	/* No database yet: exit 4, and nothing was created. */
	g_autofree char *err = NULL;
	ck_assert_int_eq(tu_run_canary(config, NULL, &err, "health", NULL), 4);
	ck_assert_ptr_nonnull(strstr(err, database));
	ck_assert(!g_file_test(database, G_FILE_TEST_EXISTS));

	/* A database canaryd never used: critical. */
	struct canary_store *store = open_store();
	canary_store_close(&store);
	g_autofree char *out = NULL;
	ck_assert_int_eq(health(FALSE, &out), 2);
	assert_level(out, "pass", "critical");
	ck_assert_ptr_nonnull(strstr(out, "no successful pass recorded"));
	ck_assert_ptr_nonnull(strstr(out, "\nstatus: critical"));

	g_autofree char *json = NULL;
	ck_assert_int_eq(health(TRUE, &json), 2);
	g_autoptr(JsonParser) parser = json_parser_new();
	ck_assert(json_parser_load_from_data(parser, json, -1, NULL));
	JsonObject *root = json_node_get_object(json_parser_get_root(parser));
	ck_assert_str_eq(json_object_get_string_member(root, "status"), "critical");
	JsonArray *checks = json_object_get_array_member(root, "checks");
	static const char *const names[] = {"pass", "imap", "quarantine", "open_cases",
					    "disk", "keys", "backup", "clear_values"};
	ck_assert_uint_eq(json_array_get_length(checks), G_N_ELEMENTS(names));
	for (guint i = 0; i < G_N_ELEMENTS(names); i++) {
		JsonObject *c = json_array_get_object_element(checks, i);
		ck_assert_str_eq(json_object_get_string_member(c, "name"), names[i]);
		ck_assert(json_object_has_member(c, "level"));
		ck_assert(json_object_has_member(c, "message"));
	}
	JsonObject *disk = json_array_get_object_element(checks, 4);
	ck_assert_int_gt(json_object_get_int_member(disk, "free_bytes"), 0);
	/* A new database holds nothing a backup could save yet. */
	assert_level(out, "backup", "ok");
	ck_assert_ptr_nonnull(strstr(out, "no backup made yet"));

	/* Usage and configuration errors keep their codes. */
	ck_assert_int_eq(tu_run_canary(config, NULL, NULL, "health", "extra", NULL), 2);
	g_autofree char *bad = tu_write_file(home, "bad.conf", "[store]\nnonsense = 1\n");
	ck_assert_int_eq(tu_run_canary(bad, NULL, NULL, "health", NULL), 3);
}
END_TEST

/* Simulates a daemon that started AGO seconds ago with a 60 s interval and
 * whose last successful pass was SUCCESS_AGO seconds ago (-1: none). */
static void record(gint64 ago, gint64 success_ago)
{
	struct canary_store *store = open_store();
	g_autoptr(GError) error = NULL;
	ck_assert(canary_health_record_daemon(store, now_s() - ago, 60, &error));
	if (success_ago >= 0)
		ck_assert(canary_health_record_pass(store, TRUE, NULL, 0, now_s() - success_ago,
						    &error));
	canary_store_close(&store);
}

START_TEST(test_pass_age)
{
	record(30, -1); /* just started, no pass yet */
	g_autofree char *out = NULL;
	ck_assert_int_eq(health(FALSE, &out), expect(CANARY_HEALTH_WARNING));
	assert_level(out, "pass", "warning");
	ck_assert_ptr_nonnull(strstr(out, "has not finished a pass yet"));

	record(3600, -1); /* started long ago, never passed */
	g_autofree char *out2 = NULL;
	ck_assert_int_eq(health(FALSE, &out2), 2);
	assert_level(out2, "pass", "critical");

	record(3600, 170); /* less than 3 intervals */
	g_autofree char *out3 = NULL;
	ck_assert_int_eq(health(FALSE, &out3), expect(CANARY_HEALTH_OK));
	assert_level(out3, "pass", "ok");

	record(3600, 200); /* more than 3 intervals */
	g_autofree char *out4 = NULL;
	ck_assert_int_eq(health(FALSE, &out4), 2);
	assert_level(out4, "pass", "critical");
	ck_assert_ptr_nonnull(strstr(out4, "more than 3 poll intervals (3m)"));

	record(30, 3600); /* restarted after an hour down: its first pass is due */
	g_autofree char *out5 = NULL;
	ck_assert_int_eq(health(FALSE, &out5), expect(CANARY_HEALTH_WARNING));
	assert_level(out5, "pass", "warning");
}
END_TEST

/* Inserts a case of STATUS received DAYS ago. */
static void add_case(guint n, const char *status, gint64 days)
{
	struct canary_store *store = open_store();
	guint8 hash[32] = {0};
	memcpy(hash, &n, sizeof(n));
	struct canary_case_new c = {
		.received_at = now_s() - days * DAY,
		.section = "triage",
		.status = status,
		.rule = "default",
		.quarantine_reason =
			strcmp(status, CANARY_STATUS_QUARANTINED) == 0 ? "too-large" : NULL,
		.size = 100,
		.content_hash = hash,
	};
	g_autoptr(GError) error = NULL;
	gint64 id = 0;
	g_autofree char *ref = NULL;
	ck_assert_msg(canary_store_insert_case(store, &c, &id, &ref, &error), "%s",
		      error ? error->message : "");
	canary_store_close(&store);
}

/* A case migrated from schema 3 whose exact values canaryd has not sealed
 * yet: a warning that says what to do, until they are gone. */
START_TEST(test_clear_values_warn)
{
	record(3600, 10);
	add_case(1, CANARY_STATUS_NEW, 3);
	g_autofree char *out = NULL;
	ck_assert_int_eq(health(FALSE, &out), expect(CANARY_HEALTH_OK));
	assert_level(out, "clear_values", "ok");

	sqlite3 *db = NULL;
	ck_assert_int_eq(sqlite3_open(database, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(db,
				      "INSERT INTO legacy_meta (case_id, received_at, "
				      "ingested_at, size, pseudonym) "
				      "SELECT id, 1, 2, 3, 'P-AAAA-BBBB' FROM cases",
				      NULL, NULL, NULL),
			 SQLITE_OK);
	g_autofree char *out2 = NULL;
	ck_assert_int_eq(health(FALSE, &out2), expect(CANARY_HEALTH_WARNING));
	assert_level(out2, "clear_values", "warning");
	ck_assert_ptr_nonnull(strstr(out2, "1 case from before version 4"));
	ck_assert_ptr_nonnull(strstr(out2, "start canaryd"));

	ck_assert_int_eq(sqlite3_exec(db, "DELETE FROM legacy_meta", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	g_autofree char *out3 = NULL;
	ck_assert_int_eq(health(FALSE, &out3), expect(CANARY_HEALTH_OK));
}
END_TEST

START_TEST(test_queue_and_keys)
{
	record(3600, 10);
	add_case(1, CANARY_STATUS_NEW, 3);
	g_autofree char *out = NULL;
	ck_assert_int_eq(health(FALSE, &out), expect(CANARY_HEALTH_OK));
	assert_level(out, "open_cases", "ok");
	assert_level(out, "quarantine", "ok");
	assert_level(out, "keys", "ok");

	/* A quarantined case waits: warning, with the count. */
	add_case(2, CANARY_STATUS_QUARANTINED, 1);
	g_autofree char *out2 = NULL;
	ck_assert_int_eq(health(FALSE, &out2), expect(CANARY_HEALTH_WARNING));
	assert_level(out2, "quarantine", "warning");
	ck_assert_ptr_nonnull(strstr(out2, "1 quarantined case waiting for the custodian"));

	/* Open cases older than [health] open_case_age (30d by default). */
	add_case(3, CANARY_STATUS_NEW, 40);
	add_case(4, CANARY_STATUS_OPEN, 45);
	g_autofree char *json = NULL;
	ck_assert_int_eq(health(TRUE, &json), expect(CANARY_HEALTH_WARNING));
	g_autoptr(JsonParser) parser = json_parser_new();
	ck_assert(json_parser_load_from_data(parser, json, -1, NULL));
	JsonArray *checks = json_object_get_array_member(
		json_node_get_object(json_parser_get_root(parser)), "checks");
	JsonObject *open_cases = json_array_get_object_element(checks, 3);
	ck_assert_str_eq(json_object_get_string_member(open_cases, "level"), "warning");
	ck_assert_int_eq(json_object_get_int_member(open_cases, "count"), 2);
	JsonObject *quarantine = json_array_get_object_element(checks, 2);
	ck_assert_int_eq(json_object_get_int_member(quarantine, "count"), 1);

	write_config(NULL, "[health]\nopen_case_age = 50d\n");
	g_autofree char *out3 = NULL;
	health(FALSE, &out3);
	assert_level(out3, "open_cases", "ok");

	/* A key file gone or unreadable: critical, naming it, never reading it. */
	g_autofree char *triage_pub = g_build_filename(home, "keys", "triage.pub", NULL);
	g_autofree char *pseudonym = g_build_filename(home, "keys", "pseudonym.key", NULL);
	ck_assert_int_eq(unlink(triage_pub), 0);
	ck_assert_int_eq(chmod(pseudonym, 0), 0);
	g_autofree char *out4 = NULL;
	ck_assert_int_eq(health(FALSE, &out4), 2);
	assert_level(out4, "keys", "critical");
	g_autofree char *keys = check_line(out4, "keys");
	ck_assert_ptr_nonnull(strstr(keys, "triage.pub: no such file"));
	if (geteuid() != 0) /* root reads anything */
		ck_assert_ptr_nonnull(strstr(keys, "pseudonym.key: Permission denied"));
}
END_TEST

/* Records a backup made AGO seconds ago, as canary backup does. */
static void record_backup(gint64 ago)
{
	struct canary_store *store = open_store();
	g_autoptr(GError) error = NULL;
	ck_assert_msg(canary_health_record_backup(store, "test", "to /backups/b.db", now_s() - ago,
						  &error),
		      "%s", error ? error->message : "");
	canary_store_close(&store);
}

/* The JSON object of check NAME in canary health --json's output OUT,
 * parsed into PARSER. */
static JsonObject *json_check(JsonParser *parser, const char *out, const char *name)
{
	ck_assert(json_parser_load_from_data(parser, out, -1, NULL));
	JsonArray *checks = json_object_get_array_member(
		json_node_get_object(json_parser_get_root(parser)), "checks");
	for (guint i = 0; i < json_array_get_length(checks); i++) {
		JsonObject *c = json_array_get_object_element(checks, i);
		if (strcmp(json_object_get_string_member(c, "name"), name) == 0)
			return c;
	}
	ck_abort_msg("no check %s in %s", name, out);
	return NULL;
}

START_TEST(test_backup_age)
{
	record(3600, 10);
	/* Cases younger than backup_age (7d): no backup due yet. */
	add_case(1, CANARY_STATUS_NEW, 3);
	g_autofree char *out = NULL;
	ck_assert_int_eq(health(FALSE, &out), expect(CANARY_HEALTH_OK));
	assert_level(out, "backup", "ok");
	ck_assert_ptr_nonnull(strstr(out, "none due before a case is 7d old"));

	/* A case older than that, whatever its status, and never a backup. */
	add_case(2, CANARY_STATUS_CLOSED, 10);
	g_autofree char *out2 = NULL;
	ck_assert_int_eq(health(FALSE, &out2), expect(CANARY_HEALTH_WARNING));
	assert_level(out2, "backup", "warning");
	ck_assert_ptr_nonnull(strstr(out2, "no backup was ever made, and 1 case was received "
					   "more than 7d ago: run canary backup FILE"));
	g_autofree char *json = NULL;
	health(TRUE, &json);
	g_autoptr(JsonParser) parser = json_parser_new();
	JsonObject *c = json_check(parser, json, "backup");
	ck_assert_str_eq(json_object_get_string_member(c, "level"), "warning");
	ck_assert_int_eq(json_object_get_int_member(c, "max_age_seconds"), 7 * DAY);
	ck_assert(!json_object_has_member(c, "seconds_since_backup"));

	/* A recent backup. */
	record_backup(2 * DAY);
	g_autofree char *out3 = NULL, *json3 = NULL;
	ck_assert_int_eq(health(FALSE, &out3), expect(CANARY_HEALTH_OK));
	assert_level(out3, "backup", "ok");
	ck_assert_ptr_nonnull(strstr(out3, "last backup 2d ago"));
	health(TRUE, &json3);
	g_autoptr(JsonParser) parser3 = json_parser_new();
	JsonObject *c3 = json_check(parser3, json3, "backup");
	ck_assert_int_ge(json_object_get_int_member(c3, "seconds_since_backup"), 2 * DAY);
	ck_assert_int_le(json_object_get_int_member(c3, "seconds_since_backup"), 2 * DAY + 60);

	/* Too old: a warning naming the day. */
	record_backup(9 * DAY);
	g_autoptr(GDateTime) then = g_date_time_new_from_unix_utc(now_s() - 9 * DAY);
	g_autofree char *day = g_date_time_format(then, "no backup since %Y-%m-%d ");
	g_autofree char *out4 = NULL;
	ck_assert_int_eq(health(FALSE, &out4), expect(CANARY_HEALTH_WARNING));
	assert_level(out4, "backup", "warning");
	ck_assert_ptr_nonnull(strstr(out4, day));
	ck_assert_ptr_nonnull(strstr(out4, "(9d ago, more than 7d): run canary backup FILE"));

	/* [health] backup_age: longer, off, or malformed (naming file, group
	 * and key). */
	write_config(NULL, "[health]\nbackup_age = 2w\n");
	g_autofree char *out5 = NULL;
	ck_assert_int_eq(health(FALSE, &out5), expect(CANARY_HEALTH_OK));
	assert_level(out5, "backup", "ok");
	write_config(NULL, "[health]\nbackup_age = forever\n");
	g_autofree char *out6 = NULL;
	health(FALSE, &out6);
	g_autofree char *line6 = check_line(out6, "backup");
	ck_assert_str_eq(line6, "ok       backup: not checked ([health] backup_age = forever)");
	write_config(NULL, "[health]\nbackup_age = 7\n");
	g_autofree char *err = NULL;
	ck_assert_int_eq(tu_run_canary(config, NULL, &err, "health", NULL), 3);
	ck_assert_msg(strstr(err, "canary.conf: [health] backup_age: ") != NULL, "%s", err);

	/* canary backup itself records it. */
	write_config(NULL, NULL);
	g_autofree char *copy = g_build_filename(home, "copy.db", NULL);
	g_autofree char *berr = NULL;
	ck_assert_msg(tu_run_canary(config, NULL, &berr, "backup", copy, NULL) == 0, "%s", berr);
	g_autofree char *out7 = NULL;
	ck_assert_int_eq(health(FALSE, &out7), expect(CANARY_HEALTH_OK));
	assert_level(out7, "backup", "ok");
	ck_assert(g_regex_match_simple("ok +backup: last backup [0-9]+s ago\n", out7, 0, 0));
}
END_TEST

/* The state canaryd recorded under KEY. New string. */
static char *state(const char *key)
{
	struct canary_store *store = open_store();
	char *value = NULL;
	ck_assert(canary_store_get_state(store, key, &value, NULL));
	canary_store_close(&store);
	return value;
}

START_TEST(test_daemon_records_and_health_follows)
{
	tu_dovecot_deliver_text(
		dovecot, "INBOX",
		"From: Amina <amina@example.org>\r\nSubject: report\r\n\r\nhello\r\n");
	ck_assert_int_eq(run_once(), 0);
	g_autofree char *pid = state(CANARY_STATE_DAEMON_PID);
	g_autofree char *version = state(CANARY_STATE_DAEMON_VERSION);
	g_autofree char *interval = state(CANARY_STATE_POLL_INTERVAL);
	g_autofree char *last_ok = state(CANARY_STATE_LAST_PASS_OK);
	g_autofree char *success = state(CANARY_STATE_LAST_SUCCESS);
	ck_assert_ptr_nonnull(pid);
	ck_assert_str_eq(version, CANARY_VERSION);
	ck_assert_str_eq(interval, "60");
	ck_assert_str_eq(last_ok, "1");
	ck_assert_int_le(ABS(g_ascii_strtoll(success, NULL, 10) - now_s()), 60);

	/* Read access is enough. */
	ck_assert_int_eq(chmod(database, 0400), 0);
	g_autofree char *out = NULL;
	ck_assert_int_eq(health(FALSE, &out), expect(CANARY_HEALTH_OK));
	assert_level(out, "pass", "ok");
	assert_level(out, "imap", "ok");
	ck_assert_int_eq(chmod(database, 0600), 0);

	/* A refused login: critical, with its class and no message text. */
	write_config("wrong password", NULL);
	ck_assert_int_eq(run_once(), 1);
	g_autofree char *cls = state(CANARY_STATE_FAILURE_CLASS);
	ck_assert_str_eq(cls, "auth");
	g_autofree char *out2 = NULL;
	ck_assert_int_eq(health(FALSE, &out2), 2);
	assert_level(out2, "imap", "critical");
	ck_assert_ptr_nonnull(strstr(out2, "login refused (auth)"));
	ck_assert_ptr_nonnull(strstr(out2, "1 consecutive failure;"));
	ck_assert_ptr_null(strstr(out2, "wrong password"));

	/* Fixed: ok again after the next good pass. */
	write_config(dovecot->password, NULL);
	ck_assert_int_eq(run_once(), 0);
	g_autofree char *out3 = NULL;
	ck_assert_int_eq(health(FALSE, &out3), expect(CANARY_HEALTH_OK));
	assert_level(out3, "imap", "ok");
	ck_assert_ptr_null(strstr(out3, "server_copies"));

	/* Server copies kept forever: a warning, from check-config too (which
	 * still passes: the config is valid). */
	write_config(dovecot->password, "processed_retention = forever\n");
	g_autofree char *out_kept = NULL;
	ck_assert_int_eq(health(FALSE, &out_kept), expect(CANARY_HEALTH_WARNING));
	assert_level(out_kept, "server_copies", "warning");
	ck_assert_ptr_nonnull(strstr(out_kept, "[imap] processed_retention = forever"));
	g_autofree char *checked = NULL, *warned = NULL;
	ck_assert_int_eq(tu_run_canary(config, &checked, &warned, "check-config", NULL), 0);
	ck_assert_ptr_nonnull(strstr(warned, "warning: [imap] processed_retention = forever"));
	ck_assert_ptr_nonnull(strstr(warned, "stays in clear"));
	write_config(dovecot->password, NULL);

	/* The server gone: a warning (the daemon retries by itself). */
	tu_dovecot_stop(dovecot);
	ck_assert_int_eq(run_once(), 1);
	g_autofree char *cls2 = state(CANARY_STATE_FAILURE_CLASS);
	ck_assert_str_eq(cls2, "network");
	g_autofree char *out4 = NULL;
	ck_assert_int_eq(health(FALSE, &out4), expect(CANARY_HEALTH_WARNING));
	assert_level(out4, "imap", "warning");
	assert_level(out4, "pass", "ok"); /* the last success is recent */
	ck_assert_ptr_null(strstr(out4, "example.org"));
}
END_TEST

static Suite *health_suite(void)
{
	Suite *s = suite_create("health");
	TCase *tc = tcase_create("health");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_disk_levels);
	tcase_add_test(tc, test_no_database_and_no_daemon);
	tcase_add_test(tc, test_pass_age);
	tcase_add_test(tc, test_queue_and_keys);
	tcase_add_test(tc, test_clear_values_warn);
	tcase_add_test(tc, test_backup_age);
	suite_add_tcase(s, tc);
	TCase *daemon = tcase_create("daemon");
	tcase_add_checked_fixture(daemon, daemon_setup, teardown);
	tcase_set_timeout(daemon, 240);
	tcase_add_test(daemon, test_daemon_records_and_health_follows);
	suite_add_tcase(s, daemon);
	return s;
}

int main(void)
{
	return tu_run_suite(health_suite());
}
