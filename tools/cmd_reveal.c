/* cmd_reveal.c: canary reveal: who wrote in, for the custodian: the
 * identity record and, on request, the untouched original message.
 * canaryd records the reveal and hands out the sealed record; the
 * custodian's key opens it here. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"
#include "envelope.h"
#include "fdio.h"

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
 * META (NULL when the case has none sealed yet). SENT: a reply canary sent,
 * whose record names its recipients. */
static void print_identity(const struct canary_identity *id, const struct canary_case_meta *meta,
			   gboolean sent)
{
	if (meta != NULL) {
		g_autofree char *when = cli_format_time(sent ? meta->ingested_at : meta->received_at);
		cli_print_field(sent ? "Sent:" : "Received:", when);
	}
	cli_print_field("Pseudonym:", meta != NULL ? meta->pseudonym : NULL);
	const char *label = sent ? "To:" : "Sender:";
	for (guint i = 0; i < id->addresses->len; i++) {
		const struct canary_address *a = id->addresses->pdata[i];
		printf("%-12s ", i == 0 ? label : "");
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
		cli_print_field(label, NULL);
	print_list("IPs:", id->ips);
	print_list("Phones:", id->phones);
	print_list("Also e-mail:", id->emails);
	/* Over the caps (a message with thousands of addresses): counted, not kept. */
	if (id->omitted > 0)
		printf("%-12s %u more addresses or numbers, not recorded\n",
		       "Omitted:", id->omitted);
}

/* Opens and prints message NUMBER's identity record from SC (the raw
 * message into *RAW_R when it is not NULL). SENT as for print_identity(). */
static int reveal_message(const struct canary_case *c, const struct canary_sealed_case *sc,
			  guint number, gboolean sent, const struct canary_secret_key *key,
			  GBytes **raw_r)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(canary_sealed_case) view = canary_sealed_case_message(sc, number);
	g_autoptr(canary_identity) identity =
		view != NULL ? canary_sealed_open_identity(view, key, raw_r, &error) : NULL;
	if (identity == NULL) {
		cli_error("case %s: message %u: %s", c->ref, number,
			  error != NULL ? error->message : "missing");
		return CLI_EXIT_KEY;
	}
	/* The custodian's copy of the pseudonym; a case from before schema 4
	 * may not have it sealed yet. */
	g_autoptr(canary_case_meta) meta = canary_sealed_open_meta(view, key, &error);
	if (meta == NULL) {
		if (!g_error_matches(error, CANARY_ENVELOPE_ERROR, CANARY_ENVELOPE_ERROR_NO_SUCH)) {
			cli_error("case %s: message %u: %s", c->ref, number, error->message);
			return CLI_EXIT_KEY;
		}
		g_clear_error(&error);
	}
	print_identity(identity, meta, sent);
	return CLI_EXIT_OK;
}

/* Whether message NUMBER of the reveal result is a reply canary sent. */
static gboolean message_sent(JsonObject *result, guint number)
{
	JsonArray *messages = json_object_has_member(result, "messages")
				      ? json_object_get_array_member(result, "messages")
				      : NULL;
	for (guint i = 0; messages != NULL && i < json_array_get_length(messages); i++) {
		JsonObject *m = json_array_get_object_element(messages, i);
		if (json_object_get_int_member_with_default(m, "number", 0) == number)
			return g_strcmp0(json_object_get_string_member_with_default(
						 m, "direction", CANARY_DIRECTION_IN),
					 CANARY_DIRECTION_OUT) == 0;
	}
	return FALSE;
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
	const void *data = g_bytes_get_data(raw, &len);
	if (!canary_write_all(fd, data, len)) {
		cli_error("%s: %s", path, g_strerror(errno));
		close(fd);
		unlink(path);
		return FALSE;
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
	gint message = 0;
	GOptionEntry entries[] = {
		{"key", 'k', 0, G_OPTION_ARG_FILENAME, &key_path, "The custodian's secret key",
		 "FILE"},
		{"passphrase-file", 'p', 0, G_OPTION_ARG_FILENAME, &passphrase_file,
		 "Read the key's passphrase from FILE (else ask)", "FILE"},
		{"raw", 0, 0, G_OPTION_ARG_FILENAME, &raw_path,
		 "Also write the original message to FILE (must not exist)", "FILE"},
		{"message", 0, 0, G_OPTION_ARG_INT, &message,
		 "Only message N of the conversation (--raw: its original)", "N"},
		G_OPTION_ENTRY_NULL};
	if (!cli_parse(&argc, &argv, "REF",
		       "Shows who sent case REF: addresses, names, originating IPs, phone numbers, "
		       "for each message of its conversation (--message N: one). Needs the "
		       "custodian's secret key. With --raw, writes the original of the first "
		       "(or of message N), untouched. Recorded in the case history.",
		       entries, &common))
		return CLI_EXIT_USAGE;
	if (argc != 2 || key_path == NULL) {
		cli_error("reveal needs one REF and --key FILE (see --help)");
		return CLI_EXIT_USAGE;
	}
	if (message < 0) {
		cli_error("--message needs a message number, 1 or more");
		return CLI_EXIT_USAGE;
	}
	int status = CLI_EXIT_OK;
	g_autoptr(canary_secret_key) key = NULL;
	g_autoptr(canary_client) client =
		cli_connect_with_key(&common, key_path, passphrase_file, &key, &status);
	if (client == NULL)
		return status;
	/* A reveal is recorded only when the key is the custodian's. */
	g_autoptr(canary_case) c = NULL;
	status = cli_check_case_key(client, argv[1], key, CLI_KEY_OPENS_IDENTITY, NULL, 0, &c);
	if (status != CLI_EXIT_OK)
		return status;
	g_autoptr(JsonObject) args = cli_args_ref(c->ref);
	json_object_set_boolean_member(args, "raw", raw_path != NULL);
	if (message > 0)
		json_object_set_int_member(args, "message", message);
	// Order is important: canaryd records the reveal before it answers.
	g_autoptr(JsonObject) result = cli_call(client, "reveal", args, &status);
	if (result == NULL)
		return status;
	g_autoptr(canary_sealed_case) sc = cli_sealed_member(result, "sealed", c);
	if (sc == NULL)
		return CLI_EXIT_FAILED;
	cli_print_field("Case:", c->ref);
	/* One message, or the whole conversation with the first one's original. */
	guint first = message > 0 ? (guint)message : 1;
	guint last = message > 0 ? (guint)message : c->messages;
	g_autoptr(GBytes) raw = NULL;
	for (guint number = first; number <= last; number++) {
		gboolean sent = message_sent(result, number);
		if (c->messages > 1 || message > 0)
			printf("%s--- Message %u (%s) ---\n", number == first ? "" : "\n", number,
			       sent ? "a reply sent" : "received");
		status = reveal_message(c, sc, number, sent, key,
					raw_path != NULL && number == first ? &raw : NULL);
		if (status != CLI_EXIT_OK)
			return status;
	}
	if (raw_path != NULL) {
		if (!write_new_file(raw_path, raw))
			return CLI_EXIT_FAILED;
		printf("%-12s written to ", "Original:");
		cli_print_line(stdout, raw_path);
		fputc('\n', stdout);
	}
	return CLI_EXIT_OK;
}
