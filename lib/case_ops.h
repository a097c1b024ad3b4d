/* case_ops.h: the operations case.c's table names, one group per module
 * (private to lib/). Each has the signature of struct canary_control_op. */
#ifndef CANARY_CASE_OPS_H
#define CANARY_CASE_OPS_H

#include "control.h"

#define CANARY_OP(name)                                                                            \
	JsonObject *name(struct canary_control_context *ctx, const struct canary_caller *caller,   \
			 JsonObject *args, GError **error)

/* access.c */
CANARY_OP(canary_op_whoami);

/* audit.c */
CANARY_OP(canary_op_audit);
CANARY_OP(canary_op_audit_start);
/* case_rules.c */
CANARY_OP(canary_op_assign);
CANARY_OP(canary_op_history);
CANARY_OP(canary_op_stats);
CANARY_OP(canary_op_report);
CANARY_OP(canary_op_purge);
CANARY_OP(canary_op_health);
/* case_sealed.c */
CANARY_OP(canary_op_keys);
CANARY_OP(canary_op_list);
CANARY_OP(canary_op_show);
CANARY_OP(canary_op_attachment);
CANARY_OP(canary_op_reveal);
CANARY_OP(canary_op_move_prepare);
CANARY_OP(canary_op_move);
CANARY_OP(canary_op_status_prepare);
CANARY_OP(canary_op_status);
/* case_reply.c */
CANARY_OP(canary_op_reply_prepare);
CANARY_OP(canary_op_reply);
CANARY_OP(canary_op_outbox);
CANARY_OP(canary_op_send_prepare);
CANARY_OP(canary_op_send);

#endif
