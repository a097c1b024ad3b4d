/* note.c: see note.h. */
#include "note.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "triage.h"
#include "wipe.h"

/* Drops '\r' before '\n' and, when DROP_COMMENTS, lines starting with '#',
 * then surrounding white space, all in place; wipes the bytes freed. */
static void tidy(char *text, gboolean drop_comments)
{
	gsize total = strlen(text);
	char *w = text;
	for (const char *r = text; *r != '\0';) {
		const char *nl = strchr(r, '\n');
		const char *end = nl != NULL ? nl : r + strlen(r);
		gsize n = (gsize)(end - r);
		if (n > 0 && r[n - 1] == '\r')
			n--;
		if (!(drop_comments && r[0] == '#')) {
			memmove(w, r, n);
			w += n;
			if (nl != NULL)
				*w++ = '\n';
		}
		r = nl != NULL ? nl + 1 : end;
	}
	while (w > text && g_ascii_isspace(w[-1]))
		w--;
	const char *start = text;
	while (start < w && g_ascii_isspace(*start))
		start++;
	gsize len = (gsize)(w - start);
	memmove(text, start, len);
	canary_wipe(text + len, total - len); /* also terminates */
}

/* Reads the whole note from FD (NAME in messages). NULL after printing why. */
static char *read_note(int fd, const char *name, gboolean drop_comments)
{
	/* One buffer of the largest size: never reallocated, so no copy of the
	 * note is left in freed memory. */
	char *buf = g_malloc(NOTE_MAX + 1);
	gsize len = 0;
	for (;;) {
		ssize_t n = read(fd, buf + len, NOTE_MAX + 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			cli_error("%s: %s", name, g_strerror(errno));
			goto fail;
		}
		if (n == 0)
			break;
		len += (gsize)n;
		if (len > NOTE_MAX) {
			cli_error("%s: the note is longer than %d KiB: shorten it", name,
				  NOTE_MAX / 1024);
			goto fail;
		}
	}
	buf[len] = '\0';
	if (memchr(buf, '\0', len) != NULL || !g_utf8_validate(buf, (gssize)len, NULL)) {
		cli_error("%s: expected the note as UTF-8 text", name);
		goto fail;
	}
	tidy(buf, drop_comments);
	return buf;
fail:
	canary_wipe(buf, NOTE_MAX + 1);
	g_free(buf);
	return NULL;
}

char *note_read_file(const char *option, const char *path)
{
	gboolean is_stdin = strcmp(path, "-") == 0;
	const char *name = is_stdin ? "standard input" : path;
	int fd = is_stdin ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		cli_error("%s %s: %s", option, path, g_strerror(errno));
		return NULL;
	}
	char *note = read_note(fd, name, FALSE);
	if (!is_stdin)
		close(fd);
	if (note != NULL && note[0] == '\0') {
		cli_error("%s: the note is empty: expected its text", name);
		canary_wipe_free(note);
		return NULL;
	}
	return note;
}

/* A new 0700 directory for the note, under $XDG_RUNTIME_DIR (memory only,
 * this user's) when it is usable, else /tmp. New path, or NULL. */
static char *private_dir(void)
{
	const char *base = g_getenv("XDG_RUNTIME_DIR");
	struct stat st;
	if (base == NULL || !g_path_is_absolute(base) || stat(base, &st) != 0 ||
	    !S_ISDIR(st.st_mode) || st.st_uid != getuid())
		base = "/tmp";
	char *dir = g_build_filename(base, "canary-note-XXXXXX", NULL);
	if (g_mkdtemp_full(dir, 0700) == NULL) {
		cli_error("%s: cannot make a private directory for the note: %s", base,
			  g_strerror(errno));
		g_free(dir);
		return NULL;
	}
	return dir;
}

/* Overwrites the regular file NAME in DIR_FD with zeros, then removes it. */
static void shred_at(int dir_fd, const char *name)
{
	int fd = openat(dir_fd, name, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	if (fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
		static const char zeros[4096];
		for (off_t left = st.st_size; left > 0;) {
			ssize_t n = write(fd, zeros, (size_t)MIN(left, (off_t)sizeof(zeros)));
			if (n <= 0 && errno != EINTR)
				break;
			if (n > 0)
				left -= n;
		}
		fsync(fd);
	}
	if (fd >= 0)
		close(fd);
	if (unlinkat(dir_fd, name, 0) != 0 && errno == EISDIR)
		unlinkat(dir_fd, name, AT_REMOVEDIR);
}

/* Removes DIR with the note and whatever the editor left in it (swap and
 * backup files), each overwritten first. */
static void shred_dir(const char *dir)
{
	DIR *d = opendir(dir);
	if (d != NULL) {
		for (struct dirent *e; (e = readdir(d)) != NULL;) {
			if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
				shred_at(dirfd(d), e->d_name);
		}
		closedir(d);
	}
	if (rmdir(dir) != 0)
		cli_error("%s: could not be removed (%s): remove it by hand", dir,
			  g_strerror(errno));
}

/* $VISUAL, else $EDITOR, else the system's editor. */
static const char *editor_command(void)
{
	const char *editor = g_getenv("VISUAL");
	if (editor == NULL || editor[0] == '\0')
		editor = g_getenv("EDITOR");
	if (editor == NULL || editor[0] == '\0')
		editor = access("/usr/bin/editor", X_OK) == 0 ? "/usr/bin/editor" : "vi";
	return editor;
}

/* Runs EDITOR on PATH through the shell (so that "code --wait" works), on
 * this terminal. TRUE when it exited 0. */
static gboolean run_editor(const char *editor, const char *path)
{
	g_autofree char *script = g_strconcat(editor, " \"$@\"", NULL);
	/* Interrupting the editor must not kill canary before the note's
	 * file is removed. */
	struct sigaction ignore = {.sa_handler = SIG_IGN}, old_int, old_quit;
	sigemptyset(&ignore.sa_mask);
	sigaction(SIGINT, &ignore, &old_int);
	sigaction(SIGQUIT, &ignore, &old_quit);
	pid_t pid = fork();
	if (pid == 0) {
		sigaction(SIGINT, &old_int, NULL);
		sigaction(SIGQUIT, &old_quit, NULL);
		execl("/bin/sh", "sh", "-c", script, editor, path, (char *)NULL);
		_exit(127);
	}
	int status = 0;
	pid_t waited = -1;
	if (pid > 0) {
		do
			waited = waitpid(pid, &status, 0);
		while (waited < 0 && errno == EINTR);
	}
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGQUIT, &old_quit, NULL);
	if (pid < 0 || waited < 0) {
		cli_error("cannot run the editor %s: %s", editor, g_strerror(errno));
		return FALSE;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		cli_error("the editor (%s) failed (%s %d): nothing was changed", editor,
			  WIFEXITED(status) ? "exit status" : "signal",
			  WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
		return FALSE;
	}
	return TRUE;
}

/* Writes TEXT, the instructions the officer sees, into a new PATH (0600). */
static gboolean write_template(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		cli_error("%s: %s", path, g_strerror(errno));
		return FALSE;
	}
	gboolean ok = write(fd, text, strlen(text)) == (ssize_t)strlen(text);
	if (close(fd) != 0 || !ok) {
		cli_error("%s: %s", path, g_strerror(errno));
		return FALSE;
	}
	return TRUE;
}

/* Lets the officer write in the editor, below TEMPLATE (comment lines). */
static char *edit_text(const char *template)
{
	g_autofree char *dir = private_dir();
	if (dir == NULL)
		return NULL;
	g_autofree char *path = g_build_filename(dir, "note.txt", NULL);
	char *note = NULL;
	if (write_template(path, template) && run_editor(editor_command(), path)) {
		int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0) {
			cli_error("%s: %s", path, g_strerror(errno));
		} else {
			note = read_note(fd, path, TRUE);
			close(fd);
		}
	}
	// Order is important: the note is read before its file is shredded.
	shred_dir(dir);
	return note;
}

char *note_edit(const char *ref)
{
	g_autofree char *template = g_strdup_printf(
		"\n# Note for case %s, sealed to the keys of its section and triage\n"
		"# (canary show prints it). Lines starting with '#' are left out;\n"
		"# an empty note adds none.\n",
		ref);
	return edit_text(template);
}

char *note_edit_draft(const char *ref)
{
	g_autofree char *template = g_strdup_printf(
		"\n# Reply to the submitter of case %s, sealed to the keys of its\n"
		"# section, triage and the custodian, who sends it (canary send).\n"
		"# Lines starting with '#' are left out; an empty text drafts nothing.\n",
		ref);
	return edit_text(template);
}

struct canary_sealed_case *note_seal(JsonObject *prepared, const char *kind,
				     const struct canary_case *c,
				     const struct canary_envelope_recipients *to,
				     note_seal_func seal, const char *text)
{
	gint64 number = json_object_get_int_member_with_default(prepared, kind, 0);
	/* The author as canaryd names the caller, which records the change. */
	const char *author = json_object_get_string_member_with_default(prepared, "user", "");
	g_autoptr(GError) error = NULL;
	g_autoptr(canary_sealed_case) sealed = canary_sealed_case_new(c->id);
	if (number < 1 || number > G_MAXUINT32 ||
	    !seal(sealed, (guint)number, to, author, triage_now(), text, &error)) {
		g_autofree char *none = g_strdup_printf("canaryd gave no %s number", kind);
		cli_error("case %s: %s", c->ref, error != NULL ? error->message : none);
		return NULL;
	}
	return g_steal_pointer(&sealed);
}
