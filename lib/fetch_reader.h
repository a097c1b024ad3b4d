/* fetch_reader.h: reads the server's answer to one command of ours on a
 * connection canary drives itself (see canary_imap_stream_open()): above
 * all "TAG UID FETCH set (UID BODY.PEEK[])", which brings many messages
 * in one answer. Each message's literal is received straight into a
 * buffer of its own size, never copied through a line buffer, and handed
 * out whole with its UID as soon as its FETCH line ends.
 *
 * No I/O: the caller receives into canary_fetch_reader_space(), so the
 * parser is tested and fuzzed alone. Anything that is not a plain answer
 * stops the reading (CANARY_FETCH_FAILED): a line over 64 KiB, a literal
 * over the limit or where no message belongs, a message without its UID,
 * a continuation request, another command's tag, BYE. The caller then
 * drops the connection and fetches what is left one message at a time,
 * where each fault is pinned on its message. RFC 9051 section 7. */
#ifndef CANARY_FETCH_READER_H
#define CANARY_FETCH_READER_H

#include <glib.h>

/* Longest response line accepted, literals apart. */
#define CANARY_FETCH_READER_MAX_LINE (64 * 1024)

struct canary_fetch_reader;

/* Reads the answer to the command tagged TAG (copied), accepting message
 * literals of at most MAX_LITERAL bytes. */
struct canary_fetch_reader *canary_fetch_reader_new(const char *tag, guint64 max_literal);

/* Frees R, wiping whatever part of a message it holds. NULL is fine. */
void canary_fetch_reader_free(struct canary_fetch_reader *r);
typedef struct canary_fetch_reader canary_fetch_reader;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(canary_fetch_reader, canary_fetch_reader_free)

/* Where the next received bytes go: at most *LEN_R (> 0) of them at the
 * returned pointer, valid until the next call on R. */
guint8 *canary_fetch_reader_space(struct canary_fetch_reader *r, gsize *len_r);

/* LEN bytes were received at the space returned last. */
void canary_fetch_reader_filled(struct canary_fetch_reader *r, gsize len);

enum canary_fetch_step {
	CANARY_FETCH_MORE,    /* everything received is read: receive more */
	CANARY_FETCH_MESSAGE, /* one message: *UID_R, and *MESSAGE_R (wiped when freed) */
	CANARY_FETCH_DONE,    /* the tagged OK: the answer is complete */
	CANARY_FETCH_FAILED,  /* not a plain answer, or the tagged NO/BAD: *ERROR says
				 (CANARY_IMAP_ERROR_PROTOCOL, or _REFUSED with the
				 server's words); every later call fails alike */
};

/* Reads what was received up to the next step. */
enum canary_fetch_step canary_fetch_reader_next(struct canary_fetch_reader *r, guint32 *uid_r,
						GBytes **message_r, GError **error);

/* The UIDVALIDITY that an "* OK [UIDVALIDITY n]" line of the answer gave
 * (the answer to SELECT or EXAMINE), or 0. */
guint32 canary_fetch_reader_uidvalidity(const struct canary_fetch_reader *r);

#endif
