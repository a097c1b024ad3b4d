/* cli.h: what every canary subcommand shares: option parsing, exit codes,
 * opening the config and the store, printing errors. */
#ifndef CANARY_CLI_H
#define CANARY_CLI_H

#include <glib.h>

#include "config.h"
#include "store.h"

/* Exit codes, documented in canary(1). */
enum {
	CLI_EXIT_OK = 0,
	CLI_EXIT_FAILED = 1,    /* the command ran and found problems */
	CLI_EXIT_USAGE = 2,     /* wrong options or arguments */
	CLI_EXIT_CONFIG = 3,    /* the configuration is unusable */
	CLI_EXIT_STORE = 4,     /* the database cannot be used */
	CLI_EXIT_NOT_FOUND = 5, /* no such case */
};

struct cli_command {
	const char *name;
	const char *summary;
	int (*run)(int argc, char **argv);
};

/* Options every subcommand takes; add them with cli_parse(). */
struct cli_common {
	char *config_path; /* -c FILE */
};

/* Parses ARGV (argv[0] is the subcommand name) with ENTRIES plus -c/--config.
 * PARAMETERS describes positional arguments for --help ("PATH..."). On
 * failure prints the error and returns FALSE; the caller exits
 * CLI_EXIT_USAGE. */
gboolean cli_parse(int *argc, char ***argv, const char *parameters, const char *description,
		   GOptionEntry *entries, struct cli_common *common);

/* Loads the config named by COMMON (or $CANARY_CONFIG, or the default).
 * Prints the errors and returns NULL on failure. */
struct canary_config *cli_load_config(const struct cli_common *common);

/* Opens the database CONFIG names. Prints the error and returns NULL on failure. */
struct canary_store *cli_open_store(const struct canary_config *config);

/* Prints "canary: MESSAGE" to stderr, with control characters made visible. */
void cli_error(const char *format, ...) G_GNUC_PRINTF(1, 2);

/* Formats T (Unix UTC) as RFC 3339 ("2026-11-24T09:41:00Z"). New string. */
char *cli_format_time(gint64 t);

/* Formats a byte count for tables: "812", "12K", "3.4M". New string. */
char *cli_format_size(gint64 bytes);

#endif
