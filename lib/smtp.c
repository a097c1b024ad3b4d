/* smtp.c: one message over SMTP with libcurl. TLS is never optional and
 * certificates are always checked, as for IMAP (imap.c). Errors reach the
 * log: they are built from libcurl's code and the server's reply code only,
 * never from libcurl's error text or the server's, which may echo an
 * address. */
#include "smtp.h"

#include <curl/curl.h>
#include <string.h>

#include "poll.h"
#include "values.h"
#include "wipe.h"

// clang-format off
G_DEFINE_QUARK(canary-smtp-error-quark, canary_smtp_error)
// clang-format on

/* The message being uploaded: libcurl reads it in pieces. */
struct upload {
	const guint8 *data;
	gsize len, sent;
};

static size_t read_callback(char *buffer, size_t size, size_t nitems, void *userdata)
{
	struct upload *u = userdata;
	gsize n = MIN(size * nitems, u->len - u->sent);
	memcpy(buffer, u->data + u->sent, n);
	u->sent += n;
	return n;
}

/* "smtps://HOST:PORT" of URL without anything after the authority, for
 * errors. New string. */
static char *server_of(const char *url)
{
	const char *authority = strstr(url, "://");
	authority = authority != NULL ? authority + 3 : url;
	gsize len = strcspn(authority, "/");
	return g_strndup(url, (gsize)(authority - url) + len);
}

/* The error for libcurl's RC after a transfer that got the reply CODE
 * (0: none) from SERVER. */
static void set_curl_error(CURLcode rc, long code, const char *server, GError **error)
{
	int kind = CANARY_SMTP_ERROR_FAILED;
	const char *what = curl_easy_strerror(rc);
	switch (rc) {
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_USE_SSL_FAILED:
		kind = CANARY_SMTP_ERROR_CONNECT;
		break;
	case CURLE_LOGIN_DENIED:
		kind = CANARY_SMTP_ERROR_AUTH;
		break;
	case CURLE_SEND_FAIL_REWIND:
	case CURLE_UPLOAD_FAILED:
		kind = code >= 500 ? CANARY_SMTP_ERROR_REFUSED : CANARY_SMTP_ERROR_FAILED;
		break;
	default:
		break;
	}
	/* libcurl reports a refused MAIL FROM or RCPT TO as these. */
	if (rc == CURLE_SEND_ERROR && code >= 500)
		kind = CANARY_SMTP_ERROR_REFUSED;
	if (code > 0)
		g_set_error(error, CANARY_SMTP_ERROR, kind, "%s: %s (the server answered %ld)",
			    server, what, code);
	else
		g_set_error(error, CANARY_SMTP_ERROR, kind, "%s: %s", server, what);
}

/* "<ADDRESS>" for MAIL FROM / RCPT TO. */
static char *angle(const char *address)
{
	return g_strdup_printf("<%s>", address);
}

gboolean canary_smtp_send(const struct canary_config *config, const char *const *rcpt, guint n_rcpt,
			  GBytes *message, GError **error)
{
	const char *url = config->smtp.url;
	if (url == NULL || config->smtp.from == NULL) {
		g_set_error(error, CANARY_SMTP_ERROR, CANARY_SMTP_ERROR_SETUP,
			    "%s has no [smtp] url and from: no mail can be sent", config->path);
		return FALSE;
	}
	if (n_rcpt == 0) {
		g_set_error(error, CANARY_SMTP_ERROR, CANARY_SMTP_ERROR_SETUP, "no recipient");
		return FALSE;
	}
	for (guint i = 0; i < n_rcpt; i++)
		if (!canary_value_valid_address(rcpt[i])) {
			g_set_error(error, CANARY_SMTP_ERROR, CANARY_SMTP_ERROR_SETUP,
				    "recipient %u is not an address of the form local@domain",
				    i + 1);
			return FALSE;
		}
	char *password = NULL;
	if (config->smtp.password_file != NULL) {
		GError *local = NULL;
		password = canary_poll_read_secret(config->smtp.password_file, &local);
		if (password == NULL) {
			g_set_error(error, CANARY_SMTP_ERROR, CANARY_SMTP_ERROR_SETUP,
				    "[smtp] password_file: %s", local->message);
			g_error_free(local);
			return FALSE;
		}
	}
	g_autofree char *server = server_of(url);
	g_autofree char *from = angle(config->smtp.from);
	struct curl_slist *recipients = NULL;
	for (guint i = 0; i < n_rcpt; i++) {
		g_autofree char *to = angle(rcpt[i]);
		recipients = curl_slist_append(recipients, to);
	}
	gsize len = 0;
	struct upload upload = {g_bytes_get_data(message, &len), 0, 0};
	upload.len = len;

	CURL *c = curl_easy_init();
	CURLcode rc = c != NULL ? CURLE_OK : CURLE_OUT_OF_MEMORY;
#define SET(option, value)                                                                         \
	do {                                                                                       \
		if (rc == CURLE_OK)                                                                \
			rc = curl_easy_setopt(c, option, value);                                   \
	} while (0)
	/* libcurl says EHLO with the URL's path, or else the machine's name:
	 * the confidential address's domain tells the server nothing new. */
	g_autofree char *ehlo_url =
		g_strdup_printf("%s/%s", server, strrchr(config->smtp.from, '@') + 1);
	SET(CURLOPT_URL, ehlo_url);
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_PROTOCOLS_STR, "smtp,smtps");
	SET(CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
	SET(CURLOPT_SSL_VERIFYPEER, 1L);
	SET(CURLOPT_SSL_VERIFYHOST, 2L);
	SET(CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	if (config->smtp.ca_file != NULL)
		SET(CURLOPT_CAINFO, config->smtp.ca_file);
	if (config->smtp.pinned_public_key != NULL)
		SET(CURLOPT_PINNEDPUBLICKEY, config->smtp.pinned_public_key);
	if (config->smtp.username != NULL)
		SET(CURLOPT_USERNAME, config->smtp.username);
	if (password != NULL)
		SET(CURLOPT_PASSWORD, password);
	SET(CURLOPT_MAIL_FROM, from);
	SET(CURLOPT_MAIL_RCPT, recipients);
	SET(CURLOPT_UPLOAD, 1L);
	SET(CURLOPT_INFILESIZE_LARGE, (curl_off_t)upload.len);
	SET(CURLOPT_READFUNCTION, read_callback);
	SET(CURLOPT_READDATA, &upload);
	SET(CURLOPT_CONNECTTIMEOUT, (long)config->smtp.connect_timeout);
	SET(CURLOPT_SERVER_RESPONSE_TIMEOUT, (long)config->smtp.io_timeout);
	SET(CURLOPT_LOW_SPEED_LIMIT, 1L);
	SET(CURLOPT_LOW_SPEED_TIME, (long)config->smtp.io_timeout);
#undef SET
	long code = 0;
	if (rc == CURLE_OK) {
		rc = curl_easy_perform(c);
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	}
	if (c != NULL) {
		/* libcurl keeps its own copy of the password: clear it before it goes. */
		curl_easy_setopt(c, CURLOPT_PASSWORD, NULL);
		curl_easy_cleanup(c);
	}
	curl_slist_free_all(recipients);
	canary_wipe_free(password);
	if (rc != CURLE_OK) {
		set_curl_error(rc, code, server, error);
		return FALSE;
	}
	return TRUE;
}
