/* values.h: the value syntaxes canary.conf and routing.conf share: sizes,
 * durations, retention periods, group names, mail addresses and files
 * named relative to a configuration file. Pure functions of their text, so
 * that config.c and route.c both use them without using each other. */
#ifndef CANARY_VALUES_H
#define CANARY_VALUES_H

#include <glib.h>

/* Parses a size: a whole number of bytes with an optional suffix K, M, G
 * (powers of 1024; "50M", "1G", "4096"). FALSE on anything else. */
gboolean canary_value_parse_size(const char *text, guint64 *bytes_r);

/* Parses a duration: a whole number of seconds with an optional suffix s,
 * m, h, d ("60s", "5m", "365d", "90"). FALSE on anything else. */
gboolean canary_value_parse_duration(const char *text, guint64 *seconds_r);

/* Parses a retention period: a whole number of days, weeks or years (of
 * 365 days) with its unit ("365d", "12w", "2y", at least 1d, at most 100y),
 * or "forever" (*SECONDS_R 0). A bare number is refused: "365" must not
 * mean seconds here. FALSE on anything else. */
gboolean canary_value_parse_period(const char *text, guint64 *seconds_r);

/* TRUE if NAME can name a Unix group: 1 to 32 letters, digits, "_", "-" or
 * ".", not starting with "-" or ".". */
gboolean canary_value_valid_group_name(const char *name);

/* Resolves PATH against DIR unless it is absolute (DIR against the working
 * directory unless it is). Returns a new string. */
char *canary_value_resolve_file(const char *dir, const char *path);

/* TRUE if ADDRESS is one plain mail address, "local@domain" (no display
 * name, no <>, no white space, a domain with a dot, at most 254 bytes). */
gboolean canary_value_valid_address(const char *address);

/* Splits an address list as [notify] and routing.conf's notify take it
 * (addresses separated by "," or ";", white space around them ignored).
 * Returns a new NULL-terminated vector (empty entries dropped); when an
 * entry is not an address, returns NULL and the first bad entry in
 * *BAD_R (new string). */
char **canary_value_split_addresses(const char *text, char **bad_r);

#endif
