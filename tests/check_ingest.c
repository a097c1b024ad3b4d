/* check_ingest.c: the pipeline from raw bytes to stored case on a real
 * database: outcomes, dedupe by content and by IMAP source, times. */
#include <glib/gstdio.h>
#include <sqlite3.h>
#include <string.h>

#include "envelope.h"
#include "ingest.h"
#include "prepare_pool.h"
#include "process.h"
#include "testutil.h"

static char *tmpdir;
static struct tu_pipeline pl;

static void setup(void)
{
	tmpdir = tu_make_tempdir();
	g_autofree char *config_path = tu_make_canary_home(tmpdir, FALSE, NULL);
	tu_pipeline_open(&pl, config_path);
}

static void teardown(void)
{
	tu_pipeline_close(&pl);
	tu_rmtree(tmpdir);
	g_clear_pointer(&tmpdir, g_free);
}

/* Ingests RAW from SOURCE in its own transaction; returns the outcome and
 * the reference in *REF_R (g_free) if REF_R is not NULL. */
static enum canary_ingest_outcome ingest_one(GBytes *raw, const struct canary_ingest_source *source,
					     char **ref_r, enum canary_quarantine *reason_r)
{
	static const struct canary_ingest_source none = { 0 };
	g_autoptr(GError) error = NULL;
	struct canary_ingest_result result;
	ck_assert(canary_store_begin(pl.store, &error));
	ck_assert_msg(
		canary_ingest_message(pl.ingest, raw, source ? source : &none, &result, &error),
		"ingest: %s", error ? error->message : "?");
	ck_assert(canary_store_commit(pl.store, &error));
	ck_assert_ptr_nonnull(result.ref);
	if (ref_r != NULL)
		*ref_r = g_strdup(result.ref);
	if (reason_r != NULL)
		*reason_r = result.quarantine;
	enum canary_ingest_outcome outcome = result.outcome;
	canary_ingest_result_clear(&result);
	return outcome;
}

/* The exact values of case REF, opened with the custodian's key; checks
 * that the clear day and size class agree with them. */
static struct canary_case_meta *meta_of(const char *ref)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(canary_secret_key) custodian = tu_load_secret(tmpdir, "custodian");
	g_autoptr(canary_case) c = canary_store_get_case(pl.store, ref, &error);
	ck_assert_msg(c != NULL, "%s", error ? error->message : "?");
	struct canary_case_meta *meta =
		canary_envelope_open_meta(pl.store, c->id, custodian, &error);
	ck_assert_msg(meta != NULL, "%s", error ? error->message : "?");
	ck_assert_int_eq(c->received_day, canary_store_day(meta->received_at));
	ck_assert_int_eq(c->received_day % 86400, 0);
	ck_assert_uint_eq(c->size_class, canary_store_size_class((gint64)meta->size));
	return meta;
}

static GBytes *text_bytes(const char *text)
{
	return g_bytes_new(text, strlen(text));
}

/* The longest value stored for case REF: a sealed field or a column of
 * its row. */
static gint64 longest_value_of(const char *ref)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(canary_case) c = canary_store_get_case(pl.store, ref, &error);
	ck_assert_msg(c != NULL, "%s", error ? error->message : "?");
	sqlite3 *db = canary_store_sqlite(pl.store);
	g_autofree char *blobs = g_strdup_printf(
		"SELECT max(length(data)) FROM case_blobs WHERE case_id = %" G_GINT64_FORMAT, c->id);
	g_autofree char *row = g_strdup_printf(
		"SELECT max(length(ref), length(section), length(rule), "
		"length(coalesce(quarantine_reason, ''))) FROM cases WHERE id = %" G_GINT64_FORMAT,
		c->id);
	return MAX(tu_query_int(db, blobs), tu_query_int(db, row));
}

/* canary_ingest_prepared_bound() is at least the longest value each
 * message stores (else a message the store refuses as too big could fail
 * its whole batch): the demo corpus, a large attachment, a long text. */
START_TEST(test_prepared_bound_holds)
{
	g_autoptr(GPtrArray) raws = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
	g_autoptr(GPtrArray) demo = tu_data_messages("demo");
	for (guint i = 0; i < demo->len; i++)
		g_ptr_array_add(raws, tu_data_bytes(demo->pdata[i]));
	GString *big = g_string_new("From: Amina Diallo <amina@example.org>\r\nSubject: files\r\n"
				    "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; "
				    "boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n");
	for (guint i = 0; i < 20000; i++)
		g_string_append(big, "Amina Diallo was stopped at the airport again.\r\n");
	g_string_append(big, "--b\r\nContent-Type: application/octet-stream\r\n"
			     "Content-Transfer-Encoding: base64\r\n\r\n");
	for (guint i = 0; i < 40000; i++)
		g_string_append(big, "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9w\r\n");
	g_string_append(big, "--b--\r\n");
	gsize big_len = big->len;
	g_ptr_array_add(raws, g_bytes_new_take(g_string_free(big, FALSE), big_len));
	static const struct canary_ingest_source none = {0};
	for (guint i = 0; i < raws->len; i++) {
		struct canary_ingest_prepared *p = canary_ingest_prepare(pl.ingest, raws->pdata[i],
									 &none);
		guint64 bound = canary_ingest_prepared_bound(p);
		g_autoptr(GError) error = NULL;
		struct canary_ingest_result result;
		ck_assert(canary_store_begin(pl.store, NULL));
		ck_assert_msg(canary_ingest_store_prepared(pl.ingest, p, &result, &error), "%s",
			      error ? error->message : "?");
		ck_assert(canary_store_commit(pl.store, NULL));
		canary_ingest_prepared_free(p);
		gint64 longest = longest_value_of(result.ref);
		ck_assert_msg(longest > 0 && (guint64)longest <= bound,
			      "message %u: %" G_GINT64_FORMAT " > %" G_GUINT64_FORMAT, i, longest,
			      bound);
		canary_ingest_result_clear(&result);
	}
}
END_TEST

START_TEST(test_demo_corpus_outcomes)
{
	g_autoptr(GPtrArray) demo = tu_data_messages("demo");
	guint filed = 0, quarantined = 0;
	for (guint i = 0; i < demo->len; i++) {
		const char *rel = demo->pdata[i];
		g_autofree char *name = g_path_get_basename(rel);
		g_autoptr(GBytes) raw = tu_data_bytes(rel);
		enum canary_quarantine reason = CANARY_QUARANTINE_NONE;
		enum canary_ingest_outcome outcome = ingest_one(raw, NULL, NULL, &reason);
		if (g_str_has_prefix(name, "12-malformed")) {
			ck_assert_int_eq(outcome, CANARY_INGEST_QUARANTINED);
			ck_assert_int_eq(reason, CANARY_QUARANTINE_UNPARSEABLE);
			quarantined++;
		} else {
			ck_assert_msg(outcome == CANARY_INGEST_FILED, "%s not filed", name);
			filed++;
		}
	}
	ck_assert_uint_eq(filed, 11);
	ck_assert_uint_eq(quarantined, 1);

	struct canary_case_filter q = { .status = CANARY_STATUS_QUARANTINED };
	g_autoptr(GPtrArray) cases = canary_store_list_cases(pl.store, &q, NULL);
	ck_assert_uint_eq(cases->len, 1);
	ck_assert_str_eq(((struct canary_case *)cases->pdata[0])->quarantine_reason, "unparseable");
}
END_TEST

/* The key copies of case CASE_ID, by field name, as one sorted line. */
static char *key_fields(gint64 case_id)
{
	g_autofree char *db_path = g_build_filename(tmpdir, "state", "canary.db", NULL);
	sqlite3 *db = NULL;
	ck_assert_int_eq(sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	sqlite3_stmt *st = NULL;
	ck_assert_int_eq(sqlite3_prepare_v2(db,
					    "SELECT field FROM case_blobs WHERE case_id = ?1 "
					    "AND field LIKE 'key/%' ORDER BY field",
					    -1, &st, NULL),
			 SQLITE_OK);
	sqlite3_bind_int64(st, 1, case_id);
	g_autoptr(GString) fields = g_string_new(NULL);
	while (sqlite3_step(st) == SQLITE_ROW)
		g_string_append_printf(fields, "%s%s", fields->len > 0 ? " " : "",
				       (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	sqlite3_close(db);
	return g_strdup(fields->str);
}

/* Two X25519 seals per case here (three with a triage key), not five (six):
 * the exact values' key is wrapped under the content and identity keys,
 * and still opens for the section and the custodian, not for another key
 * (check_confidentiality covers triage and the rest). A quarantined case
 * wraps it under the identity key only. */
START_TEST(test_meta_key_wrapped_not_sealed)
{
	g_autoptr(GBytes) raw = tu_data_bytes("demo/01-travel-ban-egypt.eml");
	g_autofree char *ref = NULL;
	ck_assert_int_eq(ingest_one(raw, NULL, &ref, NULL), CANARY_INGEST_FILED);
	g_autoptr(canary_case) c = canary_store_get_case(pl.store, ref, NULL);
	g_autofree char *fields = key_fields(c->id);
	ck_assert_str_eq(fields, "key/content/section key/identity/custodian key/meta/content "
				 "key/meta/identity");
	g_autoptr(canary_case_meta) meta = meta_of(ref); /* the custodian's */
	ck_assert_uint_eq(meta->size, g_bytes_get_size(raw));
	g_autoptr(canary_secret_key) section = tu_load_secret(tmpdir, "section");
	g_autoptr(GError) error = NULL;
	g_autoptr(canary_case_meta) opened =
		canary_envelope_open_meta(pl.store, c->id, section, &error);
	ck_assert_msg(opened != NULL, "%s", error ? error->message : "?");
	ck_assert_uint_eq(opened->size, meta->size);
	g_autoptr(canary_secret_key) other = tu_load_secret(tmpdir, "other");
	ck_assert_ptr_null(canary_envelope_open_meta(pl.store, c->id, other, &error));
	ck_assert(g_error_matches(error, CANARY_ENVELOPE_ERROR, CANARY_ENVELOPE_ERROR_NO_ACCESS));

	g_autoptr(GBytes) bad = text_bytes("no header block at all");
	g_autofree char *bad_ref = NULL;
	ck_assert_int_eq(ingest_one(bad, NULL, &bad_ref, NULL), CANARY_INGEST_QUARANTINED);
	g_autoptr(canary_case) q = canary_store_get_case(pl.store, bad_ref, NULL);
	g_autofree char *quarantined = key_fields(q->id);
	ck_assert_str_eq(quarantined, "key/identity/custodian key/meta/identity");
	g_autoptr(canary_case_meta) q_meta = meta_of(bad_ref);
	ck_assert_uint_eq(q_meta->size, g_bytes_get_size(bad));
	ck_assert_ptr_null(canary_envelope_open_meta(pl.store, q->id, section, NULL));
}
END_TEST

START_TEST(test_same_bytes_twice_is_a_duplicate)
{
	g_autoptr(GBytes) raw = text_bytes("From: a@example.org\nSubject: x\n\nbody\n");
	g_autofree char *first = NULL, *second = NULL;
	ck_assert_int_eq(ingest_one(raw, NULL, &first, NULL), CANARY_INGEST_FILED);
	ck_assert_int_eq(ingest_one(raw, NULL, &second, NULL), CANARY_INGEST_DUPLICATE);
	ck_assert_str_eq(first, second);
	g_autoptr(GPtrArray) cases = canary_store_list_cases(pl.store, NULL, NULL);
	ck_assert_uint_eq(cases->len, 1);
}
END_TEST

/* Without routing rules, [routing] default_section names the one queue. */
START_TEST(test_default_section_without_rules)
{
	/* A second home beside the fixture's, its pipeline in place of the
	 * fixture's for this test (closing that one would shut GMime down). */
	g_autofree char *dir = g_build_filename(tmpdir, "intake", NULL);
	ck_assert_int_eq(g_mkdir(dir, 0700), 0);
	g_autofree char *config_path =
		tu_make_canary_home(dir, FALSE, "[routing]\ndefault_section = intake\n");
	struct tu_pipeline fixture = pl;
	tu_pipeline_open(&pl, config_path);
	g_autoptr(GBytes) raw = text_bytes("From: a@example.org\nSubject: x\n\nbody\n");
	g_autofree char *ref = NULL;
	ck_assert_int_eq(ingest_one(raw, NULL, &ref, NULL), CANARY_INGEST_FILED);
	g_autoptr(canary_case) c = canary_store_get_case(pl.store, ref, NULL);
	ck_assert_str_eq(c->section, "intake");
	tu_pipeline_close(&pl);
	pl = fixture;
}
END_TEST

START_TEST(test_imap_source_dedupe)
{
	g_autoptr(GBytes) raw = text_bytes("From: a@example.org\nSubject: x\n\nbody\n");
	struct canary_ingest_source src = { .mailbox = "INBOX", .uidvalidity = 10, .uid = 3 };
	g_autofree char *ref = NULL, *again = NULL, *moved = NULL, *by_new_uid = NULL;
	ck_assert_int_eq(ingest_one(raw, &src, &ref, NULL), CANARY_INGEST_FILED);
	ck_assert_int_eq(ingest_one(raw, &src, &again, NULL), CANARY_INGEST_DUPLICATE);
	ck_assert_str_eq(ref, again);

	/* The mailbox was recreated: new UIDVALIDITY, same bytes. */
	struct canary_ingest_source reset = { .mailbox = "INBOX", .uidvalidity = 11, .uid = 1 };
	ck_assert_int_eq(ingest_one(raw, &reset, &moved, NULL), CANARY_INGEST_DUPLICATE);
	ck_assert_str_eq(ref, moved);
	ck_assert(canary_store_find_source(pl.store, "INBOX", 11, 1, &by_new_uid, NULL));
	ck_assert_str_eq(ref, by_new_uid);
}
END_TEST

START_TEST(test_received_time)
{
	g_autoptr(GBytes) with_received = text_bytes(
		"Received: from mx.example.net (mx.example.net [192.0.2.7])\n"
		"\tby mail.example.org; Tue, 3 Mar 2026 08:15:00 +0100\n"
		"Date: Mon, 2 Mar 2026 09:00:00 +0000\nFrom: a@example.org\n\nbody\n");
	g_autofree char *ref = NULL;
	ingest_one(with_received, NULL, &ref, NULL);
	g_autoptr(canary_case_meta) m = meta_of(ref);
	ck_assert_int_eq(m->received_at, 1772522100); /* 2026-03-03T07:15:00Z */

	g_autoptr(GBytes) future = text_bytes("Date: Mon, 2 Mar 2099 09:00:00 +0000\n"
					      "From: b@example.org\n\nbody\n");
	g_autofree char *ref2 = NULL;
	gint64 before = g_get_real_time() / G_USEC_PER_SEC;
	ingest_one(future, NULL, &ref2, NULL);
	g_autoptr(canary_case_meta) m2 = meta_of(ref2);
	ck_assert_int_ge(m2->received_at, before);
	ck_assert_int_le(m2->received_at, before + 60);
	ck_assert_int_ge(m2->ingested_at, before);
	ck_assert_int_le(m2->ingested_at, before + 60);

	/* The server's own time wins over the headers. */
	g_autoptr(GBytes) plain = text_bytes("Date: Mon, 2 Mar 2026 09:00:00 +0000\n"
					     "From: c@example.org\n\nbody\n");
	struct canary_ingest_source src = { .mailbox = "INBOX", .uidvalidity = 1, .uid = 1,
					    .received_at = 1772000000 };
	g_autofree char *ref3 = NULL;
	ingest_one(plain, &src, &ref3, NULL);
	g_autoptr(canary_case_meta) m3 = meta_of(ref3);
	ck_assert_int_eq(m3->received_at, 1772000000);
}
END_TEST

START_TEST(test_limits_quarantine)
{
	pl.config->limits.max_message_size = 100;
	g_autoptr(GString) big = g_string_new("From: a@example.org\nSubject: big\n\n");
	for (int i = 0; i < 20; i++)
		g_string_append(big, "0123456789\n");
	g_autoptr(GBytes) raw = g_bytes_new(big->str, big->len);
	g_autofree char *ref = NULL;
	enum canary_quarantine reason = CANARY_QUARANTINE_NONE;
	ck_assert_int_eq(ingest_one(raw, NULL, &ref, &reason), CANARY_INGEST_QUARANTINED);
	ck_assert_int_eq(reason, CANARY_QUARANTINE_TOO_LARGE);
	g_autoptr(canary_case) c = canary_store_get_case(pl.store, ref, NULL);
	ck_assert_str_eq(c->status, "quarantined");
	ck_assert_str_eq(c->quarantine_reason, "too-large");
	g_autoptr(canary_case_meta) m = meta_of(ref);
	ck_assert_uint_eq(m->size, big->len);
}
END_TEST

START_TEST(test_empty_and_binary_messages)
{
	static const guint8 junk[] = { 0x00, 0xff, 0xfe, 0x00, 0x01, 0x80, 0x0a, 0x0d };
	g_autoptr(GBytes) raw = g_bytes_new(junk, sizeof(junk));
	enum canary_quarantine reason = CANARY_QUARANTINE_NONE;
	ck_assert_int_eq(ingest_one(raw, NULL, NULL, &reason), CANARY_INGEST_QUARANTINED);
	ck_assert_int_eq(reason, CANARY_QUARANTINE_UNPARSEABLE);
	g_autoptr(GBytes) empty = g_bytes_new("", 0);
	ck_assert_int_eq(ingest_one(empty, NULL, NULL, &reason), CANARY_INGEST_QUARANTINED);
}
END_TEST

START_TEST(test_damaged_mail_is_filed_and_marked)
{
	g_autoptr(GBytes) raw = tu_data_bytes("mail/damaged-whitespace-line.eml");
	g_autofree char *ref = NULL;
	ck_assert_int_eq(ingest_one(raw, NULL, &ref, NULL), CANARY_INGEST_FILED);
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) events = canary_store_list_events(pl.store, ref, &error);
	ck_assert_msg(events != NULL, "%s", error ? error->message : "?");
	ck_assert_uint_eq(events->len, 2);
	const struct canary_event *filed = events->pdata[0], *damaged = events->pdata[1];
	ck_assert_str_eq(filed->action, "filed");
	ck_assert_str_eq(damaged->action, "damaged");
	ck_assert_str_eq(damaged->detail, "header block ended by a white-space line at byte 172");

	/* canary show says so, above the text that could be read. */
	g_autofree char *config = g_build_filename(tmpdir, "canary.conf", NULL);
	g_autofree char *key = g_build_filename(tmpdir, "keys", "section.key", NULL);
	g_autofree char *pass = g_build_filename(tmpdir, "passphrase", NULL);
	g_autofree char *shown = NULL;
	ck_assert_int_eq(tu_run_canary(config, &shown, NULL, "show", ref, "--key", key,
				       "--passphrase-file", pass, NULL),
			 0);
	ck_assert_msg(strstr(shown, "Damaged:     header block ended by a white-space line at "
				    "byte 172\n") != NULL,
		      "%s", shown);
	ck_assert_msg(strstr(shown, "my colleague has not been seen since Friday.") != NULL, "%s",
		      shown);

	/* A whole message has no such event. */
	g_autoptr(GBytes) whole = tu_data_bytes("mail/multipart-alternative.eml");
	g_autofree char *whole_ref = NULL;
	ck_assert_int_eq(ingest_one(whole, NULL, &whole_ref, NULL), CANARY_INGEST_FILED);
	g_autoptr(GPtrArray) whole_events = canary_store_list_events(pl.store, whole_ref, &error);
	ck_assert_uint_eq(whole_events->len, 1);
}
END_TEST

/* The pool gives messages back in the order they were handed over, however
 * its workers finish: a repeat is the duplicate, not the first. */
START_TEST(test_prepare_pool_keeps_order)
{
	static const struct canary_ingest_source from_file = { 0 };
	enum { N = 60 };
	g_autoptr(GPtrArray) raws = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
	for (guint i = 0; i < N; i++) {
		/* Every fifth message repeats the one before it; sizes vary so
		 * that workers finish out of order. */
		guint n = i % 5 == 4 ? i - 1 : i;
		g_autoptr(GString) m = g_string_new(NULL);
		g_string_append_printf(m, "From: a%u@example.org\nSubject: %u\n\n", n, n);
		for (guint k = 0; k < (n * 37) % 400; k++)
			g_string_append(m, "a line of text to parse and scrub\n");
		g_ptr_array_add(raws, g_bytes_new(m->str, m->len));
	}
	g_autoptr(GError) error = NULL;
	/* A budget of a few messages: the caller must take before pushing. */
	g_autoptr(canary_prepare_pool) pool = canary_prepare_pool_new(pl.ingest, 4, 32 * 1024);
	ck_assert(canary_store_begin(pl.store, &error));
	guint taken = 0, duplicates = 0;
	for (guint i = 0; i <= N; i++) {
		if (i < N)
			canary_prepare_pool_push(pool, raws->pdata[i], &from_file);
		while (i == N ? taken < N : canary_prepare_pool_full(pool)) {
			g_autoptr(canary_ingest_prepared) p = canary_prepare_pool_take(pool);
			ck_assert_ptr_nonnull(p);
			struct canary_ingest_result result;
			ck_assert(canary_ingest_store_prepared(pl.ingest, p, &result, &error));
			ck_assert_int_eq(result.outcome, taken % 5 == 4 ? CANARY_INGEST_DUPLICATE
								 : CANARY_INGEST_FILED);
			duplicates += result.outcome == CANARY_INGEST_DUPLICATE;
			canary_ingest_result_clear(&result);
			taken++;
		}
	}
	ck_assert_ptr_null(canary_prepare_pool_take(pool));
	ck_assert(canary_store_commit(pl.store, &error));
	ck_assert_uint_eq(duplicates, N / 5);
	g_autoptr(GPtrArray) cases = canary_store_list_cases(pl.store, NULL, NULL);
	ck_assert_uint_eq(cases->len, N - N / 5);
}
END_TEST

/* Freed with messages waiting and being prepared: the workers stop, and
 * nothing leaks (the ASan build checks). */
START_TEST(test_prepare_pool_free_with_messages_untaken)
{
	static const struct canary_ingest_source from_file = { 0 };
	g_autoptr(GBytes) raw = tu_data_bytes("demo/01-travel-ban-egypt.eml");
	struct canary_prepare_pool *pool = canary_prepare_pool_new(pl.ingest, 2, G_MAXSIZE);
	for (guint i = 0; i < 40; i++)
		canary_prepare_pool_push(pool, raw, &from_file);
	ck_assert(!canary_prepare_pool_full(pool));
	g_autoptr(canary_ingest_prepared) first = canary_prepare_pool_take(pool);
	ck_assert_ptr_nonnull(first);
	canary_prepare_pool_free(pool);
}
END_TEST

/* Keys sealed ahead to one section, used for a message of a case that has
 * since gone to another: the other section's copy is sealed when stored,
 * and the first section's key opens nothing. */
START_TEST(test_keys_made_ahead_follow_the_recipients_given)
{
	g_autoptr(GBytes) raw = text_bytes("From: a@example.org\nSubject: x\n\nbody\n");
	g_autofree char *ref = NULL;
	ck_assert_int_eq(ingest_one(raw, NULL, &ref, NULL), CANARY_INGEST_FILED);
	g_autoptr(GError) error = NULL;
	g_autoptr(canary_case) c = canary_store_get_case(pl.store, ref, &error);
	ck_assert_ptr_nonnull(c);
	const char *names[] = {"section", "other", "custodian"};
	struct canary_public_key *pub[3];
	struct canary_secret_key *sec[3];
	for (int i = 0; i < 3; i++) {
		g_autofree char *pp = g_strdup_printf("%s/keys/%s.pub", tmpdir, names[i]);
		g_autofree char *sp = g_strdup_printf("%s/keys/%s.key", tmpdir, names[i]);
		pub[i] = canary_key_load_public(pp, &error);
		sec[i] = canary_key_load_secret(sp, TU_PASSPHRASE, strlen(TU_PASSPHRASE), &error);
		ck_assert_msg(pub[i] != NULL && sec[i] != NULL, "%s", error ? error->message : "?");
	}
	struct canary_envelope_recipients ahead = {.section = pub[0], .custodian = pub[2]};
	struct canary_envelope_recipients now = {.section = pub[1], .custodian = pub[2]};
	g_autoptr(canary_envelope_keys) keys = canary_envelope_keys_new(&ahead);
	g_autoptr(GPtrArray) none = g_ptr_array_new();
	ck_assert(canary_store_begin(pl.store, &error));
	ck_assert_msg(canary_envelope_seal_message_content(pl.store, c->id, 7, &now, keys, "s",
							   "the text", none, NULL, NULL, &error),
		      "%s", error ? error->message : "?");
	ck_assert(canary_store_commit(pl.store, &error));
	g_autoptr(canary_sealed_case) all = canary_sealed_case_new(c->id);
	ck_assert(canary_envelope_load_message(pl.store, 7, CANARY_ENVELOPE_CONTENT, all, &error));
	g_autoptr(canary_sealed_case) sc = canary_sealed_case_message(all, 7);
	ck_assert_ptr_nonnull(sc);
	g_autoptr(canary_case_content) opened = canary_sealed_open_content(sc, sec[1], &error);
	ck_assert_msg(opened != NULL, "%s", error ? error->message : "?");
	ck_assert_str_eq(opened->text, "the text");
	g_autoptr(canary_case_content) refused = canary_sealed_open_content(sc, sec[0], &error);
	ck_assert_ptr_null(refused);
	ck_assert(g_error_matches(error, CANARY_ENVELOPE_ERROR, CANARY_ENVELOPE_ERROR_NO_ACCESS));
	for (int i = 0; i < 3; i++) {
		g_free(pub[i]);
		canary_secret_key_free(sec[i]);
	}
}
END_TEST

static Suite *ingest_suite(void)
{
	Suite *s = suite_create("ingest");
	TCase *tc = tcase_create("ingest");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_demo_corpus_outcomes);
	tcase_add_test(tc, test_prepared_bound_holds);
	tcase_add_test(tc, test_meta_key_wrapped_not_sealed);
	tcase_add_test(tc, test_same_bytes_twice_is_a_duplicate);
	tcase_add_test(tc, test_imap_source_dedupe);
	tcase_add_test(tc, test_default_section_without_rules);
	tcase_add_test(tc, test_received_time);
	tcase_add_test(tc, test_limits_quarantine);
	tcase_add_test(tc, test_empty_and_binary_messages);
	tcase_add_test(tc, test_damaged_mail_is_filed_and_marked);
	tcase_add_test(tc, test_prepare_pool_keeps_order);
	tcase_add_test(tc, test_keys_made_ahead_follow_the_recipients_given);
	tcase_add_test(tc, test_prepare_pool_free_with_messages_untaken);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run_suite(ingest_suite());
}
