/* case.c: the operations of the control protocol: the case rules, applied
 * for the caller the kernel named. */
#include "case.h"

/* whoami: the caller as this side sees it: user and groups. */
static JsonObject *op_whoami(struct canary_control_context *ctx, const struct canary_caller *caller,
			     JsonObject *args, GError **error)
{
	(void)ctx;
	(void)args;
	(void)error;
	JsonObject *result = json_object_new();
	json_object_set_string_member(result, "user", caller->user);
	json_object_set_int_member(result, "uid", caller->uid);
	JsonArray *groups = json_array_new();
	for (gsize i = 0; caller->groups[i] != NULL; i++)
		json_array_add_string_element(groups, caller->groups[i]);
	json_object_set_array_member(result, "groups", groups);
	return result;
}

static const struct canary_control_op ops[] = {
	{"whoami", op_whoami},
};

const struct canary_control_op *canary_case_find_op(const char *name)
{
	for (gsize i = 0; i < G_N_ELEMENTS(ops); i++)
		if (g_strcmp0(ops[i].name, name) == 0)
			return &ops[i];
	return NULL;
}
