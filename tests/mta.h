/* mta.h: a private Postfix on 127.0.0.1 for one test, in front of the test
 * Dovecot (dovecot.h): submission with STARTTLS and with implicit TLS, login
 * checked by that Dovecot's auth service, delivery into Maildirs: the
 * confidential mailbox (reprisals@example.org, the Dovecot user's own), the
 * submitter's (submitter@example.net) and an office mailbox that takes every
 * other address @example.org or @example.net. Its own config, queue and
 * ports; nothing shared with a system MTA. */
#ifndef CANARY_TEST_MTA_H
#define CANARY_TEST_MTA_H

#include <glib.h>

#include "dovecot.h"

/* An address the MTA refuses at RCPT TO. */
#define TU_MTA_REFUSED "refused@example.net"

struct tu_mta {
	char *dir;                /* config, queue, log and Maildirs; removed when freed */
	struct tu_dovecot *dovecot; /* borrowed */
	guint submission_port;    /* STARTTLS required, login required */
	guint smtps_port;         /* implicit TLS, login required */
	guint plain_port;         /* offers no STARTTLS: canary must refuse it */
	guint auth_port;          /* Dovecot's auth service for Postfix */
	const char *user, *password; /* the login: the Dovecot user's */
	const char *confidential;    /* "reprisals@example.org" */
	const char *submitter;       /* "submitter@example.net" */
	char *submitter_maildir;     /* its Maildir (new/, cur/) */
	char *office_maildir;        /* every other address's */
	char *log;                   /* Postfix's log file */
	gboolean running;
};

/* Starts Postfix for D (restarting D with an auth listener for it). Fails
 * the test if it does not come up. */
struct tu_mta *tu_mta_start(struct tu_dovecot *d);

/* Stops Postfix (its queue stays) and starts it again. */
void tu_mta_stop(struct tu_mta *m);
void tu_mta_restart(struct tu_mta *m);

/* Stops it if running and removes its directory. */
void tu_mta_free(struct tu_mta *m);

/* "smtps://127.0.0.1:PORT" (IMPLICIT_TLS) or "smtp://127.0.0.1:PORT". New. */
char *tu_mta_url(const struct tu_mta *m, gboolean implicit_tls);

/* An [smtp] group for canary.conf sending from FROM through the STARTTLS
 * port with the test login (a password file in M's directory) and the
 * test CA. New string. */
char *tu_mta_canary_config(const struct tu_mta *m, const char *from);

/* The messages in the Maildir MAILDIR (new/ and cur/), as strings, oldest
 * name first; waits up to SECONDS for at least COUNT of them (fails the
 * test if they do not come). New array of new strings. */
GPtrArray *tu_mta_wait_messages(const char *maildir, guint count, guint seconds);

/* How many messages the Maildir MAILDIR holds now. */
guint tu_mta_count(const char *maildir);

#endif
