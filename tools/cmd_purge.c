/* cmd_purge.c: canary purge: deletes the cases the retention policy no
 * longer keeps (or, with --before, closed cases received before a date),
 * with every sealed field and source, keeps a "purged" event with the
 * reference and rule only, then VACUUMs so nothing stays in free pages or
 * the WAL. canaryd does it (case_rules.c), for admins only. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "retention.h"
#include "triage.h"

/* One case canaryd listed (case_rules.c's purge op). */
struct due {
	const char *ref, *section, *status, *rule; /* borrowed; rule may be NULL */
	gint64 received, since;
};

static struct due due_of(JsonArray *cases, guint i)
{
	JsonObject *o = cli_element_object(cases, i);
	if (o == NULL)
		return (struct due){"?", "?", "?", NULL, 0, 0};
	return (struct due){
		.ref = json_object_get_string_member_with_default(o, "ref", "?"),
		.section = json_object_get_string_member_with_default(o, "section", "?"),
		.status = json_object_get_string_member_with_default(o, "status", "?"),
		.rule = json_object_get_string_member_with_default(o, "rule", NULL),
		.received = json_object_get_int_member_with_default(o, "received", 0),
		.since = json_object_get_int_member_with_default(o, "since", 0),
	};
}

/* Prints what would go: reference, section, status, age, rule. Metadata
 * only. */
static void print_dry_run(JsonArray *cases, gint64 now)
{
	guint n = json_array_get_length(cases);
	for (guint i = 0; i < n; i++) {
		struct due e = due_of(cases, i);
		fputs("would purge ", stdout);
		cli_print_line(stdout, e.ref);
		if (e.rule == NULL) {
			g_autofree char *received = triage_format_day(e.received);
			printf(" (received %s, section ", received);
			cli_print_line(stdout, e.section);
			fputs(")\n", stdout);
			continue;
		}
		/* In days, like the periods. */
		g_autofree char *age =
			canary_retention_format_period((guint64)MAX(now - e.since, 0));
		gboolean closed = strcmp(e.status, CANARY_STATUS_CLOSED) == 0;
		fputs(" (section ", stdout);
		cli_print_line(stdout, e.section);
		fputs(", ", stdout);
		cli_print_line(stdout, e.status);
		printf(", %s %s ago, rule ", closed ? "closed" : "received", age);
		cli_print_line(stdout, e.rule);
		fputs(")\n", stdout);
	}
	printf("%u case%s would be purged\n", n, n == 1 ? "" : "s");
}

/* Prints what was purged. Returns the exit code. */
static int print_purged(JsonObject *result, JsonArray *cases)
{
	guint n = json_array_get_length(cases);
	for (guint i = 0; i < n; i++) {
		fputs("purged ", stdout);
		cli_print_line(stdout, due_of(cases, i).ref);
		fputc('\n', stdout);
	}
	const char *compact =
		json_object_get_string_member_with_default(result, "compact_error", NULL);
	if (compact != NULL) {
		cli_error("%u case%s purged, but the database could not be compacted: %s", n,
			  n == 1 ? "" : "s", compact);
		return CLI_EXIT_FAILED;
	}
	printf("%u case%s purged\n", n, n == 1 ? "" : "s");
	return CLI_EXIT_OK;
}

int cmd_purge(int argc, char **argv)
{
	g_auto(cli_common) common = {0};
	g_autofree char *before = NULL;
	gboolean dry_run = FALSE;
	GOptionEntry entries[] = {{"before", 'b', 0, G_OPTION_ARG_STRING, &before,
				   "Purge closed cases received before DATE (YYYY-MM-DD, UTC) "
				   "instead of applying the retention policy",
				   "DATE"},
				  {"dry-run", 'n', 0, G_OPTION_ARG_NONE, &dry_run,
				   "List what would be purged; change nothing", NULL},
				  G_OPTION_ENTRY_NULL};
	if (!cli_parse(&argc, &argv, "",
		       "Deletes the cases the retention policy no longer keeps ([retention] in "
		       "canary.conf, retention in routing.conf sections), or with --before the "
		       "closed cases received before DATE, with all their sealed content, "
		       "identity records and sources; their history stays, with a \"purged\" "
		       "event naming the rule. Then compacts the database so no sealed bytes "
		       "remain in it. Cannot be undone.",
		       entries, &common))
		return CLI_EXIT_USAGE;
	if (argc > 1) {
		cli_error("purge takes no arguments (see --help)");
		return CLI_EXIT_USAGE;
	}
	gint64 before_t = 0;
	if (before != NULL && !triage_parse_date("--before", before, &before_t))
		return CLI_EXIT_USAGE;
	int status = CLI_EXIT_OK;
	g_autoptr(canary_client) client = cli_connect(&common, &status);
	if (client == NULL)
		return status;
	g_autoptr(JsonObject) args = json_object_new();
	if (before != NULL)
		json_object_set_int_member(args, "before", before_t);
	json_object_set_boolean_member(args, "dry_run", dry_run);
	g_autoptr(JsonObject) result = cli_call(client, "purge", args, &status);
	if (result == NULL)
		return status;
	JsonArray *cases = cli_array_member(result, "cases");
	if (cases == NULL) {
		cli_error("canaryd's answer to purge lists no cases");
		return CLI_EXIT_FAILED;
	}
	if (dry_run) {
		print_dry_run(cases,
			      json_object_get_int_member_with_default(result, "now", triage_now()));
		return CLI_EXIT_OK;
	}
	return print_purged(result, cases);
}
