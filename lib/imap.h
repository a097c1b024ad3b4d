/* imap.h: one IMAP session over libcurl: status, search, size and fetch by
 * UID, folder creation, moves. The only user of libcurl.
 * RFC 9051/3501 (IMAP), 6851 (MOVE), 4315 (UIDPLUS), 4731 (ESEARCH),
 * 7628 (XOAUTH2 via libcurl), 5092 (IMAP URLs as libcurl reads them). */
#ifndef CANARY_IMAP_H
#define CANARY_IMAP_H

#include <glib.h>

#define CANARY_IMAP_ERROR (canary_imap_error_quark())
GQuark canary_imap_error_quark(void);

/* Classes decide what the daemon does: retry later, or stop and say. */
enum canary_imap_error {
	CANARY_IMAP_ERROR_TEMPORARY, /* network, server down, timeout: retry with backoff */
	CANARY_IMAP_ERROR_AUTH,      /* login refused: wrong password or token */
	CANARY_IMAP_ERROR_TLS,       /* certificate, host name or pin does not match */
	CANARY_IMAP_ERROR_REFUSED,   /* the server said NO/BAD to a command */
	CANARY_IMAP_ERROR_RESET,     /* UIDVALIDITY changed under us */
	CANARY_IMAP_ERROR_PROTOCOL,  /* an answer we cannot read */
	CANARY_IMAP_ERROR_MESSAGE,   /* the server misbehaved on one message (more bytes than announced, wrong UID, cut literal): the next fetch may work */
};

struct canary_imap_options {
	const char *url; /* "imaps://host:port/INBOX" or "imap://..." (then
			    STARTTLS is required) */
	const char *username;
	const char *password;          /* or NULL with oauth2_token */
	const char *oauth2_token;      /* XOAUTH2 bearer, or NULL */
	const char *ca_file;           /* NULL: the system's CAs */
	const char *pinned_public_key; /* "sha256//BASE64", or NULL */
	long connect_timeout;          /* seconds */
	long io_timeout;               /* seconds without progress before giving up */
	gboolean trace;                /* log the protocol at debug level, with
					  credentials and message data redacted */
};

/* A copy of OPTIONS whose strings it owns; clear it with
 * canary_imap_options_clear(), which wipes the password and token. */
void canary_imap_options_copy(struct canary_imap_options *copy,
			      const struct canary_imap_options *options);
void canary_imap_options_clear(struct canary_imap_options *options);

struct canary_imap;

/* One message as listed before fetching. */
struct canary_imap_message {
	guint32 uid;
	guint64 size;         /* RFC822.SIZE */
	gint64 internal_date; /* INTERNALDATE as Unix UTC; 0 if unknown */
};

/* The state of a mailbox. */
struct canary_imap_status {
	guint32 uidvalidity;
	guint32 uidnext;
	guint32 messages;
};

/* Prepares a session (no network yet: the first command connects and logs
 * in; later commands reuse the connection). Certificate and host checks are
 * always on. Returns a new session; free with canary_imap_free(). */
struct canary_imap *canary_imap_new(const struct canary_imap_options *options, GError **error);
void canary_imap_free(struct canary_imap *imap);
typedef struct canary_imap canary_imap;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(canary_imap, canary_imap_free)

/* The mailbox named in the URL ("INBOX"). Static for the session's life. */
const char *canary_imap_mailbox(const struct canary_imap *imap);

/* STATUS of MAILBOX (UIDVALIDITY UIDNEXT MESSAGES). */
gboolean canary_imap_status(struct canary_imap *imap, const char *mailbox,
			    struct canary_imap_status *status_r, GError **error);

/* Creates FOLDER unless it exists. */
gboolean canary_imap_ensure_folder(struct canary_imap *imap, const char *folder, GError **error);

/* Lists the messages of the URL's mailbox, oldest UID first, at most LIMIT
 * (0: all), with size and internal date. Uses ESEARCH where offered and UID
 * ranges otherwise, so thousands of messages are read correctly. Returns a
 * GArray of struct canary_imap_message. */
GArray *canary_imap_list(struct canary_imap *imap, guint limit, GError **error);

/* Most bytes a header-only fetch accepts. */
#define CANARY_IMAP_HEADER_LIMIT (1024 * 1024)

/* Most bytes a fetch of a message announced (RFC822.SIZE) as ANNOUNCED
 * accepts: ANNOUNCED plus a slack of 1/16 and 64 KiB, for servers whose
 * sizes are estimates. The caller fetches whole only messages within
 * [limits] max_message_size, so this also bounds what that allows. */
guint64 canary_imap_fetch_limit(guint64 announced);

/* Fetches message UID whole (BODY[]), checking UIDVALIDITY is still
 * UIDVALIDITY (else CANARY_IMAP_ERROR_RESET), reading at most
 * canary_imap_fetch_limit(ANNOUNCED) bytes. An answer that is not exactly
 * that message (a literal over the limit, another UID, a literal cut short
 * by a disconnect or a stall, no answer line within io_timeout) is
 * CANARY_IMAP_ERROR_MESSAGE: nothing of it is returned, the connection is
 * dropped, and the next command connects afresh. Returns its bytes. */
GBytes *canary_imap_fetch(struct canary_imap *imap, guint32 uidvalidity, guint32 uid,
			  guint64 announced, GError **error);

/* Fetches only the header block of message UID, at most
 * CANARY_IMAP_HEADER_LIMIT bytes; checked as canary_imap_fetch() does. */
GBytes *canary_imap_fetch_header(struct canary_imap *imap, guint32 uidvalidity, guint32 uid,
				 GError **error);

/* A connection of its own for fetching many messages per command:
 * libcurl connects, checks TLS and logs in (CURLOPT_CONNECT_ONLY) with
 * OPTIONS as canary_imap_new() does, then canary speaks IMAP on it itself
 * (fetch_reader.h): EXAMINE of the URL's mailbox, so that nothing done on
 * it changes the mailbox, and "UID FETCH set (UID BODY.PEEK[])", one
 * command for up to 100 messages, which leaves \Seen alone. NULL with
 * ERROR when it cannot be opened, CANARY_IMAP_ERROR_RESET when the
 * mailbox's UIDVALIDITY is no longer UIDVALIDITY. */
struct canary_imap_stream;
struct canary_imap_stream *canary_imap_stream_open(const struct canary_imap_options *options,
						   guint32 uidvalidity, GError **error);
void canary_imap_stream_free(struct canary_imap_stream *stream);
typedef struct canary_imap_stream canary_imap_stream;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(canary_imap_stream, canary_imap_stream_free)

/* Takes one fetched MESSAGE of UID (taken over). FALSE with ERROR stops
 * the fetch. */
typedef gboolean (*canary_imap_deliver)(guint32 uid, GBytes *message, gpointer data,
					GError **error);

/* Fetches UIDS (N of them) whole, accepting literals of at most MAX_BYTES,
 * and hands each message to DELIVER as soon as it is in, in the server's
 * order. A UID the server no longer has is simply not delivered. FALSE
 * with ERROR when the answer was not a plain one (see fetch_reader.h) or
 * DELIVER said stop: free the stream then, and fetch what was not
 * delivered with canary_imap_fetch(), which tells a fault of one message
 * from one of the server. */
gboolean canary_imap_stream_fetch(struct canary_imap_stream *stream, const guint32 *uids, guint n,
				  guint64 max_bytes, canary_imap_deliver deliver, gpointer data,
				  GError **error);

/* Sets \Seen on messages UIDS (N of them), in sets of at most 100. libcurl
 * fetches with BODY[], not BODY.PEEK[], so each fetch of an unseen message
 * sets the flag itself: one change per message, which on a Maildir server
 * means a file rename and an index update per message (about 5 ms each on
 * Dovecot, eight times the fetch). Marking a set first makes it one
 * change, and the fetches change nothing. */
gboolean canary_imap_mark_seen(struct canary_imap *imap, const guint32 *uids, guint n,
			       GError **error);

/* Adds FLAG (a system flag such as "\\Seen", or a keyword) to messages
 * UIDS (N of them) of the URL's mailbox, in sets of at most 100. */
gboolean canary_imap_mark(struct canary_imap *imap, const guint32 *uids, guint n,
			  const char *flag, GError **error);

/* Moves messages UIDS (N of them) from the URL's mailbox to FOLDER: UID MOVE
 * where the server has MOVE, else UID COPY + \Deleted + UID EXPUNGE. With
 * neither MOVE nor UIDPLUS a plain EXPUNGE is sent only while every
 * \Deleted message of the mailbox is one of UIDS (else they stay marked, to
 * be copied again next pass: never lost). At most 100 UIDs per command. */
gboolean canary_imap_move(struct canary_imap *imap, const guint32 *uids, guint n,
			  const char *folder, GError **error);

/* Takes messages UIDS (N of them) out of the URL's mailbox once their
 * cases are committed: with FOLDER NULL removes them (canary_imap_remove()),
 * else adds KEYWORD (unless NULL; where the server refuses keywords they
 * move unmarked, with a warning) and moves them to FOLDER. */
gboolean canary_imap_put_away(struct canary_imap *imap, const guint32 *uids, guint n,
			      const char *folder, const char *keyword, GError **error);

/* Does the server offer capability NAME (upper case, "UIDPLUS")? */
gboolean canary_imap_has_capability(struct canary_imap *imap, const char *name,
				    gboolean *has_r, GError **error);

/* Removes messages UIDS (N of them) from the URL's mailbox for good:
 * \Deleted, then UID EXPUNGE of exactly those (RFC 4315), at most 100 per
 * command. A server without UIDPLUS is refused (CANARY_IMAP_ERROR_REFUSED)
 * rather than sent a plain EXPUNGE, which would also remove messages
 * someone else marked \Deleted before they were filed. */
gboolean canary_imap_remove(struct canary_imap *imap, const guint32 *uids, guint n,
			    GError **error);

/* Removes from FOLDER the messages whose INTERNALDATE is before BEFORE
 * (Unix UTC; G_MAXINT64: all of them), and with KEYWORD only those that
 * carry it (NULL: any). FOLDER must be canary's alone: a message someone
 * else put there is removed alike, and where the server has no UIDPLUS a
 * plain EXPUNGE also takes what others marked \Deleted in it. Messages of
 * unknown date are kept. *REMOVED_R is the number removed. */
gboolean canary_imap_sweep(struct canary_imap *imap, const char *folder, gint64 before,
			   const char *keyword, guint *removed_r, GError **error);

/* --- Response parsing, exposed for tests and fuzzing ------------------- */

/* Parses the untagged lines of a STATUS answer. */
gboolean canary_imap_parse_status(const char *response, gsize len,
				  struct canary_imap_status *status_r, GError **error);

/* Parses "* ESEARCH ... UID ALL 1:3,7" or "* SEARCH 1 2 3" lines into UIDs
 * (appended to UIDS, a GArray of guint32), refusing absurd ranges. */
gboolean canary_imap_parse_search(const char *response, gsize len, GArray *uids, GError **error);

/* Parses "* N FETCH (UID u RFC822.SIZE s INTERNALDATE "...")" lines into
 * MESSAGES (GArray of struct canary_imap_message). */
gboolean canary_imap_parse_fetch_sizes(const char *response, gsize len, GArray *messages,
				       GError **error);

/* Parses "* CAPABILITY ..." into a set of upper-case capability names. */
GHashTable *canary_imap_parse_capabilities(const char *response, gsize len);

/* Checks the answer to a fetch of one UID as libcurl hands it over: its
 * response lines, then the literal's bytes, then the lines after it. */
struct canary_imap_fetch_check {
	guint32 uid;       /* the UID asked for */
	guint64 limit;     /* most bytes of literal accepted */
	gboolean literal;  /* the FETCH line announcing the literal was seen */
	guint64 announced; /* the literal's size, "{N}" */
	guint64 received;  /* literal bytes so far */
	char *problem;     /* why this is not the message asked for, or NULL */
};

void canary_imap_fetch_check_init(struct canary_imap_fetch_check *check, guint32 uid,
				  guint64 limit);
void canary_imap_fetch_check_clear(struct canary_imap_fetch_check *check);

/* Takes one response line (LEN bytes, its line end optional). FALSE when
 * the answer must be abandoned (check->problem says why). */
gboolean canary_imap_fetch_check_line(struct canary_imap_fetch_check *check, const char *line,
				      gsize len);

/* Takes LEN bytes of the literal. FALSE when they go past its size or the
 * limit. */
gboolean canary_imap_fetch_check_data(struct canary_imap_fetch_check *check, gsize len);

/* At the end of a fetch libcurl reported done: FALSE with ERROR
 * (CANARY_IMAP_ERROR_MESSAGE) unless exactly one whole literal for the UID
 * arrived. */
gboolean canary_imap_fetch_check_finish(const struct canary_imap_fetch_check *check,
					GError **error);

/* What one response line says to the operator. */
enum canary_imap_said {
	CANARY_IMAP_SAID_NOTHING,
	CANARY_IMAP_SAID_NOTICE,  /* untagged NO or BAD, or an [ALERT]: logged */
	CANARY_IMAP_SAID_REFUSAL, /* our command's tagged NO or BAD: quoted in its error */
};

/* Classifies LINE (LEN bytes, its line end optional). Unless it says
 * nothing, *TEXT_R is set to the words after the tag ("NO [TRYCREATE] ..."):
 * printable ASCII ('?' for anything else), at most 200 bytes; free it with
 * g_free(). */
enum canary_imap_said canary_imap_parse_said(const char *line, gsize len, char **text_r);

#endif
