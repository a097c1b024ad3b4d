/* prepare.c: workers take fetched messages in list order, prepare them,
 * and leave each in its slot for the storing thread. One worker at a time
 * takes from the prefetch (it hands messages out in order only); the
 * preparing itself runs side by side. */
#include "prepare.h"

#include "order.h"

struct canary_prepare {
	const struct canary_ingest *ingest;
	struct canary_prefetch *prefetch;
	const struct canary_ingest_source *sources;

	GMutex claim_lock; /* held from claiming an index to taking its bytes */
	GMutex lock;       /* the rest */
	GCond changed;
	struct canary_order order; /* of canary_ingest_prepared */
	gboolean stopping;

	GThread **threads;
	guint n_threads;
};

/* Claims the next message and takes its bytes. FALSE when there is none
 * left or the queue is stopping. */
static gboolean claim(struct canary_prepare *p, guint *index_r, GBytes **raw_r, GError **error)
{
	g_mutex_lock(&p->claim_lock);
	g_mutex_lock(&p->lock);
	while (!p->stopping && p->order.next_claim < p->order.n &&
	       !canary_order_may_claim(&p->order))
		g_cond_wait(&p->changed, &p->lock);
	gboolean claimed = !p->stopping && p->order.next_claim < p->order.n;
	if (claimed)
		*index_r = canary_order_claim(&p->order);
	g_mutex_unlock(&p->lock);
	/* Outside the lock: the fetch may take a while, and the caller must
	 * still be able to take what is ready. */
	if (claimed)
		*raw_r = canary_prefetch_take(p->prefetch, *index_r, error);
	g_mutex_unlock(&p->claim_lock);
	return claimed;
}

static gpointer worker_main(gpointer data)
{
	struct canary_prepare *p = data;
	guint i = 0;
	GBytes *raw = NULL;
	GError *error = NULL;
	while (claim(p, &i, &raw, &error)) {
		struct canary_ingest_prepared *prepared = NULL;
		if (raw != NULL && !g_atomic_int_get(&p->stopping))
			prepared = canary_ingest_prepare(p->ingest, raw, &p->sources[i]);
		g_clear_pointer(&raw, g_bytes_unref);
		g_mutex_lock(&p->lock);
		canary_order_put(&p->order, i, prepared, error);
		g_cond_broadcast(&p->changed);
		g_mutex_unlock(&p->lock);
		error = NULL;
	}
	return NULL;
}

guint canary_prepare_default_threads(void)
{
	return CLAMP(g_get_num_processors() - 1, 1u, 8u);
}

struct canary_prepare *canary_prepare_start(const struct canary_ingest *ingest,
					    struct canary_prefetch *prefetch,
					    const struct canary_prefetch_item *items,
					    const struct canary_ingest_source *sources, guint n,
					    guint threads, gsize budget)
{
	struct canary_prepare *p = g_new0(struct canary_prepare, 1);
	*p = (struct canary_prepare){
		.ingest = ingest,
		.prefetch = prefetch,
		.sources = sources,
		.n_threads = MAX(threads, 1),
	};
	canary_order_init(&p->order, canary_prefetch_costs(items, n), n, budget);
	g_mutex_init(&p->claim_lock);
	g_mutex_init(&p->lock);
	g_cond_init(&p->changed);
	p->threads = g_new0(GThread *, p->n_threads);
	for (guint i = 0; i < p->n_threads; i++)
		p->threads[i] = g_thread_new("canary-prepare", worker_main, p);
	return p;
}

struct canary_ingest_prepared *canary_prepare_take(struct canary_prepare *p, guint index,
						   GError **error)
{
	return canary_order_take(&p->order, &p->lock, &p->changed, index, error);
}

void canary_prepare_free(struct canary_prepare *p)
{
	if (p == NULL)
		return;
	g_mutex_lock(&p->lock);
	g_atomic_int_set(&p->stopping, TRUE);
	g_cond_broadcast(&p->changed);
	g_mutex_unlock(&p->lock);
	for (guint i = 0; i < p->n_threads; i++)
		g_thread_join(p->threads[i]);
	canary_order_clear(&p->order, (GDestroyNotify)canary_ingest_prepared_free);
	g_free(p->threads);
	g_mutex_clear(&p->claim_lock);
	g_mutex_clear(&p->lock);
	g_cond_clear(&p->changed);
	g_free(p);
}
