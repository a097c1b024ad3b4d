/* retention.c: the retention policy. Periods come from the configuration as
 * loaded now and are compared with facts in the store (when a case was
 * closed or received), never stamped on cases: a changed policy applies to
 * every case at the next run. */
#include "retention.h"
#include "values.h"

#include <string.h>

#define DAY 86400

/* Fills POLICY from CONFIG. SECTIONS and KEEP hold the sections that set a
 * period of their own; POLICY borrows them. */
static void build_policy(const struct canary_config *config, GPtrArray *sections, GArray *keep,
			 struct canary_store_retention *policy)
{
	if (config->rules != NULL) {
		const char *const *names = canary_routing_sections(config->rules);
		for (gsize i = 0; names[i] != NULL; i++) {
			guint64 seconds = 0;
			if (!canary_routing_section_retention(config->rules, names[i], &seconds))
				continue;
			g_ptr_array_add(sections, (gpointer)names[i]);
			g_array_append_val(keep, seconds);
		}
	}
	*policy = (struct canary_store_retention){
		.closed = config->retention.closed,
		.quarantined = config->retention.quarantined,
		.n_sections = sections->len,
		.sections = (const char *const *)sections->pdata,
		.section_closed = (const guint64 *)(gpointer)keep->data,
	};
}

gboolean canary_retention_configured(const struct canary_config *config)
{
	g_autoptr(GPtrArray) sections = g_ptr_array_new();
	g_autoptr(GArray) keep = g_array_new(FALSE, FALSE, sizeof(guint64));
	struct canary_store_retention policy;
	build_policy(config, sections, keep, &policy);
	gboolean any = policy.closed > 0 || policy.quarantined > 0;
	for (guint i = 0; i < keep->len && !any; i++)
		any = g_array_index(keep, guint64, i) > 0;
	return any;
}

GPtrArray *canary_retention_due(const struct canary_config *config, struct canary_store *store,
				gint64 now, GError **error)
{
	g_autoptr(GPtrArray) sections = g_ptr_array_new();
	g_autoptr(GArray) keep = g_array_new(FALSE, FALSE, sizeof(guint64));
	struct canary_store_retention policy;
	build_policy(config, sections, keep, &policy);
	return canary_store_list_expired(store, &policy, now, error);
}

char *canary_retention_format_period(guint64 seconds)
{
	if (seconds == 0)
		return g_strdup("forever");
	/* Periods are whole days (see canary_value_parse_period()). */
	return g_strdup_printf("%" G_GUINT64_FORMAT "d", seconds / DAY);
}

char *canary_retention_rule(const struct canary_store_expired *e)
{
	if (e->keep == 0)
		return NULL;
	g_autofree char *period = canary_retention_format_period(e->keep);
	if (strcmp(e->status, CANARY_STATUS_QUARANTINED) == 0)
		return g_strdup_printf("quarantined %s", period);
	if (e->section_rule)
		return g_strdup_printf("section %s %s", e->section, period);
	return g_strdup_printf("closed %s", period);
}

gboolean canary_retention_purge(struct canary_store *store, GPtrArray *cases, const char *actor,
				GError **error)
{
	if (cases->len == 0)
		return TRUE;
	if (!canary_store_begin(store, error))
		return FALSE;
	for (guint i = 0; i < cases->len; i++) {
		const struct canary_store_expired *e = cases->pdata[i];
		g_autofree char *rule = canary_retention_rule(e);
		g_autofree char *detail =
			rule != NULL ? g_strdup_printf("retention %s", rule) : NULL;
		if (!canary_store_delete_case(store, e->ref, error) ||
		    !canary_store_add_event(store, e->ref, actor, "purged", detail, error)) {
			canary_store_rollback(store);
			return FALSE;
		}
	}
	return canary_store_commit(store, error);
}

gboolean canary_retention_apply(const struct canary_config *config, struct canary_store *store,
				gint64 now, const char *actor, guint *purged_r, GError **error)
{
	*purged_r = 0;
	g_autoptr(GPtrArray) due = canary_retention_due(config, store, now, error);
	if (due == NULL || !canary_retention_purge(store, due, actor, error))
		return FALSE;
	*purged_r = due->len;
	/* Once per batch, not per case: VACUUM rewrites the whole file. */
	return due->len == 0 || canary_store_vacuum(store, error);
}
