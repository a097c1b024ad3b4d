/* note.h: where an officer's note comes from: a file, standard input or
 * $EDITOR on a private temporary file; never the command line, which other
 * users read in /proc and shell history and sudo's log keep. */
#ifndef CANARY_NOTE_H
#define CANARY_NOTE_H

#include <glib.h>

/* The longest note, in bytes. */
#define NOTE_MAX (64 * 1024)

/* Reads a note from PATH ("-" for standard input): UTF-8, at most NOTE_MAX
 * bytes, line breaks made LF, surrounding white space dropped. Returns a
 * new string (wipe it with canary_wipe_free()), or NULL after printing
 * what is wrong. */
char *note_read_file(const char *path);

/* Lets the officer write a note for case REF in $VISUAL, $EDITOR or the
 * system's editor, on a file in a new 0700 directory under
 * $XDG_RUNTIME_DIR (else /tmp) that is overwritten and removed afterwards,
 * with anything the editor left beside it. Lines starting with '#' are
 * left out. Returns a new string, "" when the officer wrote nothing (wipe
 * it with canary_wipe_free()), or NULL after printing what went wrong. */
char *note_edit(const char *ref);

/* The same for a reply to the submitter of case REF (canary reply). */
char *note_edit_draft(const char *ref);

#endif
