/* cmd_attachment.c: canary attachment: write one attachment of a case into
 * a directory, under a name that cannot escape it or replace anything.
 * canaryd records the access and hands out the sealed bytes; they are
 * opened here. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"
#include "envelope.h"
#include "fdio.h"
#include "text.h"

#define MAX_NAME_BYTES 120

/* Makes a safe file name from the sender's NAME: no directories, no
 * control or bidi characters, no leading dot or dash, at most
 * MAX_NAME_BYTES; falls back to "attachment-N.bin". Returns a new string. */
static char *safe_name(const char *name, guint number)
{
	g_autoptr(GString) out = g_string_new(NULL);
	if (name != NULL && g_utf8_validate(name, -1, NULL)) {
		g_autofree char *base = g_path_get_basename(name);
		for (const char *p = base; *p != '\0'; p = g_utf8_next_char(p)) {
			gunichar c = g_utf8_get_char(p);
			if (canary_text_is_control(c) || c == '/' || c == '\\')
				c = '_';
			if (out->len + 6 > MAX_NAME_BYTES)
				break;
			g_string_append_unichar(out, c);
		}
		while (out->len > 0 &&
		       (out->str[0] == '.' || out->str[0] == '-' || out->str[0] == ' '))
			g_string_erase(out, 0, 1);
	}
	if (out->len == 0)
		return g_strdup_printf("attachment-%u.bin", number);
	return g_string_free(g_steal_pointer(&out), FALSE);
}

/* Writes DATA to NAME inside DIR_FD; never follows a link, never replaces a
 * file. Returns FALSE with errno set. */
static gboolean write_into(int dir_fd, const char *name, GBytes *data)
{
	int fd = openat(dir_fd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return FALSE;
	gsize len = 0;
	const void *p = g_bytes_get_data(data, &len);
	if (!canary_write_all(fd, p, len)) {
		int saved = errno;
		close(fd);
		unlinkat(dir_fd, name, 0);
		errno = saved;
		return FALSE;
	}
	return close(fd) == 0;
}

/* Writes attachment NUMBER of REF into DIR_FD (named OUT_DIR). Returns an
 * exit code. */
static int save_attachment(const struct cli_common *common, const char *ref, guint message,
			   guint number, const char *key_path, const char *passphrase_file,
			   const char *out_dir, int dir_fd)
{
	int status = CLI_EXIT_OK;
	g_autoptr(canary_secret_key) key = NULL;
	g_autoptr(canary_client) client =
		cli_connect_with_key(common, key_path, passphrase_file, &key, &status);
	if (client == NULL)
		return status;
	g_autoptr(JsonObject) args = cli_args_ref(ref);
	status = cli_check_case_key(client, ref, key, CLI_KEY_OPENS_CONTENT, NULL, 0, NULL);
	if (status != CLI_EXIT_OK)
		return status;
	json_object_set_int_member(args, "number", number);
	if (message > 1)
		json_object_set_int_member(args, "message", message);
	g_autoptr(canary_case) c = NULL;
	// Order is important: canaryd records the access before it answers.
	g_autoptr(JsonObject) result = cli_call_case(client, "attachment", args, &c, &status);
	if (result == NULL)
		return status;
	g_autoptr(canary_sealed_case) all = cli_sealed_member(result, "sealed", c);
	if (all == NULL)
		return CLI_EXIT_FAILED;
	/* A later message's fields, read as a case's own. */
	g_autoptr(canary_sealed_case) sc = canary_sealed_case_message(all, message);
	if (sc == NULL) {
		cli_error("case %s: canaryd's answer lacks message %u", c->ref, message);
		return CLI_EXIT_FAILED;
	}
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) manifest = canary_sealed_open_manifest(sc, key, &error);
	if (manifest == NULL) {
		cli_error("case %s: %s", c->ref, error->message);
		return CLI_EXIT_KEY;
	}
	guint index = number - 1;
	if (index >= manifest->len) {
		cli_error("case %s has %u attachment%s, not %u", c->ref, manifest->len,
			  manifest->len == 1 ? "" : "s", number);
		return CLI_EXIT_NOT_FOUND;
	}
	const struct canary_attachment_info *info = manifest->pdata[index];
	g_autoptr(GBytes) data = canary_sealed_open_attachment(sc, key, index, &error);
	if (data == NULL) {
		cli_error("case %s: %s", c->ref, error->message);
		return CLI_EXIT_KEY;
	}
	g_autofree char *name = safe_name(info->filename, number);
	if (!write_into(dir_fd, name, data)) {
		int saved = errno;
		cli_error("%s/%s: %s%s", out_dir, name, g_strerror(saved),
			  saved == EEXIST ? " (canary never overwrites: choose another DIR)" : "");
		return CLI_EXIT_FAILED;
	}
	fputs("wrote ", stdout);
	g_autofree char *path = g_build_filename(out_dir, name, NULL);
	cli_print_line(stdout, path);
	fputc('\n', stdout);
	return CLI_EXIT_OK;
}

int cmd_attachment(int argc, char **argv)
{
	g_auto(cli_common) common = {0};
	g_autofree char *key_path = NULL, *passphrase_file = NULL, *out_dir = NULL;
	gint message = 1;
	GOptionEntry entries[] = {{"message", 'm', 0, G_OPTION_ARG_INT, &message,
				   "Of message M of the conversation (canary show numbers them; "
				   "default 1)",
				   "M"},
				  {"key", 'k', 0, G_OPTION_ARG_FILENAME, &key_path,
				   "Secret key of the section (or triage)", "FILE"},
				  {"passphrase-file", 'p', 0, G_OPTION_ARG_FILENAME,
				   &passphrase_file,
				   "Read the key's passphrase from FILE (else ask)", "FILE"},
				  {"output", 'o', 0, G_OPTION_ARG_FILENAME, &out_dir,
				   "Directory to write the attachment into", "DIR"},
				  G_OPTION_ENTRY_NULL};
	if (!cli_parse(&argc, &argv, "REF N",
		       "Writes attachment N (as numbered by canary show) of case REF into DIR, "
		       "under a sanitised version of its name; never outside DIR, never over an "
		       "existing file. Recorded in the case history.",
		       entries, &common))
		return CLI_EXIT_USAGE;
	guint64 number = 0;
	if (argc != 3 || key_path == NULL || out_dir == NULL || message < 1 ||
	    !g_ascii_string_to_unsigned(argv[2], 10, 1, G_MAXUINT32, &number, NULL)) {
		cli_error("attachment needs REF, a number N from 1, --key FILE and -o DIR "
			  "(see --help)");
		return CLI_EXIT_USAGE;
	}
	int dir_fd = open(out_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir_fd < 0) {
		cli_error("%s: %s", out_dir, g_strerror(errno));
		return CLI_EXIT_FAILED;
	}
	int status = save_attachment(&common, argv[1], (guint)message, (guint)number, key_path,
				     passphrase_file, out_dir, dir_fd);
	close(dir_fd);
	return status;
}
