/* check_cli.c: the canary command end to end, as an admin runs it: real
 * config files, a real database, the built binary. */
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "testutil.h"

static char *tmpdir;
static char *config_path;

static void setup(void)
{
	tmpdir = tu_make_tempdir();
	config_path = tu_make_canary_home(tmpdir, FALSE, NULL);
}

static void teardown(void)
{
	tu_rmtree(tmpdir);
	g_clear_pointer(&tmpdir, g_free);
	g_clear_pointer(&config_path, g_free);
}

/* Runs "canary COMMAND ARGS... -c CONFIG" on this test's home. */
#define canary(out_r, err_r, ...) tu_run_canary(config_path, out_r, err_r, __VA_ARGS__)

/* Parses canary list --json output into an array. */
static JsonArray *list_json(JsonParser *parser)
{
	g_autofree char *out = NULL, *err = NULL;
	ck_assert_int_eq(canary(&out, &err, "list", "--json", NULL), 0);
	g_autoptr(GError) error = NULL;
	ck_assert_msg(json_parser_load_from_data(parser, out, -1, &error), "json: %s",
		      error ? error->message : "?");
	JsonNode *root = json_parser_get_root(parser);
	ck_assert(JSON_NODE_HOLDS_ARRAY(root));
	return json_node_get_array(root);
}

START_TEST(test_help)
{
	g_autofree char *out = NULL;
	const char *argv[] = { CANARY_TOOL_PATH, "--help", NULL };
	ck_assert_int_eq(tu_run(argv, NULL, &out, NULL), 0);
	ck_assert_ptr_nonnull(strstr(out, "import"));
	ck_assert_ptr_nonnull(strstr(out, "check-config"));
	static const char *const commands[] = { "import", "list", "check-config", "show",
						"reveal", "attachment", "keygen" };
	for (size_t i = 0; i < G_N_ELEMENTS(commands); i++) {
		g_autofree char *help = NULL;
		const char *sub[] = { CANARY_TOOL_PATH, commands[i], "--help", NULL };
		ck_assert_int_eq(tu_run(sub, NULL, &help, NULL), 0);
		ck_assert_ptr_nonnull(strstr(help, "--config"));
	}
	const char *bad[] = { CANARY_TOOL_PATH, "no-such-command", NULL };
	ck_assert_int_eq(tu_run(bad, NULL, NULL, NULL), 2);
	const char *bad_option[] = { CANARY_TOOL_PATH, "list", "--no-such-option", NULL };
	ck_assert_int_eq(tu_run(bad_option, NULL, NULL, NULL), 2);
}
END_TEST

START_TEST(test_check_config)
{
	g_autofree char *out = NULL;
	ck_assert_int_eq(canary(&out, NULL, "check-config", NULL), 0);

	g_autofree char *bad = tu_write_file(tmpdir, "bad.conf",
					     "[store]\ndatabase = x.db\ncolour = blue\n"
					     "[limits]\nmax_message_size = 50 MB\n");
	g_autofree char *err = NULL;
	const char *argv[] = { CANARY_TOOL_PATH, "check-config", "-c", bad, NULL };
	ck_assert_int_eq(tu_run(argv, NULL, NULL, &err), 1);
	ck_assert_ptr_nonnull(strstr(err, "[store] colour"));
	ck_assert_ptr_nonnull(strstr(err, "[limits] max_message_size"));
	ck_assert_ptr_nonnull(strstr(err, "bad.conf"));

	/* $CANARY_CONFIG is used when -c is not given. */
	g_autofree char *env = g_strdup_printf("CANARY_CONFIG=%s", bad);
	const char *envp[] = { env, NULL };
	const char *no_c[] = { CANARY_TOOL_PATH, "check-config", NULL };
	ck_assert_int_eq(tu_run(no_c, envp, NULL, NULL), 1);
}
END_TEST

/* A config named by a relative path works as by its absolute one. */
START_TEST(test_relative_config_path)
{
	g_autofree char *dir = g_path_get_dirname(config_path);
	g_autofree char *name = g_path_get_basename(config_path);
	g_autofree char *dotted = g_build_filename(".", name, NULL);
	ck_assert_int_eq(chdir(dir), 0);
	const char *const names[] = {name, dotted};
	for (gsize i = 0; i < G_N_ELEMENTS(names); i++) {
		const char *check[] = {CANARY_TOOL_PATH, "check-config", "-c", names[i], NULL};
		g_autofree char *check_err = NULL;
		ck_assert_msg(tu_run(check, NULL, NULL, &check_err) == 0, "%s", check_err);
		const char *list[] = {CANARY_TOOL_PATH, "list", "-c", names[i], NULL};
		g_autofree char *list_err = NULL;
		ck_assert_msg(tu_run(list, NULL, NULL, &list_err) == 0, "%s", list_err);
	}
}
END_TEST

START_TEST(test_import_mixed_folder_twice)
{
	g_autofree char *inbox = g_build_filename(tmpdir, "inbox", NULL);
	guint n = tu_copy_data_messages("demo", inbox) + tu_copy_data_messages("mail", inbox);
	ck_assert_uint_gt(n, 20);

	g_autofree char *out = NULL, *err = NULL;
	ck_assert_msg(canary(&out, &err, "import", inbox, NULL) == 0, "import: %s", err);
	guint cases = 0, quarantined = 0, duplicates = 0;
	ck_assert_int_eq(sscanf(out, "%u cases, %u quarantined, %u duplicates", &cases,
				&quarantined, &duplicates),
			 3);
	/* Some corpus files may be byte-identical; every file is a case or a duplicate. */
	ck_assert_uint_eq(cases + duplicates, n);
	ck_assert_uint_ge(quarantined, 2);

	g_autofree char *out2 = NULL;
	ck_assert_int_eq(canary(&out2, NULL, "import", inbox, NULL), 0);
	g_autofree char *expected = g_strdup_printf("0 cases, 0 quarantined, %u duplicates\n", n);
	ck_assert_str_eq(out2, expected);

	g_autoptr(JsonParser) parser = json_parser_new();
	JsonArray *list = list_json(parser);
	ck_assert_uint_eq(json_array_get_length(list), cases);
	guint seen_quarantined = 0;
	for (guint i = 0; i < json_array_get_length(list); i++) {
		JsonObject *o = json_array_get_object_element(list, i);
		ck_assert(g_str_has_prefix(json_object_get_string_member(o, "ref"), "R-"));
		/* The day and a size class only: no exact time or size without a key. */
		ck_assert(g_regex_match_simple("^[0-9]{4}-[0-9]{2}-[0-9]{2}$",
					       json_object_get_string_member(o, "received"), 0, 0));
		ck_assert(!json_object_has_member(o, "received_at"));
		ck_assert(!json_object_has_member(o, "ingested_at"));
		ck_assert(!json_object_has_member(o, "size"));
		ck_assert(!json_object_has_member(o, "pseudonym"));
		ck_assert_str_eq(json_object_get_string_member(o, "section"), "triage");
		ck_assert(json_object_has_member(o, "attachments"));
		const char *size_class = json_object_get_string_member(o, "size_class");
		ck_assert(g_regex_match_simple("^(<|>=)[0-9]+[KM]$", size_class, 0, 0));
		const char *status = json_object_get_string_member(o, "status");
		JsonNode *reason = json_object_get_member(o, "quarantine_reason");
		if (strcmp(status, "quarantined") == 0) {
			seen_quarantined++;
			ck_assert(!JSON_NODE_HOLDS_NULL(reason));
		} else {
			ck_assert_str_eq(status, "new");
			ck_assert(JSON_NODE_HOLDS_NULL(reason));
		}
	}
	ck_assert_uint_eq(seen_quarantined, quarantined);

	/* The table has one line per case plus a header and a count. */
	g_autofree char *table = NULL;
	ck_assert_int_eq(canary(&table, NULL, "list", "--status", "quarantined", NULL), 0);
	g_auto(GStrv) lines = g_strsplit(table, "\n", -1);
	ck_assert_uint_eq(g_strv_length(lines), quarantined + 3);
	for (guint i = 0; lines[i] != NULL; i++)
		ck_assert_uint_le(strlen(lines[i]), 100);
	ck_assert_ptr_null(strstr(lines[0], "PSEUDONYM"));

	/* The pseudonyms are sealed: without a key, none is listed. */
	g_autofree char *all = NULL;
	ck_assert_int_eq(canary(&all, NULL, "list", "--status", "new", NULL), 0);
	ck_assert(!g_regex_match_simple("P-[0-9A-Z]{4}-[0-9A-Z]{4}", all, 0, 0));

	struct stat st;
	g_autofree char *db = g_build_filename(tmpdir, "state", "canary.db", NULL);
	ck_assert_int_eq(stat(db, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0600);
}
END_TEST

/* The crafted message of issue 13: one-letter words, and 2,600 addresses with
 * one-letter names in each of From, Sender and Reply-To. */
static void write_crafted(const char *dir, gsize body_bytes)
{
	GString *m = g_string_new(NULL);
	const char *headers[] = { "From", "Sender", "Reply-To" };
	for (gsize h = 0; h < G_N_ELEMENTS(headers); h++) {
		g_string_append_printf(m, "%s: ", headers[h]);
		for (guint i = 0; i < 2600; i++)
			g_string_append_printf(m, "%s%c <%c%u@example.org>", i > 0 ? ",\n " : "",
					       'a' + i % 26, headers[h][0], i);
		g_string_append_c(m, '\n');
	}
	g_string_append(m, "Subject: crafted\n\n");
	for (gsize i = 0; m->len < body_bytes; i++)
		g_string_append_printf(m, "%c%c", 'a' + (int)(i % 26), i % 36 == 35 ? '\n' : ' ');
	g_autofree char *path = tu_write_file(dir, "crafted.eml", m->str);
	g_string_free(m, TRUE);
}

/* Runs COMMAND (show or reveal) on every case with keys/KEY.key; all outputs joined. */
static char *every_case(JsonArray *cases, const char *command, const char *key)
{
	g_autofree char *key_file = g_strdup_printf("%s.key", key);
	g_autofree char *k = g_build_filename(tmpdir, "keys", key_file, NULL);
	g_autofree char *p = g_build_filename(tmpdir, "passphrase", NULL);
	GString *all = g_string_new(NULL);
	for (guint i = 0; i < json_array_get_length(cases); i++) {
		const char *ref = json_object_get_string_member(
			json_array_get_object_element(cases, i), "ref");
		g_autofree char *out = NULL, *err = NULL;
		ck_assert_msg(canary(&out, &err, command, ref, "--key", k, "--passphrase-file", p,
				     NULL) == 0,
			      "%s: %s", command, err);
		g_string_append(all, out);
	}
	return g_string_free(all, FALSE);
}

/* Only the submitter is recorded and scrubbed (tests/data/mail/identity-*.eml),
 * and the crafted message is one case, its addresses capped. */
START_TEST(test_import_only_the_submitter)
{
	g_autofree char *inbox = g_build_filename(tmpdir, "inbox", NULL);
	g_mkdir_with_parents(inbox, 0700);
	static const char *const files[] = { "forward-inline", "forward-rfc822", "bounce",
					     "list",	       "phones-amounts", "urls" };
	for (gsize i = 0; i < G_N_ELEMENTS(files); i++) {
		g_autofree char *name = g_strdup_printf("mail/identity-%s.eml", files[i]);
		g_autoptr(GBytes) raw = tu_data_bytes(name);
		g_autofree char *to = g_build_filename(inbox, name + 5, NULL);
		ck_assert(g_file_set_contents(to, g_bytes_get_data(raw, NULL),
					      (gssize)g_bytes_get_size(raw), NULL));
	}
	write_crafted(inbox, 300 * 1000);

	g_autofree char *out = NULL, *err = NULL;
	ck_assert_msg(canary(&out, &err, "import", inbox, NULL) == 0, "import: %s", err);
	ck_assert_str_eq(out, "7 cases, 0 quarantined, 0 duplicates\n");

	g_autoptr(JsonParser) parser = json_parser_new();
	JsonArray *cases = list_json(parser);
	ck_assert_uint_eq(json_array_get_length(cases), 7);
	g_autofree char *revealed = every_case(cases, "reveal", "custodian");
	static const char *const others[] = { "karim", "Karim", "leila", "omar.farouk",
					      "rights-watch", "103349", "1997",
					      "2000 miles" };
	for (gsize i = 0; i < G_N_ELEMENTS(others); i++)
		ck_assert_msg(strstr(revealed, others[i]) == NULL, "%s recorded:\n%s", others[i],
			      revealed);
	ck_assert_ptr_nonnull(strstr(revealed, "7736 more addresses or numbers, not recorded"));
	ck_assert_ptr_nonnull(strstr(revealed, "+221 77 123 45 67"));

	g_autofree char *shown = every_case(cases, "show", "section");
	static const char *const kept[] = {
		"From: Karim Haddad <karim.haddad@example.net>", "Tel: +961 3 123 456",
		"leila.private@mail.example.net", "<omar.farouk@example.net>",
		"rights-watch@lists.example.org", "103349.35 (USD)", "1997 (2000 miles",
		"http://amina.example.org/diallo/photos",
	};
	for (gsize i = 0; i < G_N_ELEMENTS(kept); i++)
		ck_assert_msg(strstr(shown, kept[i]) != NULL, "%s scrubbed:\n%s", kept[i], shown);
	ck_assert_ptr_null(strstr(shown, "Diallo"));
	ck_assert_ptr_null(strstr(shown, "+221 77 123 45 67"));
}
END_TEST

START_TEST(test_import_mbox_and_maildir)
{
	g_autofree char *mbox = tu_write_file(
		tmpdir, "archive.mbox",
		"From someone@example.org Mon Jan  5 10:00:00 2026\n"
		"From: A <a@example.org>\nSubject: one\n\nfirst\n\n"
		"From someone@example.org Mon Jan  5 11:00:00 2026\n"
		"From: B <b@example.org>\nSubject: two\n\nsecond\n>From the start\n");
	g_autofree char *maildir = g_build_filename(tmpdir, "Maildir", NULL);
	g_autofree char *new_dir = g_build_filename(maildir, "new", NULL);
	g_autofree char *cur_dir = g_build_filename(maildir, "cur", NULL);
	g_autofree char *tmp_dir = g_build_filename(maildir, "tmp", NULL);
	g_mkdir_with_parents(new_dir, 0700);
	g_mkdir_with_parents(cur_dir, 0700);
	g_mkdir_with_parents(tmp_dir, 0700);
	g_autofree char *m1 = tu_write_file(new_dir, "1.host", "From: c@example.org\n\nthree\n");
	g_autofree char *m2 =
		tu_write_file(cur_dir, "2.host:2,S", "From: d@example.org\n\nfour\n");
	g_autofree char *m3 = tu_write_file(tmp_dir, "3.host", "From: e@example.org\n\nhalf\n");

	g_autofree char *out = NULL, *err = NULL;
	ck_assert_msg(canary(&out, &err, "import", mbox, maildir, NULL) == 0, "%s", err);
	ck_assert_str_eq(out, "4 cases, 0 quarantined, 0 duplicates\n");
}
END_TEST

/* import reports each file and folder it leaves out and why, and ends with
 * a summary on stderr; an mbox whose separators lack the empty line before
 * them gives all its 29 cases; --subfolders adds the Maildir's archive but
 * never its sent folder. */
START_TEST(test_import_reports_what_it_skips)
{
	g_autofree char *old = g_build_filename(tmpdir, "old", NULL);
	g_autofree char *maildir = g_build_filename(old, "Maildir", NULL);
	g_autofree char *cur = g_build_filename(maildir, "cur", NULL);
	g_autofree char *archive = g_build_filename(maildir, ".Archive", "cur", NULL);
	g_autofree char *sent = g_build_filename(maildir, ".Sent", "cur", NULL);
	g_mkdir_with_parents(cur, 0700);
	g_mkdir_with_parents(archive, 0700);
	g_mkdir_with_parents(sent, 0700);
	g_autofree char *m1 = tu_write_file(cur, "1.host:2,S", "From: f@example.org\n\ninbox\n");
	g_autofree char *m2 =
		tu_write_file(archive, "2.host:2,S", "From: g@example.org\n\narchived\n");
	g_autofree char *m3 = tu_write_file(sent, "3.host:2,S", "From: office@example.net\n\nreply\n");
	g_autofree char *empty = tu_write_file(old, "empty.eml", "");
	g_autoptr(GBytes) mbox = tu_data_bytes("source/no-blank.mbox");
	g_autofree char *mbox_path = g_build_filename(old, "no-blank.mbox", NULL);
	ck_assert(g_file_set_contents(mbox_path, g_bytes_get_data(mbox, NULL),
				      (gssize)g_bytes_get_size(mbox), NULL));

	g_autofree char *out = NULL, *err = NULL;
	ck_assert_msg(canary(&out, &err, "import", old, NULL) == 0, "%s", err);
	ck_assert_str_eq(out, "30 cases, 0 quarantined, 0 duplicates\n");
	g_autofree char *archive_line = g_strdup_printf(
		"skipped %s/.Archive: Maildir subfolder; give --subfolders to import it\n", maildir);
	g_autofree char *sent_line = g_strdup_printf("skipped %s/.Sent: Maildir subfolder of the "
						     "office's own mail",
						     maildir);
	g_autofree char *empty_line = g_strdup_printf("skipped %s: empty file\n", empty);
	ck_assert_msg(strstr(err, archive_line) != NULL, "%s", err);
	ck_assert_msg(strstr(err, sent_line) != NULL, "%s", err);
	ck_assert_msg(strstr(err, empty_line) != NULL, "%s", err);
	ck_assert_msg(g_str_has_suffix(err, "canary import: 2 files read, 30 messages, 3 skipped\n"),
		      "%s", err);

	g_autofree char *out2 = NULL, *err2 = NULL;
	ck_assert_msg(canary(&out2, &err2, "import", "--subfolders", old, NULL) == 0, "%s", err2);
	ck_assert_str_eq(out2, "1 cases, 0 quarantined, 30 duplicates\n");
	ck_assert_msg(strstr(err2, sent_line) != NULL, "%s", err2);
	ck_assert_msg(strstr(err2, archive_line) == NULL, "%s", err2);
	ck_assert_msg(g_str_has_suffix(err2, "canary import: 3 files read, 31 messages, 2 skipped\n"),
		      "%s", err2);
}
END_TEST

START_TEST(test_import_missing_path_keeps_the_rest)
{
	g_autofree char *inbox = g_build_filename(tmpdir, "inbox", NULL);
	guint n = tu_copy_data_messages("demo", inbox);
	g_autofree char *missing = g_build_filename(tmpdir, "no-such-folder", NULL);
	g_autofree char *out = NULL, *err = NULL;
	ck_assert_int_eq(canary(&out, &err, "import", missing, inbox, NULL), 1);
	ck_assert_ptr_nonnull(strstr(err, "no-such-folder"));
	guint cases = 0;
	ck_assert_int_eq(sscanf(out, "%u cases", &cases), 1);
	ck_assert_uint_eq(cases, n);
}
END_TEST

START_TEST(test_list_rejects_bad_status)
{
	g_autofree char *err = NULL;
	ck_assert_int_eq(canary(NULL, &err, "list", "--status", "pending", NULL), 2);
	ck_assert_ptr_nonnull(strstr(err, "pending"));
}
END_TEST

static Suite *cli_suite(void)
{
	Suite *s = suite_create("cli");
	TCase *tc = tcase_create("cli");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_help);
	tcase_add_test(tc, test_check_config);
	tcase_add_test(tc, test_relative_config_path);
	tcase_add_test(tc, test_import_mixed_folder_twice);
	tcase_add_test(tc, test_import_only_the_submitter);
	tcase_add_test(tc, test_import_mbox_and_maildir);
	tcase_add_test(tc, test_import_reports_what_it_skips);
	tcase_add_test(tc, test_import_missing_path_keeps_the_rest);
	tcase_add_test(tc, test_list_rejects_bad_status);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run_suite(cli_suite());
}
