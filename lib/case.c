/* case.c: the operations of the control protocol, by name. Each lives in
 * the module of its rules; this table is the one list of what canaryd
 * answers. */
#include "case.h"

#include "case_ops.h"

static const struct canary_control_op ops[] = {
	{"whoami", canary_op_whoami},
	{"audit", canary_op_audit},
	{"audit-start", canary_op_audit_start},
};

const struct canary_control_op *canary_case_find_op(const char *name)
{
	for (gsize i = 0; i < G_N_ELEMENTS(ops); i++)
		if (g_strcmp0(ops[i].name, name) == 0)
			return &ops[i];
	return NULL;
}
