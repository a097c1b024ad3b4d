/* health.h: what the daemon records about itself in the store's state
 * table after every pass, and the checks canary health makes from that, the
 * configuration and the file system. Reads no key: key files are only
 * tested for presence and readability. */
#ifndef CANARY_HEALTH_H
#define CANARY_HEALTH_H

#include <glib.h>

#include "config.h"
#include "store.h"

/* State keys (values in clear: times, counts, names; never personal data). */
#define CANARY_STATE_DAEMON_PID     "daemon.pid"
#define CANARY_STATE_DAEMON_STARTED "daemon.started_at" /* Unix UTC */
#define CANARY_STATE_DAEMON_VERSION "daemon.version"
#define CANARY_STATE_POLL_INTERVAL  "daemon.poll_interval" /* seconds */
#define CANARY_STATE_LAST_PASS      "pass.last_at"         /* Unix UTC */
#define CANARY_STATE_LAST_PASS_OK   "pass.last_ok"         /* "1" or "0" */
#define CANARY_STATE_LAST_SUCCESS   "pass.last_success"    /* Unix UTC */
#define CANARY_STATE_LAST_FAILURE   "pass.last_failure"    /* Unix UTC */
#define CANARY_STATE_FAILURE_CLASS  "pass.failure_class"   /* see below */
#define CANARY_STATE_FAILURES       "pass.consecutive_failures"
#define CANARY_STATE_RETENTION_RUN  "retention.last_run" /* Unix UTC */
#define CANARY_STATE_LAST_BACKUP    "backup.last_at"     /* Unix UTC */

/* The history's reference for events about the whole database rather than
 * one case (a backup reads every sealed field): canary history database. */
#define CANARY_EVENT_REF_DATABASE "database"

/* The class of a failed pass, as recorded: "auth" (login refused), "tls"
 * (certificate, host name or pin), "network" (unreachable, timeout),
 * "server" (refused or unreadable answers), "store" (the database), or
 * "other". Static string. */
const char *canary_health_failure_class(const GError *error);

/* Records that a daemon (this process) started at STARTED_AT and polls
 * every POLL_INTERVAL seconds: pid, start time, version, interval. One
 * small transaction. */
gboolean canary_health_record_daemon(struct canary_store *store, gint64 started_at,
				     guint64 poll_interval, GError **error);

/* Records the outcome of a pass that ended at NOW: FINISHED if it went
 * through the mailbox (the time of the last success), FAILURE (may be NULL)
 * what went wrong (only its class is kept, never its message), FAILURES the
 * consecutive failed passes so far. One small transaction. */
gboolean canary_health_record_pass(struct canary_store *store, gboolean finished,
				   const GError *failure, guint failures, gint64 now,
				   GError **error);

/* Records a backup finished at AT: the time for the backup check, and a
 * "backup" event by ACTOR with DETAIL (where it went; metadata only) in the
 * history under CANARY_EVENT_REF_DATABASE. One small transaction. */
gboolean canary_health_record_backup(struct canary_store *store, const char *actor,
				     const char *detail, gint64 at, GError **error);

enum canary_health_level {
	CANARY_HEALTH_OK = 0, /* the numbers are the exit codes of canary health */
	CANARY_HEALTH_WARNING = 1,
	CANARY_HEALTH_CRITICAL = 2,
};

/* "ok", "warning", "critical". Static string. */
const char *canary_health_level_name(enum canary_health_level level);

/* One figure behind a check, for machines ("count", "free_bytes"). */
struct canary_health_figure {
	const char *name; /* static */
	gint64 value;
};

/* One check: its name ("pass", "imap", "quarantine", "open_cases", "disk",
 * "keys", "backup"), level and a message an admin can act on (metadata only). */
struct canary_health_check {
	const char *name; /* static */
	enum canary_health_level level;
	char *message;
	GArray *figures; /* struct canary_health_figure */
};
void canary_health_check_free(struct canary_health_check *check);
typedef struct canary_health_check canary_health_check;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(canary_health_check, canary_health_check_free)

/* Runs every check at NOW with CONFIG and STORE (read-only is enough).
 * Returns a new array of struct canary_health_check *, or NULL with ERROR
 * when the store cannot be read. */
GPtrArray *canary_health_run(const struct canary_config *config, struct canary_store *store,
			     gint64 now, GError **error);

/* The worst level among CHECKS. */
enum canary_health_level canary_health_overall(GPtrArray *checks);

/* The level for a file system with FREE of TOTAL bytes available: critical
 * below 2% or 100 MiB, warning below 10% or 1 GiB. */
enum canary_health_level canary_health_disk_level(guint64 free_bytes, guint64 total_bytes);

#endif
