/* cmd_history.c: canary history: what was done to a case, when and by whom,
 * from the append-only case history. Needs no key. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "health.h"
#include "triage.h"

/* Prints the events as a table. */
static void print_table(GPtrArray *events)
{
	printf("%-20s  %-16s  %s\n", "WHEN (UTC)", "WHO", "WHAT");
	for (guint i = 0; i < events->len; i++) {
		const struct canary_event *e = events->pdata[i];
		g_autofree char *when = cli_format_time(e->at);
		printf("%-20s  ", when);
		triage_cell(stdout, e->actor, 16);
		fputs("  ", stdout);
		cli_print_line(stdout, e->action);
		if (e->detail != NULL) {
			fputs(" (", stdout);
			cli_print_line(stdout, e->detail);
			fputc(')', stdout);
		}
		fputc('\n', stdout);
	}
}

/* Prints the events as a JSON array. */
static void print_json(GPtrArray *events)
{
	g_autoptr(JsonBuilder) b = json_builder_new();
	json_builder_begin_array(b);
	for (guint i = 0; i < events->len; i++) {
		const struct canary_event *e = events->pdata[i];
		json_builder_begin_object(b);
		triage_json_int(b, "id", e->id);
		triage_json_string(b, "ref", e->ref);
		triage_json_time(b, "at", e->at);
		triage_json_string(b, "actor", e->actor);
		triage_json_string(b, "action", e->action);
		triage_json_string(b, "detail", e->detail);
		json_builder_end_object(b);
	}
	json_builder_end_array(b);
	triage_json_print(b);
}

int cmd_history(int argc, char **argv)
{
	g_auto(cli_common) common = {0};
	gboolean json = FALSE;
	GOptionEntry entries[] = {
		{"json", 0, 0, G_OPTION_ARG_NONE, &json, "Print a JSON array", NULL},
		G_OPTION_ENTRY_NULL};
	if (!cli_parse(&argc, &argv, "REF",
		       "Shows the history of case REF, oldest first: when (UTC), who (Unix user) "
		       "and what. Purged cases keep their history. REF \"database\" shows the "
		       "events about the whole database (backups). Needs no key.",
		       entries, &common))
		return CLI_EXIT_USAGE;
	if (argc != 2) {
		cli_error("history needs one REF (see --help)");
		return CLI_EXIT_USAGE;
	}
	/* "database": the events about the whole database (backups). */
	gboolean database = strcmp(argv[1], CANARY_EVENT_REF_DATABASE) == 0;
	if (!database && !triage_check_ref(argv[1]))
		return CLI_EXIT_USAGE;
	g_autoptr(canary_config) config = cli_load_config(&common);
	if (config == NULL)
		return CLI_EXIT_CONFIG;
	struct canary_store *store = cli_open_store(config);
	if (store == NULL)
		return CLI_EXIT_STORE;
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) events = canary_store_list_events(store, argv[1], &error);
	if (events == NULL) {
		cli_error("%s", error->message);
		canary_store_close(&store);
		return CLI_EXIT_STORE;
	}
	if (events->len == 0 && !database) {
		/* No history: an untouched case, or none at all. */
		g_autoptr(canary_case) c = cli_get_case(store, argv[1]);
		if (c == NULL) {
			canary_store_close(&store);
			return CLI_EXIT_NOT_FOUND;
		}
	}
	canary_store_close(&store);
	if (json)
		print_json(events);
	else
		print_table(events);
	return CLI_EXIT_OK;
}
