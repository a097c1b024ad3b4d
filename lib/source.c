/* source.c: message sources for canary import: single files, mbox files
 * and Maildir folders. Files are mapped, not copied; an mbox message is a
 * slice of its mapping unless it needs unquoting.
 *
 * mbox separators (RFC 4155). The first line of the file is the first
 * separator. After it, a line is a separator when it looks like one, as
 * mutt and Dovecot judge it: "From ", one word of sender (or a quoted one),
 * and a ctime date ("Mon Jan  1 00:00:00 2024", seconds optional, the zone
 * before or after the four-digit year, or "1 Jan 2024 00:00:00"), whether
 * or not an empty line comes before it; body text such as "From 3 May
 * 2021 10:00 the police ..." has no sender and is text. A "From " line
 * of a single word that is followed by a header line ("From x@example.org"
 * then "Received: ...") is one too: when in doubt, split, for a missed
 * split hides a person inside another message. Any other "From " line
 * ("From time to time") is text and is kept. One empty line before a
 * separator and at the end of the file belongs to the mbox and is dropped.
 *
 * Variants. mboxcl/mboxcl2, decided per file: when the first message has a
 * Content-Length: header whose body ends at the end of the file or at a
 * separator (after at most one empty line), the file is an mboxcl and each
 * message's Content-Length is trusted where it lands so too; a message
 * without one, or whose length lands elsewhere, ends at the next separator
 * as in any mbox. In other files Content-Length is ignored, so a stale or
 * forged header in one message of an ordinary mbox cannot swallow the
 * messages after it. Quoting, decided per message: every line matching ^>+From
 * loses one '>' (mboxrd; for mboxo, which quotes only "From ", this is the
 * same except for a body line that really began ">From ", which mboxo
 * cannot tell apart). A message delimited by Content-Length that holds a
 * bare "From " line was written unquoted (mboxcl2) and is not unquoted. */
#include "source.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The quark name is stringified as written: keep clang-format off it. */
// clang-format off
G_DEFINE_QUARK(canary-source-error-quark, canary_source_error)
// clang-format on

/* The UTF-8 byte-order mark some editors put at the start of a file. */
static const char utf8_bom[] = "\xef\xbb\xbf";

/* How far into a "From " line the date is looked for: separators are short. */
#define SEPARATOR_SCAN_MAX 1000
/* Words of a "From " line looked at. */
#define SEPARATOR_WORDS_MAX 16

/* Returns TRUE if the LEN bytes at P start with "From ". */
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

/* A word of a "From " line: LEN bytes at P. */
struct word {
	const char *p;
	gsize len;
};

/* Returns TRUE if W is LEN_MIN to LEN_MAX digits; its value in *VALUE. */
static gboolean is_number(struct word w, gsize len_min, gsize len_max, guint *value)
{
	if (w.len < len_min || w.len > len_max)
		return FALSE;
	guint v = 0;
	for (gsize i = 0; i < w.len; i++) {
		if (!g_ascii_isdigit(w.p[i]))
			return FALSE;
		v = v * 10 + (guint)(w.p[i] - '0');
	}
	*value = v;
	return TRUE;
}

/* TRUE if the first three letters of W are one of the N abbreviations NAMES. */
static gboolean starts_with_one_of(struct word w, const char *const *names, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (g_ascii_strncasecmp(w.p, names[i], 3) == 0)
			return TRUE;
	}
	return FALSE;
}

static gboolean is_month(struct word w)
{
	static const char *const months[] = {"jan", "feb", "mar", "apr", "may", "jun",
					     "jul", "aug", "sep", "oct", "nov", "dec"};
	return w.len == 3 && starts_with_one_of(w, months, G_N_ELEMENTS(months));
}

static gboolean is_day(struct word w)
{
	guint day = 0;
	return is_number(w, 1, 2, &day) && day >= 1 && day <= 31;
}

static gboolean is_year(struct word w)
{
	guint year = 0;
	return is_number(w, 4, 4, &year);
}

/* Returns TRUE for "Mon" ... "Sun", with or without a comma after it. */
static gboolean is_weekday(struct word w)
{
	static const char *const days[] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};
	return (w.len == 3 || (w.len == 4 && w.p[3] == ',')) &&
	       starts_with_one_of(w, days, G_N_ELEMENTS(days));
}

/* Returns TRUE for a time zone: "+0100", "-0500", "CET", "(EST)". */
static gboolean is_zone(struct word w)
{
	guint v = 0;
	if (w.len == 5 && (w.p[0] == '+' || w.p[0] == '-'))
		return is_number((struct word){w.p + 1, 4}, 4, 4, &v);
	if (w.len >= 2 && w.p[0] == '(' && w.p[w.len - 1] == ')')
		return TRUE;
	if (w.len == 0 || w.len > 5)
		return FALSE;
	for (gsize i = 0; i < w.len; i++) {
		if (!g_ascii_isupper(w.p[i]))
			return FALSE;
	}
	return TRUE;
}

/* Returns TRUE for "H:MM", "HH:MM" or "HH:MM:SS". */
static gboolean is_time(struct word w)
{
	guint v = 0;
	const char *colon = memchr(w.p, ':', w.len);
	if (colon == NULL)
		return FALSE;
	struct word hours = {w.p, (gsize)(colon - w.p)};
	struct word rest = {colon + 1, w.len - hours.len - 1};
	if (!is_number(hours, 1, 2, &v) || v > 24)
		return FALSE;
	if (rest.len > 2 && rest.p[2] == ':') {
		struct word seconds = {rest.p + 3, rest.len - 3};
		rest.len = 2;
		if (!is_number(seconds, 2, 2, &v) || v > 60)
			return FALSE;
	}
	return is_number(rest, 2, 2, &v) && v < 60;
}

/* Splits the LEN bytes at LINE (after "From ") into at most MAX words at
 * spaces and tabs. Returns how many. */
static guint split_words(const char *line, gsize len, struct word *words, guint max)
{
	guint n = 0;
	gsize i = 0;
	while (n < max) {
		while (i < len && (line[i] == ' ' || line[i] == '\t'))
			i++;
		if (i == len)
			break;
		gsize start = i;
		while (i < len && line[i] != ' ' && line[i] != '\t')
			i++;
		words[n++] = (struct word){line + start, i - start};
	}
	return n;
}

/* Returns TRUE if the N words from W hold a date starting at word I:
 * "Jan 1 00:00:00" then the year, after at most two zone words or before
 * the zone; or "1 Jan 2024 00:00:00" ending the line or before a zone. */
static gboolean is_date_at(const struct word *w, guint n, guint i)
{
	if (i + 3 < n && is_day(w[i]) && is_month(w[i + 1]) && is_year(w[i + 2]) &&
	    is_time(w[i + 3]))
		return i + 4 == n || is_zone(w[i + 4]);
	if (i + 3 >= n || !is_month(w[i]) || !is_day(w[i + 1]) || !is_time(w[i + 2]))
		return FALSE;
	for (guint j = i + 3; j < n && j <= i + 5; j++) {
		if (is_year(w[j]))
			return TRUE;
		if (!is_zone(w[j]))
			return FALSE;
	}
	return FALSE;
}

/* Returns TRUE if the N words after "From " are a sender and a date as
 * mbox writers put them: one word (or a quoted one with spaces) before the
 * date and its optional weekday, or no sender but a weekday. */
static gboolean has_mbox_date(const struct word *w, guint n)
{
	gboolean quoted_sender = n > 0 && w[0].p[0] == '"';
	for (guint i = 0; i < n; i++) {
		if (!is_date_at(w, n, i))
			continue;
		gboolean weekday = i > 0 && is_weekday(w[i - 1]);
		guint first = weekday ? i - 1 : i;
		if (first == 1 || (first == 0 && weekday) || (first > 1 && quoted_sender))
			return TRUE;
	}
	return FALSE;
}

/* Returns TRUE if the line from P to NEXT is a header field line
 * ("Name: value" or a folded continuation is not enough: a name first). */
static gboolean is_header_line(const char *p, const char *next)
{
	const char *q = p;
	while (q < next && g_ascii_isgraph(*q) && *q != ':')
		q++;
	return q > p && q < next && *q == ':';
}

/* Returns TRUE if the line at P (ending at NEXT, file ending at END) is an
 * mbox separator after the first: see the top of this file. */
static gboolean is_separator(const char *p, const char *next, const char *end)
{
	if (!is_from_line(p, (gsize)(end - p)))
		return FALSE;
	gsize len = MIN((gsize)(next - p), SEPARATOR_SCAN_MAX) - 5;
	while (len > 0 && (p[5 + len - 1] == '\n' || p[5 + len - 1] == '\r'))
		len--;
	struct word words[SEPARATOR_WORDS_MAX];
	guint n = split_words(p + 5, len, words, G_N_ELEMENTS(words));
	if (has_mbox_date(words, n))
		return TRUE;
	return n == 1 && next < end && is_header_line(next, line_end(next, end));
}

/* Returns the start of the next separator line in P..END, or END if there
 * is none. P starts a line. */
static const char *find_separator(const char *p, const char *end)
{
	while (p < end) {
		const char *next = line_end(p, end);
		if (p[0] == 'F' && is_separator(p, next, end))
			return p;
		p = next;
	}
	return end;
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

/* Returns TRUE if the message text MSG (LEN bytes) has a bare "From " line. */
static gboolean has_bare_from(const char *msg, gsize len)
{
	for (const char *line = msg, *end = msg + len; line < end; line = line_end(line, end)) {
		if (is_from_line(line, (gsize)(end - line)))
			return TRUE;
	}
	return FALSE;
}

/* Returns MSG (LEN bytes inside MBOX, whose data starts at BASE) as new
 * GBytes, with one '>' removed from every ">From " line when UNQUOTE. A
 * slice of MBOX when nothing changes, else a copy of this one message. */
static GBytes *message_bytes(GBytes *mbox, const char *base, const char *msg, gsize len,
			     gboolean unquote)
{
	if (!unquote || !needs_unquoting(msg, len))
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

/* Returns the value of the header line P..NEXT if it is "Content-Length:"
 * with digits only (spaces around); -1 if it is another header; -2 if it
 * is a Content-Length that cannot be read. */
static gint64 content_length_value(const char *p, const char *next)
{
	static const char name[] = "Content-Length:";
	gsize n = sizeof name - 1;
	if ((gsize)(next - p) < n || g_ascii_strncasecmp(p, name, n) != 0)
		return -1;
	const char *q = p + n;
	while (q < next && (*q == ' ' || *q == '\t'))
		q++;
	gint64 value = 0;
	const char *digits = q;
	for (; q < next && g_ascii_isdigit(*q); q++) {
		if (q - digits >= 15)
			return -2;
		value = value * 10 + (*q - '0');
	}
	if (q == digits)
		return -2;
	while (q < next && g_ascii_isspace(*q))
		q++;
	return q == next ? value : -2;
}

/* Where a message ends and the next separator starts. */
struct message_span {
	const char *end;  /* end of the message */
	const char *next; /* next separator, or the end of the file */
};

/* Returns TRUE and sets SPAN if the message starting at START (after its
 * separator) has one Content-Length: header whose body ends at the end of
 * the file or at a separator, after at most one empty line. Headers are
 * read up to their empty line or a separator, whichever comes first. */
static gboolean content_length_span(const char *start, const char *end, struct message_span *span)
{
	gint64 length = -1;
	const char *p = start;
	for (;;) {
		if (p >= end)
			return FALSE;
		const char *next = line_end(p, end);
		if (is_blank_line(p, next)) {
			p = next;
			break;
		}
		if (p[0] == 'F' && is_separator(p, next, end))
			return FALSE;
		gint64 value = content_length_value(p, next);
		if (value == -2 || (value >= 0 && length >= 0))
			return FALSE; /* unreadable or twice: not to be trusted */
		if (value >= 0)
			length = value;
		p = next;
	}
	if (length < 0 || length > end - p)
		return FALSE;
	const char *body_end = p + length;
	const char *after = body_end;
	if (after < end) {
		/* The body ends a line, or the writer added a newline after it. */
		const char *next = line_end(after, end);
		if (is_blank_line(after, next))
			after = next;
		else if (after[-1] != '\n')
			return FALSE;
	}
	if (after < end && !is_separator(after, line_end(after, end), end))
		return FALSE;
	span->end = body_end;
	span->next = after;
	return TRUE;
}

/* Returns DATA past a UTF-8 byte-order mark and empty lines, up to END. */
static const char *skip_bom_and_blank_lines(const char *data, const char *end)
{
	if ((gsize)(end - data) >= 3 && memcmp(data, utf8_bom, 3) == 0)
		data += 3;
	for (const char *next; data < end && is_blank_line(data, next = line_end(data, end));)
		data = next;
	return data;
}

/* What one split hands its messages and skips to. */
struct split_target {
	struct canary_source_walker *walker;
	const char *origin;
	gint64 mtime;
};

/* Reports PATH as left out for REASON (printf format) to WALKER. */
static void report_skip(struct canary_source_walker *walker, const char *path, const char *reason,
			...) G_GNUC_PRINTF(3, 4);

static void report_skip(struct canary_source_walker *walker, const char *path, const char *reason,
			...)
{
	walker->skipped_count++;
	if (walker->skipped == NULL)
		return;
	va_list args;
	va_start(args, reason);
	g_autofree char *text = g_strdup_vprintf(reason, args);
	va_end(args);
	walker->skipped(path, text, walker->user_data);
}

/* Splits MBOX, which starts at a "From " line at DATA; see the top of this
 * file. Returns FALSE with ERROR when the message callback does. */
static gboolean split_from(GBytes *mbox, const char *data, const struct split_target *target,
			   GError **error)
{
	const char *base = g_bytes_get_data(mbox, NULL);
	const char *end = base + g_bytes_get_size(mbox);
	guint index = 0;
	gboolean mboxcl = TRUE; /* until the first message says otherwise */
	/* Each pass: P is at a separator; the message runs from the line after
	 * it to its end. INDEX counts separators, so it stays the message's
	 * position even when an empty one is left out. */
	for (const char *p = data; p < end; index++) {
		const char *start = line_end(p, end);
		struct message_span span;
		gboolean by_length = mboxcl && content_length_span(start, end, &span);
		if (index == 0)
			mboxcl = by_length;
		if (!by_length) {
			span.next = find_separator(start, end);
			span.end = start + strip_final_blank(start, (gsize)(span.next - start));
		}
		gsize len = (gsize)(span.end - start);
		if (len == 0) {
			report_skip(target->walker, target->origin,
				    "message %u of the mbox is empty", index + 1);
		} else {
			gboolean unquote = !by_length || !has_bare_from(start, len);
			g_autoptr(GBytes) raw = message_bytes(mbox, base, start, len, unquote);
			struct canary_source_message m = {raw, target->origin, index,
							  target->mtime};
			if (!target->walker->message(&m, target->walker->user_data, error))
				return FALSE;
		}
		p = span.next;
	}
	return TRUE;
}

/* Splits MBOX for WALKER; see canary_source_split_mbox(). */
static gboolean split_mbox(GBytes *mbox, const struct split_target *target, GError **error)
{
	gsize size = 0;
	const char *data = g_bytes_get_data(mbox, &size);
	const char *first = skip_bom_and_blank_lines(data, data + size);
	if (first == data + size)
		return TRUE;
	if (!is_from_line(first, (gsize)(data + size - first))) {
		g_set_error(error, CANARY_SOURCE_ERROR, CANARY_SOURCE_ERROR_UNKNOWN,
			    "%s: does not start with a \"From \" line; expected an mbox",
			    target->origin);
		return FALSE;
	}
	return split_from(mbox, first, target, error);
}

gboolean canary_source_split_mbox(GBytes *mbox, const char *origin, gint64 mtime,
				  canary_source_func func, gpointer user_data, GError **error)
{
	struct canary_source_walker walker = {.message = func, .user_data = user_data};
	struct split_target target = {&walker, origin, mtime};
	return split_mbox(mbox, &target, error);
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

/* Files up to this size are read rather than mapped: mapping and
 * unmapping each message of a Maildir costs more than copying it (an
 * unmap interrupts every other core to flush its TLB), and a file cut
 * short while mapped would kill the process. */
#define READ_AT_MOST (4u << 20)

/* Reads at most SIZE bytes from FD. New GBytes (shorter if the file
 * shrank), or NULL with ERROR. */
static GBytes *read_fd(int fd, const char *path, gsize size, GError **error)
{
	char *buf = g_malloc(MAX(size, 1));
	gsize got = 0;
	while (got < size) {
		ssize_t n = read(fd, buf + got, size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			io_error(path, errno, error);
			g_free(buf);
			return NULL;
		}
		if (n == 0)
			break;
		got += (gsize)n;
	}
	return g_bytes_new_take(buf, got);
}

/* Reads or maps the regular file PATH. Returns new GBytes of its content
 * (empty for an empty file) and its mtime, or NULL with ERROR. Opens
 * without blocking and checks the type on the open file, so a FIFO put in
 * its place after the walk looked cannot hang the import. */
static GBytes *load_file(const char *path, gint64 *mtime_r, GError **error)
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
	} else if (st.st_size <= (off_t)READ_AT_MOST) {
		bytes = read_fd(fd, path, (gsize)st.st_size, error);
		*mtime_r = (gint64)st.st_mtime;
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

/* Hands the file at PATH to WALKER: every message of an mbox, else the
 * whole file (less a byte-order mark) as one message; an empty file is
 * reported. Returns FALSE with ERROR. */
static gboolean walk_file(const char *path, struct canary_source_walker *walker, GError **error)
{
	gint64 mtime = 0;
	g_autoptr(GBytes) bytes = load_file(path, &mtime, error);
	if (bytes == NULL)
		return FALSE;
	gsize size = 0;
	const char *data = g_bytes_get_data(bytes, &size);
	const char *first = skip_bom_and_blank_lines(data, data + size);
	if (first == data + size) {
		report_skip(walker, path, size == 0 ? "empty file" : "no message in the file");
		return TRUE;
	}
	walker->files_read++;
	if (is_from_line(first, (gsize)(data + size - first))) {
		struct split_target target = {walker, path, mtime};
		return split_from(bytes, first, &target, error);
	}
	gsize bom = size >= 3 && memcmp(data, utf8_bom, 3) == 0 ? 3 : 0;
	g_autoptr(GBytes) message = g_bytes_new_from_bytes(bytes, bom, size - bom);
	struct canary_source_message m = {message, path, 0, mtime};
	return walker->message(&m, walker->user_data, error);
}

static gboolean walk_path(const char *path, gboolean top, struct canary_source_walker *walker,
			  GError **error);

/* Orders two entries of a GPtrArray of names (pointers to char *). */
static gint compare_names(gconstpointer a, gconstpointer b)
{
	return g_strcmp0(*(char *const *)a, *(char *const *)b);
}

/* Returns the names in directory PATH, sorted, or NULL with ERROR. */
static GPtrArray *sorted_entries(const char *path, GError **error)
{
	g_autoptr(GError) local = NULL;
	g_autoptr(GDir) dir = g_dir_open(path, 0, &local);
	if (dir == NULL) {
		g_set_error(error, CANARY_SOURCE_ERROR, CANARY_SOURCE_ERROR_IO,
			    "%s: cannot read: %s", path, local->message);
		return NULL;
	}
	GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
	for (const char *name; (name = g_dir_read_name(dir)) != NULL;)
		g_ptr_array_add(names, g_strdup(name));
	g_ptr_array_sort(names, compare_names);
	return names;
}

/* Walks the entries of directory PATH in name order; hidden ones are
 * reported and left out. Returns FALSE with ERROR when one cannot be read
 * or a callback stopped. */
static gboolean walk_entries(const char *path, struct canary_source_walker *walker, GError **error)
{
	g_autoptr(GPtrArray) names = sorted_entries(path, error);
	if (names == NULL)
		return FALSE;
	for (guint i = 0; i < names->len; i++) {
		const char *name = g_ptr_array_index(names, i);
		g_autofree char *child = g_build_filename(path, name, NULL);
		if (name[0] == '.')
			report_skip(walker, child, "hidden");
		else if (!walk_path(child, FALSE, walker, error))
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

/* Returns TRUE if the Maildir subfolder NAME (".Sent", ".INBOX.Drafts",
 * "Sent Items") holds the office's own mail rather than mail received. */
static gboolean is_own_mail_folder(const char *name)
{
	static const char *const own[] = {"sent",     "sent items", "sent messages", "sent mail",
					  "drafts",   "draft",      "outbox",        "templates",
					  "gesendet", "envoyés",    "enviados"};
	const char *last = strrchr(name, '.');
	last = last != NULL ? last + 1 : name;
	g_autofree char *folded = g_utf8_casefold(last, -1);
	for (size_t i = 0; i < G_N_ELEMENTS(own); i++) {
		if (strcmp(folded, own[i]) == 0)
			return TRUE;
	}
	return FALSE;
}

/* Returns TRUE if NAME is one of the files mail servers keep in a Maildir
 * beside its messages (indexes, UID lists, quota, subscriptions). */
static gboolean is_control_file(const char *name)
{
	static const char *const prefixes[] = {"dovecot",     "courier",       "maildirfolder",
					       "maildirsize", "subscriptions", ".uidvalidity",
					       ".mbsyncstate"};
	for (size_t i = 0; i < G_N_ELEMENTS(prefixes); i++) {
		if (g_str_has_prefix(name, prefixes[i]))
			return TRUE;
	}
	return FALSE;
}

static gboolean walk_maildir(const char *path, struct canary_source_walker *walker, GError **error);

/* Handles entry NAME (at CHILD) of a Maildir beside new/ and cur/:
 * subfolders are walked when asked for (never those of the office's own
 * mail), everything else is reported. Returns FALSE with ERROR. */
static gboolean maildir_extra(const char *child, const char *name,
			      struct canary_source_walker *walker, GError **error)
{
	struct stat st;
	gboolean folder = lstat(child, &st) == 0 && S_ISDIR(st.st_mode);
	if (strcmp(name, "tmp") == 0) {
		g_autoptr(GPtrArray) unfinished = folder ? sorted_entries(child, NULL) : NULL;
		if (unfinished != NULL && unfinished->len > 0)
			report_skip(walker, child, "%u unfinished deliveries (Maildir tmp/)",
				    unfinished->len);
		return TRUE;
	}
	if (!folder || !is_maildir(child)) {
		report_skip(walker, child,
			    is_control_file(name) ? "Maildir control file"
						  : "not a message folder of the Maildir");
		return TRUE;
	}
	if (is_own_mail_folder(name)) {
		report_skip(walker, child,
			    "Maildir subfolder of the office's own mail (sent or drafts), "
			    "not cases; name it to import it");
		return TRUE;
	}
	if (!walker->subfolders) {
		report_skip(walker, child, "Maildir subfolder; give --subfolders to import it");
		return TRUE;
	}
	return walk_maildir(child, walker, error);
}

/* Walks a Maildir: new/ then cur/; tmp/ (unfinished deliveries), the
 * subfolders (".Sent", or "Sent" in the verbatim layout) and other files
 * go to maildir_extra(). Returns FALSE with ERROR. */
static gboolean walk_maildir(const char *path, struct canary_source_walker *walker, GError **error)
{
	static const char *const subdirs[] = {"new", "cur"};
	for (size_t i = 0; i < G_N_ELEMENTS(subdirs); i++) {
		g_autofree char *sub = g_build_filename(path, subdirs[i], NULL);
		if (g_file_test(sub, G_FILE_TEST_IS_DIR) && !walk_entries(sub, walker, error))
			return FALSE;
	}
	g_autoptr(GPtrArray) names = sorted_entries(path, error);
	if (names == NULL)
		return FALSE;
	for (guint i = 0; i < names->len; i++) {
		const char *name = g_ptr_array_index(names, i);
		if (strcmp(name, "new") == 0 || strcmp(name, "cur") == 0)
			continue;
		g_autofree char *child = g_build_filename(path, name, NULL);
		if (!maildir_extra(child, name, walker, error))
			return FALSE;
	}
	return TRUE;
}

/* Walks PATH. Symbolic links to directories are followed only when named
 * by the caller (TOP), so a link cannot lead the walk out of the tree or
 * round in a loop; links to files are followed. Returns FALSE with ERROR. */
static gboolean walk_path(const char *path, gboolean top, struct canary_source_walker *walker,
			  GError **error)
{
	struct stat lst, st;
	if (lstat(path, &lst) != 0)
		return io_error(path, errno, error);
	if (!S_ISLNK(lst.st_mode))
		st = lst;
	else if (stat(path, &st) != 0)
		return io_error(path, errno, error);
	if (S_ISDIR(st.st_mode)) {
		if (!top && S_ISLNK(lst.st_mode)) {
			report_skip(walker, path,
				    "link to a folder, followed only when named; name it to "
				    "import it");
			return TRUE;
		}
		return is_maildir(path) ? walk_maildir(path, walker, error)
					: walk_entries(path, walker, error);
	}
	if (!S_ISREG(st.st_mode))
		return unknown_error(path, error);
	return walk_file(path, walker, error);
}

gboolean canary_source_walk_with(const char *path, struct canary_source_walker *walker,
				 GError **error)
{
	return walk_path(path, TRUE, walker, error);
}

gboolean canary_source_walk(const char *path, canary_source_func func, gpointer user_data,
			    GError **error)
{
	struct canary_source_walker walker = {.message = func, .user_data = user_data};
	return canary_source_walk_with(path, &walker, error);
}
