/* prefetch.c: worker threads that fetch a pass's messages ahead of their
 * ingestion. Workers claim the next messages in list order, as long as the
 * bytes claimed and not yet taken stay within the budget (the message the
 * caller waits for may always be claimed, however large, so a message over
 * the budget cannot stall the pass), and fetch up to 100 of them with one
 * command on a connection of their own (canary_imap_stream_fetch()). What
 * that does not bring (a message the answer broke off in, and those after
 * it) is fetched one message per command on the worker's libcurl session,
 * which pins each fault on its message. The first worker also runs the
 * moves the caller queues, on that session, between two fetches. One mutex
 * and one condition variable guard everything shared; fetching and moving
 * run unlocked. */
#include "prefetch.h"

#include "log.h"
#include "order.h"

struct worker {
	struct canary_prefetch *prefetch;
	struct canary_imap *session;       /* one message per command, and the moves */
	struct canary_imap_stream *stream; /* many per command; opened when needed */
	gboolean no_stream;                /* it could not be opened: this pass goes
					      one message per command */
	GThread *thread;
};

/* A move queued for the first worker, run between two of its fetches. */
struct move {
	guint32 *uids;
	guint n;
	const char *folder;  /* NULL: removed */
	const char *keyword; /* added before the move, or NULL */
};

struct canary_prefetch {
	struct canary_imap_options options; /* a copy, for opening streams */
	guint32 uidvalidity;

	/* Its lock and condition guard the rest: an item added, fetched or
	 * taken, a move queued or done, stopping. */
	struct canary_order order; /* of fetched GBytes, from canary_prefetch_item */
	gboolean stopping;
	guint marked;       /* items before it are marked \Seen, or being marked */
	GQueue moves;       /* struct move: queued for the first worker */
	gboolean moving;    /* the first worker is running one */
	guint moved;        /* messages moved so far */
	GArray *removed;    /* guint32 UIDs removed from the server so far */
	GError *move_error; /* the first move that failed; later ones are dropped */

	struct worker *workers;
	guint n_workers;
};

/* A header-only fetch brings a few kilobytes, whatever the message's size. */
#define HEADER_COST (64 * 1024)

gsize canary_prefetch_cost(const struct canary_prefetch_item *item)
{
	return item->header_only ? HEADER_COST : (gsize)item->size;
}

static GBytes *fetch(struct worker *w, const struct canary_prefetch_item *item, GError **error)
{
	guint32 uidvalidity = w->prefetch->uidvalidity;
	return item->header_only
		       ? canary_imap_fetch_header(w->session, uidvalidity, item->uid, error)
		       : canary_imap_fetch(w->session, uidvalidity, item->uid, item->size, error);
}

/* Messages fetched with one command at most. */
#define BATCH_MAX 100

/* Items marked \Seen in one command before they are fetched. */
#define MARK_AHEAD 100
G_STATIC_ASSERT(MARK_AHEAD >= BATCH_MAX);

/* What a worker claimed at once: items FIRST..FIRST+N, copied out of the
 * order, to fetch on its stream when STREAMED (a header-only item, or a
 * worker without a stream, claims one item, fetched on the session); and
 * the UIDs to mark \Seen first, should it have no stream. */
struct claimed {
	guint first, n;
	gboolean streamed;
	struct canary_prefetch_item items[BATCH_MAX];
	guint32 mark[MARK_AHEAD];
	guint n_mark;
};

/* A batch being fetched on a stream: the items of C. */
struct batch {
	struct canary_prefetch *prefetch;
	const struct claimed *c;
	gboolean delivered[BATCH_MAX];
};

/* Hands a message of the batch to the taker as soon as it is in. One not
 * asked for, twice, or over its listed size stops the stream; the single
 * fetch of it then says what is wrong. */
static gboolean deliver(guint32 uid, GBytes *message, gpointer data, GError **error)
{
	struct batch *b = data;
	struct canary_prefetch *p = b->prefetch;
	for (guint k = 0; k < b->c->n; k++) {
		const struct canary_prefetch_item *item = &b->c->items[k];
		if (item->uid != uid || b->delivered[k] ||
		    g_bytes_get_size(message) > canary_imap_fetch_limit(item->size))
			continue;
		b->delivered[k] = TRUE;
		canary_order_lock(&p->order);
		canary_order_put(&p->order, b->c->first + k, message, NULL);
		canary_order_unlock(&p->order);
		return TRUE;
	}
	g_bytes_unref(message);
	g_set_error(error, CANARY_IMAP_ERROR, CANARY_IMAP_ERROR_PROTOCOL,
		    "the server sent UID %u, which was not asked for, was sent twice, or is "
		    "larger than listed",
		    uid);
	return FALSE;
}

/* Fetches the batch on the worker's stream, opening it if need be; leaves
 * in B->delivered what arrived. A stream that fails is dropped (the next
 * batch opens another); one that cannot be opened is not tried again this
 * pass. */
static void fetch_batch(struct worker *w, struct batch *b)
{
	struct canary_prefetch *p = w->prefetch;
	g_autoptr(GError) error = NULL;
	if (w->stream == NULL) {
		w->stream = canary_imap_stream_open(&p->options, p->uidvalidity, &error);
		if (w->stream == NULL) {
			canary_info("fetching one message per command: %s", error->message);
			w->no_stream = TRUE;
			return;
		}
	}
	guint32 uids[BATCH_MAX];
	guint64 max_bytes = 0;
	for (guint k = 0; k < b->c->n; k++) {
		uids[k] = b->c->items[k].uid;
		max_bytes = MAX(max_bytes, canary_imap_fetch_limit(b->c->items[k].size));
	}
	if (!canary_imap_stream_fetch(w->stream, uids, b->c->n, max_bytes, deliver, b, &error)) {
		canary_info("fetching the rest of %u messages one by one: %s", b->c->n,
			    error->message);
		g_clear_pointer(&w->stream, canary_imap_stream_free);
	}
}

/* Called locked: may the worker claim a batch now? Only once the budget is
 * half free (so that batches stay large), unless the taker waits for the
 * next item. */
static gboolean may_start(const struct canary_prefetch *p)
{
	const struct canary_order *o = &p->order;
	return canary_order_may_claim(o) &&
	       (o->next_claim == o->next_take || o->claimed <= o->budget / 2);
}

static const struct canary_prefetch_item *item_at(struct canary_prefetch *p, guint index)
{
	return canary_order_input(&p->order, index);
}

/* Called locked: claims the next items into C, up to a batch of whole
 * messages within the budget when the worker has a stream, and the UIDs
 * up to MARK_AHEAD past the last marked, if any of C is not marked yet. */
static void claim(struct worker *w, struct claimed *c)
{
	struct canary_prefetch *p = w->prefetch;
	c->first = canary_order_claim(&p->order);
	c->items[0] = *item_at(p, c->first);
	c->n = 1;
	c->streamed = !w->no_stream && !c->items[0].header_only;
	while (c->streamed && c->n < BATCH_MAX && canary_order_may_claim(&p->order) &&
	       !item_at(p, c->first + c->n)->header_only) {
		canary_order_claim(&p->order);
		c->items[c->n] = *item_at(p, c->first + c->n);
		c->n++;
	}
	c->n_mark = 0;
	if (c->first + c->n <= p->marked)
		return;
	guint from = MAX(c->first, p->marked);
	c->n_mark = MIN(MARK_AHEAD, p->order.n - from);
	for (guint k = 0; k < c->n_mark; k++)
		c->mark[k] = item_at(p, from + k)->uid;
	p->marked = from + c->n_mark;
}

/* Fetches the items of C and hands them over, unlocked: on the stream,
 * then one by one whatever it did not bring. Marking \Seen ahead is only
 * a saving, and only needed without a stream (whose fetches leave the
 * flag alone): if the server refuses, each fetch sets the flag itself. */
static void fetch_claimed(struct worker *w, const struct claimed *c)
{
	struct canary_prefetch *p = w->prefetch;
	struct batch b = {.prefetch = p, .c = c};
	if (c->streamed)
		fetch_batch(w, &b);
	if (c->n_mark > 0 && w->no_stream) {
		g_autoptr(GError) ignored = NULL;
		canary_imap_mark_seen(w->session, c->mark, c->n_mark, &ignored);
	}
	for (guint k = 0; k < c->n; k++) {
		if (b.delivered[k])
			continue;
		GError *error = NULL;
		GBytes *bytes = fetch(w, &c->items[k], &error);
		canary_order_lock(&p->order);
		canary_order_put(&p->order, c->first + k, bytes, error);
		canary_order_unlock(&p->order);
	}
}

/* Called locked by the first worker: runs the oldest queued move, unlocked.
 * After a failure the rest are dropped: their cases are committed, and the
 * next pass moves them. */
static void run_move(struct worker *w)
{
	struct canary_prefetch *p = w->prefetch;
	struct move *m = g_queue_pop_head(&p->moves);
	gboolean skip = p->move_error != NULL;
	p->moving = TRUE;
	canary_order_unlock(&p->order);
	GError *error = NULL;
	gboolean ok = skip || canary_imap_put_away(w->session, m->uids, m->n, m->folder,
						   m->keyword, &error);
	canary_order_lock(&p->order);
	if (!skip && ok)
		p->moved += m->n;
	if (!skip && ok && m->folder == NULL)
		g_array_append_vals(p->removed, m->uids, m->n);
	if (!ok)
		p->move_error = error;
	p->moving = FALSE;
	g_free(m->uids);
	g_free(m);
	canary_order_broadcast(&p->order);
}

static gpointer worker_main(gpointer data)
{
	struct worker *w = data;
	struct canary_prefetch *p = w->prefetch;
	gboolean first = w == &p->workers[0];
	struct claimed c;
	canary_order_lock(&p->order);
	for (;;) {
		/* The first worker also runs the moves, and stops only when none
		 * is left. */
		gboolean move_waiting = first && !g_queue_is_empty(&p->moves);
		if (move_waiting) {
			run_move(w);
			continue;
		}
		if (p->stopping)
			break;
		if (!may_start(p)) {
			if (canary_order_exhausted(&p->order) && !first)
				break;
			canary_order_wait(&p->order);
			continue;
		}
		claim(w, &c);
		canary_order_unlock(&p->order);
		fetch_claimed(w, &c);
		canary_order_lock(&p->order);
	}
	canary_order_unlock(&p->order);
	return NULL;
}

struct canary_prefetch *canary_prefetch_start(const struct canary_imap_options *options,
					      guint32 uidvalidity, guint sessions, gsize budget,
					      GError **error)
{
	struct canary_prefetch *p = g_new0(struct canary_prefetch, 1);
	canary_imap_options_copy(&p->options, options);
	p->uidvalidity = uidvalidity;
	canary_order_init(&p->order, sizeof(struct canary_prefetch_item), budget);
	p->removed = g_array_new(FALSE, FALSE, sizeof(guint32));
	p->n_workers = MAX(sessions, 1);
	p->workers = g_new0(struct worker, p->n_workers);
	for (guint i = 0; i < p->n_workers; i++) {
		p->workers[i].prefetch = p;
		p->workers[i].session = canary_imap_new(options, error);
		if (p->workers[i].session == NULL) {
			canary_prefetch_free(p);
			return NULL;
		}
	}
	for (guint i = 0; i < p->n_workers; i++)
		p->workers[i].thread = g_thread_new("canary-fetch", worker_main, &p->workers[i]);
	return p;
}

guint canary_prefetch_add(struct canary_prefetch *p, const struct canary_prefetch_item *items,
			  guint n)
{
	canary_order_lock(&p->order);
	guint first = p->order.n;
	for (guint i = 0; i < n; i++)
		canary_order_add(&p->order, &items[i], canary_prefetch_cost(&items[i]));
	canary_order_unlock(&p->order);
	return first;
}

void canary_prefetch_close(struct canary_prefetch *p)
{
	canary_order_lock(&p->order);
	canary_order_close(&p->order);
	canary_order_unlock(&p->order);
}

GBytes *canary_prefetch_take(struct canary_prefetch *p, guint index, GError **error)
{
	return canary_order_take(&p->order, index, NULL, error);
}

gboolean canary_prefetch_ready(struct canary_prefetch *p, guint index)
{
	canary_order_lock(&p->order);
	gboolean ready = canary_order_done(&p->order, index);
	canary_order_unlock(&p->order);
	return ready;
}

/* FALSE with a copy of the first failed move's error, if any (under the
 * lock). */
static gboolean moves_ok(const struct canary_prefetch *p, GError **error)
{
	if (p->move_error == NULL)
		return TRUE;
	g_propagate_error(error, g_error_copy(p->move_error));
	return FALSE;
}

gboolean canary_prefetch_move(struct canary_prefetch *p, const guint32 *uids, guint n,
			      const char *folder, GError **error)
{
	return canary_prefetch_put_away(p, uids, n, folder, NULL, error);
}

gboolean canary_prefetch_put_away(struct canary_prefetch *p, const guint32 *uids, guint n,
				  const char *folder, const char *keyword, GError **error)
{
	struct move *m = g_new(struct move, 1);
	*m = (struct move){.uids = g_memdup2(uids, n * sizeof *uids),
			   .n = n,
			   .folder = folder,
			   .keyword = keyword};
	canary_order_lock(&p->order);
	g_queue_push_tail(&p->moves, m);
	canary_order_broadcast(&p->order);
	gboolean ok = moves_ok(p, error);
	canary_order_unlock(&p->order);
	return ok;
}

gboolean canary_prefetch_flush(struct canary_prefetch *p, guint *moved_r, GError **error)
{
	canary_order_lock(&p->order);
	while (!g_queue_is_empty(&p->moves) || p->moving)
		canary_order_wait(&p->order);
	*moved_r = p->moved;
	gboolean ok = moves_ok(p, error);
	canary_order_unlock(&p->order);
	return ok;
}

GArray *canary_prefetch_take_removed(struct canary_prefetch *p)
{
	canary_order_lock(&p->order);
	GArray *removed = p->removed;
	p->removed = g_array_new(FALSE, FALSE, sizeof(guint32));
	canary_order_unlock(&p->order);
	return removed;
}

void canary_prefetch_free(struct canary_prefetch *p)
{
	if (p == NULL)
		return;
	canary_order_lock(&p->order);
	p->stopping = TRUE;
	canary_order_broadcast(&p->order);
	canary_order_unlock(&p->order);
	for (guint i = 0; i < p->n_workers; i++) {
		if (p->workers[i].thread != NULL)
			g_thread_join(p->workers[i].thread);
		canary_imap_stream_free(p->workers[i].stream);
		canary_imap_free(p->workers[i].session);
	}
	/* Fetched bytes wipe themselves. */
	canary_order_clear(&p->order, (GDestroyNotify)g_bytes_unref);
	g_clear_error(&p->move_error);
	g_array_unref(p->removed);
	canary_imap_options_clear(&p->options);
	g_free(p->workers);
	g_free(p);
}
