/* server.c: the control socket's accept loop and its connections. Each
 * connection runs on its own thread with its own store connection (SQLite
 * serialises the writers; the poll loop keeps its own), so no client can
 * stall polling, and at most CANARY_SERVER_MAX_CLIENTS run at once. */
#include "server.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sys/poll.h> /* <poll.h> would find lib/poll.h */
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "control.h"
#include "log.h"
#include "store.h"

G_DEFINE_QUARK(canary - server - error - quark, canary_server_error)

/* A configuration shared by the connections that started under it. */
struct shared_config {
	gint refs;
	struct canary_config *config;
};

static struct shared_config *shared_config_ref(struct shared_config *shared)
{
	g_atomic_int_inc(&shared->refs);
	return shared;
}

static void shared_config_unref(struct shared_config *shared)
{
	if (shared != NULL && g_atomic_int_dec_and_test(&shared->refs)) {
		canary_config_free(shared->config);
		g_free(shared);
	}
}

struct canary_server {
	int listen_fd;
	int wake[2]; /* a pipe: written to stop the accept loop */
	char *unlink_path;
	GThread *acceptor;
	GMutex lock; /* guards what follows */
	GCond idle;
	struct shared_config *config;
	GPtrArray *clients; /* struct connection *, running */
	gboolean stopping;
};

struct connection {
	struct canary_server *server;
	int fd;
	pid_t pid;
	struct canary_caller *caller;
	struct shared_config *config;
};

/* --- Making the socket --- */

static int make_socket(const char *path, GError **error)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(addr.sun_path)) {
		g_set_error(error, CANARY_SERVER_ERROR, CANARY_SERVER_ERROR_FAILED,
			    "%s: the path is too long for a Unix socket (%zu bytes at most)", path,
			    sizeof(addr.sun_path) - 1);
		return -1;
	}
	strcpy(addr.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		g_set_error(error, CANARY_SERVER_ERROR, CANARY_SERVER_ERROR_FAILED, "socket: %s",
			    g_strerror(errno));
		return -1;
	}
	/* Born 0660 (no window where anyone else could connect): canaryd is
	 * still single-threaded here, so the umask change touches nothing else. */
	mode_t old_umask = umask(0117);
	int bound = bind(fd, (struct sockaddr *)&addr, sizeof(addr));
	int bind_errno = errno;
	umask(old_umask);
	if (bound != 0 || listen(fd, SOMAXCONN) != 0) {
		g_set_error(error, CANARY_SERVER_ERROR, CANARY_SERVER_ERROR_FAILED, "%s: %s", path,
			    g_strerror(bound != 0 ? bind_errno : errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* Removes PATH if it is a socket nobody answers on (left by a dead
 * canaryd). FALSE with ERROR if something else is there or a live process
 * answers. */
static gboolean clear_stale(const char *path, GError **error)
{
	struct stat st;
	if (lstat(path, &st) != 0)
		return TRUE;
	if (!S_ISSOCK(st.st_mode)) {
		g_set_error(error, CANARY_SERVER_ERROR, CANARY_SERVER_ERROR_FAILED,
			    "%s exists and is not a socket; expected nothing there, or the socket "
			    "of a stopped canaryd",
			    path);
		return FALSE;
	}
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	g_strlcpy(addr.sun_path, path, sizeof(addr.sun_path));
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	gboolean live = fd >= 0 && connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0;
	if (fd >= 0)
		close(fd);
	if (live) {
		g_set_error(error, CANARY_SERVER_ERROR, CANARY_SERVER_ERROR_FAILED,
			    "%s: another process (a running canaryd?) answers on this socket",
			    path);
		return FALSE;
	}
	unlink(path);
	return TRUE;
}

int canary_server_listen(const struct canary_config *config, GError **error)
{
	const char *path = config->control.socket;
	/* First: without its directory there is no socket to give a group. */
	g_autofree char *dir = g_path_get_dirname(path);
	if (!g_file_test(dir, G_FILE_TEST_IS_DIR)) {
		g_set_error(error, CANARY_SERVER_ERROR, CANARY_SERVER_ERROR_NO_DIR,
			    "%s: [control] socket: %s: no such directory (systemd makes it with "
			    "RuntimeDirectory=)",
			    config->path, dir);
		return -1;
	}
	struct group *gr = getgrnam(config->control.group);
	if (gr == NULL) {
		g_set_error(error, CANARY_SERVER_ERROR, CANARY_SERVER_ERROR_CONFIG,
			    "%s: [control] group: no such group '%s'; expected the name of an "
			    "existing Unix group (the officers who may connect to canaryd)",
			    config->path, config->control.group);
		return -1;
	}
	gid_t gid = gr->gr_gid;
	if (!clear_stale(path, error))
		return -1;
	int fd = make_socket(path, error);
	if (fd < 0)
		return -1;
	if (chown(path, (uid_t)-1, gid) != 0 || chmod(path, 0660) != 0) {
		g_set_error(error, CANARY_SERVER_ERROR, CANARY_SERVER_ERROR_CONFIG,
			    "%s: [control] group: cannot give %s to group '%s': %s", config->path,
			    path, config->control.group, g_strerror(errno));
		close(fd);
		unlink(path);
		return -1;
	}
	return fd;
}

/* --- Who is calling --- */

struct canary_caller *canary_server_peer(int fd, pid_t *pid_r, GError **error)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
		g_set_error(error, CANARY_SERVER_ERROR, CANARY_SERVER_ERROR_FAILED,
			    "SO_PEERCRED: %s", g_strerror(errno));
		return NULL;
	}
	/* The primary group first, then every supplementary one. */
	socklen_t size = 64 * sizeof(gid_t);
	g_autofree gid_t *gids = NULL;
	for (;;) {
		g_free(gids);
		gids = g_malloc(sizeof(gid_t) + size);
		gids[0] = cred.gid;
		socklen_t got = size;
		if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, gids + 1, &got) == 0) {
			size = got;
			break;
		}
		if (errno != ERANGE || got <= size) {
			g_set_error(error, CANARY_SERVER_ERROR, CANARY_SERVER_ERROR_FAILED,
				    "SO_PEERGROUPS: %s", g_strerror(errno));
			return NULL;
		}
		size = got;
	}
	*pid_r = cred.pid;
	return canary_caller_new(cred.uid, gids, 1 + size / sizeof(gid_t));
}

/* --- Serving one connection --- */

/* The case reference REQUEST's args name, when it looks like one (for the
 * log: anything else is not printed). */
static const char *logged_ref(JsonObject *request)
{
	JsonObject *args =
		json_object_has_member(request, "args") &&
				JSON_NODE_HOLDS_OBJECT(json_object_get_member(request, "args"))
			? json_object_get_object_member(request, "args")
			: NULL;
	JsonNode *ref = args != NULL ? json_object_get_member(args, "ref") : NULL;
	if (ref == NULL || json_node_get_value_type(ref) != G_TYPE_STRING)
		return NULL;
	const char *text = json_node_get_string(ref);
	gsize len = strlen(text);
	if (len == 0 || len > 32)
		return "(not a reference)";
	for (gsize i = 0; i < len; i++)
		if (!g_ascii_isalnum(text[i]) && text[i] != '-')
			return "(not a reference)";
	return text;
}

/* An op name fit for the log: the request's own if it is short and plain. */
static const char *logged_op(JsonObject *request)
{
	JsonNode *op = json_object_get_member(request, "op");
	if (op == NULL || json_node_get_value_type(op) != G_TYPE_STRING)
		return "(no op)";
	const char *text = json_node_get_string(op);
	gsize len = strlen(text);
	if (len == 0 || len > 32)
		return "(unknown op)";
	for (gsize i = 0; i < len; i++)
		if (!g_ascii_islower(text[i]) && text[i] != '-' && text[i] != '_')
			return "(unknown op)";
	return text;
}

/* One line per request: who, what, which case, how it ended. Never content. */
static void log_request(const struct connection *c, JsonObject *request, JsonObject *response)
{
	const char *ref = logged_ref(request);
	gboolean ok = json_object_get_boolean_member_with_default(response, "ok", FALSE);
	const char *outcome = "ok";
	if (!ok) {
		JsonObject *e = json_object_get_object_member(response, "error");
		outcome = json_object_get_string_member_with_default(e, "code", "failed");
	}
	canary_info("control: %s (pid %ld): %s%s%s: %s", c->caller->user, (long)c->pid,
		    logged_op(request), ref != NULL ? " " : "", ref != NULL ? ref : "", outcome);
}

static gboolean send_response(struct connection *c, JsonObject *response)
{
	g_autoptr(GError) error = NULL;
	if (canary_control_write_frame(c->fd, response, CANARY_CONTROL_RESPONSE_MAX,
				       CANARY_CONTROL_TIMEOUT_MS, &error))
		return TRUE;
	if (g_error_matches(error, CANARY_CONTROL_ERROR, CANARY_CONTROL_ERROR_USAGE)) {
		/* Nothing was sent: say why instead. */
		canary_warning("control: %s (pid %ld): answer too big: %s", c->caller->user,
			       (long)c->pid, error->message);
		g_autoptr(GError) too_big = g_error_new(
			CANARY_CONTROL_ERROR, CANARY_CONTROL_ERROR_FAILED,
			"the answer is over the protocol's limit of %d MiB; see canaryd's log",
			CANARY_CONTROL_RESPONSE_MAX / (1024 * 1024));
		g_autoptr(JsonObject) instead = canary_control_error_response(too_big);
		return canary_control_write_frame(c->fd, instead, CANARY_CONTROL_RESPONSE_MAX,
						  CANARY_CONTROL_TIMEOUT_MS, NULL);
	}
	canary_info("control: %s (pid %ld): answer not delivered: %s", c->caller->user,
		    (long)c->pid, error->message);
	return FALSE;
}

/* Answers requests until the client hangs up, breaks the protocol, falls
 * silent, or canaryd stops. */
static void serve(struct connection *c)
{
	const struct canary_config *config = c->config->config;
	g_autoptr(GError) error = NULL;
	struct canary_store *store = canary_store_open(config->store.database, &error);
	if (store == NULL) {
		canary_err("control: %s", error->message);
		g_autoptr(GError) unavailable =
			g_error_new(CANARY_CONTROL_ERROR, CANARY_CONTROL_ERROR_STORE,
				    "canaryd cannot open its database; see its log");
		g_autoptr(JsonObject) response = canary_control_error_response(unavailable);
		send_response(c, response);
		return;
	}
	struct canary_control_context ctx = {.config = config, .store = store};
	for (;;) {
		gboolean eof = FALSE;
		g_autoptr(JsonObject) request = canary_control_read_frame(
			c->fd, CANARY_CONTROL_REQUEST_MAX, CANARY_CONTROL_TIMEOUT_MS, &eof, &error);
		if (request == NULL) {
			if (!eof) {
				canary_info("control: %s (pid %ld): %s", c->caller->user,
					    (long)c->pid, error->message);
				g_autoptr(JsonObject) response =
					canary_control_error_response(error);
				send_response(c, response);
			}
			break;
		}
		g_autoptr(JsonObject) response = canary_control_handle(&ctx, c->caller, request);
		log_request(c, request, response);
		if (!send_response(c, response))
			break;
		g_mutex_lock(&c->server->lock);
		gboolean stopping = c->server->stopping;
		g_mutex_unlock(&c->server->lock);
		if (stopping)
			break;
	}
	canary_store_close(&store);
}

static void connection_free(struct connection *c)
{
	close(c->fd);
	canary_caller_free(c->caller);
	shared_config_unref(c->config);
	g_free(c);
}

static gpointer connection_thread(gpointer data)
{
	struct connection *c = data;
	serve(c);
	struct canary_server *server = c->server;
	g_mutex_lock(&server->lock);
	g_ptr_array_remove_fast(server->clients, c);
	connection_free(c);
	g_cond_broadcast(&server->idle);
	g_mutex_unlock(&server->lock);
	return NULL;
}

/* Tells a client over the limit to come back later, without reading it. */
static void refuse_busy(int fd)
{
	g_autoptr(GError) busy =
		g_error_new(CANARY_CONTROL_ERROR, CANARY_CONTROL_ERROR_UNAVAILABLE,
			    "canaryd is busy (%d clients at once); try again in a moment",
			    CANARY_SERVER_MAX_CLIENTS);
	g_autoptr(JsonObject) response = canary_control_error_response(busy);
	canary_control_write_frame(fd, response, CANARY_CONTROL_RESPONSE_MAX, 1000, NULL);
}

/* Takes over FD, a new connection: names its caller and starts its thread. */
static void accept_connection(struct canary_server *server, int fd)
{
	g_autoptr(GError) error = NULL;
	pid_t pid = 0;
	struct canary_caller *caller = canary_server_peer(fd, &pid, &error);
	if (caller == NULL) {
		canary_warning("control: a connection without credentials: %s", error->message);
		close(fd);
		return;
	}
	g_mutex_lock(&server->lock);
	if (server->clients->len >= CANARY_SERVER_MAX_CLIENTS) {
		g_mutex_unlock(&server->lock);
		canary_warning("control: %s (pid %ld) turned away: %d clients already",
			       caller->user, (long)pid, CANARY_SERVER_MAX_CLIENTS);
		refuse_busy(fd);
		canary_caller_free(caller);
		close(fd);
		return;
	}
	struct connection *c = g_new0(struct connection, 1);
	*c = (struct connection){.server = server,
				 .fd = fd,
				 .pid = pid,
				 .caller = caller,
				 .config = shared_config_ref(server->config)};
	g_ptr_array_add(server->clients, c);
	GThread *thread = g_thread_try_new("canary-client", connection_thread, c, &error);
	if (thread == NULL) {
		g_ptr_array_remove_fast(server->clients, c);
		connection_free(c);
		g_mutex_unlock(&server->lock);
		canary_warning("control: cannot start a thread: %s", error->message);
		return;
	}
	g_thread_unref(thread);
	g_mutex_unlock(&server->lock);
}

static gpointer accept_thread(gpointer data)
{
	struct canary_server *server = data;
	for (;;) {
		struct pollfd fds[2] = {{.fd = server->listen_fd, .events = POLLIN},
					{.fd = server->wake[0], .events = POLLIN}};
		int n = poll(fds, 2, -1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || fds[1].revents != 0)
			break;
		int fd = accept4(server->listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EINTR && errno != EAGAIN && errno != ECONNABORTED)
				canary_warning("control: accept: %s", g_strerror(errno));
			/* Out of descriptors: do not spin on a listen queue we cannot empty. */
			if (errno == EMFILE || errno == ENFILE)
				g_usleep(100 * 1000);
			continue;
		}
		accept_connection(server, fd);
	}
	return NULL;
}

static struct shared_config *load_shared(const char *config_path, GError **error)
{
	struct canary_config *config = canary_config_load(config_path, error);
	if (config == NULL)
		return NULL;
	struct shared_config *shared = g_new0(struct shared_config, 1);
	shared->refs = 1;
	shared->config = config;
	return shared;
}

struct canary_server *canary_server_start(int listen_fd, const char *config_path,
					  const char *unlink_path, GError **error)
{
	struct shared_config *config = load_shared(config_path, error);
	if (config == NULL) {
		close(listen_fd);
		return NULL;
	}
	struct canary_server *server = g_new0(struct canary_server, 1);
	server->listen_fd = listen_fd;
	server->unlink_path = g_strdup(unlink_path);
	server->config = config;
	server->clients = g_ptr_array_new();
	g_mutex_init(&server->lock);
	g_cond_init(&server->idle);
	if (pipe2(server->wake, O_CLOEXEC) != 0)
		g_error("pipe2: %s", g_strerror(errno));
	/* The threads inherit a mask without the daemon's signals: SIGTERM and
	 * SIGHUP must reach the thread that polls. */
	sigset_t blocked, old;
	sigemptyset(&blocked);
	sigaddset(&blocked, SIGTERM);
	sigaddset(&blocked, SIGINT);
	sigaddset(&blocked, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &blocked, &old);
	server->acceptor = g_thread_new("canary-accept", accept_thread, server);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return server;
}

gboolean canary_server_reload(struct canary_server *server, const char *config_path, GError **error)
{
	struct shared_config *config = load_shared(config_path, error);
	if (config == NULL)
		return FALSE;
	g_mutex_lock(&server->lock);
	struct shared_config *old = server->config;
	server->config = config;
	g_mutex_unlock(&server->lock);
	shared_config_unref(old);
	return TRUE;
}

void canary_server_stop(struct canary_server *server)
{
	if (server == NULL)
		return;
	ssize_t ignored = write(server->wake[1], "x", 1);
	(void)ignored;
	g_thread_join(server->acceptor);
	g_mutex_lock(&server->lock);
	server->stopping = TRUE;
	/* Wakes every connection waiting for a request; one answering finishes
	 * its request first. */
	for (guint i = 0; i < server->clients->len; i++)
		shutdown(((struct connection *)server->clients->pdata[i])->fd, SHUT_RDWR);
	while (server->clients->len > 0)
		g_cond_wait(&server->idle, &server->lock);
	g_mutex_unlock(&server->lock);
	if (server->unlink_path != NULL)
		unlink(server->unlink_path);
	close(server->listen_fd);
	close(server->wake[0]);
	close(server->wake[1]);
	shared_config_unref(server->config);
	g_ptr_array_unref(server->clients);
	g_mutex_clear(&server->lock);
	g_cond_clear(&server->idle);
	g_free(server->unlink_path);
	g_free(server);
}
