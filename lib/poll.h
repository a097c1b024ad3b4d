/* poll.h: one pass over the confidential mailbox: list, fetch, ingest,
 * commit, then move or remove; then sweep the folders. The order is what
 * makes ingestion exactly-once. */
#ifndef CANARY_POLL_H
#define CANARY_POLL_H

#include <glib.h>

#include "config.h"
#include "ingest.h"
#include "store.h"

/* What a pass did. */
struct canary_poll_stats {
	guint listed;      /* messages found in the mailbox */
	guint filed;       /* new cases */
	guint quarantined; /* new quarantined cases */
	guint follow_ups;  /* new messages of existing cases */
	guint duplicates;  /* already stored: only moved */
	guint moved;       /* messages taken out of the mailbox: moved to a
			      folder, or removed ([imap] *_retention = 0) */
	guint removed;     /* of those, removed from the server */
	guint swept;       /* removed from the processed and quarantine
			      folders, their retention over */
	guint skipped;     /* left for the next pass (could not be fetched) */
	gboolean uidvalidity_changed;
};

/* Runs one pass with CONFIG's [imap] settings, PASSWORD (or NULL when an
 * OAuth2 token file is configured), filing into STORE through INGEST.
 * Stops early, after committing what it has, when *STOP becomes TRUE (may
 * be set from a signal handler). Calls PROGRESS (may be NULL) after every
 * message, for watchdog pings. Returns FALSE with ERROR (CANARY_IMAP_ERROR_*
 * or CANARY_STORE_ERROR_*) when the pass could not finish; whatever was
 * committed stays committed and is moved on the next pass at the latest. */
gboolean canary_poll_pass(const struct canary_config *config, const char *password,
			  struct canary_store *store, struct canary_ingest *ingest,
			  volatile const int *stop, void (*progress)(gpointer), gpointer user_data,
			  struct canary_poll_stats *stats_r, GError **error);

/* The crash mark (see crash.h) that the passes over CONFIG's database read:
 * a message in hand at two crashes is poison, while deaths without a crash
 * need ten. A new string. */
char *canary_poll_crash_mark_path(const struct canary_config *config);

/* Reads a secret from PATH: the first line, without the newline. When
 * $CREDENTIALS_DIRECTORY is set and holds a file of the same base name, that
 * file is read instead (systemd LoadCredential=). Returns a new string
 * (wipe and free it with canary_wipe_free()), or NULL with ERROR. */
char *canary_poll_read_secret(const char *path, GError **error);

#endif
