/* config.h: loads and validates canary.conf (GKeyFile) into struct canary_config.
 * Every problem names the file, group and key and says what was expected. */
#ifndef CANARY_CONFIG_H
#define CANARY_CONFIG_H

#include <glib.h>

#include "mail.h"

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
		char *database; /* absolute path */
		char *group;    /* NULL: private to the owner (0600/0700) */
	} store;

	struct canary_limits limits;

	struct {
		int level; /* enum canary_log_level */
	} logging;
};

/* Where to read the config: EXPLICIT if not NULL, else $CANARY_CONFIG, else
 * CANARY_CONFIG_DEFAULT_PATH. Returns a string owned by the caller (g_free). */
char *canary_config_resolve_path(const char *explicit_path);

/* Loads and validates PATH. Returns a new config (free with
 * canary_config_free()) or NULL and sets ERROR. When keys are wrong, ERROR is
 * CANARY_CONFIG_ERROR_INVALID and its message lists every problem, one per
 * line, each as "FILE: [group] key: what is wrong; expected ...". */
struct canary_config *canary_config_load(const char *path, GError **error);

void canary_config_free(struct canary_config *config);
typedef struct canary_config canary_config;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(canary_config, canary_config_free)

/* Parses a size: a whole number of bytes with an optional suffix K, M, G
 * (powers of 1024; "50M", "1G", "4096"). FALSE on anything else. */
gboolean canary_config_parse_size(const char *text, guint64 *bytes_r);

/* Resolves PATH against DIR unless it is absolute. Returns a new string. */
char *canary_config_resolve_file(const char *dir, const char *path);

#endif
