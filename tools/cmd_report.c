/* cmd_report.c: canary report: the figures of a period for the annual report
 * on reprisals, as aligned text, JSON or one self-contained HTML page with
 * SVG charts. Counts only, small ones masked; needs no key. canaryd counts
 * (case_rules.c) the cases the caller may see; this formats them. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "report.h"
#include "text.h"
#include "triage.h"

#define DAY               86400
#define DEFAULT_THRESHOLD 3

/* How counts are shown: below THRESHOLD (and above 0) as "<THRESHOLD",
 * because a yearly count of 1 or 2 can point at a person; EXACT shows all. */
struct masking {
	gint64 threshold;
	gboolean exact;
};

static gboolean masked(const struct masking *m, gint64 n)
{
	return !m->exact && n > 0 && n < m->threshold;
}

/* "12", or "<3" when masked. New string. */
static char *count_text(const struct masking *m, gint64 n)
{
	if (masked(m, n))
		return g_strdup_printf("<%" G_GINT64_FORMAT, m->threshold);
	return g_strdup_printf("%" G_GINT64_FORMAT, n);
}

/* A delay for people: "40 min", "5.5 h", "3.2 days"; "-" when unknown or
 * measured on too few cases to show. New string. */
static char *delay_text(const struct masking *m, gint64 acted, gint64 seconds)
{
	if (seconds < 0 || masked(m, acted))
		return g_strdup("-");
	if (seconds < 3600)
		return g_strdup_printf("%" G_GINT64_FORMAT " min", seconds / 60);
	if (seconds < 2 * DAY)
		return g_strdup_printf("%.1f h", (double)seconds / 3600);
	return g_strdup_printf("%.1f days", (double)seconds / DAY);
}

/* What the report shows, in one order for every output. */
struct breakdown {
	const char *id, *title, *column;
	GPtrArray *rows; /* struct canary_report_row * */
};

static void breakdowns(const struct canary_report *r, struct breakdown out[5])
{
	out[0] = (struct breakdown){"months", "Cases received per month", "month", r->months};
	out[1] = (struct breakdown){"sections", "Cases per section", "section", r->sections};
	out[2] = (struct breakdown){"rules", "Cases per routing rule", "rule", r->rules};
	out[3] = (struct breakdown){"statuses", "Cases per current status", "status", r->statuses};
	out[4] = (struct breakdown){"quarantine", "Quarantined cases per reason", "reason",
				    r->quarantine_reasons};
}

/* Said when canaryd counted only the cases the caller may see. */
static const char scope_text[] =
	"Only the cases you may see are counted (your sections; admins and triage see all).";

/* The lines above the figures, for text and HTML. New string. */
static char *period_text(const struct canary_report *r)
{
	g_autofree char *from = triage_format_day(r->from), *to = triage_format_day(r->until - DAY);
	return g_strdup_printf("Cases received from %s to %s (UTC, both days included)", from, to);
}

static char *masking_text(const struct masking *m)
{
	if (m->exact)
		return g_strdup("Exact figures (--exact): for internal use, not for publication.");
	if (m->threshold == 2)
		return g_strdup("Counts of 1 are shown as \"<2\".");
	return g_strdup_printf("Counts from 1 to %" G_GINT64_FORMAT
			       " are shown as \"<%" G_GINT64_FORMAT "\".",
			       m->threshold - 1, m->threshold);
}

/* --- Text ------------------------------------------------------------- */

static void text_line(const struct masking *m, const char *name, gint64 n)
{
	g_autofree char *count = count_text(m, n);
	fputs("  ", stdout);
	triage_cell(stdout, name, 28);
	printf(" %8s\n", count);
}

static void text_delay(const char *name, const char *value)
{
	fputs("  ", stdout);
	triage_cell(stdout, name, 28);
	printf(" %8s\n", value);
}

static void print_text(const struct canary_report *r, const struct masking *m)
{
	g_autofree char *period = period_text(r), *note = masking_text(m);
	printf("%s\n%s\n", period, note);
	if (!r->all)
		printf("%s\n", scope_text);
	fputc('\n', stdout);
	text_line(m, "Received (cases held)", r->received);
	text_line(m, "Quarantined", r->quarantined);
	text_line(m, "Filed in period, purged", r->purged);
	struct breakdown b[5];
	breakdowns(r, b);
	for (int i = 0; i < 5; i++) {
		printf("\n%s\n", b[i].title);
		for (guint j = 0; j < b[i].rows->len; j++) {
			const struct canary_report_row *row = b[i].rows->pdata[j];
			text_line(m, row->name, row->cases);
		}
		if (b[i].rows->len == 0)
			puts("  (none)");
	}
	g_autofree char *median = delay_text(m, r->acted, r->median_seconds);
	g_autofree char *p90 = delay_text(m, r->acted, r->p90_seconds);
	puts("\nTime from receipt to first officer action (cases not quarantined)");
	text_line(m, "Acted on", r->acted);
	text_line(m, "No action yet", r->not_acted);
	text_delay("Median", median);
	text_delay("90th percentile", p90);
}

/* --- JSON ------------------------------------------------------------- */

/* A count as a number, or as the string "<3" when masked. */
static void json_count(JsonBuilder *b, const struct masking *m, const char *name, gint64 n)
{
	json_builder_set_member_name(b, name);
	if (masked(m, n)) {
		g_autofree char *text = count_text(m, n);
		json_builder_add_string_value(b, text);
	} else {
		json_builder_add_int_value(b, n);
	}
}

static void json_delay(JsonBuilder *b, const struct masking *m, const char *name,
		       const struct canary_report *r, gint64 seconds)
{
	json_builder_set_member_name(b, name);
	if (seconds < 0 || masked(m, r->acted))
		json_builder_add_null_value(b);
	else
		json_builder_add_int_value(b, seconds);
}

static void print_json(const struct canary_report *r, const struct masking *m)
{
	g_autoptr(JsonBuilder) b = json_builder_new();
	g_autofree char *from = triage_format_day(r->from), *to = triage_format_day(r->until - DAY);
	json_builder_begin_object(b);
	triage_json_string(b, "from", from);
	triage_json_string(b, "to", to);
	triage_json_string(b, "scope", r->all ? "all" : "visible");
	triage_json_time(b, "generated_at", triage_now());
	json_builder_set_member_name(b, "masking");
	json_builder_begin_object(b);
	triage_json_int(b, "threshold", m->threshold);
	triage_json_bool(b, "exact", m->exact);
	json_builder_end_object(b);
	json_count(b, m, "received", r->received);
	json_count(b, m, "quarantined", r->quarantined);
	json_count(b, m, "purged", r->purged);
	struct breakdown bd[5];
	breakdowns(r, bd);
	for (int i = 0; i < 5; i++) {
		json_builder_set_member_name(b, i == 4 ? "quarantine_reasons" : bd[i].id);
		json_builder_begin_array(b);
		for (guint j = 0; j < bd[i].rows->len; j++) {
			const struct canary_report_row *row = bd[i].rows->pdata[j];
			json_builder_begin_object(b);
			triage_json_string(b, bd[i].column, row->name);
			json_count(b, m, "cases", row->cases);
			json_builder_end_object(b);
		}
		json_builder_end_array(b);
	}
	json_builder_set_member_name(b, "first_action");
	json_builder_begin_object(b);
	json_count(b, m, "acted", r->acted);
	json_count(b, m, "not_acted", r->not_acted);
	json_delay(b, m, "median_seconds", r, r->median_seconds);
	json_delay(b, m, "p90_seconds", r, r->p90_seconds);
	json_builder_end_object(b);
	json_builder_end_object(b);
	triage_json_print(b);
}

/* --- HTML ------------------------------------------------------------- */

/* Printable, self-contained: no script, no fetch of any kind. Bars keep
 * their colour on paper; a chart or a table row never breaks across pages. */
static const char html_style[] =
	"body{font-family:'DejaVu Sans',Arial,sans-serif;color:#111;background:#fff;"
	"max-width:60em;margin:2em auto;padding:0 1em;line-height:1.4}"
	"h1{font-size:1.5em}h2{font-size:1.15em;border-bottom:1px solid #999;margin-top:1.6em}"
	"table{border-collapse:collapse;margin:.5em 0 1em}"
	"th,td{border:1px solid #bbb;padding:.2em .6em;text-align:left}"
	"td{text-align:right;font-variant-numeric:tabular-nums}"
	".note{color:#333;font-size:.9em}"
	"svg{display:block;max-width:100%;height:auto}"
	"svg text{font-size:13px;fill:#111}"
	".bar{fill:#2b5c8a}.masked{fill:#fff;stroke:#2b5c8a;stroke-width:1.5;"
	"stroke-dasharray:4 3}"
	"svg,tr{break-inside:avoid;page-break-inside:avoid}"
	"@page{margin:15mm}"
	"@media print{body{margin:0;max-width:none;font-size:10pt}"
	"*{-webkit-print-color-adjust:exact;print-color-adjust:exact}"
	".bar{fill:#333}.masked{stroke:#333}h2{break-after:avoid}}";

#define BAR_LEFT    170 /* label column */
#define BAR_WIDTH   420
#define BAR_ROW     24
#define LABEL_CHARS 22

/* Appends TEXT to the page: controls and bidi overrides shown escaped as
 * on the terminal (a name from the database could reorder the page), then
 * markup-escaped. */
static void html_text(GString *html, const char *text)
{
	g_autofree char *line = canary_text_escape(text, -1, CANARY_TEXT_LINE);
	g_autofree char *escaped = g_markup_escape_text(line, -1);
	g_string_append(html, escaped);
}

/* NAME cut to LABEL_CHARS characters for a chart label (the table below
 * has it whole). New string. */
static char *short_label(const char *name)
{
	if (g_utf8_strlen(name, -1) <= LABEL_CHARS)
		return g_strdup(name);
	g_autofree char *cut = g_utf8_substring(name, 0, LABEL_CHARS - 1);
	return g_strconcat(cut, "\xe2\x80\xa6", NULL);
}

/* What a bar shows: a masked count is drawn dashed at its largest
 * possible value, so its length tells nothing more than its label. */
static gint64 bar_value(const struct masking *m, gint64 n)
{
	return masked(m, n) ? m->threshold - 1 : n;
}

static void html_chart(GString *html, const struct breakdown *b, const struct masking *m)
{
	gint64 max = 0;
	for (guint i = 0; i < b->rows->len; i++) {
		const struct canary_report_row *row = b->rows->pdata[i];
		max = MAX(max, bar_value(m, row->cases));
	}
	guint height = b->rows->len * BAR_ROW + 8;
	g_string_append_printf(html,
			       "<svg role=\"img\" aria-labelledby=\"%s-title %s-desc\" "
			       "width=\"%d\" height=\"%u\" viewBox=\"0 0 %d %u\">"
			       "<title id=\"%s-title\">%s</title><desc id=\"%s-desc\">Bar chart, "
			       "one bar per %s; the table below gives the same figures.</desc>",
			       b->id, b->id, BAR_LEFT + BAR_WIDTH + 70, height,
			       BAR_LEFT + BAR_WIDTH + 70, height, b->id, b->title, b->id,
			       b->column);
	for (guint i = 0; i < b->rows->len; i++) {
		const struct canary_report_row *row = b->rows->pdata[i];
		/* A count above 0 always shows a sliver of bar. */
		gint64 w = max > 0 ? bar_value(m, row->cases) * BAR_WIDTH / max : 0;
		if (row->cases > 0)
			w = MAX(w, 2);
		guint y = i * BAR_ROW + 4;
		g_autofree char *label = short_label(row->name);
		g_autofree char *count = count_text(m, row->cases);
		g_string_append_printf(html, "<text x=\"%d\" y=\"%u\" text-anchor=\"end\">",
				       BAR_LEFT - 8, y + 16);
		html_text(html, label);
		g_string_append_printf(html,
				       "</text><rect class=\"%s\" x=\"%d\" y=\"%u\" "
				       "width=\"%" G_GINT64_FORMAT "\" height=\"%d\"/>"
				       "<text x=\"%" G_GINT64_FORMAT "\" y=\"%u\">",
				       masked(m, row->cases) ? "masked" : "bar", BAR_LEFT, y + 2, w,
				       BAR_ROW - 6, BAR_LEFT + w + 6, y + 16);
		html_text(html, count);
		g_string_append(html, "</text>");
	}
	g_string_append(html, "</svg>\n");
}

static void html_table(GString *html, const struct breakdown *b, const struct masking *m)
{
	g_string_append_printf(html,
			       "<table id=\"%s\"><thead><tr><th scope=\"col\">%s</th>"
			       "<th scope=\"col\">cases</th></tr></thead><tbody>\n",
			       b->id, b->column);
	for (guint i = 0; i < b->rows->len; i++) {
		const struct canary_report_row *row = b->rows->pdata[i];
		g_autofree char *count = count_text(m, row->cases);
		g_string_append(html, "<tr><th scope=\"row\">");
		html_text(html, row->name);
		g_string_append(html, "</th><td>");
		html_text(html, count);
		g_string_append(html, "</td></tr>\n");
	}
	g_string_append(html, "</tbody></table>\n");
}

/* One row of the summary table; KEY names the JSON field it shows. */
static void html_summary_row(GString *html, const char *key, const char *label, const char *value)
{
	g_string_append_printf(html, "<tr data-field=\"%s\"><th scope=\"row\">%s</th><td>", key,
			       label);
	html_text(html, value);
	g_string_append(html, "</td></tr>\n");
}

static void html_summary(GString *html, const struct canary_report *r, const struct masking *m)
{
	g_autofree char *received = count_text(m, r->received);
	g_autofree char *quarantined = count_text(m, r->quarantined);
	g_autofree char *purged = count_text(m, r->purged);
	g_autofree char *acted = count_text(m, r->acted);
	g_autofree char *not_acted = count_text(m, r->not_acted);
	g_autofree char *median = delay_text(m, r->acted, r->median_seconds);
	g_autofree char *p90 = delay_text(m, r->acted, r->p90_seconds);
	g_string_append(html, "<section><h2>Summary</h2><table id=\"summary\"><tbody>\n");
	html_summary_row(html, "received", "Cases received (still held)", received);
	html_summary_row(html, "quarantined", "Of which quarantined", quarantined);
	html_summary_row(html, "purged", "Filed in the period and purged since", purged);
	html_summary_row(html, "acted", "Acted on by an officer", acted);
	html_summary_row(html, "not_acted", "No officer action yet", not_acted);
	html_summary_row(html, "median_seconds", "Median time to first action", median);
	html_summary_row(html, "p90_seconds", "90th percentile time to first action", p90);
	g_string_append(html, "</tbody></table>\n<p class=\"note\">Time to first action: from "
			      "receipt to the first assignment, status change or move of a case "
			      "that is not quarantined.</p></section>\n");
}

static char *html_page(const struct canary_report *r, const struct masking *m)
{
	g_autofree char *period = period_text(r), *note = masking_text(m);
	g_autofree char *now = cli_format_time(triage_now());
	GString *html = g_string_new("<!DOCTYPE html>\n<html lang=\"en\"><head>"
				     "<meta charset=\"utf-8\"><title>");
	html_text(html, period);
	g_string_append_printf(html, "</title><style>%s</style></head><body>\n<h1>", html_style);
	html_text(html, period);
	g_string_append(html, "</h1>\n<p class=\"note\">");
	html_text(html, note);
	if (!r->all) {
		g_string_append_c(html, ' ');
		html_text(html, scope_text);
	}
	g_string_append(html, " Cases are counted by the time they were received and the "
			      "section, rule and status they have now; purged cases only in the "
			      "summary, by the day they were filed. Made by canary report at ");
	html_text(html, now);
	g_string_append(html, ".</p>\n");
	html_summary(html, r, m);
	struct breakdown b[5];
	breakdowns(r, b);
	for (int i = 0; i < 5; i++) {
		g_string_append(html, "<section><h2>");
		html_text(html, b[i].title);
		g_string_append(html, "</h2>\n");
		if (b[i].rows->len > 0)
			html_chart(html, &b[i], m);
		html_table(html, &b[i], m);
		g_string_append(html, "</section>\n");
	}
	g_string_append(html, "</body></html>\n");
	return g_string_free(html, FALSE);
}

/* Writes the page to PATH, 0600, through a temporary file and a rename. */
static gboolean write_html(const char *path, const struct canary_report *r, const struct masking *m)
{
	g_autofree char *page = html_page(r, m);
	g_autoptr(GError) error = NULL;
	if (!g_file_set_contents_full(path, page, (gssize)strlen(page),
				      G_FILE_SET_CONTENTS_CONSISTENT, 0600, &error)) {
		cli_error("--html %s: %s", path, error->message);
		return FALSE;
	}
	return TRUE;
}

/* --- canaryd's answer ---------------------------------------------------- */

/* The rows of the breakdown NAME in RESULT ([{name, cases}]). New array. */
static GPtrArray *rows_of(JsonObject *result, const char *name)
{
	GPtrArray *rows = g_ptr_array_new_with_free_func((GDestroyNotify)canary_report_row_free);
	JsonArray *list = cli_array_member(result, name);
	for (guint i = 0; list != NULL && i < json_array_get_length(list); i++) {
		JsonObject *o = cli_element_object(list, i);
		if (o == NULL)
			continue;
		struct canary_report_row *row = g_new0(struct canary_report_row, 1);
		row->name = g_strdup(json_object_get_string_member_with_default(o, "name", "?"));
		row->cases = json_object_get_int_member_with_default(o, "cases", 0);
		g_ptr_array_add(rows, row);
	}
	return rows;
}

/* The report canaryd counted (case_rules.c's report op). New report. */
static struct canary_report *report_of(JsonObject *result)
{
	struct canary_report *r = g_new0(struct canary_report, 1);
	r->from = json_object_get_int_member_with_default(result, "from", 0);
	r->until = json_object_get_int_member_with_default(result, "until", 0);
	r->all = json_object_get_boolean_member_with_default(result, "all", FALSE);
	r->received = json_object_get_int_member_with_default(result, "received", 0);
	r->quarantined = json_object_get_int_member_with_default(result, "quarantined", 0);
	r->purged = json_object_get_int_member_with_default(result, "purged", 0);
	r->months = rows_of(result, "months");
	r->sections = rows_of(result, "sections");
	r->rules = rows_of(result, "rules");
	r->statuses = rows_of(result, "statuses");
	r->quarantine_reasons = rows_of(result, "quarantine_reasons");
	r->acted = json_object_get_int_member_with_default(result, "acted", 0);
	r->not_acted = json_object_get_int_member_with_default(result, "not_acted", 0);
	r->median_seconds = json_object_get_int_member_with_default(result, "median_seconds", -1);
	r->p90_seconds = json_object_get_int_member_with_default(result, "p90_seconds", -1);
	return r;
}

/* --- The command ------------------------------------------------------- */

/* Reads --from and --to into [*FROM_R, *UNTIL_R): both days whole. */
static gboolean parse_period(const char *from, const char *to, gint64 *from_r, gint64 *until_r)
{
	if (from == NULL || to == NULL) {
		cli_error("report needs --from DATE and --to DATE (see --help)");
		return FALSE;
	}
	gint64 last = 0;
	if (!triage_parse_date("--from", from, from_r) || !triage_parse_date("--to", to, &last))
		return FALSE;
	if (last < *from_r) {
		cli_error("--to %s is before --from %s", to, from);
		return FALSE;
	}
	*until_r = last + DAY;
	return TRUE;
}

int cmd_report(int argc, char **argv)
{
	g_auto(cli_common) common = {0};
	g_autofree char *from = NULL, *to = NULL, *html = NULL;
	gboolean json = FALSE;
	struct masking m = {.threshold = DEFAULT_THRESHOLD};
	gint threshold = DEFAULT_THRESHOLD;
	GOptionEntry entries[] = {
		{"from", 0, 0, G_OPTION_ARG_STRING, &from, "First day of the period (UTC)",
		 "YYYY-MM-DD"},
		{"to", 0, 0, G_OPTION_ARG_STRING, &to, "Last day of the period, included (UTC)",
		 "YYYY-MM-DD"},
		{"json", 0, 0, G_OPTION_ARG_NONE, &json, "Print a JSON object", NULL},
		{"html", 0, 0, G_OPTION_ARG_FILENAME, &html,
		 "Also write one self-contained HTML page with charts to FILE (0600)", "FILE"},
		{"threshold", 0, 0, G_OPTION_ARG_INT, &threshold,
		 "Show counts from 1 to N-1 as \"<N\" (default 3)", "N"},
		{"exact", 0, 0, G_OPTION_ARG_NONE, &m.exact,
		 "Show every count exactly (internal use only)", NULL},
		G_OPTION_ENTRY_NULL};
	if (!cli_parse(&argc, &argv, "",
		       "Shows the figures of the cases received from --from to --to, both days "
		       "included, in UTC: per month, section, routing rule, current status and "
		       "quarantine reason, and the time from receipt to the first officer "
		       "action. Counts only, never a reference, pseudonym or any text of a case; "
		       "counts below the threshold are masked. Needs no key.",
		       entries, &common))
		return CLI_EXIT_USAGE;
	if (argc > 1) {
		cli_error("report takes no arguments (see --help)");
		return CLI_EXIT_USAGE;
	}
	if (threshold < 2 || threshold > 1000) {
		cli_error("--threshold %d: expected a number from 2 to 1000 (--exact shows "
			  "every count)",
			  threshold);
		return CLI_EXIT_USAGE;
	}
	m.threshold = threshold;
	gint64 since = 0, until = 0;
	if (!parse_period(from, to, &since, &until))
		return CLI_EXIT_USAGE;
	common.store_must_exist = TRUE;
	int status = CLI_EXIT_OK;
	g_autoptr(canary_client) client = cli_connect(&common, &status);
	if (client == NULL)
		return status;
	g_autoptr(JsonObject) args = json_object_new();
	json_object_set_int_member(args, "from", since);
	json_object_set_int_member(args, "until", until);
	g_autoptr(JsonObject) result = cli_call(client, "report", args, &status);
	if (result == NULL)
		return status;
	g_autoptr(canary_report) report = report_of(result);
	if (html != NULL && !write_html(html, report, &m))
		return CLI_EXIT_FAILED;
	if (json)
		print_json(report, &m);
	else
		print_text(report, &m);
	return CLI_EXIT_OK;
}
