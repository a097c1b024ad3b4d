/* outgoing.c: see outgoing.h. (Seam for issue 15: composing is being
 * written on its own branch.) */
#include "outgoing.h"

G_DEFINE_QUARK(canary-outgoing-error-quark, canary_outgoing_error)

GBytes *canary_outgoing_compose(const struct canary_outgoing *m, char **message_id_r,
				GError **error)
{
	(void)m;
	if (message_id_r != NULL)
		*message_id_r = NULL;
	g_set_error(error, CANARY_OUTGOING_ERROR, CANARY_OUTGOING_ERROR_INVALID,
		    "composing mail is not built yet");
	return NULL;
}
