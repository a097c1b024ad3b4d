/* log.c: leveled logging to stderr. One write(2) per line so lines from
 * concurrent processes never interleave mid-line. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static enum canary_log_level current_level = CANARY_LOG_INFO;
static gboolean journal_prefixes;
static const char *program_name = "canary";

static const struct {
	const char *name;
	enum canary_log_level level;
} level_names[] = {
	{ "error", CANARY_LOG_ERR },   { "warning", CANARY_LOG_WARNING },
	{ "notice", CANARY_LOG_NOTICE }, { "info", CANARY_LOG_INFO },
	{ "debug", CANARY_LOG_DEBUG },
};

void canary_log_set_level(enum canary_log_level level) { current_level = level; }
enum canary_log_level canary_log_get_level(void) { return current_level; }
void canary_log_set_journal_prefixes(gboolean prefixes) { journal_prefixes = prefixes; }
void canary_log_set_program(const char *name) { program_name = name; }

gboolean canary_log_level_parse(const char *name, enum canary_log_level *level_r)
{
	for (size_t i = 0; i < G_N_ELEMENTS(level_names); i++) {
		if (g_ascii_strcasecmp(name, level_names[i].name) == 0) {
			*level_r = level_names[i].level;
			return TRUE;
		}
	}
	return FALSE;
}

void canary_log(enum canary_log_level level, const char *format, ...)
{
	if (level > current_level)
		return;

	char line[2048];
	int n;
	if (journal_prefixes)
		n = snprintf(line, sizeof(line), "<%d>", (int)level);
	else
		n = snprintf(line, sizeof(line), "%s: ", program_name);
	if (n < 0 || (size_t)n >= sizeof(line))
		return;

	va_list args;
	va_start(args, format);
	int m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, format, args);
	va_end(args);
	if (m < 0)
		return;
	size_t len = strlen(line);
	line[len++] = '\n';
	/* Best effort: there is nowhere to report a failed log write. */
	ssize_t ignored = write(STDERR_FILENO, line, len);
	(void)ignored;
}
