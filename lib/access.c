/* access.c: a caller's roles and sections from their Unix groups, as the
 * kernel gave them (caller.h): [access] in canary.conf names the groups of
 * the roles, [section NAME] group in routing.conf those of the sections. */
#include "access.h"

#include <unistd.h>

#include "case_ops.h"
#include "control.h"

struct canary_access {
	const struct canary_config *config;
	const struct canary_caller *caller;
	guint roles;
	GPtrArray *sections; /* const char *, owned by config; NULL-terminated */
};

static const struct {
	enum canary_role role;
	const char *name;
} role_names[] = {
	{CANARY_ROLE_TRIAGE, "triage"},
	{CANARY_ROLE_CUSTODIAN, "custodian"},
	{CANARY_ROLE_ADMIN, "admin"},
	{CANARY_ROLE_SUPERUSER, "superuser"},
};

const char *canary_access_role_name(enum canary_role role)
{
	for (gsize i = 0; i < G_N_ELEMENTS(role_names); i++)
		if (role_names[i].role == role)
			return role_names[i].name;
	return "?";
}

const char *canary_access_role_group(const struct canary_config *config, enum canary_role role)
{
	switch (role) {
	case CANARY_ROLE_TRIAGE:
		return config->access.triage;
	case CANARY_ROLE_CUSTODIAN:
		return config->access.custodian;
	case CANARY_ROLE_ADMIN:
		return config->access.admin;
	case CANARY_ROLE_SUPERUSER:
		break;
	}
	return NULL;
}

/* The sections cases can be in: routing.conf's, or the one default section
 * without routing rules. NULL-terminated, owned by CONFIG. */
static const char *const *known_sections(const struct canary_config *config,
					 const char *fallback[2])
{
	if (config->rules != NULL)
		return canary_routing_sections(config->rules);
	fallback[0] = config->routing.default_section;
	fallback[1] = NULL;
	return fallback;
}

/* The group of SECTION's officers, or NULL (none set, or no routing rules). */
static const char *section_group(const struct canary_config *config, const char *section)
{
	return config->rules != NULL ? canary_routing_section_group(config->rules, section) : NULL;
}

struct canary_access *canary_access_new(const struct canary_config *config,
					const struct canary_caller *caller)
{
	struct canary_access *access = g_new0(struct canary_access, 1);
	access->config = config;
	access->caller = caller;
	/* Root, and the user of the process that answers (canaryd's, or the
	 * caller itself answering from the store it could open). */
	if (caller->uid == 0 || caller->uid == geteuid())
		access->roles |= CANARY_ROLE_SUPERUSER;
	for (gsize i = 0; i < G_N_ELEMENTS(role_names); i++) {
		const char *group = canary_access_role_group(config, role_names[i].role);
		if (canary_caller_in_group(caller, group))
			access->roles |= role_names[i].role;
	}
	access->sections = g_ptr_array_new();
	const char *fallback[2];
	const char *const *sections = known_sections(config, fallback);
	for (gsize i = 0; sections[i] != NULL; i++)
		if (canary_caller_in_group(caller, section_group(config, sections[i])))
			g_ptr_array_add(access->sections, (gpointer)sections[i]);
	g_ptr_array_add(access->sections, NULL);
	return access;
}

void canary_access_free(struct canary_access *access)
{
	if (access == NULL)
		return;
	g_ptr_array_unref(access->sections);
	g_free(access);
}

gboolean canary_access_has_role(const struct canary_access *access, enum canary_role role)
{
	return (access->roles & (role | CANARY_ROLE_SUPERUSER)) != 0;
}

const char *const *canary_access_sections(const struct canary_access *access)
{
	return (const char *const *)access->sections->pdata;
}

gboolean canary_access_may_see_section(const struct canary_access *access, const char *section)
{
	return canary_access_has_role(access, CANARY_ROLE_TRIAGE) ||
	       (section != NULL && g_strv_contains(canary_access_sections(access), section));
}

gboolean canary_access_may_see_case(const struct canary_access *access, const struct canary_case *c)
{
	if (g_strcmp0(c->status, CANARY_STATUS_QUARANTINED) == 0)
		return canary_access_has_role(access, CANARY_ROLE_TRIAGE | CANARY_ROLE_CUSTODIAN);
	return canary_access_may_see_section(access, c->section);
}

/* What would have let the caller in: "needs group G (or triage group T)",
 * with KIND before the first group when it names a role ("custodian group
 * G"). Either may be NULL; with neither, only superusers may. New string. */
static char *needs(const char *kind, const char *group, const char *triage)
{
	g_autofree char *first = group == NULL  ? NULL
				 : kind != NULL ? g_strdup_printf("%s group %s", kind, group)
						: g_strdup_printf("group %s", group);
	if (first != NULL && triage != NULL)
		return g_strdup_printf("needs %s (or triage group %s)", first, triage);
	if (first != NULL)
		return g_strdup_printf("needs %s", first);
	if (triage != NULL)
		return g_strdup_printf("needs triage group %s", triage);
	return g_strdup("only root and canaryd's user may");
}

gboolean canary_access_require_role(const struct canary_access *access, enum canary_role role,
				    GError **error)
{
	if (canary_access_has_role(access, role))
		return TRUE;
	const char *name = canary_access_role_name(role);
	const char *group = canary_access_role_group(access->config, role);
	if (group != NULL)
		g_set_error(error, CANARY_CONTROL_ERROR, CANARY_CONTROL_ERROR_FORBIDDEN,
			    "needs %s group %s ([access] %s in canary.conf); %s is not in it", name,
			    group, name, access->caller->user);
	else
		g_set_error(error, CANARY_CONTROL_ERROR, CANARY_CONTROL_ERROR_FORBIDDEN,
			    "needs the %s role, which only root and canaryd's user hold: "
			    "canary.conf sets no [access] %s group",
			    name, name);
	return FALSE;
}

gboolean canary_access_require_case(const struct canary_access *access, const struct canary_case *c,
				    GError **error)
{
	if (canary_access_may_see_case(access, c))
		return TRUE;
	const char *triage = access->config->access.triage;
	if (g_strcmp0(c->status, CANARY_STATUS_QUARANTINED) == 0) {
		g_autofree char *what =
			needs("custodian", access->config->access.custodian, triage);
		g_set_error(error, CANARY_CONTROL_ERROR, CANARY_CONTROL_ERROR_FORBIDDEN,
			    "case %s is quarantined: %s", c->ref, what);
		return FALSE;
	}
	const char *group = section_group(access->config, c->section);
	g_autofree char *what = needs(NULL, group, triage);
	g_set_error(error, CANARY_CONTROL_ERROR, CANARY_CONTROL_ERROR_FORBIDDEN,
		    "case %s is in section %s%s: %s", c->ref, c->section,
		    group == NULL ? ", which has no group in routing.conf" : "", what);
	return FALSE;
}

gboolean canary_access_count_scope(const struct canary_access *access,
				   struct canary_store_scope *scope_r, GError **error)
{
	*scope_r = (struct canary_store_scope){
		.all = canary_access_has_role(access, CANARY_ROLE_ADMIN | CANARY_ROLE_TRIAGE),
		.sections = canary_access_sections(access),
		.quarantined = canary_access_has_role(access, CANARY_ROLE_CUSTODIAN),
	};
	if (scope_r->all || scope_r->quarantined || scope_r->sections[0] != NULL)
		return TRUE;
	g_set_error(error, CANARY_CONTROL_ERROR, CANARY_CONTROL_ERROR_FORBIDDEN,
		    "%s sees no cases: in no section's group (routing.conf) and holds no role "
		    "([access] in canary.conf)",
		    access->caller->user);
	return FALSE;
}

/* whoami: the caller as the answering side sees them: user, groups, the
 * roles they hold and the sections whose cases they see. */
CANARY_OP(canary_op_whoami)
{
	(void)args;
	(void)error;
	g_autoptr(canary_access) access = canary_access_new(ctx->config, caller);
	JsonObject *result = json_object_new();
	json_object_set_string_member(result, "user", caller->user);
	json_object_set_int_member(result, "uid", caller->uid);
	JsonArray *groups = json_array_new();
	for (gsize i = 0; caller->groups[i] != NULL; i++)
		json_array_add_string_element(groups, caller->groups[i]);
	json_object_set_array_member(result, "groups", groups);
	JsonArray *roles = json_array_new();
	for (gsize i = 0; i < G_N_ELEMENTS(role_names); i++)
		if ((access->roles & role_names[i].role) != 0)
			json_array_add_string_element(roles, role_names[i].name);
	json_object_set_array_member(result, "roles", roles);
	JsonArray *sections = json_array_new();
	const char *fallback[2];
	const char *const *known = known_sections(ctx->config, fallback);
	for (gsize i = 0; known[i] != NULL; i++)
		if (canary_access_may_see_section(access, known[i]))
			json_array_add_string_element(sections, known[i]);
	json_object_set_array_member(result, "sections", sections);
	return result;
}
