/* smtp.c: see smtp.h. (Seam for issue 15: the sending itself is being
 * written on its own branch.) */
#include "smtp.h"

G_DEFINE_QUARK(canary-smtp-error-quark, canary_smtp_error)

gboolean canary_smtp_send(const struct canary_config *config, const char *const *rcpt,
			  guint n_rcpt, GBytes *message, GError **error)
{
	(void)config, (void)rcpt, (void)n_rcpt, (void)message;
	g_set_error(error, CANARY_SMTP_ERROR, CANARY_SMTP_ERROR_SETUP,
		    "sending mail is not built yet");
	return FALSE;
}
