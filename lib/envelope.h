/* envelope.h: the sealed fields of a case, written at ingest and opened by
 * the officers' tool. One place knows the field names and which key opens
 * which: section/triage content key, custodian identity key. */
#ifndef CANARY_ENVELOPE_H
#define CANARY_ENVELOPE_H

#include <glib.h>
#include <json-glib/json-glib.h>

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

/* A case's sealed blobs by field name ("subject", "key/content/section",
 * ...): what canaryd loads from the store and hands out, and what the
 * officer's process opens with its own key. Holds ciphertext only. */
struct canary_sealed_case {
	gint64 case_id;     /* part of every blob's associated data */
	GHashTable *blobs;  /* field (string) -> GBytes */
	char *prefix;       /* NULL, or the prefix its fields were sealed under
			       (a view of one message: canary_sealed_case_message()) */
};
struct canary_sealed_case *canary_sealed_case_new(gint64 case_id);
void canary_sealed_case_free(struct canary_sealed_case *sc);
/* Adds (or replaces) FIELD; takes a reference to BLOB. */
void canary_sealed_case_put(struct canary_sealed_case *sc, const char *field, GBytes *blob);
/* FIELD's bytes (borrowed), or NULL when SC lacks it. */
GBytes *canary_sealed_case_get(const struct canary_sealed_case *sc, const char *field);
typedef struct canary_sealed_case canary_sealed_case;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(canary_sealed_case, canary_sealed_case_free)

/* The fields as a JSON object {field: base64}. New object. */
JsonObject *canary_sealed_case_to_json(const struct canary_sealed_case *sc);
/* The reverse, for case CASE_ID; FORMAT for anything but base64 strings. */
struct canary_sealed_case *canary_sealed_case_from_json(gint64 case_id, JsonObject *o,
							GError **error);

/* What canaryd hands out of a case (bits for canary_envelope_load()). */
enum canary_envelope_part {
	CANARY_ENVELOPE_CONTENT_KEYS = 1 << 0, /* the section's and triage copies of the content key */
	CANARY_ENVELOPE_SUBJECT = 1 << 1,      /* with the content keys */
	CANARY_ENVELOPE_CONTENT = 1 << 2,      /* subject, text, routing, attachment list, keys */
	CANARY_ENVELOPE_META_KEYS = 1 << 3,    /* the copies of the exact values' key */
	CANARY_ENVELOPE_META = 1 << 4,         /* the exact values, with their keys */
	CANARY_ENVELOPE_NOTE_KEYS = 1 << 5,    /* the copies of every note's key */
	CANARY_ENVELOPE_NOTES = 1 << 6,        /* the notes, with their keys */
	CANARY_ENVELOPE_IDENTITY = 1 << 7,     /* the custodian's key copy and the identity */
	CANARY_ENVELOPE_RAW = 1 << 8,          /* the raw message (with IDENTITY) */
	CANARY_ENVELOPE_MANIFEST = 1 << 9,     /* the attachment list, with the content keys */
	CANARY_ENVELOPE_IDENTITY_KEY = 1 << 10, /* the custodian's copy of the identity key */
	CANARY_ENVELOPE_DRAFT_KEYS = 1 << 11,   /* the copies of every draft's key */
};

/* Adds the fields PARTS names of case SC->case_id from STORE to SC (those
 * the case has: a quarantined case has no content). No attachment bytes. */
gboolean canary_envelope_load(struct canary_store *store, guint parts,
			      struct canary_sealed_case *sc, GError **error);
/* Adds attachment INDEX (0-based) and the content keys; NO_SUCH without it. */
gboolean canary_envelope_load_attachment(struct canary_store *store, guint index,
					 struct canary_sealed_case *sc, GError **error);

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
	guint64 size;       /* decoded */
	enum canary_transfer_encoding encoding; /* of the bytes sealed, undone when opened */
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
 * the day and a size class): sealed under a key of their own that the
 * section and triage keys (for officers) and the custodian's open. PSEUDONYM
 * is wiped when freed. */
struct canary_case_meta {
	gint64 received_at; /* Unix UTC, as the server or the message said */
	gint64 ingested_at; /* Unix UTC, when canary filed it */
	guint64 size;       /* raw message bytes */
	char *pseudonym;    /* the sender's, or NULL without an address */
};
void canary_case_meta_free(struct canary_case_meta *meta);

/* Seals META to TO->section and TO->triage (when not NULL: leave both NULL
 * for a quarantined case) and to TO->custodian, its key sealed to each of
 * them: for a case whose content and identity keys canaryd does not hold
 * (an older case's clear values). Run inside a transaction. */
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
typedef struct canary_case_note canary_case_note;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(canary_case_note, canary_case_note_free)

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

/* --- The messages of a case (conversations) -----------------------------
 * Message 1 is the case's own fields ("subject", "raw", ...). Follow-ups and
 * replies sent are messages 2, 3, ..., each sealed like a case under keys of
 * its own, in the same fields after the prefix "message.N/"
 * ("message.2/subject", "message.2/key/content/section", ...), the whole
 * name being the associated data. Notes belong to the case. */

/* "" for message 1, "message.N/" for N >= 2. New string. */
char *canary_envelope_message_prefix(guint number);

/* Message NUMBER's fields of SC (those with its prefix; for 1 those of no
 * message.N/) as a new set named as message 1's, which every
 * canary_sealed_open_*() below opens. NULL when SC holds none of them. */
struct canary_sealed_case *canary_sealed_case_message(const struct canary_sealed_case *sc,
						      guint number);

/* canary_envelope_load() of message NUMBER (>= 2): its PARTS (notes are the
 * case's, never a message's) added to SC under their prefixed names. */
gboolean canary_envelope_load_message(struct canary_store *store, guint number, guint parts,
				      struct canary_sealed_case *sc, GError **error);

/* canary_envelope_load_attachment() of message NUMBER (1: the case's own),
 * with that message's attachment list and content keys. */
gboolean canary_envelope_load_message_attachment(struct canary_store *store, guint number,
						 guint index, struct canary_sealed_case *sc,
						 GError **error);

/* The keys one message is sealed under (its content, identity and exact
 * values), the first two already sealed to the recipients TO names as the
 * functions below would seal them (content: section and triage; identity:
 * custodian; TO->section NULL for a quarantined case). The exact values'
 * key is wrapped under the other two instead ("key/meta/content",
 * "key/meta/identity"), so that the same people open it. Sealing a key to a
 * public key is an X25519 exchange (about 70 us, three per case) and needs
 * no store, so that preparing threads make these ahead of the thread that
 * stores. Each set is for one message only. */
struct canary_envelope_keys;
struct canary_envelope_keys *canary_envelope_keys_new(const struct canary_envelope_recipients *to);
void canary_envelope_keys_free(struct canary_envelope_keys *keys);
typedef struct canary_envelope_keys canary_envelope_keys;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(canary_envelope_keys, canary_envelope_keys_free)

/* canary_envelope_seal_content(), _identity() and _meta() for message
 * MESSAGE (1 is the same as those), under the keys of KEYS (NULL: new
 * keys, and the exact values' key sealed to each recipient, as
 * canary_envelope_seal_meta() does). A recipient KEYS holds no copy for
 * gets one sealed now.
 * With KEYS and attachments, each attachment is sealed once, under a key
 * of KEYS wrapped under the content key and the identity key: as the span
 * of the raw message it came from, still encoded (canary_attachment.encoded),
 * when it has one; and the raw message is stored without those spans
 * ("raw/rest"), which canary_sealed_open_identity() puts back. Both calls
 * must then be given the same ATTACHMENTS (for _identity(): NULL or empty
 * when _content() is not called, as for a quarantined message). */
gboolean canary_envelope_seal_message_content(struct canary_store *store, gint64 case_id,
					      guint message,
					      const struct canary_envelope_recipients *to,
					      const struct canary_envelope_keys *keys,
					      const char *subject, const char *text,
					      const GPtrArray *attachments, char *const *names,
					      const char *routing, GError **error);
gboolean canary_envelope_seal_message_identity(struct canary_store *store, gint64 case_id,
					       guint message,
					       const struct canary_envelope_recipients *to,
					       const struct canary_envelope_keys *keys,
					       const struct canary_identity *identity, GBytes *raw,
					       const GPtrArray *attachments, GError **error);
gboolean canary_envelope_seal_message_meta(struct canary_store *store, gint64 case_id,
					   guint message,
					   const struct canary_envelope_recipients *to,
					   const struct canary_envelope_keys *keys,
					   const struct canary_case_meta *meta, GError **error);

/* --- Opening a set of sealed blobs, in the officer's process -------------
 * The same as the store-based functions above, which load the fields and
 * call these. */
struct canary_case_content *canary_sealed_open_content(const struct canary_sealed_case *sc,
						       const struct canary_secret_key *secret,
						       GError **error);
/* What SECRET opens of the key copies in SC, as bits of
 * CANARY_ENVELOPE_CONTENT_KEYS, _META_KEYS and _IDENTITY_KEY in *PARTS_R:
 * for trying a key before asking for (and being recorded opening) the
 * ciphertext. FALSE only on an error other than "not this key's". */
gboolean canary_sealed_opens(const struct canary_sealed_case *sc,
			     const struct canary_secret_key *secret, guint *parts_r,
			     GError **error);
/* NO_ACCESS (the message open_content/open_identity give) unless SECRET
 * opens the content key / the custodian's identity key of SC. */
gboolean canary_sealed_check_content(const struct canary_sealed_case *sc,
				     const struct canary_secret_key *secret, GError **error);
gboolean canary_sealed_check_identity(const struct canary_sealed_case *sc,
				      const struct canary_secret_key *secret, GError **error);

/* The subject alone ("" when the case has none). New string; wipe it. */
char *canary_sealed_open_subject(const struct canary_sealed_case *sc,
				 const struct canary_secret_key *secret, GError **error);
/* The attachment list alone: a new array of struct canary_attachment_info *. */
GPtrArray *canary_sealed_open_manifest(const struct canary_sealed_case *sc,
				       const struct canary_secret_key *secret, GError **error);
GBytes *canary_sealed_open_attachment(const struct canary_sealed_case *sc,
				      const struct canary_secret_key *secret, guint index,
				      GError **error);
struct canary_identity *canary_sealed_open_identity(const struct canary_sealed_case *sc,
						    const struct canary_secret_key *secret,
						    GBytes **raw_r, GError **error);
struct canary_case_meta *canary_sealed_open_meta(const struct canary_sealed_case *sc,
						 const struct canary_secret_key *secret,
						 GError **error);
GPtrArray *canary_sealed_open_notes(const struct canary_sealed_case *sc,
				    const struct canary_secret_key *secret, GError **error);

/* Seals TEXT by AUTHOR at AT as note NUMBER of SC->case_id into SC (its
 * text and its key copies to TO->section and TO->triage, if any). */
gboolean canary_sealed_seal_note(struct canary_sealed_case *sc, guint number,
				 const struct canary_envelope_recipients *to, const char *author,
				 gint64 at, const char *text, GError **error);

/* Re-seals to NEW_SECTION the keys of SC (its key copies: CONTENT_KEYS,
 * META_KEYS, NOTE_KEYS) that SECRET opens: a new set holding only the
 * section copies to replace. NO_ACCESS when SECRET opens no content key. */
struct canary_sealed_case *canary_sealed_reseal_section(const struct canary_sealed_case *sc,
							const struct canary_secret_key *secret,
							const struct canary_public_key *new_section,
							GError **error);

/* --- Storing what an officer's process sealed (canaryd) ------------------ */

/* Replaces the section copies of the keys RESEALED holds. FORMAT, before
 * anything is written, unless it holds key/content/section and otherwise
 * only section copies the case already has, each of a sealed key's size.
 * Run inside a transaction. */
gboolean canary_envelope_store_reseal(struct canary_store *store,
				      const struct canary_sealed_case *resealed, GError **error);

/* The number the next note of CASE_ID gets, in *NUMBER_R. */
gboolean canary_envelope_next_note(struct canary_store *store, gint64 case_id, guint *number_r,
				   GError **error);

/* Stores note NUMBER as sealed in NOTE: FORMAT unless NUMBER is the next
 * note and NOTE holds exactly its text, its section key copy and maybe a
 * triage copy. Run inside a transaction. */
gboolean canary_envelope_store_note(struct canary_store *store, guint number,
				    const struct canary_sealed_case *note, GError **error);

/* --- Drafts: replies an officer wrote, waiting for the custodian ---------
 * Sealed like a note, each under its own key ("draft.N", N from 1) with
 * copies to the section, triage (if any) and custodian keys
 * ("key/draft.N/section", ".../triage", ".../custodian"); the plaintext
 * holds author, time and text. Opened as a struct canary_case_note. */

/* Seals TEXT by AUTHOR at AT as draft NUMBER of SC->case_id into SC. Needs
 * TO->section and TO->custodian (NO_ACCESS without). */
gboolean canary_sealed_seal_draft(struct canary_sealed_case *sc, guint number,
				  const struct canary_envelope_recipients *to, const char *author,
				  gint64 at, const char *text, GError **error);

/* Opens draft NUMBER of SC with SECRET (section, triage or custodian key).
 * NO_ACCESS when SECRET opens none of its key copies, FORMAT when SC lacks
 * it. Returns a new note (its text wiped when freed). */
struct canary_case_note *canary_sealed_open_draft(const struct canary_sealed_case *sc,
						  guint number,
						  const struct canary_secret_key *secret,
						  GError **error);

/* Adds draft NUMBER (its text and key copies) of SC->case_id to SC. */
gboolean canary_envelope_load_draft(struct canary_store *store, guint number,
				    struct canary_sealed_case *sc, GError **error);

/* Stores draft NUMBER as sealed in DRAFT: FORMAT, before anything is
 * written, unless DRAFT holds exactly its text, its section and custodian
 * key copies and maybe a triage copy, each key of a sealed key's size, and
 * the case has no draft NUMBER yet. Run inside a transaction. */
gboolean canary_envelope_store_draft(struct canary_store *store, guint number,
				     const struct canary_sealed_case *draft, GError **error);

typedef struct canary_case_meta canary_case_meta;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(canary_case_meta, canary_case_meta_free)
typedef struct canary_case_content canary_case_content;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(canary_case_content, canary_case_content_free)

#endif
