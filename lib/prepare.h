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

/* Starts THREADS (at least 1) workers taking the messages added to it
 * from PREFETCH in order and preparing each with INGEST (borrowed, like
 * PREFETCH: both must outlive the returned queue). */
struct canary_prepare *canary_prepare_start(const struct canary_ingest *ingest,
					    struct canary_prefetch *prefetch, guint threads,
					    gsize budget);

/* canary_prepare_start(), and while a message is being prepared its
 * source is listed in IN_HAND_PATH (one "uidvalidity uid" line each, the
 * file rewritten in place, 0600, removed when nothing is in hand), so that
 * a process that dies leaves behind which messages it held. NULL: none. */
struct canary_prepare *canary_prepare_start_recorded(const struct canary_ingest *ingest,
						     struct canary_prefetch *prefetch,
						     guint threads, gsize budget,
						     const char *in_hand_path);

/* Adds N messages, after those added before: ITEMS[I] to the prefetch (to
 * fetch; its size counts against BUDGET), to be prepared as coming from
 * SOURCES[I] (copied; its mailbox must outlive the queue). Returns the
 * index of the first. Only what is added and not yet taken is kept, so a
 * long list may be added a window at a time. Add to the prefetch only
 * through here. */
guint canary_prepare_add(struct canary_prepare *prepare, const struct canary_prefetch_item *items,
			 const struct canary_ingest_source *sources, guint n);

/* Nothing more will be added (to the prefetch either): the workers end
 * once every message is prepared. */
void canary_prepare_close(struct canary_prepare *prepare);

/* Waits for message INDEX (added, or to be added) and returns it prepared,
 * or NULL with the ERROR its fetch failed with (see
 * canary_prefetch_take()). Take every index in order, each once. */
struct canary_ingest_prepared *canary_prepare_take(struct canary_prepare *prepare, guint index,
						   GError **error);

/* canary_prepare_take(), which also copies where message INDEX came from
 * (as added) to SOURCE_R (NULL: not wanted), prepared or not; and while
 * message INDEX is not ready the caller
 * prepares the next fetched message no worker has claimed (its core does
 * not idle), and calls PROGRESS (USER_DATA) about every second while it
 * waits, but only while message INDEX is being fetched or is within BUDGET
 * microseconds of preparing (plus a second): a worker that hangs must let
 * the watchdog end the process. While the caller prepares a message
 * itself, a thread of the prepare's calls PROGRESS for it under the same
 * rule (so PROGRESS must be safe to call from another thread; the first
 * call's PROGRESS, USER_DATA and BUDGET serve every later one). */
struct canary_ingest_prepared *canary_prepare_take_feeding(
	struct canary_prepare *prepare, guint index, gint64 budget, void (*progress)(gpointer),
	gpointer user_data, struct canary_ingest_source *source_r, GError **error);

/* Stops the workers (a message being fetched or prepared is finished
 * first) and frees what was prepared and not taken. */
void canary_prepare_free(struct canary_prepare *prepare);
typedef struct canary_prepare canary_prepare;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(canary_prepare, canary_prepare_free)

/* How many workers suit this machine: one core is left to the thread that
 * stores. */
guint canary_prepare_default_threads(void);

#endif
