/* identity.h: who wrote in: the submitter's addresses, names, originating
 * IPs, phone numbers; the address their pseudonym is made from; scrubbing
 * all of that out of the text section officers read. */
#ifndef CANARY_IDENTITY_H
#define CANARY_IDENTITY_H

#include <glib.h>

#include "mail.h"

#define CANARY_IDENTITY_ERROR (canary_identity_error_quark())
GQuark canary_identity_error_quark(void);

enum canary_identity_error {
	CANARY_IDENTITY_ERROR_FORMAT, /* a serialized record is damaged */
};

/* Caps that keep extraction and scrubbing linear in the message's size. */
#define CANARY_IDENTITY_MAX_ADDRESSES 64  /* from From, Sender and Reply-To together */
#define CANARY_IDENTITY_MAX_FOUND     64  /* phone numbers; signature e-mail addresses */
#define CANARY_IDENTITY_MAX_NEEDLES   512 /* words and addresses looked for in the text */
/* Longest folded name or address looked for whole (bytes): a longer display
 * name is scrubbed by its words only, so no walk goes further than this. */
#define CANARY_IDENTITY_MAX_NEEDLE_BYTES 512

/* Everything that could identify the submitter. Strings are UTF-8, owned,
 * and wiped when freed. */
struct canary_identity {
	GPtrArray *addresses; /* struct canary_address *: From, Sender, Reply-To,
				 deduplicated (case-insensitive address) */
	GPtrArray *ips;       /* char *: IPv4/IPv6 literals from Received headers */
	GPtrArray *phones;    /* char *: phone numbers as written in the text */
	GPtrArray *emails;    /* char *: other e-mail addresses found in the
				 signature block */
	guint omitted;        /* addresses, phones and e-mail addresses beyond
				 the caps (CANARY_IDENTITY_MAX_*), not recorded */
	char *primary;        /* the normalised (trimmed, lower-case) address the
				 pseudonym is made from: the first From address,
				 else Sender, else Reply-To; NULL if none */
};

/* Extracts the identity from MAIL (works on quarantined mail too, with
 * whatever headers it has). Only the submitter: in mailing-list mail only
 * From (Sender and Reply-To are the list's); phone numbers and signature
 * addresses only from the top-level message's own text, before any inline
 * forwarded or quoted message, and none from a bounce report. Returns a new record; free with
 * canary_identity_free(). */
struct canary_identity *canary_identity_extract(const struct canary_mail *mail);

void canary_identity_free(struct canary_identity *identity);

/* Returns TEXT with the submitter's addresses, display names (whole and each
 * part of two letters or more, except name particles such as "de" or "al"),
 * phone numbers and signature e-mail addresses replaced by REPLACEMENT
 * (typically the pseudonym). Matching is case-insensitive, on whole words,
 * after Unicode normalisation. Returns a new string (wipe and free it). */
char *canary_identity_scrub(const struct canary_identity *identity, const char *text,
			    const char *replacement);

/* Serialises IDENTITY (GVariant) for sealing. The returned bytes are wiped
 * when freed. */
GBytes *canary_identity_serialize(const struct canary_identity *identity);

/* Reads back what canary_identity_serialize() wrote. Untrusted input:
 * anything malformed gives CANARY_IDENTITY_ERROR_FORMAT. */
struct canary_identity *canary_identity_deserialize(GBytes *data, GError **error);

/* An identity record of one ADDRESS alone: whom a reply was sent to (the
 * sealed copy of what canary sent keeps it for the custodian). New record. */
struct canary_identity *canary_identity_new_recipient(const char *address);

typedef struct canary_identity canary_identity;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(canary_identity, canary_identity_free)

#endif
