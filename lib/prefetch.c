/* prefetch.c: worker threads that fetch a pass's messages ahead of their
 * ingestion. Workers claim the next message in list order, as long as the
 * bytes claimed and not yet taken stay within the budget (the message the
 * caller waits for may always be claimed, however large, so a message over
 * the budget cannot stall the pass). One mutex and one condition variable
 * guard everything shared; fetching itself runs unlocked. */
#include "prefetch.h"

/* A fetched message waiting to be taken, or the error its fetch met. */
struct slot {
	GBytes *bytes;
	GError *error;
	gboolean done;
};

struct worker {
	struct canary_prefetch *prefetch;
	struct canary_imap *session;
	GThread *thread;
};

struct canary_prefetch {
	guint32 uidvalidity;
	const struct canary_prefetch_item *items;
	guint n;
	struct slot *slots;
	gsize budget;

	GMutex lock;
	GCond changed;    /* a slot was filled or taken, or stopping was set */
	guint next_claim; /* the next item a worker fetches */
	guint next_take;  /* the next item the caller takes */
	gsize claimed;    /* bytes of items claimed and not yet taken */
	gboolean stopping;

	struct worker *workers;
	guint n_workers;
};

/* A header-only fetch brings a few kilobytes, whatever the message's size. */
#define HEADER_COST (64 * 1024)

static gsize cost(const struct canary_prefetch_item *item)
{
	return item->header_only ? HEADER_COST : (gsize)item->size;
}

/* Called locked: may a worker claim the next item now? */
static gboolean may_claim(const struct canary_prefetch *p)
{
	return p->next_claim == p->next_take ||
	       p->claimed + cost(&p->items[p->next_claim]) <= p->budget;
}

static GBytes *fetch(struct worker *w, const struct canary_prefetch_item *item, GError **error)
{
	guint32 uidvalidity = w->prefetch->uidvalidity;
	return item->header_only
		       ? canary_imap_fetch_header(w->session, uidvalidity, item->uid, error)
		       : canary_imap_fetch(w->session, uidvalidity, item->uid, error);
}

static gpointer worker_main(gpointer data)
{
	struct worker *w = data;
	struct canary_prefetch *p = w->prefetch;
	g_mutex_lock(&p->lock);
	for (;;) {
		while (!p->stopping && p->next_claim < p->n && !may_claim(p))
			g_cond_wait(&p->changed, &p->lock);
		if (p->stopping || p->next_claim >= p->n)
			break;
		guint i = p->next_claim++;
		p->claimed += cost(&p->items[i]);
		g_mutex_unlock(&p->lock);

		GError *error = NULL;
		GBytes *bytes = fetch(w, &p->items[i], &error);

		g_mutex_lock(&p->lock);
		p->slots[i] = (struct slot){.bytes = bytes, .error = error, .done = TRUE};
		g_cond_broadcast(&p->changed);
	}
	g_mutex_unlock(&p->lock);
	return NULL;
}

struct canary_prefetch *canary_prefetch_start(const struct canary_imap_options *options,
					      guint32 uidvalidity,
					      const struct canary_prefetch_item *items, guint n,
					      guint sessions, gsize budget, GError **error)
{
	struct canary_prefetch *p = g_new0(struct canary_prefetch, 1);
	p->uidvalidity = uidvalidity;
	p->items = items;
	p->n = n;
	p->slots = g_new0(struct slot, MAX(n, 1));
	p->budget = budget;
	g_mutex_init(&p->lock);
	g_cond_init(&p->changed);
	/* No more sessions than messages: each costs the server a login. */
	p->n_workers = CLAMP(sessions, 1, MAX(n, 1));
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

GBytes *canary_prefetch_take(struct canary_prefetch *p, guint index, GError **error)
{
	g_return_val_if_fail(index == p->next_take && index < p->n, NULL);
	g_mutex_lock(&p->lock);
	while (!p->slots[index].done)
		g_cond_wait(&p->changed, &p->lock);
	struct slot slot = p->slots[index];
	p->slots[index] = (struct slot){.done = TRUE};
	p->next_take++;
	p->claimed -= cost(&p->items[index]);
	g_cond_broadcast(&p->changed);
	g_mutex_unlock(&p->lock);
	if (slot.error != NULL)
		g_propagate_error(error, slot.error);
	return slot.bytes;
}

void canary_prefetch_free(struct canary_prefetch *p)
{
	if (p == NULL)
		return;
	g_mutex_lock(&p->lock);
	p->stopping = TRUE;
	g_cond_broadcast(&p->changed);
	g_mutex_unlock(&p->lock);
	for (guint i = 0; i < p->n_workers; i++) {
		if (p->workers[i].thread != NULL)
			g_thread_join(p->workers[i].thread);
		canary_imap_free(p->workers[i].session);
	}
	for (guint i = 0; i < p->n; i++) {
		if (p->slots[i].bytes != NULL)
			g_bytes_unref(p->slots[i].bytes); /* fetched bytes wipe themselves */
		g_clear_error(&p->slots[i].error);
	}
	g_free(p->workers);
	g_free(p->slots);
	g_cond_clear(&p->changed);
	g_mutex_clear(&p->lock);
	g_free(p);
}
