/* cli.c: what every canary subcommand shares. */
#include "cli.h"

#include "case_sealed.h"
#include "control.h"
#include "envelope.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "text.h"
#include "wipe.h"

void cli_error(const char *format, ...)
{
	va_list args;
	va_start(args, format);
	g_autofree char *message = g_strdup_vprintf(format, args);
	va_end(args);
	/* One prefix per line: check-config reports many problems at once. */
	g_auto(GStrv) lines = g_strsplit(message, "\n", -1);
	for (size_t i = 0; lines[i] != NULL; i++) {
		fputs("canary: ", stderr);
		/* Paths and library messages may carry terminal escapes. */
		cli_print_line(stderr, lines[i]);
		fputc('\n', stderr);
	}
}

gboolean cli_parse(int *argc, char ***argv, const char *parameters, const char *description,
		   GOptionEntry *entries, struct cli_common *common)
{
	GOptionEntry common_entries[] = {
		{"config", 'c', 0, G_OPTION_ARG_FILENAME, &common->config_path,
		 "Configuration file (default: $CANARY_CONFIG, else " CANARY_CONFIG_DEFAULT_PATH
		 ")",
		 "FILE"},
		G_OPTION_ENTRY_NULL};
	g_autoptr(GOptionContext) context = g_option_context_new(parameters);
	g_option_context_set_summary(context, description);
	g_option_context_add_main_entries(context, common_entries, NULL);
	if (entries != NULL)
		g_option_context_add_main_entries(context, entries, NULL);
	g_autoptr(GError) error = NULL;
	if (!g_option_context_parse(context, argc, argv, &error)) {
		cli_error("%s (see --help)", error->message);
		return FALSE;
	}
	return TRUE;
}

struct canary_config *cli_load_config(const struct cli_common *common)
{
	g_autofree char *path = canary_config_resolve_path(common->config_path);
	g_autoptr(GError) error = NULL;
	struct canary_config *config = common->key_files_unchecked
					       ? canary_config_load_for_health(path, &error)
					       : canary_config_load(path, &error);
	if (config == NULL)
		cli_error("%s", error->message);
	return config;
}

struct canary_store *cli_open_store(const struct canary_config *config)
{
	g_autoptr(GError) error = NULL;
	struct canary_store *store = canary_store_open(config->store.database, &error);
	if (store == NULL)
		cli_error("%s", error->message);
	return store;
}

char *cli_format_utc(gint64 t, const char *format)
{
	g_autoptr(GDateTime) dt = g_date_time_new_from_unix_utc(t);
	if (dt == NULL)
		return g_strdup("?");
	return g_date_time_format(dt, format);
}

char *cli_format_time(gint64 t)
{
	return cli_format_utc(t, "%Y-%m-%dT%H:%M:%SZ");
}

char *cli_format_size(gint64 bytes)
{
	if (bytes < 1024)
		return g_strdup_printf("%" G_GINT64_FORMAT, bytes);
	static const char units[] = "KMGT";
	double value = (double)bytes;
	size_t unit = 0;
	for (value /= 1024; value >= 1024 && unit + 1 < sizeof(units) - 1; unit++)
		value /= 1024;
	if (value < 10)
		return g_strdup_printf("%.1f%c", value, units[unit]);
	return g_strdup_printf("%.0f%c", value, units[unit]);
}

/* A passphrase buffer of CAPACITY bytes in locked, guarded memory. */
static struct cli_passphrase *cli_passphrase_new(gsize capacity)
{
	struct cli_passphrase *p = g_new0(struct cli_passphrase, 1);
	p->text = sodium_malloc(capacity);
	if (p->text == NULL)
		g_error("out of memory for a passphrase");
	memset(p->text, 0, capacity);
	return p;
}

void cli_passphrase_free(struct cli_passphrase *passphrase)
{
	if (passphrase == NULL)
		return;
	sodium_free(passphrase->text); /* wipes */
	g_free(passphrase);
}

#define PASSPHRASE_MAX 1024

/* Reads one line from FD into P (without the newline). FALSE on EOF/error. */
static gboolean read_line(int fd, struct cli_passphrase *p)
{
	p->len = 0;
	for (;;) {
		char c;
		ssize_t n = read(fd, &c, 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return p->len > 0;
		if (c == '\n')
			break;
		if (p->len + 1 >= PASSPHRASE_MAX)
			return FALSE;
		p->text[p->len++] = c;
	}
	if (p->len > 0 && p->text[p->len - 1] == '\r')
		p->len--;
	p->text[p->len] = '\0';
	return TRUE;
}

/* Asks for a passphrase on the terminal with echo off. */
static struct cli_passphrase *ask_terminal(const char *prompt)
{
	int fd = open("/dev/tty", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		cli_error("no terminal to ask for the passphrase: use --passphrase-file");
		return NULL;
	}
	struct termios old, quiet;
	gboolean have_termios = tcgetattr(fd, &old) == 0;
	if (have_termios) {
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
		quiet.c_lflag |= ICANON;
		tcsetattr(fd, TCSAFLUSH, &quiet);
	}
	ssize_t ignored = write(fd, prompt, strlen(prompt));
	struct cli_passphrase *p = cli_passphrase_new(PASSPHRASE_MAX);
	gboolean ok = read_line(fd, p);
	ignored = write(fd, "\n", 1);
	(void)ignored;
	if (have_termios)
		tcsetattr(fd, TCSAFLUSH, &old);
	close(fd);
	if (!ok) {
		cli_passphrase_free(p);
		cli_error("no passphrase given");
		return NULL;
	}
	return p;
}

struct cli_passphrase *cli_read_passphrase(const char *file, const char *prompt)
{
	if (file != NULL) {
		int fd = open(file, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			cli_error("%s: %s", file, g_strerror(errno));
			return NULL;
		}
		struct cli_passphrase *p = cli_passphrase_new(PASSPHRASE_MAX);
		gboolean ok = read_line(fd, p);
		close(fd);
		if (!ok || p->len == 0) {
			cli_passphrase_free(p);
			cli_error("%s: expected the passphrase on its first line (1 to %d bytes)",
				  file, PASSPHRASE_MAX - 1);
			return NULL;
		}
		return p;
	}
	return ask_terminal(prompt);
}

/* Writes TEXT escaped to SHAPE, then wipes the copy: it may be plaintext. */
static void print_escaped(FILE *out, const char *text, gssize len, enum canary_text_shape shape)
{
	char *safe = canary_text_escape(text, len, shape);
	fputs(safe, out);
	canary_wipe_free(safe);
}

void cli_print_line(FILE *out, const char *text)
{
	print_escaped(out, text != NULL ? text : "-", -1, CANARY_TEXT_LINE);
}

void cli_print_field(const char *label, const char *value)
{
	printf("%-12s ", label);
	cli_print_line(stdout, value);
	fputc('\n', stdout);
}

void cli_print_untrusted(FILE *out, const char *text, gsize len)
{
	print_escaped(out, text, (gssize)len, CANARY_TEXT_LINES);
}

const char *cli_actor(void)
{
	static char name[64];
	if (name[0] == '\0') {
		struct passwd *pw = getpwuid(getuid());
		if (pw != NULL)
			g_strlcpy(name, pw->pw_name, sizeof(name));
		else
			g_snprintf(name, sizeof(name), "uid %u", (unsigned)getuid());
	}
	return name;
}

struct canary_secret_key *cli_load_secret_key(const char *path, const char *passphrase_file)
{
	g_autofree char *prompt = g_strdup_printf("Passphrase for %s: ", path);
	struct cli_passphrase *pass = cli_read_passphrase(passphrase_file, prompt);
	if (pass == NULL)
		return NULL;
	g_autoptr(GError) error = NULL;
	struct canary_secret_key *key = canary_key_load_secret(path, pass->text, pass->len, &error);
	cli_passphrase_free(pass);
	if (key == NULL)
		cli_error("%s", error->message);
	return key;
}

struct canary_public_key *cli_parse_public_key(const char *label, const char *text)
{
	g_autoptr(GError) error = NULL;
	struct canary_public_key *key = canary_key_parse_public(label, text, strlen(text), &error);
	if (key == NULL)
		cli_error("%s", error->message);
	return key;
}

static const char *cli_host;

void cli_set_host(const char *host)
{
	cli_host = host;
}

/* TRUE if this process may open the store of CONFIG itself: root, or the
 * owner of the database's directory (canaryd's user). */
static gboolean may_work_locally(const struct canary_config *config)
{
	if (getuid() == 0)
		return TRUE;
	g_autofree char *dir = g_path_get_dirname(config->store.database);
	struct stat st;
	return stat(dir, &st) == 0 && st.st_uid == getuid();
}

/* Over ssh to HOST: no local configuration is read. */
static struct canary_client *connect_ssh(const char *host, int *exit_r)
{
	g_autoptr(GError) error = NULL;
	struct canary_client *client = canary_client_open_ssh(host, &error);
	if (client == NULL)
		*exit_r = cli_call_failed(error);
	return client;
}

struct canary_client *cli_connect(const struct cli_common *common, int *exit_r)
{
	const char *host = cli_host != NULL ? cli_host : g_getenv("CANARY_HOST");
	if (host != NULL && host[0] != '\0')
		return connect_ssh(host, exit_r);
	/* Officers cannot read every file the config names (the pseudonym
	 * key, section keys): the socket's path needs none of them. */
	g_autofree char *path = canary_config_resolve_path(common->config_path);
	g_autoptr(GError) error = NULL;
	g_autofree char *socket = canary_config_control_socket(path, &error);
	if (socket == NULL && getuid() != 0 && common->config_path == NULL &&
	    g_getenv("CANARY_CONFIG") == NULL &&
	    g_error_matches(error, CANARY_CONFIG_ERROR, CANARY_CONFIG_ERROR_IO)) {
		/* The server's configuration may be closed to officers: canaryd
		 * listens where it does by default. */
		g_clear_error(&error);
		socket = g_strdup(CANARY_CONTROL_DEFAULT_SOCKET);
	}
	if (socket == NULL) {
		cli_error("%s", error->message);
		*exit_r = CLI_EXIT_CONFIG;
		return NULL;
	}
	struct canary_client *client = canary_client_open_socket(socket, &error);
	if (client != NULL)
		return client;
	g_autoptr(canary_config) lenient =
		getuid() != 0 ? canary_config_load_for_health(path, NULL) : NULL;
	if (getuid() != 0 && (lenient == NULL || !may_work_locally(lenient))) {
		*exit_r = cli_call_failed(error);
		return NULL;
	}
	/* Root or canaryd's user, with canaryd down: answer from the store. */
	struct canary_config *config = cli_load_config(common);
	if (config == NULL) {
		*exit_r = CLI_EXIT_CONFIG;
		return NULL;
	}
	g_clear_error(&error);
	client = common->store_must_exist ? canary_client_open_local_existing(config, &error)
					  : canary_client_open_local(config, &error);
	if (client == NULL) {
		cli_error("%s", error->message);
		*exit_r = CLI_EXIT_STORE;
	}
	return client;
}

struct canary_client *cli_connect_with_key(const struct cli_common *common, const char *key_path,
					   const char *passphrase_file,
					   struct canary_secret_key **key_r, int *exit_r)
{
	g_autoptr(canary_client) client = cli_connect(common, exit_r);
	if (client == NULL)
		return NULL;
	*key_r = cli_load_secret_key(key_path, passphrase_file);
	if (*key_r == NULL) {
		*exit_r = CLI_EXIT_KEY;
		return NULL;
	}
	return g_steal_pointer(&client);
}

int cli_call_failed(const GError *error)
{
	cli_error("%s", error->message);
	if (error->domain != CANARY_CONTROL_ERROR)
		return CLI_EXIT_FAILED;
	switch ((CanaryControlError)error->code) {
	case CANARY_CONTROL_ERROR_USAGE:
		return CLI_EXIT_USAGE;
	case CANARY_CONTROL_ERROR_FORBIDDEN:
		return CLI_EXIT_DENIED;
	case CANARY_CONTROL_ERROR_NOT_FOUND:
		return CLI_EXIT_NOT_FOUND;
	case CANARY_CONTROL_ERROR_STORE:
		return CLI_EXIT_STORE;
	case CANARY_CONTROL_ERROR_UNAVAILABLE:
		return CLI_EXIT_DAEMON;
	case CANARY_CONTROL_ERROR_PROTOCOL:
	case CANARY_CONTROL_ERROR_FAILED:
		break;
	}
	return CLI_EXIT_FAILED;
}

void cli_common_clear(struct cli_common *common)
{
	g_clear_pointer(&common->config_path, g_free);
}

gboolean cli_case_quarantined(const struct canary_case *c, const char *why)
{
	if (strcmp(c->status, CANARY_STATUS_QUARANTINED) != 0)
		return FALSE;
	cli_error("case %s is quarantined (%s): %s", c->ref,
		  c->quarantine_reason != NULL ? c->quarantine_reason : "-", why);
	return TRUE;
}

int cli_check_case_key(struct canary_client *client, const char *ref,
		       const struct canary_secret_key *key, enum cli_key_opens opens,
		       const char *quarantined_why, int quarantined_exit,
		       struct canary_case **case_r)
{
	int status = CLI_EXIT_OK;
	g_autoptr(JsonObject) args = cli_args_ref(ref);
	g_autoptr(canary_case) c = NULL;
	g_autoptr(JsonObject) keys = cli_call_case(client, "keys", args, &c, &status);
	if (keys == NULL)
		return status;
	if (quarantined_why != NULL && cli_case_quarantined(c, quarantined_why))
		return quarantined_exit;
	g_autoptr(canary_sealed_case) copies = cli_sealed_member(keys, "sealed", c);
	if (copies == NULL)
		return CLI_EXIT_FAILED;
	g_autoptr(GError) error = NULL;
	gboolean opened = opens == CLI_KEY_OPENS_IDENTITY
				  ? canary_sealed_check_identity(copies, key, &error)
				  : canary_sealed_check_content(copies, key, &error);
	if (!opened) {
		cli_error("case %s: %s", c->ref, error->message);
		return CLI_EXIT_KEY;
	}
	if (case_r != NULL)
		*case_r = g_steal_pointer(&c);
	return CLI_EXIT_OK;
}

JsonObject *cli_call(struct canary_client *client, const char *op, JsonObject *args, int *exit_r)
{
	g_autoptr(GError) error = NULL;
	JsonObject *result = canary_client_call(client, op, args, &error);
	if (result == NULL)
		*exit_r = cli_call_failed(error);
	return result;
}

JsonObject *cli_call_case(struct canary_client *client, const char *op, JsonObject *args,
			  struct canary_case **case_r, int *exit_r)
{
	g_autoptr(JsonObject) result = cli_call(client, op, args, exit_r);
	if (result == NULL)
		return NULL;
	*case_r = cli_result_case(result);
	if (*case_r == NULL) {
		*exit_r = CLI_EXIT_FAILED;
		return NULL;
	}
	return g_steal_pointer(&result);
}

JsonObject *cli_args_ref(const char *ref)
{
	JsonObject *args = json_object_new();
	json_object_set_string_member(args, "ref", ref);
	return args;
}

struct canary_case *cli_result_case(JsonObject *result)
{
	g_autoptr(GError) error = NULL;
	struct canary_case *c = canary_case_from_json(cli_object_member(result, "case"), &error);
	if (c == NULL)
		cli_error("%s", error->message);
	return c;
}

JsonArray *cli_array_member(JsonObject *o, const char *name)
{
	JsonNode *node = json_object_get_member(o, name);
	return node != NULL && JSON_NODE_HOLDS_ARRAY(node) ? json_node_get_array(node) : NULL;
}

JsonObject *cli_object_member(JsonObject *o, const char *name)
{
	JsonNode *node = json_object_get_member(o, name);
	return node != NULL && JSON_NODE_HOLDS_OBJECT(node) ? json_node_get_object(node) : NULL;
}

JsonObject *cli_element_object(JsonArray *a, guint i)
{
	JsonNode *node = json_array_get_element(a, i);
	return JSON_NODE_HOLDS_OBJECT(node) ? json_node_get_object(node) : NULL;
}

JsonArray *cli_element_array(JsonArray *a, guint i)
{
	JsonNode *node = json_array_get_element(a, i);
	return JSON_NODE_HOLDS_ARRAY(node) ? json_node_get_array(node) : NULL;
}

struct canary_sealed_case *cli_sealed_member(JsonObject *o, const char *name,
					     const struct canary_case *c)
{
	JsonObject *member = cli_object_member(o, name);
	if (member == NULL)
		return canary_sealed_case_new(c->id);
	g_autoptr(GError) error = NULL;
	struct canary_sealed_case *sc = canary_sealed_case_from_json(c->id, member, &error);
	if (sc == NULL)
		cli_error("case %s: canaryd's answer: %s", c->ref, error->message);
	return sc;
}
