/* cmd_check_config.c: canary check-config: load and validate the
 * configuration, print every problem, and warn about what is valid but
 * unsafe. */
#include <stdio.h>

#include "cli.h"
#include "commands.h"

/* Says who is told of what, so that an admin sees every address mail goes to. */
static void print_notices(const struct canary_config *config)
{
	if (config->notify.triage != NULL)
		printf("notices: triage (%s): %s\n", config->notify.triage_daily ? "daily" : "pass",
		       config->notify.triage);
	if (config->notify.custodian != NULL)
		printf("notices: custodian (%s): %s\n",
		       config->notify.custodian_daily ? "daily" : "pass", config->notify.custodian);
	const char *const *sections =
		config->rules != NULL ? canary_routing_sections(config->rules) : NULL;
	for (gsize i = 0; sections != NULL && sections[i] != NULL; i++) {
		gboolean daily = FALSE;
		const char *const *to =
			canary_routing_section_notify_full(config->rules, sections[i], &daily);
		if (to == NULL)
			continue;
		g_autofree char *list = g_strjoinv(", ", (char **)to);
		printf("notices: section %s (%s): %s\n", sections[i], daily ? "daily" : "pass",
		       list);
	}
	if (config->reply.acknowledge != NULL)
		printf("acknowledgement: on (%s)\n", config->reply.acknowledge);
}

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
	print_notices(config);
	printf("%s: ok\n", path);
	return CLI_EXIT_OK;
}
