/* cmd_health.c: canary health: for monitoring. Grades what the daemon
 * recorded in the database, the disk under it and the key files the
 * configuration names; exits 0 ok, 1 warning, 2 critical (as Nagios-style
 * checks expect). Needs no key and only read access to the database. */
#include <stdio.h>

#include "cli.h"
#include "commands.h"
#include "health.h"
#include "triage.h"

static void print_text(GPtrArray *checks, enum canary_health_level overall)
{
	guint counts[3] = {0};
	for (guint i = 0; i < checks->len; i++) {
		const struct canary_health_check *c = checks->pdata[i];
		counts[c->level]++;
		printf("%-8s %s: ", canary_health_level_name(c->level), c->name);
		cli_print_line(stdout, c->message); /* may quote a path or the store */
		fputc('\n', stdout);
	}
	printf("status: %s (%u critical, %u warning, %u ok)\n", canary_health_level_name(overall),
	       counts[CANARY_HEALTH_CRITICAL], counts[CANARY_HEALTH_WARNING],
	       counts[CANARY_HEALTH_OK]);
}

static void print_json(GPtrArray *checks, enum canary_health_level overall)
{
	g_autoptr(JsonBuilder) b = json_builder_new();
	json_builder_begin_object(b);
	triage_json_string(b, "status", canary_health_level_name(overall));
	json_builder_set_member_name(b, "checks");
	json_builder_begin_array(b);
	for (guint i = 0; i < checks->len; i++) {
		const struct canary_health_check *c = checks->pdata[i];
		json_builder_begin_object(b);
		triage_json_string(b, "name", c->name);
		triage_json_string(b, "level", canary_health_level_name(c->level));
		triage_json_string(b, "message", c->message);
		for (guint f = 0; f < c->figures->len; f++) {
			const struct canary_health_figure *fig =
				&g_array_index(c->figures, struct canary_health_figure, f);
			triage_json_int(b, fig->name, fig->value);
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
		       "database cannot be read. Needs no key and only read access to the "
		       "database.",
		       entries, &common))
		return CLI_EXIT_USAGE;
	if (argc > 1) {
		cli_error("health takes no arguments (see --help)");
		return CLI_EXIT_USAGE;
	}
	g_autoptr(GError) error = NULL;
	g_autofree char *path = canary_config_resolve_path(common.config_path);
	/* Missing key files are one of the checks, not a reason not to run. */
	g_autoptr(canary_config) config = canary_config_load_for_health(path, &error);
	if (config == NULL) {
		cli_error("%s", error->message);
		return CLI_EXIT_CONFIG;
	}
	struct canary_store *store = canary_store_open_readonly(config->store.database, &error);
	if (store == NULL) {
		cli_error("%s", error->message);
		return CLI_EXIT_STORE;
	}
	g_autoptr(GPtrArray) checks = canary_health_run(config, store, triage_now(), &error);
	canary_store_close(&store);
	if (checks == NULL) {
		cli_error("%s", error->message);
		return CLI_EXIT_STORE;
	}
	enum canary_health_level overall = canary_health_overall(checks);
	if (json)
		print_json(checks, overall);
	else
		print_text(checks, overall);
	return (int)overall;
}
