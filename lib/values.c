/* values.c: see values.h. */
#include "values.h"

#include <string.h>

#define KIB ((guint64)1024)

/* Parses a whole decimal number with an optional one-letter unit from UNITS
 * (either case; MULTIPLIERS in the same order). Returns FALSE on anything
 * else, including overflow. */
static gboolean parse_scaled(const char *text, const char *units, const guint64 *multipliers,
			     guint64 *value_r)
{
	if (text == NULL || !g_ascii_isdigit(text[0]))
		return FALSE;
	guint64 n = 0;
	const char *p = text;
	for (; g_ascii_isdigit(*p); p++) {
		guint64 digit = (guint64)(*p - '0');
		if (n > (G_MAXUINT64 - digit) / 10)
			return FALSE;
		n = n * 10 + digit;
	}
	guint64 multiplier = 1;
	if (*p != '\0') {
		const char *unit = strchr(units, g_ascii_toupper(*p));
		if (unit == NULL || p[1] != '\0')
			return FALSE;
		multiplier = multipliers[unit - units];
	}
	if (n > G_MAXUINT64 / multiplier)
		return FALSE;
	*value_r = n * multiplier;
	return TRUE;
}

gboolean canary_value_parse_size(const char *text, guint64 *bytes_r)
{
	static const guint64 m[] = {KIB, KIB * KIB, KIB * KIB * KIB};
	return parse_scaled(text, "KMG", m, bytes_r);
}

gboolean canary_value_parse_duration(const char *text, guint64 *seconds_r)
{
	static const guint64 m[] = {1, 60, 3600, 86400};
	return parse_scaled(text, "SMHD", m, seconds_r);
}

gboolean canary_value_parse_period(const char *text, guint64 *seconds_r)
{
	static const guint64 m[] = {86400, 7 * 86400, 365 * 86400};
	guint64 seconds = 0;
	gsize len = text != NULL ? strlen(text) : 0;
	if (g_strcmp0(text, "forever") == 0) {
		*seconds_r = 0;
		return TRUE;
	}
	/* The unit is required: parse_scaled() alone would take "365" as seconds. */
	if (len == 0 || !g_ascii_isalpha(text[len - 1]) ||
	    !parse_scaled(text, "DWY", m, &seconds) || seconds < m[0] || seconds > 100 * m[2])
		return FALSE;
	*seconds_r = seconds;
	return TRUE;
}

gboolean canary_value_valid_group_name(const char *name)
{
	gsize len = name != NULL ? strlen(name) : 0;
	if (len == 0 || len > 32 || !(g_ascii_isalnum(name[0]) || name[0] == '_'))
		return FALSE;
	for (gsize i = 1; i < len; i++)
		if (!g_ascii_isalnum(name[i]) && strchr("_-.", name[i]) == NULL)
			return FALSE;
	return TRUE;
}

gboolean canary_value_valid_address(const char *address)
{
	size_t len = strlen(address);
	const char *at = strchr(address, '@');
	if (len == 0 || len > 254 || at == NULL || at == address || strchr(at + 1, '@') != NULL)
		return FALSE;
	if (at - address > 64 || strchr(at + 1, '.') == NULL)
		return FALSE;
	for (const char *c = address; *c != '\0'; c++) {
		if ((unsigned char)*c <= ' ' || (unsigned char)*c >= 0x7f || strchr("<>()[]\\,;:\"", *c))
			return FALSE;
	}
	const char *domain = at + 1;
	return domain[0] != '.' && domain[0] != '-' && !g_str_has_suffix(domain, ".") &&
	       strstr(domain, "..") == NULL;
}

char **canary_value_split_addresses(const char *text, char **bad_r)
{
	g_auto(GStrv) parts = g_strsplit_set(text, ",;", -1);
	g_autoptr(GPtrArray) list = g_ptr_array_new_with_free_func(g_free);
	for (gsize i = 0; parts[i] != NULL; i++) {
		const char *address = g_strstrip(parts[i]);
		if (address[0] == '\0')
			continue;
		if (!canary_value_valid_address(address)) {
			*bad_r = g_strdup(address);
			return NULL;
		}
		g_ptr_array_add(list, g_ascii_strdown(address, -1));
	}
	g_ptr_array_add(list, NULL);
	return (char **)g_ptr_array_free(g_steal_pointer(&list), FALSE);
}

char *canary_value_resolve_file(const char *dir, const char *path)
{
	/* Absolute PATHs ignore DIR; relative ones are joined to it, itself
	 * taken from the working directory when relative (a config file named
	 * "-c canary.conf"). All come back without "." and ".." components. */
	g_autofree char *base = g_canonicalize_filename(dir, NULL);
	return g_canonicalize_filename(path, base);
}
