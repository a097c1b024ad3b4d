/* cmd_reply.c: canary reply: drafts an answer to the submitter of a case,
 * for the custodian to send (canary send). The text comes from a file,
 * standard input or $EDITOR, never the command line, and is sealed here,
 * under a key of its own, to the section, triage and custodian keys
 * canaryd hands out; canaryd stores the sealed draft and records who
 * drafted it. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"
#include "envelope.h"
#include "note.h"
#include "triage.h"
#include "wipe.h"

/* Parses public key TEXT (LABEL in messages) into *KEY_R; TRUE when TEXT
 * is NULL and OPTIONAL. */
static gboolean parse_public(const char *label, const char *text, gboolean optional,
			     struct canary_public_key **key_r)
{
	*key_r = NULL;
	if (text == NULL) {
		if (!optional)
			cli_error("canaryd has no %s: ask an admin to configure it", label);
		return optional;
	}
	*key_r = cli_parse_public_key(label, text);
	return *key_r != NULL;
}

/* Seals TEXT as the draft PREPARED (reply-prepare's answer) numbers, for
 * case C, into a new *SEALED_R. Returns an exit code. */
static int seal_draft(JsonObject *prepared, const struct canary_case *c, const char *text,
		      struct canary_sealed_case **sealed_r)
{
	g_autofree struct canary_public_key *section = NULL, *triage = NULL, *custodian = NULL;
	g_autofree char *label = g_strdup_printf("section %s's key", c->section);
	if (!parse_public(label,
			  json_object_get_string_member_with_default(prepared, "section_key", NULL),
			  FALSE, &section) ||
	    !parse_public("triage key",
			  json_object_get_string_member_with_default(prepared, "triage_key", NULL),
			  TRUE, &triage) ||
	    !parse_public(
		    "custodian key",
		    json_object_get_string_member_with_default(prepared, "custodian_key", NULL),
		    FALSE, &custodian))
		return CLI_EXIT_CONFIG;
	struct canary_envelope_recipients to = {
		.section = section, .triage = triage, .custodian = custodian};
	*sealed_r = note_seal(prepared, "draft", c, &to, canary_sealed_seal_draft, text);
	return *sealed_r != NULL ? CLI_EXIT_OK : CLI_EXIT_FAILED;
}

/* The draft's text: from FILE, else from $EDITOR on a terminal. NULL after
 * printing the problem. */
static char *get_text(const char *file, const char *ref)
{
	if (file != NULL)
		return note_read_file("--file", file);
	if (!isatty(STDIN_FILENO)) {
		cli_error("reply needs --file FILE (- for standard input), or a terminal to "
			  "write the reply in $EDITOR");
		return NULL;
	}
	char *text = note_edit_draft(ref);
	if (text != NULL && text[0] == '\0') {
		cli_error("the reply is empty: nothing drafted");
		canary_wipe_free(text);
		return NULL;
	}
	return text;
}

int cmd_reply(int argc, char **argv)
{
	g_auto(cli_common) common = {0};
	g_autofree char *key_path = NULL, *passphrase_file = NULL, *file = NULL;
	GOptionEntry entries[] = {
		{"key", 'k', 0, G_OPTION_ARG_FILENAME, &key_path,
		 "Your section's (or the triage) secret key: it must open the case", "FILE"},
		{"passphrase-file", 'p', 0, G_OPTION_ARG_FILENAME, &passphrase_file,
		 "Read the key's passphrase from FILE (else ask)", "FILE"},
		{"file", 'F', 0, G_OPTION_ARG_FILENAME, &file,
		 "The reply's text from FILE (- for standard input)", "FILE"},
		G_OPTION_ENTRY_NULL};
	if (!cli_parse(&argc, &argv, "REF",
		       "Drafts a reply to the submitter of case REF, for the custodian to send "
		       "with canary send. The text comes from --file, or, on a terminal without "
		       "it, is written in $VISUAL or $EDITOR on a private file that is "
		       "overwritten and removed afterwards; never the command line. Sealed to "
		       "the section, triage and custodian keys. Recorded in the case history "
		       "(the text is not).",
		       entries, &common))
		return CLI_EXIT_USAGE;
	if (argc != 2 || key_path == NULL) {
		cli_error("reply needs one REF and --key FILE (see --help)");
		return CLI_EXIT_USAGE;
	}
	if (!triage_check_ref(argv[1]))
		return CLI_EXIT_USAGE;
	int status = CLI_EXIT_OK;
	g_autoptr(canary_secret_key) key = NULL;
	g_autoptr(canary_client) client =
		cli_connect_with_key(&common, key_path, passphrase_file, &key, &status);
	if (client == NULL)
		return status;
	g_autoptr(canary_case) c = NULL;
	status = cli_check_case_key(client, argv[1], key, CLI_KEY_OPENS_CONTENT,
				    "nobody can answer it from a section; the custodian reviews "
				    "it with canary reveal",
				    CLI_EXIT_FAILED, &c);
	if (status != CLI_EXIT_OK)
		return status;
	char *text = get_text(file, c->ref);
	if (text == NULL)
		return file != NULL ? CLI_EXIT_USAGE : CLI_EXIT_FAILED;
	g_autoptr(JsonObject) args = cli_args_ref(c->ref);
	g_autoptr(JsonObject) prepared = cli_call(client, "reply-prepare", args, &status);
	g_autoptr(canary_sealed_case) sealed = NULL;
	if (prepared != NULL)
		status = seal_draft(prepared, c, text, &sealed);
	// Order is important: the plaintext is wiped before anything else.
	canary_wipe_free(text);
	if (prepared == NULL || status != CLI_EXIT_OK)
		return status;
	gint64 number = json_object_get_int_member_with_default(prepared, "draft", 0);
	json_object_set_int_member(args, "draft", number);
	json_object_set_object_member(args, "sealed", canary_sealed_case_to_json(sealed));
	g_autoptr(JsonObject) result = cli_call(client, "reply", args, &status);
	if (result == NULL)
		return status;
	printf("%s: draft %" G_GINT64_FORMAT " waits for the custodian (canary outbox, canary "
	       "send)\n",
	       c->ref, number);
	return CLI_EXIT_OK;
}
