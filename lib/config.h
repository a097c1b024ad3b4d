/* config.h: loads and validates canary.conf (GKeyFile) into struct canary_config.
 * Every problem names the file, group and key and says what was expected. */
#ifndef CANARY_CONFIG_H
#define CANARY_CONFIG_H

#include <glib.h>

#include "mail.h"
#include "route.h"

#define CANARY_CONFIG_DEFAULT_PATH CANARY_SYSCONFDIR "/canary/canary.conf"

#define CANARY_CONFIG_ERROR (canary_config_error_quark())
GQuark canary_config_error_quark(void);

enum canary_config_error {
	CANARY_CONFIG_ERROR_IO,      /* the file cannot be read */
	CANARY_CONFIG_ERROR_SYNTAX,  /* not a key file */
	CANARY_CONFIG_ERROR_INVALID, /* one or more keys are wrong: see message */
};

struct canary_config {
	char *path; /* the file it was loaded from, as given */
	char *dir;  /* its directory: relative paths resolve against it */

	struct {
		char *database;       /* absolute path; private to its owner (0600/0700) */
		char *obsolete_group; /* [store] group of an older canary: ignored,
					 warned about (canary_config_warnings()) */
	} store;

	struct {
		char *socket; /* absolute path of canaryd's control socket */
		char *group;  /* the group that may connect to it (mode 0660) */
	} control;
	/* [access]: the Unix groups that hold each role (access.h); NULL: nobody
	 * but root and canaryd's user. Section groups are in routing.conf. */
	struct {
		char *triage, *custodian, *admin;
	} access;

	struct canary_limits limits;
	guint64 message_time; /* [limits] message_time: seconds one message may
				 take to prepare before it is quarantined too-slow */

	struct {
		int level; /* enum canary_log_level */
	} logging;

	struct {
		char *custodian_public; /* absolute paths; NULL if unset */
		char *default_section_public;
		char *triage_public;
		char *pseudonym_key;
	} keys;

	struct {
		char *url; /* NULL: no [imap] group (the tool does not need one) */
		char *username;
		char *password_file;     /* absolute path or NULL */
		char *oauth2_token_file; /* absolute path or NULL */
		char *ca_file;
		char *pinned_public_key;
		char *processed_folder;
		char *quarantine_folder;
		/* How long server copies stay in processed_folder and
		 * quarantine_folder, in seconds after their arrival (INTERNALDATE):
		 * 0 removes them once their case is committed, CANARY_CONFIG_FOREVER
		 * never. A quarantined message whose full bytes were not sealed
		 * (too large) is never removed. */
		guint64 processed_retention;
		guint64 quarantine_retention;
		guint64 poll_interval; /* seconds */
		guint64 batch_size;      /* messages per transaction, at most */
		guint64 batch_time;      /* seconds per transaction, about */
		guint64 fetch_sessions;  /* extra sessions fetching ahead */
		guint64 connect_timeout; /* seconds */
		guint64 io_timeout;      /* seconds */
		gboolean trace;
	} imap;

	/* [smtp]: outgoing mail (smtp.h). URL NULL: no [smtp] group, nothing is sent. */
	struct {
		char *url;               /* smtps://HOST[:PORT] or smtp://HOST[:PORT] (STARTTLS required) */
		char *username;          /* NULL: no login */
		char *password_file;     /* absolute path or NULL; a systemd credential as for IMAP */
		char *from;              /* the confidential address replies come from */
		char *ca_file;           /* absolute path or NULL: the system's CAs */
		char *pinned_public_key; /* "sha256//..." or NULL */
		guint64 connect_timeout; /* seconds */
		guint64 io_timeout;      /* seconds */
	} smtp;

	/* [notify]: who is told of new work (notify.h). Address lists as
	 * written, checked ("a@example.org, b@example.org"; NULL: nobody);
	 * *_daily: one digest a day instead of a notice after each pass. */
	struct {
		char *triage;    /* cases filed into the default section, quarantined cases */
		char *custodian; /* drafts waiting to be sent */
		gboolean triage_daily, custodian_daily;
	} notify;

	/* [reply]: the acknowledgement (RFC 3834 auto-reply), off unless set. */
	struct {
		char *acknowledge;         /* absolute path of its text, or NULL: none sent */
		char *acknowledge_subject; /* the Subject of the acknowledgement */
	} reply;

	struct {
		char *rules;           /* absolute path of routing.conf, or NULL */
		char *default_section; /* where cases with no signal go */
	} routing;
	struct canary_routing *rules; /* loaded from routing.rules; NULL without */

	struct {
		guint64 closed;      /* seconds after closing; 0: keep forever */
		guint64 quarantined; /* seconds after receipt; 0: keep forever */
	} retention;

	struct {
		guint64 open_case_age; /* seconds; 0: never warn */
		guint64 backup_age;    /* seconds; 0: never warn */
	} health;
};

/* One key the loader knows, for documentation checks. */
struct canary_config_key {
	const char *group;
	const char *key;
	const char *default_value; /* as written in the file; NULL: none */
	const char *expected;      /* what a valid value looks like */
};

/* Every key the loader accepts, ending with a zeroed entry. */
const struct canary_config_key *canary_config_known_keys(void);

/* Where to read the config: EXPLICIT if not NULL, else $CANARY_CONFIG, else
 * CANARY_CONFIG_DEFAULT_PATH. Returns a string owned by the caller (g_free). */
char *canary_config_resolve_path(const char *explicit_path);

/* Loads and validates PATH. Returns a new config (free with
 * canary_config_free()) or NULL and sets ERROR. When keys are wrong, ERROR is
 * CANARY_CONFIG_ERROR_INVALID and its message lists every problem, one per
 * line, each as "FILE: [group] key: what is wrong; expected ...". A file
 * that cannot be read (missing, a directory, not a regular file, over 1M) is
 * CANARY_CONFIG_ERROR_IO, "FILE: problem"; text that is not UTF-8 or not a
 * key file is CANARY_CONFIG_ERROR_SYNTAX, one "FILE: line N: ..." per bad
 * line. A group or key given twice is INVALID (GKeyFile would keep the last). */
struct canary_config *canary_config_load(const char *path, GError **error);

/* Like canary_config_load(), except that the [keys] files may be missing or
 * unreadable (their paths are kept): canary health reports them itself.
 * Section key files in routing.conf are still checked. */
struct canary_config *canary_config_load_for_health(const char *path, GError **error);

/* Only [control] socket of the configuration at PATH (its default when
 * unset), resolved against PATH's directory: what an officer's command needs
 * to reach canaryd, without the files the rest names (which officers may
 * not be able to read). New string, or NULL with ERROR. */
char *canary_config_control_socket(const char *path, GError **error);

void canary_config_free(struct canary_config *config);
typedef struct canary_config canary_config;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(canary_config, canary_config_free)

/* What an admin should know about a valid CONFIG: one line per concern,
 * each "[group] key = value: what it means" (server copies kept forever,
 * plaintext on the mail server; an [access] or section group that does not
 * exist here; an obsolete [store] group). Returns a new string, or NULL
 * when there is nothing to say. */
char *canary_config_warnings(const struct canary_config *config);

/* A [imap] *_retention of forever: server copies are never removed. */
#define CANARY_CONFIG_FOREVER G_MAXUINT64

/* Parses how long server copies are kept: "0", a duration as
 * canary_value_parse_duration() reads it ("2d", "12h"), or "forever"
 * (*SECONDS_R CANARY_CONFIG_FOREVER). FALSE on anything else. */
gboolean canary_config_parse_keep(const char *text, guint64 *seconds_r);

/* Parses config text already in memory (for fuzzing and tests): the same
 * checks as canary_config_load(), PATH used for messages and relative paths. */
struct canary_config *canary_config_load_data(const char *path, const char *data, gsize len,
					      GError **error);

/* The file systemd passed in place of the secret file PATH (LoadCredential=):
 * the one of the same base name in $CREDENTIALS_DIRECTORY, if it exists.
 * Returns a new string, or NULL. */
char *canary_config_credential_path(const char *path);

/* TRUE if CONFIG asks for any notice or acknowledgement to be sent (a
 * [notify] list, a section's notify, or [reply] acknowledge). */
gboolean canary_config_sends_mail(const struct canary_config *config);

/* The public key file cases of SECTION are sealed to: the section's own key
 * once routing rules are configured, else [keys] default_section_public for
 * every section. NULL if SECTION is not a known section. Owned by CONFIG. */
const char *canary_config_section_key(const struct canary_config *config, const char *section);

/* TRUE for smtps://HOST[:PORT] or smtp://HOST[:PORT] (an optional "/"). */
gboolean canary_config_valid_smtp_url(const char *url);
#endif
