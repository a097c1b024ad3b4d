/* cmd_show.c: canary show: a case as a section officer reads it: metadata,
 * subject, scrubbed text, attachment list. canaryd records the opening and
 * hands out the sealed fields; they are opened here, with the officer's key. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "envelope.h"
#include "triage.h"

/* Prints the metadata of C: what is stored in clear, with the exact time,
 * size and pseudonym from META (NULL when the case has none sealed yet:
 * then the day and the size class). */
static void print_metadata(const struct canary_case *c, const struct canary_case_meta *meta,
			   JsonArray *damaged)
{
	g_autofree char *received = meta != NULL ? cli_format_time(meta->received_at)
						 : triage_format_day(c->received_day);
	g_autofree char *size =
		meta != NULL ? cli_format_size((gint64)meta->size)
			     : g_strdup(canary_store_size_class_name(c->size_class));
	cli_print_field("Case:", c->ref);
	cli_print_field("Received:", received);
	cli_print_field("Section:", c->section);
	cli_print_field("Status:", c->status);
	cli_print_field("Assignee:", c->assignee);
	cli_print_field("Pseudonym:", meta != NULL ? meta->pseudonym : NULL);
	cli_print_field("Routed by:", c->rule);
	cli_print_field("Size:", size);
	if (c->quarantine_reason != NULL)
		cli_print_field("Quarantine:", c->quarantine_reason);
	/* The message was damaged: the text may be incomplete. */
	for (guint i = 0; damaged != NULL && i < json_array_get_length(damaged); i++)
		cli_print_field("Damaged:", json_array_get_string_element(damaged, i));
}

/* Prints the opened CONTENT of message MESSAGE: subject, text, attachment
 * list. */
static void print_content(const struct canary_case_content *content, guint message)
{
	/* The subject on one line: an encoded newline must not print a
	 * "Pseudonym:" or "Attachments:" line of the sender's making. */
	cli_print_field("Subject:", content->subject != NULL ? content->subject : "");
	fputc('\n', stdout);
	cli_print_untrusted(stdout, content->text, strlen(content->text));
	if (content->text[0] != '\0' && !g_str_has_suffix(content->text, "\n"))
		fputc('\n', stdout);
	if (content->routing != NULL) {
		/* The terms that routed the case, sealed with it (canary route). */
		fputs("\nRouting:\n", stdout);
		g_auto(GStrv) lines = g_strsplit(content->routing, "\n", -1);
		for (gsize i = 0; lines[i] != NULL; i++) {
			if (lines[i][0] == '\0')
				continue;
			fputs("  ", stdout);
			cli_print_line(stdout, lines[i]);
			fputc('\n', stdout);
		}
	}
	if (content->attachments->len == 0)
		return;
	if (message <= 1)
		printf("\nAttachments (canary attachment REF N --key KEY -o DIR):\n");
	else
		printf("\nAttachments (canary attachment REF N --message %u --key KEY -o DIR):\n",
		       message);
	for (guint i = 0; i < content->attachments->len; i++) {
		const struct canary_attachment_info *a = content->attachments->pdata[i];
		g_autofree char *size = cli_format_size((gint64)a->size);
		printf("  %u. ", i + 1);
		cli_print_line(stdout, a->filename != NULL ? a->filename : "(no name)");
		fputs("  ", stdout);
		cli_print_line(stdout, a->content_type);
		printf(", %s\n", size);
	}
}

/* Prints the messages after the first (MESSAGES: the show op's list of
 * {number, direction, day}), each opened from its own view of SC. A
 * message received from another sender than the first (SENDER, its
 * pseudonym; NULL: unknown) says so: anyone who knows a Message-ID of the
 * conversation can write into it. */
static gboolean print_messages(const struct canary_case *c, const struct canary_sealed_case *sc,
			       JsonArray *messages, const char *sender,
			       const struct canary_secret_key *key)
{
	for (guint i = 0; messages != NULL && i < json_array_get_length(messages); i++) {
		JsonObject *m = json_array_get_object_element(messages, i);
		gint64 number = json_object_get_int_member_with_default(m, "number", 0);
		const char *direction =
			json_object_get_string_member_with_default(m, "direction", "in");
		gboolean sent = g_strcmp0(direction, CANARY_DIRECTION_OUT) == 0;
		g_autoptr(canary_sealed_case) view =
			number >= 2 ? canary_sealed_case_message(sc, (guint)number) : NULL;
		printf("\n--- Message %" G_GINT64_FORMAT " (%s", number,
		       sent ? "a reply sent" : "received");
		g_autoptr(GError) error = NULL;
		g_autoptr(canary_case_meta) meta =
			view != NULL ? canary_sealed_open_meta(view, key, &error) : NULL;
		if (meta != NULL) {
			g_autofree char *when = cli_format_time(sent ? meta->ingested_at
								      : meta->received_at);
			printf(" %s", when);
			if (!sent && sender != NULL && g_strcmp0(meta->pseudonym, sender) != 0) {
				fputs(", from another sender: ", stdout);
				cli_print_line(stdout, meta->pseudonym != NULL ? meta->pseudonym
									       : "no address");
			}
		}
		printf(") ---\n");
		g_clear_error(&error);
		g_autoptr(canary_case_content) content =
			view != NULL ? canary_sealed_open_content(view, key, &error) : NULL;
		if (content == NULL) {
			cli_error("case %s: message %" G_GINT64_FORMAT ": %s", c->ref, number,
				  error != NULL ? error->message : "missing");
			return FALSE;
		}
		print_content(content, (guint)number);
	}
	return TRUE;
}

/* Prints the notes officers added (canary status --note), oldest first. */
static void print_notes(const GPtrArray *notes)
{
	if (notes->len == 0)
		return;
	printf("\nNotes:\n");
	for (guint i = 0; i < notes->len; i++) {
		const struct canary_case_note *n = notes->pdata[i];
		if (n->text == NULL) {
			printf("  %u. (sealed to another key)\n", n->number);
			continue;
		}
		g_autofree char *when = cli_format_time(n->at);
		printf("  %u. %s, ", n->number, when);
		cli_print_line(stdout, n->author);
		fputs(":\n     ", stdout);
		/* Indent continuation lines under the first. */
		const char *p = n->text, *end = p + strlen(p);
		while (p < end) {
			const char *nl = memchr(p, '\n', (size_t)(end - p));
			const char *stop = nl != NULL ? nl : end;
			cli_print_untrusted(stdout, p, (gsize)(stop - p));
			fputc('\n', stdout);
			p = stop + (nl != NULL);
			if (p < end)
				fputs("     ", stdout);
		}
	}
}

int cmd_show(int argc, char **argv)
{
	g_auto(cli_common) common = {0};
	g_autofree char *key_path = NULL, *passphrase_file = NULL;
	GOptionEntry entries[] = {{"key", 'k', 0, G_OPTION_ARG_FILENAME, &key_path,
				   "Secret key of the section (or triage)", "FILE"},
				  {"passphrase-file", 'p', 0, G_OPTION_ARG_FILENAME,
				   &passphrase_file,
				   "Read the key's passphrase from FILE (else ask)", "FILE"},
				  G_OPTION_ENTRY_NULL};
	if (!cli_parse(&argc, &argv, "REF",
		       "Shows case REF as section officers read it: metadata, subject, the text "
		       "with the sender's identity replaced by their pseudonym, and the "
		       "attachment list. Needs the section's (or triage) secret key. Recorded in "
		       "the case history.",
		       entries, &common))
		return CLI_EXIT_USAGE;
	if (argc != 2 || key_path == NULL) {
		cli_error("show needs one REF and --key FILE (see --help)");
		return CLI_EXIT_USAGE;
	}
	int status = CLI_EXIT_OK;
	g_autoptr(canary_secret_key) key = NULL;
	g_autoptr(canary_client) client =
		cli_connect_with_key(&common, key_path, passphrase_file, &key, &status);
	if (client == NULL)
		return status;
	g_autoptr(canary_case) c = NULL;
	status = cli_check_case_key(client, argv[1], key, CLI_KEY_OPENS_CONTENT,
				    "only the custodian can open it, with canary reveal",
				    CLI_EXIT_KEY, &c);
	if (status != CLI_EXIT_OK)
		return status;
	g_autoptr(JsonObject) args = cli_args_ref(c->ref);
	g_autoptr(GError) error = NULL;
	// Order is important: canaryd records the opening before it answers.
	g_autoptr(JsonObject) result = cli_call(client, "show", args, &status);
	if (result == NULL)
		return status;
	g_autoptr(canary_sealed_case) sc = cli_sealed_member(result, "sealed", c);
	if (sc == NULL)
		return CLI_EXIT_FAILED;
	g_autoptr(canary_case_content) content = canary_sealed_open_content(sc, key, &error);
	if (content == NULL) {
		cli_error("case %s: %s", c->ref, error->message);
		return CLI_EXIT_KEY;
	}
	/* The exact values; a case from before schema 4 may not have them sealed
	 * yet (canaryd does at start): then the clear day and size class. */
	g_autoptr(canary_case_meta) meta = canary_sealed_open_meta(sc, key, &error);
	if (meta == NULL) {
		if (error->domain != CANARY_ENVELOPE_ERROR ||
		    (error->code != CANARY_ENVELOPE_ERROR_NO_SUCH &&
		     error->code != CANARY_ENVELOPE_ERROR_NO_ACCESS)) {
			cli_error("case %s: %s", c->ref, error->message);
			return CLI_EXIT_KEY;
		}
		g_clear_error(&error);
	}
	g_autoptr(GPtrArray) notes = canary_sealed_open_notes(sc, key, &error);
	if (notes == NULL) {
		cli_error("case %s: notes: %s", c->ref, error->message);
		return CLI_EXIT_KEY;
	}
	print_metadata(c, meta, cli_array_member(result, "damaged"));
	print_content(content, 1);
	if (!print_messages(c, sc, cli_array_member(result, "messages"),
			    meta != NULL ? meta->pseudonym : NULL, key))
		return CLI_EXIT_KEY;
	print_notes(notes);
	return CLI_EXIT_OK;
}
