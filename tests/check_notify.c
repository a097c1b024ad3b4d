/* check_notify.c: notices derived from the case history (notify.h): who is
 * told of what, counts and references only, once per event, digests at
 * most once a day, and a first look that starts at the end of the history. */
#include <check.h>
#include <string.h>

#include "notify.h"
#include "testutil.h"

static char *tmpdir, *dbpath;
static struct canary_store *store;
static struct canary_config *config;

/* 2026-03-02 10:00 UTC and the next day. */
#define NOW      ((gint64)1772445600)
#define TOMORROW (NOW + 86400)

static void setup(void)
{
	tmpdir = tu_make_tempdir();
	dbpath = g_build_filename(tmpdir, "canary.db", NULL);
	g_autoptr(GError) error = NULL;
	store = canary_store_open(dbpath, &error);
	ck_assert_msg(store != NULL, "%s", error ? error->message : "");
	g_autofree char *keys = g_build_filename(tmpdir, "keys", NULL);
	g_mkdir_with_parents(keys, 0700);
	g_free(tu_write_file(keys, "triage.pub", "x"));
	g_free(tu_write_file(keys, "africa.pub", "x"));
	g_autofree char *rules = tu_write_file(tmpdir, "routing.conf",
					       "[section triage]\n[section africa]\nnotify = "
					       "Desk@Example.org, head@example.org\n");
	g_autoptr(GPtrArray) problems = g_ptr_array_new_with_free_func(g_free);
	config = g_new0(struct canary_config, 1);
	config->rules = canary_routing_load(rules, "triage", problems);
	ck_assert_msg(config->rules != NULL, "%s",
		      problems->len > 0 ? (char *)problems->pdata[0] : "");
	config->routing.default_section = g_strdup("triage");
	config->notify.triage = g_strdup("triage@example.org");
	config->notify.custodian = g_strdup("keeper@example.org");
	config->notify.custodian_daily = TRUE;
}

static void teardown(void)
{
	canary_routing_free(config->rules);
	g_free(config->routing.default_section);
	g_free(config->notify.triage);
	g_free(config->notify.custodian);
	g_free(config);
	canary_store_close(&store);
	tu_rmtree(tmpdir);
	g_clear_pointer(&tmpdir, g_free);
	g_clear_pointer(&dbpath, g_free);
}

/* Inserts a case of SECTION; returns its reference. */
static char *insert_case(const char *section, guint n)
{
	guint8 hash[32] = {(guint8)n, 1};
	struct canary_case_new c = {.received_at = NOW,
				    .section = section,
				    .status = CANARY_STATUS_NEW,
				    .rule = "default",
				    .size = 1000,
				    .content_hash = hash};
	g_autoptr(GError) error = NULL;
	gint64 id = 0;
	char *ref = NULL;
	ck_assert_msg(canary_store_insert_case(store, &c, &id, &ref, &error), "%s",
		      error ? error->message : "");
	return ref;
}

static void add_event(const char *ref, const char *action, const char *detail)
{
	g_autoptr(GError) error = NULL;
	ck_assert_msg(canary_store_add_event(store, ref, "canaryd", action, detail, &error), "%s",
		      error ? error->message : "");
}

static GPtrArray *collect(gint64 now)
{
	g_autoptr(GError) error = NULL;
	GPtrArray *due = canary_notify_collect(config, store, now, &error);
	ck_assert_msg(due != NULL, "%s", error ? error->message : "");
	return due;
}

static struct canary_notice *find(GPtrArray *due, const char *list)
{
	for (guint i = 0; i < due->len; i++) {
		struct canary_notice *n = due->pdata[i];
		if (strcmp(n->list, list) == 0)
			return n;
	}
	return NULL;
}

static void mark_all(GPtrArray *due, gint64 now)
{
	for (guint i = 0; i < due->len; i++) {
		g_autoptr(GError) error = NULL;
		ck_assert_msg(canary_notice_mark_sent(store, due->pdata[i], now, &error), "%s",
			      error ? error->message : "");
	}
}

/* Each list is told of its own events, with counts and references, once. */
START_TEST(test_each_list_told_of_its_own)
{
	/* Before the first look: history nobody is told of. */
	g_autofree char *old = insert_case("africa", 9);
	add_event(old, "filed", "africa");
	g_autoptr(GPtrArray) first = collect(NOW);
	ck_assert_uint_eq(first->len, 0);

	g_autofree char *a1 = insert_case("africa", 1);
	g_autofree char *a2 = insert_case("africa", 2);
	g_autofree char *t1 = insert_case("triage", 3);
	g_autofree char *q1 = insert_case("triage", 4);
	add_event(a1, "filed", "africa");
	add_event(a2, "filed", "africa");
	add_event(t1, "filed", "triage");
	add_event(q1, "quarantined", "too-large");
	add_event(old, "follow-up", "message 2");
	add_event(a1, "drafted", "draft 1");
	g_autoptr(GPtrArray) due = collect(NOW);
	ck_assert_uint_eq(due->len, 3);

	struct canary_notice *africa = find(due, "section africa");
	ck_assert_ptr_nonnull(africa);
	ck_assert_str_eq(africa->to[0], "desk@example.org");
	ck_assert_str_eq(africa->to[1], "head@example.org");
	ck_assert_uint_eq(africa->new_cases, 2);
	ck_assert_uint_eq(africa->follow_ups, 1);
	ck_assert_uint_eq(africa->refs->len, 3);
	g_autofree char *subject = canary_notice_subject(africa);
	ck_assert_str_eq(subject, "canary: 2 new cases, 1 follow-up (africa)");
	g_autofree char *text = canary_notice_text(africa);
	ck_assert_ptr_nonnull(strstr(text, a1));
	ck_assert_ptr_nonnull(strstr(text, a2));
	ck_assert_ptr_nonnull(strstr(text, old));
	ck_assert_ptr_null(strstr(text, t1));

	struct canary_notice *triage = find(due, "triage");
	ck_assert_ptr_nonnull(triage);
	ck_assert_uint_eq(triage->new_cases, 1);
	ck_assert_uint_eq(triage->quarantined, 1);
	g_autofree char *triage_subject = canary_notice_subject(triage);
	ck_assert_str_eq(triage_subject, "canary: 1 new case, 1 quarantined (triage)");

	struct canary_notice *custodian = find(due, "custodian");
	ck_assert_ptr_nonnull(custodian);
	ck_assert_uint_eq(custodian->drafts, 1);
	ck_assert(custodian->daily);

	/* Not marked sent (the MTA was down): told again at the next pass. */
	g_autoptr(GPtrArray) again = collect(NOW);
	ck_assert_uint_eq(again->len, 3);
	mark_all(again, NOW);
	g_autoptr(GPtrArray) after = collect(NOW);
	ck_assert_uint_eq(after->len, 0);
}
END_TEST

/* A daily list: at most one a day, with what came since. */
START_TEST(test_daily_digest_once_a_day)
{
	g_autoptr(GPtrArray) first = collect(NOW);
	ck_assert_uint_eq(first->len, 0);
	g_autofree char *a = insert_case("africa", 1);
	add_event(a, "drafted", "draft 1");
	g_autoptr(GPtrArray) due = collect(NOW);
	struct canary_notice *custodian = find(due, "custodian");
	ck_assert_ptr_nonnull(custodian);
	mark_all(due, NOW);

	add_event(a, "drafted", "draft 2");
	add_event(a, "drafted", "draft 3");
	g_autoptr(GPtrArray) same_day = collect(NOW + 3600);
	ck_assert_ptr_null(find(same_day, "custodian"));
	g_autoptr(GPtrArray) next_day = collect(TOMORROW);
	custodian = find(next_day, "custodian");
	ck_assert_ptr_nonnull(custodian);
	ck_assert_uint_eq(custodian->drafts, 2);
	g_autofree char *subject = canary_notice_subject(custodian);
	ck_assert_str_eq(subject, "canary: 2 drafts waiting (custodian)");
}
END_TEST

/* A notice that cannot be sent (here: no [smtp]) is marked nothing and is
 * due again at the next pass. */
START_TEST(test_failed_notice_due_again)
{
	g_autoptr(GPtrArray) first = collect(NOW);
	g_autofree char *a = insert_case("africa", 1);
	add_event(a, "filed", "africa");
	g_setenv("CANARY_TEST_NOW", "1772445600", TRUE);
	ck_assert_uint_eq(canary_notify_send_due(config, store), 0);
	g_unsetenv("CANARY_TEST_NOW");
	g_autoptr(GPtrArray) due = collect(NOW);
	struct canary_notice *africa = find(due, "section africa");
	ck_assert_ptr_nonnull(africa);
	ck_assert_uint_eq(africa->new_cases, 1);
}
END_TEST

/* One acknowledgement a day per keyed sender; the next day, again. */
START_TEST(test_acknowledge_once_a_day)
{
	guint8 sender[32] = {7, 7, 7}, other[32] = {8};
	gboolean first = FALSE;
	g_autoptr(GError) error = NULL;
	ck_assert(canary_store_acknowledge_once(store, sender, NOW, &first, &error));
	ck_assert(first);
	ck_assert(canary_store_acknowledge_once(store, sender, NOW + 3600, &first, &error));
	ck_assert(!first);
	ck_assert(canary_store_acknowledge_once(store, other, NOW + 3600, &first, &error));
	ck_assert(first);
	ck_assert(canary_store_acknowledge_once(store, sender, NOW + 86400, &first, &error));
	ck_assert(first);
}
END_TEST

static Suite *notify_suite(void)
{
	Suite *s = suite_create("notify");
	TCase *tc = tcase_create("collect");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_each_list_told_of_its_own);
	tcase_add_test(tc, test_daily_digest_once_a_day);
	tcase_add_test(tc, test_failed_notice_due_again);
	tcase_add_test(tc, test_acknowledge_once_a_day);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run_suite(notify_suite());
}
