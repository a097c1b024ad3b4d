/* cmd_audit.c: canary audit: --verify reads the whole case history from
 * canaryd (the "audit" op) and checks it HERE, with the verification key
 * when given (which never leaves this process); --start-sealing starts the
 * forward-secure seal and prints that key once. */
#include <stdio.h>
#include <string.h>

#include "audit.h"
#include "cli.h"
#include "commands.h"

/* Copies base64 member NAME of O (LEN bytes) into OUT; FALSE when absent or wrong. */
static gboolean get_b64(JsonObject *o, const char *name, guint8 *out, gsize len)
{
	const char *text = json_object_get_string_member_with_default(o, name, NULL);
	if (text == NULL)
		return FALSE;
	gsize got = 0;
	g_autofree guchar *data = g_base64_decode(text, &got);
	if (got != len)
		return FALSE;
	memcpy(out, data, len);
	return TRUE;
}

/* An event of the "audit" op's answer (O may be NULL); NULL when malformed. */
static struct canary_event *event_from_json(JsonObject *o)
{
	if (o == NULL)
		return NULL;
	struct canary_event *e = g_new0(struct canary_event, 1);
	e->id = json_object_get_int_member_with_default(o, "id", 0);
	e->at = json_object_get_int_member_with_default(o, "at", 0);
	e->ref = g_strdup(json_object_get_string_member_with_default(o, "ref", NULL));
	e->actor = g_strdup(json_object_get_string_member_with_default(o, "actor", NULL));
	e->action = g_strdup(json_object_get_string_member_with_default(o, "action", NULL));
	e->detail = g_strdup(json_object_get_string_member_with_default(o, "detail", NULL));
	e->sealed = get_b64(o, "mac", e->mac, sizeof(e->mac));
	if (e->ref == NULL || e->actor == NULL || e->action == NULL ||
	    !get_b64(o, "prev_hash", e->prev_hash, 32) || !get_b64(o, "hash", e->hash, 32)) {
		canary_event_free(e);
		return NULL;
	}
	return e;
}

/* The head of the first page. */
struct head {
	struct canary_audit_head h;
	char *problem;
};

static gboolean head_from_json(JsonObject *result, struct head *head)
{
	JsonObject *o = cli_object_member(result, "head");
	if (o == NULL)
		return FALSE;
	head->h.last_id = json_object_get_int_member_with_default(o, "last_id", 0);
	head->h.sealed_from = json_object_get_int_member_with_default(o, "sealed_from", 0);
	head->h.has_proof = get_b64(o, "proof", head->h.proof, sizeof(head->h.proof));
	head->problem = g_strdup(json_object_get_string_member_with_default(o, "problem", NULL));
	head->h.problem = head->problem;
	return TRUE;
}

/* Reads the whole history up to the head of the first page into EVENTS.
 * Returns CLI_EXIT_OK or the exit code after printing the problem. */
static int fetch_history(struct canary_client *client, GPtrArray *events, struct head *head)
{
	gint64 after = G_MININT64;
	for (gboolean first = TRUE;; first = FALSE) {
		g_autoptr(JsonObject) args = json_object_new();
		if (!first)
			json_object_set_int_member(args, "after", after);
		json_object_set_int_member(args, "limit", 5000);
		int status = CLI_EXIT_OK;
		g_autoptr(JsonObject) result = cli_call(client, "audit", args, &status);
		if (result == NULL)
			return status;
		if (first && !head_from_json(result, head))
			goto malformed;
		JsonArray *page = json_object_has_member(result, "events")
					  ? json_object_get_array_member(result, "events")
					  : NULL;
		if (page == NULL)
			goto malformed;
		guint n = json_array_get_length(page);
		for (guint i = 0; i < n; i++) {
			struct canary_event *e = event_from_json(cli_element_object(page, i));
			if (e == NULL)
				goto malformed;
			if (e->id <= after) { /* pages must move forward */
				canary_event_free(e);
				goto malformed;
			}
			after = e->id;
			/* Events added since the head was proven wait for the next audit. */
			if (e->id > head->h.last_id) {
				canary_event_free(e);
				return CLI_EXIT_OK;
			}
			g_ptr_array_add(events, e);
		}
		if (n == 0 || !json_object_get_boolean_member_with_default(result, "more", FALSE))
			return CLI_EXIT_OK;
	}
malformed:
	cli_error("canaryd's answer to \"audit\" is malformed");
	return CLI_EXIT_FAILED;
}

/* Says how much a whole chain proves. */
static void print_ok(const struct canary_audit_result *r, const struct canary_audit_key *vkey)
{
	printf("ok: %u event%s\n", r->events, r->events == 1 ? "" : "s");
	if (vkey != NULL) {
		g_autofree char *id = canary_audit_key_id(vkey);
		if (r->sealed_from > 1)
			printf("events 1 to %" G_GINT64_FORMAT ": hash chain only (recorded before "
			       "the sealing)\n",
			       r->sealed_from - 1);
		printf("events %" G_GINT64_FORMAT " to %u: sealed, every MAC checked with key %s, "
		       "and nothing removed from the end\n",
		       r->sealed_from, r->events, id);
		return;
	}
	if (r->sealed_from > 0)
		printf("hash chain only: sealed from event %" G_GINT64_FORMAT ", but without "
		       "--verification-key this proves only that the chain is whole, which anyone "
		       "who can write the database can recompute\n",
		       r->sealed_from);
	else
		printf("hash chain only: the history is not sealed (see --start-sealing); anyone "
		       "who can write the database can recompute the chain\n");
}

static int verify(struct canary_client *client, const char *vkey_path)
{
	g_autoptr(canary_audit_key) vkey = NULL;
	if (vkey_path != NULL) {
		g_autoptr(GError) error = NULL;
		vkey = canary_audit_key_load(vkey_path, &error);
		if (vkey == NULL) {
			cli_error("%s", error->message);
			return CLI_EXIT_KEY;
		}
	}
	g_autoptr(GPtrArray) events =
		g_ptr_array_new_with_free_func((GDestroyNotify)canary_event_free);
	struct head head = {0};
	int status = fetch_history(client, events, &head);
	struct canary_audit_result r = {0};
	if (status == CLI_EXIT_OK && canary_audit_verify(events, &head.h, vkey, &r)) {
		print_ok(&r, vkey);
	} else if (status == CLI_EXIT_OK) {
		status = r.key_wrong ? CLI_EXIT_KEY : CLI_EXIT_FAILED;
		if (r.bad_id != 0) {
			printf("broken: event %" G_GINT64_FORMAT " (case ", r.bad_id);
			cli_print_line(stdout, r.bad_ref);
			printf("): ");
		} else {
			printf("broken: the end of the history: ");
		}
		cli_print_line(stdout, r.why);
		putchar('\n');
		if (r.key_wrong)
			cli_error("the verification key does not belong to this history");
		else
			cli_error(
				"the case history was tampered with%s: keep this database and its "
				"audit key file as evidence and restore the history from a backup",
				r.bad_id != 0 ? " (see the event above)" : " at its end");
	}
	canary_audit_result_clear(&r);
	g_free(head.problem);
	return status;
}

static int start_sealing(struct canary_client *client)
{
	int status = CLI_EXIT_OK;
	g_autoptr(JsonObject) result = cli_call(client, "audit-start", NULL, &status);
	if (result == NULL)
		return status;
	const char *vkey =
		json_object_get_string_member_with_default(result, "verification_key", NULL);
	if (vkey == NULL) {
		cli_error("canaryd's answer to \"audit-start\" is malformed");
		return CLI_EXIT_FAILED;
	}
	fputs(vkey, stdout);
	fflush(stdout);
	fprintf(stderr,
		"canary: the history is sealed from event %" G_GINT64_FORMAT ". Above is its "
		"verification key, shown this once and kept nowhere: save it to a file OFF this "
		"server (the custodian keeps it) and check the history with\n"
		"  canary audit --verify --verification-key FILE\n"
		"Whoever holds it can check every event, and forge them too: never copy it back.\n",
		json_object_get_int_member_with_default(result, "first_id", 0));
	return CLI_EXIT_OK;
}

int cmd_audit(int argc, char **argv)
{
	g_auto(cli_common) common = {0};
	gboolean do_verify = FALSE, do_start = FALSE;
	g_autofree char *vkey_path = NULL;
	GOptionEntry entries[] = {
		{"verify", 0, 0, G_OPTION_ARG_NONE, &do_verify, "Check the whole case history",
		 NULL},
		{"verification-key", 0, 0, G_OPTION_ARG_FILENAME, &vkey_path,
		 "With --verify: check every sealed event's MAC and the end of the history with "
		 "this key",
		 "FILE"},
		{"start-sealing", 0, 0, G_OPTION_ARG_NONE, &do_start,
		 "Seal every event from now on (root or canaryd's user, once); prints the "
		 "verification key",
		 NULL},
		G_OPTION_ENTRY_NULL};
	if (!cli_parse(&argc, &argv, "",
		       "With --verify, walks the whole case history and checks that no event was "
		       "changed, removed or reordered: prints \"ok: N events\" and how much that "
		       "proves, or names the first broken event and exits 1 (6 for a wrong "
		       "verification key). Without --verification-key only the hash chain is "
		       "checked. The check runs here: the key never reaches canaryd.",
		       entries, &common))
		return CLI_EXIT_USAGE;
	if (argc > 1 || do_verify == do_start || (vkey_path != NULL && !do_verify)) {
		cli_error("audit needs --verify [--verification-key FILE] or --start-sealing, and "
			  "no arguments (see --help)");
		return CLI_EXIT_USAGE;
	}
	int status = CLI_EXIT_OK;
	g_autoptr(canary_client) client = cli_connect(&common, &status);
	if (client == NULL)
		return status;
	return do_start ? start_sealing(client) : verify(client, vkey_path);
}
