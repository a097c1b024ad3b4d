/* envelope.c: the sealed fields of a case. Content (subject, text,
 * attachment list and bytes, routing terms) is encrypted under a content
 * key sealed to the section and triage keys; the identity record and the
 * raw message under an identity key sealed to the custodian only; the exact
 * times, size and pseudonym under a key of their own sealed to all three. */
#include "envelope.h"

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
#define FIELD_META          "meta"
#define FIELD_KEY_META_SECTION   "key/meta/section"
#define FIELD_KEY_META_TRIAGE    "key/meta/triage"
#define FIELD_KEY_META_CUSTODIAN "key/meta/custodian"

#define META_VERSION 1
#define META_TYPE    "(yxxtms)"

/* Notes: "note.N" under its own key, "key/note.N/section" and ".../triage". */
#define NOTE_VERSION 1
#define NOTE_TYPE    "(yxss)"

#define MANIFEST_VERSION 1
#define MANIFEST_TYPE    "(ya(msst))"

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

/* Encrypts LEN bytes at PLAIN as FIELD of the case and stores them. */
static gboolean put_sealed(struct canary_store *store, gint64 case_id,
			   const struct canary_content_key *key, const char *field,
			   const void *plain, gsize len, GError **error)
{
	g_autoptr(GBytes) sealed = canary_seal_encrypt(key, case_id, field, plain, len);
	return canary_store_put_blob(store, case_id, field, sealed, error);
}

/* Stores KEY sealed to RECIPIENT as FIELD. */
static gboolean put_key(struct canary_store *store, gint64 case_id, const char *field,
			const struct canary_content_key *key,
			const struct canary_public_key *recipient, GError **error)
{
	g_autoptr(GBytes) sealed = canary_content_key_seal(key, recipient);
	return canary_store_put_blob(store, case_id, field, sealed, error);
}

/* Builds the attachment list (names, types, sizes) as a GVariant. */
static GVariant *manifest_new(const GPtrArray *attachments, char *const *names)
{
	GVariantBuilder list;
	g_variant_builder_init(&list, G_VARIANT_TYPE("a(msst)"));
	for (guint i = 0; i < attachments->len; i++) {
		const struct canary_attachment *a = attachments->pdata[i];
		g_variant_builder_add(&list, "(msst)", names[i],
				      a->content_type != NULL ? a->content_type
							      : "application/octet-stream",
				      (guint64)g_bytes_get_size(a->data));
	}
	return g_variant_new("(y@a(msst))", MANIFEST_VERSION, g_variant_builder_end(&list));
}

gboolean canary_envelope_seal_content(struct canary_store *store, gint64 case_id,
				      const struct canary_envelope_recipients *to,
				      const char *subject, const char *text,
				      const GPtrArray *attachments, char *const *names,
				      const char *routing, GError **error)
{
	g_autoptr(canary_content_key) key = canary_content_key_new();
	if (!put_key(store, case_id, FIELD_KEY_SECTION, key, to->section, error))
		return FALSE;
	if (to->triage != NULL &&
	    !put_key(store, case_id, FIELD_KEY_TRIAGE, key, to->triage, error))
		return FALSE;
	if (subject != NULL &&
	    !put_sealed(store, case_id, key, FIELD_SUBJECT, subject, strlen(subject), error))
		return FALSE;
	if (!put_sealed(store, case_id, key, FIELD_TEXT, text, strlen(text), error))
		return FALSE;
	if (routing != NULL &&
	    !put_sealed(store, case_id, key, FIELD_ROUTING, routing, strlen(routing), error))
		return FALSE;

	g_autoptr(GVariant) manifest = g_variant_ref_sink(manifest_new(attachments, names));
	gboolean ok = put_sealed(store, case_id, key, FIELD_ATTACHMENTS,
				 g_variant_get_data(manifest), g_variant_get_size(manifest), error);
	/* The manifest holds file names: wipe our copy. */
	canary_wipe((void *)g_variant_get_data(manifest), g_variant_get_size(manifest));
	for (guint i = 0; ok && i < attachments->len; i++) {
		const struct canary_attachment *a = attachments->pdata[i];
		g_autofree char *field = attachment_field(i);
		gsize len = 0;
		const void *data = g_bytes_get_data(a->data, &len);
		ok = put_sealed(store, case_id, key, field, data, len, error);
	}
	return ok;
}

gboolean canary_envelope_seal_identity(struct canary_store *store, gint64 case_id,
				       const struct canary_envelope_recipients *to,
				       const struct canary_identity *identity, GBytes *raw,
				       GError **error)
{
	g_autoptr(canary_content_key) key = canary_content_key_new();
	if (!put_key(store, case_id, FIELD_KEY_CUSTODIAN, key, to->custodian, error))
		return FALSE;
	g_autoptr(GBytes) record = canary_identity_serialize(identity);
	gsize len = 0;
	const void *data = g_bytes_get_data(record, &len);
	if (!put_sealed(store, case_id, key, FIELD_IDENTITY, data, len, error))
		return FALSE;
	data = g_bytes_get_data(raw, &len);
	return put_sealed(store, case_id, key, FIELD_RAW, data, len, error);
}

/* Opens the key stored as FIELD with SECRET. Returns NULL without an error
 * when the field is missing or SECRET is not its recipient. */
static struct canary_content_key *try_key(struct canary_store *store, gint64 case_id,
					  const char *field, const struct canary_secret_key *secret,
					  GError **error)
{
	g_autoptr(GError) local = NULL;
	g_autoptr(GBytes) sealed = canary_store_get_blob(store, case_id, field, &local);
	if (sealed == NULL) {
		if (!g_error_matches(local, CANARY_STORE_ERROR, CANARY_STORE_ERROR_NOT_FOUND))
			g_propagate_error(error, g_steal_pointer(&local));
		return NULL;
	}
	struct canary_content_key *key = canary_content_key_open(sealed, secret, &local);
	if (key == NULL && !g_error_matches(local, CANARY_SEAL_ERROR, CANARY_SEAL_ERROR_WRONG_KEY))
		g_propagate_error(error, g_steal_pointer(&local));
	return key;
}

/* Opens the content key with a section or triage SECRET. */
static struct canary_content_key *open_content_key(struct canary_store *store, gint64 case_id,
						   const struct canary_secret_key *secret,
						   GError **error)
{
	static const char *const fields[] = {FIELD_KEY_SECTION, FIELD_KEY_TRIAGE};
	for (size_t i = 0; i < G_N_ELEMENTS(fields); i++) {
		GError *local = NULL;
		struct canary_content_key *key = try_key(store, case_id, fields[i], secret, &local);
		if (key != NULL || local != NULL) {
			if (local != NULL)
				g_propagate_error(error, local);
			return key;
		}
	}
	g_set_error(error, CANARY_ENVELOPE_ERROR, CANARY_ENVELOPE_ERROR_NO_ACCESS,
		    "key %s opens neither the section's nor the triage copy of this case",
		    canary_secret_key_public(secret)->id);
	return NULL;
}

/* Fetches and decrypts FIELD. Missing fields give NULL with no error when
 * OPTIONAL. */
static GBytes *get_sealed(struct canary_store *store, gint64 case_id,
			  const struct canary_content_key *key, const char *field,
			  gboolean optional, GError **error)
{
	g_autoptr(GError) local = NULL;
	g_autoptr(GBytes) sealed = canary_store_get_blob(store, case_id, field, &local);
	if (sealed == NULL) {
		if (!optional ||
		    !g_error_matches(local, CANARY_STORE_ERROR, CANARY_STORE_ERROR_NOT_FOUND))
			g_propagate_error(error, g_steal_pointer(&local));
		return NULL;
	}
	return canary_seal_decrypt(key, case_id, field, sealed, error);
}

/* Decrypts FIELD as UTF-8 text. Returns a new string (wipe it), or NULL. */
static char *get_text(struct canary_store *store, gint64 case_id,
		      const struct canary_content_key *key, const char *field, gboolean optional,
		      GError **error)
{
	g_autoptr(GBytes) plain = get_sealed(store, case_id, key, field, optional, error);
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

/* Parses the sealed attachment list. Returns a new array or NULL. */
static GPtrArray *parse_manifest(GBytes *plain, GError **error)
{
	g_autoptr(GVariant) v = g_variant_ref_sink(
		g_variant_new_from_bytes(G_VARIANT_TYPE(MANIFEST_TYPE), plain, FALSE));
	guint8 version = 0;
	g_autoptr(GVariant) list = NULL;
	g_variant_get(v, "(y@a(msst))", &version, &list);
	if (version != MANIFEST_VERSION) {
		g_set_error(error, CANARY_ENVELOPE_ERROR, CANARY_ENVELOPE_ERROR_FORMAT,
			    "attachment list of version %u is not known to this canary", version);
		return NULL;
	}
	GPtrArray *infos = g_ptr_array_new_with_free_func((GDestroyNotify)attachment_info_free);
	GVariantIter iter;
	g_variant_iter_init(&iter, list);
	const char *name = NULL, *type = NULL;
	guint64 size = 0;
	while (g_variant_iter_next(&iter, "(m&s&st)", &name, &type, &size)) {
		struct canary_attachment_info *info = g_new0(struct canary_attachment_info, 1);
		info->filename = g_strdup(name);
		info->content_type = g_strdup(type);
		info->size = size;
		g_ptr_array_add(infos, info);
	}
	return infos;
}

struct canary_case_content *canary_envelope_open_content(struct canary_store *store, gint64 case_id,
							 const struct canary_secret_key *secret,
							 GError **error)
{
	g_autoptr(canary_content_key) key = open_content_key(store, case_id, secret, error);
	if (key == NULL)
		return NULL;
	g_autoptr(canary_case_content) content = g_new0(struct canary_case_content, 1);
	GError *local = NULL;
	content->subject = get_text(store, case_id, key, FIELD_SUBJECT, TRUE, &local);
	if (local == NULL)
		content->text = get_text(store, case_id, key, FIELD_TEXT, FALSE, &local);
	if (local == NULL)
		content->routing = get_text(store, case_id, key, FIELD_ROUTING, TRUE, &local);
	if (local == NULL) {
		g_autoptr(GBytes) manifest =
			get_sealed(store, case_id, key, FIELD_ATTACHMENTS, FALSE, &local);
		if (manifest != NULL)
			content->attachments = parse_manifest(manifest, &local);
	}
	if (local != NULL) {
		g_propagate_error(error, local);
		return NULL;
	}
	return g_steal_pointer(&content);
}

GBytes *canary_envelope_open_attachment(struct canary_store *store, gint64 case_id,
					const struct canary_secret_key *secret, guint index,
					GError **error)
{
	g_autoptr(canary_content_key) key = open_content_key(store, case_id, secret, error);
	if (key == NULL)
		return NULL;
	g_autofree char *field = attachment_field(index);
	g_autoptr(GError) local = NULL;
	GBytes *data = get_sealed(store, case_id, key, field, FALSE, &local);
	if (data == NULL) {
		if (g_error_matches(local, CANARY_STORE_ERROR, CANARY_STORE_ERROR_NOT_FOUND))
			g_set_error(error, CANARY_ENVELOPE_ERROR, CANARY_ENVELOPE_ERROR_NO_SUCH,
				    "this case has no attachment %u", index + 1);
		else
			g_propagate_error(error, g_steal_pointer(&local));
	}
	return data;
}

struct canary_identity *canary_envelope_open_identity(struct canary_store *store, gint64 case_id,
						      const struct canary_secret_key *secret,
						      GBytes **raw_r, GError **error)
{
	GError *local = NULL;
	g_autoptr(canary_content_key) key =
		try_key(store, case_id, FIELD_KEY_CUSTODIAN, secret, &local);
	if (key == NULL) {
		if (local != NULL)
			g_propagate_error(error, local);
		else
			g_set_error(error, CANARY_ENVELOPE_ERROR, CANARY_ENVELOPE_ERROR_NO_ACCESS,
				    "key %s is not the custodian key of this case",
				    canary_secret_key_public(secret)->id);
		return NULL;
	}
	g_autoptr(GBytes) record = get_sealed(store, case_id, key, FIELD_IDENTITY, FALSE, error);
	if (record == NULL)
		return NULL;
	g_autoptr(canary_identity) identity = canary_identity_deserialize(record, error);
	if (identity == NULL)
		return NULL;
	if (raw_r != NULL) {
		*raw_r = get_sealed(store, case_id, key, FIELD_RAW, FALSE, error);
		if (*raw_r == NULL)
			return NULL;
	}
	return g_steal_pointer(&identity);
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

/* TRUE when note NUMBER exists. */
static gboolean note_exists(struct canary_store *store, gint64 case_id, guint number,
			    gboolean *exists_r, GError **error)
{
	g_autofree char *field = note_field(number);
	g_autoptr(GError) local = NULL;
	g_autoptr(GBytes) blob = canary_store_get_blob(store, case_id, field, &local);
	*exists_r = blob != NULL;
	if (blob == NULL &&
	    !g_error_matches(local, CANARY_STORE_ERROR, CANARY_STORE_ERROR_NOT_FOUND)) {
		g_propagate_error(error, g_steal_pointer(&local));
		return FALSE;
	}
	return TRUE;
}

/* Opens the key of note NUMBER with SECRET: NULL without an error when
 * SECRET is neither its section nor its triage recipient. */
static struct canary_content_key *open_note_key(struct canary_store *store, gint64 case_id,
						guint number,
						const struct canary_secret_key *secret,
						gboolean *section_r, GError **error)
{
	static const char *const recipients[] = {"section", "triage"};
	for (size_t i = 0; i < G_N_ELEMENTS(recipients); i++) {
		g_autofree char *field = note_key_field(number, recipients[i]);
		GError *local = NULL;
		struct canary_content_key *key = try_key(store, case_id, field, secret, &local);
		if (local != NULL) {
			g_propagate_error(error, local);
			return NULL;
		}
		if (key != NULL) {
			if (section_r != NULL)
				*section_r = i == 0;
			return key;
		}
	}
	return NULL;
}

void canary_case_note_free(struct canary_case_note *note)
{
	if (note == NULL)
		return;
	canary_wipe_free(note->author);
	canary_wipe_free(note->text);
	g_free(note);
}

gboolean canary_envelope_seal_note(struct canary_store *store, gint64 case_id,
				   const struct canary_envelope_recipients *to, const char *author,
				   gint64 at, const char *text, guint *number_r, GError **error)
{
	guint number = 1;
	for (gboolean exists = TRUE;; number++) {
		if (!note_exists(store, case_id, number, &exists, error))
			return FALSE;
		if (!exists)
			break;
	}
	g_autoptr(canary_content_key) key = canary_content_key_new();
	g_autofree char *section_field = note_key_field(number, "section");
	if (!put_key(store, case_id, section_field, key, to->section, error))
		return FALSE;
	if (to->triage != NULL) {
		g_autofree char *triage_field = note_key_field(number, "triage");
		if (!put_key(store, case_id, triage_field, key, to->triage, error))
			return FALSE;
	}
	g_autoptr(GVariant) record = g_variant_ref_sink(
		g_variant_new(NOTE_TYPE, (guint8)NOTE_VERSION, at, author, text));
	g_autofree char *field = note_field(number);
	gboolean ok = put_sealed(store, case_id, key, field, g_variant_get_data(record),
				 g_variant_get_size(record), error);
	canary_wipe((void *)g_variant_get_data(record), g_variant_get_size(record));
	if (ok)
		*number_r = number;
	return ok;
}

/* Decrypts note NUMBER with KEY into NOTE. */
static gboolean read_note(struct canary_store *store, gint64 case_id,
			  const struct canary_content_key *key, struct canary_case_note *note,
			  GError **error)
{
	g_autofree char *field = note_field(note->number);
	g_autoptr(GBytes) plain = get_sealed(store, case_id, key, field, FALSE, error);
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

GPtrArray *canary_envelope_open_notes(struct canary_store *store, gint64 case_id,
				      const struct canary_secret_key *secret, GError **error)
{
	g_autoptr(GPtrArray) notes =
		g_ptr_array_new_with_free_func((GDestroyNotify)canary_case_note_free);
	for (guint number = 1;; number++) {
		gboolean exists = FALSE;
		if (!note_exists(store, case_id, number, &exists, error))
			return NULL;
		if (!exists)
			break;
		struct canary_case_note *note = g_new0(struct canary_case_note, 1);
		note->number = number;
		g_ptr_array_add(notes, note);
		GError *local = NULL;
		g_autoptr(canary_content_key) key =
			open_note_key(store, case_id, number, secret, NULL, &local);
		if (local != NULL) {
			g_propagate_error(error, local);
			return NULL;
		}
		if (key != NULL && !read_note(store, case_id, key, note, error))
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
	g_autoptr(canary_content_key) key = canary_content_key_new();
	if (to->section != NULL &&
	    !put_key(store, case_id, FIELD_KEY_META_SECTION, key, to->section, error))
		return FALSE;
	if (to->triage != NULL &&
	    !put_key(store, case_id, FIELD_KEY_META_TRIAGE, key, to->triage, error))
		return FALSE;
	if (!put_key(store, case_id, FIELD_KEY_META_CUSTODIAN, key, to->custodian, error))
		return FALSE;
	g_autoptr(GVariant) record = g_variant_ref_sink(
		g_variant_new(META_TYPE, (guint8)META_VERSION, meta->received_at,
			      meta->ingested_at, meta->size, meta->pseudonym));
	gboolean ok = put_sealed(store, case_id, key, FIELD_META, g_variant_get_data(record),
				 g_variant_get_size(record), error);
	/* The pseudonym is derived from the sender: wipe our copy. */
	canary_wipe((void *)g_variant_get_data(record), g_variant_get_size(record));
	return ok;
}

/* Opens the key of the exact values with SECRET: NULL without an error
 * when SECRET is none of its recipients (or there is none). */
static struct canary_content_key *open_meta_key(struct canary_store *store, gint64 case_id,
						const struct canary_secret_key *secret,
						GError **error)
{
	static const char *const fields[] = {FIELD_KEY_META_SECTION, FIELD_KEY_META_TRIAGE,
					     FIELD_KEY_META_CUSTODIAN};
	for (size_t i = 0; i < G_N_ELEMENTS(fields); i++) {
		GError *local = NULL;
		struct canary_content_key *key = try_key(store, case_id, fields[i], secret, &local);
		if (local != NULL) {
			g_propagate_error(error, local);
			return NULL;
		}
		if (key != NULL)
			return key;
	}
	return NULL;
}

struct canary_case_meta *canary_envelope_open_meta(struct canary_store *store, gint64 case_id,
						   const struct canary_secret_key *secret,
						   GError **error)
{
	GError *local = NULL;
	g_autoptr(canary_content_key) key = open_meta_key(store, case_id, secret, &local);
	if (key == NULL) {
		if (local != NULL) {
			g_propagate_error(error, local);
			return NULL;
		}
		/* Every sealed copy includes the custodian's. */
		g_autoptr(GBytes) custodian =
			canary_store_get_blob(store, case_id, FIELD_KEY_META_CUSTODIAN, NULL);
		if (custodian != NULL)
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
	g_autoptr(GBytes) plain = get_sealed(store, case_id, key, FIELD_META, FALSE, error);
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

gboolean canary_envelope_reseal_section(struct canary_store *store, gint64 case_id,
					const struct canary_secret_key *secret,
					const struct canary_public_key *new_section, GError **error)
{
	g_autoptr(canary_content_key) key = open_content_key(store, case_id, secret, error);
	if (key == NULL || !put_key(store, case_id, FIELD_KEY_SECTION, key, new_section, error))
		return FALSE;
	GError *meta_error = NULL;
	g_autoptr(canary_content_key) meta_key =
		open_meta_key(store, case_id, secret, &meta_error);
	if (meta_error != NULL) {
		g_propagate_error(error, meta_error);
		return FALSE;
	}
	if (meta_key != NULL &&
	    !put_key(store, case_id, FIELD_KEY_META_SECTION, meta_key, new_section, error))
		return FALSE;
	for (guint number = 1;; number++) {
		gboolean exists = FALSE;
		if (!note_exists(store, case_id, number, &exists, error))
			return FALSE;
		if (!exists)
			return TRUE;
		GError *local = NULL;
		g_autoptr(canary_content_key) note_key =
			open_note_key(store, case_id, number, secret, NULL, &local);
		if (local != NULL) {
			g_propagate_error(error, local);
			return FALSE;
		}
		g_autofree char *field = note_key_field(number, "section");
		if (note_key != NULL &&
		    !put_key(store, case_id, field, note_key, new_section, error))
			return FALSE;
	}
}
