/* dovecot.c: a private Dovecot per test; see dovecot.h. */
#include "dovecot.h"

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"

/* A port nobody listens on now (the kernel's choice). */
guint tu_free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(fd, 0);
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = 0};
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t len = sizeof sin;
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, sizeof sin), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	close(fd);
	return ntohs(sin.sin_port);
}

int tu_listen_loopback(guint *port_r)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(fd, 0);
	struct sockaddr_in a = {.sin_family = AF_INET};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
	ck_assert_int_eq(listen(fd, 16), 0);
	socklen_t len = sizeof a;
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	*port_r = ntohs(a.sin_port);
	return fd;
}

gboolean tu_port_open(guint port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((guint16)port)};
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	gboolean open = connect(fd, (struct sockaddr *)&sin, sizeof sin) == 0;
	close(fd);
	return open;
}

static void run_or_fail(const char *const *argv)
{
	g_autofree char *err = NULL;
	int status = tu_run(argv, NULL, NULL, &err);
	ck_assert_msg(status == 0, "%s failed: %s", argv[0], err != NULL ? err : "");
}

/* A self-signed P-256 certificate for localhost and 127.0.0.1. */
static void make_certificate(const char *cert, const char *key)
{
	const char *argv[] = {"/usr/bin/openssl",
			      "req",
			      "-x509",
			      "-newkey",
			      "ec",
			      "-pkeyopt",
			      "ec_paramgen_curve:P-256",
			      "-nodes",
			      "-days",
			      "2",
			      "-subj",
			      "/CN=localhost",
			      "-addext",
			      "subjectAltName=DNS:localhost,IP:127.0.0.1",
			      "-keyout",
			      key,
			      "-out",
			      cert,
			      NULL};
	run_or_fail(argv);
}

static void chown_or_fail(const char *path, uid_t uid, gid_t gid)
{
	ck_assert_msg(chown(path, uid, gid) == 0, "chown %s: %s", path, g_strerror(errno));
}

/* Makes DIR (and parents) owned by the mail user. */
static void make_mail_dir(const struct tu_dovecot *d, const char *dir)
{
	ck_assert_int_eq(g_mkdir_with_parents(dir, 0700), 0);
	chown_or_fail(dir, d->uid, d->gid);
}

/* The Maildir++ directory of FOLDER. */
static char *folder_dir(const struct tu_dovecot *d, const char *folder)
{
	if (g_ascii_strcasecmp(folder, "INBOX") == 0)
		return g_strdup(d->maildir);
	g_autofree char *dotted = g_strdelimit(g_strdup(folder), "/", '.');
	g_autofree char *name = g_strconcat(".", dotted, NULL);
	return g_build_filename(d->maildir, name, NULL);
}

static void write_config(struct tu_dovecot *d, const char *base_dir)
{
	gboolean root = geteuid() == 0;
	g_autofree char *users = NULL;
	if (root) {
		users = g_strdup("default_internal_user = dovecot\n"
				 "default_login_user = dovenull\n");
	} else {
		/* As an ordinary user, every Dovecot process runs as that user. */
		const struct passwd *pw = getpwuid(getuid());
		ck_assert_ptr_nonnull(pw);
		users = g_strdup_printf("default_internal_user = %s\n"
					"default_internal_group = %s\n"
					"default_login_user = %s\n"
					"service anvil {\n  chroot =\n}\n"
					"service imap-login {\n  chroot =\n}\n",
					pw->pw_name, pw->pw_name, pw->pw_name);
	}
	g_autofree char *passwd = g_build_filename(d->dir, "passwd", NULL);
	g_autofree char *home = g_path_get_dirname(d->maildir);
	g_autofree char *entry = g_strdup_printf("%s:{PLAIN}%s:%u:%u::%s::\n", d->user, d->password,
						 (guint)d->uid, (guint)d->gid, home);
	ck_assert(g_file_set_contents(passwd, entry, -1, NULL));
	/* Dovecot's auth process reads it, whatever the test's umask. */
	ck_assert_int_eq(chmod(passwd, 0644), 0);
	g_autofree char *config = g_strdup_printf(
		"base_dir = %s\n"
		"state_dir = %s/state\n"
		"log_path = %s/dovecot.log\n"
		"listen = 127.0.0.1\n"
		"protocols = imap\n"
		"first_valid_uid = 1\n"
		"%s"
		"ssl = required\n"
		"ssl_cert = <%s\n"
		"ssl_key = <%s/key.pem\n"
		"disable_plaintext_auth = yes\n"
		"auth_mechanisms = plain login\n"
		"auth_failure_delay = 0\n"
		"mail_location = maildir:~/Maildir\n"
		"mail_fsync = never\n"
		"namespace inbox {\n  inbox = yes\n  separator = /\n}\n"
		"passdb {\n  driver = passwd-file\n"
		"  args = scheme=PLAIN username_format=%%u %s\n}\n"
		"userdb {\n  driver = passwd-file\n  args = username_format=%%u %s\n}\n"
		"service imap-login {\n"
		"  inet_listener imap {\n    address = 127.0.0.1\n    port = %u\n  }\n"
		"  inet_listener imaps {\n    address = 127.0.0.1\n    port = %u\n"
		"    ssl = yes\n  }\n}\n"
		"service anvil {\n  unix_listener anvil-auth-penalty {\n    mode = 0\n  }\n}\n"
		"%s\n",
		base_dir, d->dir, d->dir, users, d->ca_file, d->dir, passwd, passwd, d->imap_port,
		d->imaps_port, d->extra_conf != NULL ? d->extra_conf : "");
	ck_assert(g_file_set_contents(d->conf, config, -1, NULL));
}

/* Dovecot leads its own process group, so that tu_dovecot_kill() reaches
 * every process of it and nothing of ours; it dies with the test process
 * (TEST_PID), and its own processes follow their master. */
static void own_process_group(gpointer test_pid)
{
	setpgid(0, 0);
	tu_die_with_parent((pid_t)GPOINTER_TO_INT(test_pid));
}

static void start(struct tu_dovecot *d)
{
	/* A fresh base_dir each start: no auth penalties carried over. */
	static guint starts;
	g_autofree char *base_dir = g_strdup_printf("%s/run-%u", d->dir, ++starts);
	ck_assert_int_eq(g_mkdir_with_parents(base_dir, 0755), 0);
	write_config(d, base_dir);
	const char *argv[] = {"dovecot", "-F", "-c", d->conf, NULL};
	g_autoptr(GError) error = NULL;
	gboolean spawned = g_spawn_async(
		NULL, (char **)argv, NULL,
		G_SPAWN_SEARCH_PATH | G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDOUT_TO_DEV_NULL,
		own_process_group, GINT_TO_POINTER(getpid()), &d->pid, &error);
	ck_assert_msg(spawned, "cannot start dovecot: %s", error ? error->message : "");
	/* Without TLS ("ssl = no" in the extra config) only plain IMAP listens. */
	gboolean tls = d->extra_conf == NULL || strstr(d->extra_conf, "ssl = no") == NULL;
	for (int i = 0; i < 200; i++) {
		if ((!tls || tu_port_open(d->imaps_port)) && tu_port_open(d->imap_port))
			return;
		int status = 0;
		if (waitpid(d->pid, &status, WNOHANG) == d->pid) {
			d->pid = 0;
			g_autofree char *log_path = g_build_filename(d->dir, "dovecot.log", NULL);
			g_autofree char *log = NULL;
			g_file_get_contents(log_path, &log, NULL, NULL);
			ck_abort_msg("dovecot exited at start: %s", log != NULL ? log : "");
		}
		g_usleep(25000);
	}
	ck_abort_msg("dovecot did not open ports %u and %u", d->imap_port, d->imaps_port);
}

struct tu_dovecot *tu_dovecot_start(const char *extra_conf)
{
	struct tu_dovecot *d = g_new0(struct tu_dovecot, 1);
	d->dir = tu_make_tempdir();
	/* Dovecot's unprivileged processes walk into it. */
	ck_assert_int_eq(chmod(d->dir, 0755), 0);
	d->conf = g_build_filename(d->dir, "dovecot.conf", NULL);
	d->ca_file = g_build_filename(d->dir, "cert.pem", NULL);
	d->user = "reprisals";
	d->password = "imap test password";
	d->extra_conf = g_strdup(extra_conf);
	if (geteuid() == 0) {
		const struct passwd *pw = getpwnam("nobody");
		ck_assert_ptr_nonnull(pw);
		d->uid = pw->pw_uid;
		d->gid = pw->pw_gid;
	} else {
		d->uid = getuid();
		d->gid = getgid();
	}
	g_autofree char *home = g_build_filename(d->dir, "home", NULL);
	d->maildir = g_build_filename(home, "Maildir", NULL);
	make_mail_dir(d, home);
	for (const char *sub = "new"; sub != NULL; sub = strcmp(sub, "new") == 0   ? "cur"
							 : strcmp(sub, "cur") == 0 ? "tmp"
										   : NULL) {
		g_autofree char *path = g_build_filename(d->maildir, sub, NULL);
		make_mail_dir(d, path);
	}
	chown_or_fail(d->maildir, d->uid, d->gid);
	g_autofree char *key = g_build_filename(d->dir, "key.pem", NULL);
	make_certificate(d->ca_file, key);
	d->imap_port = tu_free_port();
	do
		d->imaps_port = tu_free_port();
	while (d->imaps_port == d->imap_port);
	start(d);
	return d;
}

void tu_dovecot_stop(struct tu_dovecot *d)
{
	if (d->pid == 0)
		return;
	kill(d->pid, SIGTERM);
	int status = 0;
	waitpid(d->pid, &status, 0);
	g_spawn_close_pid(d->pid);
	d->pid = 0;
}

void tu_dovecot_kill(struct tu_dovecot *d)
{
	if (d->pid == 0)
		return;
	GPid group = d->pid;
	kill(-group, SIGKILL);
	waitpid(group, NULL, 0);
	g_spawn_close_pid(group);
	d->pid = 0;
	/* The imap processes are gone too once the group is empty. */
	for (int i = 0; i < 100 && kill(-group, 0) == 0; i++)
		g_usleep(10000);
}

void tu_dovecot_restart(struct tu_dovecot *d)
{
	tu_dovecot_stop(d);
	start(d);
}

void tu_dovecot_free(struct tu_dovecot *d)
{
	if (d == NULL)
		return;
	tu_dovecot_stop(d);
	tu_rmtree(d->dir);
	g_free(d->dir);
	g_free(d->conf);
	g_free(d->ca_file);
	g_free(d->maildir);
	g_free(d->extra_conf);
	g_free(d);
}

char *tu_dovecot_url(const struct tu_dovecot *d, gboolean implicit_tls)
{
	return implicit_tls ? g_strdup_printf("imaps://127.0.0.1:%u/INBOX", d->imaps_port)
			    : g_strdup_printf("imap://127.0.0.1:%u/INBOX", d->imap_port);
}

char *tu_dovecot_imap_group(const struct tu_dovecot *d, const char *dir, const char *password)
{
	g_autofree char *line = g_strdup_printf("%s\n", password != NULL ? password : d->password);
	g_free(tu_write_file(dir, "imap-password", line));
	g_autofree char *url = tu_dovecot_url(d, TRUE);
	return g_strdup_printf("[imap]\nurl = %s\nusername = %s\npassword_file = imap-password\n"
			       "ca_file = %s\nconnect_timeout = 5s\n",
			       url, d->user, d->ca_file);
}

void tu_dovecot_deliver(struct tu_dovecot *d, const char *folder, GBytes *message)
{
	static guint counter;
	g_autofree char *dir = folder_dir(d, folder);
	g_autofree char *tmp = g_build_filename(dir, "tmp", NULL);
	g_autofree char *new_dir = g_build_filename(dir, "new", NULL);
	g_autofree char *cur = g_build_filename(dir, "cur", NULL);
	if (!g_file_test(new_dir, G_FILE_TEST_IS_DIR)) {
		make_mail_dir(d, dir);
		make_mail_dir(d, tmp);
		make_mail_dir(d, new_dir);
		make_mail_dir(d, cur);
	}
	/* Names sort in delivery order, so UIDs follow it. */
	g_autofree char *name =
		g_strdup_printf("%" G_GINT64_FORMAT ".M%06uP%d.canary-test",
				g_get_real_time() / G_USEC_PER_SEC, ++counter, (int)getpid());
	g_autofree char *tmp_path = g_build_filename(tmp, name, NULL);
	g_autofree char *new_path = g_build_filename(new_dir, name, NULL);
	gsize len = 0;
	const char *data = g_bytes_get_data(message, &len);
	ck_assert(g_file_set_contents(tmp_path, data != NULL ? data : "", (gssize)len, NULL));
	chown_or_fail(tmp_path, d->uid, d->gid);
	ck_assert_int_eq(chmod(tmp_path, 0600), 0);
	ck_assert_int_eq(rename(tmp_path, new_path), 0);
}

void tu_dovecot_deliver_text(struct tu_dovecot *d, const char *folder, const char *text)
{
	g_autoptr(GBytes) bytes = g_bytes_new(text, strlen(text));
	tu_dovecot_deliver(d, folder, bytes);
}

/* Adds the messages in DIR to NAMES, by their Maildir base name (the part
 * before ":2,", which a flag change or the move from new/ to cur/ keeps). */
static void add_messages(GHashTable *names, const char *dir)
{
	g_autoptr(GDir) handle = g_dir_open(dir, 0, NULL);
	for (const char *name; handle != NULL && (name = g_dir_read_name(handle)) != NULL;) {
		if (name[0] == '.')
			continue;
		const char *info = strchr(name, ':');
		g_hash_table_add(names, info != NULL ? g_strndup(name, (gsize)(info - name))
						     : g_strdup(name));
	}
}

/* Counts each message once, even while Dovecot renames it: one moved from
 * new/ to cur/ between the two reads is seen in both (a live server moves
 * every new message on its first SELECT). */
guint tu_dovecot_count(const struct tu_dovecot *d, const char *folder)
{
	g_autofree char *dir = folder_dir(d, folder);
	g_autofree char *new_dir = g_build_filename(dir, "new", NULL);
	g_autofree char *cur = g_build_filename(dir, "cur", NULL);
	g_autoptr(GHashTable) names = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	add_messages(names, new_dir);
	add_messages(names, cur);
	return g_hash_table_size(names);
}

guint tu_dovecot_count_seen(const struct tu_dovecot *d, const char *folder)
{
	g_autofree char *dir = folder_dir(d, folder);
	g_autofree char *cur = g_build_filename(dir, "cur", NULL);
	g_autoptr(GDir) handle = g_dir_open(cur, 0, NULL);
	guint seen = 0;
	for (const char *name; handle != NULL && (name = g_dir_read_name(handle)) != NULL;) {
		/* Maildir keeps the flags in the name: "...:2,FS". */
		const char *flags = strstr(name, ":2,");
		if (flags != NULL && strchr(flags + 3, 'S') != NULL)
			seen++;
	}
	return seen;
}

static void remove_files_in(const char *dir)
{
	g_autoptr(GDir) handle = g_dir_open(dir, 0, NULL);
	for (const char *name; handle != NULL && (name = g_dir_read_name(handle)) != NULL;) {
		g_autofree char *path = g_build_filename(dir, name, NULL);
		if (g_file_test(path, G_FILE_TEST_IS_REGULAR))
			unlink(path);
	}
}

void tu_dovecot_reset_inbox(struct tu_dovecot *d)
{
	tu_dovecot_stop(d);
	g_autofree char *new_dir = g_build_filename(d->maildir, "new", NULL);
	g_autofree char *cur = g_build_filename(d->maildir, "cur", NULL);
	remove_files_in(new_dir);
	remove_files_in(cur);
	/* The UID list and indexes hold the old UIDVALIDITY; the allocator
	 * file (dovecot-uidvalidity) stays, so the new value differs. */
	static const char *const forget[] = {
		"dovecot-uidlist",        "dovecot.index",
		"dovecot.index.log",      "dovecot.index.log.2",
		"dovecot.index.cache",    "dovecot.list.index",
		"dovecot.list.index.log", "dovecot.list.index.log.2",
	};
	for (gsize i = 0; i < G_N_ELEMENTS(forget); i++) {
		g_autofree char *path = g_build_filename(d->maildir, forget[i], NULL);
		unlink(path);
	}
	start(d);
}

char *tu_dovecot_pin(const struct tu_dovecot *d)
{
	g_autofree char *script = g_strdup_printf(
		"openssl x509 -in '%s' -pubkey -noout | openssl pkey -pubin -outform der | "
		"openssl dgst -sha256 -binary | base64",
		d->ca_file);
	const char *argv[] = {"/bin/sh", "-c", script, NULL};
	g_autofree char *out = NULL;
	ck_assert_int_eq(tu_run(argv, NULL, &out, NULL), 0);
	return g_strdup_printf("sha256//%s", g_strstrip(out));
}

char *tu_dovecot_other_cert(const char *dir)
{
	char *cert = g_build_filename(dir, "other-cert.pem", NULL);
	g_autofree char *key = g_build_filename(dir, "other-key.pem", NULL);
	make_certificate(cert, key);
	return cert;
}
