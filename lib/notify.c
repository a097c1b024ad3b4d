/* notify.c: notices derived from the case history (see notify.h). */
#include "notify.h"

#include <string.h>

#include "log.h"
#include "outgoing.h"
#include "smtp.h"
#include "values.h"

/* Events read per query: the history since the last pass is short. */
#define EVENTS_PER_READ 500

void canary_notice_free(struct canary_notice *notice)
{
	if (notice == NULL)
		return;
	g_free(notice->list);
	g_free(notice->section);
	g_strfreev(notice->to);
	if (notice->refs != NULL)
		g_ptr_array_unref(notice->refs);
	g_free(notice);
}

static struct canary_notice *notice_new(const char *list, const char *section,
					const char *const *to, gboolean daily)
{
	struct canary_notice *n = g_new0(struct canary_notice, 1);
	n->list = g_strdup(list);
	n->section = g_strdup(section);
	n->to = g_strdupv((char **)to);
	n->daily = daily;
	n->refs = g_ptr_array_new_with_free_func(g_free);
	return n;
}

/* Every list CONFIG names, without counts yet. */
static GPtrArray *lists_of(const struct canary_config *config)
{
	GPtrArray *lists = g_ptr_array_new_with_free_func((GDestroyNotify)canary_notice_free);
	const struct {
		const char *name, *addresses;
		gboolean daily;
	} roles[] = {
		{"triage", config->notify.triage, config->notify.triage_daily},
		{"custodian", config->notify.custodian, config->notify.custodian_daily},
	};
	for (gsize i = 0; i < G_N_ELEMENTS(roles); i++) {
		g_autofree char *bad = NULL;
		g_auto(GStrv) to = roles[i].addresses != NULL
					   ? canary_value_split_addresses(roles[i].addresses, &bad)
					   : NULL;
		if (to != NULL && to[0] != NULL)
			g_ptr_array_add(lists, notice_new(roles[i].name, NULL,
							  (const char *const *)to, roles[i].daily));
	}
	const char *const *sections =
		config->rules != NULL ? canary_routing_sections(config->rules) : NULL;
	for (gsize i = 0; sections != NULL && sections[i] != NULL; i++) {
		gboolean daily = FALSE;
		const char *const *to =
			canary_routing_section_notify_full(config->rules, sections[i], &daily);
		g_autofree char *name = g_strdup_printf("section %s", sections[i]);
		if (to != NULL)
			g_ptr_array_add(lists, notice_new(name, sections[i], to, daily));
	}
	return lists;
}

/* The section of case REF now, or NULL when it is gone. New string. */
static char *section_of(struct canary_store *store, const char *ref)
{
	g_autoptr(canary_case) c = canary_store_get_case(store, ref, NULL);
	return c != NULL ? g_strdup(c->section) : NULL;
}

static void add_ref(struct canary_notice *n, const char *ref)
{
	for (guint i = 0; i < n->refs->len; i++)
		if (strcmp(n->refs->pdata[i], ref) == 0)
			return;
	g_ptr_array_add(n->refs, g_strdup(ref));
}

/* Counts event E into N if it is N's to know. */
static void count_event(struct canary_notice *n, const struct canary_config *config,
			struct canary_store *store, const struct canary_event *e)
{
	const char *default_section = config->routing.default_section;
	gboolean filed = strcmp(e->action, "filed") == 0 && e->detail != NULL;
	gboolean mine = FALSE;
	if (strcmp(n->list, "triage") == 0) {
		if (filed && strcmp(e->detail, default_section) == 0)
			mine = TRUE, n->new_cases++;
		else if (strcmp(e->action, "quarantined") == 0)
			mine = TRUE, n->quarantined++;
	} else if (strcmp(n->list, "custodian") == 0) {
		if (strcmp(e->action, "drafted") == 0)
			mine = TRUE, n->drafts++;
	} else if (filed && strcmp(e->detail, n->section) == 0) {
		mine = TRUE, n->new_cases++;
	} else if (strcmp(e->action, "follow-up") == 0) {
		g_autofree char *section = section_of(store, e->ref);
		if (g_strcmp0(section, n->section) == 0)
			mine = TRUE, n->follow_ups++;
	}
	if (mine)
		add_ref(n, e->ref);
}

static char *state_key(const struct canary_notice *n, const char *what)
{
	return g_strdup_printf("notify.%s.%s", n->list, what);
}

static gboolean read_state_int(struct canary_store *store, const char *key, gint64 *value_r,
			       gboolean *set_r, GError **error)
{
	g_autofree char *value = NULL;
	if (!canary_store_get_state(store, key, &value, error))
		return FALSE;
	*set_r = value != NULL;
	*value_r = value != NULL ? g_ascii_strtoll(value, NULL, 10) : 0;
	return TRUE;
}

/* The id of the last event in the history (0: none). */
static gboolean last_event_id(struct canary_store *store, gint64 *id_r, GError **error)
{
	*id_r = 0;
	for (;;) {
		g_autoptr(GPtrArray) events =
			canary_store_list_events_after(store, *id_r, EVENTS_PER_READ, error);
		if (events == NULL)
			return FALSE;
		if (events->len == 0)
			return TRUE;
		*id_r = ((struct canary_event *)events->pdata[events->len - 1])->id;
	}
}

/* Counts the events after N's last one into N. */
static gboolean collect_one(struct canary_notice *n, const struct canary_config *config,
			    struct canary_store *store, GError **error)
{
	g_autofree char *key = state_key(n, "last");
	gboolean set = FALSE;
	if (!read_state_int(store, key, &n->last_event, &set, error))
		return FALSE;
	if (!set) {
		if (!last_event_id(store, &n->last_event, error))
			return FALSE;
		g_autofree char *value = g_strdup_printf("%" G_GINT64_FORMAT, n->last_event);
		return canary_store_set_state(store, key, value, error);
	}
	for (;;) {
		g_autoptr(GPtrArray) events = canary_store_list_events_after(
			store, n->last_event, EVENTS_PER_READ, error);
		if (events == NULL)
			return FALSE;
		if (events->len == 0)
			return TRUE;
		for (guint i = 0; i < events->len; i++) {
			const struct canary_event *e = events->pdata[i];
			count_event(n, config, store, e);
			n->last_event = e->id;
		}
	}
}

GPtrArray *canary_notify_collect(const struct canary_config *config, struct canary_store *store,
				 gint64 now, GError **error)
{
	g_autoptr(GPtrArray) lists = lists_of(config);
	GPtrArray *due = g_ptr_array_new_with_free_func((GDestroyNotify)canary_notice_free);
	gint64 today = now - now % 86400;
	for (guint i = 0; i < lists->len; i++) {
		struct canary_notice *n = lists->pdata[i];
		g_autofree char *day_key = state_key(n, "day");
		gint64 told_day = 0;
		gboolean set = FALSE;
		if (!read_state_int(store, day_key, &told_day, &set, error) ||
		    !collect_one(n, config, store, error)) {
			g_ptr_array_unref(due);
			return NULL;
		}
		if (n->refs->len == 0 || (n->daily && set && told_day >= today))
			continue;
		g_ptr_array_add(due, g_ptr_array_steal_index(lists, i--));
	}
	return due;
}

/* Appends "N thing(s)" to S, comma-separated, when N > 0. */
static void append_count(GString *s, guint n, const char *one, const char *many)
{
	if (n == 0)
		return;
	g_string_append_printf(s, "%s%u %s", s->len > 0 ? ", " : "", n, n == 1 ? one : many);
}

static char *counts_of(const struct canary_notice *n)
{
	GString *s = g_string_new(NULL);
	append_count(s, n->new_cases, "new case", "new cases");
	append_count(s, n->follow_ups, "follow-up", "follow-ups");
	append_count(s, n->quarantined, "quarantined", "quarantined");
	append_count(s, n->drafts, "draft waiting", "drafts waiting");
	return g_string_free(s, FALSE);
}

char *canary_notice_subject(const struct canary_notice *notice)
{
	g_autofree char *counts = counts_of(notice);
	const char *who = notice->section != NULL ? notice->section : notice->list;
	return g_strdup_printf("canary: %s (%s)", counts, who);
}

char *canary_notice_text(const struct canary_notice *notice)
{
	g_autofree char *counts = counts_of(notice);
	GString *s = g_string_new(NULL);
	g_string_append_printf(s, "%s%s.\n\nCases:\n", notice->daily ? "Today: " : "", counts);
	for (guint i = 0; i < notice->refs->len; i++)
		g_string_append_printf(s, "  %s\n", (const char *)notice->refs->pdata[i]);
	g_string_append(s, "\nOpen them with canary show REFERENCE.\n");
	return g_string_free(s, FALSE);
}

gboolean canary_notice_mark_sent(struct canary_store *store, const struct canary_notice *notice,
				 gint64 now, GError **error)
{
	g_autofree char *last_key = state_key(notice, "last");
	g_autofree char *day_key = state_key(notice, "day");
	g_autofree char *last = g_strdup_printf("%" G_GINT64_FORMAT, notice->last_event);
	g_autofree char *day = g_strdup_printf("%" G_GINT64_FORMAT, now - now % 86400);
	return canary_store_set_state(store, last_key, last, error) &&
	       canary_store_set_state(store, day_key, day, error);
}

/* The clock; test builds may set it ($CANARY_TEST_NOW). */
static gint64 notify_now(void)
{
#ifdef CANARY_TEST_KDF
	const char *now = g_getenv("CANARY_TEST_NOW");
	if (now != NULL)
		return g_ascii_strtoll(now, NULL, 10);
#endif
	return g_get_real_time() / G_USEC_PER_SEC;
}

/* Composes and sends NOTICE. */
static gboolean send_notice(const struct canary_config *config, const struct canary_notice *notice,
			    GError **error)
{
	g_autofree char *subject = canary_notice_subject(notice);
	g_autofree char *text = canary_notice_text(notice);
	struct canary_outgoing m = {
		.kind = CANARY_OUTGOING_AUTO_GENERATED,
		.from = config->smtp.from,
		.to = (const char *const *)notice->to,
		.subject = subject,
		.text = text,
	};
	g_autoptr(GBytes) message = canary_outgoing_compose(&m, NULL, error);
	return message != NULL && canary_smtp_send(config, (const char *const *)notice->to,
						   g_strv_length(notice->to), message, error);
}

guint canary_notify_send_due(const struct canary_config *config, struct canary_store *store)
{
	gint64 now = notify_now();
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) due = canary_notify_collect(config, store, now, &error);
	if (due == NULL) {
		canary_warning("notices: %s; tried again after the next pass", error->message);
		return 0;
	}
	guint sent = 0;
	for (guint i = 0; i < due->len; i++) {
		const struct canary_notice *n = due->pdata[i];
		g_clear_error(&error);
		/* The error names the server, never a recipient (smtp.h). */
		if (!send_notice(config, n, &error)) {
			canary_warning("notice to %s (%u case(s)) not sent: %s; tried again after "
				       "the next pass",
				       n->list, n->refs->len, error->message);
			continue;
		}
		if (!canary_notice_mark_sent(store, n, now, &error)) {
			canary_warning("notice to %s sent but not recorded: %s", n->list,
				       error->message);
			continue;
		}
		canary_info("notice to %s sent (%u case(s))", n->list, n->refs->len);
		sent++;
	}
	return sent;
}

struct canary_notifier {
	struct canary_config *config;
	struct canary_store *store;
	GThread *thread;
	GMutex lock;
	GCond wake;
	gboolean woken, stopping;
};

static gpointer notifier_run(gpointer data)
{
	struct canary_notifier *n = data;
	for (;;) {
		g_mutex_lock(&n->lock);
		while (!n->woken && !n->stopping)
			g_cond_wait(&n->wake, &n->lock);
		gboolean stop = n->stopping;
		n->woken = FALSE;
		g_mutex_unlock(&n->lock);
		if (stop)
			return NULL;
		canary_notify_send_due(n->config, n->store);
	}
}

struct canary_notifier *canary_notifier_start(const char *config_path)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(canary_config) config = canary_config_load(config_path, &error);
	if (config == NULL) {
		canary_warning("notices: %s", error->message);
		return NULL;
	}
	if (config->smtp.url == NULL || !canary_config_sends_mail(config))
		return NULL;
	struct canary_store *store = canary_store_open(config->store.database, &error);
	if (store == NULL) {
		canary_warning("notices: %s; none will be sent", error->message);
		return NULL;
	}
	/* A list seen for the first time starts here, before canaryd's first
	 * pass: what that pass files is news, what came before is not. */
	g_autoptr(GPtrArray) primed =
		canary_notify_collect(config, store, g_get_real_time() / G_USEC_PER_SEC, &error);
	if (primed == NULL) {
		canary_warning("notices: %s", error->message);
		g_clear_error(&error);
	}
	struct canary_notifier *n = g_new0(struct canary_notifier, 1);
	n->config = g_steal_pointer(&config);
	n->store = store;
	g_mutex_init(&n->lock);
	g_cond_init(&n->wake);
	n->thread = g_thread_new("notices", notifier_run, n);
	return n;
}

void canary_notifier_wake(struct canary_notifier *notifier)
{
	if (notifier == NULL)
		return;
	g_mutex_lock(&notifier->lock);
	notifier->woken = TRUE;
	g_cond_signal(&notifier->wake);
	g_mutex_unlock(&notifier->lock);
}

void canary_notifier_stop(struct canary_notifier *notifier)
{
	if (notifier == NULL)
		return;
	g_mutex_lock(&notifier->lock);
	notifier->stopping = TRUE;
	g_cond_signal(&notifier->wake);
	g_mutex_unlock(&notifier->lock);
	g_thread_join(notifier->thread);
	canary_store_close(&notifier->store);
	canary_config_free(notifier->config);
	g_mutex_clear(&notifier->lock);
	g_cond_clear(&notifier->wake);
	g_free(notifier);
}
