/* cmd_assign.c: canary assign: gives a case to an officer. Metadata only:
 * needs no key. Recorded in the case history. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "triage.h"

int cmd_assign(int argc, char **argv)
{
	g_auto(cli_common) common = {0};
	g_autofree char *to = NULL;
	GOptionEntry entries[] = {{"to", 't', 0, G_OPTION_ARG_STRING, &to,
				   "The officer (user name) who works the case", "USER"},
				  G_OPTION_ENTRY_NULL};
	if (!cli_parse(&argc, &argv, "REF",
		       "Assigns case REF to USER. Needs no key; recorded in the case history.",
		       entries, &common))
		return CLI_EXIT_USAGE;
	if (argc != 2 || to == NULL) {
		cli_error("assign needs one REF and --to USER (see --help)");
		return CLI_EXIT_USAGE;
	}
	if (!triage_valid_name(to)) {
		cli_error("--to %s: expected a user name (1 to 64 printable characters, no spaces)",
			  to);
		return CLI_EXIT_USAGE;
	}
	if (!triage_check_ref(argv[1]))
		return CLI_EXIT_USAGE;
	g_autoptr(GError) error = NULL;
	g_autofree char *action = g_strdup_printf("assigned to %s", to);
	g_autofree char *detail = NULL;
	struct cli_session s;
	int status = cli_session_open(&s, &common, argv[1], NULL, NULL);
	if (status != CLI_EXIT_OK)
		goto out;
	if (s.c->assignee != NULL && strcmp(s.c->assignee, to) == 0) {
		printf("%s is already assigned to %s\n", s.c->ref, to);
		goto out;
	}
	if (s.c->assignee != NULL)
		detail = g_strdup_printf("was %s", s.c->assignee);
	if (!canary_store_begin(s.store, &error) ||
	    !canary_store_set_assignee(s.store, s.c->ref, to, &error) ||
	    !canary_store_add_event(s.store, s.c->ref, cli_actor(), action, detail, &error) ||
	    !canary_store_commit(s.store, &error)) {
		canary_store_rollback(s.store);
		cli_error("%s", error->message);
		status = CLI_EXIT_STORE;
		goto out;
	}
	printf("%s assigned to %s\n", s.c->ref, to);
out:
	cli_session_close(&s);
	return status;
}
