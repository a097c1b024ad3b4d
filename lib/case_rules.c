/* case_rules.c: the operations that work the queue without opening a
 * sealed field, run by canaryd (or by canary itself, locally) for a caller:
 * assign, history, stats, report, purge and health. Each checks the
 * caller's groups (access.h) before it reads anything, and records what it
 * changes under the caller's user name as the kernel gave it. */
#include "case.h"

#include <string.h>

#include "access.h"
#include "case_ops.h"
#include "health.h"
#include "report.h"
#include "retention.h"

gboolean canary_case_valid_name(const char *name)
{
	gsize len = name != NULL ? strlen(name) : 0;
	if (len == 0 || len > 64 || !g_utf8_validate(name, (gssize)len, NULL))
		return FALSE;
	for (const char *p = name; *p != '\0'; p = g_utf8_next_char(p))
		if (!g_unichar_isgraph(g_utf8_get_char(p)))
			return FALSE;
	return TRUE;
}

/* The case named by the "ref" argument, once the caller may see it: NULL
 * with USAGE, NOT_FOUND or FORBIDDEN otherwise. */
static struct canary_case *visible_case(struct canary_control_context *ctx,
					const struct canary_access *access, JsonObject *args,
					GError **error)
{
	const char *ref = NULL;
	if (!canary_control_arg_string(args, "ref", TRUE, &ref, error))
		return NULL;
	g_autoptr(GError) local = NULL;
	g_autoptr(canary_case) c = canary_store_get_case(ctx->store, ref, &local);
	if (c == NULL) {
		gboolean absent =
			g_error_matches(local, CANARY_STORE_ERROR, CANARY_STORE_ERROR_NOT_FOUND);
		g_set_error_literal(error, absent ? CANARY_CONTROL_ERROR : local->domain,
				    absent ? CANARY_CONTROL_ERROR_NOT_FOUND : local->code,
				    local->message);
		return NULL;
	}
	if (!canary_access_require_case(access, c, error))
		return NULL;
	return g_steal_pointer(&c);
}

/* --- assign ----------------------------------------------------------------- */

/* assign {ref, to}: gives a case the caller may see to the officer TO,
 * recorded as "assigned to TO" (detail "was OLD") by the caller. Answers
 * {ref, assignee, unchanged}. */
CANARY_OP(canary_op_assign)
{
	g_autoptr(canary_access) access = canary_access_new(ctx->config, caller);
	const char *to = NULL;
	if (!canary_control_arg_string(args, "to", TRUE, &to, error))
		return NULL;
	if (!canary_case_valid_name(to)) {
		g_set_error(error, CANARY_CONTROL_ERROR, CANARY_CONTROL_ERROR_USAGE,
			    "\"to\": expected a user name (1 to 64 printable characters, no "
			    "spaces)");
		return NULL;
	}
	g_autoptr(canary_case) c = visible_case(ctx, access, args, error);
	if (c == NULL)
		return NULL;
	gboolean unchanged = g_strcmp0(c->assignee, to) == 0;
	if (!unchanged) {
		g_autofree char *action = g_strdup_printf("assigned to %s", to);
		g_autofree char *detail =
			c->assignee != NULL ? g_strdup_printf("was %s", c->assignee) : NULL;
		if (!canary_store_begin(ctx->store, error))
			return NULL;
		if (!canary_store_set_assignee(ctx->store, c->ref, to, error) ||
		    !canary_store_add_event(ctx->store, c->ref, caller->user, action, detail,
					    error) ||
		    !canary_store_commit(ctx->store, error)) {
			canary_store_rollback(ctx->store);
			return NULL;
		}
	}
	JsonObject *result = json_object_new();
	json_object_set_string_member(result, "ref", c->ref);
	json_object_set_string_member(result, "assignee", to);
	json_object_set_boolean_member(result, "unchanged", unchanged);
	return result;
}

/* --- history ---------------------------------------------------------------- */

JsonObject *canary_case_event_to_json(const struct canary_event *e)
{
	JsonObject *o = json_object_new();
	json_object_set_int_member(o, "id", e->id);
	json_object_set_string_member(o, "ref", e->ref);
	json_object_set_int_member(o, "at", e->at);
	json_object_set_string_member(o, "actor", e->actor);
	json_object_set_string_member(o, "action", e->action);
	if (e->detail != NULL)
		json_object_set_string_member(o, "detail", e->detail);
	else
		json_object_set_null_member(o, "detail");
	return o;
}

/* May the caller read the history of REF, which has no case (any more)?
 * "database" (backups) is the admins'; a purged case's history the
 * admins' and triage's, since its section is gone with it. */
static gboolean require_caseless_history(const struct canary_access *access, const char *ref,
					 gboolean database, GError **error)
{
	if (database)
		return canary_access_require_role(access, CANARY_ROLE_ADMIN, error);
	if (canary_access_has_role(access, CANARY_ROLE_ADMIN | CANARY_ROLE_TRIAGE))
		return TRUE;
	g_set_error(error, CANARY_CONTROL_ERROR, CANARY_CONTROL_ERROR_FORBIDDEN,
		    "case %s was purged: its history needs the admin or triage role", ref);
	return FALSE;
}

/* history {ref}: the events of a case the caller may see, oldest first
 * (REF "database": the events about the whole database, for admins).
 * Answers {events: [{id, ref, at, actor, action, detail}]}. */
CANARY_OP(canary_op_history)
{
	g_autoptr(canary_access) access = canary_access_new(ctx->config, caller);
	const char *ref = NULL;
	if (!canary_control_arg_string(args, "ref", TRUE, &ref, error))
		return NULL;
	gboolean database = strcmp(ref, CANARY_EVENT_REF_DATABASE) == 0;
	g_autoptr(GError) local = NULL;
	g_autoptr(canary_case) c = database ? NULL : canary_store_get_case(ctx->store, ref, &local);
	if (c != NULL && !canary_access_require_case(access, c, error))
		return NULL;
	if (local != NULL &&
	    !g_error_matches(local, CANARY_STORE_ERROR, CANARY_STORE_ERROR_NOT_FOUND)) {
		g_propagate_error(error, g_steal_pointer(&local));
		return NULL;
	}
	g_autoptr(GPtrArray) events = canary_store_list_events(ctx->store, ref, error);
	if (events == NULL)
		return NULL;
	if (c == NULL && !database && events->len == 0) {
		g_set_error(error, CANARY_CONTROL_ERROR, CANARY_CONTROL_ERROR_NOT_FOUND,
			    "no such case %s", ref);
		return NULL;
	}
	if (c == NULL && !require_caseless_history(access, ref, database, error))
		return NULL;
	JsonArray *list = json_array_new();
	for (guint i = 0; i < events->len; i++)
		json_array_add_object_element(list, canary_case_event_to_json(events->pdata[i]));
	JsonObject *result = json_object_new();
	json_object_set_array_member(result, "events", list);
	return result;
}

/* --- stats ------------------------------------------------------------------ */

/* stats {since}: the open cases the caller may count (access.h), per
 * section and status; the oldest of them; the cases received per week from
 * SINCE. Answers {open: [{section, status, count}], oldest: {ref,
 * received} or null, weeks: [[start, count]...]}. */
CANARY_OP(canary_op_stats)
{
	g_autoptr(canary_access) access = canary_access_new(ctx->config, caller);
	struct canary_store_scope scope;
	if (!canary_access_count_scope(access, &scope, error))
		return NULL;
	gint64 since = 0;
	gboolean given = FALSE;
	if (!canary_control_arg_int(args, "since", &since, &given, error))
		return NULL;
	g_autoptr(GPtrArray) counts = canary_store_count_open(ctx->store, &scope, error);
	if (counts == NULL)
		return NULL;
	g_autofree char *oldest_ref = NULL;
	gint64 oldest_received = 0;
	if (!canary_store_oldest_open(ctx->store, &scope, &oldest_ref, &oldest_received, error))
		return NULL;
	g_autoptr(GArray) weeks = canary_store_count_weeks(ctx->store, &scope, since, error);
	if (weeks == NULL)
		return NULL;
	JsonArray *open = json_array_new();
	for (guint i = 0; i < counts->len; i++) {
		const struct canary_store_count *count = counts->pdata[i];
		JsonObject *o = json_object_new();
		json_object_set_string_member(o, "section", count->section);
		json_object_set_string_member(o, "status", count->status);
		json_object_set_int_member(o, "count", count->count);
		json_array_add_object_element(open, o);
	}
	JsonArray *week_list = json_array_new();
	for (guint i = 0; i + 1 < weeks->len; i += 2) {
		JsonArray *pair = json_array_new();
		json_array_add_int_element(pair, g_array_index(weeks, gint64, i));
		json_array_add_int_element(pair, g_array_index(weeks, gint64, i + 1));
		json_array_add_array_element(week_list, pair);
	}
	JsonObject *result = json_object_new();
	json_object_set_array_member(result, "open", open);
	if (oldest_ref != NULL) {
		JsonObject *oldest = json_object_new();
		json_object_set_string_member(oldest, "ref", oldest_ref);
		json_object_set_int_member(oldest, "received", oldest_received);
		json_object_set_object_member(result, "oldest", oldest);
	} else {
		json_object_set_null_member(result, "oldest");
	}
	json_object_set_array_member(result, "weeks", week_list);
	return result;
}

/* --- report ----------------------------------------------------------------- */

static JsonArray *rows_json(GPtrArray *rows)
{
	JsonArray *list = json_array_new();
	for (guint i = 0; i < rows->len; i++) {
		const struct canary_report_row *row = rows->pdata[i];
		JsonObject *o = json_object_new();
		json_object_set_string_member(o, "name", row->name);
		json_object_set_int_member(o, "cases", row->cases);
		json_array_add_object_element(list, o);
	}
	return list;
}

/* report {from, until}: the figures of the cases the caller may count,
 * received in [FROM, UNTIL) (whole days, Unix UTC). Answers the fields of
 * struct canary_report (report.h), each breakdown as [{name, cases}]. */
CANARY_OP(canary_op_report)
{
	g_autoptr(canary_access) access = canary_access_new(ctx->config, caller);
	struct canary_store_scope scope;
	if (!canary_access_count_scope(access, &scope, error))
		return NULL;
	gint64 from = 0, until = 0;
	gboolean has_from = FALSE, has_until = FALSE;
	if (!canary_control_arg_int(args, "from", &from, &has_from, error) ||
	    !canary_control_arg_int(args, "until", &until, &has_until, error))
		return NULL;
	if (!has_from || !has_until || until <= from) {
		g_set_error(error, CANARY_CONTROL_ERROR, CANARY_CONTROL_ERROR_USAGE,
			    "report needs \"from\" and a later \"until\"");
		return NULL;
	}
	g_autoptr(canary_report) r = canary_report_collect(ctx->store, &scope, from, until, error);
	if (r == NULL)
		return NULL;
	JsonObject *result = json_object_new();
	json_object_set_int_member(result, "from", r->from);
	json_object_set_int_member(result, "until", r->until);
	json_object_set_boolean_member(result, "all", scope.all);
	json_object_set_int_member(result, "received", r->received);
	json_object_set_int_member(result, "quarantined", r->quarantined);
	json_object_set_int_member(result, "purged", r->purged);
	json_object_set_array_member(result, "months", rows_json(r->months));
	json_object_set_array_member(result, "sections", rows_json(r->sections));
	json_object_set_array_member(result, "rules", rows_json(r->rules));
	json_object_set_array_member(result, "statuses", rows_json(r->statuses));
	json_object_set_array_member(result, "quarantine_reasons",
				     rows_json(r->quarantine_reasons));
	json_object_set_int_member(result, "acted", r->acted);
	json_object_set_int_member(result, "not_acted", r->not_acted);
	json_object_set_int_member(result, "median_seconds", r->median_seconds);
	json_object_set_int_member(result, "p90_seconds", r->p90_seconds);
	return result;
}

/* --- purge ------------------------------------------------------------------ */

/* The closed cases received before BEFORE, as purge candidates without a
 * rule. Returns a new array of struct canary_store_expired *. */
static GPtrArray *closed_before(struct canary_store *store, gint64 before, GError **error)
{
	struct canary_case_filter filter = {.status = CANARY_STATUS_CLOSED, .before = before};
	g_autoptr(GPtrArray) cases = canary_store_list_cases(store, &filter, error);
	if (cases == NULL)
		return NULL;
	GPtrArray *due = g_ptr_array_new_with_free_func((GDestroyNotify)canary_store_expired_free);
	for (guint i = 0; i < cases->len; i++) {
		const struct canary_case *c = cases->pdata[i];
		struct canary_store_expired *e = g_new0(struct canary_store_expired, 1);
		e->ref = g_strdup(c->ref);
		e->section = g_strdup(c->section);
		e->status = g_strdup(c->status);
		e->received_day = e->since = c->received_day;
		g_ptr_array_add(due, e);
	}
	return due;
}

static JsonArray *due_json(GPtrArray *due)
{
	JsonArray *list = json_array_new();
	for (guint i = 0; i < due->len; i++) {
		const struct canary_store_expired *e = due->pdata[i];
		JsonObject *o = json_object_new();
		json_object_set_string_member(o, "ref", e->ref);
		json_object_set_string_member(o, "section", e->section);
		json_object_set_string_member(o, "status", e->status);
		json_object_set_int_member(o, "received", e->received_day);
		json_object_set_int_member(o, "since", e->since);
		g_autofree char *rule = canary_retention_rule(e);
		if (rule != NULL)
			json_object_set_string_member(o, "rule", rule);
		else
			json_object_set_null_member(o, "rule");
		json_array_add_object_element(list, o);
	}
	return list;
}

/* purge {before, dry_run} (admin): the cases the retention policy no longer
 * keeps, or the closed ones received before BEFORE (a day, Unix UTC),
 * purged as the caller, then the database compacted. Answers {now, cases:
 * [{ref, section, status, received, since, rule}], purged, compact_error}
 * (COMPACT_ERROR only when the purge committed but VACUUM failed). */
CANARY_OP(canary_op_purge)
{
	g_autoptr(canary_access) access = canary_access_new(ctx->config, caller);
	if (!canary_access_require_role(access, CANARY_ROLE_ADMIN, error)) {
		g_prefix_error(error, "purge: ");
		return NULL;
	}
	gint64 before = 0;
	gboolean has_before = FALSE, dry_run = FALSE;
	if (!canary_control_arg_int(args, "before", &before, &has_before, error) ||
	    !canary_control_arg_bool(args, "dry_run", &dry_run, error))
		return NULL;
	if (!has_before && !canary_retention_configured(ctx->config)) {
		g_set_error(error, CANARY_CONTROL_ERROR, CANARY_CONTROL_ERROR_USAGE,
			    "purge needs --before DATE, or a retention policy: [retention] closed "
			    "or quarantined in %s, or retention in a routing.conf section (see "
			    "--help)",
			    ctx->config->path);
		return NULL;
	}
	gint64 now = g_get_real_time() / G_USEC_PER_SEC;
	g_autoptr(GPtrArray) due =
		has_before ? closed_before(ctx->store, before, error)
			   : canary_retention_due(ctx->config, ctx->store, now, error);
	if (due == NULL)
		return NULL;
	if (!dry_run && !canary_retention_purge(ctx->store, due, caller->user, error))
		return NULL;
	JsonObject *result = json_object_new();
	json_object_set_int_member(result, "now", now);
	json_object_set_array_member(result, "cases", due_json(due));
	json_object_set_boolean_member(result, "purged", !dry_run);
	/* Even with nothing purged now: an earlier, interrupted purge may have
	 * left free pages. */
	g_autoptr(GError) compact = NULL;
	if (!dry_run && !canary_store_vacuum(ctx->store, &compact))
		json_object_set_string_member(result, "compact_error", compact->message);
	return result;
}

/* --- health ----------------------------------------------------------------- */

/* health {} (admin): canary_health_run() as the answering side sees it
 * (its database, disk and key files). Answers {status, checks: [{name,
 * level, message, figures: [[name, value]...]}]}. */
CANARY_OP(canary_op_health)
{
	(void)args;
	g_autoptr(canary_access) access = canary_access_new(ctx->config, caller);
	if (!canary_access_require_role(access, CANARY_ROLE_ADMIN, error)) {
		g_prefix_error(error, "health: ");
		return NULL;
	}
	gint64 now = g_get_real_time() / G_USEC_PER_SEC;
	g_autoptr(GPtrArray) checks = canary_health_run(ctx->config, ctx->store, now, error);
	if (checks == NULL)
		return NULL;
	JsonArray *list = json_array_new();
	for (guint i = 0; i < checks->len; i++) {
		const struct canary_health_check *c = checks->pdata[i];
		JsonObject *o = json_object_new();
		json_object_set_string_member(o, "name", c->name);
		json_object_set_string_member(o, "level", canary_health_level_name(c->level));
		json_object_set_string_member(o, "message", c->message);
		JsonArray *figures = json_array_new();
		for (guint f = 0; f < c->figures->len; f++) {
			const struct canary_health_figure *fig =
				&g_array_index(c->figures, struct canary_health_figure, f);
			JsonArray *pair = json_array_new();
			json_array_add_string_element(pair, fig->name);
			json_array_add_int_element(pair, fig->value);
			json_array_add_array_element(figures, pair);
		}
		json_object_set_array_member(o, "figures", figures);
		json_array_add_object_element(list, o);
	}
	JsonObject *result = json_object_new();
	json_object_set_string_member(result, "status",
				      canary_health_level_name(canary_health_overall(checks)));
	json_object_set_array_member(result, "checks", list);
	return result;
}
