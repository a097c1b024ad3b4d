/* fuzz_identity.c: libFuzzer target for the identity module: the bytes as a
 * sealed identity record (canary_identity_deserialize), as a message whose
 * identity is extracted, scrubbed out and serialised, and as many needles
 * (the lines before the first blank line) scrubbed out of the rest.
 * Seed corpus: tests/data/mail, tests/data/identity. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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
	/* Normal form is unique; a version 1 record comes back as version 2. */
	if (((const uint8_t *)g_bytes_get_data(bytes, NULL))[0] != 1 &&
	    !g_bytes_equal(again, bytes))
		abort();
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

/* Adds LINE as the submitter's: a phone number if it starts with '+', else a
 * mailbox (the part after the last ' ' is the address when it holds '@'). */
static void add_needle_line(struct canary_identity *id, const char *line)
{
	if (line[0] == '+') {
		g_ptr_array_add(id->phones, g_strdup(line));
		return;
	}
	struct canary_address *a = g_new0(struct canary_address, 1);
	const char *space = strrchr(line, ' ');
	if (space != NULL && strchr(space, '@') != NULL) {
		a->name = g_strndup(line, (gsize)(space - line));
		a->address = g_strdup(space + 1);
	} else {
		a->name = g_strdup(line);
	}
	g_ptr_array_add(id->addresses, a);
}

/* Many needles at once: the scrubber's trie and window against any text. */
static void fuzz_needles(const uint8_t *data, size_t size)
{
	if (size == 0)
		return;
	char *input = g_utf8_make_valid((const char *)data, (gssize)size);
	char *split = strstr(input, "\n\n");
	const char *text = split != NULL ? split + 2 : "";
	if (split != NULL)
		*split = '\0';
	struct canary_identity *id = canary_identity_extract(NULL);
	char **lines = g_strsplit(input, "\n", 2000);
	for (char **l = lines; *l != NULL; l++)
		if (**l != '\0')
			add_needle_line(id, *l);
	g_strfreev(lines);
	check_scrubbed(id, text);
	canary_identity_free(id);
	g_free(input);
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
	fuzz_needles(data, size);
	return 0;
}
