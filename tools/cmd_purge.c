/* cmd_purge.c: canary purge: deletes closed cases received before a date,
 * with every sealed field and source, keeps a "purged" event with the
 * reference only, then VACUUMs so nothing stays in free pages or the WAL. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "triage.h"

int cmd_purge(int argc, char **argv)
{
	g_auto(cli_common) common = {0};
	g_autofree char *before = NULL;
	gboolean dry_run = FALSE;
	GOptionEntry entries[] = {{"before", 'b', 0, G_OPTION_ARG_STRING, &before,
				   "Purge closed cases received before DATE (YYYY-MM-DD, UTC)",
				   "DATE"},
				  {"dry-run", 'n', 0, G_OPTION_ARG_NONE, &dry_run,
				   "List what would be purged; change nothing", NULL},
				  G_OPTION_ENTRY_NULL};
	if (!cli_parse(&argc, &argv, "",
		       "Deletes the closed cases received before DATE, with all their sealed "
		       "content, identity records and sources; their history stays, with a "
		       "\"purged\" event. Then compacts the database so no sealed bytes remain in "
		       "it. Cannot be undone.",
		       entries, &common))
		return CLI_EXIT_USAGE;
	if (argc > 1 || before == NULL) {
		cli_error("purge needs --before DATE and no arguments (see --help)");
		return CLI_EXIT_USAGE;
	}
	struct canary_case_filter filter = {.status = CANARY_STATUS_CLOSED};
	if (!triage_parse_date("--before", before, &filter.before))
		return CLI_EXIT_USAGE;
	g_autoptr(canary_config) config = cli_load_config(&common);
	if (config == NULL)
		return CLI_EXIT_CONFIG;
	struct canary_store *store = cli_open_store(config);
	if (store == NULL)
		return CLI_EXIT_STORE;
	g_autoptr(GError) error = NULL;
	int status = CLI_EXIT_OK;
	g_autoptr(GPtrArray) cases = canary_store_list_cases(store, &filter, &error);
	if (cases == NULL) {
		status = CLI_EXIT_STORE;
		goto fail;
	}
	if (dry_run) {
		for (guint i = 0; i < cases->len; i++) {
			const struct canary_case *c = cases->pdata[i];
			g_autofree char *received = cli_format_time(c->received_at);
			printf("would purge %s (received %s, section %s)\n", c->ref, received,
			       c->section);
		}
		printf("%u case%s would be purged\n", cases->len, cases->len == 1 ? "" : "s");
		canary_store_close(&store);
		return CLI_EXIT_OK;
	}
	if (!canary_store_begin(store, &error)) {
		status = CLI_EXIT_STORE;
		goto fail;
	}
	for (guint i = 0; i < cases->len; i++) {
		const struct canary_case *c = cases->pdata[i];
		if (!canary_store_delete_case(store, c->ref, &error) ||
		    !canary_store_add_event(store, c->ref, cli_actor(), "purged", NULL, &error)) {
			canary_store_rollback(store);
			status = CLI_EXIT_STORE;
			goto fail;
		}
	}
	if (!canary_store_commit(store, &error)) {
		canary_store_rollback(store);
		status = CLI_EXIT_STORE;
		goto fail;
	}
	for (guint i = 0; i < cases->len; i++)
		printf("purged %s\n", ((const struct canary_case *)cases->pdata[i])->ref);
	/* Even with nothing purged now: an earlier, interrupted purge may have
	 * left free pages. */
	if (!canary_store_vacuum(store, &error)) {
		cli_error("%u case%s purged, but the database could not be compacted: %s",
			  cases->len, cases->len == 1 ? "" : "s", error->message);
		canary_store_close(&store);
		return CLI_EXIT_FAILED;
	}
	printf("%u case%s purged\n", cases->len, cases->len == 1 ? "" : "s");
	canary_store_close(&store);
	return CLI_EXIT_OK;
fail:
	cli_error("%s", error->message);
	canary_store_close(&store);
	return status;
}
