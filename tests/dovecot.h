/* dovecot.h: a private Dovecot on 127.0.0.1 for one test: its own config,
 * certificate, user and Maildir in a temporary directory, free ports, no
 * relation to any system Dovecot. See ../shared/NOTES.md for the facts it
 * relies on. */
#ifndef CANARY_TEST_DOVECOT_H
#define CANARY_TEST_DOVECOT_H

#include <glib.h>
#include <sys/types.h>

struct tu_dovecot {
	char *dir;            /* everything lives here; removed by tu_dovecot_free() */
	char *conf;           /* dovecot.conf */
	char *ca_file;        /* the server's self-signed certificate (CN localhost,
				 SAN DNS:localhost and IP:127.0.0.1) */
	char *maildir;        /* the user's ~/Maildir */
	const char *user;     /* "reprisals" */
	const char *password; /* "imap test password" */
	guint imap_port;      /* plain IMAP (STARTTLS) */
	guint imaps_port;     /* implicit TLS */
	uid_t uid;            /* owner of the mail */
	gid_t gid;
	GPid pid;         /* 0 while stopped */
	char *extra_conf; /* appended to the config at each start */
};

/* A port on 127.0.0.1 nobody listens on now (the kernel's choice), and
 * whether something accepts connections on PORT. */
guint tu_free_port(void);
gboolean tu_port_open(guint port);

/* A socket listening on 127.0.0.1 at a port the kernel chose (*PORT_R).
 * Fails the test if it cannot. */
int tu_listen_loopback(guint *port_r);

/* Writes the config for a new server (EXTRA_CONF, may be NULL, is appended:
 * for example "imap_capability = IMAP4rev1 UIDPLUS" to hide MOVE) and starts
 * it. Fails the test if Dovecot does not come up. */
struct tu_dovecot *tu_dovecot_start(const char *extra_conf);

/* Stops (SIGTERM, waits) and starts again on the same ports and Maildir. */
void tu_dovecot_stop(struct tu_dovecot *d);
void tu_dovecot_restart(struct tu_dovecot *d);

/* Kills every Dovecot process at once (SIGKILL), as a crash or power cut
 * would; tu_dovecot_restart() starts it again. */
void tu_dovecot_kill(struct tu_dovecot *d);

/* Stops the server if running and removes its directory. */
void tu_dovecot_free(struct tu_dovecot *d);

/* "imaps://127.0.0.1:PORT/INBOX" (IMAPS) or "imap://..." (STARTTLS). */
char *tu_dovecot_url(const struct tu_dovecot *d, gboolean implicit_tls);

/* An [imap] group for canary.conf polling D's INBOX over IMAPS as its user,
 * trusting its CA, connect_timeout 5s, the password read from
 * DIR/imap-password, which this writes (PASSWORD; NULL: D's own). More
 * [imap] keys may follow it. New string. */
char *tu_dovecot_imap_group(const struct tu_dovecot *d, const char *dir, const char *password);

/* Drops MESSAGE into FOLDER ("INBOX" or another) as a new message, as a
 * delivery agent would. */
void tu_dovecot_deliver(struct tu_dovecot *d, const char *folder, GBytes *message);
void tu_dovecot_deliver_text(struct tu_dovecot *d, const char *folder, const char *text);

/* Messages now in FOLDER (0 if it does not exist). */
guint tu_dovecot_count(const struct tu_dovecot *d, const char *folder);

/* Messages of FOLDER flagged \Seen. */
guint tu_dovecot_count_seen(const struct tu_dovecot *d, const char *folder);

/* Empties the inbox and forgets its UIDs: the server gives it a new
 * UIDVALIDITY, as when a mailbox is restored or recreated. Restarts. */
void tu_dovecot_reset_inbox(struct tu_dovecot *d);

/* The "sha256//BASE64" pin of the server's public key. */
char *tu_dovecot_pin(const struct tu_dovecot *d);

/* Writes a second, unrelated self-signed certificate into DIR and returns
 * its path (a CA file that does not vouch for the server). */
char *tu_dovecot_other_cert(const char *dir);

#endif
