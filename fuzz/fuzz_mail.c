/* fuzz_mail.c: libFuzzer target for canary_mail_parse() with the default
 * limits; seed corpus: tests/data/mail. Every parse must come back whole,
 * with valid UTF-8 text, whatever the bytes; and an attachment's span of
 * the raw message must decode to exactly its data (the store keeps the
 * span only, and officers get what it decodes to). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "mail.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static gboolean initialized;
	if (!initialized) {
		canary_mail_init();
		initialized = TRUE;
	}
	struct canary_limits limits;
	canary_limits_init_default(&limits);
	GBytes *raw = g_bytes_new_static(data, size);
	struct canary_mail *mail = canary_mail_parse(raw, &limits);
	if (mail == NULL || mail->text == NULL || !g_utf8_validate(mail->text, -1, NULL))
		abort();
	for (guint i = 0; i < mail->attachments->len; i++) {
		struct canary_attachment *a = mail->attachments->pdata[i];
		if (a->content_type == NULL || (a->data == NULL && a->encoded == NULL) ||
		    (a->filename != NULL && !g_utf8_validate(a->filename, -1, NULL)))
			abort();
		/* The size the parse counted is what the content decodes to. */
		if (g_bytes_get_size(canary_attachment_data(a)) != a->size)
			abort();
		if (a->encoded != NULL) {
			gsize len = 0;
			const guint8 *span = g_bytes_get_data(a->encoded, &len);
			if (span != data + a->encoded_offset || a->encoded_offset + len > size)
				abort();
			GBytes *decoded = canary_mail_decode(a->encoding, span, len);
			if (!g_bytes_equal(decoded, canary_attachment_data(a)))
				abort();
			g_bytes_unref(decoded);
		}
	}
	if (mail->subject != NULL && !g_utf8_validate(mail->subject, -1, NULL))
		abort();
	canary_mail_free(mail);
	g_bytes_unref(raw);
	return 0;
}
