/* cmd_import.c: canary import: ingest .eml files, mbox files and Maildir
 * folders into the store, one case per message, never the same one twice. */
#include <stdio.h>

#include "cli.h"
#include "commands.h"
#include "ingest.h"
#include "log.h"
#include "prepare_pool.h"
#include "source.h"

/* Messages per transaction: one fsync per batch, not per message. */
#define IMPORT_BATCH 200

/* Bytes of messages read and not yet stored: enough to keep every worker
 * busy while the main thread seals and stores, little enough that memory
 * does not grow with the import. */
#define IMPORT_BUDGET (4u << 20)

/* The walk (main thread) reads messages and hands them to the pool, whose
 * workers parse, route and scrub them; the main thread takes them back in
 * order and seals and stores them, one transaction per batch. */
struct import_run {
	struct canary_store *store;
	struct canary_ingest *ingest;
	struct canary_prepare_pool *pool;
	guint in_batch;
	guint messages, stored, filed, quarantined, duplicates, follow_ups;
};

/* Commits the open batch and starts the next one. */
static gboolean commit_batch(struct import_run *run, gboolean start_next, GError **error)
{
	if (!canary_store_commit(run->store, error))
		return FALSE;
	run->in_batch = 0;
	return !start_next || canary_store_begin(run->store, error);
}

/* Stores the oldest message handed to the pool. */
static gboolean store_next(struct import_run *run, GError **error)
{
	g_autoptr(canary_ingest_prepared) prepared = canary_prepare_pool_take(run->pool);
	struct canary_ingest_result result;
	if (!canary_ingest_store_prepared(run->ingest, prepared, &result, error))
		return FALSE;
	run->stored++;
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

/* Hands one message found in a source to the pool, storing those ahead of
 * it while the budget is spent. */
static gboolean import_message(const struct canary_source_message *message, gpointer user_data,
			       GError **error)
{
	struct import_run *run = user_data;
	static const struct canary_ingest_source from_file = {0};
	run->messages++;
	canary_prepare_pool_push(run->pool, message->raw, &from_file);
	while (canary_prepare_pool_full(run->pool))
		if (!store_next(run, error))
			return FALSE;
	return TRUE;
}

/* Stores every message still in the pool. */
static gboolean store_rest(struct import_run *run, GError **error)
{
	while (run->stored < run->messages)
		if (!store_next(run, error))
			return FALSE;
	return TRUE;
}

/* Says on stderr what the walk left out and why; never message content. */
static void report_skipped(const char *path, const char *reason, gpointer user_data)
{
	(void)user_data;
	fprintf(stderr, "canary import: skipped %s: %s\n", path, reason);
}

/* One line for benchmarks: seconds spent in each stage of ingestion,
 * summed over the threads that ran it (parse, route and the scrubbing part
 * of seal run on several at once). */
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
	/* A bulk writer: its commits need not copy the log back themselves. */
	if (!canary_store_checkpoint_aside(store, &error)) {
		cli_error("warning: %s", error->message);
		g_clear_error(&error);
	}
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
	run.pool = canary_prepare_pool_new(run.ingest, canary_prepare_pool_default_threads(),
					   IMPORT_BUDGET);
	for (int i = 1; i < argc; i++) {
		if (!canary_store_begin(store, &error)) {
			cli_error("%s", error->message);
			status = CLI_EXIT_STORE;
			break;
		}
		gboolean walked = canary_source_walk_with(argv[i], &walker, &error);
		if (walked || error->domain == CANARY_SOURCE_ERROR) {
			g_autoptr(GError) store_error = NULL;
			if (!store_rest(&run, &store_error)) {
				g_clear_error(&error);
				g_propagate_error(&error, g_steal_pointer(&store_error));
				walked = FALSE;
			}
		}
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
	canary_prepare_pool_free(run.pool); /* before the pipeline its workers read */
	canary_ingest_free(run.ingest);
	canary_store_close(&store);
	return status;
}
