/* fuzz_identity.c: libFuzzer target for the identity module: the bytes as a
 * sealed identity record (canary_identity_deserialize), and as a message whose
 * identity is extracted, scrubbed out and serialised. Seed corpus: tests/data/mail. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "identity.h"
#include "mail.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A record either reads back to the very same bytes or fails cleanly. */
static void fuzz_record(GBytes *bytes)
{
	GError *error = NULL;
	struct canary_identity *id = canary_identity_deserialize(bytes, &error);
	if ((id == NULL) == (error == NULL))
		abort();
	if (id == NULL) {
		if (error->domain != CANARY_IDENTITY_ERROR ||
		    error->code != CANARY_IDENTITY_ERROR_FORMAT)
			abort();
		g_error_free(error);
		return;
	}
	GBytes *again = canary_identity_serialize(id);
	if (!g_bytes_equal(again, bytes))
		abort(); /* normal form is unique */
	g_bytes_unref(again);
	canary_identity_free(id);
}

static void check_scrubbed(const struct canary_identity *id, const char *text)
{
	char *out = canary_identity_scrub(id, text, "P-FUZZ-0000");
	if (out == NULL || !g_utf8_validate(out, -1, NULL))
		abort();
	g_free(out);
}

/* Extraction, scrubbing and the record must hold whatever the message. */
static void fuzz_message(GBytes *bytes)
{
	struct canary_mail *mail = canary_mail_parse(bytes, NULL);
	struct canary_identity *id = canary_identity_extract(mail);
	if (id == NULL)
		abort();
	check_scrubbed(id, mail->text);
	check_scrubbed(id, mail->subject);
	GBytes *record = canary_identity_serialize(id);
	struct canary_identity *back = canary_identity_deserialize(record, NULL);
	if (back == NULL || back->addresses->len != id->addresses->len ||
	    back->ips->len != id->ips->len || back->phones->len != id->phones->len ||
	    back->emails->len != id->emails->len ||
	    (back->primary == NULL) != (id->primary == NULL))
		abort();
	canary_identity_free(back);
	g_bytes_unref(record);
	canary_identity_free(id);
	canary_mail_free(mail);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static gboolean initialized;
	if (!initialized) {
		canary_mail_init();
		initialized = TRUE;
	}
	GBytes *bytes = g_bytes_new(data, size);
	fuzz_record(bytes);
	fuzz_message(bytes);
	g_bytes_unref(bytes);
	return 0;
}
