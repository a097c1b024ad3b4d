/* cmd_move.c: canary move: hands a case to another section: its content key
 * (and the keys of its notes) re-sealed to that section's public key. Needs
 * a key that opens the case. Recorded in the case history. */
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
	g_autoptr(GError) error = NULL;
	g_autofree struct canary_public_key *target = NULL;
	g_autofree char *action = g_strdup_printf("moved to section %s", section);
	g_autofree char *detail = NULL;
	struct cli_session s;
	int status = cli_session_open(&s, &common, argv[1], NULL, NULL);
	if (status != CLI_EXIT_OK)
		goto out;
	if (cli_case_quarantined(s.c, "it has no section to move; the custodian reviews it "
				      "with canary reveal")) {
		status = CLI_EXIT_FAILED;
		goto out;
	}
	if (strcmp(s.c->section, section) == 0) {
		printf("%s is already in section %s\n", s.c->ref, section);
		goto out;
	}
	const char *target_path = canary_config_section_key(s.config, section);
	if (target_path == NULL) {
		cli_error("no such section '%s' in %s: use a section of the routing rules", section,
			  s.config->path);
		status = CLI_EXIT_USAGE;
		goto out;
	}
	target = canary_key_load_public(target_path, &error);
	if (target == NULL) {
		cli_error("section %s: %s", section, error->message);
		status = CLI_EXIT_CONFIG;
		goto out;
	}
	s.key = cli_load_secret_key(key_path, passphrase_file);
	if (s.key == NULL) {
		status = CLI_EXIT_KEY;
		goto out;
	}
	detail = g_strdup_printf("from %s", s.c->section);
	if (!canary_store_begin(s.store, &error)) {
		cli_error("%s", error->message);
		status = CLI_EXIT_STORE;
		goto out;
	}
	if (!canary_envelope_reseal_section(s.store, s.c->id, s.key, target, &error)) {
		canary_store_rollback(s.store);
		if (g_error_matches(error, CANARY_ENVELOPE_ERROR,
				    CANARY_ENVELOPE_ERROR_NO_ACCESS)) {
			cli_error("this key (%s) cannot open case %s: it is sealed to another "
				  "section; use the key of section %s or the triage key",
				  canary_secret_key_public(s.key)->id, s.c->ref, s.c->section);
			status = CLI_EXIT_KEY;
		} else {
			cli_error("case %s: %s", s.c->ref, error->message);
			status =
				error->domain == CANARY_STORE_ERROR ? CLI_EXIT_STORE : CLI_EXIT_KEY;
		}
		goto out;
	}
	if (!canary_store_set_section(s.store, s.c->ref, section, &error) ||
	    !canary_store_add_event(s.store, s.c->ref, cli_actor(), action, detail, &error) ||
	    !canary_store_commit(s.store, &error)) {
		canary_store_rollback(s.store);
		cli_error("%s", error->message);
		status = CLI_EXIT_STORE;
		goto out;
	}
	printf("%s moved from section ", s.c->ref);
	cli_print_line(stdout, s.c->section);
	printf(" to %s\n", section);
out:
	cli_session_close(&s);
	return status;
}
