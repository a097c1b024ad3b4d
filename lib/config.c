/* config.c: canary.conf (GKeyFile). Every key the program accepts is one
 * row of the table below: its group, type, default, bounds and where it
 * lands in struct canary_config. Loading checks every row and collects
 * every problem, so an admin sees them all at once. */
#include "config.h"

#include <grp.h>
#include <unistd.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include "log.h"

G_DEFINE_QUARK(canary - config - error - quark, canary_config_error)

enum key_type {
	T_DATABASE, /* a path whose directory may not exist yet */
	T_FILE,     /* a path to a file that must exist and be readable */
	T_STRING,
	T_GROUP_NAME, /* an existing Unix group */
	T_IMAP_URL,
	T_PIN,
	T_SIZE,
	T_UINT,
	T_DURATION,
	T_LEVEL,
	T_BOOL,
};

struct key_spec {
	const char *group, *key;
	enum key_type type;
	const char *default_value; /* NULL: unset unless given */
	guint64 min, max;          /* for sizes, numbers and durations */
	gboolean required;         /* within its group (see group_required) */
	size_t offset;             /* into struct canary_config */
	const char *expected;
};

#define AT(field) offsetof(struct canary_config, field)
#define NO_BOUNDS 0, G_MAXUINT64

static const struct key_spec keys[] = {
	{"store", "database", T_DATABASE, "/var/lib/canary/canary.db", NO_BOUNDS, FALSE,
	 AT(store.database), "a path for the case database"},
	{"store", "group", T_GROUP_NAME, NULL, NO_BOUNDS, FALSE, AT(store.group),
	 "the name of an existing Unix group"},
	{"limits", "max_message_size", T_SIZE, "50M", 1024, G_MAXUINT32, FALSE,
	 AT(limits.max_message_size), "a size such as 50M (1K to 4G)"},
	{"limits", "max_mime_depth", T_UINT, "32", 1, 1024, FALSE, AT(limits.max_mime_depth),
	 "a whole number from 1 to 1024"},
	{"limits", "max_parts", T_UINT, "1000", 1, 100000, FALSE, AT(limits.max_parts),
	 "a whole number from 1 to 100000"},
	{"limits", "max_header_length", T_SIZE, "64K", 1024, G_MAXUINT32, FALSE,
	 AT(limits.max_header_length), "a size such as 64K (at least 1K)"},
	{"logging", "level", T_LEVEL, "info", NO_BOUNDS, FALSE, AT(logging.level),
	 "one of error, warning, notice, info, debug"},
	{"keys", "custodian_public", T_FILE, NULL, NO_BOUNDS, TRUE, AT(keys.custodian_public),
	 "the path of the custodian's public key (.pub, from canary keygen)"},
	{"keys", "default_section_public", T_FILE, NULL, NO_BOUNDS, TRUE,
	 AT(keys.default_section_public),
	 "the path of the receiving section's public key (.pub, from canary keygen)"},
	{"keys", "triage_public", T_FILE, NULL, NO_BOUNDS, FALSE, AT(keys.triage_public),
	 "the path of the triage officers' public key (.pub, from canary keygen)"},
	{"keys", "pseudonym_key", T_FILE, NULL, NO_BOUNDS, TRUE, AT(keys.pseudonym_key),
	 "the path of the pseudonym key (canary keygen --pseudonym-key)"},
	{"imap", "url", T_IMAP_URL, NULL, NO_BOUNDS, TRUE, AT(imap.url),
	 "imaps://host[:port]/MAILBOX or imap://host[:port]/MAILBOX (STARTTLS)"},
	{"imap", "username", T_STRING, NULL, NO_BOUNDS, TRUE, AT(imap.username), "the login name"},
	{"imap", "password_file", T_FILE, NULL, NO_BOUNDS, FALSE, AT(imap.password_file),
	 "a file whose first line is the password"},
	{"imap", "oauth2_token_file", T_FILE, NULL, NO_BOUNDS, FALSE, AT(imap.oauth2_token_file),
	 "a file holding an OAuth 2.0 bearer token"},
	{"imap", "ca_file", T_FILE, NULL, NO_BOUNDS, FALSE, AT(imap.ca_file),
	 "a PEM file of trusted certificate authorities"},
	{"imap", "pinned_public_key", T_PIN, NULL, NO_BOUNDS, FALSE, AT(imap.pinned_public_key),
	 "sha256//BASE64 of the server's public key"},
	{"imap", "processed_folder", T_STRING, "Processed", NO_BOUNDS, FALSE,
	 AT(imap.processed_folder), "a folder name"},
	{"imap", "quarantine_folder", T_STRING, "Quarantine", NO_BOUNDS, FALSE,
	 AT(imap.quarantine_folder), "a folder name"},
	{"imap", "poll_interval", T_DURATION, "60s", 1, 86400, FALSE, AT(imap.poll_interval),
	 "a duration such as 60s or 5m (1s to 1d)"},
	{"imap", "batch_size", T_UINT, "100", 1, 10000, FALSE, AT(imap.batch_size),
	 "a whole number from 1 to 10000"},
	{"imap", "connect_timeout", T_DURATION, "30s", 1, 3600, FALSE, AT(imap.connect_timeout),
	 "a duration such as 30s (1s to 1h)"},
	{"imap", "io_timeout", T_DURATION, "120s", 1, 3600, FALSE, AT(imap.io_timeout),
	 "a duration such as 120s (1s to 1h)"},
	{"imap", "trace", T_BOOL, "false", NO_BOUNDS, FALSE, AT(imap.trace), "true or false"},
};

/* Groups that must be present: [keys] always; [imap] is optional, but once
 * present its required keys are required. */
static gboolean group_required(const char *group)
{
	return strcmp(group, "keys") == 0;
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

/* Parses a whole decimal number with an optional one-letter unit from
 * UNITS (each with its multiplier). */
static gboolean parse_scaled(const char *text, const char *units, const guint64 *multipliers,
			     guint64 *value_r)
{
	if (text == NULL || !g_ascii_isdigit(text[0]))
		return FALSE;
	guint64 n = 0;
	const char *p = text;
	for (; g_ascii_isdigit(*p); p++) {
		if (n > (G_MAXUINT64 - 9) / 10)
			return FALSE;
		n = n * 10 + (guint64)(*p - '0');
	}
	guint64 multiplier = 1;
	if (*p != '\0') {
		const char *unit = strchr(units, g_ascii_toupper(*p));
		if (unit == NULL || p[1] != '\0')
			return FALSE;
		multiplier = multipliers[unit - units];
	}
	if (multiplier > 1 && n > G_MAXUINT64 / multiplier)
		return FALSE;
	*value_r = n * multiplier;
	return TRUE;
}

gboolean canary_config_parse_size(const char *text, guint64 *bytes_r)
{
	static const guint64 m[] = {1024, 1024 * 1024, 1024 * 1024 * 1024};
	return parse_scaled(text, "KMG", m, bytes_r);
}

gboolean canary_config_parse_duration(const char *text, guint64 *seconds_r)
{
	static const guint64 m[] = {1, 60, 3600, 86400};
	return parse_scaled(text, "SMHD", m, seconds_r);
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

char *canary_config_resolve_file(const char *dir, const char *path)
{
	return g_canonicalize_filename(path, dir);
}

void canary_config_free(struct canary_config *config)
{
	if (config == NULL)
		return;
	g_free(config->path);
	g_free(config->dir);
	for (size_t i = 0; i < G_N_ELEMENTS(keys); i++) {
		switch (keys[i].type) {
		case T_DATABASE:
		case T_FILE:
		case T_STRING:
		case T_GROUP_NAME:
		case T_IMAP_URL:
		case T_PIN:
			g_free(G_STRUCT_MEMBER(char *, config, keys[i].offset));
			break;
		default:
			break;
		}
	}
	g_free(config);
}

/* Collects problems as "PATH: [group] key: what; expected ...". */
struct problems {
	const char *path;
	GPtrArray *lines;
};

static void problem(struct problems *p, const struct key_spec *spec, const char *format, ...)
	G_GNUC_PRINTF(3, 4);

/* Records one problem with SPEC's key (or with the file when SPEC is NULL). */
static void problem(struct problems *p, const struct key_spec *spec, const char *format, ...)
{
	va_list args;
	va_start(args, format);
	g_autofree char *what = g_strdup_vprintf(format, args);
	va_end(args);
	if (spec == NULL)
		g_ptr_array_add(p->lines, g_strdup_printf("%s: %s", p->path, what));
	else
		g_ptr_array_add(p->lines,
				g_strdup_printf("%s: [%s] %s: %s; expected %s", p->path,
						spec->group, spec->key, what, spec->expected));
}

/* Returns the spec of GROUP/KEY, or NULL. */
static const struct key_spec *find_spec(const char *group, const char *key)
{
	for (size_t i = 0; i < G_N_ELEMENTS(keys); i++) {
		if (strcmp(keys[i].group, group) == 0 &&
		    (key == NULL || strcmp(keys[i].key, key) == 0))
			return &keys[i];
	}
	return NULL;
}

/* Reports groups and keys the table does not know. */
static void check_unknown(GKeyFile *kf, struct problems *p)
{
	g_auto(GStrv) groups = g_key_file_get_groups(kf, NULL);
	for (size_t g = 0; groups[g] != NULL; g++) {
		if (find_spec(groups[g], NULL) == NULL) {
			problem(p, NULL,
				"[%s]: unknown group; expected store, limits, logging, keys or "
				"imap",
				groups[g]);
			continue;
		}
		g_auto(GStrv) names = g_key_file_get_keys(kf, groups[g], NULL, NULL);
		for (size_t k = 0; names != NULL && names[k] != NULL; k++) {
			if (find_spec(groups[g], names[k]) == NULL)
				problem(p, NULL, "[%s] %s: unknown key (see canary.conf(5))",
					groups[g], names[k]);
		}
	}
}

/* Reports a key or group given twice: GKeyFile would silently keep the last. */
static void check_duplicates(const char *data, gsize len, struct problems *p)
{
	g_autoptr(GHashTable) seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	g_autofree char *text = g_strndup(data, len);
	g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
	g_autofree char *group = NULL;
	for (size_t i = 0; lines[i] != NULL; i++) {
		char *line = g_strstrip(lines[i]);
		if (line[0] == '#' || line[0] == '\0')
			continue;
		g_autofree char *id = NULL;
		if (line[0] == '[') {
			char *end = strchr(line, ']');
			if (end == NULL)
				continue;
			g_free(group);
			group = g_strndup(line + 1, (gsize)(end - line - 1));
			id = g_strdup_printf("[%s]", group);
		} else {
			char *eq = strchr(line, '=');
			if (eq == NULL || group == NULL)
				continue;
			g_autofree char *key = g_strstrip(g_strndup(line, (gsize)(eq - line)));
			id = g_strdup_printf("[%s] %s", group, key);
		}
		if (!g_hash_table_add(seen, g_steal_pointer(&id)))
			problem(p, NULL, "line %zu: %s%s given twice; give it once", i + 1,
				line[0] == '[' ? "group " : "", line[0] == '[' ? line : "key");
	}
}

/* Stores a path resolved against the config's directory, checking it per TYPE. */
static void set_path(struct canary_config *config, const struct key_spec *spec, const char *value,
		     struct problems *p)
{
	if (value[0] == '\0') {
		problem(p, spec, "empty");
		return;
	}
	char *path = canary_config_resolve_file(config->dir, value);
	G_STRUCT_MEMBER(char *, config, spec->offset) = path;
	if (spec->type == T_FILE && !g_file_test(path, G_FILE_TEST_IS_REGULAR))
		problem(p, spec, "%s: no such file", path);
	else if (spec->type == T_FILE && access(path, R_OK) != 0)
		problem(p, spec, "%s: cannot be read", path);
	else if (spec->type == T_DATABASE && g_file_test(path, G_FILE_TEST_IS_DIR))
		problem(p, spec, "%s is a directory", path);
}

/* Checks VALUE for SPEC and stores it in CONFIG. */
static void set_value(struct canary_config *config, const struct key_spec *spec, const char *value,
		      struct problems *p)
{
	guint64 n = 0;
	switch (spec->type) {
	case T_DATABASE:
	case T_FILE:
		set_path(config, spec, value, p);
		return;
	case T_GROUP_NAME:
		if (getgrnam(value) == NULL)
			problem(p, spec, "no such group '%s'", value);
		G_STRUCT_MEMBER(char *, config, spec->offset) = g_strdup(value);
		return;
	case T_IMAP_URL:
		if (!g_str_has_prefix(value, "imaps://") && !g_str_has_prefix(value, "imap://"))
			problem(p, spec, "'%s' is not an IMAP URL", value);
		else if (strchr(strstr(value, "://") + 3, '/') == NULL)
			problem(p, spec, "'%s' names no mailbox", value);
		G_STRUCT_MEMBER(char *, config, spec->offset) = g_strdup(value);
		return;
	case T_PIN:
		if (!g_str_has_prefix(value, "sha256//") || strlen(value) < 20)
			problem(p, spec, "'%s' is not a public key pin", value);
		G_STRUCT_MEMBER(char *, config, spec->offset) = g_strdup(value);
		return;
	case T_STRING:
		if (value[0] == '\0')
			problem(p, spec, "empty");
		G_STRUCT_MEMBER(char *, config, spec->offset) = g_strdup(value);
		return;
	case T_LEVEL: {
		enum canary_log_level level;
		if (!canary_log_level_parse(value, &level))
			problem(p, spec, "'%s' is not a log level", value);
		else
			G_STRUCT_MEMBER(int, config, spec->offset) = (int)level;
		return;
	}
	case T_BOOL:
		if (strcmp(value, "true") == 0)
			G_STRUCT_MEMBER(gboolean, config, spec->offset) = TRUE;
		else if (strcmp(value, "false") == 0)
			G_STRUCT_MEMBER(gboolean, config, spec->offset) = FALSE;
		else
			problem(p, spec, "'%s' is not true or false", value);
		return;
	case T_SIZE:
	case T_UINT:
	case T_DURATION: {
		gboolean ok =
			spec->type == T_SIZE ? canary_config_parse_size(value, &n)
			: spec->type == T_DURATION
				? canary_config_parse_duration(value, &n)
				: g_ascii_string_to_unsigned(value, 10, 0, G_MAXUINT64, &n, NULL);
		if (!ok) {
			problem(p, spec, "cannot read '%s'", value);
			return;
		}
		if (n < spec->min || n > spec->max) {
			problem(p, spec, "'%s' is out of range", value);
			return;
		}
		/* Limits of the mail parser are guint; the rest guint64. */
		if (spec->offset == AT(limits.max_mime_depth) ||
		    spec->offset == AT(limits.max_parts))
			G_STRUCT_MEMBER(guint, config, spec->offset) = (guint)n;
		else
			G_STRUCT_MEMBER(guint64, config, spec->offset) = n;
		return;
	}
	}
}

/* Applies every table row: the file's value, else the default, else
 * (when required) a problem. */
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
			problem(p, spec, "not set");
		else if (spec->default_value != NULL)
			set_value(config, spec, spec->default_value, p);
	}
	if (config->imap.url != NULL && config->imap.password_file == NULL &&
	    config->imap.oauth2_token_file == NULL)
		problem(p, find_spec("imap", "password_file"),
			"neither password_file nor oauth2_token_file is set");
}

struct canary_config *canary_config_load_data(const char *path, const char *data, gsize len,
					      GError **error)
{
	g_autoptr(GKeyFile) kf = g_key_file_new();
	g_autoptr(GError) local = NULL;
	if (memchr(data, '\0', len) != NULL || !g_utf8_validate(data, (gssize)len, NULL)) {
		g_set_error(error, CANARY_CONFIG_ERROR, CANARY_CONFIG_ERROR_SYNTAX,
			    "%s: not a text file in UTF-8", path);
		return NULL;
	}
	if (!g_key_file_load_from_data(kf, data, len, G_KEY_FILE_NONE, &local)) {
		g_set_error(error, CANARY_CONFIG_ERROR, CANARY_CONFIG_ERROR_SYNTAX,
			    "%s: %s; expected [group] lines and key = value lines", path,
			    local->message);
		return NULL;
	}
	struct canary_config *config = g_new0(struct canary_config, 1);
	config->path = g_strdup(path);
	g_autofree char *absolute = g_canonicalize_filename(path, NULL);
	config->dir = g_path_get_dirname(absolute);
	canary_limits_init_default(&config->limits);

	struct problems p = {path, g_ptr_array_new_with_free_func(g_free)};
	check_duplicates(data, len, &p);
	check_unknown(kf, &p);
	apply_keys(kf, config, &p);
	if (p.lines->len > 0) {
		g_ptr_array_add(p.lines, NULL);
		g_autofree char *all = g_strjoinv("\n", (char **)p.lines->pdata);
		g_set_error_literal(error, CANARY_CONFIG_ERROR, CANARY_CONFIG_ERROR_INVALID, all);
		g_ptr_array_unref(p.lines);
		canary_config_free(config);
		return NULL;
	}
	g_ptr_array_unref(p.lines);
	return config;
}

struct canary_config *canary_config_load(const char *path, GError **error)
{
	if (g_file_test(path, G_FILE_TEST_IS_DIR)) {
		g_set_error(error, CANARY_CONFIG_ERROR, CANARY_CONFIG_ERROR_IO,
			    "%s: is a directory; expected the configuration file", path);
		return NULL;
	}
	g_autofree char *data = NULL;
	gsize len = 0;
	g_autoptr(GError) local = NULL;
	if (!g_file_get_contents(path, &data, &len, &local)) {
		const char *why = local->code == G_FILE_ERROR_NOENT   ? "no such file"
				  : local->code == G_FILE_ERROR_ACCES ? "permission denied"
								      : local->message;
		g_set_error(error, CANARY_CONFIG_ERROR, CANARY_CONFIG_ERROR_IO,
			    "%s: cannot read the configuration: %s", path, why);
		return NULL;
	}
	return canary_config_load_data(path, data, len, error);
}
