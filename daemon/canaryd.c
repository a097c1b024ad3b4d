/* canaryd.c: the daemon. Polls the confidential mailbox, one pass every
 * poll interval; retries failures with capped exponential backoff and
 * jitter; reloads its configuration on SIGHUP; finishes the message in hand
 * and exits on SIGTERM/SIGINT; tells systemd how it is doing. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "config.h"
#include "crash.h"
#include "health.h"
#include "imap.h"
#include "ingest.h"
#include "log.h"
#include "poll.h"
#include "process.h"
#include "retention.h"
#include "notify.h"
#include "seal.h"
#include "server.h"
#include "store.h"
#include "wipe.h"

/* Exit codes, documented in canaryd(8). */
enum {
	EXIT_OK = 0,
	EXIT_PASS_FAILED = 1, /* --once: the pass could not finish */
	EXIT_USAGE = 2,
	EXIT_CONFIG = 3,
	EXIT_STORE = 4,
};

#define BACKOFF_FIRST      2  /* seconds, after the first failure */
#define BACKOFF_FIRST_AUTH 60 /* login or TLS refused: a human must act */
#define BACKOFF_CAP        900
#define RETENTION_EVERY    86400 /* seconds between two runs of the retention policy */
#define CHAIN_HEAD_EVERY   86400 /* seconds between two chain heads in the journal */

static volatile sig_atomic_t stop_requested;
static volatile sig_atomic_t reload_requested;

static void on_stop(int sig)
{
	stop_requested = 1;
	(void)sig;
}
static void on_reload(int sig)
{
	reload_requested = 1;
	(void)sig;
}

/* Everything a running daemon holds; replaced whole on reload. */
struct daemon {
	char *config_path;
	struct canary_config *config;
	struct canary_store *store;
	struct canary_ingest *ingest;
	char *password; /* wiped when freed */
	gint64 started_at; /* Unix UTC, kept across reloads */
};

/* What the loop remembers between passes, for logs and systemd status. */
struct loop_state {
	char *last_error; /* the error logged last; NULL when healthy */
	guint failures;   /* consecutive failed passes */
	guint cases_today;
	int today;           /* day of year of cases_today */
	gint64 last_success; /* Unix UTC */
	gint64 chain_head_logged; /* monotonic usec; 0: not yet */
};

static void daemon_clear(struct daemon *d)
{
	canary_ingest_free(d->ingest);
	canary_store_close(&d->store);
	canary_config_free(d->config);
	canary_wipe_free(d->password);
	g_free(d->config_path);
	gint64 started_at = d->started_at;
	*d = (struct daemon){.started_at = started_at};
}

/* Loads the config at PATH and everything it names into D. On failure logs
 * every problem and leaves D empty. */
static int daemon_load(struct daemon *d, const char *path)
{
	g_autoptr(GError) error = NULL;
	d->config_path = g_strdup(path);
	d->config = canary_config_load(path, &error);
	if (d->config == NULL) {
		canary_err("%s", error->message);
		return EXIT_CONFIG;
	}
	if (d->config->imap.url == NULL) {
		canary_err("%s: [imap] url: not set; expected the mailbox to poll, e.g. "
			   "imaps://mail.example.org/INBOX",
			   path);
		return EXIT_CONFIG;
	}
	canary_log_set_level(d->config->logging.level);
	if (d->config->smtp.url == NULL && canary_config_sends_mail(d->config))
		canary_warning("%s: notices or acknowledgements are configured but there is no "
			       "[smtp] group: nothing can be sent",
			       path);
	if (d->config->imap.password_file != NULL) {
		d->password = canary_poll_read_secret(d->config->imap.password_file, &error);
		if (d->password == NULL) {
			canary_err("%s: [imap] password_file: %s", path, error->message);
			return EXIT_CONFIG;
		}
	}
	d->store = canary_store_open(d->config->store.database, &error);
	if (d->store == NULL) {
		canary_err("%s", error->message);
		return EXIT_STORE;
	}
	/* The passes write in bulk: their commits need not copy the log back. */
	if (!canary_store_checkpoint_aside(d->store, &error)) {
		canary_warning("%s", error->message);
		g_clear_error(&error);
	}
	d->ingest = canary_ingest_new(d->config, d->store, "canaryd", &error);
	if (d->ingest == NULL) {
		canary_err("%s", error->message);
		return EXIT_CONFIG;
	}
	/* Cases from before schema 4 kept exact times, sizes and pseudonyms in
	 * clear: seal them with the public keys we now hold. A failure leaves
	 * them for the next start (canary health warns meanwhile). */
	guint sealed = 0;
	if (!canary_ingest_seal_legacy(d->ingest, &sealed, &error)) {
		canary_warning("sealing the clear values of older cases: %s", error->message);
		g_clear_error(&error);
	} else if (sealed > 0) {
		canary_info("sealed the exact times, sizes and pseudonyms of %u older case%s and "
			    "vacuumed the database",
			    sealed, sealed == 1 ? "" : "s");
	}
	/* For canary health: who polls, and how often. */
	if (!canary_health_record_daemon(d->store, d->started_at, d->config->imap.poll_interval,
					 &error))
		canary_warning("could not record the daemon's state: %s", error->message);
	g_clear_error(&error);
	/* Last, as nothing after it may fail: a crash marks itself beside this
	 * database, so that the next pass tells it from a kill. */
	g_autofree char *crash_mark = canary_poll_crash_mark_path(d->config);
	if (!canary_crash_mark_at(crash_mark, &error)) {
		canary_err("%s: [store] database: %s", path, error->message);
		return EXIT_CONFIG;
	}
	return EXIT_OK;
}

/* SIGHUP: load the new config beside the old one; keep the old one if the
 * new one has any problem. */
static void daemon_reload(struct daemon *d)
{
	struct daemon next = {.started_at = d->started_at};
	sd_notify(0, "RELOADING=1");
	if (daemon_load(&next, d->config_path) == EXIT_OK) {
		daemon_clear(d);
		*d = next;
		canary_notice("configuration reloaded");
	} else {
		daemon_clear(&next);
		canary_err("the new configuration was refused; still running with the old one");
		canary_log_set_level(d->config->logging.level);
	}
	sd_notify(0, "READY=1");
}

/* The control socket: the one systemd hands over (canaryd.socket), else
 * [control] socket made here. Without its directory (canaryd run by hand,
 * outside the unit's RuntimeDirectory=) canaryd polls without a socket: root
 * and canaryd's user still work locally. Returns EXIT_OK or why not. */
static int start_control(struct daemon *d, struct canary_server **server_r)
{
	g_autoptr(GError) error = NULL;
	int n = sd_listen_fds(1);
	int fd = -1;
	const char *unlink_path = NULL;
	if (n > 1) {
		canary_err("systemd handed over %d sockets; expected one (canaryd.socket)", n);
		return EXIT_CONFIG;
	}
	if (n == 1) {
		fd = SD_LISTEN_FDS_START;
		if (sd_is_socket_unix(fd, SOCK_STREAM, 1, NULL, 0) <= 0) {
			canary_err("the socket systemd handed over is not a listening Unix stream "
				   "socket; expected ListenStream= of a path");
			return EXIT_CONFIG;
		}
	} else {
		fd = canary_server_listen(d->config, &error);
		if (fd < 0 &&
		    g_error_matches(error, CANARY_SERVER_ERROR, CANARY_SERVER_ERROR_NO_DIR)) {
			canary_warning("%s; no control socket: officers' commands cannot reach "
				       "canaryd (root and canaryd's user still work locally)",
				       error->message);
			return EXIT_OK;
		}
		if (fd < 0) {
			canary_err("%s", error->message);
			return EXIT_CONFIG;
		}
		unlink_path = d->config->control.socket;
	}
	*server_r = canary_server_start(fd, d->config_path, unlink_path, &error);
	if (*server_r == NULL) {
		canary_err("%s", error->message);
		return EXIT_CONFIG;
	}
	canary_info("control socket ready%s", n == 1 ? " (from systemd)" : "");
	return EXIT_OK;
}

/* Pings the systemd watchdog (a no-op without one). */
static void watchdog_ping(gpointer unused)
{
	(void)unused;
	sd_notify(0, "WATCHDOG=1");
}

/* Tells systemd and the log how the last pass went. Logs a failure only
 * when it differs from the last one logged, and the recovery once. */
static void report(struct loop_state *st, gboolean ok, const struct canary_poll_stats *stats,
		   const GError *error)
{
	GDateTime *now = g_date_time_new_now_local();
	if (g_date_time_get_day_of_year(now) != st->today) {
		st->today = g_date_time_get_day_of_year(now);
		st->cases_today = 0;
	}
	st->cases_today += stats->filed + stats->quarantined;
	g_autofree char *hhmm = g_date_time_format(now, "%H:%M");
	g_date_time_unref(now);

	if (ok) {
		if (st->last_error != NULL)
			canary_notice("recovered: the last pass worked again");
		g_clear_pointer(&st->last_error, g_free);
		st->failures = 0;
		st->last_success = g_get_real_time() / G_USEC_PER_SEC;
		if (stats->listed > 0 || stats->swept > 0)
			canary_info("pass: %u listed, %u filed, %u quarantined, %u already stored, "
				    "%u out of the inbox (%u removed from the server), %u left, "
				    "%u removed from the folders, %u follow-ups",
				    stats->listed, stats->filed, stats->quarantined,
				    stats->duplicates, stats->moved, stats->removed, stats->skipped,
				    stats->swept, stats->follow_ups);
		sd_notifyf(0, "STATUS=idle; %u cases today; last pass %s", st->cases_today, hhmm);
		return;
	}
	st->failures++;
	if (st->last_error == NULL || strcmp(st->last_error, error->message) != 0) {
		const char *what = "pass failed, will retry";
		if (g_error_matches(error, CANARY_IMAP_ERROR, CANARY_IMAP_ERROR_AUTH))
			what = "LOGIN REFUSED, will retry slowly until fixed";
		else if (g_error_matches(error, CANARY_IMAP_ERROR, CANARY_IMAP_ERROR_TLS))
			what = "TLS FAILURE, will retry slowly until fixed";
		canary_err("%s: %s", what, error->message);
		g_free(st->last_error);
		st->last_error = g_strdup(error->message);
	}
	sd_notifyf(0, "STATUS=failing since %u pass(es): %s; %u cases today", st->failures,
		   st->last_error, st->cases_today);
}

/* Seconds to wait after a failed pass: doubling from a base that is longer
 * for failures a human must fix, capped, with up to 25% jitter so many
 * daemons do not retry in step. */
static guint backoff_seconds(const struct loop_state *st, const GError *error)
{
	gboolean human = g_error_matches(error, CANARY_IMAP_ERROR, CANARY_IMAP_ERROR_AUTH) ||
			 g_error_matches(error, CANARY_IMAP_ERROR, CANARY_IMAP_ERROR_TLS);
	guint64 wait = human ? BACKOFF_FIRST_AUTH : BACKOFF_FIRST;
	for (guint i = 1; i < st->failures && wait < BACKOFF_CAP; i++)
		wait *= 2;
	wait = MIN(wait, BACKOFF_CAP);
	return (guint)(wait + g_random_int_range(0, (gint32)(wait / 4 + 1)));
}

/* Sleeps SECONDS, waking early for a signal, pinging the watchdog. */
static void sleep_interruptible(guint seconds)
{
	for (guint i = 0; i < seconds && !stop_requested && !reload_requested; i++) {
		sleep(1);
		watchdog_ping(NULL);
	}
}

static void install_signals(void)
{
	struct sigaction sa = {0};
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_stop;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = on_reload;
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/* Records the pass for canary health: one small transaction. A failure to
 * record is logged, never fatal: the mail matters more. */
static void record_pass(struct daemon *d, const struct loop_state *st, gboolean finished,
			const GError *failure)
{
	g_autoptr(GError) error = NULL;
	if (!canary_health_record_pass(d->store, finished, failure, st->failures,
				       g_get_real_time() / G_USEC_PER_SEC, &error))
		canary_warning("could not record the pass for canary health: %s", error->message);
}

/* Runs one pass. Returns TRUE if it finished. */
static gboolean one_pass(struct daemon *d, struct loop_state *st, GError **error)
{
	struct canary_poll_stats stats;
	gboolean ok = canary_poll_pass(d->config, d->password, d->store, d->ingest,
				       (volatile const int *)&stop_requested, watchdog_ping, NULL,
				       &stats, error);
	report(st, ok, &stats, error != NULL ? *error : NULL);
	if (ok && stats.skipped > 0) {
		g_set_error(error, CANARY_IMAP_ERROR, CANARY_IMAP_ERROR_REFUSED,
			    "%u message(s) could not be fetched or stored and stay in the inbox",
			    stats.skipped);
		record_pass(d, st, TRUE, *error);
		return FALSE;
	}
	record_pass(d, st, ok, ok ? NULL : *error);
	return ok;
}

/* Applies the retention policy when the last run (recorded in the store,
 * so restarts do not repeat it) is a day old or there was none. Logs counts
 * only. */
static void maybe_apply_retention(struct daemon *d)
{
	if (!canary_retention_configured(d->config))
		return;
	g_autoptr(GError) error = NULL;
	g_autofree char *last_text = NULL;
	gint64 now = g_get_real_time() / G_USEC_PER_SEC, last = 0;
	if (!canary_store_get_state(d->store, CANARY_STATE_RETENTION_RUN, &last_text, &error)) {
		canary_warning("retention: %s", error->message);
		return;
	}
	if (last_text != NULL &&
	    g_ascii_string_to_signed(last_text, 10, 0, G_MAXINT64, &last, NULL) &&
	    now - last < RETENTION_EVERY && last <= now)
		return;
	/* Recorded first: a run that fails is retried tomorrow, not every pass. */
	g_autofree char *now_text = g_strdup_printf("%" G_GINT64_FORMAT, now);
	guint purged = 0;
	if (!canary_store_set_state(d->store, CANARY_STATE_RETENTION_RUN, now_text, &error) ||
	    !canary_retention_apply(d->config, d->store, now, "canaryd", &purged, &error)) {
		if (purged > 0)
			canary_err("retention: %u case(s) purged, but: %s", purged, error->message);
		else
			canary_err("retention: %s; retrying in a day, or run canary purge",
				   error->message);
		return;
	}
	if (purged > 0)
		canary_notice("retention: %u case(s) purged", purged);
	else
		canary_info("retention: no case due");
}

/* Logs the end of the case history at start and once a day: a rewrite of
 * the history then disagrees with the journal too. */
static void maybe_log_chain_head(struct daemon *d, struct loop_state *st)
{
	gint64 now = g_get_monotonic_time();
	if (st->chain_head_logged != 0 &&
	    now - st->chain_head_logged < (gint64)CHAIN_HEAD_EVERY * G_USEC_PER_SEC)
		return;
	st->chain_head_logged = now;
	g_autoptr(GError) error = NULL;
	g_autofree char *line = canary_audit_head_summary(d->store, &error);
	if (line != NULL)
		canary_notice("%s", line);
	else
		canary_warning("audit chain head: %s", error->message);
}

int main(int argc, char **argv)
{
	g_autofree char *config_arg = NULL;
	gboolean once = FALSE, foreground = FALSE;
	GOptionEntry entries[] = {
		{"config", 'c', 0, G_OPTION_ARG_FILENAME, &config_arg,
		 "Configuration file (default: $CANARY_CONFIG, else " CANARY_CONFIG_DEFAULT_PATH
		 ")",
		 "FILE"},
		{"once", 0, 0, G_OPTION_ARG_NONE, &once,
		 "Do one pass and exit: 0 when every message was handled", NULL},
		{"foreground", 'f', 0, G_OPTION_ARG_NONE, &foreground,
		 "Stay in the foreground (canaryd never forks; kept for scripts)", NULL},
		G_OPTION_ENTRY_NULL};
	canary_log_set_program("canaryd");
	/* Under systemd, stderr goes to the journal, which reads "<N>" priorities. */
	canary_log_set_journal_prefixes(g_getenv("JOURNAL_STREAM") != NULL);
	g_autoptr(GError) error = NULL;
	g_autoptr(GOptionContext) context = g_option_context_new("");
	g_option_context_set_summary(context,
				     "Polls the confidential mailbox and files every message as a "
				     "sealed case. See canaryd(8).");
	g_option_context_add_main_entries(context, entries, NULL);
	if (!g_option_context_parse(context, &argc, &argv, &error)) {
		canary_err("%s (see --help)", error->message);
		return EXIT_USAGE;
	}
	if (!canary_process_init(&error)) {
		canary_err("%s", error->message);
		return EXIT_CONFIG;
	}
	install_signals();

	g_autofree char *path = canary_config_resolve_path(config_arg);
	struct daemon d = {.started_at = g_get_real_time() / G_USEC_PER_SEC};
	int status = daemon_load(&d, path);
	if (status != EXIT_OK) {
		daemon_clear(&d);
		return status;
	}
	/* --once is one pass for scripts and tests: it serves no socket. */
	struct canary_server *server = NULL;
	if (!once)
		status = start_control(&d, &server);
	if (status != EXIT_OK) {
		daemon_clear(&d);
		return status;
	}
	sd_notify(0, "READY=1\nSTATUS=starting the first pass");
	canary_notice("started, polling %s every %u s", d.config->imap.url,
		      (guint)d.config->imap.poll_interval);

	/* --once (canary import's kin, for scripts) sends no notice. */
	struct canary_notifier *notifier = once ? NULL : canary_notifier_start(d.config_path);
	struct loop_state st = {0};
	for (;;) {
		g_clear_error(&error);
		gboolean ok = one_pass(&d, &st, &error);
		canary_notifier_wake(notifier);
		if (!stop_requested)
			maybe_apply_retention(&d);
		maybe_log_chain_head(&d, &st);
		if (once) {
			status = ok ? EXIT_OK : EXIT_PASS_FAILED;
			if (!ok && st.last_error == NULL)
				canary_err("%s", error->message);
			break;
		}
		if (stop_requested)
			break;
		sleep_interruptible(ok ? (guint)d.config->imap.poll_interval
				       : backoff_seconds(&st, error));
		if (stop_requested)
			break;
		if (reload_requested) {
			reload_requested = 0;
			daemon_reload(&d);
			canary_notifier_stop(notifier);
			notifier = canary_notifier_start(d.config_path);
			if (server != NULL && !canary_server_reload(server, d.config_path, &error))
				canary_err("control socket: %s; still answering with the old "
					   "configuration",
					   error->message);
		}
	}
	sd_notify(0, "STOPPING=1");
	canary_notifier_stop(notifier);
	canary_server_stop(server);
	if (stop_requested)
		canary_notice("stopping on request");
	g_free(st.last_error);
	daemon_clear(&d);
	canary_process_shutdown();
	return status;
}
