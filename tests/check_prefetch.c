/* check_prefetch.c: fetching ahead on several sessions against a real
 * Dovecot on 127.0.0.1: messages come out in list order whichever session
 * fetched them, a message larger than the budget still comes, header-only
 * items bring only the header, a missing UID is an error at its own index
 * only, stopping early (or a server that is down) neither hangs nor leaks,
 * and moves queued on the fetch session run in order and stop at a failure;
 * a server misbehaving on one message (tests/imapscript.c) fails that
 * index alone, and its session fetches the next ones whole.
 * Then preparing on worker threads: prepared messages come out in list
 * order and store as the serial path stores them, a fetch error stays at
 * its index, stopping early neither hangs nor leaks, and the watchdog is
 * fed (within the budget) while the taker prepares a message itself. */
#include <string.h>

#include "dovecot.h"
#include "imap.h"
#include "imapscript.h"
#include "order.h"
#include "prefetch.h"
#include "prepare.h"
#include "testutil.h"

static struct tu_dovecot *dovecot;
static char *url;
static guint32 uidvalidity;

static struct canary_imap_options options(void)
{
	return (struct canary_imap_options){
		.url = url,
		.username = dovecot->user,
		.password = dovecot->password,
		.ca_file = dovecot->ca_file,
		.connect_timeout = 5,
		.io_timeout = 10,
	};
}

/* Message N: a header naming N and a body of BODY bytes. */
static char *message(guint n, gsize body)
{
	g_autofree char *filler = g_strnfill(body, 'a' + (char)(n % 26));
	return g_strdup_printf("From: <sender%u@example.org>\r\nSubject: message %u\r\n\r\n%s\r\n",
			       n, n, filler);
}

static void setup(void)
{
	dovecot = tu_dovecot_start(NULL);
	url = tu_dovecot_url(dovecot, TRUE);
	/* UIDs 1..12; message 5 is larger than any budget used below. */
	for (guint n = 1; n <= 12; n++) {
		g_autofree char *text = message(n, n == 5 ? 300 * 1000 : 1000);
		tu_dovecot_deliver_text(dovecot, "INBOX", text);
	}
	struct canary_imap_options o = options();
	g_autoptr(GError) error = NULL;
	g_autoptr(canary_imap) imap = canary_imap_new(&o, &error);
	struct canary_imap_status status;
	ck_assert_msg(imap != NULL && canary_imap_status(imap, "INBOX", &status, &error), "%s",
		      error != NULL ? error->message : "");
	uidvalidity = status.uidvalidity;
}

static void teardown(void)
{
	tu_dovecot_free(dovecot);
	dovecot = NULL;
	g_clear_pointer(&url, g_free);
}

static GArray *items_for(guint first, guint last)
{
	GArray *items = g_array_new(FALSE, TRUE, sizeof(struct canary_prefetch_item));
	for (guint uid = first; uid <= last; uid++) {
		struct canary_prefetch_item item = {.uid = uid, .size = uid == 5 ? 300000 : 1000};
		g_array_append_val(items, item);
	}
	return items;
}

/* A prefetch with nothing added yet. */
static struct canary_prefetch *start_empty(guint sessions, gsize budget)
{
	struct canary_imap_options o = options();
	g_autoptr(GError) error = NULL;
	struct canary_prefetch *p = canary_prefetch_start(&o, uidvalidity, sessions, budget, &error);
	ck_assert_msg(p != NULL, "%s", error != NULL ? error->message : "");
	return p;
}

/* A prefetch of ITEMS, closed. */
static struct canary_prefetch *start(GArray *items, guint sessions, gsize budget)
{
	struct canary_prefetch *p = start_empty(sessions, budget);
	ck_assert_uint_eq(canary_prefetch_add(p, (const struct canary_prefetch_item *)items->data,
					      items->len),
			  0);
	canary_prefetch_close(p);
	return p;
}

/* Every message, in order, for 1 to 4 sessions and a budget smaller than
 * message 5. */
START_TEST(test_in_order)
{
	guint sessions = (guint)_i;
	g_autoptr(GArray) items = items_for(1, 12);
	g_autoptr(canary_prefetch) p = start(items, sessions, 4000);
	for (guint i = 0; i < items->len; i++) {
		g_autoptr(GError) error = NULL;
		g_autoptr(GBytes) raw = canary_prefetch_take(p, i, &error);
		ck_assert_msg(raw != NULL, "%u: %s", i, error != NULL ? error->message : "");
		g_autofree char *want = message(i + 1, i + 1 == 5 ? 300 * 1000 : 1000);
		ck_assert_uint_eq(g_bytes_get_size(raw), strlen(want));
		ck_assert(memcmp(g_bytes_get_data(raw, NULL), want, strlen(want)) == 0);
	}
}
END_TEST

/* Messages added a window at a time, each window only once the one before
 * is taken: the sessions wait for more instead of ending, and every
 * message comes in order. */
START_TEST(test_added_in_windows)
{
	g_autoptr(GArray) items = items_for(1, 12);
	g_autoptr(canary_prefetch) p = start_empty(2, 4000);
	const struct canary_prefetch_item *all = (const struct canary_prefetch_item *)items->data;
	for (guint first = 0; first < items->len; first += 4) {
		ck_assert_uint_eq(canary_prefetch_add(p, all + first, 4), first);
		if (first + 4 == items->len)
			canary_prefetch_close(p);
		for (guint i = first; i < first + 4; i++) {
			g_autoptr(GError) error = NULL;
			g_autoptr(GBytes) raw = canary_prefetch_take(p, i, &error);
			ck_assert_msg(raw != NULL, "%u: %s", i,
				      error != NULL ? error->message : "");
			g_autofree char *want = message(i + 1, i + 1 == 5 ? 300 * 1000 : 1000);
			ck_assert_uint_eq(g_bytes_get_size(raw), strlen(want));
		}
	}
}
END_TEST

/* An order through which 100,000 items pass, at most 10 in flight, holds
 * a few hundred slots at any time, not one per item. */
START_TEST(test_order_holds_what_is_in_flight)
{
	struct canary_order order;
	canary_order_init(&order, sizeof(guint), 10);
	guint next_add = 0, most_held = 0;
	for (guint i = 0; i < 100000; i++) {
		canary_order_lock(&order);
		while (next_add < 100000 && next_add < i + 10) {
			guint value = next_add;
			ck_assert_uint_eq(canary_order_add(&order, &value, 1), next_add);
			next_add++;
		}
		if (next_add == 100000 && !order.closed)
			canary_order_close(&order);
		ck_assert(canary_order_may_claim(&order));
		guint claimed = canary_order_claim(&order);
		ck_assert_uint_eq(claimed, i);
		ck_assert_uint_eq(*(guint *)canary_order_input(&order, claimed), i);
		canary_order_put(&order, claimed, GUINT_TO_POINTER(i + 1), NULL);
		most_held = MAX(most_held, order.slots->len);
		canary_order_unlock(&order);
		guint input = 0;
		ck_assert_uint_eq(GPOINTER_TO_UINT(canary_order_take(&order, i, &input, NULL)),
				  i + 1);
		ck_assert_uint_eq(input, i);
	}
	ck_assert(canary_order_exhausted(&order));
	ck_assert_uint_le(most_held, 300);
	canary_order_clear(&order, NULL);
}
END_TEST

START_TEST(test_header_only)
{
	g_autoptr(GArray) items = items_for(5, 5);
	g_array_index(items, struct canary_prefetch_item, 0).header_only = TRUE;
	g_autoptr(canary_prefetch) p = start(items, 2, 1 << 20);
	g_autoptr(GError) error = NULL;
	g_autoptr(GBytes) raw = canary_prefetch_take(p, 0, &error);
	ck_assert_ptr_nonnull(raw);
	ck_assert_uint_lt(g_bytes_get_size(raw), 200);
	ck_assert(g_strstr_len(g_bytes_get_data(raw, NULL), (gssize)g_bytes_get_size(raw),
			       "Subject: message 5") != NULL);
}
END_TEST

/* UID 99 does not exist: its index fails, the ones around it do not. */
START_TEST(test_missing_uid_fails_alone)
{
	g_autoptr(GArray) items = items_for(1, 3);
	g_array_index(items, struct canary_prefetch_item, 1).uid = 99;
	g_autoptr(canary_prefetch) p = start(items, 2, 1 << 20);
	for (guint i = 0; i < 3; i++) {
		g_autoptr(GError) error = NULL;
		g_autoptr(GBytes) raw = canary_prefetch_take(p, i, &error);
		if (i == 1) {
			ck_assert_ptr_null(raw);
			ck_assert_ptr_nonnull(error);
			ck_assert(error->domain == CANARY_IMAP_ERROR);
		} else {
			ck_assert_msg(raw != NULL, "%s", error != NULL ? error->message : "");
		}
	}
}
END_TEST

/* Through a server that sends 300 MB for UID 2 and cuts UID 4 short, on
 * 1 or 2 sessions: those two fail as CANARY_IMAP_ERROR_MESSAGE, the
 * others arrive whole. */
START_TEST(test_misbehaving_fails_alone)
{
	const struct tu_imapscript_rule rules[] = {
		{2, TU_IMAPSCRIPT_OVERSIZED, 300ull << 20, 0},
		{4, TU_IMAPSCRIPT_CUT_LITERAL, 1000, 0},
	};
	struct tu_imapscript *script = tu_imapscript_start(dovecot, rules, G_N_ELEMENTS(rules));
	g_autofree char *script_url = tu_imapscript_url(script);
	struct canary_imap_options o = options();
	o.url = script_url;
	o.ca_file = tu_imapscript_ca_file(script);
	o.io_timeout = 2;
	g_autoptr(GArray) items = items_for(1, 6);
	g_autoptr(GError) error = NULL;
	struct canary_prefetch *p = canary_prefetch_start(&o, uidvalidity, (guint)_i, 1 << 20, &error);
	ck_assert_msg(p != NULL, "%s", error != NULL ? error->message : "");
	canary_prefetch_add(p, (const struct canary_prefetch_item *)items->data, items->len);
	canary_prefetch_close(p);
	for (guint i = 0; i < items->len; i++) {
		guint uid = i + 1;
		g_autoptr(GBytes) raw = canary_prefetch_take(p, i, &error);
		if (uid == 2 || uid == 4) {
			ck_assert_ptr_null(raw);
			ck_assert_msg(g_error_matches(error, CANARY_IMAP_ERROR,
						      CANARY_IMAP_ERROR_MESSAGE),
				      "%s", error != NULL ? error->message : "");
			g_clear_error(&error);
			continue;
		}
		ck_assert_msg(raw != NULL, "%u: %s", uid, error != NULL ? error->message : "");
		g_autofree char *want = message(uid, uid == 5 ? 300 * 1000 : 1000);
		ck_assert_uint_eq(g_bytes_get_size(raw), strlen(want));
		ck_assert(memcmp(g_bytes_get_data(raw, NULL), want, strlen(want)) == 0);
	}
	canary_prefetch_free(p);
	ck_assert_uint_eq(tu_imapscript_played(script), 2);
	ck_assert_uint_lt(tu_imapscript_bytes_sent(script), 64ull << 20);
	tu_imapscript_free(script);
}
END_TEST

/* Freed after taking one of twelve: the workers stop, nothing leaks (the
 * sanitizer build checks), nothing hangs. */
START_TEST(test_stop_early)
{
	g_autoptr(GArray) items = items_for(1, 12);
	struct canary_prefetch *p = start(items, 3, 1 << 20);
	g_autoptr(GError) error = NULL;
	g_autoptr(GBytes) raw = canary_prefetch_take(p, 0, &error);
	ck_assert_ptr_nonnull(raw);
	canary_prefetch_free(p);
}
END_TEST

/* A pipeline writing into a new database under DIR, for preparing. */
static void pipeline_open(struct tu_pipeline *pl, const char *dir)
{
	g_autofree char *config_path = tu_make_canary_home(dir, FALSE, NULL);
	tu_pipeline_open(pl, config_path);
}

/* Where each of ITEMS comes from. */
static GArray *sources_for(GArray *items)
{
	GArray *sources = g_array_new(FALSE, TRUE, sizeof(struct canary_ingest_source));
	for (guint i = 0; i < items->len; i++) {
		struct canary_ingest_source source = {
			.mailbox = "INBOX",
			.uidvalidity = uidvalidity,
			.uid = g_array_index(items, struct canary_prefetch_item, i).uid,
		};
		g_array_append_val(sources, source);
	}
	return sources;
}

/* Adds ITEMS from SOURCES to PREPARE (and so to its prefetch), and closes
 * it. */
static void add_all(struct canary_prepare *prepare, GArray *items, GArray *sources)
{
	ck_assert_uint_eq(canary_prepare_add(prepare,
					     (const struct canary_prefetch_item *)items->data,
					     (const struct canary_ingest_source *)sources->data,
					     items->len),
			  0);
	canary_prepare_close(prepare);
}

/* Twelve messages (UID 7 missing) prepared by 1 to 3 workers with a budget
 * smaller than message 5, taken plainly or by a taker that helps prepare
 * (canaryd's, with the in-hand record): each is stored as the case of its
 * own UID, in list order, UID 7 fails alone, and nothing is left in hand. */
START_TEST(test_prepare_in_order)
{
	guint workers = 1 + (guint)_i / 2;
	gboolean helping = _i % 2 == 1;
	g_autofree char *dir = tu_make_tempdir();
	struct tu_pipeline pl = {0};
	pipeline_open(&pl, dir);
	g_autoptr(GArray) items = items_for(1, 12);
	g_array_index(items, struct canary_prefetch_item, 6).uid = 99;
	g_autoptr(GArray) sources = sources_for(items);
	g_autoptr(canary_prefetch) p = start_empty(1, 4000);
	g_autofree char *in_hand = g_build_filename(dir, "in-hand", NULL);
	struct canary_prepare *prepare =
		canary_prepare_start_recorded(pl.ingest, p, workers, 4000, in_hand);
	add_all(prepare, items, sources);
	ck_assert(canary_store_begin(pl.store, NULL));
	g_autoptr(GPtrArray) refs = g_ptr_array_new_with_free_func(g_free); /* by index; NULL at 6 */
	for (guint i = 0; i < items->len; i++) {
		g_autoptr(GError) error = NULL;
		struct canary_ingest_source source = {0};
		g_autoptr(canary_ingest_prepared) prepared =
			helping ? canary_prepare_take_feeding(prepare, i, G_USEC_PER_SEC, NULL,
							      NULL, &source, &error)
				: canary_prepare_take(prepare, i, &error);
		/* The taker learns each message's source, prepared or not. */
		if (helping)
			ck_assert_uint_eq(source.uid,
					  g_array_index(items, struct canary_prefetch_item, i).uid);
		if (i == 6) {
			ck_assert_ptr_null(prepared);
			ck_assert(error != NULL && error->domain == CANARY_IMAP_ERROR);
			g_ptr_array_add(refs, NULL);
			continue;
		}
		ck_assert_msg(prepared != NULL, "%u: %s", i, error != NULL ? error->message : "");
		struct canary_ingest_result result;
		ck_assert_msg(canary_ingest_store_prepared(pl.ingest, prepared, &result, &error),
			      "%s", error != NULL ? error->message : "");
		ck_assert_int_eq(result.outcome, CANARY_INGEST_FILED);
		g_ptr_array_add(refs, g_strdup(result.ref));
		canary_ingest_result_clear(&result);
	}
	ck_assert(canary_store_commit(pl.store, NULL));
	/* Nothing in hand: the record names no message, and goes with the
	 * prepare. */
	g_autofree char *record = NULL;
	if (g_file_get_contents(in_hand, &record, NULL, NULL))
		ck_assert_msg(g_strstrip(g_strdelimit(record, "\n", ' '))[0] == '\0',
			      "in hand: %s", record);
	canary_prepare_free(prepare);
	ck_assert(!g_file_test(in_hand, G_FILE_TEST_EXISTS));
	/* Each case holds the message fetched for its UID. */
	for (guint i = 0; i < items->len; i++) {
		if (i == 6)
			continue;
		g_autoptr(GError) error = NULL;
		g_autofree char *ref = NULL;
		guint32 uid = g_array_index(items, struct canary_prefetch_item, i).uid;
		ck_assert(canary_store_find_source(pl.store, "INBOX", uidvalidity, uid, &ref, &error));
		ck_assert_str_eq(ref, refs->pdata[i]);
	}
	tu_pipeline_close(&pl);
	tu_rmtree(dir);
}
END_TEST

/* Freed after taking one of twelve, with workers waiting on the budget and
 * on the fetch: they stop, nothing leaks, nothing hangs. */
START_TEST(test_prepare_stop_early)
{
	g_autofree char *dir = tu_make_tempdir();
	struct tu_pipeline pl = {0};
	pipeline_open(&pl, dir);
	g_autoptr(GArray) items = items_for(1, 12);
	g_autoptr(GArray) sources = sources_for(items);
	g_autoptr(canary_prefetch) p = start_empty(2, 1 << 20);
	struct canary_prepare *prepare = canary_prepare_start(pl.ingest, p, 3, 2000);
	add_all(prepare, items, sources);
	g_autoptr(GError) error = NULL;
	g_autoptr(canary_ingest_prepared) prepared = canary_prepare_take(prepare, 0, &error);
	ck_assert_ptr_nonnull(prepared);
	canary_prepare_free(prepare);
	tu_pipeline_close(&pl);
	tu_rmtree(dir);
}
END_TEST

/* The times of the progress calls, from whichever thread. */
struct pings {
	GMutex lock;
	GArray *at; /* gint64, monotonic */
};

static void ping(gpointer data)
{
	struct pings *pings = data;
	gint64 now = g_get_monotonic_time();
	g_mutex_lock(&pings->lock);
	g_array_append_val(pings->at, now);
	g_mutex_unlock(&pings->lock);
}

/* Pings between FROM and TO seconds after START. */
static guint pings_between(struct pings *pings, gint64 start, double from, double to)
{
	guint n = 0;
	g_mutex_lock(&pings->lock);
	for (guint i = 0; i < pings->at->len; i++) {
		double t = (double)(g_array_index(pings->at, gint64, i) - start) / G_USEC_PER_SEC;
		n += t >= from && t < to;
	}
	g_mutex_unlock(&pings->lock);
	return n;
}

/* The taker prepares a message itself while its one worker is held on
 * another; that message stalls for 6 s. The watchdog is still fed for it,
 * within its budget (1 s, plus a second), and then no more. */
START_TEST(test_feeding_while_helping)
{
	g_autofree char *dir = tu_make_tempdir();
	struct tu_pipeline pl = {0};
	pipeline_open(&pl, dir);
	g_autoptr(GArray) items = items_for(1, 3);
	g_autoptr(GArray) sources = sources_for(items);
	g_setenv("CANARY_TEST_STALL_UID", "1:1500,2:6000", TRUE);
	g_autoptr(canary_prefetch) p = start_empty(1, 1 << 20);
	struct canary_prepare *prepare = canary_prepare_start(pl.ingest, p, 1, 1 << 20);
	add_all(prepare, items, sources);
	struct pings pings = {.at = g_array_new(FALSE, FALSE, sizeof(gint64))};
	g_mutex_init(&pings.lock);
	gint64 start_time = g_get_monotonic_time();
	g_autoptr(GError) error = NULL;
	g_autoptr(canary_ingest_prepared) first =
		canary_prepare_take_feeding(prepare, 0, G_USEC_PER_SEC, ping, &pings, NULL, &error);
	double took = (double)(g_get_monotonic_time() - start_time) / G_USEC_PER_SEC;
	g_unsetenv("CANARY_TEST_STALL_UID");
	ck_assert_ptr_nonnull(first);
	/* It came back only once the message it prepared itself was done. */
	ck_assert_msg(took > 5.0, "took %.2f s", took);
	ck_assert_msg(pings_between(&pings, start_time, 1.5, 3.5) >= 1, "not fed while helping");
	ck_assert_msg(pings_between(&pings, start_time, 4.5, took) == 0, "fed past the budget");
	canary_prepare_free(prepare);
	g_array_unref(pings.at);
	g_mutex_clear(&pings.lock);
	tu_pipeline_close(&pl);
	tu_rmtree(dir);
}
END_TEST

/* A server that is down: every index fails with a connection error. */
START_TEST(test_server_down)
{
	g_autoptr(GArray) items = items_for(1, 3);
	g_autoptr(canary_prefetch) p = start(items, 2, 1 << 20);
	tu_dovecot_stop(dovecot);
	for (guint i = 0; i < 3; i++) {
		g_autoptr(GError) error = NULL;
		g_autoptr(GBytes) raw = canary_prefetch_take(p, i, &error);
		/* A worker may have fetched one before the server went down. */
		if (raw == NULL)
			ck_assert(error != NULL && error->domain == CANARY_IMAP_ERROR);
	}
}
END_TEST

/* Moves queued while fetching run on the fetch session, in order, and so
 * do removals, whose UIDs are reported once done; a move to a folder that
 * does not exist fails, and the moves queued after it are dropped (their
 * cases would be committed: the next pass moves them). */
START_TEST(test_moves)
{
	g_autoptr(GArray) items = items_for(1, 12);
	g_autoptr(canary_prefetch) p = start(items, 1, 1 << 20);
	{
		struct canary_imap_options o = options();
		g_autoptr(GError) error = NULL;
		g_autoptr(canary_imap) imap = canary_imap_new(&o, &error);
		ck_assert(imap != NULL && canary_imap_ensure_folder(imap, "Processed", &error));
	}
	const guint32 first[] = {1, 2, 3}, second[] = {4, 5};
	g_autoptr(GError) error = NULL;
	for (guint i = 0; i < 6; i++)
		g_bytes_unref(canary_prefetch_take(p, i, NULL));
	ck_assert(canary_prefetch_move(p, first, 3, "Processed", &error));
	ck_assert(canary_prefetch_move(p, second, 2, "Processed", &error));
	guint moved = 0;
	ck_assert_msg(canary_prefetch_flush(p, &moved, &error), "%s",
		      error != NULL ? error->message : "");
	ck_assert_uint_eq(moved, 5);
	ck_assert_uint_eq(tu_dovecot_count(dovecot, "Processed"), 5);
	g_autoptr(GArray) none = canary_prefetch_take_removed(p);
	ck_assert_uint_eq(none->len, 0);

	/* Removed (FOLDER NULL): gone from the server, and reported as such. */
	const guint32 fifth[] = {8, 9};
	ck_assert(canary_prefetch_put_away(p, fifth, 2, NULL, NULL, &error));
	ck_assert(canary_prefetch_flush(p, &moved, &error));
	ck_assert_uint_eq(moved, 7);
	g_autoptr(GArray) removed = canary_prefetch_take_removed(p);
	ck_assert_uint_eq(removed->len, 2);
	ck_assert_uint_eq(g_array_index(removed, guint32, 0), 8);
	ck_assert_uint_eq(g_array_index(removed, guint32, 1), 9);
	g_autoptr(GArray) again = canary_prefetch_take_removed(p);
	ck_assert_uint_eq(again->len, 0);
	ck_assert_uint_eq(tu_dovecot_count(dovecot, "INBOX"), 5);

	const guint32 third[] = {6}, fourth[] = {7};
	ck_assert(canary_prefetch_move(p, third, 1, "No such folder", &error));
	/* Queued behind the failing move, so dropped; whether this call
	 * already reports the failure depends on timing. */
	g_autoptr(GError) ignored = NULL;
	canary_prefetch_move(p, fourth, 1, "Processed", &ignored);
	ck_assert(!canary_prefetch_flush(p, &moved, &error));
	ck_assert_ptr_nonnull(error);
	ck_assert_uint_eq(moved, 7);
	ck_assert_uint_eq(tu_dovecot_count(dovecot, "Processed"), 5);
	ck_assert_uint_eq(tu_dovecot_count(dovecot, "INBOX"), 5);
}
END_TEST

static Suite *prefetch_suite(void)
{
	Suite *s = suite_create("prefetch");
	TCase *t = tcase_create("server");
	tcase_add_checked_fixture(t, setup, teardown);
	tcase_set_timeout(t, 120);
	tcase_add_loop_test(t, test_in_order, 1, 5);
	tcase_add_test(t, test_added_in_windows);
	tcase_add_test(t, test_order_holds_what_is_in_flight);
	tcase_add_test(t, test_header_only);
	tcase_add_test(t, test_missing_uid_fails_alone);
	tcase_add_loop_test(t, test_misbehaving_fails_alone, 1, 3);
	tcase_add_test(t, test_stop_early);
	tcase_add_test(t, test_server_down);
	tcase_add_test(t, test_moves);
	tcase_add_loop_test(t, test_prepare_in_order, 0, 6);
	tcase_add_test(t, test_prepare_stop_early);
	tcase_add_test(t, test_feeding_while_helping);
	suite_add_tcase(s, t);
	return s;
}

int main(void)
{
	return tu_run_suite(prefetch_suite());
}
