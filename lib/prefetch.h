/* prefetch.h: fetches the messages of a pass ahead of their ingestion, on
 * their own IMAP sessions in worker threads, so that the server's work
 * (reading, TLS) and ours (parsing, sealing, storing) overlap instead of
 * taking turns. Messages are handed out in list order, whichever session
 * fetched them. At most a byte budget of fetched messages waits untaken
 * (always at least the next one), so memory does not grow with the
 * mailbox. Moves go through the first fetch session too, between two of
 * its fetches: a server then sees one client changing the mailbox, not
 * two (on Maildir, every change by one session makes the others re-read
 * the whole folder); the streams only read. The caller keeps its own
 * session for listing. */
#ifndef CANARY_PREFETCH_H
#define CANARY_PREFETCH_H

#include <glib.h>

#include "imap.h"

/* One message to fetch. */
struct canary_prefetch_item {
	guint32 uid;
	gboolean header_only; /* too large: fetch only its header block */
	guint64 size;         /* RFC822.SIZE: what the budget counts */
};

/* The bytes ITEM takes in memory once fetched, as budgets count them. */
gsize canary_prefetch_cost(const struct canary_prefetch_item *item);

struct canary_prefetch;

/* Starts SESSIONS (at least 1) worker threads, each on its own session made
 * from OPTIONS (copied), fetching the messages added to it from the
 * mailbox with UIDVALIDITY: whole messages up to 100 per command on a
 * connection of its own (canary_imap_stream_open()), header-only ones and
 * what a stream did not bring one per command on its session. Each session
 * costs the server a login: ask for no more than there are messages.
 * Sessions connect on their first fetch, so a server that cannot be
 * reached is reported by canary_prefetch_take(); NULL with ERROR only if a
 * session cannot be set up. */
struct canary_prefetch *canary_prefetch_start(const struct canary_imap_options *options,
					      guint32 uidvalidity, guint sessions, gsize budget,
					      GError **error);

/* Adds ITEMS[0..N) (copied) to fetch, after those added before; returns
 * the index of the first. The prefetch keeps only what is added and not
 * yet taken, so the caller may add a long list a window at a time. */
guint canary_prefetch_add(struct canary_prefetch *prefetch,
			  const struct canary_prefetch_item *items, guint n);

/* Nothing more will be added: the workers but the first (which runs the
 * moves) end once every item is claimed and fetched. */
void canary_prefetch_close(struct canary_prefetch *prefetch);

/* Waits for item INDEX (added, or to be added) and returns its bytes, or
 * NULL with ERROR (the CANARY_IMAP_ERROR_* its fetch failed with). Take
 * every index in order, each once. */
GBytes *canary_prefetch_take(struct canary_prefetch *prefetch, guint index, GError **error);

/* Whether item INDEX is fetched (or failed), so that
 * canary_prefetch_take() of it would not wait. */
gboolean canary_prefetch_ready(struct canary_prefetch *prefetch, guint index);

/* Queues a move of UIDS (N of them, copied) to FOLDER (which must outlive
 * the prefetch) for the first fetch session, which runs it between two of
 * its fetches, in order with other moves, while the caller goes on. FALSE
 * with the error of an earlier move that failed (the queued ones are then
 * dropped: their cases are committed, the next pass moves them). */
gboolean canary_prefetch_move(struct canary_prefetch *prefetch, const guint32 *uids, guint n,
			      const char *folder, GError **error);

/* Like canary_prefetch_move(), for canary_imap_put_away(): FOLDER NULL
 * removes the messages, KEYWORD (static, or NULL) marks them first. Counted
 * as moved by canary_prefetch_flush(). */
gboolean canary_prefetch_put_away(struct canary_prefetch *prefetch, const guint32 *uids, guint n,
				  const char *folder, const char *keyword, GError **error);

/* Waits for the queued moves; *MOVED_R is the number of messages moved by
 * all of them. FALSE with the first move's error if one failed. */
gboolean canary_prefetch_flush(struct canary_prefetch *prefetch, guint *moved_r, GError **error);

/* The UIDs that moves with FOLDER NULL removed from the server since the
 * last call (confirmed by the server's answer). Returns a new GArray of
 * guint32; the next call starts afresh. */
GArray *canary_prefetch_take_removed(struct canary_prefetch *prefetch);

/* Stops the workers (a fetch under way and the queued moves finish first),
 * frees what was fetched and not taken, closes the sessions. */
void canary_prefetch_free(struct canary_prefetch *prefetch);

typedef struct canary_prefetch canary_prefetch;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(canary_prefetch, canary_prefetch_free)

#endif
