/* smtp.h: sending one message over SMTP with libcurl: TLS always (smtps://,
 * or smtp:// with STARTTLS required), certificate checks always on. The
 * only user of libcurl's SMTP. */
#ifndef CANARY_SMTP_H
#define CANARY_SMTP_H

#include <glib.h>

#include "config.h"

#define CANARY_SMTP_ERROR (canary_smtp_error_quark())
GQuark canary_smtp_error_quark(void);

enum canary_smtp_error {
	CANARY_SMTP_ERROR_SETUP,     /* no [smtp] group, or its password file is unusable */
	CANARY_SMTP_ERROR_CONNECT,   /* temporary: cannot reach the server, TLS, timeout */
	CANARY_SMTP_ERROR_AUTH,      /* the server refused the login */
	CANARY_SMTP_ERROR_REFUSED,   /* the server refused the sender or a recipient */
	CANARY_SMTP_ERROR_FAILED,    /* anything else */
};

/* Sends MESSAGE (RFC 5322 bytes, CRLF or LF line ends) from CONFIG->smtp.from
 * to each of the N_RCPT addresses in RCPT, in one SMTP transaction. Errors
 * name the server and what failed, never a recipient: they reach the log. */
gboolean canary_smtp_send(const struct canary_config *config, const char *const *rcpt,
			  guint n_rcpt, GBytes *message, GError **error);

#endif
