/* imapscript.h: a misbehaving IMAP server for tests. It stands on 127.0.0.1
 * (IMAPS, with a certificate of its own) in front of a test Dovecot and
 * relays every command to it, except the fetches of the UIDs it has a rule
 * for: those it answers itself, in a way no real server would (a literal
 * far larger than announced, another UID, an endless line, a literal cut
 * short). A fetch of many messages in one command that holds such a UID
 * is refused (tagged NO), so that the client fetches that one alone and
 * meets the rule there. Everything else stays the real Dovecot's
 * behaviour. */
#ifndef CANARY_TEST_IMAPSCRIPT_H
#define CANARY_TEST_IMAPSCRIPT_H

#include <glib.h>

#include "dovecot.h"

enum tu_imapscript_act {
	TU_IMAPSCRIPT_OVERSIZED,     /* "{BYTES}" and BYTES bytes, whatever was announced */
	TU_IMAPSCRIPT_WRONG_UID,     /* a whole FETCH answer for UID OTHER_UID instead */
	TU_IMAPSCRIPT_ENDLESS_LINE,  /* BYTES bytes without a line end, then silence */
	TU_IMAPSCRIPT_CUT_LITERAL,   /* "{BYTES}", half of them, then the connection drops */
	TU_IMAPSCRIPT_SHORT_LITERAL, /* "{BYTES}", half of them, ")", the tagged OK, then
					silence */
};

/* Answer a fetch (whole or header only) of UID so. */
struct tu_imapscript_rule {
	guint32 uid;
	enum tu_imapscript_act act;
	guint64 bytes;
	guint32 other_uid;
};

struct tu_imapscript;

/* Starts the server in front of DOVECOT (which must outlive it) with RULES
 * (N of them, copied). Fails the test if it cannot. */
struct tu_imapscript *tu_imapscript_start(struct tu_dovecot *dovecot,
					  const struct tu_imapscript_rule *rules, guint n);

/* Stops it (closing every connection) and removes its files. */
void tu_imapscript_free(struct tu_imapscript *s);

/* "imaps://127.0.0.1:PORT/INBOX". */
char *tu_imapscript_url(const struct tu_imapscript *s);

/* Its certificate (CN localhost, SAN 127.0.0.1): the CA file to trust. */
const char *tu_imapscript_ca_file(const struct tu_imapscript *s);

/* How often a rule was played, and the bytes of scripted answers written
 * (accepted by the client's socket) so far, over all connections. */
guint tu_imapscript_played(struct tu_imapscript *s);
guint64 tu_imapscript_bytes_sent(struct tu_imapscript *s);

/* Connections accepted so far. */
guint tu_imapscript_connections(struct tu_imapscript *s);

#endif
