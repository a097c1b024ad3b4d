/* cmd_check_config.c: canary check-config: load and validate the
 * configuration, print every problem, and warn about what is valid but
 * unsafe. */
#include <stdio.h>

#include "cli.h"
#include "commands.h"

int cmd_check_config(int argc, char **argv)
{
	g_auto(cli_common) common = {0};
	if (!cli_parse(&argc, &argv, "",
		       "Validates the configuration file and everything it names; prints every "
		       "problem and exits 1, or exits 0 when all is well.",
		       NULL, &common))
		return CLI_EXIT_USAGE;
	g_autofree char *path = canary_config_resolve_path(common.config_path);
	g_autoptr(GError) error = NULL;
	g_autoptr(canary_config) config = canary_config_load(path, &error);
	if (config == NULL) {
		cli_error("%s", error->message);
		return CLI_EXIT_FAILED;
	}
	/* Valid, but worth knowing: said, without failing the check. */
	g_autofree char *warnings = canary_config_warnings(config);
	if (warnings != NULL)
		cli_error("%s: warning: %s", path, warnings);
	printf("%s: ok\n", path);
	return CLI_EXIT_OK;
}
