/* cmd_list.c: canary list: the cases in the store, as a table or JSON, open
 * ones first, oldest first. Metadata only (all stored in clear: the day
 * received, a size class), unless a key is given: then also the subjects,
 * exact times, sizes and pseudonyms that key opens, and with --pseudonym
 * only the cases of that sender. With a key, canaryd first hands out the
 * cases' key copies; the subjects and exact values of the cases this key
 * opens come next, recorded by canaryd before they leave, and are opened
 * here. */
#include <json-glib/json-glib.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "case_sealed.h"
#include "envelope.h"
#include "triage.h"
#include "wipe.h"

/* Column widths: the table fits 100 columns. */
enum {
	W_REF = 16,
	W_AGE = 4,
	W_SECTION = 12,
	W_STATUS = 11,
	W_ASSIGNEE = 12,
	W_ATT = 3,
	W_MSG = 4, /* messages, "*" when some are news to the caller */
	W_SIZE = 6,
	W_LAST = 23, /* QUARANTINE or SUBJECT */
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
struct opened;
static void sort_cases(GPtrArray *cases, struct opened *opened);

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

/* Orders indexes into the cases in DATA by compare_cases(). */
static gint compare_indexes(gconstpointer a, gconstpointer b, gpointer data)
{
	GPtrArray *cases = data;
	return compare_cases(&cases->pdata[*(const guint *)a], &cases->pdata[*(const guint *)b]);
}

/* Sorts CASES (compare_cases) and OPENED (parallel, may be NULL) with them. */
static void sort_cases(GPtrArray *cases, struct opened *opened)
{
	if (opened == NULL) {
		g_ptr_array_sort(cases, compare_cases);
		return;
	}
	guint n = cases->len;
	g_autofree guint *order = g_new(guint, n + 1);
	for (guint i = 0; i < n; i++)
		order[i] = i;
	g_qsort_with_data(order, (gint)n, sizeof *order, compare_indexes, cases);
	g_autofree gpointer *sorted_cases = g_new(gpointer, n + 1);
	g_autofree struct opened *sorted_opened = g_new0(struct opened, n + 1);
	for (guint i = 0; i < n; i++) {
		sorted_cases[i] = cases->pdata[order[i]];
		sorted_opened[i] = opened[order[i]];
	}
	for (guint i = 0; i < n; i++) {
		cases->pdata[i] = sorted_cases[i];
		opened[i] = sorted_opened[i];
	}
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
		triage_json_int(b, "messages", c->messages);
		triage_json_int(b, "news", c->news);
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
	printf("%-*s %-*s %-*s %-*s %-*s %*s %*s %*s  %s\n", W_REF, "REF", W_AGE, "AGE",
	       W_SECTION, "SECTION", W_STATUS, "STATUS", W_ASSIGNEE, "ASSIGNEE", W_ATT, "ATT", W_MSG,
	       "MSG", W_SIZE, "SIZE",
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
		g_autofree char *msg = g_strdup_printf("%u%s", c->messages, c->news > 0 ? "*" : "");
		printf(" %*u %*s %*s  ", W_ATT, c->attachments, W_MSG, msg, W_SIZE, size);
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

/* The filter as arguments of the list op. New object. */
static JsonObject *filter_args(const struct canary_case_filter *filter)
{
	JsonObject *args = json_object_new();
	if (filter->status != NULL)
		json_object_set_string_member(args, "status", filter->status);
	if (filter->section != NULL)
		json_object_set_string_member(args, "section", filter->section);
	if (filter->assignee != NULL)
		json_object_set_string_member(args, "assignee", filter->assignee);
	if (filter->since != 0)
		json_object_set_int_member(args, "since", filter->since);
	return args;
}

/* The cases of RESULT as a new array of struct canary_case *, and their
 * sealed blobs in a parallel new *SEALED_R (may be NULL). NULL after
 * printing the problem. */
static GPtrArray *result_cases(JsonObject *result, GPtrArray **sealed_r)
{
	g_autoptr(GPtrArray) cases =
		g_ptr_array_new_with_free_func((GDestroyNotify)canary_case_free);
	g_autoptr(GPtrArray) sealed =
		g_ptr_array_new_with_free_func((GDestroyNotify)canary_sealed_case_free);
	JsonArray *list = cli_array_member(result, "cases");
	if (list == NULL) {
		cli_error("canaryd's answer lacks the cases");
		return NULL;
	}
	for (guint i = 0; i < json_array_get_length(list); i++) {
		JsonObject *e = cli_element_object(list, i);
		g_autoptr(GError) error = NULL;
		struct canary_case *c = canary_case_from_json(e, &error);
		if (c == NULL) {
			cli_error("%s", error->message);
			return NULL;
		}
		g_ptr_array_add(cases, c);
		struct canary_sealed_case *sc = cli_sealed_member(e, "sealed", c);
		if (sc == NULL)
			return NULL;
		g_ptr_array_add(sealed, sc);
	}
	if (sealed_r != NULL)
		*sealed_r = g_steal_pointer(&sealed);
	return g_steal_pointer(&cases);
}

/* Calls list with ARGS: the cases of its answer, as result_cases() gives
 * them. NULL after printing the problem, with its exit code in *EXIT_R. */
static GPtrArray *call_list(struct canary_client *client, JsonObject *args, GPtrArray **sealed_r,
			    int *exit_r)
{
	g_autoptr(JsonObject) result = cli_call(client, "list", args, exit_r);
	if (result == NULL)
		return NULL;
	GPtrArray *cases = result_cases(result, sealed_r);
	if (cases == NULL)
		*exit_r = CLI_EXIT_FAILED;
	return cases;
}

/* Adds the cases of KEY_COPIES (parallel to CASES) that KEY opens to ARGS:
 * "subjects" those whose content key it opens, "values" those whose exact
 * values only. FALSE after printing the problem. */
static gboolean ask_for_opened(JsonObject *args, GPtrArray *cases, GPtrArray *key_copies,
			       const struct canary_secret_key *key)
{
	JsonArray *subjects = json_array_new(), *values = json_array_new();
	json_object_set_array_member(args, "subjects", subjects);
	json_object_set_array_member(args, "values", values);
	for (guint i = 0; i < cases->len; i++) {
		const struct canary_case *c = cases->pdata[i];
		guint parts = 0;
		g_autoptr(GError) error = NULL;
		if (!canary_sealed_opens(key_copies->pdata[i], key, &parts, &error)) {
			cli_error("case %s: %s", c->ref, error->message);
			continue;
		}
		gboolean content = (parts & CANARY_ENVELOPE_CONTENT_KEYS) &&
				   strcmp(c->status, CANARY_STATUS_QUARANTINED) != 0;
		if (content)
			json_array_add_string_element(subjects, c->ref);
		else if (parts & CANARY_ENVELOPE_META_KEYS)
			json_array_add_string_element(values, c->ref);
	}
	return TRUE;
}

/* Opens with KEY what SC holds of case C (the subject, the exact values)
 * into *O. Problems other than "not this key's" are printed and leave that
 * part unopened. */
static void open_one(const struct canary_sealed_case *sc, const struct canary_case *c,
		     const struct canary_secret_key *key, struct opened *o)
{
	g_autoptr(GError) local = NULL;
	if (strcmp(c->status, CANARY_STATUS_QUARANTINED) != 0 &&
	    g_hash_table_size(sc->blobs) > 0) {
		o->subject = canary_sealed_open_subject(sc, key, &local);
		if (o->subject == NULL &&
		    !g_error_matches(local, CANARY_ENVELOPE_ERROR, CANARY_ENVELOPE_ERROR_NO_ACCESS))
			cli_error("case %s: %s", c->ref, local->message);
		g_clear_error(&local);
	}
	if (g_hash_table_size(sc->blobs) == 0)
		return;
	o->meta = canary_sealed_open_meta(sc, key, &local);
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

/* Lists with KEY: the key copies first, then what KEY opens (recorded by
 * canaryd). Opens it into a new array parallel to the new *CASES_R, kept
 * to PSEUDONYM's cases when not NULL. Returns an exit code. */
static int list_with_key(struct canary_client *client, const struct canary_case_filter *filter,
			 const char *key_path, const char *passphrase_file, const char *pseudonym,
			 GPtrArray **cases_r, struct opened **opened_r)
{
	int status = CLI_EXIT_OK;
	g_autoptr(JsonObject) args = filter_args(filter);
	json_object_set_boolean_member(args, "keys", TRUE);
	g_autoptr(GPtrArray) key_copies = NULL;
	g_autoptr(GPtrArray) listed = call_list(client, args, &key_copies, &status);
	if (listed == NULL)
		return status;
	g_autoptr(canary_secret_key) key = cli_load_secret_key(key_path, passphrase_file);
	if (key == NULL)
		return CLI_EXIT_KEY;
	g_autoptr(JsonObject) open_args = filter_args(filter);
	if (pseudonym != NULL)
		json_object_set_boolean_member(open_args, "pseudonym", TRUE);
	ask_for_opened(open_args, listed, key_copies, key);
	g_autoptr(GPtrArray) sealed = NULL;
	// Order is important: canaryd records each case before it answers.
	g_autoptr(GPtrArray) cases = call_list(client, open_args, &sealed, &status);
	if (cases == NULL)
		return status;
	struct opened *opened = g_new0(struct opened, cases->len + 1);
	g_autoptr(GPtrArray) kept = g_ptr_array_new_with_free_func((GDestroyNotify)canary_case_free);
	for (guint i = 0; i < cases->len; i++) {
		struct opened *o = &opened[kept->len];
		open_one(sealed->pdata[i], cases->pdata[i], key, o);
		if (!of_sender(o, pseudonym)) {
			g_clear_pointer(&o->subject, canary_wipe_free);
			g_clear_pointer(&o->meta, canary_case_meta_free);
			continue;
		}
		g_ptr_array_add(kept, g_steal_pointer(&cases->pdata[i]));
	}
	*cases_r = g_steal_pointer(&kept);
	*opened_r = opened;
	return CLI_EXIT_OK;
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
	int exit_status = CLI_EXIT_OK;
	g_autoptr(canary_client) client = cli_connect(&common, &exit_status);
	if (client == NULL)
		return exit_status;
	g_autoptr(GPtrArray) cases = NULL;
	struct opened *opened = NULL;
	if (key_path != NULL) {
		exit_status = list_with_key(client, &filter, key_path, passphrase_file, pseudonym,
					    &cases, &opened);
		if (exit_status != CLI_EXIT_OK)
			return exit_status;
	} else {
		g_autoptr(JsonObject) args = filter_args(&filter);
		cases = call_list(client, args, NULL, &exit_status);
		if (cases == NULL)
			return exit_status;
	}
	sort_cases(cases, opened);
	gint64 now = triage_now();
	if (json)
		print_json(cases, opened, now);
	else
		print_table(cases, opened, now);
	opened_free(opened, cases->len);
	return CLI_EXIT_OK;
}
