/* cmd_list.c: canary list: the cases in the store, as a table or JSON, open
 * ones first, oldest first. Metadata only (all stored in clear: the day
 * received, a size class), unless a key is given: then also the subjects,
 * exact times, sizes and pseudonyms that key opens, and with --pseudonym
 * only the cases of that sender. */
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
	W_ASSIGNEE = 12,
	W_ATT = 3,
	W_SIZE = 6,
	W_LAST = 28, /* QUARANTINE or SUBJECT */
};

/* 0 for cases still to be worked (new, open), 1 for the rest. */
static int rank(const struct canary_case *c)
{
	return strcmp(c->status, CANARY_STATUS_NEW) == 0 ||
			       strcmp(c->status, CANARY_STATUS_OPEN) == 0
		       ? 0
		       : 1;
}

/* Open cases first, then by day received (then row: the file's order). */
static gint compare_cases(gconstpointer a, gconstpointer b)
{
	const struct canary_case *x = *(struct canary_case *const *)a;
	const struct canary_case *y = *(struct canary_case *const *)b;
	if (rank(x) != rank(y))
		return rank(x) - rank(y);
	if (x->received_day != y->received_day)
		return x->received_day < y->received_day ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

/* What a key opened of one case: its subject, its exact values. */
struct opened {
	char *subject;              /* NULL when not opened; wiped */
	struct canary_case_meta *meta; /* NULL when not opened */
};

/* Frees an array of N opened records, wiping each subject. */
static void opened_free(struct opened *opened, guint n)
{
	if (opened == NULL)
		return;
	for (guint i = 0; i < n; i++) {
		canary_wipe_free(opened[i].subject);
		canary_case_meta_free(opened[i].meta);
	}
	g_free(opened);
}

/* Adds the exact values META opened (null members when it did not). */
static void json_meta(JsonBuilder *b, const struct canary_case_meta *meta)
{
	if (meta == NULL) {
		static const char *const names[] = {"received_at", "ingested_at", "size",
						    "pseudonym"};
		for (size_t i = 0; i < G_N_ELEMENTS(names); i++)
			triage_json_string(b, names[i], NULL);
		return;
	}
	triage_json_time(b, "received_at", meta->received_at);
	triage_json_time(b, "ingested_at", meta->ingested_at);
	triage_json_int(b, "size", (gint64)meta->size);
	triage_json_string(b, "pseudonym", meta->pseudonym);
}

/* Prints CASES as a JSON array of objects. OPENED (parallel to CASES, or
 * NULL without a key) holds what the key opened. */
static void print_json(GPtrArray *cases, const struct opened *opened, gint64 now)
{
	g_autoptr(JsonBuilder) b = json_builder_new();
	json_builder_begin_array(b);
	for (guint i = 0; i < cases->len; i++) {
		const struct canary_case *c = cases->pdata[i];
		g_autofree char *day = triage_format_day(c->received_day);
		json_builder_begin_object(b);
		triage_json_string(b, "ref", c->ref);
		triage_json_string(b, "received", day);
		triage_json_int(b, "age_days",
				MAX(canary_store_day(now) - c->received_day, 0) / 86400);
		triage_json_string(b, "section", c->section);
		triage_json_string(b, "status", c->status);
		triage_json_string(b, "assignee", c->assignee);
		triage_json_string(b, "rule", c->rule);
		triage_json_int(b, "attachments", c->attachments);
		triage_json_string(b, "size_class", canary_store_size_class_name(c->size_class));
		triage_json_string(b, "quarantine_reason", c->quarantine_reason);
		if (opened != NULL) {
			triage_json_string(b, "subject", opened[i].subject);
			json_meta(b, opened[i].meta);
		}
		json_builder_end_object(b);
	}
	json_builder_end_array(b);
	triage_json_print(b);
}

/* Prints CASES as a table that fits 100 columns. */
static void print_table(GPtrArray *cases, const struct opened *opened, gint64 now)
{
	printf("%-*s %-*s %-*s %-*s %-*s %*s %*s  %s\n", W_REF, "REF", W_AGE, "AGE", W_SECTION,
	       "SECTION", W_STATUS, "STATUS", W_ASSIGNEE, "ASSIGNEE", W_ATT, "ATT", W_SIZE, "SIZE",
	       opened != NULL ? "SUBJECT" : "QUARANTINE");
	for (guint i = 0; i < cases->len; i++) {
		const struct canary_case *c = cases->pdata[i];
		g_autofree char *age = triage_format_age_days(c->received_day, now);
		const char *size = canary_store_size_class_name(c->size_class);
		triage_cell(stdout, c->ref, W_REF);
		fputc(' ', stdout);
		printf("%*s ", W_AGE, age);
		triage_cell(stdout, c->section, W_SECTION);
		fputc(' ', stdout);
		triage_cell(stdout, c->status, W_STATUS);
		fputc(' ', stdout);
		triage_cell(stdout, c->assignee, W_ASSIGNEE);
		printf(" %*u %*s  ", W_ATT, c->attachments, W_SIZE, size);
		if (opened != NULL) {
			const char *subject = opened[i].subject;
			char *cell = triage_untrusted_cell(subject != NULL ? subject : "-", W_LAST);
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

/* Opens with KEY what it opens of case C (the subject unless quarantined,
 * the exact values) into *O. Problems other than "not this key's" are
 * printed and leave that part unopened. */
static void open_one(struct canary_store *store, const struct canary_case *c,
		     const struct canary_secret_key *key, struct opened *o)
{
	g_autoptr(GError) local = NULL;
	if (strcmp(c->status, CANARY_STATUS_QUARANTINED) != 0) {
		g_autoptr(canary_case_content) content =
			canary_envelope_open_content(store, c->id, key, &local);
		if (content != NULL)
			o->subject = g_strdup(content->subject != NULL ? content->subject : "");
		else if (!g_error_matches(local, CANARY_ENVELOPE_ERROR,
					  CANARY_ENVELOPE_ERROR_NO_ACCESS))
			cli_error("case %s: %s", c->ref, local->message);
		g_clear_error(&local);
	}
	o->meta = canary_envelope_open_meta(store, c->id, key, &local);
	if (o->meta == NULL &&
	    !g_error_matches(local, CANARY_ENVELOPE_ERROR, CANARY_ENVELOPE_ERROR_NO_ACCESS) &&
	    !g_error_matches(local, CANARY_ENVELOPE_ERROR, CANARY_ENVELOPE_ERROR_NO_SUCH))
		cli_error("case %s: %s", c->ref, local->message);
}

/* TRUE when O is of the sender PSEUDONYM (NULL: any sender). */
static gboolean of_sender(const struct opened *o, const char *pseudonym)
{
	return pseudonym == NULL ||
	       (o->meta != NULL && g_strcmp0(o->meta->pseudonym, pseudonym) == 0);
}

/* Opens what KEY opens of every case in *CASES, keeps only those of
 * PSEUDONYM (when not NULL), and records each opening in its history (one
 * transaction). Returns a new array parallel to the kept *CASES, or NULL
 * after printing the problem. */
static struct opened *open_cases(struct canary_store *store, GPtrArray **cases,
				 const struct canary_secret_key *key, const char *pseudonym)
{
	guint n = (*cases)->len;
	struct opened *opened = g_new0(struct opened, n + 1);
	g_autoptr(GPtrArray) kept =
		g_ptr_array_new_with_free_func((GDestroyNotify)canary_case_free);
	g_autoptr(GError) error = NULL;
	if (!canary_store_begin(store, &error)) {
		cli_error("%s", error->message);
		g_free(opened);
		return NULL;
	}
	for (guint i = 0; i < n; i++) {
		struct canary_case *c = (*cases)->pdata[i];
		struct opened *o = &opened[kept->len];
		open_one(store, c, key, o);
		if (!of_sender(o, pseudonym)) {
			g_clear_pointer(&o->subject, canary_wipe_free);
			g_clear_pointer(&o->meta, canary_case_meta_free);
			continue;
		}
		/* An access that cannot be recorded does not happen. */
		const char *action = pseudonym != NULL	 ? "listed by pseudonym"
				     : o->subject != NULL ? "subject listed"
							  : "exact values listed";
		if ((o->subject != NULL || o->meta != NULL) &&
		    !cli_record(store, c->ref, action, NULL)) {
			canary_store_rollback(store);
			opened_free(opened, n);
			return NULL;
		}
		(*cases)->pdata[i] = NULL; /* moved into KEPT */
		g_ptr_array_add(kept, c);
	}
	if (!canary_store_commit(store, &error)) {
		cli_error("%s", error->message);
		canary_store_rollback(store);
		opened_free(opened, n);
		return NULL;
	}
	g_ptr_array_unref(*cases);
	*cases = g_steal_pointer(&kept);
	return opened;
}

int cmd_list(int argc, char **argv)
{
	g_auto(cli_common) common = {0};
	g_autofree char *status = NULL, *section = NULL, *assignee = NULL, *since = NULL;
	g_autofree char *key_path = NULL, *passphrase_file = NULL, *pseudonym = NULL;
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
		 "Also show the subjects, exact times, sizes and pseudonyms this section, "
		 "triage or custodian secret key opens",
		 "FILE"},
		{"pseudonym", 0, 0, G_OPTION_ARG_STRING, &pseudonym,
		 "With --key: only the cases of the sender P-XXXX-XXXX that the key opens", "P"},
		{"passphrase-file", 'p', 0, G_OPTION_ARG_FILENAME, &passphrase_file,
		 "Read the key's passphrase from FILE (else ask)", "FILE"},
		{"json", 0, 0, G_OPTION_ARG_NONE, &json, "Print a JSON array", NULL},
		G_OPTION_ENTRY_NULL};
	if (!cli_parse(&argc, &argv, "",
		       "Lists cases: new and open ones first, oldest first, then closed and "
		       "quarantined ones. Metadata only (the day received and a size class), "
		       "unless --key is given: then also the subjects, exact times, sizes and "
		       "pseudonyms that key opens (recorded in each case's history). With "
		       "--pseudonym, only the cases of that sender: the pseudonym is sealed, so "
		       "only a key finds them.",
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
	if (pseudonym != NULL && key_path == NULL) {
		cli_error("--pseudonym needs --key: pseudonyms are sealed with each case, so "
			  "only a key that opens the cases can find a sender's");
		return CLI_EXIT_USAGE;
	}
	if (pseudonym != NULL &&
	    !g_regex_match_simple("^P-[0-9A-Z]{4}-[0-9A-Z]{4}$", pseudonym, 0, 0)) {
		cli_error("--pseudonym %s: expected P-XXXX-XXXX, as canary show prints it",
			  pseudonym);
		return CLI_EXIT_USAGE;
	}
	g_autoptr(canary_config) config = cli_load_config(&common);
	if (config == NULL)
		return CLI_EXIT_CONFIG;
	struct canary_store *store = cli_open_store(config);
	if (store == NULL)
		return CLI_EXIT_STORE;

	g_autoptr(GError) error = NULL;
	GPtrArray *cases = canary_store_list_cases(store, &filter, &error);
	if (cases == NULL) {
		cli_error("%s", error->message);
		canary_store_close(&store);
		return CLI_EXIT_STORE;
	}
	g_ptr_array_sort(cases, compare_cases);
	struct opened *opened = NULL;
	if (key_path != NULL) {
		g_autoptr(canary_secret_key) key = cli_load_secret_key(key_path, passphrase_file);
		if (key == NULL) {
			canary_store_close(&store);
			g_ptr_array_unref(cases);
			return CLI_EXIT_KEY;
		}
		opened = open_cases(store, &cases, key, pseudonym);
		if (opened == NULL) {
			canary_store_close(&store);
			g_ptr_array_unref(cases);
			return CLI_EXIT_STORE;
		}
	}
	canary_store_close(&store);
	gint64 now = triage_now();
	if (json)
		print_json(cases, opened, now);
	else
		print_table(cases, opened, now);
	opened_free(opened, cases->len);
	g_ptr_array_unref(cases);
	return CLI_EXIT_OK;
}
