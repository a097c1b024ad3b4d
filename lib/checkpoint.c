/* checkpoint.c: see checkpoint.h. */
#include "checkpoint.h"

#include "log.h"
#include "store.h"

/* SQLite's default for a connection's automatic checkpoint, given back. */
#define AUTOCHECKPOINT_DEFAULT 1000

/* Frames of 64 KiB pages. A checkpoint starts once the log holds 32 MiB;
 * at 64 MiB (SQLite's own threshold) the writer waits for a whole one.
 * The measurements behind them: bench/README.md, step 13. */
#define CHECKPOINT_START 500
#define CHECKPOINT_LIMIT AUTOCHECKPOINT_DEFAULT

/* A checkpoint waits this long for the database's locks when another
 * connection holds them (another process checkpointing, or vacuuming). */
#define CHECKPOINT_BUSY_MS 5000

struct canary_checkpointer {
	sqlite3 *writer;
	sqlite3 *db; /* the thread's own connection */
	char *path;
	GThread *thread;
	GMutex lock;   /* guards the four below */
	GCond changed; /* a checkpoint asked for, finished, or the stop */
	gboolean asked, running, stopping;
	guint64 finished; /* checkpoints run so far */
};

static gpointer checkpointer_main(gpointer data)
{
	struct canary_checkpointer *c = data;
	g_mutex_lock(&c->lock);
	for (;;) {
		while (!c->asked && !c->stopping)
			g_cond_wait(&c->changed, &c->lock);
		if (c->stopping)
			break;
		c->asked = FALSE;
		c->running = TRUE;
		g_mutex_unlock(&c->lock);
		int rc = sqlite3_wal_checkpoint_v2(c->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL,
						   NULL);
		/* Busy: another connection is checkpointing, which is as good.
		 * Anything else leaves the frames in the log for the next one
		 * and for canary_store_checkpoint(), which reports it. */
		if (rc != SQLITE_OK && (rc & 0xff) != SQLITE_BUSY)
			canary_warning("%s: copying the write-ahead log into the database: %s",
				       c->path, sqlite3_errmsg(c->db));
		g_mutex_lock(&c->lock);
		c->running = FALSE;
		c->finished++;
		g_cond_broadcast(&c->changed);
	}
	g_mutex_unlock(&c->lock);
	return NULL;
}

/* SQLite's WAL hook: called on the writer's thread after each commit,
 * with the write lock released, FRAMES long. */
static int after_commit(void *data, sqlite3 *db, const char *schema, int frames)
{
	(void)db;
	(void)schema;
	struct canary_checkpointer *c = data;
	g_mutex_lock(&c->lock);
	if (frames >= CHECKPOINT_LIMIT) {
		/* One that starts after this commit: a running one may have
		 * started before it, and then copies only part of the log. */
		guint64 whole = c->finished + (c->running ? 2 : 1);
		c->asked = TRUE;
		g_cond_broadcast(&c->changed);
		while (c->finished < whole)
			g_cond_wait(&c->changed, &c->lock);
	} else if (frames >= CHECKPOINT_START && !c->running && !c->asked) {
		c->asked = TRUE;
		g_cond_broadcast(&c->changed);
	}
	g_mutex_unlock(&c->lock);
	return SQLITE_OK;
}

struct canary_checkpointer *canary_checkpointer_start(sqlite3 *writer, const char *path,
						      GError **error)
{
	sqlite3 *db = NULL;
	int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW, NULL);
	/* FULL: the checkpoint syncs the database before the log is reused. */
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, "PRAGMA synchronous = FULL", NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		g_set_error(error, CANARY_STORE_ERROR, CANARY_STORE_ERROR_OPEN,
			    "%s: opening a connection for checkpoints: %s", path,
			    db != NULL ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
		sqlite3_close_v2(db);
		return NULL;
	}
	sqlite3_busy_timeout(db, CHECKPOINT_BUSY_MS);
	struct canary_checkpointer *c = g_new0(struct canary_checkpointer, 1);
	c->writer = writer;
	c->db = db;
	c->path = g_strdup(path);
	g_mutex_init(&c->lock);
	g_cond_init(&c->changed);
	/* Linux keeps 15 bytes of a thread name: "canary-checkpoint" is lost. */
	c->thread = g_thread_new("canary-checkpt", checkpointer_main, c);
	/* Replaces the writer's automatic checkpoint, itself a WAL hook. */
	sqlite3_wal_hook(writer, after_commit, c);
	return c;
}

void canary_checkpointer_wait_idle(struct canary_checkpointer *c)
{
	g_mutex_lock(&c->lock);
	while (c->asked || c->running)
		g_cond_wait(&c->changed, &c->lock);
	g_mutex_unlock(&c->lock);
}

guint64 canary_checkpointer_count(struct canary_checkpointer *c)
{
	g_mutex_lock(&c->lock);
	guint64 n = c->finished;
	g_mutex_unlock(&c->lock);
	return n;
}

void canary_checkpointer_stop(struct canary_checkpointer *c)
{
	if (c == NULL)
		return;
	sqlite3_wal_autocheckpoint(c->writer, AUTOCHECKPOINT_DEFAULT);
	g_mutex_lock(&c->lock);
	c->stopping = TRUE;
	g_cond_broadcast(&c->changed);
	g_mutex_unlock(&c->lock);
	g_thread_join(c->thread);
	sqlite3_close_v2(c->db);
	g_mutex_clear(&c->lock);
	g_cond_clear(&c->changed);
	g_free(c->path);
	g_free(c);
}
