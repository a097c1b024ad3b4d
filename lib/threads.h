/* threads.h: the threads of canaryd, what each owns and how they hand over.
 * No code: the one place that says it, for whoever changes one of them.
 *
 * One pass (poll.c, on the main thread):
 *
 *   fetch sessions --(order, by bytes)--> preparing workers --(order)--> main
 *   (prefetch.c)                          (prepare.c)                    thread
 *        ^                                                                 |
 *        +---------------- moves and removals, after each commit ---------+
 *
 * - Fetch sessions (prefetch.c, "canary-fetch", [imap] fetch_sessions of them):
 *   each owns one IMAP session (imap.h) and one read-only stream
 *   (canary_imap_stream_open()). They claim list indexes in order, up to
 *   100 at a time, while the bytes fetched and not yet taken stay within
 *   PREFETCH_BUDGET, fetch them with one command on the stream (what it
 *   does not bring, one by one on the session), and leave each message in
 *   its slot of the prefetch's order (order.h) as soon as it is in.
 *   The first session alone also runs the moves and removals the main
 *   thread queues, one after another on its own connection, and stops only
 *   when none is left, so that a message is put away only after its case
 *   committed and in the order the batches committed.
 * - Preparing workers (prepare.c, "canary-prepare"): take fetched bytes in
 *   list order (one at a time, under claim_lock) and prepare them
 *   (canary_ingest_prepare(): parse, identity, pseudonym, routing,
 *   scrubbing), reading the ingest's configuration and keys, which nobody
 *   writes during a pass. Results wait in the prepare's order within
 *   PREPARE_BUDGET. Which messages are in hand is written to
 *   "<database>.in-hand" so that a message in hand at two crashes is
 *   quarantined as poison (poll.c, crash.h); a message leaves that record
 *   before its keys are made and sealed (canary_ingest_prepare_keys()),
 *   which reads nothing the sender wrote.
 * - The main thread takes prepared messages strictly in list order; while
 *   the one it needs is not ready, it prepares the next fetched message
 *   no worker has claimed, as a worker would (in hand included). It alone
 *   writes the store: duplicate and thread lookups, sealing,
 *   inserting, the history, one transaction per batch, then queues the
 *   batch's moves. While it waits it feeds systemd's watchdog (the
 *   progress callback of canary_prepare_take_feeding()); while it prepares
 *   a message itself, the prepare's feeder thread ("canary-feeder") feeds
 *   for it, within the same budget; the feeder wakes once a second on a
 *   lock and condition of its own (only the prepare's end signals them),
 *   not at every hand-over. Signals only set flags it reads between
 *   passes.
 *
 * The main thread lists the inbox whole at the start of a pass, then sorts
 * the listing (stored already or not) a window of 1,000 messages at a
 * time, as it reaches them, and adds each window's new messages to the
 * prepare, which adds them to the prefetch under the same indexes
 * (canary_prepare_add()). An order keeps only the items added and not yet
 * taken, so what the threads share follows what is in flight, not the
 * length of the inbox.
 *
 * Each order (order.h) owns one mutex and one condition; its owner keeps
 * its own shared state (moves queued, messages in hand, stopping) under
 * that mutex and signals on that condition. Nothing else is shared between
 * these threads; each pass starts and joins them all.
 *
 * Beside the passes, for canaryd's whole life:
 * - The checkpoints (checkpoint.c, "canary-checkpt"): one thread with
 *   its own connection copies the write-ahead log back into the database;
 *   the main thread's commits only wake it (after the commit, with no lock
 *   held), and the commit that finds the log at its limit waits for one
 *   whole checkpoint, on the thread's own lock and condition.
 * - The control socket (server.c): one accepting thread ("canary-accept"),
 *   and one thread per connection ("canary-client"), each with its own
 *   store connection (SQLite serialises the writers; a pass's transactions
 *   and officers' actions interleave).
 * - The notices (notify.c, "notices"): one thread with its own
 *   configuration and store connection, woken after each pass, so that a
 *   slow or dead MTA never holds up intake.
 *
 * canary import (prepare_pool.c) is simpler (its commits wake a
 * checkpointing thread too): its main thread walks the
 * files and hands each message to a pool of "canary-prepare" workers (one
 * per core but one), then takes them back in order and seals and stores
 * them; while the message it needs is not ready, it prepares the oldest one
 * no worker has started. The pool's lock guards the messages not started
 * and each message's result.
 */
#ifndef CANARY_THREADS_H
#define CANARY_THREADS_H
#endif
