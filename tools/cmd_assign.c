/* cmd_assign.c: canary assign: gives a case to an officer, through canaryd
 * (case_rules.c). Metadata only: needs no key. Recorded in the case
 * history under the caller's name. */
#include <stdio.h>

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
	int status = CLI_EXIT_OK;
	g_autoptr(canary_client) client = cli_connect(&common, &status);
	if (client == NULL)
		return status;
	g_autoptr(JsonObject) args = cli_args_ref(argv[1]);
	json_object_set_string_member(args, "to", to);
	g_autoptr(JsonObject) result = cli_call(client, "assign", args, &status);
	if (result == NULL)
		return status;
	const char *ref = json_object_get_string_member_with_default(result, "ref", argv[1]);
	if (json_object_get_boolean_member_with_default(result, "unchanged", FALSE))
		printf("%s is already assigned to %s\n", ref, to);
	else
		printf("%s assigned to %s\n", ref, to);
	return CLI_EXIT_OK;
}
