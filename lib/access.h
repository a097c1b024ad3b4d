/* access.h: what a caller may do, decided by their Unix groups: [access]
 * triage/custodian/admin in canary.conf and each section's group in
 * routing.conf. Root and canaryd's own user may do everything. */
#ifndef CANARY_ACCESS_H
#define CANARY_ACCESS_H

#include <glib.h>

#include "caller.h"
#include "config.h"
#include "store.h"

enum canary_role {
	CANARY_ROLE_TRIAGE = 1 << 0,    /* sees every case, moves them */
	CANARY_ROLE_CUSTODIAN = 1 << 1, /* reveals identities, handles quarantined cases */
	CANARY_ROLE_ADMIN = 1 << 2,     /* purges; reads health, report and audit */
	CANARY_ROLE_SUPERUSER = 1 << 3, /* root or canaryd's user: everything */
};

/* What CALLER may do under CONFIG (its [access] groups and routing.conf's
 * section groups). The caller's groups are the kernel's (caller.h), never
 * anything a client said. CONFIG and CALLER must outlive the result. */
struct canary_access;
struct canary_access *canary_access_new(const struct canary_config *config,
					const struct canary_caller *caller);
void canary_access_free(struct canary_access *access);
typedef struct canary_access canary_access;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(canary_access, canary_access_free)

/* TRUE when the caller holds ROLE (or is superuser). */
gboolean canary_access_has_role(const struct canary_access *access, enum canary_role role);

/* TRUE when the caller may see the cases of SECTION: in its group, triage,
 * or superuser (custodian/admin see only through their own ops). */
gboolean canary_access_may_see_section(const struct canary_access *access, const char *section);

/* TRUE when the caller may see case C: its section's cases (above), or, for
 * a quarantined case, custodian, triage or superuser. */
gboolean canary_access_may_see_case(const struct canary_access *access,
				    const struct canary_case *c);

/* Like canary_access_has_role(), but FALSE with a CANARY_CONTROL_ERROR_FORBIDDEN
 * error that names the group missing ("... needs group canary-custodian"). */
gboolean canary_access_require_role(const struct canary_access *access, enum canary_role role,
				    GError **error);

/* The same for seeing case C (its section's group, or triage; the
 * custodian's group for a quarantined case): "case R-... is in section
 * mena: needs group canary-mena (or triage group canary-triage)". */
gboolean canary_access_require_case(const struct canary_access *access, const struct canary_case *c,
				    GError **error);

/* The sections whose group the caller is in, in routing.conf's order
 * (NULL-terminated, owned by ACCESS; empty without routing rules). */
const char *const *canary_access_sections(const struct canary_access *access);

/* The cases the caller's counts (stats, report) cover: all of them for
 * admins, triage and superusers; else those of their sections, and the
 * quarantined ones for the custodian. FALSE with FORBIDDEN when that is
 * nothing at all (a user in no group). SCOPE_R borrows from ACCESS. */
gboolean canary_access_count_scope(const struct canary_access *access,
				   struct canary_store_scope *scope_r, GError **error);

/* The Unix group that holds ROLE in CONFIG ([access]), or NULL. */
const char *canary_access_role_group(const struct canary_config *config, enum canary_role role);

/* "triage", "custodian", "admin" or "superuser". Static string. */
const char *canary_access_role_name(enum canary_role role);

#endif
