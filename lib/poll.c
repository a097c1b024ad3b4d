/* poll.c: one pass over the confidential mailbox. Each batch of messages is
 * fetched and ingested inside one transaction; only after it commits are
 * the messages removed from the server, or moved to a folder that keeps
 * them for [imap] *_retention. A crash in between leaves them in the
 * inbox, where the next pass recognises them and only removes or moves
 * them. Each pass ends by sweeping the folders of what they no longer keep. */
#include "poll.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "imap.h"
#include "log.h"
#include "prefetch.h"
#include "prepare.h"
#include "wipe.h"

/* Fetched messages waiting to be prepared, and prepared messages waiting
 * to be stored, at most (always at least the next one), so memory does
 * not depend on the size of the backlog. Fetching needs the window to
 * hold a message of a few megabytes, or that one message stops the fetch
 * session until it is taken. Preparing needs room for a few such messages:
 * one larger than the window is prepared only once the storing thread
 * waits for it, and the worker must go on while the storing thread seals
 * a large one or waits for a commit or a checkpoint to reach the disk
 * (figures in bench/README.md, "Measurements behind the constants"). */
#define PREFETCH_BUDGET (4u << 20)
#define PREPARE_BUDGET  (6u << 20)

/* The inbox is listed (UID, size, date) whole at the start of a pass, but
 * sorted (stored already or not) and handed to the fetching and preparing
 * threads this many messages at a time, as the pass reaches them, at
 * least this many ahead of the message being stored, so that fetching
 * never waits. What a pass keeps per message for its whole length is then
 * its listing alone (24 bytes), and its peak memory all but the same for
 * any backlog. The listing itself is not windowed: the listing session
 * would then be sent, with each window, the news of every message the
 * fetch session moved meanwhile, and libcurl takes at most 300 KB of it
 * per command. */
#define SORT_WINDOW 1000

/* SORT_WINDOW; in test builds, $CANARY_TEST_SORT_WINDOW when set, so that
 * a short test crosses windows. */
static guint sort_window_size(void)
{
#ifdef CANARY_TEST_KDF
	const char *spec = g_getenv("CANARY_TEST_SORT_WINDOW");
	guint64 n = spec != NULL ? g_ascii_strtoull(spec, NULL, 10) : 0;
	if (n > 0 && n <= SORT_WINDOW)
		return (guint)n;
#endif
	return SORT_WINDOW;
}

/* Marks the quarantined messages whose full bytes are sealed in the store:
 * only those may the quarantine folder's sweep remove. */
#define SEALED_KEYWORD "$CanarySealed"

/* A message in hand when the process crashed twice is poison. Deaths
 * without a crash (kill -9, a power loss) are usually not the message's
 * doing, but the OOM killer's on a memory bomb is, and it comes back at
 * every start: ten deaths of any kind, minutes under Restart=, make the
 * message poison too. */
#define POISON_CRASHES 2
#define POISON_DEATHS  10
/* A message whose fetch failed this many times (in any passes) is left in
 * the inbox and no longer fetched until it is gone. */
#define FETCH_ATTEMPTS 3

/* Where each message of a batch goes once the batch is committed. */
struct batch {
	GArray *processed;  /* guint32 UIDs */
	GArray *quarantine; /* guint32 UIDs, full bytes sealed */
	GArray *unsealed;   /* guint32 UIDs quarantined with only their header
			       sealed (too large): never removed by canary */
};

/* How a stored case's message was filed. */
enum filed_as { FILED, QUARANTINED, UNSEALED };

/* What is counted per UID across passes, kept in the store's state as
 * "poll.KIND.MAILBOX". */
enum count {
	DEATHS,   /* times in hand when the process died */
	CRASHES,  /* of those, times it died of a crash */
	ATTEMPTS, /* failed fetches */
	COUNT_KINDS
};
static const char *const count_kinds[COUNT_KINDS] = {"deaths", "crashes", "attempts"};

/* Everything one pass works with. */
struct pass {
	const struct canary_config *config;
	struct canary_store *store;
	struct canary_ingest *ingest;
	struct canary_imap *imap; /* listing and sweeping; moves go through the
				     first fetch session */
	const char *mailbox;
	guint32 uidvalidity;
	gboolean uidplus; /* the server removes messages by UID */
	GArray *listed; /* struct canary_imap_message: the inbox at the start of
			   the pass, oldest UID first */
	guint window;   /* messages sorted at a time: SORT_WINDOW */
	guint sorted;   /* LISTED before this are sorted */
	guint added;   /* messages added to the prepare so far (its indexes) */
	struct canary_prefetch *prefetch;
	struct canary_prepare *prepare;
	struct batch batch;
	GArray *removed; /* guint32 UIDs of the inbox confirmed removed this pass */
	struct canary_poll_stats *stats;
	volatile const int *stop;
	void (*progress)(gpointer);
	gpointer user_data;
	/* UID -> count, of this UIDVALIDITY, one table per enum count. */
	GHashTable *counts[COUNT_KINDS];
	char *in_hand_path;   /* beside the database */
	char *crash_mark_path; /* see crash.h */
};

/* Reads the counts of KIND kept in state (uidvalidity uid count;...) for
 * PASS's mailbox into a new table, keeping those of its UIDVALIDITY. */
static GHashTable *load_counts(struct pass *pass, enum count kind, GError **error)
{
	g_autofree char *key = g_strdup_printf("poll.%s.%s", count_kinds[kind], pass->mailbox);
	g_autofree char *value = NULL;
	if (!canary_store_get_state(pass->store, key, &value, error))
		return NULL;
	GHashTable *counts = g_hash_table_new(NULL, NULL);
	g_auto(GStrv) entries = g_strsplit(value != NULL ? value : "", ";", -1);
	for (guint i = 0; entries[i] != NULL; i++) {
		guint32 uidvalidity = 0, uid = 0, count = 0;
		if (sscanf(entries[i], "%u %u %u", &uidvalidity, &uid, &count) == 3 &&
		    uidvalidity == pass->uidvalidity && uid != 0)
			g_hash_table_insert(counts, GUINT_TO_POINTER(uid), GUINT_TO_POINTER(count));
	}
	return counts;
}

/* Writes the counts of KIND back to state. */
static gboolean save_counts(struct pass *pass, enum count kind, GError **error)
{
	g_autofree char *key = g_strdup_printf("poll.%s.%s", count_kinds[kind], pass->mailbox);
	g_autoptr(GString) value = g_string_new(NULL);
	GHashTableIter it;
	gpointer uid, count;
	g_hash_table_iter_init(&it, pass->counts[kind]);
	while (g_hash_table_iter_next(&it, &uid, &count))
		g_string_append_printf(value, "%s%u %u %u", value->len > 0 ? ";" : "",
				       pass->uidvalidity, GPOINTER_TO_UINT(uid),
				       GPOINTER_TO_UINT(count));
	return canary_store_set_state(pass->store, key, value->str, error);
}

/* Orders struct canary_imap_message by UID. */
static int compare_uid(const void *a, const void *b)
{
	guint32 x = ((const struct canary_imap_message *)a)->uid;
	guint32 y = ((const struct canary_imap_message *)b)->uid;
	return x < y ? -1 : x > y;
}

static guint count_of(const struct pass *pass, enum count kind, guint32 uid)
{
	return GPOINTER_TO_UINT(g_hash_table_lookup(pass->counts[kind], GUINT_TO_POINTER(uid)));
}

static void count_one(struct pass *pass, enum count kind, guint32 uid)
{
	g_hash_table_insert(pass->counts[kind], GUINT_TO_POINTER(uid),
			    GUINT_TO_POINTER(count_of(pass, kind, uid) + 1));
}

/* Counts each message the in-hand file names (left by a process that died
 * while preparing it) as one death, and as one crash too when the crash
 * mark is there; removes both files. */
static gboolean count_deaths(struct pass *pass, GError **error)
{
	g_autofree char *contents = NULL;
	gboolean crashed = g_file_test(pass->crash_mark_path, G_FILE_TEST_EXISTS);
	if (!g_file_get_contents(pass->in_hand_path, &contents, NULL, NULL)) {
		unlink(pass->crash_mark_path); /* a crash with nothing in hand */
		return TRUE;                   /* or none: the last pass ended alive */
	}
	g_auto(GStrv) lines = g_strsplit(contents, "\n", -1);
	for (guint i = 0; lines[i] != NULL; i++) {
		guint32 uidvalidity = 0, uid = 0;
		if (sscanf(lines[i], "%u %u", &uidvalidity, &uid) != 2 ||
		    uidvalidity != pass->uidvalidity)
			continue;
		count_one(pass, DEATHS, uid);
		if (crashed)
			count_one(pass, CRASHES, uid);
		canary_warning("UID %u was in hand when canaryd %s (%u crash(es), %u death(s) "
			       "in all)",
			       uid, crashed ? "crashed" : "was killed",
			       count_of(pass, CRASHES, uid), count_of(pass, DEATHS, uid));
	}
	if (!save_counts(pass, DEATHS, error) || !save_counts(pass, CRASHES, error))
		return FALSE;
	unlink(pass->in_hand_path);
	unlink(pass->crash_mark_path);
	return TRUE;
}

/* Whether UID is poison: see POISON_CRASHES. */
static gboolean is_poison(const struct pass *pass, guint32 uid)
{
	return count_of(pass, CRASHES, uid) >= POISON_CRASHES ||
	       count_of(pass, DEATHS, uid) >= POISON_DEATHS;
}

/* Keeps only the counts of UIDs still in the inbox (LISTED, oldest UID
 * first); TRUE if any was dropped. */
static gboolean forget_gone(GHashTable *counts, GArray *listed)
{
	GHashTableIter it;
	gpointer uid;
	gboolean dropped = FALSE;
	g_hash_table_iter_init(&it, counts);
	while (g_hash_table_iter_next(&it, &uid, NULL)) {
		struct canary_imap_message key = {.uid = GPOINTER_TO_UINT(uid)};
		if (bsearch(&key, listed->data, listed->len, sizeof key, compare_uid) == NULL) {
			g_hash_table_iter_remove(&it);
			dropped = TRUE;
		}
	}
	return dropped;
}

/* Forgets what was counted against UID (a message now stored) and saves
 * the counts that changed. */
static gboolean forget_counts(struct pass *pass, guint32 uid, GError **error)
{
	for (enum count kind = 0; kind < COUNT_KINDS; kind++)
		if (g_hash_table_remove(pass->counts[kind], GUINT_TO_POINTER(uid)) &&
		    !save_counts(pass, kind, error))
			return FALSE;
	return TRUE;
}

/* Counts a failed attempt at UID (WHAT: "fetched" or "stored", for WHY),
 * leaves it in the inbox for now, and saves the count. */
static gboolean skip_attempt(struct pass *pass, guint32 uid, const char *what, const char *why,
			     GError **error)
{
	count_one(pass, ATTEMPTS, uid);
	canary_warning("message UID %u could not be %s (%s, attempt %u of %u); it stays in the "
		       "inbox",
		       uid, what, why, count_of(pass, ATTEMPTS, uid), FETCH_ATTEMPTS);
	pass->stats->skipped++;
	return save_counts(pass, ATTEMPTS, error);
}

char *canary_poll_crash_mark_path(const struct canary_config *config)
{
	return g_strconcat(config->store.database, ".in-hand.crashed", NULL);
}

char *canary_poll_read_secret(const char *path, GError **error)
{
	g_autofree char *credential = canary_config_credential_path(path);
	const char *chosen = credential != NULL ? credential : path;
	char *contents = NULL;
	gsize len = 0;
	if (!g_file_get_contents(chosen, &contents, &len, error))
		return NULL;
	/* The secret is the first line; the rest (if any) is wiped unread. */
	char *newline = memchr(contents, '\n', len);
	if (newline != NULL)
		canary_wipe(newline, len - (gsize)(newline - contents));
	gsize secret_len = strlen(contents);
	if (secret_len > 0 && contents[secret_len - 1] == '\r')
		contents[--secret_len] = '\0';
	if (secret_len == 0) {
		canary_wipe_free(contents);
		g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
			    "%s: empty; expected the secret on its first line", chosen);
		return NULL;
	}
	return contents;
}

/* The session settings CONFIG describes, with PASSWORD or TOKEN. */
static struct canary_imap_options session_options(const struct canary_config *config,
						  const char *password, const char *token)
{
	return (struct canary_imap_options){
		.url = config->imap.url,
		.username = config->imap.username,
		.password = password,
		.oauth2_token = token,
		.ca_file = config->imap.ca_file,
		.pinned_public_key = config->imap.pinned_public_key,
		.connect_timeout = (long)config->imap.connect_timeout,
		.io_timeout = (long)config->imap.io_timeout,
		.trace = config->imap.trace,
	};
}

/* Compares UIDVALIDITY with the last pass's and records it. */
static gboolean check_uidvalidity(struct canary_store *store, const char *mailbox,
				  guint32 uidvalidity, struct canary_poll_stats *stats,
				  GError **error)
{
	g_autofree char *key = g_strdup_printf("imap.uidvalidity.%s", mailbox);
	g_autofree char *last = NULL;
	if (!canary_store_get_state(store, key, &last, error))
		return FALSE;
	g_autofree char *now = g_strdup_printf("%u", uidvalidity);
	if (last != NULL && strcmp(last, now) == 0)
		return TRUE;
	if (last != NULL) {
		stats->uidvalidity_changed = TRUE;
		canary_warning("UIDVALIDITY of %s changed from %s to %s (the mailbox was "
			       "recreated): messages already stored are recognised by content",
			       mailbox, last, now);
	}
	return canary_store_set_state(store, key, now, error);
}

/* How a stored case's message was filed. */
static gboolean filed_as(struct canary_store *store, const char *ref, enum filed_as *as_r,
			 GError **error)
{
	g_autoptr(canary_case) c = canary_store_get_case(store, ref, error);
	if (c == NULL)
		return FALSE;
	*as_r = FILED;
	if (strcmp(c->status, CANARY_STATUS_QUARANTINED) == 0)
		*as_r = g_strcmp0(c->quarantine_reason,
				  canary_quarantine_name(CANARY_QUARANTINE_TOO_LARGE)) == 0
				? UNSEALED
				: QUARANTINED;
	return TRUE;
}

/* Adds UID to where it goes once its case is committed. */
static void file_uid(struct batch *batch, guint32 uid, enum filed_as as)
{
	GArray *to[] = {[FILED] = batch->processed,
			[QUARANTINED] = batch->quarantine,
			[UNSEALED] = batch->unsealed};
	g_array_append_val(to[as], uid);
}

/* Moves UIDS to FOLDER marked KEYWORD (may be NULL), or with FOLDER NULL
 * removes them: queued for the first fetch session (the server then sees
 * one client changing the mailbox, and ingestion goes on meanwhile;
 * counted by finish_moves()). */
static gboolean move(struct pass *pass, GArray *uids, const char *folder, const char *keyword,
		     GError **error)
{
	if (uids->len == 0)
		return TRUE;
	return canary_prefetch_put_away(pass->prefetch, (const guint32 *)uids->data, uids->len,
					folder, keyword, error);
}

/* Where messages go whose folder keeps them RETENTION: nowhere (removed
 * from the inbox at once) when it keeps nothing and the server can remove
 * by UID; else the folder, whose sweep removes them in time. */
static const char *destination(const struct pass *pass, guint64 retention, const char *folder)
{
	return retention == 0 && pass->uidplus ? NULL : folder;
}

/* Waits for the moves queued on the fetch session and counts them. */
static gboolean finish_moves(struct pass *pass, GError **error)
{
	guint moved = 0;
	gboolean ok = canary_prefetch_flush(pass->prefetch, &moved, error);
	pass->stats->moved += moved;
	g_autoptr(GArray) removed = canary_prefetch_take_removed(pass->prefetch);
	g_array_append_vals(pass->removed, removed->data, removed->len);
	return ok;
}

/* A content hash only recognises a message that comes back from the
 * server; once no copy can, it would only let someone holding the
 * pseudonym key confirm a guessed message. So it is forgotten for the UIDs
 * just removed, and for the days every folder's retention has passed
 * (messages kept in a folder, or removed by a sweep, whose UIDs there we
 * do not know). Then the write-ahead log is truncated, so the old values
 * do not stay in it. */
static gboolean forget_hashes(struct pass *pass, GError **error)
{
	const struct canary_config *config = pass->config;
	guint by_uid = 0, by_day = 0;
	if (pass->removed->len > 0 &&
	    !canary_store_forget_hashes_of_sources(pass->store, pass->mailbox, pass->uidvalidity,
						   (const guint32 *)pass->removed->data,
						   pass->removed->len, &by_uid, error))
		return FALSE;
	guint64 kept = MAX(config->imap.processed_retention, config->imap.quarantine_retention);
	gint64 now = g_get_real_time() / G_USEC_PER_SEC;
	if (kept != CANARY_CONFIG_FOREVER && kept < (guint64)now &&
	    !canary_store_forget_hashes_before(pass->store, now - (gint64)kept, &by_day, error))
		return FALSE;
	if (by_uid + by_day == 0)
		return TRUE;
	return canary_store_checkpoint(pass->store, error);
}

/* Called once per pass with the inbox UIDs (of the pass's UIDVALIDITY) that
 * the server confirmed removed, whether or not the pass then failed: their
 * cases are committed and the server holds no copy of them any more. */
static void removed_from_server(struct pass *pass)
{
	pass->stats->removed += pass->removed->len;
	g_autoptr(GError) error = NULL;
	if (!forget_hashes(pass, &error))
		canary_warning("content hashes of messages gone from the server are kept until "
			       "the next pass: %s",
			       error->message);
	g_array_set_size(pass->removed, 0);
}

/* Takes the committed batch's messages out of the inbox: removed, or
 * moved to their folders. A quarantined message whose full bytes are not
 * sealed always moves, unmarked, so no sweep ever removes it. */
static gboolean move_batch(struct pass *pass, GError **error)
{
	const struct canary_config *config = pass->config;
	struct batch *batch = &pass->batch;
	const char *processed = destination(pass, config->imap.processed_retention,
					    config->imap.processed_folder);
	const char *quarantine = destination(pass, config->imap.quarantine_retention,
					     config->imap.quarantine_folder);
	if (!move(pass, batch->processed, processed, NULL, error) ||
	    !move(pass, batch->quarantine, quarantine, SEALED_KEYWORD, error) ||
	    !move(pass, batch->unsealed, config->imap.quarantine_folder, NULL, error))
		return FALSE;
	g_array_set_size(batch->processed, 0);
	g_array_set_size(batch->quarantine, 0);
	g_array_set_size(batch->unsealed, 0);
	return TRUE;
}

/* The time before which a folder keeping messages RETENTION lets them go:
 * G_MAXINT64 (all of them) for 0. */
static gint64 sweep_cutoff(guint64 retention)
{
	if (retention == 0)
		return G_MAXINT64;
	gint64 now = g_get_real_time() / G_USEC_PER_SEC;
	return retention >= (guint64)now ? 0 : now - (gint64)retention;
}

/* Removes from the processed and quarantine folders what their retention
 * no longer keeps (in the quarantine folder only what carries
 * SEALED_KEYWORD). With retention 0 this finds what a crash or a server
 * without UIDPLUS left there. */
static gboolean sweep(struct pass *pass, GError **error)
{
	const struct canary_config *config = pass->config;
	if (*pass->stop)
		return TRUE; /* the next pass sweeps */
	const struct {
		const char *folder;
		guint64 retention;
		const char *keyword;
	} folders[] = {
		{config->imap.processed_folder, config->imap.processed_retention, NULL},
		{config->imap.quarantine_folder, config->imap.quarantine_retention, SEALED_KEYWORD},
	};
	for (gsize i = 0; i < G_N_ELEMENTS(folders); i++) {
		if (folders[i].retention == CANARY_CONFIG_FOREVER)
			continue;
		guint removed = 0;
		gint64 cutoff = sweep_cutoff(folders[i].retention);
		if (!canary_imap_sweep(pass->imap, folders[i].folder, cutoff, folders[i].keyword,
				       &removed, error))
			return FALSE;
		pass->stats->swept += removed;
		if (removed > 0)
			canary_info("removed %u messages from %s (retention over)", removed,
				    folders[i].folder);
	}
	return TRUE;
}

/* Sorts the next window of the listing: messages stored already (a crash
 * came between a commit and its move) go with the next batch's moves;
 * those whose fetching failed too often stay; the rest are added to the
 * prepare, to fetch and file. */
static gboolean sort_window(struct pass *pass, GError **error)
{
	guint64 max_size = pass->config->limits.max_message_size;
	guint first = pass->sorted;
	guint n = MIN(pass->window, pass->listed->len - first);
	pass->sorted += n;
	g_autoptr(GArray) items =
		g_array_sized_new(FALSE, FALSE, sizeof(struct canary_prefetch_item), n);
	g_autoptr(GArray) sources =
		g_array_sized_new(FALSE, FALSE, sizeof(struct canary_ingest_source), n);
	for (guint i = first; i < first + n; i++) {
		const struct canary_imap_message *m =
			&g_array_index(pass->listed, struct canary_imap_message, i);
		g_autofree char *ref = NULL;
		if (!canary_store_find_source(pass->store, pass->mailbox, pass->uidvalidity, m->uid,
					      &ref, error))
			return FALSE;
		if (ref != NULL) {
			enum filed_as as = FILED;
			if (!filed_as(pass->store, ref, &as, error) ||
			    !forget_counts(pass, m->uid, error))
				return FALSE;
			pass->stats->duplicates++;
			file_uid(&pass->batch, m->uid, as);
			continue;
		}
		if (count_of(pass, ATTEMPTS, m->uid) >= FETCH_ATTEMPTS) {
			canary_warning("UID %u: fetching or storing it failed %u times; it stays in "
				       "the inbox, no longer fetched",
				       m->uid, FETCH_ATTEMPTS);
			pass->stats->skipped++;
			continue;
		}
		struct canary_prefetch_item item = {
			.uid = m->uid, .size = m->size, .header_only = m->size > max_size};
		struct canary_ingest_source source = {
			.mailbox = pass->mailbox,
			.uidvalidity = pass->uidvalidity,
			.uid = m->uid,
			.received_at = m->internal_date,
			.full_size = item.header_only ? m->size : 0,
			.poison = is_poison(pass, m->uid),
		};
		if (source.poison)
			canary_warning("UID %u was in hand when canaryd crashed %u times and "
				       "died %u times in all: it is quarantined as poison "
				       "without being parsed",
				       m->uid, count_of(pass, CRASHES, m->uid),
				       count_of(pass, DEATHS, m->uid));
		g_array_append_val(items, item);
		g_array_append_val(sources, source);
	}
	pass->added += items->len;
	canary_prepare_add(pass->prepare, (const struct canary_prefetch_item *)items->data,
			   (const struct canary_ingest_source *)sources->data, items->len);
	if (pass->sorted == pass->listed->len)
		canary_prepare_close(pass->prepare);
	return TRUE;
}

/* Sorts windows until a window's worth of messages is added past index
 * NEXT, or the whole listing is sorted. */
static gboolean sort_ahead(struct pass *pass, guint next, GError **error)
{
	while (pass->sorted < pass->listed->len && pass->added < next + pass->window)
		if (!sort_window(pass, error))
			return FALSE;
	return TRUE;
}

/* Stores PREPARED (UID) so that a message the store refuses as too big
 * (SQLITE_TOOBIG) is undone alone, counted as an attempt, and left in the
 * inbox, with RESULT_R's ref NULL; the rest of the batch stays. That takes
 * a savepoint, which copies every page the message changes, so only a
 * message that may be refused gets one. FALSE with ERROR when the store
 * fails otherwise (the caller rolls the batch back). */
static gboolean store_alone(struct pass *pass, guint32 uid,
			    const struct canary_ingest_prepared *prepared,
			    struct canary_ingest_result *result_r, GError **error)
{
	*result_r = (struct canary_ingest_result){0};
	gboolean marked =
		canary_ingest_prepared_bound(prepared) > canary_store_largest_value(pass->store);
	if (marked && !canary_store_mark(pass->store, error))
		return FALSE;
	g_autoptr(GError) local = NULL;
	if (canary_ingest_store_prepared(pass->ingest, prepared, result_r, &local))
		return !marked || canary_store_release_mark(pass->store, error);
	if (marked)
		canary_store_rollback_to_mark(pass->store);
	canary_ingest_result_clear(result_r); /* a ref set before the failure */
	*result_r = (struct canary_ingest_result){0};
	if (!marked || !g_error_matches(local, CANARY_STORE_ERROR, CANARY_STORE_ERROR_TOO_BIG)) {
		g_propagate_error(error, g_steal_pointer(&local));
		return FALSE;
	}
	return skip_attempt(pass, uid, "stored", local->message, error);
}

/* Stores the message added at index I, fetched (only its header if it was
 * too large) and prepared. Returns FALSE with ERROR when the pass must
 * stop; a message the server refused to give stays in the inbox for the
 * next pass. */
static gboolean take_message(struct pass *pass, guint i, GError **error)
{
	struct canary_ingest_source source;
	g_autoptr(GError) local = NULL;
	g_autoptr(canary_ingest_prepared) prepared = canary_prepare_take_feeding(
		pass->prepare, i, (gint64)pass->config->message_time * G_USEC_PER_SEC,
		pass->progress, pass->user_data, &source, &local);
	guint32 uid = source.uid;
	if (prepared == NULL) {
		if (g_error_matches(local, CANARY_IMAP_ERROR, CANARY_IMAP_ERROR_REFUSED) ||
		    g_error_matches(local, CANARY_IMAP_ERROR, CANARY_IMAP_ERROR_MESSAGE)) {
			return skip_attempt(pass, uid, "fetched", local->message, error);
		}
		g_propagate_error(error, g_steal_pointer(&local));
		return FALSE;
	}
	struct canary_ingest_result result;
	if (!store_alone(pass, uid, prepared, &result, error))
		return FALSE;
	if (result.ref == NULL)
		return TRUE; /* refused by the store: left in the inbox */
	enum filed_as as = FILED;
	gboolean ok = TRUE;
	switch (result.outcome) {
	case CANARY_INGEST_FILED:
		pass->stats->filed++;
		/* Never the reference beside the UID: the journal's exact time
		 * would join the case to the mail server's log of that UID. */
		canary_info("UID %u filed", uid);
		break;
	case CANARY_INGEST_QUARANTINED:
		pass->stats->quarantined++;
		/* Only the header of a too-large message was sealed. */
		as = result.quarantine == CANARY_QUARANTINE_TOO_LARGE ? UNSEALED : QUARANTINED;
		canary_notice("UID %u quarantined (%s)", uid,
			      canary_quarantine_name(result.quarantine));
		break;
	case CANARY_INGEST_FOLLOW_UP:
		pass->stats->follow_ups++;
		canary_info("UID %u joined its case", uid);
		break;
	case CANARY_INGEST_DUPLICATE:
		pass->stats->duplicates++;
		ok = filed_as(pass->store, result.ref, &as, error);
		if (ok)
			canary_info("UID %u is already stored", uid);
		break;
	}
	canary_ingest_result_clear(&result);
	/* Filed: what was counted against it is forgotten. */
	ok = ok && forget_counts(pass, uid, error);
	if (ok)
		file_uid(&pass->batch, uid, as);
	return ok;
}

/* Ingests the messages added from index *NEXT on in one transaction,
 * sorting the listing further as it goes, until batch_size messages or
 * batch_time have gone by, then moves them (and those the sorting found
 * stored already). On a fetch failure, commits and moves what was done
 * before failing. */
static gboolean run_batch(struct pass *pass, guint *next, GError **error)
{
	const struct canary_config *config = pass->config;
	if (!canary_store_begin(pass->store, error))
		return FALSE;
	gint64 deadline = g_get_monotonic_time() + (gint64)config->imap.batch_time * G_USEC_PER_SEC;
	guint end = *next + MAX(config->imap.batch_size, 1);
	GError *failure = NULL;
	while (*next < end && !*pass->stop) {
		if (!sort_ahead(pass, *next, &failure) || *next == pass->added ||
		    !take_message(pass, (*next)++, &failure))
			break;
		if (pass->progress != NULL)
			pass->progress(pass->user_data);
		if (g_get_monotonic_time() >= deadline)
			break;
	}
	if (failure != NULL && failure->domain != CANARY_IMAP_ERROR) {
		/* The store failed: nothing of this batch is kept, nothing moves. */
		canary_store_rollback(pass->store);
		canary_ingest_drop_acknowledgements(pass->ingest);
		g_propagate_error(error, failure);
		return FALSE;
	}
	// Order is important: commit the cases, then move the server copies.
	if (!canary_store_commit(pass->store, error)) {
		canary_ingest_drop_acknowledgements(pass->ingest);
		g_clear_error(&failure);
		return FALSE;
	}
	if (failure != NULL) {
		/* The server failed mid-batch: what was stored still moves, if the
		 * connection allows; otherwise the next pass moves it. */
		g_autoptr(GError) ignored = NULL;
		move_batch(pass, &ignored);
		canary_ingest_send_acknowledgements(pass->ingest);
		g_propagate_error(error, failure);
		return FALSE;
	}
	// Order is important: the server copies move before anything is sent.
	gboolean moved = move_batch(pass, error);
	canary_ingest_send_acknowledgements(pass->ingest);
	return moved;
}

/* Lists the inbox, moves what is stored already, and files the rest. */
static gboolean run_pass(struct pass *pass, const struct canary_imap_options *options,
			 GError **error)
{
	const struct canary_config *config = pass->config;
	struct canary_imap_status status;
	if (!canary_imap_status(pass->imap, pass->mailbox, &status, error) ||
	    !canary_imap_has_capability(pass->imap, "UIDPLUS", &pass->uidplus, error) ||
	    !check_uidvalidity(pass->store, pass->mailbox, status.uidvalidity, pass->stats, error) ||
	    !canary_imap_ensure_folder(pass->imap, config->imap.processed_folder, error) ||
	    !canary_imap_ensure_folder(pass->imap, config->imap.quarantine_folder, error))
		return FALSE;
	pass->uidvalidity = status.uidvalidity;
	for (enum count kind = 0; kind < COUNT_KINDS; kind++)
		if ((pass->counts[kind] = load_counts(pass, kind, error)) == NULL)
			return FALSE;
	if (!count_deaths(pass, error))
		return FALSE;
	if ((pass->listed = canary_imap_list(pass->imap, 0, error)) == NULL)
		return FALSE;
	pass->stats->listed = pass->listed->len;
	/* Written only when something changed: an idle pass writes nothing. */
	for (enum count kind = 0; kind < COUNT_KINDS; kind++)
		if (forget_gone(pass->counts[kind], pass->listed) &&
		    !save_counts(pass, kind, error))
			return FALSE;
	if (pass->listed->len == 0) {
		removed_from_server(pass);
		return sweep(pass, error);
	}
	/* No more fetch sessions than messages: each costs the server a login. */
	guint sessions = CLAMP((guint)config->imap.fetch_sessions, 1, pass->listed->len);
	pass->prefetch = canary_prefetch_start(options, pass->uidvalidity, sessions,
					       PREFETCH_BUDGET, error);
	if (pass->prefetch == NULL)
		return FALSE;
	pass->prepare = canary_prepare_start_recorded(pass->ingest, pass->prefetch,
						      canary_prepare_default_threads(),
						      PREPARE_BUDGET, pass->in_hand_path);
	guint next = 0;
	gboolean ok = TRUE;
	while (ok && (next < pass->added || pass->sorted < pass->listed->len) && !*pass->stop)
		ok = run_batch(pass, &next, error);
	/* The first error wins; the moves still finish either way. */
	gboolean moved = finish_moves(pass, ok ? error : NULL);
	removed_from_server(pass);
	if (!moved || !ok)
		return FALSE;
	return sweep(pass, error);
}

gboolean canary_poll_pass(const struct canary_config *config, const char *password,
			  struct canary_store *store, struct canary_ingest *ingest,
			  volatile const int *stop, void (*progress)(gpointer), gpointer user_data,
			  struct canary_poll_stats *stats_r, GError **error)
{
	*stats_r = (struct canary_poll_stats){0};
	char *token = NULL;
	/* The token is re-read every pass: an outside helper renews it. */
	if (config->imap.oauth2_token_file != NULL) {
		token = canary_poll_read_secret(config->imap.oauth2_token_file, error);
		if (token == NULL)
			return FALSE;
	}
	struct canary_imap_options options = session_options(config, password, token);
	/* Only canaryd's passes answer senders, never an import. */
	canary_ingest_set_acknowledging(ingest, TRUE);
	struct pass pass = {
		.config = config,
		.store = store,
		.ingest = ingest,
		.window = sort_window_size(),
		.batch = {g_array_new(FALSE, FALSE, sizeof(guint32)),
			  g_array_new(FALSE, FALSE, sizeof(guint32)),
			  g_array_new(FALSE, FALSE, sizeof(guint32))},
		.removed = g_array_new(FALSE, FALSE, sizeof(guint32)),
		.stats = stats_r,
		.stop = stop,
		.progress = progress,
		.user_data = user_data,
		.in_hand_path = g_strconcat(config->store.database, ".in-hand", NULL),
		.crash_mark_path = canary_poll_crash_mark_path(config),
	};
	gboolean ok = FALSE;
	pass.imap = canary_imap_new(&options, error);
	if (pass.imap != NULL) {
		pass.mailbox = canary_imap_mailbox(pass.imap);
		ok = run_pass(&pass, &options, error);
	}
	canary_prepare_free(pass.prepare);   /* before the prefetch it takes from */
	canary_prefetch_free(pass.prefetch); /* before the session it fetches beside */
	canary_imap_free(pass.imap);
	canary_wipe_free(token); /* libcurl keeps its own copies */
	g_clear_pointer(&pass.listed, g_array_unref);
	g_array_unref(pass.batch.processed);
	g_array_unref(pass.batch.quarantine);
	g_array_unref(pass.batch.unsealed);
	g_array_unref(pass.removed);
	for (enum count kind = 0; kind < COUNT_KINDS; kind++)
		g_clear_pointer(&pass.counts[kind], g_hash_table_unref);
	g_free(pass.in_hand_path);
	g_free(pass.crash_mark_path);
	return ok;
}
