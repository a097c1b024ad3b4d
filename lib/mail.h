/* mail.h: raw message bytes -> struct canary_mail (headers, readable text,
 * attachments). The only user of GMime. RFC 5322, RFC 2045-2049 (MIME),
 * RFC 2047 (encoded words), RFC 2231 (parameter values), RFC 3156 / 8551 kept whole. */
#ifndef CANARY_MAIL_H
#define CANARY_MAIL_H

#include <glib.h>

/* Why a message is quarantined instead of filed. Order is stable: stored by name. */
enum canary_quarantine {
	CANARY_QUARANTINE_NONE = 0,
	CANARY_QUARANTINE_TOO_LARGE,       /* "too-large" */
	CANARY_QUARANTINE_TOO_DEEP,        /* "too-deep" */
	CANARY_QUARANTINE_TOO_MANY_PARTS,  /* "too-many-parts" */
	CANARY_QUARANTINE_HEADER_TOO_LONG, /* "header-too-long" */
	CANARY_QUARANTINE_UNPARSEABLE,     /* "unparseable" */
	CANARY_QUARANTINE_TOO_SLOW,        /* "too-slow": preparing outran [limits] message_time */
	CANARY_QUARANTINE_POISON,          /* "poison": in hand at two crashes (lib/poll.c) */
};

/* The name stored and shown ("too-large", ...); NULL for NONE. Static string. */
const char *canary_quarantine_name(enum canary_quarantine reason);

/* Most Message-IDs kept from one In-Reply-To or References header. */
#define CANARY_MAIL_MAX_REFERENCES 64

struct canary_limits {
	guint64 max_message_size;  /* bytes; default 50M */
	guint max_mime_depth;      /* multipart/message nesting; default 32 */
	guint max_parts;           /* MIME parts in all; default 1000 */
	guint64 max_header_length; /* bytes of one unfolded header field; default 64K */
};

/* The defaults above. */
void canary_limits_init_default(struct canary_limits *limits);

struct canary_address {
	char *name;    /* display name, UTF-8 (RFC 2047 decoded); NULL if none */
	char *address; /* addr-spec as written ("user@example.org"); NULL if none */
};

/* A Content-Transfer-Encoding that canary_mail_decode() undoes. Stored
 * by number: order is stable. */
enum canary_transfer_encoding {
	CANARY_ENCODING_NONE = 0, /* the bytes as they are (7bit, 8bit, binary) */
	CANARY_ENCODING_BASE64 = 1,
	CANARY_ENCODING_QUOTED_PRINTABLE = 2,
	CANARY_ENCODING_UUENCODE = 3,
};
#define CANARY_ENCODING_LAST CANARY_ENCODING_UUENCODE

struct canary_attachment {
	char *filename;     /* UTF-8, RFC 2231/2047 decoded, as the sender gave it
			       (never a path to use as is); NULL if none */
	char *content_type; /* lower-case "type/subtype" */
	/* The decoded content, wiped when freed: read it with
	 * canary_attachment_data(). NULL until then when ENCODED holds it: the
	 * parse only counts its SIZE, since most attachments are stored as
	 * sent and never need their decoded bytes in memory. */
	GBytes *data;
	gsize size; /* of the decoded content */
	guint depth; /* 0 at top level, 1 inside a forwarded message, ... */
	/* The content as it stands in the raw message, still encoded: a slice
	 * of canary_mail.raw (no copy) from ENCODED_OFFSET, which
	 * canary_mail_decode(ENCODING) turns back into the decoded content.
	 * NULL when that is not a span of the raw message (a file inside a
	 * TNEF attachment or an encoded forwarded message, a forwarded message
	 * itself) or is empty. Lets the raw message be stored without the
	 * bytes its attachments hold. */
	GBytes *encoded;
	gsize encoded_offset;
	enum canary_transfer_encoding encoding;
};

/* The decoded content of A (borrowed: A keeps it until freed), decoding
 * it from its encoded span on the first call. Not for two threads at
 * once. */
GBytes *canary_attachment_data(struct canary_attachment *a);

/* A range of canary_mail.text, in bytes. */
struct canary_text_range {
	gsize offset, length;
};

/* Everything read from one message. All strings are valid UTF-8, owned by the
 * struct, and wiped when it is freed. */
struct canary_mail {
	GBytes *raw; /* the original bytes, always kept (a reference) */
	enum canary_quarantine quarantine;
	char *quarantine_detail; /* technical detail with numbers only, never
				    content ("depth 201 > 32"); NULL if none */

	GPtrArray *from, *sender, *reply_to, *to, *cc, *delivered_to; /* struct canary_address * */
	char *subject;    /* RFC 2047 decoded; NULL if none */
	char *message_id; /* without angle brackets; NULL if none */
	/* The Message-IDs this message answers (without angle brackets, at
	 * most CANARY_MAIL_MAX_REFERENCES of each, in header order): In-Reply-To
	 * and References; empty when absent. */
	GPtrArray *in_reply_to, *references; /* char * */
	gboolean auto_submitted; /* Auto-Submitted other than "no" (RFC 3834) */
	gboolean null_sender;    /* Return-Path: <> (a bounce or notification) */
	gint64 date;      /* Date header, Unix time UTC; 0 if none or unreadable */
	gint64 received_date; /* time in the topmost Received header; 0 if none */
	GPtrArray *received; /* char *: Received header values, topmost first */

	char *text;  /* readable text of all text parts, UTF-8; "" if none */
	/* Who is who, for identity.c: text from forwarded messages (attached
	 * message/rfc822, at any depth) is someone else's; the rest the submitter's. */
	GArray *forwarded_text; /* struct canary_text_range: parts of TEXT */
	gboolean list_mail; /* List-Id, List-Post or Precedence: list/bulk */
	gboolean report;    /* multipart/report (a bounce, RFC 3462) */
	GPtrArray *attachments; /* struct canary_attachment * */

	guint parts;    /* MIME parts seen */
	guint depth;    /* deepest nesting seen */
	guint warnings; /* structural damage reported by the parser */
	char *damage;	/* readable but damaged (a header block ended by a white-space
			   line, a boundary that matches nothing): technical detail
			   with numbers only, never content; NULL if none */
};

/* Library set-up and tear-down (GMime). Call once per process: GMime 3.2
 * cannot be set up again after its shutdown. Nested pairs are counted. */
void canary_mail_init(void);
void canary_mail_shutdown(void);

/* Parses RAW under LIMITS (NULL: the defaults). Never fails: a message that
 * breaks a limit or cannot be parsed comes back with QUARANTINE set and
 * whatever headers could be read. Returns a new struct; free with
 * canary_mail_free(). Keeps a reference to RAW. */
struct canary_mail *canary_mail_parse(GBytes *raw, const struct canary_limits *limits);

/* Undoes ENCODING on LEN bytes at DATA exactly as canary_mail_parse()
 * did for an attachment (GMime's decoders; damage is skipped, never an
 * error). Returns new bytes, wiped when freed. */
GBytes *canary_mail_decode(enum canary_transfer_encoding encoding, const void *data, gsize len);

/* Wipes and frees MAIL; NULL is fine. */
void canary_mail_free(struct canary_mail *mail);
typedef struct canary_mail canary_mail;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(canary_mail, canary_mail_free)

#endif
