/* check_reply.c: replies through the custodian. The ops driven through
 * canary_control_handle() with constructed callers (a mena officer, an
 * africa officer, the custodian): a draft sealed by the officer's process
 * and stored by canaryd, the outbox and send-prepare recorded before the
 * blobs leave, who may do what, a send that fails (no [smtp], the server
 * down, a send cut short) leaving the draft waiting and nothing stored, a
 * move re-sealing the drafts, and no plaintext in the database. */
#include <glib/gstdio.h>
#include <grp.h>
#include <json-glib/json-glib.h>
#include <pwd.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "case_sealed.h"
#include "control.h"
#include "envelope.h"
#include "canaryd.h"
#include "dovecot.h"
#include "process.h"
#include "testutil.h"
#include "users.h"

/* The submitter, a phrase of their message, the subject, and the reply. */
#define SENDER_ADDRESS "teodora.vl@example.net"
#define SENDER_NAME    "Teodora Vasquez-Lind"
#define SUBJECT        "Questioned after the Cairo consultation"
#define BODY_PHRASE    "the officers kept my passport for nine days"
#define DRAFT_TEXT     "Dear Ms Vasquez-Lind,\nthank you: may we raise your case with the Government?"
/* A draft on one line, as the test's editor writes it. */
#define DRAFT_TEXT_LINE "With your consent we would raise the matter in Geneva."

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
	ref = tu_pipeline_file(&pl, message);
}

static void teardown(void)
{
	canary_caller_free(mena_officer);
	canary_caller_free(africa_officer);
	canary_caller_free(custodian);
	/* smtp_down()'s, whether or not the config frees them. */
	g_clear_pointer(&pl.config->smtp.url, g_free);
	g_clear_pointer(&pl.config->smtp.from, g_free);
	tu_pipeline_close(&pl);
	tu_rmtree(tmpdir);
	g_clear_pointer(&tmpdir, g_free);
	g_clear_pointer(&ref, g_free);
}

/* Answers OP with ARGS (taken over; NULL: none) for CALLER. */
static JsonObject *handle(const struct canary_caller *caller, const char *op, JsonObject *args)
{
	return tu_control_ask(pl.config, pl.store, caller, op, args);
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
	return tu_count_events(pl.store, ref, action, actor);
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
	JsonObject *p = tu_control_ok(prepared);
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
	ck_assert_int_eq(json_object_get_int_member(tu_control_ok(response), "draft"), number);
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
	JsonArray *drafts = json_object_get_array_member(tu_control_ok(response), "drafts");
	ck_assert_uint_eq(json_array_get_length(drafts), 1);
	JsonObject *o = json_array_get_object_element(drafts, 0);
	ck_assert_str_eq(json_object_get_string_member(o, "ref"), ref);
	ck_assert_str_eq(json_object_get_string_member(o, "drafted_by"), "nobody");
	ck_assert(!json_object_get_boolean_member(o, "sending"));
	g_autoptr(canary_sealed_case) sc =
		canary_sealed_case_from_json(json_object_get_int_member(o, "case_id"),
					     json_object_get_object_member(o, "sealed"), NULL);
	ck_assert_ptr_nonnull(sc);
	g_autoptr(canary_secret_key) cust = tu_load_secret(tmpdir, "custodian");
	struct canary_case_note *opened = canary_sealed_open_draft(sc, 1, cust, NULL);
	ck_assert_ptr_nonnull(opened);
	ck_assert_str_eq(opened->text, DRAFT_TEXT);
	ck_assert_str_eq(opened->author, "nobody");
	canary_case_note_free(opened);
	/* The section's and triage keys open it too; another section's not. */
	const char *const openers[] = {"section", "triage"};
	for (gsize i = 0; i < G_N_ELEMENTS(openers); i++) {
		g_autoptr(canary_secret_key) key = tu_load_secret(tmpdir, openers[i]);
		opened = canary_sealed_open_draft(sc, 1, key, NULL);
		ck_assert_ptr_nonnull(opened);
		canary_case_note_free(opened);
	}
	g_autoptr(canary_secret_key) other = tu_load_secret(tmpdir, "other");
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
	ck_assert_str_eq(tu_control_refused(r1, NULL), "usage");
	/* A field that is no draft's. */
	g_autoptr(canary_sealed_case) extra = canary_sealed_case_new(sc->case_id);
	GHashTableIter iter;
	gpointer field, blob;
	g_hash_table_iter_init(&iter, sc->blobs);
	while (g_hash_table_iter_next(&iter, &field, &blob))
		canary_sealed_case_put(extra, field, blob);
	canary_sealed_case_put(extra, "subject", canary_sealed_case_get(sc, text));
	g_autoptr(JsonObject) r2 = handle(mena_officer, "reply", reply_args(number, extra));
	ck_assert_str_eq(tu_control_refused(r2, NULL), "usage");
	/* The wrong number. */
	g_autoptr(JsonObject) r3 = handle(mena_officer, "reply", reply_args(number + 1, sc));
	ck_assert_str_eq(tu_control_refused(r3, NULL), "usage");
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
	ck_assert_str_eq(tu_control_refused(r1, &message_text), "forbidden");
	ck_assert_msg(strstr(message_text, "nogroup") != NULL, "%s", message_text);
	guint number = 0;
	g_autoptr(canary_sealed_case) sc = seal_draft(mena_officer, DRAFT_TEXT, &number);
	g_autoptr(JsonObject) r2 = handle(africa_officer, "reply", reply_args(number, sc));
	ck_assert_str_eq(tu_control_refused(r2, NULL), "forbidden");
	ck_assert_uint_eq(count_events("drafted", NULL), 0);
	g_autoptr(JsonObject) r2b = handle(mena_officer, "reply", reply_args(number, sc));
	tu_control_ok(r2b);

	/* The section's officer cannot list the outbox, nor send: both name
	 * the custodian's group. */
	const char *const ops[] = {"outbox", "send-prepare", "send"};
	for (gsize i = 0; i < G_N_ELEMENTS(ops); i++) {
		JsonObject *args = i == 2 ? send_args(1) : ref_args();
		g_autoptr(JsonObject) r = handle(mena_officer, ops[i], args);
		ck_assert_msg(strcmp(tu_control_refused(r, &message_text), "forbidden") == 0, "%s",
			      ops[i]);
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
	JsonObject *r = tu_control_ok(response);
	ck_assert_int_eq(json_object_get_int_member(r, "draft"), 1);
	ck_assert_int_eq(json_object_get_int_member(r, "message"), 1);
	ck_assert_uint_eq(count_events("reveal", custodian->user), 1);
	g_autoptr(canary_case) c = get_case();
	g_autoptr(canary_sealed_case) sc = canary_sealed_case_from_json(
		c->id, json_object_get_object_member(r, "sealed"), NULL);
	g_autoptr(canary_secret_key) cust = tu_load_secret(tmpdir, "custodian");
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
	ck_assert_str_eq(tu_control_refused(r2, &message_text), "usage");
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
	ck_assert_str_eq(tu_control_refused(r, &message_text), "failed");
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
	ck_assert_str_eq(tu_control_refused(r, &message_text), "failed");
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
	ck_assert_str_eq(tu_control_refused(r1, &message_text), "failed");
	ck_assert_msg(strstr(message_text, "--again") != NULL, "%s", message_text);
	assert_nothing_sent(CANARY_DRAFT_SENDING);
	/* The outbox shows it as being sent. */
	g_autoptr(JsonObject) listed = handle(custodian, "outbox", NULL);
	JsonArray *drafts = json_object_get_array_member(tu_control_ok(listed), "drafts");
	ck_assert(json_object_get_boolean_member(json_array_get_object_element(drafts, 0),
						 "sending"));
	/* --again tries; the server is down, so it waits again. */
	JsonObject *args = send_args(1);
	json_object_set_boolean_member(args, "again", TRUE);
	g_autoptr(JsonObject) r2 = handle(custodian, "send", args);
	ck_assert_str_eq(tu_control_refused(r2, &message_text), "failed");
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
	JsonObject *p = tu_control_ok(prepared);
	g_autoptr(canary_case) c = get_case();
	g_autoptr(canary_sealed_case) copies = canary_sealed_case_from_json(
		c->id, json_object_get_object_member(p, "sealed"), NULL);
	ck_assert_ptr_nonnull(canary_sealed_case_get(copies, "key/draft.1/section"));
	g_autofree struct canary_public_key *africa = public_of(p, "public_key");
	g_autoptr(canary_secret_key) triage_key = tu_load_secret(tmpdir, "triage");
	g_autoptr(canary_sealed_case) resealed =
		canary_sealed_reseal_section(copies, triage_key, africa, NULL);
	ck_assert_ptr_nonnull(resealed);
	ck_assert_ptr_nonnull(canary_sealed_case_get(resealed, "key/draft.1/section"));
	JsonObject *move = ref_args();
	json_object_set_string_member(move, "section", "africa");
	json_object_set_object_member(move, "sealed", canary_sealed_case_to_json(resealed));
	g_autoptr(JsonObject) moved = handle(triage, "move", move);
	tu_control_ok(moved);
	/* africa's key opens the draft now, mena's no longer. */
	g_autoptr(canary_sealed_case) sc = canary_sealed_case_new(c->id);
	ck_assert(canary_envelope_load_draft(pl.store, 1, sc, NULL));
	g_autoptr(canary_secret_key) other = tu_load_secret(tmpdir, "other");
	struct canary_case_note *d = canary_sealed_open_draft(sc, 1, other, NULL);
	ck_assert_ptr_nonnull(d);
	ck_assert_str_eq(d->text, DRAFT_TEXT);
	canary_case_note_free(d);
	g_autoptr(canary_secret_key) mena = tu_load_secret(tmpdir, "section");
	ck_assert_ptr_null(canary_sealed_open_draft(sc, 1, mena, NULL));
}
END_TEST

/* --- Nothing in clear ---------------------------------------------------------- */

START_TEST(test_no_plaintext_in_the_database)
{
	draft(DRAFT_TEXT);
	smtp_down();
	g_autoptr(JsonObject) r = handle(custodian, "send", send_args(1));
	tu_control_refused(r, NULL);
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

/* --- As real users, through canaryd -----------------------------------------
 * Unix users and groups made for the test (root runs it, as CI does): a mena
 * officer, an africa officer and the custodian, each with their key in their
 * own home; canaryd on its control socket, polling a test Dovecot. */

static char *home, *tool_path, *u_config, *socket_path, *canaryd_log;
static char *g_control, *g_mena, *g_africa, *g_custodian;
static char *u_mena, *u_africa, *u_custodian, *u_mena2;
static struct tu_dovecot *dovecot;
static pid_t canaryd_pid;

static void users_setup(void)
{
	home = tu_make_tempdir();
	ck_assert_int_eq(chmod(home, 0711), 0);
	g_autofree char *bin = g_build_filename(home, "bin", NULL);
	ck_assert_int_eq(g_mkdir(bin, 0755), 0);
	tool_path = tu_copy_tool(bin);
	/* The editor officers use: writes $REPLY_TEXT into the file. */
	g_autofree char *editor = tu_write_file(
		bin, "editor", "#!/bin/sh\nprintf '%s\\n' \"$REPLY_TEXT\" >> \"$1\"\n");
	ck_assert_int_eq(chmod(editor, 0755), 0);
	g_control = tu_unique_name("cnp", "ctl");
	g_mena = tu_unique_name("cnp", "mena");
	g_africa = tu_unique_name("cnp", "afr");
	g_custodian = tu_unique_name("cnp", "cus");
	const char *const groups[] = {g_control, g_mena, g_africa, g_custodian};
	for (gsize i = 0; i < G_N_ELEMENTS(groups); i++)
		tu_group_add(groups[i]);
	u_mena = tu_unique_name("cnp", "m");
	u_africa = tu_unique_name("cnp", "a");
	u_custodian = tu_unique_name("cnp", "c");
	u_mena2 = tu_unique_name("cnp", "n");
	g_autofree char *mena_groups = g_strdup_printf("%s,%s", g_control, g_mena);
	g_autofree char *africa_groups = g_strdup_printf("%s,%s", g_control, g_africa);
	g_autofree char *custodian_groups = g_strdup_printf("%s,%s", g_control, g_custodian);
	tu_user_add(u_mena, home, NULL, mena_groups);
	tu_user_add(u_africa, home, NULL, africa_groups);
	tu_user_add(u_custodian, home, NULL, custodian_groups);
	tu_user_add(u_mena2, home, NULL, mena_groups);
}

static void users_teardown(void)
{
	const char *const users[] = {u_mena, u_africa, u_custodian, u_mena2};
	for (gsize i = 0; i < G_N_ELEMENTS(users); i++)
		tu_user_del(users[i]);
	const char *const groups[] = {g_control, g_mena, g_africa, g_custodian};
	for (gsize i = 0; i < G_N_ELEMENTS(groups); i++)
		tu_group_del(groups[i]);
	tu_rmtree(home);
	g_clear_pointer(&home, g_free);
	g_clear_pointer(&tool_path, g_free);
	g_clear_pointer(&g_control, g_free);
	g_clear_pointer(&g_mena, g_free);
	g_clear_pointer(&g_africa, g_free);
	g_clear_pointer(&g_custodian, g_free);
	g_clear_pointer(&u_mena, g_free);
	g_clear_pointer(&u_africa, g_free);
	g_clear_pointer(&u_custodian, g_free);
	g_clear_pointer(&u_mena2, g_free);
}

/* Copies key NAME and its passphrase into USER's home, theirs alone. The
 * key's path (new); the passphrase file is beside it as NAME.pass. */
static char *give_key(const char *user, const char *name)
{
	g_autofree char *file = g_strdup_printf("%s.key", name);
	g_autofree char *src = g_build_filename(home, "canary", "keys", file, NULL);
	g_autofree char *text = NULL;
	gsize len = 0;
	ck_assert(g_file_get_contents(src, &text, &len, NULL));
	char *key = g_build_filename(home, user, file, NULL);
	g_autofree char *pass = g_strdup_printf("%s.pass", key);
	ck_assert(g_file_set_contents(key, text, (gssize)len, NULL));
	ck_assert(g_file_set_contents(pass, TU_PASSPHRASE "\n", -1, NULL));
	struct passwd *pw = getpwnam(user);
	const char *const files[] = {key, pass};
	for (gsize i = 0; i < G_N_ELEMENTS(files); i++) {
		ck_assert_int_eq(chown(files[i], pw->pw_uid, pw->pw_gid), 0);
		ck_assert_int_eq(chmod(files[i], 0600), 0);
	}
	return key;
}

static void daemon_setup(void)
{
	dovecot = tu_dovecot_start(NULL);
	g_autofree char *dir = g_build_filename(home, "canary", NULL);
	tu_rmtree(dir);
	ck_assert_int_eq(g_mkdir(dir, 0711), 0);
	g_autofree char *run = g_build_filename(dir, "run", NULL);
	ck_assert_int_eq(g_mkdir(run, 0755), 0);
	socket_path = g_build_filename(run, "control", NULL);
	canaryd_log = g_build_filename(dir, "canaryd.log", NULL);
	g_autofree char *imap = tu_dovecot_imap_group(dovecot, dir, NULL);
	g_autofree char *routing = g_strdup_printf(
		"[section mena]\npublic_key = keys/section.pub\ncountries = Egypt\ngroup = %s\n"
		"[section africa]\npublic_key = keys/other.pub\nkeywords = Sahel\ngroup = %s\n"
		"[section triage]\npublic_key = keys/triage.pub\n"
		"[country Egypt]\nnames = Egypt, Cairo\n",
		g_mena, g_africa);
	g_free(tu_write_file(dir, "routing.conf", routing));
	g_autofree char *extra = g_strdup_printf(
		"%spoll_interval = 1h\n"
		"[routing]\nrules = routing.conf\ndefault_section = triage\n"
		"[access]\ncustodian = %s\n"
		"[control]\nsocket = %s\ngroup = %s\n",
		imap, g_custodian, socket_path, g_control);
	u_config = tu_make_canary_home(dir, TRUE, extra);
	ck_assert_int_eq(chmod(u_config, 0644), 0);
}

static void daemon_teardown(void)
{
	if (canaryd_pid > 0) {
		kill(canaryd_pid, SIGKILL);
		waitpid(canaryd_pid, NULL, 0);
		canaryd_pid = 0;
	}
	tu_dovecot_free(dovecot);
	dovecot = NULL;
	g_clear_pointer(&u_config, g_free);
	g_clear_pointer(&socket_path, g_free);
	g_clear_pointer(&canaryd_log, g_free);
}

static void start_canaryd(void)
{
	canaryd_pid = tu_canaryd_start(u_config, canaryd_log, socket_path, -1);
}

static void stop_canaryd(void)
{
	int status = tu_canaryd_stop(canaryd_pid, 10);
	canaryd_pid = 0;
	ck_assert_msg(status == 0, "canaryd: exit %d", status);
}

/* One pass of canaryd over the test Dovecot (canaryd itself stopped). */
static void pass_once(void)
{
	g_autofree char *err = NULL;
	int status = tu_canaryd_once(u_config, &err);
	ck_assert_msg(status == 0, "canaryd --once: %d: %s", status, err);
	FILE *f = fopen(canaryd_log, "a");
	ck_assert_ptr_nonnull(f);
	fputs(err != NULL ? err : "", f);
	fclose(f);
}

/* The built canary (its copy) with ARGS... -c U_CONFIG as USER (NULL: root). */
#define canary_as(user, out_r, err_r, ...)                                                        \
	tu_canary_as(user, tool_path, u_config, out_r, err_r, __VA_ARGS__)

/* The reference of the one case (asked as root). New string. */
static char *the_case(void)
{
	g_autofree char *out = NULL, *err = NULL;
	int status = canary_as(NULL, &out, &err, "list", "--json", NULL);
	ck_assert_msg(status == 0, "list: exit %d: %s", status, err);
	return tu_only_case_ref(out);
}

/* The case's history as root (text). New string. */
static char *history_of(const char *case_ref)
{
	g_autofree char *err = NULL;
	char *out = NULL;
	int status = canary_as(NULL, &out, &err, "history", case_ref, NULL);
	ck_assert_msg(status == 0, "history: exit %d: %s", status, err);
	return out;
}

static guint count_lines_with(const char *text, const char *a, const char *b)
{
	g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
	guint n = 0;
	for (gsize i = 0; lines[i] != NULL; i++)
		n += strstr(lines[i], a) != NULL && (b == NULL || strstr(lines[i], b) != NULL);
	return n;
}

/* The officer drafts TEXT in $EDITOR on a terminal (script(1) gives one),
 * with XDG_RUNTIME_DIR at RUNTIME. */
static int reply_in_editor(const char *user, const char *case_ref, const char *key,
			   const char *runtime, const char *text, char **out_r, char **err_r)
{
	g_autofree char *command =
		g_strdup_printf("%s reply %s --key %s --passphrase-file %s.pass -c %s", tool_path,
				case_ref, key, key, u_config);
	g_autofree char *editor = g_strdup_printf("EDITOR=%s/bin/editor", home);
	g_autofree char *xdg = g_strdup_printf("XDG_RUNTIME_DIR=%s", runtime);
	g_autofree char *reply_text = g_strdup_printf("REPLY_TEXT=%s", text);
	const char *const env[] = {editor, "VISUAL=", xdg, reply_text, NULL};
	const char *const argv[] = {"/usr/bin/script", "-qec", command, "/dev/null", NULL};
	return tu_run_as(user, env, argv, out_r, err_r);
}

/* Files the submitter's message through Dovecot and canaryd. */
static char *file_the_case(void)
{
	tu_dovecot_deliver_text(dovecot, "INBOX", message);
	pass_once();
	return the_case();
}

/* MEMBER of case CASE_REF in canary list --json as USER (NULL: root). */
static gint64 listed(const char *user, const char *case_ref, const char *member)
{
	g_autofree char *out = NULL, *err = NULL;
	int status = canary_as(user, &out, &err, "list", "--json", NULL);
	ck_assert_msg(status == 0, "list: exit %d: %s", status, err);
	g_autoptr(JsonNode) root = json_from_string(out, NULL);
	ck_assert_msg(root != NULL && JSON_NODE_HOLDS_ARRAY(root), "%s", out);
	JsonArray *cases = json_node_get_array(root);
	for (guint i = 0; i < json_array_get_length(cases); i++) {
		JsonObject *c = json_array_get_object_element(cases, i);
		if (g_strcmp0(json_object_get_string_member(c, "ref"), case_ref) == 0)
			return json_object_get_int_member(c, member);
	}
	ck_abort_msg("no case %s in %s", case_ref, out);
	return -1;
}

/* How many messages of CASE_REF are news to USER. */
static gint64 news_for(const char *user, const char *case_ref)
{
	return listed(user, case_ref, "news");
}

/* USER opens CASE_REF with KEY. */
static void show_as(const char *user, const char *case_ref, const char *key)
{
	g_autofree char *pass = g_strdup_printf("%s.pass", key);
	g_autofree char *out = NULL, *err = NULL;
	int status = canary_as(user, &out, &err, "show", case_ref, "--key", key,
			       "--passphrase-file", pass, NULL);
	ck_assert_msg(status == 0, "show as %s: exit %d: %s", user, status, err);
}

/* News are per officer: a follow-up is news to each officer who had read
 * the case, until that officer opens it again. */
START_TEST(test_news_are_per_officer)
{
	g_autofree char *case_ref = file_the_case();
	g_autofree char *key1 = give_key(u_mena, "section");
	g_autofree char *key2 = give_key(u_mena2, "section");
	start_canaryd();
	show_as(u_mena, case_ref, key1);
	show_as(u_mena2, case_ref, key2);
	stop_canaryd();

	tu_dovecot_deliver_text(dovecot, "INBOX",
				"From: " SENDER_NAME " <" SENDER_ADDRESS ">\n"
				"To: reprisals@example.org\nSubject: Re: " SUBJECT "\n"
				"Message-ID: <cairo.2@example.net>\n"
				"In-Reply-To: <cairo.1@example.net>\n\n"
				"They gave my passport back.\n");
	pass_once();
	start_canaryd();
	ck_assert_int_eq(news_for(u_mena, case_ref), 1);
	ck_assert_int_eq(news_for(u_mena2, case_ref), 1);
	/* The first officer reads it: news no more to them, still to the other. */
	show_as(u_mena, case_ref, key1);
	ck_assert_int_eq(news_for(u_mena, case_ref), 0);
	ck_assert_int_eq(news_for(u_mena2, case_ref), 1);
	show_as(u_mena2, case_ref, key2);
	ck_assert_int_eq(news_for(u_mena2, case_ref), 0);
	stop_canaryd();
}
END_TEST

START_TEST(test_officers_draft_the_custodian_lists)
{
	g_autofree char *case_ref = file_the_case();
	g_autofree char *mena_key = give_key(u_mena, "section");
	g_autofree char *africa_key = give_key(u_africa, "other");
	g_autofree char *wrong_key = give_key(u_mena, "other");
	g_autofree char *custodian_key = give_key(u_custodian, "custodian");
	g_autofree char *runtime = g_build_filename(home, u_mena, "run", NULL);
	ck_assert_int_eq(g_mkdir_with_parents(runtime, 0700), 0);
	struct passwd *pw = getpwnam(u_mena);
	ck_assert_int_eq(chown(runtime, pw->pw_uid, pw->pw_gid), 0);
	start_canaryd();

	/* The mena officer drafts in the editor. */
	g_autofree char *out = NULL, *err = NULL;
	int status =
		reply_in_editor(u_mena, case_ref, mena_key, runtime, DRAFT_TEXT_LINE, &out, &err);
	ck_assert_msg(status == 0, "reply: exit %d: %s %s", status, out, err);
	ck_assert_msg(strstr(out, "draft 1 waits") != NULL, "%s", out);
	/* Nothing left where the editor wrote. */
	g_autoptr(GDir) left = g_dir_open(runtime, 0, NULL);
	ck_assert_ptr_nonnull(left);
	ck_assert_ptr_null(g_dir_read_name(left));

	/* A key that does not open the case: refused before anything is
	 * recorded. */
	g_autofree char *before = history_of(case_ref);
	g_clear_pointer(&out, g_free);
	g_clear_pointer(&err, g_free);
	g_autofree char *wrong_pass = g_strdup_printf("%s.pass", wrong_key);
	const char *const wrong[] = {
		tool_path,  "reply",  case_ref,    "--key", wrong_key, "--passphrase-file",
		wrong_pass, "--file", "/dev/null", "-c",    u_config,  NULL};
	status = tu_run_as(u_mena, NULL, wrong, &out, &err);
	ck_assert_msg(status == 6, "reply, wrong key: exit %d: %s", status, err);
	g_autofree char *after = history_of(case_ref);
	ck_assert_str_eq(before, after);

	/* A draft file that is not there is named by the option that gave it. */
	g_clear_pointer(&err, g_free);
	g_autofree char *own_pass = g_strdup_printf("%s.pass", mena_key);
	status = canary_as(u_mena, NULL, &err, "reply", case_ref, "--key", mena_key,
			   "--passphrase-file", own_pass, "--file", "/no/such/draft", NULL);
	ck_assert_msg(status != 0 && strstr(err, "--file /no/such/draft: ") != NULL &&
			      strstr(err, "--note-file") == NULL,
		      "exit %d: %s", status, err);
	g_autofree char *unchanged = history_of(case_ref);
	ck_assert_str_eq(before, unchanged);

	/* Another section's officer cannot draft: exit 8 naming mena's group. */
	g_clear_pointer(&err, g_free);
	g_autofree char *africa_pass = g_strdup_printf("%s.pass", africa_key);
	status = canary_as(u_africa, NULL, &err, "reply", case_ref, "--key", africa_key,
			   "--passphrase-file", africa_pass, "--file", "/dev/null", NULL);
	ck_assert_msg(status == 8 && strstr(err, g_mena) != NULL, "exit %d: %s", status, err);

	/* The section's officer cannot list the outbox or send: exit 8 naming
	 * the custodian's group. */
	g_autofree char *mena_pass = g_strdup_printf("%s.pass", mena_key);
	g_clear_pointer(&err, g_free);
	status = canary_as(u_mena, NULL, &err, "outbox", "--key", mena_key, "--passphrase-file",
			   mena_pass, NULL);
	ck_assert_msg(status == 8 && strstr(err, g_custodian) != NULL, "exit %d: %s", status, err);
	g_clear_pointer(&err, g_free);
	status = canary_as(u_mena, NULL, &err, "send", case_ref, "--key", mena_key,
			   "--passphrase-file", mena_pass, "--yes", NULL);
	ck_assert_msg(status == 8 && strstr(err, g_custodian) != NULL, "exit %d: %s", status, err);

	/* The custodian lists it, with its first line, drafted by the officer. */
	g_autofree char *custodian_pass = g_strdup_printf("%s.pass", custodian_key);
	g_clear_pointer(&out, g_free);
	g_clear_pointer(&err, g_free);
	status = canary_as(u_custodian, &out, &err, "outbox", "--key", custodian_key,
			   "--passphrase-file", custodian_pass, NULL);
	ck_assert_msg(status == 0, "outbox: exit %d: %s", status, err);
	ck_assert_msg(strstr(out, case_ref) != NULL && strstr(out, u_mena) != NULL &&
			      strstr(out, "With your consent we would") != NULL,
		      "%s", out);
	g_autofree char *history = history_of(case_ref);
	ck_assert_uint_eq(count_lines_with(history, "drafted", u_mena), 1);
	ck_assert_uint_eq(count_lines_with(history, "outbox", u_custodian), 1);
	stop_canaryd();

	/* Nothing in clear: database, WAL, canaryd's log, the editor's place. */
	g_autofree char *db = g_build_filename(home, "canary", "state", "canary.db", NULL);
	g_autofree char *wal = g_strdup_printf("%s-wal", db);
	const char *const needles[] = {DRAFT_TEXT_LINE, SENDER_NAME, SENDER_ADDRESS, SUBJECT};
	const char *const files[] = {db, wal, canaryd_log};
	for (gsize f = 0; f < G_N_ELEMENTS(files); f++)
		for (gsize i = 0; i < G_N_ELEMENTS(needles); i++)
			ck_assert_msg(tu_count_text_in_file(files[f], needles[i]) == 0,
				      "%s holds \"%s\"", files[f], needles[i]);
}
END_TEST

/* --- The conversation through a real MTA --------------------------------------
 * The test MTA of tests/mta.h (part "smtp" of issue 15): a Postfix on
 * 127.0.0.1 with STARTTLS and SASL, delivering into the test Dovecot, where
 * the submitter has a mailbox of their own. */
#if __has_include("mta.h")
#include "mta.h"
#define REPLY_HAVE_MTA 1
#endif

#ifdef REPLY_HAVE_MTA
/* The first message in the Maildir DIR (new/ or cur/), waiting up to 30 s
 * for it to arrive. New string. */
static char *wait_for_message(const char *dir)
{
	for (int i = 0; i < 3000; i++) {
		const char *const subs[] = {"new", "cur"};
		for (gsize j = 0; j < G_N_ELEMENTS(subs); j++) {
			g_autofree char *sub = g_build_filename(dir, subs[j], NULL);
			g_autoptr(GDir) d = g_dir_open(sub, 0, NULL);
			const char *name = d != NULL ? g_dir_read_name(d) : NULL;
			if (name == NULL)
				continue;
			g_autofree char *path = g_build_filename(sub, name, NULL);
			char *text = NULL;
			if (g_file_get_contents(path, &text, NULL, NULL))
				return text;
		}
		g_usleep(10 * 1000);
	}
	ck_abort_msg("nothing arrived in %s", dir);
	return NULL;
}

/* The value of header NAME in the message TEXT (unfolded), or NULL. New. */
static char *header_of(const char *text, const char *name)
{
	/* Field names are case-insensitive ("Message-Id"). */
	g_autofree char *wanted = g_strdup_printf("\n%s:", name);
	g_autofree char *prefix = g_ascii_strdown(wanted, -1);
	g_autofree char *headed = g_strconcat("\n", text, NULL);
	g_autofree char *lower = g_ascii_strdown(headed, -1);
	const char *end_of_headers = strstr(headed, "\n\n");
	const char *lower_hit = strstr(lower, prefix);
	const char *hit = lower_hit != NULL ? headed + (lower_hit - lower) : NULL;
	if (hit == NULL || (end_of_headers != NULL && hit > end_of_headers))
		return NULL;
	GString *value = g_string_new(NULL);
	const char *p = hit + strlen(prefix);
	for (;;) {
		const char *nl = strchr(p, '\n');
		g_string_append_len(value, p, nl != NULL ? nl - p : (gssize)strlen(p));
		if (nl == NULL || (nl[1] != ' ' && nl[1] != '\t'))
			break;
		p = nl + 1;
	}
	return g_strstrip(g_string_free(value, FALSE));
}

/* The number of messages of case REF. */
static gint64 messages_of(const char *case_ref)
{
	return listed(NULL, case_ref, "messages");
}

START_TEST(test_conversation_through_the_mta)
{
	struct tu_mta *mta = tu_mta_start(dovecot);
	g_autofree char *smtp = tu_mta_canary_config(mta, "reprisals@example.org");
	FILE *f = fopen(u_config, "a");
	ck_assert_ptr_nonnull(f);
	fputs(smtp, f);
	fclose(f);
	/* The submitter writes from the mailbox the MTA delivers to. */
	g_autofree char *first = g_strdup_printf(
		"From: " SENDER_NAME " <%s>\nTo: reprisals@example.org\nSubject: " SUBJECT "\n"
		"Message-ID: <cairo.1@example.net>\nMIME-Version: 1.0\n"
		"Content-Type: text/plain; charset=utf-8\n\nI was questioned in Egypt; " BODY_PHRASE
		".\n",
		mta->submitter);
	tu_dovecot_deliver_text(dovecot, "INBOX", first);
	pass_once();
	g_autofree char *case_ref = the_case();
	g_autofree char *mena_key = give_key(u_mena, "section");
	g_autofree char *custodian_key = give_key(u_custodian, "custodian");
	g_autofree char *custodian_pass = g_strdup_printf("%s.pass", custodian_key);
	g_autofree char *runtime = g_build_filename(home, u_mena, "run", NULL);
	ck_assert_int_eq(g_mkdir_with_parents(runtime, 0700), 0);
	struct passwd *pw = getpwnam(u_mena);
	ck_assert_int_eq(chown(runtime, pw->pw_uid, pw->pw_gid), 0);
	start_canaryd();

	g_autofree char *out = NULL, *err = NULL;
	int status =
		reply_in_editor(u_mena, case_ref, mena_key, runtime, DRAFT_TEXT_LINE, &out, &err);
	ck_assert_msg(status == 0, "reply: exit %d: %s %s", status, out, err);

	/* The MTA down: not sent, exit 1, the draft still waits. */
	tu_mta_stop(mta);
	g_clear_pointer(&out, g_free);
	g_clear_pointer(&err, g_free);
	status = canary_as(u_custodian, &out, &err, "send", case_ref, "--key", custodian_key,
			   "--passphrase-file", custodian_pass, "--yes", NULL);
	ck_assert_msg(status == 1 && strstr(err, "still waits") != NULL, "exit %d: %s", status,
		      err);
	ck_assert_int_eq(messages_of(case_ref), 1);
	tu_mta_restart(mta);

	/* The custodian sends it. */
	g_clear_pointer(&out, g_free);
	g_clear_pointer(&err, g_free);
	status = canary_as(u_custodian, &out, &err, "send", case_ref, "--key", custodian_key,
			   "--passphrase-file", custodian_pass, "--yes", NULL);
	ck_assert_msg(status == 0, "send: exit %d: %s %s", status, out, err);
	ck_assert_msg(strstr(out, "sent as message 2") != NULL, "%s", out);

	/* It arrives, threaded under the submitter's message, from the
	 * confidential address, with a Message-ID under its domain. */
	g_autofree char *arrived = wait_for_message(mta->submitter_maildir);
	g_autofree char *in_reply_to = header_of(arrived, "In-Reply-To");
	g_autofree char *references = header_of(arrived, "References");
	g_autofree char *from = header_of(arrived, "From");
	g_autofree char *message_id = header_of(arrived, "Message-ID");
	g_autofree char *subject = header_of(arrived, "Subject");
	ck_assert_msg(g_strcmp0(in_reply_to, "<cairo.1@example.net>") == 0, "%s", arrived);
	ck_assert_msg(references != NULL && strstr(references, "<cairo.1@example.net>") != NULL,
		      "%s", arrived);
	ck_assert_msg(from != NULL && strstr(from, "reprisals@example.org") != NULL, "%s", arrived);
	ck_assert_msg(message_id != NULL && g_str_has_suffix(message_id, "@example.org>"), "%s",
		      arrived);
	ck_assert_msg(subject != NULL && g_str_has_prefix(subject, "Re: "), "%s", arrived);
	ck_assert_msg(strstr(arrived, "With your consent we would raise") != NULL, "%s", arrived);
	ck_assert_int_eq(messages_of(case_ref), 2);
	g_autofree char *history = history_of(case_ref);
	ck_assert_uint_eq(count_lines_with(history, "drafted", u_mena), 1);
	ck_assert_uint_eq(count_lines_with(history, "draft 1 as message 2", u_custodian), 1);
	/* Sent once: a second send has nothing waiting. */
	g_clear_pointer(&err, g_free);
	status = canary_as(u_custodian, NULL, &err, "send", case_ref, "--key", custodian_key,
			   "--passphrase-file", custodian_pass, "--yes", NULL);
	ck_assert_msg(status == 5, "send again: exit %d: %s", status, err);
	stop_canaryd();

	/* The submitter answers; the answer joins the case on the next pass
	 * (part "join" of issue 15 files follow-ups). */
	g_autofree char *id = g_strndup(message_id + 1, strlen(message_id) - 2);
	g_autofree char *answer = g_strdup_printf(
		"From: " SENDER_NAME " <%s>\nTo: reprisals@example.org\nSubject: Re: " SUBJECT "\n"
		"Message-ID: <cairo.2@example.net>\nIn-Reply-To: <%s>\n"
		"References: <cairo.1@example.net> <%s>\nMIME-Version: 1.0\n"
		"Content-Type: text/plain; charset=utf-8\n\nYes, I consent. They returned my "
		"passport on Monday.\n",
		mta->submitter, id, id);
	tu_dovecot_deliver_text(dovecot, "INBOX", answer);
	pass_once();
	g_free(the_case()); /* still one case */
	ck_assert_int_eq(messages_of(case_ref), 3);

	/* Nothing in clear: database, WAL, canaryd's log. */
	g_autofree char *db = g_build_filename(home, "canary", "state", "canary.db", NULL);
	g_autofree char *wal = g_strdup_printf("%s-wal", db);
	const char *const needles[] = {DRAFT_TEXT_LINE,        SENDER_NAME, mta->submitter, SUBJECT,
				       "returned my passport", id};
	const char *const files[] = {db, wal, canaryd_log};
	for (gsize k = 0; k < G_N_ELEMENTS(files); k++)
		for (gsize i = 0; i < G_N_ELEMENTS(needles); i++)
			ck_assert_msg(tu_count_text_in_file(files[k], needles[i]) == 0,
				      "%s holds \"%s\"", files[k], needles[i]);
	tu_mta_free(mta);
}
END_TEST
#endif

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
	TCase *users = tcase_create("as users");
	tcase_add_unchecked_fixture(users, users_setup, users_teardown);
	tcase_add_checked_fixture(users, daemon_setup, daemon_teardown);
	tcase_set_timeout(users, 300);
	tcase_add_test(users, test_officers_draft_the_custodian_lists);
	tcase_add_test(users, test_news_are_per_officer);
#ifdef REPLY_HAVE_MTA
	tcase_add_test(users, test_conversation_through_the_mta);
#endif
	suite_add_tcase(s, users);
	return s;
}

int main(void)
{
	return tu_run_suite(reply_suite());
}
