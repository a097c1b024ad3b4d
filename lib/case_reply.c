/* case_reply.c: replies through the custodian. An officer's process seals
 * a draft (to the section, triage and custodian keys) and canaryd stores
 * it; the custodian lists the drafts waiting (outbox), opens one with the
 * submitter's identity (send-prepare) and has canaryd send it over SMTP
 * (send), which keeps a sealed copy as the case's next message and the
 * keyed hash of its Message-ID, so that the submitter's answer joins the
 * case. Every hand-out is recorded before it leaves, as in case_sealed.c.
 *
 *   reply-prepare {ref}        -> {case, draft, user, section_key,
 *                                  triage_key, custodian_key}
 *   reply {ref, draft, sealed} -> {ref, draft}; "drafted" "draft N"
 *   outbox {}                  -> {drafts: [{ref, case_id, draft, drafted_by,
 *                                  drafted_day, sending, sealed}]}; "outbox"
 *   send-prepare {ref, draft?} -> {case, draft, drafted_by, drafted_day,
 *                                  sending, message, sealed}; "reveal"
 *   send {ref, draft, to, subject, text, in_reply_to?, references?, again?}
 *                              -> {ref, draft, message}; "sent"
 *                                 "draft N as message M" */
#include "access.h"
#include "case_ops.h"
#include "case_sealed.h"
#include "envelope.h"
#include "log.h"
#include "outgoing.h"
#include "ingest.h"
#include "smtp.h"
#include "wipe.h"

#include <string.h>

/* The longest draft canaryd takes, in bytes of text (the tool's limit is
 * lower; this bounds what a forged request can make it send). */
#define REPLY_TEXT_MAX (1024 * 1024)

/* --- Arguments ----------------------------------------------------------- */

/* The draft number in argument "draft" into *NUMBER_R (0 when absent and
 * OPTIONAL); USAGE when it is not one. */
static gboolean arg_draft(JsonObject *args, gboolean optional, guint *number_r, GError **error)
{
	gint64 number = 0;
	gboolean given = FALSE;
	if (!canary_control_arg_int(args, "draft", &number, &given, error))
		return FALSE;
	if ((!given && !optional) || (given && (number < 1 || number > G_MAXUINT32))) {
		g_set_error_literal(error, CANARY_CONTROL_ERROR, CANARY_CONTROL_ERROR_USAGE,
				    "argument \"draft\" must be a draft number (1, 2, ...)");
		return FALSE;
	}
	*number_r = (guint)number;
	return TRUE;
}

static gboolean refuse_quarantined(const struct canary_case *c, GError **error)
{
	if (strcmp(c->status, CANARY_STATUS_QUARANTINED) != 0)
		return TRUE;
	g_set_error(error, CANARY_CONTROL_ERROR, CANARY_CONTROL_ERROR_FAILED,
		    "case %s is quarantined (%s): it has no section to answer from; the "
		    "custodian reviews it with canary reveal",
		    c->ref, c->quarantine_reason != NULL ? c->quarantine_reason : "-");
	return FALSE;
}

static gboolean record(struct canary_control_context *ctx, const struct canary_caller *caller,
		       const char *ref, const char *action, const char *detail, GError **error)
{
	return canary_store_add_event(ctx->store, ref, caller->user, action, detail, error);
}

static void set_string_or_null(JsonObject *o, const char *name, const char *value)
{
	if (value != NULL)
		json_object_set_string_member(o, name, value);
	else
		json_object_set_null_member(o, name);
}

/* The text of public key file PATH (NULL when PATH is NULL) into *TEXT_R. */
static gboolean key_text(const char *what, const char *path, char **text_r, GError **error)
{
	*text_r = NULL;
	g_autoptr(GError) local = NULL;
	if (path != NULL && !g_file_get_contents(path, text_r, NULL, &local)) {
		g_set_error(error, CANARY_CONTROL_ERROR, CANARY_CONTROL_ERROR_FAILED, "%s: %s",
			    what, local->message);
		return FALSE;
	}
	return TRUE;
}

/* --- Drafting: whoever may work the case ---------------------------------- */

/* The case named in ARGS if the caller may draft a reply in it: its
 * section's group, triage, admin (or superuser); not quarantined. */
static struct canary_case *draft_case(struct canary_control_context *ctx,
				      const struct canary_caller *caller, JsonObject *args,
				      GError **error)
{
	g_autoptr(canary_access) access = canary_access_new(ctx->config, caller);
	g_autoptr(canary_case) c = canary_case_lookup(ctx, args, error);
	if (c == NULL)
		return NULL;
	if (!canary_access_has_role(access, CANARY_ROLE_ADMIN) &&
	    !canary_access_require_case(access, c, error))
		return NULL;
	if (!refuse_quarantined(c, error))
		return NULL;
	return g_steal_pointer(&c);
}

CANARY_OP(canary_op_reply_prepare)
{
	g_autoptr(canary_case) c = draft_case(ctx, caller, args, error);
	if (c == NULL)
		return NULL;
	guint number = 0;
	g_autofree char *section = NULL, *triage = NULL, *custodian = NULL;
	if (!canary_store_next_draft(ctx->store, c->id, &number, error) ||
	    !key_text("the section key", canary_config_section_key(ctx->config, c->section),
		      &section, error) ||
	    !key_text("the triage key", ctx->config->keys.triage_public, &triage, error) ||
	    !key_text("the custodian key", ctx->config->keys.custodian_public, &custodian, error))
		return NULL;
	JsonObject *result = json_object_new();
	json_object_set_object_member(result, "case", canary_case_to_json(c));
	json_object_set_int_member(result, "draft", number);
	json_object_set_string_member(result, "user", caller->user);
	set_string_or_null(result, "section_key", section);
	set_string_or_null(result, "triage_key", triage);
	set_string_or_null(result, "custodian_key", custodian);
	return result;
}

/* Stores the draft sealed in "sealed" as number "draft", its row and the
 * event, in one transaction. */
CANARY_OP(canary_op_reply)
{
	guint number = 0;
	if (!arg_draft(args, FALSE, &number, error))
		return NULL;
	g_autoptr(canary_case) c = draft_case(ctx, caller, args, error);
	if (c == NULL)
		return NULL;
	g_autoptr(canary_sealed_case) draft =
		canary_case_sealed_arg(args, c->id, "the sealed draft", error);
	if (draft == NULL)
		return NULL;
	g_autofree char *detail = g_strdup_printf("draft %u", number);
	guint next = 0;
	if (!canary_store_begin(ctx->store, error))
		return NULL;
	if (!canary_store_next_draft(ctx->store, c->id, &next, error))
		goto fail;
	if (next != number) {
		g_set_error(error, CANARY_CONTROL_ERROR, CANARY_CONTROL_ERROR_USAGE,
			    "draft %u cannot be added: the next draft of %s is %u (another was "
			    "added meanwhile: try again)",
			    number, c->ref, next);
		goto fail;
	}
	if (!canary_envelope_store_draft(ctx->store, number, draft, error) ||
	    !canary_store_add_draft(ctx->store, c->id, number, caller->user,
				    g_get_real_time() / G_USEC_PER_SEC, error) ||
	    !record(ctx, caller, c->ref, "drafted", detail, error) ||
	    !canary_store_commit(ctx->store, error))
		goto fail;
	canary_info("case %s: draft %u added", c->ref, number);
	JsonObject *result = json_object_new();
	json_object_set_string_member(result, "ref", c->ref);
	json_object_set_int_member(result, "draft", number);
	return result;
fail:
	canary_store_rollback(ctx->store);
	canary_case_error_as_usage(error);
	return NULL;
}

/* --- The outbox: the custodian's (and admins') ----------------------------- */

/* A draft of the outbox, with its sealed blobs (SC) when not NULL. */
static JsonObject *draft_to_json(const struct canary_draft *d, const struct canary_sealed_case *sc)
{
	JsonObject *o = json_object_new();
	json_object_set_string_member(o, "ref", d->ref);
	json_object_set_int_member(o, "case_id", d->case_id);
	json_object_set_int_member(o, "draft", d->number);
	json_object_set_string_member(o, "drafted_by", d->drafted_by);
	json_object_set_int_member(o, "drafted_day", d->drafted_day);
	json_object_set_boolean_member(o, "sending", d->sent_as == CANARY_DRAFT_SENDING);
	if (sc != NULL)
		json_object_set_object_member(o, "sealed", canary_sealed_case_to_json(sc));
	return o;
}

/* Records one "outbox" event per case of DRAFTS (sorted by case), naming
 * its drafts handed out. In the open transaction. */
static gboolean record_outbox(struct canary_control_context *ctx,
			      const struct canary_caller *caller, GPtrArray *drafts, GError **error)
{
	for (guint i = 0; i < drafts->len;) {
		const struct canary_draft *first = drafts->pdata[i];
		g_autoptr(GString) detail = g_string_new("draft ");
		guint j = i;
		for (; j < drafts->len; j++) {
			const struct canary_draft *d = drafts->pdata[j];
			if (d->case_id != first->case_id)
				break;
			g_string_append_printf(detail, "%s%u", j > i ? ", " : "", d->number);
		}
		if (!record(ctx, caller, first->ref, "outbox", detail->str, error))
			return FALSE;
		i = j;
	}
	return TRUE;
}

CANARY_OP(canary_op_outbox)
{
	(void)args;
	g_autoptr(canary_access) access = canary_access_new(ctx->config, caller);
	if (!canary_access_has_role(access, CANARY_ROLE_ADMIN) &&
	    !canary_access_require_role(access, CANARY_ROLE_CUSTODIAN, error))
		return NULL;
	g_autoptr(GPtrArray) drafts = canary_store_list_drafts(ctx->store, 0, 0, TRUE, error);
	if (drafts == NULL)
		return NULL;
	g_autoptr(GPtrArray) sealed =
		g_ptr_array_new_with_free_func((GDestroyNotify)canary_sealed_case_free);
	for (guint i = 0; i < drafts->len; i++) {
		const struct canary_draft *d = drafts->pdata[i];
		struct canary_sealed_case *sc = canary_sealed_case_new(d->case_id);
		g_ptr_array_add(sealed, sc);
		if (!canary_envelope_load_draft(ctx->store, d->number, sc, error))
			return NULL;
	}
	// Order is important: recorded (and committed) before the blobs leave.
	if (drafts->len > 0) {
		if (!canary_store_begin(ctx->store, error))
			return NULL;
		if (!record_outbox(ctx, caller, drafts, error) ||
		    !canary_store_commit(ctx->store, error)) {
			canary_store_rollback(ctx->store);
			return NULL;
		}
	}
	JsonArray *list = json_array_new();
	for (guint i = 0; i < drafts->len; i++)
		json_array_add_object_element(list,
					      draft_to_json(drafts->pdata[i], sealed->pdata[i]));
	JsonObject *result = json_object_new();
	json_object_set_array_member(result, "drafts", list);
	return result;
}

/* --- Sending: the custodian only ------------------------------------------- */

/* The case named in ARGS, if the caller is the custodian; not quarantined. */
static struct canary_case *send_case(struct canary_control_context *ctx,
				     const struct canary_caller *caller, JsonObject *args,
				     GError **error)
{
	g_autoptr(canary_access) access = canary_access_new(ctx->config, caller);
	if (!canary_access_require_role(access, CANARY_ROLE_CUSTODIAN, error))
		return NULL;
	g_autoptr(canary_case) c = canary_case_lookup(ctx, args, error);
	if (c == NULL || !refuse_quarantined(c, error))
		return NULL;
	return g_steal_pointer(&c);
}

/* The draft NUMBER of case C not sent yet; with NUMBER 0 the only one
 * waiting. NULL with NOT_FOUND, USAGE (several waiting) or FAILED (sent). */
static struct canary_draft *unsent_draft(struct canary_control_context *ctx,
					 const struct canary_case *c, guint number, GError **error)
{
	g_autoptr(GPtrArray) drafts =
		canary_store_list_drafts(ctx->store, c->id, number, FALSE, error);
	if (drafts == NULL)
		return NULL;
	if (number == 0) {
		/* Only those not sent, when the caller named none. */
		for (guint i = drafts->len; i-- > 0;)
			if (((struct canary_draft *)drafts->pdata[i])->sent_as > 0)
				g_ptr_array_remove_index(drafts, i);
	}
	if (drafts->len == 0) {
		if (number != 0)
			g_set_error(error, CANARY_CONTROL_ERROR, CANARY_CONTROL_ERROR_NOT_FOUND,
				    "case %s has no draft %u", c->ref, number);
		else
			g_set_error(error, CANARY_CONTROL_ERROR, CANARY_CONTROL_ERROR_NOT_FOUND,
				    "case %s has no draft waiting", c->ref);
		return NULL;
	}
	if (drafts->len > 1) {
		g_autoptr(GString) numbers = g_string_new(NULL);
		for (guint i = 0; i < drafts->len; i++)
			g_string_append_printf(numbers, "%s%u", i > 0 ? ", " : "",
					       ((struct canary_draft *)drafts->pdata[i])->number);
		g_set_error(error, CANARY_CONTROL_ERROR, CANARY_CONTROL_ERROR_USAGE,
			    "case %s has drafts %s waiting: choose one with --draft N", c->ref,
			    numbers->str);
		return NULL;
	}
	struct canary_draft *d = g_ptr_array_steal_index(drafts, 0);
	if (d->sent_as > 0) {
		g_set_error(error, CANARY_CONTROL_ERROR, CANARY_CONTROL_ERROR_FAILED,
			    "draft %u of case %s was sent already, as message %" G_GINT64_FORMAT,
			    d->number, c->ref, d->sent_as);
		canary_draft_free(d);
		return NULL;
	}
	return d;
}

/* Answers with draft N (argument "draft", or the only one waiting) and the
 * identity and raw bytes of the case's latest message received: what the
 * custodian's process needs to address the reply. Recorded as a reveal. */
CANARY_OP(canary_op_send_prepare)
{
	guint number = 0;
	if (!arg_draft(args, TRUE, &number, error))
		return NULL;
	g_autoptr(canary_case) c = send_case(ctx, caller, args, error);
	if (c == NULL)
		return NULL;
	g_autoptr(canary_draft) d = unsent_draft(ctx, c, number, error);
	if (d == NULL)
		return NULL;
	guint message = 1;
	if (!canary_store_latest_received(ctx->store, c->id, &message, error))
		return NULL;
	g_autoptr(canary_sealed_case) sc = canary_sealed_case_new(c->id);
	guint parts = CANARY_ENVELOPE_IDENTITY | CANARY_ENVELOPE_RAW;
	gboolean loaded =
		message <= 1 ? canary_envelope_load(ctx->store, parts, sc, error)
			     : canary_envelope_load_message(ctx->store, message, parts, sc, error);
	if (!loaded || !canary_envelope_load_draft(ctx->store, d->number, sc, error))
		return NULL;
	g_autofree char *detail =
		g_strdup_printf("with raw message %u, to send draft %u", message, d->number);
	// Order is important: recorded before the blobs leave.
	if (!record(ctx, caller, c->ref, "reveal", detail, error))
		return NULL;
	JsonObject *result = json_object_new();
	json_object_set_object_member(result, "case", canary_case_to_json(c));
	json_object_set_int_member(result, "draft", d->number);
	json_object_set_string_member(result, "drafted_by", d->drafted_by);
	json_object_set_int_member(result, "drafted_day", d->drafted_day);
	json_object_set_boolean_member(result, "sending", d->sent_as == CANARY_DRAFT_SENDING);
	json_object_set_int_member(result, "message", message);
	json_object_set_object_member(result, "sealed", canary_sealed_case_to_json(sc));
	return result;
}

/* What send was asked to send, checked. Strings borrowed from the args. */
struct send_request {
	guint draft;
	const char *to, *subject, *text, *in_reply_to;
	GPtrArray *references; /* const char *, NULL-terminated */
	gboolean again;
};

/* TRUE when S holds no control character (a header value). */
static gboolean is_header_safe(const char *s)
{
	for (; *s != '\0'; s++)
		if ((guchar)*s < 0x20 || *s == 0x7f)
			return FALSE;
	return TRUE;
}

static gboolean send_request_parse(JsonObject *args, struct send_request *r, GError **error)
{
	GError *local = NULL;
	r->to = canary_control_arg_text(args, "to", TRUE, &local);
	if (local == NULL)
		r->subject = canary_control_arg_text(args, "subject", TRUE, &local);
	if (local == NULL)
		r->text = canary_control_arg_text(args, "text", TRUE, &local);
	if (local == NULL)
		r->in_reply_to = canary_control_arg_text(args, "in_reply_to", FALSE, &local);
	if (local == NULL)
		arg_draft(args, FALSE, &r->draft, &local);
	if (local != NULL) {
		g_propagate_error(error, local);
		return FALSE;
	}
	r->again = canary_control_arg_true(args, "again");
	r->references = g_ptr_array_new();
	JsonNode *node = json_object_get_member(args, "references");
	if (node != NULL && JSON_NODE_HOLDS_ARRAY(node)) {
		JsonArray *a = json_node_get_array(node);
		for (guint i = 0; i < json_array_get_length(a); i++) {
			const char *id = json_array_get_string_element(a, i);
			if (id == NULL || !is_header_safe(id)) {
				g_set_error_literal(
					error, CANARY_CONTROL_ERROR, CANARY_CONTROL_ERROR_USAGE,
					"argument \"references\" must hold Message-IDs");
				return FALSE;
			}
			g_ptr_array_add(r->references, (gpointer)id);
		}
	} else if (node != NULL && !JSON_NODE_HOLDS_NULL(node)) {
		g_set_error_literal(error, CANARY_CONTROL_ERROR, CANARY_CONTROL_ERROR_USAGE,
				    "argument \"references\" must be an array");
		return FALSE;
	}
	g_ptr_array_add(r->references, NULL);
	if (!is_header_safe(r->to) || !is_header_safe(r->subject) ||
	    (r->in_reply_to != NULL && !is_header_safe(r->in_reply_to)) || r->text[0] == '\0' ||
	    strlen(r->text) > REPLY_TEXT_MAX) {
		g_set_error(error, CANARY_CONTROL_ERROR, CANARY_CONTROL_ERROR_USAGE,
			    "send needs one address, a subject on one line and a text of 1 byte "
			    "to %d KiB",
			    REPLY_TEXT_MAX / 1024);
		return FALSE;
	}
	return TRUE;
}

/* The keys canaryd seals the sent copy with, loaded from the configuration. */
struct send_keys {
	struct canary_public_key *section, *triage, *custodian;
	struct canary_pseudonym_key *pseudonym;
};

static void send_keys_clear(struct send_keys *k)
{
	g_free(k->section);
	g_free(k->triage);
	g_free(k->custodian);
	canary_pseudonym_key_free(k->pseudonym);
}

typedef struct send_keys send_keys;
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(send_keys, send_keys_clear)

static gboolean send_keys_load(const struct canary_config *config, const char *section,
			       struct send_keys *k, GError **error)
{
	const char *section_path = canary_config_section_key(config, section);
	g_autoptr(GError) local = NULL;
	if (section_path == NULL || config->keys.custodian_public == NULL ||
	    config->keys.pseudonym_key == NULL) {
		g_set_error(error, CANARY_CONTROL_ERROR, CANARY_CONTROL_ERROR_FAILED,
			    "%s: the section %s, custodian and pseudonym keys are needed to keep "
			    "the sealed copy of a reply: nothing sent",
			    config->path, section);
		return FALSE;
	}
	if ((k->section = canary_key_load_public(section_path, &local)) == NULL ||
	    (config->keys.triage_public != NULL &&
	     (k->triage = canary_key_load_public(config->keys.triage_public, &local)) == NULL) ||
	    (k->custodian = canary_key_load_public(config->keys.custodian_public, &local)) ==
		    NULL ||
	    (k->pseudonym = canary_key_load_pseudonym(config->keys.pseudonym_key, &local)) ==
		    NULL) {
		g_set_error(error, CANARY_CONTROL_ERROR, CANARY_CONTROL_ERROR_FAILED,
			    "%s: %s: nothing sent", config->path, local->message);
		return FALSE;
	}
	return TRUE;
}

/* Stores what was sent (RAW, with Message-ID MESSAGE_ID) as the next
 * message of case C, its keyed Message-ID, the draft as sent and the
 * event, in one transaction. The message's number in *NUMBER_R. */
static gboolean store_sent(struct canary_control_context *ctx, const struct canary_caller *caller,
			   const struct canary_case *c, const struct send_request *r,
			   const struct send_keys *k, GBytes *raw, const char *message_id,
			   guint *number_r, GError **error)
{
	gint64 now = g_get_real_time() / G_USEC_PER_SEC;
	struct canary_message_new m = {
		.case_id = c->id,
		.direction = CANARY_DIRECTION_OUT,
		.received_at = now,
		.size = (gint64)g_bytes_get_size(raw),
	};
	struct canary_envelope_recipients to = {
		.section = k->section, .triage = k->triage, .custodian = k->custodian};
	g_autoptr(GPtrArray) no_attachments = g_ptr_array_new();
	g_autoptr(canary_identity) recipient = canary_identity_new_recipient(r->to);
	g_autofree char *pseudonym = canary_seal_pseudonym(k->pseudonym, r->to);
	struct canary_case_meta meta = {
		.received_at = now, .ingested_at = now, .size = m.size, .pseudonym = pseudonym};
	guint8 hash[32];
	canary_ingest_message_id_hash(k->pseudonym, message_id, hash);
	guint number = 0;
	if (!canary_store_begin(ctx->store, error))
		return FALSE;
	gboolean ok = canary_store_insert_message(ctx->store, &m, &number, error);
	g_autofree char *detail = g_strdup_printf("draft %u as message %u", r->draft, number);
	g_autoptr(canary_envelope_keys) keys = canary_envelope_keys_new(&to);
	ok = ok &&
	     canary_envelope_seal_message_content(ctx->store, c->id, number, &to, keys, r->subject,
						  r->text, no_attachments, NULL, NULL, error) &&
	     canary_envelope_seal_message_identity(ctx->store, c->id, number, &to, keys, recipient,
						   raw, NULL, error) &&
	     canary_envelope_seal_message_meta(ctx->store, c->id, number, &to, keys, &meta,
					       error) &&
	     canary_store_add_message_id(ctx->store, c->id, hash, error) &&
	     canary_store_set_draft_sent(ctx->store, c->id, r->draft, number, error) &&
	     record(ctx, caller, c->ref, "sent", detail, error) &&
	     canary_store_commit(ctx->store, error);
	canary_wipe(pseudonym, strlen(pseudonym));
	if (!ok) {
		canary_store_rollback(ctx->store);
		return FALSE;
	}
	*number_r = number;
	return TRUE;
}

/* Sets draft NUMBER of C to SENT_AS in a transaction of its own. */
static gboolean mark_draft(struct canary_control_context *ctx, const struct canary_case *c,
			   guint number, gint64 sent_as, GError **error)
{
	if (!canary_store_begin(ctx->store, error))
		return FALSE;
	if (!canary_store_set_draft_sent(ctx->store, c->id, number, sent_as, error) ||
	    !canary_store_commit(ctx->store, error)) {
		canary_store_rollback(ctx->store);
		return FALSE;
	}
	return TRUE;
}

/* Refuses a draft that is not waiting: sent, or left "sending" by a send
 * that did not finish (unless AGAIN). */
static gboolean check_waiting(const struct canary_case *c, const struct canary_draft *d,
			      gboolean again, GError **error)
{
	if (d->sent_as != CANARY_DRAFT_SENDING || again)
		return TRUE;
	g_set_error(error, CANARY_CONTROL_ERROR, CANARY_CONTROL_ERROR_FAILED,
		    "draft %u of case %s was being sent when canaryd stopped: the mail server "
		    "may have taken it. Ask the submitter or check the server's log; to send it "
		    "anyway, use --again",
		    d->number, c->ref);
	return FALSE;
}

/* Checks that draft NUMBER of C waits (or, with AGAIN, was left being
 * sent) and marks it as being sent, in one transaction: two sends of one
 * draft at once cannot both pass. */
static gboolean claim_draft(struct canary_control_context *ctx, const struct canary_case *c,
			    guint number, gboolean again, GError **error)
{
	if (!canary_store_begin(ctx->store, error))
		return FALSE;
	g_autoptr(canary_draft) d = unsent_draft(ctx, c, number, error);
	if (d == NULL || !check_waiting(c, d, again, error) ||
	    !canary_store_set_draft_sent(ctx->store, c->id, number, CANARY_DRAFT_SENDING, error) ||
	    !canary_store_commit(ctx->store, error)) {
		canary_store_rollback(ctx->store);
		return FALSE;
	}
	return TRUE;
}

/* Composes the reply from the request, sends it from [smtp] from and keeps
 * the sealed copy. */
CANARY_OP(canary_op_send)
{
	struct send_request r = {0};
	gboolean parsed = send_request_parse(args, &r, error);
	g_autoptr(GPtrArray) references = r.references;
	if (!parsed)
		return NULL;
	g_autoptr(canary_case) c = send_case(ctx, caller, args, error);
	if (c == NULL)
		return NULL;
	if (ctx->config->smtp.url == NULL || ctx->config->smtp.from == NULL) {
		g_set_error(error, CANARY_CONTROL_ERROR, CANARY_CONTROL_ERROR_FAILED,
			    "%s has no [smtp] url and from: canaryd cannot send mail; draft %u "
			    "of %s still waits",
			    ctx->config->path, r.draft, c->ref);
		return NULL;
	}
	/* Checked before anything is composed (the claim below checks again). */
	g_autoptr(canary_draft) d = unsent_draft(ctx, c, r.draft, error);
	if (d == NULL || !check_waiting(c, d, r.again, error))
		return NULL;
	g_auto(send_keys) keys = {0};
	if (!send_keys_load(ctx->config, c->section, &keys, error))
		return NULL;
	const char *const to[] = {r.to, NULL};
	struct canary_outgoing m = {
		.kind = CANARY_OUTGOING_PERSONAL,
		.from = ctx->config->smtp.from,
		.to = to,
		.subject = r.subject,
		.text = r.text,
		.in_reply_to = r.in_reply_to,
		.references = references->len > 1 ? (const char *const *)references->pdata : NULL,
	};
	g_autofree char *message_id = NULL;
	g_autoptr(GError) local = NULL;
	g_autoptr(GBytes) raw = canary_outgoing_compose(&m, &message_id, &local);
	if (raw == NULL) {
		g_set_error(error, CANARY_CONTROL_ERROR, CANARY_CONTROL_ERROR_USAGE,
			    "draft %u of %s cannot be composed: %s", r.draft, c->ref,
			    local->message);
		return NULL;
	}
	// Order is important: marked "sending" before SMTP, so that a crash
	// after the server took it cannot send it twice unnoticed.
	if (!claim_draft(ctx, c, r.draft, r.again, error))
		return NULL;
	if (!canary_smtp_send(ctx->config, to, 1, raw, &local)) {
		canary_warning("case %s: draft %u not sent: %s", c->ref, r.draft, local->message);
		g_autoptr(GError) unmark = NULL;
		if (!mark_draft(ctx, c, r.draft, CANARY_DRAFT_WAITING, &unmark))
			canary_err("case %s: draft %u stays marked as being sent: %s", c->ref,
				   r.draft, unmark->message);
		g_set_error(error, CANARY_CONTROL_ERROR, CANARY_CONTROL_ERROR_FAILED,
			    "draft %u of %s was not sent (%s); it still waits", r.draft, c->ref,
			    local->message);
		return NULL;
	}
	guint number = 0;
	if (!store_sent(ctx, caller, c, &r, &keys, raw, message_id, &number, error)) {
		canary_err("case %s: draft %u was sent but its copy could not be stored; it stays "
			   "marked as being sent",
			   c->ref, r.draft);
		return NULL;
	}
	canary_notice("case %s: draft %u sent as message %u", c->ref, r.draft, number);
	JsonObject *result = json_object_new();
	json_object_set_string_member(result, "ref", c->ref);
	json_object_set_int_member(result, "draft", r.draft);
	json_object_set_int_member(result, "message", number);
	return result;
}
