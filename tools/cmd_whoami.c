/* cmd_whoami.c: canary whoami: the user and groups the answering side sees
 * for this caller: for checking access before it matters. */
#include <stdio.h>

#include "cli.h"
#include "client.h"
#include "commands.h"

int cmd_whoami(int argc, char **argv)
{
	g_auto(cli_common) common = {0};
	GOptionEntry entries[] = {G_OPTION_ENTRY_NULL};
	if (!cli_parse(&argc, &argv, "",
		       "Prints the user name and groups canaryd sees for you, as the kernel "
		       "names them.",
		       entries, &common))
		return CLI_EXIT_USAGE;
	if (argc > 1) {
		cli_error("whoami takes no arguments");
		return CLI_EXIT_USAGE;
	}
	int status = CLI_EXIT_OK;
	g_autoptr(canary_client) client = cli_connect(&common, &status);
	if (client == NULL)
		return status;
	g_autoptr(GError) error = NULL;
	g_autoptr(JsonObject) result = canary_client_call(client, "whoami", NULL, &error);
	if (result == NULL)
		return cli_call_failed(error);
	fputs("user: ", stdout);
	cli_print_line(stdout, json_object_get_string_member_with_default(result, "user", NULL));
	fputs("\ngroups:", stdout);
	JsonArray *groups = json_object_get_array_member(result, "groups");
	for (guint i = 0; groups != NULL && i < json_array_get_length(groups); i++) {
		fputc(' ', stdout);
		cli_print_line(stdout, json_array_get_string_element(groups, i));
	}
	fputc('\n', stdout);
	return CLI_EXIT_OK;
}
