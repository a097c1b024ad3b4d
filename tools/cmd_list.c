/* cmd_list.c: canary list: the cases in the store, as a table or JSON.
 * Metadata only: everything shown here is stored in clear. */
#include <json-glib/json-glib.h>
#include <stdio.h>

#include "cli.h"
#include "commands.h"

/* Adds a string member, or null. */
static void add_string_or_null(JsonBuilder *b, const char *name, const char *value)
{
	json_builder_set_member_name(b, name);
	if (value != NULL)
		json_builder_add_string_value(b, value);
	else
		json_builder_add_null_value(b);
}

/* Prints CASES as a JSON array of objects. */
static void print_json(GPtrArray *cases)
{
	g_autoptr(JsonBuilder) b = json_builder_new();
	json_builder_begin_array(b);
	for (guint i = 0; i < cases->len; i++) {
		const struct canary_case *c = cases->pdata[i];
		g_autofree char *received = cli_format_time(c->received_at);
		g_autofree char *ingested = cli_format_time(c->ingested_at);
		json_builder_begin_object(b);
		add_string_or_null(b, "ref", c->ref);
		add_string_or_null(b, "received_at", received);
		add_string_or_null(b, "ingested_at", ingested);
		add_string_or_null(b, "section", c->section);
		add_string_or_null(b, "status", c->status);
		add_string_or_null(b, "assignee", c->assignee);
		add_string_or_null(b, "pseudonym", c->pseudonym);
		add_string_or_null(b, "rule", c->rule);
		json_builder_set_member_name(b, "attachments");
		json_builder_add_int_value(b, c->attachments);
		json_builder_set_member_name(b, "size");
		json_builder_add_int_value(b, c->size);
		add_string_or_null(b, "quarantine_reason", c->quarantine_reason);
		json_builder_end_object(b);
	}
	json_builder_end_array(b);
	g_autoptr(JsonGenerator) gen = json_generator_new();
	g_autoptr(JsonNode) root = json_builder_get_root(b);
	json_generator_set_root(gen, root);
	json_generator_set_pretty(gen, TRUE);
	g_autofree char *text = json_generator_to_data(gen, NULL);
	puts(text);
}

/* Prints CASES as a table that fits 100 columns (the received date is UTC). */
static void print_table(GPtrArray *cases)
{
	printf("%-14s %-10s %-20s %-11s %-11s %3s %6s  %s\n", "REF", "RECEIVED", "SECTION",
	       "STATUS", "PSEUDONYM", "ATT", "SIZE", "QUARANTINE");
	for (guint i = 0; i < cases->len; i++) {
		const struct canary_case *c = cases->pdata[i];
		g_autoptr(GDateTime) dt = g_date_time_new_from_unix_utc(c->received_at);
		g_autofree char *received =
			dt != NULL ? g_date_time_format(dt, "%Y-%m-%d") : g_strdup("?");
		g_autofree char *size = cli_format_size(c->size);
		printf("%-14s %-10s %-20s %-11s %-11s %3u %6s  %s\n", c->ref, received, c->section,
		       c->status, c->pseudonym != NULL ? c->pseudonym : "-", c->attachments, size,
		       c->quarantine_reason != NULL ? c->quarantine_reason : "");
	}
	printf("%u case%s\n", cases->len, cases->len == 1 ? "" : "s");
}

int cmd_list(int argc, char **argv)
{
	g_auto(cli_common) common = {0};
	g_autofree char *status = NULL;
	gboolean json = FALSE;
	GOptionEntry entries[] = {
		{"status", 's', 0, G_OPTION_ARG_STRING, &status,
		 "Only cases with this status (new, open, closed, quarantined)", "S"},
		{"json", 0, 0, G_OPTION_ARG_NONE, &json, "Print a JSON array", NULL},
		G_OPTION_ENTRY_NULL};
	if (!cli_parse(&argc, &argv, "", "Lists cases, oldest first: metadata only.", entries,
		       &common))
		return CLI_EXIT_USAGE;
	if (argc > 1) {
		cli_error("list takes no arguments (see --help)");
		return CLI_EXIT_USAGE;
	}
	if (status != NULL && !canary_store_status_valid(status)) {
		cli_error("--status %s: expected new, open, closed or quarantined", status);
		return CLI_EXIT_USAGE;
	}
	g_autoptr(canary_config) config = cli_load_config(&common);
	if (config == NULL)
		return CLI_EXIT_CONFIG;
	struct canary_store *store = cli_open_store(config);
	if (store == NULL)
		return CLI_EXIT_STORE;

	g_autoptr(GError) error = NULL;
	struct canary_case_filter filter = {.status = status};
	g_autoptr(GPtrArray) cases = canary_store_list_cases(store, &filter, &error);
	canary_store_close(&store);
	if (cases == NULL) {
		cli_error("%s", error->message);
		return CLI_EXIT_STORE;
	}
	if (json)
		print_json(cases);
	else
		print_table(cases);
	return CLI_EXIT_OK;
}
