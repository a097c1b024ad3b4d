/* process.h: process-wide hygiene for both programs: no core dumps (they
 * would hold plaintext), private file modes, libraries started once. */
#ifndef CANARY_PROCESS_H
#define CANARY_PROCESS_H

#include <glib.h>

/* Forbids core dumps and ptrace by other users (PR_SET_DUMPABLE 0,
 * RLIMIT_CORE 0), sets umask 077, fixes the allocator's thresholds (so that
 * memory does not grow with the length of a pass), and starts libsodium
 * and GMime. Call first thing in main(). */
gboolean canary_process_init(GError **error);

/* Undoes the library set-up of canary_process_init() (for leak checkers). */
void canary_process_shutdown(void);

#endif
