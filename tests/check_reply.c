/* check_reply.c: replies through the custodian. The ops driven through
 * canary_control_handle() with constructed callers (a mena officer, an
 * africa officer, the custodian): a draft sealed by the officer's process
 * and stored by canaryd, the outbox and send-prepare recorded before the
 * blobs leave, who may do what, a send that fails (no [smtp], the server
 * down, a send cut short) leaving the draft waiting and nothing stored, a
 * move re-sealing the drafts, and no plaintext in the database. */
#include <json-glib/json-glib.h>
#include <string.h>

#include "case_sealed.h"
#include "control.h"
#include "envelope.h"
#include "process.h"
#include "testutil.h"

/* The submitter, a phrase of their message, the subject, and the reply. */
#define SENDER_ADDRESS "teodora.vl@example.net"
#define SENDER_NAME    "Teodora Vasquez-Lind"
#define SUBJECT        "Questioned after the Cairo consultation"
#define BODY_PHRASE    "the officers kept my passport for nine days"
#define DRAFT_TEXT     "Dear Ms Vasquez-Lind,\nthank you: may we raise your case with the Government?"

/* mena: group nogroup; africa: group sys; custodian: adm; triage: bin. */
#define RULES                                                                                      \
	"[section mena]\npublic_key = keys/section.pub\ncountries = Egypt\ngroup = nogroup\n"      \
	"[section africa]\npublic_key = keys/other.pub\nkeywords = Sahel\ngroup = sys\n"           \
	"[section triage]\npublic_key = keys/triage.pub\n"                                         \
	"[country Egypt]\nnames = Egypt, Cairo\n"

static const char *const message = "From: " SENDER_NAME " <" SENDER_ADDRESS ">\n"
				   "To: reprisals@example.org\n"
				   "Subject: " SUBJECT "\n"
				   "Message-ID: <cairo.1@example.net>\n"
				   "MIME-Version: 1.0\n"
				   "Content-Type: text/plain; charset=utf-8\n\n"
				   "I was questioned in Egypt; " BODY_PHRASE ".\n";

static char *tmpdir;
static struct tu_pipeline pl;
static struct canary_caller *mena_officer, *africa_officer, *custodian;
static char *ref;

static void setup(void)
{
	tmpdir = tu_make_tempdir();
	const gid_t nogroup[] = {65534}, sys[] = {3}, adm[] = {4};
	mena_officer = canary_caller_new(65534, nogroup, 1);
	africa_officer = canary_caller_new(2, sys, 1);
	custodian = canary_caller_new(1, adm, 1);
	g_free(tu_write_file(tmpdir, "routing.conf", RULES));
	g_autofree char *config = tu_make_canary_home(
		tmpdir, TRUE,
		"[routing]\nrules = routing.conf\n[access]\ntriage = bin\ncustodian = adm\n");
	tu_pipeline_open(&pl, config);
	g_autoptr(GBytes) raw = g_bytes_new_static(message, strlen(message));
	struct canary_ingest_source src = {0};
	struct canary_ingest_result result;
	g_autoptr(GError) error = NULL;
	ck_assert(canary_store_begin(pl.store, NULL));
	ck_assert_msg(canary_ingest_message(pl.ingest, raw, &src, &result, &error), "%s",
		      error ? error->message : "?");
	ck_assert(canary_store_commit(pl.store, NULL));
	ref = g_strdup(result.ref);
	canary_ingest_result_clear(&result);
}

static void teardown(void)
{
	canary_caller_free(mena_officer);
	canary_caller_free(africa_officer);
	canary_caller_free(custodian);
	tu_pipeline_close(&pl);
	tu_rmtree(tmpdir);
	g_clear_pointer(&tmpdir, g_free);
	g_clear_pointer(&ref, g_free);
}

static struct canary_secret_key *secret(const char *name)
{
	g_autofree char *file = g_strdup_printf("%s.key", name);
	g_autofree char *path = g_build_filename(tmpdir, "keys", file, NULL);
	g_autoptr(GError) error = NULL;
	struct canary_secret_key *key =
		canary_key_load_secret(path, TU_PASSPHRASE, strlen(TU_PASSPHRASE), &error);
	ck_assert_msg(key != NULL, "%s", error ? error->message : "?");
	return key;
}

/* Answers OP with ARGS (taken over; NULL: none) for CALLER. */
static JsonObject *handle(const struct canary_caller *caller, const char *op, JsonObject *args)
{
	g_autoptr(JsonObject) request = json_object_new();
	json_object_set_int_member(request, "canary", CANARY_CONTROL_VERSION);
	json_object_set_string_member(request, "op", op);
	json_object_set_object_member(request, "args", args != NULL ? args : json_object_new());
	struct canary_control_context c = {.config = pl.config, .store = pl.store};
	return canary_control_handle(&c, caller, request);
}

static JsonObject *ok(JsonObject *response)
{
	ck_assert_ptr_nonnull(response);
	if (!json_object_get_boolean_member_with_default(response, "ok", FALSE)) {
		JsonObject *e = json_object_get_object_member(response, "error");
		ck_abort_msg("refused: %s", json_object_get_string_member(e, "message"));
	}
	return json_object_get_object_member(response, "result");
}

/* The error code of a refusal; its message in *MESSAGE_R (may be NULL). */
static const char *refused(JsonObject *response, const char **message_r)
{
	ck_assert(!json_object_get_boolean_member_with_default(response, "ok", TRUE));
	JsonObject *e = json_object_get_object_member(response, "error");
	if (message_r != NULL)
		*message_r = json_object_get_string_member(e, "message");
	return json_object_get_string_member(e, "code");
}

static JsonObject *ref_args(void)
{
	JsonObject *args = json_object_new();
	json_object_set_string_member(args, "ref", ref);
	return args;
}

static struct canary_case *get_case(void)
{
	struct canary_case *c = canary_store_get_case(pl.store, ref, NULL);
	ck_assert_ptr_nonnull(c);
	return c;
}

static guint count_events(const char *action, const char *actor)
{
	g_autoptr(GPtrArray) events = canary_store_list_events(pl.store, ref, NULL);
	ck_assert_ptr_nonnull(events);
	guint n = 0;
	for (guint i = 0; i < events->len; i++) {
		const struct canary_event *e = events->pdata[i];
		n += strcmp(e->action, action) == 0 &&
		     (actor == NULL || strcmp(e->actor, actor) == 0);
	}
	return n;
}

static struct canary_public_key *public_of(JsonObject *o, const char *member)
{
	const char *text = json_object_get_string_member_with_default(o, member, NULL);
	ck_assert_msg(text != NULL, "no %s", member);
	struct canary_public_key *key = canary_key_parse_public(member, text, strlen(text), NULL);
	ck_assert_ptr_nonnull(key);
	return key;
}

/* Seals TEXT as the draft reply-prepare numbers, as CALLER's tool does.
 * The sealed draft (new) and its number in *NUMBER_R. */
static struct canary_sealed_case *seal_draft(const struct canary_caller *caller, const char *text,
					     guint *number_r)
{
	g_autoptr(JsonObject) prepared = handle(caller, "reply-prepare", ref_args());
	JsonObject *p = ok(prepared);
	g_autofree struct canary_public_key *section = public_of(p, "section_key");
	g_autofree struct canary_public_key *triage = public_of(p, "triage_key");
	g_autofree struct canary_public_key *cust = public_of(p, "custodian_key");
	struct canary_envelope_recipients to = {
		.section = section, .triage = triage, .custodian = cust};
	*number_r = (guint)json_object_get_int_member(p, "draft");
	g_autoptr(canary_case) c = get_case();
	struct canary_sealed_case *sc = canary_sealed_case_new(c->id);
	ck_assert(canary_sealed_seal_draft(sc, *number_r, &to,
					   json_object_get_string_member(p, "user"), 1764806400,
					   text, NULL));
	return sc;
}

static JsonObject *reply_args(guint number, const struct canary_sealed_case *sc)
{
	JsonObject *args = ref_args();
	json_object_set_int_member(args, "draft", number);
	json_object_set_object_member(args, "sealed", canary_sealed_case_to_json(sc));
	return args;
}

/* Drafts TEXT as the mena officer; returns its number. */
static guint draft(const char *text)
{
	guint number = 0;
	g_autoptr(canary_sealed_case) sc = seal_draft(mena_officer, text, &number);
	g_autoptr(JsonObject) response = handle(mena_officer, "reply", reply_args(number, sc));
	ck_assert_int_eq(json_object_get_int_member(ok(response), "draft"), number);
	return number;
}

/* The one draft of the case as the store has it. */
static struct canary_draft *stored_draft(guint number)
{
	g_autoptr(canary_case) c = get_case();
	g_autoptr(GPtrArray) drafts =
		canary_store_list_drafts(pl.store, c->id, number, FALSE, NULL);
	ck_assert_ptr_nonnull(drafts);
	ck_assert_uint_eq(drafts->len, 1);
	return g_ptr_array_steal_index(drafts, 0);
}

static JsonObject *send_args(guint number)
{
	JsonObject *args = ref_args();
	json_object_set_int_member(args, "draft", number);
	json_object_set_string_member(args, "to", SENDER_ADDRESS);
	json_object_set_string_member(args, "subject", "Re: " SUBJECT);
	json_object_set_string_member(args, "text", DRAFT_TEXT);
	json_object_set_string_member(args, "in_reply_to", "cairo.1@example.net");
	JsonArray *refs = json_array_new();
	json_array_add_string_element(refs, "cairo.1@example.net");
	json_object_set_array_member(args, "references", refs);
	return args;
}

/* [smtp] pointing at a port where nothing listens. */
static void smtp_down(void)
{
	struct canary_config *config = pl.config;
	g_free(config->smtp.url);
	g_free(config->smtp.from);
	config->smtp.url = g_strdup("smtp://127.0.0.1:9");
	config->smtp.from = g_strdup("reprisals@example.org");
	config->smtp.connect_timeout = 2;
	config->smtp.io_timeout = 2;
}

/* --- Drafts ------------------------------------------------------------------ */

START_TEST(test_draft_sealed_stored_and_in_the_outbox)
{
	guint number = draft(DRAFT_TEXT);
	ck_assert_uint_eq(number, 1);
	g_autoptr(canary_draft) d = stored_draft(1);
	ck_assert_str_eq(d->drafted_by, "nobody");
	ck_assert_int_eq(d->sent_as, CANARY_DRAFT_WAITING);
	ck_assert_int_eq(d->drafted_day % 86400, 0);
	ck_assert_uint_eq(count_events("drafted", "nobody"), 1);

	/* The outbox: the custodian's key opens the draft; handing it out is
	 * recorded under the custodian. */
	g_autoptr(JsonObject) response = handle(custodian, "outbox", NULL);
	JsonArray *drafts = json_object_get_array_member(ok(response), "drafts");
	ck_assert_uint_eq(json_array_get_length(drafts), 1);
	JsonObject *o = json_array_get_object_element(drafts, 0);
	ck_assert_str_eq(json_object_get_string_member(o, "ref"), ref);
	ck_assert_str_eq(json_object_get_string_member(o, "drafted_by"), "nobody");
	ck_assert(!json_object_get_boolean_member(o, "sending"));
	g_autoptr(canary_sealed_case) sc =
		canary_sealed_case_from_json(json_object_get_int_member(o, "case_id"),
					     json_object_get_object_member(o, "sealed"), NULL);
	ck_assert_ptr_nonnull(sc);
	g_autoptr(canary_secret_key) cust = secret("custodian");
	struct canary_case_note *opened = canary_sealed_open_draft(sc, 1, cust, NULL);
	ck_assert_ptr_nonnull(opened);
	ck_assert_str_eq(opened->text, DRAFT_TEXT);
	ck_assert_str_eq(opened->author, "nobody");
	canary_case_note_free(opened);
	/* The section's and triage keys open it too; another section's not. */
	const char *const openers[] = {"section", "triage"};
	for (gsize i = 0; i < G_N_ELEMENTS(openers); i++) {
		g_autoptr(canary_secret_key) key = secret(openers[i]);
		opened = canary_sealed_open_draft(sc, 1, key, NULL);
		ck_assert_ptr_nonnull(opened);
		canary_case_note_free(opened);
	}
	g_autoptr(canary_secret_key) other = secret("other");
	g_autoptr(GError) error = NULL;
	ck_assert_ptr_null(canary_sealed_open_draft(sc, 1, other, &error));
	ck_assert(g_error_matches(error, CANARY_ENVELOPE_ERROR, CANARY_ENVELOPE_ERROR_NO_ACCESS));
	ck_assert_uint_eq(count_events("outbox", custodian->user), 1);

	/* The second draft is number 2; the text never reaches the history. */
	ck_assert_uint_eq(draft("A second thought."), 2);
	g_autoptr(GPtrArray) events = canary_store_list_events(pl.store, ref, NULL);
	for (guint i = 0; i < events->len; i++) {
		const struct canary_event *e = events->pdata[i];
		ck_assert(e->detail == NULL || strstr(e->detail, "Vasquez") == NULL);
	}
}
END_TEST

START_TEST(test_forged_or_stale_draft_refused)
{
	guint number = 0;
	g_autoptr(canary_sealed_case) sc = seal_draft(mena_officer, DRAFT_TEXT, &number);
	/* Without the custodian's copy: the custodian could never send it. */
	g_autoptr(canary_sealed_case) forged = canary_sealed_case_new(sc->case_id);
	g_autofree char *text = g_strdup_printf("draft.%u", number);
	g_autofree char *section = g_strdup_printf("key/draft.%u/section", number);
	canary_sealed_case_put(forged, text, canary_sealed_case_get(sc, text));
	canary_sealed_case_put(forged, section, canary_sealed_case_get(sc, section));
	g_autoptr(JsonObject) r1 = handle(mena_officer, "reply", reply_args(number, forged));
	ck_assert_str_eq(refused(r1, NULL), "usage");
	/* A field that is no draft's. */
	g_autoptr(canary_sealed_case) extra = canary_sealed_case_new(sc->case_id);
	GHashTableIter iter;
	gpointer field, blob;
	g_hash_table_iter_init(&iter, sc->blobs);
	while (g_hash_table_iter_next(&iter, &field, &blob))
		canary_sealed_case_put(extra, field, blob);
	canary_sealed_case_put(extra, "subject", canary_sealed_case_get(sc, text));
	g_autoptr(JsonObject) r2 = handle(mena_officer, "reply", reply_args(number, extra));
	ck_assert_str_eq(refused(r2, NULL), "usage");
	/* The wrong number. */
	g_autoptr(JsonObject) r3 = handle(mena_officer, "reply", reply_args(number + 1, sc));
	ck_assert_str_eq(refused(r3, NULL), "usage");
	g_autoptr(canary_case) c = get_case();
	g_autoptr(GPtrArray) drafts = canary_store_list_drafts(pl.store, c->id, 0, FALSE, NULL);
	ck_assert_uint_eq(drafts->len, 0);
	ck_assert_uint_eq(count_events("drafted", NULL), 0);
	g_autoptr(GError) error = NULL;
	g_autoptr(GBytes) none = canary_store_get_blob(pl.store, c->id, text, &error);
	ck_assert_ptr_null(none);
}
END_TEST

/* --- Who may do what ----------------------------------------------------------- */

START_TEST(test_who_may_draft_list_and_send)
{
	const char *message_text = NULL;
	/* Another section's officer cannot draft in mena's case. */
	g_autoptr(JsonObject) r1 = handle(africa_officer, "reply-prepare", ref_args());
	ck_assert_str_eq(refused(r1, &message_text), "forbidden");
	ck_assert_msg(strstr(message_text, "nogroup") != NULL, "%s", message_text);
	guint number = 0;
	g_autoptr(canary_sealed_case) sc = seal_draft(mena_officer, DRAFT_TEXT, &number);
	g_autoptr(JsonObject) r2 = handle(africa_officer, "reply", reply_args(number, sc));
	ck_assert_str_eq(refused(r2, NULL), "forbidden");
	ck_assert_uint_eq(count_events("drafted", NULL), 0);
	g_autoptr(JsonObject) r2b = handle(mena_officer, "reply", reply_args(number, sc));
	ok(r2b);

	/* The section's officer cannot list the outbox, nor send: both name
	 * the custodian's group. */
	const char *const ops[] = {"outbox", "send-prepare", "send"};
	for (gsize i = 0; i < G_N_ELEMENTS(ops); i++) {
		JsonObject *args = i == 2 ? send_args(1) : ref_args();
		g_autoptr(JsonObject) r = handle(mena_officer, ops[i], args);
		ck_assert_msg(strcmp(refused(r, &message_text), "forbidden") == 0, "%s", ops[i]);
		ck_assert_msg(strstr(message_text, "adm") != NULL, "%s: %s", ops[i], message_text);
	}
	ck_assert_uint_eq(count_events("outbox", NULL), 0);
	ck_assert_uint_eq(count_events("reveal", NULL), 0);
	g_autoptr(canary_draft) d = stored_draft(1);
	ck_assert_int_eq(d->sent_as, CANARY_DRAFT_WAITING);
}
END_TEST

START_TEST(test_send_prepare_hands_out_identity_and_draft)
{
	draft(DRAFT_TEXT);
	g_autoptr(JsonObject) response = handle(custodian, "send-prepare", ref_args());
	JsonObject *r = ok(response);
	ck_assert_int_eq(json_object_get_int_member(r, "draft"), 1);
	ck_assert_int_eq(json_object_get_int_member(r, "message"), 1);
	ck_assert_uint_eq(count_events("reveal", custodian->user), 1);
	g_autoptr(canary_case) c = get_case();
	g_autoptr(canary_sealed_case) sc = canary_sealed_case_from_json(
		c->id, json_object_get_object_member(r, "sealed"), NULL);
	g_autoptr(canary_secret_key) cust = secret("custodian");
	g_autoptr(canary_sealed_case) view = canary_sealed_case_message(sc, 1);
	g_autoptr(GBytes) raw = NULL;
	g_autoptr(canary_identity) id = canary_sealed_open_identity(view, cust, &raw, NULL);
	ck_assert_ptr_nonnull(id);
	ck_assert_ptr_nonnull(strstr(g_bytes_get_data(raw, NULL), "Message-ID: <cairo.1@"));
	struct canary_case_note *d = canary_sealed_open_draft(sc, 1, cust, NULL);
	ck_assert_str_eq(d->text, DRAFT_TEXT);
	canary_case_note_free(d);
	/* With two drafts waiting, the custodian must choose. */
	draft("Another one.");
	g_autoptr(JsonObject) r2 = handle(custodian, "send-prepare", ref_args());
	const char *message_text = NULL;
	ck_assert_str_eq(refused(r2, &message_text), "usage");
	ck_assert_msg(strstr(message_text, "1, 2") != NULL, "%s", message_text);
}
END_TEST

/* --- Sending that fails ---------------------------------------------------------- */

/* Nothing was sent: the draft waits (or is as SENT_AS says), the case has
 * one message, no "sent" event, no message.2 field. */
static void assert_nothing_sent(gint64 sent_as)
{
	g_autoptr(canary_draft) d = stored_draft(1);
	ck_assert_int_eq(d->sent_as, sent_as);
	g_autoptr(canary_case) c = get_case();
	ck_assert_uint_eq(c->messages, 1);
	ck_assert_uint_eq(count_events("sent", NULL), 0);
	g_autoptr(GBytes) none = canary_store_get_blob(pl.store, c->id, "message.2/text", NULL);
	ck_assert_ptr_null(none);
}

START_TEST(test_send_without_smtp_marks_nothing)
{
	draft(DRAFT_TEXT);
	g_autoptr(JsonObject) r = handle(custodian, "send", send_args(1));
	const char *message_text = NULL;
	ck_assert_str_eq(refused(r, &message_text), "failed");
	ck_assert_msg(strstr(message_text, "[smtp]") != NULL, "%s", message_text);
	assert_nothing_sent(CANARY_DRAFT_WAITING);
}
END_TEST

START_TEST(test_failed_smtp_leaves_the_draft_waiting)
{
	draft(DRAFT_TEXT);
	smtp_down();
	g_autoptr(JsonObject) r = handle(custodian, "send", send_args(1));
	const char *message_text = NULL;
	ck_assert_str_eq(refused(r, &message_text), "failed");
	ck_assert_msg(strstr(message_text, "still waits") != NULL, "%s", message_text);
	/* The error reaches the custodian and the log: never the address. */
	ck_assert_msg(strstr(message_text, SENDER_ADDRESS) == NULL, "%s", message_text);
	assert_nothing_sent(CANARY_DRAFT_WAITING);
}
END_TEST

START_TEST(test_send_cut_short_is_refused_without_again)
{
	draft(DRAFT_TEXT);
	smtp_down();
	/* As a canaryd killed after marking the draft and before its commit. */
	g_autoptr(canary_case) c = get_case();
	ck_assert(canary_store_set_draft_sent(pl.store, c->id, 1, CANARY_DRAFT_SENDING, NULL));
	g_autoptr(JsonObject) r1 = handle(custodian, "send", send_args(1));
	const char *message_text = NULL;
	ck_assert_str_eq(refused(r1, &message_text), "failed");
	ck_assert_msg(strstr(message_text, "--again") != NULL, "%s", message_text);
	assert_nothing_sent(CANARY_DRAFT_SENDING);
	/* The outbox shows it as being sent. */
	g_autoptr(JsonObject) listed = handle(custodian, "outbox", NULL);
	JsonArray *drafts = json_object_get_array_member(ok(listed), "drafts");
	ck_assert(json_object_get_boolean_member(json_array_get_object_element(drafts, 0),
						 "sending"));
	/* --again tries; the server is down, so it waits again. */
	JsonObject *args = send_args(1);
	json_object_set_boolean_member(args, "again", TRUE);
	g_autoptr(JsonObject) r2 = handle(custodian, "send", args);
	ck_assert_str_eq(refused(r2, &message_text), "failed");
	ck_assert_msg(strstr(message_text, "still waits") != NULL, "%s", message_text);
	assert_nothing_sent(CANARY_DRAFT_WAITING);
}
END_TEST

/* --- Moves ---------------------------------------------------------------------- */

START_TEST(test_move_reseals_the_drafts)
{
	draft(DRAFT_TEXT);
	const gid_t bin[] = {2};
	g_autoptr(canary_caller) triage = canary_caller_new(2, bin, 1);
	JsonObject *args = ref_args();
	json_object_set_string_member(args, "section", "africa");
	g_autoptr(JsonObject) prepared = handle(triage, "move-prepare", args);
	JsonObject *p = ok(prepared);
	g_autoptr(canary_case) c = get_case();
	g_autoptr(canary_sealed_case) copies = canary_sealed_case_from_json(
		c->id, json_object_get_object_member(p, "sealed"), NULL);
	ck_assert_ptr_nonnull(canary_sealed_case_get(copies, "key/draft.1/section"));
	g_autofree struct canary_public_key *africa = public_of(p, "public_key");
	g_autoptr(canary_secret_key) triage_key = secret("triage");
	g_autoptr(canary_sealed_case) resealed =
		canary_sealed_reseal_section(copies, triage_key, africa, NULL);
	ck_assert_ptr_nonnull(resealed);
	ck_assert_ptr_nonnull(canary_sealed_case_get(resealed, "key/draft.1/section"));
	JsonObject *move = ref_args();
	json_object_set_string_member(move, "section", "africa");
	json_object_set_object_member(move, "sealed", canary_sealed_case_to_json(resealed));
	g_autoptr(JsonObject) moved = handle(triage, "move", move);
	ok(moved);
	/* africa's key opens the draft now, mena's no longer. */
	g_autoptr(canary_sealed_case) sc = canary_sealed_case_new(c->id);
	ck_assert(canary_envelope_load_draft(pl.store, 1, sc, NULL));
	g_autoptr(canary_secret_key) other = secret("other");
	struct canary_case_note *d = canary_sealed_open_draft(sc, 1, other, NULL);
	ck_assert_ptr_nonnull(d);
	ck_assert_str_eq(d->text, DRAFT_TEXT);
	canary_case_note_free(d);
	g_autoptr(canary_secret_key) mena = secret("section");
	ck_assert_ptr_null(canary_sealed_open_draft(sc, 1, mena, NULL));
}
END_TEST

/* --- Nothing in clear ---------------------------------------------------------- */

START_TEST(test_no_plaintext_in_the_database)
{
	draft(DRAFT_TEXT);
	smtp_down();
	g_autoptr(JsonObject) r = handle(custodian, "send", send_args(1));
	refused(r, NULL);
	g_autofree char *db = g_build_filename(tmpdir, "state", "canary.db", NULL);
	g_autofree char *wal = g_strdup_printf("%s-wal", db);
	const char *const needles[] = {"thank you: may we raise", "Vasquez-Lind", SENDER_ADDRESS,
				       SUBJECT, BODY_PHRASE};
	const char *const files[] = {db, wal};
	for (gsize f = 0; f < G_N_ELEMENTS(files); f++)
		for (gsize i = 0; i < G_N_ELEMENTS(needles); i++)
			ck_assert_msg(tu_count_text_in_file(files[f], needles[i]) == 0,
				      "%s holds \"%s\"", files[f], needles[i]);
}
END_TEST

static Suite *reply_suite(void)
{
	Suite *s = suite_create("reply");
	TCase *tc = tcase_create("ops");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_draft_sealed_stored_and_in_the_outbox);
	tcase_add_test(tc, test_forged_or_stale_draft_refused);
	tcase_add_test(tc, test_who_may_draft_list_and_send);
	tcase_add_test(tc, test_send_prepare_hands_out_identity_and_draft);
	tcase_add_test(tc, test_send_without_smtp_marks_nothing);
	tcase_add_test(tc, test_failed_smtp_leaves_the_draft_waiting);
	tcase_add_test(tc, test_send_cut_short_is_refused_without_again);
	tcase_add_test(tc, test_move_reseals_the_drafts);
	tcase_add_test(tc, test_no_plaintext_in_the_database);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run_suite(reply_suite());
}
