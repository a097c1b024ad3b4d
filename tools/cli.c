/* cli.c: what every canary subcommand shares. */
#include "cli.h"

#include <stdarg.h>
#include <stdio.h>

/* Anything from outside (a path, a message from a library) may carry
 * terminal escapes: print control characters as \xNN. */
static void print_visible(FILE *out, const char *text)
{
	for (const unsigned char *p = (const unsigned char *)text; *p != '\0'; p++) {
		if ((*p < 0x20 && *p != '\n' && *p != '\t') || *p == 0x7f)
			fprintf(out, "\\x%02x", *p);
		else
			fputc(*p, out);
	}
}

void cli_error(const char *format, ...)
{
	va_list args;
	va_start(args, format);
	g_autofree char *message = g_strdup_vprintf(format, args);
	va_end(args);
	/* One prefix per line: check-config reports many problems at once. */
	g_auto(GStrv) lines = g_strsplit(message, "\n", -1);
	for (size_t i = 0; lines[i] != NULL; i++) {
		fputs("canary: ", stderr);
		print_visible(stderr, lines[i]);
		fputc('\n', stderr);
	}
}

gboolean cli_parse(int *argc, char ***argv, const char *parameters, const char *description,
		   GOptionEntry *entries, struct cli_common *common)
{
	GOptionEntry common_entries[] = {
		{ "config", 'c', 0, G_OPTION_ARG_FILENAME, &common->config_path,
		  "Configuration file (default: $CANARY_CONFIG, else " CANARY_CONFIG_DEFAULT_PATH ")",
		  "FILE" },
		G_OPTION_ENTRY_NULL
	};
	g_autoptr(GOptionContext) context = g_option_context_new(parameters);
	g_option_context_set_summary(context, description);
	g_option_context_add_main_entries(context, common_entries, NULL);
	if (entries != NULL)
		g_option_context_add_main_entries(context, entries, NULL);
	g_autoptr(GError) error = NULL;
	if (!g_option_context_parse(context, argc, argv, &error)) {
		cli_error("%s (see --help)", error->message);
		return FALSE;
	}
	return TRUE;
}

struct canary_config *cli_load_config(const struct cli_common *common)
{
	g_autofree char *path = canary_config_resolve_path(common->config_path);
	g_autoptr(GError) error = NULL;
	struct canary_config *config = canary_config_load(path, &error);
	if (config == NULL)
		cli_error("%s", error->message);
	return config;
}

struct canary_store *cli_open_store(const struct canary_config *config)
{
	g_autoptr(GError) error = NULL;
	struct canary_store *store =
		canary_store_open(config->store.database, config->store.group, &error);
	if (store == NULL)
		cli_error("%s", error->message);
	return store;
}

char *cli_format_time(gint64 t)
{
	g_autoptr(GDateTime) dt = g_date_time_new_from_unix_utc(t);
	if (dt == NULL)
		return g_strdup("?");
	return g_date_time_format(dt, "%Y-%m-%dT%H:%M:%SZ");
}

char *cli_format_size(gint64 bytes)
{
	if (bytes < 1024)
		return g_strdup_printf("%" G_GINT64_FORMAT, bytes);
	static const char units[] = "KMGT";
	double value = (double)bytes;
	size_t unit = 0;
	for (value /= 1024; value >= 1024 && unit + 1 < sizeof(units) - 1; unit++)
		value /= 1024;
	if (value < 10)
		return g_strdup_printf("%.1f%c", value, units[unit]);
	return g_strdup_printf("%.0f%c", value, units[unit]);
}
