/* report.h: the aggregate figures of a period for the annual report: counts
 * of cases only (never a reference, pseudonym or text), counted by the store
 * over the cases a caller may see. */
#ifndef CANARY_REPORT_H
#define CANARY_REPORT_H

#include <glib.h>

#include "store.h"

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
	gboolean all;       /* every case, or only those a caller may see */
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

/* Counts the cases of SCOPE (NULL: all; see access.h) received in [FROM,
 * UNTIL) in STORE, in one read transaction (a consistent snapshot while
 * canaryd writes). Errors are the store's (CANARY_STORE_ERROR). Returns a
 * new report; free with canary_report_free(). */
struct canary_report *canary_report_collect(struct canary_store *store,
					    const struct canary_store_scope *scope, gint64 from,
					    gint64 until, GError **error);
void canary_report_free(struct canary_report *report);

/* Frees one row and its name (for arrays of rows built elsewhere). */
void canary_report_row_free(struct canary_report_row *row);
typedef struct canary_report_row canary_report_row;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(canary_report_row, canary_report_row_free)

typedef struct canary_report canary_report;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(canary_report, canary_report_free)

#endif
