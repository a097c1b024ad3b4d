/* caller.h: who is asking: a Unix user and their groups, as the kernel
 * names them (SO_PEERCRED/SO_PEERGROUPS) or as this process runs. */
#ifndef CANARY_CALLER_H
#define CANARY_CALLER_H

#include <glib.h>
#include <sys/types.h>

struct canary_caller {
	uid_t uid;
	char *user;   /* from the password database, or "uid N" when it has none */
	GArray *gids; /* gid_t: primary first, then supplementary, no duplicates */
	GStrv groups; /* names of GIDS in the same order ("gid N" when unnamed) */
};

/* A caller for UID in the groups GIDS (N_GIDS of them; the first is taken
 * as primary). Names come from the user and group databases. */
struct canary_caller *canary_caller_new(uid_t uid, const gid_t *gids, gsize n_gids);

/* The user running this process, with its groups (getgroups()). */
struct canary_caller *canary_caller_new_self(void);

/* TRUE when CALLER is in the group named GROUP. */
gboolean canary_caller_in_group(const struct canary_caller *caller, const char *group);

void canary_caller_free(struct canary_caller *caller);
typedef struct canary_caller canary_caller;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(canary_caller, canary_caller_free)

#endif
