/* ingest.c: one raw message -> one stored case. Dedupe first (by source,
 * then by content hash), then parse, then write the case and its fields. */
#include "ingest.h"

#include "seal.h"

G_DEFINE_QUARK(canary-ingest-error-quark, canary_ingest_error)

/* Until routing exists every case goes to the default queue. */
#define DEFAULT_SECTION "triage"
#define DEFAULT_RULE "default"

/* Dates a sender wrote before this, or more than a day ahead of us, are not
 * believed. */
#define EARLIEST_BELIEVABLE_DATE 631152000 /* 1990-01-01 */
#define FUTURE_SLACK (24 * 3600)

struct canary_ingest {
	const struct canary_config *config;
	struct canary_store *store;
};

struct canary_ingest *canary_ingest_new(const struct canary_config *config,
					struct canary_store *store, GError **error)
{
	struct canary_ingest *ingest = g_new0(struct canary_ingest, 1);
	ingest->config = config;
	ingest->store = store;
	return ingest;
}

void canary_ingest_free(struct canary_ingest *ingest)
{
	g_free(ingest);
}

void canary_ingest_result_clear(struct canary_ingest_result *result)
{
	g_clear_pointer(&result->ref, g_free);
}

/* Returns the first believable time: the server's, the topmost Received
 * header's, the Date header's, else NOW. */
static gint64 pick_received_at(const struct canary_ingest_source *source,
			       const struct canary_mail *mail, gint64 now)
{
	const gint64 candidates[] = { source->received_at, mail->received_date, mail->date };
	for (size_t i = 0; i < G_N_ELEMENTS(candidates); i++) {
		gint64 t = candidates[i];
		if (t >= EARLIEST_BELIEVABLE_DATE && t <= now + FUTURE_SLACK)
			return t;
	}
	return now;
}

/* Looks for RAW among stored cases. Returns TRUE with the reference in
 * RESULT when it is there (recording a new IMAP source for it if needed). */
static gboolean find_duplicate(struct canary_ingest *ingest,
			       const struct canary_ingest_source *source, const guint8 hash[32],
			       struct canary_ingest_result *result, gboolean *found_r,
			       GError **error)
{
	char *ref = NULL;
	*found_r = FALSE;
	if (source->mailbox != NULL &&
	    !canary_store_find_source(ingest->store, source->mailbox, source->uidvalidity,
				      source->uid, &ref, error))
		return FALSE;
	if (ref == NULL) {
		if (!canary_store_find_hash(ingest->store, hash, &ref, error))
			return FALSE;
		/* Same bytes under a new UIDVALIDITY: remember the new UID too. */
		if (ref != NULL && source->mailbox != NULL &&
		    !canary_store_add_source(ingest->store, ref, source->mailbox,
					     source->uidvalidity, source->uid, error)) {
			g_free(ref);
			return FALSE;
		}
	}
	if (ref != NULL) {
		result->outcome = CANARY_INGEST_DUPLICATE;
		result->ref = ref;
		*found_r = TRUE;
	}
	return TRUE;
}

/* Writes the case's content.
 * PLACEHOLDER until sealing lands: keeps only the raw message, unencrypted.
 * Nothing may read these bytes as plaintext; the sealing work replaces this
 * function and the field with sealed ones. */
static gboolean store_content(struct canary_ingest *ingest, gint64 case_id,
			      const struct canary_mail *mail, GError **error)
{
	return canary_store_put_blob(ingest->store, case_id, "raw", mail->raw, error);
}

gboolean canary_ingest_message(struct canary_ingest *ingest, GBytes *raw,
			       const struct canary_ingest_source *source,
			       struct canary_ingest_result *result_r, GError **error)
{
	*result_r = (struct canary_ingest_result){ 0 };
	gsize size = 0;
	const void *data = g_bytes_get_data(raw, &size);
	guint8 hash[32];
	canary_seal_content_hash(NULL, data, size, hash);

	gboolean found = FALSE;
	if (!find_duplicate(ingest, source, hash, result_r, &found, error))
		return FALSE;
	if (found)
		return TRUE;

	g_autoptr(canary_mail) mail = canary_mail_parse(raw, &ingest->config->limits);
	gboolean quarantined = mail->quarantine != CANARY_QUARANTINE_NONE;
	gint64 now = g_get_real_time() / G_USEC_PER_SEC;
	struct canary_case_new c = {
		.received_at = pick_received_at(source, mail, now),
		.ingested_at = now,
		.section = DEFAULT_SECTION,
		.status = quarantined ? CANARY_STATUS_QUARANTINED : CANARY_STATUS_NEW,
		.rule = DEFAULT_RULE,
		.quarantine_reason = canary_quarantine_name(mail->quarantine),
		.size = (gint64)size,
		.attachments = mail->attachments->len,
		.content_hash = hash,
		.mailbox = source->mailbox,
		.uidvalidity = source->uidvalidity,
		.uid = source->uid,
	};
	gint64 id = 0;
	char *ref = NULL;
	if (!canary_store_insert_case(ingest->store, &c, &id, &ref, error))
		return FALSE;
	result_r->ref = ref;
	result_r->outcome = quarantined ? CANARY_INGEST_QUARANTINED : CANARY_INGEST_FILED;
	result_r->quarantine = mail->quarantine;
	return store_content(ingest, id, mail, error);
}
