/* check_route.c: routing rules: loading and every kind of problem in them,
 * whole-word matching after normalisation in several scripts, longest match
 * where names overlap, scoring (countries over keywords, subject over body,
 * weights), recipients deciding outright, ties and no signal; and the
 * shipped conf/routing.conf against the messages in tests/data/routing. */
#include <json-glib/json-glib.h>
#include <string.h>

#include "mail.h"
#include "route.h"
#include "testutil.h"

static char *tmpdir;

static const char *const rules_text =
	"[scoring]\ncountry = 10\nkeyword = 3\nsubject_factor = 2\n"
	"[section africa]\ntitle = Africa\ncountries = Guinea;South Sudan;Niger;Côte d'Ivoire\n"
	"recipients = reprisals+africa@*\n"
	"[section americas]\ncountries = Venezuela;Nigeria\n"
	"[section asia-pacific]\ncountries = Papua New Guinea\n"
	"[section europe-central-asia]\ncountries = Belarus\n"
	"[section mena]\ncountries = Egypt;Sudan\n"
	"[section special-procedures]\nkeywords = Special Rapporteur;Rapporteur spécial\n"
	"[section quiet]\nkeywords = Lighthouse\nweight = 0\n"
	"[section triage]\n"
	"[country Guinea]\nnames = Guinea;Guinée\n"
	"[country South Sudan]\nnames = South Sudan;Soudan du Sud\n"
	"[country Niger]\nnames = Niger\n"
	"[country Nigeria]\nnames = Nigeria\n"
	"[country Côte d'Ivoire]\nnames = Côte d'Ivoire;Ivory Coast;科特迪瓦\n"
	"[country Venezuela]\nnames = Venezuela\n"
	"[country Papua New Guinea]\nnames = Papua New Guinea;PNG\n"
	"[country Belarus]\nnames = Belarus;Беларусь\n"
	"[country Egypt]\nnames = Egypt;Égypte;مصر;Египет;埃及\n"
	"[country Sudan]\nnames = Sudan\n";

static const char *const sections[] = {
	"africa", "americas",           "asia-pacific", "europe-central-asia",
	"mena",   "special-procedures", "quiet",        "triage"};

/* Writes a key file for every section into DIR/keys (the loader checks
 * they exist; routing never opens them). */
static void write_keys(const char *dir, const char *const *names, gsize n)
{
	g_autofree char *keys = g_build_filename(dir, "keys", NULL);
	g_mkdir_with_parents(keys, 0700);
	for (gsize i = 0; i < n; i++) {
		g_autofree char *name = g_strdup_printf("%s.pub", names[i]);
		g_autofree char *path = tu_write_file(keys, name, "placeholder\n");
	}
}

static void setup(void)
{
	tmpdir = tu_make_tempdir();
	write_keys(tmpdir, sections, G_N_ELEMENTS(sections));
	canary_mail_init();
}

static void teardown(void)
{
	canary_mail_shutdown();
	tu_rmtree(tmpdir);
	g_clear_pointer(&tmpdir, g_free);
}

/* Loads TEXT as routing.conf; returns NULL and the problems in *PROBLEMS_R. */
static struct canary_routing *load(const char *text, char **problems_r)
{
	g_autofree char *path = tu_write_file(tmpdir, "routing.conf", text);
	g_autoptr(GPtrArray) problems = g_ptr_array_new_with_free_func(g_free);
	struct canary_routing *routing = canary_routing_load(path, "triage", problems);
	g_ptr_array_add(problems, NULL);
	if (problems_r != NULL)
		*problems_r = g_strjoinv("\n", (char **)problems->pdata);
	return routing;
}

static struct canary_routing *load_ok(void)
{
	g_autofree char *problems = NULL;
	struct canary_routing *routing = load(rules_text, &problems);
	ck_assert_msg(routing != NULL, "%s", problems);
	return routing;
}

/* Routes a message with SUBJECT, BODY and recipient TO (may be NULL). */
static struct canary_route *route(struct canary_routing *routing, const char *to,
				  const char *subject, const char *body)
{
	/* Raw UTF-8 in the header, as many mailers send it. */
	const char *encoded = subject;
	g_autofree char *raw = g_strdup_printf(
		"From: someone@example.org\r\nTo: %s\r\nSubject: %s\r\nMIME-Version: 1.0\r\n"
		"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n"
		"\r\n%s\r\n",
		to != NULL ? to : "reprisals@example.org", encoded, body);
	g_autoptr(GBytes) bytes = g_bytes_new(raw, strlen(raw));
	g_autoptr(canary_mail) mail = canary_mail_parse(bytes, NULL);
	ck_assert_int_eq(mail->quarantine, CANARY_QUARANTINE_NONE);
	return canary_route_mail(routing, mail);
}

#define assert_routed(routing, to, subject, body, want_section, want_rule)                         \
	do {                                                                                       \
		g_autoptr(canary_route) r_ = route(routing, to, subject, body);                    \
		g_autofree char *why_ = canary_route_describe(r_);                                 \
		ck_assert_msg(strcmp(r_->section, want_section) == 0 &&                            \
				      strcmp(r_->rule, want_rule) == 0,                            \
			      "%s / %s: got %s (%s), expected %s (%s); %s", subject, body,         \
			      r_->section, r_->rule, want_section, want_rule, why_ ? why_ : "");   \
	} while (0)

START_TEST(test_loads_sections_in_order)
{
	struct canary_routing *routing = load_ok();
	const char *const *names = canary_routing_sections(routing);
	for (gsize i = 0; i < G_N_ELEMENTS(sections); i++)
		ck_assert_str_eq(names[i], sections[i]);
	ck_assert_ptr_null(names[G_N_ELEMENTS(sections)]);
	ck_assert_str_eq(canary_routing_default_section(routing), "triage");
	const char *key = canary_routing_section_key(routing, "mena");
	ck_assert(g_str_has_suffix(key, "/keys/mena.pub"));
	ck_assert_ptr_null(canary_routing_section_key(routing, "atlantis"));
	canary_routing_free(routing);
}
END_TEST

START_TEST(test_countries_keywords_and_scores)
{
	struct canary_routing *routing = load_ok();
	assert_routed(routing, NULL, "Report", "I was stopped at the airport in Egypt.", "mena",
		      "country");
	/* A country outweighs a mechanism keyword. */
	assert_routed(routing, NULL, "Special Rapporteur visit",
		      "After I met the Special Rapporteur in Egypt, I was questioned.", "mena",
		      "country");
	assert_routed(routing, NULL, "Report", "I spoke to the Special Rapporteur.",
		      "special-procedures", "keyword");
	/* The subject counts double: Venezuela there beats Belarus in the body. */
	assert_routed(routing, NULL, "Venezuela", "I also travelled through Belarus.", "americas",
		      "country");
	/* A country named many times, or in two languages, counts once. */
	assert_routed(routing, NULL, "Report",
		      "Egypt, Egypt, Égypte, مصر. Also Belarus and Venezuela.", "triage",
		      "default");
	/* No signal, and ties, go to the default section. */
	assert_routed(routing, NULL, "Hello", "Nothing to see here.", "triage", "default");
	assert_routed(routing, NULL, "Report", "Egypt and Venezuela.", "triage", "default");
	/* Weight 0: a section that never wins on score. */
	assert_routed(routing, NULL, "Lighthouse", "Lighthouse keeper.", "triage", "default");
	canary_routing_free(routing);
}
END_TEST

START_TEST(test_whole_words_and_longest_match)
{
	struct canary_routing *routing = load_ok();
	assert_routed(routing, NULL, "Report", "I live in Papua New Guinea.", "asia-pacific",
		      "country");
	assert_routed(routing, NULL, "Report", "A lawyer from South Sudan.", "africa", "country");
	assert_routed(routing, NULL, "Report", "A lawyer from Sudan.", "mena", "country");
	assert_routed(routing, NULL, "Report", "Detained in Niger.", "africa", "country");
	assert_routed(routing, NULL, "Report", "Detained in Nigeria.", "americas", "country");
	/* Inside a longer word, a name is no match. */
	assert_routed(routing, NULL, "Report", "Egyptology and Nigerian food.", "triage",
		      "default");
	assert_routed(routing, NULL, "Report", "Egyptology and Nigeria.", "americas", "country");
	canary_routing_free(routing);
}
END_TEST

START_TEST(test_normalisation_and_scripts)
{
	struct canary_routing *routing = load_ok();
	assert_routed(routing, NULL, "REPORT FROM EGYPT", "", "mena", "country");
	/* Fullwidth letters (NFKC) and another apostrophe. */
	assert_routed(routing, NULL, "Report", "Ｅｇｙｐｔ", "mena", "country");
	assert_routed(routing, NULL, "Report", "Arrêté en Côte d’Ivoire.", "africa", "country");
	assert_routed(routing, NULL, "Rapport", "Le RAPPORTEUR SPÉCIAL a été informé.",
		      "special-procedures", "keyword");
	assert_routed(routing, NULL, "تقرير", "تم احتجازي في مصر بعد الجلسة.", "mena", "country");
	assert_routed(routing, NULL, "Сообщение", "Меня задержали. ЕГИПЕТ.", "mena", "country");
	assert_routed(routing, NULL, "Сообщение", "Я живу в Беларусь", "europe-central-asia",
		      "country");
	/* Chinese has no spaces between words. */
	assert_routed(routing, NULL, "报告", "我在埃及被拘留。", "mena", "country");
	assert_routed(routing, NULL, "报告", "我在科特迪瓦被拘留。", "africa", "country");
	canary_routing_free(routing);
}
END_TEST

START_TEST(test_recipient_decides)
{
	struct canary_routing *routing = load_ok();
	assert_routed(routing, "Reprisals+Africa@Example.org", "Egypt", "Egypt, Egypt.", "africa",
		      "recipient");
	g_autoptr(canary_route) r = route(routing, "reprisals+africa@example.org", "x", "Egypt");
	g_autofree char *why = canary_route_describe(r);
	ck_assert_ptr_nonnull(strstr(why, "recipient address"));
	ck_assert_ptr_nonnull(strstr(why, "Egypt (country Egypt)"));
	canary_routing_free(routing);
}
END_TEST

static void assert_problem(const char *text, const char *expected)
{
	g_autofree char *problems = NULL;
	struct canary_routing *routing = load(text, &problems);
	ck_assert_msg(routing == NULL, "accepted: %s", text);
	ck_assert_msg(strstr(problems, expected) != NULL, "expected \"%s\" in: %s", expected,
		      problems);
	ck_assert_ptr_nonnull(strstr(problems, "routing.conf: "));
}

START_TEST(test_problems_are_named)
{
	assert_problem("[section triage]\n[section mena]\ncountries = Egypt\n"
		       "[section africa]\ncountries = Egypt\n[country Egypt]\nnames = Egypt\n",
		       "[section africa] countries: Egypt is already in section mena");
	assert_problem("[section triage]\n[section mena]\ncountries = Atlantis\n",
		       "[section mena] countries: Atlantis has no [country Atlantis] group");
	assert_problem("[section triage]\n[country Egypt]\nnames = Egypt\n",
		       "[country Egypt]: Egypt is in no section's countries");
	assert_problem("[section triage]\n[sections]\n", "[sections]: unknown group");
	assert_problem("[section triage]\ncolour = blue\n", "[section triage] colour: unknown key");
	assert_problem("[section triage]\nweight = heavy\n",
		       "[section triage] weight: 'heavy' is not a number");
	assert_problem("[scoring]\ncountry = -1\n[section triage]\n",
		       "[scoring] country: '-1' is not a number");
	assert_problem("[section triage]\n[section nowhere]\n", "[section nowhere] public_key: ");
	assert_problem("[section mena]\n", "no [section triage] for the default section");
	assert_problem("[section triage]\n[section mena]\ncountries = Egypt;Sudan\n"
		       "[country Egypt]\nnames = Egypt;Misr\n[country Sudan]\nnames = Misr\n",
		       "[country Sudan] names: 'Misr' is also country Egypt");
	assert_problem("[section triage]\n[section mena]\nkeywords = ...\n",
		       "[section mena] keywords: '...' has no letters or digits");
	assert_problem("[section triage\n", "routing.conf: ");
	assert_problem("[section triage]\nnotify = desk\n",
		       "[section triage] notify: 'desk' is not a mail address");
	assert_problem("[section triage]\nnotify_digest = hourly\n",
		       "[section triage] notify_digest: 'hourly' is not pass or daily");
}
END_TEST

/* A section's notify list: lower-cased addresses, its digest, NULL unset. */
START_TEST(test_section_notify)
{
	g_autofree char *problems = NULL;
	struct canary_routing *routing =
		load("[section triage]\n[section mena]\nnotify = Desk@Example.org; b@example.net\n"
		     "notify_digest = daily\n",
		     &problems);
	ck_assert_msg(routing != NULL, "%s", problems);
	gboolean daily = FALSE;
	const char *const *to = canary_routing_section_notify_full(routing, "mena", &daily);
	ck_assert_ptr_nonnull(to);
	ck_assert_str_eq(to[0], "desk@example.org");
	ck_assert_str_eq(to[1], "b@example.net");
	ck_assert_ptr_null(to[2]);
	ck_assert(daily);
	ck_assert_ptr_null(canary_routing_section_notify(routing, "triage"));
	ck_assert_ptr_null(canary_routing_section_notify(routing, "atlantis"));
	canary_routing_free(routing);
}
END_TEST

/* --- The shipped rules ---------------------------------------------------- */

START_TEST(test_shipped_rules_route_the_test_messages)
{
	g_autofree char *conf = g_build_filename(CANARY_SOURCE_DIR, "conf", "routing.conf", NULL);
	g_autofree char *copy = g_build_filename(tmpdir, "shipped.conf", NULL);
	g_autofree char *text = NULL;
	ck_assert(g_file_get_contents(conf, &text, NULL, NULL));
	ck_assert(g_file_set_contents(copy, text, -1, NULL));
	/* Every section of the shipped file needs a key beside the copy. */
	g_autoptr(GKeyFile) kf = g_key_file_new();
	ck_assert(g_key_file_load_from_data(kf, text, -1, G_KEY_FILE_NONE, NULL));
	g_auto(GStrv) groups = g_key_file_get_groups(kf, NULL);
	g_autoptr(GPtrArray) names = g_ptr_array_new();
	for (gsize i = 0; groups[i] != NULL; i++)
		if (g_str_has_prefix(groups[i], "section "))
			g_ptr_array_add(names, groups[i] + 8);
	write_keys(tmpdir, (const char *const *)names->pdata, names->len);
	g_autoptr(GPtrArray) problems = g_ptr_array_new_with_free_func(g_free);
	struct canary_routing *routing = canary_routing_load(copy, "triage", problems);
	ck_assert_msg(routing != NULL, "%s", problems->len > 0 ? (char *)problems->pdata[0] : "");

	g_autofree char *dir_path = tu_data_path("routing");
	g_autoptr(GDir) dir = g_dir_open(dir_path, 0, NULL);
	ck_assert_ptr_nonnull(dir);
	guint n = 0;
	for (const char *name; (name = g_dir_read_name(dir)) != NULL;) {
		if (!g_str_has_suffix(name, ".eml"))
			continue;
		/* "<section>--<what>.eml" */
		const char *dash = strstr(name, "--");
		ck_assert_ptr_nonnull(dash);
		g_autofree char *expected = g_strndup(name, (gsize)(dash - name));
		g_autofree char *rel = g_build_filename("routing", name, NULL);
		g_autoptr(GBytes) raw = tu_data_bytes(rel);
		g_autoptr(canary_mail) mail = canary_mail_parse(raw, NULL);
		g_autoptr(canary_route) r = canary_route_mail(routing, mail);
		g_autofree char *why = canary_route_describe(r);
		ck_assert_msg(strcmp(r->section, expected) == 0, "%s went to %s (%s): %s", name,
			      r->section, r->rule, why != NULL ? why : "no signal");
		n++;
	}
	ck_assert_uint_ge(n, 15);
	canary_routing_free(routing);
}
END_TEST

/* --- End to end: canary route, import, list, show with per-section keys --- */

static const char *const e2e_rules =
	"[section mena]\npublic_key = keys/section.pub\ncountries = Egypt\n"
	"[section special-procedures]\npublic_key = keys/other.pub\n"
	"keywords = Special Rapporteur\n"
	"[section triage]\npublic_key = keys/triage.pub\n"
	"[country Egypt]\nnames = Egypt;مصر\n";

static char *e2e_home(const char *rules)
{
	g_autofree char *home = g_build_filename(tmpdir, "home", NULL);
	g_mkdir_with_parents(home, 0700);
	g_autofree char *rules_path = tu_write_file(home, "routing.conf", rules);
	return tu_make_canary_home(home, FALSE, "[routing]\nrules = routing.conf\n");
}

static char *write_message(const char *name, const char *subject, const char *body)
{
	g_autofree char *dir = g_build_filename(tmpdir, "inbox", NULL);
	g_mkdir_with_parents(dir, 0700);
	g_autofree char *text = g_strdup_printf(
		"From: Amina <amina@example.org>\nTo: reprisals@example.org\nSubject: %s\n"
		"MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n\n%s\n",
		subject, body);
	return tu_write_file(dir, name, text);
}

START_TEST(test_route_command_and_sections_sealed_apart)
{
	g_autofree char *config = e2e_home(e2e_rules);
	g_autofree char *egypt = write_message("1.eml", "Travel ban", "I live in Egypt.");
	g_autofree char *sr = write_message("2.eml", "Reprisal", "I met the Special Rapporteur.");
	g_autofree char *none = write_message("3.eml", "Hello", "Nothing to route.");

	g_autofree char *out = NULL, *err = NULL;
	ck_assert_msg(tu_run_canary(config, &out, &err, "route", "--json", egypt, NULL) == 0, "%s",
		      err);
	g_autoptr(JsonParser) parser = json_parser_new();
	ck_assert(json_parser_load_from_data(parser, out, -1, NULL));
	JsonObject *o = json_node_get_object(json_parser_get_root(parser));
	ck_assert_str_eq(json_object_get_string_member(o, "section"), "mena");
	ck_assert_str_eq(json_object_get_string_member(o, "rule"), "country");
	JsonObject *scores = json_object_get_object_member(o, "scores");
	ck_assert_int_eq((int)json_object_get_double_member(
				 json_object_get_object_member(scores, "mena"), "score"),
			 10);
	g_autofree char *table = NULL;
	ck_assert_int_eq(tu_run_canary(config, &table, NULL, "route", sr, NULL), 0);
	ck_assert_ptr_nonnull(strstr(table, "section: special-procedures (rule: keyword)"));

	/* Filed cases land in their sections, sealed to those sections' keys. */
	g_autofree char *inbox = g_path_get_dirname(egypt);
	g_autofree char *import_err = NULL;
	ck_assert_msg(tu_run_canary(config, NULL, &import_err, "import", inbox, NULL) == 0, "%s",
		      import_err);
	g_autofree char *list = NULL;
	ck_assert_int_eq(tu_run_canary(config, &list, NULL, "list", "--json", NULL), 0);
	g_autoptr(JsonParser) lp = json_parser_new();
	ck_assert(json_parser_load_from_data(lp, list, -1, NULL));
	JsonArray *cases = json_node_get_array(json_parser_get_root(lp));
	ck_assert_uint_eq(json_array_get_length(cases), 3);
	g_autofree char *home = g_path_get_dirname(config);
	g_autofree char *section_key = g_build_filename(home, "keys", "section.key", NULL);
	g_autofree char *other_key = g_build_filename(home, "keys", "other.key", NULL);
	g_autofree char *pass = g_build_filename(home, "passphrase", NULL);
	guint seen = 0;
	for (guint i = 0; i < json_array_get_length(cases); i++) {
		JsonObject *c = json_array_get_object_element(cases, i);
		const char *ref = json_object_get_string_member(c, "ref");
		const char *section = json_object_get_string_member(c, "section");
		const char *rule = json_object_get_string_member(c, "rule");
		const char *opens = NULL, *not_opens = NULL;
		if (strcmp(section, "mena") == 0) {
			ck_assert_str_eq(rule, "country");
			opens = section_key;
			not_opens = other_key;
		} else if (strcmp(section, "special-procedures") == 0) {
			ck_assert_str_eq(rule, "keyword");
			opens = other_key;
			not_opens = section_key;
		} else {
			ck_assert_str_eq(section, "triage");
			ck_assert_str_eq(rule, "default");
			continue;
		}
		seen++;
		g_autofree char *shown = NULL, *refused = NULL;
		ck_assert_int_eq(tu_run_canary(config, &shown, NULL, "show", ref, "--key", opens,
					       "--passphrase-file", pass, NULL),
				 0);
		/* The terms that routed it are sealed with it, and shown. */
		if (strcmp(section, "mena") == 0)
			ck_assert_msg(
				strstr(shown, "Routing:\n  mena (10): Egypt (country Egypt)") !=
					NULL,
				"%s", shown);
		ck_assert_int_eq(tu_run_canary(config, NULL, &refused, "show", ref, "--key",
					       not_opens, "--passphrase-file", pass, NULL),
				 6);
	}
	ck_assert_uint_eq(seen, 2);
	(void)none;
}
END_TEST

START_TEST(test_check_config_reports_routing_problems)
{
	g_autofree char *config = e2e_home("[section mena]\npublic_key = keys/section.pub\n"
					   "countries = Egypt\n"
					   "[section africa]\npublic_key = keys/nowhere.pub\n"
					   "countries = Egypt\n"
					   "[section triage]\npublic_key = keys/triage.pub\n"
					   "[country Egypt]\nnames = Egypt\n");
	g_autofree char *err = NULL;
	ck_assert_int_eq(tu_run_canary(config, NULL, &err, "check-config", NULL), 1);
	ck_assert_ptr_nonnull(strstr(err, "routing.conf: [section africa] public_key: "));
	ck_assert_ptr_nonnull(strstr(err, "[section africa] countries: Egypt is already in"));
	/* No rules: route says what is missing. */
	g_autofree char *plain =
		tu_write_file(tmpdir, "plain.conf",
			      "[keys]\ncustodian_public = home/keys/custodian.pub\n"
			      "default_section_public = home/keys/section.pub\n"
			      "pseudonym_key = home/keys/pseudonym.key\n");
	g_autofree char *msg = write_message("x.eml", "x", "y");
	g_autofree char *route_err = NULL;
	ck_assert_int_eq(tu_run_canary(plain, NULL, &route_err, "route", msg, NULL), 3);
	ck_assert_ptr_nonnull(strstr(route_err, "no [routing] rules"));
}
END_TEST

static Suite *route_suite(void)
{
	Suite *s = suite_create("route");
	TCase *tc = tcase_create("route");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_loads_sections_in_order);
	tcase_add_test(tc, test_countries_keywords_and_scores);
	tcase_add_test(tc, test_whole_words_and_longest_match);
	tcase_add_test(tc, test_normalisation_and_scripts);
	tcase_add_test(tc, test_recipient_decides);
	tcase_add_test(tc, test_problems_are_named);
	tcase_add_test(tc, test_section_notify);
	tcase_add_test(tc, test_shipped_rules_route_the_test_messages);
	suite_add_tcase(s, tc);
	TCase *e2e = tcase_create("tool");
	tcase_add_checked_fixture(e2e, setup, teardown);
	tcase_set_timeout(e2e, 120);
	tcase_add_test(e2e, test_route_command_and_sections_sealed_apart);
	tcase_add_test(e2e, test_check_config_reports_routing_problems);
	suite_add_tcase(s, e2e);
	return s;
}

int main(void)
{
	return tu_run_suite(route_suite());
}
