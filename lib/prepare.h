/* prepare.h: prepares fetched messages (parse, route, scrub) on worker
 * threads ahead of the one thread that stores them, so that a backlog uses
 * every core instead of one. Messages are handed out in list order. At
 * most a byte budget of messages waits prepared and untaken (always at
 * least the next one), so memory does not grow with the mailbox. */
#ifndef CANARY_PREPARE_H
#define CANARY_PREPARE_H

#include <glib.h>

#include "ingest.h"
#include "prefetch.h"

struct canary_prepare;

/* Starts THREADS (at least 1) workers taking messages from PREFETCH in
 * order and preparing message I with INGEST as coming from SOURCES[I];
 * ITEMS[I] (those PREFETCH fetches) gives its size for BUDGET. All
 * borrowed: they must outlive the returned queue. */
struct canary_prepare *canary_prepare_start(const struct canary_ingest *ingest,
					    struct canary_prefetch *prefetch,
					    const struct canary_prefetch_item *items,
					    const struct canary_ingest_source *sources, guint n,
					    guint threads, gsize budget);

/* Waits for message INDEX and returns it prepared, or NULL with the ERROR
 * its fetch failed with (see canary_prefetch_take()). Take every index in
 * order, each once. */
struct canary_ingest_prepared *canary_prepare_take(struct canary_prepare *prepare, guint index,
						   GError **error);

/* Stops the workers (a message being fetched or prepared is finished
 * first) and frees what was prepared and not taken. */
void canary_prepare_free(struct canary_prepare *prepare);

/* How many workers suit this machine: one core is left to the thread that
 * stores. */
guint canary_prepare_default_threads(void);

#endif
