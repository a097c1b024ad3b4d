/* log.h: leveled logging to stderr, with syslog "<N>" prefixes for journald.
 * Never give it personal data: name messages by UID, never beside the case
 * reference they became (the log's times would date the case exactly). */
#ifndef CANARY_LOG_H
#define CANARY_LOG_H

#include <glib.h>

/* syslog(3) priorities, so the journald prefix is the number itself. */
enum canary_log_level {
	CANARY_LOG_ERR = 3,
	CANARY_LOG_WARNING = 4,
	CANARY_LOG_NOTICE = 5,
	CANARY_LOG_INFO = 6,
	CANARY_LOG_DEBUG = 7,
};

/* Messages above LEVEL (less urgent) are dropped. Default: info. */
void canary_log_set_level(enum canary_log_level level);
enum canary_log_level canary_log_get_level(void);

/* Parses "error", "warning", "notice", "info", "debug". FALSE if unknown. */
gboolean canary_log_level_parse(const char *name, enum canary_log_level *level_r);

/* With PREFIXES on, each line starts "<N>" (journald reads the priority
 * from it); off, it starts with the program name, for terminals. */
void canary_log_set_journal_prefixes(gboolean prefixes);
void canary_log_set_program(const char *name);

void canary_log(enum canary_log_level level, const char *format, ...) G_GNUC_PRINTF(2, 3);

#define canary_err(...) canary_log(CANARY_LOG_ERR, __VA_ARGS__)
#define canary_warning(...) canary_log(CANARY_LOG_WARNING, __VA_ARGS__)
#define canary_notice(...) canary_log(CANARY_LOG_NOTICE, __VA_ARGS__)
#define canary_info(...) canary_log(CANARY_LOG_INFO, __VA_ARGS__)
#define canary_debug(...) canary_log(CANARY_LOG_DEBUG, __VA_ARGS__)

#endif
