/* imap.c: the IMAP session, over one reused libcurl easy handle.
 *
 * libcurl speaks IMAP two ways and we use both: a URL ending ";UID=N"
 * fetches one message (libcurl reads the literal for us), and
 * CURLOPT_CUSTOMREQUEST sends any other command, whose untagged answer lines
 * arrive in the write callback for us to parse. Known libcurl 7.88 limits
 * shape the commands (see ../shared/NOTES.md): a reply with very many
 * untagged lines fails, so UID sets stay at 100 messages; a SEARCH line
 * over 64 KB is corrupted, so listing uses ESEARCH or UID ranges.
 *
 * A third way is a connection of its own (canary_imap_stream_open()):
 * libcurl connects, checks TLS and logs in, then canary speaks on it
 * itself, to fetch many messages per command. */
#include "imap.h"

#include <curl/curl.h>
#include <errno.h>
#include <sys/poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "fetch_reader.h"
#include "imap_syntax.h"
#include "log.h"
#include "wipe.h"

/* The quark name is stringified as written: keep clang-format off it. */
// clang-format off
G_DEFINE_QUARK(canary-imap-error-quark, canary_imap_error)
// clang-format on

/* UIDs per command; see the header comment. */
#define UIDS_PER_COMMAND 100
/* UIDs searched per command when the server lacks ESEARCH: at most 5,000
 * numbers of up to 10 digits stay well under the 64 KB line bug. */
#define UIDS_PER_SEARCH 5000
/* Largest answer accepted to anything but a fetch. */
#define MAX_COMMAND_RESPONSE (16u << 20)
/* Largest message accepted at all (GByteArray's length is a guint). */
#define MAX_FETCH_RESPONSE ((gsize)G_MAXUINT - 1)

struct canary_imap {
	CURL *curl;
	char *server;             /* "imaps://host:port", no path */
	char *mailbox;            /* "INBOX", decoded */
	char *mailbox_url;        /* server + "/" + mailbox, escaped */
	GHashTable *capabilities; /* upper-case names; NULL until asked */
	GHashTable *folders;      /* folders known to exist */
	GByteArray *response;     /* what the write callback collected */
	gsize response_limit;
	gboolean trace;
	char curl_error[CURL_ERROR_SIZE];
	char *server_said; /* the last refusal's text ("NO [TRYCREATE] ..."), or NULL */
	struct canary_imap_fetch_check *fetching; /* the fetch under way, or NULL */
	gboolean fetch_sent;                      /* its FETCH command went out */
	CURLcode last_code;                       /* of the last perform() */
};

/* --- Errors -------------------------------------------------------------- */

/* TRUE when the last transfer of IMAP ended because the connection itself
 * failed: libcurl records the system's error number of a failed connect,
 * send or receive (and clears it for each transfer), and its OpenSSL
 * backend says SSL_ERROR_SYSCALL, with no error number, when the server
 * closed the connection in the handshake. */
static gboolean connection_cut(const struct canary_imap *imap)
{
	long os_errno = 0;
	if (curl_easy_getinfo(imap->curl, CURLINFO_OS_ERRNO, &os_errno) != CURLE_OK)
		return FALSE;
	switch (os_errno) {
	case 0:
		return strstr(imap->curl_error, "SSL_ERROR_SYSCALL") != NULL;
	case ECONNRESET:
	case ECONNREFUSED:
	case ECONNABORTED:
	case EPIPE:
	case ETIMEDOUT:
	case ENETUNREACH:
	case EHOSTUNREACH:
		return TRUE;
	default:
		return FALSE;
	}
}

/* What the daemon should do about CODE, the result of IMAP's last
 * transfer: retry, or stop and say. */
static enum canary_imap_error classify(const struct canary_imap *imap, CURLcode code)
{
	/* A handshake the server cut (a restart, a crash) is no TLS failure
	 * to retry slowly until an admin fixes it: checks that fail have
	 * codes of their own, and a refused handshake ends on an alert, not
	 * on a cut connection. */
	if (code == CURLE_SSL_CONNECT_ERROR && connection_cut(imap))
		return CANARY_IMAP_ERROR_TEMPORARY;
	switch (code) {
	case CURLE_LOGIN_DENIED:
		return CANARY_IMAP_ERROR_AUTH;
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_USE_SSL_FAILED:
		return CANARY_IMAP_ERROR_TLS;
	case CURLE_QUOTE_ERROR:
	case CURLE_REMOTE_FILE_NOT_FOUND:
		return CANARY_IMAP_ERROR_REFUSED;
	case CURLE_WEIRD_SERVER_REPLY:
	case CURLE_WRITE_ERROR:
		return CANARY_IMAP_ERROR_PROTOCOL;
	case CURLE_PARTIAL_FILE:
		return CANARY_IMAP_ERROR_MESSAGE; /* only a fetch has a literal to cut */
	default:
		return CANARY_IMAP_ERROR_TEMPORARY;
	}
}

static void set_curl_error(struct canary_imap *imap, CURLcode code, const char *doing,
			   GError **error)
{
	const char *detail =
		imap->curl_error[0] != '\0' ? imap->curl_error : curl_easy_strerror(code);
	enum canary_imap_error class = classify(imap, code);
	const char *what = "";
	switch (class) {
	case CANARY_IMAP_ERROR_AUTH:
		what = "login refused: check [imap] username and the password or token; ";
		break;
	case CANARY_IMAP_ERROR_TLS:
		what = "TLS check failed (certificate, host name or pinned key): ";
		break;
	case CANARY_IMAP_ERROR_REFUSED:
		what = "the server refused: ";
		break;
	default:
		break;
	}
	g_autofree char *said =
		imap->server_said != NULL
			? g_strdup_printf("; the server said \"%s\"", imap->server_said)
			: g_strdup("");
	g_set_error(error, CANARY_IMAP_ERROR, class, "%s: %s: %s%s%s (curl error %d)", imap->server,
		    doing, what, detail, said, (int)code);
}

/* --- Protocol trace -------------------------------------------------------- */

/* One protocol line fit for a log: no line end, at most 200 bytes,
 * anything but printable ASCII shown as '?'. */
static char *printable_line(const char *data, gsize size)
{
	while (size > 0 && (data[size - 1] == '\n' || data[size - 1] == '\r'))
		size--;
	char *line = g_strndup(data, MIN(size, 200));
	for (char *c = line; *c != '\0'; c++)
		if (!g_ascii_isprint(*c))
			*c = '?';
	return line;
}

/* Logs commands and status lines at debug level; never credentials, never
 * message data (which arrives as CURLINFO_DATA_IN and is only counted). */
static int trace_callback(CURL *curl, curl_infotype type, char *data, size_t size, void *user)
{
	(void)curl;
	struct canary_imap *imap = user;
	/* A fetch's timeout means something else once its command is out. */
	if (type == CURLINFO_HEADER_OUT && imap->fetching != NULL &&
	    g_strstr_len(data, (gssize)size, " FETCH ") != NULL)
		imap->fetch_sent = TRUE;
	if (!imap->trace)
		return 0;
	if (type != CURLINFO_HEADER_OUT && type != CURLINFO_HEADER_IN && type != CURLINFO_DATA_IN)
		return 0;
	if (type == CURLINFO_DATA_IN) {
		canary_debug("imap: < (%zu bytes of message data)", size);
		return 0;
	}
	g_autofree char *line = printable_line(data, size);
	if (type == CURLINFO_HEADER_OUT) {
		/* "A001 LOGIN user pass", "A001 AUTHENTICATE PLAIN <base64>". */
		char *space = strchr(line, ' ');
		if (space != NULL && (g_ascii_strncasecmp(space + 1, "LOGIN", 5) == 0 ||
				      g_ascii_strncasecmp(space + 1, "AUTHENTICATE", 12) == 0)) {
			canary_debug("imap: > %.*s (credentials not shown)", (int)(space - line),
				     line);
			return 0;
		}
		/* A bare continuation line during SASL is the credential itself. */
		if (space == NULL) {
			canary_debug("imap: > (continuation not shown)");
			return 0;
		}
		canary_debug("imap: > %s", line);
	} else if (strstr(line, " FETCH ") == NULL) {
		canary_debug("imap: < %s", line);
	} else {
		canary_debug("imap: < (FETCH line not shown)");
	}
	return 0;
}

/* --- What the server says ------------------------------------------------------ */

/* libcurl hands every response line here (message data and the untagged
 * answers to our own commands go to the write callback). A refusal's text
 * is kept for the error message; a notice is logged when it comes: a
 * server may say why a command waits (a SELECT held by a stale lock waits
 * up to 2 minutes, and Dovecot says "Mailbox is locked, will abort in 92
 * seconds" 30 s in, then every 30 s), and RFC 3501 wants alerts shown to
 * a human. None of these lines carries message data. */
static size_t header_callback(char *data, size_t size, size_t nmemb, void *user)
{
	struct canary_imap *imap = user;
	gsize len = size * nmemb;
	/* A fetch answer that is not the message asked for is abandoned at
	 * its first line: a hostile literal is never read. */
	if (imap->fetching != NULL && !canary_imap_fetch_check_line(imap->fetching, data, len))
		return 0; /* CURLE_WRITE_ERROR */
	g_autofree char *text = NULL;
	switch (canary_imap_parse_said(data, len, &text)) {
	case CANARY_IMAP_SAID_NOTICE:
		canary_notice("IMAP server %s says: %s", imap->server, text);
		break;
	case CANARY_IMAP_SAID_REFUSAL:
		g_free(imap->server_said);
		imap->server_said = g_steal_pointer(&text);
		break;
	case CANARY_IMAP_SAID_NOTHING:
		break;
	}
	return len;
}

/* --- The session ------------------------------------------------------------- */

static size_t write_callback(char *data, size_t size, size_t nmemb, void *user)
{
	struct canary_imap *imap = user;
	gsize len = size * nmemb;
	if (imap->fetching != NULL && !canary_imap_fetch_check_data(imap->fetching, len))
		return 0; /* CURLE_WRITE_ERROR */
	if (imap->response->len + len > imap->response_limit)
		return 0; /* CURLE_WRITE_ERROR */
	g_byte_array_append(imap->response, (const guint8 *)data, (guint)len);
	return len;
}

static gboolean curl_global_ready(GError **error)
{
	static gsize once = 0;
	static CURLcode result = CURLE_OK;
	if (g_once_init_enter(&once)) {
		result = curl_global_init(CURL_GLOBAL_DEFAULT);
		g_once_init_leave(&once, 1);
	}
	if (result != CURLE_OK) {
		g_set_error(error, CANARY_IMAP_ERROR, CANARY_IMAP_ERROR_TEMPORARY,
			    "libcurl cannot start: %s", curl_easy_strerror(result));
		return FALSE;
	}
	return TRUE;
}

/* URL as it may appear in a message: without any "user:password@". */
static char *redact_url(const char *url)
{
	const char *scheme_end = strstr(url, "://");
	const char *host = scheme_end != NULL ? scheme_end + 3 : url;
	const char *at = strchr(host, '@');
	const char *slash = strchr(host, '/');
	if (at == NULL || (slash != NULL && slash < at))
		return g_strdup(url);
	return g_strdup_printf("%.*s(credentials)%s", (int)(host - url), url, at);
}

/* Splits URL into the server part and the mailbox, refusing what we do not
 * want libcurl to act on: other schemes, credentials in the URL, queries. */
static gboolean split_url(struct canary_imap *imap, const char *given, GError **error)
{
	g_autofree char *url = redact_url(given);
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL, *port = NULL, *path = NULL, *user = NULL, *query = NULL;
	g_autofree char *trimmed = NULL, *escaped = NULL;
	gboolean ok = FALSE;
	if (u == NULL || curl_url_set(u, CURLUPART_URL, given, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
		g_set_error(error, CANARY_IMAP_ERROR, CANARY_IMAP_ERROR_PROTOCOL,
			    "%s: not a URL; expected imaps://host[:port]/INBOX", url);
		goto out;
	}
	if (strcmp(scheme, "imaps") != 0 && strcmp(scheme, "imap") != 0) {
		g_set_error(error, CANARY_IMAP_ERROR, CANARY_IMAP_ERROR_PROTOCOL,
			    "%s: scheme %s; expected imaps:// (or imap://, upgraded with "
			    "STARTTLS)",
			    url, scheme);
		goto out;
	}
	if (curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK ||
	    curl_url_get(u, CURLUPART_QUERY, &query, 0) == CURLUE_OK) {
		g_set_error(error, CANARY_IMAP_ERROR, CANARY_IMAP_ERROR_PROTOCOL,
			    "%s: the URL must name only the server and the mailbox (credentials "
			    "go in [imap] username and password_file)",
			    url);
		goto out;
	}
	if (curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PATH, &path, CURLU_URLDECODE) != CURLUE_OK) {
		g_set_error(error, CANARY_IMAP_ERROR, CANARY_IMAP_ERROR_PROTOCOL,
			    "%s: cannot read the port or the mailbox", url);
		goto out;
	}
	const char *mailbox = path;
	while (*mailbox == '/')
		mailbox++;
	trimmed = g_strdup(*mailbox != '\0' ? mailbox : "INBOX");
	gsize n = strlen(trimmed);
	while (n > 0 && trimmed[n - 1] == '/')
		trimmed[--n] = '\0';
	if (strpbrk(trimmed, ";?") != NULL) {
		g_set_error(error, CANARY_IMAP_ERROR, CANARY_IMAP_ERROR_PROTOCOL,
			    "%s: expected only a mailbox name after the server", url);
		goto out;
	}
	/* An IPv6 literal keeps its brackets in the URL. */
	gboolean v6 = strchr(host, ':') != NULL && host[0] != '[';
	imap->server =
		g_strdup_printf("%s://%s%s%s:%s", scheme, v6 ? "[" : "", host, v6 ? "]" : "", port);
	imap->mailbox = g_steal_pointer(&trimmed);
	escaped = g_uri_escape_string(imap->mailbox, "/", FALSE);
	imap->mailbox_url = g_strdup_printf("%s/%s", imap->server, escaped);
	ok = TRUE;
out:
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_free(path);
	curl_free(user);
	curl_free(query);
	curl_url_cleanup(u);
	return ok;
}

void canary_imap_options_copy(struct canary_imap_options *copy,
			      const struct canary_imap_options *options)
{
	*copy = *options;
	copy->url = g_strdup(options->url);
	copy->username = g_strdup(options->username);
	copy->password = g_strdup(options->password);
	copy->oauth2_token = g_strdup(options->oauth2_token);
	copy->ca_file = g_strdup(options->ca_file);
	copy->pinned_public_key = g_strdup(options->pinned_public_key);
}

void canary_imap_options_clear(struct canary_imap_options *options)
{
	g_free((char *)options->url);
	g_free((char *)options->username);
	canary_wipe_free((char *)options->password);
	canary_wipe_free((char *)options->oauth2_token);
	g_free((char *)options->ca_file);
	g_free((char *)options->pinned_public_key);
	*options = (struct canary_imap_options){0};
}

struct canary_imap *canary_imap_new(const struct canary_imap_options *options, GError **error)
{
	if (!curl_global_ready(error))
		return NULL;
	struct canary_imap *imap = g_new0(struct canary_imap, 1);
	imap->response = g_byte_array_new();
	imap->folders = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	imap->trace = options->trace;
	if (!split_url(imap, options->url, error)) {
		canary_imap_free(imap);
		return NULL;
	}
	imap->curl = curl_easy_init();
	if (imap->curl == NULL) {
		g_set_error(error, CANARY_IMAP_ERROR, CANARY_IMAP_ERROR_TEMPORARY,
			    "libcurl cannot make a handle");
		canary_imap_free(imap);
		return NULL;
	}
	CURL *c = imap->curl;
	CURLcode rc = CURLE_OK;
	/* Every option below must take; a silently ignored TLS setting is a
	 * hole, so the first failure stops us. */
#define SET(option, value)                                                                         \
	do {                                                                                       \
		if (rc == CURLE_OK)                                                                \
			rc = curl_easy_setopt(c, option, value);                                   \
	} while (0)
	SET(CURLOPT_ERRORBUFFER, imap->curl_error);
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_PROTOCOLS_STR, "imap,imaps");
	SET(CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
	SET(CURLOPT_SSL_VERIFYPEER, 1L);
	SET(CURLOPT_SSL_VERIFYHOST, 2L);
	SET(CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	if (options->ca_file != NULL)
		SET(CURLOPT_CAINFO, options->ca_file);
	if (options->pinned_public_key != NULL)
		SET(CURLOPT_PINNEDPUBLICKEY, options->pinned_public_key);
	SET(CURLOPT_USERNAME, options->username);
	if (options->oauth2_token != NULL) {
		SET(CURLOPT_XOAUTH2_BEARER, options->oauth2_token);
		SET(CURLOPT_LOGIN_OPTIONS, "AUTH=XOAUTH2");
	} else {
		SET(CURLOPT_PASSWORD, options->password);
	}
	SET(CURLOPT_CONNECTTIMEOUT, options->connect_timeout > 0 ? options->connect_timeout : 30L);
	/* io_timeout: give up when under one byte a second arrives for that
	 * long, however long a large fetch takes in all. */
	SET(CURLOPT_LOW_SPEED_LIMIT, 1L);
	SET(CURLOPT_LOW_SPEED_TIME, options->io_timeout > 0 ? options->io_timeout : 120L);
	/* ... and when the lines of an answer do not end within io_timeout of
	 * the command: an endless line is cut off (libcurl keeps only its
	 * start, so memory stays bounded), not read for ever. */
	SET(CURLOPT_SERVER_RESPONSE_TIMEOUT, options->io_timeout > 0 ? options->io_timeout : 120L);
	SET(CURLOPT_TCP_KEEPALIVE, 1L);
	SET(CURLOPT_WRITEFUNCTION, write_callback);
	SET(CURLOPT_WRITEDATA, imap);
	SET(CURLOPT_HEADERFUNCTION, header_callback);
	SET(CURLOPT_HEADERDATA, imap);
	/* Always on: it also tells a fetch when its command went out; it logs
	 * only when tracing. */
	SET(CURLOPT_DEBUGFUNCTION, trace_callback);
	SET(CURLOPT_DEBUGDATA, imap);
	SET(CURLOPT_VERBOSE, 1L);
#undef SET
	if (rc != CURLE_OK) {
		g_set_error(error, CANARY_IMAP_ERROR, CANARY_IMAP_ERROR_TLS,
			    "%s: libcurl refused a connection setting: %s", imap->server,
			    curl_easy_strerror(rc));
		canary_imap_free(imap);
		return NULL;
	}
	return imap;
}

void canary_imap_free(struct canary_imap *imap)
{
	if (imap == NULL)
		return;
	if (imap->curl != NULL) {
		/* The password lives in libcurl's copy of the options; clearing them
		 * frees it (libcurl does not wipe it; the process never dumps core). */
		curl_easy_setopt(imap->curl, CURLOPT_PASSWORD, NULL);
		curl_easy_setopt(imap->curl, CURLOPT_XOAUTH2_BEARER, NULL);
		curl_easy_cleanup(imap->curl);
	}
	canary_wipe(imap->response->data, imap->response->len);
	g_byte_array_unref(imap->response);
	if (imap->capabilities != NULL)
		g_hash_table_unref(imap->capabilities);
	g_hash_table_unref(imap->folders);
	g_free(imap->server_said);
	g_free(imap->server);
	g_free(imap->mailbox);
	g_free(imap->mailbox_url);
	g_free(imap);
}

const char *canary_imap_mailbox(const struct canary_imap *imap)
{
	return imap->mailbox;
}

/* Clears the collected answer (wiping it: it may have been a message). */
static void reset_response(struct canary_imap *imap, gsize limit)
{
	canary_wipe(imap->response->data, imap->response->len);
	g_byte_array_set_size(imap->response, 0);
	imap->response_limit = limit;
	imap->curl_error[0] = '\0';
	g_clear_pointer(&imap->server_said, g_free);
}

/* Runs COMMAND (NULL: a fetch named by the URL) against URL; the answer is
 * left in imap->response. */
static gboolean perform(struct canary_imap *imap, const char *url, const char *command, gsize limit,
			const char *doing, GError **error)
{
	reset_response(imap, limit);
	curl_easy_setopt(imap->curl, CURLOPT_URL, url);
	curl_easy_setopt(imap->curl, CURLOPT_CUSTOMREQUEST, command);
	CURLcode code = curl_easy_perform(imap->curl);
	imap->last_code = code;
	if (code != CURLE_OK) {
		/* Our write callback is the only writer, and it fails only here. */
		if (code == CURLE_WRITE_ERROR)
			g_strlcpy(imap->curl_error, "answer larger than allowed",
				  sizeof imap->curl_error);
		set_curl_error(imap, code, doing, error);
		return FALSE;
	}
	return TRUE;
}

/* Runs a custom COMMAND on the mailbox URL selects, or on the server
 * alone when URL names no mailbox. */
static gboolean command_in(struct canary_imap *imap, const char *url, const char *command,
			   GError **error)
{
	return perform(imap, url, command, MAX_COMMAND_RESPONSE, command, error);
}

/* Runs a custom COMMAND on the mailbox (selecting it first) or, with
 * ON_MAILBOX false, on the server alone. */
static gboolean command(struct canary_imap *imap, gboolean on_mailbox, const char *command,
			GError **error)
{
	return command_in(imap, on_mailbox ? imap->mailbox_url : imap->server, command, error);
}

/* Quotes NAME as an IMAP quoted string; ASCII only (the folder names come
 * from our config, which says so). */
static char *quote_mailbox(const char *name, GError **error)
{
	for (const char *c = name; *c != '\0'; c++) {
		if ((guchar)*c < 0x20 || (guchar)*c > 0x7e) {
			g_set_error(error, CANARY_IMAP_ERROR, CANARY_IMAP_ERROR_REFUSED,
				    "folder name \"%s\": expected printable ASCII only", name);
			return NULL;
		}
	}
	GString *q = g_string_new("\"");
	for (const char *c = name; *c != '\0'; c++) {
		if (*c == '"' || *c == '\\')
			g_string_append_c(q, '\\');
		g_string_append_c(q, *c);
	}
	g_string_append_c(q, '"');
	return g_string_free(q, FALSE);
}

static gboolean capabilities(struct canary_imap *imap, GError **error)
{
	if (imap->capabilities != NULL)
		return TRUE;
	if (!command(imap, FALSE, "CAPABILITY", error))
		return FALSE;
	imap->capabilities = canary_imap_parse_capabilities((const char *)imap->response->data,
							    imap->response->len);
	return TRUE;
}

static gboolean has_capability(struct canary_imap *imap, const char *name)
{
	return g_hash_table_contains(imap->capabilities, name);
}

gboolean canary_imap_status(struct canary_imap *imap, const char *mailbox,
			    struct canary_imap_status *status_r, GError **error)
{
	g_autofree char *quoted = quote_mailbox(mailbox, error);
	if (quoted == NULL)
		return FALSE;
	g_autofree char *request =
		g_strdup_printf("STATUS %s (UIDVALIDITY UIDNEXT MESSAGES)", quoted);
	if (!command(imap, FALSE, request, error))
		return FALSE;
	return canary_imap_parse_status((const char *)imap->response->data, imap->response->len,
					status_r, error);
}

gboolean canary_imap_ensure_folder(struct canary_imap *imap, const char *folder, GError **error)
{
	if (g_hash_table_contains(imap->folders, folder))
		return TRUE;
	g_autofree char *quoted = quote_mailbox(folder, error);
	if (quoted == NULL)
		return FALSE;
	/* LIST first: a CREATE of an existing folder is a NO we could not tell
	 * apart from a real refusal. */
	g_autofree char *list = g_strdup_printf("LIST \"\" %s", quoted);
	if (!command(imap, FALSE, list, error))
		return FALSE;
	gboolean exists = imap->response->len > 0 &&
			  g_strstr_len((const char *)imap->response->data,
				       (gssize)imap->response->len, "* LIST") != NULL;
	if (!exists) {
		g_autofree char *create = g_strdup_printf("CREATE %s", quoted);
		if (!command(imap, FALSE, create, error))
			return FALSE;
		canary_notice("created IMAP folder %s", folder);
	}
	g_hash_table_add(imap->folders, g_strdup(folder));
	return TRUE;
}

/* The UIDs in the mailbox URL selects (FOLDER by name) that match
 * CRITERIA, appended to UIDS. */
static gboolean search_in(struct canary_imap *imap, const char *url, const char *folder,
			  const char *criteria, GArray *uids, GError **error)
{
	if (!capabilities(imap, error))
		return FALSE;
	if (has_capability(imap, "ESEARCH")) {
		g_autofree char *request = g_strdup_printf("UID SEARCH RETURN (ALL) %s", criteria);
		return command_in(imap, url, request, error) &&
		       canary_imap_parse_search((const char *)imap->response->data,
						imap->response->len, uids, error);
	}
	/* Without ESEARCH, search UID ranges below UIDNEXT so no answer line
	 * grows past the size libcurl reads reliably. */
	struct canary_imap_status status;
	if (!canary_imap_status(imap, folder, &status, error))
		return FALSE;
	for (guint64 first = 1; first < status.uidnext; first += UIDS_PER_SEARCH) {
		guint64 last = MIN(first + UIDS_PER_SEARCH - 1, (guint64)status.uidnext - 1);
		g_autofree char *request = g_strdup_printf(
			"UID SEARCH UID %" G_GUINT64_FORMAT ":%" G_GUINT64_FORMAT " %s", first,
			last, criteria);
		if (!command_in(imap, url, request, error) ||
		    !canary_imap_parse_search((const char *)imap->response->data,
					      imap->response->len, uids, error))
			return FALSE;
	}
	return TRUE;
}

static gint compare_uid(gconstpointer a, gconstpointer b)
{
	guint32 x = *(const guint32 *)a, y = *(const guint32 *)b;
	return x < y ? -1 : x > y;
}

/* Writes UIDS[0..N) as a compact UID set ("1:3,7") into SET. */
static void append_uid_set(GString *set, const guint32 *uids, guint n)
{
	for (guint i = 0; i < n;) {
		guint j = i;
		while (j + 1 < n && uids[j + 1] == uids[j] + 1)
			j++;
		if (set->len > 0)
			g_string_append_c(set, ',');
		if (j > i)
			g_string_append_printf(set, "%u:%u", uids[i], uids[j]);
		else
			g_string_append_printf(set, "%u", uids[i]);
		i = j + 1;
	}
}

/* UIDS (N of them) sorted and cut into IMAP sets ("1:100,153") of at most
 * UIDS_PER_COMMAND UIDs: commands on a list of messages send one per set. */
static GPtrArray *uid_sets(const guint32 *uids, guint n)
{
	GPtrArray *sets = g_ptr_array_new_with_free_func(g_free);
	if (n == 0)
		return sets; /* qsort() must not see the NULL of an empty copy */
	g_autofree guint32 *sorted = g_memdup2(uids, n * sizeof *uids);
	qsort(sorted, n, sizeof *sorted, compare_uid);
	for (guint first = 0; first < n; first += UIDS_PER_COMMAND) {
		GString *set = g_string_new(NULL);
		append_uid_set(set, sorted + first, MIN(UIDS_PER_COMMAND, n - first));
		g_ptr_array_add(sets, g_string_free(set, FALSE));
	}
	return sets;
}

/* Size and INTERNALDATE of UIDS in the mailbox URL selects, appended to
 * MESSAGES (struct canary_imap_message). */
static gboolean fetch_sizes_and_dates(struct canary_imap *imap, const char *url, GArray *uids,
				      GArray *messages, GError **error)
{
	g_autoptr(GPtrArray) sets = uid_sets((const guint32 *)uids->data, uids->len);
	for (guint i = 0; i < sets->len; i++) {
		g_autofree char *request =
			g_strdup_printf("UID FETCH %s (UID RFC822.SIZE INTERNALDATE)",
					(const char *)sets->pdata[i]);
		if (!command_in(imap, url, request, error) ||
		    !canary_imap_parse_fetch_sizes((const char *)imap->response->data,
						   imap->response->len, messages, error))
			return FALSE;
	}
	return TRUE;
}

static gint compare_message(gconstpointer a, gconstpointer b)
{
	return compare_uid(&((const struct canary_imap_message *)a)->uid,
			   &((const struct canary_imap_message *)b)->uid);
}

GArray *canary_imap_list(struct canary_imap *imap, guint limit, GError **error)
{
	g_autoptr(GArray) uids = g_array_new(FALSE, FALSE, sizeof(guint32));
	if (!search_in(imap, imap->mailbox_url, imap->mailbox, "ALL", uids, error))
		return NULL;
	g_array_sort(uids, compare_uid);
	if (limit > 0 && uids->len > limit)
		g_array_set_size(uids, limit);

	/* Sized once: a pass keeps the listing for its whole length. */
	GArray *messages =
		g_array_sized_new(FALSE, TRUE, sizeof(struct canary_imap_message), uids->len);
	if (!fetch_sizes_and_dates(imap, imap->mailbox_url, uids, messages, error)) {
		g_array_unref(messages);
		return NULL;
	}
	/* A message expunged meanwhile is simply not listed. */
	g_array_sort(messages, compare_message);
	return messages;
}

/* A slack over the announced size: some servers (Exchange among them)
 * announce an estimate. */
#define FETCH_SLACK_BYTES (64 * 1024)

guint64 canary_imap_fetch_limit(guint64 announced)
{
	guint64 size = MIN(announced, (guint64)MAX_FETCH_RESPONSE);
	return MIN(size + size / 16 + FETCH_SLACK_BYTES, (guint64)MAX_FETCH_RESPONSE);
}

/* Turns a failed fetch of UID into a CANARY_IMAP_ERROR_MESSAGE where the
 * answer, not the connection or the mailbox, was at fault; else leaves
 * *ERROR as it is. */
static void blame_message(struct canary_imap *imap, const struct canary_imap_fetch_check *check,
			  CURLcode code, GError **error)
{
	g_autofree char *why = NULL;
	if (check->problem != NULL)
		why = g_strdup(check->problem);
	else if (check->literal && check->received < check->announced)
		why = g_strdup_printf("the message was cut after %" G_GUINT64_FORMAT
				      " of the %" G_GUINT64_FORMAT " bytes announced (%s)",
				      check->received, check->announced, (*error)->message);
	else if (imap->fetch_sent && (code == CURLE_OPERATION_TIMEDOUT ||
				      code == CURLE_RECV_ERROR || code == CURLE_GOT_NOTHING))
		/* libcurl gives up on an endless line after io_timeout, or
		 * after 300 KB of answer lines ("Too large response headers"). */
		why = g_strdup_printf("no proper answer to the FETCH: an endless line, a server "
				      "stalled or gone on this message (%s)",
				      (*error)->message);
	if (why == NULL)
		return;
	g_clear_error(error);
	g_set_error(error, CANARY_IMAP_ERROR, CANARY_IMAP_ERROR_MESSAGE,
		    "%s: fetching UID %u: %s; nothing of it was kept, it stays on the server",
		    imap->server, check->uid, why);
}

/* Runs the fetch of URL for UID, checking its answer; leaves the message
 * in imap->response. */
static gboolean perform_fetch(struct canary_imap *imap, const char *url, guint32 uid, gsize limit,
			      GError **error)
{
	g_autofree char *doing = g_strdup_printf("fetching UID %u", uid);
	struct canary_imap_fetch_check check;
	canary_imap_fetch_check_init(&check, uid, limit);
	imap->fetching = &check;
	imap->fetch_sent = FALSE;
	gboolean ok = perform(imap, url, NULL, limit, doing, error);
	imap->fetching = NULL;
	if (!ok) {
		/* libcurl drops a connection whose transfer failed: the next
		 * command logs in afresh, never reads the rest of this answer. */
		blame_message(imap, &check, imap->last_code, error);
	} else if (!canary_imap_fetch_check_finish(&check, error)) {
		g_prefix_error(error, "%s: fetching UID %u: ", imap->server, uid);
		ok = FALSE;
	}
	canary_imap_fetch_check_clear(&check);
	if (!ok)
		reset_response(imap, 0); /* no part of it lingers */
	return ok;
}

static GBytes *fetch_url(struct canary_imap *imap, guint32 uidvalidity, guint32 uid,
			 const char *section, guint64 limit, GError **error)
{
	g_autofree char *url = g_strdup_printf("%s;UIDVALIDITY=%u/;UID=%u%s", imap->mailbox_url,
					       uidvalidity, uid, section);
	g_autoptr(GError) local = NULL;
	if (!perform_fetch(imap, url, uid, (gsize)MIN(limit, MAX_FETCH_RESPONSE), &local)) {
		/* libcurl answers 78 when the SELECT shows another UIDVALIDITY. */
		if (g_error_matches(local, CANARY_IMAP_ERROR, CANARY_IMAP_ERROR_REFUSED)) {
			struct canary_imap_status now;
			g_autoptr(GError) ignored = NULL;
			if (canary_imap_status(imap, imap->mailbox, &now, &ignored) &&
			    now.uidvalidity != uidvalidity) {
				g_set_error(error, CANARY_IMAP_ERROR, CANARY_IMAP_ERROR_RESET,
					    "%s: UIDVALIDITY of %s changed from %u to %u",
					    imap->server, imap->mailbox, uidvalidity,
					    now.uidvalidity);
				return NULL;
			}
		}
		g_propagate_error(error, g_steal_pointer(&local));
		return NULL;
	}
	GBytes *fetched = canary_wipe_bytes_take(imap->response);
	imap->response = g_byte_array_new();
	return fetched;
}

GBytes *canary_imap_fetch(struct canary_imap *imap, guint32 uidvalidity, guint32 uid,
			  guint64 announced, GError **error)
{
	return fetch_url(imap, uidvalidity, uid, "", canary_imap_fetch_limit(announced), error);
}

GBytes *canary_imap_fetch_header(struct canary_imap *imap, guint32 uidvalidity, guint32 uid,
				 GError **error)
{
	return fetch_url(imap, uidvalidity, uid, "/;SECTION=HEADER", CANARY_IMAP_HEADER_LIMIT,
			 error);
}

/* --- A connection of our own, for many messages per command ------------------ */

struct canary_imap_stream {
	struct canary_imap *imap; /* its handle: libcurl connected and logged in */
	curl_socket_t socket;
	int io_timeout_ms;
	guint tags;      /* commands sent */
	gboolean broken; /* an answer was left half read */
};

/* Waits until the socket is ready for EVENTS, at most io_timeout. */
static gboolean stream_wait(struct canary_imap_stream *s, short events, GError **error)
{
	struct pollfd p = {.fd = (int)s->socket, .events = events};
	int n = 0;
	do
		n = poll(&p, 1, s->io_timeout_ms);
	while (n < 0 && errno == EINTR);
	if (n > 0)
		return TRUE;
	g_set_error(error, CANARY_IMAP_ERROR, CANARY_IMAP_ERROR_TEMPORARY,
		    "%s: no answer within %d s", s->imap->server, s->io_timeout_ms / 1000);
	return FALSE;
}

/* After curl_easy_send() or curl_easy_recv() returned CODE: TRUE when it
 * went through, or when it would have blocked and the socket is now ready
 * for EVENTS (*AGAIN_R: call it again); else FALSE with ERROR, DOING
 * naming the step. */
static gboolean stream_io(struct canary_imap_stream *s, CURLcode code, short events,
			  const char *doing, gboolean *again_r, GError **error)
{
	*again_r = code == CURLE_AGAIN;
	if (code == CURLE_AGAIN)
		return stream_wait(s, events, error);
	if (code != CURLE_OK) {
		set_curl_error(s->imap, code, doing, error);
		return FALSE;
	}
	return TRUE;
}

static gboolean stream_send(struct canary_imap_stream *s, const char *text, GError **error)
{
	if (s->imap->trace)
		canary_debug("imap: > %.*s", (int)strcspn(text, "\r\n"), text);
	gsize len = strlen(text), sent = 0;
	while (sent < len) {
		size_t n = 0;
		CURLcode code = curl_easy_send(s->imap->curl, text + sent, len - sent, &n);
		gboolean again = FALSE;
		if (!stream_io(s, code, POLLOUT, "sending a command", &again, error))
			return FALSE;
		if (!again)
			sent += n;
	}
	return TRUE;
}

/* Reads the answer READER waits for, handing each message to DELIVER. */
static gboolean stream_read(struct canary_imap_stream *s, struct canary_fetch_reader *reader,
			    canary_imap_deliver deliver, gpointer data, GError **error)
{
	s->broken = TRUE; /* until the answer is read to its end */
	for (;;) {
		guint32 uid = 0;
		GBytes *message = NULL;
		switch (canary_fetch_reader_next(reader, &uid, &message, error)) {
		case CANARY_FETCH_DONE:
			s->broken = FALSE;
			return TRUE;
		case CANARY_FETCH_FAILED:
			g_prefix_error(error, "%s: ", s->imap->server);
			return FALSE;
		case CANARY_FETCH_MESSAGE:
			if (deliver == NULL) {
				g_bytes_unref(message);
				g_set_error(error, CANARY_IMAP_ERROR, CANARY_IMAP_ERROR_PROTOCOL,
					    "%s: a message no command asked for", s->imap->server);
				return FALSE;
			}
			if (!deliver(uid, message, data, error))
				return FALSE;
			continue;
		case CANARY_FETCH_MORE:
			break;
		}
		gsize room = 0;
		guint8 *space = canary_fetch_reader_space(reader, &room);
		size_t n = 0;
		CURLcode code = curl_easy_recv(s->imap->curl, space, room, &n);
		gboolean again = FALSE;
		if (!stream_io(s, code, POLLIN, "reading an answer", &again, error))
			return FALSE;
		if (again)
			continue;
		if (n == 0) {
			g_set_error(error, CANARY_IMAP_ERROR, CANARY_IMAP_ERROR_TEMPORARY,
				    "%s: the server closed the connection", s->imap->server);
			return FALSE;
		}
		canary_fetch_reader_filled(reader, n);
	}
}

/* Sends COMMAND (without tag or line end) and reads its answer. */
static gboolean stream_command(struct canary_imap_stream *s, const char *command,
			       guint64 max_literal, canary_imap_deliver deliver, gpointer data,
			       guint32 *uidvalidity_r, GError **error)
{
	g_autofree char *tag = g_strdup_printf("c%u", ++s->tags);
	g_autofree char *line = g_strdup_printf("%s %s\r\n", tag, command);
	g_autoptr(canary_fetch_reader) reader = canary_fetch_reader_new(tag, max_literal);
	if (!stream_send(s, line, error) || !stream_read(s, reader, deliver, data, error))
		return FALSE;
	if (uidvalidity_r != NULL)
		*uidvalidity_r = canary_fetch_reader_uidvalidity(reader);
	return TRUE;
}

struct canary_imap_stream *canary_imap_stream_open(const struct canary_imap_options *options,
						   guint32 uidvalidity, GError **error)
{
	g_autoptr(canary_imap_stream) s = g_new0(struct canary_imap_stream, 1);
	s->socket = CURL_SOCKET_BAD;
	s->imap = canary_imap_new(options, error);
	if (s->imap == NULL)
		return NULL;
	s->io_timeout_ms = (int)(options->io_timeout > 0 ? options->io_timeout : 120) * 1000;
	CURL *c = s->imap->curl;
	/* libcurl connects, checks the certificate and logs in, and stops. */
	curl_easy_setopt(c, CURLOPT_CONNECT_ONLY, 1L);
	curl_easy_setopt(c, CURLOPT_URL, s->imap->server);
	CURLcode code = curl_easy_perform(c);
	if (code == CURLE_OK)
		code = curl_easy_getinfo(c, CURLINFO_ACTIVESOCKET, &s->socket);
	if (code != CURLE_OK || s->socket == CURL_SOCKET_BAD) {
		set_curl_error(s->imap, code != CURLE_OK ? code : CURLE_COULDNT_CONNECT,
			       "logging in", error);
		return NULL;
	}
	g_autofree char *mailbox = quote_mailbox(s->imap->mailbox, error);
	if (mailbox == NULL)
		return NULL;
	/* EXAMINE: read-only, so that nothing on this connection changes the
	 * mailbox (the moves go through the caller's session). */
	g_autofree char *examine = g_strdup_printf("EXAMINE %s", mailbox);
	guint32 now = 0;
	if (!stream_command(s, examine, 0, NULL, NULL, &now, error))
		return NULL;
	if (now != uidvalidity) {
		g_set_error(error, CANARY_IMAP_ERROR, CANARY_IMAP_ERROR_RESET,
			    "%s: UIDVALIDITY of %s changed from %u to %u", s->imap->server,
			    s->imap->mailbox, uidvalidity, now);
		return NULL;
	}
	return g_steal_pointer(&s);
}

gboolean canary_imap_stream_fetch(struct canary_imap_stream *s, const guint32 *uids, guint n,
				  guint64 max_bytes, canary_imap_deliver deliver, gpointer data,
				  GError **error)
{
	g_autoptr(GPtrArray) sets = uid_sets(uids, n);
	for (guint i = 0; i < sets->len; i++) {
		g_autofree char *fetch =
			g_strdup_printf("UID FETCH %s (UID BODY.PEEK[])", (char *)sets->pdata[i]);
		if (!stream_command(s, fetch, max_bytes, deliver, data, NULL, error))
			return FALSE;
	}
	return TRUE;
}

void canary_imap_stream_free(struct canary_imap_stream *s)
{
	if (s == NULL)
		return;
	/* Mid-answer, libcurl's LOGOUT would read our leftovers as its
	 * answer until io_timeout: cut the connection instead. */
	if (s->broken && s->socket != CURL_SOCKET_BAD)
		shutdown((int)s->socket, SHUT_RDWR);
	canary_imap_free(s->imap);
	g_free(s);
}

/* The URL that selects FOLDER (already checked by quote_mailbox()). */
static char *folder_url(const struct canary_imap *imap, const char *folder)
{
	g_autofree char *escaped = g_uri_escape_string(folder, "/", FALSE);
	return g_strdup_printf("%s/%s", imap->server, escaped);
}

/* Adds FLAG to the messages of SET in the mailbox URL selects. */
static gboolean flag_set(struct canary_imap *imap, const char *url, const char *set,
			 const char *flag, GError **error)
{
	g_autofree char *store = g_strdup_printf("UID STORE %s +FLAGS.SILENT (%s)", set, flag);
	return command_in(imap, url, store, error);
}

/* Is every message marked \Deleted in the URL's mailbox one of SORTED
 * (N UIDs, ascending)? A plain EXPUNGE removes them all, also one someone
 * else marked that nobody has filed yet. */
static gboolean deleted_are_ours(struct canary_imap *imap, const guint32 *sorted, guint n,
				 gboolean *ours_r, GError **error)
{
	g_autoptr(GArray) deleted = g_array_new(FALSE, FALSE, sizeof(guint32));
	if (!command(imap, TRUE, "UID SEARCH DELETED", error) ||
	    !canary_imap_parse_search((const char *)imap->response->data, imap->response->len,
				      deleted, error))
		return FALSE;
	*ours_r = TRUE;
	for (guint i = 0; i < deleted->len && *ours_r; i++)
		*ours_r = bsearch(&g_array_index(deleted, guint32, i), sorted, n, sizeof *sorted,
				  compare_uid) != NULL;
	return TRUE;
}

/* Moves one set of at most UIDS_PER_COMMAND UIDs, SORTED[0..N). */
static gboolean move_set(struct canary_imap *imap, const char *set, const guint32 *sorted,
			 guint n, const char *folder, GError **error)
{
	if (has_capability(imap, "MOVE")) {
		g_autofree char *move = g_strdup_printf("UID MOVE %s %s", set, folder);
		return command(imap, TRUE, move, error);
	}
	/* RFC 6851 section 3.3's fallback. The copy lands first, so a failure
	 * later leaves a message in both places, never in neither. */
	g_autofree char *copy = g_strdup_printf("UID COPY %s %s", set, folder);
	if (!command(imap, TRUE, copy, error) ||
	    !flag_set(imap, imap->mailbox_url, set, "\\Deleted", error))
		return FALSE;
	if (has_capability(imap, "UIDPLUS")) {
		g_autofree char *expunge = g_strdup_printf("UID EXPUNGE %s", set);
		return command(imap, TRUE, expunge, error);
	}
	/* Without UIDPLUS only a plain EXPUNGE is left, and it must not take a
	 * message someone else marked \Deleted that is not filed yet: ours stay
	 * marked in the inbox until theirs are gone (the next pass finds them
	 * stored and copies them again: a duplicate in FOLDER, never a loss). */
	gboolean ours = FALSE;
	if (!deleted_are_ours(imap, sorted, n, &ours, error))
		return FALSE;
	if (!ours) {
		canary_notice("%s: the inbox holds messages marked \\Deleted by someone else, and "
			      "the server has no UIDPLUS: not expunging until they are gone",
			      imap->server);
		return TRUE;
	}
	return command(imap, TRUE, "EXPUNGE", error);
}

gboolean canary_imap_mark(struct canary_imap *imap, const guint32 *uids, guint n,
			  const char *flag, GError **error)
{
	g_autoptr(GPtrArray) sets = uid_sets(uids, n);
	for (guint i = 0; i < sets->len; i++) {
		if (!flag_set(imap, imap->mailbox_url, sets->pdata[i], flag, error))
			return FALSE;
	}
	return TRUE;
}

gboolean canary_imap_mark_seen(struct canary_imap *imap, const guint32 *uids, guint n,
			       GError **error)
{
	return canary_imap_mark(imap, uids, n, "\\Seen", error);
}

gboolean canary_imap_move(struct canary_imap *imap, const guint32 *uids, guint n,
			  const char *folder, GError **error)
{
	if (n == 0)
		return TRUE;
	g_autofree char *quoted = quote_mailbox(folder, error);
	if (quoted == NULL || !capabilities(imap, error))
		return FALSE;
	g_autofree guint32 *sorted = g_memdup2(uids, n * sizeof *uids);
	qsort(sorted, n, sizeof *sorted, compare_uid);
	g_autoptr(GPtrArray) sets = uid_sets(uids, n);
	for (guint i = 0; i < sets->len; i++) {
		if (!move_set(imap, sets->pdata[i], sorted, n, quoted, error))
			return FALSE;
	}
	return TRUE;
}

gboolean canary_imap_put_away(struct canary_imap *imap, const guint32 *uids, guint n,
			      const char *folder, const char *keyword, GError **error)
{
	if (folder == NULL)
		return canary_imap_remove(imap, uids, n, error);
	g_autoptr(GError) local = NULL;
	if (keyword != NULL && !canary_imap_mark(imap, uids, n, keyword, &local)) {
		if (!g_error_matches(local, CANARY_IMAP_ERROR, CANARY_IMAP_ERROR_REFUSED)) {
			g_propagate_error(error, g_steal_pointer(&local));
			return FALSE;
		}
		/* Unmarked, they are only kept longer: never removed by mistake. */
		canary_warning("%s: keyword %s refused (%s); the messages moved to %s stay "
			       "there until removed by hand",
			       imap->server, keyword, local->message, folder);
	}
	return canary_imap_move(imap, uids, n, folder, error);
}

gboolean canary_imap_has_capability(struct canary_imap *imap, const char *name,
				    gboolean *has_r, GError **error)
{
	if (!capabilities(imap, error))
		return FALSE;
	*has_r = has_capability(imap, name);
	return TRUE;
}

/* Marks the sets \Deleted in the mailbox URL selects and expunges them:
 * UID EXPUNGE, or with ANY_DELETED a plain EXPUNGE where the server has
 * no UIDPLUS. */
static gboolean expunge_sets(struct canary_imap *imap, const char *url, GPtrArray *sets,
			     gboolean any_deleted, GError **error)
{
	gboolean uidplus = has_capability(imap, "UIDPLUS");
	for (guint i = 0; i < sets->len; i++) {
		const char *set = sets->pdata[i];
		if (!flag_set(imap, url, set, "\\Deleted", error))
			return FALSE;
		if (uidplus) {
			g_autofree char *expunge = g_strdup_printf("UID EXPUNGE %s", set);
			if (!command_in(imap, url, expunge, error))
				return FALSE;
		}
	}
	if (uidplus)
		return TRUE;
	if (!any_deleted) {
		g_set_error(error, CANARY_IMAP_ERROR, CANARY_IMAP_ERROR_REFUSED,
			    "%s: the server has no UIDPLUS (UID EXPUNGE)", imap->server);
		return FALSE;
	}
	return command_in(imap, url, "EXPUNGE", error);
}

gboolean canary_imap_remove(struct canary_imap *imap, const guint32 *uids, guint n,
			    GError **error)
{
	if (n == 0)
		return TRUE;
	if (!capabilities(imap, error))
		return FALSE;
	if (!has_capability(imap, "UIDPLUS")) {
		g_set_error(error, CANARY_IMAP_ERROR, CANARY_IMAP_ERROR_REFUSED,
			    "%s: cannot remove messages from %s: the server has no UIDPLUS "
			    "(UID EXPUNGE)",
			    imap->server, imap->mailbox);
		return FALSE;
	}
	g_autoptr(GPtrArray) sets = uid_sets(uids, n);
	return expunge_sets(imap, imap->mailbox_url, sets, FALSE, error);
}

/* An IMAP date ("4-Dec-2026") of the UTC day of TIME. */
static char *imap_date(gint64 time)
{
	static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
					     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	g_autoptr(GDateTime) dt = g_date_time_new_from_unix_utc(time);
	if (dt == NULL)
		return NULL;
	return g_strdup_printf("%d-%s-%d", g_date_time_get_day_of_month(dt),
			       months[g_date_time_get_month(dt) - 1], g_date_time_get_year(dt));
}

/* Of the messages with UIDS in the mailbox URL selects, those whose
 * INTERNALDATE is known and before BEFORE. */
static GArray *older_than(struct canary_imap *imap, const char *url, GArray *uids, gint64 before,
			  GError **error)
{
	g_autoptr(GArray) messages =
		g_array_new(FALSE, TRUE, sizeof(struct canary_imap_message));
	if (!fetch_sizes_and_dates(imap, url, uids, messages, error))
		return NULL;
	GArray *old = g_array_new(FALSE, FALSE, sizeof(guint32));
	for (guint i = 0; i < messages->len; i++) {
		const struct canary_imap_message *m =
			&g_array_index(messages, struct canary_imap_message, i);
		if (m->internal_date != 0 && m->internal_date < before)
			g_array_append_val(old, m->uid);
	}
	return old;
}

gboolean canary_imap_sweep(struct canary_imap *imap, const char *folder, gint64 before,
			   const char *keyword, guint *removed_r, GError **error)
{
	*removed_r = 0;
	g_autofree char *quoted = quote_mailbox(folder, error);
	if (quoted == NULL)
		return FALSE;
	g_autofree char *url = folder_url(imap, folder);
	GString *criteria = g_string_new(NULL);
	if (keyword != NULL)
		g_string_append_printf(criteria, "KEYWORD %s", keyword);
	else
		g_string_append(criteria, "ALL");
	/* BEFORE compares dates in the server's own time zone: two days of
	 * margin, then the exact cut on each INTERNALDATE. */
	g_autofree char *date = before < G_MAXINT64 ? imap_date(before + 2 * 86400) : NULL;
	if (date != NULL)
		g_string_append_printf(criteria, " BEFORE %s", date);
	g_autofree char *text = g_string_free(criteria, FALSE);
	g_autoptr(GArray) found = g_array_new(FALSE, FALSE, sizeof(guint32));
	if (!search_in(imap, url, folder, text, found, error))
		return FALSE;
	g_autoptr(GArray) old = before < G_MAXINT64 ? older_than(imap, url, found, before, error)
						    : g_array_ref(found);
	if (old == NULL)
		return FALSE;
	if (old->len == 0)
		return TRUE;
	/* The folder is canary's (see canary_imap_sweep() in imap.h): a plain
	 * EXPUNGE there takes nothing that is not filed. */
	g_autoptr(GPtrArray) sets = uid_sets((const guint32 *)old->data, old->len);
	if (!expunge_sets(imap, url, sets, TRUE, error))
		return FALSE;
	*removed_r = old->len;
	return TRUE;
}

/* --- Response parsing ------------------------------------------------------- */

/* Reads an atom, after spaces, into a new string (NULL if there is none);
 * a NUL in it ends the string. */
static char *read_atom(struct canary_imap_cursor *c)
{
	canary_imap_syntax_skip_spaces(c);
	const char *atom = NULL;
	gsize len = 0;
	return canary_imap_syntax_read_atom(c, &atom, &len) ? g_strndup(atom, len) : NULL;
}

/* Reads an unsigned number, after spaces, of at most 32 bits (or 63 with
 * WIDE) and any number of leading zeros. */
static gboolean read_number(struct canary_imap_cursor *c, gboolean wide, guint64 *value_r)
{
	canary_imap_syntax_skip_spaces(c);
	return canary_imap_syntax_read_number(c, G_MAXSIZE, wide ? G_MAXINT64 : G_MAXUINT32,
					      value_r);
}

/* Skips a quoted string or an atom (a mailbox name in STATUS). */
static gboolean skip_astring(struct canary_imap_cursor *c)
{
	canary_imap_syntax_skip_spaces(c);
	if (canary_imap_syntax_at(c, '"'))
		return canary_imap_syntax_read_quoted(c, NULL);
	const char *atom = NULL;
	gsize len = 0;
	return canary_imap_syntax_read_atom(c, &atom, &len);
}

/* Calls LINE_FN on each "* " line of RESPONSE; stops at the first FALSE. */
static gboolean each_untagged(const char *response, gsize len,
			      gboolean (*line_fn)(struct canary_imap_cursor *, gpointer, GError **),
			      gpointer data, GError **error)
{
	const char *p = response, *end = response + len;
	while (p < end) {
		const char *eol = memchr(p, '\n', (gsize)(end - p));
		const char *line_end = eol != NULL ? eol : end;
		const char *content_end = line_end;
		if (content_end > p && content_end[-1] == '\r')
			content_end--;
		struct canary_imap_cursor c = {.p = p, .end = content_end};
		if (canary_imap_syntax_skip_untagged(&c) && !line_fn(&c, data, error))
			return FALSE;
		p = eol != NULL ? eol + 1 : end;
	}
	return TRUE;
}

static gboolean protocol_error(GError **error, const char *what)
{
	g_set_error(error, CANARY_IMAP_ERROR, CANARY_IMAP_ERROR_PROTOCOL,
		    "unreadable IMAP answer: %s", what);
	return FALSE;
}

static gboolean status_line(struct canary_imap_cursor *c, gpointer data, GError **error)
{
	struct canary_imap_status *status = data;
	g_autofree char *word = read_atom(c);
	if (word == NULL || g_ascii_strcasecmp(word, "STATUS") != 0)
		return TRUE;
	if (!skip_astring(c))
		return protocol_error(error, "STATUS without a mailbox name");
	canary_imap_syntax_skip_spaces(c);
	if (!canary_imap_syntax_at(c, '('))
		return protocol_error(error, "STATUS without its list");
	c->p++;
	guint found = 0;
	for (;;) {
		canary_imap_syntax_skip_spaces(c);
		if (canary_imap_syntax_at(c, ')'))
			break;
		g_autofree char *name = read_atom(c);
		guint64 value = 0;
		if (name == NULL || !read_number(c, TRUE, &value))
			return protocol_error(error, "STATUS item without a number");
		if (g_ascii_strcasecmp(name, "UIDVALIDITY") == 0 && value <= G_MAXUINT32) {
			status->uidvalidity = (guint32)value;
			found |= 1;
		} else if (g_ascii_strcasecmp(name, "UIDNEXT") == 0 && value <= G_MAXUINT32) {
			status->uidnext = (guint32)value;
			found |= 2;
		} else if (g_ascii_strcasecmp(name, "MESSAGES") == 0 && value <= G_MAXUINT32) {
			status->messages = (guint32)value;
		}
	}
	if ((found & 1) != 0 && status->uidvalidity == 0)
		return protocol_error(error, "UIDVALIDITY 0");
	return TRUE;
}

gboolean canary_imap_parse_status(const char *response, gsize len,
				  struct canary_imap_status *status_r, GError **error)
{
	struct canary_imap_status status = {0};
	if (!each_untagged(response, len, status_line, &status, error))
		return FALSE;
	if (status.uidvalidity == 0 || status.uidnext == 0)
		return protocol_error(error, "no STATUS with UIDVALIDITY and UIDNEXT");
	*status_r = status;
	return TRUE;
}

/* Most UIDs one answer may name: more than any real mailbox, far fewer than
 * a hostile "1:4294967295" would make us allocate. */
#define MAX_SEARCH_UIDS (10u * 1000 * 1000)

/* Reads a sequence set "1:3,7,9:8" of UIDs into UIDS. */
static gboolean read_uid_set(struct canary_imap_cursor *c, GArray *uids, GError **error)
{
	for (;;) {
		guint64 a = 0, b = 0;
		if (!read_number(c, FALSE, &a) || a == 0)
			return protocol_error(error, "bad UID in a set");
		b = a;
		if (canary_imap_syntax_at(c, ':')) {
			c->p++;
			if (!read_number(c, FALSE, &b) || b == 0)
				return protocol_error(error, "bad UID range");
		}
		guint64 low = MIN(a, b), high = MAX(a, b);
		if (high - low + 1 + uids->len > MAX_SEARCH_UIDS)
			return protocol_error(error, "absurdly many UIDs");
		for (guint64 u = low; u <= high; u++) {
			guint32 uid = (guint32)u;
			g_array_append_val(uids, uid);
		}
		if (canary_imap_syntax_at(c, ',')) {
			c->p++;
			continue;
		}
		return TRUE;
	}
}

static gboolean search_line(struct canary_imap_cursor *c, gpointer data, GError **error)
{
	GArray *uids = data;
	g_autofree char *word = read_atom(c);
	if (word == NULL)
		return TRUE;
	if (g_ascii_strcasecmp(word, "SEARCH") == 0) {
		for (;;) {
			canary_imap_syntax_skip_spaces(c);
			if (c->p >= c->end)
				return TRUE;
			guint64 uid = 0;
			if (!read_number(c, FALSE, &uid) || uid == 0)
				return protocol_error(error, "SEARCH with a bad UID");
			if (uids->len >= MAX_SEARCH_UIDS)
				return protocol_error(error, "absurdly many UIDs");
			guint32 u = (guint32)uid;
			g_array_append_val(uids, u);
		}
	}
	if (g_ascii_strcasecmp(word, "ESEARCH") != 0)
		return TRUE;
	/* "* ESEARCH (TAG "A5") UID ALL 1:3,7" or, when nothing matched,
	 * "* ESEARCH (TAG "A5") UID". */
	canary_imap_syntax_skip_spaces(c);
	if (canary_imap_syntax_at(c, '(') && !canary_imap_syntax_skip_past(c, ')'))
		return protocol_error(error, "ESEARCH tag not closed");
	for (;;) {
		g_autofree char *item = read_atom(c);
		if (item == NULL)
			return TRUE;
		if (g_ascii_strcasecmp(item, "UID") == 0)
			continue;
		if (g_ascii_strcasecmp(item, "ALL") == 0) {
			if (!read_uid_set(c, uids, error))
				return FALSE;
			continue;
		}
		/* MIN, MAX, COUNT: one number we do not need. */
		guint64 ignored = 0;
		if (!read_number(c, TRUE, &ignored))
			return protocol_error(error, "ESEARCH item without a value");
	}
}

gboolean canary_imap_parse_search(const char *response, gsize len, GArray *uids, GError **error)
{
	return each_untagged(response, len, search_line, uids, error);
}

/* Parses an INTERNALDATE "17-Jul-1996 02:44:25 -0700" into Unix UTC. */
static gint64 parse_internal_date(const char *s)
{
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	int day = 0, year = 0, hour = 0, minute = 0, second = 0, zone = 0;
	char month[4] = "";
	char sign = '+';
	if (sscanf(s, "%2d-%3c-%4d %2d:%2d:%2d %c%4d", &day, month, &year, &hour, &minute, &second,
		   &sign, &zone) != 8)
		return 0;
	const char *m = g_strstr_len(months, -1, month);
	if (m == NULL || (m - months) % 3 != 0 || (sign != '+' && sign != '-'))
		return 0;
	g_autoptr(GTimeZone) tz = g_time_zone_new_utc();
	g_autoptr(GDateTime) dt =
		g_date_time_new(tz, year, (int)((m - months) / 3) + 1, day, hour, minute, second);
	if (dt == NULL)
		return 0;
	gint64 offset = (gint64)(zone / 100 * 3600 + zone % 100 * 60);
	return g_date_time_to_unix(dt) - (sign == '+' ? offset : -offset);
}

static gboolean fetch_line(struct canary_imap_cursor *c, gpointer data, GError **error)
{
	GArray *messages = data;
	guint64 seq = 0;
	if (!read_number(c, FALSE, &seq))
		return TRUE; /* not "* N ..." */
	g_autofree char *word = read_atom(c);
	if (word == NULL || g_ascii_strcasecmp(word, "FETCH") != 0)
		return TRUE; /* "* N EXISTS" and the like */
	canary_imap_syntax_skip_spaces(c);
	if (!canary_imap_syntax_at(c, '('))
		return protocol_error(error, "FETCH without its list");
	c->p++;
	struct canary_imap_message m = {0};
	gboolean have_uid = FALSE, have_size = FALSE;
	for (;;) {
		canary_imap_syntax_skip_spaces(c);
		if (c->p >= c->end)
			return protocol_error(error, "FETCH list not closed");
		if (*c->p == ')')
			break;
		g_autofree char *name = read_atom(c);
		guint64 value = 0;
		if (name == NULL)
			return protocol_error(error, "FETCH item without a name");
		if (g_ascii_strcasecmp(name, "UID") == 0) {
			if (!read_number(c, FALSE, &value) || value == 0)
				return protocol_error(error, "FETCH with a bad UID");
			m.uid = (guint32)value;
			have_uid = TRUE;
		} else if (g_ascii_strcasecmp(name, "RFC822.SIZE") == 0) {
			if (!read_number(c, TRUE, &value))
				return protocol_error(error, "FETCH with a bad size");
			m.size = value;
			have_size = TRUE;
		} else if (g_ascii_strcasecmp(name, "INTERNALDATE") == 0) {
			canary_imap_syntax_skip_spaces(c);
			if (!canary_imap_syntax_at(c, '"'))
				return protocol_error(error, "INTERNALDATE not quoted");
			/* A date holds no quote to escape: the next one closes it. */
			const char *date_start = ++c->p;
			if (!canary_imap_syntax_skip_past(c, '"'))
				return protocol_error(error, "INTERNALDATE not closed");
			g_autofree char *date =
				g_strndup(date_start, (gsize)(c->p - 1 - date_start));
			m.internal_date = parse_internal_date(date);
		} else if (g_ascii_strcasecmp(name, "FLAGS") == 0) {
			/* Sent unasked when flags change meanwhile. */
			canary_imap_syntax_skip_spaces(c);
			if (!canary_imap_syntax_skip_past(c, ')'))
				return protocol_error(error, "FLAGS not closed");
		} else {
			/* MODSEQ (n) and others we did not ask for: skip a number, a
			 * parenthesised list (to its first ')': nothing nested) or
			 * an atom. */
			canary_imap_syntax_skip_spaces(c);
			if (canary_imap_syntax_at(c, '(')) {
				if (!canary_imap_syntax_skip_past(c, ')'))
					return protocol_error(error, "FETCH item not closed");
			} else {
				g_autofree char *skipped = read_atom(c);
				if (skipped == NULL)
					return protocol_error(error, "FETCH item without a value");
			}
		}
	}
	/* An unsolicited FETCH (flags changed by another client) has no size:
	 * it is not part of the answer. */
	if (have_uid && have_size)
		g_array_append_val(messages, m);
	return TRUE;
}

gboolean canary_imap_parse_fetch_sizes(const char *response, gsize len, GArray *messages,
				       GError **error)
{
	return each_untagged(response, len, fetch_line, messages, error);
}

static gboolean capability_line(struct canary_imap_cursor *c, gpointer data, GError **error)
{
	(void)error;
	GHashTable *set = data;
	g_autofree char *word = read_atom(c);
	if (word == NULL || g_ascii_strcasecmp(word, "CAPABILITY") != 0)
		return TRUE;
	for (char *name; (name = read_atom(c)) != NULL;) {
		char *upper = g_ascii_strup(name, -1);
		g_free(name);
		g_hash_table_add(set, upper);
		canary_imap_syntax_skip_spaces(c);
		if (canary_imap_syntax_at(c, '(') || canary_imap_syntax_at(c, ')'))
			c->p++;
	}
	return TRUE;
}

GHashTable *canary_imap_parse_capabilities(const char *response, gsize len)
{
	GHashTable *set = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	each_untagged(response, len, capability_line, set, NULL);
	return set;
}

/* Is LINE's first LEN bytes a libcurl command tag ("A001": a capital
 * letter, then digits)? */
static gboolean is_tag(const char *line, gsize len)
{
	if (len < 2 || !g_ascii_isupper(line[0]))
		return FALSE;
	for (gsize i = 1; i < len; i++)
		if (!g_ascii_isdigit(line[i]))
			return FALSE;
	return TRUE;
}

/* Does TEXT start with the word WORD? */
static gboolean starts_with_word(const char *text, const char *word)
{
	gsize n = strlen(word);
	return strncmp(text, word, n) == 0 && (text[n] == ' ' || text[n] == '\0');
}

enum canary_imap_said canary_imap_parse_said(const char *line, gsize len, char **text_r)
{
	*text_r = NULL;
	g_autofree char *printable = printable_line(line, len);
	const char *space = strchr(printable, ' ');
	if (space == NULL)
		return CANARY_IMAP_SAID_NOTHING;
	const char *text = space + 1;
	gboolean untagged = space == printable + 1 && printable[0] == '*';
	gboolean refused = starts_with_word(text, "NO") || starts_with_word(text, "BAD");
	enum canary_imap_said said = CANARY_IMAP_SAID_NOTHING;
	if (untagged && (refused || strstr(text, "[ALERT]") != NULL))
		said = CANARY_IMAP_SAID_NOTICE;
	else if (refused && is_tag(printable, (gsize)(space - printable)))
		said = CANARY_IMAP_SAID_REFUSAL;
	if (said != CANARY_IMAP_SAID_NOTHING)
		*text_r = g_strdup(text);
	return said;
}

/* --- Checking a fetch's answer ---------------------------------------------- */

void canary_imap_fetch_check_init(struct canary_imap_fetch_check *check, guint32 uid, guint64 limit)
{
	*check = (struct canary_imap_fetch_check){.uid = uid, .limit = limit};
}

void canary_imap_fetch_check_clear(struct canary_imap_fetch_check *check)
{
	g_clear_pointer(&check->problem, g_free);
}

static gboolean fetch_problem(struct canary_imap_fetch_check *check, char *problem)
{
	if (check->problem == NULL)
		check->problem = problem;
	else
		g_free(problem);
	return FALSE;
}

/* The "{N}" that ends a line announcing a literal: any number of digits,
 * a size of at most 63 bits. */
static gboolean ends_with_literal(const char *start, const char *end, guint64 *size_r)
{
	return canary_imap_syntax_literal_at_end(start, end, G_MAXSIZE, G_MAXINT64, size_r) != NULL;
}

/* The value of the item "UID n" in a FETCH line, if there is one. */
static gboolean find_uid_item(const char *start, const char *end, guint64 *uid_r)
{
	for (const char *p = start; p + 4 <= end; p++) {
		gboolean word_start = p == start || p[-1] == ' ' || p[-1] == '(';
		if (!word_start || g_ascii_strncasecmp(p, "UID ", 4) != 0)
			continue;
		struct canary_imap_cursor c = {.p = p + 4, .end = end};
		return read_number(&c, FALSE, uid_r);
	}
	return FALSE;
}

gboolean canary_imap_fetch_check_line(struct canary_imap_fetch_check *check, const char *line,
				      gsize len)
{
	if (check->problem != NULL)
		return FALSE;
	const char *end = line + len;
	while (end > line && (end[-1] == '\n' || end[-1] == '\r'))
		end--;
	guint64 uid = 0;
	struct canary_imap_cursor c = {.p = line, .end = end};
	if (canary_imap_syntax_skip_untagged(&c)) {
		guint64 seq = 0;
		g_autofree char *word = NULL;
		if (!read_number(&c, FALSE, &seq) || (word = read_atom(&c)) == NULL ||
		    g_ascii_strcasecmp(word, "FETCH") != 0)
			return TRUE; /* "* OK", "* 3 EXISTS" and the like */
		guint64 size = 0;
		if (!ends_with_literal(c.p, end, &size))
			return TRUE; /* flags changed meanwhile: not the answer */
		if (check->literal)
			return fetch_problem(check, g_strdup("a second message in one answer"));
		if (find_uid_item(c.p, end, &uid) && uid != check->uid)
			return fetch_problem(check, g_strdup_printf("the server answered with UID "
								    "%" G_GUINT64_FORMAT,
								    uid));
		if (size > check->limit)
			return fetch_problem(
				check, g_strdup_printf("the server announced %" G_GUINT64_FORMAT
						       " bytes, more than the %" G_GUINT64_FORMAT
						       " its listed size allows",
						       size, check->limit));
		check->literal = TRUE;
		check->announced = size;
		return TRUE;
	}
	/* The rest of the FETCH after the literal (" UID 3)" where a server
	 * puts the UID last), before the tagged status line. */
	const char *space = memchr(line, ' ', (gsize)(end - line));
	gboolean tagged = space != NULL && is_tag(line, (gsize)(space - line));
	if (check->literal && !tagged && find_uid_item(line, end, &uid) && uid != check->uid)
		return fetch_problem(check, g_strdup_printf("the server answered with UID "
							    "%" G_GUINT64_FORMAT,
							    uid));
	return TRUE;
}

gboolean canary_imap_fetch_check_data(struct canary_imap_fetch_check *check, gsize len)
{
	if (check->problem != NULL)
		return FALSE;
	check->received += len;
	if (!check->literal || check->received > check->announced)
		return fetch_problem(check, g_strdup("more bytes than the literal announced"));
	return TRUE;
}

gboolean canary_imap_fetch_check_finish(const struct canary_imap_fetch_check *check, GError **error)
{
	const char *why = check->problem;
	g_autofree char *cut = NULL;
	if (why == NULL && !check->literal)
		why = "the answer held no message";
	else if (why == NULL && check->received != check->announced)
		why = cut = g_strdup_printf("the message was cut after %" G_GUINT64_FORMAT
					    " of the %" G_GUINT64_FORMAT " bytes announced",
					    check->received, check->announced);
	if (why == NULL)
		return TRUE;
	g_set_error(error, CANARY_IMAP_ERROR, CANARY_IMAP_ERROR_MESSAGE,
		    "%s; nothing of it was kept, it stays on the server", why);
	return FALSE;
}
