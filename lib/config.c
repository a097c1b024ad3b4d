/* config.c: canary.conf (GKeyFile). Every key the program accepts is one row
 * of the table below; loading checks every row and collects every problem as
 * "FILE: [group] key: what is wrong; expected ...", so an admin sees them all. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "values.h"

/* The quark's name is the macro argument as written: keep it unspaced. */
/* clang-format off */
/* The quark name is stringified as written: keep clang-format off it. */
// clang-format off
G_DEFINE_QUARK(canary-config-error-quark, canary_config_error)
// clang-format on

/* A configuration file larger than this is a mistake (a log, a database). */
#define MAX_CONFIG_SIZE (1024 * 1024)
/* Lines of syntax errors reported one by one before the rest are counted. */
#define MAX_SYNTAX_PROBLEMS 20

enum key_type {
	T_DATABASE,   /* char *: a path; its directory may not exist yet */
	T_FILE,       /* char *: a path to a readable regular file */
	T_SECRET,     /* char *: like T_FILE, or a file of that name under
			 $CREDENTIALS_DIRECTORY (systemd LoadCredential=) */
	T_STRING,     /* char *: any text */
	T_GROUP_NAME, /* char *: a Unix group name (one that does not exist is
			 a warning, not an error: canaryd must keep filing) */
	T_IMAP_URL,   /* char *: imap[s]://host[:port]/MAILBOX */
	T_SMTP_URL,   /* char *: smtp[s]://host[:port] */
	T_ADDRESS,    /* char *: an e-mail address, local@domain */
	T_PIN,        /* char *: sha256//BASE64 */
	T_SIZE,       /* guint64: bytes, canary_value_parse_size() */
	T_UINT,       /* guint: a whole number */
	T_UINT64,     /* guint64: a whole number */
	T_DURATION,   /* guint64: seconds, canary_value_parse_duration() */
	T_PERIOD,     /* guint64: seconds, canary_value_parse_period() */
	T_KEEP,       /* guint64: seconds, canary_config_parse_keep() */
	T_LEVEL,      /* int: enum canary_log_level */
	T_BOOL,       /* gboolean: true or false */
	T_ADDRESSES,  /* char *: mail addresses separated by , or ; */
	T_DIGEST,     /* gboolean: daily (TRUE) or pass (FALSE) */
};

struct key_spec {
	const char *group, *key;
	enum key_type type;
	const char *default_value; /* NULL: unset unless given */
	guint64 min, max;          /* for sizes, numbers and durations */
	gboolean required;         /* within its group (see group_required()) */
	size_t offset;             /* into struct canary_config */
	const char *expected;      /* what a valid value looks like */
};

#define AT(field) offsetof(struct canary_config, field)
#define NO_BOUNDS 0, G_MAXUINT64
#define KIB       ((guint64)1024)

/* Every key, one row each. Adding a key: one row here and a field in
 * struct canary_config (config.h), documented in conf/canary.conf and
 * canary.conf(5). */
static const struct key_spec keys[] = {
	{"store", "database", T_DATABASE, "/var/lib/canary/canary.db", NO_BOUNDS, FALSE,
	 AT(store.database), "a path for the case database"},
	{"limits", "max_message_size", T_SIZE, "50M", KIB, G_MAXUINT32, FALSE,
	 AT(limits.max_message_size), "a size such as 50M (at least 1K, below 4G)"},
	{"limits", "max_mime_depth", T_UINT, "32", 1, 1024, FALSE, AT(limits.max_mime_depth),
	 "a whole number from 1 to 1024"},
	{"limits", "max_parts", T_UINT, "1000", 1, 100000, FALSE, AT(limits.max_parts),
	 "a whole number from 1 to 100000"},
	{"limits", "max_header_length", T_SIZE, "64K", KIB, G_MAXUINT32, FALSE,
	 AT(limits.max_header_length), "a size such as 64K (at least 1K, below 4G)"},
	{"limits", "message_time", T_DURATION, "30s", 1, 3600, FALSE, AT(message_time),
	 "a duration such as 30s (1s to 1h)"},
	{"logging", "level", T_LEVEL, "info", NO_BOUNDS, FALSE, AT(logging.level),
	 "one of error, warning, notice, info, debug"},
	{"keys", "custodian_public", T_FILE, NULL, NO_BOUNDS, TRUE, AT(keys.custodian_public),
	 "the path of the custodian's public key (.pub, from canary keygen)"},
	{"keys", "default_section_public", T_FILE, NULL, NO_BOUNDS, FALSE,
	 AT(keys.default_section_public),
	 "the path of the receiving section's public key (.pub, from canary keygen); needed "
	 "without [routing] rules"},
	{"keys", "triage_public", T_FILE, NULL, NO_BOUNDS, FALSE, AT(keys.triage_public),
	 "the path of the triage officers' public key (.pub, from canary keygen)"},
	{"keys", "pseudonym_key", T_FILE, NULL, NO_BOUNDS, TRUE, AT(keys.pseudonym_key),
	 "the path of the pseudonym key (canary keygen --pseudonym-key)"},
	{"imap", "url", T_IMAP_URL, NULL, NO_BOUNDS, TRUE, AT(imap.url),
	 "imaps://host[:port]/MAILBOX or imap://host[:port]/MAILBOX (STARTTLS)"},
	{"imap", "username", T_STRING, NULL, NO_BOUNDS, TRUE, AT(imap.username), "the login name"},
	{"imap", "password_file", T_SECRET, NULL, NO_BOUNDS, FALSE, AT(imap.password_file),
	 "a file whose first line is the password"},
	{"imap", "oauth2_token_file", T_SECRET, NULL, NO_BOUNDS, FALSE, AT(imap.oauth2_token_file),
	 "a file holding an OAuth 2.0 bearer token"},
	{"imap", "ca_file", T_FILE, NULL, NO_BOUNDS, FALSE, AT(imap.ca_file),
	 "a PEM file of trusted certificate authorities"},
	{"imap", "pinned_public_key", T_PIN, NULL, NO_BOUNDS, FALSE, AT(imap.pinned_public_key),
	 "sha256//BASE64 of the server's public key"},
	{"imap", "processed_folder", T_STRING, "Processed", NO_BOUNDS, FALSE,
	 AT(imap.processed_folder), "a folder name"},
	{"imap", "quarantine_folder", T_STRING, "Quarantine", NO_BOUNDS, FALSE,
	 AT(imap.quarantine_folder), "a folder name"},
	{"imap", "processed_retention", T_KEEP, "0", NO_BOUNDS, FALSE, AT(imap.processed_retention),
	 "0 (removed from the server once filed), a duration such as 2d or 12h, or forever"},
	{"imap", "quarantine_retention", T_KEEP, "0", NO_BOUNDS, FALSE,
	 AT(imap.quarantine_retention),
	 "0 (removed from the server once sealed), a duration such as 2d or 12h, or forever"},
	{"imap", "poll_interval", T_DURATION, "60s", 1, 86400, FALSE, AT(imap.poll_interval),
	 "a duration such as 60s or 5m (1s to 1d)"},
	{"imap", "batch_size", T_UINT64, "100", 1, 10000, FALSE, AT(imap.batch_size),
	 "a whole number from 1 to 10000"},
	{"imap", "batch_time", T_DURATION, "5s", 1, 3600, FALSE, AT(imap.batch_time),
	 "a duration such as 5s (1s to 1h)"},
	{"imap", "fetch_sessions", T_UINT64, "1", 1, 8, FALSE, AT(imap.fetch_sessions),
	 "a whole number from 1 to 8"},
	{"imap", "connect_timeout", T_DURATION, "30s", 1, 3600, FALSE, AT(imap.connect_timeout),
	 "a duration such as 30s (1s to 1h)"},
	{"imap", "io_timeout", T_DURATION, "120s", 1, 3600, FALSE, AT(imap.io_timeout),
	 "a duration such as 120s (1s to 1h)"},
	{"imap", "trace", T_BOOL, "false", NO_BOUNDS, FALSE, AT(imap.trace), "true or false"},
	{"smtp", "url", T_SMTP_URL, NULL, NO_BOUNDS, TRUE, AT(smtp.url),
	 "smtps://host[:port] or smtp://host[:port] (STARTTLS, always required)"},
	{"smtp", "from", T_ADDRESS, NULL, NO_BOUNDS, TRUE, AT(smtp.from),
	 "the confidential address replies and notices are sent from (local@domain)"},
	{"smtp", "username", T_STRING, NULL, NO_BOUNDS, FALSE, AT(smtp.username), "the login name"},
	{"smtp", "password_file", T_SECRET, NULL, NO_BOUNDS, FALSE, AT(smtp.password_file),
	 "a file whose first line is the password"},
	{"smtp", "ca_file", T_FILE, NULL, NO_BOUNDS, FALSE, AT(smtp.ca_file),
	 "a PEM file of trusted certificate authorities"},
	{"smtp", "pinned_public_key", T_PIN, NULL, NO_BOUNDS, FALSE, AT(smtp.pinned_public_key),
	 "sha256//BASE64 of the server's public key"},
	{"smtp", "connect_timeout", T_DURATION, "30s", 1, 3600, FALSE, AT(smtp.connect_timeout),
	 "a duration such as 30s (1s to 1h)"},
	{"smtp", "io_timeout", T_DURATION, "120s", 1, 3600, FALSE, AT(smtp.io_timeout),
	 "a duration such as 120s (1s to 1h)"},
	{"routing", "rules", T_FILE, NULL, NO_BOUNDS, FALSE, AT(routing.rules),
	 "the routing rules file (see canary-routing.conf(5))"},
	{"routing", "default_section", T_STRING, "triage", NO_BOUNDS, FALSE,
	 AT(routing.default_section),
	 "the section of the routing rules that takes cases with no "
	 "signal"},
	{"retention", "closed", T_PERIOD, NULL, NO_BOUNDS, FALSE, AT(retention.closed),
	 "a period such as 365d, 52w or 2y after a case was closed, or forever"},
	{"retention", "quarantined", T_PERIOD, NULL, NO_BOUNDS, FALSE, AT(retention.quarantined),
	 "a period such as 90d, 12w or 1y after a quarantined case was received, or forever"},
	{"health", "open_case_age", T_PERIOD, "30d", NO_BOUNDS, FALSE, AT(health.open_case_age),
	 "a period such as 30d or 6w, or forever"},
	{"health", "backup_age", T_PERIOD, "7d", NO_BOUNDS, FALSE, AT(health.backup_age),
	 "a period such as 7d or 2w since the last canary backup, or forever"},
	{"control", "socket", T_DATABASE, "/run/canary/control", NO_BOUNDS, FALSE,
	 AT(control.socket), "a path for canaryd's control socket"},
	/* Checked by canaryd when it makes the socket: officers' commands and
	 * machines without the group still load the file. */
	{"control", "group", T_GROUP_NAME, "canary-officers", NO_BOUNDS, FALSE, AT(control.group),
	 "the name of an existing Unix group"},
	{"access", "triage", T_GROUP_NAME, NULL, NO_BOUNDS, FALSE, AT(access.triage),
	 "the Unix group of the triage officers (they see every case and move them)"},
	{"access", "custodian", T_GROUP_NAME, NULL, NO_BOUNDS, FALSE, AT(access.custodian),
	 "the Unix group of the custodian (reveals identities, handles quarantined cases)"},
	{"access", "admin", T_GROUP_NAME, NULL, NO_BOUNDS, FALSE, AT(access.admin),
	 "the Unix group of the admins (purge, health, report, audit)"},
	{"notify", "triage", T_ADDRESSES, NULL, NO_BOUNDS, FALSE, AT(notify.triage),
	 "mail addresses separated by commas (told of cases in the default section and of "
	 "quarantined cases)"},
	{"notify", "triage_digest", T_DIGEST, "pass", NO_BOUNDS, FALSE, AT(notify.triage_daily),
	 "pass (a notice after each pass that found something) or daily (one digest a day)"},
	{"notify", "custodian", T_ADDRESSES, NULL, NO_BOUNDS, FALSE, AT(notify.custodian),
	 "mail addresses separated by commas (told of drafts waiting to be sent)"},
	{"notify", "custodian_digest", T_DIGEST, "pass", NO_BOUNDS, FALSE,
	 AT(notify.custodian_daily),
	 "pass (a notice after each pass that found something) or daily (one digest a day)"},
	{"reply", "acknowledge", T_FILE, NULL, NO_BOUNDS, FALSE, AT(reply.acknowledge),
	 "the file holding the acknowledgement's text, with {reference} where the case "
	 "reference goes"},
	{"reply", "acknowledge_subject", T_STRING, "Your message has been received", NO_BOUNDS,
	 FALSE, AT(reply.acknowledge_subject), "the Subject of the acknowledgement"},
};

/* Returns TRUE if GROUP must be present: [keys] always; [imap] is optional,
 * but once present its required keys are required. */
static gboolean group_required(const char *group)
{
	return strcmp(group, "keys") == 0;
}

/* Returns TRUE if a value of TYPE is stored as a string owned by the config. */
static gboolean is_text_type(enum key_type type)
{
	switch (type) {
	case T_DATABASE:
	case T_FILE:
	case T_SECRET:
	case T_STRING:
	case T_GROUP_NAME:
	case T_IMAP_URL:
	case T_SMTP_URL:
	case T_ADDRESS:
	case T_PIN:
	case T_ADDRESSES:
		return TRUE;
	default:
		return FALSE;
	}
}

const struct canary_config_key *canary_config_known_keys(void)
{
	static struct canary_config_key *table;
	if (g_once_init_enter(&table)) {
		struct canary_config_key *t =
			g_new0(struct canary_config_key, G_N_ELEMENTS(keys) + 1);
		for (size_t i = 0; i < G_N_ELEMENTS(keys); i++)
			t[i] = (struct canary_config_key){keys[i].group, keys[i].key,
							  keys[i].default_value, keys[i].expected};
		g_once_init_leave(&table, t);
	}
	return table;
}

gboolean canary_config_parse_keep(const char *text, guint64 *seconds_r)
{
	if (g_strcmp0(text, "forever") == 0) {
		*seconds_r = CANARY_CONFIG_FOREVER;
		return TRUE;
	}
	guint64 seconds = 0;
	/* The largest finite value stays below the one that means forever. */
	if (!canary_value_parse_duration(text, &seconds) || seconds >= CANARY_CONFIG_FOREVER / 2)
		return FALSE;
	*seconds_r = seconds;
	return TRUE;
}

/* Appends LINE to WARNINGS, one per line. */
static void add_warning(GString *warnings, const char *format, ...) G_GNUC_PRINTF(2, 3);
static void add_warning(GString *warnings, const char *format, ...)
{
	va_list args;
	va_start(args, format);
	if (warnings->len > 0)
		g_string_append_c(warnings, '\n');
	g_string_append_vprintf(warnings, format, args);
	va_end(args);
}

/* A group of [access] or routing.conf that this system does not know: the
 * config stays valid (canaryd must go on filing), but nobody holds it. */
static void warn_unknown_groups(const struct canary_config *config, GString *warnings)
{
	const struct {
		const char *key, *group;
	} roles[] = {
		{"triage", config->access.triage},
		{"custodian", config->access.custodian},
		{"admin", config->access.admin},
	};
	for (gsize i = 0; i < G_N_ELEMENTS(roles); i++)
		if (roles[i].group != NULL && getgrnam(roles[i].group) == NULL)
			add_warning(warnings,
				    "[access] %s = %s: no such group on this system; until it "
				    "exists only root and canaryd's user hold the %s role",
				    roles[i].key, roles[i].group, roles[i].key);
	if (config->rules == NULL)
		return;
	const char *const *sections = canary_routing_sections(config->rules);
	for (gsize i = 0; sections[i] != NULL; i++) {
		const char *group = canary_routing_section_group(config->rules, sections[i]);
		if (group != NULL && getgrnam(group) == NULL)
			add_warning(warnings,
				    "%s: [section %s] group = %s: no such group on this system; "
				    "until it exists only triage sees this section's cases",
				    config->routing.rules, sections[i], group);
	}
}

static void warn_nothing_sent(const struct canary_config *config, GString *warnings);

char *canary_config_warnings(const struct canary_config *config)
{
	GString *warnings = g_string_new(NULL);
	if (config->store.obsolete_group != NULL)
		add_warning(warnings,
			    "[store] group = %s: ignored: the database is private to canaryd's "
			    "user, and officers work through canaryd (see \"Access\" in the "
			    "README); remove the line",
			    config->store.obsolete_group);
	warn_unknown_groups(config, warnings);
	warn_nothing_sent(config, warnings);
	if (config->imap.url == NULL)
		return g_string_free(warnings, warnings->len == 0);
	const struct {
		const char *key, *folder;
		guint64 retention;
	} kept[] = {
		{"processed_retention", config->imap.processed_folder,
		 config->imap.processed_retention},
		{"quarantine_retention", config->imap.quarantine_folder,
		 config->imap.quarantine_retention},
	};
	for (gsize i = 0; i < G_N_ELEMENTS(kept); i++) {
		if (kept[i].retention != CANARY_CONFIG_FOREVER)
			continue;
		add_warning(warnings,
			    "[imap] %s = forever: every message stays in clear in the mail "
			    "server's %s folder (sender, subject, text), readable by anyone who "
			    "holds the IMAP password; set 0 or a duration such as 2d",
			    kept[i].key, kept[i].folder);
	}
	return g_string_free(warnings, warnings->len == 0);
}

/* Warns when notices or acknowledgements are asked for but there is no
 * [smtp] group to send them through. */
static void warn_nothing_sent(const struct canary_config *config, GString *warnings)
{
	if (config->smtp.url != NULL || !canary_config_sends_mail(config))
		return;
	add_warning(warnings, "[notify], a section's notify or [reply] acknowledge is set, but "
			      "there is no [smtp] group: no notice or acknowledgement can be "
			      "sent; add [smtp] (see canary.conf(5))");
}

gboolean canary_config_sends_mail(const struct canary_config *config)
{
	if (config->notify.triage != NULL || config->notify.custodian != NULL ||
	    config->reply.acknowledge != NULL)
		return TRUE;
	if (config->rules == NULL)
		return FALSE;
	const char *const *sections = canary_routing_sections(config->rules);
	for (gsize i = 0; sections[i] != NULL; i++) {
		if (canary_routing_section_notify(config->rules, sections[i]) != NULL)
			return TRUE;
	}
	return FALSE;
}

char *canary_config_resolve_path(const char *explicit_path)
{
	if (explicit_path != NULL)
		return g_strdup(explicit_path);
	const char *env = g_getenv("CANARY_CONFIG");
	if (env != NULL && env[0] != '\0')
		return g_strdup(env);
	return g_strdup(CANARY_CONFIG_DEFAULT_PATH);
}

void canary_config_free(struct canary_config *config)
{
	if (config == NULL)
		return;
	canary_routing_free(config->rules);
	g_free(config->store.obsolete_group);
	g_free(config->path);
	g_free(config->dir);
	for (size_t i = 0; i < G_N_ELEMENTS(keys); i++) {
		if (is_text_type(keys[i].type))
			g_free(G_STRUCT_MEMBER(char *, config, keys[i].offset));
	}
	g_free(config);
}

/* Problems found so far, each a line "PATH: ..." (owned by LINES). */
struct problems {
	const char *path;
	GPtrArray *lines;
	gboolean key_files_unchecked; /* canary_config_load_for_health() */
};

static void add_problem(struct problems *p, const char *format, ...) G_GNUC_PRINTF(2, 3);
static void key_problem(struct problems *p, const struct key_spec *spec, const char *format, ...)
	G_GNUC_PRINTF(3, 4);

/* Records "PATH: " followed by FORMAT: a problem with the file as a whole. */
static void add_problem(struct problems *p, const char *format, ...)
{
	va_list args;
	va_start(args, format);
	g_autofree char *what = g_strdup_vprintf(format, args);
	va_end(args);
	g_ptr_array_add(p->lines, g_strdup_printf("%s: %s", p->path, what));
}

/* Records "PATH: [group] key: WHAT; expected ..." for SPEC's key. */
static void key_problem(struct problems *p, const struct key_spec *spec, const char *format, ...)
{
	va_list args;
	va_start(args, format);
	g_autofree char *what = g_strdup_vprintf(format, args);
	va_end(args);
	add_problem(p, "[%s] %s: %s; expected %s", spec->group, spec->key, what, spec->expected);
}

/* Sets ERROR to every problem in P, one per line, with CODE. Returns NULL. */
static struct canary_config *fail(struct problems *p, enum canary_config_error code, GError **error)
{
	g_ptr_array_add(p->lines, NULL);
	g_autofree char *all = g_strjoinv("\n", (char **)p->lines->pdata);
	g_set_error_literal(error, CANARY_CONFIG_ERROR, code, all);
	return NULL;
}

/* Returns the row for GROUP/KEY (any row of GROUP when KEY is NULL), or NULL. */
static const struct key_spec *find_spec(const char *group, const char *key)
{
	for (size_t i = 0; i < G_N_ELEMENTS(keys); i++) {
		if (strcmp(keys[i].group, group) == 0 &&
		    (key == NULL || strcmp(keys[i].key, key) == 0))
			return &keys[i];
	}
	return NULL;
}

/* Returns "a, b or c" listing every known group as "[group]" (GROUP NULL)
 * or every key of GROUP, in table order. A new string (g_free). */
static char *known_names(const char *group)
{
	g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
	for (size_t i = 0; i < G_N_ELEMENTS(keys); i++) {
		if (group != NULL && strcmp(keys[i].group, group) == 0)
			g_ptr_array_add(names, g_strdup(keys[i].key));
		else if (group == NULL && find_spec(keys[i].group, NULL) == &keys[i])
			g_ptr_array_add(names, g_strdup_printf("[%s]", keys[i].group));
	}
	GString *out = g_string_new(NULL);
	for (guint i = 0; i < names->len; i++) {
		if (i > 0)
			g_string_append(out, i + 1 == names->len ? " or " : ", ");
		g_string_append(out, g_ptr_array_index(names, i));
	}
	return g_string_free(out, FALSE);
}

/* One line of the text as GKeyFile reads it: without its "\n" or "\r\n",
 * leading white space skipped. NUMBER counts from 1. */
struct line {
	const char *text;
	gsize len;
	guint number;
};

/* Fills LINE with the line at *POS (before END) and moves *POS past it.
 * Returns FALSE when no line is left. */
static gboolean next_line(const char **pos, const char *end, struct line *line)
{
	const char *start = *pos;
	if (start >= end)
		return FALSE;
	const char *nl = memchr(start, '\n', (gsize)(end - start));
	const char *stop = nl != NULL ? nl : end;
	*pos = nl != NULL ? nl + 1 : end;
	if (nl != NULL && stop > start && stop[-1] == '\r')
		stop--;
	while (start < stop && g_ascii_isspace(*start))
		start++;
	line->text = start;
	line->len = (gsize)(stop - start);
	line->number++;
	return TRUE;
}

/* Returns TRUE if LINE is empty or a comment. */
static gboolean is_blank_or_comment(const struct line *line)
{
	return line->len == 0 || line->text[0] == '#';
}

/* Reports a NUL byte or invalid UTF-8 with its line number. Returns FALSE
 * if it found one. */
static gboolean check_text(const char *data, gsize len, struct problems *p)
{
	const char *bad = NULL;
	if (g_utf8_validate_len(data, len, &bad))
		return TRUE;
	guint number = 1;
	for (const char *c = data; c < bad; c++)
		number += *c == '\n';
	add_problem(p, "line %u: %s; expected UTF-8 text", number,
		    *bad == '\0' ? "a NUL byte" : "invalid UTF-8");
	return FALSE;
}

/* Reports every line GKeyFile refuses, by number: GKeyFile stops at the
 * first and does not say where it is. Each line is tried alone (under a
 * dummy group once a group line was seen), so the verdict is GKeyFile's. */
static void find_syntax_errors(const char *data, gsize len, struct problems *p)
{
	gboolean in_group = FALSE;
	guint bad = 0;
	const char *pos = data;
	struct line line = {0};
	while (next_line(&pos, data + len, &line)) {
		if (is_blank_or_comment(&line))
			continue;
		gboolean group_line = line.text[0] == '[';
		g_autoptr(GString) text = g_string_new(in_group && !group_line ? "[g]\n" : "");
		g_string_append_len(text, line.text, (gssize)line.len);
		g_autoptr(GKeyFile) kf = g_key_file_new();
		g_autoptr(GError) local = NULL;
		if (!g_key_file_load_from_data(kf, text->str, text->len, G_KEY_FILE_NONE, &local) &&
		    ++bad <= MAX_SYNTAX_PROBLEMS)
			add_problem(p, "line %u: %s; expected [group], key = value or # comment",
				    line.number, local->message);
		in_group = in_group || group_line;
	}
	if (bad > MAX_SYNTAX_PROBLEMS)
		add_problem(p, "%u more lines that are not [group], key = value or # comment",
			    bad - MAX_SYNTAX_PROBLEMS);
}

/* Records that the group or key ID, last seen on line FIRST, is on LINE again. */
static void report_duplicate(struct problems *p, const char *id, gboolean is_group, guint first,
			     guint line)
{
	if (is_group)
		add_problem(p, "%s: group given twice (lines %u and %u); expected each group once",
			    id, first, line);
	else
		add_problem(p, "%s: given twice (lines %u and %u); expected each key once", id,
			    first, line);
}

/* Reports groups and keys given twice: GKeyFile would silently merge the
 * groups and keep the last value. Runs on text GKeyFile has accepted. */
static void check_duplicates(const char *data, gsize len, struct problems *p)
{
	/* "[group]" or "[group] key" -> first line number */
	g_autoptr(GHashTable) seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	g_autofree char *group = NULL;
	const char *pos = data;
	struct line line = {0};
	while (next_line(&pos, data + len, &line)) {
		if (is_blank_or_comment(&line))
			continue;
		const char *mark = memchr(line.text, line.text[0] == '[' ? ']' : '=', line.len);
		if (mark == NULL || (line.text[0] != '[' && group == NULL))
			continue;
		g_autofree char *id = NULL;
		if (line.text[0] == '[') {
			g_free(group);
			group = g_strndup(line.text + 1, (gsize)(mark - line.text - 1));
			id = g_strdup_printf("[%s]", group);
		} else {
			g_autofree char *key = g_strndup(line.text, (gsize)(mark - line.text));
			id = g_strdup_printf("[%s] %s", group, g_strchomp(key));
		}
		guint first = GPOINTER_TO_UINT(g_hash_table_lookup(seen, id));
		if (first != 0)
			report_duplicate(p, id, line.text[0] == '[', first, line.number);
		else
			g_hash_table_insert(seen, g_steal_pointer(&id),
					    GUINT_TO_POINTER(line.number));
	}
}

/* Reports groups and keys the table does not know, with the names it does. */
static void check_unknown(GKeyFile *kf, struct problems *p)
{
	g_auto(GStrv) groups = g_key_file_get_groups(kf, NULL);
	for (size_t g = 0; groups[g] != NULL; g++) {
		if (find_spec(groups[g], NULL) == NULL) {
			g_autofree char *known = known_names(NULL);
			add_problem(p, "[%s]: unknown group; expected %s", groups[g], known);
			continue;
		}
		g_auto(GStrv) names = g_key_file_get_keys(kf, groups[g], NULL, NULL);
		for (size_t k = 0; names != NULL && names[k] != NULL; k++) {
			if (find_spec(groups[g], names[k]) != NULL)
				continue;
			g_autofree char *known = known_names(groups[g]);
			add_problem(p, "[%s] %s: unknown key; expected %s (see canary.conf(5))",
				    groups[g], names[k], known);
		}
	}
}

char *canary_config_credential_path(const char *path)
{
	const char *dir = g_getenv("CREDENTIALS_DIRECTORY");
	if (dir == NULL)
		return NULL;
	g_autofree char *base = g_path_get_basename(path);
	char *candidate = g_build_filename(dir, base, NULL);
	if (!g_file_test(candidate, G_FILE_TEST_IS_REGULAR))
		g_clear_pointer(&candidate, g_free);
	return candidate;
}

/* Stores VALUE as a path resolved against the config's directory and checks
 * it per SPEC's type. */
static void set_path(struct canary_config *config, const struct key_spec *spec, const char *value,
		     struct problems *p)
{
	char *path = canary_value_resolve_file(config->dir, value);
	G_STRUCT_MEMBER(char *, config, spec->offset) = path;
	g_autofree char *credential =
		spec->type == T_SECRET ? canary_config_credential_path(path) : NULL;
	if (credential != NULL)
		return;
	/* canary health reports them itself, as critical, rather than not run. */
	if (p->key_files_unchecked && strcmp(spec->group, "keys") == 0)
		return;
	if ((spec->type == T_FILE || spec->type == T_SECRET) &&
	    !g_file_test(path, G_FILE_TEST_IS_REGULAR))
		key_problem(p, spec, "%s: no such file", path);
	/* A secret need only exist here: officers' commands never read it, and
	 * it is normally readable by root alone, who hands it to the daemon
	 * (LoadCredential=); the daemon names it if it cannot read it. */
	else if (spec->type == T_FILE && access(path, R_OK) != 0)
		key_problem(p, spec, "%s: cannot be read (%s)", path, g_strerror(errno));
	else if (spec->type == T_DATABASE && g_file_test(path, G_FILE_TEST_IS_DIR))
		key_problem(p, spec, "%s is a directory", path);
}

/* TRUE if URL has a "user[:password]@" part. */
static gboolean url_has_credentials(const char *url)
{
	const char *authority = strstr(url, "://");
	authority = authority != NULL ? authority + 3 : url;
	const char *at = strchr(authority, '@');
	const char *slash = strchr(authority, '/');
	return at != NULL && (slash == NULL || at < slash);
}

gboolean canary_config_valid_smtp_url(const char *url)
{
	const char *host = NULL;
	if (g_str_has_prefix(url, "smtps://"))
		host = url + strlen("smtps://");
	else if (g_str_has_prefix(url, "smtp://"))
		host = url + strlen("smtp://");
	if (host == NULL || *host == '\0' || *host == '/' || *host == ':')
		return FALSE;
	/* The server and its port only: a path would be taken for the EHLO name. */
	const char *slash = strchr(host, '/');
	if (slash != NULL && slash[1] != '\0')
		return FALSE;
	for (const char *c = host; *c != '\0' && *c != '/'; c++)
		if (!g_ascii_isalnum(*c) && strchr(".-:[]", *c) == NULL)
			return FALSE;
	return TRUE;
}

/* Checks that VALUE is a list of at least one address. */
static void check_addresses(const struct key_spec *spec, const char *value, struct problems *p)
{
	g_autofree char *bad = NULL;
	g_auto(GStrv) list = canary_value_split_addresses(value, &bad);
	if (list == NULL)
		key_problem(p, spec, "'%s' is not a mail address", bad);
	else if (list[0] == NULL)
		key_problem(p, spec, "no address");
}

/* Checks the text VALUE per SPEC's type and stores a copy. */
static void set_text(struct canary_config *config, const struct key_spec *spec, const char *value,
		     struct problems *p)
{
	G_STRUCT_MEMBER(char *, config, spec->offset) = g_strdup(value);
	if (spec->type == T_GROUP_NAME && !canary_value_valid_group_name(value))
		key_problem(p, spec, "'%s' is not a group name", value);
	else if (spec->type == T_IMAP_URL && url_has_credentials(value))
		key_problem(p, spec,
			    "the URL holds credentials (not shown); put them in username and "
			    "password_file");
	else if (spec->type == T_IMAP_URL && !g_str_has_prefix(value, "imaps://") &&
		 !g_str_has_prefix(value, "imap://"))
		key_problem(p, spec, "'%s' is not an IMAP URL", value);
	else if (spec->type == T_IMAP_URL && strchr(strstr(value, "://") + 3, '/') == NULL)
		key_problem(p, spec, "'%s' names no mailbox", value);
	else if (spec->type == T_SMTP_URL && url_has_credentials(value))
		key_problem(p, spec,
			    "the URL holds credentials (not shown); put them in username and "
			    "password_file");
	else if (spec->type == T_SMTP_URL && !canary_config_valid_smtp_url(value))
		key_problem(p, spec, "'%s' is not smtps://host[:port] or smtp://host[:port]", value);
	else if (spec->type == T_ADDRESS && !canary_value_valid_address(value))
		key_problem(p, spec, "'%s' is not an address such as reprisals@example.org", value);
	else if (spec->type == T_PIN &&
		 (!g_str_has_prefix(value, "sha256//") || strlen(value) < 20))
		key_problem(p, spec, "'%s' is not a public key pin", value);
	else if (spec->type == T_ADDRESSES)
		check_addresses(spec, value, p);
}

/* Parses VALUE as a number per SPEC's type, checks its bounds and stores it. */
static void set_number(struct canary_config *config, const struct key_spec *spec, const char *value,
		       struct problems *p)
{
	guint64 n = 0;
	if (spec->type == T_SIZE && !canary_value_parse_size(value, &n))
		key_problem(p, spec, "'%s' is not a size", value);
	else if (spec->type == T_DURATION && !canary_value_parse_duration(value, &n))
		key_problem(p, spec, "'%s' is not a duration", value);
	else if (spec->type == T_PERIOD && !canary_value_parse_period(value, &n))
		key_problem(p, spec, "'%s' is not a period", value);
	else if (spec->type == T_KEEP && !canary_config_parse_keep(value, &n))
		key_problem(p, spec, "'%s' is not 0, a duration or forever", value);
	else if ((spec->type == T_UINT || spec->type == T_UINT64) &&
		 !g_ascii_string_to_unsigned(value, 10, 0, G_MAXUINT64, &n, NULL))
		key_problem(p, spec, "'%s' is not a whole number", value);
	else if (n < spec->min || n > spec->max)
		key_problem(p, spec, "'%s' is out of range", value);
	else if (spec->type == T_UINT)
		G_STRUCT_MEMBER(guint, config, spec->offset) = (guint)n; /* max <= G_MAXUINT */
	else
		G_STRUCT_MEMBER(guint64, config, spec->offset) = n;
}

/* Checks VALUE (white space trimmed) for SPEC and stores it in CONFIG. */
static void set_value(struct canary_config *config, const struct key_spec *spec, const char *value,
		      struct problems *p)
{
	enum canary_log_level level;
	if (value[0] == '\0') {
		key_problem(p, spec, "empty value");
		return;
	}
	switch (spec->type) {
	case T_DATABASE:
	case T_FILE:
	case T_SECRET:
		set_path(config, spec, value, p);
		return;
	case T_STRING:
	case T_GROUP_NAME:
	case T_IMAP_URL:
	case T_SMTP_URL:
	case T_ADDRESS:
	case T_PIN:
	case T_ADDRESSES:
		set_text(config, spec, value, p);
		return;
	case T_DIGEST:
		if (strcmp(value, "daily") == 0 || strcmp(value, "pass") == 0)
			G_STRUCT_MEMBER(gboolean, config, spec->offset) = value[0] == 'd';
		else
			key_problem(p, spec, "'%s' is not pass or daily", value);
		return;
	case T_SIZE:
	case T_UINT:
	case T_UINT64:
	case T_DURATION:
	case T_PERIOD:
	case T_KEEP:
		set_number(config, spec, value, p);
		return;
	case T_LEVEL:
		if (canary_log_level_parse(value, &level))
			G_STRUCT_MEMBER(int, config, spec->offset) = (int)level;
		else
			key_problem(p, spec, "'%s' is not a log level", value);
		return;
	case T_BOOL:
		if (strcmp(value, "true") == 0 || strcmp(value, "false") == 0)
			G_STRUCT_MEMBER(gboolean, config, spec->offset) = value[0] == 't';
		else
			key_problem(p, spec, "'%s' is not true or false", value);
		return;
	}
}

/* Applies every table row: the file's value, else the default, else (when
 * required) a problem. Values are taken literally (no GKeyFile escapes). */
static void apply_keys(GKeyFile *kf, struct canary_config *config, struct problems *p)
{
	for (size_t i = 0; i < G_N_ELEMENTS(keys); i++) {
		const struct key_spec *spec = &keys[i];
		g_autofree char *value = g_key_file_get_value(kf, spec->group, spec->key, NULL);
		if (value != NULL) {
			set_value(config, spec, g_strstrip(value), p);
			continue;
		}
		gboolean group_present = g_key_file_has_group(kf, spec->group);
		if (spec->required && (group_present || group_required(spec->group)))
			key_problem(p, spec, "not set");
		else if (spec->default_value != NULL)
			set_value(config, spec, spec->default_value, p);
	}
	if (config->imap.url != NULL && config->imap.password_file == NULL &&
	    config->imap.oauth2_token_file == NULL)
		key_problem(p, find_spec("imap", "password_file"),
			    "neither password_file nor oauth2_token_file is set");
	/* The sweep empties the two folders by their own rules: one folder for
	 * both would let processed_retention remove what quarantine keeps. */
	if (config->imap.url != NULL &&
	    g_strcmp0(config->imap.processed_folder, config->imap.quarantine_folder) == 0)
		add_problem(p,
			    "[imap] quarantine_folder: '%s' is also processed_folder; expected a "
			    "folder of its own",
			    config->imap.quarantine_folder);
	/* Each section has its own key once there are routing rules; before,
	 * every case is sealed to one section key. */
	if (config->routing.rules == NULL && config->keys.default_section_public == NULL)
		key_problem(p, find_spec("keys", "default_section_public"), "not set");
	if (config->routing.rules != NULL && p->lines->len == 0)
		config->rules = canary_routing_load(config->routing.rules,
						    config->routing.default_section, p->lines);
}

/* Returns a new config for PATH with its directory and default limits. */
static struct canary_config *config_new(const char *path)
{
	struct canary_config *config = g_new0(struct canary_config, 1);
	config->path = g_strdup(path);
	g_autofree char *absolute = g_canonicalize_filename(path, NULL);
	config->dir = g_path_get_dirname(absolute);
	canary_limits_init_default(&config->limits);
	return config;
}

/* Takes the keys older versions knew and this one ignores out of KF, so
 * that they are warned about (canary_config_warnings()) instead of refused:
 * canaryd must keep filing after an upgrade. */
static void take_obsolete_keys(GKeyFile *kf, struct canary_config *config)
{
	char *group = g_key_file_get_value(kf, "store", "group", NULL);
	if (group == NULL)
		return;
	config->store.obsolete_group = g_strstrip(group);
	g_key_file_remove_key(kf, "store", "group", NULL);
}

/* Loads DATA; KEY_FILES_UNCHECKED leaves the [keys] files untested. */
static struct canary_config *load_data(const char *path, const char *data, gsize len,
				       gboolean key_files_unchecked, GError **error)
{
	g_return_val_if_fail(data != NULL || len == 0, NULL);
	if (data == NULL)
		data = "";
	g_autoptr(GPtrArray) lines = g_ptr_array_new_with_free_func(g_free);
	struct problems p = {path, lines, key_files_unchecked};
	if (!check_text(data, len, &p))
		return fail(&p, CANARY_CONFIG_ERROR_SYNTAX, error);
	g_autoptr(GKeyFile) kf = g_key_file_new();
	g_autoptr(GError) local = NULL;
	/* Translations ("key[de] = ...") are kept so that they are reported as
	 * unknown keys rather than dropped unseen. */
	if (!g_key_file_load_from_data(kf, data, len, G_KEY_FILE_KEEP_TRANSLATIONS, &local)) {
		find_syntax_errors(data, len, &p);
		if (lines->len == 0)
			add_problem(&p, "%s; expected [group], key = value or # comment lines",
				    local->message);
		return fail(&p, CANARY_CONFIG_ERROR_SYNTAX, error);
	}
	struct canary_config *config = config_new(path);
	take_obsolete_keys(kf, config);
	check_duplicates(data, len, &p);
	check_unknown(kf, &p);
	apply_keys(kf, config, &p);
	if (lines->len > 0) {
		canary_config_free(config);
		return fail(&p, CANARY_CONFIG_ERROR_INVALID, error);
	}
	return config;
}

/* Returns what errno value ERR means for a file, in words. Static string. */
static const char *describe_errno(int err)
{
	switch (err) {
	case ENOENT:
		return "no such file";
	case EACCES:
		return "permission denied";
	default:
		return g_strerror(err);
	}
}

/* Maps the configuration file PATH, refusing anything but a regular file of
 * sane size (a FIFO would block, /dev/zero never end). Returns a new mapping
 * (g_mapped_file_unref) or NULL with ERROR (CANARY_CONFIG_ERROR_IO). */
static GMappedFile *map_config(const char *path, GError **error)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		int err = errno;
		g_set_error(error, CANARY_CONFIG_ERROR, CANARY_CONFIG_ERROR_IO,
			    "%s: cannot read the configuration: %s", path, describe_errno(err));
		return NULL;
	}
	struct stat st;
	const char *wrong = NULL;
	if (fstat(fd, &st) != 0)
		wrong = g_strerror(errno);
	else if (S_ISDIR(st.st_mode))
		wrong = "is a directory; expected the configuration file";
	else if (!S_ISREG(st.st_mode))
		wrong = "not a regular file; expected the configuration file";
	else if (st.st_size > MAX_CONFIG_SIZE)
		wrong = "larger than 1M; expected a configuration file";
	GMappedFile *mapped = NULL;
	g_autoptr(GError) local = NULL;
	if (wrong == NULL && (mapped = g_mapped_file_new_from_fd(fd, FALSE, &local)) == NULL)
		wrong = local->message;
	if (wrong != NULL)
		g_set_error(error, CANARY_CONFIG_ERROR, CANARY_CONFIG_ERROR_IO, "%s: %s", path,
			    wrong);
	close(fd);
	return mapped;
}

struct canary_config *canary_config_load_data(const char *path, const char *data, gsize len,
					      GError **error)
{
	return load_data(path, data, len, FALSE, error);
}

/* Maps PATH and loads it. */
static struct canary_config *load_file(const char *path, gboolean key_files_unchecked,
				       GError **error)
{
	g_autoptr(GMappedFile) mapped = map_config(path, error);
	if (mapped == NULL)
		return NULL;
	return load_data(path, g_mapped_file_get_contents(mapped), g_mapped_file_get_length(mapped),
			 key_files_unchecked, error);
}

struct canary_config *canary_config_load(const char *path, GError **error)
{
	return load_file(path, FALSE, error);
}

struct canary_config *canary_config_load_for_health(const char *path, GError **error)
{
	return load_file(path, TRUE, error);
}

char *canary_config_control_socket(const char *path, GError **error)
{
	g_autoptr(GMappedFile) mapped = map_config(path, error);
	if (mapped == NULL)
		return NULL;
	g_autoptr(GKeyFile) kf = g_key_file_new();
	g_autoptr(GError) local = NULL;
	if (!g_key_file_load_from_data(kf, g_mapped_file_get_contents(mapped),
				       g_mapped_file_get_length(mapped), G_KEY_FILE_NONE, &local)) {
		g_set_error(error, CANARY_CONFIG_ERROR, CANARY_CONFIG_ERROR_SYNTAX, "%s: %s", path,
			    local->message);
		return NULL;
	}
	g_autofree char *value = g_key_file_get_value(kf, "control", "socket", NULL);
	const char *socket =
		value != NULL ? g_strstrip(value) : find_spec("control", "socket")->default_value;
	g_autofree char *dir = g_path_get_dirname(path);
	return canary_value_resolve_file(dir, socket);
}

const char *canary_config_section_key(const struct canary_config *config, const char *section)
{
	if (section == NULL || *section == '\0')
		return NULL;
	if (config->rules != NULL)
		return canary_routing_section_key(config->rules, section);
	return config->keys.default_section_public;
}
