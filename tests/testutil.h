/* testutil.h: shared helpers for the Check suites: temporary directories,
 * test data files, running the built programs. */
#ifndef CANARY_TESTUTIL_H
#define CANARY_TESTUTIL_H

#include <check.h>
#include <stdarg.h>
#include <glib.h>
#include <json-glib/json-glib.h>

#include "ingest.h"

/* Path of a file under tests/data. Returns a new string. */
char *tu_data_path(const char *relative);

/* Reads a file under tests/data whole. Aborts the test if missing. */
GBytes *tu_data_bytes(const char *relative);

/* The messages (.eml files) of tests/data/DIR, as paths relative to
 * tests/data ("demo/01-….eml") sorted by name. New array of new strings. */
GPtrArray *tu_data_messages(const char *dir);

/* Copies the messages of tests/data/DIR into directory DEST (made if need
 * be); returns how many. */
guint tu_copy_data_messages(const char *dir, const char *dest);

/* The reference of the one case in LIST_JSON, the output of "canary list
 * --json"; fails the test unless it lists exactly one. New string. */
char *tu_only_case_ref(const char *list_json);

/* canaryd's answer to op OP with ARGS (taken over; NULL: none) for
 * CALLER, handled in this process on CONFIG and STORE. New object. */
struct canary_caller;
JsonObject *tu_control_ask(const struct canary_config *config, struct canary_store *store,
			   const struct canary_caller *caller, const char *op, JsonObject *args);
/* The result of RESPONSE, which must be ok. Borrowed from RESPONSE. */
JsonObject *tu_control_ok(JsonObject *response);
/* The error code of RESPONSE, which must refuse and hold no result; its
 * message in *MESSAGE_R unless NULL. Borrowed from RESPONSE. */
const char *tu_control_refused(JsonObject *response, const char **message_r);

/* How many events of case REF in STORE have ACTION, by ACTOR (anyone when
 * NULL). */
struct canary_store;
guint tu_count_events(struct canary_store *store, const char *ref, const char *action,
		      const char *actor);

/* Creates a fresh private temporary directory; removed by tu_rmtree(). */
char *tu_make_tempdir(void);
void tu_rmtree(const char *path);

/* Writes CONTENTS to DIR/NAME and returns the new path. */
char *tu_write_file(const char *dir, const char *name, const char *contents);

/* Runs ARGV (NULL-terminated; argv[0] a path) with ENVP added to the
 * environment (NULL-terminated "K=V" list or NULL), captures stdout and stderr
 * into new strings (either may be NULL), returns the exit status (-1 on
 * signal). */
int tu_run(const char *const *argv, const char *const *envp, char **out_r, char **err_r);

/* Runs the built canary tool: "canary COMMAND ARGS... -c CONFIG" (ARGS
 * NULL-terminated), capturing output as tu_run() does. Returns the exit
 * status. */
int tu_run_canary(const char *config, char **out_r, char **err_r, const char *command,
		  ...) G_GNUC_NULL_TERMINATED;

/* "TOOL [FIRST] ARGS... -c CONFIG" as a NULL-terminated argv (ARGS read
 * from ARGS up to its NULL; FIRST skipped when NULL). New array. */
GPtrArray *tu_canary_argv(const char *tool, const char *config, const char *first,
			  va_list args);

/* Called in a child the test forked, before its exec: the child is
 * killed when PARENT, the test's process, ends. A failed assertion ends
 * that process at once, without the teardown; an orphan left running
 * (canaryd, Dovecot) holding the test's output open would keep CTest
 * waiting until its timeout. */
void tu_die_with_parent(pid_t parent);

/* Standard main() body: runs SUITE with CK_ENV mode and returns the exit code. */
int tu_run_suite(Suite *suite);

/* Counts occurrences of NEEDLE (LEN bytes) in the file at PATH. 0 if absent. */
guint tu_count_in_file(const char *path, const void *needle, gsize len);

/* Counts the text NEEDLE in the file at PATH as UTF-8, UTF-16LE and UTF-16BE. */
guint tu_count_text_in_file(const char *path, const char *needle);

/* The same in bytes read once (tu_read_file(): empty when the file is
 * absent), for many needles in one file that does not change meanwhile. */
GBytes *tu_read_file(const char *path);
/* tu_read_file() of each of PATHS[0..N): a new array of GBytes, in order. */
GPtrArray *tu_read_files(const char *const *paths, gsize n);
guint tu_count_in_bytes(GBytes *haystack, const void *needle, gsize len);
guint tu_count_text_in_bytes(GBytes *haystack, const char *needle);

/* Waits up to SECONDS until the file at PATH has COUNT lines that hold A
 * (and B, unless it is NULL): a log line to wait for instead of a fixed
 * sleep. FALSE if they do not come. */
gboolean tu_wait_for_lines(const char *path, guint count, const char *a, const char *b,
			   guint seconds);

/* A complete canary set-up in DIR for tests: keys/ with key pairs
 * "custodian", "section", "triage" and "other" (passphrase TU_PASSPHRASE,
 * in DIR/passphrase; fast Argon2id limits for speed), a
 * pseudonym key, and DIR/canary.conf with the database at DIR/state/canary.db
 * plus EXTRA_CONFIG appended (may be NULL). Returns the config path. */
char *tu_make_canary_home(const char *dir, gboolean with_triage, const char *extra_config);

/* Strong enough for canary keygen's rules (passphrase.h). */
#define TU_PASSPHRASE "test passphrase, not secret"

/* Secret key NAME ("section", "custodian", ...) of the set-up in DIR, opened
 * with TU_PASSPHRASE. Aborts the test if it does not open. */
struct canary_secret_key *tu_load_secret(const char *dir, const char *name);
/* Of the committed keys in tests/data/schema/keys (made before those rules). */
#define TU_SCHEMA_PASSPHRASE "test passphrase"

/* Reads one integer, the first column of SQL's first row, on DB. */
struct sqlite3;
gint64 tu_query_int(struct sqlite3 *db, const char *sql);

/* The ingest pipeline of the config at CONFIG_PATH: config loaded, store
 * opened, pipeline made ("test" as the actor), after canary_process_init().
 * tu_pipeline_close() undoes all of it. */
struct tu_pipeline {
	struct canary_config *config;
	struct canary_store *store;
	struct canary_ingest *ingest;
};
void tu_pipeline_open(struct tu_pipeline *pipeline, const char *config_path);
void tu_pipeline_close(struct tu_pipeline *pipeline);
/* Files the message RAW (a string) through PIPELINE in a transaction of
 * its own; returns the case's reference (new string). */
char *tu_pipeline_file(struct tu_pipeline *pipeline, const char *raw);

/* Appends an event at time AT to the history of the database at DB_PATH,
 * chained as the store chains its own (canary_store_add_event() always
 * stamps the current time), for tests that need a past. Add them oldest
 * first, as they would have happened. DETAIL may be NULL. */
void tu_add_event_at(const char *db_path, const char *ref, gint64 at, const char *actor,
		     const char *action, const char *detail);

#endif
