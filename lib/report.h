/* report.h: the aggregate figures of a period for the annual report: counts
 * of cases only (never a reference, pseudonym or text), read from the store. */
#ifndef CANARY_REPORT_H
#define CANARY_REPORT_H

#include <glib.h>

#define CANARY_REPORT_ERROR (canary_report_error_quark())
GQuark canary_report_error_quark(void);

enum canary_report_error {
	CANARY_REPORT_ERROR_FAILED, /* a query failed (busy, I/O, damage); opening
				     * fails with CANARY_STORE_ERROR_* */
};

/* One row of a breakdown: a month ("2026-01"), section, rule, status or
 * quarantine reason, and how many cases it holds. */
struct canary_report_row {
	char *name;
	gint64 cases;
};

/* The figures of cases received in [from, until). Cases still held are
 * counted by their receipt time; purged ones only in PURGED. */
struct canary_report {
	gint64 from, until; /* Unix UTC; UNTIL excluded */
	gint64 received;    /* cases still held, received in the period */
	gint64 quarantined; /* of those, quarantined */
	gint64 purged;      /* filed in the period (by filing time), purged since */
	/* struct canary_report_row *, in a fixed order: */
	GPtrArray *months;             /* every month the period touches, zeros included */
	GPtrArray *sections;           /* current section, by name; only sections with cases */
	GPtrArray *rules;              /* the routing rule that decided: the four known
					  rules (zeros included) then any other, by name */
	GPtrArray *statuses;           /* new, open, closed, quarantined: current status */
	GPtrArray *quarantine_reasons; /* every known reason, zeros included */
	/* Time from receipt to the first officer action (assigned, status or
	 * moved) on cases not quarantined, whenever it happened: */
	gint64 acted;                       /* cases acted on */
	gint64 not_acted;                   /* cases with no such action yet */
	gint64 median_seconds, p90_seconds; /* nearest rank; -1 when ACTED is 0 */
};

/* Reads the figures of cases received in [FROM, UNTIL) from the canary
 * database at PATH, opened read-only in one read transaction (a consistent
 * snapshot while the daemon writes). Open and migrate it with
 * canary_store_open() first: this refuses any other schema version.
 * Returns a new report; free with canary_report_free(). */
struct canary_report *canary_report_collect(const char *path, gint64 from, gint64 until,
					    GError **error);
void canary_report_free(struct canary_report *report);

typedef struct canary_report canary_report;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(canary_report, canary_report_free)

#endif
