/* cmd_keygen.c: canary keygen: make a key pair (public key for the daemon,
 * passphrase-protected secret key for officers) or a pseudonym key, or
 * re-encrypt a secret key file under a new passphrase. */
#include <stdio.h>

#include <sodium.h>

#include "cli.h"
#include "commands.h"
#include "passphrase.h"

/* Reads the passphrase for a new key: the first line of FILE, or on the
 * terminal, where the rules are checked before it is asked again, so that
 * a refused one is not typed twice. Prints the problem and returns NULL on
 * failure. */
static struct cli_passphrase *read_new_passphrase(const char *file, const char *prompt)
{
	if (file != NULL)
		return cli_read_passphrase(file, prompt);
	struct cli_passphrase *p = cli_read_passphrase(NULL, prompt);
	if (p == NULL)
		return NULL;
	g_autoptr(GError) error = NULL;
	if (!canary_passphrase_check(p->text, p->len, &error)) {
		cli_passphrase_free(p);
		cli_error("%s", error->message);
		return NULL;
	}
	struct cli_passphrase *again = cli_read_passphrase(NULL, "Repeat the passphrase: ");
	if (again == NULL) {
		cli_passphrase_free(p);
		return NULL;
	}
	gboolean same = again->len == p->len && sodium_memcmp(again->text, p->text, p->len) == 0;
	cli_passphrase_free(again);
	if (!same) {
		cli_passphrase_free(p);
		cli_error("the two passphrases differ");
		return NULL;
	}
	return p;
}

/* canary keygen --rewrap FILE: the old passphrase, then the new one twice
 * (or from their files). */
static int rewrap(const char *path, const char *old_file, const char *new_file)
{
	struct cli_passphrase *old =
		cli_read_passphrase(old_file, "Current passphrase of the key: ");
	if (old == NULL)
		return CLI_EXIT_FAILED;
	struct cli_passphrase *new = read_new_passphrase(new_file, "New passphrase for the key: ");
	if (new == NULL) {
		cli_passphrase_free(old);
		return CLI_EXIT_FAILED;
	}
	g_autoptr(GError) error = NULL;
	gboolean ok = canary_key_rewrap(path, old->text, old->len, new->text, new->len, &error);
	cli_passphrase_free(old);
	cli_passphrase_free(new);
	if (!ok) {
		cli_error("%s", error->message);
		return error->domain == CANARY_SEAL_ERROR ? CLI_EXIT_KEY : CLI_EXIT_FAILED;
	}
	printf("re-encrypted %s (the key is unchanged)\n", path);
	return CLI_EXIT_OK;
}

int cmd_keygen(int argc, char **argv)
{
	g_auto(cli_common) common = {0};
	g_autofree char *out_dir = NULL, *passphrase_file = NULL, *pseudonym_file = NULL;
	g_autofree char *rewrap_file = NULL, *old_passphrase_file = NULL;
	gboolean force = FALSE;
	GOptionEntry entries[] = {
		{"out", 'o', 0, G_OPTION_ARG_FILENAME, &out_dir,
		 "Write DIR/NAME.pub and DIR/NAME.key", "DIR"},
		{"passphrase-file", 'p', 0, G_OPTION_ARG_FILENAME, &passphrase_file,
		 "Read the (new) passphrase from the first line of FILE (else ask twice)", "FILE"},
		{"pseudonym-key", 0, 0, G_OPTION_ARG_FILENAME, &pseudonym_file,
		 "Write a new 32-byte pseudonym key to FILE instead", "FILE"},
		{"force", 'f', 0, G_OPTION_ARG_NONE, &force, "Overwrite existing files", NULL},
		{"rewrap", 0, 0, G_OPTION_ARG_FILENAME, &rewrap_file,
		 "Re-encrypt the secret key FILE under a new passphrase (the key stays)", "FILE"},
		{"old-passphrase-file", 0, 0, G_OPTION_ARG_FILENAME, &old_passphrase_file,
		 "With --rewrap: read the current passphrase from the first line of FILE", "FILE"},
		G_OPTION_ENTRY_NULL};
	if (!cli_parse(&argc, &argv, "[NAME]",
		       "Makes an X25519 key pair: NAME.pub for canary.conf and the daemon, and "
		       "NAME.key, the secret key encrypted with a passphrase (Argon2id), for the "
		       "officers who read the cases. With --pseudonym-key, makes the key that "
		       "turns sender addresses into pseudonyms. Existing files are never "
		       "overwritten without --force. With --rewrap, re-encrypts an existing "
		       "secret key file under a new passphrase at today's Argon2id limits. "
		       "A new passphrase needs 12 characters and must not be based on a common "
		       "word, password or sequence (see canary(1)).",
		       entries, &common))
		return CLI_EXIT_USAGE;
	g_autoptr(GError) error = NULL;

	if (rewrap_file != NULL) {
		if (argc > 1 || out_dir != NULL || pseudonym_file != NULL || force) {
			cli_error("--rewrap takes no NAME, --out, --pseudonym-key or --force "
				  "(see --help)");
			return CLI_EXIT_USAGE;
		}
		return rewrap(rewrap_file, old_passphrase_file, passphrase_file);
	}
	if (old_passphrase_file != NULL) {
		cli_error("--old-passphrase-file goes with --rewrap (see --help)");
		return CLI_EXIT_USAGE;
	}
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
		read_new_passphrase(passphrase_file, "Passphrase for the new key: ");
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
