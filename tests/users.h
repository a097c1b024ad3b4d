/* users.h: real Unix users and groups for tests of access rules (root
 * only: useradd, groupadd), and running commands as them. Names are unique
 * per test process; whoever makes one removes it. */
#ifndef CANARY_TEST_USERS_H
#define CANARY_TEST_USERS_H

#include <glib.h>

/* PREFIX, this process's id, SUFFIX: unique on this machine while the test
 * runs (keep it under useradd's 32 bytes). New string. */
char *tu_unique_name(const char *prefix, const char *suffix);

void tu_group_add(const char *name);
void tu_group_del(const char *name);

/* Makes user NAME: home HOME_DIR/NAME (created, 0700, theirs), shell
 * /bin/sh, password "*" (no password login, but not a locked account:
 * sshd refuses locked ones even with a key), primary group PRIMARY (NULL:
 * useradd's default) and the supplementary GROUPS ("a,b"; NULL: none). */
void tu_user_add(const char *name, const char *home_dir, const char *primary,
		 const char *groups);
void tu_user_del(const char *name);

/* Runs ARGV as USER (runuser -u; NULL: as this process) with ENV ("K=V"...,
 * NULL-terminated, may be NULL) added, capturing as tu_run() does.
 * Returns the exit status. */
int tu_run_as(const char *user, const char *const *env, const char *const *argv, char **out_r,
	      char **err_r);

/* Runs "TOOL ARGS... -c CONFIG" (ARGS NULL-terminated) as USER (NULL: as
 * this process), standard input from /dev/null. Returns the exit status. */
int tu_canary_as(const char *user, const char *tool, const char *config, char **out_r,
		 char **err_r, ...) G_GNUC_NULL_TERMINATED;

/* Copies the built canary to DIR/canary (0755) and returns its path: the
 * build tree may sit where other users cannot reach it (a checkout in a
 * 0700 temporary directory). */
char *tu_copy_tool(const char *dir);

#endif
