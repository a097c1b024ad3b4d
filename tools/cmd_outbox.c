/* cmd_outbox.c: canary outbox: the drafted replies waiting for the
 * custodian, opened here with the custodian's key: reference, draft number,
 * who drafted it, the day, and its first line. canaryd records each case's
 * drafts handed out before they leave. */
#include <json-glib/json-glib.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "envelope.h"
#include "triage.h"
#include "wipe.h"

enum { W_REF = 16, W_DRAFT = 5, W_BY = 12, W_DAY = 10, W_LINE = 50 };

/* One draft of the outbox as canaryd listed it, and what the key opened. */
struct outbox_entry {
	char *ref;
	guint number;
	char *drafted_by;
	gint64 drafted_day;
	gboolean sending;
	char *text; /* NULL when the key does not open it; wiped */
};

static void entry_free(struct outbox_entry *e)
{
	g_free(e->ref);
	g_free(e->drafted_by);
	canary_wipe_free(e->text);
	g_free(e);
}

/* The entry for O (one element of "drafts"), its text opened with KEY.
 * NULL after printing the problem. */
static struct outbox_entry *open_entry(JsonObject *o, const struct canary_secret_key *key)
{
	struct outbox_entry *e = g_new0(struct outbox_entry, 1);
	e->ref = g_strdup(json_object_get_string_member_with_default(o, "ref", "-"));
	gint64 number = json_object_get_int_member_with_default(o, "draft", 0);
	e->number = (guint)CLAMP(number, 0, G_MAXUINT32);
	e->drafted_by = g_strdup(json_object_get_string_member_with_default(o, "drafted_by", "-"));
	e->drafted_day = json_object_get_int_member_with_default(o, "drafted_day", 0);
	e->sending = json_object_get_boolean_member_with_default(o, "sending", FALSE);
	JsonObject *sealed = cli_object_member(o, "sealed");
	if (key == NULL || sealed == NULL)
		return e;
	g_autoptr(GError) error = NULL;
	gint64 case_id = json_object_get_int_member_with_default(o, "case_id", 0);
	g_autoptr(canary_sealed_case) sc = canary_sealed_case_from_json(case_id, sealed, &error);
	struct canary_case_note *draft =
		sc != NULL ? canary_sealed_open_draft(sc, e->number, key, &error) : NULL;
	if (draft == NULL) {
		cli_error("case %s, draft %u: %s", e->ref, e->number, error->message);
		entry_free(e);
		return NULL;
	}
	e->text = g_steal_pointer(&draft->text);
	canary_case_note_free(draft);
	return e;
}

/* The first line of TEXT that is not blank, as a new string (wipe it). */
static char *first_line(const char *text)
{
	while (*text == '\n' || *text == ' ')
		text++;
	const char *end = strchr(text, '\n');
	return g_strndup(text, end != NULL ? (gsize)(end - text) : strlen(text));
}

static void print_table(GPtrArray *entries)
{
	if (entries->len == 0) {
		printf("no drafts waiting\n");
		return;
	}
	printf("%-*s %-*s %-*s %-*s  %s\n", W_REF, "REF", W_DRAFT, "DRAFT", W_BY, "BY", W_DAY,
	       "DAY", "FIRST LINE");
	for (guint i = 0; i < entries->len; i++) {
		const struct outbox_entry *e = entries->pdata[i];
		g_autofree char *number = g_strdup_printf("%u%s", e->number, e->sending ? "!" : "");
		g_autofree char *day = triage_format_day(e->drafted_day);
		triage_cell(stdout, e->ref, W_REF);
		fputc(' ', stdout);
		triage_cell(stdout, number, W_DRAFT);
		fputc(' ', stdout);
		triage_cell(stdout, e->drafted_by, W_BY);
		fputc(' ', stdout);
		triage_cell(stdout, day, W_DAY);
		fputs("  ", stdout);
		if (e->text != NULL) {
			char *line = first_line(e->text);
			char *cell = triage_untrusted_cell(line, W_LINE);
			fputs(cell, stdout);
			canary_wipe_free(cell);
			canary_wipe_free(line);
		} else {
			fputc('-', stdout);
		}
		fputc('\n', stdout);
	}
	for (guint i = 0; i < entries->len; i++)
		if (((const struct outbox_entry *)entries->pdata[i])->sending) {
			printf("\n!: being sent when canaryd stopped: it may have gone out (canary "
			       "send --again sends it anyway)\n");
			break;
		}
}

static void print_json(GPtrArray *entries)
{
	g_autoptr(JsonBuilder) b = json_builder_new();
	json_builder_begin_array(b);
	for (guint i = 0; i < entries->len; i++) {
		const struct outbox_entry *e = entries->pdata[i];
		g_autofree char *day = triage_format_day(e->drafted_day);
		json_builder_begin_object(b);
		triage_json_string(b, "ref", e->ref);
		triage_json_int(b, "draft", e->number);
		triage_json_string(b, "drafted_by", e->drafted_by);
		triage_json_string(b, "drafted", day);
		triage_json_bool(b, "sending", e->sending);
		triage_json_string(b, "text", e->text);
		json_builder_end_object(b);
	}
	json_builder_end_array(b);
	triage_json_print(b);
}

int cmd_outbox(int argc, char **argv)
{
	g_auto(cli_common) common = {0};
	g_autofree char *key_path = NULL, *passphrase_file = NULL;
	gboolean json = FALSE;
	GOptionEntry entries[] = {{"key", 'k', 0, G_OPTION_ARG_FILENAME, &key_path,
				   "The custodian's secret key, to read the drafts", "FILE"},
				  {"passphrase-file", 'p', 0, G_OPTION_ARG_FILENAME,
				   &passphrase_file,
				   "Read the key's passphrase from FILE (else ask)", "FILE"},
				  {"json", 0, 0, G_OPTION_ARG_NONE, &json, "Print JSON", NULL},
				  G_OPTION_ENTRY_NULL};
	if (!cli_parse(&argc, &argv, "",
		       "Lists the replies drafted by officers and waiting to be sent (canary "
		       "send): reference, draft number, who drafted it, the day, and its first "
		       "line, opened with the custodian's key. For the custodian (and admins). "
		       "Recorded in each case's history.",
		       entries, &common))
		return CLI_EXIT_USAGE;
	if (argc != 1 || key_path == NULL) {
		cli_error("outbox takes no arguments and needs --key FILE (see --help)");
		return CLI_EXIT_USAGE;
	}
	int status = CLI_EXIT_OK;
	g_autoptr(canary_secret_key) key = NULL;
	g_autoptr(canary_client) client =
		cli_connect_with_key(&common, key_path, passphrase_file, &key, &status);
	if (client == NULL)
		return status;
	g_autoptr(JsonObject) result = cli_call(client, "outbox", NULL, &status);
	if (result == NULL)
		return status;
	JsonArray *drafts = cli_array_member(result, "drafts");
	if (drafts == NULL) {
		cli_error("canaryd's answer lacks the drafts");
		return CLI_EXIT_FAILED;
	}
	g_autoptr(GPtrArray) list = g_ptr_array_new_with_free_func((GDestroyNotify)entry_free);
	for (guint i = 0; i < json_array_get_length(drafts); i++) {
		JsonObject *o = json_array_get_object_element(drafts, i);
		struct outbox_entry *e = o != NULL ? open_entry(o, key) : NULL;
		if (e == NULL)
			return CLI_EXIT_KEY;
		g_ptr_array_add(list, e);
	}
	if (json)
		print_json(list);
	else
		print_table(list);
	return CLI_EXIT_OK;
}
