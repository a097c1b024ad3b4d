/* case_sealed.c: the ops that hand out sealed blobs or store blobs an
 * officer's process sealed. canaryd never holds a secret key: it checks the
 * caller's access, records the access under the caller's kernel user name
 * and only then lets a blob go; the officer's process decrypts. */
#include "case_sealed.h"

#include "access.h"
#include "case_ops.h"
#include "envelope.h"

#include <string.h>

/* --- Arguments and errors ------------------------------------------------ */

/* The integer argument NAME into *VALUE_R (left alone when absent). */
static gboolean arg_int(JsonObject *args, const char *name, gint64 *value_r, GError **error)
{
	gboolean given = FALSE;
	return canary_control_arg_int(args, name, value_r, &given, error);
}

/* Re-classes an envelope error as the caller's: a forged or malformed set
 * of blobs is a bad argument. */
void canary_case_error_as_usage(GError **error)
{
	if (error != NULL && *error != NULL && (*error)->domain == CANARY_ENVELOPE_ERROR) {
		(*error)->domain = CANARY_CONTROL_ERROR;
		(*error)->code = CANARY_CONTROL_ERROR_USAGE;
	}
}

/* The blobs an officer's process sealed for case CASE_ID, argument
 * "sealed"; else NULL with USAGE (WHAT names them when it is missing). */
struct canary_sealed_case *canary_case_sealed_arg(JsonObject *args, gint64 case_id,
						  const char *what, GError **error)
{
	JsonNode *node = json_object_get_member(args, "sealed");
	if (node == NULL || !JSON_NODE_HOLDS_OBJECT(node)) {
		g_set_error(error, CANARY_CONTROL_ERROR, CANARY_CONTROL_ERROR_USAGE,
			    "argument \"sealed\" (%s) is missing", what);
		return NULL;
	}
	struct canary_sealed_case *sc =
		canary_sealed_case_from_json(case_id, json_node_get_object(node), error);
	if (sc == NULL)
		canary_case_error_as_usage(error);
	return sc;
}

/* The case named by argument "ref", whoever asks; else NULL with USAGE or
 * NOT_FOUND. */
struct canary_case *canary_case_lookup(struct canary_control_context *ctx, JsonObject *args,
				       GError **error)
{
	const char *ref = canary_control_arg_text(args, "ref", TRUE, error);
	if (ref == NULL)
		return NULL;
	g_autoptr(GError) local = NULL;
	struct canary_case *c = canary_store_get_case(ctx->store, ref, &local);
	if (c == NULL) {
		if (g_error_matches(local, CANARY_STORE_ERROR, CANARY_STORE_ERROR_NOT_FOUND))
			g_set_error_literal(error, CANARY_CONTROL_ERROR,
					    CANARY_CONTROL_ERROR_NOT_FOUND, local->message);
		else
			g_propagate_error(error, g_steal_pointer(&local));
	}
	return c;
}

static gboolean is_quarantined(const struct canary_case *c);

/* TRUE when the caller may see case C: its section's officers and triage,
 * and for a quarantined case the custodian too. Else FALSE with FORBIDDEN
 * naming the group missing (ERROR may be NULL). */
static gboolean may_see(const struct canary_access *access, const struct canary_case *c,
			GError **error)
{
	if (canary_access_require_case(access, c, NULL))
		return TRUE;
	if (is_quarantined(c))
		return canary_access_require_role(access, CANARY_ROLE_CUSTODIAN, error);
	return canary_access_require_case(access, c, error);
}

/* The case named by argument "ref", if the caller may see it; else NULL
 * with USAGE, NOT_FOUND or FORBIDDEN. */
static struct canary_case *find_case(struct canary_control_context *ctx,
				     const struct canary_access *access, JsonObject *args,
				     GError **error)
{
	g_autoptr(canary_case) c = canary_case_lookup(ctx, args, error);
	if (c == NULL || !may_see(access, c, error))
		return NULL;
	return g_steal_pointer(&c);
}

static gboolean is_quarantined(const struct canary_case *c)
{
	return strcmp(c->status, CANARY_STATUS_QUARANTINED) == 0;
}

/* Appends ACTION on case REF to its history, as CALLER. The one gate: a
 * blob goes out only after this returned TRUE (and, in a transaction, its
 * commit did). */
static gboolean record(struct canary_control_context *ctx, const struct canary_caller *caller,
		       const char *ref, const char *action, const char *detail, GError **error)
{
	return canary_store_add_event(ctx->store, ref, caller->user, action, detail, error);
}

/* --- Case metadata on the wire ------------------------------------------- */

static void set_string_or_null(JsonObject *o, const char *name, const char *value)
{
	if (value != NULL)
		json_object_set_string_member(o, name, value);
	else
		json_object_set_null_member(o, name);
}

JsonObject *canary_case_to_json(const struct canary_case *c)
{
	JsonObject *o = json_object_new();
	json_object_set_int_member(o, "id", c->id);
	json_object_set_string_member(o, "ref", c->ref);
	json_object_set_int_member(o, "received_day", c->received_day);
	set_string_or_null(o, "section", c->section);
	json_object_set_string_member(o, "status", c->status);
	set_string_or_null(o, "assignee", c->assignee);
	set_string_or_null(o, "rule", c->rule);
	set_string_or_null(o, "quarantine_reason", c->quarantine_reason);
	json_object_set_int_member(o, "size_class", c->size_class);
	json_object_set_int_member(o, "attachments", c->attachments);
	json_object_set_int_member(o, "messages", c->messages);
	json_object_set_int_member(o, "news", c->news);
	return o;
}

/* Member NAME of O as a new string, or NULL. */
static char *dup_member(JsonObject *o, const char *name)
{
	return g_strdup(json_object_get_string_member_with_default(o, name, NULL));
}

struct canary_case *canary_case_from_json(JsonObject *o, GError **error)
{
	if (o == NULL || !json_object_has_member(o, "id") || !json_object_has_member(o, "ref") ||
	    json_object_get_string_member_with_default(o, "status", NULL) == NULL) {
		g_set_error_literal(error, CANARY_CONTROL_ERROR, CANARY_CONTROL_ERROR_PROTOCOL,
				    "canaryd's answer lacks the case");
		return NULL;
	}
	struct canary_case *c = g_new0(struct canary_case, 1);
	c->id = json_object_get_int_member_with_default(o, "id", 0);
	c->ref = dup_member(o, "ref");
	c->received_day = json_object_get_int_member_with_default(o, "received_day", 0);
	c->section = dup_member(o, "section");
	c->status = dup_member(o, "status");
	c->assignee = dup_member(o, "assignee");
	c->rule = dup_member(o, "rule");
	c->quarantine_reason = dup_member(o, "quarantine_reason");
	gint64 size_class = json_object_get_int_member_with_default(o, "size_class", 0);
	c->size_class = (guint)CLAMP(size_class, 0, CANARY_SIZE_CLASSES - 1);
	c->attachments = (guint)CLAMP(json_object_get_int_member_with_default(o, "attachments", 0),
				      0, G_MAXUINT32);
	c->messages = (guint)CLAMP(json_object_get_int_member_with_default(o, "messages", 1), 1,
				   G_MAXUINT32);
	c->news = (guint)CLAMP(json_object_get_int_member_with_default(o, "news", 0), 0,
			       G_MAXUINT32);
	if (c->ref == NULL || c->section == NULL) {
		canary_case_free(c);
		g_set_error_literal(error, CANARY_CONTROL_ERROR, CANARY_CONTROL_ERROR_PROTOCOL,
				    "canaryd's answer has a case without reference or section");
		return NULL;
	}
	return c;
}

/* A result holding case C (and SEALED's blobs when not NULL). */
static JsonObject *case_result(const struct canary_case *c, const struct canary_sealed_case *sealed)
{
	JsonObject *result = json_object_new();
	json_object_set_object_member(result, "case", canary_case_to_json(c));
	if (sealed != NULL)
		json_object_set_object_member(result, "sealed", canary_sealed_case_to_json(sealed));
	return result;
}

/* Loads PARTS of case C into a new set, or NULL. */
static struct canary_sealed_case *load(struct canary_control_context *ctx,
				       const struct canary_case *c, guint parts, GError **error)
{
	g_autoptr(canary_sealed_case) sc = canary_sealed_case_new(c->id);
	if (!canary_envelope_load(ctx->store, parts, sc, error))
		return NULL;
	/* The same parts of every later message: the conversation is the case. */
	for (guint number = 2; number <= c->messages; number++)
		if (!canary_envelope_load_message(ctx->store, number, parts, sc, error))
			return NULL;
	return g_steal_pointer(&sc);
}

/* The messages after the first of case C (number, in or out, day) as JSON. */
static JsonArray *messages_json(struct canary_control_context *ctx, const struct canary_case *c,
				GError **error)
{
	g_autoptr(GPtrArray) messages = canary_store_list_messages(ctx->store, c->id, error);
	if (messages == NULL)
		return NULL;
	JsonArray *list = json_array_new();
	for (guint i = 0; i < messages->len; i++) {
		const struct canary_message *m = messages->pdata[i];
		JsonObject *o = json_object_new();
		json_object_set_int_member(o, "number", m->number);
		json_object_set_string_member(o, "direction",
					      m->outgoing ? CANARY_DIRECTION_OUT : CANARY_DIRECTION_IN);
		json_object_set_int_member(o, "day", m->received_day);
		json_object_set_int_member(o, "attachments", m->attachments);
		json_array_add_object_element(list, o);
	}
	return list;
}

/* Records that CALLER has now seen every message of C (for list's news). */
static gboolean mark_seen(struct canary_control_context *ctx, const struct canary_caller *caller,
			  const struct canary_case *c, GError **error)
{
	if (!canary_store_begin(ctx->store, error))
		return FALSE;
	if (!canary_store_set_seen(ctx->store, c->id, caller->user, c->messages, error)) {
		canary_store_rollback(ctx->store);
		return FALSE;
	}
	return canary_store_commit(ctx->store, error);
}

/* --- keys: the key copies, to check a key before anything is opened ------ */

/* Every copy of the case's keys: they open nothing without the ciphertext,
 * which only the recorded ops hand out. The officer's process tries its key
 * on them first, so that an access is recorded only when the key opens the
 * case, as when the tools opened the store themselves. */
static const guint key_parts = CANARY_ENVELOPE_CONTENT_KEYS | CANARY_ENVELOPE_META_KEYS |
			       CANARY_ENVELOPE_NOTE_KEYS | CANARY_ENVELOPE_IDENTITY_KEY;

/* TRUE when the caller may see case C, or is the custodian (who sees every
 * case through reveal). */
static gboolean may_see_keys(const struct canary_access *access, const struct canary_case *c)
{
	return may_see(access, c, NULL) || canary_access_has_role(access, CANARY_ROLE_CUSTODIAN);
}

CANARY_OP(canary_op_keys)
{
	g_autoptr(canary_access) access = canary_access_new(ctx->config, caller);
	g_autoptr(canary_case) c = canary_case_lookup(ctx, args, error);
	if (c == NULL)
		return NULL;
	if (!may_see_keys(access, c)) {
		may_see(access, c, error);
		return NULL;
	}
	g_autoptr(canary_sealed_case) sc = load(ctx, c, key_parts, error);
	return sc != NULL ? case_result(c, sc) : NULL;
}

/* --- list ------------------------------------------------------------------ */

/* TRUE when REF is among the strings of array NAME in ARGS. */
static gboolean listed_in(JsonObject *args, const char *name, const char *ref)
{
	JsonNode *node = json_object_get_member(args, name);
	if (node == NULL || !JSON_NODE_HOLDS_ARRAY(node))
		return FALSE;
	JsonArray *refs = json_node_get_array(node);
	for (guint i = 0; i < json_array_get_length(refs); i++) {
		JsonNode *e = json_array_get_element(refs, i);
		if (JSON_NODE_HOLDS_VALUE(e) && json_node_get_value_type(e) == G_TYPE_STRING &&
		    strcmp(json_node_get_string(e), ref) == 0)
			return TRUE;
	}
	return FALSE;
}

/* What list hands out of case C: with "keys", its key copies (not
 * recorded); for a case in "subjects", its subject (not of a quarantined
 * case) and exact values; in "values", its exact values. 0: nothing. */
static guint list_parts(JsonObject *args, const struct canary_access *access,
			const struct canary_case *c, gboolean *recorded_r)
{
	*recorded_r = TRUE;
	/* A quarantined case's exact values are sealed to the custodian only. */
	if (is_quarantined(c) && !canary_access_has_role(access, CANARY_ROLE_CUSTODIAN)) {
		*recorded_r = FALSE;
		return 0;
	}
	if (listed_in(args, "subjects", c->ref))
		return CANARY_ENVELOPE_META | (is_quarantined(c) ? 0 : CANARY_ENVELOPE_SUBJECT);
	if (listed_in(args, "values", c->ref))
		return CANARY_ENVELOPE_META;
	*recorded_r = FALSE;
	return canary_control_arg_true(args, "keys") ? key_parts : 0;
}

/* The action list records for a case it hands PARTS of. */
static const char *list_action(JsonObject *args, guint parts)
{
	if (canary_control_arg_true(args, "pseudonym"))
		return "listed by pseudonym";
	return (parts & CANARY_ENVELOPE_SUBJECT) ? "subject listed" : "exact values listed";
}

/* Loads what list hands out of each case in CASES into SEALED (parallel;
 * NULL for none), recording each case whose ciphertext goes out (one
 * transaction, committed before any leaves). */
static gboolean list_sealed(struct canary_control_context *ctx, const struct canary_caller *caller,
			    const struct canary_access *access, JsonObject *args, GPtrArray *cases,
			    GPtrArray *sealed, GError **error)
{
	if (!canary_store_begin(ctx->store, error))
		return FALSE;
	for (guint i = 0; i < cases->len; i++) {
		const struct canary_case *c = cases->pdata[i];
		gboolean recorded = FALSE;
		guint parts = list_parts(args, access, c, &recorded);
		struct canary_sealed_case *sc = parts != 0 ? load(ctx, c, parts, error) : NULL;
		if (parts != 0 && sc == NULL) {
			canary_store_rollback(ctx->store);
			return FALSE;
		}
		g_ptr_array_add(sealed, sc);
		if (!recorded || g_hash_table_size(sc->blobs) == 0)
			continue;
		if (!record(ctx, caller, c->ref, list_action(args, parts), NULL, error)) {
			canary_store_rollback(ctx->store);
			return FALSE;
		}
	}
	return canary_store_commit(ctx->store, error);
}

CANARY_OP(canary_op_list)
{
	g_autoptr(canary_access) access = canary_access_new(ctx->config, caller);
	/* A user in no group is refused, not shown an empty queue. */
	struct canary_store_scope scope;
	if (!canary_access_count_scope(access, &scope, error))
		return NULL;
	struct canary_case_filter filter = {0};
	GError *local = NULL;
	filter.status = canary_control_arg_text(args, "status", FALSE, &local);
	if (local == NULL)
		filter.section = canary_control_arg_text(args, "section", FALSE, &local);
	if (local == NULL)
		filter.assignee = canary_control_arg_text(args, "assignee", FALSE, &local);
	if (local == NULL)
		arg_int(args, "since", &filter.since, &local);
	if (local != NULL) {
		g_propagate_error(error, local);
		return NULL;
	}
	if (filter.status != NULL && !canary_store_status_valid(filter.status)) {
		g_set_error(error, CANARY_CONTROL_ERROR, CANARY_CONTROL_ERROR_USAGE,
			    "status %s: expected new, open, closed or quarantined", filter.status);
		return NULL;
	}
	g_autoptr(GPtrArray) all = canary_store_list_cases(ctx->store, &filter, error);
	if (all == NULL)
		return NULL;
	g_autoptr(GPtrArray) cases = g_ptr_array_new();
	for (guint i = 0; i < all->len; i++)
		if (may_see(access, all->pdata[i], NULL))
			g_ptr_array_add(cases, all->pdata[i]);
	g_autoptr(GPtrArray) sealed =
		g_ptr_array_new_with_free_func((GDestroyNotify)canary_sealed_case_free);
	gboolean sealed_asked = canary_control_arg_true(args, "keys") ||
				json_object_has_member(args, "subjects") ||
				json_object_has_member(args, "values");
	if (sealed_asked && !list_sealed(ctx, caller, access, args, cases, sealed, error))
		return NULL;
	JsonArray *list = json_array_new();
	for (guint i = 0; i < cases->len; i++) {
		struct canary_case *c = cases->pdata[i];
		/* What is new to this caller since they last opened the case. */
		guint seen = 0;
		if (!canary_store_get_seen(ctx->store, c->id, caller->user, &seen, error)) {
			json_array_unref(list);
			return NULL;
		}
		c->news = seen > 0 && c->messages > seen ? c->messages - seen : 0;
		JsonObject *o = canary_case_to_json(c);
		const struct canary_sealed_case *sc = i < sealed->len ? sealed->pdata[i] : NULL;
		if (sc != NULL)
			json_object_set_object_member(o, "sealed", canary_sealed_case_to_json(sc));
		json_array_add_object_element(list, o);
	}
	JsonObject *result = json_object_new();
	json_object_set_array_member(result, "cases", list);
	return result;
}

/* --- show, attachment, reveal ------------------------------------------- */

/* The details of the case's "damaged" events (the text may be incomplete). */
static JsonArray *damaged(struct canary_control_context *ctx, const char *ref, GError **error)
{
	g_autoptr(GPtrArray) events = canary_store_list_events(ctx->store, ref, error);
	if (events == NULL)
		return NULL;
	JsonArray *details = json_array_new();
	for (guint i = 0; i < events->len; i++) {
		const struct canary_event *e = events->pdata[i];
		if (g_strcmp0(e->action, "damaged") == 0)
			json_array_add_string_element(details, e->detail != NULL ? e->detail : "");
	}
	return details;
}

/* A quarantined case is answered with its metadata alone: the tools say
 * whose it is. */
CANARY_OP(canary_op_show)
{
	g_autoptr(canary_access) access = canary_access_new(ctx->config, caller);
	g_autoptr(canary_case) c = find_case(ctx, access, args, error);
	if (c == NULL)
		return NULL;
	if (is_quarantined(c))
		return case_result(c, NULL);
	g_autoptr(JsonArray) details = damaged(ctx, c->ref, error);
	if (details == NULL)
		return NULL;
	g_autoptr(canary_sealed_case) sc =
		load(ctx, c, CANARY_ENVELOPE_CONTENT | CANARY_ENVELOPE_META | CANARY_ENVELOPE_NOTES,
		     error);
	g_autoptr(JsonArray) messages = sc != NULL ? messages_json(ctx, c, error) : NULL;
	// Order is important: recorded before the blobs leave.
	if (messages == NULL || !record(ctx, caller, c->ref, "show", NULL, error) ||
	    !mark_seen(ctx, caller, c, error))
		return NULL;
	JsonObject *result = case_result(c, sc);
	json_object_set_array_member(result, "damaged", g_steal_pointer(&details));
	json_object_set_array_member(result, "messages", g_steal_pointer(&messages));
	return result;
}

/* The number of attachments of message NUMBER (>= 2) of C. */
static gboolean message_attachments(struct canary_control_context *ctx,
				    const struct canary_case *c, guint number, guint *count_r,
				    GError **error)
{
	g_autoptr(GPtrArray) messages = canary_store_list_messages(ctx->store, c->id, error);
	if (messages == NULL)
		return FALSE;
	*count_r = 0;
	for (guint i = 0; i < messages->len; i++) {
		const struct canary_message *m = messages->pdata[i];
		if (m->number == number)
			*count_r = m->attachments;
	}
	return TRUE;
}

/* NOT_FOUND unless C has a message NUMBER. */
static gboolean check_message_number(const struct canary_case *c, gint64 number, GError **error)
{
	if (number >= 1 && number <= c->messages)
		return TRUE;
	g_set_error(error, CANARY_CONTROL_ERROR, CANARY_CONTROL_ERROR_NOT_FOUND,
		    "case %s has %u message%s, not %" G_GINT64_FORMAT, c->ref, c->messages,
		    c->messages == 1 ? "" : "s", number);
	return FALSE;
}

CANARY_OP(canary_op_attachment)
{
	g_autoptr(canary_access) access = canary_access_new(ctx->config, caller);
	gint64 number = 0;
	if (!arg_int(args, "number", &number, error))
		return NULL;
	gint64 message = 1;
	if (json_object_has_member(args, "message") && !arg_int(args, "message", &message, error))
		return NULL;
	g_autoptr(canary_case) c = find_case(ctx, access, args, error);
	if (c == NULL)
		return NULL;
	if (is_quarantined(c))
		return case_result(c, NULL);
	if (!check_message_number(c, message, error))
		return NULL;
	guint attachments = c->attachments;
	if (message > 1 && !message_attachments(ctx, c, (guint)message, &attachments, error))
		return NULL;
	if (number < 1 || number > attachments) {
		g_set_error(error, CANARY_CONTROL_ERROR, CANARY_CONTROL_ERROR_NOT_FOUND,
			    "message %" G_GINT64_FORMAT " of case %s has %u attachment%s, not %"
			    G_GINT64_FORMAT,
			    message, c->ref, attachments, attachments == 1 ? "" : "s", number);
		return NULL;
	}
	guint index = (guint)number - 1;
	g_autoptr(canary_sealed_case) sc = canary_sealed_case_new(c->id);
	GError *local = NULL;
	if (!canary_envelope_load_message_attachment(ctx->store, (guint)message, index, sc,
						     &local)) {
		if (g_error_matches(local, CANARY_ENVELOPE_ERROR, CANARY_ENVELOPE_ERROR_NO_SUCH))
			local->domain = CANARY_CONTROL_ERROR,
			local->code = CANARY_CONTROL_ERROR_NOT_FOUND;
		g_propagate_error(error, local);
		return NULL;
	}
	g_autofree char *detail =
		message > 1 ? g_strdup_printf("attachment %u of message %" G_GINT64_FORMAT,
					      index + 1, message)
			    : g_strdup_printf("attachment %u", index + 1);
	// Order is important: recorded before the blobs leave.
	if (!record(ctx, caller, c->ref, "attachment", detail, error))
		return NULL;
	return case_result(c, sc);
}

/* Loads the identity parts of C for reveal: of message ONLY, or of every
 * message when ONLY is 0; the original message (RAW) of ONLY, or of
 * message 1. */
static struct canary_sealed_case *load_identities(struct canary_control_context *ctx,
						  const struct canary_case *c, guint only,
						  gboolean raw, GError **error)
{
	const guint parts = CANARY_ENVELOPE_IDENTITY | CANARY_ENVELOPE_META;
	const guint raw_part = raw ? CANARY_ENVELOPE_RAW : 0;
	g_autoptr(canary_sealed_case) sc = canary_sealed_case_new(c->id);
	if (only <= 1 && !canary_envelope_load(ctx->store, parts | raw_part, sc, error))
		return NULL;
	for (guint number = 2; number <= c->messages; number++)
		if ((only == 0 || only == number) &&
		    !canary_envelope_load_message(ctx->store, number,
						  parts | (only == number ? raw_part : 0), sc,
						  error))
			return NULL;
	return g_steal_pointer(&sc);
}

CANARY_OP(canary_op_reveal)
{
	g_autoptr(canary_access) access = canary_access_new(ctx->config, caller);
	if (!canary_access_require_role(access, CANARY_ROLE_CUSTODIAN, error))
		return NULL;
	g_autoptr(canary_case) c = canary_case_lookup(ctx, args, error);
	if (c == NULL)
		return NULL;
	gboolean raw = canary_control_arg_true(args, "raw");
	gint64 message = 0; /* every message */
	if (json_object_has_member(args, "message") &&
	    (!arg_int(args, "message", &message, error) ||
	     !check_message_number(c, message, error)))
		return NULL;
	g_autoptr(canary_sealed_case) sc = load_identities(ctx, c, (guint)message, raw, error);
	g_autoptr(JsonArray) messages = sc != NULL ? messages_json(ctx, c, error) : NULL;
	g_autofree char *detail =
		message > 0 ? g_strdup_printf("message %" G_GINT64_FORMAT "%s", message,
					      raw ? ", with raw message" : "")
			    : g_strdup(raw ? "with raw message" : NULL);
	// Order is important: recorded before the blobs leave.
	if (messages == NULL || !record(ctx, caller, c->ref, "reveal", detail, error))
		return NULL;
	JsonObject *result = case_result(c, sc);
	json_object_set_array_member(result, "messages", g_steal_pointer(&messages));
	return result;
}

/* --- move ------------------------------------------------------------------ */

/* The public key file of SECTION as text into *TEXT_R (NULL when the
 * section has none and OPTIONAL); USAGE for a section the routing rules do
 * not name. */
static gboolean section_key_text(struct canary_control_context *ctx, const char *section,
				 gboolean optional, char **text_r, GError **error)
{
	*text_r = NULL;
	const char *path = canary_config_section_key(ctx->config, section);
	if (path == NULL) {
		if (optional)
			return TRUE;
		g_set_error(error, CANARY_CONTROL_ERROR, CANARY_CONTROL_ERROR_USAGE,
			    "no such section '%s' in %s: use a section of the routing rules",
			    section, ctx->config->path);
		return FALSE;
	}
	g_autoptr(GError) local = NULL;
	if (!g_file_get_contents(path, text_r, NULL, &local)) {
		g_set_error(error, CANARY_CONTROL_ERROR, CANARY_CONTROL_ERROR_FAILED,
			    "section %s: %s", section, local->message);
		return FALSE;
	}
	return TRUE;
}

/* The case to move and its target section, checked: not quarantined, not
 * there already, a section of the routing rules. */
static struct canary_case *move_target(struct canary_control_context *ctx,
				       const struct canary_caller *caller, JsonObject *args,
				       const char **section_r, GError **error)
{
	g_autoptr(canary_access) access = canary_access_new(ctx->config, caller);
	if (!canary_access_require_role(access, CANARY_ROLE_TRIAGE, error))
		return NULL;
	*section_r = canary_control_arg_text(args, "section", TRUE, error);
	if (*section_r == NULL)
		return NULL;
	return find_case(ctx, access, args, error);
}

/* Answers with the case, and unless it is quarantined or in SECTION
 * already, SECTION's public key and the case's key copies to re-seal. */
CANARY_OP(canary_op_move_prepare)
{
	const char *section = NULL;
	g_autoptr(canary_case) c = move_target(ctx, caller, args, &section, error);
	if (c == NULL)
		return NULL;
	if (is_quarantined(c) || strcmp(c->section, section) == 0)
		return case_result(c, NULL);
	g_autofree char *key = NULL;
	if (!section_key_text(ctx, section, FALSE, &key, error))
		return NULL;
	/* Key copies only, no ciphertext: nothing to record yet. */
	g_autoptr(canary_sealed_case) sc =
		load(ctx, c,
		     CANARY_ENVELOPE_CONTENT_KEYS | CANARY_ENVELOPE_META_KEYS |
			     CANARY_ENVELOPE_NOTE_KEYS | CANARY_ENVELOPE_DRAFT_KEYS,
		     error);
	if (sc == NULL)
		return NULL;
	JsonObject *result = case_result(c, sc);
	json_object_set_string_member(result, "public_key", key);
	return result;
}

/* Stores the re-sealed key copies in "sealed", sets the section and
 * records the move, in one transaction. */
CANARY_OP(canary_op_move)
{
	const char *section = NULL;
	g_autoptr(canary_case) c = move_target(ctx, caller, args, &section, error);
	if (c == NULL)
		return NULL;
	if (is_quarantined(c)) {
		g_set_error(error, CANARY_CONTROL_ERROR, CANARY_CONTROL_ERROR_FAILED,
			    "case %s is quarantined (%s): it has no section to move; the custodian "
			    "reviews it with canary reveal",
			    c->ref, c->quarantine_reason != NULL ? c->quarantine_reason : "-");
		return NULL;
	}
	if (strcmp(c->section, section) == 0) {
		g_set_error(error, CANARY_CONTROL_ERROR, CANARY_CONTROL_ERROR_USAGE,
			    "%s is already in section %s", c->ref, section);
		return NULL;
	}
	g_autofree char *key = NULL;
	if (!section_key_text(ctx, section, FALSE, &key, error))
		return NULL;
	g_autoptr(canary_sealed_case) resealed =
		canary_case_sealed_arg(args, c->id, "the re-sealed keys", error);
	if (resealed == NULL)
		return NULL;
	g_autofree char *action = g_strdup_printf("moved to section %s", section);
	g_autofree char *detail = g_strdup_printf("from %s", c->section);
	if (!canary_store_begin(ctx->store, error))
		return NULL;
	if (!canary_envelope_store_reseal(ctx->store, resealed, error) ||
	    !canary_store_set_section(ctx->store, c->ref, section, error) ||
	    !record(ctx, caller, c->ref, action, detail, error) ||
	    !canary_store_commit(ctx->store, error)) {
		canary_store_rollback(ctx->store);
		canary_case_error_as_usage(error);
		return NULL;
	}
	JsonObject *result = json_object_new();
	json_object_set_string_member(result, "ref", c->ref);
	json_object_set_string_member(result, "from", c->section);
	json_object_set_string_member(result, "section", section);
	return result;
}

/* --- status ---------------------------------------------------------------- */

/* Answers with the case and, unless it is quarantined, what a note needs:
 * its number, the author's name and the public keys to seal it to. */
CANARY_OP(canary_op_status_prepare)
{
	g_autoptr(canary_access) access = canary_access_new(ctx->config, caller);
	g_autoptr(canary_case) c = find_case(ctx, access, args, error);
	if (c == NULL)
		return NULL;
	if (is_quarantined(c))
		return case_result(c, NULL);
	guint number = 0;
	g_autofree char *section = NULL, *triage = NULL;
	if (!canary_envelope_next_note(ctx->store, c->id, &number, error) ||
	    !section_key_text(ctx, c->section, TRUE, &section, error))
		return NULL;
	const char *triage_path = ctx->config->keys.triage_public;
	g_autoptr(GError) local = NULL;
	if (triage_path != NULL && !g_file_get_contents(triage_path, &triage, NULL, &local)) {
		g_set_error(error, CANARY_CONTROL_ERROR, CANARY_CONTROL_ERROR_FAILED,
			    "the triage key: %s", local->message);
		return NULL;
	}
	JsonObject *result = case_result(c, NULL);
	json_object_set_int_member(result, "note", number);
	json_object_set_string_member(result, "user", caller->user);
	set_string_or_null(result, "section_key", section);
	set_string_or_null(result, "triage_key", triage);
	return result;
}

/* Sets the status (and stores the note sealed in "sealed" as number
 * "note") and records it, in one transaction. */
CANARY_OP(canary_op_status)
{
	g_autoptr(canary_access) access = canary_access_new(ctx->config, caller);
	GError *local = NULL;
	const char *status = canary_control_arg_text(args, "status", TRUE, &local);
	gint64 number = 0;
	if (local == NULL)
		arg_int(args, "note", &number, &local);
	if (local != NULL) {
		g_propagate_error(error, local);
		return NULL;
	}
	if (strcmp(status, CANARY_STATUS_OPEN) != 0 && strcmp(status, CANARY_STATUS_CLOSED) != 0) {
		g_set_error(error, CANARY_CONTROL_ERROR, CANARY_CONTROL_ERROR_USAGE,
			    "status %s: expected open or closed", status);
		return NULL;
	}
	g_autoptr(canary_case) c = find_case(ctx, access, args, error);
	if (c == NULL)
		return NULL;
	if (is_quarantined(c)) {
		g_set_error(error, CANARY_CONTROL_ERROR, CANARY_CONTROL_ERROR_FAILED,
			    "case %s is quarantined (%s): its status cannot be changed; the "
			    "custodian reviews it with canary reveal",
			    c->ref, c->quarantine_reason != NULL ? c->quarantine_reason : "-");
		return NULL;
	}
	g_autoptr(canary_sealed_case) note = NULL;
	JsonNode *node = json_object_get_member(args, "sealed");
	if (number != 0) {
		if (number < 1 || number > G_MAXUINT32 || node == NULL ||
		    !JSON_NODE_HOLDS_OBJECT(node)) {
			g_set_error_literal(error, CANARY_CONTROL_ERROR, CANARY_CONTROL_ERROR_USAGE,
					    "a note needs its number and \"sealed\" (its blobs)");
			return NULL;
		}
		note = canary_case_sealed_arg(args, c->id, "its blobs", error);
		if (note == NULL)
			return NULL;
	}
	g_autofree char *action = g_strdup_printf("status %s", status);
	g_autofree char *detail =
		number > 0 ? g_strdup_printf("note %" G_GINT64_FORMAT, number) : NULL;
	if (!canary_store_begin(ctx->store, error))
		return NULL;
	if ((note != NULL && !canary_envelope_store_note(ctx->store, (guint)number, note, error)) ||
	    !canary_store_set_status(ctx->store, c->ref, status, error) ||
	    !record(ctx, caller, c->ref, action, detail, error) ||
	    !canary_store_commit(ctx->store, error)) {
		canary_store_rollback(ctx->store);
		canary_case_error_as_usage(error);
		return NULL;
	}
	JsonObject *result = json_object_new();
	json_object_set_string_member(result, "ref", c->ref);
	json_object_set_string_member(result, "status", status);
	json_object_set_int_member(result, "note", number);
	return result;
}
