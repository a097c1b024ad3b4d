/* cmd_whoami.c: canary whoami: the user and groups the answering side sees
 * for this caller: for checking access before it matters. */
#include <stdio.h>

#include "cli.h"
#include "client.h"
#include "commands.h"

/* Prints "NAME: a b c" from the array of strings NAME in RESULT ("-" when
 * it is empty). */
static void print_list(JsonObject *result, const char *name)
{
	JsonArray *list = cli_array_member(result, name);
	guint n = list != NULL ? json_array_get_length(list) : 0;
	printf("%s:", name);
	for (guint i = 0; i < n; i++) {
		JsonNode *element = json_array_get_element(list, i);
		fputc(' ', stdout);
		cli_print_line(stdout, JSON_NODE_HOLDS_VALUE(element) &&
						       json_node_get_value_type(element) == G_TYPE_STRING
					       ? json_node_get_string(element)
					       : "?");
	}
	fputs(n == 0 ? " -\n" : "\n", stdout);
}

int cmd_whoami(int argc, char **argv)
{
	g_auto(cli_common) common = {0};
	GOptionEntry entries[] = {G_OPTION_ENTRY_NULL};
	if (!cli_parse(&argc, &argv, "",
		       "Prints the user name and groups canaryd sees for you, as the kernel "
		       "names them, the roles they give you and the sections whose cases you "
		       "see.",
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
	g_autoptr(JsonObject) result = cli_call(client, "whoami", NULL, &status);
	if (result == NULL)
		return status;
	fputs("user: ", stdout);
	cli_print_line(stdout, json_object_get_string_member_with_default(result, "user", NULL));
	fputc('\n', stdout);
	print_list(result, "groups");
	print_list(result, "roles");
	print_list(result, "sections");
	return CLI_EXIT_OK;
}
