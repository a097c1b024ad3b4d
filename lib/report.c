/* report.c: the annual report's figures, counted by store.c: every figure
 * is one GROUP BY or one aggregate query over the clear metadata of the
 * cases a caller may see, run in one read transaction. It never selects a
 * reference, pseudonym or assignee into memory. */
#include "report.h"

#include <string.h>

#include "mail.h"
#include "route.h"

void canary_report_row_free(struct canary_report_row *row)
{
	if (row == NULL)
		return;
	g_free(row->name);
	g_free(row);
}

static GPtrArray *rows_new(void)
{
	return g_ptr_array_new_with_free_func((GDestroyNotify)canary_report_row_free);
}

/* Appends a row NAME, or adds CASES to the row of that name if there is one. */
static void rows_add(GPtrArray *rows, const char *name, gint64 cases)
{
	for (guint i = 0; i < rows->len; i++) {
		struct canary_report_row *row = rows->pdata[i];
		if (strcmp(row->name, name) == 0) {
			row->cases += cases;
			return;
		}
	}
	struct canary_report_row *row = g_new0(struct canary_report_row, 1);
	row->name = g_strdup(name);
	row->cases = cases;
	g_ptr_array_add(rows, row);
}

/* Every month from FROM's to the one holding UNTIL - 1, with zero cases. */
static GPtrArray *empty_months(gint64 from, gint64 until)
{
	GPtrArray *rows = rows_new();
	g_autoptr(GDateTime) first = g_date_time_new_from_unix_utc(from);
	g_autoptr(GDateTime) last = g_date_time_new_from_unix_utc(MAX(until - 1, from));
	if (first == NULL || last == NULL)
		return rows;
	int y = g_date_time_get_year(first), m = g_date_time_get_month(first);
	int end = g_date_time_get_year(last) * 12 + g_date_time_get_month(last);
	/* Appended, not looked up: every name is new, and a period can span
	 * centuries. */
	for (; y * 12 + m <= end; m = m % 12 + 1, y += m == 1) {
		struct canary_report_row *row = g_new0(struct canary_report_row, 1);
		row->name = g_strdup_printf("%04d-%02d", y, m);
		g_ptr_array_add(rows, row);
	}
	return rows;
}

/* The breakdowns with fixed names start with every name at zero, so the
 * report's shape does not depend on the data. */
static void add_known_names(struct canary_report *report)
{
	static const char *const rules[] = {CANARY_RULE_COUNTRY, CANARY_RULE_DEFAULT,
					    CANARY_RULE_KEYWORD, CANARY_RULE_RECIPIENT};
	static const char *const statuses[] = {CANARY_STATUS_NEW, CANARY_STATUS_OPEN,
					       CANARY_STATUS_CLOSED, CANARY_STATUS_QUARANTINED};
	for (size_t i = 0; i < G_N_ELEMENTS(rules); i++)
		rows_add(report->rules, rules[i], 0);
	for (size_t i = 0; i < G_N_ELEMENTS(statuses); i++)
		rows_add(report->statuses, statuses[i], 0);
	const char *reason;
	for (int i = CANARY_QUARANTINE_NONE + 1; (reason = canary_quarantine_name(i)) != NULL; i++)
		rows_add(report->quarantine_reasons, reason, 0);
}

/* Counts the cases of SCOPE in REPORT's period BY into ROWS. */
static gboolean tally(struct canary_store *store, const struct canary_store_scope *scope,
		      struct canary_report *report, enum canary_store_breakdown by, GPtrArray *rows,
		      GError **error)
{
	g_autoptr(GPtrArray) tallies =
		canary_store_tally_cases(store, scope, by, report->from, report->until, error);
	if (tallies == NULL)
		return FALSE;
	for (guint i = 0; i < tallies->len; i++) {
		const struct canary_store_tally *t = tallies->pdata[i];
		rows_add(rows, t->name, t->count);
	}
	return TRUE;
}

static gboolean collect(struct canary_store *store, const struct canary_store_scope *scope,
			struct canary_report *report, GError **error)
{
	add_known_names(report);
	gint64 delays[4] = {0, 0, -1, -1};
	if (!tally(store, scope, report, CANARY_STORE_BY_MONTH, report->months, error) ||
	    !tally(store, scope, report, CANARY_STORE_BY_SECTION, report->sections, error) ||
	    !tally(store, scope, report, CANARY_STORE_BY_RULE, report->rules, error) ||
	    !tally(store, scope, report, CANARY_STORE_BY_STATUS, report->statuses, error) ||
	    !tally(store, scope, report, CANARY_STORE_BY_QUARANTINE_REASON,
		   report->quarantine_reasons, error) ||
	    !canary_store_count_purged(store, scope, report->from, report->until, &report->purged,
				       error) ||
	    !canary_store_first_actions(store, scope, report->from, report->until, delays, error))
		return FALSE;
	report->acted = delays[0];
	report->not_acted = delays[1];
	report->median_seconds = delays[2];
	report->p90_seconds = delays[3];
	for (guint i = 0; i < report->statuses->len; i++) {
		const struct canary_report_row *row = report->statuses->pdata[i];
		report->received += row->cases;
		if (strcmp(row->name, CANARY_STATUS_QUARANTINED) == 0)
			report->quarantined = row->cases;
	}
	return TRUE;
}

struct canary_report *canary_report_collect(struct canary_store *store,
					    const struct canary_store_scope *scope, gint64 from,
					    gint64 until, GError **error)
{
	g_autoptr(canary_report) report = g_new0(struct canary_report, 1);
	report->from = from;
	report->until = until;
	report->all = scope == NULL || scope->all;
	report->months = empty_months(from, until);
	report->sections = rows_new();
	report->rules = rows_new();
	report->statuses = rows_new();
	report->quarantine_reasons = rows_new();
	/* One read transaction: every figure comes from the same snapshot. */
	if (!canary_store_begin_read(store, error))
		return NULL;
	gboolean ok = collect(store, scope, report, error);
	canary_store_rollback(store); /* ends the read transaction; it wrote nothing */
	return ok ? g_steal_pointer(&report) : NULL;
}

void canary_report_free(struct canary_report *report)
{
	if (report == NULL)
		return;
	g_clear_pointer(&report->months, g_ptr_array_unref);
	g_clear_pointer(&report->sections, g_ptr_array_unref);
	g_clear_pointer(&report->rules, g_ptr_array_unref);
	g_clear_pointer(&report->statuses, g_ptr_array_unref);
	g_clear_pointer(&report->quarantine_reasons, g_ptr_array_unref);
	g_free(report);
}
