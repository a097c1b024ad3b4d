/* cmd_import.c: canary import: ingest .eml files, mbox files and Maildir
 * folders into the store, one case per message, never the same one twice. */
#include <stdio.h>

#include "cli.h"
#include "commands.h"
#include "ingest.h"
#include "log.h"
#include "source.h"

/* Messages per transaction: one fsync per batch, not per message. */
#define IMPORT_BATCH 200

struct import_run {
	struct canary_store *store;
	struct canary_ingest *ingest;
	guint in_batch;
	guint messages, filed, quarantined, duplicates, follow_ups;
};

/* Commits the open batch and starts the next one. */
static gboolean commit_batch(struct import_run *run, gboolean start_next, GError **error)
{
	if (!canary_store_commit(run->store, error))
		return FALSE;
	run->in_batch = 0;
	return !start_next || canary_store_begin(run->store, error);
}

/* Ingests one message found in a source. */
static gboolean import_message(const struct canary_source_message *message, gpointer user_data,
			       GError **error)
{
	struct import_run *run = user_data;
	struct canary_ingest_source source = {0};
	struct canary_ingest_result result;
	run->messages++;
	if (!canary_ingest_message(run->ingest, message->raw, &source, &result, error))
		return FALSE;
	switch (result.outcome) {
	case CANARY_INGEST_FILED:
		run->filed++;
		canary_debug("case %s filed", result.ref);
		break;
	case CANARY_INGEST_QUARANTINED:
		run->quarantined++;
		canary_notice("case %s quarantined: %s", result.ref,
			      canary_quarantine_name(result.quarantine));
		break;
	case CANARY_INGEST_FOLLOW_UP:
		run->follow_ups++;
		canary_debug("a follow-up joined case %s", result.ref);
		break;
	case CANARY_INGEST_DUPLICATE:
		run->duplicates++;
		break;
	}
	canary_ingest_result_clear(&result);
	if (++run->in_batch >= IMPORT_BATCH)
		return commit_batch(run, TRUE, error);
	return TRUE;
}

/* Says on stderr what the walk left out and why; never message content. */
static void report_skipped(const char *path, const char *reason, gpointer user_data)
{
	(void)user_data;
	fprintf(stderr, "canary import: skipped %s: %s\n", path, reason);
}

/* One line for benchmarks: seconds spent in each stage of ingestion. */
static void print_timings(const struct canary_ingest *ingest)
{
	struct canary_stage_times t;
	canary_ingest_get_times(ingest, &t);
	const double s = G_USEC_PER_SEC;
	printf("timings: parse %.3f s, route %.3f s, seal %.3f s, store %.3f s\n",
	       (double)t.usec[CANARY_STAGE_PARSE] / s, (double)t.usec[CANARY_STAGE_ROUTE] / s,
	       (double)t.usec[CANARY_STAGE_SEAL] / s, (double)t.usec[CANARY_STAGE_STORE] / s);
}

int cmd_import(int argc, char **argv)
{
	g_auto(cli_common) common = {0};
	gboolean timings = FALSE, subfolders = FALSE;
	GOptionEntry entries[] = {
		{"timings", 0, 0, G_OPTION_ARG_NONE, &timings,
		 "Print where the time went: parse, route, seal, store", NULL},
		{"subfolders", 0, 0, G_OPTION_ARG_NONE, &subfolders,
		 "Also import the subfolders of a Maildir (.Archive, .Trash), except those "
		 "of the office's own mail (sent, drafts)",
		 NULL},
		G_OPTION_ENTRY_NULL};
	if (!cli_parse(&argc, &argv, "PATH...",
		       "Ingests .eml files, mbox files and Maildir folders (or folders of any of "
		       "these) into the case store: one case per message. Messages already "
		       "stored are recognised and skipped. Source files are never changed.",
		       entries, &common))
		return CLI_EXIT_USAGE;
	if (argc < 2) {
		cli_error("import needs at least one PATH (see --help)");
		return CLI_EXIT_USAGE;
	}
	g_autoptr(canary_config) config = cli_load_config(&common);
	if (config == NULL)
		return CLI_EXIT_CONFIG;
	canary_log_set_level(config->logging.level);
	struct canary_store *store = cli_open_store(config);
	if (store == NULL)
		return CLI_EXIT_STORE;

	g_autoptr(GError) error = NULL;
	struct import_run run = {.store = store};
	struct canary_source_walker walker = {.message = import_message,
					      .skipped = report_skipped,
					      .user_data = &run,
					      .subfolders = subfolders};
	run.ingest = canary_ingest_new(config, store, cli_actor(), &error);
	int status = CLI_EXIT_OK;
	if (run.ingest == NULL) {
		cli_error("%s", error->message);
		status = CLI_EXIT_CONFIG;
		goto out;
	}
	for (int i = 1; i < argc; i++) {
		if (!canary_store_begin(store, &error)) {
			cli_error("%s", error->message);
			status = CLI_EXIT_STORE;
			break;
		}
		gboolean walked = canary_source_walk_with(argv[i], &walker, &error);
		if (!walked && error->domain != CANARY_SOURCE_ERROR) {
			/* The store failed: the open batch is lost, nothing else. */
			canary_store_rollback(store);
			cli_error("%s", error->message);
			status = CLI_EXIT_STORE;
			break;
		}
		/* A source that cannot be read is reported; what was read of it
		 * is kept, and the other paths still run. */
		if (!walked) {
			cli_error("%s", error->message);
			g_clear_error(&error);
			status = CLI_EXIT_FAILED;
		}
		if (!commit_batch(&run, FALSE, &error)) {
			cli_error("%s", error->message);
			status = CLI_EXIT_STORE;
			break;
		}
	}
	/* What was read, on stderr: stdout keeps its one line of cases. */
	fprintf(stderr, "canary import: %u files read, %u messages, %u skipped\n",
		walker.files_read, run.messages, walker.skipped_count);
	printf("%u cases, %u quarantined, %u duplicates", run.filed + run.quarantined,
	       run.quarantined, run.duplicates);
	if (run.follow_ups > 0)
		printf(", %u follow-ups", run.follow_ups);
	printf("\n");
	if (timings)
		print_timings(run.ingest);
out:
	canary_ingest_free(run.ingest);
	canary_store_close(&store);
	return status;
}
