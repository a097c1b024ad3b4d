/* store.h: the SQLite case store: schema and forward migrations, cases and
 * their sources, sealed blobs. The only user of SQLite. */
#ifndef CANARY_STORE_H
#define CANARY_STORE_H

#include <glib.h>

#define CANARY_STORE_ERROR (canary_store_error_quark())
GQuark canary_store_error_quark(void);

enum canary_store_error {
	CANARY_STORE_ERROR_BUSY,      /* temporary: locked longer than we wait */
	CANARY_STORE_ERROR_IO,        /* temporary: disk full, I/O error */
	CANARY_STORE_ERROR_OPEN,      /* cannot open or create the database */
	CANARY_STORE_ERROR_TOO_NEW,   /* made by a newer canary: left untouched */
	CANARY_STORE_ERROR_CORRUPT,   /* not a canary database, or damaged */
	CANARY_STORE_ERROR_NOT_FOUND, /* no such case or field */
	CANARY_STORE_ERROR_FAILED,    /* anything else */
	CANARY_STORE_ERROR_TOO_BIG,   /* a value over what SQLite stores in one
					 field (SQLITE_TOOBIG): tied to that message */
};

/* The schema version this build writes (PRAGMA user_version). */
#define CANARY_STORE_SCHEMA_VERSION 6

/* Case statuses, as stored. */
#define CANARY_STATUS_NEW "new"
#define CANARY_STATUS_OPEN "open"
#define CANARY_STATUS_CLOSED "closed"
#define CANARY_STATUS_QUARANTINED "quarantined"

/* TRUE if STATUS is one of the four above. */
gboolean canary_store_status_valid(const char *status);

struct canary_store;

/* Opens (creating if needed) the database at PATH: WAL, synchronous=FULL,
 * foreign_keys, secure_delete, a busy timeout; migrates the schema forward.
 * The file (and its -wal, -shm) and a directory it creates are private to
 * their owner (0600/0700): canaryd's user, who answers everyone else. A
 * database from a newer version is refused untouched. Returns a new
 * handle; close with canary_store_close(). */
struct canary_store *canary_store_open(const char *path, GError **error);

/* The SQLite connection of STORE, for the tests of the connection's own
 * settings (check_store) only: nothing in lib/, tools/ or daemon/ calls it,
 * since only store.c talks to SQLite. */
struct sqlite3;
struct sqlite3 *canary_store_sqlite(struct canary_store *store);

/* Microseconds spent in writes and commits since the store was opened
 * (CANARY_STAGE_STORE of stages.h). */
gint64 canary_store_write_usec(const struct canary_store *store);

/* Opens the database at PATH read-only, for monitoring: creates nothing,
 * migrates nothing, and refuses a schema older or newer than this build's
 * (CANARY_STORE_ERROR_OPEN, TOO_NEW) or a file that is not ours. Writes
 * through it fail. Close with canary_store_close(). */
struct canary_store *canary_store_open_readonly(const char *path, GError **error);

/* Closes *STORE and sets it to NULL; NULL is fine. */
void canary_store_close(struct canary_store **store);

/* Write transactions (BEGIN IMMEDIATE: a writer waits for the lock up front
 * instead of failing half-way). Every write below needs one. */
gboolean canary_store_begin(struct canary_store *store, GError **error);
/* A commit that fails rolls back: no transaction is left open. */
gboolean canary_store_commit(struct canary_store *store, GError **error);
void canary_store_rollback(struct canary_store *store);

/* A savepoint inside the open transaction, so that one message the store
 * refuses is undone alone instead of with its whole batch: mark, then
 * release (keep what was written since) or roll back to it. It copies
 * each 64 KiB page the message changes: take one only where
 * canary_store_largest_value() says a value may be refused. */
gboolean canary_store_mark(struct canary_store *store, GError **error);
gboolean canary_store_release_mark(struct canary_store *store, GError **error);
void canary_store_rollback_to_mark(struct canary_store *store);

/* The largest value, in bytes, the store writes (SQLite's length limit, 1 GB
 * unless a test lowers it): a longer one fails with CANARY_STORE_ERROR_TOO_BIG. */
guint64 canary_store_largest_value(struct canary_store *store);

/* The start (00:00 UTC) of the day of T, as cases store their receipt. */
gint64 canary_store_day(gint64 t);

/* Size classes, as cases store their size: 0 under 10 KiB, 1 under 100 KiB,
 * 2 under 1 MiB, 3 under 10 MiB, 4 anything larger. */
#define CANARY_SIZE_CLASSES 5
guint canary_store_size_class(gint64 size);
/* "<10K", "<100K", "<1M", "<10M", ">=10M" (static). */
const char *canary_store_size_class_name(guint size_class);

/* A new case, as the ingest pipeline hands it over. Strings are borrowed.
 * Only the day of RECEIVED_AT and the class of SIZE are stored: the exact
 * values are the caller's to seal (canary_envelope_seal_meta()). Nothing
 * derived from the sender is stored in clear. */
struct canary_case_new {
	gint64 received_at;        /* Unix UTC; its day and year are stored */
	const char *section;
	const char *status;        /* CANARY_STATUS_NEW or _QUARANTINED */
	const char *rule;          /* routing rule name, e.g. "default" */
	const char *quarantine_reason; /* NULL unless quarantined */
	gint64 size;               /* raw message bytes; its class is stored */
	guint attachments;
	const guint8 *content_hash; /* 32 bytes, or NULL */
	const char *mailbox;       /* IMAP source, or NULL for imported files */
	guint32 uidvalidity, uid;
};

/* Inserts a case and gives it a new random reference of its year of
 * receipt ("R-2026-7KQ2-M4XD", never used before by a case or the history). Returns its id in *ID_R and a new reference string in
 * *REF_R (g_free). Fails if the content hash or source is already stored. */
gboolean canary_store_insert_case(struct canary_store *store, const struct canary_case_new *c,
				  gint64 *id_r, char **ref_r, GError **error);

/* Looks a message up by its IMAP source or by content hash. Returns TRUE with
 * a new reference in *REF_R when found, TRUE with *REF_R NULL when not, FALSE
 * on error. */
gboolean canary_store_find_source(struct canary_store *store, const char *mailbox,
				  guint32 uidvalidity, guint32 uid, char **ref_r, GError **error);
gboolean canary_store_find_hash(struct canary_store *store, const guint8 hash[32], char **ref_r,
				GError **error);

/* The content hash recognises a message that comes back from the server
 * (a recreated mailbox). Once the server copy is gone it only helps someone
 * who guesses a message to confirm it was filed, so it is forgotten (set
 * NULL; lookups never match it):
 * - of the cases with the source (MAILBOX, UIDVALIDITY, UIDS[i]) for each
 *   of N UIDs, once those server copies are expunged;
 * - of the cases received on a day that ended at or before
 *   RECEIVED_BEFORE, for a server retention period.
 * Each opens its own transaction unless the caller holds one, and sets
 * *FORGOTTEN_R (may be NULL) to how many hashes it forgot. The old values
 * stay in the write-ahead log until canary_store_checkpoint(). */
gboolean canary_store_forget_hashes_of_sources(struct canary_store *store, const char *mailbox,
					       guint32 uidvalidity, const guint32 *uids, guint n,
					       guint *forgotten_r, GError **error);
gboolean canary_store_forget_hashes_before(struct canary_store *store, gint64 received_before,
					   guint *forgotten_r, GError **error);

/* Checkpoints the write-ahead log into the database and truncates it, so
 * that pages overwritten since (forgotten hashes, deleted cases) leave no
 * copy in it. Outside a transaction. BUSY while another process reads. */
gboolean canary_store_checkpoint(struct canary_store *store, GError **error);

/* From now until STORE is closed, its write-ahead log is copied back into
 * the database on a thread of its own instead of in the commits that fill
 * it (checkpoint.h), so that a writer storing a backlog goes on meanwhile.
 * For the one connection that writes in bulk (canaryd's passes, canary
 * import). FALSE with ERROR when the thread's connection cannot be opened
 * (the commits go on checkpointing then). */
gboolean canary_store_checkpoint_aside(struct canary_store *store, GError **error);

/* How many checkpoints that thread has run; 0 without one. */
guint64 canary_store_checkpoints_aside(const struct canary_store *store);

/* --- Clear values of cases from before schema 4 ------------------------- */

/* The exact times, size and pseudonym that schema 3 and older kept in
 * clear, kept by migration 4 in a table of their own until a process with
 * the public keys seals them to the case and drops them. */
struct canary_store_legacy {
	gint64 case_id;
	char *ref, *section, *status;
	gint64 received_at, ingested_at, size;
	char *pseudonym; /* NULL if none; wiped when freed */
};
void canary_store_legacy_free(struct canary_store_legacy *legacy);
typedef struct canary_store_legacy canary_store_legacy;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(canary_store_legacy, canary_store_legacy_free)

/* Returns the cases that still have clear values, as a new array of
 * struct canary_store_legacy *. */
GPtrArray *canary_store_list_legacy(struct canary_store *store, GError **error);

/* Deletes the clear values of CASE_ID (once sealed). In a transaction;
 * vacuum afterwards so that nothing of them stays in free pages or WAL. */
gboolean canary_store_drop_legacy(struct canary_store *store, gint64 case_id, GError **error);

/* How many cases still have clear values (health warns while any do). */
gboolean canary_store_count_legacy(struct canary_store *store, gint64 *count_r, GError **error);

/* Records another IMAP source for the case REF (same message seen under a new
 * UIDVALIDITY). Nothing happens if the source is already recorded. */
gboolean canary_store_add_source(struct canary_store *store, const char *ref, const char *mailbox,
				 guint32 uidvalidity, guint32 uid, GError **error);

/* Stores (or replaces) the sealed bytes of one field of a case. */
gboolean canary_store_put_blob(struct canary_store *store, gint64 case_id, const char *field,
			       GBytes *data, GError **error);

/* Returns the bytes of FIELD of case CASE_ID, or NULL with
 * CANARY_STORE_ERROR_NOT_FOUND. */
GBytes *canary_store_get_blob(struct canary_store *store, gint64 case_id, const char *field,
			      GError **error);

/* A case as listed: metadata only, all of it stored in clear, none of it
 * exact enough to be matched with the mail server's logs. */
struct canary_case {
	gint64 id;
	char *ref;
	gint64 received_day; /* 00:00 UTC of the day received */
	char *section, *status, *assignee, *rule, *quarantine_reason;
	guint size_class;    /* canary_store_size_class() */
	guint attachments;   /* of its first message */
	guint messages;      /* 1 + follow-ups received + replies sent */
	guint news;          /* messages new to the caller since they last opened
				it (list op; 0 when never opened: all of it is new) */
};
void canary_case_free(struct canary_case *c);

struct canary_case_filter {
	const char *status;   /* NULL: any */
	const char *section;  /* NULL: any */
	gint64 since;         /* received on the day of SINCE or later; 0: any */
	const char *assignee; /* NULL: any */
	gint64 before;        /* received on a day that starts before; 0: any */
};

/* Returns the cases matching FILTER (NULL: all), by day received then row
 * (the order of the file, not of arrival within a day), as a new array
 * of struct canary_case * that frees its elements. */
GPtrArray *canary_store_list_cases(struct canary_store *store,
				   const struct canary_case_filter *filter, GError **error);

/* Returns the case REF, or NULL with CANARY_STORE_ERROR_NOT_FOUND
 * ("no such case R-2026-7KQ2-M4XD"). Free with canary_case_free(). */
struct canary_case *canary_store_get_case(struct canary_store *store, const char *ref,
					  GError **error);

/* Updates one clear column of case REF (assignee NULL: nobody). STATUS must
 * be valid. NOT_FOUND ("no such case R-...") when REF is absent. */
gboolean canary_store_set_assignee(struct canary_store *store, const char *ref,
				   const char *assignee, GError **error);
gboolean canary_store_set_status(struct canary_store *store, const char *ref, const char *status,
				 GError **error);
gboolean canary_store_set_section(struct canary_store *store, const char *ref, const char *section,
				  GError **error);

/* Deletes case REF with its sealed blobs and sources (its history stays).
 * With secure_delete the freed pages are zeroed; run canary_store_vacuum()
 * afterwards so nothing of them survives in free pages or the WAL. */
gboolean canary_store_delete_case(struct canary_store *store, const char *ref, GError **error);

/* VACUUMs the database, then checkpoints and truncates the WAL. Outside a
 * transaction. */
gboolean canary_store_vacuum(struct canary_store *store, GError **error);

/* --- Retention: which cases are due -------------------------------------- */

/* The action canary status records when it closes a case: the retention of
 * a closed case counts from the last such event. */
#define CANARY_ACTION_CLOSED "status closed"

/* A retention policy in seconds; 0 keeps forever. Strings are borrowed. */
struct canary_store_retention {
	guint64 closed;       /* closed cases, counted from their closing */
	guint64 quarantined;  /* quarantined cases, counted from receipt */
	guint n_sections;     /* sections with a period of their own ... */
	const char *const *sections;
	const guint64 *section_closed; /* ... for their closed cases */
};

/* A case the policy no longer keeps. */
struct canary_store_expired {
	char *ref, *section, *status;
	gint64 received_day;
	gint64 since;          /* when its period began: closed at, or the day
				* received (the period then ends a day later) */
	guint64 keep;          /* the period that applied, seconds */
	gboolean section_rule; /* its section's own period applied */
};
void canary_store_expired_free(struct canary_store_expired *expired);
typedef struct canary_store_expired canary_store_expired;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(canary_store_expired, canary_store_expired_free)

/* Returns the cases POLICY no longer keeps at NOW (their period ended
 * before NOW), oldest first, as a new array of struct canary_store_expired *.
 * A closed case's period starts at its last CANARY_ACTION_CLOSED event (its
 * receipt if it has none), a quarantined case's at its receipt; a receipt
 * counts from the end of its day (only the day is stored). Only cases
 * received before NOW minus the shortest period are looked at (an index
 * range), each with one indexed lookup in the history. */
GPtrArray *canary_store_list_expired(struct canary_store *store,
				     const struct canary_store_retention *policy, gint64 now,
				     GError **error);

/* --- Health: counts and sizes for monitoring ---------------------------- */

/* Counts the cases of STATUS received on a day that ended at or before
 * BEFORE (G_MAXINT64: all): their number in *COUNT_R and the oldest day
 * received in *OLDEST_R (0 when there are none). */
gboolean canary_store_count_status(struct canary_store *store, const char *status, gint64 before,
				   gint64 *count_r, gint64 *oldest_r, GError **error);

/* The database's size and the most SQLite lets it grow to, in bytes
 * (PRAGMA page_count, max_page_count, page_size). */
gboolean canary_store_size(struct canary_store *store, gint64 *bytes_r, gint64 *max_bytes_r,
			   GError **error);

/* --- Queue statistics: metadata only ------------------------------------- */

/* Open (new or open) cases of one section and status. */
struct canary_store_count {
	char *section, *status;
	gint64 count;
};
void canary_store_count_free(struct canary_store_count *count);
typedef struct canary_store_count canary_store_count;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(canary_store_count, canary_store_count_free)

/* Which cases a count covers, for a caller who may see only some of them
 * (access.h): every case when the scope is NULL or ALL; else the cases of
 * SECTIONS that are not quarantined, and every quarantined case when
 * QUARANTINED. Strings are borrowed. */
struct canary_store_scope {
	gboolean all;
	const char *const *sections; /* NULL-terminated; NULL: none */
	gboolean quarantined;
};

/* Returns the open cases of SCOPE counted per section and status, by
 * section then status, as a new array of struct canary_store_count *. */
GPtrArray *canary_store_count_open(struct canary_store *store,
				   const struct canary_store_scope *scope, GError **error);

/* The oldest open (new or open) case of SCOPE: TRUE with its new reference
 * in *REF_R (NULL when there is none) and its day received in *RECEIVED_R. */
gboolean canary_store_oldest_open(struct canary_store *store,
				  const struct canary_store_scope *scope, char **ref_r,
				  gint64 *received_r, GError **error);

/* Cases of SCOPE received on the day of SINCE or later, counted per ISO
 * week (weeks start on Monday 00:00 UTC). Returns a new array of gint64
 * pairs {week start, count}, oldest first; weeks without cases are absent. */
GArray *canary_store_count_weeks(struct canary_store *store, const struct canary_store_scope *scope,
				 gint64 since, GError **error);

/* --- The annual report's figures (report.c): counts only ---------------- */

/* A read transaction (BEGIN, deferred): every count after it comes from
 * one snapshot while canaryd writes. End it with canary_store_rollback(). */
gboolean canary_store_begin_read(struct canary_store *store, GError **error);

/* What cases are counted by: the month received ("2026-01"), the current
 * section, routing rule, status, or quarantine reason ("unknown" when a
 * quarantined case has none; only quarantined cases). */
enum canary_store_breakdown {
	CANARY_STORE_BY_MONTH,
	CANARY_STORE_BY_SECTION,
	CANARY_STORE_BY_RULE,
	CANARY_STORE_BY_STATUS,
	CANARY_STORE_BY_QUARANTINE_REASON,
};

/* One name of a breakdown and its count. */
struct canary_store_tally {
	char *name;
	gint64 count;
};
void canary_store_tally_free(struct canary_store_tally *tally);
typedef struct canary_store_tally canary_store_tally;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(canary_store_tally, canary_store_tally_free)

/* The cases of SCOPE received in [SINCE, UNTIL) (days), counted BY, as a
 * new array of struct canary_store_tally * (sections, rules and reasons in
 * name order; names with no case are absent). */
GPtrArray *canary_store_tally_cases(struct canary_store *store,
				    const struct canary_store_scope *scope,
				    enum canary_store_breakdown by, gint64 since, gint64 until,
				    GError **error);

/* The cases filed in [SINCE, UNTIL) and purged since, by their filing
 * event; with a SCOPE of some sections, those filed into them (and the
 * quarantined ones when it has them). */
gboolean canary_store_count_purged(struct canary_store *store,
				   const struct canary_store_scope *scope, gint64 since,
				   gint64 until, gint64 *count_r, GError **error);

/* The time from receipt (the day) to the first officer action (assigned,
 * status or moved) of the cases of SCOPE received in [SINCE, UNTIL) and not
 * quarantined: VALUES_R gets the cases acted on, those with no action yet,
 * the median and the 90th percentile delay in seconds (nearest rank; -1
 * when none was acted on). */
gboolean canary_store_first_actions(struct canary_store *store,
				    const struct canary_store_scope *scope, gint64 since,
				    gint64 until, gint64 values_r[4], GError **error);

/* --- The case history: append-only, hash-chained ------------------------ */

/* One recorded action. Detail is metadata only ("attachment 2", "section
 * mena"), never content. */
struct canary_event {
	gint64 id;
	char *ref;
	gint64 at; /* Unix UTC */
	char *actor, *action, *detail; /* detail may be NULL */
	guint8 prev_hash[32], hash[32];
	gboolean sealed; /* MAC holds its forward-secure MAC (audit.h) */
	guint8 mac[32];
};
void canary_event_free(struct canary_event *event);
typedef struct canary_event canary_event;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(canary_event, canary_event_free)

/* Appends an event for case REF (which need not exist any more: purges are
 * recorded too). Each event carries the BLAKE2b hash of the one before.
 * Opens its own transaction unless the caller holds one. */
gboolean canary_store_add_event(struct canary_store *store, const char *ref, const char *actor,
				const char *action, const char *detail, GError **error);

/* The same, for the arrival of a message ("filed", "quarantined"): dated at
 * the start of today (UTC), or at the event before it if that is later (the
 * history stays in order), so that it does not tell the time of arrival. */
gboolean canary_store_add_event_day(struct canary_store *store, const char *ref, const char *actor,
				    const char *action, const char *detail, GError **error);

/* Returns the events of REF (or of every case when REF is NULL), oldest
 * first, as a new array of struct canary_event * that frees its elements. */
GPtrArray *canary_store_list_events(struct canary_store *store, const char *ref,
				    GError **error);

/* Returns up to LIMIT events with ids above AFTER, oldest first (as
 * canary_store_list_events()). */
GPtrArray *canary_store_list_events_after(struct canary_store *store, gint64 after, guint limit,
					  GError **error);

/* --- The forward-secure seal of the history (audit.h) -------------------- */

/* Starts sealing the history (or starts it again when its key was lost or
 * is ahead of the history, as after restoring a backup): appends the
 * CANARY_ACTION_AUDIT_SEALED event as ACTOR, sealed under a new first key,
 * and writes "<database>.audit-key". Returns the verification key file's
 * text (new; wipe with canary_audit_text_free()), which exists nowhere else,
 * and the sealing event's id in *FIRST_ID_R. */
char *canary_store_audit_start(struct canary_store *store, const char *actor,
			       gint64 *first_id_r, GError **error);

/* The end of the history as the seal proves it, into *HEAD (audit.h): the
 * last event's id (0 when none), the sealing event's (0 when not sealed)
 * and, when it can be made, the proof over the last event; else the
 * problem, borrowed from STORE until its next call. */
struct canary_audit_head;
gboolean canary_store_audit_head(struct canary_store *store, struct canary_audit_head *head,
				 GError **error);

/* --- Daemon state: small named values, in clear, never personal data --- */

/* Reads KEY: TRUE with a new string in *VALUE_R, or NULL when unset. */
gboolean canary_store_get_state(struct canary_store *store, const char *key, char **value_r,
				GError **error);

/* Sets KEY to VALUE (autocommit unless the caller holds a transaction). */
gboolean canary_store_set_state(struct canary_store *store, const char *key, const char *value,
				GError **error);

typedef struct canary_case canary_case;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(canary_case, canary_case_free)

/* --- Backup: the database is the only copy of a filed message ----------- */

/* Copies the database to a new file at PATH with SQLite's online backup, in
 * one read transaction: a consistent snapshot of the last commit, taken
 * while other processes (canaryd) go on writing. The copy goes to a
 * temporary file (0600) in PATH's directory, is checked (quick_check),
 * made one self-contained file (rollback journal, no -wal), fsync'd and
 * only then renamed to PATH: PATH is never half-written. An existing PATH
 * is refused unless REPLACE; the database itself (or its -wal, -shm,
 * -journal) never is a valid PATH. Everything in the copy is sealed or
 * coarse metadata, as in the database. Writes nothing to the database.
 * The copy's size in *BYTES_R (may be NULL). Must be called outside a
 * transaction. */
gboolean canary_store_backup(struct canary_store *store, const char *path, gboolean replace,
			     gint64 *bytes_r, GError **error);

/* --- Conversations: the messages of a case ------------------------------
 * Message 1 is the case's own (the fields without a prefix); follow-ups
 * received and replies sent are messages 2, 3, ..., each with its sealed
 * fields under "message.N/" (envelope.h). Only the day, a size class and
 * the count of attachments are kept in clear, as for a case. */

#define CANARY_DIRECTION_IN "in"   /* a follow-up from the submitter */
#define CANARY_DIRECTION_OUT "out" /* a reply the custodian sent */

struct canary_message_new {
	gint64 case_id;
	const char *direction;      /* CANARY_DIRECTION_IN or _OUT */
	gint64 received_at;         /* or sent at; only its day is stored */
	gint64 size;                /* raw bytes; only the class is stored */
	guint attachments;
	const guint8 *content_hash; /* 32 bytes (received messages), or NULL */
	const char *mailbox;        /* IMAP source of a received one, or NULL */
	guint32 uidvalidity, uid;
};

/* Adds the next message of case M->case_id (its number, from 2, in
 * *NUMBER_R), counts it in the case (canary_case.messages) and records its
 * source. Fails if the content hash or the source is already stored.
 * In a transaction. */
gboolean canary_store_insert_message(struct canary_store *store,
				     const struct canary_message_new *m, guint *number_r,
				     GError **error);

/* Records HASH, the keyed hash of a Message-ID (canary_seal_keyed_hash(),
 * CANARY_SEAL_CONTEXT_MESSAGE_ID) of a message of CASE_ID, received or
 * sent. A hash already recorded keeps its case. In a transaction. */
gboolean canary_store_add_message_id(struct canary_store *store, gint64 case_id,
				     const guint8 hash[32], GError **error);

/* The case a keyed Message-ID HASH belongs to: TRUE with its id and a new
 * reference, or TRUE with 0 and NULL when none; FALSE on error. */
gboolean canary_store_find_message_id(struct canary_store *store, const guint8 hash[32],
				      gint64 *case_id_r, char **ref_r, GError **error);

/* --- Drafts: replies waiting for the custodian ----------------------------
 * A draft's text is sealed ("draft.N", envelope.h); the store keeps who
 * drafted it, the day, and what became of it in sent_as: NULL while it
 * waits, 0 while it is being sent (marked before SMTP, so that a crash
 * after the server took it cannot send it twice silently), else the number
 * of the message it was sent as. */

#define CANARY_DRAFT_WAITING (-1) /* sent_as NULL */
#define CANARY_DRAFT_SENDING 0

struct canary_draft {
	gint64 case_id;
	char *ref;
	guint number;      /* 1, 2, ... per case */
	char *drafted_by;  /* the Unix user canaryd saw */
	gint64 drafted_day;
	gint64 sent_as;    /* CANARY_DRAFT_WAITING, _SENDING or a message number */
};
void canary_draft_free(struct canary_draft *d);
typedef struct canary_draft canary_draft;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(canary_draft, canary_draft_free)

/* The number the next draft of CASE_ID gets, in *NUMBER_R. */
gboolean canary_store_next_draft(struct canary_store *store, gint64 case_id, guint *number_r,
				 GError **error);

/* Adds draft NUMBER of CASE_ID, waiting, by DRAFTED_BY on the day of AT.
 * Fails when that number exists. In a transaction. */
gboolean canary_store_add_draft(struct canary_store *store, gint64 case_id, guint number,
				const char *drafted_by, gint64 at, GError **error);

/* The drafts of CASE_ID (0: of every case) numbered NUMBER (0: any), only
 * those not sent yet (waiting or sending) when UNSENT_ONLY, oldest case
 * first. New array of struct canary_draft *. */
GPtrArray *canary_store_list_drafts(struct canary_store *store, gint64 case_id, guint number,
				    gboolean unsent_only, GError **error);

/* Sets what became of draft NUMBER of CASE_ID (struct canary_draft.sent_as). */
gboolean canary_store_set_draft_sent(struct canary_store *store, gint64 case_id, guint number,
				     gint64 sent_as, GError **error);

/* The number of the latest message of CASE_ID that the submitter sent (1
 * when no follow-up came), in *NUMBER_R. */
gboolean canary_store_latest_received(struct canary_store *store, gint64 case_id,
				      guint *number_r, GError **error);

/* A message of a case after its first, as listed (clear metadata only). */
struct canary_message {
	guint number;       /* 2, 3, ... */
	gboolean outgoing;  /* a reply sent, not a follow-up received */
	gint64 received_day; /* or the day sent */
	guint size_class;
	guint attachments;
};

/* The messages 2, 3, ... of CASE_ID, in order, as a new array of struct
 * canary_message * (g_free). */
GPtrArray *canary_store_list_messages(struct canary_store *store, gint64 case_id, GError **error);

/* How many messages of CASE_ID USER had seen when they last opened it
 * (0: never), so that a list can show what is new to them. Who looked at
 * which case is in the history already; this adds only the count. */
gboolean canary_store_set_seen(struct canary_store *store, gint64 case_id, const char *user,
			       guint messages, GError **error);
gboolean canary_store_get_seen(struct canary_store *store, gint64 case_id, const char *user,
			       guint *messages_r, GError **error);
/* --- notify: acknowledgements ---------------------------------------- */

/* Records that the sender keyed as HASH (canary_seal_keyed_hash(),
 * CANARY_SEAL_CONTEXT_ACKNOWLEDGED, the normalised address) is answered
 * at NOW, for a day: *FIRST_R TRUE when it was not answered in the last
 * day (send), FALSE when it was (do not). Rows older than a day are
 * deleted first. No address is stored. In the caller's transaction if any. */
gboolean canary_store_acknowledge_once(struct canary_store *store, const guint8 hash[32],
				       gint64 now, gboolean *first_r, GError **error);

#endif
