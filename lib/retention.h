/* retention.h: how long closed and quarantined cases are kept ([retention]
 * in canary.conf, [section NAME] retention in routing.conf), which cases are
 * due, and purging them: sealed content destroyed, reference kept. */
#ifndef CANARY_RETENTION_H
#define CANARY_RETENTION_H

#include <glib.h>

#include "config.h"
#include "store.h"

/* TRUE if CONFIG (or its routing rules) sets any retention period other
 * than forever: without one there is nothing to apply. */
gboolean canary_retention_configured(const struct canary_config *config);

/* Returns the cases CONFIG's policy no longer keeps at NOW, oldest first, as
 * a new array of struct canary_store_expired * (empty without a policy).
 * The policy in force decides, also for cases closed or received before it
 * was set or changed. */
GPtrArray *canary_retention_due(const struct canary_config *config, struct canary_store *store,
				gint64 now, GError **error);

/* The rule that applied to E, for listings and the history: "closed 365d",
 * "section mena 730d", "quarantined 90d"; NULL when E came from an explicit
 * date (keep 0). New string. */
char *canary_retention_rule(const struct canary_store_expired *e);

/* Formats a period as whole days ("365d"), or "forever" for 0. New string. */
char *canary_retention_format_period(guint64 seconds);

/* Deletes CASES (struct canary_store_expired *) in one transaction: each
 * case's sealed fields (its keys and content), sources and row, with a
 * "purged" event by ACTOR whose detail is the rule (reference and rule
 * only). secure_delete zeroes the freed pages; call canary_store_vacuum()
 * once afterwards so nothing survives in free pages or the WAL. All or
 * nothing. */
gboolean canary_retention_purge(struct canary_store *store, GPtrArray *cases, const char *actor,
				GError **error);

/* What the daemon's daily run does: finds the due cases, purges them and
 * (when any were purged) VACUUMs. Returns the number purged in *PURGED_R;
 * FALSE with ERROR if it could not finish (a purge that committed stays). */
gboolean canary_retention_apply(const struct canary_config *config, struct canary_store *store,
				gint64 now, const char *actor, guint *purged_r, GError **error);

#endif
