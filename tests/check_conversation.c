/* check_conversation.c: follow-ups join their case (issue 15), end to
 * end through the built canary: real config, keys and database. */
#include <glib/gstdio.h>
#include <grp.h>
#include <unistd.h>
#include <json-glib/json-glib.h>
#include <stdio.h>
#include <string.h>

#include "testutil.h"

static char *tmpdir;
static char *config_path;
static char *inbox;

static void setup(void)
{
	tmpdir = tu_make_tempdir();
	config_path = tu_make_canary_home(tmpdir, FALSE, NULL);
	inbox = g_build_filename(tmpdir, "inbox", NULL);
}

static void teardown(void)
{
	tu_rmtree(tmpdir);
	g_clear_pointer(&tmpdir, g_free);
	g_clear_pointer(&config_path, g_free);
	g_clear_pointer(&inbox, g_free);
}

#define canary(out_r, err_r, ...) tu_run_canary(config_path, out_r, err_r, __VA_ARGS__)

/* Imports one message from FROM made of HEADERS (lines ending "\n") and
 * BODY alone (a fresh inbox each time); returns the import's line of
 * counts. */
static char *import_from(const char *from, const char *headers, const char *body)
{
	tu_rmtree(inbox);
	g_mkdir_with_parents(inbox, 0700);
	g_autofree char *name = g_build_filename(inbox, "m.eml", NULL);
	g_autofree char *raw = g_strdup_printf("From: %s\n"
					       "To: intake@example.org\n"
					       "Date: Fri, 04 Dec 2026 10:00:00 +0000\n"
					       "%s\n%s\n",
					       from, headers, body);
	ck_assert(g_file_set_contents(name, raw, -1, NULL));
	char *out = NULL;
	g_autofree char *err = NULL;
	ck_assert_msg(canary(&out, &err, "import", inbox, NULL) == 0, "import: %s", err);
	return out;
}

/* import_from() the case's submitter. */
static char *import_one(const char *headers, const char *body)
{
	return import_from("Nadia Okafor <nadia.okafor@example.net>", headers, body);
}

/* The cases as canary list --json gives them. */
static JsonArray *list_json(JsonParser *parser)
{
	g_autofree char *out = NULL, *err = NULL;
	ck_assert_msg(canary(&out, &err, "list", "--json", NULL) == 0, "list: %s", err);
	ck_assert(json_parser_load_from_data(parser, out, -1, NULL));
	return json_node_get_array(json_parser_get_root(parser));
}

/* "action|detail" of each event of REF, one a line. */
static char *history_text(const char *ref)
{
	g_autofree char *out = NULL, *err = NULL;
	ck_assert_msg(canary(&out, &err, "history", ref, "--json", NULL) == 0, "history: %s", err);
	g_autoptr(JsonParser) parser = json_parser_new();
	ck_assert(json_parser_load_from_data(parser, out, -1, NULL));
	JsonArray *a = json_node_get_array(json_parser_get_root(parser));
	GString *s = g_string_new(NULL);
	for (guint i = 0; i < json_array_get_length(a); i++) {
		JsonObject *e = json_array_get_object_element(a, i);
		const char *detail = json_object_has_member(e, "detail") &&
						     !json_object_get_null_member(e, "detail")
					     ? json_object_get_string_member(e, "detail")
					     : "";
		g_string_append_printf(s, "%s|%s\n", json_object_get_string_member(e, "action"),
				       detail);
	}
	return g_string_free(s, FALSE);
}

/* What canary show REF prints with the section's key. */
static char *show(const char *ref)
{
	g_autofree char *key = g_build_filename(tmpdir, "keys", "section.key", NULL);
	g_autofree char *pass = g_build_filename(tmpdir, "passphrase", NULL);
	char *out = NULL;
	g_autofree char *err = NULL;
	ck_assert_msg(canary(&out, &err, "show", ref, "--key", key, "--passphrase-file", pass,
			     NULL) == 0,
		      "show: %s", err);
	return out;
}

/* The whole database file and its WAL, for leak checks. */
static GString *database_bytes(void)
{
	GString *all = g_string_new(NULL);
	static const char *const files[] = { "canary.db", "canary.db-wal" };
	for (gsize i = 0; i < G_N_ELEMENTS(files); i++) {
		g_autofree char *path = g_build_filename(tmpdir, "state", files[i], NULL);
		char *data = NULL;
		gsize len = 0;
		if (g_file_get_contents(path, &data, &len, NULL))
			g_string_append_len(all, data, (gssize)len);
		g_free(data);
	}
	return all;
}

static gboolean bytes_contain(const GString *hay, const char *needle)
{
	return memmem(hay->str, hay->len, needle, strlen(needle)) != NULL;
}

/* The one case in the store. */
static char *only_ref(void)
{
	g_autofree char *out = NULL, *err = NULL;
	ck_assert_msg(canary(&out, &err, "list", "--json", NULL) == 0, "list: %s", err);
	return tu_only_case_ref(out);
}

START_TEST(test_reply_joins_and_reopens)
{
	g_autofree char *first =
		import_one("Subject: detained lawyer in Kestrel\n"
			   "Message-ID: <first.7731@mail.example.net>\n",
			   "My brother was taken from his office on Monday.");
	ck_assert_str_eq(first, "1 cases, 0 quarantined, 0 duplicates\n");
	g_autofree char *ref = only_ref();
	ck_assert_int_eq(canary(NULL, NULL, "status", ref, "closed", NULL), 0);

	/* The answer names the case's Message-ID (with white space around). */
	g_autofree char *second =
		import_one("Subject: Re: detained lawyer in Kestrel\n"
			   "Message-ID: <second.7732@mail.example.net>\n"
			   "In-Reply-To:  <first.7731@mail.example.net> \n",
			   "He was released this morning, thank you.");
	ck_assert_str_eq(second, "0 cases, 0 quarantined, 0 duplicates, 1 follow-ups\n");
	g_autofree char *again_ref = only_ref();
	ck_assert_str_eq(again_ref, ref);
	g_autofree char *history = history_text(ref);
	ck_assert_msg(strstr(history, "follow-up|message 2, reopened\n") != NULL, "%s", history);

	/* The same bytes again are a duplicate, not message 3. */
	g_autofree char *dup = import_one("Subject: Re: detained lawyer in Kestrel\n"
					  "Message-ID: <second.7732@mail.example.net>\n"
					  "In-Reply-To:  <first.7731@mail.example.net> \n",
					  "He was released this morning, thank you.");
	ck_assert_str_eq(dup, "0 cases, 0 quarantined, 1 duplicates\n");

	/* References alone join too, by the follow-up's own Message-ID. */
	g_autofree char *third =
		import_one("Subject: travel ban\n"
			   "Message-ID: <third.7733@mail.example.net>\n"
			   "References: <unknown.1@example.org> <second.7732@mail.example.net>\n",
			   "The travel ban was lifted.");
	ck_assert_str_eq(third, "0 cases, 0 quarantined, 0 duplicates, 1 follow-ups\n");
	g_autofree char *history3 = history_text(ref);
	ck_assert_msg(strstr(history3, "follow-up|message 3\n") != NULL, "%s", history3);

	/* show prints the conversation in order; list counts it. */
	g_autofree char *shown = show(ref);
	const char *m1 = strstr(shown, "taken from his office");
	const char *m2 = strstr(shown, "--- Message 2 (received ");
	const char *m3 = strstr(shown, "--- Message 3 (received ");
	ck_assert_msg(m1 != NULL && m2 != NULL && m3 != NULL && m1 < m2 && m2 < m3, "%s", shown);
	ck_assert_ptr_nonnull(strstr(m2, "released this morning"));
	ck_assert_ptr_nonnull(strstr(m3, "travel ban was lifted"));
	{
		g_autoptr(JsonParser) parser = json_parser_new();
		JsonObject *o = json_array_get_object_element(list_json(parser), 0);
		ck_assert_int_eq(json_object_get_int_member(o, "messages"), 3);
		ck_assert_int_eq(json_object_get_int_member(o, "news"), 0);
	}
	/* News: a fourth message after this officer's look. */
	g_autofree char *fourth = import_one(
		"Subject: one more\n"
		"Message-ID: <fourth.7734@mail.example.net>\n"
		"In-Reply-To: <first.7731@mail.example.net>\n"
		"MIME-Version: 1.0\n"
		"Content-Type: multipart/mixed; boundary=b1\n",
		"--b1\nContent-Type: text/plain\n\nOne more thing.\n"
		"--b1\nContent-Type: text/plain\nContent-Disposition: attachment; "
		"filename=visa.txt\n\nexit visa granted\n--b1--");
	ck_assert_str_eq(fourth, "0 cases, 0 quarantined, 0 duplicates, 1 follow-ups\n");
	{
		g_autoptr(JsonParser) parser = json_parser_new();
		JsonObject *o = json_array_get_object_element(list_json(parser), 0);
		ck_assert_int_eq(json_object_get_int_member(o, "messages"), 4);
		ck_assert_int_eq(json_object_get_int_member(o, "news"), 1);
		g_autofree char *table = NULL;
		ck_assert_int_eq(canary(&table, NULL, "list", NULL), 0);
		ck_assert_msg(strstr(table, " 4* ") != NULL, "%s", table);
	}
	g_autofree char *shown_again = show(ref);
	ck_assert_ptr_nonnull(strstr(shown_again, "--message 4"));
	/* Its attachment, numbered within message 4. */
	g_autofree char *key = g_build_filename(tmpdir, "keys", "section.key", NULL);
	g_autofree char *pass = g_build_filename(tmpdir, "passphrase", NULL);
	g_autofree char *out_dir = g_build_filename(tmpdir, "out", NULL);
	g_mkdir_with_parents(out_dir, 0700);
	g_autofree char *wrote = NULL, *err = NULL;
	ck_assert_msg(canary(&wrote, &err, "attachment", ref, "1", "--message", "4", "--key", key,
			     "--passphrase-file", pass, "-o", out_dir, NULL) == 0,
		      "attachment: %s", err);
	g_autofree char *saved_path = g_build_filename(out_dir, "visa.txt", NULL);
	g_autofree char *saved = NULL;
	ck_assert(g_file_get_contents(saved_path, &saved, NULL, NULL));
	ck_assert_ptr_nonnull(strstr(saved, "exit visa granted"));
	ck_assert_int_ne(canary(NULL, NULL, "attachment", ref, "2", "--message", "4", "--key",
				key, "--passphrase-file", pass, "-o", out_dir, NULL),
			 0);
	{
		g_autoptr(JsonParser) parser = json_parser_new();
		JsonObject *o = json_array_get_object_element(list_json(parser), 0);
		ck_assert_int_eq(json_object_get_int_member(o, "news"), 0);
	}

	/* Only keyed hashes of the Message-IDs are stored. */
	g_autoptr(GString) db = database_bytes();
	static const char *const secrets[] = { "first.7731", "second.7732", "third.7733",
					       "mail.example.net", "Kestrel", "released",
					       "travel ban" };
	for (gsize i = 0; i < G_N_ELEMENTS(secrets); i++)
		ck_assert_msg(!bytes_contain(db, secrets[i]), "%s in the database", secrets[i]);
}
END_TEST

/* A reference in the subject alone never joins: a new case, the note sealed. */
START_TEST(test_subject_reference_does_not_join)
{
	g_autofree char *first = import_one("Subject: arrest report\n"
					    "Message-ID: <a.1@mail.example.net>\n",
					    "An arrest was reported.");
	g_autofree char *ref = only_ref();
	g_autofree char *subject = g_strdup_printf("Subject: I withdraw my consent %s\n"
						   "Message-ID: <forged.2@example.org>\n",
						   ref);
	g_autofree char *second = import_one(subject, "Please drop the case.");
	ck_assert_str_eq(second, "1 cases, 0 quarantined, 0 duplicates\n");

	g_autoptr(JsonParser) parser = json_parser_new();
	JsonArray *cases = list_json(parser);
	ck_assert_uint_eq(json_array_get_length(cases), 2);
	const char *new_ref = NULL;
	for (guint i = 0; i < 2; i++) {
		const char *r = json_object_get_string_member(
			json_array_get_object_element(cases, i), "ref");
		if (strcmp(r, ref) != 0)
			new_ref = r;
	}
	ck_assert_ptr_nonnull(new_ref);
	g_autofree char *shown = show(new_ref);
	g_autofree char *note =
		g_strdup_printf("subject names %s; not joined: references are not secret", ref);
	ck_assert_msg(strstr(shown, note) != NULL, "%s", shown);
	g_autoptr(GString) db = database_bytes();
	ck_assert(!bytes_contain(db, "subject names"));
	ck_assert(!bytes_contain(db, "withdraw"));
}
END_TEST

/* What canary show REF prints with keys/KEY.key, or NULL when it fails. */
static char *show_with(const char *ref, const char *key_name)
{
	g_autofree char *file = g_strdup_printf("%s.key", key_name);
	g_autofree char *key = g_build_filename(tmpdir, "keys", file, NULL);
	g_autofree char *pass = g_build_filename(tmpdir, "passphrase", NULL);
	char *out = NULL;
	if (canary(&out, NULL, "show", ref, "--key", key, "--passphrase-file", pass, NULL) != 0)
		g_clear_pointer(&out, g_free);
	return out;
}

/* A fresh home with routing rules: mena (keys/section, "Cairo"), and
 * with AFRICA africa (keys/other, "Sahel"), and triage; every role held by
 * this process's group. Returns the routing file's path. */
static char *routed_home(gboolean africa)
{
	const struct group *gr = getgrgid(getgid());
	ck_assert_ptr_nonnull(gr);
	g_autofree char *group = g_strdup(gr->gr_name);
	g_autofree char *africa_rules =
		africa ? g_strdup_printf("[section africa]\npublic_key = keys/other.pub\n"
					 "keywords = Sahel\ngroup = %s\n",
					 group)
		       : g_strdup("");
	g_autofree char *routing = g_strdup_printf(
		"[section mena]\npublic_key = keys/section.pub\nkeywords = Cairo\ngroup = %s\n"
		"%s[section triage]\npublic_key = keys/triage.pub\n",
		group, africa_rules);
	g_autofree char *extra = g_strdup_printf(
		"[routing]\nrules = routing.conf\n[access]\ntriage = %s\ncustodian = %s\n", group,
		group);
	tu_rmtree(tmpdir);
	g_clear_pointer(&config_path, g_free);
	g_mkdir_with_parents(tmpdir, 0700);
	char *routing_path = tu_write_file(tmpdir, "routing.conf", routing);
	config_path = tu_make_canary_home(tmpdir, TRUE, extra);
	return routing_path;
}

/* After a move, the case's follow-ups (before and after it) open with the
 * new section's key, never the old. */
START_TEST(test_follow_ups_move_with_their_case)
{
	g_free(routed_home(TRUE));

	g_autofree char *first = import_one("Subject: lawyer held in Cairo\n"
					    "Message-ID: <m1.9001@mail.example.net>\n",
					    "He was arrested in Cairo.");
	g_autofree char *ref = only_ref();
	g_autofree char *second = import_one("Subject: Re: lawyer held\n"
					     "Message-ID: <m2.9002@mail.example.net>\n"
					     "In-Reply-To: <m1.9001@mail.example.net>\n",
					     "Second message before the move.");
	ck_assert_str_eq(second, "0 cases, 0 quarantined, 0 duplicates, 1 follow-ups\n");
	g_autofree char *key = g_build_filename(tmpdir, "keys", "section.key", NULL);
	g_autofree char *pass = g_build_filename(tmpdir, "passphrase", NULL);
	g_autofree char *err = NULL;
	ck_assert_msg(canary(NULL, &err, "move", ref, "--section", "africa", "--key", key,
			     "--passphrase-file", pass, NULL) == 0,
		      "move: %s", err);
	g_autofree char *third = import_one("Subject: Re: lawyer held\n"
					    "Message-ID: <m3.9003@mail.example.net>\n"
					    "References: <m2.9002@mail.example.net>\n",
					    "Third message after the move.");
	ck_assert_str_eq(third, "0 cases, 0 quarantined, 0 duplicates, 1 follow-ups\n");

	g_autofree char *shown = show_with(ref, "other");
	ck_assert_ptr_nonnull(shown);
	ck_assert_ptr_nonnull(strstr(shown, "Second message before the move."));
	ck_assert_ptr_nonnull(strstr(shown, "Third message after the move."));
	g_autofree char *old = show_with(ref, "section");
	ck_assert_ptr_null(old);
}
END_TEST

/* What canary reveal REF prints with the custodian's key, with ARGS (up to
 * two) after it. */
static char *reveal(const char *ref, const char *arg1, const char *arg2)
{
	g_autofree char *key = g_build_filename(tmpdir, "keys", "custodian.key", NULL);
	g_autofree char *pass = g_build_filename(tmpdir, "passphrase", NULL);
	char *out = NULL;
	g_autofree char *err = NULL;
	ck_assert_msg(canary(&out, &err, "reveal", ref, "--key", key, "--passphrase-file", pass,
			     arg1, arg2, NULL) == 0,
		      "reveal: %s", err);
	return out;
}

/* The attacker who knows a Message-ID of someone's conversation (it is in
 * every copy of the thread) can write into that case: the message joins,
 * but show marks it as from another sender than the first message, and
 * the custodian sees each message's sender with reveal. */
START_TEST(test_other_sender_is_marked)
{
	g_autofree char *first = import_one("Subject: detention in Kestrel\n"
					    "Message-ID: <own.4410@mail.example.net>\n",
					    "I was held for two days after the session.");
	g_autofree char *ref = only_ref();
	g_autofree char *own = import_one("Subject: Re: detention\n"
					  "Message-ID: <own.4411@mail.example.net>\n"
					  "In-Reply-To: <own.4410@mail.example.net>\n",
					  "My lawyer has the papers.");
	ck_assert_str_eq(own, "0 cases, 0 quarantined, 0 duplicates, 1 follow-ups\n");
	g_autofree char *forged =
		import_from("Nadia Okafor <n.okafor@watchers.example.com>",
			    "Subject: Re: detention\n"
			    "Message-ID: <forged.77@watchers.example.com>\n"
			    "References: <own.4410@mail.example.net>\n",
			    "I withdraw my consent, please drop my case.");
	ck_assert_str_eq(forged, "0 cases, 0 quarantined, 0 duplicates, 1 follow-ups\n");

	g_autofree char *shown = show(ref);
	const char *m2 = strstr(shown, "--- Message 2 (received ");
	const char *m3 = strstr(shown, "--- Message 3 (received ");
	ck_assert_msg(m2 != NULL && m3 != NULL, "%s", shown);
	const char *marker = strstr(shown, ", from another sender: ");
	ck_assert_msg(marker != NULL && marker > m3, "%s", shown);
	ck_assert_msg(strstr(marker + 1, ", from another sender: ") == NULL, "%s", shown);

	/* The custodian sees who wrote each message; --message N one alone,
	 * --raw its original. */
	g_autofree char *all = reveal(ref, NULL, NULL);
	const char *r2 = strstr(all, "--- Message 2 (received) ---");
	const char *r3 = strstr(all, "--- Message 3 (received) ---");
	ck_assert_msg(r2 != NULL && r3 != NULL && r2 < r3, "%s", all);
	ck_assert_ptr_nonnull(strstr(r3, "<n.okafor@watchers.example.com>"));
	ck_assert_ptr_null(strstr(all, "Original:"));
	g_autofree char *raw_path = g_build_filename(tmpdir, "message3.eml", NULL);
	g_autofree char *raw_arg = g_strconcat("--raw=", raw_path, NULL);
	g_autofree char *one = reveal(ref, "--message=3", raw_arg);
	ck_assert_msg(strstr(one, "--- Message 3 (received) ---") != NULL, "%s", one);
	ck_assert_ptr_null(strstr(one, "nadia.okafor@example.net"));
	g_autofree char *raw = NULL;
	ck_assert(g_file_get_contents(raw_path, &raw, NULL, NULL));
	ck_assert_ptr_nonnull(strstr(raw, "I withdraw my consent"));
	g_autofree char *history = history_text(ref);
	ck_assert_msg(strstr(history, "reveal|\n") != NULL, "%s", history);
	ck_assert_msg(strstr(history, "reveal|message 3, with raw message\n") != NULL, "%s",
		      history);
	g_autofree char *key = g_build_filename(tmpdir, "keys", "custodian.key", NULL);
	g_autofree char *pass = g_build_filename(tmpdir, "passphrase", NULL);
	g_autofree char *err = NULL;
	ck_assert_int_ne(canary(NULL, &err, "reveal", ref, "--message", "4", "--key", key,
				"--passphrase-file", pass, NULL),
			 0);
	ck_assert_msg(strstr(err, "has 3 messages, not 4") != NULL, "%s", err);
}
END_TEST

/* A follow-up to a case whose section has left the routing rules has no
 * key to be sealed to: it becomes a new case, routed as any new message. */
START_TEST(test_follow_up_after_section_left)
{
	g_autofree char *routing_path = routed_home(FALSE);
	g_autofree char *first = import_one("Subject: lawyer held in Cairo\n"
					    "Message-ID: <gone.1@mail.example.net>\n",
					    "He was arrested in Cairo.");
	g_autofree char *ref = only_ref();

	/* The office closes the section: its rules go. */
	g_autofree char *without = g_strdup("[section triage]\npublic_key = keys/triage.pub\n");
	ck_assert(g_file_set_contents(routing_path, without, -1, NULL));
	g_autofree char *second = import_one("Subject: Re: lawyer held\n"
					     "Message-ID: <gone.2@mail.example.net>\n"
					     "In-Reply-To: <gone.1@mail.example.net>\n",
					     "He is still held.");
	ck_assert_str_eq(second, "1 cases, 0 quarantined, 0 duplicates\n");
	g_autoptr(JsonParser) parser = json_parser_new();
	JsonArray *cases = list_json(parser);
	ck_assert_uint_eq(json_array_get_length(cases), 2);
	for (guint i = 0; i < 2; i++) {
		JsonObject *o = json_array_get_object_element(cases, i);
		gboolean old = strcmp(json_object_get_string_member(o, "ref"), ref) == 0;
		ck_assert_str_eq(json_object_get_string_member(o, "section"),
				 old ? "mena" : "triage");
		ck_assert_int_eq(json_object_get_int_member(o, "messages"), 1);
	}
}
END_TEST

static Suite *conversation_suite(void)
{
	Suite *s = suite_create("conversation");
	TCase *tc = tcase_create("join");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_reply_joins_and_reopens);
	tcase_add_test(tc, test_subject_reference_does_not_join);
	tcase_add_test(tc, test_follow_ups_move_with_their_case);
	tcase_add_test(tc, test_other_sender_is_marked);
	tcase_add_test(tc, test_follow_up_after_section_left);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run_suite(conversation_suite());
}
