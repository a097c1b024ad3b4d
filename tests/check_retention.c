/* check_retention.c: the retention policy on a real database: periods per
 * section and for quarantined cases, counted from closing (or receipt),
 * purge --dry-run changing nothing, purge leaving no content in the file or
 * its WAL and a "purged" event with the reference and rule, a changed
 * policy applying to existing cases, bad periods refused with file, group
 * and key, and canaryd applying the policy once a day. */
#include <string.h>

#include "config.h"
#include "canaryd.h"
#include "dovecot.h"
#include "health.h"
#include "retention.h"
#include "store.h"
#include "testutil.h"
#include "values.h"

#define DAY 86400

static char *tmpdir;
static char *config_path;
static char *db_path;

static const char routing_conf[] = "[section triage]\npublic_key = keys/triage.pub\n"
				   "[section mena]\npublic_key = keys/section.pub\n"
				   "retention = 730d\n"
				   "[section asia]\npublic_key = keys/other.pub\n"
				   "retention = forever\n";

static const char policy_conf[] = "[routing]\nrules = routing.conf\ndefault_section = triage\n"
				  "[retention]\nclosed = 365d\nquarantined = 90d\n";

static char *base_config; /* canary.conf as made, without EXTRA */

/* Rewrites canary.conf: the home's base plus EXTRA (whole groups). */
static void set_config(const char *extra)
{
	g_autofree char *text = g_strconcat(base_config, extra, NULL);
	ck_assert(g_file_set_contents(config_path, text, -1, NULL));
}

static void setup(void)
{
	tmpdir = tu_make_tempdir();
	g_free(tu_write_file(tmpdir, "routing.conf", routing_conf));
	config_path = tu_make_canary_home(tmpdir, TRUE, NULL);
	ck_assert(g_file_get_contents(config_path, &base_config, NULL, NULL));
	set_config(policy_conf);
	db_path = g_build_filename(tmpdir, "state", "canary.db", NULL);
}

static void teardown(void)
{
	tu_rmtree(tmpdir);
	g_clear_pointer(&tmpdir, g_free);
	g_clear_pointer(&config_path, g_free);
	g_clear_pointer(&db_path, g_free);
	g_clear_pointer(&base_config, g_free);
}

#define canary(out_r, err_r, ...) tu_run_canary(config_path, out_r, err_r, __VA_ARGS__)

static gint64 now_s(void)
{
	return g_get_real_time() / G_USEC_PER_SEC;
}

static struct canary_store *open_store(void)
{
	g_autoptr(GError) error = NULL;
	struct canary_store *store = canary_store_open(db_path, &error);
	ck_assert_msg(store != NULL, "%s", error ? error->message : "");
	return store;
}

static struct canary_config *load_config(void)
{
	g_autoptr(GError) error = NULL;
	struct canary_config *config = canary_config_load(config_path, &error);
	ck_assert_msg(config != NULL, "%s", error ? error->message : "");
	return config;
}

/* The clear stand-ins for case N's sealed subject and text: what must be
 * gone from the file after a purge. */
static char *marker(guint n, const char *field)
{
	return g_strdup_printf("%s of case %u: Amina Diallo, questioned in Geneva", field, n);
}

/* Inserts case N of SECTION and STATUS received DAYS ago, with two fields
 * holding markers. Returns its reference. */
static char *add_case(struct canary_store *store, guint n, const char *section, const char *status,
		      gint64 days)
{
	guint8 hash[32] = {0};
	memcpy(hash, &n, sizeof(n));
	gint64 received = now_s() - days * DAY;
	gboolean quarantined = strcmp(status, CANARY_STATUS_QUARANTINED) == 0;
	struct canary_case_new c = {
		.received_at = received,
		.section = section,
		.status = quarantined ? status : CANARY_STATUS_NEW,
		.rule = "default",
		.quarantine_reason = quarantined ? "unparseable" : NULL,
		.size = 1000,
		.content_hash = hash,
	};
	g_autoptr(GError) error = NULL;
	gint64 id = 0;
	char *ref = NULL;
	ck_assert_msg(canary_store_insert_case(store, &c, &id, &ref, &error), "%s",
		      error ? error->message : "");
	static const char *const fields[] = {"subject", "text"};
	for (gsize i = 0; i < G_N_ELEMENTS(fields); i++) {
		g_autofree char *text = marker(n, fields[i]);
		g_autoptr(GBytes) bytes = g_bytes_new(text, strlen(text));
		ck_assert(canary_store_put_blob(store, id, fields[i], bytes, &error));
	}
	if (strcmp(status, CANARY_STATUS_CLOSED) == 0)
		ck_assert(canary_store_set_status(store, ref, CANARY_STATUS_CLOSED, &error));
	return ref;
}

/* Records that an officer closed REF DAYS ago, as canary status did then:
 * the history is written with that time and a valid chain (events must be
 * added oldest first, as they would have been). */
static void closed_ago(const char *ref, gint64 days)
{
	tu_add_event_at(db_path, ref, now_s() - days * DAY, "officer", CANARY_ACTION_CLOSED, NULL);
}

/* The cases of the standard set, by number (1-based). */
static char *refs[10];

enum {
	A_TRIAGE_CLOSED_400 = 1, /* due: closed 365d */
	B_TRIAGE_CLOSED_300,     /* kept: counts from closing, received 500 days ago */
	C_MENA_CLOSED_400,       /* kept: mena keeps 730d */
	D_MENA_CLOSED_800,       /* due: section mena 730d */
	E_ASIA_CLOSED_2000,      /* kept: asia keeps forever */
	F_QUARANTINED_100,       /* due: quarantined 90d */
	G_QUARANTINED_30,        /* kept */
	H_NEW_2000,              /* kept: only closed and quarantined cases go */
	I_CLOSED_NO_EVENT_400,   /* due: no closing recorded, counts from receipt */
	N_CASES = I_CLOSED_NO_EVENT_400
};

static void make_cases(void)
{
	struct canary_store *store = open_store();
	refs[1] = add_case(store, 1, "triage", CANARY_STATUS_CLOSED, 500);
	refs[2] = add_case(store, 2, "triage", CANARY_STATUS_CLOSED, 500);
	refs[3] = add_case(store, 3, "mena", CANARY_STATUS_CLOSED, 500);
	refs[4] = add_case(store, 4, "mena", CANARY_STATUS_CLOSED, 900);
	refs[5] = add_case(store, 5, "asia", CANARY_STATUS_CLOSED, 2100);
	refs[6] = add_case(store, 6, "triage", CANARY_STATUS_QUARANTINED, 100);
	refs[7] = add_case(store, 7, "triage", CANARY_STATUS_QUARANTINED, 30);
	refs[8] = add_case(store, 8, "triage", CANARY_STATUS_NEW, 2000);
	refs[9] = add_case(store, 9, "triage", CANARY_STATUS_CLOSED, 400);
	canary_store_close(&store);
	/* Oldest first, as the history was written. */
	closed_ago(refs[E_ASIA_CLOSED_2000], 2000);
	closed_ago(refs[D_MENA_CLOSED_800], 800);
	closed_ago(refs[A_TRIAGE_CLOSED_400], 400);
	closed_ago(refs[C_MENA_CLOSED_400], 400);
	closed_ago(refs[B_TRIAGE_CLOSED_300], 300);
}

static void free_cases(void)
{
	for (gsize i = 0; i < G_N_ELEMENTS(refs); i++)
		g_clear_pointer(&refs[i], g_free);
}

static gint64 count_cases(void)
{
	struct canary_store *store = open_store();
	g_autoptr(GPtrArray) all = canary_store_list_cases(store, NULL, NULL);
	canary_store_close(&store);
	return all->len;
}

static gboolean case_exists(const char *ref)
{
	struct canary_store *store = open_store();
	g_autoptr(canary_case) c = canary_store_get_case(store, ref, NULL);
	canary_store_close(&store);
	return c != NULL;
}

/* Occurrences of case N's markers in the database file and its WAL. */
static guint markers_in_files(guint n)
{
	g_autofree char *wal = g_strconcat(db_path, "-wal", NULL);
	guint found = 0;
	static const char *const fields[] = {"subject", "text"};
	for (gsize i = 0; i < G_N_ELEMENTS(fields); i++) {
		g_autofree char *m = marker(n, fields[i]);
		found += tu_count_in_file(db_path, m, strlen(m)) +
			 tu_count_in_file(wal, m, strlen(m));
	}
	return found;
}

/* The detail of REF's "purged" event, or NULL (ck fails if there are two). */
static char *purged_detail(const char *ref)
{
	struct canary_store *store = open_store();
	g_autoptr(GPtrArray) events = canary_store_list_events(store, ref, NULL);
	canary_store_close(&store);
	char *detail = NULL;
	guint n = 0;
	for (guint i = 0; i < events->len; i++) {
		const struct canary_event *e = events->pdata[i];
		if (strcmp(e->action, "purged") == 0) {
			n++;
			detail = g_strdup(e->detail != NULL ? e->detail : "(none)");
		}
	}
	ck_assert_uint_le(n, 1);
	return detail;
}

START_TEST(test_parse_period)
{
	static const struct {
		const char *text;
		gboolean ok;
		guint64 seconds;
	} cases[] = {
		{"365d", TRUE, 365 * DAY},
		{"12w", TRUE, 84 * DAY},
		{"2y", TRUE, 730 * DAY},
		{"1d", TRUE, DAY},
		{"100y", TRUE, 36500ULL * DAY},
		{"forever", TRUE, 0},
		{"365", FALSE, 0},
		{"0d", FALSE, 0},
		{"101y", FALSE, 0},
		{"5m", FALSE, 0},
		{"12h", FALSE, 0},
		{"d", FALSE, 0},
		{"", FALSE, 0},
		{"-1d", FALSE, 0},
		{"1 d", FALSE, 0},
		{"never", FALSE, 0},
		{"99999999999999999999d", FALSE, 0},
	};
	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		guint64 seconds = 12345;
		gboolean ok = canary_value_parse_period(cases[i].text, &seconds);
		ck_assert_msg(ok == cases[i].ok, "%s", cases[i].text);
		if (ok)
			ck_assert_uint_eq(seconds, cases[i].seconds);
	}
}
END_TEST

START_TEST(test_bad_periods_name_file_group_key)
{
	set_config("[routing]\nrules = routing.conf\n[retention]\nclosed = 365\n"
		   "quarantined = 3 months\n");
	g_autoptr(GError) error = NULL;
	g_autoptr(canary_config) config = canary_config_load(config_path, &error);
	ck_assert_ptr_null(config);
	ck_assert_msg(strstr(error->message, "canary.conf: [retention] closed: '365' is not a "
					     "period; expected a period such as 365d") != NULL,
		      "%s", error->message);
	ck_assert_ptr_nonnull(strstr(error->message, "[retention] quarantined: '3 months'"));

	g_free(tu_write_file(
		tmpdir, "routing.conf",
		"[section triage]\npublic_key = keys/triage.pub\nretention = 2 years\n"));
	set_config(policy_conf);
	g_clear_error(&error);
	g_autoptr(canary_config) config2 = canary_config_load(config_path, &error);
	ck_assert_ptr_null(config2);
	ck_assert_msg(strstr(error->message, "routing.conf: [section triage] retention: '2 years' "
					     "is not a period; expected") != NULL,
		      "%s", error->message);
}
END_TEST

START_TEST(test_due_per_section_and_quarantined)
{
	make_cases();
	g_autoptr(canary_config) config = load_config();
	ck_assert(canary_retention_configured(config));
	struct canary_store *store = open_store();
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) due = canary_retention_due(config, store, now_s(), &error);
	canary_store_close(&store);
	ck_assert_msg(due != NULL, "%s", error ? error->message : "");
	ck_assert_uint_eq(due->len, 4);
	static const struct {
		guint n;
		const char *rule;
	} expected[] = {
		{D_MENA_CLOSED_800, "section mena 730d"},
		{A_TRIAGE_CLOSED_400, "closed 365d"},
		{I_CLOSED_NO_EVENT_400, "closed 365d"},
		{F_QUARANTINED_100, "quarantined 90d"},
	};
	for (gsize i = 0; i < G_N_ELEMENTS(expected); i++) {
		gboolean found = FALSE;
		for (guint j = 0; j < due->len; j++) {
			const struct canary_store_expired *e = due->pdata[j];
			if (strcmp(e->ref, refs[expected[i].n]) != 0)
				continue;
			found = TRUE;
			g_autofree char *rule = canary_retention_rule(e);
			ck_assert_str_eq(rule, expected[i].rule);
		}
		ck_assert_msg(found, "case %u is not due", expected[i].n);
	}
	/* Oldest period first: mena's case closed 800 days ago leads. */
	ck_assert_str_eq(((struct canary_store_expired *)due->pdata[0])->ref,
			 refs[D_MENA_CLOSED_800]);
	free_cases();
}
END_TEST

START_TEST(test_dry_run_purge_and_policy_change)
{
	make_cases();
	ck_assert_uint_gt(markers_in_files(A_TRIAGE_CLOSED_400), 0); /* the search works */

	/* --dry-run lists reference, section, status, age and rule; changes nothing. */
	g_autofree char *dry = NULL, *err = NULL;
	ck_assert_msg(canary(&dry, &err, "purge", "--dry-run", NULL) == 0, "%s", err);
	g_autofree char *line_d = g_strdup_printf("would purge %s (section mena, closed, closed "
						  "800d ago, rule section mena 730d)",
						  refs[D_MENA_CLOSED_800]);
	ck_assert_msg(strstr(dry, line_d) != NULL, "%s", dry);
	g_autofree char *line_f = g_strdup_printf("would purge %s (section triage, quarantined, "
						  "received 100d ago, rule quarantined 90d)",
						  refs[F_QUARANTINED_100]);
	ck_assert_msg(strstr(dry, line_f) != NULL, "%s", dry);
	ck_assert_ptr_nonnull(strstr(dry, refs[A_TRIAGE_CLOSED_400]));
	ck_assert_ptr_nonnull(strstr(dry, refs[I_CLOSED_NO_EVENT_400]));
	ck_assert_ptr_nonnull(strstr(dry, "4 cases would be purged"));
	static const guint kept[] = {B_TRIAGE_CLOSED_300, C_MENA_CLOSED_400, E_ASIA_CLOSED_2000,
				     G_QUARANTINED_30, H_NEW_2000};
	for (gsize i = 0; i < G_N_ELEMENTS(kept); i++)
		ck_assert_ptr_null(strstr(dry, refs[kept[i]]));
	ck_assert_ptr_null(strstr(dry, "Amina"));
	ck_assert_int_eq(count_cases(), N_CASES);
	ck_assert_uint_gt(markers_in_files(D_MENA_CLOSED_800), 0);

	/* The purge: cases, content and sources gone; history kept. */
	g_autofree char *out = NULL, *err2 = NULL;
	ck_assert_msg(canary(&out, &err2, "purge", NULL) == 0, "%s", err2);
	ck_assert_msg(strstr(out, "4 cases purged") != NULL, "%s", out);
	ck_assert_int_eq(count_cases(), N_CASES - 4);
	static const guint gone[] = {A_TRIAGE_CLOSED_400, D_MENA_CLOSED_800, F_QUARANTINED_100,
				     I_CLOSED_NO_EVENT_400};
	for (gsize i = 0; i < G_N_ELEMENTS(gone); i++) {
		ck_assert(!case_exists(refs[gone[i]]));
		ck_assert_uint_eq(markers_in_files(gone[i]), 0);
	}
	for (gsize i = 0; i < G_N_ELEMENTS(kept); i++) {
		ck_assert(case_exists(refs[kept[i]]));
		ck_assert_uint_gt(markers_in_files(kept[i]), 0);
	}
	g_autofree char *detail_d = purged_detail(refs[D_MENA_CLOSED_800]);
	ck_assert_str_eq(detail_d, "retention section mena 730d");
	g_autofree char *detail_f = purged_detail(refs[F_QUARANTINED_100]);
	ck_assert_str_eq(detail_f, "retention quarantined 90d");
	g_autofree char *history = NULL;
	ck_assert_int_eq(canary(&history, NULL, "history", refs[A_TRIAGE_CLOSED_400], NULL), 0);
	ck_assert_ptr_nonnull(strstr(history, "retention closed 365d"));
	ck_assert_int_eq(canary(NULL, NULL, "audit", "--verify", NULL), 0);

	/* A second run finds nothing. */
	g_autofree char *again = NULL;
	ck_assert_int_eq(canary(&again, NULL, "purge", NULL), 0);
	ck_assert_ptr_nonnull(strstr(again, "0 cases purged"));

	/* Shorter periods apply to the cases already stored. */
	g_free(tu_write_file(tmpdir, "routing.conf",
			     "[section triage]\npublic_key = keys/triage.pub\n"
			     "[section mena]\npublic_key = keys/section.pub\nretention = 1y\n"
			     "[section asia]\npublic_key = keys/other.pub\nretention = forever\n"));
	set_config("[routing]\nrules = routing.conf\ndefault_section = triage\n"
		   "[retention]\nclosed = 200d\n");
	g_autofree char *out2 = NULL, *err3 = NULL;
	ck_assert_msg(canary(&out2, &err3, "purge", NULL) == 0, "%s", err3);
	ck_assert_msg(strstr(out2, "2 cases purged") != NULL, "%s", out2);
	ck_assert(!case_exists(refs[B_TRIAGE_CLOSED_300]));
	ck_assert(!case_exists(refs[C_MENA_CLOSED_400]));
	ck_assert(case_exists(refs[E_ASIA_CLOSED_2000]));
	ck_assert(case_exists(refs[G_QUARANTINED_30])); /* quarantined: now kept forever */
	ck_assert(case_exists(refs[H_NEW_2000]));
	g_autofree char *detail_c = purged_detail(refs[C_MENA_CLOSED_400]);
	ck_assert_str_eq(detail_c, "retention section mena 365d");
	free_cases();
}
END_TEST

START_TEST(test_purge_needs_a_policy_or_a_date)
{
	set_config("");
	g_autofree char *err = NULL;
	ck_assert_int_eq(canary(NULL, &err, "purge", NULL), 2);
	ck_assert_ptr_nonnull(strstr(err, "purge needs --before DATE, or a retention policy"));
	/* "forever" everywhere is no policy either. */
	set_config("[retention]\nclosed = forever\n");
	ck_assert_int_eq(canary(NULL, NULL, "purge", "--dry-run", NULL), 2);
	/* --before still works without one. */
	g_autofree char *out = NULL;
	ck_assert_int_eq(canary(&out, NULL, "purge", "--before", "2000-01-01", NULL), 0);
	ck_assert_ptr_nonnull(strstr(out, "0 cases purged"));
}
END_TEST

/* --- canaryd's daily run, against a real Dovecot --------------------------- */

static struct tu_dovecot *dovecot;

static void daemon_setup(void)
{
	setup();
	dovecot = tu_dovecot_start(NULL);
	g_autofree char *group = tu_dovecot_imap_group(dovecot, tmpdir, NULL);
	g_autofree char *imap = g_strconcat(policy_conf, group, NULL);
	set_config(imap);
}

static void daemon_teardown(void)
{
	tu_dovecot_free(dovecot);
	dovecot = NULL;
	teardown();
}

static void run_once_ok(char **err_r)
{
	g_autofree char *err = NULL;
	int status = tu_canaryd_once(config_path, &err);
	ck_assert_msg(status == 0, "canaryd --once: %d: %s", status, err);
	ck_assert_ptr_null(strstr(err, "Amina"));
	if (err_r != NULL)
		*err_r = g_steal_pointer(&err);
}

static gint64 last_run(void)
{
	struct canary_store *store = open_store();
	g_autofree char *text = NULL;
	ck_assert(canary_store_get_state(store, CANARY_STATE_RETENTION_RUN, &text, NULL));
	canary_store_close(&store);
	ck_assert_ptr_nonnull(text);
	return g_ascii_strtoll(text, NULL, 10);
}

START_TEST(test_daemon_applies_the_policy_once_a_day)
{
	make_cases();
	/* Never run before: the first pass is followed by a run. */
	g_autofree char *err = NULL;
	run_once_ok(&err);
	ck_assert_msg(strstr(err, "retention: 4 case(s) purged") != NULL, "%s", err);
	ck_assert_int_eq(count_cases(), N_CASES - 4);
	ck_assert_uint_eq(markers_in_files(A_TRIAGE_CLOSED_400), 0);
	ck_assert_uint_eq(markers_in_files(F_QUARANTINED_100), 0);
	g_autofree char *detail = purged_detail(refs[D_MENA_CLOSED_800]);
	ck_assert_str_eq(detail, "retention section mena 730d");
	ck_assert_int_le(ABS(last_run() - now_s()), 60);

	/* Another case becomes due: not before a day has passed. */
	struct canary_store *store = open_store();
	g_autofree char *late = add_case(store, 20, "triage", CANARY_STATUS_QUARANTINED, 120);
	canary_store_close(&store);
	g_autofree char *err2 = NULL;
	run_once_ok(&err2);
	ck_assert_ptr_null(strstr(err2, "retention"));
	ck_assert(case_exists(late));

	/* The last run a day and more ago (as after a day of passes). */
	store = open_store();
	g_autofree char *yesterday = g_strdup_printf("%" G_GINT64_FORMAT, now_s() - DAY - 60);
	ck_assert(canary_store_set_state(store, CANARY_STATE_RETENTION_RUN, yesterday, NULL));
	canary_store_close(&store);
	g_autofree char *err3 = NULL;
	run_once_ok(&err3);
	ck_assert_msg(strstr(err3, "retention: 1 case(s) purged") != NULL, "%s", err3);
	ck_assert(!case_exists(late));
	ck_assert_uint_eq(markers_in_files(20), 0);
	free_cases();
}
END_TEST

static Suite *retention_suite(void)
{
	Suite *s = suite_create("retention");
	TCase *tc = tcase_create("retention");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_parse_period);
	tcase_add_test(tc, test_bad_periods_name_file_group_key);
	tcase_add_test(tc, test_due_per_section_and_quarantined);
	tcase_add_test(tc, test_dry_run_purge_and_policy_change);
	tcase_add_test(tc, test_purge_needs_a_policy_or_a_date);
	suite_add_tcase(s, tc);
	TCase *daemon = tcase_create("daemon");
	tcase_add_checked_fixture(daemon, daemon_setup, daemon_teardown);
	tcase_set_timeout(daemon, 240);
	tcase_add_test(daemon, test_daemon_applies_the_policy_once_a_day);
	suite_add_tcase(s, daemon);
	return s;
}

int main(void)
{
	return tu_run_suite(retention_suite());
}
