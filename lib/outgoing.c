/* outgoing.c: composes the mail canary sends with GMime, as a mail client
 * would, and nothing that names canary, GMime or the host. */
#include "outgoing.h"

#include <gmime/gmime.h>
#include <sodium.h>
#include <string.h>

#include "config.h"
#include "values.h"
#include "wipe.h"

// clang-format off
G_DEFINE_QUARK(canary-outgoing-error-quark, canary_outgoing_error)
// clang-format on

/* TRUE for a Message-ID canary will write between angle brackets: printable
 * ASCII without white space or brackets, not empty, not huge. */
static gboolean valid_message_id(const char *id)
{
	gsize len = strlen(id);
	if (len == 0 || len > 998 - 16)
		return FALSE;
	for (const char *c = id; *c != '\0'; c++)
		if ((guchar)*c <= ' ' || (guchar)*c >= 0x7f || *c == '<' || *c == '>')
			return FALSE;
	return TRUE;
}

/* A new random Message-ID under the domain of FROM (an address). */
static char *new_message_id(const char *from)
{
	guint8 random[16];
	randombytes_buf(random, sizeof random);
	char hex[sizeof random * 2 + 1];
	sodium_bin2hex(hex, sizeof hex, random, sizeof random);
	return g_strdup_printf("%s@%s", hex, strrchr(from, '@') + 1);
}

static gboolean invalid(GError **error, const char *what)
{
	g_set_error(error, CANARY_OUTGOING_ERROR, CANARY_OUTGOING_ERROR_INVALID, "%s", what);
	return FALSE;
}

/* Checks the addresses and Message-IDs of M; errors never echo them. */
static gboolean check(const struct canary_outgoing *m, GError **error)
{
	if (m->from == NULL || !canary_value_valid_address(m->from))
		return invalid(error, "the sending address is not of the form local@domain");
	if (m->to == NULL || m->to[0] == NULL)
		return invalid(error, "a message needs a recipient");
	for (gsize i = 0; m->to[i] != NULL; i++)
		if (!canary_value_valid_address(m->to[i]))
			return invalid(error, "a recipient is not an address of the form "
					      "local@domain");
	if (m->in_reply_to != NULL && !valid_message_id(m->in_reply_to))
		return invalid(error, "In-Reply-To is not a Message-ID");
	for (gsize i = 0; m->references != NULL && m->references[i] != NULL; i++)
		if (!valid_message_id(m->references[i]))
			return invalid(error,
				       "References holds something that is not a Message-ID");
	if (m->text == NULL || !g_utf8_validate(m->text, -1, NULL) ||
	    (m->subject != NULL && !g_utf8_validate(m->subject, -1, NULL)))
		return invalid(error, "the subject or text is not UTF-8");
	return TRUE;
}

/* "<a> <b> ..." of IDS. New string. */
static char *references_value(const char *const *ids)
{
	GString *value = g_string_new(NULL);
	for (gsize i = 0; ids[i] != NULL; i++)
		g_string_append_printf(value, "%s<%s>", i > 0 ? " " : "", ids[i]);
	return g_string_free(value, FALSE);
}

/* The text part: UTF-8 (or ASCII) text/plain, quoted-printable where it
 * is not 7-bit, as mail clients send it. */
static GMimeTextPart *text_part(const char *text)
{
	GMimeTextPart *part = g_mime_text_part_new_with_subtype("plain");
	GMimeStream *stream = g_mime_stream_mem_new_with_buffer(text, strlen(text));
	GMimeDataWrapper *content =
		g_mime_data_wrapper_new_with_stream(stream, GMIME_CONTENT_ENCODING_DEFAULT);
	g_object_unref(stream);
	GMimePart *p = GMIME_PART(part);
	g_mime_part_set_content(p, content);
	g_object_unref(content);
	/* UTF-8 always (GMime would pick the smallest charset that fits). */
	g_mime_object_set_content_type_parameter(GMIME_OBJECT(part), "charset", "utf-8");
	g_mime_part_set_content_encoding(
		p, g_mime_part_get_best_content_encoding(p, GMIME_ENCODING_CONSTRAINT_7BIT));
	return part;
}

/* Serialises MESSAGE with CRLF line ends into new bytes wiped when freed. */
static GBytes *serialise(GMimeMessage *message)
{
	GMimeFormatOptions *options = g_mime_format_options_new();
	g_mime_format_options_set_newline_format(options, GMIME_NEWLINE_FORMAT_DOS);
	GByteArray *bytes = g_byte_array_new();
	GMimeStream *stream = g_mime_stream_mem_new_with_byte_array(bytes);
	g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(stream), FALSE);
	g_mime_object_write_to_stream(GMIME_OBJECT(message), options, stream);
	g_object_unref(stream);
	g_mime_format_options_free(options);
	return canary_wipe_bytes_take(bytes);
}

GBytes *canary_outgoing_compose(const struct canary_outgoing *m, char **message_id_r,
				GError **error)
{
	if (message_id_r != NULL)
		*message_id_r = NULL;
	if (!check(m, error))
		return NULL;
	GMimeMessage *message = g_mime_message_new(TRUE);
	GMimeObject *object = GMIME_OBJECT(message);
	g_mime_message_add_mailbox(message, GMIME_ADDRESS_TYPE_FROM, NULL, m->from);
	for (gsize i = 0; m->to[i] != NULL; i++)
		g_mime_message_add_mailbox(message, GMIME_ADDRESS_TYPE_TO, NULL, m->to[i]);
	/* Encoded words wherever the subject is not plain ASCII. */
	g_mime_message_set_subject(message, m->subject != NULL ? m->subject : "", "utf-8");
	GDateTime *date =
		m->date > 0 ? g_date_time_new_from_unix_utc(m->date) : g_date_time_new_now_utc();
	g_mime_message_set_date(message, date);
	g_date_time_unref(date);
	char *id = new_message_id(m->from);
	g_mime_message_set_message_id(message, id);
	if (m->in_reply_to != NULL) {
		g_autofree char *value = g_strdup_printf("<%s>", m->in_reply_to);
		g_mime_object_set_header(object, "In-Reply-To", value, NULL);
	}
	if (m->references != NULL && m->references[0] != NULL) {
		g_autofree char *value = references_value(m->references);
		g_mime_object_set_header(object, "References", value, NULL);
	}
	if (m->kind == CANARY_OUTGOING_AUTO_REPLIED)
		g_mime_object_set_header(object, "Auto-Submitted", "auto-replied", NULL);
	else if (m->kind == CANARY_OUTGOING_AUTO_GENERATED)
		g_mime_object_set_header(object, "Auto-Submitted", "auto-generated", NULL);
	GMimeTextPart *part = text_part(m->text);
	g_mime_message_set_mime_part(message, GMIME_OBJECT(part));
	g_object_unref(part);
	GBytes *bytes = serialise(message);
	g_object_unref(message);
	if (message_id_r != NULL)
		*message_id_r = id;
	else
		g_free(id);
	return bytes;
}
