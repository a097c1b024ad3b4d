/* check_report.c: canary report end to end: exact figures on a database
 * made with the store API (cases over months, sections, rules, statuses,
 * with officer events at chosen times), inclusive period boundaries, small
 * counts masked, no reference, pseudonym, address or subject in any output,
 * and the HTML page: self-contained, its tables equal to the JSON, and
 * rendered by headless Chromium into a screenshot that is not blank. */
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <libxml/HTMLparser.h>
#include <libxml/xpath.h>
#include <png.h>
#include <sqlite3.h>
#include <string.h>
#include <sys/stat.h>

#include "store.h"
#include "testutil.h"

static char *tmpdir;
static char *config_path;
static char *db_path;

static void setup(void)
{
	tmpdir = tu_make_tempdir();
	config_path = tu_make_canary_home(tmpdir, FALSE, NULL);
	db_path = g_build_filename(tmpdir, "state", "canary.db", NULL);
}

static void teardown(void)
{
	tu_rmtree(tmpdir);
	g_clear_pointer(&tmpdir, g_free);
	g_clear_pointer(&config_path, g_free);
	g_clear_pointer(&db_path, g_free);
}

#define canary(out_r, err_r, ...) tu_run_canary(config_path, out_r, err_r, __VA_ARGS__)

#define HOUR 3600
#define DAY  86400

/* "2025-03-04 10:00:00" UTC as Unix time. */
static gint64 utc(const char *text)
{
	g_autoptr(GTimeZone) tz = g_time_zone_new_utc();
	g_autoptr(GDateTime) dt = g_date_time_new_from_iso8601(text, tz);
	ck_assert_msg(dt != NULL, "bad test time %s", text);
	return g_date_time_to_unix(dt);
}

/* An event to write once all are known, in time order (then as queued). */
struct pending_event {
	const char *ref, *actor, *action, *detail; /* borrowed */
	gint64 at;
	guint seq;
};

static gint pending_cmp(gconstpointer a, gconstpointer b)
{
	const struct pending_event *x = a, *y = b;
	if (x->at != y->at)
		return x->at < y->at ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static void queue_event(GArray *queue, const char *ref, gint64 at, const char *actor,
			const char *action, const char *detail)
{
	struct pending_event e = {ref, actor, action, detail, at, queue->len};
	g_array_append_val(queue, e);
}

static void write_events(GArray *queue)
{
	g_array_sort(queue, pending_cmp);
	for (guint i = 0; i < queue->len; i++) {
		const struct pending_event *e = &g_array_index(queue, struct pending_event, i);
		tu_add_event_at(db_path, e->ref, e->at, e->actor, e->action, e->detail);
	}
}

/* The test database. Officer actions are given as seconds after receipt
 * (0: none); a "show" event (reading) never counts as acting. */
static const struct test_case {
	const char *received, *section, *rule, *status, *reason;
	gint64 first_action, later_action;
} cases[] = {
	/* In 2025: */
	{"2025-01-01T00:00:00", "africa", "country", "new", NULL, HOUR, 2 * HOUR},
	{"2025-01-15T10:00:00", "africa", "country", "open", NULL, 2 * DAY, 0},
	{"2025-01-20T08:30:00", "africa", "keyword", "closed", NULL, 3 * DAY, 0},
	{"2025-03-03T12:00:00", "asia", "keyword", "open", NULL, 4 * HOUR, 0},
	{"2025-03-04T12:00:00", "asia", "recipient", "closed", NULL, DAY, 0},
	{"2025-03-05T12:00:00", "asia", "default", "new", NULL, 0, 0},
	{"2025-03-06T12:00:00", "asia", "country", "open", NULL, 5 * DAY, 0},
	{"2025-06-10T12:00:00", "africa", "default", "closed", NULL, 10 * DAY, 0},
	{"2025-06-11T12:00:00", "africa", "default", "quarantined", "too-large", HOUR, 0},
	{"2025-07-01T12:00:00", "europe", "default", "quarantined", "unparseable", 0, 0},
	{"2025-12-31T23:59:59", "americas", "country", "new", NULL, 0, 0},
	{"2025-12-01T09:00:00", "americas", "keyword", "open", NULL, 30 * 60, 0},
	/* Just outside: */
	{"2024-12-31T23:59:59", "africa", "country", "closed", NULL, HOUR, 0},
	{"2026-01-01T00:00:00", "asia", "country", "new", NULL, 0, 0},
};

/* Inserts one case and its filing event; returns its new reference. */
static char *insert(struct canary_store *store, size_t i, gint64 received, const char *section,
		    const char *rule, const char *status, const char *reason)
{
	guint8 hash[32] = {(guint8)i, 0x5a};
	struct canary_case_new c = {.received_at = received,
				    .section = section,
				    .status = status,
				    .rule = rule,
				    .quarantine_reason = reason,
				    .size = 1000,
				    .content_hash = hash};
	gint64 id = 0;
	char *ref = NULL;
	g_autoptr(GError) error = NULL;
	ck_assert_msg(canary_store_begin(store, &error) &&
			      canary_store_insert_case(store, &c, &id, &ref, &error) &&
			      canary_store_commit(store, &error),
		      "insert: %s", error ? error->message : "?");
	return ref;
}

/* Fills the database; returns the references made (NULL-terminated). */
static char **make_cases(void)
{
	g_autoptr(GError) error = NULL;
	struct canary_store *store = canary_store_open(db_path, &error);
	ck_assert_msg(store != NULL, "%s", error ? error->message : "?");
	GPtrArray *refs = g_ptr_array_new();
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++)
		g_ptr_array_add(refs, insert(store, i, utc(cases[i].received), cases[i].section,
					     cases[i].rule, cases[i].status, cases[i].reason));
	/* Filed in May 2025 and in 2024, purged since. */
	g_ptr_array_add(refs, insert(store, 90, utc("2025-05-05T12:00:00"), "asia", "country",
				     "closed", NULL));
	g_ptr_array_add(refs, insert(store, 91, utc("2024-05-05T12:00:00"), "asia", "country",
				     "closed", NULL));
	for (guint i = refs->len - 2; i < refs->len; i++)
		ck_assert(canary_store_delete_case(store, refs->pdata[i], &error));
	canary_store_close(&store);

	g_autoptr(GArray) queue = g_array_new(FALSE, FALSE, sizeof(struct pending_event));
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		const struct test_case *c = &cases[i];
		const char *ref = refs->pdata[i];
		gint64 t = utc(c->received);
		queue_event(queue, ref, t + 60, "canaryd", c->reason ? "quarantined" : "filed",
			    c->reason ? c->reason : c->section);
		queue_event(queue, ref, t + 120, "officer", "show", NULL);
		if (c->first_action > 0)
			queue_event(queue, ref, t + c->first_action, "officer",
				    i % 3 == 0   ? "assigned to officer"
				    : i % 3 == 1 ? "status open"
						 : "moved to section asia",
				    NULL);
		if (c->later_action > 0)
			queue_event(queue, ref, t + c->later_action, "officer", "status closed",
				    "note 1");
	}
	for (guint i = refs->len - 2; i < refs->len; i++) {
		gint64 t = utc(i == refs->len - 2 ? "2025-05-05T12:01:00" : "2024-05-05T12:01:00");
		queue_event(queue, refs->pdata[i], t, "canaryd", "filed", "asia");
		queue_event(queue, refs->pdata[i], utc("2026-06-01T00:00:00"), "officer", "purged",
			    NULL);
	}
	write_events(queue);
	g_ptr_array_add(refs, NULL);
	return (char **)g_ptr_array_free(refs, FALSE);
}

static JsonObject *parse(JsonParser *parser, const char *out)
{
	g_autoptr(GError) error = NULL;
	ck_assert_msg(json_parser_load_from_data(parser, out, -1, &error), "json: %s\n%s",
		      error ? error->message : "?", out);
	return json_node_get_object(json_parser_get_root(parser));
}

/* canary report --json --from FROM --to TO [EXTRA]; returns stdout. */
static char *report_json(const char *from, const char *to, const char *extra)
{
	g_autofree char *err = NULL;
	char *out = NULL;
	int status =
		canary(&out, &err, "report", "--json", "--from", from, "--to", to, extra, NULL);
	ck_assert_msg(status == 0, "report: %d %s", status, err);
	return out;
}

/* A count as the report writes it: "12", or "<3" when masked. New string. */
static char *node_text(JsonNode *node)
{
	if (JSON_NODE_HOLDS_NULL(node))
		return g_strdup("-");
	if (json_node_get_value_type(node) == G_TYPE_STRING)
		return g_strdup(json_node_get_string(node));
	return g_strdup_printf("%" G_GINT64_FORMAT, json_node_get_int(node));
}

static char *member_text(JsonObject *o, const char *name)
{
	ck_assert_msg(json_object_has_member(o, name), "no member %s", name);
	return node_text(json_object_get_member(o, name));
}

/* "name=count,name=count" of the array MEMBER (rows named by KEY). */
static char *rows_text(JsonObject *root, const char *member, const char *key)
{
	JsonArray *a = json_object_get_array_member(root, member);
	ck_assert_ptr_nonnull(a);
	GString *s = g_string_new(NULL);
	for (guint i = 0; i < json_array_get_length(a); i++) {
		JsonObject *row = json_array_get_object_element(a, i);
		g_autofree char *count = member_text(row, "cases");
		g_string_append_printf(s, "%s%s=%s", i ? "," : "",
				       json_object_get_string_member(row, key), count);
	}
	return g_string_free(s, FALSE);
}

#define assert_member(o, name, expected)                                                           \
	do {                                                                                       \
		g_autofree char *got_ = member_text(o, name);                                      \
		ck_assert_str_eq(got_, expected);                                                  \
	} while (0)
#define assert_rows(root, member, key, expected)                                                   \
	do {                                                                                       \
		g_autofree char *got_ = rows_text(root, member, key);                              \
		ck_assert_str_eq(got_, expected);                                                  \
	} while (0)

START_TEST(test_exact_figures)
{
	g_auto(GStrv) refs = make_cases();
	g_autofree char *out = report_json("2025-01-01", "2025-12-31", "--exact");
	g_autoptr(JsonParser) parser = json_parser_new();
	JsonObject *r = parse(parser, out);
	ck_assert_str_eq(json_object_get_string_member(r, "from"), "2025-01-01");
	ck_assert_str_eq(json_object_get_string_member(r, "to"), "2025-12-31");
	assert_member(r, "received", "12");
	assert_member(r, "quarantined", "2");
	assert_member(r, "purged", "1");
	assert_rows(r, "months", "month",
		    "2025-01=3,2025-02=0,2025-03=4,2025-04=0,2025-05=0,2025-06=2,2025-07=1,"
		    "2025-08=0,2025-09=0,2025-10=0,2025-11=0,2025-12=2");
	assert_rows(r, "sections", "section", "africa=5,americas=2,asia=4,europe=1");
	assert_rows(r, "rules", "rule", "country=4,default=4,keyword=3,recipient=1");
	assert_rows(r, "statuses", "status", "new=3,open=4,closed=3,quarantined=2");
	assert_rows(r, "quarantine_reasons", "reason",
		    "too-large=1,too-deep=0,too-many-parts=0,header-too-long=0,unparseable=1,"
		    "too-slow=0,poison=0");
	/* Acted on: 1h, 2d, 3d, 4h, 1d, 5d, 10d, 30min (the quarantined case's
	 * action does not count, nor "show"), counted from the start of the
	 * day received (only the day is in clear): received at 00:00, 10:00,
	 * 08:30, 12:00, 12:00, 12:00, 12:00, 09:00, so 1h, 2d 10h, 3d 8h30,
	 * 16h, 1d 12h, 5d 12h, 10d 12h, 9h30. Nearest rank of 8: 4th and 8th. */
	JsonObject *fa = json_object_get_object_member(r, "first_action");
	assert_member(fa, "acted", "8");
	assert_member(fa, "not_acted", "2");
	assert_member(fa, "median_seconds", "129600");
	assert_member(fa, "p90_seconds", "907200");
	JsonObject *masking = json_object_get_object_member(r, "masking");
	ck_assert(json_object_get_boolean_member(masking, "exact"));
	ck_assert_int_eq(json_object_get_int_member(masking, "threshold"), 3);

	/* The history written by this test chains as the store's does. */
	g_autofree char *aout = NULL, *aerr = NULL;
	ck_assert_msg(canary(&aout, &aerr, "audit", "--verify", NULL) == 0, "audit: %s%s", aout,
		      aerr);
}
END_TEST

/* Received count of the one-period report FROM..TO, exact. */
static char *received_in(const char *from, const char *to)
{
	g_autofree char *out = report_json(from, to, "--exact");
	g_autoptr(JsonParser) parser = json_parser_new();
	return member_text(parse(parser, out), "received");
}

START_TEST(test_period_boundaries)
{
	g_auto(GStrv) refs = make_cases();
	static const struct {
		const char *from, *to, *received;
	} periods[] = {
		{"2025-01-01", "2025-01-01", "1"}, /* 00:00:00 is in its day */
		{"2025-12-31", "2025-12-31", "1"}, /* 23:59:59 too */
		{"2024-12-31", "2024-12-31", "1"},  {"2026-01-01", "2026-01-01", "1"},
		{"2024-12-31", "2026-01-01", "14"}, {"2025-01-02", "2025-01-14", "0"},
		{"2025-02-01", "2025-02-28", "0"},
	};
	for (size_t i = 0; i < G_N_ELEMENTS(periods); i++) {
		g_autofree char *got = received_in(periods[i].from, periods[i].to);
		ck_assert_msg(strcmp(got, periods[i].received) == 0, "%s..%s: %s, expected %s",
			      periods[i].from, periods[i].to, got, periods[i].received);
	}
	/* Every month the period touches, across a year's end, zeros included. */
	g_autofree char *out = report_json("2024-11-20", "2025-02-10", "--exact");
	g_autoptr(JsonParser) parser = json_parser_new();
	JsonObject *r = parse(parser, out);
	assert_rows(r, "months", "month", "2024-11=0,2024-12=1,2025-01=3,2025-02=0");
	/* An empty period: zeros, no median. */
	g_autofree char *empty = report_json("2030-01-01", "2030-01-31", NULL);
	g_autoptr(JsonParser) parser2 = json_parser_new();
	JsonObject *e = parse(parser2, empty);
	assert_member(e, "received", "0");
	assert_rows(e, "sections", "section", "");
	assert_rows(e, "months", "month", "2030-01=0");
	JsonObject *fa = json_object_get_object_member(e, "first_action");
	assert_member(fa, "median_seconds", "-");
}
END_TEST

START_TEST(test_masking)
{
	g_auto(GStrv) refs = make_cases();
	g_autofree char *out = report_json("2025-01-01", "2025-12-31", NULL);
	g_autoptr(JsonParser) parser = json_parser_new();
	JsonObject *r = parse(parser, out);
	assert_member(r, "received", "12");
	assert_member(r, "quarantined", "<3");
	assert_member(r, "purged", "<3");
	assert_rows(r, "months", "month",
		    "2025-01=3,2025-02=0,2025-03=4,2025-04=0,2025-05=0,2025-06=<3,2025-07=<3,"
		    "2025-08=0,2025-09=0,2025-10=0,2025-11=0,2025-12=<3");
	assert_rows(r, "sections", "section", "africa=5,americas=<3,asia=4,europe=<3");
	assert_rows(r, "rules", "rule", "country=4,default=4,keyword=3,recipient=<3");
	JsonObject *fa = json_object_get_object_member(r, "first_action");
	assert_member(fa, "not_acted", "<3");
	assert_member(fa, "median_seconds", "129600");
	ck_assert(!json_object_get_boolean_member(json_object_get_object_member(r, "masking"),
						  "exact"));

	/* A higher threshold masks more; too few cases acted on hide the delays. */
	g_autofree char *out5 = report_json("2025-01-01", "2025-12-31", "--threshold=5");
	g_autoptr(JsonParser) parser5 = json_parser_new();
	assert_rows(parse(parser5, out5), "sections", "section",
		    "africa=5,americas=<5,asia=<5,europe=<5");
	g_autofree char *dec = report_json("2025-12-01", "2025-12-31", NULL);
	g_autoptr(JsonParser) parser_dec = json_parser_new();
	fa = json_object_get_object_member(parse(parser_dec, dec), "first_action");
	assert_member(fa, "acted", "<3");
	assert_member(fa, "median_seconds", "-");
	g_autofree char *dec_exact = report_json("2025-12-01", "2025-12-31", "--exact");
	g_autoptr(JsonParser) parser_exact = json_parser_new();
	fa = json_object_get_object_member(parse(parser_exact, dec_exact), "first_action");
	assert_member(fa, "median_seconds", "34200"); /* 30 min after 09:00 */

	/* The text table masks the same way. */
	g_autofree char *text = NULL, *err = NULL;
	ck_assert_int_eq(
		canary(&text, &err, "report", "--from", "2025-01-01", "--to", "2025-12-31", NULL),
		0);
	ck_assert_ptr_nonnull(strstr(text, "(UTC, both days included)"));
	ck_assert_msg(g_regex_match_simple("^  europe +<3$", text, G_REGEX_MULTILINE, 0), "%s",
		      text);
	ck_assert_msg(g_regex_match_simple("^  africa +5$", text, G_REGEX_MULTILINE, 0), "%s",
		      text);
	ck_assert_msg(g_regex_match_simple("^  Median +36\\.0 h$", text, G_REGEX_MULTILINE, 0),
		      "%s", text);

	/* Neither output names a case or its sender. */
	const char *outputs[] = {out, dec_exact, text};
	for (size_t i = 0; i < G_N_ELEMENTS(outputs); i++) {
		ck_assert_ptr_null(strstr(outputs[i], "PSEUDO"));
		ck_assert_ptr_null(strstr(outputs[i], "R-20"));
	}
	ck_assert_ptr_nonnull(strstr(refs[0], "R-20"));
}
END_TEST

START_TEST(test_usage_errors)
{
	static const char *const bad[][4] = {
		{"--from", "2025-01-01", NULL, NULL},
		{"--to", "2025-01-01", NULL, NULL},
		{"--from", "2025-02-01", "--to", "2025-01-31"},
		{"--from", "2025-13-01", "--to", "2025-12-31"},
		{"--from", "2025-01-01", "--to", "31/12/2025"},
		{"--threshold=1", "--from", "2025-01-01", NULL},
		{"extra", NULL, NULL, NULL},
	};
	for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
		g_autofree char *out = NULL, *err = NULL;
		int status = canary(&out, &err, "report", bad[i][0], bad[i][1], bad[i][2],
				    bad[i][3], NULL);
		ck_assert_msg(status == 2, "case %zu: exit %d, %s", i, status, err);
		ck_assert_str_eq(out, "");
	}
	g_autofree char *out = NULL, *err = NULL;
	ck_assert_int_eq(canary(&out, &err, "report", "--help", NULL), 0);
	ck_assert_ptr_nonnull(strstr(out, "both days"));
	/* No database yet (canaryd has never run): a store error naming it,
	 * and nothing created. */
	g_autofree char *out3 = NULL, *err3 = NULL;
	ck_assert_int_eq(
		canary(&out3, &err3, "report", "--from", "2025-01-01", "--to", "2025-12-31", NULL),
		4);
	ck_assert_ptr_nonnull(strstr(err3, db_path));
	ck_assert(!g_file_test(db_path, G_FILE_TEST_EXISTS));
	struct canary_store *store = canary_store_open(db_path, NULL);
	ck_assert_ptr_nonnull(store);
	canary_store_close(&store);
	/* An unwritable HTML file fails without a partial page. */
	g_autofree char *nowhere = g_build_filename(tmpdir, "no", "such", "dir", "r.html", NULL);
	g_autofree char *out2 = NULL, *err2 = NULL;
	ck_assert_int_eq(canary(&out2, &err2, "report", "--from", "2025-01-01", "--to",
				"2025-12-31", "--html", nowhere, NULL),
			 1);
	ck_assert_ptr_nonnull(strstr(err2, "--html"));
}
END_TEST

/* Imports the demo messages (the .eml files of tests/data/demo). */
static void import_demo(void)
{
	g_autofree char *inbox = g_build_filename(tmpdir, "inbox", NULL);
	tu_copy_data_messages("demo", inbox);
	g_autofree char *out = NULL, *err = NULL;
	ck_assert_msg(canary(&out, &err, "import", inbox, NULL) == 0, "import: %s", err);
}

/* Fails if any of NEEDLES occurs in TEXT. */
static void assert_absent(const char *what, const char *text, GPtrArray *needles)
{
	for (guint i = 0; i < needles->len; i++)
		ck_assert_msg(strstr(text, needles->pdata[i]) == NULL, "%s shows '%s'", what,
			      (const char *)needles->pdata[i]);
}

START_TEST(test_no_case_data_in_outputs)
{
	import_demo();
	/* The pseudonyms are sealed: the custodian's key lists every case's. */
	g_autofree char *list = NULL, *lerr = NULL;
	g_autofree char *custodian = g_build_filename(tmpdir, "keys", "custodian.key", NULL);
	g_autofree char *passphrase = g_build_filename(tmpdir, "passphrase", NULL);
	ck_assert_int_eq(canary(&list, &lerr, "list", "--json", "--key", custodian,
				"--passphrase-file", passphrase, NULL),
			 0);
	g_autoptr(JsonParser) parser = json_parser_new();
	ck_assert(json_parser_load_from_data(parser, list, -1, NULL));
	JsonArray *listed = json_node_get_array(json_parser_get_root(parser));
	ck_assert_uint_ge(json_array_get_length(listed), 10);
	g_autoptr(GPtrArray) needles = g_ptr_array_new_with_free_func(g_free);
	guint pseudonyms = 0;
	for (guint i = 0; i < json_array_get_length(listed); i++) {
		JsonObject *c = json_array_get_object_element(listed, i);
		g_ptr_array_add(needles, g_strdup(json_object_get_string_member(c, "ref")));
		if (!json_object_get_null_member(c, "pseudonym")) {
			g_ptr_array_add(needles,
					g_strdup(json_object_get_string_member(c, "pseudonym")));
			pseudonyms++;
		}
	}
	ck_assert_uint_ge(pseudonyms, 8);
	static const char *const words[] = {
		"mona.saleh", "example.net", "example.com", "example.org", "Saleh", "Harper",
		"Travel ban", "husband",     "documenter",  "Myanmar",     "Egypt",
	};
	for (size_t i = 0; i < G_N_ELEMENTS(words); i++)
		g_ptr_array_add(needles, g_strdup(words[i]));

	g_autofree char *html = g_build_filename(tmpdir, "report.html", NULL);
	g_autofree char *json = NULL, *text = NULL, *e1 = NULL, *e2 = NULL;
	ck_assert_int_eq(canary(&json, &e1, "report", "--from", "2024-01-01", "--to", "2025-12-31",
				"--json", "--exact", "--html", html, NULL),
			 0);
	ck_assert_int_eq(canary(&text, &e2, "report", "--from", "2024-01-01", "--to", "2025-12-31",
				"--exact", NULL),
			 0);
	g_autofree char *page = NULL;
	ck_assert(g_file_get_contents(html, &page, NULL, NULL));
	assert_absent("json", json, needles);
	assert_absent("text", text, needles);
	assert_absent("html", page, needles);
	ck_assert_str_eq(e1, "");
	ck_assert_str_eq(e2, "");

	/* Every demo message dated 2024 or 2025 is counted; the malformed one
	 * has no date and was received today. */
	gint64 dated = 0;
	for (guint i = 0; i < json_array_get_length(listed); i++) {
		const char *day = json_object_get_string_member(
			json_array_get_object_element(listed, i), "received");
		dated += g_str_has_prefix(day, "2024-") || g_str_has_prefix(day, "2025-");
	}
	ck_assert_int_ge(dated, 10);
	g_autoptr(JsonParser) rp = json_parser_new();
	JsonObject *r = parse(rp, json);
	ck_assert_int_eq(json_object_get_int_member(r, "received"), dated);
}
END_TEST

/* The text of the first node XPATH finds under NODE ("" if none). New string. */
static char *xpath_text(xmlXPathContext *ctx, xmlNode *node, const char *xpath)
{
	xmlXPathObject *found = xmlXPathNodeEval(node, (const xmlChar *)xpath, ctx);
	char *text = g_strdup("");
	if (found != NULL && found->nodesetval != NULL && found->nodesetval->nodeNr > 0) {
		xmlChar *content = xmlNodeGetContent(found->nodesetval->nodeTab[0]);
		g_free(text);
		text = g_strdup((const char *)content);
		xmlFree(content);
	}
	xmlXPathFreeObject(found);
	return text;
}

/* A rule name with a terminal escape and a bidi override, as a database in
 * other hands could hold: shown escaped in the text and the page, given
 * back as stored by the JSON, raw in none of them. */
START_TEST(test_hostile_names_escaped)
{
	import_demo();
	sqlite3 *db = NULL;
	ck_assert_int_eq(sqlite3_open(db_path, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(db,
				      "UPDATE cases SET rule = 'evil' || char(27) || '[2J' || "
				      "char(8238) || char(10) || 'x'",
				      NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(db);
	g_autofree char *html = g_build_filename(tmpdir, "report.html", NULL);
	g_autofree char *json = NULL, *text = NULL;
	ck_assert_int_eq(canary(&json, NULL, "report", "--from", "2024-01-01", "--to", "2025-12-31",
				"--json", "--exact", "--html", html, NULL),
			 0);
	ck_assert_int_eq(canary(&text, NULL, "report", "--from", "2024-01-01", "--to", "2025-12-31",
				"--exact", NULL),
			 0);
	g_autofree char *page = NULL;
	ck_assert(g_file_get_contents(html, &page, NULL, NULL));
	const char *outputs[] = {json, text, page};
	for (size_t i = 0; i < G_N_ELEMENTS(outputs); i++) {
		ck_assert_ptr_null(strchr(outputs[i], '\x1b'));
		ck_assert_ptr_null(strstr(outputs[i], "\xe2\x80\xae"));
	}
	ck_assert_ptr_nonnull(strstr(text, "evil\\x1b[2J\\u202e\\nx"));
	ck_assert_ptr_nonnull(strstr(page, "evil\\x1b[2J\\u202e\\nx"));
	g_autoptr(JsonParser) parser = json_parser_new();
	JsonObject *r = parse(parser, json);
	JsonArray *rules = json_object_get_array_member(r, "rules");
	gboolean found = FALSE;
	for (guint i = 0; i < json_array_get_length(rules); i++) {
		JsonObject *row = json_array_get_object_element(rules, i);
		found |= strcmp(json_object_get_string_member(row, "rule"),
				"evil\x1b[2J\xe2\x80\xae\nx") == 0;
	}
	ck_assert(found);
}
END_TEST

/* "name=count,..." of the HTML table ID, as rows_text() gives for JSON. */
static char *html_rows(xmlXPathContext *ctx, const char *id)
{
	g_autofree char *xpath = g_strdup_printf("//table[@id='%s']/tbody/tr", id);
	xmlXPathObject *rows = xmlXPathEvalExpression((const xmlChar *)xpath, ctx);
	ck_assert_ptr_nonnull(rows);
	GString *s = g_string_new(NULL);
	for (int i = 0; rows->nodesetval != NULL && i < rows->nodesetval->nodeNr; i++) {
		xmlNode *tr = rows->nodesetval->nodeTab[i];
		g_autofree char *name = xpath_text(ctx, tr, "th");
		g_autofree char *count = xpath_text(ctx, tr, "td");
		g_string_append_printf(s, "%s%s=%s", i ? "," : "", name, count);
	}
	xmlXPathFreeObject(rows);
	return g_string_free(s, FALSE);
}

/* Checks every table of PAGE against the JSON of the same run. */
static void assert_html_matches(const char *page, JsonObject *r)
{
	htmlDocPtr doc =
		htmlReadMemory(page, (int)strlen(page), "report.html", "utf-8",
			       HTML_PARSE_NONET | HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING);
	ck_assert_ptr_nonnull(doc);
	xmlXPathContext *ctx = xmlXPathNewContext(doc);
	static const struct {
		const char *table, *member, *key;
	} tables[] = {
		{"months", "months", "month"},
		{"sections", "sections", "section"},
		{"rules", "rules", "rule"},
		{"statuses", "statuses", "status"},
		{"quarantine", "quarantine_reasons", "reason"},
	};
	for (size_t i = 0; i < G_N_ELEMENTS(tables); i++) {
		g_autofree char *from_html = html_rows(ctx, tables[i].table);
		g_autofree char *from_json = rows_text(r, tables[i].member, tables[i].key);
		ck_assert_str_eq(from_html, from_json);
	}
	static const char *const summary[] = {"received", "quarantined", "purged", "acted",
					      "not_acted"};
	JsonObject *fa = json_object_get_object_member(r, "first_action");
	for (size_t i = 0; i < G_N_ELEMENTS(summary); i++) {
		g_autofree char *xpath = g_strdup_printf("//tr[@data-field='%s']/td", summary[i]);
		g_autofree char *got = xpath_text(ctx, xmlDocGetRootElement(doc), xpath);
		g_autofree char *want =
			member_text(json_object_has_member(r, summary[i]) ? r : fa, summary[i]);
		ck_assert_str_eq(got, want);
	}
	/* Each chart says what it is, for screen readers. */
	g_autofree char *title =
		xpath_text(ctx, xmlDocGetRootElement(doc), "//svg[@id or @role='img']/title");
	ck_assert_str_eq(title, "Cases received per month");
	xmlXPathFreeContext(ctx);
	xmlFreeDoc(doc);
}

/* Counts the pixels of PNG: all, not white, and close to the bars' colour. */
static void png_pixels(const char *path, guint64 *all_r, guint64 *ink_r, guint64 *bars_r)
{
	png_image image = {.version = PNG_IMAGE_VERSION};
	ck_assert_msg(png_image_begin_read_from_file(&image, path), "%s: %s", path, image.message);
	image.format = PNG_FORMAT_RGB;
	gsize size = PNG_IMAGE_SIZE(image);
	g_autofree guint8 *pixels = g_malloc(size);
	ck_assert_msg(png_image_finish_read(&image, NULL, pixels, 0, NULL), "%s: %s", path,
		      image.message);
	*all_r = (guint64)image.width * image.height;
	*ink_r = *bars_r = 0;
	for (gsize i = 0; i + 2 < size; i += 3) {
		const guint8 *p = pixels + i;
		if (p[0] < 240 || p[1] < 240 || p[2] < 240)
			(*ink_r)++;
		/* .bar{fill:#2b5c8a} */
		if (ABS(p[0] - 0x2b) < 12 && ABS(p[1] - 0x5c) < 12 && ABS(p[2] - 0x8a) < 12)
			(*bars_r)++;
	}
}

/* Renders PAGE with headless Chromium into a PNG; FALSE (with a note) when
 * there is no Chromium here, which CI does not accept. */
static gboolean screenshot(const char *html, const char *png)
{
	g_autofree char *chromium = g_find_program_in_path("chromium");
	if (chromium == NULL) {
		ck_assert_msg(g_getenv("CI") == NULL,
			      "CI needs chromium for the report screenshot (scripts/deps)");
		fprintf(stderr, "check_report: no chromium in PATH: skipping the screenshot "
				"check (scripts/deps installs it)\n");
		return FALSE;
	}
	g_autofree char *url = g_filename_to_uri(html, NULL, NULL);
	g_autofree char *shot = g_strdup_printf("--screenshot=%s", png);
	g_autofree char *profile = g_build_filename(tmpdir, "chromium", NULL);
	g_autofree char *profile_arg = g_strdup_printf("--user-data-dir=%s", profile);
	g_autofree char *home = g_strdup_printf("HOME=%s", tmpdir);
	const char *argv[] = {"/usr/bin/timeout",
			      "120",
			      chromium,
			      "--headless",
			      "--no-sandbox",
			      "--disable-gpu",
			      "--no-first-run",
			      "--disable-dev-shm-usage",
			      profile_arg,
			      shot,
			      "--window-size=1200,2000",
			      url,
			      NULL};
	const char *envp[] = {home, NULL};
	g_autofree char *out = NULL, *err = NULL;
	int status = tu_run(argv, envp, &out, &err);
	ck_assert_msg(status == 0 && g_file_test(png, G_FILE_TEST_EXISTS), "chromium exit %d:\n%s",
		      status, err);
	return TRUE;
}

START_TEST(test_html_page)
{
	g_auto(GStrv) refs = make_cases();
	g_autofree char *html = g_build_filename(tmpdir, "report.html", NULL);
	g_autofree char *out = NULL, *err = NULL;
	ck_assert_int_eq(canary(&out, &err, "report", "--from", "2025-01-01", "--to", "2025-12-31",
				"--json", "--html", html, NULL),
			 0);
	GStatBuf st;
	ck_assert_int_eq(g_stat(html, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0600);
	g_autofree char *page = NULL;
	ck_assert(g_file_get_contents(html, &page, NULL, NULL));
	/* Self-contained: nothing to run, nothing to fetch. */
	g_autofree char *lower = g_ascii_strdown(page, -1);
	static const char *const banned[] = {"http",  "<script", "src=",    "url(", "@import",
					     "<link", "<iframe", "<object", "<img"};
	for (size_t i = 0; i < G_N_ELEMENTS(banned); i++)
		ck_assert_msg(strstr(lower, banned[i]) == NULL, "page has %s", banned[i]);
	ck_assert_ptr_nonnull(strstr(page, "@media print"));
	ck_assert_ptr_nonnull(strstr(page, "<svg"));
	ck_assert_ptr_nonnull(strstr(page, "&lt;3"));
	for (char **ref = refs; *ref != NULL; ref++)
		ck_assert_msg(strstr(page, *ref) == NULL, "page shows %s", *ref);
	ck_assert_ptr_null(strstr(page, "PSEUDO"));

	g_autoptr(JsonParser) parser = json_parser_new();
	assert_html_matches(page, parse(parser, out));

	/* Rewritten in place, still 0600, no temporary left behind. */
	g_chmod(html, 0644);
	g_autofree char *out2 = NULL, *err2 = NULL;
	ck_assert_int_eq(canary(&out2, &err2, "report", "--from", "2025-01-01", "--to",
				"2025-12-31", "--html", html, NULL),
			 0);
	ck_assert_int_eq(g_stat(html, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0600);

	g_autofree char *png = g_build_filename(tmpdir, "report.png", NULL);
	if (!screenshot(html, png))
		return;
	guint64 all = 0, ink = 0, bars = 0;
	png_pixels(png, &all, &ink, &bars);
	ck_assert_uint_eq(all, 1200 * 2000);
	/* Text, tables and bars: far from blank, and the bars were drawn. */
	ck_assert_msg(ink > all / 100,
		      "screenshot nearly blank: %" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT
		      " pixels inked",
		      ink, all);
	ck_assert_msg(bars > 2000, "no bars in the screenshot (%" G_GUINT64_FORMAT " pixels)",
		      bars);
}
END_TEST

static Suite *report_suite(void)
{
	Suite *s = suite_create("report");
	TCase *tc = tcase_create("report");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_exact_figures);
	tcase_add_test(tc, test_period_boundaries);
	tcase_add_test(tc, test_masking);
	tcase_add_test(tc, test_usage_errors);
	tcase_add_test(tc, test_no_case_data_in_outputs);
	tcase_add_test(tc, test_html_page);
	tcase_add_test(tc, test_hostile_names_escaped);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run_suite(report_suite());
}
