/* case.h: the case rules canaryd applies for a caller: who may see, open,
 * assign, move, close and purge which case, and the record of every access.
 * Exposed as the operations of the control protocol (control.h). */
#ifndef CANARY_CASE_H
#define CANARY_CASE_H

#include "control.h"

#endif
