/* canaryd.c: the daemon. Until the IMAP poll loop lands it validates its
 * configuration and says there is nothing to poll. */
#include <stdio.h>

#include "config.h"
#include "log.h"
#include "process.h"

int main(int argc, char **argv)
{
	g_autofree char *config_path = NULL;
	gboolean once = FALSE, foreground = FALSE;
	GOptionEntry entries[] = {
		{ "config", 'c', 0, G_OPTION_ARG_FILENAME, &config_path, "Configuration file",
		  "FILE" },
		{ "once", 0, 0, G_OPTION_ARG_NONE, &once, "Do one pass and exit", NULL },
		{ "foreground", 0, 0, G_OPTION_ARG_NONE, &foreground, "Stay in the foreground",
		  NULL },
		G_OPTION_ENTRY_NULL
	};
	canary_log_set_program("canaryd");
	g_autoptr(GError) error = NULL;
	g_autoptr(GOptionContext) context = g_option_context_new("");
	g_option_context_add_main_entries(context, entries, NULL);
	if (!g_option_context_parse(context, &argc, &argv, &error)) {
		canary_err("%s", error->message);
		return 2;
	}
	if (!canary_process_init(&error)) {
		canary_err("%s", error->message);
		return 1;
	}
	g_autofree char *path = canary_config_resolve_path(config_path);
	g_autoptr(canary_config) config = canary_config_load(path, &error);
	if (config == NULL) {
		canary_err("%s", error->message);
		return 3;
	}
	canary_err("%s: no [imap] mailbox configured: nothing to poll", path);
	return 3;
}
