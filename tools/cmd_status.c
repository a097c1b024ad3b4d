/* cmd_status.c: canary status: opens or closes a case, with an optional
 * note sealed like the case's content (to the section and triage keys).
 * Recorded in the case history; the note's text never is. The note comes
 * from a file, standard input or $EDITOR, never the command line, and is
 * sealed here, to the public keys canaryd hands out: canaryd stores the
 * sealed note with the status change. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"
#include "envelope.h"
#include "note.h"
#include "triage.h"
#include "wipe.h"

/* Seals NOTE as note number "note" of case C, to the keys in PREPARED (the
 * answer of status-prepare), into a new *SEALED_R. Returns an exit code. */
static int seal_note(JsonObject *prepared, const struct canary_case *c, const char *note,
		     struct canary_sealed_case **sealed_r)
{
	const char *section_text =
		json_object_get_string_member_with_default(prepared, "section_key", NULL);
	const char *triage_text =
		json_object_get_string_member_with_default(prepared, "triage_key", NULL);
	if (section_text == NULL) {
		cli_error("case %s is in section '%s', which has no key in canaryd's routing "
			  "rules: add it to the routing rules, or move the case",
			  c->ref, c->section);
		return CLI_EXIT_CONFIG;
	}
	g_autofree char *label = g_strdup_printf("section %s", c->section);
	g_autofree struct canary_public_key *section = cli_parse_public_key(label, section_text);
	if (section == NULL)
		return CLI_EXIT_CONFIG;
	g_autofree struct canary_public_key *triage = NULL;
	if (triage_text != NULL) {
		triage = cli_parse_public_key("the triage key", triage_text);
		if (triage == NULL)
			return CLI_EXIT_CONFIG;
	}
	struct canary_envelope_recipients to = {.section = section, .triage = triage};
	*sealed_r = note_seal(prepared, "note", c, &to, canary_sealed_seal_note, note);
	return *sealed_r != NULL ? CLI_EXIT_OK : CLI_EXIT_FAILED;
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
		return note_read_file("--note-file", note_file);
	if (isatty(STDIN_FILENO))
		return note_edit(ref);
	return g_strdup("");
}

int cmd_status(int argc, char **argv)
{
	g_auto(cli_common) common = {0};
	g_autofree char *note_argument = NULL, *note_file = NULL;
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
	int status = CLI_EXIT_OK;
	g_autoptr(canary_client) client = cli_connect(&common, &status);
	if (client == NULL)
		return status;
	g_autoptr(JsonObject) args = cli_args_ref(argv[1]);
	g_autoptr(canary_case) c = NULL;
	g_autoptr(JsonObject) prepared = cli_call_case(client, "status-prepare", args, &c, &status);
	if (prepared == NULL)
		return status;
	if (cli_case_quarantined(c, "its status cannot be changed; the custodian reviews "
				    "it with canary reveal"))
		return CLI_EXIT_FAILED;
	char *note = get_note(note_file, c->ref);
	if (note == NULL)
		return note_file != NULL ? CLI_EXIT_USAGE : CLI_EXIT_FAILED;
	g_autoptr(canary_sealed_case) sealed = NULL;
	if (strcmp(c->status, new_status) == 0 && note[0] == '\0') {
		printf("%s is already %s\n", c->ref, new_status);
	} else if (note[0] != '\0') {
		status = seal_note(prepared, c, note, &sealed);
	}
	// Order is important: the note's plaintext is wiped before anything else.
	gboolean has_note = note[0] != '\0';
	canary_wipe_free(note);
	if (status != CLI_EXIT_OK || (!has_note && strcmp(c->status, new_status) == 0))
		return status;
	json_object_set_string_member(args, "status", new_status);
	gint64 number = 0;
	if (sealed != NULL) {
		number = json_object_get_int_member_with_default(prepared, "note", 0);
		json_object_set_int_member(args, "note", number);
		json_object_set_object_member(args, "sealed", canary_sealed_case_to_json(sealed));
	}
	g_autoptr(JsonObject) result = cli_call(client, "status", args, &status);
	if (result == NULL)
		return status;
	if (number > 0)
		printf("%s is %s (note %" G_GINT64_FORMAT " added)\n", c->ref, new_status, number);
	else
		printf("%s is %s\n", c->ref, new_status);
	return CLI_EXIT_OK;
}
