/* prepare_pool.h: prepares messages handed over one at a time (canary
 * import's walk through files) on worker threads, and gives them back
 * prepared in the order they were handed over, so that parsing, routing
 * and scrubbing run beside the one thread that seals and stores. At most a
 * byte budget of messages is handed over and not yet taken back (always at
 * least one), so memory does not grow with the import. canaryd's passes
 * use prepare.h instead: there the messages come from fetch sessions. */
#ifndef CANARY_PREPARE_POOL_H
#define CANARY_PREPARE_POOL_H

#include <glib.h>

#include "ingest.h"

struct canary_prepare_pool;

/* Starts THREADS (at least 1) workers preparing with INGEST (borrowed: it
 * must outlive the pool), holding at most BUDGET bytes of messages. */
struct canary_prepare_pool *canary_prepare_pool_new(const struct canary_ingest *ingest,
						    guint threads, gsize budget);

/* Hands RAW (a reference is taken) from SOURCE (copied; its MAILBOX must
 * outlive the pool) over to be prepared. */
void canary_prepare_pool_push(struct canary_prepare_pool *pool, GBytes *raw,
			      const struct canary_ingest_source *source);

/* TRUE when the budget is spent: take before pushing again. */
gboolean canary_prepare_pool_full(const struct canary_prepare_pool *pool);

/* Returns the oldest message handed over and not yet taken, prepared;
 * NULL when every message has been taken. Until it is ready, the caller
 * prepares messages no worker has started instead of waiting. */
struct canary_ingest_prepared *canary_prepare_pool_take(struct canary_prepare_pool *pool);

/* Stops the workers (messages being prepared are finished first, those
 * waiting are not started) and frees every message not taken. */
void canary_prepare_pool_free(struct canary_prepare_pool *pool);
typedef struct canary_prepare_pool canary_prepare_pool;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(canary_prepare_pool, canary_prepare_pool_free)

/* How many workers suit this machine for an import: one core is left to
 * the thread that stores, which prepares too while it would wait. */
guint canary_prepare_pool_default_threads(void);

#endif
