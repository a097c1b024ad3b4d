/* source.c: message sources for canary import: single files, mbox files
 * (RFC 4155; mboxrd ">From " quoting undone) and Maildir folders. Files are
 * mapped, not copied; an mbox message is a slice of its mapping unless it
 * needs unquoting.
 *
 * mbox separators: a line starting "From " is a separator only at the start
 * of the file or right after an empty line. That is how writers lay mboxes
 * out (a blank line before every "From " line but the first) and what
 * RFC 4155 readers that do not parse the date accept; writers quote body
 * lines starting "From " (">From "), so a body line "From ..." that follows
 * a non-empty line is text, not a new message. The empty line before a
 * separator (and one at the very end of the file) belongs to the mbox, not
 * to the message, and is dropped. Every line matching ^>+From  loses one
 * '>' (mboxrd); in an mboxo file a body line that really began ">From "
 * is therefore changed, which mboxo cannot avoid. */
#include "source.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The quark's name is the macro argument as written: keep it unspaced. */
/* clang-format off */
/* The quark name is stringified as written: keep clang-format off it. */
// clang-format off
G_DEFINE_QUARK(canary-source-error-quark, canary_source_error)
// clang-format on

/* Returns TRUE if the LEN bytes at P start with an mbox "From " line. */
static gboolean is_from_line(const char *p, gsize len)
{
	return len >= 5 && memcmp(p, "From ", 5) == 0;
}

/* Returns TRUE if LINE (LEN bytes) starts ">From ", ">>From ", ... */
static gboolean is_quoted_from(const char *line, gsize len)
{
	gsize i = 0;
	while (i < len && line[i] == '>')
		i++;
	return i > 0 && is_from_line(line + i, len - i);
}

/* Returns the end of the line starting at P (after its '\n'), or END. */
static const char *line_end(const char *p, const char *end)
{
	const char *nl = memchr(p, '\n', (gsize)(end - p));
	return nl != NULL ? nl + 1 : end;
}

/* Returns TRUE if the line from P to NEXT (its end) is empty: "\n" or "\r\n". */
static gboolean is_blank_line(const char *p, const char *next)
{
	return (next - p == 1 && p[0] == '\n') || (next - p == 2 && p[0] == '\r' && p[1] == '\n');
}

/* Returns TRUE if the message text MSG (LEN bytes) has a line ">From ". */
static gboolean needs_unquoting(const char *msg, gsize len)
{
	for (const char *line = msg, *end = msg + len; line < end; line = line_end(line, end)) {
		if (line[0] == '>' && is_quoted_from(line, (gsize)(end - line)))
			return TRUE;
	}
	return FALSE;
}

/* Returns MSG (LEN bytes inside MBOX) as new GBytes with one '>' removed
 * from every ">From " line (mboxrd). A slice of MBOX when nothing is quoted,
 * else a copy of this one message. */
static GBytes *unquote(GBytes *mbox, const char *msg, gsize len)
{
	const char *base = g_bytes_get_data(mbox, NULL);
	if (!needs_unquoting(msg, len))
		return g_bytes_new_from_bytes(mbox, (gsize)(msg - base), len);
	char *out = g_malloc(len);
	gsize used = 0;
	for (const char *line = msg, *end = msg + len; line < end;) {
		const char *next = line_end(line, end);
		gsize skip = is_quoted_from(line, (gsize)(end - line)) ? 1 : 0;
		memcpy(out + used, line + skip, (gsize)(next - line) - skip);
		used += (gsize)(next - line) - skip;
		line = next;
	}
	return g_bytes_new_take(out, used);
}

/* Returns the start of the next separator line in P..END (a "From " line
 * after an empty line), or END if there is none. P starts a line. */
static const char *find_separator(const char *p, const char *end)
{
	gboolean after_blank = FALSE;
	while (p < end) {
		if (after_blank && is_from_line(p, (gsize)(end - p)))
			return p;
		const char *next = line_end(p, end);
		after_blank = is_blank_line(p, next);
		p = next;
	}
	return end;
}

/* Returns LEN less the final empty line of MSG, if it ends with one (the
 * line an mbox puts before the next "From " line and at its end). */
static gsize strip_final_blank(const char *msg, gsize len)
{
	if (len == 0 || msg[len - 1] != '\n')
		return len;
	gsize eol = len >= 2 && msg[len - 2] == '\r' ? 2 : 1;
	if (len == eol || msg[len - eol - 1] == '\n')
		return len - eol;
	return len;
}

gboolean canary_source_split_mbox(GBytes *mbox, const char *origin, gint64 mtime,
				  canary_source_func func, gpointer user_data, GError **error)
{
	gsize size = 0;
	const char *data = g_bytes_get_data(mbox, &size);
	if (size == 0)
		return TRUE;
	if (!is_from_line(data, size)) {
		g_set_error(error, CANARY_SOURCE_ERROR, CANARY_SOURCE_ERROR_UNKNOWN,
			    "%s: does not start with a \"From \" line; expected an mbox", origin);
		return FALSE;
	}
	const char *end = data + size;
	guint index = 0;
	/* Each pass: P is at a separator; the message runs from the line after
	 * it to the next separator. INDEX counts separators, so it stays the
	 * message's position even when an empty one is skipped. */
	for (const char *p = data; p < end; index++) {
		const char *start = line_end(p, end);
		const char *next = find_separator(start, end);
		gsize len = strip_final_blank(start, (gsize)(next - start));
		if (len > 0) {
			g_autoptr(GBytes) raw = unquote(mbox, start, len);
			struct canary_source_message m = {raw, origin, index, mtime};
			if (!func(&m, user_data, error))
				return FALSE;
		}
		p = next;
	}
	return TRUE;
}

/* Sets ERROR (CANARY_SOURCE_ERROR_IO) for PATH from errno value ERR. Returns FALSE. */
static gboolean io_error(const char *path, int err, GError **error)
{
	g_set_error(error, CANARY_SOURCE_ERROR, CANARY_SOURCE_ERROR_IO, "%s: cannot read: %s", path,
		    g_strerror(err));
	return FALSE;
}

/* Sets ERROR (CANARY_SOURCE_ERROR_UNKNOWN) for PATH, which is neither a
 * file nor a folder. Returns FALSE. */
static gboolean unknown_error(const char *path, GError **error)
{
	g_set_error(error, CANARY_SOURCE_ERROR, CANARY_SOURCE_ERROR_UNKNOWN,
		    "%s: neither a file nor a folder; expected .eml, mbox or Maildir", path);
	return FALSE;
}

/* Maps the regular file PATH. Returns new GBytes over the mapping (empty for
 * an empty file) and its mtime, or NULL with ERROR. Opens without blocking
 * and checks the type on the open file, so a FIFO put in its place after
 * the walk looked cannot hang the import. */
static GBytes *map_file(const char *path, gint64 *mtime_r, GError **error)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		io_error(path, errno, error);
		return NULL;
	}
	struct stat st;
	GBytes *bytes = NULL;
	g_autoptr(GError) local = NULL;
	if (fstat(fd, &st) != 0) {
		io_error(path, errno, error);
	} else if (!S_ISREG(st.st_mode)) {
		unknown_error(path, error);
	} else {
		GMappedFile *mapped = g_mapped_file_new_from_fd(fd, FALSE, &local);
		if (mapped != NULL) {
			bytes = g_mapped_file_get_bytes(mapped);
			g_mapped_file_unref(mapped); /* BYTES keeps the mapping */
			*mtime_r = (gint64)st.st_mtime;
		} else {
			g_set_error(error, CANARY_SOURCE_ERROR, CANARY_SOURCE_ERROR_IO,
				    "%s: cannot read: %s", path, local->message);
		}
	}
	close(fd);
	return bytes;
}

/* Hands the file at PATH to FUNC: nothing if empty, every message of an
 * mbox, else the whole file as one message. Returns FALSE with ERROR. */
static gboolean walk_file(const char *path, canary_source_func func, gpointer user_data,
			  GError **error)
{
	gint64 mtime = 0;
	g_autoptr(GBytes) bytes = map_file(path, &mtime, error);
	if (bytes == NULL)
		return FALSE;
	gsize size = 0;
	const char *data = g_bytes_get_data(bytes, &size);
	if (size == 0)
		return TRUE;
	if (is_from_line(data, size))
		return canary_source_split_mbox(bytes, path, mtime, func, user_data, error);
	struct canary_source_message m = {bytes, path, 0, mtime};
	return func(&m, user_data, error);
}

static gboolean walk_path(const char *path, gboolean top, canary_source_func func,
			  gpointer user_data, GError **error);

/* Orders two entries of a GPtrArray of names (pointers to char *). */
static gint compare_names(gconstpointer a, gconstpointer b)
{
	return g_strcmp0(*(char *const *)a, *(char *const *)b);
}

/* Walks the entries of directory PATH in name order, hidden ones skipped.
 * Returns FALSE with ERROR when one cannot be read or FUNC stopped. */
static gboolean walk_entries(const char *path, canary_source_func func, gpointer user_data,
			     GError **error)
{
	g_autoptr(GError) local = NULL;
	g_autoptr(GDir) dir = g_dir_open(path, 0, &local);
	if (dir == NULL) {
		g_set_error(error, CANARY_SOURCE_ERROR, CANARY_SOURCE_ERROR_IO,
			    "%s: cannot read: %s", path, local->message);
		return FALSE;
	}
	g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
	for (const char *name; (name = g_dir_read_name(dir)) != NULL;) {
		if (name[0] != '.')
			g_ptr_array_add(names, g_strdup(name));
	}
	g_ptr_array_sort(names, compare_names);
	for (guint i = 0; i < names->len; i++) {
		g_autofree char *child = g_build_filename(path, g_ptr_array_index(names, i), NULL);
		if (!walk_path(child, FALSE, func, user_data, error))
			return FALSE;
	}
	return TRUE;
}

/* Returns TRUE if PATH looks like a Maildir (has cur/ or new/). */
static gboolean is_maildir(const char *path)
{
	g_autofree char *cur = g_build_filename(path, "cur", NULL);
	g_autofree char *new_dir = g_build_filename(path, "new", NULL);
	return g_file_test(cur, G_FILE_TEST_IS_DIR) || g_file_test(new_dir, G_FILE_TEST_IS_DIR);
}

/* Walks a Maildir: new/ then cur/; tmp/ holds unfinished deliveries and
 * the Maildir++ subfolders (".Sent") are hidden. Returns FALSE with ERROR. */
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
 * by the caller (TOP), so a link cannot lead the walk out of the tree or
 * round in a loop; links to files are followed. Returns FALSE with ERROR. */
static gboolean walk_path(const char *path, gboolean top, canary_source_func func,
			  gpointer user_data, GError **error)
{
	struct stat lst, st;
	if (lstat(path, &lst) != 0)
		return io_error(path, errno, error);
	if (!S_ISLNK(lst.st_mode))
		st = lst;
	else if (stat(path, &st) != 0)
		return io_error(path, errno, error);
	if (S_ISDIR(st.st_mode)) {
		if (!top && S_ISLNK(lst.st_mode))
			return TRUE;
		return is_maildir(path) ? walk_maildir(path, func, user_data, error)
					: walk_entries(path, func, user_data, error);
	}
	if (!S_ISREG(st.st_mode))
		return unknown_error(path, error);
	return walk_file(path, func, user_data, error);
}

gboolean canary_source_walk(const char *path, canary_source_func func, gpointer user_data,
			    GError **error)
{
	return walk_path(path, TRUE, func, user_data, error);
}
