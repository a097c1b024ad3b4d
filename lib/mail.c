/* mail.c: raw message bytes -> struct canary_mail, with GMime 3 for MIME and
 * libxml2's HTML parser for HTML parts. RFC 5322, RFC 2045-2049, RFC 2047,
 * RFC 2231; PGP/MIME (RFC 3156) and S/MIME (RFC 8551) parts are kept whole. */
#include "mail.h"
#include "base64.h"
#include "tnef.h"
#include "wipe.h"

#include <errno.h>
#include <gmime/gmime.h>
#include <iconv.h>
#include <libxml/HTMLparser.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>
#include <limits.h>
#include <string.h>

/* What a too-large message is read for: its header block, at most this much. */
#define HEADER_BLOCK_CAP (1024 * 1024)
/* Decoded text and attachments may grow to this many times max_message_size
 * (each level of forwarding copies the forwarded message once more). */
#define DECODED_FACTOR 4
/* Groups inside groups are not RFC 5322; follow a few levels at most. */
#define GROUP_DEPTH_MAX 4
#define REPLACEMENT_CHAR "\xEF\xBF\xBD"

static const char *const quarantine_names[] = {
	[CANARY_QUARANTINE_NONE] = NULL,
	[CANARY_QUARANTINE_TOO_LARGE] = "too-large",
	[CANARY_QUARANTINE_TOO_DEEP] = "too-deep",
	[CANARY_QUARANTINE_TOO_MANY_PARTS] = "too-many-parts",
	[CANARY_QUARANTINE_HEADER_TOO_LONG] = "header-too-long",
	[CANARY_QUARANTINE_UNPARSEABLE] = "unparseable",
	[CANARY_QUARANTINE_TOO_SLOW] = "too-slow",
	[CANARY_QUARANTINE_POISON] = "poison",
};

/* Returns the static name of REASON, NULL for NONE or an unknown value. */
const char *canary_quarantine_name(enum canary_quarantine reason)
{
	if ((guint)reason >= G_N_ELEMENTS(quarantine_names))
		return NULL;
	return quarantine_names[reason];
}

/* Fills LIMITS with the documented defaults. */
void canary_limits_init_default(struct canary_limits *limits)
{
	limits->max_message_size = 50 * 1024 * 1024;
	limits->max_mime_depth = 32;
	limits->max_parts = 1000;
	limits->max_header_length = 64 * 1024;
}

/* Nested init/shutdown pairs are counted; only the outermost pair acts. */
static guint init_count;

/* Sets up GMime and libxml2 for this process. */
void canary_mail_init(void)
{
	if (init_count++ > 0)
		return;
	g_mime_init();
	xmlInitParser();
}

/* Releases what canary_mail_init() set up. WARNING: GMime 3.2 cannot be set
 * up again after this (g_mime_init() then prints criticals and leaks). */
void canary_mail_shutdown(void)
{
	if (init_count == 0 || --init_count > 0)
		return;
	g_mime_shutdown();
	xmlCleanupParser();
}

/* ---- wiping helpers ---- */

/* Wipes and frees the GString S. */
static void wipe_gstring(GString *s)
{
	if (s == NULL)
		return;
	canary_wipe(s->str, s->allocated_len);
	g_string_free(s, TRUE);
}

/* Returns a new valid UTF-8 copy of S (invalid sequences become U+FFFD), or
 * NULL when S is NULL. */
static char *utf8_dup(const char *s)
{
	if (s == NULL)
		return NULL;
	if (g_utf8_validate(s, -1, NULL))
		return g_strdup(s);
	return g_utf8_make_valid(s, -1);
}

/* Returns a new valid UTF-8 copy of S with surrounding white space removed,
 * or NULL when S is NULL or blank. */
static char *utf8_dup_trimmed(const char *s)
{
	char *copy = utf8_dup(s);
	if (copy == NULL)
		return NULL;
	g_strstrip(copy);
	if (*copy == '\0') {
		g_free(copy);
		return NULL;
	}
	return copy;
}

/* ---- the result struct ---- */

static void address_free(gpointer p)
{
	struct canary_address *a = p;
	canary_wipe_free(a->name);
	canary_wipe_free(a->address);
	g_free(a);
}

static void attachment_free(gpointer p)
{
	struct canary_attachment *a = p;
	canary_wipe_free(a->filename);
	canary_wipe_free(a->content_type);
	g_clear_pointer(&a->data, g_bytes_unref);
	g_clear_pointer(&a->encoded, g_bytes_unref);
	g_free(a);
}

/* Returns a new, empty struct holding a reference to RAW. */
static struct canary_mail *mail_new(GBytes *raw)
{
	struct canary_mail *mail = g_new0(struct canary_mail, 1);
	mail->raw = raw != NULL ? g_bytes_ref(raw) : g_bytes_new(NULL, 0);
	mail->from = g_ptr_array_new_with_free_func(address_free);
	mail->sender = g_ptr_array_new_with_free_func(address_free);
	mail->reply_to = g_ptr_array_new_with_free_func(address_free);
	mail->to = g_ptr_array_new_with_free_func(address_free);
	mail->cc = g_ptr_array_new_with_free_func(address_free);
	mail->delivered_to = g_ptr_array_new_with_free_func(address_free);
	mail->received = g_ptr_array_new_with_free_func(canary_wipe_free);
	mail->attachments = g_ptr_array_new_with_free_func(attachment_free);
	mail->in_reply_to = g_ptr_array_new_with_free_func(canary_wipe_free);
	mail->references = g_ptr_array_new_with_free_func(canary_wipe_free);
	mail->text = g_strdup("");
	mail->forwarded_text = g_array_new(FALSE, FALSE, sizeof(struct canary_text_range));
	return mail;
}

/* Wipes and frees MAIL; NULL is fine. */
void canary_mail_free(struct canary_mail *mail)
{
	if (mail == NULL)
		return;
	GPtrArray *arrays[] = {mail->from,	   mail->sender,     mail->reply_to,
			       mail->to,	   mail->cc,	     mail->delivered_to,
			       mail->received,	   mail->attachments, mail->in_reply_to,
			       mail->references};
	for (gsize i = 0; i < G_N_ELEMENTS(arrays); i++)
		if (arrays[i] != NULL)
			g_ptr_array_unref(arrays[i]);
	canary_wipe_free(mail->subject);
	canary_wipe_free(mail->message_id);
	canary_wipe_free(mail->text);
	g_clear_pointer(&mail->forwarded_text, g_array_unref);
	canary_wipe_free(mail->quarantine_detail);
	canary_wipe_free(mail->damage);
	g_clear_pointer(&mail->raw, g_bytes_unref);
	g_free(mail);
}

/* Records REASON with a detail of numbers only, unless a reason is already set. */
G_GNUC_PRINTF(3, 4)
static void quarantine(struct canary_mail *mail, enum canary_quarantine reason, const char *fmt, ...)
{
	if (mail->quarantine != CANARY_QUARANTINE_NONE)
		return;
	va_list ap;
	va_start(ap, fmt);
	mail->quarantine = reason;
	mail->quarantine_detail = g_strdup_vprintf(fmt, ap);
	va_end(ap);
}

/* Records that MAIL is damaged but readable, with a detail of numbers only;
 * the first damage found is kept. */
G_GNUC_PRINTF(2, 3)
static void note_damage(struct canary_mail *mail, const char *fmt, ...)
{
	if (mail->damage != NULL)
		return;
	va_list ap;
	va_start(ap, fmt);
	mail->damage = g_strdup_vprintf(fmt, ap);
	va_end(ap);
}

/* ---- headers ---- */

static char *rfc2047_decode(const char *raw);
static char *rfc2047_rewrap(const char *raw);

/* Appends every mailbox of LIST to OUT as struct canary_address, flattening groups. */
static void add_addresses(GPtrArray *out, InternetAddressList *list, guint level)
{
	if (list == NULL || level > GROUP_DEPTH_MAX)
		return;
	int n = internet_address_list_length(list);
	for (int i = 0; i < n; i++) {
		InternetAddress *ia = internet_address_list_get_address(list, i);
		if (INTERNET_ADDRESS_IS_GROUP(ia)) {
			InternetAddressGroup *group = INTERNET_ADDRESS_GROUP(ia);
			add_addresses(out, internet_address_group_get_members(group), level + 1);
		} else if (INTERNET_ADDRESS_IS_MAILBOX(ia)) {
			InternetAddressMailbox *mailbox = INTERNET_ADDRESS_MAILBOX(ia);
			struct canary_address *a = g_new0(struct canary_address, 1);
			a->name = utf8_dup_trimmed(internet_address_get_name(ia));
			a->address = utf8_dup_trimmed(internet_address_mailbox_get_addr(mailbox));
			g_ptr_array_add(out, a);
		}
	}
}

/* Appends the mailboxes of every header named NAME of OBJECT, top first, to OUT. */
static void add_header_addresses(GPtrArray *out, GMimeObject *object, const char *name,
				 GMimeParserOptions *options)
{
	GMimeHeaderList *headers = g_mime_object_get_header_list(object);
	int n = g_mime_header_list_get_count(headers);
	for (int i = 0; i < n; i++) {
		GMimeHeader *header = g_mime_header_list_get_header_at(headers, i);
		const char *value = g_mime_header_get_raw_value(header);
		if (value == NULL || g_ascii_strcasecmp(g_mime_header_get_name(header), name) != 0)
			continue;
		char *rewrapped = rfc2047_rewrap(value);
		InternetAddressList *list =
			internet_address_list_parse(options, rewrapped != NULL ? rewrapped : value);
		canary_wipe_free(rewrapped);
		add_addresses(out, list, 0);
		g_clear_object(&list);
	}
}

/* Returns the Unix time of the date after the last ';' of the Received value
 * VALUE, or 0 when there is none. */
static gint64 received_time(const char *value)
{
	const char *semicolon = value != NULL ? strrchr(value, ';') : NULL;
	if (semicolon == NULL)
		return 0;
	GDateTime *date = g_mime_utils_header_decode_date(semicolon + 1);
	if (date == NULL)
		return 0;
	gint64 t = g_date_time_to_unix(date);
	g_date_time_unref(date);
	return t;
}

/* Notes mailing-list mail and bounce reports: their Sender, Reply-To and
 * report text are not the submitter's (identity.c). */
static void mark_list_and_report(struct canary_mail *mail, GMimeMessage *message)
{
	GMimeObject *object = GMIME_OBJECT(message);
	const char *precedence = g_mime_object_get_header(object, "Precedence");
	g_autofree char *trimmed = precedence != NULL ? g_strstrip(g_strdup(precedence)) : NULL;
	mail->list_mail = g_mime_object_get_header(object, "List-Id") != NULL ||
			  g_mime_object_get_header(object, "List-Post") != NULL ||
			  (trimmed != NULL && (g_ascii_strcasecmp(trimmed, "list") == 0 ||
					       g_ascii_strcasecmp(trimmed, "bulk") == 0));
	GMimeObject *body = g_mime_message_get_mime_part(message);
	GMimeContentType *type = body != NULL ? g_mime_object_get_content_type(body) : NULL;
	mail->report = type != NULL && g_mime_content_type_is_type(type, "multipart", "report");
}

/* Appends to IDS the Message-IDs of OBJECT's first header NAME (GMime's
 * msg-id parser, which skips what is not one), at most
 * CANARY_MAIL_MAX_REFERENCES, each valid UTF-8 and without angle brackets. */
static void add_message_ids(GPtrArray *ids, GMimeObject *object, const char *name,
			    GMimeParserOptions *options)
{
	const char *value = g_mime_object_get_header(object, name);
	if (value == NULL)
		return;
	GMimeReferences *refs = g_mime_references_parse(options, value);
	if (refs == NULL)
		return;
	int n = g_mime_references_length(refs);
	for (int i = 0; i < n && ids->len < CANARY_MAIL_MAX_REFERENCES; i++) {
		char *id = utf8_dup_trimmed(g_mime_references_get_message_id(refs, i));
		if (id != NULL && *id != '\0')
			g_ptr_array_add(ids, id);
		else
			g_free(id);
	}
	g_mime_references_free(refs);
}

/* Notes what must never be answered automatically (RFC 3834 section 2):
 * auto-submitted mail and mail with a null sender. */
static void mark_automatic(struct canary_mail *mail, GMimeObject *object)
{
	const char *auto_submitted = g_mime_object_get_header(object, "Auto-Submitted");
	g_autofree char *as = auto_submitted != NULL ? g_strstrip(g_strdup(auto_submitted)) : NULL;
	/* "no" may carry comments or parameters after it. */
	mail->auto_submitted =
		as != NULL && !(g_ascii_strncasecmp(as, "no", 2) == 0 &&
				(as[2] == '\0' || as[2] == ';' || as[2] == ' ' || as[2] == '('));
	const char *return_path = g_mime_object_get_header(object, "Return-Path");
	g_autofree char *rp = return_path != NULL ? g_strdup(return_path) : NULL;
	if (rp != NULL) {
		g_strdelimit(rp, " \t\r\n", ' ');
		char *w = rp;
		for (char *r = rp; *r != '\0'; r++)
			if (*r != ' ')
				*w++ = *r;
		*w = '\0';
		mail->null_sender = strcmp(rp, "<>") == 0 || *rp == '\0';
	}
}

/* Returns the raw value of OBJECT's first header named NAME, or NULL. */
static const char *raw_header(GMimeObject *object, const char *name)
{
	GMimeHeaderList *headers = g_mime_object_get_header_list(object);
	int n = headers != NULL ? g_mime_header_list_get_count(headers) : 0;
	for (int i = 0; i < n; i++) {
		GMimeHeader *header = g_mime_header_list_get_header_at(headers, i);
		if (g_ascii_strcasecmp(g_mime_header_get_name(header), name) == 0)
			return g_mime_header_get_raw_value(header);
	}
	return NULL;
}

/* Fills MAIL's header fields from MESSAGE. */
static void read_headers(struct canary_mail *mail, GMimeMessage *message,
			 GMimeParserOptions *options)
{
	GMimeObject *object = GMIME_OBJECT(message);
	/* From the raw values: GMime's own decoding cuts runs of encoded words. */
	add_header_addresses(mail->from, object, "From", options);
	add_header_addresses(mail->sender, object, "Sender", options);
	add_header_addresses(mail->reply_to, object, "Reply-To", options);
	add_header_addresses(mail->to, object, "To", options);
	add_header_addresses(mail->cc, object, "Cc", options);
	add_header_addresses(mail->delivered_to, object, "Delivered-To", options);
	mail->subject = rfc2047_decode(raw_header(object, "Subject"));
	mail->message_id = utf8_dup_trimmed(g_mime_message_get_message_id(message));
	GDateTime *date = g_mime_message_get_date(message);
	mail->date = date != NULL ? g_date_time_to_unix(date) : 0;
	mark_list_and_report(mail, message);
	mark_automatic(mail, object);
	add_message_ids(mail->in_reply_to, object, "In-Reply-To", options);
	add_message_ids(mail->references, object, "References", options);

	GMimeHeaderList *headers = g_mime_object_get_header_list(object);
	int n = g_mime_header_list_get_count(headers);
	for (int i = 0; i < n; i++) {
		GMimeHeader *header = g_mime_header_list_get_header_at(headers, i);
		if (g_ascii_strcasecmp(g_mime_header_get_name(header), "Received") != 0)
			continue;
		char *value = utf8_dup_trimmed(g_mime_header_get_value(header));
		if (value == NULL)
			value = g_strdup("");
		if (mail->received->len == 0)
			mail->received_date = received_time(value);
		g_ptr_array_add(mail->received, value);
	}
}

/* ---- structure: depth, parts, header lengths ---- */

/* What the parser told us while it ran. */
struct parse_state {
	struct canary_mail *mail;
	gboolean nesting_overflow;
};

/* Counts each parser warning; notes when GMime gave up on nesting. */
static void on_parser_warning(gint64 offset, GMimeParserWarning code, const gchar *item,
			      gpointer user_data)
{
	struct parse_state *state = user_data;
	state->mail->warnings++;
	if (code == GMIME_CRIT_NESTING_OVERFLOW)
		state->nesting_overflow = TRUE;
}

/* Returns the unfolded length in bytes of the longest header field of OBJECT. */
static guint64 longest_header(GMimeObject *object)
{
	GMimeHeaderList *headers = g_mime_object_get_header_list(object);
	guint64 longest = 0;
	int n = headers != NULL ? g_mime_header_list_get_count(headers) : 0;
	for (int i = 0; i < n; i++) {
		GMimeHeader *header = g_mime_header_list_get_header_at(headers, i);
		const char *name = g_mime_header_get_name(header);
		const char *value = g_mime_header_get_raw_value(header);
		guint64 len = (name != NULL ? strlen(name) : 0) + 1;
		for (const char *p = value; p != NULL && *p != '\0'; p++)
			if (*p != '\r' && *p != '\n')
				len++;
		longest = MAX(longest, len);
	}
	return longest;
}

struct shape {
	guint parts;
	guint depth;
	guint64 longest_header;
};

struct pending {
	GMimeObject *object;
	guint depth;
};

/* Measures the tree under MESSAGE without recursion (the parser allows about
 * a thousand levels) and returns its parts, deepest level and longest header. */
static struct shape measure(GMimeMessage *message)
{
	struct shape shape = { 0 };
	shape.longest_header = longest_header(GMIME_OBJECT(message));
	GArray *stack = g_array_new(FALSE, FALSE, sizeof(struct pending));
	GMimeObject *body = g_mime_message_get_mime_part(message);
	if (body != NULL)
		g_array_append_val(stack, ((struct pending){ body, 0 }));
	while (stack->len > 0) {
		struct pending top = g_array_index(stack, struct pending, stack->len - 1);
		g_array_set_size(stack, stack->len - 1);
		shape.parts++;
		shape.depth = MAX(shape.depth, top.depth);
		shape.longest_header = MAX(shape.longest_header, longest_header(top.object));
		if (GMIME_IS_MULTIPART(top.object)) {
			GMimeMultipart *multipart = GMIME_MULTIPART(top.object);
			for (int i = g_mime_multipart_get_count(multipart) - 1; i >= 0; i--) {
				struct pending child = { g_mime_multipart_get_part(multipart, i),
							 top.depth + 1 };
				g_array_append_val(stack, child);
			}
		} else if (GMIME_IS_MESSAGE_PART(top.object)) {
			GMimeMessage *inner =
				g_mime_message_part_get_message(GMIME_MESSAGE_PART(top.object));
			if (inner == NULL)
				continue;
			shape.longest_header = MAX(shape.longest_header,
						   longest_header(GMIME_OBJECT(inner)));
			GMimeObject *inner_body = g_mime_message_get_mime_part(inner);
			if (inner_body != NULL)
				g_array_append_val(stack,
						   ((struct pending){ inner_body, top.depth + 1 }));
		}
	}
	g_array_free(stack, TRUE);
	return shape;
}

/* Records SHAPE in MAIL and quarantines it when it breaks LIMITS. */
static void check_shape(struct canary_mail *mail, const struct shape *shape,
			const struct canary_limits *limits, gboolean nesting_overflow)
{
	mail->parts = shape->parts;
	mail->depth = shape->depth;
	if (shape->depth > limits->max_mime_depth)
		quarantine(mail, CANARY_QUARANTINE_TOO_DEEP, "depth %u > %u", shape->depth,
			   limits->max_mime_depth);
	if (nesting_overflow)
		quarantine(mail, CANARY_QUARANTINE_TOO_DEEP, "depth %u > parser limit",
			   shape->depth);
	if (shape->parts > limits->max_parts)
		quarantine(mail, CANARY_QUARANTINE_TOO_MANY_PARTS, "%u parts > %u", shape->parts,
			   limits->max_parts);
	if (shape->longest_header > limits->max_header_length)
		quarantine(mail, CANARY_QUARANTINE_HEADER_TOO_LONG,
			   "header of %" G_GUINT64_FORMAT " bytes > %" G_GUINT64_FORMAT,
			   shape->longest_header, limits->max_header_length);
}

/* ---- charsets ---- */

/* Converts LEN bytes at IN with CD, replacing each byte it cannot convert by
 * U+FFFD; counts those in *BAD_R. Returns a new GString; wipe it when done. */
static GString *convert_lenient(iconv_t cd, const char *in, gsize len, guint *bad_r)
{
	GString *out = g_string_sized_new(len + len / 2 + 16);
	char buf[4096];
	char *inptr = (char *)in;
	size_t inleft = len;
	*bad_r = 0;
	while (inleft > 0) {
		char *outptr = buf;
		size_t outleft = sizeof(buf);
		size_t rc = iconv(cd, &inptr, &inleft, &outptr, &outleft);
		int saved = errno;
		g_string_append_len(out, buf, outptr - buf);
		if (rc != (size_t)-1)
			continue;
		if (saved == E2BIG && outptr != buf)
			continue;
		/* EILSEQ, EINVAL (cut short) or no progress: skip one byte. */
		g_string_append(out, REPLACEMENT_CHAR);
		(*bad_r)++;
		inptr++;
		inleft--;
	}
	char *outptr = buf;
	size_t outleft = sizeof(buf);
	iconv(cd, NULL, NULL, &outptr, &outleft);
	g_string_append_len(out, buf, outptr - buf);
	canary_wipe(buf, sizeof(buf));
	return out;
}

/* At most this many charsets are kept loaded: a sender who names a
 * thousand cannot make the process hold a thousand modules. */
#define CHARSETS_KEPT 64

/* glibc loads a charset's converter module when the first descriptor for
 * it opens and unloads it when the last one closes. GMime opens and closes
 * one per encoded header and we one per part, so without this every
 * message would load and unload the same modules (a tenth of parsing).
 * One descriptor per charset met is kept open, never used, for the life of
 * the process. */
static void keep_loaded(const char *charset)
{
	static GMutex lock;
	static GHashTable *kept; /* charset name -> its iconv_t */
	g_mutex_lock(&lock);
	if (kept == NULL)
		kept = g_hash_table_new(g_str_hash, g_str_equal);
	if (g_hash_table_size(kept) < CHARSETS_KEPT && !g_hash_table_contains(kept, charset)) {
		iconv_t cd = g_mime_iconv_open("UTF-8", charset);
		if (cd != (iconv_t)-1)
			g_hash_table_insert(kept, g_strdup(charset), cd);
	}
	g_mutex_unlock(&lock);
}

/* Keeps the charsets mail is most often written in loaded (keep_loaded()),
 * once: GMime decodes headers in them without asking us. */
static void keep_common_loaded(void)
{
	static gsize done;
	static const char *const common[] = {
		"ISO-8859-1",   "ISO-8859-2",  "ISO-8859-5",   "ISO-8859-7",   "ISO-8859-9",
		"ISO-8859-15",  "windows-1250", "windows-1251", "windows-1252", "windows-1253",
		"windows-1254", "windows-1256", "KOI8-R",       "KOI8-U",       "GB18030",
		"BIG5",         "Shift_JIS",    "EUC-JP",       "ISO-2022-JP",  "EUC-KR",
		"UTF-16",       "UTF-7",
	};
	if (g_once_init_enter(&done)) {
		for (gsize i = 0; i < G_N_ELEMENTS(common); i++)
			keep_loaded(common[i]);
		g_once_init_leave(&done, 1);
	}
}

/* Returns LEN bytes at IN converted from CHARSET to UTF-8 as a new GString,
 * or NULL when iconv does not know CHARSET. *BAD_R counts unconvertible bytes. */
static GString *convert_from(const char *charset, const char *in, gsize len, guint *bad_r)
{
	/* "" would be the locale's charset to iconv: unknown here. */
	iconv_t cd = *charset != '\0' ? g_mime_iconv_open("UTF-8", charset) : (iconv_t)-1;
	if (cd == (iconv_t)-1)
		return NULL;
	keep_loaded(charset);
	GString *out = convert_lenient(cd, in, len, bad_r);
	g_mime_iconv_close(cd);
	return out;
}

/* Returns whether CHARSET names a single-byte charset that senders put on
 * UTF-8 text by mistake (ISO-8859-*, windows-125x, US-ASCII). */
static gboolean single_byte_charset(const char *charset)
{
	static const char *const prefixes[] = { "iso-8859-", "iso8859-", "iso_8859-", "latin",
						"windows-125", "cp125",	   "us-ascii", "ascii",
						"ansi_x3.4", NULL };
	if (charset == NULL)
		return FALSE;
	for (gsize i = 0; prefixes[i] != NULL; i++)
		if (g_ascii_strncasecmp(charset, prefixes[i], strlen(prefixes[i])) == 0)
			return TRUE;
	return FALSE;
}

static gboolean utf8_charset(const char *charset)
{
	return charset != NULL &&
	       (g_ascii_strcasecmp(charset, "utf-8") == 0 || g_ascii_strcasecmp(charset, "utf8") == 0);
}

/* Returns LEN bytes at IN, declared as CHARSET (may be NULL), as new UTF-8
 * text. Reads valid UTF-8 with multi-byte sequences as UTF-8 when a
 * single-byte charset is declared; falls back to UTF-8 when the bytes are
 * valid UTF-8 and the declared charset is unknown or does not fit them, then
 * to windows-1252. */
static GString *to_utf8(const char *in, gsize len, const char *charset)
{
	gboolean valid_utf8 = g_utf8_validate_len(in, len, NULL);
	guint bad = 0;
	/* Valid UTF-8 declared as UTF-8 converts to itself, and so does ASCII
	 * in a single-byte charset (both supersets of ASCII); with other bytes
	 * it is mislabelled UTF-8. Either way no converter is needed. */
	if (valid_utf8 && (utf8_charset(charset) || single_byte_charset(charset)))
		return g_string_new_len(in, len);
	if (charset != NULL && *charset != '\0') {
		GString *out = convert_from(charset, in, len, &bad);
		if (out != NULL && (bad == 0 || !valid_utf8))
			return out;
		wipe_gstring(out);
	}
	if (valid_utf8)
		return g_string_new_len(in, len);
	GString *out = convert_from("windows-1252", in, len, &bad);
	if (out == NULL)
		out = convert_from("ISO-8859-1", in, len, &bad);
	if (out == NULL) {
		char *valid = g_utf8_make_valid(in, len);
		out = g_string_new(valid);
		canary_wipe_free(valid);
	}
	return out;
}

/* Returns S with CR LF and lone CR made LF and NUL made U+FFFD, as a new
 * GString; wipes and frees S. */
static GString *tidy_text(GString *s)
{
	GString *out = g_string_sized_new(s->len + 16);
	const char *p = s->str, *end = s->str + s->len;
	while (p < end) {
		const char *run = p; /* neither CR nor NUL: copied whole */
		while (p < end && *p != '\r' && *p != '\0')
			p++;
		g_string_append_len(out, run, p - run);
		if (p == end)
			break;
		if (*p == '\0')
			g_string_append(out, REPLACEMENT_CHAR);
		else if (p + 1 == end || p[1] != '\n')
			g_string_append_c(out, '\n'); /* a lone CR; before LF it goes */
		p++;
	}
	wipe_gstring(s);
	return out;
}

/* ---- RFC 2047 encoded words ----
 * GMime 3.2.13 mis-decodes runs of adjacent base64 words (a name spread over
 * four words came out as its first). Adjacent words of one charset and
 * encoding are joined into one byte string before the charset is applied, as
 * mail clients do, so a character split across words survives. */

/* Real words are at most 75 characters; a longer "word" is plain text. The
 * cap also keeps the scan linear on text full of "=?". */
#define ENCODED_WORD_MAX 1024

struct encoded_word {
	const char *end;     /* just after "?=" */
	const char *charset; /* not NUL-terminated */
	gsize charset_len;   /* without an RFC 2231 "*language" */
	char encoding;	     /* 'B' or 'Q' */
	const char *text;
	gsize text_len;
};

/* Reads the encoded word at P into *W; returns whether P starts one. */
static gboolean read_encoded_word(const char *p, struct encoded_word *w)
{
	if (p[0] != '=' || p[1] != '?')
		return FALSE;
	const char *charset = p + 2, *q = charset;
	while (*q != '\0' && *q != '?' && !g_ascii_isspace(*q) && q - p < ENCODED_WORD_MAX)
		q++;
	if (*q != '?' || q == charset)
		return FALSE;
	char encoding = g_ascii_toupper(q[1]);
	if ((encoding != 'B' && encoding != 'Q') || q[2] != '?')
		return FALSE;
	const char *text = q + 3, *t = text;
	while (*t != '\0' && !(t[0] == '?' && t[1] == '=') && !g_ascii_isspace(*t) &&
	       t - p < ENCODED_WORD_MAX)
		t++;
	if (t[0] != '?' || t[1] != '=')
		return FALSE;
	const char *star = memchr(charset, '*', q - charset);
	*w = (struct encoded_word){ .end = t + 2,
				    .charset = charset,
				    .charset_len = (star != NULL ? star : q) - charset,
				    .encoding = encoding,
				    .text = text,
				    .text_len = t - text };
	return TRUE;
}

/* Returns P past spaces, tabs and line breaks. */
static const char *skip_folding(const char *p)
{
	while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
		p++;
	return p;
}

/* Base64 across the words of a run: bits left over at the end of a word
 * without padding carry into the next (some senders split anywhere). */
struct b64_state {
	guint32 bits;
	guint nbits;
};

/* Appends the decoded bytes of W to OUT; returns FALSE when W was damaged. */
static gboolean decode_word_bytes(const struct encoded_word *w, struct b64_state *st,
				  GByteArray *out)
{
	static const char alphabet[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=";
	/* Not base64 (the word ends at "?", outside the alphabet): its bytes
	 * would be noise. */
	if (w->encoding == 'B' && strspn(w->text, alphabet) < w->text_len)
		return FALSE;
	gboolean clean = TRUE;
	for (gsize i = 0; i < w->text_len; i++) {
		char c = w->text[i];
		if (w->encoding == 'Q') {
			guint8 byte = (guint8)c;
			if (c == '_') {
				byte = ' ';
			} else if (c == '=' && i + 2 < w->text_len &&
				   g_ascii_isxdigit(w->text[i + 1]) &&
				   g_ascii_isxdigit(w->text[i + 2])) {
				byte = (guint8)(g_ascii_xdigit_value(w->text[i + 1]) * 16 +
						g_ascii_xdigit_value(w->text[i + 2]));
				i += 2;
			} else if (c == '=') {
				clean = FALSE;
			}
			g_byte_array_append(out, &byte, 1);
			continue;
		}
		if (c == '=') {
			st->nbits = 0; /* padding: the left-over bits are zeros */
			continue;
		}
		const char *at = strchr(alphabet, c); /* checked above: never '\0' */
		st->bits = (st->bits << 6) | (guint32)(at - alphabet);
		st->nbits += 6;
		if (st->nbits >= 8) {
			st->nbits -= 8;
			guint8 byte = (guint8)(st->bits >> st->nbits);
			g_byte_array_append(out, &byte, 1);
		}
	}
	return clean;
}

/* Returns whether the words A and B have one charset and one encoding. */
static gboolean same_kind(const struct encoded_word *a, const struct encoded_word *b)
{
	return a->encoding == b->encoding && a->charset_len == b->charset_len &&
	       g_ascii_strncasecmp(a->charset, b->charset, a->charset_len) == 0;
}

/* Appends to OUT, as UTF-8, the run of words of one kind that starts with
 * FIRST; returns the end of the last word joined. Unknown charsets and
 * damaged words give U+FFFD, never a failure. */
static const char *decode_run(const struct encoded_word *first, GString *out)
{
	GByteArray *bytes = g_byte_array_new();
	struct b64_state st = { 0 };
	gboolean clean = decode_word_bytes(first, &st, bytes);
	const char *end = first->end;
	struct encoded_word next;
	for (const char *q = skip_folding(end); read_encoded_word(q, &next) &&
						 same_kind(first, &next);
	     q = skip_folding(end)) {
		clean = decode_word_bytes(&next, &st, bytes) && clean;
		end = next.end;
	}
	if (st.nbits >= 6)
		clean = FALSE;
	char *charset = g_strndup(first->charset, first->charset_len);
	GString *text = NULL;
	/* "" would be the locale's charset to iconv: unknown here. */
	iconv_t cd = *charset != '\0' ? g_mime_iconv_open("UTF-8", charset) : (iconv_t)-1;
	if (cd != (iconv_t)-1) {
		g_mime_iconv_close(cd);
		text = to_utf8((const char *)bytes->data, bytes->len, charset);
	} else {
		char *valid = g_utf8_make_valid(bytes->len > 0 ? (const char *)bytes->data : "",
						bytes->len);
		text = g_string_new(valid);
		canary_wipe_free(valid);
	}
	g_string_append_len(out, text->str, text->len);
	if (!clean)
		g_string_append(out, REPLACEMENT_CHAR);
	wipe_gstring(text);
	g_free(charset);
	canary_wipe_byte_array(bytes);
	return end;
}

/* Appends to OUT the plain header text at P (LEN bytes) unfolded, as UTF-8
 * (raw 8-bit bytes: UTF-8 when valid, else windows-1252, as GMime reads them). */
static void append_plain(GString *out, const char *p, gsize len)
{
	GString *unfolded = g_string_sized_new(len);
	for (gsize i = 0; i < len; i++)
		if (p[i] != '\r' && p[i] != '\n')
			g_string_append_c(unfolded, p[i]);
	GString *text = to_utf8(unfolded->str, unfolded->len, NULL);
	g_string_append_len(out, text->str, text->len);
	wipe_gstring(text);
	wipe_gstring(unfolded);
}

/* Returns the unstructured header value RAW (a subject) decoded to new
 * trimmed UTF-8, or NULL when RAW is NULL. */
static char *rfc2047_decode(const char *raw)
{
	if (raw == NULL)
		return NULL;
	GString *out = g_string_sized_new(strlen(raw) + 16);
	const char *plain = raw, *p = raw;
	gboolean after_word = FALSE;
	while (*p != '\0') {
		struct encoded_word w;
		if (!read_encoded_word(p, &w)) {
			p++;
			continue;
		}
		/* White space between two encoded words is not text (RFC 2047 6.2). */
		if (!(after_word && skip_folding(plain) == p))
			append_plain(out, plain, p - plain);
		p = plain = decode_run(&w, out);
		after_word = TRUE;
	}
	append_plain(out, plain, p - plain);
	char *s = utf8_dup(out->str);
	wipe_gstring(out);
	g_strstrip(s);
	return s;
}

/* Returns a copy of the structured header value RAW (addresses, parameters)
 * in which each run of adjacent encoded words is one UTF-8 base64 word that
 * GMime decodes whole; NULL when RAW has no encoded word. */
static char *rfc2047_rewrap(const char *raw)
{
	if (raw == NULL || strstr(raw, "=?") == NULL)
		return NULL;
	GString *out = g_string_sized_new(strlen(raw) * 2 + 16);
	gboolean any = FALSE;
	const char *plain = raw, *p = raw;
	while (*p != '\0') {
		struct encoded_word w;
		if (!read_encoded_word(p, &w)) {
			p++;
			continue;
		}
		g_string_append_len(out, plain, p - plain);
		GString *decoded = g_string_new("");
		const char *end = decode_run(&w, decoded);
		/* Further runs of other charsets that follow join this one. */
		struct encoded_word next;
		while (read_encoded_word(skip_folding(end), &next))
			end = decode_run(&next, decoded);
		char *b64 = g_base64_encode((const guchar *)decoded->str, decoded->len);
		g_string_append_printf(out, "=?UTF-8?B?%s?=", b64);
		canary_wipe_free(b64);
		wipe_gstring(decoded);
		p = plain = end;
		any = TRUE;
	}
	g_string_append(out, plain);
	if (!any) {
		wipe_gstring(out);
		return NULL;
	}
	char *s = g_strndup(out->str, out->len);
	wipe_gstring(out);
	return s;
}

/* ---- format=flowed (RFC 3676) ---- */

/* Appends one logical line LINE of quote depth DEPTH to OUT. */
static void put_flowed_line(GString *out, guint depth, const GString *line)
{
	for (guint i = 0; i < depth; i++)
		g_string_append_c(out, '>');
	if (depth > 0 && line->len > 0)
		g_string_append_c(out, ' ');
	g_string_append_len(out, line->str, line->len);
	g_string_append_c(out, '\n');
}

/* Returns the format=flowed text S (LF line ends) with its soft line breaks
 * joined, quote marks kept as "> ", space-stuffing undone, and with DELSP the
 * space before each soft break removed; wipes and frees S. */
static GString *reflow(GString *s, gboolean delsp)
{
	GString *out = g_string_sized_new(s->len + 16);
	GString *line = g_string_new("");
	guint line_depth = 0;
	gboolean open = FALSE;
	for (const char *p = s->str; p < s->str + s->len;) {
		const char *nl = memchr(p, '\n', s->str + s->len - p);
		const char *end = nl != NULL ? nl : s->str + s->len;
		guint depth = 0;
		while (p < end && *p == '>') {
			depth++;
			p++;
		}
		if (p < end && *p == ' ')
			p++; /* space-stuffing, or the space after the quote marks */
		gsize len = end - p;
		gboolean signature = len == 3 && memcmp(p, "-- ", 3) == 0;
		gboolean flowed = !signature && len > 0 && p[len - 1] == ' ';
		if (open && depth != line_depth) {
			put_flowed_line(out, line_depth, line);
			g_string_truncate(line, 0);
		}
		g_string_append_len(line, p, flowed && delsp ? len - 1 : len);
		line_depth = depth;
		open = flowed;
		if (!flowed) {
			put_flowed_line(out, depth, line);
			g_string_truncate(line, 0);
		}
		p = nl != NULL ? nl + 1 : end;
	}
	if (open)
		put_flowed_line(out, line_depth, line);
	wipe_gstring(line);
	wipe_gstring(s);
	return out;
}

/* ---- HTML ---- */

struct textbuf {
	GString *out;
	guint breaks;	 /* line breaks owed before the next visible character */
	gboolean space;	 /* a space owed before the next visible character */
	guint pre;	 /* inside this many <pre> elements */
};

/* Owes at least N line breaks (at most a blank line) before what comes next. */
static void tb_break(struct textbuf *tb, guint n)
{
	tb->breaks = MAX(tb->breaks, n);
}

/* Pays what is owed before a visible character: breaks win over a space;
 * nothing at the very start. */
static void tb_flush(struct textbuf *tb)
{
	if (tb->out->len > 0) {
		for (guint i = 0; i < tb->breaks; i++)
			g_string_append_c(tb->out, '\n');
		if (tb->breaks == 0 && tb->space)
			g_string_append_c(tb->out, ' ');
	}
	tb->breaks = 0;
	tb->space = FALSE;
}

/* Appends the text node content S, collapsing white space outside <pre>. */
static void tb_text(struct textbuf *tb, const char *s)
{
	for (const char *p = s; *p != '\0'; p = g_utf8_next_char(p)) {
		gunichar c = g_utf8_get_char(p);
		if (tb->pre > 0) {
			if (c == '\r')
				continue;
			tb_flush(tb);
			g_string_append_unichar(tb->out, c);
		} else if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
			   c == 0xA0) {
			tb->space = TRUE;
		} else {
			tb_flush(tb);
			g_string_append_unichar(tb->out, c);
		}
	}
}

/* Returns whether NAME is one of the NULL-terminated NAMES. */
static gboolean name_in(const char *name, const char *const *names)
{
	for (gsize i = 0; names[i] != NULL; i++)
		if (g_ascii_strcasecmp(name, names[i]) == 0)
			return TRUE;
	return FALSE;
}

static const char *const html_skipped[] = { "script", "style", "head", "title", "template",
					     NULL };
static const char *const html_paragraphs[] = { "p",  "h1",	   "h2",  "h3", "h4",
					       "h5", "h6",	   "pre", "ul", "ol",
					       "dl", "blockquote", "table", NULL };
static const char *const html_blocks[] = {
	"address", "article", "aside",	 "caption", "center", "dd",	"details", "dialog",
	"div",	   "dt",      "fieldset", "figcaption", "figure", "footer", "form",	 "header",
	"hr",	   "li",      "main",	 "nav",	    "section", "summary", "tr",	  "tbody",
	"thead",   "tfoot",   "body",	 "html",    NULL
};

/* Returns the line breaks an element named NAME stands for: 2 for
 * paragraphs, 1 for other blocks, 0 for inline elements. */
static guint html_breaks(const char *name)
{
	if (name_in(name, html_paragraphs))
		return 2;
	if (name_in(name, html_blocks))
		return 1;
	return 0;
}

/* Handles entering NODE; returns whether to walk into its children. */
static gboolean html_enter(struct textbuf *tb, xmlNode *node)
{
	if (node->type == XML_TEXT_NODE || node->type == XML_CDATA_SECTION_NODE) {
		if (node->content != NULL)
			tb_text(tb, (const char *)node->content);
		return FALSE;
	}
	if (node->type != XML_ELEMENT_NODE || node->name == NULL)
		return FALSE;
	const char *name = (const char *)node->name;
	if (name_in(name, html_skipped))
		return FALSE;
	if (g_ascii_strcasecmp(name, "br") == 0) {
		tb->breaks = MIN(tb->breaks + 1, 2);
		return FALSE;
	}
	if (g_ascii_strcasecmp(name, "pre") == 0)
		tb->pre++;
	tb_break(tb, html_breaks(name));
	if (g_ascii_strcasecmp(name, "li") == 0)
		tb_text(tb, "- ");
	else if (g_ascii_strcasecmp(name, "td") == 0 || g_ascii_strcasecmp(name, "th") == 0)
		tb->space = TRUE;
	return TRUE;
}

/* Handles leaving the element NODE, whose children were walked. */
static void html_leave(struct textbuf *tb, xmlNode *node)
{
	if (node->type != XML_ELEMENT_NODE || node->name == NULL)
		return;
	const char *name = (const char *)node->name;
	if (g_ascii_strcasecmp(name, "pre") == 0 && tb->pre > 0)
		tb->pre--;
	tb_break(tb, html_breaks(name));
	if (g_ascii_strcasecmp(name, "td") == 0 || g_ascii_strcasecmp(name, "th") == 0)
		tb->space = TRUE;
}

/* Walks the nodes under DOC in document order without recursion. */
static void html_walk(struct textbuf *tb, htmlDocPtr doc)
{
	xmlNode *node = doc->children;
	while (node != NULL) {
		if (html_enter(tb, node) && node->children != NULL) {
			node = node->children;
			continue;
		}
		/* Order is important: leave this node, then each parent
		 * that has no next sibling, before moving on. */
		html_leave(tb, node);
		while (node->next == NULL) {
			node = node->parent;
			if (node == NULL || node == (xmlNode *)doc)
				return;
			html_leave(tb, node);
		}
		node = node->next;
	}
}

static void xml_quiet(void *ctx, const char *msg, ...)
{
}

static void xml_quiet_structured(void *ctx, xmlErrorPtr error)
{
}

/* Returns the readable text of the UTF-8 HTML document HTML (LEN bytes) as a
 * new GString: no script, style or head, entities decoded, blocks on their
 * own lines, white space collapsed. */
static GString *html_to_text(const char *html, gsize len)
{
	struct textbuf tb = { .out = g_string_sized_new(len / 2 + 16) };
	/* The library never prints: libxml2's error channels go nowhere. */
	xmlSetGenericErrorFunc(NULL, xml_quiet);
	xmlSetStructuredErrorFunc(NULL, xml_quiet_structured);
	int size = len > INT_MAX ? INT_MAX : (int)len;
	htmlDocPtr doc = htmlReadMemory(html, size, NULL, "UTF-8",
					HTML_PARSE_RECOVER | HTML_PARSE_NOERROR |
						HTML_PARSE_NOWARNING | HTML_PARSE_NONET);
	if (doc == NULL)
		return tb.out;
	html_walk(&tb, doc);
	xmlFreeDoc(doc);
	return tb.out;
}

/* Returns a new string with the charset named by a <meta> tag in the first
 * bytes of HTML, or NULL. */
static char *html_meta_charset(const char *html, gsize len)
{
	gsize n = MIN(len, 4096);
	for (gsize i = 0; i + 8 <= n; i++) {
		if (g_ascii_strncasecmp(html + i, "charset=", 8) != 0)
			continue;
		gsize start = i + 8;
		while (start < n && (html[start] == '"' || html[start] == '\''))
			start++;
		gsize end = start;
		while (end < n && (g_ascii_isalnum(html[end]) || strchr("-_.:", html[end]) != NULL))
			end++;
		if (end > start)
			return g_strndup(html + start, end - start);
	}
	return NULL;
}

/* ---- walking the MIME tree for text and attachments ---- */

enum walk_mode {
	WALK_NORMAL,  /* text parts are text, the rest attachments */
	WALK_NO_TEXT, /* a rejected alternative: text parts skipped, the rest attachments */
	WALK_SEALED,  /* encrypted or signature parts: every leaf an attachment, untouched */
};

struct extract {
	struct canary_mail *mail;
	GString *text;
	guint64 decoded;   /* bytes of text and attachment data so far */
	guint64 budget;	   /* at most this many */
	gboolean overflow; /* budget exceeded: stop */
	const struct canary_limits *limits;
	GMimeParserOptions *options;
	GMimeStream *source; /* the stream over the raw message being parsed */
};

/* Returns CONTENT with its transfer encoding undone, as a new byte array
 * of at least SIZE bytes reserved. Decoding never grows the bytes, so with
 * SIZE the encoded length no reallocation leaves a copy behind. Both the
 * parse and canary_mail_decode() come here: an attachment opened later
 * decodes exactly as it did when it was filed. Wipe it when done. */
static GByteArray *decoded_bytes(GMimeDataWrapper *content, gsize size)
{
	GByteArray *array = g_byte_array_sized_new((guint)MIN(size + 1, (gsize)G_MAXINT32));
	GMimeStream *sink = g_mime_stream_mem_new_with_byte_array(array);
	g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(sink), FALSE);
	g_mime_data_wrapper_write_to_stream(content, sink);
	g_object_unref(sink);
	return array;
}

/* The size CONTENT decodes to: decoded as decoded_bytes() does, into a
 * stream that only counts. */
static gsize decoded_size(GMimeDataWrapper *content)
{
	GMimeStream *sink = g_mime_stream_null_new();
	g_mime_data_wrapper_write_to_stream(content, sink);
	gsize size = GMIME_STREAM_NULL(sink)->written;
	g_object_unref(sink);
	return size;
}

/* The size A's encoded span (PART's content) decodes to: counted for plain
 * base64, which is most attachments, or decoded to count. */
static gsize span_decoded_size(const struct canary_attachment *a, GMimePart *part)
{
	gsize len = 0, size = 0;
	const guint8 *span = g_bytes_get_data(a->encoded, &len);
	if (a->encoding == CANARY_ENCODING_BASE64 && canary_base64_decoded_size(span, len, &size))
		return size;
	return decoded_size(g_mime_part_get_content(part));
}

/* Returns the decoded content (transfer encoding undone) of PART as a new
 * byte array; empty when the part has none. Wipe it when done. */
static GByteArray *part_bytes(GMimePart *part)
{
	GMimeDataWrapper *content = g_mime_part_get_content(part);
	if (content == NULL)
		return g_byte_array_new();
	GMimeStream *source = g_mime_data_wrapper_get_stream(content);
	gint64 hint = source != NULL ? g_mime_stream_length(source) : 0;
	return decoded_bytes(content, (gsize)MAX(hint, 0));
}

/* Returns the serialized OBJECT as a new byte array. Wipe it when done. */
static GByteArray *object_bytes(GMimeObject *object)
{
	GByteArray *array = g_byte_array_new();
	if (object == NULL)
		return array;
	GMimeStream *sink = g_mime_stream_mem_new_with_byte_array(array);
	g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(sink), FALSE);
	g_mime_object_write_to_stream(object, NULL, sink);
	g_object_unref(sink);
	return array;
}

/* Counts N more decoded bytes; returns FALSE (and stops the walk) past the budget. */
static gboolean spend(struct extract *x, guint64 n)
{
	x->decoded += n;
	if (x->decoded > x->budget)
		x->overflow = TRUE;
	return !x->overflow;
}

/* Returns the lower-case "type/subtype" of OBJECT as a new string. */
static char *mime_type(GMimeObject *object)
{
	GMimeContentType *type = g_mime_object_get_content_type(object);
	char *s = type != NULL ? g_mime_content_type_get_mime_type(type) : NULL;
	if (s == NULL)
		return g_strdup("application/octet-stream");
	char *lower = g_ascii_strdown(s, -1);
	g_free(s);
	char *valid = utf8_dup(lower);
	g_free(lower);
	return valid;
}

/* Returns the file name in OBJECT's Content-Disposition or Content-Type when
 * it is made of encoded words, read with each run of them joined (see
 * rfc2047_rewrap); NULL otherwise. */
static char *file_name_rewrapped(GMimeObject *object)
{
	char *name = NULL;
	char *disposition = rfc2047_rewrap(raw_header(object, "Content-Disposition"));
	if (disposition != NULL) {
		GMimeContentDisposition *parsed = g_mime_content_disposition_parse(NULL, disposition);
		name = utf8_dup_trimmed(g_mime_content_disposition_get_parameter(parsed, "filename"));
		g_object_unref(parsed);
		canary_wipe_free(disposition);
	}
	char *type = name == NULL ? rfc2047_rewrap(raw_header(object, "Content-Type")) : NULL;
	if (type != NULL) {
		GMimeContentType *parsed = g_mime_content_type_parse(NULL, type);
		name = utf8_dup_trimmed(g_mime_content_type_get_parameter(parsed, "name"));
		g_object_unref(parsed);
		canary_wipe_free(type);
	}
	return name;
}

/* Returns the file name OBJECT's sender gave (RFC 2231/2047 decoded) as a
 * new UTF-8 string, or NULL. */
static char *file_name(GMimeObject *object)
{
	char *whole = file_name_rewrapped(object);
	if (whole != NULL)
		return whole;
	const char *name = NULL;
	if (GMIME_IS_PART(object))
		name = g_mime_part_get_filename(GMIME_PART(object));
	if (name == NULL)
		name = g_mime_object_get_content_disposition_parameter(object, "filename");
	if (name == NULL)
		name = g_mime_object_get_content_type_parameter(object, "name");
	return utf8_dup_trimmed(name);
}

/* Our name for GMime's transfer encoding E; FALSE for one we do not decode. */
static gboolean transfer_encoding(GMimeContentEncoding e, enum canary_transfer_encoding *r)
{
	switch (e) {
	case GMIME_CONTENT_ENCODING_DEFAULT:
	case GMIME_CONTENT_ENCODING_7BIT:
	case GMIME_CONTENT_ENCODING_8BIT:
	case GMIME_CONTENT_ENCODING_BINARY:
		*r = CANARY_ENCODING_NONE;
		return TRUE;
	case GMIME_CONTENT_ENCODING_BASE64:
		*r = CANARY_ENCODING_BASE64;
		return TRUE;
	case GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE:
		*r = CANARY_ENCODING_QUOTED_PRINTABLE;
		return TRUE;
	case GMIME_CONTENT_ENCODING_UUENCODE:
		*r = CANARY_ENCODING_UUENCODE;
		return TRUE;
	default:
		return FALSE;
	}
}

/* Records in A where the content of PART stands, encoded, in the raw
 * message when PART is a part of the message parsed (not of one decoded
 * from it): GMime then reads the part's content in place, as a bounded
 * window on X->source, and decoding that window is what the content is.
 * FALSE, and A unchanged, otherwise. */
static gboolean find_encoded(const struct extract *x, GMimePart *part,
			     struct canary_attachment *a)
{
	GMimeDataWrapper *content = g_mime_part_get_content(part);
	GMimeStream *window = content != NULL ? g_mime_data_wrapper_get_stream(content) : NULL;
	enum canary_transfer_encoding encoding;
	if (window == NULL || window->super_stream != x->source || window->bound_start < 0 ||
	    !transfer_encoding(g_mime_data_wrapper_get_encoding(content), &encoding))
		return FALSE;
	gsize raw_len = g_bytes_get_size(x->mail->raw);
	gint64 end = window->bound_end < 0 ? (gint64)raw_len : window->bound_end;
	if (end <= window->bound_start || (guint64)end > raw_len)
		return FALSE;
	a->encoded_offset = (gsize)window->bound_start;
	a->encoded = g_bytes_new_from_bytes(x->mail->raw, a->encoded_offset,
					    (gsize)end - a->encoded_offset);
	a->encoding = encoding;
	return TRUE;
}

/* A new attachment for OBJECT at DEPTH, its content not set yet. */
static struct canary_attachment *attachment_new(GMimeObject *object, guint depth)
{
	struct canary_attachment *a = g_new0(struct canary_attachment, 1);
	a->filename = file_name(object);
	a->content_type = mime_type(object);
	a->depth = depth;
	return a;
}

/* Adds A unless its content (A->size bytes decoded) is past the budget
 * (A is freed then). */
static void keep_attachment(struct extract *x, struct canary_attachment *a)
{
	if (spend(x, a->size))
		g_ptr_array_add(x->mail->attachments, a);
	else
		attachment_free(a);
}

/* Adds OBJECT as an attachment with the content DATA (taken) at DEPTH. */
static void add_attachment(struct extract *x, GMimeObject *object, GByteArray *data, guint depth)
{
	struct canary_attachment *a = attachment_new(object, depth);
	a->size = data->len;
	a->data = canary_wipe_bytes_take(data);
	if (a->size > 0 && GMIME_IS_PART(object))
		find_encoded(x, GMIME_PART(object), a);
	keep_attachment(x, a);
}

/* Adds the leaf PART at DEPTH as an attachment. When its content is a
 * span of the raw message, only its decoded size is counted now:
 * canary_attachment_data() decodes the span if it is ever needed. */
static void add_leaf_attachment(struct extract *x, GMimePart *part, guint depth)
{
	struct canary_attachment *a = attachment_new(GMIME_OBJECT(part), depth);
	if (find_encoded(x, part, a))
		a->size = span_decoded_size(a, part);
	if (a->encoded != NULL && a->size == 0) /* nothing to stand in for */
		g_clear_pointer(&a->encoded, g_bytes_unref);
	if (a->encoded == NULL) {
		GByteArray *data = part_bytes(part);
		a->size = data->len;
		a->data = canary_wipe_bytes_take(data);
	}
	keep_attachment(x, a);
}

/* Appends one part's text S to the readable text, a blank line after the last. */
static void add_text(struct extract *x, const char *s, gsize len)
{
	while (len > 0 && g_ascii_isspace(s[len - 1]))
		len--;
	while (len > 0 && (*s == '\n' || *s == '\r')) {
		s++;
		len--;
	}
	if (len == 0 || !spend(x, len))
		return;
	if (x->text->len > 0)
		g_string_append(x->text, "\n\n");
	g_string_append_len(x->text, s, len);
}

enum text_kind { TEXT_NONE, TEXT_PLAIN, TEXT_HTML };

/* Returns what kind of readable text OBJECT is: an inline text/plain or
 * text/html leaf, or neither. */
static enum text_kind text_kind(GMimeObject *object)
{
	if (!GMIME_IS_PART(object) || g_mime_part_is_attachment(GMIME_PART(object)))
		return TEXT_NONE;
	GMimeContentType *type = g_mime_object_get_content_type(object);
	if (type == NULL)
		return TEXT_PLAIN;
	if (g_mime_content_type_is_type(type, "text", "plain"))
		return TEXT_PLAIN;
	if (g_mime_content_type_is_type(type, "text", "html"))
		return TEXT_HTML;
	return TEXT_NONE;
}

/* Appends the readable text of the text leaf PART of KIND. */
static void add_part_text(struct extract *x, GMimePart *part, enum text_kind kind)
{
	GByteArray *bytes = part_bytes(part);
	const char *declared = g_mime_object_get_content_type_parameter(GMIME_OBJECT(part),
									"charset");
	char *sniffed = NULL;
	if (kind == TEXT_HTML && (declared == NULL || *declared == '\0'))
		declared = sniffed = html_meta_charset((const char *)bytes->data, bytes->len);
	GString *text = to_utf8((const char *)bytes->data, bytes->len, declared);
	g_free(sniffed);
	canary_wipe_byte_array(bytes);
	text = tidy_text(text);
	const char *format = g_mime_object_get_content_type_parameter(GMIME_OBJECT(part), "format");
	if (kind == TEXT_PLAIN && format != NULL && g_ascii_strcasecmp(format, "flowed") == 0) {
		const char *delsp = g_mime_object_get_content_type_parameter(GMIME_OBJECT(part),
									     "delsp");
		text = reflow(text, delsp != NULL && g_ascii_strcasecmp(delsp, "yes") == 0);
	}
	if (kind == TEXT_HTML) {
		GString *plain = html_to_text(text->str, text->len);
		wipe_gstring(text);
		text = plain;
	}
	add_text(x, text->str, text->len);
	wipe_gstring(text);
}

static void walk(struct extract *x, GMimeObject *object, guint depth, enum walk_mode mode);
static void walk_inner_message(struct extract *x, GMimeMessage *inner, guint depth,
			       enum walk_mode mode);

/* Returns whether OBJECT is a winmail.dat: application/ms-tnef (or
 * application/vnd.ms-tnef), or a file of that name with a generic type. */
static gboolean is_tnef(GMimeObject *object)
{
	GMimeContentType *type = g_mime_object_get_content_type(object);
	if (type != NULL && (g_mime_content_type_is_type(type, "application", "ms-tnef") ||
			     g_mime_content_type_is_type(type, "application", "vnd.ms-tnef")))
		return TRUE;
	const char *name = GMIME_IS_PART(object) ? g_mime_part_get_filename(GMIME_PART(object))
						  : NULL;
	return name != NULL && g_ascii_strcasecmp(name, "winmail.dat") == 0;
}

/* Handles the winmail.dat PART: kept whole as an attachment, then the files
 * inside it become attachments beside it and its body joins the text. */
static void walk_tnef(struct extract *x, GMimePart *part, guint depth, enum walk_mode mode)
{
	GByteArray *bytes = part_bytes(part);
	guint64 left = x->budget > x->decoded + bytes->len ? x->budget - x->decoded - bytes->len : 0;
	struct canary_tnef *tnef = canary_tnef_read(bytes->data, bytes->len, left);
	add_attachment(x, GMIME_OBJECT(part), bytes, depth);
	if (tnef == NULL) {
		note_damage(x->mail, "winmail.dat at depth %u: not readable as TNEF", depth);
		return;
	}
	if (tnef->skipped > 0)
		note_damage(x->mail, "winmail.dat at depth %u: %u files left out (limit %u)",
			    depth, tnef->skipped, CANARY_TNEF_MAX_FILES);
	if (tnef->body != NULL && mode == WALK_NORMAL)
		add_text(x, tnef->body, strlen(tnef->body));
	for (guint i = 0; i < tnef->files->len && !x->overflow; i++) {
		struct canary_tnef_file *f = tnef->files->pdata[i];
		struct canary_attachment *a = g_new0(struct canary_attachment, 1);
		a->filename = utf8_dup_trimmed(f->name);
		a->content_type = g_strdup("application/octet-stream");
		a->data = g_bytes_ref(f->data);
		a->size = g_bytes_get_size(f->data);
		a->depth = depth;
		keep_attachment(x, a);
	}
	canary_tnef_free(tnef);
}

/* Returns whether OBJECT is a message/rfc822 (or message/global) part that
 * GMime left as a leaf because it has a transfer encoding (base64, qp). */
static gboolean is_encoded_message(GMimeObject *object)
{
	GMimeContentType *type = g_mime_object_get_content_type(object);
	return type != NULL && (g_mime_content_type_is_type(type, "message", "rfc822") ||
				g_mime_content_type_is_type(type, "message", "global"));
}

/* Handles the encoded forwarded message PART: kept as an attachment, then
 * parsed and read one level deeper, as walk_message_part() does for an
 * unencoded one, when its shape stays within the limits. */
static void walk_encoded_message(struct extract *x, GMimePart *part, guint depth,
				 enum walk_mode mode)
{
	GByteArray *bytes = part_bytes(part);
	GByteArray *copy = g_byte_array_sized_new(bytes->len);
	g_byte_array_append(copy, bytes->data, bytes->len);
	add_attachment(x, GMIME_OBJECT(part), copy, depth);
	if (x->overflow) {
		canary_wipe_byte_array(bytes);
		return;
	}
	GMimeStream *stream = g_mime_stream_mem_new_with_byte_array(bytes);
	g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(stream), FALSE);
	GMimeParser *parser = g_mime_parser_new_with_stream(stream);
	GMimeMessage *inner = g_mime_parser_construct_message(parser, x->options);
	if (inner != NULL) {
		struct shape shape = measure(inner);
		guint deepest = depth + 1 + shape.depth;
		x->mail->parts += shape.parts;
		x->mail->depth = MAX(x->mail->depth, deepest);
		if (deepest <= x->limits->max_mime_depth && x->mail->parts <= x->limits->max_parts)
			walk_inner_message(x, inner, depth, mode);
		else
			note_damage(x->mail, "encoded message at depth %u: %u parts, depth %u not read",
				    depth + 1, shape.parts, deepest);
	}
	/* Order is important: the message and parser read BYTES. */
	g_clear_object(&inner);
	g_object_unref(parser);
	g_object_unref(stream);
	canary_wipe_byte_array(bytes);
}

/* Handles the leaf PART under MODE. */
static void walk_leaf(struct extract *x, GMimePart *part, guint depth, enum walk_mode mode)
{
	enum text_kind kind = mode == WALK_SEALED ? TEXT_NONE : text_kind(GMIME_OBJECT(part));
	if (kind == TEXT_NONE && mode != WALK_SEALED && is_encoded_message(GMIME_OBJECT(part)))
		walk_encoded_message(x, part, depth, mode);
	else if (kind == TEXT_NONE && mode != WALK_SEALED && is_tnef(GMIME_OBJECT(part)))
		walk_tnef(x, part, depth, mode);
	else if (kind == TEXT_NONE)
		add_leaf_attachment(x, part, depth);
	else if (mode == WALK_NORMAL) {
		gsize before = x->text->len;
		add_part_text(x, part, kind);
		if (depth > 0 && x->text->len > before) {
			struct canary_text_range forwarded = {before, x->text->len - before};
			g_array_append_val(x->mail->forwarded_text, forwarded);
		}
	}
}

/* Returns whether the text leaf PART of KIND has anything but white space
 * to read (an empty text/plain alternative beside the HTML is common). */
static gboolean has_text(GMimePart *part, enum text_kind kind)
{
	GByteArray *bytes = part_bytes(part);
	gboolean found = FALSE;
	if (kind == TEXT_PLAIN) {
		for (guint i = 0; i < bytes->len && !found; i++)
			found = !g_ascii_isspace(bytes->data[i]);
	} else {
		const char *declared = g_mime_object_get_content_type_parameter(
			GMIME_OBJECT(part), "charset");
		GString *html = to_utf8((const char *)bytes->data, bytes->len, declared);
		GString *text = html_to_text(html->str, html->len);
		found = text->len > 0;
		wipe_gstring(text);
		wipe_gstring(html);
	}
	canary_wipe_byte_array(bytes);
	return found;
}

/* Returns the index of the child of the multipart/alternative ALTERNATIVE to
 * read: text/plain first, then a multipart, then text/html, skipping empty
 * or blank text parts; -1 for none. */
static int pick_alternative(GMimeMultipart *alternative)
{
	int best = -1, best_score = 0;
	int n = g_mime_multipart_get_count(alternative);
	for (int i = 0; i < n; i++) {
		GMimeObject *child = g_mime_multipart_get_part(alternative, i);
		int score = 0;
		if (GMIME_IS_MULTIPART(child))
			score = 2;
		else if (text_kind(child) == TEXT_PLAIN && has_text(GMIME_PART(child), TEXT_PLAIN))
			score = 3;
		else if (text_kind(child) == TEXT_HTML && has_text(GMIME_PART(child), TEXT_HTML))
			score = 1;
		if (score > best_score) {
			best = i;
			best_score = score;
		}
	}
	return best;
}

/* Reads what a multipart without parts holds (its boundary matched no line,
 * so GMime kept everything as the preamble) as plain text, and marks the
 * mail damaged. */
static void read_partless_multipart(struct extract *x, GMimeMultipart *multipart, guint depth)
{
	const char *preamble = g_mime_multipart_get_prologue(multipart);
	gsize len = preamble != NULL ? strlen(preamble) : 0;
	note_damage(x->mail, "multipart at depth %u: no boundary line found in %" G_GSIZE_FORMAT
			     " bytes",
		    depth, len);
	if (len == 0)
		return;
	GString *text = tidy_text(to_utf8(preamble, len, NULL));
	add_text(x, text->str, text->len);
	wipe_gstring(text);
}

/* Handles MULTIPART: alternatives, signed and encrypted content, or mixed. */
static void walk_multipart(struct extract *x, GMimeMultipart *multipart, guint depth,
			   enum walk_mode mode)
{
	GMimeContentType *type = g_mime_object_get_content_type(GMIME_OBJECT(multipart));
	gboolean alternative = g_mime_content_type_is_type(type, "multipart", "alternative");
	gboolean is_signed = g_mime_content_type_is_type(type, "multipart", "signed");
	gboolean encrypted = g_mime_content_type_is_type(type, "multipart", "encrypted");
	int pick = alternative ? pick_alternative(multipart) : -1;
	int n = g_mime_multipart_get_count(multipart);
	if (n == 0 && mode == WALK_NORMAL)
		read_partless_multipart(x, multipart, depth);
	for (int i = 0; i < n && !x->overflow; i++) {
		enum walk_mode child_mode = mode;
		if (mode != WALK_SEALED) {
			if (encrypted || (is_signed && i > 0))
				child_mode = WALK_SEALED;
			else if (pick >= 0 && i != pick)
				child_mode = WALK_NO_TEXT;
		}
		walk(x, g_mime_multipart_get_part(multipart, i), depth, child_mode);
	}
}

/* Returns the header block shown above a forwarded message's text, as a new string. */
static char *forward_header(GMimeMessage *inner)
{
	GString *s = g_string_new("---------- Forwarded message ----------");
	const char *labels[] = { "From", "To" };
	for (gsize i = 0; i < G_N_ELEMENTS(labels); i++) {
		/* From the raw value, runs of encoded words joined (see read_headers). */
		const char *raw = raw_header(GMIME_OBJECT(inner), labels[i]);
		char *rewrapped = rfc2047_rewrap(raw);
		InternetAddressList *list =
			raw != NULL ? internet_address_list_parse(
					      NULL, rewrapped != NULL ? rewrapped : raw)
				    : NULL;
		canary_wipe_free(rewrapped);
		if (list == NULL || internet_address_list_length(list) == 0) {
			g_clear_object(&list);
			continue;
		}
		char *who = internet_address_list_to_string(list, NULL, FALSE);
		g_object_unref(list);
		char *valid = utf8_dup_trimmed(who);
		if (valid != NULL)
			g_string_append_printf(s, "\n%s: %s", labels[i], valid);
		canary_wipe_free(valid);
		canary_wipe_free(who);
		if (i == 0) {
			char *date = utf8_dup_trimmed(
				g_mime_object_get_header(GMIME_OBJECT(inner), "Date"));
			if (date != NULL)
				g_string_append_printf(s, "\nDate: %s", date);
			canary_wipe_free(date);
		}
	}
	char *subject = rfc2047_decode(raw_header(GMIME_OBJECT(inner), "Subject"));
	if (subject != NULL && *subject != '\0')
		g_string_append_printf(s, "\nSubject: %s", subject);
	canary_wipe_free(subject);
	char *block = g_strdup(s->str);
	wipe_gstring(s);
	return block;
}

/* Handles a forwarded message PART: the whole message as an attachment, then
 * its own text (under a small header block) and attachments one level deeper. */
static void walk_message_part(struct extract *x, GMimeMessagePart *part, guint depth,
			      enum walk_mode mode)
{
	GMimeMessage *inner = g_mime_message_part_get_message(part);
	add_attachment(x, GMIME_OBJECT(part), object_bytes(GMIME_OBJECT(inner)), depth);
	if (inner == NULL || mode == WALK_SEALED || x->overflow)
		return;
	walk_inner_message(x, inner, depth, mode);
}

/* Reads the forwarded message INNER (found at DEPTH): its text under a small
 * header block, its attachments one level deeper. */
static void walk_inner_message(struct extract *x, GMimeMessage *inner, guint depth,
			       enum walk_mode mode)
{
	if (mode == WALK_NORMAL) {
		char *block = forward_header(inner);
		add_text(x, block, strlen(block));
		canary_wipe_free(block);
	}
	GMimeObject *body = g_mime_message_get_mime_part(inner);
	if (body != NULL)
		walk(x, body, depth + 1, mode);
}

/* Adds the text and attachments under OBJECT; DEPTH counts forwarded
 * messages around it. Recursion is bounded by max_mime_depth, checked before. */
static void walk(struct extract *x, GMimeObject *object, guint depth, enum walk_mode mode)
{
	if (x->overflow || object == NULL)
		return;
	if (GMIME_IS_MESSAGE_PART(object))
		walk_message_part(x, GMIME_MESSAGE_PART(object), depth, mode);
	else if (GMIME_IS_MULTIPART(object))
		walk_multipart(x, GMIME_MULTIPART(object), depth, mode);
	else if (GMIME_IS_PART(object))
		walk_leaf(x, GMIME_PART(object), depth, mode);
}

/* Fills MAIL's text and attachments from MESSAGE; quarantines it as too
 * large when the decoded content outgrows DECODED_FACTOR times the limit. */
static void read_body(struct canary_mail *mail, GMimeMessage *message, GMimeStream *source,
		      const struct canary_limits *limits, GMimeParserOptions *options)
{
	struct extract x = {
		.mail = mail,
		.limits = limits,
		.options = options,
		.source = source,
		.text = g_string_new(""),
		.budget = limits->max_message_size > G_MAXUINT64 / DECODED_FACTOR
				  ? G_MAXUINT64
				  : limits->max_message_size * DECODED_FACTOR,
	};
	walk(&x, g_mime_message_get_mime_part(message), 0, WALK_NORMAL);
	if (x.overflow) {
		g_ptr_array_set_size(mail->attachments, 0);
		g_array_set_size(mail->forwarded_text, 0);
		wipe_gstring(x.text);
		quarantine(mail, CANARY_QUARANTINE_TOO_LARGE,
			   "decoded %" G_GUINT64_FORMAT " bytes > %" G_GUINT64_FORMAT, x.decoded,
			   x.budget);
		return;
	}
	if (!g_utf8_validate_len(x.text->str, x.text->len, NULL)) {
		char *valid = g_utf8_make_valid(x.text->str, x.text->len);
		wipe_gstring(x.text);
		x.text = g_string_new(valid);
		canary_wipe_free(valid);
	}
	canary_wipe_free(mail->text);
	mail->text = g_strndup(x.text->str, x.text->len);
	wipe_gstring(x.text);
}

/* ---- parsing ---- */

/* Returns the offset of the first line of only spaces and tabs in the header
 * block at the start of DATA, or LEN when the block ends (an empty line)
 * before one. */
static gsize blankish_line(const guint8 *data, gsize len)
{
	gsize n = MIN(len, (gsize)HEADER_BLOCK_CAP);
	for (gsize start = 0; start < n;) {
		gsize end = start;
		while (end < n && (data[end] == ' ' || data[end] == '\t'))
			end++;
		if (end < n && data[end] == '\r')
			end++;
		gboolean only_blanks = end == n || data[end] == '\n';
		if (only_blanks)
			return end > start && (data[start] == ' ' || data[start] == '\t') ? start : len;
		while (end < n && data[end] != '\n')
			end++;
		start = end + 1;
	}
	return len;
}

/* For a mail whose header block was ended by a line of white space (GMime
 * then reads no body): takes what follows that line as its text, as plain
 * UTF-8 (else windows-1252), and marks MAIL damaged. */
static void read_after_blankish_line(struct canary_mail *mail, const guint8 *data, gsize len)
{
	gsize line = blankish_line(data, len);
	if (line >= len)
		return;
	const guint8 *nl = memchr(data + line, '\n', len - line);
	gsize body = nl != NULL ? (gsize)(nl - data) + 1 : len;
	note_damage(mail, "header block ended by a white-space line at byte %" G_GSIZE_FORMAT,
		    line);
	GString *text = tidy_text(to_utf8((const char *)data + body, len - body, NULL));
	gsize skip = 0;
	while (skip < text->len && (text->str[skip] == '\n'))
		skip++;
	g_strchomp(text->str);
	canary_wipe_free(mail->text);
	mail->text = utf8_dup(text->str + skip);
	wipe_gstring(text);
}

/* Parses LEN bytes at DATA (RAW's own bytes, read in place) into MAIL: the
 * headers always, the body too unless HEADERS_ONLY or a limit is broken. */
static void parse_bytes(struct canary_mail *mail, const guint8 *data, gsize len,
			const struct canary_limits *limits, gboolean headers_only)
{
	static const char *fallback_charsets[] = { "UTF-8", "windows-1252", NULL };
	struct parse_state state = { .mail = mail };
	/* GMime reads DATA through this array without copying it; the stream
	 * does not own the array and nothing writes to it. */
	GByteArray *array = g_byte_array_new_take((guint8 *)data, len);
	GMimeStream *stream = g_mime_stream_mem_new_with_byte_array(array);
	g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(stream), FALSE);
	GMimeParser *parser = g_mime_parser_new_with_stream(stream);
	GMimeParserOptions *options = g_mime_parser_options_new();
	g_mime_parser_options_set_warning_callback(options, on_parser_warning, &state);
	g_mime_parser_options_set_fallback_charsets(options, fallback_charsets);

	GMimeMessage *message = g_mime_parser_construct_message(parser, options);
	if (message == NULL) {
		quarantine(mail, CANARY_QUARANTINE_UNPARSEABLE, "no header block");
	} else {
		read_headers(mail, message, options);
		if (!headers_only) {
			struct shape shape = measure(message);
			check_shape(mail, &shape, limits, state.nesting_overflow);
		}
		if (mail->quarantine == CANARY_QUARANTINE_NONE)
			read_body(mail, message, stream, limits, options);
		if (mail->quarantine == CANARY_QUARANTINE_NONE && *mail->text == '\0' &&
		    mail->attachments->len == 0)
			read_after_blankish_line(mail, data, len);
	}
	/* Order is important: the message and parser read ARRAY's bytes and
	 * use OPTIONS until they are gone; ARRAY's bytes belong to RAW. */
	g_clear_object(&message);
	g_object_unref(parser);
	g_object_unref(stream);
	g_mime_parser_options_free(options);
	g_byte_array_free(array, FALSE);
}

/* Returns the length of the header block at the start of DATA (through the
 * empty line that ends it), at most HEADER_BLOCK_CAP. */
static gsize header_block_length(const guint8 *data, gsize len)
{
	gsize n = MIN(len, (gsize)HEADER_BLOCK_CAP);
	for (gsize i = 0; i + 1 < n; i++) {
		if (data[i] != '\n')
			continue;
		if (data[i + 1] == '\n')
			return i + 2;
		if (data[i + 1] == '\r' && i + 2 < n && data[i + 2] == '\n')
			return i + 3;
	}
	return n;
}

GBytes *canary_mail_decode(enum canary_transfer_encoding encoding, const void *data, gsize len)
{
	static const GMimeContentEncoding gmime[] = {
		[CANARY_ENCODING_NONE] = GMIME_CONTENT_ENCODING_BINARY,
		[CANARY_ENCODING_BASE64] = GMIME_CONTENT_ENCODING_BASE64,
		[CANARY_ENCODING_QUOTED_PRINTABLE] = GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE,
		[CANARY_ENCODING_UUENCODE] = GMIME_CONTENT_ENCODING_UUENCODE,
	};
	g_return_val_if_fail((guint)encoding <= CANARY_ENCODING_LAST, NULL);
	/* Read in place, as parse_bytes() does: the stream does not own it. */
	GByteArray *in = g_byte_array_new_take((guint8 *)data, len);
	GMimeStream *source = g_mime_stream_mem_new_with_byte_array(in);
	g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(source), FALSE);
	GMimeDataWrapper *wrapper = g_mime_data_wrapper_new_with_stream(source, gmime[encoding]);
	GByteArray *out = decoded_bytes(wrapper, len);
	g_object_unref(wrapper);
	g_object_unref(source);
	g_byte_array_free(in, FALSE);
	return canary_wipe_bytes_take(out);
}

GBytes *canary_attachment_data(struct canary_attachment *a)
{
	if (a->data == NULL) {
		gsize len = 0;
		const void *encoded = g_bytes_get_data(a->encoded, &len);
		a->data = canary_mail_decode(a->encoding, encoded, len);
	}
	return a->data;
}

struct canary_mail *canary_mail_parse(GBytes *raw, const struct canary_limits *limits)
{
	struct canary_limits defaults;
	if (limits == NULL) {
		canary_limits_init_default(&defaults);
		limits = &defaults;
	}
	keep_common_loaded();
	struct canary_mail *mail = mail_new(raw);
	gsize len = 0;
	const guint8 *data = g_bytes_get_data(mail->raw, &len);
	static const guint8 empty[1] = { 0 };
	if (data == NULL)
		data = empty;
	guint64 max = MIN(limits->max_message_size, (guint64)G_MAXUINT);
	if ((guint64)len > max) {
		quarantine(mail, CANARY_QUARANTINE_TOO_LARGE,
			   "%" G_GSIZE_FORMAT " bytes > %" G_GUINT64_FORMAT, len, max);
		parse_bytes(mail, data, header_block_length(data, len), limits, TRUE);
		return mail;
	}
	parse_bytes(mail, data, len, limits, FALSE);
	return mail;
}
