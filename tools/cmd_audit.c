/* cmd_audit.c: canary audit --verify: walks the whole case history and
 * checks its hash chain: each event's hash over its own fields, its link to
 * the event before, and the order of ids and times. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "triage.h"

/* Why the chain breaks at one event. */
struct break_point {
	const struct canary_event *event;
	char *why;
};

/* The events (by position) whose hash is H: a hash table of GBytes -> index+1. */
static GHashTable *index_hashes(GPtrArray *events)
{
	GHashTable *by_hash = g_hash_table_new_full(g_bytes_hash, g_bytes_equal,
						    (GDestroyNotify)g_bytes_unref, NULL);
	for (guint i = 0; i < events->len; i++) {
		const struct canary_event *e = events->pdata[i];
		g_hash_table_insert(by_hash, g_bytes_new(e->hash, 32), GUINT_TO_POINTER(i + 1));
	}
	return by_hash;
}

/* Checks EVENTS (by id); returns the first break, or .event NULL. */
static struct break_point verify(GPtrArray *events)
{
	static const guint8 zero[32] = {0};
	g_autoptr(GHashTable) by_hash = index_hashes(events);
	for (guint i = 0; i < events->len; i++) {
		const struct canary_event *e = events->pdata[i];
		const struct canary_event *prev = i > 0 ? events->pdata[i - 1] : NULL;
		const guint8 *expected = prev != NULL ? prev->hash : zero;
		gint64 expected_id = prev != NULL ? prev->id + 1 : 1;
		struct break_point bp = {.event = e};

		/* The link to the event before. */
		if (!canary_seal_hash_equal(e->prev_hash, expected)) {
			g_autoptr(GBytes) key = g_bytes_new(e->prev_hash, 32);
			guint at = GPOINTER_TO_UINT(g_hash_table_lookup(by_hash, key));
			if (at > i + 1) {
				const struct canary_event *later = events->pdata[at - 1];
				bp.why = g_strdup_printf(
					"order: it was recorded after event %" G_GINT64_FORMAT
					", which now comes later",
					later->id);
			} else if (e->id != expected_id) {
				bp.why = g_strdup_printf(
					"missing predecessor: event %" G_GINT64_FORMAT
					" is gone (the chain continues from a deleted event)",
					expected_id);
			} else if (canary_seal_hash_equal(e->prev_hash, zero)) {
				bp.why = g_strdup(
					"order: it claims to be the first event, but is not");
			} else {
				bp.why = g_strdup_printf("missing predecessor: the event it was "
							 "chained to is not event "
							 "%" G_GINT64_FORMAT
							 " (replaced or removed)",
							 expected_id - 1);
			}
			return bp;
		}
		/* Its own fields. */
		guint8 hash[32];
		canary_store_event_hash(e, hash);
		if (!canary_seal_hash_equal(hash, e->hash)) {
			bp.why = g_strdup(
				"hash mismatch: the event was changed after it was recorded");
			return bp;
		}
		if (e->id != expected_id) {
			bp.why = g_strdup_printf("order: expected id %" G_GINT64_FORMAT,
						 expected_id);
			return bp;
		}
		if (prev != NULL && e->at < prev->at) {
			bp.why = g_strdup_printf("order: recorded before event %" G_GINT64_FORMAT,
						 prev->id);
			return bp;
		}
	}
	return (struct break_point){0};
}

int cmd_audit(int argc, char **argv)
{
	g_auto(cli_common) common = {0};
	gboolean do_verify = FALSE;
	GOptionEntry entries[] = {{"verify", 0, 0, G_OPTION_ARG_NONE, &do_verify,
				   "Check the hash chain of the whole case history", NULL},
				  G_OPTION_ENTRY_NULL};
	if (!cli_parse(&argc, &argv, "",
		       "With --verify, walks the whole case history and checks that no event "
		       "was changed, removed or reordered: prints \"ok: N events\", or names the "
		       "first broken event and exits 1. Needs no key.",
		       entries, &common))
		return CLI_EXIT_USAGE;
	if (argc > 1 || !do_verify) {
		cli_error("audit needs --verify and no arguments (see --help)");
		return CLI_EXIT_USAGE;
	}
	g_autoptr(canary_config) config = cli_load_config(&common);
	if (config == NULL)
		return CLI_EXIT_CONFIG;
	struct canary_store *store = cli_open_store(config);
	if (store == NULL)
		return CLI_EXIT_STORE;
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) events = canary_store_list_events(store, NULL, &error);
	canary_store_close(&store);
	if (events == NULL) {
		cli_error("%s", error->message);
		return CLI_EXIT_STORE;
	}
	struct break_point bp = verify(events);
	if (bp.event == NULL) {
		printf("ok: %u event%s\n", events->len, events->len == 1 ? "" : "s");
		return CLI_EXIT_OK;
	}
	printf("broken: event %" G_GINT64_FORMAT " (case ", bp.event->id);
	cli_print_line(stdout, bp.event->ref);
	printf("): %s\n", bp.why);
	cli_error("the case history was tampered with at event %" G_GINT64_FORMAT
		  ": keep this database as evidence and restore the history from a backup",
		  bp.event->id);
	g_free(bp.why);
	return CLI_EXIT_FAILED;
}
