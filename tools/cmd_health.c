/* cmd_health.c: canary health: for monitoring. Grades what the daemon
 * recorded in the database, the disk under it and the key files the
 * configuration names; exits 0 ok, 1 warning, 2 critical (as Nagios-style
 * checks expect). canaryd runs the checks (case_rules.c), for admins; needs
 * no key. */
#include <stdio.h>

#include "cli.h"
#include "commands.h"
#include "health.h"
#include "triage.h"

/* One check as canaryd sent it (case_rules.c's health op). */
struct check {
	const char *name, *level, *message; /* borrowed */
	JsonArray *figures;                 /* [[name, value]...], or NULL */
};

static struct check check_of(JsonArray *checks, guint i)
{
	JsonObject *o = cli_element_object(checks, i);
	if (o == NULL)
		return (struct check){"?", "critical", "canaryd sent a malformed check", NULL};
	return (struct check){
		.name = json_object_get_string_member_with_default(o, "name", "?"),
		.level = json_object_get_string_member_with_default(o, "level", "critical"),
		.message = json_object_get_string_member_with_default(o, "message", ""),
		.figures = cli_array_member(o, "figures"),
	};
}

/* The exit code of a level name: 0 ok, 1 warning, 2 critical (anything
 * unknown is critical). */
static enum canary_health_level level_of(const char *name)
{
	for (int level = CANARY_HEALTH_OK; level <= CANARY_HEALTH_CRITICAL; level++)
		if (g_strcmp0(name, canary_health_level_name(level)) == 0)
			return level;
	return CANARY_HEALTH_CRITICAL;
}

static void print_text(JsonArray *checks, enum canary_health_level overall)
{
	guint counts[3] = {0};
	for (guint i = 0; i < json_array_get_length(checks); i++) {
		struct check c = check_of(checks, i);
		enum canary_health_level level = level_of(c.level);
		counts[level]++;
		printf("%-8s ", canary_health_level_name(level));
		cli_print_line(stdout, c.name);
		fputs(": ", stdout);
		cli_print_line(stdout, c.message); /* may quote a path or the store */
		fputc('\n', stdout);
	}
	printf("status: %s (%u critical, %u warning, %u ok)\n", canary_health_level_name(overall),
	       counts[CANARY_HEALTH_CRITICAL], counts[CANARY_HEALTH_WARNING],
	       counts[CANARY_HEALTH_OK]);
}

static void print_json(JsonArray *checks, enum canary_health_level overall)
{
	g_autoptr(JsonBuilder) b = json_builder_new();
	json_builder_begin_object(b);
	triage_json_string(b, "status", canary_health_level_name(overall));
	json_builder_set_member_name(b, "checks");
	json_builder_begin_array(b);
	for (guint i = 0; i < json_array_get_length(checks); i++) {
		struct check c = check_of(checks, i);
		json_builder_begin_object(b);
		triage_json_string(b, "name", c.name);
		triage_json_string(b, "level", canary_health_level_name(level_of(c.level)));
		triage_json_string(b, "message", c.message);
		for (guint f = 0; c.figures != NULL && f < json_array_get_length(c.figures); f++) {
			JsonArray *pair = cli_element_array(c.figures, f);
			if (pair == NULL || json_array_get_length(pair) != 2)
				continue;
			triage_json_int(b, json_array_get_string_element(pair, 0),
					json_array_get_int_element(pair, 1));
		}
		json_builder_end_object(b);
	}
	json_builder_end_array(b);
	json_builder_end_object(b);
	triage_json_print(b);
}

int cmd_health(int argc, char **argv)
{
	g_auto(cli_common) common = {0};
	gboolean json = FALSE;
	GOptionEntry entries[] = {
		{"json", 0, 0, G_OPTION_ARG_NONE, &json, "Print the checks as JSON", NULL},
		G_OPTION_ENTRY_NULL};
	if (!cli_parse(&argc, &argv, "",
		       "Checks that canaryd is polling, that the last pass worked, that no case "
		       "waits too long, that the disk has room, that the key files are in "
		       "place and that a backup was made recently (canary backup). Exits 0 "
		       "(ok), 1 (warning) or 2 (critical); 3 when the configuration, 4 when the "
		       "database cannot be read. Needs no key; canaryd answers admins ([access] "
		       "admin), root and its own user.",
		       entries, &common))
		return CLI_EXIT_USAGE;
	if (argc > 1) {
		cli_error("health takes no arguments (see --help)");
		return CLI_EXIT_USAGE;
	}
	/* Missing key files are one of the checks, not a reason not to run. */
	common.key_files_unchecked = TRUE;
	common.store_must_exist = TRUE;
	int status = CLI_EXIT_OK;
	g_autoptr(canary_client) client = cli_connect(&common, &status);
	if (client == NULL)
		return status;
	g_autoptr(JsonObject) result = cli_call(client, "health", NULL, &status);
	if (result == NULL) {
		/* Exit codes 0-2 are the levels: a store failure keeps 4. */
		return status == CLI_EXIT_FAILED || status == CLI_EXIT_USAGE ? CLI_EXIT_STORE
									     : status;
	}
	JsonArray *list = cli_array_member(result, "checks");
	if (list == NULL) {
		cli_error("canaryd's answer to health has no checks");
		return CLI_EXIT_STORE;
	}
	enum canary_health_level overall = CANARY_HEALTH_OK;
	for (guint i = 0; i < json_array_get_length(list); i++)
		overall = MAX(overall, level_of(check_of(list, i).level));
	if (json)
		print_json(list, overall);
	else
		print_text(list, overall);
	return (int)overall;
}
