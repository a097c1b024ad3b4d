/* crash.h: a mark left when the process dies of a crash, so that the next
 * start can tell a crash from a kill.
 *
 * A fault (SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGSYS) or SIGABRT (abort(), a
 * failed assertion, GLib's out-of-memory, and systemd's watchdog, whose
 * WatchdogSignal= it is) runs a handler that creates the mark, an empty
 * 0600 file, then dies of the same signal as it would have. SIGKILL (kill -9,
 * the OOM killer) and a power loss leave no mark: they say nothing about the
 * message being worked on. Under ASan a fault is the sanitizer's to report. */
#ifndef CANARY_CRASH_H
#define CANARY_CRASH_H

#include <glib.h>

/* Makes PATH the mark (copied) and installs the handlers on the first call.
 * Call from one thread at a time; a crash meanwhile marks the old or the new
 * path, never a mix. FALSE if PATH is too long for the handler's buffer. */
gboolean canary_crash_mark_at(const char *path, GError **error);

#endif
