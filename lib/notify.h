/* notify.h: what each notice list is told, derived from the case history:
 * the events after the last one a list was told of (a row of the state
 * table per list), counted per kind, with their case references. Nothing
 * from a message: counts and references only. Composing and sending are
 * the caller's (outgoing.h, smtp.h). */
#ifndef CANARY_NOTIFY_H
#define CANARY_NOTIFY_H

#include <glib.h>

#include "config.h"
#include "store.h"

/* One list's notice: who, what, up to which event. */
struct canary_notice {
	char *list;     /* "triage", "custodian" or "section NAME" */
	char *section;  /* NAME for a section's list, else NULL */
	char **to;      /* NULL-terminated addresses */
	gboolean daily; /* a digest: at most one a day */
	guint new_cases, follow_ups, quarantined, drafts;
	GPtrArray *refs;   /* char *, each case once, in history order */
	gint64 last_event; /* the last event counted */
};
void canary_notice_free(struct canary_notice *notice);
typedef struct canary_notice canary_notice;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(canary_notice, canary_notice_free)

/* The notices due at NOW (Unix UTC) for every list CONFIG names, as a new
 * array of struct canary_notice * (freeing them): one per list that has
 * events since it was last told, except a daily list already told today.
 * A list seen for the first time starts at the end of the history (an
 * upgrade does not tell of every past case). */
GPtrArray *canary_notify_collect(const struct canary_config *config, struct canary_store *store,
				 gint64 now, GError **error);

/* "canary: 2 new cases, 1 follow-up (africa)". New string. */
char *canary_notice_subject(const struct canary_notice *notice);

/* The text: the counts, then one reference a line. New string. */
char *canary_notice_text(const struct canary_notice *notice);

/* Records NOTICE as sent at NOW: its list is told of events up to
 * NOTICE->last_event, and a daily list not again before tomorrow. */
gboolean canary_notice_mark_sent(struct canary_store *store, const struct canary_notice *notice,
				 gint64 now, GError **error);

/* Sends every notice due now through [smtp] (outgoing.h, smtp.h) and marks
 * each sent. A notice that fails is logged by list and count only, and is
 * due again at the next call (nothing is marked). Returns how many were
 * sent. Test builds: $CANARY_TEST_NOW (Unix UTC) stands for the clock. */
guint canary_notify_send_due(const struct canary_config *config, struct canary_store *store);

/* The notices' own thread in canaryd, with its own configuration and store
 * connection, so that a slow or dead MTA never holds up intake. */
struct canary_notifier;

/* Starts it for the configuration at CONFIG_PATH; NULL (nothing to do, or
 * the reason logged) when there is no list, no [smtp], or it cannot start. */
struct canary_notifier *canary_notifier_start(const char *config_path);

/* Asks it to send what is due (after a pass); never waits. */
void canary_notifier_wake(struct canary_notifier *notifier);

/* Stops it (after the send in progress, if any) and frees it. NULL: no-op. */
void canary_notifier_stop(struct canary_notifier *notifier);

#endif
