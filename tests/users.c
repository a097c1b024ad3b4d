/* users.c: see users.h. */
#include "users.h"

#include <pwd.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "testutil.h"

static void run_ok(const char *const *argv)
{
	g_autofree char *err = NULL;
	int status = tu_run(argv, NULL, NULL, &err);
	ck_assert_msg(status == 0, "%s: exit %d: %s", argv[0], status, err);
}

char *tu_unique_name(const char *prefix, const char *suffix)
{
	return g_strdup_printf("%s%ld%s", prefix, (long)getpid(), suffix);
}

void tu_group_add(const char *name)
{
	run_ok((const char *const[]){"/usr/sbin/groupadd", name, NULL});
}

void tu_group_del(const char *name)
{
	if (name != NULL)
		tu_run((const char *const[]){"/usr/sbin/groupdel", name, NULL}, NULL, NULL, NULL);
}

void tu_user_add(const char *name, const char *home_dir, const char *primary,
		 const char *groups)
{
	g_autofree char *user_home = g_build_filename(home_dir, name, NULL);
	g_autoptr(GPtrArray) argv = g_ptr_array_new();
	const char *const fixed[] = {"/usr/sbin/useradd", "-M", "-d", user_home, "-s",
				     "/bin/sh", "-p", "*"};
	for (gsize i = 0; i < G_N_ELEMENTS(fixed); i++)
		g_ptr_array_add(argv, (gpointer)fixed[i]);
	if (primary != NULL) {
		g_ptr_array_add(argv, (gpointer) "-g");
		g_ptr_array_add(argv, (gpointer)primary);
	}
	if (groups != NULL) {
		g_ptr_array_add(argv, (gpointer) "-G");
		g_ptr_array_add(argv, (gpointer)groups);
	}
	g_ptr_array_add(argv, (gpointer)name);
	g_ptr_array_add(argv, NULL);
	run_ok((const char *const *)argv->pdata);
	ck_assert_int_eq(g_mkdir(user_home, 0700), 0);
	struct passwd *pw = getpwnam(name);
	ck_assert_ptr_nonnull(pw);
	ck_assert_int_eq(chown(user_home, pw->pw_uid, pw->pw_gid), 0);
}

void tu_user_del(const char *name)
{
	if (name != NULL)
		tu_run((const char *const[]){"/usr/sbin/userdel", name, NULL}, NULL, NULL, NULL);
}

int tu_run_as(const char *user, const char *const *env, const char *const *argv, char **out_r,
	      char **err_r)
{
	g_autoptr(GPtrArray) full = g_ptr_array_new();
	if (user != NULL) {
		g_ptr_array_add(full, (gpointer) "/usr/sbin/runuser");
		g_ptr_array_add(full, (gpointer) "-u");
		g_ptr_array_add(full, (gpointer)user);
		g_ptr_array_add(full, (gpointer) "--");
	}
	g_ptr_array_add(full, (gpointer) "/usr/bin/env");
	for (gsize i = 0; env != NULL && env[i] != NULL; i++)
		g_ptr_array_add(full, (gpointer)env[i]);
	for (gsize i = 0; argv[i] != NULL; i++)
		g_ptr_array_add(full, (gpointer)argv[i]);
	g_ptr_array_add(full, NULL);
	return tu_run((const char *const *)full->pdata, NULL, out_r, err_r);
}

int tu_canary_as(const char *user, const char *tool, const char *config, char **out_r,
		 char **err_r, ...)
{
	va_list args;
	va_start(args, err_r);
	g_autoptr(GPtrArray) argv = tu_canary_argv(tool, config, NULL, args);
	va_end(args);
	return tu_run_as(user, NULL, (const char *const *)argv->pdata, out_r, err_r);
}

char *tu_copy_tool(const char *dir)
{
	char *path = g_build_filename(dir, "canary", NULL);
	run_ok((const char *const[]){"/bin/cp", CANARY_TOOL_PATH, path, NULL});
	ck_assert_int_eq(chmod(path, 0755), 0);
	return path;
}
