/* case.h: the case rules canaryd applies for a caller: who may see, open,
 * assign, move, close and purge which case, and the record of every access.
 * Exposed as the operations of the control protocol (control.h). */
#ifndef CANARY_CASE_H
#define CANARY_CASE_H

#include "control.h"
#include "store.h"

/* TRUE for a user name an officer may be given a case under: 1 to 64
 * printable characters, no spaces. */
gboolean canary_case_valid_name(const char *name);

/* An event of the case history as the ops send it: {"id", "ref", "at",
 * "actor", "action", "detail"} (detail null when none). New object. */
JsonObject *canary_case_event_to_json(const struct canary_event *e);

#endif
