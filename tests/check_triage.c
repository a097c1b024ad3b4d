/* check_triage.c: the triage officers' commands end to end, on a real
 * database made by canary import: list (filters, order, AGE, subjects),
 * assign, status with sealed notes, move, history, stats, audit --verify
 * against a tampered history, purge leaving no sealed bytes behind, and
 * hostile text (forged lines, terminal escapes, bidi controls, C1, path
 * names) printed harmlessly by show, list, history, reveal and attachment.
 * Notes come from a file, standard input or $EDITOR (on a pseudo-terminal),
 * never the command line. */
#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config.h"
#include "testutil.h"

static char *tmpdir;
static char *config_path;
static char *db_path;
static char *section_key, *triage_key, *other_key, *passphrase;

static void setup(void)
{
	tmpdir = tu_make_tempdir();
	config_path = tu_make_canary_home(tmpdir, TRUE, NULL);
	db_path = g_build_filename(tmpdir, "state", "canary.db", NULL);
	section_key = g_build_filename(tmpdir, "keys", "section.key", NULL);
	triage_key = g_build_filename(tmpdir, "keys", "triage.key", NULL);
	other_key = g_build_filename(tmpdir, "keys", "other.key", NULL);
	passphrase = g_build_filename(tmpdir, "passphrase", NULL);
}

static void teardown(void)
{
	tu_rmtree(tmpdir);
	g_clear_pointer(&tmpdir, g_free);
	g_clear_pointer(&config_path, g_free);
	g_clear_pointer(&db_path, g_free);
	g_clear_pointer(&section_key, g_free);
	g_clear_pointer(&triage_key, g_free);
	g_clear_pointer(&other_key, g_free);
	g_clear_pointer(&passphrase, g_free);
}

/* Runs "canary COMMAND ARGS... -c CONFIG" on this test's home. */
#define canary(out_r, err_r, ...) tu_run_canary(config_path, out_r, err_r, __VA_ARGS__)

/* An RFC 5322 date AGO seconds before now (C locale names). */
static char *mail_date(gint64 ago)
{
	static const char *const days[] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
	static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
					     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	g_autoptr(GDateTime) dt =
		g_date_time_new_from_unix_utc(g_get_real_time() / G_USEC_PER_SEC - ago);
	return g_strdup_printf(
		"%s, %02d %s %04d %02d:%02d:%02d +0000", days[g_date_time_get_day_of_week(dt) - 1],
		g_date_time_get_day_of_month(dt), months[g_date_time_get_month(dt) - 1],
		g_date_time_get_year(dt), g_date_time_get_hour(dt), g_date_time_get_minute(dt),
		g_date_time_get_second(dt));
}

/* Imports the demo corpus plus three recent messages (2 days, 20 days and
 * 3 hours old, the last with a long subject holding an escape sequence).
 * Returns how many cases were made. */
static guint import_all(void)
{
	g_autofree char *inbox = g_build_filename(tmpdir, "inbox", NULL);
	tu_copy_data_messages("demo", inbox);
	static const struct {
		const char *name, *subject, *body;
		gint64 ago;
	} recent[] = {
		{"r1.eml", "Recent report two days old", "Threatened after the session.",
		 2 * 86400},
		{"r2.eml", "Older report twenty days old", "Passport withheld at the airport.",
		 20 * 86400},
		{"r3.eml", "=?utf-8?q?Evil_=1B=5B31m_subject_that_is_far_too_long_for_the_column?=",
		 "Zanzibar-heron-quartz distinctive phrase.", 3 * 3600},
	};
	for (size_t i = 0; i < G_N_ELEMENTS(recent); i++) {
		g_autofree char *date = mail_date(recent[i].ago);
		g_autofree char *text = g_strdup_printf(
			"From: Sender %zu <sender%zu@example.net>\nTo: reprisals@example.org\n"
			"Date: %s\nMessage-ID: <recent%zu@example.net>\nSubject: %s\n\n%s\n",
			i, i, date, i, recent[i].subject, recent[i].body);
		g_free(tu_write_file(inbox, recent[i].name, text));
	}
	g_autofree char *out = NULL, *err = NULL;
	ck_assert_msg(canary(&out, &err, "import", inbox, NULL) == 0, "import: %s", err);
	guint cases = 0;
	ck_assert_int_eq(sscanf(out, "%u cases", &cases), 1);
	ck_assert_uint_gt(cases, 12);
	return cases;
}

/* Parses OUT as JSON into PARSER; returns the root. */
static JsonNode *parse(JsonParser *parser, const char *out)
{
	g_autoptr(GError) error = NULL;
	ck_assert_msg(json_parser_load_from_data(parser, out, -1, &error), "json: %s\n%s",
		      error ? error->message : "?", out);
	return json_parser_get_root(parser);
}

/* canary list --json with extra ARGS (up to 4, NULL-terminated). */
static JsonArray *list_json(JsonParser *parser, const char *a1, const char *a2, const char *a3,
			    const char *a4)
{
	g_autofree char *out = NULL, *err = NULL;
	ck_assert_msg(canary(&out, &err, "list", "--json", a1, a2, a3, a4, NULL) == 0, "list: %s",
		      err);
	JsonNode *root = parse(parser, out);
	ck_assert(JSON_NODE_HOLDS_ARRAY(root));
	return json_node_get_array(root);
}

static const char *member(JsonArray *a, guint i, const char *name)
{
	JsonObject *o = json_array_get_object_element(a, i);
	JsonNode *n = json_object_get_member(o, name);
	ck_assert_msg(n != NULL, "no member %s", name);
	return JSON_NODE_HOLDS_NULL(n) ? NULL : json_node_get_string(n);
}

/* The reference of the first case of the list with status STATUS. */
static char *first_with_status(const char *status)
{
	g_autoptr(JsonParser) parser = json_parser_new();
	JsonArray *a = list_json(parser, "--status", status, NULL, NULL);
	ck_assert_uint_gt(json_array_get_length(a), 0);
	return g_strdup(member(a, 0, "ref"));
}

/* Terminal columns of a UTF-8 line. */
static guint columns(const char *line)
{
	guint n = 0;
	for (const char *p = line; *p != '\0'; p = g_utf8_next_char(p)) {
		gunichar c = g_utf8_get_char(p);
		n += g_unichar_iszerowidth(c) ? 0 : g_unichar_iswide(c) ? 2 : 1;
	}
	return n;
}

/* The actions recorded for REF, one per line "action|detail|actor". */
static char *history_text(const char *ref)
{
	g_autofree char *out = NULL, *err = NULL;
	ck_assert_msg(canary(&out, &err, "history", ref, "--json", NULL) == 0, "history: %s", err);
	g_autoptr(JsonParser) parser = json_parser_new();
	JsonArray *a = json_node_get_array(parse(parser, out));
	GString *s = g_string_new(NULL);
	for (guint i = 0; i < json_array_get_length(a); i++) {
		ck_assert_str_eq(member(a, i, "ref"), ref);
		g_autoptr(GDateTime) at = g_date_time_new_from_iso8601(member(a, i, "at"), NULL);
		ck_assert_ptr_nonnull(at);
		const char *detail = member(a, i, "detail");
		g_string_append_printf(s, "%s|%s|%s\n", member(a, i, "action"),
				       detail != NULL ? detail : "", member(a, i, "actor"));
	}
	return g_string_free(s, FALSE);
}

/* Runs SQL on the database directly, as an attacker with the file would. */
static void attack(const char *sql)
{
	sqlite3 *db = NULL;
	ck_assert_int_eq(sqlite3_open(db_path, &db), SQLITE_OK);
	char *msg = NULL;
	int rc = sqlite3_exec(db,
			      "DROP TRIGGER IF EXISTS events_no_update;"
			      "DROP TRIGGER IF EXISTS events_no_delete;",
			      NULL, NULL, &msg);
	ck_assert_msg(rc == SQLITE_OK, "%s", msg);
	rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
	ck_assert_msg(rc == SQLITE_OK, "%s: %s", sql, msg);
	sqlite3_close(db);
}

/* One integer from SQL with REF bound as ?1. */
static gint64 query_int(const char *sql, const char *ref)
{
	sqlite3 *db = NULL;
	ck_assert_int_eq(sqlite3_open(db_path, &db), SQLITE_OK);
	sqlite3_stmt *s = NULL;
	ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
	if (ref != NULL)
		sqlite3_bind_text(s, 1, ref, -1, SQLITE_STATIC);
	ck_assert_int_eq(sqlite3_step(s), SQLITE_ROW);
	gint64 v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	sqlite3_close(db);
	return v;
}

/* Writes TEXT to a new file in the test's directory; returns its path. */
static char *note_file(const char *text)
{
	static guint n;
	g_autofree char *name = g_strdup_printf("note-%u.txt", ++n);
	return tu_write_file(tmpdir, name, text);
}

/* canary status REF STATUS --note-file - with TEXT on standard input. */
static int status_note_stdin(const char *ref, const char *status, const char *text, char **err_r)
{
	g_autofree char *path = note_file(text);
	const char *argv[] = {"/bin/sh",
			      "-c",
			      "exec \"$0\" status \"$1\" \"$2\" --note-file - "
			      "-c \"$3\" < \"$4\"",
			      CANARY_TOOL_PATH,
			      ref,
			      status,
			      config_path,
			      path,
			      NULL};
	return tu_run(argv, NULL, NULL, err_r);
}

START_TEST(test_help_and_usage)
{
	static const char *const commands[] = {"assign", "status", "move",  "history",
					       "stats",  "audit",  "purge", "list"};
	for (size_t i = 0; i < G_N_ELEMENTS(commands); i++) {
		g_autofree char *help = NULL;
		const char *sub[] = {CANARY_TOOL_PATH, commands[i], "--help", NULL};
		ck_assert_int_eq(tu_run(sub, NULL, &help, NULL), 0);
		ck_assert_ptr_nonnull(strstr(help, "--config"));
	}
	g_autofree char *top = NULL;
	const char *argv[] = {CANARY_TOOL_PATH, "--help", NULL};
	ck_assert_int_eq(tu_run(argv, NULL, &top, NULL), 0);
	for (size_t i = 0; i < G_N_ELEMENTS(commands); i++)
		ck_assert_ptr_nonnull(strstr(top, commands[i]));

	ck_assert_int_eq(canary(NULL, NULL, "assign", "R-2026-000001", NULL), 2);
	ck_assert_int_eq(canary(NULL, NULL, "assign", "R-2026-000001", "--to", "a b", NULL), 2);
	ck_assert_int_eq(canary(NULL, NULL, "status", "R-2026-000001", "pending", NULL), 2);
	ck_assert_int_eq(canary(NULL, NULL, "status", "R-2026-000001", NULL), 2);
	ck_assert_int_eq(canary(NULL, NULL, "move", "R-2026-000001", "--section", "x", NULL), 2);
	ck_assert_int_eq(canary(NULL, NULL, "history", NULL), 2);
	ck_assert_int_eq(canary(NULL, NULL, "history", "not-a-ref", NULL), 2);
	ck_assert_int_eq(canary(NULL, NULL, "audit", NULL), 2);
	ck_assert_int_eq(canary(NULL, NULL, "purge", NULL), 2);
	g_autofree char *err = NULL;
	ck_assert_int_eq(canary(NULL, &err, "purge", "--before", "2026-13-01", NULL), 2);
	ck_assert_ptr_nonnull(strstr(err, "YYYY-MM-DD"));
	ck_assert_int_eq(canary(NULL, NULL, "list", "--since", "yesterday", NULL), 2);
	ck_assert_int_eq(canary(NULL, NULL, "stats", "extra", NULL), 2);

	/* Absent cases: exit 5 with the reference named. */
	g_autofree char *err5 = NULL;
	ck_assert_int_eq(canary(NULL, &err5, "assign", "R-2026-000999", "--to", "ana", NULL), 5);
	ck_assert_ptr_nonnull(strstr(err5, "no such case R-2026-000999"));
	ck_assert_int_eq(canary(NULL, NULL, "status", "R-2026-000999", "open", NULL), 5);
	ck_assert_int_eq(canary(NULL, NULL, "history", "R-2026-000999", NULL), 5);
	ck_assert_int_eq(canary(NULL, NULL, "move", "R-2026-000999", "--section", "x", "--key",
				section_key, "--passphrase-file", passphrase, NULL),
			 5);
}
END_TEST

START_TEST(test_list_order_filters_and_table)
{
	guint cases = import_all();
	g_autoptr(JsonParser) parser = json_parser_new();
	JsonArray *all = list_json(parser, NULL, NULL, NULL, NULL);
	ck_assert_uint_eq(json_array_get_length(all), cases);

	/* Close the oldest open case and open another: open ones come first,
	 * each group oldest first. */
	g_autofree char *oldest = g_strdup(member(all, 0, "ref"));
	g_autofree char *second = g_strdup(member(all, 1, "ref"));
	ck_assert_int_eq(canary(NULL, NULL, "status", oldest, "closed", NULL), 0);
	ck_assert_int_eq(canary(NULL, NULL, "status", second, "open", NULL), 0);
	g_autoptr(JsonParser) p2 = json_parser_new();
	JsonArray *sorted = list_json(p2, NULL, NULL, NULL, NULL);
	ck_assert_uint_eq(json_array_get_length(sorted), cases);
	ck_assert_str_eq(member(sorted, 0, "ref"), second);
	gboolean in_rest = FALSE;
	gint64 last_age = G_MAXINT64;
	for (guint i = 0; i < json_array_get_length(sorted); i++) {
		JsonObject *o = json_array_get_object_element(sorted, i);
		const char *status = json_object_get_string_member(o, "status");
		gboolean open = strcmp(status, "new") == 0 || strcmp(status, "open") == 0;
		ck_assert_msg(!(open && in_rest), "open case %u after a closed one", i);
		gint64 age = json_object_get_int_member(o, "age_seconds");
		ck_assert_int_ge(age, 0);
		if (!open && !in_rest) {
			in_rest = TRUE;
			last_age = G_MAXINT64;
		}
		ck_assert_int_le(age, last_age); /* oldest first within each group */
		last_age = age;
		ck_assert(!json_object_has_member(o, "subject"));
	}
	ck_assert(in_rest);

	/* Filters. */
	ck_assert_int_eq(canary(NULL, NULL, "assign", second, "--to", "ana", NULL), 0);
	g_autoptr(JsonParser) p3 = json_parser_new();
	JsonArray *ana = list_json(p3, "--assignee", "ana", NULL, NULL);
	ck_assert_uint_eq(json_array_get_length(ana), 1);
	ck_assert_str_eq(member(ana, 0, "ref"), second);
	ck_assert_str_eq(member(ana, 0, "assignee"), "ana");
	g_autoptr(JsonParser) p4 = json_parser_new();
	ck_assert_uint_eq(json_array_get_length(list_json(p4, "--section", "nowhere", NULL, NULL)),
			  0);
	g_autoptr(JsonParser) p5 = json_parser_new();
	ck_assert_uint_eq(json_array_get_length(list_json(p5, "--section", "triage", NULL, NULL)),
			  cases);
	/* --since: the two recent messages at least, never the 2025 demo ones. */
	g_autoptr(GDateTime) now = g_date_time_new_now_utc();
	g_autoptr(GDateTime) week_ago = g_date_time_add_days(now, -7);
	g_autofree char *since = g_date_time_format(week_ago, "%Y-%m-%d");
	g_autoptr(JsonParser) p6 = json_parser_new();
	JsonArray *recent = list_json(p6, "--since", since, NULL, NULL);
	guint recent_open = 0;
	for (guint i = 0; i < json_array_get_length(recent); i++) {
		/* The day received (the exact time is sealed): on or after --since. */
		ck_assert_str_ge(member(recent, i, "received"), since);
		if (strcmp(member(recent, i, "status"), "new") == 0)
			recent_open++;
	}
	ck_assert_uint_ge(recent_open, 2);
	ck_assert_uint_lt(json_array_get_length(recent), cases);

	/* The table: AGE instead of RECEIVED, every line within 100 columns. */
	g_autofree char *table = NULL;
	ck_assert_int_eq(canary(&table, NULL, "list", NULL), 0);
	g_auto(GStrv) lines = g_strsplit(table, "\n", -1);
	ck_assert_ptr_nonnull(strstr(lines[0], "AGE"));
	ck_assert_ptr_null(strstr(lines[0], "PSEUDONYM")); /* sealed */
	ck_assert_ptr_null(strstr(lines[0], "RECEIVED"));
	guint rows = 0;
	for (guint i = 0; lines[i] != NULL; i++) {
		ck_assert_uint_le(columns(lines[i]), 100);
		if (g_str_has_prefix(lines[i], "R-")) {
			rows++;
			ck_assert_msg(
				g_regex_match_simple("^R-[0-9A-Z-]+ +[0-9]+[mhdw] ", lines[i], 0, 0),
				"no AGE in: %s", lines[i]);
		}
	}
	ck_assert_uint_eq(rows, cases);
	ck_assert(g_regex_match_simple("\\n\\S+ +2d triage", table, 0, 0));
	ck_assert(g_regex_match_simple("\\n\\S+ +2w triage", table, 0, 0));
	/* Ages in whole days (only the day is in clear): 3 hours ago is today or
	 * yesterday. */
	ck_assert(g_regex_match_simple("\\n\\S+ +[01]d triage", table, 0, 0));
}
END_TEST

START_TEST(test_list_with_key_shows_subjects)
{
	guint cases = import_all();
	g_autoptr(JsonParser) parser = json_parser_new();
	JsonArray *a = list_json(parser, "--key", section_key, "--passphrase-file", passphrase);
	ck_assert_uint_eq(json_array_get_length(a), cases);
	guint with_subject = 0;
	for (guint i = 0; i < cases; i++) {
		const char *subject = member(a, i, "subject");
		if (strcmp(member(a, i, "status"), "quarantined") == 0) {
			ck_assert_ptr_null(subject);
		} else {
			ck_assert_ptr_nonnull(subject);
			with_subject++;
		}
	}
	ck_assert_uint_gt(with_subject, 10);

	/* A key that opens nothing: every subject null / "-". */
	g_autoptr(JsonParser) p2 = json_parser_new();
	JsonArray *none = list_json(p2, "--key", other_key, "--passphrase-file", passphrase);
	for (guint i = 0; i < cases; i++)
		ck_assert_ptr_null(member(none, i, "subject"));

	/* The table: subjects cut to fit, control characters neutralised. */
	g_autofree char *table = NULL, *err = NULL;
	ck_assert_msg(canary(&table, &err, "list", "--key", triage_key, "--passphrase-file",
			     passphrase, NULL) == 0,
		      "%s", err);
	ck_assert_ptr_nonnull(strstr(table, "SUBJECT"));
	ck_assert_ptr_null(strchr(table, '\x1b'));
	ck_assert_ptr_nonnull(strstr(table, "Recent report two"));
	g_auto(GStrv) lines = g_strsplit(table, "\n", -1);
	for (guint i = 0; lines[i] != NULL; i++)
		ck_assert_msg(columns(lines[i]) <= 100, "too wide: %s", lines[i]);
	ck_assert(g_regex_match_simple("Evil \\\\x1b\\[31m [a-z ]+\xe2\x80\xa6", table, 0, 0));
	g_autofree char *other_table = NULL;
	ck_assert_int_eq(canary(&other_table, NULL, "list", "--key", other_key, "--passphrase-file",
				passphrase, NULL),
			 0);
	ck_assert_ptr_null(strstr(other_table, "Recent report"));

	/* Every subject shown is recorded in that case's history. */
	g_autofree char *history = history_text(member(a, 0, "ref"));
	ck_assert_ptr_nonnull(strstr(history, "subject listed"));
}
END_TEST

/* Pseudonyms are sealed: only a key finds a sender's cases, and only those
 * the key opens. */
START_TEST(test_list_by_pseudonym)
{
	import_all();
	/* A second message from the sender of r1.eml. */
	g_autofree char *more = g_build_filename(tmpdir, "more", NULL);
	g_mkdir_with_parents(more, 0700);
	g_free(tu_write_file(more, "again.eml",
			     "From: Sender 0 <sender0@example.net>\nTo: reprisals@example.org\n"
			     "Message-ID: <again0@example.net>\nSubject: Follow-up\n\nStill.\n"));
	ck_assert_int_eq(canary(NULL, NULL, "import", more, NULL), 0);

	g_autoptr(JsonParser) parser = json_parser_new();
	JsonArray *all = list_json(parser, "--key", triage_key, "--passphrase-file", passphrase);
	const char *pseudonym = NULL;
	for (guint i = 0; i < json_array_get_length(all) && pseudonym == NULL; i++) {
		const char *subject = member(all, i, "subject");
		if (subject != NULL && strcmp(subject, "Follow-up") == 0)
			pseudonym = member(all, i, "pseudonym");
	}
	ck_assert_ptr_nonnull(pseudonym);
	g_autoptr(GPtrArray) expected = g_ptr_array_new();
	for (guint i = 0; i < json_array_get_length(all); i++) {
		if (g_strcmp0(member(all, i, "pseudonym"), pseudonym) == 0)
			g_ptr_array_add(expected, (gpointer)member(all, i, "ref"));
	}
	ck_assert_uint_eq(expected->len, 2);

	g_autofree char *out = NULL, *err = NULL;
	ck_assert_msg(canary(&out, &err, "list", "--json", "--key", triage_key,
			     "--passphrase-file", passphrase, "--pseudonym", pseudonym, NULL) == 0,
		      "%s", err);
	g_autoptr(JsonParser) p2 = json_parser_new();
	JsonArray *found = json_node_get_array(parse(p2, out));
	ck_assert_uint_eq(json_array_get_length(found), 2);
	for (guint i = 0; i < 2; i++) {
		ck_assert_str_eq(member(found, i, "pseudonym"), pseudonym);
		ck_assert(g_ptr_array_find_with_equal_func(expected, member(found, i, "ref"),
							   g_str_equal, NULL));
	}
	/* Recorded: who looked a sender up. */
	g_autofree char *history = NULL;
	ck_assert_int_eq(canary(&history, NULL, "history", member(found, 0, "ref"), NULL), 0);
	ck_assert_ptr_nonnull(strstr(history, "listed by pseudonym"));

	/* A key that opens none of them finds none. */
	g_autofree char *none = NULL;
	ck_assert_int_eq(canary(&none, NULL, "list", "--json", "--key", other_key,
				"--passphrase-file", passphrase, "--pseudonym", pseudonym, NULL),
			 0);
	g_autoptr(JsonParser) p3 = json_parser_new();
	ck_assert_uint_eq(json_array_get_length(json_node_get_array(parse(p3, none))), 0);

	/* Without a key, or not a pseudonym: refused, saying why. */
	g_autofree char *e1 = NULL, *e2 = NULL;
	ck_assert_int_eq(canary(NULL, &e1, "list", "--pseudonym", pseudonym, NULL), 2);
	ck_assert_ptr_nonnull(strstr(e1, "--pseudonym needs --key"));
	ck_assert_int_eq(canary(NULL, &e2, "list", "--key", triage_key, "--pseudonym",
				"sender0@example.net", NULL),
			 2);
	ck_assert_ptr_nonnull(strstr(e2, "expected P-XXXX-XXXX"));
}
END_TEST

START_TEST(test_assign_status_and_notes)
{
	import_all();
	g_autofree char *ref = first_with_status("new");
	g_autofree char *out = NULL, *err = NULL;
	ck_assert_msg(canary(&out, &err, "assign", ref, "--to", "ana", NULL) == 0, "%s", err);
	ck_assert_int_eq(canary(NULL, NULL, "assign", ref, "--to", "ben", NULL), 0);

	const char *note = "Spoke to the focal point; Quokka-ledger-7319 follow up.";
	ck_assert_int_eq(canary(NULL, NULL, "status", ref, "open", NULL), 0);
	g_autofree char *err2 = NULL;
	g_autofree char *note_path = note_file(note);
	ck_assert_msg(
		canary(NULL, &err2, "status", ref, "closed", "--note-file", note_path, NULL) == 0,
		"%s", err2);
	g_autofree char *err3 = NULL;
	ck_assert_msg(status_note_stdin(ref, "open", "second\r\n", &err3) == 0, "%s", err3);

	g_autoptr(JsonParser) parser = json_parser_new();
	JsonArray *ben = list_json(parser, "--assignee", "ben", NULL, NULL);
	ck_assert_uint_eq(json_array_get_length(ben), 1);
	ck_assert_str_eq(member(ben, 0, "status"), "open");

	g_autofree char *history = history_text(ref);
	ck_assert_ptr_nonnull(strstr(history, "assigned to ana||"));
	ck_assert_ptr_nonnull(strstr(history, "assigned to ben|was ana|"));
	ck_assert_ptr_nonnull(strstr(history, "status open||"));
	ck_assert_ptr_nonnull(strstr(history, "status closed|note 1|"));
	ck_assert_ptr_nonnull(strstr(history, "status open|note 2|"));
	ck_assert_ptr_null(strstr(history, "Quokka"));
	g_autofree char *table = NULL;
	ck_assert_int_eq(canary(&table, NULL, "history", ref, NULL), 0);
	ck_assert_ptr_nonnull(strstr(table, "WHEN (UTC)"));
	ck_assert_ptr_nonnull(strstr(table, "status closed (note 1)"));

	/* The note is sealed: the section and triage keys read it, nothing
	 * else, and it is nowhere in clear. */
	g_autofree char *show = NULL, *show_err = NULL;
	ck_assert_msg(canary(&show, &show_err, "show", ref, "--key", section_key,
			     "--passphrase-file", passphrase, NULL) == 0,
		      "%s", show_err);
	ck_assert_ptr_nonnull(strstr(show, "Notes:"));
	ck_assert_ptr_nonnull(strstr(show, note));
	ck_assert_ptr_nonnull(strstr(show, "second"));
	g_autofree char *show2 = NULL;
	ck_assert_int_eq(canary(&show2, NULL, "show", ref, "--key", triage_key, "--passphrase-file",
				passphrase, NULL),
			 0);
	ck_assert_ptr_nonnull(strstr(show2, note));
	ck_assert_int_eq(canary(NULL, NULL, "show", ref, "--key", other_key, "--passphrase-file",
				passphrase, NULL),
			 6);
	g_autofree char *wal = g_strconcat(db_path, "-wal", NULL);
	ck_assert_uint_eq(tu_count_in_file(db_path, "Quokka", 6), 0);
	ck_assert_uint_eq(tu_count_in_file(wal, "Quokka", 6), 0);
	ck_assert_int_eq(
		query_int("SELECT count(*) FROM case_blobs WHERE field LIKE 'note.%'", NULL), 2);

	/* Quarantined cases are refused, and stay quarantined. */
	g_autofree char *q = first_with_status("quarantined");
	g_autofree char *qerr = NULL;
	ck_assert_int_eq(canary(NULL, &qerr, "status", q, "closed", NULL), 1);
	ck_assert_ptr_nonnull(strstr(qerr, "quarantined"));
	g_autoptr(JsonParser) p2 = json_parser_new();
	JsonArray *still = list_json(p2, "--status", "quarantined", NULL, NULL);
	ck_assert_str_eq(member(still, 0, "ref"), q);
}
END_TEST

START_TEST(test_move_reseals)
{
	import_all();
	g_autofree char *ref = first_with_status("new");
	g_autofree char *note = note_file("note before move\n");
	ck_assert_int_eq(canary(NULL, NULL, "status", ref, "open", "--note-file", note, NULL), 0);
	/* A key that does not open the case cannot move it. */
	g_autofree char *err = NULL;
	ck_assert_int_eq(canary(NULL, &err, "move", ref, "--section", "africa", "--key", other_key,
				"--passphrase-file", passphrase, NULL),
			 6);
	ck_assert_ptr_nonnull(strstr(err, "cannot open case"));
	ck_assert_ptr_nonnull(strstr(err, "another section"));

	g_autofree char *out = NULL, *err2 = NULL;
	ck_assert_msg(canary(&out, &err2, "move", ref, "--section", "africa", "--key", triage_key,
			     "--passphrase-file", passphrase, NULL) == 0,
		      "%s", err2);
	g_autoptr(JsonParser) parser = json_parser_new();
	JsonArray *africa = list_json(parser, "--section", "africa", NULL, NULL);
	ck_assert_uint_eq(json_array_get_length(africa), 1);
	ck_assert_str_eq(member(africa, 0, "ref"), ref);
	g_autofree char *history = history_text(ref);
	ck_assert_ptr_nonnull(strstr(history, "moved to section africa|from triage|"));

	/* The triage key still opens it, content and notes; the key the new
	 * section's public key belongs to opens it too. Without per-section
	 * keys that is the default section key. */
	g_autofree char *show = NULL;
	ck_assert_int_eq(canary(&show, NULL, "show", ref, "--key", triage_key, "--passphrase-file",
				passphrase, NULL),
			 0);
	ck_assert_ptr_nonnull(strstr(show, "note before move"));
	g_autoptr(canary_config) config = canary_config_load(config_path, NULL);
	ck_assert_ptr_nonnull(config);
	const char *africa_pub = canary_config_section_key(config, "africa");
	ck_assert_ptr_nonnull(africa_pub);
	g_autofree char *africa_key = g_strdup(africa_pub);
	ck_assert(g_str_has_suffix(africa_key, ".pub"));
	strcpy(africa_key + strlen(africa_key) - 4, ".key");
	g_autofree char *show2 = NULL, *err3 = NULL;
	ck_assert_msg(canary(&show2, &err3, "show", ref, "--key", africa_key, "--passphrase-file",
			     passphrase, NULL) == 0,
		      "%s", err3);
	ck_assert_ptr_nonnull(strstr(show2, "note before move"));
	if (strcmp(africa_pub, canary_config_section_key(config, "triage")) != 0)
		ck_assert_int_eq(canary(NULL, NULL, "show", ref, "--key", section_key,
					"--passphrase-file", passphrase, NULL),
				 6);

	/* Moving to where it is changes nothing; quarantined cases stay. */
	ck_assert_int_eq(canary(NULL, NULL, "move", ref, "--section", "africa", "--key", triage_key,
				"--passphrase-file", passphrase, NULL),
			 0);
	g_autofree char *q = first_with_status("quarantined");
	ck_assert_int_eq(canary(NULL, NULL, "move", q, "--section", "africa", "--key", triage_key,
				"--passphrase-file", passphrase, NULL),
			 1);
}
END_TEST

START_TEST(test_stats)
{
	guint cases = import_all();
	g_autofree char *open_ref = first_with_status("new");
	ck_assert_int_eq(canary(NULL, NULL, "status", open_ref, "open", NULL), 0);
	g_autoptr(JsonParser) lp = json_parser_new();
	JsonArray *news = list_json(lp, "--status", "new", NULL, NULL);
	guint n_new = json_array_get_length(news);
	g_autofree char *closed_ref = g_strdup(member(news, 0, "ref"));
	ck_assert_int_eq(canary(NULL, NULL, "status", closed_ref, "closed", NULL), 0);
	n_new--;

	g_autofree char *out = NULL, *err = NULL;
	ck_assert_msg(canary(&out, &err, "stats", "--json", NULL) == 0, "%s", err);
	g_autoptr(JsonParser) parser = json_parser_new();
	JsonObject *o = json_node_get_object(parse(parser, out));
	JsonArray *open = json_object_get_array_member(o, "open");
	ck_assert_uint_eq(json_array_get_length(open), 1);
	JsonObject *triage = json_array_get_object_element(open, 0);
	ck_assert_str_eq(json_object_get_string_member(triage, "section"), "triage");
	ck_assert_int_eq(json_object_get_int_member(triage, "new"), n_new);
	ck_assert_int_eq(json_object_get_int_member(triage, "open"), 1);
	JsonObject *total = json_object_get_object_member(o, "open_total");
	ck_assert_int_eq(json_object_get_int_member(total, "total"), n_new + 1);
	g_autoptr(JsonParser) qp = json_parser_new();
	guint quarantined =
		json_array_get_length(list_json(qp, "--status", "quarantined", NULL, NULL));
	ck_assert_uint_gt(quarantined, 0);
	ck_assert_uint_eq(cases, n_new + 1 + 1 + quarantined); /* + open + closed */

	/* The oldest open case is the first of the list. */
	g_autoptr(JsonParser) lp2 = json_parser_new();
	JsonArray *all = list_json(lp2, NULL, NULL, NULL, NULL);
	JsonObject *oldest = json_object_get_object_member(o, "oldest_open");
	ck_assert_str_eq(json_object_get_string_member(oldest, "ref"), member(all, 0, "ref"));
	ck_assert_int_gt(json_object_get_int_member(oldest, "age_days"), 100);
	ck_assert_str_eq(json_object_get_string_member(oldest, "received"),
			 member(all, 0, "received"));

	/* Twelve weeks; the recent messages (and quarantined ones, received
	 * now) counted in the right ones. */
	JsonArray *weeks = json_object_get_array_member(o, "weeks");
	ck_assert_uint_eq(json_array_get_length(weeks), 12);
	gint64 sum = 0;
	for (guint i = 0; i < 12; i++) {
		JsonObject *w = json_array_get_object_element(weeks, i);
		ck_assert(g_regex_match_simple("^[0-9]{4}-W[0-9]{2}$",
					       json_object_get_string_member(w, "week"), 0, 0));
		sum += json_object_get_int_member(w, "received");
	}
	guint expected = 0;
	const char *first_start =
		json_object_get_string_member(json_array_get_object_element(weeks, 0), "start");
	g_autofree char *first_iso = g_strdup_printf("%sT00:00:00Z", first_start);
	g_autoptr(GDateTime) first = g_date_time_new_from_iso8601(first_iso, NULL);
	ck_assert_int_eq(g_date_time_get_day_of_week(first), 1);
	for (guint i = 0; i < json_array_get_length(all); i++) {
		if (strcmp(member(all, i, "received"), first_start) >= 0)
			expected++;
	}
	ck_assert_int_ge(expected, 3);
	ck_assert_int_eq(sum, expected);
	JsonObject *last = json_array_get_object_element(weeks, 11);
	ck_assert_int_ge(json_object_get_int_member(last, "received"), 1);

	g_autofree char *table = NULL;
	ck_assert_int_eq(canary(&table, NULL, "stats", NULL), 0);
	ck_assert_ptr_nonnull(strstr(table, "Oldest open case:"));
	ck_assert_ptr_nonnull(strstr(table, member(all, 0, "ref")));
}
END_TEST

/* Makes some history, checks it verifies, then applies SQL and expects
 * audit --verify to name event ID and say REASON. */
static void tamper_and_verify(const char *sql, const char *id, const char *reason)
{
	import_all();
	g_autofree char *ref = first_with_status("new");
	ck_assert_int_eq(canary(NULL, NULL, "assign", ref, "--to", "ana", NULL), 0);
	ck_assert_int_eq(canary(NULL, NULL, "status", ref, "open", NULL), 0);
	gint64 n = query_int("SELECT count(*) FROM events", NULL);
	ck_assert_int_gt(n, 5);
	g_autofree char *out = NULL;
	ck_assert_int_eq(canary(&out, NULL, "audit", "--verify", NULL), 0);
	/* The count, then what an unsealed chain proves (check_audit has the rest). */
	g_autofree char *ok = g_strdup_printf("ok: %" G_GINT64_FORMAT " events\n", n);
	ck_assert_msg(g_str_has_prefix(out, ok), "%s", out);
	ck_assert_ptr_nonnull(strstr(out, "not sealed"));

	attack(sql);
	g_autofree char *out2 = NULL, *err = NULL;
	ck_assert_int_eq(canary(&out2, &err, "audit", "--verify", NULL), 1);
	g_autofree char *named = g_strdup_printf("event %s (case R-", id);
	ck_assert_msg(strstr(out2, named) != NULL, "expected '%s' in: %s", named, out2);
	ck_assert_msg(strstr(out2, reason) != NULL, "expected '%s' in: %s", reason, out2);
}

START_TEST(test_audit_catches_edit)
{
	tamper_and_verify("UPDATE events SET actor = 'someone else' WHERE id = 3", "3",
			  "hash mismatch");
}
END_TEST

START_TEST(test_audit_catches_delete)
{
	tamper_and_verify("DELETE FROM events WHERE id = 3", "4", "missing predecessor");
}
END_TEST

START_TEST(test_audit_catches_reorder)
{
	tamper_and_verify("UPDATE events SET id = -3 WHERE id = 3;"
			  "UPDATE events SET id = 3 WHERE id = 4;"
			  "UPDATE events SET id = 4 WHERE id = -3;",
			  "3", "order");
}
END_TEST

/* Reads every sealed blob of case REF: up to 32 bytes from each blob's middle. */
static GPtrArray *blob_samples(const char *ref)
{
	GPtrArray *samples = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
	sqlite3 *db = NULL;
	ck_assert_int_eq(sqlite3_open(db_path, &db), SQLITE_OK);
	sqlite3_stmt *s = NULL;
	ck_assert_int_eq(sqlite3_prepare_v2(db,
					    "SELECT data FROM case_blobs WHERE case_id = "
					    "(SELECT id FROM cases WHERE ref = ?1)",
					    -1, &s, NULL),
			 SQLITE_OK);
	sqlite3_bind_text(s, 1, ref, -1, SQLITE_STATIC);
	while (sqlite3_step(s) == SQLITE_ROW) {
		int len = sqlite3_column_bytes(s, 0);
		const guint8 *data = sqlite3_column_blob(s, 0);
		if (len < 48)
			continue;
		g_ptr_array_add(samples, g_bytes_new(data + len / 2 - 16, 32));
	}
	sqlite3_finalize(s);
	sqlite3_close(db);
	return samples;
}

START_TEST(test_purge)
{
	guint cases = import_all();
	g_autoptr(JsonParser) parser = json_parser_new();
	/* The exact times are sealed: the triage key lists them. */
	JsonArray *all = list_json(parser, "--key", triage_key, "--passphrase-file", passphrase);
	/* The 3-hour-old message with the distinctive phrase, and an old one. */
	g_autofree char *recent = NULL;
	gint64 now_s = g_get_real_time() / G_USEC_PER_SEC;
	for (guint i = 0; i < json_array_get_length(all); i++) {
		const char *received_at = member(all, i, "received_at");
		if (received_at == NULL)
			continue; /* quarantined: sealed to the custodian alone */
		g_autoptr(GDateTime) t = g_date_time_new_from_iso8601(received_at, NULL);
		gint64 age = now_s - g_date_time_to_unix(t);
		if (age > 2 * 3600 && age < 4 * 3600)
			recent = g_strdup(member(all, i, "ref"));
	}
	ck_assert_ptr_nonnull(recent);
	g_autofree char *old = g_strdup(member(all, 0, "ref"));
	g_autofree char *kept_closed = g_strdup(member(all, 1, "ref"));
	g_autofree char *done = note_file("done");
	ck_assert_int_eq(canary(NULL, NULL, "status", recent, "closed", "--note-file", done, NULL),
			 0);
	ck_assert_int_eq(canary(NULL, NULL, "status", old, "closed", NULL), 0);
	g_autoptr(GPtrArray) samples = blob_samples(recent);
	g_autoptr(GPtrArray) old_samples = blob_samples(old);
	ck_assert_uint_ge(samples->len, 5); /* keys, subject, text, note, identity, raw */
	g_ptr_array_extend_and_steal(samples, g_steal_pointer(&old_samples));

	/* A date before the old case purges nothing. */
	g_autofree char *out0 = NULL;
	ck_assert_int_eq(canary(&out0, NULL, "purge", "--before", "2000-01-01", NULL), 0);
	ck_assert_ptr_nonnull(strstr(out0, "0 cases purged"));

	/* --dry-run lists both, changes nothing. */
	g_autoptr(GDateTime) now = g_date_time_new_now_utc();
	g_autoptr(GDateTime) tomorrow = g_date_time_add_days(now, 1);
	g_autofree char *before = g_date_time_format(tomorrow, "%Y-%m-%d");
	g_autofree char *dry = NULL;
	ck_assert_int_eq(canary(&dry, NULL, "purge", "--before", before, "--dry-run", NULL), 0);
	ck_assert_ptr_nonnull(strstr(dry, recent));
	ck_assert_ptr_nonnull(strstr(dry, old));
	ck_assert_ptr_nonnull(strstr(dry, "2 cases would be purged"));
	g_autoptr(JsonParser) p2 = json_parser_new();
	ck_assert_uint_eq(json_array_get_length(list_json(p2, NULL, NULL, NULL, NULL)), cases);

	g_autofree char *out = NULL, *err = NULL;
	ck_assert_msg(canary(&out, &err, "purge", "--before", before, NULL) == 0, "%s", err);
	ck_assert_ptr_nonnull(strstr(out, "2 cases purged"));
	g_autoptr(JsonParser) p3 = json_parser_new();
	JsonArray *left = list_json(p3, NULL, NULL, NULL, NULL);
	ck_assert_uint_eq(json_array_get_length(left), cases - 2);
	for (guint i = 0; i < json_array_get_length(left); i++) {
		ck_assert_str_ne(member(left, i, "ref"), recent);
		ck_assert_str_ne(member(left, i, "ref"), old);
	}
	ck_assert_int_eq(canary(NULL, NULL, "show", recent, "--key", section_key,
				"--passphrase-file", passphrase, NULL),
			 5);
	(void)kept_closed;

	/* Nothing of the sealed blobs remains in the database or its WAL. */
	g_autofree char *wal = g_strconcat(db_path, "-wal", NULL);
	for (guint i = 0; i < samples->len; i++) {
		gsize len = 0;
		const void *needle = g_bytes_get_data(samples->pdata[i], &len);
		ck_assert_uint_eq(tu_count_in_file(db_path, needle, len), 0);
		ck_assert_uint_eq(tu_count_in_file(wal, needle, len), 0);
	}
	ck_assert_int_eq(query_int("SELECT count(*) FROM cases WHERE ref = ?1", recent), 0);
	ck_assert_int_eq(query_int("SELECT count(*) FROM case_blobs WHERE case_id NOT IN "
				   "(SELECT id FROM cases)",
				   NULL),
			 0);
	ck_assert_int_eq(query_int("SELECT count(*) FROM case_sources WHERE case_id NOT IN "
				   "(SELECT id FROM cases)",
				   NULL),
			 0);
	/* The reference stays only in the history, ending with "purged". */
	ck_assert_int_eq(query_int("SELECT count(*) FROM events WHERE ref = ?1 AND action = "
				   "'purged' AND detail IS NULL",
				   recent),
			 1);
	g_autofree char *history = history_text(recent);
	ck_assert(g_regex_match_simple("purged\\|\\|[^\\n]+\\n$", history, 0, 0));
	g_autofree char *audit = NULL;
	ck_assert_int_eq(canary(&audit, NULL, "audit", "--verify", NULL), 0);
}
END_TEST

/* --- Notes never on the command line -------------------------------------- */

START_TEST(test_note_refused_on_the_command_line)
{
	import_all();
	g_autofree char *ref = first_with_status("new");
	static const char *const options[] = {"--note", "-n"};
	for (size_t i = 0; i < G_N_ELEMENTS(options); i++) {
		g_autofree char *err = NULL;
		ck_assert_int_eq(canary(NULL, &err, "status", ref, "closed", options[i],
					"Secret-Wombat-1", NULL),
				 2);
		ck_assert_ptr_nonnull(strstr(err, "--note TEXT is refused"));
		ck_assert_ptr_nonnull(strstr(err, "/proc"));
		ck_assert_ptr_nonnull(strstr(err, "shell history"));
		ck_assert_ptr_nonnull(strstr(err, "--note-file FILE"));
		ck_assert_ptr_nonnull(strstr(err, "$EDITOR"));
	}
	/* Nothing changed, nothing recorded. */
	g_autoptr(JsonParser) parser = json_parser_new();
	JsonArray *news = list_json(parser, "--status", "new", NULL, NULL);
	ck_assert_str_eq(member(news, 0, "ref"), ref);
	g_autofree char *history = history_text(ref);
	ck_assert_ptr_null(strstr(history, "status"));

	/* --note-file: a missing, an empty, a non-UTF-8 and a too long file are
	 * refused, naming the file and what is expected. */
	g_autofree char *missing = g_build_filename(tmpdir, "no-such-note", NULL);
	g_autofree char *empty = note_file(" \n\n");
	g_autofree char *latin1 = note_file("caf\xe9\n");
	g_autofree char *big = g_strnfill(64 * 1024 + 1, 'x');
	g_autofree char *too_long = note_file(big);
	const struct {
		const char *path, *says;
	} bad[] = {{missing, "no-such-note"},
		   {empty, "empty"},
		   {latin1, "UTF-8"},
		   {too_long, "longer than 64 KiB"}};
	for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
		g_autofree char *err = NULL;
		ck_assert_int_eq(canary(NULL, &err, "status", ref, "closed", "--note-file",
					bad[i].path, NULL),
				 2);
		ck_assert_msg(strstr(err, bad[i].says) != NULL, "expected '%s' in: %s", bad[i].says,
			      err);
	}
	g_autofree char *history2 = history_text(ref);
	ck_assert_ptr_null(strstr(history2, "status"));

	/* From standard input, with CRLF line ends: sealed, shown, never in
	 * clear in the database. */
	g_autofree char *err = NULL;
	ck_assert_msg(status_note_stdin(ref, "closed", "Stdin-Pangolin-2208 first\r\nsecond\r\n",
					&err) == 0,
		      "%s", err);
	g_autofree char *show = NULL;
	ck_assert_int_eq(canary(&show, NULL, "show", ref, "--key", section_key, "--passphrase-file",
				passphrase, NULL),
			 0);
	ck_assert_ptr_nonnull(strstr(show, "Stdin-Pangolin-2208 first\n     second\n"));
	g_autofree char *wal = g_strconcat(db_path, "-wal", NULL);
	ck_assert_uint_eq(tu_count_in_file(db_path, "Pangolin", 8), 0);
	ck_assert_uint_eq(tu_count_in_file(wal, "Pangolin", 8), 0);
}
END_TEST

/* Runs "canary status REF STATUS" on a new pseudo-terminal, as an officer
 * at a terminal would, with ENV ("K=V", NULL-terminated) added and VISUAL
 * removed. Returns the exit status; *OUT_R is what the terminal showed. */
static int status_on_terminal(const char *ref, const char *status, const char *const *env,
			      char **out_r)
{
	int master = posix_openpt(O_RDWR | O_NOCTTY);
	ck_assert_int_ge(master, 0);
	ck_assert_int_eq(grantpt(master), 0);
	ck_assert_int_eq(unlockpt(master), 0);
	g_autofree char *slave = g_strdup(ptsname(master));
	g_auto(GStrv) envp = g_environ_unsetenv(g_get_environ(), "VISUAL");
	for (size_t i = 0; env[i] != NULL; i++) {
		g_auto(GStrv) kv = g_strsplit(env[i], "=", 2);
		envp = g_environ_setenv(envp, kv[0], kv[1], TRUE);
	}
	const char *argv[] = {CANARY_TOOL_PATH, "status", ref, status, "-c", config_path, NULL};
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		setsid(); /* the terminal becomes this process's own */
		int fd = open(slave, O_RDWR);
		if (fd < 0)
			_exit(126);
		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		close(master);
		execve(CANARY_TOOL_PATH, (char **)argv, envp);
		_exit(127);
	}
	GString *out = g_string_new(NULL);
	for (;;) {
		char buf[4096];
		ssize_t n = read(master, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break; /* EIO: the last holder of the terminal is gone */
		g_string_append_len(out, buf, n);
	}
	close(master);
	int wstatus = 0;
	ck_assert_int_eq(waitpid(pid, &wstatus, 0), pid);
	*out_r = g_string_free(out, FALSE);
	return WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : -1;
}

START_TEST(test_note_from_editor)
{
	import_all();
	g_autofree char *ref = first_with_status("new");
	g_autofree char *run = g_build_filename(tmpdir, "run", NULL);
	ck_assert_int_eq(g_mkdir_with_parents(run, 0700), 0);
	g_autofree char *log = g_build_filename(tmpdir, "editor.log", NULL);
	/* A scripted editor: notes where and how the note's file was made and
	 * what it held, leaves a swap file as vi would, writes the note. */
	g_autofree char *editor = tu_write_file(
		tmpdir, "editor.sh",
		"set -e\n"
		"{ echo \"$1\"; stat -c %a \"$1\"; stat -c %a \"$(dirname \"$1\")\";\n"
		"  cat \"$1\"; } > \"$EDITOR_LOG\"\n"
		"echo \"swap $NOTE_TEXT\" > \"$(dirname \"$1\")/.note.txt.swp\"\n"
		"printf '%s' \"$NOTE_TEXT\" > \"$1\"\n"
		"exit \"${EDITOR_EXIT:-0}\"\n");
	g_autofree char *editor_env = g_strdup_printf("EDITOR=sh %s", editor);
	g_autofree char *run_env = g_strdup_printf("XDG_RUNTIME_DIR=%s", run);
	g_autofree char *log_env = g_strdup_printf("EDITOR_LOG=%s", log);

	const char *env[] = {editor_env, run_env, log_env,
			     "NOTE_TEXT=# left out\nEditor-Wombat-4471 line one\nline two\n", NULL};
	g_autofree char *out = NULL;
	ck_assert_msg(status_on_terminal(ref, "closed", env, &out) == 0, "%s", out);
	ck_assert_ptr_nonnull(strstr(out, "(note 1 added)"));
	g_autofree char *seen = NULL;
	ck_assert(g_file_get_contents(log, &seen, NULL, NULL));
	g_auto(GStrv) lines = g_strsplit(seen, "\n", -1);
	g_autofree char *prefix = g_build_filename(run, "canary-note-", NULL);
	ck_assert_msg(g_str_has_prefix(lines[0], prefix), "note file at %s", lines[0]);
	ck_assert_str_eq(lines[1], "600"); /* the file */
	ck_assert_str_eq(lines[2], "700"); /* its directory */
	ck_assert_ptr_nonnull(strstr(seen, "# Note for case "));
	ck_assert_ptr_nonnull(strstr(seen, ref));
	/* The file, its directory and the editor's swap file are gone. */
	g_autofree char *note_dir = g_path_get_dirname(lines[0]);
	ck_assert(!g_file_test(note_dir, G_FILE_TEST_EXISTS));
	g_autoptr(GDir) left = g_dir_open(run, 0, NULL);
	ck_assert_ptr_null(g_dir_read_name(left));

	g_autofree char *show = NULL;
	ck_assert_int_eq(canary(&show, NULL, "show", ref, "--key", section_key, "--passphrase-file",
				passphrase, NULL),
			 0);
	ck_assert_ptr_nonnull(strstr(show, "Editor-Wombat-4471 line one\n     line two\n"));
	ck_assert_ptr_null(strstr(show, "left out"));
	g_autofree char *wal = g_strconcat(db_path, "-wal", NULL);
	ck_assert_uint_eq(tu_count_in_file(db_path, "Editor-Wombat", 13), 0);
	ck_assert_uint_eq(tu_count_in_file(wal, "Editor-Wombat", 13), 0);

	/* An editor that fails changes nothing; its file goes all the same. */
	const char *failing[] = {editor_env,      run_env, log_env, "NOTE_TEXT=half a note",
				 "EDITOR_EXIT=3", NULL};
	g_autofree char *out2 = NULL;
	ck_assert_int_eq(status_on_terminal(ref, "open", failing, &out2), 1);
	ck_assert_ptr_nonnull(strstr(out2, "nothing was changed"));
	g_autoptr(GDir) left2 = g_dir_open(run, 0, NULL);
	ck_assert_ptr_null(g_dir_read_name(left2));
	g_autofree char *history = history_text(ref);
	ck_assert_ptr_null(strstr(history, "status open"));

	/* Nothing written (only the comments): the status alone. */
	const char *nothing[] = {editor_env, run_env, log_env, "NOTE_TEXT=# nothing\n", NULL};
	g_autofree char *out3 = NULL;
	ck_assert_msg(status_on_terminal(ref, "open", nothing, &out3) == 0, "%s", out3);
	g_autofree char *history2 = history_text(ref);
	ck_assert_ptr_nonnull(strstr(history2, "status closed|note 1|"));
	ck_assert_ptr_nonnull(strstr(history2, "status open||"));
}
END_TEST

/* --- Hostile text ---------------------------------------------------------- */

/* The subjects of tests/data/mail/hostile-print-*.eml, decoded. */
#define HOSTILE_SUBJECT                                                                            \
	"Urgent\r\nPseudonym: P-FAKE-0000\r\nAttachments: none \xe2\x80\xae \xe2\x80\xa8 "         \
	"\xc2\x85 \xc2\x9b \x1b[2J end"
#define HOSTILE_RAW_SUBJECT                                                                        \
	"Raw \x1b[31mred\x1b[0m \xc2\x9b"                                                          \
	"1m and \xe2\x80\xae bidi"

/* Fails when OUT holds a character a terminal would act on (C0 controls
 * but newline, and tab when TABS_OK; DEL, C1, bidi controls, U+2028/2029)
 * or invalid UTF-8. Written apart from lib/text.c, which it checks. */
static void assert_no_raw_controls(const char *what, const char *out, gboolean tabs_ok)
{
	ck_assert_msg(g_utf8_validate(out, -1, NULL), "%s: invalid UTF-8", what);
	for (const char *p = out; *p != '\0'; p = g_utf8_next_char(p)) {
		gunichar c = g_utf8_get_char(p);
		gboolean bad = (c < 0x20 && c != '\n' && !(tabs_ok && c == '\t')) ||
			       (c >= 0x7f && c < 0xa0) || (c >= 0x202a && c <= 0x202e) ||
			       (c >= 0x2066 && c <= 0x2069) || c == 0x200e || c == 0x200f ||
			       c == 0x061c || c == 0x2028 || c == 0x2029;
		ck_assert_msg(!bad, "%s: raw U+%04X at byte %td:\n%s", what, (unsigned)c, p - out,
			      out);
	}
}

/* How many lines of TEXT start with PREFIX. */
static guint lines_starting(const char *text, const char *prefix)
{
	g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
	guint n = 0;
	for (guint i = 0; lines[i] != NULL; i++)
		n += g_str_has_prefix(lines[i], prefix);
	return n;
}

/* TRUE when TEXT has a line equal to LINE. */
static gboolean has_line(const char *text, const char *line)
{
	g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
	for (guint i = 0; lines[i] != NULL; i++) {
		if (strcmp(lines[i], line) == 0)
			return TRUE;
	}
	return FALSE;
}

/* Imports the hostile-print messages; sets the references of the one with
 * the forged lines and of the one with raw control bytes in its headers. */
static void import_hostile(char **forged_r, char **raw_r)
{
	g_autofree char *inbox = g_build_filename(tmpdir, "hostile", NULL);
	g_mkdir_with_parents(inbox, 0700);
	static const char *const names[] = {"hostile-print-subject.eml",
					    "hostile-print-headers.eml"};
	for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
		g_autofree char *rel = g_build_filename("mail", names[i], NULL);
		g_autoptr(GBytes) raw = tu_data_bytes(rel);
		g_autofree char *to = g_build_filename(inbox, names[i], NULL);
		gsize len = 0;
		const char *data = g_bytes_get_data(raw, &len);
		ck_assert(g_file_set_contents(to, data, (gssize)len, NULL));
	}
	g_autofree char *out = NULL, *err = NULL;
	ck_assert_msg(canary(&out, &err, "import", inbox, NULL) == 0, "import: %s", err);
	ck_assert_str_eq(out, "2 cases, 0 quarantined, 0 duplicates\n");

	/* JSON: every string parses back to what the sender wrote, and no raw
	 * C1, bidi or separator character is in the output itself. */
	g_autofree char *json = NULL;
	ck_assert_int_eq(canary(&json, NULL, "list", "--json", "--key", triage_key,
				"--passphrase-file", passphrase, NULL),
			 0);
	assert_no_raw_controls("list --json", json, FALSE);
	ck_assert_ptr_nonnull(strstr(json, "\\u202e"));
	ck_assert_ptr_nonnull(strstr(json, "\\u2028"));
	ck_assert_ptr_nonnull(strstr(json, "\\u0085"));
	ck_assert_ptr_nonnull(strstr(json, "\\u009b"));
	g_autoptr(JsonParser) parser = json_parser_new();
	JsonArray *a = json_node_get_array(parse(parser, json));
	ck_assert_uint_eq(json_array_get_length(a), 2);
	*forged_r = *raw_r = NULL;
	for (guint i = 0; i < 2; i++) {
		const char *subject = member(a, i, "subject");
		if (strcmp(subject, HOSTILE_SUBJECT) == 0)
			*forged_r = g_strdup(member(a, i, "ref"));
		else if (strcmp(subject, HOSTILE_RAW_SUBJECT) == 0)
			*raw_r = g_strdup(member(a, i, "ref"));
	}
	ck_assert_msg(*forged_r != NULL && *raw_r != NULL, "subjects changed:\n%s", json);
}

START_TEST(test_hostile_text_prints_safely)
{
	g_autofree char *forged = NULL, *raw = NULL;
	import_hostile(&forged, &raw);
	/* Metadata in clear is not trusted either: a database in other hands
	 * may hold anything. */
	g_autofree char *sql = g_strdup_printf(
		"UPDATE cases SET assignee = 'ana' || char(27) || '[2J' || char(8238), "
		"rule = 'rule' || char(10) || 'Pseudonym: P-FAKE' WHERE ref = '%s'",
		forged);
	attack(sql);

	/* show: one "Pseudonym:" and one "Attachments" line, the subject on
	 * its line, the body's lines kept, everything else escaped. */
	g_autofree char *show = NULL, *err = NULL;
	ck_assert_msg(canary(&show, &err, "show", forged, "--key", section_key, "--passphrase-file",
			     passphrase, NULL) == 0,
		      "%s", err);
	assert_no_raw_controls("show", show, FALSE);
	ck_assert_uint_eq(lines_starting(show, "Pseudonym:"), 1);
	ck_assert_uint_eq(lines_starting(show, "Attachments"), 1);
	ck_assert(has_line(show, "Assignee:    ana\\x1b[2J\\u202e"));
	ck_assert(has_line(show, "Routed by:   rule\\nPseudonym: P-FAKE"));
	const char *content = strstr(show, "\nSubject:");
	ck_assert_ptr_nonnull(content);
	ck_assert_str_eq(
		content + 1,
		"Subject:     Urgent\\r\\nPseudonym: P-FAKE-0000\\r\\nAttachments: none \\u202e "
		"\\u2028 \\x85 \\x9b \\x1b[2J end\n"
		"\n"
		"First line of the report.\n"
		"\\x1b[2JCleared \\u202e reversed \\u2028 separated \\x85 next \\x9b31m CSI\\x07.\n"
		"Last line.\n"
		"\n"
		"Attachments (canary attachment REF N --key KEY -o DIR):\n"
		"  1. ../../evil\\x1b[2J\\u202etxt.exe  application/octet-stream, 19\n");
	/* Metadata lines above: one "Label: value" line each. */
	g_autofree char *metadata = g_strndup(show, (gsize)(content - show));
	g_auto(GStrv) meta_lines = g_strsplit(metadata, "\n", -1);
	for (guint i = 0; meta_lines[i] != NULL; i++)
		ck_assert_msg(g_regex_match_simple("^[A-Z][a-z ]+: +\\S", meta_lines[i], 0, 0),
			      "not a metadata line: %s", meta_lines[i]);

	g_autofree char *show2 = NULL;
	ck_assert_int_eq(canary(&show2, NULL, "show", raw, "--key", section_key,
				"--passphrase-file", passphrase, NULL),
			 0);
	assert_no_raw_controls("show", show2, TRUE); /* the body's tab stays */
	ck_assert(
		has_line(show2, "Subject:     Raw \\x1b[31mred\\x1b[0m \\x9b1m and \\u202e bidi"));
	ck_assert(has_line(show2, "Body with a tab\there and a bell\\x07."));
	ck_assert(
		g_regex_match_simple("^  1\\. a\\\\\\.\\.\\\\b\\\\x07\\.txt  application/\\S*, 18$",
				     show2, G_REGEX_MULTILINE, 0));

	/* list: one line per case, cells escaped and cut. */
	g_autofree char *table = NULL;
	ck_assert_int_eq(canary(&table, NULL, "list", "--key", triage_key, "--passphrase-file",
				passphrase, NULL),
			 0);
	assert_no_raw_controls("list --key", table, FALSE);
	ck_assert_uint_eq(lines_starting(table, "R-"), 2);
	g_auto(GStrv) table_lines = g_strsplit(table, "\n", -1);
	ck_assert_uint_eq(g_strv_length(table_lines), 5);
	ck_assert_ptr_nonnull(strstr(table, "Urgent\\r\\nPseudonym"));
	/* The assignee's escape shown, whatever the column's width cuts. */
	ck_assert_ptr_nonnull(strstr(table, " ana\\x1b[2"));

	/* history: an actor and an action with controls, from a database in
	 * other hands; JSON gives them back as they are stored. */
	tu_add_event_at(db_path, forged, g_get_real_time() / G_USEC_PER_SEC, "e\x1b[2J\xe2\x80\xae",
			"opened\nstatus closed", "x\xc2\x85y");
	g_autofree char *history = NULL;
	ck_assert_int_eq(canary(&history, NULL, "history", forged, NULL), 0);
	assert_no_raw_controls("history", history, FALSE);
	ck_assert(g_regex_match_simple("^\\S+  e\\\\x1b\\[2J\\\\u202e    opened\\\\nstatus closed "
				       "\\(x\\\\x85y\\)$",
				       history, G_REGEX_MULTILINE, 0));
	g_autofree char *hjson = NULL;
	ck_assert_int_eq(canary(&hjson, NULL, "history", forged, "--json", NULL), 0);
	assert_no_raw_controls("history --json", hjson, FALSE);
	g_autoptr(JsonParser) hp = json_parser_new();
	JsonArray *events = json_node_get_array(parse(hp, hjson));
	guint last = json_array_get_length(events) - 1;
	ck_assert_str_eq(member(events, last, "actor"), "e\x1b[2J\xe2\x80\xae");
	ck_assert_str_eq(member(events, last, "action"), "opened\nstatus closed");
	ck_assert_str_eq(member(events, last, "detail"), "x\xc2\x85y");

	/* list --json gives the tampered metadata back as stored. */
	g_autoptr(JsonParser) lp = json_parser_new();
	JsonArray *all = list_json(lp, NULL, NULL, NULL, NULL);
	guint i = strcmp(member(all, 0, "ref"), forged) == 0 ? 0 : 1;
	ck_assert_str_eq(member(all, i, "ref"), forged);
	ck_assert_str_eq(member(all, i, "assignee"), "ana\x1b[2J\xe2\x80\xae");
	ck_assert_str_eq(member(all, i, "rule"), "rule\nPseudonym: P-FAKE");

	/* Invalid UTF-8 and DEL from the database: U+FFFD and \u007f in JSON,
	 * which stays valid; U+FFFD and \x7f in the table. */
	g_autofree char *bad_sql = g_strdup_printf(
		"UPDATE cases SET assignee = CAST(X'61FF627F63' AS TEXT) WHERE ref = '%s'", raw);
	attack(bad_sql);
	g_autofree char *bad_json = NULL;
	ck_assert_int_eq(canary(&bad_json, NULL, "list", "--json", NULL), 0);
	assert_no_raw_controls("list --json", bad_json, FALSE);
	ck_assert_ptr_nonnull(strstr(bad_json, "\"a\\ufffdb\\u007fc\""));
	g_autoptr(JsonParser) bp = json_parser_new();
	parse(bp, bad_json);
	g_autofree char *bad_table = NULL;
	ck_assert_int_eq(canary(&bad_table, NULL, "list", NULL), 0);
	assert_no_raw_controls("list", bad_table, FALSE);
	ck_assert_ptr_nonnull(strstr(bad_table, " a\xef\xbf\xbd"
						"b\\x7fc "));
}
END_TEST

START_TEST(test_hostile_names_stay_in_the_directory)
{
	g_autofree char *forged = NULL, *raw = NULL;
	import_hostile(&forged, &raw);
	g_autofree char *outer = g_build_filename(tmpdir, "out", NULL);
	g_autofree char *dir = g_build_filename(outer, "inner", NULL);
	g_mkdir_with_parents(dir, 0700);
	const char *refs[] = {forged, raw};
	for (size_t i = 0; i < G_N_ELEMENTS(refs); i++) {
		g_autofree char *out = NULL, *err = NULL;
		ck_assert_msg(canary(&out, &err, "attachment", refs[i], "1", "--key", section_key,
				     "--passphrase-file", passphrase, "-o", dir, NULL) == 0,
			      "%s", err);
		assert_no_raw_controls("attachment", out, FALSE);
		ck_assert_uint_eq(lines_starting(out, "wrote "), 1);
	}
	/* Only the two files, in DIR, under tame names. */
	g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
	g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
	for (const char *name; (name = g_dir_read_name(d)) != NULL;)
		g_ptr_array_add(names, g_strdup(name));
	ck_assert_uint_eq(names->len, 2);
	ck_assert(g_ptr_array_find_with_equal_func(names, "a_.._b_.txt", g_str_equal, NULL));
	ck_assert(g_ptr_array_find_with_equal_func(names, "evil_[2J_txt.exe", g_str_equal, NULL));
	g_autoptr(GDir) o = g_dir_open(outer, 0, NULL);
	ck_assert_str_eq(g_dir_read_name(o), "inner");
	ck_assert_ptr_null(g_dir_read_name(o));
	g_autofree char *escaped = g_build_filename(tmpdir, "evil", NULL);
	ck_assert(!g_file_test(escaped, G_FILE_TEST_EXISTS));

	/* reveal: the sender's name on its one line. */
	g_autofree char *custodian = g_build_filename(tmpdir, "keys", "custodian.key", NULL);
	g_autofree char *who = NULL, *err = NULL;
	ck_assert_msg(canary(&who, &err, "reveal", raw, "--key", custodian, "--passphrase-file",
			     passphrase, NULL) == 0,
		      "%s", err);
	assert_no_raw_controls("reveal", who, FALSE);
	ck_assert_uint_eq(lines_starting(who, "Sender:"), 1);
	ck_assert(has_line(who, "Sender:      Mallory\\r\\nSender: forged\\u2029 "
				"<mallory.hostile@example.net>"));
}
END_TEST

static Suite *triage_suite(void)
{
	Suite *s = suite_create("triage");
	TCase *tc = tcase_create("triage");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_help_and_usage);
	tcase_add_test(tc, test_list_order_filters_and_table);
	tcase_add_test(tc, test_list_with_key_shows_subjects);
	tcase_add_test(tc, test_list_by_pseudonym);
	tcase_add_test(tc, test_assign_status_and_notes);
	tcase_add_test(tc, test_move_reseals);
	tcase_add_test(tc, test_stats);
	tcase_add_test(tc, test_audit_catches_edit);
	tcase_add_test(tc, test_audit_catches_delete);
	tcase_add_test(tc, test_audit_catches_reorder);
	tcase_add_test(tc, test_purge);
	tcase_add_test(tc, test_note_refused_on_the_command_line);
	tcase_add_test(tc, test_note_from_editor);
	tcase_add_test(tc, test_hostile_text_prints_safely);
	tcase_add_test(tc, test_hostile_names_stay_in_the_directory);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run_suite(triage_suite());
}
