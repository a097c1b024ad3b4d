/* cmd_backup.c: canary backup FILE: a consistent copy of the case database,
 * taken with SQLite's online backup while canaryd goes on filing. Once the
 * mail server's copy of a message is expunged the database is its only
 * copy; everything in it is sealed or coarse metadata, so the backup may be
 * kept anywhere. Recorded for canary health and in the history. */
#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"
#include "fdio.h"
#include "health.h"
#include "triage.h"

/* Records the backup at PATH for health and the history. Returns the exit
 * code; the backup itself is complete either way. */
static int record(struct canary_store *store, const char *path)
{
	g_autofree char *detail = g_strdup_printf("to %s", path);
	g_autoptr(GError) error = NULL;
	if (canary_health_record_backup(store, cli_actor(), detail, triage_now(), &error))
		return CLI_EXIT_OK;
	cli_error("the backup %s is complete, but it could not be recorded in the database "
		  "(canary health will not count it): %s",
		  path, error->message);
	return CLI_EXIT_STORE;
}

/* Writes the file at PATH to standard output. */
static gboolean copy_to_stdout(const char *path, GError **error)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errno), "%s: %s", path,
			    g_strerror(errno));
		return FALSE;
	}
	char buffer[65536];
	ssize_t n = 0;
	gboolean ok = TRUE;
	while (ok && (n = read(fd, buffer, sizeof(buffer))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		ok = n > 0 && canary_write_all(STDOUT_FILENO, buffer, (gsize)n);
	}
	int saved = errno;
	close(fd);
	if (!ok)
		g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(saved),
			    "writing the backup to standard output: %s", g_strerror(saved));
	return ok;
}

/* canary backup -: the copy is made in a private temporary directory
 * ($TMPDIR), written to standard output (a pipe to encryption or to another
 * host) and removed. Returns the exit code. */
static int backup_to_stdout(struct canary_store *store)
{
	if (isatty(STDOUT_FILENO)) {
		cli_error("standard output is a terminal: redirect it, or give a FILE");
		return CLI_EXIT_USAGE;
	}
	/* A reader that goes away is an error to report, not a signal. */
	signal(SIGPIPE, SIG_IGN);
	g_autoptr(GError) error = NULL;
	g_autofree char *dir = g_dir_make_tmp("canary-backup-XXXXXX", &error);
	if (dir == NULL) {
		cli_error("%s", error->message);
		return CLI_EXIT_FAILED;
	}
	g_autofree char *path = g_build_filename(dir, "canary.db", NULL);
	gboolean ok = canary_store_backup(store, path, FALSE, NULL, &error) &&
		      copy_to_stdout(path, &error);
	g_unlink(path);
	g_rmdir(dir);
	if (!ok) {
		cli_error("%s", error->message);
		return CLI_EXIT_FAILED;
	}
	return record(store, "standard output");
}

int cmd_backup(int argc, char **argv)
{
	g_auto(cli_common) common = {0};
	gboolean force = FALSE;
	GOptionEntry entries[] = {
		{"force", 'f', 0, G_OPTION_ARG_NONE, &force, "Replace FILE if it exists", NULL},
		G_OPTION_ENTRY_NULL};
	if (!cli_parse(&argc, &argv, "FILE",
		       "Copies the case database to FILE (SQLite's online backup: a consistent "
		       "snapshot, safe while canaryd runs). FILE appears only once the copy is "
		       "complete, checked and on disk, mode 0600; an existing FILE is refused "
		       "unless --force. FILE - writes it to standard output (by way of a "
		       "temporary file in $TMPDIR). The copy is one self-contained database: "
		       "restore it by stopping canaryd and putting it in place of the database "
		       "(see canary(1)). Everything in it is sealed, as in the database. The "
		       "backup is recorded for canary health and in the history (canary "
		       "history database). Needs no key; needs write access to the database, "
		       "like the other commands.",
		       entries, &common))
		return CLI_EXIT_USAGE;
	if (argc != 2) {
		cli_error("backup needs one FILE (see --help)");
		return CLI_EXIT_USAGE;
	}
	gboolean to_stdout = strcmp(argv[1], "-") == 0;
	g_autofree char *path = g_canonicalize_filename(argv[1], NULL);
	if (!to_stdout && !force &&
	    g_file_test(path, G_FILE_TEST_EXISTS | G_FILE_TEST_IS_SYMLINK)) {
		cli_error("%s: exists; give the backup a new name, or --force to replace it", path);
		return CLI_EXIT_FAILED;
	}
	g_autoptr(canary_config) config = cli_load_config(&common);
	if (config == NULL)
		return CLI_EXIT_CONFIG;
	struct canary_store *store = cli_open_store(config);
	if (store == NULL)
		return CLI_EXIT_STORE;
	g_autoptr(GError) error = NULL;
	gint64 bytes = 0;
	int status = CLI_EXIT_OK;
	if (to_stdout) {
		status = backup_to_stdout(store);
	} else if (!canary_store_backup(store, path, force, &bytes, &error)) {
		cli_error("%s", error->message);
		status = CLI_EXIT_FAILED;
	} else {
		status = record(store, path);
		g_autofree char *size = g_format_size_full((guint64)bytes, G_FORMAT_SIZE_IEC_UNITS);
		printf("backed up %s to %s (%s)\n", config->store.database, path, size);
	}
	canary_store_close(&store);
	return status;
}
