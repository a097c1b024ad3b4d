/* prepare.c: workers take fetched messages in list order, prepare them,
 * and leave each in its slot for the storing thread. One worker at a time
 * takes from the prefetch (it hands messages out in order only); the
 * preparing itself runs side by side. */
#include "prepare.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "order.h"

/* How often a waiting taker calls its progress callback. */
#define FEED_SLICE G_USEC_PER_SEC

/* What the order keeps for each message until it is taken. */
struct input {
	struct canary_ingest_source source;
	gint64 started; /* when preparing it began (monotonic), 0 before */
};

struct canary_prepare {
	const struct canary_ingest *ingest;
	struct canary_prefetch *prefetch;

	GMutex claim_lock; /* held from claiming an index to taking its bytes */
	/* Its lock (LOCK below) and condition guard the rest. */
	struct canary_order order; /* of canary_ingest_prepared, from struct input */
	gboolean stopping;

	GThread **threads;
	guint n_threads;

	/* Under LOCK. */
	GArray *in_hand; /* guint indexes being prepared */
	char *in_hand_path;
	int in_hand_fd;        /* open from the first message in hand; -1 before */
	guint in_hand_slots;   /* slots the file holds (the most ever in hand) */

	/* Under LOCK: while a feeding taker prepares message HELPED itself
	 * (help()), it cannot call its progress callback; the feeder thread
	 * calls it instead, within the same budget. */
	void (*progress)(gpointer);
	gpointer progress_data;
	gint64 budget;
	gboolean helping;
	guint helped;
	GThread *feeder;
	/* The feeder sleeps on a condition of its own, woken only to stop:
	 * on the order's it was woken by every hand-over (25,880 times in a
	 * pass of 10,000 messages) to sleep again. */
	GMutex feeder_lock;
	GCond feeder_wake;
};

/* One line of the in-hand file: "UIDVALIDITY UID", right-aligned, or
 * blank; always this long, so that a line is rewritten in place. */
#define IN_HAND_SLOT 24

/* Rewrites the in-hand file from P->IN_HAND (LOCK held): one pwrite() of
 * every slot, on a file kept open, since this happens twice per message
 * under the lock (a new file renamed into place cost four system calls
 * and a directory update each time). A process that dies leaves the last
 * complete write. A failure only costs the poison count, so it is not
 * fatal. */
static void record_in_hand(struct canary_prepare *p)
{
	if (p->in_hand_path == NULL || (p->in_hand_fd < 0 && p->in_hand->len == 0))
		return;
	if (p->in_hand_fd < 0) {
		p->in_hand_fd = open(p->in_hand_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
				     0600);
		if (p->in_hand_fd < 0) {
			g_warning("cannot record the messages in hand in %s: %s",
				  p->in_hand_path, g_strerror(errno));
			return;
		}
	}
	p->in_hand_slots = MAX(p->in_hand_slots, p->in_hand->len);
	gsize size = (gsize)p->in_hand_slots * IN_HAND_SLOT;
	char *lines = g_alloca(size);
	memset(lines, ' ', size);
	for (guint k = 0; k < p->in_hand_slots; k++) {
		char *slot = lines + (gsize)k * IN_HAND_SLOT;
		slot[IN_HAND_SLOT - 1] = '\n';
		if (k >= p->in_hand->len)
			continue;
		const struct input *in =
			canary_order_input(&p->order, g_array_index(p->in_hand, guint, k));
		char line[IN_HAND_SLOT];
		int n = g_snprintf(line, sizeof line, "%u %u", in->source.uidvalidity,
				   in->source.uid);
		memcpy(slot + IN_HAND_SLOT - 1 - n, line, (gsize)n);
	}
	if (pwrite(p->in_hand_fd, lines, size, 0) != (ssize_t)size)
		g_warning("cannot record the messages in hand in %s: %s", p->in_hand_path,
			  g_strerror(errno));
}

/* Once nothing is in hand for good: the file goes. */
static void close_in_hand(struct canary_prepare *p)
{
	if (p->in_hand_fd < 0)
		return;
	close(p->in_hand_fd);
	p->in_hand_fd = -1;
	unlink(p->in_hand_path);
}

/* Marks message I in hand or, with HELD FALSE, done with (LOCK held). */
static void set_in_hand(struct canary_prepare *p, guint i, gboolean held)
{
	if (held) {
		((struct input *)canary_order_input(&p->order, i))->started = g_get_monotonic_time();
		g_array_append_val(p->in_hand, i);
	} else {
		for (guint k = 0; k < p->in_hand->len; k++)
			if (g_array_index(p->in_hand, guint, k) == i)
				g_array_remove_index_fast(p->in_hand, k--);
	}
	record_in_hand(p);
}

/* A message claimed: its index and where it comes from. */
struct claimed {
	guint index;
	struct canary_ingest_source source;
};

/* Called locked: claims the next message (canary_order_may_claim() TRUE). */
static struct claimed claim_next(struct canary_prepare *p)
{
	struct claimed c = {.index = canary_order_claim(&p->order)};
	c.source = ((const struct input *)canary_order_input(&p->order, c.index))->source;
	return c;
}

/* Claims the next message and takes its bytes. FALSE when there is none
 * left or the queue is stopping. */
static gboolean claim(struct canary_prepare *p, struct claimed *c_r, GBytes **raw_r,
		      GError **error)
{
	g_mutex_lock(&p->claim_lock);
	canary_order_lock(&p->order);
	while (!p->stopping && !canary_order_exhausted(&p->order) &&
	       !canary_order_may_claim(&p->order))
		canary_order_wait(&p->order);
	gboolean claimed = !p->stopping && canary_order_may_claim(&p->order);
	if (claimed)
		*c_r = claim_next(p);
	canary_order_unlock(&p->order);
	/* Outside the lock: the fetch may take a while, and the caller must
	 * still be able to take what is ready. */
	if (claimed)
		*raw_r = canary_prefetch_take(p->prefetch, c_r->index, error);
	g_mutex_unlock(&p->claim_lock);
	return claimed;
}

/* Prepares the message C claimed from RAW (taken over; NULL when its
 * fetch failed with ERROR, taken over) and leaves it in its slot. Its keys
 * are made once it is out of the in-hand record: sealing them reads
 * nothing the sender wrote, so a death meanwhile says nothing about the
 * message. */
static void prepare_one(struct canary_prepare *p, const struct claimed *c, GBytes *raw,
			GError *error)
{
	struct canary_ingest_prepared *prepared = NULL;
	if (raw != NULL && !g_atomic_int_get(&p->stopping)) {
		canary_order_lock(&p->order);
		set_in_hand(p, c->index, TRUE);
		canary_order_unlock(&p->order);
		prepared = canary_ingest_prepare(p->ingest, raw, &c->source);
		canary_order_lock(&p->order);
		set_in_hand(p, c->index, FALSE);
		canary_order_unlock(&p->order);
		canary_ingest_prepare_keys(p->ingest, prepared);
	}
	g_clear_pointer(&raw, g_bytes_unref);
	canary_order_lock(&p->order);
	canary_order_put(&p->order, c->index, prepared, error);
	canary_order_unlock(&p->order);
}

static gpointer worker_main(gpointer data)
{
	struct canary_prepare *p = data;
	struct claimed c;
	GBytes *raw = NULL;
	GError *error = NULL;
	while (claim(p, &c, &raw, &error)) {
		prepare_one(p, &c, raw, error);
		raw = NULL;
		error = NULL;
	}
	return NULL;
}

/* TRUE when the taker may still feed the watchdog for message INDEX: it is
 * being fetched (the fetch has its own timeouts) or within BUDGET of
 * preparing. LOCK held. */
static gboolean within_budget(struct canary_prepare *p, guint index, gint64 budget)
{
	gint64 started = 0;
	if (index >= p->order.first && index < p->order.n)
		started = ((const struct input *)canary_order_input(&p->order, index))->started;
	return started == 0 || g_get_monotonic_time() - started <= budget + G_USEC_PER_SEC;
}

/* Feeds for a taker that is preparing a message itself, every FEED_SLICE,
 * as long as that message is within the budget. */
static gpointer feeder_main(gpointer data)
{
	struct canary_prepare *p = data;
	for (;;) {
		g_mutex_lock(&p->feeder_lock);
		gint64 until = g_get_monotonic_time() + FEED_SLICE;
		while (!g_atomic_int_get(&p->stopping) &&
		       g_cond_wait_until(&p->feeder_wake, &p->feeder_lock, until))
			;
		g_mutex_unlock(&p->feeder_lock);
		canary_order_lock(&p->order);
		gboolean stop = p->stopping;
		gboolean feed = !stop && p->helping && within_budget(p, p->helped, p->budget);
		canary_order_unlock(&p->order);
		if (stop)
			return NULL;
		if (feed)
			p->progress(p->progress_data);
	}
}

/* While the taker waits, it prepares the next message itself when no
 * worker has claimed it, its bytes are fetched and the budget allows, so
 * that no core idles (LOCK held, and held again on return). TRUE if it
 * prepared one. A worker claiming holds CLAIM_LOCK, so it is tried, not
 * waited for. */
static gboolean help(struct canary_prepare *p)
{
	if (p->stopping || !canary_order_may_claim(&p->order) ||
	    !canary_prefetch_ready(p->prefetch, p->order.next_claim) ||
	    !g_mutex_trylock(&p->claim_lock))
		return FALSE;
	/* Checked again: a worker may have claimed it before the trylock. */
	gboolean claimable = canary_order_may_claim(&p->order) &&
			     canary_prefetch_ready(p->prefetch, p->order.next_claim);
	struct claimed c = {0};
	if (claimable)
		c = claim_next(p);
	p->helping = claimable;
	p->helped = c.index;
	canary_order_unlock(&p->order);
	GError *error = NULL;
	GBytes *raw = claimable ? canary_prefetch_take(p->prefetch, c.index, &error) : NULL;
	g_mutex_unlock(&p->claim_lock);
	if (claimable)
		prepare_one(p, &c, raw, error);
	canary_order_lock(&p->order);
	p->helping = FALSE;
	return claimable;
}

guint canary_prepare_default_threads(void)
{
	return CLAMP(g_get_num_processors() - 1, 1u, 8u);
}

struct canary_prepare *canary_prepare_start(const struct canary_ingest *ingest,
					    struct canary_prefetch *prefetch, guint threads,
					    gsize budget)
{
	return canary_prepare_start_recorded(ingest, prefetch, threads, budget, NULL);
}

struct canary_prepare *canary_prepare_start_recorded(const struct canary_ingest *ingest,
						     struct canary_prefetch *prefetch,
						     guint threads, gsize budget,
						     const char *in_hand_path)
{
	struct canary_prepare *p = g_new0(struct canary_prepare, 1);
	*p = (struct canary_prepare){
		.ingest = ingest,
		.prefetch = prefetch,
		.n_threads = MAX(threads, 1),
		.in_hand = g_array_new(FALSE, FALSE, sizeof(guint)),
		.in_hand_path = g_strdup(in_hand_path),
		.in_hand_fd = -1,
	};
	canary_order_init(&p->order, sizeof(struct input), budget);
	g_mutex_init(&p->claim_lock);
	g_mutex_init(&p->feeder_lock);
	g_cond_init(&p->feeder_wake);
	p->threads = g_new0(GThread *, p->n_threads);
	for (guint i = 0; i < p->n_threads; i++)
		p->threads[i] = g_thread_new("canary-prepare", worker_main, p);
	return p;
}

guint canary_prepare_add(struct canary_prepare *p, const struct canary_prefetch_item *items,
			 const struct canary_ingest_source *sources, guint n)
{
	/* The prefetch first: a worker that claims message I takes item I. */
	guint first = canary_prefetch_add(p->prefetch, items, n);
	canary_order_lock(&p->order);
	g_assert(p->order.n == first);
	for (guint i = 0; i < n; i++) {
		struct input in = {.source = sources[i]};
		canary_order_add(&p->order, &in, canary_prefetch_cost(&items[i]));
	}
	canary_order_unlock(&p->order);
	return first;
}

void canary_prepare_close(struct canary_prepare *p)
{
	canary_prefetch_close(p->prefetch);
	canary_order_lock(&p->order);
	canary_order_close(&p->order);
	canary_order_unlock(&p->order);
}

struct canary_ingest_prepared *canary_prepare_take(struct canary_prepare *p, guint index,
						   GError **error)
{
	return canary_order_take(&p->order, index, NULL, error);
}

struct canary_ingest_prepared *canary_prepare_take_feeding(
	struct canary_prepare *p, guint index, gint64 budget, void (*progress)(gpointer),
	gpointer user_data, struct canary_ingest_source *source_r, GError **error)
{
	canary_order_lock(&p->order);
	if (progress != NULL && p->feeder == NULL) {
		p->progress = progress;
		p->progress_data = user_data;
		p->budget = budget;
		p->feeder = g_thread_new("canary-feeder", feeder_main, p);
	}
	while (index < p->order.n && !canary_order_done(&p->order, index)) {
		if (help(p))
			continue;
		gint64 until = g_get_monotonic_time() + FEED_SLICE;
		while (!canary_order_done(&p->order, index) &&
		       canary_order_wait_until(&p->order, until))
			;
		if (canary_order_done(&p->order, index) || progress == NULL ||
		    !within_budget(p, index, budget))
			continue;
		canary_order_unlock(&p->order);
		progress(user_data);
		canary_order_lock(&p->order);
	}
	canary_order_unlock(&p->order);
	struct input in;
	struct canary_ingest_prepared *prepared = canary_order_take(&p->order, index, &in, error);
	if (source_r != NULL)
		*source_r = in.source;
	return prepared;
}

void canary_prepare_free(struct canary_prepare *p)
{
	if (p == NULL)
		return;
	canary_order_lock(&p->order);
	g_atomic_int_set(&p->stopping, TRUE);
	canary_order_broadcast(&p->order);
	canary_order_unlock(&p->order);
	/* Under the feeder's lock, which it holds from its check of STOPPING
	 * to its wait: the signal cannot fall between the two. */
	g_mutex_lock(&p->feeder_lock);
	g_cond_signal(&p->feeder_wake);
	g_mutex_unlock(&p->feeder_lock);
	for (guint i = 0; i < p->n_threads; i++)
		g_thread_join(p->threads[i]);
	if (p->feeder != NULL)
		g_thread_join(p->feeder);
	/* Nothing is in hand once the workers have stopped. */
	g_array_set_size(p->in_hand, 0);
	close_in_hand(p);
	canary_order_clear(&p->order, (GDestroyNotify)canary_ingest_prepared_free);
	g_array_unref(p->in_hand);
	g_free(p->in_hand_path);
	g_free(p->threads);
	g_mutex_clear(&p->claim_lock);
	g_mutex_clear(&p->feeder_lock);
	g_cond_clear(&p->feeder_wake);
	g_free(p);
}
