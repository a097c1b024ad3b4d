/* check_control.c: the control protocol and its transports: the framing
 * against malformed input; canaryd's socket with real Unix users and groups
 * made for the test (the kernel names the caller); canaryd down; canary
 * --host through a real sshd on 127.0.0.1. Runs as root (CI does): it
 * creates and removes users and groups with useradd/groupadd. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "canaryd.h"
#include "control.h"
#include "server.h"
#include "testutil.h"
#include "users.h"

/* --- Framing ---------------------------------------------------------------- */

/* A connected pair: frames written on [0] are read on [1]. */
static void make_pair(int fds[2])
{
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
}

static void write_raw(int fd, const void *data, gsize len)
{
	ck_assert_int_eq(write(fd, data, len), (ssize_t)len);
}

/* Writes a frame header saying LEN bytes follow. */
static void write_header(int fd, guint32 len)
{
	guint8 h[4] = {(guint8)(len >> 24), (guint8)(len >> 16), (guint8)(len >> 8), (guint8)len};
	write_raw(fd, h, sizeof(h));
}

/* Reads one request frame from a peer that sent DATA (LEN bytes) and then
 * hung up; returns the error's message (new), or NULL if a frame was read. */
static char *read_error_after(const void *data, gsize len)
{
	int fds[2];
	make_pair(fds);
	if (len > 0)
		write_raw(fds[0], data, len);
	close(fds[0]);
	gboolean eof = FALSE;
	g_autoptr(GError) error = NULL;
	g_autoptr(JsonObject) frame =
		canary_control_read_frame(fds[1], CANARY_CONTROL_REQUEST_MAX, 1000, &eof, &error);
	close(fds[1]);
	if (frame != NULL)
		return NULL;
	ck_assert_msg(error != NULL || eof, "no frame, no error, no end");
	if (error == NULL)
		return g_strdup("(end)");
	ck_assert_msg(g_error_matches(error, CANARY_CONTROL_ERROR, CANARY_CONTROL_ERROR_PROTOCOL),
		      "%s", error->message);
	return g_strdup(error->message);
}

/* A frame of TEXT: header and payload. */
static GByteArray *frame_of(const char *text)
{
	GByteArray *frame = g_byte_array_new();
	guint32 len = (guint32)strlen(text);
	guint8 h[4] = {(guint8)(len >> 24), (guint8)(len >> 16), (guint8)(len >> 8), (guint8)len};
	g_byte_array_append(frame, h, 4);
	g_byte_array_append(frame, (const guint8 *)text, len);
	return frame;
}

static void assert_refused(const char *text, const char *expected)
{
	g_autoptr(GByteArray) frame = frame_of(text);
	g_autofree char *message = read_error_after(frame->data, frame->len);
	ck_assert_msg(message != NULL, "'%s' was accepted", text);
	ck_assert_msg(strstr(message, expected) != NULL, "'%s': %s (expected %s)", text, message,
		      expected);
}

START_TEST(test_frame_round_trip)
{
	int fds[2];
	make_pair(fds);
	g_autoptr(JsonObject) sent = json_object_new();
	json_object_set_int_member(sent, "canary", 1);
	json_object_set_string_member(sent, "op", "whoami");
	ck_assert(canary_control_write_frame(fds[0], sent, CANARY_CONTROL_REQUEST_MAX, 1000, NULL));
	ck_assert(canary_control_write_frame(fds[0], sent, CANARY_CONTROL_REQUEST_MAX, 1000, NULL));
	close(fds[0]);
	for (int i = 0; i < 2; i++) {
		gboolean eof = TRUE;
		g_autoptr(JsonObject) got = canary_control_read_frame(
			fds[1], CANARY_CONTROL_REQUEST_MAX, 1000, &eof, NULL);
		ck_assert_ptr_nonnull(got);
		ck_assert(!eof);
		ck_assert_str_eq(json_object_get_string_member(got, "op"), "whoami");
	}
	/* Then a clean end between two frames: no error. */
	gboolean eof = FALSE;
	g_autoptr(GError) error = NULL;
	ck_assert_ptr_null(
		canary_control_read_frame(fds[1], CANARY_CONTROL_REQUEST_MAX, 1000, &eof, &error));
	ck_assert(eof);
	ck_assert_ptr_null(error);
	close(fds[1]);
}
END_TEST

START_TEST(test_frame_malformed)
{
	/* Truncated: in the header, and in the payload. */
	g_autofree char *short_header = read_error_after("\0\0", 2);
	ck_assert_ptr_nonnull(strstr(short_header, "truncated"));
	g_autoptr(GByteArray) cut = frame_of("{\"canary\":1,\"op\":\"whoami\"}");
	g_autofree char *short_payload = read_error_after(cut->data, cut->len - 3);
	ck_assert_ptr_nonnull(strstr(short_payload, "truncated"));
	/* Not an object, not JSON, not UTF-8, NUL, nested too deep. */
	assert_refused("[1,2,3]", "not a JSON object");
	assert_refused("\"text\"", "not a JSON object");
	assert_refused("{\"canary\":1,", "invalid JSON");
	assert_refused("hello", "invalid JSON");
	assert_refused("{\"op\":\"\xff\xfe\"}", "not UTF-8");
	g_autoptr(GString) deep = g_string_new("{\"a\":");
	for (int i = 0; i < 100000; i++)
		g_string_append_c(deep, '[');
	assert_refused(deep->str, "deeper than");
	/* Brackets inside strings are text, not nesting. */
	g_autoptr(GString) brackets = g_string_new("{\"op\":\"");
	for (int i = 0; i < 1000; i++)
		g_string_append(brackets, "[{");
	g_string_append(brackets, "\"}");
	g_autoptr(GByteArray) ok = frame_of(brackets->str);
	ck_assert_ptr_null(read_error_after(ok->data, ok->len));
	guint8 nul[] = {0, 0, 0, 3, '{', 0, '}'};
	g_autofree char *with_nul = read_error_after(nul, sizeof(nul));
	ck_assert_ptr_nonnull(strstr(with_nul, "NUL"));
}
END_TEST

START_TEST(test_frame_limits)
{
	/* Oversize is refused from the header, before any payload is read. */
	int fds[2];
	make_pair(fds);
	write_header(fds[0], CANARY_CONTROL_REQUEST_MAX + 1);
	gboolean eof = FALSE;
	g_autoptr(GError) error = NULL;
	ck_assert_ptr_null(
		canary_control_read_frame(fds[1], CANARY_CONTROL_REQUEST_MAX, 1000, &eof, &error));
	ck_assert_ptr_nonnull(strstr(error->message, "oversize frame of 1048577 bytes"));
	g_clear_error(&error);
	/* An empty frame. */
	write_header(fds[0], 0);
	ck_assert_ptr_null(
		canary_control_read_frame(fds[1], CANARY_CONTROL_REQUEST_MAX, 1000, &eof, &error));
	ck_assert_ptr_nonnull(strstr(error->message, "empty frame"));
	g_clear_error(&error);
	/* A peer that says nothing: the wait ends with an error. */
	gint64 start = g_get_monotonic_time();
	ck_assert_ptr_null(
		canary_control_read_frame(fds[1], CANARY_CONTROL_REQUEST_MAX, 200, &eof, &error));
	ck_assert_ptr_nonnull(strstr(error->message, "timed out"));
	ck_assert_int_ge(g_get_monotonic_time() - start, 190 * 1000);
	g_clear_error(&error);
	/* A writer does not send what the reader would refuse. */
	g_autofree char *big = g_malloc0(CANARY_CONTROL_REQUEST_MAX + 1);
	ck_assert(!canary_control_write_payload(fds[0], big, CANARY_CONTROL_REQUEST_MAX + 1,
						CANARY_CONTROL_REQUEST_MAX, 1000, &error));
	ck_assert(g_error_matches(error, CANARY_CONTROL_ERROR, CANARY_CONTROL_ERROR_USAGE));
	close(fds[0]);
	close(fds[1]);
}
END_TEST

/* The error code and message of RESPONSE; NULL code when it is ok. */
static const char *error_code(JsonObject *response, const char **message_r)
{
	if (json_object_get_boolean_member_with_default(response, "ok", FALSE))
		return NULL;
	JsonObject *e = json_object_get_object_member(response, "error");
	if (message_r != NULL)
		*message_r = json_object_get_string_member(e, "message");
	return json_object_get_string_member(e, "code");
}

START_TEST(test_request_version_and_op)
{
	/* whoami reads the [access] groups: a real configuration. */
	g_autofree char *dir = tu_make_tempdir();
	g_autofree char *path = tu_make_canary_home(dir, FALSE, NULL);
	g_autoptr(GError) load_error = NULL;
	g_autoptr(canary_config) config = canary_config_load(path, &load_error);
	ck_assert_msg(config != NULL, "%s", load_error != NULL ? load_error->message : "");
	struct canary_control_context ctx = {.config = config};
	g_autoptr(canary_caller) caller = canary_caller_new_self();
	static const struct {
		const char *request, *code, *message;
	} cases[] = {
		{"{\"op\":\"whoami\"}", "protocol", "version"},
		{"{\"canary\":2,\"op\":\"whoami\"}", "protocol", "version 1"},
		{"{\"canary\":\"1\",\"op\":\"whoami\"}", "protocol", "version"},
		{"{\"canary\":1}", "protocol", "no \"op\""},
		{"{\"canary\":1,\"op\":7}", "protocol", "no \"op\""},
		{"{\"canary\":1,\"op\":\"fly\"}", "usage", "unknown operation"},
		{"{\"canary\":1,\"op\":\"whoami\",\"args\":[]}", "protocol", "\"args\""},
		{"{\"canary\":1,\"op\":\"whoami\"}", NULL, NULL},
		{"{\"canary\":1,\"op\":\"whoami\",\"args\":{}}", NULL, NULL},
	};
	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(GError) error = NULL;
		g_autoptr(JsonObject) request =
			canary_control_parse(cases[i].request, strlen(cases[i].request), &error);
		ck_assert_msg(request != NULL, "%s: %s", cases[i].request, error->message);
		g_autoptr(JsonObject) response = canary_control_handle(&ctx, caller, request);
		ck_assert_int_eq(json_object_get_int_member(response, "canary"), 1);
		const char *message = NULL;
		const char *code = error_code(response, &message);
		ck_assert_msg(g_strcmp0(code, cases[i].code) == 0, "%s: code %s", cases[i].request,
			      code);
		if (cases[i].message != NULL)
			ck_assert_msg(strstr(message, cases[i].message) != NULL, "%s: %s",
				      cases[i].request, message);
	}
	tu_rmtree(dir);
}
END_TEST

/* --- Users and groups made for the test --------------------------------------- */

static char *home;      /* 0711: the test users reach what they need in it */
static char *tool_path; /* a copy of the built canary the test users can run */
static char *config;    /* canary.conf, readable by all */
static char *socket_path;
static char *officers, *other_group; /* group names */
static char *africa_group;           /* routing.conf's group of section africa */
static char *officer, *outsider;     /* user names */
static char *bystander;              /* in the control group, in no section's */

static void run_ok(const char *const *argv)
{
	g_autofree char *err = NULL;
	int status = tu_run(argv, NULL, NULL, &err);
	ck_assert_msg(status == 0, "%s: exit %d: %s", argv[0], status, err);
}

/* Unchecked (in the runner's process): the users outlive a failed test
 * only until the suite ends. */
static void users_setup(void)
{
	officers = tu_unique_name("cnr", "off");
	other_group = tu_unique_name("cnr", "oth");
	africa_group = tu_unique_name("cnr", "afr");
	officer = tu_unique_name("cnr", "a");
	outsider = tu_unique_name("cnr", "n");
	bystander = tu_unique_name("cnr", "i");
	home = tu_make_tempdir();
	ck_assert_int_eq(chmod(home, 0711), 0);
	/* The build tree may sit where other users cannot reach (a checkout in
	 * a 0700 temporary directory): they run a copy. */
	g_autofree char *bin = g_build_filename(home, "bin", NULL);
	ck_assert_int_eq(g_mkdir(bin, 0755), 0);
	tool_path = tu_copy_tool(bin);
	tu_group_add(officers);
	tu_group_add(other_group);
	tu_group_add(africa_group);
	g_autofree char *officer_groups = g_strdup_printf("%s,%s", officers, africa_group);
	tu_user_add(officer, home, other_group, officer_groups);
	tu_user_add(outsider, home, other_group, NULL);
	tu_user_add(bystander, home, other_group, officers);
}

static void users_teardown(void)
{
	const char *const users[] = {officer, outsider, bystander};
	for (gsize i = 0; i < G_N_ELEMENTS(users); i++)
		tu_user_del(users[i]);
	const char *const groups[] = {officers, other_group, africa_group};
	for (gsize i = 0; i < G_N_ELEMENTS(groups); i++)
		tu_group_del(groups[i]);
	tu_rmtree(home);
	g_clear_pointer(&home, g_free);
	g_clear_pointer(&tool_path, g_free);
	g_clear_pointer(&officers, g_free);
	g_clear_pointer(&other_group, g_free);
	g_clear_pointer(&officer, g_free);
	g_clear_pointer(&outsider, g_free);
	g_clear_pointer(&bystander, g_free);
	g_clear_pointer(&africa_group, g_free);
}

static pid_t canaryd_pid;
static char *canaryd_log;

/* Checked: a fresh canary home under the users' home for each test, with
 * the control socket in run/ (as systemd's RuntimeDirectory=) and an IMAP
 * server that is not there (the polls fail; the socket is what is tested). */
static void daemon_setup(void)
{
	g_autofree char *dir = g_build_filename(home, "canary", NULL);
	tu_rmtree(dir);
	ck_assert_int_eq(g_mkdir(dir, 0711), 0);
	g_autofree char *run = g_build_filename(dir, "run", NULL);
	ck_assert_int_eq(g_mkdir(run, 0755), 0);
	socket_path = g_build_filename(run, "control", NULL);
	canaryd_log = g_build_filename(dir, "canaryd.log", NULL);
	g_free(tu_write_file(dir, "imap-password", "not used\n"));
	/* Sections by recipient; africa's officers are a group that exists,
	 * mena's one that does not (nobody but triage sees mena). */
	g_autofree char *routing = g_strdup_printf(
		"[section africa]\ntitle = Africa\nrecipients = reprisals+africa@*\n"
		"public_key = keys/section.pub\ngroup = %s\n"
		"[section mena]\ntitle = MENA\nrecipients = reprisals+mena@*\n"
		"public_key = keys/other.pub\ngroup = %s-mena\n"
		"[section triage]\ntitle = Triage\npublic_key = keys/triage.pub\n",
		africa_group, officers);
	g_free(tu_write_file(dir, "routing.conf", routing));
	g_autofree char *extra =
		g_strdup_printf("[imap]\nurl = imaps://127.0.0.1:9/INBOX\n"
				"username = intake\npassword_file = imap-password\n"
				"connect_timeout = 1s\n"
				"[routing]\nrules = routing.conf\ndefault_section = triage\n"
				"[control]\nsocket = %s\ngroup = %s\n",
				socket_path, officers);
	config = tu_make_canary_home(dir, FALSE, extra);
	ck_assert_int_eq(chmod(config, 0644), 0);
}

static void daemon_teardown(void)
{
	g_clear_pointer(&canaryd_log, g_free);
	g_clear_pointer(&config, g_free);
	g_clear_pointer(&socket_path, g_free);
}

/* --- canaryd ------------------------------------------------------------------ */


/* Starts canaryd, handing it LISTEN_FD as systemd's socket activation
 * does unless it is -1, and waits until its socket answers. */
static void start_canaryd_with(int listen_fd)
{
	canaryd_pid = tu_canaryd_start(config, canaryd_log, socket_path, listen_fd);
}

static void start_canaryd(void)
{
	start_canaryd_with(-1);
}

/* SIGTERM; returns canaryd's exit status (fails after 10 s). */
static int stop_canaryd(void)
{
	return tu_canaryd_stop(canaryd_pid, 10);
}

static char *read_log(void)
{
	char *text = NULL;
	ck_assert(g_file_get_contents(canaryd_log, &text, NULL, NULL));
	return text;
}

/* The built canary (its copy) with ARGS... -c CONFIG as USER (NULL: root). */
#define canary_as(user, out_r, err_r, ...)                                                        \
	tu_canary_as(user, tool_path, config, out_r, err_r, __VA_ARGS__)

/* Lines of TEXT, not counting a last newline. */
static guint line_count(const char *text)
{
	g_autofree char *copy = g_strdup(text);
	g_auto(GStrv) lines = g_strsplit(g_strstrip(copy), "\n", -1);
	return g_strv_length(lines);
}

/* Sends raw BYTES to the socket as root and reads the answer frame. */
static JsonObject *raw_exchange(const void *bytes, gsize len)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	g_strlcpy(addr.sun_path, socket_path, sizeof(addr.sun_path));
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	if (len > 0)
		write_raw(fd, bytes, len);
	gboolean eof = FALSE;
	g_autoptr(GError) error = NULL;
	JsonObject *response =
		canary_control_read_frame(fd, CANARY_CONTROL_RESPONSE_MAX, 10000, &eof, &error);
	ck_assert_msg(response != NULL, "%s", error != NULL ? error->message : "end");
	/* canaryd hangs up after a broken frame. */
	char c;
	ck_assert_int_eq(read(fd, &c, 1), 0);
	close(fd);
	return response;
}

START_TEST(test_socket_names_the_caller)
{
	start_canaryd();
	struct stat st;
	ck_assert_int_eq(stat(socket_path, &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0660);
	ck_assert_int_eq(st.st_gid, getgrnam(officers)->gr_gid);

	/* The officer: the user and every group the kernel reports. */
	g_autofree char *out = NULL, *err = NULL;
	ck_assert_msg(canary_as(officer, &out, &err, "whoami", NULL) == 0, "%s", err);
	g_autofree char *user_line = g_strdup_printf("user: %s\n", officer);
	ck_assert_msg(strstr(out, user_line) != NULL, "%s", out);
	ck_assert_msg(strstr(out, officers) != NULL && strstr(out, other_group) != NULL, "%s", out);
	/* The same through canary bridge (what ssh runs), with its framing. */
	g_autofree char *bridged = g_strdup_printf("%s --host x whoami", tool_path);
	g_autofree char *remote = g_strdup_printf("%s bridge -c %s", tool_path, config);
	g_autofree char *fake_ssh = g_build_filename(home, "canary", "fake-ssh", NULL);
	/* An "ssh" that runs the remote command here, as the user calling it. */
	g_autofree char *fake_dir = g_path_get_dirname(fake_ssh);
	g_free(tu_write_file(fake_dir, "fake-ssh",
			     "#!/bin/sh\n# fake-ssh -T -- HOST COMMAND\nexec /bin/sh -c \"$4\"\n"));
	ck_assert_int_eq(chmod(fake_ssh, 0755), 0);
	g_autofree char *env_ssh = g_strdup_printf("CANARY_SSH=%s", fake_ssh);
	g_autofree char *env_remote = g_strdup_printf("CANARY_REMOTE_COMMAND=%s", remote);
	const char *argv[] = {"/usr/sbin/runuser", "-u",     officer, "--", tool_path, "--host",
			      "nowhere",           "whoami", NULL};
	const char *envp[] = {env_ssh, env_remote, NULL};
	g_autofree char *out2 = NULL, *err2 = NULL;
	ck_assert_msg(tu_run(argv, envp, &out2, &err2) == 0, "%s", err2);
	ck_assert_msg(strstr(out2, user_line) != NULL, "%s", out2);

	/* Root through the socket too, while canaryd runs. */
	g_autofree char *out3 = NULL;
	ck_assert_int_eq(canary_as(NULL, &out3, NULL, "whoami", NULL), 0);
	ck_assert_ptr_nonnull(strstr(out3, "user: root\n"));

	/* One log line per request: user, op, outcome; never content. */
	ck_assert_int_eq(stop_canaryd(), 0);
	g_autofree char *log = read_log();
	g_autofree char *line = g_strdup_printf("control: %s (pid ", officer);
	ck_assert_msg(strstr(log, line) != NULL && strstr(log, "): whoami: ok") != NULL, "%s", log);
	/* Its socket is gone with it. */
	ck_assert(!g_file_test(socket_path, G_FILE_TEST_EXISTS));
}
END_TEST

START_TEST(test_socket_refuses_others)
{
	start_canaryd();
	/* Not in [control] group: the kernel refuses the connection. */
	g_autofree char *err = NULL;
	ck_assert_int_eq(canary_as(outsider, NULL, &err, "whoami", NULL), 8);
	ck_assert_msg(strstr(err, "Permission denied") != NULL && strstr(err, socket_path), "%s",
		      err);
	ck_assert_int_eq(line_count(err), 1);

	/* Broken frames get a clear error, then the connection ends. */
	g_autoptr(JsonObject) oversize = raw_exchange("\x7f\xff\xff\xff", 4);
	const char *message = NULL;
	ck_assert_str_eq(error_code(oversize, &message), "protocol");
	ck_assert_ptr_nonnull(strstr(message, "oversize"));
	g_autoptr(GByteArray) junk = frame_of("not json");
	g_autoptr(JsonObject) invalid = raw_exchange(junk->data, junk->len);
	ck_assert_str_eq(error_code(invalid, &message), "protocol");
	ck_assert_ptr_nonnull(strstr(message, "invalid JSON"));
	/* A wrong version is answered, and the connection may go on. */
	g_autoptr(GByteArray) v2 = frame_of("{\"canary\":2,\"op\":\"whoami\"}");
	g_autoptr(GByteArray) v1 = frame_of("{\"canary\":1,\"op\":\"whoami\"}");
	g_byte_array_append(v2, v1->data, v1->len);
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	g_strlcpy(addr.sun_path, socket_path, sizeof(addr.sun_path));
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	write_raw(fd, v2->data, v2->len);
	gboolean eof = FALSE;
	g_autoptr(JsonObject) first =
		canary_control_read_frame(fd, CANARY_CONTROL_RESPONSE_MAX, 10000, &eof, NULL);
	g_autoptr(JsonObject) second =
		canary_control_read_frame(fd, CANARY_CONTROL_RESPONSE_MAX, 10000, &eof, NULL);
	ck_assert_str_eq(error_code(first, NULL), "protocol");
	ck_assert_ptr_null(error_code(second, NULL));
	close(fd);
	/* Clients at once are bounded: the next one hears canaryd is busy. */
	int idle[CANARY_SERVER_MAX_CLIENTS];
	for (int i = 0; i < CANARY_SERVER_MAX_CLIENTS; i++) {
		idle[i] = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		ck_assert_int_eq(connect(idle[i], (struct sockaddr *)&addr, sizeof(addr)), 0);
	}
	g_autoptr(JsonObject) busy = raw_exchange("", 0);
	ck_assert_str_eq(error_code(busy, &message), "unavailable");
	ck_assert_ptr_nonnull(strstr(message, "busy"));
	for (int i = 0; i < CANARY_SERVER_MAX_CLIENTS; i++)
		close(idle[i]);
	/* Polling went on meanwhile, and canaryd stops cleanly. */
	ck_assert_int_eq(stop_canaryd(), 0);
}
END_TEST

START_TEST(test_canaryd_down)
{
	/* An officer: one line, exit 7. */
	g_autofree char *err = NULL;
	ck_assert_int_eq(canary_as(officer, NULL, &err, "whoami", NULL), 7);
	g_autofree char *expected = g_strdup_printf(
		"canary: canaryd is not running (no control socket at %s", socket_path);
	ck_assert_msg(g_str_has_prefix(err, expected), "%s", err);
	ck_assert_int_eq(line_count(err), 1);
	/* Root works locally, from the store, as itself. */
	g_autofree char *out = NULL, *err2 = NULL;
	ck_assert_msg(canary_as(NULL, &out, &err2, "whoami", NULL) == 0, "%s", err2);
	ck_assert_ptr_nonnull(strstr(out, "user: root\n"));
	/* A stale socket left by a dead canaryd is replaced at the next start. */
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	g_strlcpy(addr.sun_path, socket_path, sizeof(addr.sun_path));
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	close(fd);
	/* As canaryd leaves it: open to its group, nobody listening. */
	ck_assert_int_eq(chown(socket_path, 0, getgrnam(officers)->gr_gid), 0);
	ck_assert_int_eq(chmod(socket_path, 0660), 0);
	g_autofree char *err3 = NULL;
	ck_assert_int_eq(canary_as(officer, NULL, &err3, "whoami", NULL), 7);
	start_canaryd();
	g_autofree char *out4 = NULL;
	ck_assert_int_eq(canary_as(officer, &out4, NULL, "whoami", NULL), 0);
	ck_assert_int_eq(stop_canaryd(), 0);
}
END_TEST

START_TEST(test_socket_from_systemd)
{
	/* As canaryd.socket makes it: listening, 0660, the officers' group. */
	int fd = socket(AF_UNIX, SOCK_STREAM, 0); /* inherited: no CLOEXEC */
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	g_strlcpy(addr.sun_path, socket_path, sizeof(addr.sun_path));
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	ck_assert_int_eq(listen(fd, 16), 0);
	ck_assert_int_eq(chown(socket_path, 0, getgrnam(officers)->gr_gid), 0);
	ck_assert_int_eq(chmod(socket_path, 0660), 0);
	start_canaryd_with(fd);
	close(fd);
	g_autofree char *out = NULL, *err = NULL;
	ck_assert_msg(canary_as(officer, &out, &err, "whoami", NULL) == 0, "%s", err);
	g_autofree char *user_line = g_strdup_printf("user: %s\n", officer);
	ck_assert_msg(strstr(out, user_line) != NULL, "%s", out);
	ck_assert_int_eq(stop_canaryd(), 0);
	g_autofree char *log = read_log();
	ck_assert_msg(strstr(log, "control socket ready (from systemd)") != NULL, "%s", log);
	/* systemd's socket is systemd's to remove. */
	ck_assert(g_file_test(socket_path, G_FILE_TEST_EXISTS));
}
END_TEST

START_TEST(test_missing_group_is_a_config_error)
{
	g_autofree char *text = NULL;
	ck_assert(g_file_get_contents(config, &text, NULL, NULL));
	g_autofree char *from = g_strdup_printf("group = %s", officers);
	g_auto(GStrv) parts = g_strsplit(text, from, 2);
	g_autofree char *changed = g_strjoinv("group = no-such-group-canary", parts);
	ck_assert(g_file_set_contents(config, changed, -1, NULL));
	const char *argv[] = {CANARYD_PATH, "-c", config, NULL};
	g_autofree char *err = NULL;
	ck_assert_int_eq(tu_run(argv, NULL, NULL, &err), 3);
	ck_assert_msg(strstr(err, "[control] group: no such group 'no-such-group-canary'") !=
				      NULL &&
			      strstr(err, config) != NULL,
		      "%s", err);
}
END_TEST

/* --- canary --host through a real sshd --------------------------------------- */

static guint free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sin = {.sin_family = AF_INET};
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t len = sizeof(sin);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	close(fd);
	return ntohs(sin.sin_port);
}

static gboolean port_answers(guint port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((guint16)port)};
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	gboolean ok = connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0;
	close(fd);
	return ok;
}

static char *read_text(const char *path)
{
	char *text = NULL;
	ck_assert(g_file_get_contents(path, &text, NULL, NULL));
	return text;
}

/* --- Officers' scenario: cases in sections, opened by real users --------------- */

/* Files the three messages of tests/data/nspawn (africa, mena, triage by
 * recipient) as root, with canaryd down (import works on the store). */
static void file_cases(void)
{
	g_autofree char *africa = tu_data_path("nspawn/africa.eml");
	g_autofree char *mena = tu_data_path("nspawn/mena.eml");
	g_autofree char *triage = tu_data_path("nspawn/triage.eml");
	g_autofree char *err = NULL;
	int status = canary_as(NULL, NULL, &err, "import", africa, mena, triage, NULL);
	ck_assert_msg(status == 0, "import: exit %d: %s", status, err);
}

/* The reference of the one case of SECTION (asked as root). New string. */
static char *case_of(const char *section)
{
	g_autofree char *out = NULL, *err = NULL;
	int status = canary_as(NULL, &out, &err, "list", "--section", section, "--json", NULL);
	ck_assert_msg(status == 0, "list: exit %d: %s", status, err);
	return tu_only_case_ref(out);
}

/* Copies the africa section's secret key and its passphrase into USER's
 * home, theirs alone: the key the officer holds. Returns the key's path. */
static char *give_section_key(const char *user)
{
	g_autofree char *user_home = g_build_filename(home, user, NULL);
	g_autofree char *src_key = g_build_filename(home, "canary", "keys", "section.key", NULL);
	g_autofree char *key_text = NULL;
	gsize len = 0;
	ck_assert(g_file_get_contents(src_key, &key_text, &len, NULL));
	char *key = g_build_filename(user_home, "africa.key", NULL);
	g_autofree char *pass = g_build_filename(user_home, "passphrase", NULL);
	struct passwd *pw = getpwnam(user);
	ck_assert_ptr_nonnull(pw);
	ck_assert(g_file_set_contents(key, key_text, (gssize)len, NULL));
	ck_assert(g_file_set_contents(pass, TU_PASSPHRASE "\n", -1, NULL));
	const char *files[] = {key, pass};
	for (gsize i = 0; i < G_N_ELEMENTS(files); i++) {
		ck_assert_int_eq(chown(files[i], pw->pw_uid, pw->pw_gid), 0);
		ck_assert_int_eq(chmod(files[i], 0600), 0);
	}
	return key;
}

START_TEST(test_officers_work_through_canaryd)
{
	file_cases();
	g_autofree char *africa = case_of("africa");
	g_autofree char *mena = case_of("mena");
	g_autofree char *key = give_section_key(officer);
	g_autofree char *pass = g_build_filename(home, officer, "passphrase", NULL);
	start_canaryd();

	/* The africa officer lists africa's case, not mena's. */
	g_autofree char *out = NULL, *err = NULL;
	int status = canary_as(officer, &out, &err, "list", NULL);
	ck_assert_msg(status == 0, "list: exit %d: %s", status, err);
	ck_assert_msg(strstr(out, africa) != NULL && strstr(out, mena) == NULL, "%s", out);

	/* Opens it with the key in their own home: decrypted in their process. */
	g_clear_pointer(&out, g_free);
	g_clear_pointer(&err, g_free);
	status = canary_as(officer, &out, &err, "show", africa, "--key", key, "--passphrase-file",
			   pass, NULL);
	ck_assert_msg(status == 0, "show: exit %d: %s", status, err);
	ck_assert_msg(strstr(out, "Summoned after the session") != NULL, "%s", out);

	/* mena's case is refused, naming the group that is missing. */
	g_clear_pointer(&out, g_free);
	g_clear_pointer(&err, g_free);
	status = canary_as(officer, &out, &err, "show", mena, "--key", key, "--passphrase-file",
			   pass, NULL);
	ck_assert_msg(status == 8, "show mena: exit %d: %s", status, err);
	g_autofree char *mena_group = g_strdup_printf("%s-mena", officers);
	ck_assert_msg(strstr(err, mena_group) != NULL, "%s", err);
	g_clear_pointer(&err, g_free);
	status = canary_as(officer, NULL, &err, "history", mena, NULL);
	ck_assert_msg(status == 8, "history mena: exit %d: %s", status, err);

	/* The history names the officer, as the kernel named them. */
	g_clear_pointer(&out, g_free);
	status = canary_as(officer, &out, NULL, "history", africa, NULL);
	ck_assert_int_eq(status, 0);
	ck_assert_msg(strstr(out, officer) != NULL && strstr(out, "show") != NULL, "%s", out);

	/* In the control group but in no section's: refused, with its own code. */
	g_clear_pointer(&err, g_free);
	status = canary_as(bystander, NULL, &err, "list", NULL);
	ck_assert_msg(status == 8, "idle list: exit %d: %s", status, err);
	g_clear_pointer(&err, g_free);
	status = canary_as(bystander, NULL, &err, "history", africa, NULL);
	ck_assert_msg(status == 8, "idle history: exit %d: %s", status, err);

	/* The database, its WAL and the pseudonym key: canaryd's alone. */
	g_autofree char *db = g_build_filename(home, "canary", "state", "canary.db", NULL);
	g_autofree char *wal = g_strdup_printf("%s-wal", db);
	g_autofree char *pseudonym =
		g_build_filename(home, "canary", "keys", "pseudonym.key", NULL);
	const char *secrets[] = {db, wal, pseudonym};
	for (gsize i = 0; i < G_N_ELEMENTS(secrets); i++) {
		if (!g_file_test(secrets[i], G_FILE_TEST_EXISTS))
			continue;
		const char *argv[] = {"/usr/sbin/runuser", "-u",       officer, "--",
				      "/bin/cat",          secrets[i], NULL};
		ck_assert_msg(tu_run(argv, NULL, NULL, NULL) != 0, "%s is readable to %s",
			      secrets[i], officer);
	}
	ck_assert_int_eq(stop_canaryd(), 0);
}
END_TEST

/* Writes TEXT to PATH owned by USER with MODE. */
static void write_owned(const char *path, const char *text, const char *user, mode_t mode)
{
	ck_assert(g_file_set_contents(path, text, -1, NULL));
	struct passwd *pw = getpwnam(user);
	ck_assert_int_eq(chown(path, pw->pw_uid, pw->pw_gid), 0);
	ck_assert_int_eq(chmod(path, mode), 0);
}

START_TEST(test_host_through_sshd)
{
	if (!g_file_test("/usr/sbin/sshd", G_FILE_TEST_IS_EXECUTABLE))
		ck_abort_msg("/usr/sbin/sshd is missing: scripts/deps installs openssh-server");
	g_autofree char *dir = g_build_filename(home, "canary", "ssh", NULL);
	ck_assert_int_eq(g_mkdir(dir, 0755), 0);
	/* The server: its own host key, key logins only, the officer's key. */
	g_autofree char *host_key = g_build_filename(dir, "host_key", NULL);
	run_ok((const char *const[]){"/usr/bin/ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f",
				     host_key, NULL});
	/* The client: the outsider's account plays the officer's laptop. */
	g_autofree char *client_home = g_build_filename(home, outsider, NULL);
	g_autofree char *client_ssh = g_build_filename(client_home, ".ssh", NULL);
	ck_assert_int_eq(g_mkdir(client_ssh, 0700), 0);
	g_autofree char *client_key = g_build_filename(client_ssh, "id_ed25519", NULL);
	run_ok((const char *const[]){"/usr/bin/ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f",
				     client_key, NULL});
	g_autofree char *authorized = g_build_filename(dir, "authorized_keys", NULL);
	g_autofree char *client_pub_path = g_strdup_printf("%s.pub", client_key);
	g_autofree char *client_pub = read_text(client_pub_path);
	write_owned(authorized, client_pub, "root", 0644);
	guint port = free_port();
	g_autofree char *sshd_config = g_strdup_printf(
		"Port %u\nListenAddress 127.0.0.1\nHostKey %s\nPidFile none\nUsePAM no\n"
		"PasswordAuthentication no\nKbdInteractiveAuthentication no\n"
		"PubkeyAuthentication yes\nAuthorizedKeysFile %s\nStrictModes no\n"
		"AllowUsers %s\nPermitRootLogin no\nLogLevel VERBOSE\n",
		port, host_key, authorized, officer);
	g_autofree char *sshd_config_path = tu_write_file(dir, "sshd_config", sshd_config);
	/* sshd wants its privilege separation directory. */
	g_mkdir_with_parents("/run/sshd", 0755);
	g_autofree char *sshd_log = g_build_filename(dir, "sshd.log", NULL);
	pid_t test = getpid();
	pid_t sshd = fork();
	ck_assert_int_ge(sshd, 0);
	if (sshd == 0) {
		tu_die_with_parent(test);
		int fd = open(sshd_log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (fd < 0 || dup2(fd, STDERR_FILENO) < 0)
			_exit(127);
		execl("/usr/sbin/sshd", "/usr/sbin/sshd", "-D", "-e", "-f", sshd_config_path,
		      (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 1000 && !port_answers(port); i++) {
		ck_assert_msg(waitpid(sshd, NULL, WNOHANG) == 0, "sshd exited");
		g_usleep(10 * 1000);
	}
	ck_assert(port_answers(port));
	/* The client's ssh config and the server's host key it trusts. */
	g_autofree char *host_pub_path = g_strdup_printf("%s.pub", host_key);
	g_autofree char *host_pub = read_text(host_pub_path);
	g_autofree char *known =
		g_strdup_printf("[localhost]:%u,[127.0.0.1]:%u %s", port, port, host_pub);
	g_autofree char *known_path = g_build_filename(client_ssh, "known_hosts", NULL);
	write_owned(known_path, known, outsider, 0600);
	g_autofree char *ssh_config = g_strdup_printf(
		"Host localhost\n  HostName 127.0.0.1\n  Port %u\n  IdentityFile %s\n"
		"  IdentitiesOnly yes\n  StrictHostKeyChecking yes\n  UserKnownHostsFile %s\n"
		"  BatchMode yes\n",
		port, client_key, known_path);
	g_autofree char *ssh_config_path = g_build_filename(client_ssh, "config", NULL);
	write_owned(ssh_config_path, ssh_config, outsider, 0600);
	struct passwd *pw = getpwnam(outsider);
	ck_assert_int_eq(chown(client_ssh, pw->pw_uid, pw->pw_gid), 0);
	ck_assert_int_eq(chown(client_key, pw->pw_uid, pw->pw_gid), 0);

	file_cases();
	g_autofree char *africa = case_of("africa");
	/* The key is on the laptop only: the officer's account on the server
	 * holds none. */
	g_autofree char *laptop_key = give_section_key(outsider);
	g_autofree char *laptop_pass = g_build_filename(client_home, "passphrase", NULL);
	start_canaryd();
	/* The outsider (not in the control group) asks as the officer, through
	 * ssh: canaryd names the officer, whom ssh logged in. */
	g_autofree char *target = g_strdup_printf("%s@localhost", officer);
	g_autofree char *env_remote =
		g_strdup_printf("CANARY_REMOTE_COMMAND=%s bridge -c %s", tool_path, config);
	const char *envp[] = {env_remote, NULL};
	const char *argv[] = {"/usr/sbin/runuser",
			      "-u",
			      outsider,
			      "--",
			      tool_path,
			      "--host",
			      target,
			      "whoami",
			      NULL};
	g_autofree char *out = NULL, *err = NULL;
	int status = tu_run(argv, envp, &out, &err);
	g_autofree char *log = read_text(sshd_log);
	ck_assert_msg(status == 0, "exit %d: %s\nsshd: %s", status, err, log);
	g_autofree char *user_line = g_strdup_printf("user: %s\n", officer);
	ck_assert_msg(strstr(out, user_line) != NULL, "%s", out);
	ck_assert_ptr_nonnull(strstr(out, officers));
	/* CANARY_HOST does the same; a host that looks like an option is refused. */
	g_autofree char *env_host = g_strdup_printf("CANARY_HOST=%s", target);
	const char *envp2[] = {env_remote, env_host, NULL};
	const char *argv2[] = {"/usr/sbin/runuser", "-u",     outsider, "--",
			       tool_path,           "whoami", NULL};
	g_autofree char *out2 = NULL;
	ck_assert_int_eq(tu_run(argv2, envp2, &out2, NULL), 0);
	ck_assert_ptr_nonnull(strstr(out2, user_line));
	/* The case opened on the laptop, with the laptop's key. */
	const char *show[] = {"/usr/sbin/runuser",
			      "-u",
			      outsider,
			      "--",
			      tool_path,
			      "show",
			      africa,
			      "--key",
			      laptop_key,
			      "--passphrase-file",
			      laptop_pass,
			      NULL};
	g_autofree char *shown = NULL, *show_err = NULL;
	status = tu_run(show, envp2, &shown, &show_err);
	ck_assert_msg(status == 0, "show over ssh: exit %d: %s", status, show_err);
	ck_assert_msg(strstr(shown, "Summoned after the session") != NULL, "%s", shown);
	const char *argv3[] = {tool_path, "--host", "-oProxyCommand=touch /tmp/x", "whoami", NULL};
	g_autofree char *err3 = NULL;
	ck_assert_int_eq(tu_run(argv3, NULL, NULL, &err3), 2);
	ck_assert_ptr_nonnull(strstr(err3, "is not a host"));

	ck_assert_int_eq(stop_canaryd(), 0);
	kill(sshd, SIGTERM);
	waitpid(sshd, NULL, 0);
}
END_TEST

static Suite *control_suite(void)
{
	Suite *s = suite_create("control");
	TCase *framing = tcase_create("framing");
	tcase_add_test(framing, test_frame_round_trip);
	tcase_add_test(framing, test_frame_malformed);
	tcase_add_test(framing, test_frame_limits);
	tcase_add_test(framing, test_request_version_and_op);
	suite_add_tcase(s, framing);
	TCase *daemon = tcase_create("daemon");
	tcase_add_unchecked_fixture(daemon, users_setup, users_teardown);
	tcase_add_checked_fixture(daemon, daemon_setup, daemon_teardown);
	tcase_set_timeout(daemon, 120);
	tcase_add_test(daemon, test_socket_names_the_caller);
	tcase_add_test(daemon, test_socket_refuses_others);
	tcase_add_test(daemon, test_canaryd_down);
	tcase_add_test(daemon, test_socket_from_systemd);
	tcase_add_test(daemon, test_missing_group_is_a_config_error);
	tcase_add_test(daemon, test_host_through_sshd);
	tcase_add_test(daemon, test_officers_work_through_canaryd);
	suite_add_tcase(s, daemon);
	return s;
}

int main(void)
{
	return tu_run_suite(control_suite());
}
