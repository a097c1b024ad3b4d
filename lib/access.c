/* access.c: a caller's roles and sections from their Unix groups.
 * FIXME(issue 14, part C1): a permissive placeholder until [access] exists. */
#include "access.h"

#include "control.h"

struct canary_access {
	const struct canary_config *config;
	guint roles;
};

struct canary_access *canary_access_new(const struct canary_config *config,
					const struct canary_caller *caller)
{
	(void)caller;
	struct canary_access *access = g_new0(struct canary_access, 1);
	access->config = config;
	access->roles = CANARY_ROLE_TRIAGE | CANARY_ROLE_CUSTODIAN | CANARY_ROLE_ADMIN |
			CANARY_ROLE_SUPERUSER;
	return access;
}

void canary_access_free(struct canary_access *access)
{
	g_free(access);
}

gboolean canary_access_has_role(const struct canary_access *access, enum canary_role role)
{
	return (access->roles & (role | CANARY_ROLE_SUPERUSER)) != 0;
}

gboolean canary_access_may_see_section(const struct canary_access *access, const char *section)
{
	(void)section;
	return canary_access_has_role(access, CANARY_ROLE_TRIAGE);
}

gboolean canary_access_require_role(const struct canary_access *access, enum canary_role role,
				    GError **error)
{
	if (canary_access_has_role(access, role))
		return TRUE;
	g_set_error_literal(error, CANARY_CONTROL_ERROR, CANARY_CONTROL_ERROR_FORBIDDEN,
			    "not allowed");
	return FALSE;
}

gboolean canary_access_require_case(const struct canary_access *access, const struct canary_case *c,
				    GError **error)
{
	if (canary_access_may_see_section(access, c->section))
		return TRUE;
	g_set_error_literal(error, CANARY_CONTROL_ERROR, CANARY_CONTROL_ERROR_FORBIDDEN,
			    "not allowed");
	return FALSE;
}
