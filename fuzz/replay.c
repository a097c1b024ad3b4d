/* replay.c: runs a fuzz target's LLVMFuzzerTestOneInput over files, without
 * libFuzzer, so that the normal and sanitizer test builds (gcc) replay the
 * seeds and every crash ever found (fuzz/regressions/TARGET/).
 * Usage: fuzz_replay_TARGET [X:]PATTERN...: each shell glob must match; a
 * directory stands for its files; X: puts the bytes X in front of each. */
#include <glib.h>
#include <glob.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Feeds PREFIX followed by the bytes of PATH to the target. */
static gboolean replay_file(const char *prefix, const char *path)
{
	g_autofree char *contents = NULL;
	gsize len = 0;
	g_autoptr(GError) error = NULL;
	if (!g_file_get_contents(path, &contents, &len, &error)) {
		fprintf(stderr, "replay: %s\n", error->message);
		return FALSE;
	}
	g_autoptr(GByteArray) input = g_byte_array_new();
	g_byte_array_append(input, (const guint8 *)prefix, (guint)strlen(prefix));
	g_byte_array_append(input, (const guint8 *)contents, (guint)len);
	/* Say which input runs, so a crash names it. */
	fprintf(stderr, "replay: %s%s\n", prefix, path);
	LLVMFuzzerTestOneInput(input->data, input->len);
	return TRUE;
}

/* Replays PATH, or each file in it when it is a directory (dot files, such
 * as .gitkeep, are not inputs). Adds the inputs run to *COUNT. */
static gboolean replay_path(const char *prefix, const char *path, guint *count)
{
	if (!g_file_test(path, G_FILE_TEST_IS_DIR)) {
		(*count)++;
		return replay_file(prefix, path);
	}
	g_autoptr(GError) error = NULL;
	g_autoptr(GDir) dir = g_dir_open(path, 0, &error);
	if (dir == NULL) {
		fprintf(stderr, "replay: %s\n", error->message);
		return FALSE;
	}
	for (const char *name; (name = g_dir_read_name(dir)) != NULL;) {
		g_autofree char *file = g_build_filename(path, name, NULL);
		if (name[0] == '.' || !g_file_test(file, G_FILE_TEST_IS_REGULAR))
			continue;
		(*count)++;
		if (!replay_file(prefix, file))
			return FALSE;
	}
	return TRUE;
}

int main(int argc, char **argv)
{
	guint count = 0;
	for (int i = 1; i < argc; i++) {
		const char *colon = strchr(argv[i], ':');
		g_autofree char *prefix =
			colon != NULL ? g_strndup(argv[i], colon - argv[i]) : g_strdup("");
		const char *pattern = colon != NULL ? colon + 1 : argv[i];
		glob_t matches;
		if (glob(pattern, 0, NULL, &matches) != 0) {
			fprintf(stderr, "replay: %s: no such file\n", pattern);
			return 1;
		}
		for (size_t m = 0; m < matches.gl_pathc; m++) {
			if (!replay_path(prefix, matches.gl_pathv[m], &count)) {
				globfree(&matches);
				return 1;
			}
		}
		globfree(&matches);
	}
	printf("replay: %u inputs, no crash\n", count);
	return count > 0 ? 0 : 1;
}
