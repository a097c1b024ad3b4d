/* cmd_send.c: canary send: the custodian reads a drafted reply and has
 * canaryd send it to the submitter. canaryd hands out the sealed draft and
 * the identity and raw bytes of the case's latest message received
 * (recorded as a reveal); the custodian's key opens them here, where the
 * address (Reply-To, else From) and the threading headers (RFC 5322
 * In-Reply-To, References) are read from that message. canaryd composes,
 * sends over SMTP and keeps the sealed copy. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"
#include "envelope.h"
#include "mail.h"
#include "triage.h"
#include "wipe.h"

/* The most Message-IDs a reply's References carries: the thread's first
 * and its latest ones (RFC 5322 3.6.4 allows trimming the middle). */
#define REFERENCES_MAX 20

/* What the reply answers, read from the submitter's message. */
struct answer {
	char *to;          /* Reply-To, else From address */
	char *subject;     /* "Re: ..." */
	char *in_reply_to; /* the message's Message-ID, or NULL */
	GPtrArray *references;
};

static void answer_clear(struct answer *a)
{
	canary_wipe_free(a->to);
	canary_wipe_free(a->subject);
	g_free(a->in_reply_to);
	if (a->references != NULL)
		g_ptr_array_unref(a->references);
}
typedef struct answer answer;
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(answer, answer_clear)

/* The first address of LIST, or NULL. */
static const char *first_address(const GPtrArray *list)
{
	for (guint i = 0; i < list->len; i++) {
		const struct canary_address *a = list->pdata[i];
		if (a->address != NULL && strchr(a->address, '@') != NULL)
			return a->address;
	}
	return NULL;
}

/* "Re: SUBJECT" unless SUBJECT starts with "Re:" already. New string. */
static char *reply_subject(const char *subject)
{
	if (subject == NULL || subject[0] == '\0')
		return g_strdup("Re: your message");
	if (g_ascii_strncasecmp(subject, "re:", 3) == 0)
		return g_strdup(subject);
	return g_strconcat("Re: ", subject, NULL);
}

/* The References of a reply to MAIL: its References (else its one
 * In-Reply-To), then its Message-ID; the first and the latest when too
 * many. */
static GPtrArray *reply_references(const struct canary_mail *mail)
{
	GPtrArray *all = g_ptr_array_new();
	const GPtrArray *parents = mail->references->len > 0     ? mail->references
				   : mail->in_reply_to->len == 1 ? mail->in_reply_to
								 : NULL;
	for (guint i = 0; parents != NULL && i < parents->len; i++)
		g_ptr_array_add(all, parents->pdata[i]);
	if (mail->message_id != NULL)
		g_ptr_array_add(all, mail->message_id);
	GPtrArray *refs = g_ptr_array_new_with_free_func(g_free);
	for (guint i = 0; i < all->len; i++)
		if (all->len <= REFERENCES_MAX || i == 0 || i > all->len - REFERENCES_MAX)
			g_ptr_array_add(refs, g_strdup(all->pdata[i]));
	g_ptr_array_unref(all);
	return refs;
}

/* Reads what the reply answers from the submitter's RAW message. FALSE
 * after printing the problem. */
static gboolean read_answer(const char *ref, GBytes *raw, struct answer *a)
{
	g_autoptr(canary_mail) mail = canary_mail_parse(raw, NULL);
	const char *to = first_address(mail->reply_to);
	if (to == NULL)
		to = first_address(mail->from);
	if (to == NULL) {
		cli_error("case %s: the submitter's message has no Reply-To or From address to "
			  "answer",
			  ref);
		return FALSE;
	}
	a->to = g_strdup(to);
	a->subject = reply_subject(mail->subject);
	a->in_reply_to = g_strdup(mail->message_id);
	a->references = reply_references(mail);
	return TRUE;
}

/* Asks the custodian to confirm on the terminal. */
static gboolean confirm(void)
{
	if (!isatty(STDIN_FILENO)) {
		cli_error("not sent: confirm on a terminal, or give --yes");
		return FALSE;
	}
	printf("Send it? [y/N] ");
	fflush(stdout);
	char line[16] = "";
	if (fgets(line, sizeof(line), stdin) == NULL)
		return FALSE;
	return line[0] == 'y' || line[0] == 'Y';
}

/* Prints the draft and where it goes. */
static void print_draft(const char *ref, const struct canary_case_note *draft,
			const char *drafted_by, const struct answer *a)
{
	printf("Case:       %s\n", ref);
	printf("Draft:      %u, by ", draft->number);
	cli_print_line(stdout, drafted_by);
	fputc('\n', stdout);
	printf("To:         ");
	cli_print_line(stdout, a->to);
	printf("\nSubject:    ");
	cli_print_line(stdout, a->subject);
	printf("\n\n");
	cli_print_untrusted(stdout, draft->text, strlen(draft->text));
	printf("\n\n");
}

/* TRUE unless canaryd says the caller holds neither the custodian's role
 * nor everything (whoami). */
static gboolean may_be_custodian(struct canary_client *client)
{
	int status = CLI_EXIT_OK;
	g_autoptr(JsonObject) me = cli_call(client, "whoami", NULL, &status);
	JsonArray *roles = me != NULL ? cli_array_member(me, "roles") : NULL;
	if (roles == NULL)
		return TRUE;
	for (guint i = 0; i < json_array_get_length(roles); i++) {
		const char *role = json_array_get_string_element(roles, i);
		if (g_strcmp0(role, "custodian") == 0 || g_strcmp0(role, "superuser") == 0)
			return TRUE;
	}
	return FALSE;
}

/* Opens draft and message of send-prepare's RESULT with KEY: the draft
 * into *DRAFT_R and what it answers into A. Returns an exit code. */
static int open_prepared(JsonObject *result, const struct canary_case *c,
			 const struct canary_secret_key *key, struct canary_case_note **draft_r,
			 struct answer *a)
{
	g_autoptr(canary_sealed_case) sc = cli_sealed_member(result, "sealed", c);
	if (sc == NULL)
		return CLI_EXIT_FAILED;
	gint64 number = json_object_get_int_member_with_default(result, "draft", 0);
	gint64 message = json_object_get_int_member_with_default(result, "message", 1);
	g_autoptr(GError) error = NULL;
	g_autoptr(canary_sealed_case) view =
		canary_sealed_case_message(sc, (guint)CLAMP(message, 1, G_MAXUINT32));
	g_autoptr(GBytes) raw = NULL;
	g_autoptr(canary_identity) identity =
		view != NULL ? canary_sealed_open_identity(view, key, &raw, &error) : NULL;
	if (identity == NULL) {
		cli_error("case %s: message %" G_GINT64_FORMAT ": %s", c->ref, message,
			  error != NULL ? error->message : "not in canaryd's answer");
		return CLI_EXIT_KEY;
	}
	*draft_r = canary_sealed_open_draft(sc, (guint)CLAMP(number, 1, G_MAXUINT32), key, &error);
	if (*draft_r == NULL) {
		cli_error("case %s: %s", c->ref, error->message);
		return CLI_EXIT_KEY;
	}
	return read_answer(c->ref, raw, a) ? CLI_EXIT_OK : CLI_EXIT_FAILED;
}

/* The arguments of op send for DRAFT answering A. New object. */
static JsonObject *send_args(const char *ref, const struct canary_case_note *draft,
			     const struct answer *a, gboolean again)
{
	JsonObject *args = cli_args_ref(ref);
	json_object_set_int_member(args, "draft", draft->number);
	json_object_set_string_member(args, "to", a->to);
	json_object_set_string_member(args, "subject", a->subject);
	json_object_set_string_member(args, "text", draft->text);
	if (a->in_reply_to != NULL)
		json_object_set_string_member(args, "in_reply_to", a->in_reply_to);
	JsonArray *refs = json_array_new();
	for (guint i = 0; i < a->references->len; i++)
		json_array_add_string_element(refs, a->references->pdata[i]);
	json_object_set_array_member(args, "references", refs);
	json_object_set_boolean_member(args, "again", again);
	return args;
}

int cmd_send(int argc, char **argv)
{
	g_auto(cli_common) common = {0};
	g_autofree char *key_path = NULL, *passphrase_file = NULL;
	gint draft_number = 0;
	gboolean yes = FALSE, again = FALSE;
	GOptionEntry entries[] = {
		{"key", 'k', 0, G_OPTION_ARG_FILENAME, &key_path, "The custodian's secret key",
		 "FILE"},
		{"passphrase-file", 'p', 0, G_OPTION_ARG_FILENAME, &passphrase_file,
		 "Read the key's passphrase from FILE (else ask)", "FILE"},
		{"draft", 'd', 0, G_OPTION_ARG_INT, &draft_number,
		 "The draft to send (needed when several wait)", "N"},
		{"yes", 'y', 0, G_OPTION_ARG_NONE, &yes, "Send without asking", NULL},
		{"again", 0, 0, G_OPTION_ARG_NONE, &again,
		 "Send a draft that a send cut short may have sent already", NULL},
		G_OPTION_ENTRY_NULL};
	if (!cli_parse(&argc, &argv, "REF",
		       "Sends a reply drafted for case REF (canary reply) to the submitter, "
		       "from the confidential address, after showing it and where it goes. "
		       "The address is the Reply-To (else From) of the latest message the "
		       "submitter sent; the reply threads under it. Needs the custodian's "
		       "secret key. Recorded in the case history; a sealed copy stays in the "
		       "case.",
		       entries, &common))
		return CLI_EXIT_USAGE;
	if (argc != 2 || key_path == NULL || draft_number < 0) {
		cli_error("send needs one REF and --key FILE (see --help)");
		return CLI_EXIT_USAGE;
	}
	if (!triage_check_ref(argv[1]))
		return CLI_EXIT_USAGE;
	int status = CLI_EXIT_OK;
	g_autoptr(canary_secret_key) key = NULL;
	g_autoptr(canary_client) client =
		cli_connect_with_key(&common, key_path, passphrase_file, &key, &status);
	if (client == NULL)
		return status;
	g_autoptr(JsonObject) args = cli_args_ref(argv[1]);
	if (draft_number > 0)
		json_object_set_int_member(args, "draft", draft_number);
	/* Not the custodian: canaryd's refusal names the group (nothing leaves). */
	status = may_be_custodian(client) ? cli_check_case_key(client, argv[1], key,
								 CLI_KEY_OPENS_IDENTITY, NULL, 0, NULL)
				     : CLI_EXIT_OK;
	if (status != CLI_EXIT_OK)
		return status;
	g_autoptr(canary_case) c = NULL;
	g_autoptr(JsonObject) prepared = cli_call_case(client, "send-prepare", args, &c, &status);
	if (prepared == NULL)
		return status;
	if (json_object_get_boolean_member_with_default(prepared, "sending", FALSE) && !again) {
		cli_error("draft %" G_GINT64_FORMAT " of %s was being sent when canaryd stopped: "
			  "the mail server may have taken it. Ask the submitter or check the "
			  "server's log; to send it anyway, use --again",
			  json_object_get_int_member_with_default(prepared, "draft", 0), c->ref);
		return CLI_EXIT_FAILED;
	}
	g_auto(answer) a = {0};
	struct canary_case_note *draft = NULL;
	status = open_prepared(prepared, c, key, &draft, &a);
	if (status == CLI_EXIT_OK) {
		print_draft(c->ref, draft,
			    json_object_get_string_member_with_default(prepared, "drafted_by", "-"),
			    &a);
		if (!yes && !confirm()) {
			printf("not sent: draft %u still waits\n", draft->number);
			status = CLI_EXIT_FAILED;
		}
	}
	g_autoptr(JsonObject) request =
		status == CLI_EXIT_OK ? send_args(c->ref, draft, &a, again) : NULL;
	guint number = draft != NULL ? draft->number : 0;
	canary_case_note_free(draft);
	if (request == NULL)
		return status;
	g_autoptr(JsonObject) result = cli_call(client, "send", request, &status);
	/* The request held the text: wipe it before anything else. */
	JsonNode *text = json_object_get_member(request, "text");
	if (text != NULL) {
		const char *s = json_node_get_string(text);
		canary_wipe((void *)s, strlen(s));
	}
	if (result == NULL)
		return status;
	printf("%s: draft %u sent as message %" G_GINT64_FORMAT " to ", c->ref, number,
	       json_object_get_int_member_with_default(result, "message", 0));
	cli_print_line(stdout, a.to);
	fputc('\n', stdout);
	return CLI_EXIT_OK;
}
