/* canary.c: the officers' and admins' command: finds the subcommand and
 * hands it its arguments. Each subcommand lives in cmd_<name>.c. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "process.h"

static const struct cli_command commands[] = {
	{"import", "Ingest .eml files, mbox files and Maildir folders", cmd_import},
	{"list", "List cases", cmd_list},
	{"show", "Show a case as section officers read it", cmd_show},
	{"attachment", "Write an attachment of a case into a directory", cmd_attachment},
	{"reveal", "Show who sent a case (custodian key)", cmd_reveal},
	{"assign", "Assign a case to an officer", cmd_assign},
	{"status", "Open or close a case, with a sealed note", cmd_status},
	{"reply", "Draft a reply to the submitter, for the custodian to send", cmd_reply},
	{"outbox", "List the drafted replies waiting (custodian key)", cmd_outbox},
	{"send", "Send a drafted reply to the submitter (custodian key)", cmd_send},
	{"move", "Move a case to another section (re-seals its key)", cmd_move},
	{"history", "Show the history of a case", cmd_history},
	{"stats", "Open cases per section, oldest case, cases per week", cmd_stats},
	{"report", "Figures of a period for the annual report (counts only)", cmd_report},
	{"audit", "Verify the hash chain of the case history", cmd_audit},
	{"purge", "Delete the cases the retention policy no longer keeps", cmd_purge},
	{"health", "Check the daemon, queue, disk and key files, for monitoring", cmd_health},
	{"backup", "Copy the case database to a file, safely while canaryd runs", cmd_backup},
	{"keygen", "Make a key pair or a pseudonym key", cmd_keygen},
	{"route", "Show which section a message would go to, and why", cmd_route},
	{"check-config", "Validate the configuration", cmd_check_config},
	{"whoami", "Show the user and groups canaryd sees for you", cmd_whoami},
	{"bridge", "Join standard input and output to canaryd (for canary --host)", cmd_bridge},
};

/* Commands that open the store or key files of this machine themselves:
 * they cannot run through --host. */
static const char *const local_only[] = {"import", "backup",       "keygen",
					 "route",  "check-config", "bridge"};

static void usage(FILE *out)
{
	fputs("Usage: canary [--host [USER@]HOST] COMMAND [OPTIONS...]\n\nCommands:\n", out);
	for (size_t i = 0; i < G_N_ELEMENTS(commands); i++)
		fprintf(out, "  %-14s %s\n", commands[i].name, commands[i].summary);
	fputs("\nEvery command takes -c FILE and --help. --host (or $CANARY_HOST) runs it\n"
	      "through ssh HOST canary bridge. See canary(1).\n",
	      out);
}

int main(int argc, char **argv)
{
	g_autoptr(GError) error = NULL;
	if (!canary_process_init(&error)) {
		cli_error("%s", error->message);
		return CLI_EXIT_FAILED;
	}
	if (argc < 2) {
		usage(stderr);
		return CLI_EXIT_USAGE;
	}
	/* The one global option: canary --host [USER@]HOST COMMAND ... */
	const char *host = NULL;
	if (strcmp(argv[1], "--host") == 0 || g_str_has_prefix(argv[1], "--host=")) {
		gboolean joined = argv[1][6] == '=';
		host = joined ? argv[1] + 7 : argc > 2 ? argv[2] : NULL;
		if (host == NULL || host[0] == '\0') {
			cli_error("--host needs [USER@]HOST");
			return CLI_EXIT_USAGE;
		}
		argc -= joined ? 1 : 2;
		argv += joined ? 1 : 2;
		if (argc < 2) {
			usage(stderr);
			return CLI_EXIT_USAGE;
		}
		cli_set_host(host);
	}
	const char *name = argv[1];
	for (size_t i = 0; host != NULL && i < G_N_ELEMENTS(local_only); i++) {
		if (strcmp(name, local_only[i]) == 0) {
			cli_error("%s works on the server itself; it cannot run through --host",
				  name);
			return CLI_EXIT_USAGE;
		}
	}
	if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0 || strcmp(name, "help") == 0) {
		usage(stdout);
		return CLI_EXIT_OK;
	}
	if (strcmp(name, "--version") == 0) {
		/* A test build must not pass for a real one. */
		puts(canary_seal_test_build()
			     ? "canary " CANARY_VERSION " (test build: CANARY_TEST_KDF; it can make "
			       "weak keys, never use it for real reports)"
			     : "canary " CANARY_VERSION);
		return CLI_EXIT_OK;
	}
	for (size_t i = 0; i < G_N_ELEMENTS(commands); i++) {
		if (strcmp(name, commands[i].name) == 0) {
			g_autofree char *prgname = g_strdup_printf("canary %s", name);
			g_set_prgname(prgname); /* GLib keeps its own copy */
			int status = commands[i].run(argc - 1, argv + 1);
			canary_process_shutdown();
			return status;
		}
	}
	cli_error("no such command '%s'", name);
	usage(stderr);
	return CLI_EXIT_USAGE;
}
