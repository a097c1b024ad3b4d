/* prepare_pool.c: jobs in the order they were pushed; workers take the
 * oldest not started, and the taker, rather than wait for the oldest to
 * be done, prepares the oldest not started itself, so that no core idles
 * while there is work. */
#include "prepare_pool.h"

/* Counted per message beyond its bytes: what parsing it adds at least, so
 * that a walk through tiny messages is bounded too. */
#define JOB_OVERHEAD 4096

struct job {
	GBytes *raw; /* until prepared */
	struct canary_ingest_source source;
	gsize cost;
	struct canary_ingest_prepared *prepared; /* under LOCK */
	gboolean done;                           /* under LOCK */
};

struct canary_prepare_pool {
	const struct canary_ingest *ingest;
	GThread **threads;
	guint n_threads;
	GMutex lock;
	GCond changed;   /* a job was pushed or prepared, or the pool stops */
	GQueue waiting;  /* struct job * not started, oldest first: under LOCK */
	gboolean stopping; /* under LOCK */
	GQueue jobs;     /* every struct job * not taken, oldest first: the taker's */
	gsize budget;
	gsize held;      /* the cost of the jobs in JOBS: the taker's */
};

static void job_free(struct job *job)
{
	g_clear_pointer(&job->raw, g_bytes_unref);
	g_clear_pointer(&job->prepared, canary_ingest_prepared_free);
	g_free(job);
}

/* Prepares JOB, taken off WAITING (LOCK held, and held again on return). */
static void run_job(struct canary_prepare_pool *pool, struct job *job)
{
	g_mutex_unlock(&pool->lock);
	struct canary_ingest_prepared *prepared =
		canary_ingest_prepare(pool->ingest, job->raw, &job->source);
	canary_ingest_prepare_keys(pool->ingest, prepared);
	g_clear_pointer(&job->raw, g_bytes_unref);
	g_mutex_lock(&pool->lock);
	job->prepared = prepared;
	job->done = TRUE;
	g_cond_broadcast(&pool->changed);
}

static gpointer worker_main(gpointer data)
{
	struct canary_prepare_pool *pool = data;
	g_mutex_lock(&pool->lock);
	for (;;) {
		while (!pool->stopping && g_queue_is_empty(&pool->waiting))
			g_cond_wait(&pool->changed, &pool->lock);
		if (pool->stopping)
			break;
		run_job(pool, g_queue_pop_head(&pool->waiting));
	}
	g_mutex_unlock(&pool->lock);
	return NULL;
}

guint canary_prepare_pool_default_threads(void)
{
	return CLAMP(g_get_num_processors() - 1, 1u, 8u);
}

struct canary_prepare_pool *canary_prepare_pool_new(const struct canary_ingest *ingest,
						    guint threads, gsize budget)
{
	struct canary_prepare_pool *pool = g_new0(struct canary_prepare_pool, 1);
	pool->ingest = ingest;
	pool->budget = budget;
	g_mutex_init(&pool->lock);
	g_cond_init(&pool->changed);
	g_queue_init(&pool->waiting);
	g_queue_init(&pool->jobs);
	pool->n_threads = MAX(threads, 1);
	pool->threads = g_new0(GThread *, pool->n_threads);
	for (guint i = 0; i < pool->n_threads; i++)
		pool->threads[i] = g_thread_new("canary-prepare", worker_main, pool);
	return pool;
}

void canary_prepare_pool_push(struct canary_prepare_pool *pool, GBytes *raw,
			      const struct canary_ingest_source *source)
{
	struct job *job = g_new0(struct job, 1);
	job->raw = g_bytes_ref(raw);
	job->source = *source;
	job->cost = g_bytes_get_size(raw) + JOB_OVERHEAD;
	g_queue_push_tail(&pool->jobs, job);
	pool->held += job->cost;
	g_mutex_lock(&pool->lock);
	g_queue_push_tail(&pool->waiting, job);
	g_cond_signal(&pool->changed);
	g_mutex_unlock(&pool->lock);
}

gboolean canary_prepare_pool_full(const struct canary_prepare_pool *pool)
{
	return pool->held >= pool->budget;
}

struct canary_ingest_prepared *canary_prepare_pool_take(struct canary_prepare_pool *pool)
{
	struct job *job = g_queue_pop_head(&pool->jobs);
	if (job == NULL)
		return NULL;
	g_mutex_lock(&pool->lock);
	while (!job->done) {
		if (!g_queue_is_empty(&pool->waiting))
			run_job(pool, g_queue_pop_head(&pool->waiting)); /* JOB itself, or one after it */
		else
			g_cond_wait(&pool->changed, &pool->lock);
	}
	struct canary_ingest_prepared *prepared = g_steal_pointer(&job->prepared);
	g_mutex_unlock(&pool->lock);
	pool->held -= job->cost;
	job_free(job);
	return prepared;
}

void canary_prepare_pool_free(struct canary_prepare_pool *pool)
{
	if (pool == NULL)
		return;
	/* Jobs not started are dropped; those running finish first. */
	g_mutex_lock(&pool->lock);
	pool->stopping = TRUE;
	g_cond_broadcast(&pool->changed);
	g_mutex_unlock(&pool->lock);
	for (guint i = 0; i < pool->n_threads; i++)
		g_thread_join(pool->threads[i]);
	g_free(pool->threads);
	g_queue_clear(&pool->waiting);
	g_queue_clear_full(&pool->jobs, (GDestroyNotify)job_free);
	g_cond_clear(&pool->changed);
	g_mutex_clear(&pool->lock);
	g_free(pool);
}
