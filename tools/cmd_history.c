/* cmd_history.c: canary history: what was done to a case, when and by whom,
 * from the append-only case history, through canaryd (case_rules.c). Needs
 * no key. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "health.h"
#include "triage.h"

/* One event as canaryd sent it (case_rules.c's history op). */
struct event {
	gint64 id, at;
	const char *ref, *actor, *action, *detail; /* borrowed; detail may be NULL */
};

static struct event event_of(JsonArray *events, guint i)
{
	JsonObject *o = cli_element_object(events, i);
	if (o == NULL)
		return (struct event){0};
	return (struct event){
		.id = json_object_get_int_member_with_default(o, "id", 0),
		.at = json_object_get_int_member_with_default(o, "at", 0),
		.ref = json_object_get_string_member_with_default(o, "ref", NULL),
		.actor = json_object_get_string_member_with_default(o, "actor", NULL),
		.action = json_object_get_string_member_with_default(o, "action", NULL),
		.detail = json_object_get_string_member_with_default(o, "detail", NULL),
	};
}

/* Prints the events as a table. */
static void print_table(JsonArray *events)
{
	printf("%-20s  %-16s  %s\n", "WHEN (UTC)", "WHO", "WHAT");
	for (guint i = 0; i < json_array_get_length(events); i++) {
		struct event e = event_of(events, i);
		g_autofree char *when = cli_format_time(e.at);
		printf("%-20s  ", when);
		triage_cell(stdout, e.actor != NULL ? e.actor : "-", 16);
		fputs("  ", stdout);
		cli_print_line(stdout, e.action);
		if (e.detail != NULL) {
			fputs(" (", stdout);
			cli_print_line(stdout, e.detail);
			fputc(')', stdout);
		}
		fputc('\n', stdout);
	}
}

/* Prints the events as a JSON array. */
static void print_json(JsonArray *events)
{
	g_autoptr(JsonBuilder) b = json_builder_new();
	json_builder_begin_array(b);
	for (guint i = 0; i < json_array_get_length(events); i++) {
		struct event e = event_of(events, i);
		json_builder_begin_object(b);
		triage_json_int(b, "id", e.id);
		triage_json_string(b, "ref", e.ref);
		triage_json_time(b, "at", e.at);
		triage_json_string(b, "actor", e.actor);
		triage_json_string(b, "action", e.action);
		triage_json_string(b, "detail", e.detail);
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
	int status = CLI_EXIT_OK;
	g_autoptr(canary_client) client = cli_connect(&common, &status);
	if (client == NULL)
		return status;
	g_autoptr(JsonObject) args = cli_args_ref(argv[1]);
	g_autoptr(JsonObject) result = cli_call(client, "history", args, &status);
	if (result == NULL)
		return status;
	JsonArray *events = cli_array_member(result, "events");
	if (events == NULL) {
		cli_error("canaryd's answer to history has no events");
		return CLI_EXIT_FAILED;
	}
	if (json)
		print_json(events);
	else
		print_table(events);
	return CLI_EXIT_OK;
}
