/* report.c: the annual report's figures, read through the store's
 * read-only handle: every figure is one GROUP BY or one aggregate query over
 * the clear metadata, run in one read transaction. It never selects a
 * reference, pseudonym or assignee into memory. */
#include "report.h"

#include <sqlite3.h>
#include <string.h>

#include "mail.h"
#include "route.h"
#include "store.h"

// clang-format off
G_DEFINE_QUARK(canary-report-error-quark, canary_report_error)
// clang-format on

/* ?1 and ?2 bound to [from, until) in every query. */
/* Cases store the day received (00:00 UTC): periods are whole days. */
#define IN_PERIOD "received_day >= ?1 AND received_day < ?2"

/* The events an officer records when working a case (tools/cmd_assign.c,
 * cmd_status.c, cmd_move.c); reading a case is not acting on it. */
#define OFFICER_ACTION                                                                             \
	"(e.action GLOB 'assigned to *' OR e.action GLOB 'status *' OR "                           \
	"e.action GLOB 'moved to section *')"

static const char *const sql_months =
	"SELECT strftime('%Y-%m', received_day, 'unixepoch') AS month, count(*) FROM cases "
	"WHERE " IN_PERIOD " GROUP BY month";
/* By name, never by count: the order of two masked counts would tell which
 * is larger. */
static const char *const sql_sections =
	"SELECT section, count(*) FROM cases WHERE " IN_PERIOD " GROUP BY section ORDER BY section";
static const char *const sql_rules =
	"SELECT rule, count(*) FROM cases WHERE " IN_PERIOD " GROUP BY rule ORDER BY rule";
static const char *const sql_statuses =
	"SELECT status, count(*) FROM cases WHERE " IN_PERIOD " GROUP BY status";
static const char *const sql_reasons =
	"SELECT coalesce(quarantine_reason, 'unknown'), count(*) FROM cases "
	"WHERE " IN_PERIOD " AND status = 'quarantined' GROUP BY 1 ORDER BY 1";
/* A purged case leaves its history only; its filing event ('filed' or
 * 'quarantined', written by ingest) dates it. */
static const char *const sql_purged =
	"SELECT count(DISTINCT e.ref) FROM events e "
	"WHERE e.action IN ('filed', 'quarantined') AND e.at >= ?1 AND e.at < ?2 "
	"AND NOT EXISTS (SELECT 1 FROM cases c WHERE c.ref = e.ref)";
/* A delay counts from the start of the day received: the exact time of
 * arrival is sealed. Nearest rank: the P-th percentile of N sorted delays is the one at rank
 * ceil(P * N / 100); (n + 1) / 2 and (9 * n + 9) / 10 are those ceilings. */
static const char *const sql_delays =
	"WITH firsts AS (SELECT c.received_day AS received, "
	"  (SELECT min(e.at) FROM events e WHERE e.ref = c.ref AND " OFFICER_ACTION ") AS first "
	"  FROM cases c WHERE " IN_PERIOD " AND c.status != 'quarantined'), "
	"delays AS (SELECT max(first - received, 0) AS delay FROM firsts WHERE first IS NOT NULL), "
	"ranked AS (SELECT delay, row_number() OVER (ORDER BY delay) AS rank, "
	"  count(*) OVER () AS n FROM delays) "
	"SELECT (SELECT count(*) FROM delays), "
	"  (SELECT count(*) FROM firsts WHERE first IS NULL), "
	"  (SELECT delay FROM ranked WHERE rank = (n + 1) / 2), "
	"  (SELECT delay FROM ranked WHERE rank = (9 * n + 9) / 10)";

struct reader {
	struct canary_store *store; /* read-only */
	sqlite3 *db;                /* its connection */
	const char *path;
	gint64 from, until;
};

static void set_error(struct reader *r, int code, const char *doing, GError **error)
{
	g_set_error(error, CANARY_REPORT_ERROR, code, "%s: %s: %s", r->path, doing,
		    sqlite3_errmsg(r->db));
}

/* Prepares SQL with the period bound to ?1 and ?2 (when it has them). */
static sqlite3_stmt *prepare(struct reader *r, const char *sql, GError **error)
{
	sqlite3_stmt *s = NULL;
	if (sqlite3_prepare_v2(r->db, sql, -1, &s, NULL) != SQLITE_OK) {
		set_error(r, CANARY_REPORT_ERROR_FAILED, "preparing a report query", error);
		return NULL;
	}
	if (sqlite3_bind_parameter_count(s) >= 2) {
		sqlite3_bind_int64(s, 1, r->from);
		sqlite3_bind_int64(s, 2, r->until);
	}
	return s;
}

static void row_free(struct canary_report_row *row)
{
	g_free(row->name);
	g_free(row);
}

static GPtrArray *rows_new(void)
{
	return g_ptr_array_new_with_free_func((GDestroyNotify)row_free);
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

/* Runs a "SELECT name, count(*) ... GROUP BY" query into ROWS (which may
 * already hold the known names with zeros). */
static gboolean group_counts(struct reader *r, const char *sql, GPtrArray *rows, const char *doing,
			     GError **error)
{
	sqlite3_stmt *s = prepare(r, sql, error);
	if (s == NULL)
		return FALSE;
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(s, 0);
		rows_add(rows, name != NULL ? name : "", sqlite3_column_int64(s, 1));
	}
	if (rc != SQLITE_DONE)
		set_error(r, CANARY_REPORT_ERROR_FAILED, doing, error);
	sqlite3_finalize(s);
	return rc == SQLITE_DONE;
}

/* Runs a query returning one row of N integers (NULL read as -1). */
static gboolean one_row(struct reader *r, const char *sql, gint64 *values, int n, const char *doing,
			GError **error)
{
	sqlite3_stmt *s = prepare(r, sql, error);
	if (s == NULL)
		return FALSE;
	int rc = sqlite3_step(s);
	for (int i = 0; rc == SQLITE_ROW && i < n; i++)
		values[i] =
			sqlite3_column_type(s, i) == SQLITE_NULL ? -1 : sqlite3_column_int64(s, i);
	if (rc != SQLITE_ROW)
		set_error(r, CANARY_REPORT_ERROR_FAILED, doing, error);
	sqlite3_finalize(s);
	return rc == SQLITE_ROW;
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

/* Opens PATH read-only through the store, which checks it is a canary
 * database of this schema and copes with a reader that cannot write. */
static gboolean open_reader(struct reader *r, GError **error)
{
	r->store = canary_store_open_readonly(r->path, error);
	if (r->store == NULL)
		return FALSE;
	r->db = canary_store_sqlite(r->store);
	return TRUE;
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

static gboolean collect(struct reader *r, struct canary_report *report, GError **error)
{
	add_known_names(report);
	gint64 delays[4] = {0, 0, -1, -1};
	if (!group_counts(r, sql_months, report->months, "counting cases per month", error) ||
	    !group_counts(r, sql_sections, report->sections, "counting cases per section", error) ||
	    !group_counts(r, sql_rules, report->rules, "counting cases per rule", error) ||
	    !group_counts(r, sql_statuses, report->statuses, "counting cases per status", error) ||
	    !group_counts(r, sql_reasons, report->quarantine_reasons, "counting quarantined cases",
			  error) ||
	    !one_row(r, sql_purged, &report->purged, 1, "counting purged cases", error) ||
	    !one_row(r, sql_delays, delays, 4, "measuring the time to first action", error))
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

struct canary_report *canary_report_collect(const char *path, gint64 from, gint64 until,
					    GError **error)
{
	struct reader r = {.path = path, .from = from, .until = until};
	g_autoptr(canary_report) report = g_new0(struct canary_report, 1);
	report->from = from;
	report->until = until;
	report->months = empty_months(from, until);
	report->sections = rows_new();
	report->rules = rows_new();
	report->statuses = rows_new();
	report->quarantine_reasons = rows_new();
	gboolean ok = open_reader(&r, error);
	/* One read transaction: every figure comes from the same snapshot. */
	if (ok && sqlite3_exec(r.db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) {
		set_error(&r, CANARY_REPORT_ERROR_FAILED, "starting a read transaction", error);
		ok = FALSE;
	}
	ok = ok && collect(&r, report, error);
	canary_store_close(&r.store); /* ends the read transaction too */
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
