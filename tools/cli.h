/* cli.h: what every canary subcommand shares: option parsing, exit codes,
 * opening the config and the store, printing errors. */
#ifndef CANARY_CLI_H
#define CANARY_CLI_H

#include <glib.h>
#include <stdio.h>

#include "client.h"
#include "config.h"
#include "seal.h"
#include "store.h"

/* Exit codes, documented in canary(1). */
enum {
	CLI_EXIT_OK = 0,
	CLI_EXIT_FAILED = 1,    /* the command ran and found problems */
	CLI_EXIT_USAGE = 2,     /* wrong options or arguments */
	CLI_EXIT_CONFIG = 3,    /* the configuration is unusable */
	CLI_EXIT_STORE = 4,     /* the database cannot be used */
	CLI_EXIT_NOT_FOUND = 5, /* no such case, attachment or event */
	CLI_EXIT_KEY = 6,       /* a key cannot be loaded, or does not open the case */
	CLI_EXIT_DAEMON = 7,    /* canaryd cannot be reached */
	CLI_EXIT_DENIED = 8,    /* canaryd refused: the caller lacks a group */
};

struct cli_command {
	const char *name;
	const char *summary;
	int (*run)(int argc, char **argv);
};

/* Options every subcommand takes; add them with cli_parse(). */
struct cli_common {
	char *config_path; /* -c FILE */
	/* Set by the command: load the config with missing [keys] files
	 * (canary health reports them itself). */
	gboolean key_files_unchecked;
	/* Set by the command: answering locally, never create the database
	 * (commands that only read it). */
	gboolean store_must_exist;
};

/* Frees what cli_parse() put in COMMON; declare it g_auto(cli_common). */
void cli_common_clear(struct cli_common *common);
typedef struct cli_common cli_common;
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(cli_common, cli_common_clear)

/* Parses ARGV (argv[0] is the subcommand name) with ENTRIES plus -c/--config.
 * PARAMETERS describes positional arguments for --help ("PATH..."). On
 * failure prints the error and returns FALSE; the caller exits
 * CLI_EXIT_USAGE. */
gboolean cli_parse(int *argc, char ***argv, const char *parameters, const char *description,
		   GOptionEntry *entries, struct cli_common *common);

/* Loads the config named by COMMON (or $CANARY_CONFIG, or the default).
 * Prints the errors and returns NULL on failure. */
struct canary_config *cli_load_config(const struct cli_common *common);

/* The host of "canary --host [USER@]HOST COMMAND" (canary.c), for
 * cli_connect(); NULL: $CANARY_HOST, else this machine. */
void cli_set_host(const char *host);

/* Opens the way to canaryd's answers: ssh to --host/$CANARY_HOST (no local
 * config needed), else the control socket of the config COMMON names, else
 * (root or canaryd's user only) this process answering from the store
 * directly. Prints the problem, sets *EXIT_R and returns NULL on failure. */
struct canary_client *cli_connect(const struct cli_common *common, int *exit_r);

/* cli_connect(), then the secret key at KEY_PATH into *KEY_R (see
 * cli_load_secret_key()): in that order, so that nobody types a passphrase
 * for a canaryd that cannot be reached. Returns the client, or NULL after
 * printing the problem, with its exit code in *EXIT_R. */
struct canary_client *cli_connect_with_key(const struct cli_common *common, const char *key_path,
					   const char *passphrase_file,
					   struct canary_secret_key **key_r, int *exit_r);

/* The exit code for an error of canary_client_call() (CANARY_CONTROL_ERROR
 * domain), after printing it. */
int cli_call_failed(const GError *error);

/* --- Calls that carry a case's sealed blobs (show, list --key, ...) --- */

struct canary_sealed_case;

/* Calls OP with ARGS (may be NULL). Returns the result (new), or NULL after
 * printing the problem, with its exit code in *EXIT_R. */
JsonObject *cli_call(struct canary_client *client, const char *op, JsonObject *args, int *exit_r);

/* Calls OP with ARGS (an op that answers with a "case") and reads that
 * case into a new *CASE_R. Returns the answer (new), or NULL after
 * printing the problem, with its exit code in *EXIT_R. */
JsonObject *cli_call_case(struct canary_client *client, const char *op, JsonObject *args,
			  struct canary_case **case_r, int *exit_r);

/* Arguments {"ref": REF}. New object. */
JsonObject *cli_args_ref(const char *ref);

/* The "case" of RESULT (new), or NULL after printing the problem. */
struct canary_case *cli_result_case(JsonObject *result);

/* The sealed blobs in member NAME of O for case C (empty when absent), or
 * NULL after printing the problem. */
struct canary_sealed_case *cli_sealed_member(JsonObject *o, const char *name,
					     const struct canary_case *c);

/* The array member NAME of O, or NULL when it is absent or not an array.
 * Borrowed. */
JsonArray *cli_array_member(JsonObject *o, const char *name);

/* The object member NAME of O, or NULL when it is absent or not an object.
 * Borrowed. */
JsonObject *cli_object_member(JsonObject *o, const char *name);

/* Element I of A as an object, or NULL when it is not one. Borrowed. */
JsonObject *cli_element_object(JsonArray *a, guint i);

/* Element I of A as an array, or NULL when it is not one. Borrowed. */
JsonArray *cli_element_array(JsonArray *a, guint i);

/* Opens the database CONFIG names. Prints the error and returns NULL on failure. */
struct canary_store *cli_open_store(const struct canary_config *config);

/* Prints "canary: MESSAGE" to stderr, with control characters made visible. */
void cli_error(const char *format, ...) G_GNUC_PRINTF(1, 2);

/* Formats T (Unix UTC) with FORMAT (as g_date_time_format()), or "?" when
 * T is out of range. New string. */
char *cli_format_utc(gint64 t, const char *format);

/* Formats T (Unix UTC) as RFC 3339 ("2026-11-24T09:41:00Z"). New string. */
char *cli_format_time(gint64 t);

/* Formats a byte count for tables: "812", "12K", "3.4M". New string. */
char *cli_format_size(gint64 bytes);

/* --- Secrets and untrusted text (for commands that open sealed cases) --- */

/* A passphrase in locked memory; free with cli_passphrase_free(). */
struct cli_passphrase {
	char *text; /* NUL-terminated, sodium_malloc()ed */
	gsize len;
};

/* Reads a passphrase: the first line of FILE when FILE is not NULL, else
 * from the terminal without echo (canary keygen asks for a new one twice).
 * Prints the problem and returns NULL on failure. */
struct cli_passphrase *cli_read_passphrase(const char *file, const char *prompt);
void cli_passphrase_free(struct cli_passphrase *passphrase);

/* Every field printed from a case, a message or the database goes through
 * one of these two (canary_text_escape()): control characters, bidi
 * controls and U+2028/2029 shown escaped ("\n", "\x1b", "\u202e"), invalid
 * UTF-8 as U+FFFD, so that nothing a sender wrote can move the cursor,
 * reorder the screen or print a line of its own. */

/* Writes TEXT (a subject, a header value, a name, a reference) to OUT on
 * one line: newlines and tabs are escaped too. NULL prints "-". */
void cli_print_line(FILE *out, const char *text);

/* Prints one "Label: value" line of a case to stdout: LABEL in 12
 * columns, then VALUE as cli_print_line() writes it ("-" for NULL). */
void cli_print_field(const char *label, const char *value);

/* Writes multi-line TEXT (LEN bytes; a message body, a note) to OUT:
 * newlines and tabs stay, every other control is escaped. */
void cli_print_untrusted(FILE *out, const char *text, gsize len);

/* The Unix user running the command, for the case history. Static string. */
const char *cli_actor(void);

/* Loads the secret key at PATH, with the passphrase from PASSPHRASE_FILE or
 * the terminal. Prints the problem and returns NULL on failure. */
struct canary_secret_key *cli_load_secret_key(const char *path, const char *passphrase_file);

/* Parses public key TEXT as canaryd hands it out (LABEL in messages:
 * "section mena"). Returns a new key (g_free() it), or NULL after printing
 * the problem. */
struct canary_public_key *cli_parse_public_key(const char *label, const char *text);

/* TRUE, after printing "case REF is quarantined (REASON): WHY", when case C
 * is quarantined: it has no section content, only the custodian's copy. */
gboolean cli_case_quarantined(const struct canary_case *c, const char *why);

/* What a key must open of a case. */
enum cli_key_opens {
	CLI_KEY_OPENS_CONTENT,  /* a section's or the triage key */
	CLI_KEY_OPENS_IDENTITY, /* the custodian's */
};

/* The first step of every command that opens a case: asks canaryd for case
 * REF's key copies ("keys", which records nothing) and checks that KEY
 * opens what OPENS says, so that an access is recorded only when the key
 * opens the case. A quarantined case is refused with QUARANTINED_WHY and
 * exit code QUARANTINED_EXIT (QUARANTINED_WHY NULL: no such refusal). The
 * case in *CASE_R when it is not NULL. Returns an exit code; the problem is
 * printed. */
int cli_check_case_key(struct canary_client *client, const char *ref,
		       const struct canary_secret_key *key, enum cli_key_opens opens,
		       const char *quarantined_why, int quarantined_exit,
		       struct canary_case **case_r);

#endif
