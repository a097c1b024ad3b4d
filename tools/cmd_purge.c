/* cmd_purge.c: canary purge: deletes the cases the retention policy no
 * longer keeps (or, with --before, closed cases received before a date),
 * with every sealed field and source, keeps a "purged" event with the
 * reference and rule only, then VACUUMs so nothing stays in free pages or
 * the WAL. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "retention.h"
#include "triage.h"

/* The closed cases received before BEFORE, as purge candidates without a
 * rule. Returns a new array of struct canary_store_expired *. */
static GPtrArray *closed_before(struct canary_store *store, gint64 before, GError **error)
{
	struct canary_case_filter filter = {.status = CANARY_STATUS_CLOSED, .before = before};
	g_autoptr(GPtrArray) cases = canary_store_list_cases(store, &filter, error);
	if (cases == NULL)
		return NULL;
	GPtrArray *due = g_ptr_array_new_with_free_func((GDestroyNotify)canary_store_expired_free);
	for (guint i = 0; i < cases->len; i++) {
		const struct canary_case *c = cases->pdata[i];
		struct canary_store_expired *e = g_new0(struct canary_store_expired, 1);
		e->ref = g_strdup(c->ref);
		e->section = g_strdup(c->section);
		e->status = g_strdup(c->status);
		e->received_day = e->since = c->received_day;
		g_ptr_array_add(due, e);
	}
	return due;
}

/* Prints what would go: reference, section, status, age, rule. Metadata
 * only. */
static void print_dry_run(GPtrArray *due, gint64 now)
{
	for (guint i = 0; i < due->len; i++) {
		const struct canary_store_expired *e = due->pdata[i];
		g_autofree char *rule = canary_retention_rule(e);
		if (rule == NULL) {
			g_autofree char *received = triage_format_day(e->received_day);
			printf("would purge %s (received %s, section ", e->ref, received);
			cli_print_line(stdout, e->section);
			fputs(")\n", stdout);
			continue;
		}
		/* In days, like the periods. */
		g_autofree char *age = canary_retention_format_period((guint64)(now - e->since));
		gboolean closed = strcmp(e->status, CANARY_STATUS_CLOSED) == 0;
		printf("would purge %s (section ", e->ref);
		cli_print_line(stdout, e->section);
		printf(", %s, %s %s ago, rule ", e->status, closed ? "closed" : "received", age);
		cli_print_line(stdout, rule);
		fputs(")\n", stdout);
	}
	printf("%u case%s would be purged\n", due->len, due->len == 1 ? "" : "s");
}

/* Purges DUE, then compacts. Returns the exit code. */
static int purge(struct canary_store *store, GPtrArray *due)
{
	g_autoptr(GError) error = NULL;
	if (!canary_retention_purge(store, due, cli_actor(), &error)) {
		cli_error("%s", error->message);
		return CLI_EXIT_STORE;
	}
	for (guint i = 0; i < due->len; i++)
		printf("purged %s\n", ((const struct canary_store_expired *)due->pdata[i])->ref);
	/* Even with nothing purged now: an earlier, interrupted purge may have
	 * left free pages. */
	if (!canary_store_vacuum(store, &error)) {
		cli_error("%u case%s purged, but the database could not be compacted: %s", due->len,
			  due->len == 1 ? "" : "s", error->message);
		return CLI_EXIT_FAILED;
	}
	printf("%u case%s purged\n", due->len, due->len == 1 ? "" : "s");
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
	g_autoptr(canary_config) config = cli_load_config(&common);
	if (config == NULL)
		return CLI_EXIT_CONFIG;
	if (before == NULL && !canary_retention_configured(config)) {
		cli_error("purge needs --before DATE, or a retention policy: [retention] closed or "
			  "quarantined in %s, or retention in a routing.conf section (see --help)",
			  config->path);
		return CLI_EXIT_USAGE;
	}
	struct canary_store *store = cli_open_store(config);
	if (store == NULL)
		return CLI_EXIT_STORE;
	g_autoptr(GError) error = NULL;
	gint64 now = triage_now();
	g_autoptr(GPtrArray) due = before != NULL
					   ? closed_before(store, before_t, &error)
					   : canary_retention_due(config, store, now, &error);
	int status = CLI_EXIT_OK;
	if (due == NULL) {
		cli_error("%s", error->message);
		status = CLI_EXIT_STORE;
	} else if (dry_run) {
		print_dry_run(due, now);
	} else {
		status = purge(store, due);
	}
	canary_store_close(&store);
	return status;
}
