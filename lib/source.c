/* source.c: message sources for canary import: single files, mbox files
 * (RFC 4155; mboxrd ">From " quoting undone) and Maildir folders. Files are
 * mapped, not copied; an mbox message is a slice of its mapping unless it
 * needs unquoting. */
#include "source.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

G_DEFINE_QUARK(canary - source - error - quark, canary_source_error)

/* TRUE if the LEN bytes at P start with an mbox "From " separator line. */
static gboolean is_from_line(const char *p, gsize len)
{
	return len >= 5 && memcmp(p, "From ", 5) == 0;
}

/* TRUE if LINE (LEN bytes, without newline) is ">From ", ">>From ", ... */
static gboolean is_quoted_from(const char *line, gsize len)
{
	gsize i = 0;
	while (i < len && line[i] == '>')
		i++;
	return i > 0 && is_from_line(line + i, len - i);
}

/* Returns MSG (LEN bytes of MBOX's mapping) as GBytes, with one level of
 * ">From " quoting removed from every quoted line (mboxrd). Copies only
 * when a quoted line exists. */
static GBytes *unquote(GBytes *mbox, const char *msg, gsize len)
{
	const char *base = g_bytes_get_data(mbox, NULL);
	gboolean quoted = FALSE;
	for (const char *line = msg; line < msg + len && !quoted;) {
		const char *nl = memchr(line, '\n', (gsize)(msg + len - line));
		gsize line_len = nl != NULL ? (gsize)(nl - line) : (gsize)(msg + len - line);
		quoted = is_quoted_from(line, line_len);
		line = nl != NULL ? nl + 1 : msg + len;
	}
	if (!quoted)
		return g_bytes_new_from_bytes(mbox, (gsize)(msg - base), len);
	GByteArray *out = g_byte_array_sized_new((guint)len);
	for (const char *line = msg; line < msg + len;) {
		const char *nl = memchr(line, '\n', (gsize)(msg + len - line));
		const char *end = nl != NULL ? nl + 1 : msg + len;
		gsize line_len = nl != NULL ? (gsize)(nl - line) : (gsize)(msg + len - line);
		gsize skip = is_quoted_from(line, line_len) ? 1 : 0;
		g_byte_array_append(out, (const guint8 *)line + skip, (guint)(end - line - skip));
		line = end;
	}
	return g_byte_array_free_to_bytes(out);
}

gboolean canary_source_split_mbox(GBytes *mbox, const char *origin, gint64 mtime,
				  canary_source_func func, gpointer user_data, GError **error)
{
	gsize size = 0;
	const char *data = g_bytes_get_data(mbox, &size);
	const char *end = data + size;
	/* A separator is a "From " line at the start of the file or after an
	 * empty line: a body line "From here on..." after text is not one. */
	const char *p = data;
	guint index = 0;
	while (p < end && is_from_line(p, (gsize)(end - p))) {
		const char *nl = memchr(p, '\n', (gsize)(end - p));
		if (nl == NULL)
			break; /* a separator with no message after it */
		const char *start = nl + 1;
		const char *next = start;
		const char *stop = end;
		while (next < end) {
			const char *line_end = memchr(next, '\n', (gsize)(end - next));
			if (line_end == NULL)
				break;
			const char *after = line_end + 1;
			gboolean blank =
				(after - next == 1) || (after - next == 2 && next[0] == '\r');
			if (blank && after < end && is_from_line(after, (gsize)(end - after))) {
				stop = next; /* the blank line belongs to the separator */
				next = after;
				break;
			}
			next = after;
		}
		if (stop == end)
			next = end;
		if (stop > start) {
			g_autoptr(GBytes) raw = unquote(mbox, start, (gsize)(stop - start));
			struct canary_source_message m = {raw, origin, index, mtime};
			if (!func(&m, user_data, error))
				return FALSE;
		}
		index++;
		p = next;
	}
	return TRUE;
}

/* Hands the file at PATH to FUNC: one message, or every message of an mbox. */
static gboolean walk_file(const char *path, gint64 mtime, canary_source_func func,
			  gpointer user_data, GError **error)
{
	g_autoptr(GError) local = NULL;
	GMappedFile *mapped = g_mapped_file_new(path, FALSE, &local);
	if (mapped == NULL) {
		g_set_error(error, CANARY_SOURCE_ERROR, CANARY_SOURCE_ERROR_IO, "%s: %s", path,
			    local->message);
		return FALSE;
	}
	g_autoptr(GBytes) bytes = g_mapped_file_get_bytes(mapped);
	g_mapped_file_unref(mapped);
	gsize size = g_bytes_get_size(bytes);
	if (size == 0)
		return TRUE;
	if (is_from_line(g_bytes_get_data(bytes, NULL), size))
		return canary_source_split_mbox(bytes, path, mtime, func, user_data, error);
	struct canary_source_message m = {bytes, path, 0, mtime};
	return func(&m, user_data, error);
}

static gboolean walk_path(const char *path, gboolean top, canary_source_func func,
			  gpointer user_data, GError **error);

/* Walks the entries of directory PATH in name order, skipping hidden ones. */
static gboolean walk_entries(const char *path, canary_source_func func, gpointer user_data,
			     GError **error)
{
	g_autoptr(GError) local = NULL;
	g_autoptr(GDir) dir = g_dir_open(path, 0, &local);
	if (dir == NULL) {
		g_set_error(error, CANARY_SOURCE_ERROR, CANARY_SOURCE_ERROR_IO, "%s: %s", path,
			    local->message);
		return FALSE;
	}
	g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
	for (const char *name; (name = g_dir_read_name(dir)) != NULL;) {
		if (name[0] != '.')
			g_ptr_array_add(names, g_strdup(name));
	}
	g_ptr_array_sort(names, (GCompareFunc)g_strcmp0);
	for (guint i = 0; i < names->len; i++) {
		const char *name = g_ptr_array_index(names, i);
		g_autofree char *child = g_build_filename(path, name, NULL);
		if (!walk_path(child, FALSE, func, user_data, error))
			return FALSE;
	}
	return TRUE;
}

/* TRUE if PATH looks like a Maildir (has cur/ or new/). */
static gboolean is_maildir(const char *path)
{
	g_autofree char *cur = g_build_filename(path, "cur", NULL);
	g_autofree char *new_dir = g_build_filename(path, "new", NULL);
	return g_file_test(cur, G_FILE_TEST_IS_DIR) || g_file_test(new_dir, G_FILE_TEST_IS_DIR);
}

/* Walks a Maildir: new/ then cur/; tmp/ holds unfinished deliveries. */
static gboolean walk_maildir(const char *path, canary_source_func func, gpointer user_data,
			     GError **error)
{
	static const char *const subdirs[] = {"new", "cur"};
	for (size_t i = 0; i < G_N_ELEMENTS(subdirs); i++) {
		g_autofree char *sub = g_build_filename(path, subdirs[i], NULL);
		if (g_file_test(sub, G_FILE_TEST_IS_DIR) &&
		    !walk_entries(sub, func, user_data, error))
			return FALSE;
	}
	return TRUE;
}

/* Walks PATH. Symbolic links to directories are followed only when named
 * on the command line (TOP), so a link loop cannot trap the walk. */
static gboolean walk_path(const char *path, gboolean top, canary_source_func func,
			  gpointer user_data, GError **error)
{
	struct stat st, lst;
	if (stat(path, &st) != 0 || lstat(path, &lst) != 0) {
		g_set_error(error, CANARY_SOURCE_ERROR, CANARY_SOURCE_ERROR_IO, "%s: %s", path,
			    g_strerror(errno));
		return FALSE;
	}
	if (S_ISDIR(st.st_mode)) {
		if (!top && S_ISLNK(lst.st_mode))
			return TRUE;
		return is_maildir(path) ? walk_maildir(path, func, user_data, error)
					: walk_entries(path, func, user_data, error);
	}
	if (!S_ISREG(st.st_mode)) {
		g_set_error(error, CANARY_SOURCE_ERROR, CANARY_SOURCE_ERROR_UNKNOWN,
			    "%s: neither a file nor a folder; expected .eml, mbox or Maildir",
			    path);
		return FALSE;
	}
	return walk_file(path, (gint64)st.st_mtime, func, user_data, error);
}

gboolean canary_source_walk(const char *path, canary_source_func func, gpointer user_data,
			    GError **error)
{
	return walk_path(path, TRUE, func, user_data, error);
}
