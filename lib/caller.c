/* caller.c: a Unix user and their groups, named from the user and group
 * databases. */
#include "caller.h"

#include <grp.h>
#include <pwd.h>
#include <string.h>
#include <unistd.h>

static char *user_name(uid_t uid)
{
	char buf[4096];
	struct passwd pw, *found = NULL;
	if (getpwuid_r(uid, &pw, buf, sizeof(buf), &found) == 0 && found != NULL)
		return g_strdup(found->pw_name);
	return g_strdup_printf("uid %u", (unsigned)uid);
}

static char *group_name(gid_t gid)
{
	char buf[4096];
	struct group gr, *found = NULL;
	if (getgrgid_r(gid, &gr, buf, sizeof(buf), &found) == 0 && found != NULL)
		return g_strdup(found->gr_name);
	return g_strdup_printf("gid %u", (unsigned)gid);
}

struct canary_caller *canary_caller_new(uid_t uid, const gid_t *gids, gsize n_gids)
{
	struct canary_caller *caller = g_new0(struct canary_caller, 1);
	caller->uid = uid;
	caller->user = user_name(uid);
	caller->gids = g_array_new(FALSE, FALSE, sizeof(gid_t));
	g_autoptr(GPtrArray) names = g_ptr_array_new();
	for (gsize i = 0; i < n_gids; i++) {
		gboolean seen = FALSE;
		for (guint j = 0; j < caller->gids->len && !seen; j++)
			seen = g_array_index(caller->gids, gid_t, j) == gids[i];
		if (seen)
			continue;
		g_array_append_val(caller->gids, gids[i]);
		g_ptr_array_add(names, group_name(gids[i]));
	}
	g_ptr_array_add(names, NULL);
	caller->groups = (GStrv)g_ptr_array_steal(names, NULL);
	return caller;
}

struct canary_caller *canary_caller_new_self(void)
{
	int n = getgroups(0, NULL);
	g_autofree gid_t *gids = g_new(gid_t, (gsize)MAX(n, 0) + 1);
	gids[0] = getgid();
	int got = n > 0 ? getgroups(n, gids + 1) : 0;
	return canary_caller_new(getuid(), gids, (gsize)MAX(got, 0) + 1);
}

gboolean canary_caller_in_group(const struct canary_caller *caller, const char *group)
{
	return group != NULL && g_strv_contains((const char *const *)caller->groups, group);
}

void canary_caller_free(struct canary_caller *caller)
{
	if (caller == NULL)
		return;
	g_free(caller->user);
	g_array_unref(caller->gids);
	g_strfreev(caller->groups);
	g_free(caller);
}
