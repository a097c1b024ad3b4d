/* cmd_stats.c: canary stats: the state of the queue: open cases per
 * section and status, the oldest open case, cases received per ISO week,
 * counted by canaryd over the cases the caller may see (case_rules.c).
 * Metadata only: needs no key. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "triage.h"

#define WEEKS 12
#define DAY   86400
#define WEEK  (7 * DAY)

/* One section's open cases. */
struct section_row {
	char *section;
	gint64 new_count, open_count;
};

static void section_row_free(struct section_row *row)
{
	g_free(row->section);
	g_free(row);
}

/* Folds canaryd's per-(section, status) counts ([{section, status,
 * count}], by section) into one row per section. */
static GPtrArray *per_section(JsonArray *counts)
{
	GPtrArray *rows = g_ptr_array_new_with_free_func((GDestroyNotify)section_row_free);
	for (guint i = 0; i < json_array_get_length(counts); i++) {
		JsonObject *c = cli_element_object(counts, i);
		if (c == NULL)
			continue;
		const char *section = json_object_get_string_member_with_default(c, "section", "?");
		const char *status = json_object_get_string_member_with_default(c, "status", "");
		gint64 count = json_object_get_int_member_with_default(c, "count", 0);
		struct section_row *row = rows->len > 0 ? rows->pdata[rows->len - 1] : NULL;
		if (row == NULL || strcmp(row->section, section) != 0) {
			row = g_new0(struct section_row, 1);
			row->section = g_strdup(section);
			g_ptr_array_add(rows, row);
		}
		if (strcmp(status, CANARY_STATUS_NEW) == 0)
			row->new_count += count;
		else
			row->open_count += count;
	}
	return rows;
}

/* Monday 00:00 UTC of the week holding T. Day 0 was a Thursday. */
static gint64 week_start(gint64 t)
{
	gint64 day = t / DAY;
	return (day - (day + 3) % 7) * DAY;
}

/* The ISO week starting at START: "2026-W03". New string. */
static char *iso_week(gint64 start)
{
	return cli_format_utc(start, "%G-W%V");
}

struct stats {
	GPtrArray *sections; /* struct section_row * */
	gint64 total_new, total_open;
	char *oldest_ref;
	gint64 oldest_received; /* the day */
	gint64 weeks[WEEKS]; /* counts, oldest week first */
	gint64 first_week;   /* start of weeks[0] */
	gint64 now;
};

static void stats_clear(struct stats *st)
{
	g_clear_pointer(&st->sections, g_ptr_array_unref);
	g_clear_pointer(&st->oldest_ref, g_free);
}

/* The array member NAME of O, or an empty one. Borrowed. */
static JsonArray *array_member(JsonObject *o, const char *name)
{
	static JsonArray *empty;
	if (empty == NULL)
		empty = json_array_new();
	JsonArray *list = cli_array_member(o, name);
	return list != NULL ? list : empty;
}

/* Asks canaryd for the counts the caller may see (case_rules.c's stats).
 * Returns an exit code; the problem is printed. */
static int collect(struct canary_client *client, struct stats *st)
{
	st->now = triage_now();
	st->first_week = week_start(st->now) - (WEEKS - 1) * WEEK;
	g_autoptr(JsonObject) args = json_object_new();
	json_object_set_int_member(args, "since", st->first_week);
	int status = CLI_EXIT_OK;
	g_autoptr(JsonObject) result = cli_call(client, "stats", args, &status);
	if (result == NULL)
		return status;
	st->sections = per_section(array_member(result, "open"));
	for (guint i = 0; i < st->sections->len; i++) {
		const struct section_row *row = st->sections->pdata[i];
		st->total_new += row->new_count;
		st->total_open += row->open_count;
	}
	JsonObject *o = cli_object_member(result, "oldest");
	if (o != NULL) {
		st->oldest_ref =
			g_strdup(json_object_get_string_member_with_default(o, "ref", "?"));
		st->oldest_received = json_object_get_int_member_with_default(o, "received", 0);
	}
	JsonArray *weeks = array_member(result, "weeks");
	for (guint i = 0; i < json_array_get_length(weeks); i++) {
		JsonArray *pair = cli_element_array(weeks, i);
		if (pair == NULL || json_array_get_length(pair) != 2)
			continue;
		gint64 start = json_array_get_int_element(pair, 0);
		gint64 n = (start - st->first_week) / WEEK;
		if (n >= 0 && n < WEEKS)
			st->weeks[n] += json_array_get_int_element(pair, 1);
	}
	return CLI_EXIT_OK;
}

static void print_table(const struct stats *st)
{
	printf("Open cases\n  %-20s %6s %6s %6s\n", "SECTION", "NEW", "OPEN", "TOTAL");
	for (guint i = 0; i < st->sections->len; i++) {
		const struct section_row *row = st->sections->pdata[i];
		fputs("  ", stdout);
		triage_cell(stdout, row->section, 20);
		printf(" %6" G_GINT64_FORMAT " %6" G_GINT64_FORMAT " %6" G_GINT64_FORMAT "\n",
		       row->new_count, row->open_count, row->new_count + row->open_count);
	}
	printf("  %-20s %6" G_GINT64_FORMAT " %6" G_GINT64_FORMAT " %6" G_GINT64_FORMAT "\n", "all",
	       st->total_new, st->total_open, st->total_new + st->total_open);
	if (st->oldest_ref != NULL) {
		g_autofree char *age = triage_format_age_days(st->oldest_received, st->now);
		g_autofree char *when = triage_format_day(st->oldest_received);
		fputs("\nOldest open case: ", stdout);
		cli_print_line(stdout, st->oldest_ref);
		printf(", received %s (%s ago)\n", when, age);
	} else {
		printf("\nOldest open case: none\n");
	}
	printf("\nReceived per week (UTC, last %d weeks)\n", WEEKS);
	for (int i = 0; i < WEEKS; i++) {
		gint64 start = st->first_week + i * WEEK;
		g_autofree char *week = iso_week(start);
		g_autofree char *monday = triage_format_day(start);
		printf("  %-8s  from %s %6" G_GINT64_FORMAT "\n", week, monday, st->weeks[i]);
	}
}

static void print_json(const struct stats *st)
{
	g_autoptr(JsonBuilder) b = json_builder_new();
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "open");
	json_builder_begin_array(b);
	for (guint i = 0; i < st->sections->len; i++) {
		const struct section_row *row = st->sections->pdata[i];
		json_builder_begin_object(b);
		triage_json_string(b, "section", row->section);
		triage_json_int(b, "new", row->new_count);
		triage_json_int(b, "open", row->open_count);
		triage_json_int(b, "total", row->new_count + row->open_count);
		json_builder_end_object(b);
	}
	json_builder_end_array(b);
	json_builder_set_member_name(b, "open_total");
	json_builder_begin_object(b);
	triage_json_int(b, "new", st->total_new);
	triage_json_int(b, "open", st->total_open);
	triage_json_int(b, "total", st->total_new + st->total_open);
	json_builder_end_object(b);
	json_builder_set_member_name(b, "oldest_open");
	if (st->oldest_ref != NULL) {
		json_builder_begin_object(b);
		triage_json_string(b, "ref", st->oldest_ref);
		g_autofree char *day = triage_format_day(st->oldest_received);
		triage_json_string(b, "received", day);
		triage_json_int(b, "age_days",
				MAX(canary_store_day(st->now) - st->oldest_received, 0) / 86400);
		json_builder_end_object(b);
	} else {
		json_builder_add_null_value(b);
	}
	json_builder_set_member_name(b, "weeks");
	json_builder_begin_array(b);
	for (int i = 0; i < WEEKS; i++) {
		gint64 start = st->first_week + i * WEEK;
		g_autofree char *week = iso_week(start);
		g_autofree char *monday = triage_format_day(start);
		json_builder_begin_object(b);
		triage_json_string(b, "week", week);
		triage_json_string(b, "start", monday);
		triage_json_int(b, "received", st->weeks[i]);
		json_builder_end_object(b);
	}
	json_builder_end_array(b);
	json_builder_end_object(b);
	triage_json_print(b);
}

int cmd_stats(int argc, char **argv)
{
	g_auto(cli_common) common = {0};
	gboolean json = FALSE;
	GOptionEntry entries[] = {
		{"json", 0, 0, G_OPTION_ARG_NONE, &json, "Print a JSON object", NULL},
		G_OPTION_ENTRY_NULL};
	if (!cli_parse(&argc, &argv, "",
		       "Shows the queue: open (new and open) cases per section, the oldest open "
		       "case, and cases received in each of the last 12 ISO weeks (UTC). "
		       "Metadata only; needs no key.",
		       entries, &common))
		return CLI_EXIT_USAGE;
	if (argc > 1) {
		cli_error("stats takes no arguments (see --help)");
		return CLI_EXIT_USAGE;
	}
	int status = CLI_EXIT_OK;
	g_autoptr(canary_client) client = cli_connect(&common, &status);
	if (client == NULL)
		return status;
	struct stats st = {0};
	status = collect(client, &st);
	if (status != CLI_EXIT_OK) {
		stats_clear(&st);
		return status;
	}
	if (json)
		print_json(&st);
	else
		print_table(&st);
	stats_clear(&st);
	return CLI_EXIT_OK;
}
