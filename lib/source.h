/* source.h: message sources for import: single .eml files, mbox files
 * (mboxrd/mboxo, RFC 4155) and Maildir folders, walked in a stable order. */
#ifndef CANARY_SOURCE_H
#define CANARY_SOURCE_H

#include <glib.h>

#define CANARY_SOURCE_ERROR (canary_source_error_quark())
GQuark canary_source_error_quark(void);

enum canary_source_error {
	CANARY_SOURCE_ERROR_IO,      /* a path cannot be opened or read */
	CANARY_SOURCE_ERROR_UNKNOWN, /* not a file, mbox or Maildir */
};

/* One message found in a source. */
struct canary_source_message {
	GBytes *raw;          /* the message bytes (mbox "From " line removed,
				 ">From " unquoted); a reference owned by the struct */
	const char *origin;   /* file it came from, for error messages about
				 the file (never logged with content) */
	guint index;          /* 0-based position inside an mbox, else 0 */
	gint64 mtime;         /* the file's modification time, Unix UTC */
};

/* Called for each message in order. Return FALSE (and set ERROR) to stop. */
typedef gboolean (*canary_source_func)(const struct canary_source_message *message,
				       gpointer user_data, GError **error);

/* Walks PATH: a file is one message, or an mbox when it starts with "From ";
 * a directory with cur/ or new/ is a Maildir (new/ then cur/, sorted by
 * name; tmp/ is skipped); any other directory is walked recursively, files
 * sorted by name, hidden files skipped. Empty files are skipped. Calls FUNC
 * for every message. Returns FALSE with ERROR if PATH or a file below it
 * cannot be read, or if FUNC returned FALSE. */
gboolean canary_source_walk(const char *path, canary_source_func func, gpointer user_data,
			    GError **error);

/* Splits an mbox held in memory at its "From " lines; exposed for tests and
 * fuzzing. Calls FUNC for each message with ORIGIN as its origin. */
gboolean canary_source_split_mbox(GBytes *mbox, const char *origin, gint64 mtime,
				  canary_source_func func, gpointer user_data, GError **error);

#endif
