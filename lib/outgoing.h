/* outgoing.h: the mail canary writes (replies, notices, acknowledgements)
 * as a mail client would: MIME, UTF-8, encoded-word subjects, a Message-ID
 * under the sending address's domain, and no header that names the
 * software or the server. The only writer of outgoing MIME (GMime). */
#ifndef CANARY_OUTGOING_H
#define CANARY_OUTGOING_H

#include <glib.h>

#define CANARY_OUTGOING_ERROR (canary_outgoing_error_quark())
GQuark canary_outgoing_error_quark(void);

enum canary_outgoing_error {
	CANARY_OUTGOING_ERROR_INVALID, /* an address or Message-ID is not one */
};

/* Why a message is sent, as its Auto-Submitted header says (RFC 3834). */
enum canary_outgoing_kind {
	CANARY_OUTGOING_PERSONAL,       /* a reply an officer wrote: no Auto-Submitted */
	CANARY_OUTGOING_AUTO_REPLIED,   /* an acknowledgement: "auto-replied" */
	CANARY_OUTGOING_AUTO_GENERATED, /* a notice to a section: "auto-generated" */
};

/* One message to compose. Strings are borrowed, UTF-8. */
struct canary_outgoing {
	enum canary_outgoing_kind kind;
	const char *from;               /* "addr@domain" or "Name <addr@domain>" */
	const char *const *to;          /* NULL-terminated addresses */
	const char *subject;            /* encoded-words as needed */
	const char *text;               /* the text/plain body */
	const char *in_reply_to;        /* a Message-ID without <>, or NULL */
	const char *const *references;  /* NULL-terminated Message-IDs, or NULL */
	gint64 date;                    /* Unix UTC; 0: now */
};

/* Composes M as RFC 5322 bytes with CRLF line ends (Date, From, To, Subject,
 * Message-ID, In-Reply-To, References, MIME-Version, Content-Type
 * text/plain; charset=utf-8, quoted-printable or 8bit as fits, and
 * Auto-Submitted as M->kind says). The new Message-ID (without <>) is
 * random, under the domain of M->from, and returned in *MESSAGE_ID_R (may
 * be NULL). Returns new bytes, wiped when freed. */
GBytes *canary_outgoing_compose(const struct canary_outgoing *m, char **message_id_r,
				GError **error);

#endif
