/* health.c: the daemon's state for monitoring, and the checks made from it.
 * The daemon writes a handful of state keys after every pass; canary health
 * reads them with the configuration and the file system and grades what it
 * finds. Nothing here opens a key or a sealed field. */
#include "health.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>
#include <unistd.h>

#include "imap.h"

#define MIB ((guint64)1024 * 1024)
#define GIB (1024 * MIB)
/* Passes missed before the mailbox counts as unwatched. */
#define MISSED_PASSES 3

const char *canary_health_failure_class(const GError *error)
{
	if (error == NULL)
		return "other";
	if (error->domain == CANARY_STORE_ERROR)
		return "store";
	if (error->domain != CANARY_IMAP_ERROR)
		return "other";
	switch (error->code) {
	case CANARY_IMAP_ERROR_AUTH:
		return "auth";
	case CANARY_IMAP_ERROR_TLS:
		return "tls";
	case CANARY_IMAP_ERROR_TEMPORARY:
		return "network";
	default:
		return "server";
	}
}

/* Sets KEY to the number VALUE. */
static gboolean set_int(struct canary_store *store, const char *key, gint64 value, GError **error)
{
	g_autofree char *text = g_strdup_printf("%" G_GINT64_FORMAT, value);
	return canary_store_set_state(store, key, text, error);
}

/* Ends the transaction the writes ran in: commits if OK, else rolls back. */
static gboolean end_transaction(struct canary_store *store, gboolean ok, GError **error)
{
	if (ok)
		return canary_store_commit(store, error);
	canary_store_rollback(store);
	return FALSE;
}

gboolean canary_health_record_daemon(struct canary_store *store, gint64 started_at,
				     guint64 poll_interval, GError **error)
{
	if (!canary_store_begin(store, error))
		return FALSE;
	gboolean ok =
		set_int(store, CANARY_STATE_DAEMON_PID, (gint64)getpid(), error) &&
		set_int(store, CANARY_STATE_DAEMON_STARTED, started_at, error) &&
		canary_store_set_state(store, CANARY_STATE_DAEMON_VERSION, CANARY_VERSION, error) &&
		set_int(store, CANARY_STATE_POLL_INTERVAL, (gint64)poll_interval, error);
	return end_transaction(store, ok, error);
}

gboolean canary_health_record_pass(struct canary_store *store, gboolean finished,
				   const GError *failure, guint failures, gint64 now,
				   GError **error)
{
	if (!canary_store_begin(store, error))
		return FALSE;
	gboolean ok = set_int(store, CANARY_STATE_LAST_PASS, now, error) &&
		      canary_store_set_state(store, CANARY_STATE_LAST_PASS_OK,
					     failure == NULL ? "1" : "0", error) &&
		      set_int(store, CANARY_STATE_FAILURES, failures, error);
	if (ok && finished)
		ok = set_int(store, CANARY_STATE_LAST_SUCCESS, now, error);
	/* The class only: a message may quote the server. */
	if (ok && failure != NULL)
		ok = set_int(store, CANARY_STATE_LAST_FAILURE, now, error) &&
		     canary_store_set_state(store, CANARY_STATE_FAILURE_CLASS,
					    canary_health_failure_class(failure), error);
	return end_transaction(store, ok, error);
}

gboolean canary_health_record_backup(struct canary_store *store, const char *actor,
				     const char *detail, gint64 at, GError **error)
{
	if (!canary_store_begin(store, error))
		return FALSE;
	gboolean ok = set_int(store, CANARY_STATE_LAST_BACKUP, at, error) &&
		      canary_store_add_event(store, CANARY_EVENT_REF_DATABASE, actor, "backup",
					     detail, error);
	return end_transaction(store, ok, error);
}

const char *canary_health_level_name(enum canary_health_level level)
{
	switch (level) {
	case CANARY_HEALTH_OK:
		return "ok";
	case CANARY_HEALTH_WARNING:
		return "warning";
	default:
		return "critical";
	}
}

void canary_health_check_free(struct canary_health_check *check)
{
	if (check == NULL)
		return;
	g_free(check->message);
	g_array_unref(check->figures);
	g_free(check);
}

/* Adds a check NAME to CHECKS and returns it, for figures. */
static struct canary_health_check *add_check(GPtrArray *checks, const char *name,
					     enum canary_health_level level, char *message)
{
	struct canary_health_check *c = g_new0(struct canary_health_check, 1);
	c->name = name;
	c->level = level;
	c->message = message; /* owned */
	c->figures = g_array_new(FALSE, FALSE, sizeof(struct canary_health_figure));
	g_ptr_array_add(checks, c);
	return c;
}

static void add_figure(struct canary_health_check *c, const char *name, gint64 value)
{
	struct canary_health_figure f = {name, value};
	g_array_append_val(c->figures, f);
}

/* "45s", "12m", "5h", "3d". New string. */
static char *format_age(gint64 seconds)
{
	if (seconds < 0)
		seconds = 0;
	if (seconds < 120)
		return g_strdup_printf("%" G_GINT64_FORMAT "s", seconds);
	if (seconds < 2 * 3600)
		return g_strdup_printf("%" G_GINT64_FORMAT "m", seconds / 60);
	if (seconds < 2 * 86400)
		return g_strdup_printf("%" G_GINT64_FORMAT "h", seconds / 3600);
	return g_strdup_printf("%" G_GINT64_FORMAT "d", seconds / 86400);
}

/* Reads the number KEY: TRUE with *SET_R FALSE when unset or not a number. */
static gboolean state_int(struct canary_store *store, const char *key, gint64 *value_r,
			  gboolean *set_r, GError **error)
{
	g_autofree char *text = NULL;
	*value_r = 0;
	*set_r = FALSE;
	if (!canary_store_get_state(store, key, &text, error))
		return FALSE;
	*set_r = text != NULL &&
		 g_ascii_string_to_signed(text, 10, G_MININT64, G_MAXINT64, value_r, NULL);
	return TRUE;
}

/* What the daemon recorded, as numbers. */
struct recorded {
	gint64 started, interval, last_success, last_failure, failures, last_ok;
	gboolean has_started, has_interval, has_success, has_failure, has_failures, has_last_ok;
	char *failure_class;
};

static gboolean read_recorded(struct canary_store *store, struct recorded *r, GError **error)
{
	return state_int(store, CANARY_STATE_DAEMON_STARTED, &r->started, &r->has_started, error) &&
	       state_int(store, CANARY_STATE_POLL_INTERVAL, &r->interval, &r->has_interval,
			 error) &&
	       state_int(store, CANARY_STATE_LAST_SUCCESS, &r->last_success, &r->has_success,
			 error) &&
	       state_int(store, CANARY_STATE_LAST_FAILURE, &r->last_failure, &r->has_failure,
			 error) &&
	       state_int(store, CANARY_STATE_FAILURES, &r->failures, &r->has_failures, error) &&
	       state_int(store, CANARY_STATE_LAST_PASS_OK, &r->last_ok, &r->has_last_ok, error) &&
	       canary_store_get_state(store, CANARY_STATE_FAILURE_CLASS, &r->failure_class, error);
}

/* The last successful pass: critical when older than MISSED_PASSES poll
 * intervals. A daemon that started less long ago and has not finished its
 * first pass since is only a warning (a restart is not an outage). */
static void check_pass(GPtrArray *checks, const struct recorded *r, guint64 config_interval,
		       gint64 now)
{
	gint64 interval =
		r->has_interval && r->interval > 0 ? r->interval : (gint64)config_interval;
	gint64 limit = MISSED_PASSES * interval;
	gboolean recent = r->has_success && now - r->last_success <= limit;
	gboolean starting = r->has_started && now - r->started <= limit &&
			    (!r->has_success || r->last_success < r->started);
	g_autofree char *limit_text = format_age(limit);
	g_autofree char *ago = format_age(now - r->last_success);
	g_autofree char *started = format_age(now - r->started);
	struct canary_health_check *c;
	if (recent)
		c = add_check(checks, "pass", CANARY_HEALTH_OK,
			      g_strdup_printf("last successful pass %s ago", ago));
	else if (starting)
		c = add_check(checks, "pass", CANARY_HEALTH_WARNING,
			      g_strdup_printf("canaryd started %s ago and has not finished a pass "
					      "yet",
					      started));
	else if (r->has_success)
		c = add_check(checks, "pass", CANARY_HEALTH_CRITICAL,
			      g_strdup_printf("last successful pass %s ago, more than %d poll "
					      "intervals (%s): is canaryd running? see its log",
					      ago, MISSED_PASSES, limit_text));
	else
		c = add_check(checks, "pass", CANARY_HEALTH_CRITICAL,
			      g_strdup(r->has_started ? "no successful pass since canaryd started: "
							"see its log"
						      : "no successful pass recorded: canaryd has "
							"not run with this database"));
	if (r->has_success)
		add_figure(c, "seconds_since_success", now - r->last_success);
	add_figure(c, "poll_interval", interval);
}

/* Words for a recorded failure class. Static string. */
static const char *describe_class(const char *cls)
{
	static const char *const names[][2] = {
		{"auth", "login refused (auth): check [imap] username and password_file"},
		{"tls", "TLS failure (tls): certificate, host name or pinned key"},
		{"network", "server unreachable or too slow (network)"},
		{"server", "the server refused a command or answered badly (server)"},
		{"store", "database error (store)"},
	};
	for (gsize i = 0; cls != NULL && i < G_N_ELEMENTS(names); i++)
		if (strcmp(cls, names[i][0]) == 0)
			return names[i][1];
	return "error (other)";
}

/* The last pass: failed on login or TLS is critical (a human must act),
 * any other failure a warning (the daemon retries). */
static void check_imap(GPtrArray *checks, const struct recorded *r, gint64 now)
{
	if (!r->has_last_ok || r->last_ok != 0) {
		add_check(checks, "imap", CANARY_HEALTH_OK,
			  g_strdup(r->has_last_ok ? "the last pass worked" : "no pass recorded"));
		return;
	}
	const char *cls = r->failure_class != NULL ? r->failure_class : "other";
	gboolean human = strcmp(cls, "auth") == 0 || strcmp(cls, "tls") == 0;
	g_autofree char *ago = format_age(now - r->last_failure);
	struct canary_health_check *c =
		add_check(checks, "imap", human ? CANARY_HEALTH_CRITICAL : CANARY_HEALTH_WARNING,
			  g_strdup_printf("the last pass failed %s ago: %s; %" G_GINT64_FORMAT
					  " consecutive failure%s; see canaryd's log",
					  ago, describe_class(cls), r->failures,
					  r->failures == 1 ? "" : "s"));
	add_figure(c, "consecutive_failures", r->failures);
	add_figure(c, "seconds_since_failure", now - r->last_failure);
}

/* Quarantined cases wait for the custodian: a warning while any do. */
static gboolean check_quarantine(GPtrArray *checks, struct canary_store *store, gint64 now,
				 GError **error)
{
	gint64 count = 0, oldest = 0;
	if (!canary_store_count_status(store, CANARY_STATUS_QUARANTINED, G_MAXINT64, &count,
				       &oldest, error))
		return FALSE;
	g_autofree char *ago = format_age(now - oldest);
	struct canary_health_check *c = add_check(
		checks, "quarantine", count > 0 ? CANARY_HEALTH_WARNING : CANARY_HEALTH_OK,
		count > 0 ? g_strdup_printf("%" G_GINT64_FORMAT " quarantined case%s waiting for "
					    "the custodian, oldest received %s ago",
					    count, count == 1 ? "" : "s", ago)
			  : g_strdup("no quarantined case waiting"));
	add_figure(c, "count", count);
	return TRUE;
}

/* New and open cases received more than [health] open_case_age ago. */
static gboolean check_open_cases(GPtrArray *checks, struct canary_store *store, guint64 age,
				 gint64 now, GError **error)
{
	if (age == 0) {
		add_check(checks, "open_cases", CANARY_HEALTH_OK,
			  g_strdup("not checked ([health] open_case_age = forever)"));
		return TRUE;
	}
	gint64 count = 0, oldest = 0;
	static const char *const statuses[] = {CANARY_STATUS_NEW, CANARY_STATUS_OPEN};
	for (gsize i = 0; i < G_N_ELEMENTS(statuses); i++) {
		gint64 n = 0, first = 0;
		if (!canary_store_count_status(store, statuses[i], now - (gint64)age, &n, &first,
					       error))
			return FALSE;
		count += n;
		if (n > 0 && (oldest == 0 || first < oldest))
			oldest = first;
	}
	g_autofree char *limit = format_age((gint64)age);
	g_autofree char *ago = format_age(now - oldest);
	struct canary_health_check *c = add_check(
		checks, "open_cases", count > 0 ? CANARY_HEALTH_WARNING : CANARY_HEALTH_OK,
		count > 0 ? g_strdup_printf("%" G_GINT64_FORMAT " new or open case%s received more "
					    "than %s ago, oldest %s ago",
					    count, count == 1 ? "" : "s", limit, ago)
			  : g_strdup_printf("no new or open case older than %s", limit));
	add_figure(c, "count", count);
	add_figure(c, "max_age_seconds", (gint64)age);
	return TRUE;
}

/* Cases from before schema 4 whose exact times, sizes and pseudonyms are
 * still in clear: canaryd seals them when it starts. */
static gboolean check_clear_values(GPtrArray *checks, struct canary_store *store,
				   GError **error)
{
	gint64 count = 0;
	if (!canary_store_count_legacy(store, &count, error))
		return FALSE;
	struct canary_health_check *c = add_check(
		checks, "clear_values", count > 0 ? CANARY_HEALTH_WARNING : CANARY_HEALTH_OK,
		count > 0 ? g_strdup_printf("%" G_GINT64_FORMAT " case%s from before version 4 of "
					    "the store still ha%s its exact times, size and "
					    "pseudonym in clear; start canaryd (it seals them)",
					    count, count == 1 ? "" : "s", count == 1 ? "s" : "ve")
			  : g_strdup("no exact time, size or pseudonym in clear"));
	add_figure(c, "count", count);
	return TRUE;
}

/* Cases of any status received before BEFORE, into *COUNT_R. */
static gboolean count_received_before(struct canary_store *store, gint64 before, gint64 *count_r,
				      GError **error)
{
	static const char *const statuses[] = {CANARY_STATUS_NEW, CANARY_STATUS_OPEN,
					       CANARY_STATUS_CLOSED, CANARY_STATUS_QUARANTINED};
	*count_r = 0;
	for (gsize i = 0; i < G_N_ELEMENTS(statuses); i++) {
		gint64 n = 0, oldest = 0;
		if (!canary_store_count_status(store, statuses[i], before, &n, &oldest, error))
			return FALSE;
		*count_r += n;
	}
	return TRUE;
}

/* The last canary backup (the database is the only copy of a filed
 * message): a warning once older than [health] backup_age. Before the first
 * one, only once a case is that old: a new install has nothing to lose yet
 * and should not start with a warning. */
static gboolean check_backup(GPtrArray *checks, struct canary_store *store, guint64 age, gint64 now,
			     GError **error)
{
	if (age == 0) {
		add_check(checks, "backup", CANARY_HEALTH_OK,
			  g_strdup("not checked ([health] backup_age = forever)"));
		return TRUE;
	}
	gint64 last = 0, old = 0;
	gboolean has_last = FALSE;
	if (!state_int(store, CANARY_STATE_LAST_BACKUP, &last, &has_last, error) ||
	    (!has_last && !count_received_before(store, now - (gint64)age, &old, error)))
		return FALSE;
	g_autofree char *limit = format_age((gint64)age);
	g_autofree char *ago = format_age(now - last);
	g_autoptr(GDateTime) at = g_date_time_new_from_unix_utc(last);
	g_autofree char *when = at != NULL ? g_date_time_format(at, "%Y-%m-%d %H:%M UTC") : NULL;
	gboolean due = has_last ? now - last > (gint64)age : old > 0;
	char *message;
	if (has_last && !due)
		message = g_strdup_printf("last backup %s ago", ago);
	else if (has_last)
		message = g_strdup_printf("no backup since %s (%s ago, more than %s): run canary "
					  "backup FILE",
					  when != NULL ? when : "?", ago, limit);
	else if (due)
		message = g_strdup_printf("no backup was ever made, and %" G_GINT64_FORMAT
					  " case%s received more than %s ago: run canary backup "
					  "FILE",
					  old, old == 1 ? " was" : "s were", limit);
	else
		message = g_strdup_printf("no backup made yet; none due before a case is %s old",
					  limit);
	struct canary_health_check *c = add_check(
		checks, "backup", due ? CANARY_HEALTH_WARNING : CANARY_HEALTH_OK, message);
	if (has_last)
		add_figure(c, "seconds_since_backup", now - last);
	add_figure(c, "max_age_seconds", (gint64)age);
	return TRUE;
}

enum canary_health_level canary_health_disk_level(guint64 free_bytes, guint64 total_bytes)
{
	/* Percentages in integers: free/total < p/100 <=> free*100 < total*p. */
	if (free_bytes < 100 * MIB || free_bytes * 100 < total_bytes * 2)
		return CANARY_HEALTH_CRITICAL;
	if (free_bytes < GIB || free_bytes * 100 < total_bytes * 10)
		return CANARY_HEALTH_WARNING;
	return CANARY_HEALTH_OK;
}

/* The file system under the database, and the database against SQLite's
 * own ceiling (max_page_count). */
static gboolean check_disk(GPtrArray *checks, const char *database, struct canary_store *store,
			   GError **error)
{
	gint64 size = 0, max_size = 0;
	if (!canary_store_size(store, &size, &max_size, error))
		return FALSE;
	g_autofree char *dir = g_path_get_dirname(database);
	struct statvfs vfs;
	if (statvfs(dir, &vfs) != 0) {
		add_check(checks, "disk", CANARY_HEALTH_CRITICAL,
			  g_strdup_printf("%s: %s", dir, g_strerror(errno)));
		return TRUE;
	}
	guint64 free_bytes = (guint64)vfs.f_bavail * vfs.f_frsize;
	guint64 total = (guint64)vfs.f_blocks * vfs.f_frsize;
	enum canary_health_level level = canary_health_disk_level(free_bytes, total);
	gint64 percent = total > 0 ? (gint64)(free_bytes * 100 / total) : 0;
	g_autofree char *free_text = g_format_size_full(free_bytes, G_FORMAT_SIZE_IEC_UNITS);
	g_autofree char *total_text = g_format_size_full(total, G_FORMAT_SIZE_IEC_UNITS);
	g_autofree char *message = g_strdup_printf("%s: %s free of %s (%" G_GINT64_FORMAT "%%)",
						   dir, free_text, total_text, percent);
	if (max_size > 0 && size * 100 >= max_size * 90) {
		enum canary_health_level db = size * 100 >= max_size * 98 ? CANARY_HEALTH_CRITICAL
									  : CANARY_HEALTH_WARNING;
		level = MAX(level, db);
		g_autofree char *more = g_strdup_printf("%s; the database is at %" G_GINT64_FORMAT
							"%% of SQLite's max_page_count",
							message, size * 100 / max_size);
		g_free(message);
		message = g_steal_pointer(&more);
	}
	struct canary_health_check *c = add_check(checks, "disk", level, g_steal_pointer(&message));
	add_figure(c, "free_bytes", (gint64)free_bytes);
	add_figure(c, "total_bytes", (gint64)total);
	add_figure(c, "free_percent", percent);
	add_figure(c, "database_bytes", size);
	return TRUE;
}

/* Appends PATH's problem to PROBLEMS: missing, not a file, or unreadable
 * by this user. Opens nothing. */
static void check_key_file(const char *path, GString *problems, guint *checked)
{
	if (path == NULL)
		return;
	(*checked)++;
	const char *wrong = NULL;
	if (!g_file_test(path, G_FILE_TEST_EXISTS))
		wrong = "no such file";
	else if (!g_file_test(path, G_FILE_TEST_IS_REGULAR))
		wrong = "not a regular file";
	else if (access(path, R_OK) != 0)
		wrong = g_strerror(errno);
	if (wrong != NULL)
		g_string_append_printf(problems, "%s%s: %s", problems->len > 0 ? "; " : "", path,
				       wrong);
}

/* The key files the configuration names: public keys and the pseudonym
 * key, tested for presence and readability only. */
static void check_keys(GPtrArray *checks, const struct canary_config *config)
{
	g_autoptr(GString) problems = g_string_new(NULL);
	guint checked = 0;
	check_key_file(config->keys.custodian_public, problems, &checked);
	check_key_file(config->keys.triage_public, problems, &checked);
	check_key_file(config->keys.pseudonym_key, problems, &checked);
	if (config->rules == NULL)
		check_key_file(config->keys.default_section_public, problems, &checked);
	const char *const *sections =
		config->rules != NULL ? canary_routing_sections(config->rules) : NULL;
	for (gsize i = 0; sections != NULL && sections[i] != NULL; i++)
		check_key_file(canary_routing_section_key(config->rules, sections[i]), problems,
			       &checked);
	/* Whoever reads the pseudonym key can test guessed addresses against
	 * every pseudonym: canaryd's user alone should. */
	struct stat st;
	gboolean loose = problems->len == 0 && config->keys.pseudonym_key != NULL &&
			 stat(config->keys.pseudonym_key, &st) == 0 && (st.st_mode & 0077) != 0;
	struct canary_health_check *c = add_check(
		checks, "keys",
		problems->len > 0 ? CANARY_HEALTH_CRITICAL
		: loose		  ? CANARY_HEALTH_WARNING
				  : CANARY_HEALTH_OK,
		problems->len > 0 ? g_strdup(problems->str)
		: loose ? g_strdup_printf("%s is readable by its group or others (mode %04o): make "
					  "it canaryd's user's alone (chmod 600)",
					  config->keys.pseudonym_key, (unsigned)(st.st_mode & 07777))
			: g_strdup_printf("%u key files present and readable", checked));
	add_figure(c, "files", checked);
}

/* Server copies kept forever leave the plaintext on the mail server: a
 * warning, one line ("server_copies"). The configuration's other warnings
 * (an obsolete [store] group, an access group that does not exist) are
 * one more ("config"). Nothing to say otherwise. */
static void check_server_copies(GPtrArray *checks, const struct canary_config *config)
{
	g_autofree char *warnings = canary_config_warnings(config);
	if (warnings == NULL)
		return;
	g_auto(GStrv) lines = g_strsplit(warnings, "\n", -1);
	g_autoptr(GPtrArray) imap = g_ptr_array_new(), other = g_ptr_array_new();
	for (gsize i = 0; lines[i] != NULL; i++)
		g_ptr_array_add(g_str_has_prefix(lines[i], "[imap]") ? imap : other, lines[i]);
	g_ptr_array_add(imap, NULL);
	g_ptr_array_add(other, NULL);
	if (imap->len > 1)
		add_check(checks, "server_copies", CANARY_HEALTH_WARNING,
			  g_strjoinv("; ", (char **)imap->pdata));
	if (other->len > 1)
		add_check(checks, "config", CANARY_HEALTH_WARNING,
			  g_strjoinv("; ", (char **)other->pdata));
}

GPtrArray *canary_health_run(const struct canary_config *config, struct canary_store *store,
			     gint64 now, GError **error)
{
	GPtrArray *checks =
		g_ptr_array_new_with_free_func((GDestroyNotify)canary_health_check_free);
	struct recorded r = {0};
	gboolean ok = read_recorded(store, &r, error);
	if (ok) {
		check_pass(checks, &r, config->imap.poll_interval, now);
		check_imap(checks, &r, now);
	}
	ok = ok && check_quarantine(checks, store, now, error) &&
	     check_open_cases(checks, store, config->health.open_case_age, now, error) &&
	     check_disk(checks, config->store.database, store, error);
	g_free(r.failure_class);
	if (!ok) {
		g_ptr_array_unref(checks);
		return NULL;
	}
	check_keys(checks, config);
	check_server_copies(checks, config);
	if (!check_backup(checks, store, config->health.backup_age, now, error) ||
	    !check_clear_values(checks, store, error)) {
		g_ptr_array_unref(checks);
		return NULL;
	}
	return checks;
}

enum canary_health_level canary_health_overall(GPtrArray *checks)
{
	enum canary_health_level worst = CANARY_HEALTH_OK;
	for (guint i = 0; i < checks->len; i++)
		worst = MAX(worst, ((const struct canary_health_check *)checks->pdata[i])->level);
	return worst;
}
