/* ingest.h: the pipeline from one raw message to one stored case:
 * parse -> (identify -> route -> seal) -> store. No I/O beyond the store. */
#ifndef CANARY_INGEST_H
#define CANARY_INGEST_H

#include <glib.h>

#include "config.h"
#include "mail.h"
#include "seal.h"
#include "stages.h"
#include "store.h"

#define CANARY_INGEST_ERROR (canary_ingest_error_quark())
GQuark canary_ingest_error_quark(void);

enum canary_ingest_error {
	CANARY_INGEST_ERROR_SETUP, /* keys or settings the pipeline needs are unusable */
};

/* Where a message came from. */
struct canary_ingest_source {
	const char *mailbox;  /* IMAP mailbox name, or NULL for a file */
	guint32 uidvalidity;  /* with MAILBOX */
	guint32 uid;          /* with MAILBOX */
	gint64 received_at;   /* when the server got it (Unix UTC); 0: read it
				 from the message's own headers */
	guint64 full_size;    /* when RAW is only the header block of a message
				 too large to fetch: its real size; else 0 */
	gboolean poison;      /* in hand twice when the process died: sealed
				 whole for the custodian without parsing it */
};

enum canary_ingest_outcome {
	CANARY_INGEST_FILED,       /* a new case in a section queue */
	CANARY_INGEST_QUARANTINED, /* a new case, quarantined */
	CANARY_INGEST_DUPLICATE,   /* already stored: nothing written */
	CANARY_INGEST_FOLLOW_UP,   /* a new message of an existing case */
};

struct canary_ingest_result {
	enum canary_ingest_outcome outcome;
	char *ref;                        /* the case (new or existing); g_free() */
	enum canary_quarantine quarantine; /* with CANARY_INGEST_QUARANTINED */
};

struct canary_ingest;

/* Prepares the pipeline for CONFIG, writing into STORE (both borrowed and
 * must outlive it), loading the public keys CONFIG names (a secret key file
 * is refused). ACTOR names who ingests in the case history ("canaryd").
 * Returns a new pipeline; free with canary_ingest_free(). */
struct canary_ingest *canary_ingest_new(const struct canary_config *config,
					struct canary_store *store, const char *actor,
					GError **error);
void canary_ingest_free(struct canary_ingest *ingest);
typedef struct canary_ingest canary_ingest;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(canary_ingest, canary_ingest_free)

/* Where ingestion's time went (stages.h): every stage as counted by this
 * pipeline, and CANARY_STAGE_STORE as its store counts it (every write and
 * commit, the caller's commits included). */
void canary_ingest_get_times(const struct canary_ingest *ingest,
			     struct canary_stage_times *times_r);

/* Keyed hash of a Message-ID (without angle brackets) as the store records
 * it (canary_store_add_message_id()): what a reply's In-Reply-To or
 * References must hash to for the reply to join its case. */
void canary_ingest_message_id_hash(const struct canary_pseudonym_key *key, const char *message_id,
				   guint8 out[32]);

/* Turns RAW into a case, or into the next message of the case whose
 * message it answers (In-Reply-To, References), or recognises it as already
 * stored (by IMAP source or content hash). Malformed mail is not an error: it becomes a quarantined
 * case. FALSE only when the store fails; then the caller's transaction must
 * be rolled back. The caller holds a write transaction
 * (canary_store_begin()), so many messages can share one commit. */
gboolean canary_ingest_message(struct canary_ingest *ingest, GBytes *raw,
			       const struct canary_ingest_source *source,
			       struct canary_ingest_result *result_r, GError **error);

/* canary_ingest_message() in two steps, so that the first, which needs no
 * store, can run on other threads: a message parsed, routed and scrubbed,
 * waiting to be stored. */
struct canary_ingest_prepared;

/* Parses, routes and scrubs RAW from SOURCE (copied; its MAILBOX must
 * outlive the result). Reads INGEST but changes nothing: safe to call from
 * several threads at once. Never fails: malformed mail is prepared for
 * quarantine. Free with canary_ingest_prepared_free(). */
struct canary_ingest_prepared *canary_ingest_prepare(const struct canary_ingest *ingest,
						     GBytes *raw,
						     const struct canary_ingest_source *source);

/* Makes P's keys and seals them to the recipients a new case of its section
 * would have (canary_envelope_keys), so that storing it seals only bytes.
 * Optional, for a preparing thread: without it the storing thread makes
 * them. Kept apart from canary_ingest_prepare() because it reads nothing
 * the sender wrote: canaryd calls it after the message has left its
 * in-hand record, which should name only messages whose own bytes are
 * being read. */
void canary_ingest_prepare_keys(const struct canary_ingest *ingest,
				struct canary_ingest_prepared *prepared);

/* At least as many bytes as the longest value storing PREPARED writes:
 * when it is no more than canary_store_largest_value(), the store cannot
 * refuse PREPARED as too big. */
guint64 canary_ingest_prepared_bound(const struct canary_ingest_prepared *prepared);

/* Stores PREPARED as canary_ingest_message() stores a message, or
 * recognises it as already stored (it may have been stored since it was
 * prepared). Same contract as canary_ingest_message(). */
gboolean canary_ingest_store_prepared(struct canary_ingest *ingest,
				      const struct canary_ingest_prepared *prepared,
				      struct canary_ingest_result *result_r, GError **error);

/* Wipes the plaintext PREPARED holds and frees it. */
void canary_ingest_prepared_free(struct canary_ingest_prepared *prepared);

/* Frees what RESULT holds (not RESULT itself). */
void canary_ingest_result_clear(struct canary_ingest_result *result);

typedef struct canary_ingest_prepared canary_ingest_prepared;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(canary_ingest_prepared, canary_ingest_prepared_free)

/* --- Acknowledgements ([reply] acknowledge, RFC 3834) ---------------------
 * With ON (canaryd's passes; never canary import) and [reply] acknowledge
 * and [smtp] configured, each new case whose sender may be answered (not
 * automatic, list or bulk mail, not a null sender, at most once a day per
 * sender by a keyed record written with the case) queues an
 * acknowledgement, held in memory only. After the commit the caller sends
 * them (and records each one's Message-ID keyed, so that an answer joins
 * the case); after a rollback it drops them. A failed one is logged
 * without the address and not retried. */
void canary_ingest_set_acknowledging(struct canary_ingest *ingest, gboolean on);
guint canary_ingest_send_acknowledgements(struct canary_ingest *ingest);
void canary_ingest_drop_acknowledgements(struct canary_ingest *ingest);

/* Seals the exact times, size and pseudonym that cases from before
 * schema 4 kept in clear to each case's keys (as ingestion would now: the
 * section and triage keys, a quarantined case's to the custodian alone),
 * deletes the clear values, then vacuums the database so that none of them
 * stays in free pages or the write-ahead log. Sets *SEALED_R to the number
 * of cases sealed. With nothing left to seal, only a vacuum that failed
 * before is tried again. Outside a transaction. */
gboolean canary_ingest_seal_legacy(struct canary_ingest *ingest, guint *sealed_r, GError **error);

#endif
