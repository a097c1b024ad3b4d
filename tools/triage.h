/* triage.h: what the triage officers' commands share (list, assign, status,
 * move, history, stats, audit, purge): dates, ages, table cells, JSON. */
#ifndef CANARY_TRIAGE_H
#define CANARY_TRIAGE_H

#include <glib.h>
#include <json-glib/json-glib.h>
#include <stdio.h>

/* Parses DATE ("YYYY-MM-DD") as 00:00 UTC that day into *T_R. Prints
 * "OPTION DATE: expected YYYY-MM-DD" and returns FALSE when it is not one. */
gboolean triage_parse_date(const char *option, const char *date, gint64 *t_r);

/* The current time, Unix UTC. */
gint64 triage_now(void);

/* Formats an age for tables: "12m", "5h", "3d", "2w" (from 14 days). New string. */
char *triage_format_age(gint64 seconds);

/* DAY (00:00 UTC, as cases store their receipt) as "2026-03-11". New string. */
char *triage_format_day(gint64 day);
/* The age of a case received on DAY at NOW, in whole days: "0d", "13d",
 * "2w". New string. */
char *triage_format_age_days(gint64 day, gint64 now);

/* Writes TEXT (trusted: names from the config or the store) in exactly
 * WIDTH columns: padded, or cut with "~" when longer. */
void triage_cell(FILE *out, const char *text, guint width);

/* Makes untrusted TEXT safe for one table cell of at most WIDTH columns:
 * control characters and bidi marks neutralised by cli_print_untrusted(),
 * line breaks and tabs made spaces, cut with "…" when too wide. Returns a
 * new string; wipe it with canary_wipe_free(). */
char *triage_untrusted_cell(const char *text, guint width);

/* The number of terminal columns TEXT takes (wide characters count 2). */
guint triage_columns(const char *text);

/* JSON output helpers. */
void triage_json_string(JsonBuilder *b, const char *name, const char *value);
void triage_json_int(JsonBuilder *b, const char *name, gint64 value);
void triage_json_double(JsonBuilder *b, const char *name, double value);
void triage_json_bool(JsonBuilder *b, const char *name, gboolean value);
void triage_json_time(JsonBuilder *b, const char *name, gint64 t);
void triage_json_print(JsonBuilder *b);

/* Checks that REF looks like a case reference ("R-2026-7KQ2-M4XD", or
 * "R-2026-000123" from before version 4 of the store). Prints the
 * problem and returns FALSE if not. */
gboolean triage_check_ref(const char *ref);

/* TRUE for a user or section name: 1 to 64 printable characters, no spaces. */
gboolean triage_valid_name(const char *name);

#endif
