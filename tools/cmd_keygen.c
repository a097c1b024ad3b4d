/* cmd_keygen.c: canary keygen: make a key pair (public key for the daemon,
 * passphrase-protected secret key for officers) or a pseudonym key. */
#include <stdio.h>

#include "cli.h"
#include "commands.h"

int cmd_keygen(int argc, char **argv)
{
	g_auto(cli_common) common = {0};
	g_autofree char *out_dir = NULL, *passphrase_file = NULL, *pseudonym_file = NULL;
	gboolean force = FALSE;
	GOptionEntry entries[] = {
		{"out", 'o', 0, G_OPTION_ARG_FILENAME, &out_dir,
		 "Write DIR/NAME.pub and DIR/NAME.key", "DIR"},
		{"passphrase-file", 'p', 0, G_OPTION_ARG_FILENAME, &passphrase_file,
		 "Read the passphrase from the first line of FILE (else ask twice)", "FILE"},
		{"pseudonym-key", 0, 0, G_OPTION_ARG_FILENAME, &pseudonym_file,
		 "Write a new 32-byte pseudonym key to FILE instead", "FILE"},
		{"force", 'f', 0, G_OPTION_ARG_NONE, &force, "Overwrite existing files", NULL},
		G_OPTION_ENTRY_NULL};
	if (!cli_parse(&argc, &argv, "[NAME]",
		       "Makes an X25519 key pair: NAME.pub for canary.conf and the daemon, and "
		       "NAME.key, the secret key encrypted with a passphrase (Argon2id), for the "
		       "officers who read the cases. With --pseudonym-key, makes the key that "
		       "turns sender addresses into pseudonyms. Existing files are never "
		       "overwritten without --force.",
		       entries, &common))
		return CLI_EXIT_USAGE;
	g_autoptr(GError) error = NULL;

	if (pseudonym_file != NULL) {
		if (argc > 1 || out_dir != NULL) {
			cli_error("--pseudonym-key takes no NAME and no --out (see --help)");
			return CLI_EXIT_USAGE;
		}
		if (!canary_key_generate_pseudonym(pseudonym_file, force, &error)) {
			cli_error("%s", error->message);
			return CLI_EXIT_FAILED;
		}
		printf("wrote %s\n", pseudonym_file);
		return CLI_EXIT_OK;
	}
	if (argc != 2 || out_dir == NULL) {
		cli_error("keygen needs --out DIR and one NAME (see --help)");
		return CLI_EXIT_USAGE;
	}
	const char *name = argv[1];
	struct cli_passphrase *pass =
		cli_read_passphrase(passphrase_file, "Passphrase for the new key: ", TRUE);
	if (pass == NULL)
		return CLI_EXIT_FAILED;
	gboolean ok = canary_key_generate(out_dir, name, pass->text, pass->len, force, &error);
	cli_passphrase_free(pass);
	if (!ok) {
		cli_error("%s", error->message);
		return CLI_EXIT_FAILED;
	}
	printf("wrote %s/%s.pub and %s/%s.key\n", out_dir, name, out_dir, name);
	return CLI_EXIT_OK;
}
