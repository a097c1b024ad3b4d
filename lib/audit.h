/* audit.h: the forward-secure seal of the case history: the evolving key
 * (its file next to the database), each event's MAC, and the checks. */
#ifndef CANARY_AUDIT_H
#define CANARY_AUDIT_H

#include <glib.h>

#include "store.h"

#define CANARY_AUDIT_ERROR (canary_audit_error_quark())
GQuark canary_audit_error_quark(void);

enum canary_audit_error {
	CANARY_AUDIT_ERROR_IO,     /* a key file cannot be read or written */
	CANARY_AUDIT_ERROR_FORMAT, /* a key file is not one of ours, or damaged */
	CANARY_AUDIT_ERROR_SEALED, /* sealing has already started and works */
};

/* The event that starts the sealed part of the history (on the "database"
 * reference); its detail names the key ("key 0123456789abcdef"). */
#define CANARY_ACTION_AUDIT_SEALED "audit sealed"

#define CANARY_AUDIT_MAC_BYTES 32

/* Computes the chain hash of E from its fields and prev_hash, as the store
 * records it (BLAKE2b over every field, each fixed-size or
 * length-prefixed). */
void canary_audit_event_hash(const struct canary_event *e, guint8 out[32]);

/*
 * The scheme (as systemd-journald's forward-secure sealing): event N of
 * the sealed part carries MAC(k_N, N | its chain hash), and k_(N+1) is
 * derived from k_N one way (BLAKE2b, crypto_kdf), then k_N is wiped. The
 * server keeps only the key for the NEXT event, in "<database>.audit-key",
 * rewritten after each transaction that added events commits: whoever takes
 * the server can forge what comes after, never what came before. The first
 * key k_S (S = the id of the sealing event) is the verification key: it is
 * printed once, for the custodian to keep off the server, and whoever holds
 * it recomputes every k_N. The history's end is proven by a MAC over the last
 * event under the next key (the "head proof"): deleting the last events
 * needs a key that was wiped.
 */

/* A key of the chain and the id of the event it seals (sodium_malloc()ed,
 * wiped when freed). A verification key is the first one. */
struct canary_audit_key;
void canary_audit_key_free(struct canary_audit_key *key);
typedef struct canary_audit_key canary_audit_key;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(canary_audit_key, canary_audit_key_free)

/* The id of the event KEY seals. */
gint64 canary_audit_key_event(const struct canary_audit_key *key);

/* A short public name of the verification key KEY (16 hex digits, one-way
 * from it), as the sealing event records it. New string. */
char *canary_audit_key_id(const struct canary_audit_key *key);

/* Parses a verification key file's TEXT (LEN bytes):
 *   canary-audit-verification-key-v1
 *   S BASE64(k_S)
 * Returns a new key, or NULL with CANARY_AUDIT_ERROR_FORMAT naming WHAT
 * (the file name). */
struct canary_audit_key *canary_audit_key_parse(const char *text, gsize len, const char *what,
						GError **error);

/* Reads the verification key file at PATH (canary_audit_key_parse()). */
struct canary_audit_key *canary_audit_key_load(const char *path, GError **error);

/* --- The writing side: what the store calls ------------------------------ */

/* The seal of one open store: its key file and the key for the next event,
 * committed and (inside a transaction) pending. */
struct canary_audit_seal;

/* A seal for the database at DB_PATH; nothing is read until
 * canary_audit_seal_sync(). Free with canary_audit_seal_free(). */
struct canary_audit_seal *canary_audit_seal_new(const char *db_path);
void canary_audit_seal_free(struct canary_audit_seal *seal);
typedef struct canary_audit_seal canary_audit_seal;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(canary_audit_seal, canary_audit_seal_free)

/* Makes the seal follow SEALED_FROM, the id of the sealing event the
 * database records (0: not sealed): loads the key file when sealing started
 * since we last looked (also in another process). A missing or damaged
 * file is not an error: events are then recorded without a MAC and
 * canary_audit_seal_problem() says why. */
void canary_audit_seal_sync(struct canary_audit_seal *seal, gint64 sealed_from);

/* Seals event E (its id, fields and chain hash final) into MAC_R. FALSE when
 * the history is not sealed, or cannot be (key file lost, or ahead of the
 * history: see canary_audit_seal_problem()). */
gboolean canary_audit_seal_event(struct canary_audit_seal *seal, const struct canary_event *e,
				 guint8 mac_r[CANARY_AUDIT_MAC_BYTES]);

/* After a commit whose last event is LAST_ID: the key for LAST_ID + 1
 * replaces the committed one and goes to the key file (rename + fsync), the
 * old one wiped. A file that another process moved further is left alone. */
void canary_audit_seal_committed(struct canary_audit_seal *seal, gint64 last_id);

/* After a rollback: forgets the pending key (and a sealing being started). */
void canary_audit_seal_rolled_back(struct canary_audit_seal *seal);

/* Starts sealing at event FIRST_ID (the sealing event about to be added in
 * the open transaction) with a new random key; refused
 * (CANARY_AUDIT_ERROR_SEALED) while sealing works. Returns the verification
 * key file's text (new, wipe with canary_audit_text_free()) and its id in
 * *KEY_ID_R (new string). The key file is written at the commit. */
char *canary_audit_seal_start(struct canary_audit_seal *seal, gint64 first_id, char **key_id_r,
			      GError **error);

/* The head proof over the last event (LAST_ID, its chain hash LAST_HASH)
 * under the key for LAST_ID + 1. FALSE when it cannot be made (not sealed,
 * key lost, key ahead: the problem says which). */
gboolean canary_audit_seal_head(struct canary_audit_seal *seal, gint64 last_id,
				const guint8 last_hash[32], guint8 proof_r[CANARY_AUDIT_MAC_BYTES]);

/* Why events are not being sealed, or NULL. Static until the next call. */
const char *canary_audit_seal_problem(const struct canary_audit_seal *seal);

/* Wipes and frees a verification key's text. */
void canary_audit_text_free(char *text);

/* One line for the journal, naming the end of the history without any of
 * its content: the last event's id and chain hash, and the head proof (or
 * why there is none). canaryd logs it at start and once a day, so that a
 * rewrite can be seen against the journal too. New string. */
char *canary_audit_head_summary(struct canary_store *store, GError **error);

/* --- The checking side: what canary audit runs, off the server ---------- */

/* What canary_audit_verify() found. */
struct canary_audit_result {
	guint events;       /* how many were checked */
	gint64 sealed_from; /* the first sealed event (from the key, else as the server says); 0 */
	gboolean macs_checked; /* with a verification key: every sealed event's MAC checked */
	gboolean head_proven;  /* the proof over the last event checked: nothing cut off */
	gint64 bad_id;         /* the first bad event, 0 when none */
	char *bad_ref;         /* its case reference */
	char *why;             /* what is wrong with it, or with the end of the history */
	gboolean key_wrong;    /* the verification key is not this history's */
};
void canary_audit_result_clear(struct canary_audit_result *result);

/* The server's side of the end of the history, for canary_audit_verify(). */
struct canary_audit_head {
	gint64 last_id;     /* the last event when the proof was made */
	gboolean has_proof; /* FALSE: PROBLEM says why there is none */
	guint8 proof[CANARY_AUDIT_MAC_BYTES];
	const char *problem;
	gint64 sealed_from; /* as the server's database says (0: not sealed) */
};

/* Checks EVENTS (struct canary_event *, ordered by id, all of the history
 * up to HEAD->last_id): the hash chain, ids and times in order, and with
 * VKEY (may be NULL) every MAC from the key's event on and the head proof.
 * Returns TRUE when all holds; else FALSE with RESULT naming the first bad
 * event (or, bad_id 0, the end of the history). */
gboolean canary_audit_verify(GPtrArray *events, const struct canary_audit_head *head,
			     const struct canary_audit_key *vkey,
			     struct canary_audit_result *result);

#endif
