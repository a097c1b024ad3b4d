/* tnef.c: winmail.dat (TNEF) -> body text and files, with libytnef. Text in
 * TNEF is in the sender's code page (8-bit) or MAPI Unicode, which libytnef
 * converts to UTF-8. */
#include "tnef.h"
#include "wipe.h"

#include <sodium.h>
#include <string.h>
#include <ytnef.h>

/* The TNEF signature, little-endian 0x223E9F78, then a 16-bit key. */
static const guint8 tnef_signature[4] = { 0x78, 0x9F, 0x3E, 0x22 };

/* Returns whether V holds bytes (libytnef marks a missing property with -1). */
static gboolean has_bytes(const variableLength *v)
{
	return v != NULL && v != MAPI_UNDEFINED && v->data != NULL && v->size > 0;
}

/* Returns the 8-bit text of LEN bytes at S as new UTF-8: as it is when it is
 * valid UTF-8, else read as windows-1252 (Outlook's usual code page). Stops
 * at the first NUL (TNEF strings end with one). */
static char *text8_to_utf8(const guint8 *s, gsize len)
{
	const guint8 *nul = memchr(s, '\0', len);
	if (nul != NULL)
		len = nul - s;
	if (g_utf8_validate_len((const char *)s, len, NULL))
		return g_strndup((const char *)s, len);
	char *out = g_convert_with_fallback((const char *)s, len, "UTF-8", "WINDOWS-1252",
					    "\xEF\xBF\xBD", NULL, NULL, NULL);
	return out != NULL ? out : g_utf8_make_valid((const char *)s, len);
}

/* Returns the MAPI string property ID of PROPS (8-bit or Unicode) as new
 * UTF-8, or NULL. libytnef hands Unicode values over as UTF-8 already. */
static char *mapi_string(MAPIProps *props, ULONG id)
{
	variableLength *v = MAPIFindProperty(props, PROP_TAG(PT_UNICODE, id));
	if (has_bytes(v))
		return text8_to_utf8(v->data, (gsize)v->size);
	v = MAPIFindProperty(props, PROP_TAG(PT_STRING8, id));
	if (has_bytes(v))
		return text8_to_utf8(v->data, (gsize)v->size);
	return NULL;
}

/* Returns the name of the attached file A as new UTF-8, or NULL: the long
 * name when the MAPI properties have one, else the 8.3 title. */
static char *file_name(Attachment *a)
{
	char *name = mapi_string(&a->MAPI, PR_ATTACH_LONG_FILENAME);
	if (name == NULL && has_bytes(&a->Title))
		name = text8_to_utf8(a->Title.data, (gsize)a->Title.size);
	if (name != NULL && *g_strstrip(name) == '\0')
		g_clear_pointer(&name, g_free);
	return name;
}

/* Returns the bytes of the attached file A, or NULL when it has none (an
 * embedded message or OLE object is not a file). */
static variableLength *file_data(Attachment *a)
{
	if (has_bytes(&a->FileData))
		return &a->FileData;
	variableLength *v = MAPIFindProperty(&a->MAPI, PROP_TAG(PT_BINARY, PR_ATTACH_DATA_OBJ));
	return has_bytes(v) ? v : NULL;
}

static void file_free(gpointer p)
{
	struct canary_tnef_file *f = p;
	if (f->name != NULL)
		sodium_memzero(f->name, strlen(f->name));
	g_free(f->name);
	g_clear_pointer(&f->data, g_bytes_unref);
	g_free(f);
}

/* Returns the plain text body of T as new UTF-8, or NULL. */
static char *body_text(TNEFStruct *t)
{
	char *body = mapi_string(&t->MapiProperties, PR_BODY);
	if (body == NULL && has_bytes(&t->body))
		body = text8_to_utf8(t->body.data, (gsize)t->body.size);
	return body;
}

/* Copies the files of T into OUT, at most MAX_BYTES in all. */
static void take_files(TNEFStruct *t, struct canary_tnef *out, guint64 max_bytes)
{
	guint64 taken = 0;
	for (Attachment *a = t->starting_attach.next; a != NULL; a = a->next) {
		variableLength *data = file_data(a);
		if (data == NULL || out->files->len >= CANARY_TNEF_MAX_FILES ||
		    taken + (guint64)data->size > max_bytes) {
			out->skipped++;
			continue;
		}
		taken += (guint64)data->size;
		GByteArray *copy = g_byte_array_sized_new((guint)data->size);
		g_byte_array_append(copy, data->data, (guint)data->size);
		struct canary_tnef_file *f = g_new0(struct canary_tnef_file, 1);
		f->name = file_name(a);
		f->data = canary_wipe_bytes_take(copy);
		g_ptr_array_add(out->files, f);
	}
}

/* Returns the little-endian number of N bytes at P. */
static guint32 le(const guint8 *p, gsize n)
{
	guint32 v = 0;
	for (gsize i = n; i > 0; i--)
		v = (v << 8) | p[i - 1];
	return v;
}

/* Attributes of the whole stream, or of one attachment, seen so far. */
#define GROUP_ATTRIBUTES_MAX 128
struct seen {
	guint32 ids[GROUP_ATTRIBUTES_MAX];
	guint n;
};

/* Returns whether ID is in SEEN. */
static gboolean is_seen(const struct seen *seen, guint32 id)
{
	for (guint i = 0; i < seen->n; i++)
		if (seen->ids[i] == id)
			return TRUE;
	return FALSE;
}

/* Notes ID in SEEN; returns FALSE when it was there already (or there are
 * too many): libytnef leaks what a repeated attribute replaces. */
static gboolean first_time(struct seen *seen, guint32 id)
{
	if (is_seen(seen, id))
		return FALSE;
	if (seen->n == GROUP_ATTRIBUTES_MAX)
		return FALSE;
	seen->ids[seen->n++] = id;
	return TRUE;
}

/* Returns whether libytnef files the attribute ID (low 16 bits) under the
 * current attachment, whatever the level byte says. */
static gboolean attachment_attribute(guint32 id)
{
	static const guint16 ids[] = { 0x800F, 0x8010, 0x8011, 0x8012, 0x8013, 0x9001, 0x9005 };
	for (gsize i = 0; i < G_N_ELEMENTS(ids); i++)
		if (ids[i] == id)
			return TRUE;
	return FALSE;
}

/* Returns whether the LEN bytes at DATA are a TNEF stream whose attributes
 * all have a known level, fit in it, match their checksums and appear once
 * in the message part or in their attachment. libytnef prints to stdout on such
 * damage, and leaks on repeats; what it is given has neither. */
static gboolean well_formed(const guint8 *data, gsize len)
{
	if (len < 6 || len > G_MAXINT32 || memcmp(data, tnef_signature, 4) != 0)
		return FALSE;
	struct seen message = { 0 }, attachment = { 0 };
	gboolean in_attachments = FALSE;
	gsize at = 6; /* signature, key */
	while (at < len) {
		if (len - at < 9 || (data[at] != 1 && data[at] != 2))
			return FALSE;
		/* attAttachRenddata, exactly, starts each attachment; libytnef
		 * leaks what comes for an attachment before the first, and what
		 * any repeat replaces. It goes by the low 16 bits of the id,
		 * whatever the level and type say: so do we. Attachment
		 * attributes appear once per attachment, the others once. */
		guint32 full_id = le(data + at + 1, 4), id = full_id & 0xFFFF;
		if (id == 0x9002) {
			if (full_id != 0x00069002)
				return FALSE;
			in_attachments = TRUE;
			attachment.n = 0;
		}
		gboolean per_attachment = id == 0x9002 || attachment_attribute(id);
		if (per_attachment ? !in_attachments || !first_time(&attachment, id)
				   : !first_time(&message, id))
			return FALSE;
		guint32 size = le(data + at + 5, 4);
		if (size == 0 || size > len - at - 9 || len - at - 9 - size < 2)
			return FALSE;
		const guint8 *value = data + at + 9;
		guint32 sum = 0;
		for (guint32 i = 0; i < size; i++)
			sum += value[i];
		if ((sum & 0xFFFF) != le(value + size, 2))
			return FALSE;
		at += 9 + (gsize)size + 2;
	}
	return TRUE;
}

struct canary_tnef *canary_tnef_read(const guint8 *data, gsize len, guint64 max_bytes)
{
	if (!well_formed(data, len))
		return NULL;
	TNEFStruct t;
	TNEFInitialize(&t);
	t.Debug = 0;
	/* libytnef only reads the memory it is given. */
	if (TNEFParseMemory((BYTE *)data, (long)len, &t) < 0) {
		TNEFFree(&t);
		return NULL;
	}
	struct canary_tnef *out = g_new0(struct canary_tnef, 1);
	out->files = g_ptr_array_new_with_free_func(file_free);
	out->body = body_text(&t);
	take_files(&t, out, max_bytes);
	TNEFFree(&t);
	return out;
}

void canary_tnef_free(struct canary_tnef *tnef)
{
	if (tnef == NULL)
		return;
	if (tnef->body != NULL)
		sodium_memzero(tnef->body, strlen(tnef->body));
	g_free(tnef->body);
	g_ptr_array_unref(tnef->files);
	g_free(tnef);
}
