/* source.h: message sources for import: single .eml files, mbox files
 * (RFC 4155: mboxo, mboxrd, mboxcl, mboxcl2) and Maildir folders, walked in a stable order. */
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

/* Called for each file, folder or mbox message the walk leaves out, with
 * its path and why (a short phrase: "empty file", "Maildir++ subfolder;
 * give --subfolders to import it", ...). Never given message content. */
typedef void (*canary_source_skip_func)(const char *path, const char *reason, gpointer user_data);

/* What a walk calls and what it counted. */
struct canary_source_walker {
	canary_source_func message;      /* each message, in order */
	canary_source_skip_func skipped; /* each thing left out; may be NULL */
	gpointer user_data;              /* for both */
	gboolean subfolders;             /* also walk the subfolders of a Maildir
					    (".Archive", ".Trash"), except those of the
					    office's own mail (sent, drafts) */
	guint files_read;                /* out: message files and mboxes read */
	guint skipped_count;             /* out: calls of SKIPPED */
};

/* Walks PATH: a file is one message, or an mbox when it starts with "From "
 * (after a UTF-8 byte-order mark and empty lines, which are dropped);
 * a directory with cur/ or new/ is a Maildir (new/ then cur/, sorted by
 * name; tmp/ and, unless WALKER->subfolders, its subfolders are left out);
 * any other directory is walked recursively, files sorted by name. Hidden
 * entries, empty files and messages, and links to folders inside the tree
 * are left out, each reported to WALKER->skipped. Returns FALSE with ERROR
 * if PATH or a file below it cannot be read, or if a callback returned
 * FALSE. */
gboolean canary_source_walk_with(const char *path, struct canary_source_walker *walker,
				 GError **error);

/* canary_source_walk_with() without subfolders, nothing reported. */
gboolean canary_source_walk(const char *path, canary_source_func func, gpointer user_data,
			    GError **error);

/* Splits an mbox held in memory at its separator lines (see source.c);
 * exposed for tests and fuzzing. Calls FUNC for each message with ORIGIN as
 * its origin. Fails with CANARY_SOURCE_ERROR_UNKNOWN unless MBOX starts
 * with a "From " line (after a byte-order mark and empty lines). */
gboolean canary_source_split_mbox(GBytes *mbox, const char *origin, gint64 mtime,
				  canary_source_func func, gpointer user_data, GError **error);

#endif
