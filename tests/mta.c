/* mta.c: see mta.h. Postfix runs as root would run it (master as root,
 * its daemons as the postfix user), but with config_directory,
 * queue_directory and data_directory of its own, so that `postfix -c DIR`
 * touches nothing of a system instance. */
#include "mta.h"

#include <check.h>
#include <errno.h>
#include <pwd.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"

static void mkdir_or_fail(const char *path, mode_t mode, uid_t uid, gid_t gid)
{
	ck_assert_msg(g_mkdir_with_parents(path, (int)mode) == 0, "mkdir %s: %s", path,
		      g_strerror(errno));
	ck_assert_msg(chown(path, uid, gid) == 0, "chown %s: %s", path, g_strerror(errno));
	ck_assert_int_eq(chmod(path, mode), 0);
}

/* A Maildir owned by the Dovecot user, as Postfix's virtual agent writes it. */
static char *make_maildir(const struct tu_mta *m, const char *name)
{
	char *maildir = g_build_filename(m->dir, name, "Maildir", NULL);
	const char *const subs[] = {"new", "cur", "tmp"};
	g_autofree char *parent = g_path_get_dirname(maildir);
	mkdir_or_fail(parent, 0755, m->dovecot->uid, m->dovecot->gid);
	mkdir_or_fail(maildir, 0700, m->dovecot->uid, m->dovecot->gid);
	for (gsize i = 0; i < G_N_ELEMENTS(subs); i++) {
		g_autofree char *sub = g_build_filename(maildir, subs[i], NULL);
		mkdir_or_fail(sub, 0700, m->dovecot->uid, m->dovecot->gid);
	}
	return maildir;
}

static void write_or_fail(const char *path, const char *text)
{
	g_autoptr(GError) error = NULL;
	ck_assert_msg(g_file_set_contents(path, text, -1, &error), "%s: %s", path,
		      error != NULL ? error->message : "?");
	/* Postfix's daemons read their tables as the postfix user. */
	ck_assert_int_eq(chmod(path, 0644), 0);
}

/* The listeners of master.cf: submission (STARTTLS), SMTPS, one without
 * TLS, and the daemons Postfix needs, none chrooted. */
static char *master_cf(const struct tu_mta *m)
{
	const char *login = "-o smtpd_sasl_auth_enable=yes -o smtpd_tls_auth_only=yes "
			    "-o smtpd_client_restrictions=permit_sasl_authenticated,reject "
			    "-o smtpd_relay_restrictions=permit_sasl_authenticated,reject";
	return g_strdup_printf(
		"127.0.0.1:%u inet n - n - - smtpd -o smtpd_tls_security_level=encrypt %s\n"
		"127.0.0.1:%u inet n - n - - smtpd -o smtpd_tls_wrappermode=yes "
		"-o smtpd_tls_security_level=encrypt %s\n"
		"127.0.0.1:%u inet n - n - - smtpd -o smtpd_tls_security_level=none\n"
		"pickup unix n - n 60 1 pickup\n"
		"cleanup unix n - n - 0 cleanup\n"
		"qmgr unix n - n 300 1 qmgr\n"
		"tlsmgr unix - - n 1000? 1 tlsmgr\n"
		"rewrite unix - - n - - trivial-rewrite\n"
		"bounce unix - - n - 0 bounce\n"
		"defer unix - - n - 0 bounce\n"
		"trace unix - - n - 0 bounce\n"
		"verify unix - - n - 1 verify\n"
		"flush unix n - n 1000? 0 flush\n"
		"proxymap unix - - n - - proxymap\n"
		"proxywrite unix - - n - 1 proxymap\n"
		"smtp unix - - n - - smtp\n"
		"relay unix - - n - - smtp\n"
		"showq unix n - n - - showq\n"
		"error unix - - n - - error\n"
		"retry unix - - n - - error\n"
		"discard unix - - n - - discard\n"
		"local unix - n n - - local\n"
		"virtual unix - n n - - virtual\n"
		"anvil unix - - n - 1 anvil\n"
		"scache unix - - n - 1 scache\n"
		"postlog unix-dgram n - n - 1 postlogd\n",
		m->submission_port, login, m->smtps_port, login, m->plain_port);
}

static char *main_cf(const struct tu_mta *m, const char *etc)
{
	return g_strdup_printf(
		"compatibility_level = 3.6\n"
		"queue_directory = %s/spool\n"
		"data_directory = %s/data\n"
		"maillog_file = %s\n"
		"maillog_file_prefixes = %s\n"
		"mail_owner = postfix\n"
		"setgid_group = postdrop\n"
		"inet_interfaces = 127.0.0.1\n"
		"inet_protocols = ipv4\n"
		"myhostname = mx.example.org\n"
		"mydomain = example.org\n"
		"myorigin = example.org\n"
		"mydestination =\n"
		"mynetworks = 127.0.0.0/8\n"
		"relayhost =\n"
		"biff = no\n"
		"smtputf8_enable = no\n"
		"smtpd_banner = $myhostname ESMTP\n"
		"smtpd_tls_cert_file = %s\n"
		"smtpd_tls_key_file = %s/key.pem\n"
		"smtpd_recipient_restrictions = check_recipient_access texthash:%s/refused\n"
		"smtpd_sasl_type = dovecot\n"
		"smtpd_sasl_path = inet:127.0.0.1:%u\n"
		"virtual_mailbox_domains = example.org example.net\n"
		"virtual_mailbox_base = /\n"
		"virtual_mailbox_maps = texthash:%s/mailboxes\n"
		"virtual_uid_maps = static:%u\n"
		"virtual_gid_maps = static:%u\n"
		"virtual_minimum_uid = 1\n"
		"maximal_queue_lifetime = 1h\n"
		"queue_run_delay = 1s\n"
		"minimal_backoff_time = 1s\n"
		"maximal_backoff_time = 2s\n",
		m->dir, m->dir, m->log, m->dir, m->dovecot->ca_file, m->dovecot->dir, etc,
		m->auth_port, etc, (guint)m->dovecot->uid, (guint)m->dovecot->gid);
}

/* Who gets what: the three Maildirs by address (paths end in "/": Maildir). */
static char *mailboxes(const struct tu_mta *m)
{
	return g_strdup_printf("%s %s/\n%s %s/\n@example.org %s/\n@example.net %s/\n",
			       m->confidential, m->dovecot->maildir, m->submitter,
			       m->submitter_maildir, m->office_maildir, m->office_maildir);
}

static int postfix(const struct tu_mta *m, const char *command, char **err_r)
{
	g_autofree char *etc = g_build_filename(m->dir, "etc", NULL);
	/* sbin is not on every PATH. */
	g_autofree char *found = g_find_program_in_path("postfix");
	const char *program = found != NULL ? found : "/usr/sbin/postfix";
	const char *argv[] = {program, "-c", etc, command, NULL};
	/* Postfix makes its queue directories with the caller's umask, and its
	 * unprivileged daemons must walk into them (the tests run under 077). */
	mode_t mask = umask(022);
	int status = tu_run(argv, NULL, NULL, err_r);
	umask(mask);
	return status;
}

static gboolean ports_open(const struct tu_mta *m)
{
	return tu_port_open(m->submission_port) && tu_port_open(m->smtps_port) &&
	       tu_port_open(m->plain_port);
}

static void start(struct tu_mta *m)
{
	g_autofree char *err = NULL;
	int status = postfix(m, "start", &err);
	g_autofree char *log = NULL;
	g_file_get_contents(m->log, &log, NULL, NULL);
	ck_assert_msg(status == 0, "postfix start failed: %s\n%s", err != NULL ? err : "",
		      log != NULL ? log : "");
	for (int i = 0; i < 400 && !ports_open(m); i++)
		g_usleep(25 * 1000);
	ck_assert_msg(ports_open(m), "postfix did not open its ports");
	m->running = TRUE;
}

/* Dovecot again, with an auth listener for Postfix's SASL. */
static void add_auth_listener(struct tu_mta *m)
{
	struct tu_dovecot *d = m->dovecot;
	g_autofree char *listener = g_strdup_printf("service auth {\n"
						    "  inet_listener postfix {\n"
						    "    address = 127.0.0.1\n"
						    "    port = %u\n  }\n}\n",
						    m->auth_port);
	char *extra = g_strconcat(d->extra_conf != NULL ? d->extra_conf : "", "\n", listener, NULL);
	g_free(d->extra_conf);
	d->extra_conf = extra;
	tu_dovecot_restart(d);
	for (int i = 0; i < 400 && !tu_port_open(m->auth_port); i++)
		g_usleep(25 * 1000);
	ck_assert_msg(tu_port_open(m->auth_port), "dovecot's auth listener did not open");
}

struct tu_mta *tu_mta_start(struct tu_dovecot *d)
{
	ck_assert_msg(geteuid() == 0, "the test MTA runs Postfix as root");
	ck_assert_msg(getpwnam("postfix") != NULL,
		      "no postfix user: install postfix (scripts/deps)");
	struct tu_mta *m = g_new0(struct tu_mta, 1);
	m->dir = tu_make_tempdir();
	/* Postfix's daemons, as the postfix user, walk into its queue. */
	ck_assert_int_eq(chmod(m->dir, 0755), 0);
	m->dovecot = d;
	m->user = d->user;
	m->password = d->password;
	m->confidential = "reprisals@example.org";
	m->submitter = "submitter@example.net";
	m->submission_port = tu_free_port();
	do
		m->smtps_port = tu_free_port();
	while (m->smtps_port == m->submission_port);
	do
		m->plain_port = tu_free_port();
	while (m->plain_port == m->submission_port || m->plain_port == m->smtps_port);
	do
		m->auth_port = tu_free_port();
	while (m->auth_port == m->submission_port || m->auth_port == m->smtps_port ||
	       m->auth_port == m->plain_port);
	m->log = g_build_filename(m->dir, "postfix.log", NULL);
	m->submitter_maildir = make_maildir(m, "submitter");
	m->office_maildir = make_maildir(m, "office");

	g_autofree char *etc = g_build_filename(m->dir, "etc", NULL);
	g_autofree char *spool = g_build_filename(m->dir, "spool", NULL);
	g_autofree char *data = g_build_filename(m->dir, "data", NULL);
	mkdir_or_fail(etc, 0755, 0, 0);
	mkdir_or_fail(spool, 0755, 0, 0);
	const struct passwd *pw = getpwnam("postfix");
	mkdir_or_fail(data, 0700, pw->pw_uid, pw->pw_gid);
	g_autofree char *main_path = g_build_filename(etc, "main.cf", NULL);
	g_autofree char *master_path = g_build_filename(etc, "master.cf", NULL);
	g_autofree char *boxes_path = g_build_filename(etc, "mailboxes", NULL);
	g_autofree char *main_text = main_cf(m, etc);
	g_autofree char *master_text = master_cf(m);
	g_autofree char *boxes_text = mailboxes(m);
	write_or_fail(main_path, main_text);
	write_or_fail(master_path, master_text);
	write_or_fail(boxes_path, boxes_text);
	g_autofree char *refused_path = g_build_filename(etc, "refused", NULL);
	g_autofree char *refused_text = g_strdup_printf("%s REJECT\n", TU_MTA_REFUSED);
	write_or_fail(refused_path, refused_text);
	add_auth_listener(m);
	start(m);
	return m;
}

/* "postfix stop" returns at once: waits for the master to be gone. */
static void wait_for_master(const struct tu_mta *m)
{
	g_autofree char *pid_path = g_build_filename(m->dir, "spool", "pid", "master.pid", NULL);
	g_autofree char *text = NULL;
	if (!g_file_get_contents(pid_path, &text, NULL, NULL))
		return;
	pid_t pid = (pid_t)g_ascii_strtoll(g_strstrip(text), NULL, 10);
	for (int i = 0; pid > 0 && i < 400 && kill(pid, 0) == 0; i++)
		g_usleep(25 * 1000);
}

void tu_mta_stop(struct tu_mta *m)
{
	if (!m->running)
		return;
	g_autofree char *err = NULL;
	ck_assert_msg(postfix(m, "stop", &err) == 0, "postfix stop: %s", err != NULL ? err : "");
	wait_for_master(m);
	m->running = FALSE;
}

void tu_mta_restart(struct tu_mta *m)
{
	tu_mta_stop(m);
	start(m);
}

void tu_mta_free(struct tu_mta *m)
{
	if (m == NULL)
		return;
	if (m->running) {
		g_autofree char *err = NULL;
		postfix(m, "stop", &err);
		wait_for_master(m);
	}
	tu_rmtree(m->dir);
	g_free(m->dir);
	g_free(m->submitter_maildir);
	g_free(m->office_maildir);
	g_free(m->log);
	g_free(m);
}

char *tu_mta_url(const struct tu_mta *m, gboolean implicit_tls)
{
	/* localhost, as the certificate names it. */
	return implicit_tls ? g_strdup_printf("smtps://localhost:%u", m->smtps_port)
			    : g_strdup_printf("smtp://localhost:%u", m->submission_port);
}

char *tu_mta_canary_config(const struct tu_mta *m, const char *from)
{
	g_autofree char *password_file = g_build_filename(m->dir, "smtp-password", NULL);
	g_autofree char *line = g_strdup_printf("%s\n", m->password);
	write_or_fail(password_file, line);
	/* canaryd may run as another user in a test: it must read the file. */
	ck_assert_int_eq(chmod(password_file, 0644), 0);
	g_autofree char *url = tu_mta_url(m, FALSE);
	return g_strdup_printf("\n[smtp]\nurl = %s\nfrom = %s\nusername = %s\n"
			       "password_file = %s\nca_file = %s\n",
			       url, from, m->user, password_file, m->dovecot->ca_file);
}

/* The names of the messages in MAILDIR, sorted. */
static GPtrArray *message_paths(const char *maildir)
{
	GPtrArray *paths = g_ptr_array_new_with_free_func(g_free);
	const char *const subs[] = {"new", "cur"};
	for (gsize i = 0; i < G_N_ELEMENTS(subs); i++) {
		g_autofree char *sub = g_build_filename(maildir, subs[i], NULL);
		g_autoptr(GDir) dir = g_dir_open(sub, 0, NULL);
		for (const char *name; dir != NULL && (name = g_dir_read_name(dir)) != NULL;)
			g_ptr_array_add(paths, g_build_filename(sub, name, NULL));
	}
	return paths;
}

guint tu_mta_count(const char *maildir)
{
	g_autoptr(GPtrArray) paths = message_paths(maildir);
	return paths->len;
}

/* Sorts by file name: Maildir names start with the delivery time. */
static gint by_name(gconstpointer a, gconstpointer b)
{
	g_autofree char *x = g_path_get_basename(*(char *const *)a);
	g_autofree char *y = g_path_get_basename(*(char *const *)b);
	return strcmp(x, y);
}

GPtrArray *tu_mta_wait_messages(const char *maildir, guint count, guint seconds)
{
	gint64 until = g_get_monotonic_time() + (gint64)seconds * G_USEC_PER_SEC;
	while (tu_mta_count(maildir) < count && g_get_monotonic_time() < until)
		g_usleep(20 * 1000);
	g_autoptr(GPtrArray) paths = message_paths(maildir);
	ck_assert_msg(paths->len >= count, "%u of %u messages arrived in %s", paths->len, count,
		      maildir);
	g_ptr_array_sort(paths, by_name);
	GPtrArray *messages = g_ptr_array_new_with_free_func(g_free);
	for (guint i = 0; i < paths->len; i++) {
		char *text = NULL;
		ck_assert(g_file_get_contents(paths->pdata[i], &text, NULL, NULL));
		g_ptr_array_add(messages, text);
	}
	return messages;
}
