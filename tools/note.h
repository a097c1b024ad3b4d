/* note.h: where an officer's note (or reply draft) comes from: a file,
 * standard input or $EDITOR on a private temporary file; never the command
 * line, which other users read in /proc and shell history and sudo's log
 * keep. And how it is sealed to the keys canaryd hands out. */
#ifndef CANARY_NOTE_H
#define CANARY_NOTE_H

#include <glib.h>

#include "envelope.h"

/* The longest note, in bytes. */
#define NOTE_MAX (64 * 1024)

/* Reads a note from PATH ("-" for standard input), given with OPTION
 * ("--note-file", "--file": the problem names it): UTF-8, at most NOTE_MAX
 * bytes, line breaks made LF, surrounding white space dropped. Returns a
 * new string (wipe it with canary_wipe_free()), or NULL after printing
 * what is wrong. */
char *note_read_file(const char *option, const char *path);

/* Lets the officer write a note for case REF in $VISUAL, $EDITOR or the
 * system's editor, on a file in a new 0700 directory under
 * $XDG_RUNTIME_DIR (else /tmp) that is overwritten and removed afterwards,
 * with anything the editor left beside it. Lines starting with '#' are
 * left out. Returns a new string, "" when the officer wrote nothing (wipe
 * it with canary_wipe_free()), or NULL after printing what went wrong. */
char *note_edit(const char *ref);

/* The same for a reply to the submitter of case REF (canary reply). */
char *note_edit_draft(const char *ref);

/* How a note or a draft is sealed: canary_sealed_seal_note() or
 * canary_sealed_seal_draft(). */
typedef gboolean (*note_seal_func)(struct canary_sealed_case *sc, guint number,
				   const struct canary_envelope_recipients *to, const char *author,
				   gint64 at, const char *text, GError **error);

/* Seals TEXT with SEAL to the keys TO, for case C, as the note or draft
 * that member KIND ("note", "draft") of PREPARED numbers. PREPARED is
 * canaryd's answer to status-prepare or reply-prepare; its "user" is the
 * author. Returns the sealed fields (new), or NULL after printing the
 * problem. */
struct canary_sealed_case *note_seal(JsonObject *prepared, const char *kind,
				     const struct canary_case *c,
				     const struct canary_envelope_recipients *to,
				     note_seal_func seal, const char *text);

#endif
