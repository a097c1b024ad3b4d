/* cmd_move.c: canary move: hands a case to another section: its content key
 * (and the keys of its notes) re-sealed to that section's public key. Needs
 * a key that opens the case. The re-sealing happens here, with the key
 * copies and public key canaryd hands out; canaryd checks and stores the
 * new copies, sets the section and records the move in one transaction. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "envelope.h"
#include "triage.h"

int cmd_move(int argc, char **argv)
{
	g_auto(cli_common) common = {0};
	g_autofree char *section = NULL, *key_path = NULL, *passphrase_file = NULL;
	GOptionEntry entries[] = {
		{"section", 's', 0, G_OPTION_ARG_STRING, &section,
		 "The section to move the case to", "S"},
		{"key", 'k', 0, G_OPTION_ARG_FILENAME, &key_path,
		 "A secret key that opens the case (its section's, or triage)", "FILE"},
		{"passphrase-file", 'p', 0, G_OPTION_ARG_FILENAME, &passphrase_file,
		 "Read the key's passphrase from FILE (else ask)", "FILE"},
		G_OPTION_ENTRY_NULL};
	if (!cli_parse(&argc, &argv, "REF",
		       "Moves case REF to section S: the case's key is re-sealed to S's public "
		       "key, so S's officers can open it. Needs a key that opens the case now "
		       "(its section's or the triage key). Recorded in the case history.",
		       entries, &common))
		return CLI_EXIT_USAGE;
	if (argc != 2 || section == NULL || key_path == NULL) {
		cli_error("move needs one REF, --section S and --key FILE (see --help)");
		return CLI_EXIT_USAGE;
	}
	if (!triage_valid_name(section)) {
		cli_error("--section %s: expected a section name from the routing rules", section);
		return CLI_EXIT_USAGE;
	}
	if (!triage_check_ref(argv[1]))
		return CLI_EXIT_USAGE;
	int status = CLI_EXIT_OK;
	g_autoptr(canary_client) client = cli_connect(&common, &status);
	if (client == NULL)
		return status;
	g_autoptr(JsonObject) args = cli_args_ref(argv[1]);
	json_object_set_string_member(args, "section", section);
	g_autoptr(canary_case) c = NULL;
	g_autoptr(JsonObject) prepared = cli_call_case(client, "move-prepare", args, &c, &status);
	if (prepared == NULL)
		return status;
	if (cli_case_quarantined(c, "it has no section to move; the custodian reviews it "
				    "with canary reveal"))
		return CLI_EXIT_FAILED;
	if (strcmp(c->section, section) == 0) {
		printf("%s is already in section %s\n", c->ref, section);
		return CLI_EXIT_OK;
	}
	const char *key_text = json_object_get_string_member_with_default(prepared, "public_key", "");
	g_autofree char *label = g_strdup_printf("section %s", section);
	g_autofree struct canary_public_key *target = cli_parse_public_key(label, key_text);
	if (target == NULL)
		return CLI_EXIT_CONFIG;
	g_autoptr(canary_secret_key) key = cli_load_secret_key(key_path, passphrase_file);
	if (key == NULL)
		return CLI_EXIT_KEY;
	g_autoptr(canary_sealed_case) copies = cli_sealed_member(prepared, "sealed", c);
	if (copies == NULL)
		return CLI_EXIT_FAILED;
	g_autoptr(GError) error = NULL;
	g_autoptr(canary_sealed_case) resealed =
		canary_sealed_reseal_section(copies, key, target, &error);
	if (resealed == NULL) {
		if (g_error_matches(error, CANARY_ENVELOPE_ERROR, CANARY_ENVELOPE_ERROR_NO_ACCESS))
			cli_error("this key (%s) cannot open case %s: it is sealed to another "
				  "section; use the key of section %s or the triage key",
				  canary_secret_key_public(key)->id, c->ref, c->section);
		else
			cli_error("case %s: %s", c->ref, error->message);
		return CLI_EXIT_KEY;
	}
	json_object_set_object_member(args, "sealed", canary_sealed_case_to_json(resealed));
	g_autoptr(JsonObject) moved = cli_call(client, "move", args, &status);
	if (moved == NULL)
		return status;
	printf("%s moved from section ", c->ref);
	cli_print_line(stdout, c->section);
	printf(" to %s\n", section);
	return CLI_EXIT_OK;
}
