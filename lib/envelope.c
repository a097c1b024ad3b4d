/* envelope.c: the sealed fields of a case. Content (subject, text,
 * attachment list and bytes, routing terms) is encrypted under a content
 * key sealed to the section and triage keys; the identity record and the
 * raw message under an identity key sealed to the custodian only; the exact
 * times, size and pseudonym under a key of their own, wrapped under the
 * content key and the identity key, so that whoever opens either opens
 * them (cases sealed before, and those canaryd seals for older stores,
 * have that key sealed to the three public keys instead). */
#include "envelope.h"
#include "byteorder.h"
#include "wipe.h"

#include <string.h>

/* The quark name is stringified as written: keep clang-format off it. */
// clang-format off
G_DEFINE_QUARK(canary-envelope-error-quark, canary_envelope_error)
// clang-format on

/* Field names. Each is also the associated data of its ciphertext. */
#define FIELD_KEY_SECTION   "key/content/section"
#define FIELD_KEY_TRIAGE    "key/content/triage"
#define FIELD_KEY_CUSTODIAN "key/identity/custodian"
#define FIELD_SUBJECT       "subject"
#define FIELD_TEXT          "text"
#define FIELD_ATTACHMENTS   "attachments"
#define FIELD_ROUTING       "routing"
#define FIELD_IDENTITY      "identity"
#define FIELD_RAW           "raw"
/* With attachments, the raw message is stored as the rest: its bytes
 * without its attachments' encoded spans, which are "attachment/N"
 * themselves. Those are sealed under a key of their own, wrapped under the
 * content key and under the identity key, so that section officers and
 * the custodian open the same ciphertext (cases sealed before, and
 * messages without attachments, have the whole "raw" instead). */
#define FIELD_RAW_REST      "raw/rest"
#define FIELD_KEY_ATTACHMENTS_CONTENT  "key/attachments/content"
#define FIELD_KEY_ATTACHMENTS_IDENTITY "key/attachments/identity"
#define FIELD_META          "meta"
#define FIELD_KEY_META_CONTENT   "key/meta/content"  /* wrapped under the content key */
#define FIELD_KEY_META_IDENTITY  "key/meta/identity" /* wrapped under the identity key */
/* Sealed to the public keys: before wrapping, and without a case's keys. */
#define FIELD_KEY_META_SECTION   "key/meta/section"
#define FIELD_KEY_META_TRIAGE    "key/meta/triage"
#define FIELD_KEY_META_CUSTODIAN "key/meta/custodian"

/* The copies of the content key (section, triage) and of the identity key. */
static const char *const content_key_fields[] = {FIELD_KEY_SECTION, FIELD_KEY_TRIAGE};
static const char *const identity_key_fields[] = {FIELD_KEY_CUSTODIAN};

#define META_VERSION 1
#define META_TYPE    "(yxxtms)"

/* Notes: "note.N" under its own key, "key/note.N/section" and ".../triage". */
#define NOTE_VERSION 1
#define NOTE_TYPE    "(yxss)"

/* Version 2 adds each attachment's transfer encoding: its sealed bytes
 * are what the raw message holds, decoded when opened. */
#define MANIFEST_VERSION   2
#define MANIFEST_TYPE      "(ya(mssty))"
#define MANIFEST_V1_TYPE   "(ya(msst))"

/* "raw/rest": a version byte, the number of spans cut out (32 bits), each
 * span's offset in the raw message (64 bits) and attachment number (32
 * bits), all little-endian, then the bytes left. */
#define RAW_REST_VERSION 1
#define RAW_REST_HEAD    5
#define RAW_REST_SPAN    12

void canary_case_content_free(struct canary_case_content *content)
{
	if (content == NULL)
		return;
	canary_wipe_free(content->subject);
	canary_wipe_free(content->text);
	canary_wipe_free(content->routing);
	if (content->attachments != NULL)
		g_ptr_array_unref(content->attachments);
	g_free(content);
}

/* Frees an attachment listing entry. */
static void attachment_info_free(struct canary_attachment_info *info)
{
	canary_wipe_free(info->filename);
	g_free(info->content_type);
	g_free(info);
}

/* Returns "attachment/N". New string. */
static char *attachment_field(guint index)
{
	return g_strdup_printf("attachment/%u", index);
}

char *canary_envelope_message_prefix(guint number)
{
	return number <= 1 ? g_strdup("") : g_strdup_printf("message.%u/", number);
}

/* Where the fields being sealed go: a case, and the prefix of one of its
 * messages ("" for the first). */
struct target {
	struct canary_store *store;
	gint64 case_id;
	char prefix[32]; /* "message.4294967295/" at most */
};

static struct target target_of(struct canary_store *store, gint64 case_id, guint message)
{
	struct target t = {store, case_id, ""};
	if (message > 1)
		g_snprintf(t.prefix, sizeof t.prefix, "message.%u/", message);
	return t;
}

/* Encrypts LEN bytes at PLAIN as FIELD of T and stores them. */
static gboolean put_sealed(const struct target *t, const struct canary_content_key *key,
			   const char *field, const void *plain, gsize len, GError **error)
{
	g_autofree char *name = g_strconcat(t->prefix, field, NULL);
	g_autoptr(GBytes) sealed = canary_seal_encrypt(key, t->case_id, name, plain, len);
	return canary_store_put_blob(t->store, t->case_id, name, sealed, error);
}

/* One key of a message's envelope and its copies sealed so far, by
 * recipient. */
struct made_key {
	struct canary_content_key *key;
	const struct canary_public_key *to[3];
	GBytes *copy[3];
};

/* Makes a key and seals it with SEALER to each of the recipients TO[0..N)
 * not NULL (SEALER may be NULL when N is 0). */
static void made_key_init(struct made_key *m, const struct canary_public_key *const *to, gsize n,
			  struct canary_key_sealer *sealer)
{
	*m = (struct made_key){.key = canary_content_key_new()};
	for (gsize i = 0; i < n && i < G_N_ELEMENTS(m->to); i++) {
		if (to[i] == NULL)
			continue;
		m->to[i] = to[i];
		m->copy[i] = canary_key_sealer_seal(sealer, m->key, to[i]);
	}
}

static void made_key_clear(struct made_key *m)
{
	for (gsize i = 0; i < G_N_ELEMENTS(m->copy); i++)
		g_clear_pointer(&m->copy[i], g_bytes_unref);
	g_clear_pointer(&m->key, canary_content_key_free);
}

/* M's key sealed to RECIPIENT: the copy made ahead, or one made now. */
static GBytes *made_key_copy(const struct made_key *m, const struct canary_public_key *recipient)
{
	for (gsize i = 0; i < G_N_ELEMENTS(m->to); i++)
		if (m->to[i] == recipient && m->copy[i] != NULL)
			return g_bytes_ref(m->copy[i]);
	return canary_content_key_seal(m->key, recipient);
}

typedef struct made_key made_key;
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(made_key, made_key_clear)

enum { KEY_CONTENT, KEY_IDENTITY, KEY_META, KEY_ATTACHMENTS, KEY_KINDS };

struct canary_envelope_keys {
	struct made_key made[KEY_KINDS];
};

struct canary_envelope_keys *canary_envelope_keys_new(const struct canary_envelope_recipients *to)
{
	struct canary_envelope_keys *keys = g_new0(struct canary_envelope_keys, 1);
	const struct canary_public_key *content[] = {to->section, to->section ? to->triage : NULL};
	const struct canary_public_key *identity[] = {to->custodian};
	/* One ephemeral key pair for this message's sealed keys. */
	g_autoptr(canary_key_sealer) sealer = canary_key_sealer_new();
	made_key_init(&keys->made[KEY_CONTENT], content, G_N_ELEMENTS(content), sealer);
	made_key_init(&keys->made[KEY_IDENTITY], identity, G_N_ELEMENTS(identity), sealer);
	/* Wrapped under the other two when stored: no copies of their own. */
	made_key_init(&keys->made[KEY_META], NULL, 0, sealer);
	made_key_init(&keys->made[KEY_ATTACHMENTS], NULL, 0, sealer);
	return keys;
}

void canary_envelope_keys_free(struct canary_envelope_keys *keys)
{
	if (keys == NULL)
		return;
	for (gsize i = 0; i < KEY_KINDS; i++)
		made_key_clear(&keys->made[i]);
	g_free(keys);
}

/* KIND's key of KEYS, or, without KEYS, a new one in *FRESH (cleared by the
 * caller) sealed when it is stored. */
static const struct made_key *key_of(const struct canary_envelope_keys *keys, int kind,
				     struct made_key *fresh)
{
	if (keys != NULL)
		return &keys->made[kind];
	made_key_init(fresh, NULL, 0, NULL);
	return fresh;
}

/* Stores M's key sealed to RECIPIENT as FIELD of T. */
static gboolean put_key(const struct target *t, const char *field, const struct made_key *m,
			const struct canary_public_key *recipient, GError **error)
{
	g_autofree char *name = g_strconcat(t->prefix, field, NULL);
	g_autoptr(GBytes) sealed = made_key_copy(m, recipient);
	return canary_store_put_blob(t->store, t->case_id, name, sealed, error);
}

/* Stores M's key wrapped under WRAPPING as FIELD of T. */
static gboolean put_wrapped_key(const struct target *t, const char *field,
				const struct made_key *m, const struct canary_content_key *wrapping,
				GError **error)
{
	g_autofree char *name = g_strconcat(t->prefix, field, NULL);
	g_autoptr(GBytes) wrapped = canary_content_key_wrap(m->key, wrapping, t->case_id, name);
	return canary_store_put_blob(t->store, t->case_id, name, wrapped, error);
}

/* Whether a message's attachments are sealed as spans of its raw message
 * under a key of their own (KEYS, made ahead, has one to wrap under the
 * content and identity keys), or decoded under the content key. */
static gboolean attachments_apart(const struct canary_envelope_keys *keys,
				  const GPtrArray *attachments)
{
	return keys != NULL && attachments != NULL && attachments->len > 0;
}

/* The bytes attachment A is sealed as: its span of the raw message when
 * APART and it has one, else its decoded content. Borrowed. */
static GBytes *attachment_sealed_bytes(struct canary_attachment *a, gboolean apart)
{
	return apart && a->encoded != NULL ? a->encoded : canary_attachment_data(a);
}

/* Builds the attachment list (names, types, decoded sizes, the encoding
 * of the bytes sealed) as a GVariant. */
static GVariant *manifest_new(const GPtrArray *attachments, char *const *names, gboolean apart)
{
	GVariantBuilder list;
	g_variant_builder_init(&list, G_VARIANT_TYPE("a(mssty)"));
	for (guint i = 0; i < attachments->len; i++) {
		const struct canary_attachment *a = attachments->pdata[i];
		guint8 encoding = apart && a->encoded != NULL ? (guint8)a->encoding
							      : (guint8)CANARY_ENCODING_NONE;
		g_variant_builder_add(&list, "(mssty)", names[i],
				      a->content_type != NULL ? a->content_type
							      : "application/octet-stream",
				      (guint64)a->size, encoding);
	}
	return g_variant_new("(y@a(mssty))", MANIFEST_VERSION, g_variant_builder_end(&list));
}

gboolean canary_envelope_seal_content(struct canary_store *store, gint64 case_id,
				      const struct canary_envelope_recipients *to,
				      const char *subject, const char *text,
				      const GPtrArray *attachments, char *const *names,
				      const char *routing, GError **error)
{
	return canary_envelope_seal_message_content(store, case_id, 1, to, NULL, subject, text,
						    attachments, names, routing, error);
}

gboolean canary_envelope_seal_message_content(struct canary_store *store, gint64 case_id,
					      guint message,
					      const struct canary_envelope_recipients *to,
					      const struct canary_envelope_keys *keys,
					      const char *subject, const char *text,
					      const GPtrArray *attachments, char *const *names,
					      const char *routing, GError **error)
{
	struct target where = target_of(store, case_id, message);
	const struct target *t = &where;
	g_auto(made_key) fresh = {0};
	const struct made_key *made = key_of(keys, KEY_CONTENT, &fresh);
	const struct canary_content_key *key = made->key;
	if (!put_key(t, FIELD_KEY_SECTION, made, to->section, error))
		return FALSE;
	if (to->triage != NULL &&
	    !put_key(t, FIELD_KEY_TRIAGE, made, to->triage, error))
		return FALSE;
	if (subject != NULL &&
	    !put_sealed(t, key, FIELD_SUBJECT, subject, strlen(subject), error))
		return FALSE;
	if (!put_sealed(t, key, FIELD_TEXT, text, strlen(text), error))
		return FALSE;
	if (routing != NULL &&
	    !put_sealed(t, key, FIELD_ROUTING, routing, strlen(routing), error))
		return FALSE;

	gboolean apart = attachments_apart(keys, attachments);
	const struct canary_content_key *attachment_key = key;
	if (apart) {
		const struct made_key *own = &keys->made[KEY_ATTACHMENTS];
		if (!put_wrapped_key(t, FIELD_KEY_ATTACHMENTS_CONTENT, own, key, error))
			return FALSE;
		attachment_key = own->key;
	}
	g_autoptr(GVariant) manifest = g_variant_ref_sink(manifest_new(attachments, names, apart));
	gboolean ok = put_sealed(t, key, FIELD_ATTACHMENTS,
				 g_variant_get_data(manifest), g_variant_get_size(manifest), error);
	/* The manifest holds file names: wipe our copy. */
	canary_wipe((void *)g_variant_get_data(manifest), g_variant_get_size(manifest));
	for (guint i = 0; ok && i < attachments->len; i++) {
		g_autofree char *field = attachment_field(i);
		gsize len = 0;
		const void *data =
			g_bytes_get_data(attachment_sealed_bytes(attachments->pdata[i], apart), &len);
		ok = put_sealed(t, attachment_key, field, data, len, error);
	}
	return ok;
}

gboolean canary_envelope_seal_identity(struct canary_store *store, gint64 case_id,
				       const struct canary_envelope_recipients *to,
				       const struct canary_identity *identity, GBytes *raw,
				       GError **error)
{
	return canary_envelope_seal_message_identity(store, case_id, 1, to, NULL, identity, raw,
						     NULL, error);
}

/* A span of the raw message that an attachment's sealed bytes stand in for. */
struct raw_span {
	gsize offset, length;
	guint32 attachment;
};

static gint span_order(gconstpointer a, gconstpointer b)
{
	const struct raw_span *x = a, *y = b;
	return x->offset < y->offset ? -1 : x->offset > y->offset;
}

/* The "raw/rest" record of RAW: its bytes without the spans ATTACHMENTS
 * stand in (in order; one overlapping an earlier span stays in the rest).
 * New array; wipe it. */
static GByteArray *raw_rest_new(GBytes *raw, const GPtrArray *attachments)
{
	g_autoptr(GArray) spans = g_array_new(FALSE, FALSE, sizeof(struct raw_span));
	for (guint i = 0; i < attachments->len; i++) {
		const struct canary_attachment *a = attachments->pdata[i];
		if (a->encoded != NULL)
			g_array_append_val(spans, ((struct raw_span){a->encoded_offset,
								     g_bytes_get_size(a->encoded), i}));
	}
	g_array_sort(spans, span_order);
	gsize raw_len = 0;
	const guint8 *bytes = g_bytes_get_data(raw, &raw_len);
	gsize kept = 0, cut = 0, end = 0;
	for (guint i = 0; i < spans->len; i++) {
		const struct raw_span *s = &g_array_index(spans, struct raw_span, i);
		if (s->offset < end || s->offset > raw_len || s->length > raw_len - s->offset)
			continue;
		g_array_index(spans, struct raw_span, kept++) = *s;
		cut += s->length;
		end = s->offset + s->length;
	}
	g_array_set_size(spans, kept);
	gsize size = RAW_REST_HEAD + kept * RAW_REST_SPAN + raw_len - cut;
	GByteArray *rest = g_byte_array_sized_new((guint)size);
	g_byte_array_set_size(rest, (guint)size);
	guint8 *out = rest->data;
	*out++ = RAW_REST_VERSION;
	canary_put_le32(out, (guint32)kept);
	out += 4;
	for (guint i = 0; i < kept; i++, out += RAW_REST_SPAN) {
		const struct raw_span *s = &g_array_index(spans, struct raw_span, i);
		canary_put_le64(out, s->offset);
		canary_put_le32(out + 8, s->attachment);
	}
	gsize from = 0;
	for (guint i = 0; i <= kept; i++) {
		const struct raw_span *s = i < kept ? &g_array_index(spans, struct raw_span, i) : NULL;
		gsize upto = s != NULL ? s->offset : raw_len;
		memcpy(out, bytes + from, upto - from);
		out += upto - from;
		from = s != NULL ? s->offset + s->length : raw_len;
	}
	return rest;
}

gboolean canary_envelope_seal_message_identity(struct canary_store *store, gint64 case_id,
					       guint message,
					       const struct canary_envelope_recipients *to,
					       const struct canary_envelope_keys *keys,
					       const struct canary_identity *identity, GBytes *raw,
					       const GPtrArray *attachments, GError **error)
{
	struct target where = target_of(store, case_id, message);
	const struct target *t = &where;
	g_auto(made_key) fresh = {0};
	const struct made_key *made = key_of(keys, KEY_IDENTITY, &fresh);
	const struct canary_content_key *key = made->key;
	if (!put_key(t, FIELD_KEY_CUSTODIAN, made, to->custodian, error))
		return FALSE;
	g_autoptr(GBytes) record = canary_identity_serialize(identity);
	gsize len = 0;
	const void *data = g_bytes_get_data(record, &len);
	if (!put_sealed(t, key, FIELD_IDENTITY, data, len, error))
		return FALSE;
	if (!attachments_apart(keys, attachments)) {
		data = g_bytes_get_data(raw, &len);
		return put_sealed(t, key, FIELD_RAW, data, len, error);
	}
	if (!put_wrapped_key(t, FIELD_KEY_ATTACHMENTS_IDENTITY, &keys->made[KEY_ATTACHMENTS], key,
			     error))
		return FALSE;
	GByteArray *rest = raw_rest_new(raw, attachments);
	gboolean ok = put_sealed(t, key, FIELD_RAW_REST, rest->data, rest->len, error);
	canary_wipe_byte_array(rest);
	return ok;
}

/* --- A case's sealed blobs, by field ------------------------------------ */

struct canary_sealed_case *canary_sealed_case_new(gint64 case_id)
{
	struct canary_sealed_case *sc = g_new0(struct canary_sealed_case, 1);
	sc->case_id = case_id;
	sc->blobs = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
					  (GDestroyNotify)g_bytes_unref);
	return sc;
}

void canary_sealed_case_free(struct canary_sealed_case *sc)
{
	if (sc == NULL)
		return;
	g_hash_table_unref(sc->blobs);
	g_free(sc->prefix);
	g_free(sc);
}

struct canary_sealed_case *canary_sealed_case_message(const struct canary_sealed_case *sc,
						      guint number)
{
	g_autofree char *prefix = canary_envelope_message_prefix(number);
	struct canary_sealed_case *view = canary_sealed_case_new(sc->case_id);
	GHashTableIter iter;
	gpointer field, blob;
	g_hash_table_iter_init(&iter, sc->blobs);
	while (g_hash_table_iter_next(&iter, &field, &blob)) {
		const char *name = field;
		if (*prefix == '\0') {
			/* Message 1: what is not another message's. */
			if (!g_str_has_prefix(name, "message."))
				canary_sealed_case_put(view, name, blob);
		} else if (g_str_has_prefix(name, prefix)) {
			canary_sealed_case_put(view, name + strlen(prefix), blob);
		}
	}
	if (g_hash_table_size(view->blobs) == 0) {
		canary_sealed_case_free(view);
		return NULL;
	}
	view->prefix = g_steal_pointer(&prefix);
	return view;
}

void canary_sealed_case_put(struct canary_sealed_case *sc, const char *field, GBytes *blob)
{
	g_hash_table_replace(sc->blobs, g_strdup(field), g_bytes_ref(blob));
}

GBytes *canary_sealed_case_get(const struct canary_sealed_case *sc, const char *field)
{
	return g_hash_table_lookup(sc->blobs, field);
}

/* The prefix of the fields being loaded into a set: "" for the case and
 * its first message, "message.N/" for message N. */
static __thread const char *load_prefix = "";

/* Adds FIELD (after the prefix being loaded) of the case from the store to
 * SC. A missing field is no error when OPTIONAL; *FOUND_R (may be NULL) says
 * whether it was there. */
static gboolean load_field(struct canary_store *store, struct canary_sealed_case *sc,
			   const char *unprefixed, gboolean optional, gboolean *found_r,
			   GError **error)
{
	g_autofree char *field = g_strconcat(load_prefix, unprefixed, NULL);
	g_autoptr(GError) local = NULL;
	g_autoptr(GBytes) blob = canary_store_get_blob(store, sc->case_id, field, &local);
	if (found_r != NULL)
		*found_r = blob != NULL;
	if (blob != NULL) {
		/* Taken over, not copied: attachments can be large. */
		g_hash_table_replace(sc->blobs, g_steal_pointer(&field), g_steal_pointer(&blob));
		return TRUE;
	}
	if (optional && g_error_matches(local, CANARY_STORE_ERROR, CANARY_STORE_ERROR_NOT_FOUND))
		return TRUE;
	g_propagate_error(error, g_steal_pointer(&local));
	return FALSE;
}

static gboolean load_fields(struct canary_store *store, struct canary_sealed_case *sc,
			    const char *const *fields, gsize n, GError **error)
{
	for (gsize i = 0; i < n; i++)
		if (!load_field(store, sc, fields[i], TRUE, NULL, error))
			return FALSE;
	return TRUE;
}

/* The field names of note NUMBER: its ciphertext and its two sealed keys. */
static char *note_field(guint number)
{
	return g_strdup_printf("note.%u", number);
}

static char *note_key_field(guint number, const char *recipient)
{
	return g_strdup_printf("key/note.%u/%s", number, recipient);
}

/* Loads the notes (their key copies, and their text when TEXT) into SC. */
static gboolean load_notes(struct canary_store *store, struct canary_sealed_case *sc,
			   gboolean text, GError **error)
{
	for (guint number = 1;; number++) {
		g_autofree char *field = note_field(number);
		g_autofree char *section = note_key_field(number, "section");
		g_autofree char *triage = note_key_field(number, "triage");
		gboolean found = FALSE;
		if (!load_field(store, sc, field, TRUE, &found, error))
			return FALSE;
		if (!found)
			return TRUE;
		if (!text)
			g_hash_table_remove(sc->blobs, field);
		if (!load_field(store, sc, section, TRUE, NULL, error) ||
		    !load_field(store, sc, triage, TRUE, NULL, error))
			return FALSE;
	}
}

static gboolean load_draft_keys(struct canary_store *store, struct canary_sealed_case *sc,
				GError **error);

/* Adds the raw message to SC: whole, or its rest and the attachments it
 * was cut from, with their key wrapped under the identity key. */
static gboolean load_raw(struct canary_store *store, struct canary_sealed_case *sc,
			 GError **error)
{
	gboolean whole = FALSE, rest = FALSE;
	if (!load_field(store, sc, FIELD_RAW, TRUE, &whole, error) ||
	    (!whole && !load_field(store, sc, FIELD_RAW_REST, TRUE, &rest, error)))
		return FALSE;
	if (!rest)
		return TRUE;
	if (!load_field(store, sc, FIELD_KEY_ATTACHMENTS_IDENTITY, TRUE, NULL, error))
		return FALSE;
	for (guint index = 0;; index++) {
		g_autofree char *field = attachment_field(index);
		gboolean found = FALSE;
		if (!load_field(store, sc, field, TRUE, &found, error))
			return FALSE;
		if (!found)
			return TRUE;
	}
}

gboolean canary_envelope_load(struct canary_store *store, guint parts,
			      struct canary_sealed_case *sc, GError **error)
{
	static const char *const content[] = {FIELD_SUBJECT, FIELD_TEXT, FIELD_ROUTING,
					      FIELD_ATTACHMENTS};
	/* The wrapped copies open through the content or identity key. */
	static const char *const meta_keys[] = {
		FIELD_KEY_META_CONTENT, FIELD_KEY_META_IDENTITY, FIELD_KEY_SECTION,
		FIELD_KEY_TRIAGE,       FIELD_KEY_CUSTODIAN,     FIELD_KEY_META_SECTION,
		FIELD_KEY_META_TRIAGE,  FIELD_KEY_META_CUSTODIAN};
	static const char *const identity[] = {FIELD_KEY_CUSTODIAN, FIELD_IDENTITY};
	gboolean ok = TRUE;
	if (parts & (CANARY_ENVELOPE_CONTENT_KEYS | CANARY_ENVELOPE_SUBJECT |
		     CANARY_ENVELOPE_CONTENT | CANARY_ENVELOPE_MANIFEST))
		ok = load_fields(store, sc, content_key_fields, G_N_ELEMENTS(content_key_fields),
				 error) &&
		     load_field(store, sc, FIELD_KEY_ATTACHMENTS_CONTENT, TRUE, NULL, error);
	if (ok && (parts & CANARY_ENVELOPE_SUBJECT))
		ok = load_field(store, sc, FIELD_SUBJECT, TRUE, NULL, error);
	if (ok && (parts & CANARY_ENVELOPE_MANIFEST))
		ok = load_field(store, sc, FIELD_ATTACHMENTS, TRUE, NULL, error);
	if (ok && (parts & CANARY_ENVELOPE_CONTENT))
		ok = load_fields(store, sc, content, G_N_ELEMENTS(content), error);
	if (ok && (parts & (CANARY_ENVELOPE_META_KEYS | CANARY_ENVELOPE_META)))
		ok = load_fields(store, sc, meta_keys, G_N_ELEMENTS(meta_keys), error);
	if (ok && (parts & CANARY_ENVELOPE_META))
		ok = load_field(store, sc, FIELD_META, TRUE, NULL, error);
	if (ok && (parts & (CANARY_ENVELOPE_NOTE_KEYS | CANARY_ENVELOPE_NOTES)))
		ok = load_notes(store, sc, (parts & CANARY_ENVELOPE_NOTES) != 0, error);
	if (ok && (parts & CANARY_ENVELOPE_IDENTITY))
		ok = load_fields(store, sc, identity, G_N_ELEMENTS(identity), error);
	if (ok && (parts & CANARY_ENVELOPE_IDENTITY_KEY))
		ok = load_field(store, sc, FIELD_KEY_CUSTODIAN, TRUE, NULL, error);
	if (ok && (parts & CANARY_ENVELOPE_RAW))
		ok = load_raw(store, sc, error);
	if (ok && (parts & CANARY_ENVELOPE_DRAFT_KEYS))
		ok = load_draft_keys(store, sc, error);
	return ok;
}

gboolean canary_envelope_load_message(struct canary_store *store, guint number, guint parts,
				      struct canary_sealed_case *sc, GError **error)
{
	g_return_val_if_fail(number >= 2, FALSE);
	g_autofree char *prefix = canary_envelope_message_prefix(number);
	load_prefix = prefix;
	/* Notes belong to the case, not to one of its messages. */
	gboolean ok = canary_envelope_load(store,
					   parts & ~(guint)(CANARY_ENVELOPE_NOTE_KEYS |
							    CANARY_ENVELOPE_NOTES |
							    CANARY_ENVELOPE_DRAFT_KEYS),
					   sc, error);
	load_prefix = "";
	return ok;
}

gboolean canary_envelope_load_message_attachment(struct canary_store *store, guint number,
						 guint index, struct canary_sealed_case *sc,
						 GError **error)
{
	/* Loading the attachment also loads the manifest and content keys. */
	if (number <= 1)
		return canary_envelope_load_attachment(store, index, sc, error);
	g_autofree char *prefix = canary_envelope_message_prefix(number);
	load_prefix = prefix;
	gboolean ok = canary_envelope_load_attachment(store, index, sc, error);
	load_prefix = "";
	return ok;
}

gboolean canary_envelope_load_attachment(struct canary_store *store, guint index,
					 struct canary_sealed_case *sc, GError **error)
{
	g_autofree char *field = attachment_field(index);
	gboolean found = FALSE;
	if (!canary_envelope_load(store, CANARY_ENVELOPE_MANIFEST, sc, error) ||
	    !load_field(store, sc, field, TRUE, &found, error))
		return FALSE;
	if (!found)
		g_set_error(error, CANARY_ENVELOPE_ERROR, CANARY_ENVELOPE_ERROR_NO_SUCH,
			    "this case has no attachment %u", index + 1);
	return found;
}

/* --- Opening, in the officer's process ---------------------------------- */

/* Opens the key copy FIELD with SECRET. Returns NULL without an error
 * when the field is missing or SECRET is not its recipient. */
static struct canary_content_key *try_key(const struct canary_sealed_case *sc, const char *field,
					  const struct canary_secret_key *secret, GError **error)
{
	GBytes *sealed = canary_sealed_case_get(sc, field);
	if (sealed == NULL)
		return NULL;
	g_autoptr(GError) local = NULL;
	struct canary_content_key *key = canary_content_key_open(sealed, secret, &local);
	if (key == NULL && !g_error_matches(local, CANARY_SEAL_ERROR, CANARY_SEAL_ERROR_WRONG_KEY))
		g_propagate_error(error, g_steal_pointer(&local));
	return key;
}

/* Opens the first of FIELDS that SECRET opens: NULL without an error when
 * it opens none. *WHICH_R (may be NULL) is the index of that field. */
static struct canary_content_key *try_keys(const struct canary_sealed_case *sc,
					   const char *const *fields, gsize n,
					   const struct canary_secret_key *secret, gsize *which_r,
					   GError **error)
{
	for (gsize i = 0; i < n; i++) {
		GError *local = NULL;
		struct canary_content_key *key = try_key(sc, fields[i], secret, &local);
		if (local != NULL) {
			g_propagate_error(error, local);
			return NULL;
		}
		if (key != NULL) {
			if (which_r != NULL)
				*which_r = i;
			return key;
		}
	}
	return NULL;
}

/* FIELD's whole name, under which it is sealed: a message's fields carry
 * the message's prefix. New string. */
static char *whole_name(const struct canary_sealed_case *sc, const char *field)
{
	return g_strconcat(sc->prefix != NULL ? sc->prefix : "", field, NULL);
}

/* FIELD of SC; NULL with FORMAT when SC lacks it. */
static GBytes *required_field(const struct canary_sealed_case *sc, const char *field,
			      GError **error)
{
	GBytes *blob = canary_sealed_case_get(sc, field);
	if (blob == NULL)
		g_set_error(error, CANARY_ENVELOPE_ERROR, CANARY_ENVELOPE_ERROR_FORMAT,
			    "the sealed field %s of this case is missing", field);
	return blob;
}

/* Opens the key wrapped as FIELD under WRAPPING; FORMAT when SC lacks it. */
static struct canary_content_key *unwrap_field(const struct canary_sealed_case *sc,
					       const char *field,
					       const struct canary_content_key *wrapping,
					       GError **error)
{
	GBytes *wrapped = required_field(sc, field, error);
	if (wrapped == NULL)
		return NULL;
	g_autofree char *name = whole_name(sc, field);
	return canary_content_key_unwrap(wrapped, wrapping, sc->case_id, name, error);
}

/* Opens the content key with a section or triage SECRET. */
static struct canary_content_key *open_content_key(const struct canary_sealed_case *sc,
						   const struct canary_secret_key *secret,
						   GError **error)
{
	GError *local = NULL;
	struct canary_content_key *key = try_keys(
		sc, content_key_fields, G_N_ELEMENTS(content_key_fields), secret, NULL, &local);
	if (key == NULL && local == NULL)
		g_set_error(&local, CANARY_ENVELOPE_ERROR, CANARY_ENVELOPE_ERROR_NO_ACCESS,
			    "key %s opens neither the section's nor the triage copy of this case",
			    canary_secret_key_public(secret)->id);
	if (local != NULL)
		g_propagate_error(error, local);
	return key;
}

/* Decrypts FIELD. Missing fields give NULL with no error when OPTIONAL. */
static GBytes *get_sealed(const struct canary_sealed_case *sc,
			  const struct canary_content_key *key, const char *field,
			  gboolean optional, GError **error)
{
	GBytes *sealed =
		optional ? canary_sealed_case_get(sc, field) : required_field(sc, field, error);
	if (sealed == NULL)
		return NULL;
	g_autofree char *name = whole_name(sc, field);
	return canary_seal_decrypt(key, sc->case_id, name, sealed, error);
}

/* Decrypts FIELD as UTF-8 text. Returns a new string (wipe it), or NULL. */
static char *get_text(const struct canary_sealed_case *sc, const struct canary_content_key *key,
		      const char *field, gboolean optional, GError **error)
{
	g_autoptr(GBytes) plain = get_sealed(sc, key, field, optional, error);
	if (plain == NULL)
		return NULL;
	gsize len = 0;
	const char *data = g_bytes_get_data(plain, &len);
	char *text = g_malloc(len + 1);
	if (len > 0)
		memcpy(text, data, len);
	text[len] = '\0';
	return text;
}

/* Parses the sealed attachment list (its first byte, the version, says
 * its type). Returns a new array or NULL. */
static GPtrArray *parse_manifest(GBytes *plain, GError **error)
{
	gsize len = 0;
	const guint8 *data = g_bytes_get_data(plain, &len);
	guint8 version = len > 0 ? data[0] : 0;
	if (version != 1 && version != MANIFEST_VERSION) {
		g_set_error(error, CANARY_ENVELOPE_ERROR, CANARY_ENVELOPE_ERROR_FORMAT,
			    "attachment list of version %u is not known to this canary", version);
		return NULL;
	}
	const char *type = version == 1 ? MANIFEST_V1_TYPE : MANIFEST_TYPE;
	g_autoptr(GVariant) v = g_variant_ref_sink(
		g_variant_new_from_bytes(G_VARIANT_TYPE(type), plain, FALSE));
	g_autoptr(GVariant) list = g_variant_get_child_value(v, 1);
	GPtrArray *infos = g_ptr_array_new_with_free_func((GDestroyNotify)attachment_info_free);
	GVariantIter iter;
	g_variant_iter_init(&iter, list);
	for (GVariant *entry; (entry = g_variant_iter_next_value(&iter)) != NULL;) {
		const char *name = NULL, *content_type = NULL;
		guint64 size = 0;
		guint8 encoding = CANARY_ENCODING_NONE;
		if (version == 1)
			g_variant_get(entry, "(m&s&st)", &name, &content_type, &size);
		else
			g_variant_get(entry, "(m&s&sty)", &name, &content_type, &size, &encoding);
		struct canary_attachment_info *info = g_new0(struct canary_attachment_info, 1);
		info->filename = g_strdup(name);
		info->content_type = g_strdup(content_type);
		info->size = size;
		info->encoding = encoding;
		g_ptr_array_add(infos, info);
		g_variant_unref(entry);
	}
	return infos;
}

struct canary_case_content *canary_sealed_open_content(const struct canary_sealed_case *sc,
						       const struct canary_secret_key *secret,
						       GError **error)
{
	g_autoptr(canary_content_key) key = open_content_key(sc, secret, error);
	if (key == NULL)
		return NULL;
	g_autoptr(canary_case_content) content = g_new0(struct canary_case_content, 1);
	GError *local = NULL;
	content->subject = get_text(sc, key, FIELD_SUBJECT, TRUE, &local);
	if (local == NULL)
		content->text = get_text(sc, key, FIELD_TEXT, FALSE, &local);
	if (local == NULL)
		content->routing = get_text(sc, key, FIELD_ROUTING, TRUE, &local);
	if (local == NULL) {
		g_autoptr(GBytes) manifest = get_sealed(sc, key, FIELD_ATTACHMENTS, FALSE, &local);
		if (manifest != NULL)
			content->attachments = parse_manifest(manifest, &local);
	}
	if (local != NULL) {
		g_propagate_error(error, local);
		return NULL;
	}
	return g_steal_pointer(&content);
}

char *canary_sealed_open_subject(const struct canary_sealed_case *sc,
				 const struct canary_secret_key *secret, GError **error)
{
	g_autoptr(canary_content_key) key = open_content_key(sc, secret, error);
	if (key == NULL)
		return NULL;
	GError *local = NULL;
	char *subject = get_text(sc, key, FIELD_SUBJECT, TRUE, &local);
	if (local != NULL) {
		g_propagate_error(error, local);
		return NULL;
	}
	return subject != NULL ? subject : g_strdup("");
}

GPtrArray *canary_sealed_open_manifest(const struct canary_sealed_case *sc,
				       const struct canary_secret_key *secret, GError **error)
{
	g_autoptr(canary_content_key) key = open_content_key(sc, secret, error);
	if (key == NULL)
		return NULL;
	g_autoptr(GBytes) manifest = get_sealed(sc, key, FIELD_ATTACHMENTS, FALSE, error);
	return manifest != NULL ? parse_manifest(manifest, error) : NULL;
}

GBytes *canary_sealed_open_attachment(const struct canary_sealed_case *sc,
				      const struct canary_secret_key *secret, guint index,
				      GError **error)
{
	g_autoptr(canary_content_key) key = open_content_key(sc, secret, error);
	if (key == NULL)
		return NULL;
	g_autofree char *field = attachment_field(index);
	if (canary_sealed_case_get(sc, field) == NULL) {
		g_set_error(error, CANARY_ENVELOPE_ERROR, CANARY_ENVELOPE_ERROR_NO_SUCH,
			    "this case has no attachment %u", index + 1);
		return NULL;
	}
	/* Older cases: the decoded bytes, under the content key. */
	if (canary_sealed_case_get(sc, FIELD_KEY_ATTACHMENTS_CONTENT) == NULL)
		return get_sealed(sc, key, field, FALSE, error);
	g_autoptr(canary_content_key) own =
		unwrap_field(sc, FIELD_KEY_ATTACHMENTS_CONTENT, key, error);
	g_autoptr(GBytes) manifest =
		own != NULL ? get_sealed(sc, key, FIELD_ATTACHMENTS, FALSE, error) : NULL;
	g_autoptr(GPtrArray) infos = manifest != NULL ? parse_manifest(manifest, error) : NULL;
	if (infos == NULL)
		return NULL;
	if (index >= infos->len) {
		g_set_error(error, CANARY_ENVELOPE_ERROR, CANARY_ENVELOPE_ERROR_FORMAT,
			    "attachment %u is not in this case's attachment list", index + 1);
		return NULL;
	}
	const struct canary_attachment_info *info = infos->pdata[index];
	g_autoptr(GBytes) sealed = get_sealed(sc, own, field, FALSE, error);
	if (sealed == NULL)
		return NULL;
	if (info->encoding > CANARY_ENCODING_LAST) {
		g_set_error(error, CANARY_ENVELOPE_ERROR, CANARY_ENVELOPE_ERROR_FORMAT,
			    "attachment %u has an encoding (%u) not known to this canary",
			    index + 1, info->encoding);
		return NULL;
	}
	if (info->encoding == CANARY_ENCODING_NONE)
		return g_steal_pointer(&sealed);
	gsize len = 0;
	const void *data = g_bytes_get_data(sealed, &len);
	return canary_mail_decode(info->encoding, data, len);
}

static void set_damaged_raw(GError **error, const char *what)
{
	g_set_error(error, CANARY_ENVELOPE_ERROR, CANARY_ENVELOPE_ERROR_FORMAT,
		    "the raw message of this case is damaged: %s", what);
}

/* The raw message put back together from "raw/rest" and the attachments
 * cut from it, with the custodian's IDENTITY key: new bytes, wiped when
 * freed, or NULL with FORMAT when the record does not add up. */
static GBytes *open_raw_rest(const struct canary_sealed_case *sc,
			     const struct canary_content_key *identity, GError **error)
{
	g_autoptr(canary_content_key) own =
		unwrap_field(sc, FIELD_KEY_ATTACHMENTS_IDENTITY, identity, error);
	g_autoptr(GBytes) record = own != NULL ? get_sealed(sc, identity, FIELD_RAW_REST, FALSE,
							    error)
					       : NULL;
	if (record == NULL)
		return NULL;
	gsize len = 0;
	const guint8 *p = g_bytes_get_data(record, &len);
	if (len < RAW_REST_HEAD || p[0] != RAW_REST_VERSION) {
		set_damaged_raw(error, "unknown record");
		return NULL;
	}
	guint32 n = canary_get_le32(p + 1);
	if (n > (len - RAW_REST_HEAD) / RAW_REST_SPAN) {
		set_damaged_raw(error, "truncated record");
		return NULL;
	}
	const guint8 *span = p + RAW_REST_HEAD;
	const guint8 *rest = span + (gsize)n * RAW_REST_SPAN;
	gsize rest_len = len - (gsize)(rest - p);
	/* Each span's bytes, opened first to learn the whole size. */
	g_autoptr(GPtrArray) cut = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
	gsize total = rest_len;
	for (guint32 i = 0; i < n; i++) {
		g_autofree char *field = attachment_field(canary_get_le32(span + i * RAW_REST_SPAN + 8));
		GBytes *bytes = get_sealed(sc, own, field, FALSE, error);
		if (bytes == NULL)
			return NULL;
		g_ptr_array_add(cut, bytes);
		if (g_bytes_get_size(bytes) > G_MAXSIZE - total) {
			set_damaged_raw(error, "too large");
			return NULL;
		}
		total += g_bytes_get_size(bytes);
	}
	GByteArray *out = g_byte_array_sized_new((guint)MIN(total, (gsize)G_MAXUINT));
	gsize from = 0;
	for (guint32 i = 0; i <= n; i++) {
		guint64 offset = i < n ? canary_get_le64(span + i * RAW_REST_SPAN) : G_MAXUINT64;
		gsize gap = i < n ? (gsize)(offset - out->len) : rest_len - from;
		if (i < n && (offset < out->len || offset - out->len > rest_len - from)) {
			canary_wipe_byte_array(out);
			set_damaged_raw(error, "spans out of order");
			return NULL;
		}
		g_byte_array_append(out, rest + from, (guint)gap);
		from += gap;
		if (i < n) {
			gsize size = 0;
			const guint8 *bytes = g_bytes_get_data(cut->pdata[i], &size);
			g_byte_array_append(out, bytes, (guint)size);
		}
	}
	return canary_wipe_bytes_take(out);
}

struct canary_identity *canary_sealed_open_identity(const struct canary_sealed_case *sc,
						    const struct canary_secret_key *secret,
						    GBytes **raw_r, GError **error)
{
	GError *local = NULL;
	g_autoptr(canary_content_key) key = try_key(sc, FIELD_KEY_CUSTODIAN, secret, &local);
	if (key == NULL) {
		if (local != NULL)
			g_propagate_error(error, local);
		else
			g_set_error(error, CANARY_ENVELOPE_ERROR, CANARY_ENVELOPE_ERROR_NO_ACCESS,
				    "key %s is not the custodian key of this case",
				    canary_secret_key_public(secret)->id);
		return NULL;
	}
	g_autoptr(GBytes) record = get_sealed(sc, key, FIELD_IDENTITY, FALSE, error);
	if (record == NULL)
		return NULL;
	g_autoptr(canary_identity) identity = canary_identity_deserialize(record, error);
	if (identity == NULL)
		return NULL;
	if (raw_r != NULL) {
		*raw_r = canary_sealed_case_get(sc, FIELD_RAW_REST) != NULL
				 ? open_raw_rest(sc, key, error)
				 : get_sealed(sc, key, FIELD_RAW, FALSE, error);
		if (*raw_r == NULL)
			return NULL;
	}
	return g_steal_pointer(&identity);
}

/* Opens the key of note NUMBER with SECRET: NULL without an error when
 * SECRET is neither its section nor its triage recipient. */
static struct canary_content_key *open_note_key(const struct canary_sealed_case *sc,
						guint number,
						const struct canary_secret_key *secret,
						GError **error)
{
	g_autofree char *section = note_key_field(number, "section");
	g_autofree char *triage = note_key_field(number, "triage");
	const char *const fields[] = {section, triage};
	return try_keys(sc, fields, G_N_ELEMENTS(fields), secret, NULL, error);
}

void canary_case_note_free(struct canary_case_note *note)
{
	if (note == NULL)
		return;
	canary_wipe_free(note->author);
	canary_wipe_free(note->text);
	g_free(note);
}

/* The number the next note of SC gets: one past the last note.N in SC. */
static guint next_note(const struct canary_sealed_case *sc)
{
	guint number = 1;
	for (;; number++) {
		g_autofree char *field = note_field(number);
		if (canary_sealed_case_get(sc, field) == NULL)
			return number;
	}
}

gboolean canary_sealed_seal_note(struct canary_sealed_case *sc, guint number,
				 const struct canary_envelope_recipients *to, const char *author,
				 gint64 at, const char *text, GError **error)
{
	if (to->section == NULL) {
		g_set_error(error, CANARY_ENVELOPE_ERROR, CANARY_ENVELOPE_ERROR_NO_ACCESS,
			    "a note needs its section's public key");
		return FALSE;
	}
	g_autoptr(canary_content_key) key = canary_content_key_new();
	g_autofree char *section_field = note_key_field(number, "section");
	g_autoptr(GBytes) section = canary_content_key_seal(key, to->section);
	canary_sealed_case_put(sc, section_field, section);
	if (to->triage != NULL) {
		g_autofree char *triage_field = note_key_field(number, "triage");
		g_autoptr(GBytes) triage = canary_content_key_seal(key, to->triage);
		canary_sealed_case_put(sc, triage_field, triage);
	}
	g_autoptr(GVariant) record = g_variant_ref_sink(
		g_variant_new(NOTE_TYPE, (guint8)NOTE_VERSION, at, author, text));
	g_autofree char *field = note_field(number);
	g_autoptr(GBytes) sealed = canary_seal_encrypt(key, sc->case_id, field,
						       g_variant_get_data(record),
						       g_variant_get_size(record));
	canary_wipe((void *)g_variant_get_data(record), g_variant_get_size(record));
	canary_sealed_case_put(sc, field, sealed);
	return TRUE;
}

/* Decrypts note NUMBER with KEY into NOTE. */
static gboolean read_note(const struct canary_sealed_case *sc,
			  const struct canary_content_key *key, struct canary_case_note *note,
			  GError **error)
{
	g_autofree char *field = note_field(note->number);
	g_autoptr(GBytes) plain = get_sealed(sc, key, field, FALSE, error);
	if (plain == NULL)
		return FALSE;
	g_autoptr(GVariant) v = g_variant_ref_sink(
		g_variant_new_from_bytes(G_VARIANT_TYPE(NOTE_TYPE), plain, FALSE));
	guint8 version = 0;
	const char *author = NULL, *text = NULL;
	g_variant_get(v, "(yx&s&s)", &version, &note->at, &author, &text);
	if (version != NOTE_VERSION) {
		g_set_error(error, CANARY_ENVELOPE_ERROR, CANARY_ENVELOPE_ERROR_FORMAT,
			    "note %u is of version %u, not known to this canary", note->number,
			    version);
		return FALSE;
	}
	note->author = g_strdup(author);
	note->text = g_strdup(text);
	return TRUE;
}

GPtrArray *canary_sealed_open_notes(const struct canary_sealed_case *sc,
				    const struct canary_secret_key *secret, GError **error)
{
	g_autoptr(GPtrArray) notes =
		g_ptr_array_new_with_free_func((GDestroyNotify)canary_case_note_free);
	guint last = next_note(sc);
	for (guint number = 1; number < last; number++) {
		struct canary_case_note *note = g_new0(struct canary_case_note, 1);
		note->number = number;
		g_ptr_array_add(notes, note);
		GError *local = NULL;
		g_autoptr(canary_content_key) key = open_note_key(sc, number, secret, &local);
		if (local != NULL) {
			g_propagate_error(error, local);
			return NULL;
		}
		if (key != NULL && !read_note(sc, key, note, error))
			return NULL;
	}
	return g_steal_pointer(&notes);
}

void canary_case_meta_free(struct canary_case_meta *meta)
{
	if (meta == NULL)
		return;
	canary_wipe_free(meta->pseudonym);
	g_free(meta);
}

gboolean canary_envelope_seal_meta(struct canary_store *store, gint64 case_id,
				   const struct canary_envelope_recipients *to,
				   const struct canary_case_meta *meta, GError **error)
{
	return canary_envelope_seal_message_meta(store, case_id, 1, to, NULL, meta, error);
}

gboolean canary_envelope_seal_message_meta(struct canary_store *store, gint64 case_id,
					   guint message,
					   const struct canary_envelope_recipients *to,
					   const struct canary_envelope_keys *keys,
					   const struct canary_case_meta *meta, GError **error)
{
	struct target where = target_of(store, case_id, message);
	const struct target *t = &where;
	g_auto(made_key) fresh = {0};
	const struct made_key *made = key_of(keys, KEY_META, &fresh);
	const struct canary_content_key *key = made->key;
	if (keys != NULL) {
		if ((to->section != NULL &&
		     !put_wrapped_key(t, FIELD_KEY_META_CONTENT, made,
				      keys->made[KEY_CONTENT].key, error)) ||
		    !put_wrapped_key(t, FIELD_KEY_META_IDENTITY, made,
				     keys->made[KEY_IDENTITY].key, error))
			return FALSE;
	} else if ((to->section != NULL &&
		    !put_key(t, FIELD_KEY_META_SECTION, made, to->section, error)) ||
		   (to->triage != NULL &&
		    !put_key(t, FIELD_KEY_META_TRIAGE, made, to->triage, error)) ||
		   !put_key(t, FIELD_KEY_META_CUSTODIAN, made, to->custodian, error)) {
		return FALSE;
	}
	g_autoptr(GVariant) record = g_variant_ref_sink(
		g_variant_new(META_TYPE, (guint8)META_VERSION, meta->received_at,
			      meta->ingested_at, meta->size, meta->pseudonym));
	gboolean ok = put_sealed(t, key, FIELD_META, g_variant_get_data(record),
				 g_variant_get_size(record), error);
	/* The pseudonym is derived from the sender: wipe our copy. */
	canary_wipe((void *)g_variant_get_data(record), g_variant_get_size(record));
	return ok;
}

static const char *const meta_key_fields[] = {FIELD_KEY_META_SECTION, FIELD_KEY_META_TRIAGE,
					      FIELD_KEY_META_CUSTODIAN};

/* The key of the exact values, from the content key CONTENT or the
 * identity key IDENTITY that SECRET opened (either may be NULL), else from
 * a copy sealed to SECRET's public key (older cases). NULL without an
 * error when none of these opens it. */
static struct canary_content_key *meta_key_from(const struct canary_sealed_case *sc,
						const struct canary_secret_key *secret,
						const struct canary_content_key *content,
						const struct canary_content_key *identity,
						GError **error)
{
	const char *field = FIELD_KEY_META_CONTENT;
	const struct canary_content_key *wrapping = content;
	if (wrapping == NULL || canary_sealed_case_get(sc, field) == NULL) {
		field = FIELD_KEY_META_IDENTITY;
		wrapping = identity;
	}
	GBytes *wrapped = canary_sealed_case_get(sc, field);
	if (wrapping == NULL || wrapped == NULL)
		return try_keys(sc, meta_key_fields, G_N_ELEMENTS(meta_key_fields), secret, NULL,
				error);
	g_autofree char *name = whole_name(sc, field);
	return canary_content_key_unwrap(wrapped, wrapping, sc->case_id, name, error);
}

/* Opens the key of the exact values with SECRET: through the content key
 * (section, triage), the identity key (custodian), or a copy sealed to
 * SECRET's public key (older cases), opening only the keys that one of
 * the case's copies is wrapped under. NULL without an error when SECRET
 * opens none of these. */
static struct canary_content_key *open_meta_key(const struct canary_sealed_case *sc,
						const struct canary_secret_key *secret,
						GError **error)
{
	GError *local = NULL;
	g_autoptr(canary_content_key) content =
		canary_sealed_case_get(sc, FIELD_KEY_META_CONTENT) != NULL
			? try_keys(sc, content_key_fields, G_N_ELEMENTS(content_key_fields),
				   secret, NULL, &local)
			: NULL;
	g_autoptr(canary_content_key) identity =
		content == NULL && local == NULL &&
				canary_sealed_case_get(sc, FIELD_KEY_META_IDENTITY) != NULL
			? try_keys(sc, identity_key_fields, G_N_ELEMENTS(identity_key_fields),
				   secret, NULL, &local)
			: NULL;
	if (local != NULL) {
		g_propagate_error(error, local);
		return NULL;
	}
	return meta_key_from(sc, secret, content, identity, error);
}

struct canary_case_meta *canary_sealed_open_meta(const struct canary_sealed_case *sc,
						 const struct canary_secret_key *secret,
						 GError **error)
{
	GError *local = NULL;
	g_autoptr(canary_content_key) key = open_meta_key(sc, secret, &local);
	if (key == NULL) {
		if (local != NULL) {
			g_propagate_error(error, local);
			return NULL;
		}
		/* Every sealed set includes the custodian's way in. */
		if (canary_sealed_case_get(sc, FIELD_KEY_META_IDENTITY) != NULL ||
		    canary_sealed_case_get(sc, FIELD_KEY_META_CUSTODIAN) != NULL)
			g_set_error(error, CANARY_ENVELOPE_ERROR, CANARY_ENVELOPE_ERROR_NO_ACCESS,
				    "key %s opens none of the copies of this case's exact times "
				    "and size",
				    canary_secret_key_public(secret)->id);
		else
			g_set_error(error, CANARY_ENVELOPE_ERROR, CANARY_ENVELOPE_ERROR_NO_SUCH,
				    "this case's exact times and size are not sealed yet (a case "
				    "from before version 4 of the store: canaryd seals them when "
				    "it starts)");
		return NULL;
	}
	g_autoptr(GBytes) plain = get_sealed(sc, key, FIELD_META, FALSE, error);
	if (plain == NULL)
		return NULL;
	g_autoptr(GVariant) v = g_variant_ref_sink(
		g_variant_new_from_bytes(G_VARIANT_TYPE(META_TYPE), plain, FALSE));
	guint8 version = 0;
	const char *pseudonym = NULL;
	struct canary_case_meta *meta = g_new0(struct canary_case_meta, 1);
	g_variant_get(v, "(yxxtm&s)", &version, &meta->received_at, &meta->ingested_at,
		      &meta->size, &pseudonym);
	if (version != META_VERSION) {
		g_set_error(error, CANARY_ENVELOPE_ERROR, CANARY_ENVELOPE_ERROR_FORMAT,
			    "exact times and size of version %u are not known to this canary",
			    version);
		canary_case_meta_free(meta);
		return NULL;
	}
	meta->pseudonym = g_strdup(pseudonym);
	return meta;
}

gboolean canary_sealed_opens(const struct canary_sealed_case *sc,
			     const struct canary_secret_key *secret, guint *parts_r,
			     GError **error)
{
	*parts_r = 0;
	GError *local = NULL;
	g_autoptr(canary_content_key) content = try_keys(
		sc, content_key_fields, G_N_ELEMENTS(content_key_fields), secret, NULL, &local);
	g_autoptr(canary_content_key) identity =
		local == NULL ? try_keys(sc, identity_key_fields, G_N_ELEMENTS(identity_key_fields),
					 secret, NULL, &local)
			      : NULL;
	g_autoptr(canary_content_key) meta =
		local == NULL ? meta_key_from(sc, secret, content, identity, &local) : NULL;
	if (local != NULL) {
		g_propagate_error(error, local);
		return FALSE;
	}
	if (content != NULL)
		*parts_r |= CANARY_ENVELOPE_CONTENT_KEYS;
	if (identity != NULL)
		*parts_r |= CANARY_ENVELOPE_IDENTITY_KEY;
	if (meta != NULL)
		*parts_r |= CANARY_ENVELOPE_META_KEYS;
	return TRUE;
}

gboolean canary_sealed_check_content(const struct canary_sealed_case *sc,
				     const struct canary_secret_key *secret, GError **error)
{
	g_autoptr(canary_content_key) key = open_content_key(sc, secret, error);
	return key != NULL;
}

gboolean canary_sealed_check_identity(const struct canary_sealed_case *sc,
				      const struct canary_secret_key *secret, GError **error)
{
	GError *local = NULL;
	g_autoptr(canary_content_key) key = try_key(sc, FIELD_KEY_CUSTODIAN, secret, &local);
	if (key == NULL && local == NULL)
		g_set_error(&local, CANARY_ENVELOPE_ERROR, CANARY_ENVELOPE_ERROR_NO_ACCESS,
			    "key %s is not the custodian key of this case",
			    canary_secret_key_public(secret)->id);
	if (local != NULL)
		g_propagate_error(error, local);
	return key != NULL;
}

/* --- Moving a case: re-sealed client-side, checked and stored by canaryd - */

/* Adds to OUT the key of SC in FIELDS that SECRET opens, re-sealed to
 * NEW_SECTION as TARGET. FALSE only on an error. */
static gboolean reseal_one(const struct canary_sealed_case *sc, const char *const *fields,
			   gsize n, const struct canary_secret_key *secret,
			   const struct canary_public_key *new_section, const char *target,
			   struct canary_sealed_case *out, GError **error)
{
	GError *local = NULL;
	g_autoptr(canary_content_key) key = try_keys(sc, fields, n, secret, NULL, &local);
	if (local != NULL) {
		g_propagate_error(error, local);
		return FALSE;
	}
	if (key != NULL) {
		g_autoptr(GBytes) sealed = canary_content_key_seal(key, new_section);
		canary_sealed_case_put(out, target, sealed);
	}
	return TRUE;
}

static gboolean reseal_drafts(const struct canary_sealed_case *sc,
			      const struct canary_secret_key *secret,
			      const struct canary_public_key *new_section,
			      struct canary_sealed_case *out, GError **error);

/* Adds to OUT the section copies of the keys of every later message of SC
 * (content and exact values) that SECRET opens, re-sealed to NEW_SECTION. */
static gboolean reseal_messages(const struct canary_sealed_case *sc,
				const struct canary_secret_key *secret,
				const struct canary_public_key *new_section,
				struct canary_sealed_case *out, GError **error)
{
	for (guint number = 2;; number++) {
		g_autoptr(canary_sealed_case) view = canary_sealed_case_message(sc, number);
		if (view == NULL)
			return TRUE;
		g_autoptr(canary_sealed_case) keys = canary_sealed_case_new(sc->case_id);
		if (!reseal_one(view, content_key_fields, G_N_ELEMENTS(content_key_fields), secret,
				new_section, FIELD_KEY_SECTION, keys, error) ||
		    !reseal_one(view, meta_key_fields, G_N_ELEMENTS(meta_key_fields), secret,
				new_section, FIELD_KEY_META_SECTION, keys, error))
			return FALSE;
		g_autofree char *prefix = canary_envelope_message_prefix(number);
		GHashTableIter iter;
		gpointer field, blob;
		g_hash_table_iter_init(&iter, keys->blobs);
		while (g_hash_table_iter_next(&iter, &field, &blob)) {
			g_autofree char *name = g_strconcat(prefix, field, NULL);
			canary_sealed_case_put(out, name, blob);
		}
	}
}

struct canary_sealed_case *canary_sealed_reseal_section(const struct canary_sealed_case *sc,
							const struct canary_secret_key *secret,
							const struct canary_public_key *new_section,
							GError **error)
{
	g_autoptr(canary_content_key) key = open_content_key(sc, secret, error);
	if (key == NULL)
		return NULL;
	struct canary_sealed_case *out = canary_sealed_case_new(sc->case_id);
	g_autoptr(GBytes) content = canary_content_key_seal(key, new_section);
	canary_sealed_case_put(out, FIELD_KEY_SECTION, content);
	gboolean ok = reseal_one(sc, meta_key_fields, G_N_ELEMENTS(meta_key_fields), secret,
				 new_section, FIELD_KEY_META_SECTION, out, error);
	/* Notes exist as long as one of their key copies does. */
	for (guint number = 1; ok; number++) {
		g_autofree char *section = note_key_field(number, "section");
		g_autofree char *triage = note_key_field(number, "triage");
		if (canary_sealed_case_get(sc, section) == NULL &&
		    canary_sealed_case_get(sc, triage) == NULL)
			break;
		const char *const fields[] = {section, triage};
		ok = reseal_one(sc, fields, G_N_ELEMENTS(fields), secret, new_section, section,
				out, error);
	}
	if (ok)
		ok = reseal_drafts(sc, secret, new_section, out, error);
	if (ok)
		ok = reseal_messages(sc, secret, new_section, out, error);
	if (!ok) {
		canary_sealed_case_free(out);
		return NULL;
	}
	return out;
}

static gboolean is_draft_section_key_field(const char *field);

/* TRUE when FIELD names a section's copy of a key ("key/.../section"). */
static gboolean is_section_key_field(const char *field)
{
	if (strcmp(field, FIELD_KEY_SECTION) == 0 || strcmp(field, FIELD_KEY_META_SECTION) == 0)
		return TRUE;
	if (is_draft_section_key_field(field))
		return TRUE;
	/* A later message's: "message.N/" and one of the two above. */
	static const char message[] = "message.";
	if (g_str_has_prefix(field, message)) {
		const char *slash = strchr(field, '/');
		gsize len = slash != NULL ? (gsize)(slash - field) - strlen(message) : 0;
		g_autofree char *number = g_strndup(field + strlen(message), MIN(len, 10));
		return len > 0 && len <= 10 && number[0] != '0' &&
		       g_ascii_string_to_unsigned(number, 10, 2, G_MAXUINT32, NULL, NULL) &&
		       (strcmp(slash + 1, FIELD_KEY_SECTION) == 0 ||
			strcmp(slash + 1, FIELD_KEY_META_SECTION) == 0);
	}
	static const char prefix[] = "key/note.", suffix[] = "/section";
	if (!g_str_has_prefix(field, prefix) || !g_str_has_suffix(field, suffix))
		return FALSE;
	gsize len = strlen(field) - strlen(prefix) - strlen(suffix);
	g_autofree char *number = g_strndup(field + strlen(prefix), MIN(len, 10));
	return len > 0 && len <= 10 && number[0] != '0' &&
	       g_ascii_string_to_unsigned(number, 10, 1, G_MAXUINT32, NULL, NULL);
}

/* Refuses BLOB as a copy of a sealed key unless it has a sealed key's size. */
static gboolean check_key_size(const char *field, GBytes *blob, GError **error)
{
	if (g_bytes_get_size(blob) == CANARY_SEALED_KEY_SIZE)
		return TRUE;
	g_set_error(error, CANARY_ENVELOPE_ERROR, CANARY_ENVELOPE_ERROR_FORMAT,
		    "%s is not a sealed key (%" G_GSIZE_FORMAT " bytes, not %d)", field,
		    g_bytes_get_size(blob), CANARY_SEALED_KEY_SIZE);
	return FALSE;
}

/* Writes every blob of SC, checked by the caller, into its case. */
static gboolean put_blobs(struct canary_store *store, const struct canary_sealed_case *sc,
			  GError **error)
{
	GHashTableIter iter;
	gpointer field, blob;
	g_hash_table_iter_init(&iter, sc->blobs);
	while (g_hash_table_iter_next(&iter, &field, &blob))
		if (!canary_store_put_blob(store, sc->case_id, field, blob, error))
			return FALSE;
	return TRUE;
}

gboolean canary_envelope_store_reseal(struct canary_store *store,
				      const struct canary_sealed_case *resealed, GError **error)
{
	if (canary_sealed_case_get(resealed, FIELD_KEY_SECTION) == NULL) {
		g_set_error(error, CANARY_ENVELOPE_ERROR, CANARY_ENVELOPE_ERROR_FORMAT,
			    "the re-sealed keys lack %s", FIELD_KEY_SECTION);
		return FALSE;
	}
	GHashTableIter iter;
	gpointer field, blob;
	/* Every field is checked before the first is written. */
	g_hash_table_iter_init(&iter, resealed->blobs);
	while (g_hash_table_iter_next(&iter, &field, &blob)) {
		if (!is_section_key_field(field)) {
			g_set_error(error, CANARY_ENVELOPE_ERROR, CANARY_ENVELOPE_ERROR_FORMAT,
				    "%s is not a section's key copy: a move replaces only those",
				    (const char *)field);
			return FALSE;
		}
		if (!check_key_size(field, blob, error))
			return FALSE;
		/* Replaces only what exists: a note key for a note, the exact
		 * values' key where they are sealed. */
		g_autoptr(GError) local = NULL;
		g_autoptr(GBytes) old =
			canary_store_get_blob(store, resealed->case_id, field, &local);
		if (old == NULL) {
			if (g_error_matches(local, CANARY_STORE_ERROR, CANARY_STORE_ERROR_NOT_FOUND))
				g_set_error(error, CANARY_ENVELOPE_ERROR,
					    CANARY_ENVELOPE_ERROR_FORMAT,
					    "this case has no %s to replace", (const char *)field);
			else
				g_propagate_error(error, g_steal_pointer(&local));
			return FALSE;
		}
	}
	return put_blobs(store, resealed, error);
}

gboolean canary_envelope_next_note(struct canary_store *store, gint64 case_id, guint *number_r,
				   GError **error)
{
	for (guint number = 1;; number++) {
		g_autofree char *field = note_field(number);
		g_autoptr(GError) local = NULL;
		g_autoptr(GBytes) blob = canary_store_get_blob(store, case_id, field, &local);
		if (blob != NULL)
			continue;
		if (!g_error_matches(local, CANARY_STORE_ERROR, CANARY_STORE_ERROR_NOT_FOUND)) {
			g_propagate_error(error, g_steal_pointer(&local));
			return FALSE;
		}
		*number_r = number;
		return TRUE;
	}
}

/* Stores ITEM, sealed by an officer's process as note or draft (KIND)
 * NUMBER: FORMAT, before anything is written, unless every field is its
 * TEXT field or one of its N key copies KEYS, each of a sealed key's size. */
static gboolean store_item(struct canary_store *store, const struct canary_sealed_case *item,
			   const char *kind, guint number, const char *text,
			   const char *const *keys, gsize n, GError **error)
{
	GHashTableIter iter;
	gpointer field, blob;
	g_hash_table_iter_init(&iter, item->blobs);
	while (g_hash_table_iter_next(&iter, &field, &blob)) {
		gboolean is_key = FALSE;
		for (gsize i = 0; i < n && !is_key; i++)
			is_key = strcmp(field, keys[i]) == 0;
		if (!is_key && strcmp(field, text) != 0) {
			g_set_error(error, CANARY_ENVELOPE_ERROR, CANARY_ENVELOPE_ERROR_FORMAT,
				    "%s is not a field of %s %u", (const char *)field, kind, number);
			return FALSE;
		}
		if (is_key && !check_key_size(field, blob, error))
			return FALSE;
	}
	return put_blobs(store, item, error);
}

gboolean canary_envelope_store_note(struct canary_store *store, guint number,
				    const struct canary_sealed_case *note, GError **error)
{
	guint next = 0;
	if (!canary_envelope_next_note(store, note->case_id, &next, error))
		return FALSE;
	if (number != next) {
		g_set_error(error, CANARY_ENVELOPE_ERROR, CANARY_ENVELOPE_ERROR_FORMAT,
			    "note %u cannot be added: the next note of this case is %u (another "
			    "was added meanwhile: try again)",
			    number, next);
		return FALSE;
	}
	g_autofree char *text = note_field(number);
	g_autofree char *section = note_key_field(number, "section");
	g_autofree char *triage = note_key_field(number, "triage");
	if (canary_sealed_case_get(note, text) == NULL ||
	    canary_sealed_case_get(note, section) == NULL) {
		g_set_error(error, CANARY_ENVELOPE_ERROR, CANARY_ENVELOPE_ERROR_FORMAT,
			    "a note needs %s and %s", text, section);
		return FALSE;
	}
	const char *const keys[] = {section, triage};
	return store_item(store, note, "note", number, text, keys, G_N_ELEMENTS(keys), error);
}

/* --- The same, straight from the store (tests, recovery) ---------------- */

/* A sealed case loaded with PARTS from the store, or NULL. */
static struct canary_sealed_case *load(struct canary_store *store, gint64 case_id, guint parts,
				       GError **error)
{
	struct canary_sealed_case *sc = canary_sealed_case_new(case_id);
	if (!canary_envelope_load(store, parts, sc, error)) {
		canary_sealed_case_free(sc);
		return NULL;
	}
	return sc;
}

struct canary_case_content *canary_envelope_open_content(struct canary_store *store, gint64 case_id,
							 const struct canary_secret_key *secret,
							 GError **error)
{
	g_autoptr(canary_sealed_case) sc = load(store, case_id, CANARY_ENVELOPE_CONTENT, error);
	return sc != NULL ? canary_sealed_open_content(sc, secret, error) : NULL;
}

GBytes *canary_envelope_open_attachment(struct canary_store *store, gint64 case_id,
					const struct canary_secret_key *secret, guint index,
					GError **error)
{
	g_autoptr(canary_sealed_case) sc = canary_sealed_case_new(case_id);
	if (!canary_envelope_load_attachment(store, index, sc, error))
		return NULL;
	return canary_sealed_open_attachment(sc, secret, index, error);
}

struct canary_identity *canary_envelope_open_identity(struct canary_store *store, gint64 case_id,
						      const struct canary_secret_key *secret,
						      GBytes **raw_r, GError **error)
{
	guint parts = CANARY_ENVELOPE_IDENTITY | (raw_r != NULL ? CANARY_ENVELOPE_RAW : 0);
	g_autoptr(canary_sealed_case) sc = load(store, case_id, parts, error);
	return sc != NULL ? canary_sealed_open_identity(sc, secret, raw_r, error) : NULL;
}

struct canary_case_meta *canary_envelope_open_meta(struct canary_store *store, gint64 case_id,
						   const struct canary_secret_key *secret,
						   GError **error)
{
	g_autoptr(canary_sealed_case) sc = load(store, case_id, CANARY_ENVELOPE_META, error);
	return sc != NULL ? canary_sealed_open_meta(sc, secret, error) : NULL;
}

GPtrArray *canary_envelope_open_notes(struct canary_store *store, gint64 case_id,
				      const struct canary_secret_key *secret, GError **error)
{
	g_autoptr(canary_sealed_case) sc = load(store, case_id, CANARY_ENVELOPE_NOTES, error);
	return sc != NULL ? canary_sealed_open_notes(sc, secret, error) : NULL;
}

gboolean canary_envelope_seal_note(struct canary_store *store, gint64 case_id,
				   const struct canary_envelope_recipients *to, const char *author,
				   gint64 at, const char *text, guint *number_r, GError **error)
{
	guint number = 0;
	if (!canary_envelope_next_note(store, case_id, &number, error))
		return FALSE;
	g_autoptr(canary_sealed_case) note = canary_sealed_case_new(case_id);
	if (!canary_sealed_seal_note(note, number, to, author, at, text, error) ||
	    !canary_envelope_store_note(store, number, note, error))
		return FALSE;
	*number_r = number;
	return TRUE;
}

gboolean canary_envelope_reseal_section(struct canary_store *store, gint64 case_id,
					const struct canary_secret_key *secret,
					const struct canary_public_key *new_section, GError **error)
{
	g_autoptr(canary_sealed_case) keys = load(
		store, case_id,
		CANARY_ENVELOPE_CONTENT_KEYS | CANARY_ENVELOPE_META_KEYS | CANARY_ENVELOPE_NOTE_KEYS,
		error);
	if (keys == NULL)
		return FALSE;
	g_autoptr(canary_sealed_case) resealed =
		canary_sealed_reseal_section(keys, secret, new_section, error);
	return resealed != NULL && canary_envelope_store_reseal(store, resealed, error);
}

/* --- On the wire --------------------------------------------------------- */

JsonObject *canary_sealed_case_to_json(const struct canary_sealed_case *sc)
{
	JsonObject *o = json_object_new();
	GHashTableIter iter;
	gpointer field, blob;
	g_hash_table_iter_init(&iter, sc->blobs);
	while (g_hash_table_iter_next(&iter, &field, &blob)) {
		gsize len = 0;
		const guchar *data = g_bytes_get_data(blob, &len);
		/* Sealed bytes: nothing to wipe. */
		g_autofree char *text = g_base64_encode(data, len);
		json_object_set_string_member(o, field, text);
	}
	return o;
}

/* TRUE when TEXT is padded base64 and nothing else (g_base64_decode()
 * skips what it does not know). */
static gboolean is_base64(const char *text)
{
	gsize len = strlen(text), pad = 0;
	if (len % 4 != 0)
		return FALSE;
	for (gsize i = 0; i < len; i++) {
		char c = text[i];
		if (c == '=' && i + 2 >= len) {
			pad++;
			continue;
		}
		if (pad > 0 || !(g_ascii_isalnum(c) || c == '+' || c == '/'))
			return FALSE;
	}
	return TRUE;
}

struct canary_sealed_case *canary_sealed_case_from_json(gint64 case_id, JsonObject *o,
							GError **error)
{
	g_autoptr(canary_sealed_case) sc = canary_sealed_case_new(case_id);
	JsonObjectIter iter;
	const char *field = NULL;
	JsonNode *node = NULL;
	json_object_iter_init(&iter, o);
	while (json_object_iter_next(&iter, &field, &node)) {
		if (!JSON_NODE_HOLDS_VALUE(node) ||
		    json_node_get_value_type(node) != G_TYPE_STRING ||
		    strlen(field) == 0 || strlen(field) > 64) {
			g_set_error(error, CANARY_ENVELOPE_ERROR, CANARY_ENVELOPE_ERROR_FORMAT,
				    "sealed field \"%s\" is not a base64 string", field);
			return NULL;
		}
		const char *text = json_node_get_string(node);
		if (!is_base64(text)) {
			g_set_error(error, CANARY_ENVELOPE_ERROR, CANARY_ENVELOPE_ERROR_FORMAT,
				    "sealed field \"%s\" is not valid base64", field);
			return NULL;
		}
		gsize len = 0;
		guchar *data = g_base64_decode(text, &len);
		g_autoptr(GBytes) blob = g_bytes_new_take(data, len);
		canary_sealed_case_put(sc, field, blob);
	}
	return g_steal_pointer(&sc);
}

/* --- Drafts: replies waiting for the custodian --------------------------- */

#define DRAFT_VERSION 1
#define DRAFT_TYPE    "(yxss)"

/* The field names of draft NUMBER: its ciphertext and its key copies. */
static char *draft_field(guint number)
{
	return g_strdup_printf("draft.%u", number);
}

static char *draft_key_field(guint number, const char *recipient)
{
	return g_strdup_printf("key/draft.%u/%s", number, recipient);
}

static const char *const draft_recipients[] = {"section", "triage", "custodian"};

/* Loads the key copies of every draft into SC. Drafts are numbered from 1
 * without gaps; each has a section copy. */
static gboolean load_draft_keys(struct canary_store *store, struct canary_sealed_case *sc,
				GError **error)
{
	for (guint number = 1;; number++) {
		gboolean found = FALSE;
		for (gsize i = 0; i < G_N_ELEMENTS(draft_recipients); i++) {
			g_autofree char *field = draft_key_field(number, draft_recipients[i]);
			gboolean here = FALSE;
			if (!load_field(store, sc, field, TRUE, &here, error))
				return FALSE;
			found = found || here;
		}
		if (!found)
			return TRUE;
	}
}

gboolean canary_envelope_load_draft(struct canary_store *store, guint number,
				    struct canary_sealed_case *sc, GError **error)
{
	g_autofree char *field = draft_field(number);
	if (!load_field(store, sc, field, FALSE, NULL, error))
		return FALSE;
	for (gsize i = 0; i < G_N_ELEMENTS(draft_recipients); i++) {
		g_autofree char *key = draft_key_field(number, draft_recipients[i]);
		if (!load_field(store, sc, key, TRUE, NULL, error))
			return FALSE;
	}
	return TRUE;
}

/* Seals KEY to RECIPIENT as copy WHO of draft NUMBER into SC. */
static void put_draft_key(struct canary_sealed_case *sc, guint number, const char *who,
			  const struct canary_content_key *key,
			  const struct canary_public_key *recipient)
{
	g_autofree char *field = draft_key_field(number, who);
	g_autoptr(GBytes) sealed = canary_content_key_seal(key, recipient);
	canary_sealed_case_put(sc, field, sealed);
}

gboolean canary_sealed_seal_draft(struct canary_sealed_case *sc, guint number,
				  const struct canary_envelope_recipients *to, const char *author,
				  gint64 at, const char *text, GError **error)
{
	if (to->section == NULL || to->custodian == NULL) {
		g_set_error(error, CANARY_ENVELOPE_ERROR, CANARY_ENVELOPE_ERROR_NO_ACCESS,
			    "a draft needs its section's and the custodian's public keys");
		return FALSE;
	}
	g_autoptr(canary_content_key) key = canary_content_key_new();
	put_draft_key(sc, number, "section", key, to->section);
	if (to->triage != NULL)
		put_draft_key(sc, number, "triage", key, to->triage);
	put_draft_key(sc, number, "custodian", key, to->custodian);
	g_autoptr(GVariant) record = g_variant_ref_sink(
		g_variant_new(DRAFT_TYPE, (guint8)DRAFT_VERSION, at, author, text));
	g_autofree char *field = draft_field(number);
	g_autoptr(GBytes) sealed = canary_seal_encrypt(key, sc->case_id, field,
						       g_variant_get_data(record),
						       g_variant_get_size(record));
	canary_wipe((void *)g_variant_get_data(record), g_variant_get_size(record));
	canary_sealed_case_put(sc, field, sealed);
	return TRUE;
}

struct canary_case_note *canary_sealed_open_draft(const struct canary_sealed_case *sc,
						  guint number,
						  const struct canary_secret_key *secret,
						  GError **error)
{
	g_autofree char *section = draft_key_field(number, "section");
	g_autofree char *triage = draft_key_field(number, "triage");
	g_autofree char *custodian = draft_key_field(number, "custodian");
	const char *const fields[] = {section, triage, custodian};
	GError *local = NULL;
	g_autoptr(canary_content_key) key =
		try_keys(sc, fields, G_N_ELEMENTS(fields), secret, NULL, &local);
	if (local != NULL) {
		g_propagate_error(error, local);
		return NULL;
	}
	if (key == NULL) {
		g_set_error(error, CANARY_ENVELOPE_ERROR, CANARY_ENVELOPE_ERROR_NO_ACCESS,
			    "key %s opens none of the copies of draft %u",
			    canary_secret_key_public(secret)->id, number);
		return NULL;
	}
	g_autofree char *field = draft_field(number);
	g_autoptr(GBytes) plain = get_sealed(sc, key, field, FALSE, error);
	if (plain == NULL)
		return NULL;
	g_autoptr(GVariant) v = g_variant_ref_sink(
		g_variant_new_from_bytes(G_VARIANT_TYPE(DRAFT_TYPE), plain, FALSE));
	guint8 version = 0;
	gint64 at = 0;
	const char *author = NULL, *text = NULL;
	g_variant_get(v, "(yx&s&s)", &version, &at, &author, &text);
	if (version != DRAFT_VERSION) {
		g_set_error(error, CANARY_ENVELOPE_ERROR, CANARY_ENVELOPE_ERROR_FORMAT,
			    "draft %u is of version %u, not known to this canary", number,
			    version);
		return NULL;
	}
	struct canary_case_note *draft = g_new0(struct canary_case_note, 1);
	draft->number = number;
	draft->at = at;
	draft->author = g_strdup(author);
	draft->text = g_strdup(text);
	return draft;
}

/* Adds to OUT the section copies of the drafts' keys that SECRET opens,
 * re-sealed to NEW_SECTION. */
static gboolean reseal_drafts(const struct canary_sealed_case *sc,
			      const struct canary_secret_key *secret,
			      const struct canary_public_key *new_section,
			      struct canary_sealed_case *out, GError **error)
{
	for (guint number = 1;; number++) {
		g_autofree char *section = draft_key_field(number, "section");
		g_autofree char *triage = draft_key_field(number, "triage");
		if (canary_sealed_case_get(sc, section) == NULL &&
		    canary_sealed_case_get(sc, triage) == NULL)
			return TRUE;
		const char *const fields[] = {section, triage};
		if (!reseal_one(sc, fields, G_N_ELEMENTS(fields), secret, new_section, section,
				out, error))
			return FALSE;
	}
}

/* TRUE for "key/draft.N/section". */
static gboolean is_draft_section_key_field(const char *field)
{
	static const char prefix[] = "key/draft.", suffix[] = "/section";
	if (!g_str_has_prefix(field, prefix) || !g_str_has_suffix(field, suffix))
		return FALSE;
	gsize len = strlen(field) - strlen(prefix) - strlen(suffix);
	g_autofree char *number = g_strndup(field + strlen(prefix), MIN(len, 10));
	return len > 0 && len <= 10 && number[0] != '0' &&
	       g_ascii_string_to_unsigned(number, 10, 1, G_MAXUINT32, NULL, NULL);
}

gboolean canary_envelope_store_draft(struct canary_store *store, guint number,
				     const struct canary_sealed_case *draft, GError **error)
{
	g_autofree char *text = draft_field(number);
	g_autofree char *section = draft_key_field(number, "section");
	g_autofree char *triage = draft_key_field(number, "triage");
	g_autofree char *custodian = draft_key_field(number, "custodian");
	if (canary_sealed_case_get(draft, text) == NULL ||
	    canary_sealed_case_get(draft, section) == NULL ||
	    canary_sealed_case_get(draft, custodian) == NULL) {
		g_set_error(error, CANARY_ENVELOPE_ERROR, CANARY_ENVELOPE_ERROR_FORMAT,
			    "a draft needs %s, %s and %s", text, section, custodian);
		return FALSE;
	}
	g_autoptr(GError) local = NULL;
	g_autoptr(GBytes) old = canary_store_get_blob(store, draft->case_id, text, &local);
	if (old != NULL) {
		g_set_error(error, CANARY_ENVELOPE_ERROR, CANARY_ENVELOPE_ERROR_FORMAT,
			    "draft %u exists already (another was added meanwhile: try again)",
			    number);
		return FALSE;
	}
	if (!g_error_matches(local, CANARY_STORE_ERROR, CANARY_STORE_ERROR_NOT_FOUND)) {
		g_propagate_error(error, g_steal_pointer(&local));
		return FALSE;
	}
	const char *const keys[] = {section, triage, custodian};
	return store_item(store, draft, "draft", number, text, keys, G_N_ELEMENTS(keys), error);
}
