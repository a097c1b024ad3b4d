/* checkpoint.h: a store's write-ahead log copied back into the database
 * on a thread of its own ("canary-checkpt"), with a connection of its
 * own, for store.c.
 *
 * SQLite's automatic checkpoint runs inside the commit that crosses its
 * threshold, on the thread that writes: during a backlog the storing
 * thread spent a fifth of its time copying pages into the database and
 * waiting for them to reach the disk, while it could have sealed and
 * stored the next messages (bench/README.md, step 13). Here the writer's
 * commits only wake the checkpointing thread; once the log holds
 * CHECKPOINT_LIMIT frames, the commit that finds it so waits for one whole
 * checkpoint, which with the writer held copies every frame, so that the
 * next transaction starts the log afresh and it stays as short as with
 * SQLite's own checkpoint. A checkpoint never blocks the writer or the
 * readers (PASSIVE): what readers still use stays in the log for the
 * next one, as before. */
#ifndef CANARY_CHECKPOINT_H
#define CANARY_CHECKPOINT_H

#include <glib.h>
#include <sqlite3.h>

struct canary_checkpointer;

/* Takes over the checkpoints of WRITER, a connection to the database at
 * PATH in WAL mode: opens the second connection and starts the thread.
 * NULL with ERROR (CANARY_STORE_ERROR_OPEN) when the connection cannot be
 * opened; WRITER keeps its automatic checkpoint then. */
struct canary_checkpointer *canary_checkpointer_start(sqlite3 *writer, const char *path,
						      GError **error);

/* Returns once no checkpoint is running or asked for: the writer is about
 * to checkpoint itself (canary_store_checkpoint()). Called by the writer's
 * thread, which alone asks for checkpoints. */
void canary_checkpointer_wait_idle(struct canary_checkpointer *c);

/* How many checkpoints the thread has run. */
guint64 canary_checkpointer_count(struct canary_checkpointer *c);

/* Gives WRITER its automatic checkpoint back, stops the thread and closes
 * its connection. NULL is fine. Before WRITER is closed. */
void canary_checkpointer_stop(struct canary_checkpointer *c);

#endif
