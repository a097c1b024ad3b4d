/* cmd_status.c: canary status: opens or closes a case, with an optional
 * note sealed like the case's content (to the section and triage keys).
 * Recorded in the case history; the note's text never is. The note comes
 * from a file, standard input or $EDITOR, never the command line. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"
#include "envelope.h"
#include "note.h"
#include "triage.h"

/* Loads the public key at PATH (named by [keys] or the routing rules). */
static struct canary_public_key *load_public(const char *path)
{
	g_autoptr(GError) error = NULL;
	struct canary_public_key *key = canary_key_load_public(path, &error);
	if (key == NULL)
		cli_error("%s", error->message);
	return key;
}

/* Seals NOTE as the next note of case C inside the caller's transaction.
 * Returns an exit code; *NUMBER_R is the note's number. */
static int seal_note(const struct cli_session *s, const char *note, guint *number_r)
{
	const char *section_path = canary_config_section_key(s->config, s->c->section);
	if (section_path == NULL) {
		cli_error("case %s is in section '%s', which has no key in %s: add it to the "
			  "routing rules, or move the case",
			  s->c->ref, s->c->section, s->config->path);
		return CLI_EXIT_CONFIG;
	}
	g_autofree struct canary_public_key *section = load_public(section_path);
	if (section == NULL)
		return CLI_EXIT_CONFIG;
	g_autofree struct canary_public_key *triage = NULL;
	if (s->config->keys.triage_public != NULL) {
		triage = load_public(s->config->keys.triage_public);
		if (triage == NULL)
			return CLI_EXIT_CONFIG;
	}
	struct canary_envelope_recipients to = {.section = section, .triage = triage};
	g_autoptr(GError) error = NULL;
	if (!canary_envelope_seal_note(s->store, s->c->id, &to, cli_actor(), triage_now(), note,
				       number_r, &error)) {
		cli_error("case %s: %s", s->c->ref, error->message);
		return CLI_EXIT_STORE;
	}
	return CLI_EXIT_OK;
}

/* Refuses a note given as TEXT on the command line, and says why. */
static int refuse_note_argument(char *text)
{
	canary_wipe(text, strlen(text)); /* our copy, at least */
	cli_error("--note TEXT is refused: the command line is visible to every user in "
		  "/proc, and shell history and sudo's log keep it. Use --note-file FILE "
		  "(- for standard input), or run canary status on a terminal without a note "
		  "option to write the note in $EDITOR");
	return CLI_EXIT_USAGE;
}

/* The note for case REF: from NOTE_FILE, else from $EDITOR when standard
 * input is a terminal, else none (""). NULL after printing the problem. */
static char *get_note(const char *note_file, const char *ref)
{
	if (note_file != NULL)
		return note_read_file(note_file);
	if (isatty(STDIN_FILENO))
		return note_edit(ref);
	return g_strdup("");
}

int cmd_status(int argc, char **argv)
{
	g_auto(cli_common) common = {0};
	g_autofree char *note_argument = NULL, *note_file = NULL;
	char *note = NULL;
	GOptionEntry entries[] = {
		{"note-file", 'F', 0, G_OPTION_ARG_FILENAME, &note_file,
		 "Add the note in FILE (- for standard input), sealed to the section and "
		 "triage keys (canary show prints it)",
		 "FILE"},
		/* Only to refuse it with the reason. */
		{"note", 'n', G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_STRING, &note_argument, NULL,
		 NULL},
		G_OPTION_ENTRY_NULL};
	if (!cli_parse(&argc, &argv, "REF open|closed",
		       "Sets the status of case REF to open or closed, optionally with a sealed "
		       "note: from --note-file, or, on a terminal without it, written in "
		       "$VISUAL or $EDITOR (an empty note adds none). Never on the command "
		       "line. Needs no key. Recorded in the case history (the note's text is "
		       "not). Quarantined cases are the custodian's and cannot be changed.",
		       entries, &common))
		return CLI_EXIT_USAGE;
	if (note_argument != NULL)
		return refuse_note_argument(note_argument);
	if (argc != 3) {
		cli_error("status needs REF and open or closed (see --help)");
		return CLI_EXIT_USAGE;
	}
	const char *new_status = argv[2];
	if (strcmp(new_status, CANARY_STATUS_OPEN) != 0 &&
	    strcmp(new_status, CANARY_STATUS_CLOSED) != 0) {
		cli_error("status %s: expected open or closed", new_status);
		return CLI_EXIT_USAGE;
	}
	if (!triage_check_ref(argv[1]))
		return CLI_EXIT_USAGE;
	g_autoptr(GError) error = NULL;
	g_autofree char *action = g_strdup_printf("status %s", new_status);
	g_autofree char *detail = NULL;
	guint number = 0;
	struct cli_session s;
	int status = cli_session_open(&s, &common, argv[1], NULL, NULL);
	if (status != CLI_EXIT_OK)
		goto out;
	if (cli_case_quarantined(s.c, "its status cannot be changed; the custodian reviews "
				      "it with canary reveal")) {
		status = CLI_EXIT_FAILED;
		goto out;
	}
	note = get_note(note_file, s.c->ref);
	if (note == NULL) {
		status = note_file != NULL ? CLI_EXIT_USAGE : CLI_EXIT_FAILED;
		goto out;
	}
	if (strcmp(s.c->status, new_status) == 0 && note[0] == '\0') {
		printf("%s is already %s\n", s.c->ref, new_status);
		goto out;
	}
	if (!canary_store_begin(s.store, &error)) {
		cli_error("%s", error->message);
		status = CLI_EXIT_STORE;
		goto out;
	}
	if (note[0] != '\0') {
		status = seal_note(&s, note, &number);
		if (status != CLI_EXIT_OK) {
			canary_store_rollback(s.store);
			goto out;
		}
	}
	if (number > 0)
		detail = g_strdup_printf("note %u", number);
	if (!canary_store_set_status(s.store, s.c->ref, new_status, &error) ||
	    !canary_store_add_event(s.store, s.c->ref, cli_actor(), action, detail, &error) ||
	    !canary_store_commit(s.store, &error)) {
		canary_store_rollback(s.store);
		cli_error("%s", error->message);
		status = CLI_EXIT_STORE;
		goto out;
	}
	if (number > 0)
		printf("%s is %s (note %u added)\n", s.c->ref, new_status, number);
	else
		printf("%s is %s\n", s.c->ref, new_status);
out:
	canary_wipe_free(note);
	cli_session_close(&s);
	return status;
}
