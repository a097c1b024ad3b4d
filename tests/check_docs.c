/* check_docs.c: the documentation keeps up with the code: every key the
 * config loader accepts is in canary.conf(5), every routing key in
 * canary-routing.conf(5), and every subcommand of canary in canary(1). */
#include <string.h>

#include "config.h"
#include "testutil.h"

static char *read_source(const char *relative)
{
	g_autofree char *path = g_build_filename(CANARY_SOURCE_DIR, relative, NULL);
	char *text = NULL;
	g_autoptr(GError) error = NULL;
	if (!g_file_get_contents(path, &text, NULL, &error))
		ck_abort_msg("%s", error->message);
	return text;
}

/* TRUE if the man page TEXT has a ".B NAME" (or ".BI NAME ...") item, with
 * troff's escaped hyphens. */
static gboolean documents(const char *text, const char *name)
{
	g_autoptr(GString) escaped = g_string_new(NULL);
	for (const char *c = name; *c != '\0'; c++) {
		if (*c == '-')
			g_string_append(escaped, "\\-");
		else
			g_string_append_c(escaped, *c);
	}
	g_autofree char *b = g_strdup_printf("\n.B %s\n", escaped->str);
	g_autofree char *b_args = g_strdup_printf("\n.B %s ", escaped->str);
	g_autofree char *bi = g_strdup_printf("\n.BI \"%s ", escaped->str);
	return strstr(text, b) != NULL || strstr(text, b_args) != NULL || strstr(text, bi) != NULL;
}

START_TEST(test_every_config_key_in_canary_conf_5)
{
	g_autofree char *man = read_source("man/canary.conf.5");
	const struct canary_config_key *known = canary_config_known_keys();
	for (guint i = 0; known[i].key != NULL; i++) {
		g_autofree char *group = g_strdup_printf("\n.SH [%s]\n", known[i].group);
		ck_assert_msg(strstr(man, group) != NULL, "canary.conf(5) has no [%s] section",
			      known[i].group);
		ck_assert_msg(documents(man, known[i].key), "canary.conf(5) lacks [%s] %s",
			      known[i].group, known[i].key);
	}
}
END_TEST

START_TEST(test_every_routing_key_in_canary_routing_conf_5)
{
	g_autofree char *man = read_source("man/canary-routing.conf.5");
	static const char *const keys[] = {
		"country",  "keyword",    "subject_factor", "title", "public_key", "countries",
		"keywords", "recipients", "weight",         "names", "retention", "group",
		"notify",   "notify_digest"};
	for (gsize i = 0; i < G_N_ELEMENTS(keys); i++)
		ck_assert_msg(documents(man, keys[i]), "canary-routing.conf(5) lacks %s", keys[i]);
	/* And the shipped file uses no key the page does not describe. */
	g_autofree char *rules = read_source("conf/routing.conf");
	g_auto(GStrv) lines = g_strsplit(rules, "\n", -1);
	for (gsize i = 0; lines[i] != NULL; i++) {
		const char *line = g_strstrip(lines[i]);
		const char *eq = strchr(line, '=');
		if (*line == '#' || *line == '[' || eq == NULL)
			continue;
		g_autofree char *key = g_strstrip(g_strndup(line, (gsize)(eq - line)));
		ck_assert_msg(documents(man, key), "routing.conf uses undocumented key %s", key);
	}
}
END_TEST

START_TEST(test_every_subcommand_in_canary_1)
{
	g_autofree char *man = read_source("man/canary.1");
	g_autofree char *out = NULL;
	const char *argv[] = {CANARY_TOOL_PATH, "--help", NULL};
	ck_assert_int_eq(tu_run(argv, NULL, &out, NULL), 0);
	g_auto(GStrv) lines = g_strsplit(out, "\n", -1);
	guint n = 0;
	for (gsize i = 0; lines[i] != NULL; i++) {
		/* "  name           summary" */
		if (!g_str_has_prefix(lines[i], "  ") || lines[i][2] == ' ')
			continue;
		g_auto(GStrv) words = g_strsplit(lines[i] + 2, " ", 2);
		ck_assert_msg(documents(man, words[0]), "canary(1) does not describe %s", words[0]);
		n++;
	}
	ck_assert_uint_ge(n, 15);
}
END_TEST

static Suite *docs_suite(void)
{
	Suite *s = suite_create("docs");
	TCase *tc = tcase_create("docs");
	tcase_add_test(tc, test_every_config_key_in_canary_conf_5);
	tcase_add_test(tc, test_every_routing_key_in_canary_routing_conf_5);
	tcase_add_test(tc, test_every_subcommand_in_canary_1);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run_suite(docs_suite());
}
