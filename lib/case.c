/* case.c: the operations of the control protocol, by name. Each lives in
 * the module of its rules; this table is the one list of what canaryd
 * answers. */
#include "case.h"

#include "case_ops.h"

/* One operation a line (clang-format would pack them). */
// clang-format off
static const struct canary_control_op ops[] = {
	{"whoami", canary_op_whoami},
	{"audit", canary_op_audit},
	{"audit-start", canary_op_audit_start},
	{"assign", canary_op_assign},
	{"history", canary_op_history},
	{"stats", canary_op_stats},
	{"report", canary_op_report},
	{"purge", canary_op_purge},
	{"health", canary_op_health},
	{"keys", canary_op_keys},
	{"list", canary_op_list},
	{"show", canary_op_show},
	{"attachment", canary_op_attachment},
	{"reveal", canary_op_reveal},
	{"move-prepare", canary_op_move_prepare},
	{"move", canary_op_move},
	{"status-prepare", canary_op_status_prepare},
	{"status", canary_op_status},
	{"reply-prepare", canary_op_reply_prepare},
	{"reply", canary_op_reply},
	{"outbox", canary_op_outbox},
	{"send-prepare", canary_op_send_prepare},
	{"send", canary_op_send},
};
// clang-format on

const struct canary_control_op *canary_case_find_op(const char *name)
{
	for (gsize i = 0; i < G_N_ELEMENTS(ops); i++)
		if (g_strcmp0(ops[i].name, name) == 0)
			return &ops[i];
	return NULL;
}
