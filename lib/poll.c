/* poll.c: one pass over the confidential mailbox. Each batch of messages is
 * fetched and ingested inside one transaction; only after it commits are
 * the messages moved out of the inbox. A crash in between leaves them in
 * the inbox, where the next pass recognises them and only moves them. */
#include "poll.h"

#include <errno.h>
#include <string.h>

#include "imap.h"
#include "log.h"
#include "seal.h"

/* Where each message of a batch goes once the batch is committed. */
struct batch {
	GArray *processed;  /* guint32 UIDs */
	GArray *quarantine; /* guint32 UIDs */
};

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

/* Opens the IMAP session CONFIG describes. */
static struct canary_imap *open_session(const struct canary_config *config, const char *password,
					char **token_r, GError **error)
{
	/* The token is re-read every pass: an outside helper renews it. */
	if (config->imap.oauth2_token_file != NULL) {
		*token_r = canary_poll_read_secret(config->imap.oauth2_token_file, error);
		if (*token_r == NULL)
			return NULL;
	}
	struct canary_imap_options options = {
		.url = config->imap.url,
		.username = config->imap.username,
		.password = password,
		.oauth2_token = *token_r,
		.ca_file = config->imap.ca_file,
		.pinned_public_key = config->imap.pinned_public_key,
		.connect_timeout = (long)config->imap.connect_timeout,
		.io_timeout = (long)config->imap.io_timeout,
		.trace = config->imap.trace,
	};
	return canary_imap_new(&options, error);
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

/* Returns the folder a stored case's message belongs in. */
static gboolean folder_of(struct canary_store *store, const char *ref, gboolean *quarantined_r,
			  GError **error)
{
	g_autoptr(canary_case) c = canary_store_get_case(store, ref, error);
	if (c == NULL)
		return FALSE;
	*quarantined_r = strcmp(c->status, CANARY_STATUS_QUARANTINED) == 0;
	return TRUE;
}

/* Fetches and ingests one message. Returns FALSE with ERROR when the pass
 * must stop; sets *SKIPPED when only this message must wait. */
static gboolean take_message(const struct canary_config *config, struct canary_imap *imap,
			     struct canary_store *store, struct canary_ingest *ingest,
			     guint32 uidvalidity, const struct canary_imap_message *m,
			     struct batch *batch, struct canary_poll_stats *stats,
			     gboolean *skipped, GError **error)
{
	const char *mailbox = canary_imap_mailbox(imap);
	*skipped = FALSE;
	g_autofree char *ref = NULL;
	/* Stored already (a crash came between commit and move): only move it. */
	if (!canary_store_find_source(store, mailbox, uidvalidity, m->uid, &ref, error))
		return FALSE;
	gboolean quarantined = FALSE;
	if (ref != NULL) {
		if (!folder_of(store, ref, &quarantined, error))
			return FALSE;
		stats->duplicates++;
		g_array_append_val(quarantined ? batch->quarantine : batch->processed, m->uid);
		return TRUE;
	}

	gboolean too_large = m->size > config->limits.max_message_size;
	g_autoptr(GError) local = NULL;
	g_autoptr(GBytes) raw =
		too_large ? canary_imap_fetch_header(imap, uidvalidity, m->uid, &local)
			  : canary_imap_fetch(imap, uidvalidity, m->uid, &local);
	if (raw == NULL) {
		if (g_error_matches(local, CANARY_IMAP_ERROR, CANARY_IMAP_ERROR_REFUSED)) {
			canary_warning("message UID %u could not be fetched (%s); it stays in "
				       "the inbox for the next pass",
				       m->uid, local->message);
			*skipped = TRUE;
			stats->skipped++;
			return TRUE;
		}
		g_propagate_error(error, g_steal_pointer(&local));
		return FALSE;
	}
	struct canary_ingest_source source = {
		.mailbox = mailbox,
		.uidvalidity = uidvalidity,
		.uid = m->uid,
		.received_at = m->internal_date,
		.full_size = too_large ? m->size : 0,
	};
	struct canary_ingest_result result;
	if (!canary_ingest_message(ingest, raw, &source, &result, error))
		return FALSE;
	switch (result.outcome) {
	case CANARY_INGEST_FILED:
		stats->filed++;
		canary_info("UID %u filed as case %s", m->uid, result.ref);
		break;
	case CANARY_INGEST_QUARANTINED:
		stats->quarantined++;
		quarantined = TRUE;
		canary_notice("UID %u quarantined as case %s: %s", m->uid, result.ref,
			      canary_quarantine_name(result.quarantine));
		break;
	case CANARY_INGEST_DUPLICATE:
		stats->duplicates++;
		if (!folder_of(store, result.ref, &quarantined, error)) {
			canary_ingest_result_clear(&result);
			return FALSE;
		}
		canary_info("UID %u is case %s, already stored", m->uid, result.ref);
		break;
	}
	canary_ingest_result_clear(&result);
	g_array_append_val(quarantined ? batch->quarantine : batch->processed, m->uid);
	return TRUE;
}

/* Moves the committed batch's messages to their folders. */
static gboolean move_batch(const struct canary_config *config, struct canary_imap *imap,
			   struct batch *batch, struct canary_poll_stats *stats, GError **error)
{
	if (batch->processed->len > 0) {
		if (!canary_imap_move(imap, (const guint32 *)batch->processed->data,
				      batch->processed->len, config->imap.processed_folder, error))
			return FALSE;
		stats->moved += batch->processed->len;
	}
	if (batch->quarantine->len > 0) {
		if (!canary_imap_move(imap, (const guint32 *)batch->quarantine->data,
				      batch->quarantine->len, config->imap.quarantine_folder,
				      error))
			return FALSE;
		stats->moved += batch->quarantine->len;
	}
	g_array_set_size(batch->processed, 0);
	g_array_set_size(batch->quarantine, 0);
	return TRUE;
}

/* Ingests MESSAGES[FIRST..FIRST+COUNT) in one transaction, then moves them.
 * On a fetch failure, commits and moves what was done before failing. */
static gboolean run_batch(const struct canary_config *config, struct canary_imap *imap,
			  struct canary_store *store, struct canary_ingest *ingest,
			  guint32 uidvalidity, GArray *messages, guint first, guint count,
			  volatile const int *stop, void (*progress)(gpointer), gpointer user_data,
			  struct batch *batch, struct canary_poll_stats *stats, GError **error)
{
	if (!canary_store_begin(store, error))
		return FALSE;
	GError *failure = NULL;
	for (guint i = first; i < first + count && !*stop; i++) {
		const struct canary_imap_message *m =
			&g_array_index(messages, struct canary_imap_message, i);
		gboolean skipped = FALSE;
		if (!take_message(config, imap, store, ingest, uidvalidity, m, batch, stats,
				  &skipped, &failure))
			break;
		if (progress != NULL)
			progress(user_data);
	}
	if (failure != NULL && failure->domain != CANARY_IMAP_ERROR) {
		/* The store failed: nothing of this batch is kept, nothing moves. */
		canary_store_rollback(store);
		g_propagate_error(error, failure);
		return FALSE;
	}
	// Order is important: commit the cases, then move the server copies.
	if (!canary_store_commit(store, error)) {
		canary_store_rollback(store);
		g_clear_error(&failure);
		return FALSE;
	}
	if (failure != NULL) {
		/* The server failed mid-batch: what was stored still moves, if the
		 * connection allows; otherwise the next pass moves it. */
		g_autoptr(GError) ignored = NULL;
		move_batch(config, imap, batch, stats, &ignored);
		g_propagate_error(error, failure);
		return FALSE;
	}
	return move_batch(config, imap, batch, stats, error);
}

gboolean canary_poll_pass(const struct canary_config *config, const char *password,
			  struct canary_store *store, struct canary_ingest *ingest,
			  volatile const int *stop, void (*progress)(gpointer), gpointer user_data,
			  struct canary_poll_stats *stats_r, GError **error)
{
	*stats_r = (struct canary_poll_stats){0};
	char *token = NULL;
	struct canary_imap *imap = open_session(config, password, &token, error);
	canary_wipe_free(token); /* libcurl keeps its own copy */
	if (imap == NULL)
		return FALSE;

	struct batch batch = {g_array_new(FALSE, FALSE, sizeof(guint32)),
			      g_array_new(FALSE, FALSE, sizeof(guint32))};
	gboolean ok = FALSE;
	struct canary_imap_status status;
	g_autoptr(GArray) messages = NULL;
	const char *mailbox = canary_imap_mailbox(imap);
	if (!canary_imap_status(imap, mailbox, &status, error) ||
	    !check_uidvalidity(store, mailbox, status.uidvalidity, stats_r, error) ||
	    !canary_imap_ensure_folder(imap, config->imap.processed_folder, error) ||
	    !canary_imap_ensure_folder(imap, config->imap.quarantine_folder, error))
		goto out;
	messages = canary_imap_list(imap, 0, error);
	if (messages == NULL)
		goto out;
	stats_r->listed = messages->len;
	guint batch_size = MAX(config->imap.batch_size, 1);
	for (guint first = 0; first < messages->len && !*stop; first += batch_size) {
		guint count = MIN(batch_size, messages->len - first);
		if (!run_batch(config, imap, store, ingest, status.uidvalidity, messages, first,
			       count, stop, progress, user_data, &batch, stats_r, error))
			goto out;
	}
	ok = TRUE;
out:
	g_array_unref(batch.processed);
	g_array_unref(batch.quarantine);
	canary_imap_free(imap);
	return ok;
}
