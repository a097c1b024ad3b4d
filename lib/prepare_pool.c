/* prepare_pool.c: a FIFO of jobs under one lock; a GThreadPool runs them
 * in the order they were pushed, and the taker waits for the oldest. */
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
	GThreadPool *workers;
	GMutex lock;
	GCond done;   /* a job was prepared */
	GQueue jobs;  /* struct job *, oldest first: the taker's alone */
	gsize budget;
	gsize held;   /* the cost of the jobs in JOBS: the taker's alone */
};

static void job_free(struct job *job)
{
	g_clear_pointer(&job->raw, g_bytes_unref);
	g_clear_pointer(&job->prepared, canary_ingest_prepared_free);
	g_free(job);
}

static void run_job(gpointer data, gpointer user_data)
{
	struct job *job = data;
	struct canary_prepare_pool *pool = user_data;
	struct canary_ingest_prepared *prepared =
		canary_ingest_prepare(pool->ingest, job->raw, &job->source);
	g_mutex_lock(&pool->lock);
	g_clear_pointer(&job->raw, g_bytes_unref);
	job->prepared = prepared;
	job->done = TRUE;
	g_cond_broadcast(&pool->done);
	g_mutex_unlock(&pool->lock);
}

guint canary_prepare_pool_default_threads(void)
{
	return CLAMP(g_get_num_processors(), 1u, 8u);
}

struct canary_prepare_pool *canary_prepare_pool_new(const struct canary_ingest *ingest,
						    guint threads, gsize budget)
{
	struct canary_prepare_pool *pool = g_new0(struct canary_prepare_pool, 1);
	pool->ingest = ingest;
	pool->budget = budget;
	g_mutex_init(&pool->lock);
	g_cond_init(&pool->done);
	g_queue_init(&pool->jobs);
	/* Exclusive threads, started now: g_thread_pool_push() cannot fail. */
	pool->workers = g_thread_pool_new(run_job, pool, (gint)MAX(threads, 1), TRUE, NULL);
	g_assert(pool->workers != NULL);
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
	g_thread_pool_push(pool->workers, job, NULL);
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
	while (!job->done)
		g_cond_wait(&pool->done, &pool->lock);
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
	g_thread_pool_free(pool->workers, TRUE, TRUE);
	g_queue_clear_full(&pool->jobs, (GDestroyNotify)job_free);
	g_cond_clear(&pool->done);
	g_mutex_clear(&pool->lock);
	g_free(pool);
}
