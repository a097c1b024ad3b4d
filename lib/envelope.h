/* envelope.h: the sealed fields of a case, written at ingest and opened by
 * the officers' tool. One place knows the field names and which key opens
 * which: section/triage content key, custodian identity key. */
#ifndef CANARY_ENVELOPE_H
#define CANARY_ENVELOPE_H

#include <glib.h>

#include "identity.h"
#include "mail.h"
#include "seal.h"
#include "store.h"

#define CANARY_ENVELOPE_ERROR (canary_envelope_error_quark())
GQuark canary_envelope_error_quark(void);

enum canary_envelope_error {
	CANARY_ENVELOPE_ERROR_NO_ACCESS, /* the key given opens none of this case */
	CANARY_ENVELOPE_ERROR_FORMAT,    /* a sealed record is damaged */
	CANARY_ENVELOPE_ERROR_NO_SUCH,   /* no attachment with that number */
};

/* Who content and identity are sealed to. Borrowed. */
struct canary_envelope_recipients {
	const struct canary_public_key *section;   /* NULL for quarantined cases */
	const struct canary_public_key *triage;    /* optional */
	const struct canary_public_key *custodian; /* always */
};

/* An attachment as listed to officers: no content. */
struct canary_attachment_info {
	char *filename;     /* scrubbed; NULL if the sender gave none */
	char *content_type;
	guint64 size;
};

/* What a section (or triage) key opens. Strings wiped when freed. */
struct canary_case_content {
	char *subject;          /* scrubbed; NULL if none */
	char *text;             /* scrubbed readable text */
	GPtrArray *attachments; /* struct canary_attachment_info * */
	char *routing;          /* matched terms, or NULL */
};
void canary_case_content_free(struct canary_case_content *content);

/* Seals what section officers read under a new content key sealed to the
 * section key (and the triage key, if any): SUBJECT, TEXT (both already
 * scrubbed), the attachment list with scrubbed NAMES (one per attachment,
 * NULL allowed) and each attachment's bytes. */
gboolean canary_envelope_seal_content(struct canary_store *store, gint64 case_id,
				      const struct canary_envelope_recipients *to,
				      const char *subject, const char *text,
				      const GPtrArray *attachments, char *const *names,
				      const char *routing, GError **error);

/* Seals the identity record and the raw message under a new identity key
 * sealed to the custodian only. */
gboolean canary_envelope_seal_identity(struct canary_store *store, gint64 case_id,
				       const struct canary_envelope_recipients *to,
				       const struct canary_identity *identity, GBytes *raw,
				       GError **error);

/* Opens the content of case CASE_ID with SECRET (a section or triage key).
 * NO_ACCESS when SECRET is neither. Returns a new struct. */
struct canary_case_content *canary_envelope_open_content(struct canary_store *store,
							 gint64 case_id,
							 const struct canary_secret_key *secret,
							 GError **error);

/* Opens attachment INDEX (0-based) of case CASE_ID. Returns its bytes
 * (wiped when freed). */
GBytes *canary_envelope_open_attachment(struct canary_store *store, gint64 case_id,
					const struct canary_secret_key *secret, guint index,
					GError **error);

/* Opens the identity record with the custodian's SECRET, and the raw
 * message into *RAW_R when RAW_R is not NULL. */
struct canary_identity *canary_envelope_open_identity(struct canary_store *store,
						      gint64 case_id,
						      const struct canary_secret_key *secret,
						      GBytes **raw_r, GError **error);

/* The exact values of a case that are not kept in clear (the store keeps
 * the day and a size class): sealed under a key of their own to the
 * section and triage keys (for officers) and the custodian's. PSEUDONYM
 * is wiped when freed. */
struct canary_case_meta {
	gint64 received_at; /* Unix UTC, as the server or the message said */
	gint64 ingested_at; /* Unix UTC, when canary filed it */
	guint64 size;       /* raw message bytes */
	char *pseudonym;    /* the sender's, or NULL without an address */
};
void canary_case_meta_free(struct canary_case_meta *meta);

/* Seals META to TO->section and TO->triage (when not NULL: leave both NULL
 * for a quarantined case) and to TO->custodian. Run inside a transaction. */
gboolean canary_envelope_seal_meta(struct canary_store *store, gint64 case_id,
				   const struct canary_envelope_recipients *to,
				   const struct canary_case_meta *meta, GError **error);

/* Opens the exact values of CASE_ID with SECRET (section, triage or
 * custodian key). NO_ACCESS when SECRET opens none of them, NO_SUCH when
 * the case has none sealed (a case from before schema 4 whose clear values
 * canaryd has not sealed yet). Returns a new struct. */
struct canary_case_meta *canary_envelope_open_meta(struct canary_store *store, gint64 case_id,
						   const struct canary_secret_key *secret,
						   GError **error);

/* Re-seals the content key of CASE_ID, opened with SECRET, to NEW_SECTION
 * (replacing the old section's sealed key), and likewise the key of the
 * exact values and of every note SECRET opens. */
gboolean canary_envelope_reseal_section(struct canary_store *store, gint64 case_id,
					const struct canary_secret_key *secret,
					const struct canary_public_key *new_section,
					GError **error);

/* A note an officer added to a case. Sealed like the content, each under
 * its own key ("note.N", N from 1) sealed to the section and triage keys;
 * the plaintext holds author, time and text. */
struct canary_case_note {
	guint number; /* 1, 2, ... */
	gint64 at;    /* Unix UTC; 0 when not opened */
	char *author; /* NULL when not opened */
	char *text;   /* NULL when the key given does not open this note; wiped */
};
void canary_case_note_free(struct canary_case_note *note);

/* Seals TEXT, written by AUTHOR at AT, as the next note of CASE_ID under a
 * new key sealed to TO->section and TO->triage (if any). Returns its number
 * in *NUMBER_R. Run inside a transaction. */
gboolean canary_envelope_seal_note(struct canary_store *store, gint64 case_id,
				   const struct canary_envelope_recipients *to, const char *author,
				   gint64 at, const char *text, guint *number_r, GError **error);

/* Opens the notes of CASE_ID with SECRET (a section or triage key). Returns
 * a new array of struct canary_case_note *, oldest first, with TEXT NULL for
 * notes SECRET does not open; empty when there are none. */
GPtrArray *canary_envelope_open_notes(struct canary_store *store, gint64 case_id,
				      const struct canary_secret_key *secret, GError **error);

typedef struct canary_case_meta canary_case_meta;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(canary_case_meta, canary_case_meta_free)
typedef struct canary_case_content canary_case_content;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(canary_case_content, canary_case_content_free)

#endif
