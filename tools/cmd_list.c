/* cmd_list.c: canary list: the cases in the store, as a table or JSON, open
 * ones first, oldest first. Metadata only (all stored in clear), unless a
 * key is given: then also the subjects that key opens. */
#include <json-glib/json-glib.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "envelope.h"
#include "triage.h"

/* Column widths: the table fits 100 columns. */
enum {
	W_REF = 16,
	W_AGE = 4,
	W_SECTION = 12,
	W_STATUS = 11,
	W_ASSIGNEE = 10,
	W_PSEUDONYM = 11,
	W_ATT = 3,
	W_SIZE = 6,
	W_LAST = 18, /* QUARANTINE or SUBJECT */
};

/* 0 for cases still to be worked (new, open), 1 for the rest. */
static int rank(const struct canary_case *c)
{
	return strcmp(c->status, CANARY_STATUS_NEW) == 0 ||
			       strcmp(c->status, CANARY_STATUS_OPEN) == 0
		       ? 0
		       : 1;
}

/* Open cases first, then by receipt time (then reference number). */
static gint compare_cases(gconstpointer a, gconstpointer b)
{
	const struct canary_case *x = *(struct canary_case *const *)a;
	const struct canary_case *y = *(struct canary_case *const *)b;
	if (rank(x) != rank(y))
		return rank(x) - rank(y);
	if (x->received_at != y->received_at)
		return x->received_at < y->received_at ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

/* Prints CASES as a JSON array of objects. SUBJECTS (parallel to CASES, or
 * NULL without a key) holds the opened subjects or NULL. */
static void print_json(GPtrArray *cases, char **subjects, gint64 now)
{
	g_autoptr(JsonBuilder) b = json_builder_new();
	json_builder_begin_array(b);
	for (guint i = 0; i < cases->len; i++) {
		const struct canary_case *c = cases->pdata[i];
		json_builder_begin_object(b);
		triage_json_string(b, "ref", c->ref);
		triage_json_time(b, "received_at", c->received_at);
		triage_json_time(b, "ingested_at", c->ingested_at);
		triage_json_int(b, "age_seconds", MAX(now - c->received_at, 0));
		triage_json_string(b, "section", c->section);
		triage_json_string(b, "status", c->status);
		triage_json_string(b, "assignee", c->assignee);
		triage_json_string(b, "pseudonym", c->pseudonym);
		triage_json_string(b, "rule", c->rule);
		triage_json_int(b, "attachments", c->attachments);
		triage_json_int(b, "size", c->size);
		triage_json_string(b, "quarantine_reason", c->quarantine_reason);
		if (subjects != NULL)
			triage_json_string(b, "subject", subjects[i]);
		json_builder_end_object(b);
	}
	json_builder_end_array(b);
	triage_json_print(b);
}

/* Prints CASES as a table that fits 100 columns. */
static void print_table(GPtrArray *cases, char **subjects, gint64 now)
{
	printf("%-*s %-*s %-*s %-*s %-*s %-*s %*s %*s  %s\n", W_REF, "REF", W_AGE, "AGE", W_SECTION,
	       "SECTION", W_STATUS, "STATUS", W_ASSIGNEE, "ASSIGNEE", W_PSEUDONYM, "PSEUDONYM",
	       W_ATT, "ATT", W_SIZE, "SIZE", subjects != NULL ? "SUBJECT" : "QUARANTINE");
	for (guint i = 0; i < cases->len; i++) {
		const struct canary_case *c = cases->pdata[i];
		g_autofree char *age = triage_format_age(now - c->received_at);
		g_autofree char *size = cli_format_size(c->size);
		triage_cell(stdout, c->ref, W_REF);
		fputc(' ', stdout);
		printf("%*s ", W_AGE, age);
		triage_cell(stdout, c->section, W_SECTION);
		fputc(' ', stdout);
		triage_cell(stdout, c->status, W_STATUS);
		fputc(' ', stdout);
		triage_cell(stdout, c->assignee, W_ASSIGNEE);
		fputc(' ', stdout);
		triage_cell(stdout, c->pseudonym, W_PSEUDONYM);
		printf(" %*u %*s  ", W_ATT, c->attachments, W_SIZE, size);
		if (subjects != NULL) {
			char *cell = triage_untrusted_cell(subjects[i] != NULL ? subjects[i] : "-",
							   W_LAST);
			fputs(cell, stdout);
			canary_wipe_free(cell);
		} else if (c->quarantine_reason != NULL) {
			g_autofree char *cell = triage_untrusted_cell(c->quarantine_reason, W_LAST);
			fputs(cell, stdout);
		}
		fputc('\n', stdout);
	}
	printf("%u case%s\n", cases->len, cases->len == 1 ? "" : "s");
}

/* Frees a NULL-terminated-or-not array of N subjects, wiping each. */
static void subjects_free(char **subjects, guint n)
{
	if (subjects == NULL)
		return;
	for (guint i = 0; i < n; i++)
		canary_wipe_free(subjects[i]);
	g_free(subjects);
}

/* Opens the subject of every case KEY opens, and records each opening in
 * its history (one transaction). Returns a new array parallel to CASES (NULL
 * where KEY opens nothing), or NULL after printing the problem. */
static char **open_subjects(struct canary_store *store, GPtrArray *cases,
			    const struct canary_secret_key *key)
{
	char **subjects = g_new0(char *, cases->len + 1);
	g_autoptr(GError) error = NULL;
	if (!canary_store_begin(store, &error)) {
		cli_error("%s", error->message);
		g_free(subjects);
		return NULL;
	}
	for (guint i = 0; i < cases->len; i++) {
		const struct canary_case *c = cases->pdata[i];
		if (strcmp(c->status, CANARY_STATUS_QUARANTINED) == 0)
			continue; /* sealed to the custodian only */
		g_autoptr(GError) local = NULL;
		g_autoptr(canary_case_content) content =
			canary_envelope_open_content(store, c->id, key, &local);
		if (content == NULL) {
			if (!g_error_matches(local, CANARY_ENVELOPE_ERROR,
					     CANARY_ENVELOPE_ERROR_NO_ACCESS))
				cli_error("case %s: %s", c->ref, local->message);
			continue;
		}
		/* An access that cannot be recorded does not happen. */
		if (!cli_record(store, c->ref, "subject listed", NULL)) {
			canary_store_rollback(store);
			subjects_free(subjects, cases->len);
			return NULL;
		}
		subjects[i] = g_strdup(content->subject != NULL ? content->subject : "");
	}
	if (!canary_store_commit(store, &error)) {
		cli_error("%s", error->message);
		canary_store_rollback(store);
		subjects_free(subjects, cases->len);
		return NULL;
	}
	return subjects;
}

int cmd_list(int argc, char **argv)
{
	g_auto(cli_common) common = {0};
	g_autofree char *status = NULL, *section = NULL, *assignee = NULL, *since = NULL;
	g_autofree char *key_path = NULL, *passphrase_file = NULL;
	gboolean json = FALSE;
	GOptionEntry entries[] = {
		{"status", 's', 0, G_OPTION_ARG_STRING, &status,
		 "Only cases with this status (new, open, closed, quarantined)", "S"},
		{"section", 0, 0, G_OPTION_ARG_STRING, &section, "Only cases of this section", "S"},
		{"assignee", 0, 0, G_OPTION_ARG_STRING, &assignee, "Only cases assigned to USER",
		 "USER"},
		{"since", 0, 0, G_OPTION_ARG_STRING, &since,
		 "Only cases received on or after DATE (YYYY-MM-DD, UTC)", "DATE"},
		{"key", 'k', 0, G_OPTION_ARG_FILENAME, &key_path,
		 "Also show the subjects this section (or triage) secret key opens", "FILE"},
		{"passphrase-file", 'p', 0, G_OPTION_ARG_FILENAME, &passphrase_file,
		 "Read the key's passphrase from FILE (else ask)", "FILE"},
		{"json", 0, 0, G_OPTION_ARG_NONE, &json, "Print a JSON array", NULL},
		G_OPTION_ENTRY_NULL};
	if (!cli_parse(&argc, &argv, "",
		       "Lists cases: new and open ones first, oldest first, then closed and "
		       "quarantined ones. Metadata only, unless --key is given: then also the "
		       "subjects that key opens (recorded in each case's history).",
		       entries, &common))
		return CLI_EXIT_USAGE;
	if (argc > 1) {
		cli_error("list takes no arguments (see --help)");
		return CLI_EXIT_USAGE;
	}
	if (status != NULL && !canary_store_status_valid(status)) {
		cli_error("--status %s: expected new, open, closed or quarantined", status);
		return CLI_EXIT_USAGE;
	}
	struct canary_case_filter filter = {
		.status = status, .section = section, .assignee = assignee};
	if (since != NULL && !triage_parse_date("--since", since, &filter.since))
		return CLI_EXIT_USAGE;
	if (passphrase_file != NULL && key_path == NULL) {
		cli_error("--passphrase-file goes with --key (see --help)");
		return CLI_EXIT_USAGE;
	}
	g_autoptr(canary_config) config = cli_load_config(&common);
	if (config == NULL)
		return CLI_EXIT_CONFIG;
	struct canary_store *store = cli_open_store(config);
	if (store == NULL)
		return CLI_EXIT_STORE;

	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) cases = canary_store_list_cases(store, &filter, &error);
	if (cases == NULL) {
		cli_error("%s", error->message);
		canary_store_close(&store);
		return CLI_EXIT_STORE;
	}
	g_ptr_array_sort(cases, compare_cases);
	char **subjects = NULL;
	if (key_path != NULL) {
		g_autoptr(canary_secret_key) key = cli_load_secret_key(key_path, passphrase_file);
		if (key == NULL) {
			canary_store_close(&store);
			return CLI_EXIT_KEY;
		}
		subjects = open_subjects(store, cases, key);
		if (subjects == NULL) {
			canary_store_close(&store);
			return CLI_EXIT_STORE;
		}
	}
	canary_store_close(&store);
	gint64 now = triage_now();
	if (json)
		print_json(cases, subjects, now);
	else
		print_table(cases, subjects, now);
	subjects_free(subjects, cases->len);
	return CLI_EXIT_OK;
}
