/* cmd_reveal.c: canary reveal: who wrote in, for the custodian: the
 * identity record and, on request, the untouched original message. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"
#include "envelope.h"

/* Prints a labelled list of untrusted strings. */
static void print_list(const char *label, const GPtrArray *items)
{
	printf("%-12s", label);
	if (items->len == 0)
		fputs(" -", stdout);
	for (guint i = 0; i < items->len; i++) {
		const char *item = items->pdata[i];
		fputs(i == 0 ? " " : ", ", stdout);
		cli_print_line(stdout, item);
	}
	fputc('\n', stdout);
}

/* Prints the identity record, with the pseudonym and time of receipt from
 * META (NULL when the case has none sealed yet). */
static void print_identity(const struct canary_case *c, const struct canary_identity *id,
			   const struct canary_case_meta *meta)
{
	printf("%-12s ", "Case:");
	cli_print_line(stdout, c->ref);
	fputc('\n', stdout);
	if (meta != NULL) {
		g_autofree char *received = cli_format_time(meta->received_at);
		printf("%-12s %s\n", "Received:", received);
	}
	printf("%-12s ", "Pseudonym:");
	cli_print_line(stdout, meta != NULL && meta->pseudonym != NULL ? meta->pseudonym : "-");
	fputc('\n', stdout);
	for (guint i = 0; i < id->addresses->len; i++) {
		const struct canary_address *a = id->addresses->pdata[i];
		printf("%-12s ", i == 0 ? "Sender:" : "");
		if (a->name != NULL) {
			cli_print_line(stdout, a->name);
			fputc(' ', stdout);
		}
		if (a->address != NULL) {
			fputc('<', stdout);
			cli_print_line(stdout, a->address);
			fputc('>', stdout);
		}
		fputc('\n', stdout);
	}
	if (id->addresses->len == 0)
		printf("%-12s -\n", "Sender:");
	print_list("IPs:", id->ips);
	print_list("Phones:", id->phones);
	print_list("Also e-mail:", id->emails);
	/* Over the caps (a message with thousands of addresses): counted, not kept. */
	if (id->omitted > 0)
		printf("%-12s %u more addresses or numbers, not recorded\n",
		       "Omitted:", id->omitted);
}

/* Writes RAW to PATH, which must not exist yet (0600). */
static gboolean write_new_file(const char *path, GBytes *raw)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		cli_error("%s: %s%s", path, g_strerror(errno),
			  errno == EEXIST ? " (canary never overwrites: choose another name)" : "");
		return FALSE;
	}
	gsize len = 0;
	const guint8 *p = g_bytes_get_data(raw, &len);
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			cli_error("%s: %s", path, g_strerror(errno));
			close(fd);
			unlink(path);
			return FALSE;
		}
		p += n;
		len -= (gsize)n;
	}
	if (fsync(fd) != 0 || close(fd) != 0) {
		cli_error("%s: %s", path, g_strerror(errno));
		unlink(path);
		return FALSE;
	}
	return TRUE;
}

int cmd_reveal(int argc, char **argv)
{
	g_auto(cli_common) common = {0};
	g_autofree char *key_path = NULL, *passphrase_file = NULL, *raw_path = NULL;
	GOptionEntry entries[] = {
		{"key", 'k', 0, G_OPTION_ARG_FILENAME, &key_path, "The custodian's secret key",
		 "FILE"},
		{"passphrase-file", 'p', 0, G_OPTION_ARG_FILENAME, &passphrase_file,
		 "Read the key's passphrase from FILE (else ask)", "FILE"},
		{"raw", 0, 0, G_OPTION_ARG_FILENAME, &raw_path,
		 "Also write the original message to FILE (must not exist)", "FILE"},
		G_OPTION_ENTRY_NULL};
	if (!cli_parse(&argc, &argv, "REF",
		       "Shows who sent case REF: addresses, names, originating IPs, phone numbers. "
		       "Needs the custodian's secret key. With --raw, writes the original "
		       "message, untouched. Recorded in the case history.",
		       entries, &common))
		return CLI_EXIT_USAGE;
	if (argc != 2 || key_path == NULL) {
		cli_error("reveal needs one REF and --key FILE (see --help)");
		return CLI_EXIT_USAGE;
	}
	g_autoptr(GError) error = NULL;
	g_autoptr(GBytes) raw = NULL;
	g_autoptr(canary_identity) identity = NULL;
	g_autoptr(canary_case_meta) meta = NULL;
	struct cli_session s;
	int status = cli_session_open(&s, &common, argv[1], key_path, passphrase_file);
	if (status != CLI_EXIT_OK)
		goto out;
	identity = canary_envelope_open_identity(s.store, s.c->id, s.key,
						 raw_path != NULL ? &raw : NULL, &error);
	if (identity == NULL) {
		cli_error("case %s: %s", s.c->ref, error->message);
		status = CLI_EXIT_KEY;
		goto out;
	}
	/* The custodian's copy of the pseudonym; a case from before schema 4
	 * may not have it sealed yet. */
	meta = canary_envelope_open_meta(s.store, s.c->id, s.key, &error);
	if (meta == NULL) {
		if (!g_error_matches(error, CANARY_ENVELOPE_ERROR, CANARY_ENVELOPE_ERROR_NO_SUCH)) {
			cli_error("case %s: %s", s.c->ref, error->message);
			status = CLI_EXIT_KEY;
			goto out;
		}
		g_clear_error(&error);
	}
	// Record before revealing: an access that cannot be recorded does not happen.
	if (!cli_record(s.store, s.c->ref, "reveal",
			raw_path != NULL ? "with raw message" : NULL)) {
		status = CLI_EXIT_STORE;
		goto out;
	}
	print_identity(s.c, identity, meta);
	if (raw_path != NULL) {
		if (!write_new_file(raw_path, raw)) {
			status = CLI_EXIT_FAILED;
		} else {
			printf("%-12s written to ", "Original:");
			cli_print_line(stdout, raw_path);
			fputc('\n', stdout);
		}
	}
out:
	cli_session_close(&s);
	return status;
}
