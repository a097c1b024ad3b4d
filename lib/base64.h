/* base64.h: the size base64 content decodes to, counted without decoding.
 *
 * The parse keeps an attachment as its encoded span of the raw message and
 * only needs the size it decodes to (mail.c); GMime would decode it whole
 * to count. */
#ifndef CANARY_BASE64_H
#define CANARY_BASE64_H

#include <glib.h>

/* Sets *SIZE_R to the number of bytes GMime's base64 decoder makes of
 * DATA[0..LEN) and returns TRUE, when DATA is plain base64: any bytes
 * outside the alphabet but '=' (line breaks, spaces) are skipped, as GMime
 * skips them, and the only '=' are one or two after the last character of
 * the alphabet, completing its last quartet. FALSE (and *SIZE_R unset) for
 * anything else, such as a last quartet left short or an '=' inside the
 * data, whose decoded size only the decoder itself can tell. */
gboolean canary_base64_decoded_size(const guint8 *data, gsize len, gsize *size_r);

#endif
