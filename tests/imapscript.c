/* imapscript.c: the misbehaving IMAP server of imapscript.h. One thread
 * accepts; each connection gets a thread that relays lines from the client
 * (TLS, OpenSSL) to Dovecot's plain port and Dovecot's bytes back, and
 * plays a rule instead of relaying a fetch of a UID it has one for. */
#include "imapscript.h"

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/poll.h> /* not lib/poll.h */
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "testutil.h"

struct tu_imapscript {
	struct tu_dovecot *dovecot;
	char *dir;
	char *ca_file;
	SSL_CTX *ctx;
	int listen_fd;
	guint port;
	struct tu_imapscript_rule *rules;
	guint n_rules;
	GThread *acceptor;
	gint stopping; /* atomic */

	GMutex lock;
	GPtrArray *threads; /* GThread *: one per connection */
	GArray *fds;        /* int: the client sockets still open */
	guint played;
	guint64 bytes_sent;
	guint connections;
};

struct connection {
	struct tu_imapscript *s;
	int client_fd;
	SSL *ssl;
	int dovecot_fd;
	GString *line; /* what the client sent, up to its next line end */
	gboolean muted;
};

enum outcome { GO_ON, MUTE, HANG_UP };

static gboolean stopping(struct tu_imapscript *s)
{
	return g_atomic_int_get(&s->stopping) != 0;
}

/* Writes LEN bytes to the client, counting what its socket accepted. */
static gboolean send_client(struct connection *c, const void *data, gsize len)
{
	const char *p = data;
	while (len > 0) {
		int n = SSL_write(c->ssl, p, (int)MIN(len, 16384));
		if (n <= 0)
			return FALSE;
		g_mutex_lock(&c->s->lock);
		c->s->bytes_sent += (guint64)n;
		g_mutex_unlock(&c->s->lock);
		p += n;
		len -= (gsize)n;
	}
	return TRUE;
}

static gboolean send_text(struct connection *c, const char *text)
{
	return send_client(c, text, strlen(text));
}

/* Writes BYTES filler bytes: lines of 'x' with CRLF, or one line without
 * any line end when ENDLESS. */
static gboolean send_filler(struct connection *c, guint64 bytes, gboolean endless)
{
	char chunk[65536];
	memset(chunk, 'x', sizeof chunk);
	if (!endless)
		for (gsize i = 76; i + 1 < sizeof chunk; i += 78) {
			chunk[i] = '\r';
			chunk[i + 1] = '\n';
		}
	while (bytes > 0 && !stopping(c->s)) {
		gsize n = (gsize)MIN(bytes, sizeof chunk);
		if (!send_client(c, chunk, n))
			return FALSE;
		bytes -= n;
	}
	return bytes == 0;
}

static enum outcome play(struct connection *c, const struct tu_imapscript_rule *rule,
			 const char *tag, const char *section)
{
	g_mutex_lock(&c->s->lock);
	c->s->played++;
	g_mutex_unlock(&c->s->lock);
	g_autofree char *done = g_strdup_printf(")\r\n%s OK Fetch completed.\r\n", tag);
	g_autofree char *opening =
		g_strdup_printf("* 1 FETCH (UID %u %s {%" G_GUINT64_FORMAT "}\r\n", rule->uid,
				section, rule->bytes);
	switch (rule->act) {
	case TU_IMAPSCRIPT_OVERSIZED:
		return send_text(c, opening) && send_filler(c, rule->bytes, FALSE) &&
				       send_text(c, done)
			       ? GO_ON
			       : HANG_UP;
	case TU_IMAPSCRIPT_WRONG_UID: {
		const char *other = "From: Someone Else <else@example.net>\r\n"
				    "Subject: not the message asked for\r\n"
				    "\r\n"
				    "Another message.\r\n";
		g_autofree char *head = g_strdup_printf("* 1 FETCH (UID %u %s {%zu}\r\n",
							rule->other_uid, section, strlen(other));
		return send_text(c, head) && send_text(c, other) && send_text(c, done) ? GO_ON
										       : HANG_UP;
	}
	case TU_IMAPSCRIPT_ENDLESS_LINE: {
		g_autofree char *head =
			g_strdup_printf("* 1 FETCH (UID %u %s ", rule->uid, section);
		return send_text(c, head) && send_filler(c, rule->bytes, TRUE) ? MUTE : HANG_UP;
	}
	case TU_IMAPSCRIPT_CUT_LITERAL:
		send_text(c, opening) && send_filler(c, rule->bytes / 2, FALSE);
		return HANG_UP;
	case TU_IMAPSCRIPT_SHORT_LITERAL:
		return send_text(c, opening) && send_filler(c, rule->bytes / 2, FALSE) &&
				       send_text(c, done)
			       ? MUTE
			       : HANG_UP;
	}
	return HANG_UP;
}

/* Whether the UID set SET ("1:3,7") holds UID. */
static gboolean set_holds(const char *set, guint64 uid)
{
	g_auto(GStrv) ranges = g_strsplit(set, ",", -1);
	for (guint i = 0; ranges[i] != NULL; i++) {
		char *end = NULL;
		guint64 low = g_ascii_strtoull(ranges[i], &end, 10), high = low;
		if (*end == ':')
			high = g_ascii_strtoull(end + 1, NULL, 10);
		if (MIN(low, high) <= uid && uid <= MAX(low, high))
			return TRUE;
	}
	return FALSE;
}

/* "A005 UID FETCH 3 BODY[]" with a rule for UID 3: that rule. A fetch of
 * many messages at once ("c4 UID FETCH 1:5 (UID BODY.PEEK[])") that holds
 * a UID with a rule is refused (*REFUSE_R), so that the client fetches
 * that message alone, where the rule plays. */
static const struct tu_imapscript_rule *rule_for(struct tu_imapscript *s, const char *line,
						 char **tag_r, char **section_r,
						 gboolean *refuse_r)
{
	g_auto(GStrv) words = g_strsplit_set(line, " \r\n", 6);
	*refuse_r = FALSE;
	if (g_strv_length(words) < 5 || g_ascii_strcasecmp(words[1], "UID") != 0 ||
	    g_ascii_strcasecmp(words[2], "FETCH") != 0)
		return NULL;
	gboolean whole = g_ascii_strncasecmp(words[4], "BODY", 4) == 0;
	gboolean many = g_ascii_strncasecmp(words[4], "(UID", 4) == 0 &&
			strstr(line, "BODY.PEEK[])") != NULL;
	if (!whole && !many)
		return NULL;
	for (guint i = 0; i < s->n_rules; i++) {
		if (many ? set_holds(words[3], s->rules[i].uid)
			 : g_ascii_strtoull(words[3], NULL, 10) == s->rules[i].uid) {
			*tag_r = g_strdup(words[0]);
			*section_r = g_strdup(words[4]);
			*refuse_r = many;
			return &s->rules[i];
		}
	}
	return NULL;
}

static gboolean write_all(int fd, const char *data, gsize len)
{
	while (len > 0) {
		ssize_t n = write(fd, data, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return FALSE;
		data += n;
		len -= (gsize)n;
	}
	return TRUE;
}

/* Handles what the client sent: whole lines go to Dovecot or to a rule. */
static enum outcome from_client(struct connection *c, const char *data, gsize len)
{
	g_string_append_len(c->line, data, (gssize)len);
	for (;;) {
		char *eol = memchr(c->line->str, '\n', c->line->len);
		if (eol == NULL)
			return GO_ON;
		gsize n = (gsize)(eol - c->line->str) + 1;
		g_autofree char *line = g_strndup(c->line->str, n);
		g_string_erase(c->line, 0, (gssize)n);
		if (c->muted)
			continue;
		g_autofree char *tag = NULL, *section = NULL;
		gboolean refuse = FALSE;
		const struct tu_imapscript_rule *rule =
			rule_for(c->s, line, &tag, &section, &refuse);
		g_autofree char *refusal =
			refuse ? g_strdup_printf("%s NO [UNAVAILABLE] scripted: fetch UID %u "
						 "alone\r\n",
						 tag, rule->uid)
			       : NULL;
		enum outcome o = refuse		? (send_text(c, refusal) ? GO_ON : HANG_UP)
				 : rule != NULL ? play(c, rule, tag, section)
						: (write_all(c->dovecot_fd, line, n) ? GO_ON : HANG_UP);
		if (o == HANG_UP)
			return HANG_UP;
		if (o == MUTE)
			c->muted = TRUE;
	}
}

static int connect_dovecot(guint port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((guint16)port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0)
		return fd;
	if (fd >= 0)
		close(fd);
	return -1;
}

static void relay(struct connection *c)
{
	char buf[16384];
	while (!stopping(c->s)) {
		struct pollfd p[2] = {{.fd = c->client_fd, .events = POLLIN},
				      {.fd = c->dovecot_fd, .events = POLLIN}};
		if (SSL_pending(c->ssl) == 0 && poll(p, c->muted ? 1 : 2, 100) <= 0)
			continue;
		if (SSL_pending(c->ssl) > 0 || p[0].revents != 0) {
			int n = SSL_read(c->ssl, buf, sizeof buf);
			if (n <= 0 || from_client(c, buf, (gsize)n) == HANG_UP)
				return;
		}
		if (!c->muted && p[1].revents != 0) {
			ssize_t n = read(c->dovecot_fd, buf, sizeof buf);
			if (n <= 0 || !send_client(c, buf, (gsize)n))
				return;
		}
	}
}

static void forget_fd(struct tu_imapscript *s, int fd)
{
	g_mutex_lock(&s->lock);
	for (guint i = 0; i < s->fds->len; i++)
		if (g_array_index(s->fds, int, i) == fd) {
			g_array_remove_index_fast(s->fds, i);
			break;
		}
	g_mutex_unlock(&s->lock);
}

static gpointer connection_main(gpointer data)
{
	struct connection *c = data;
	c->line = g_string_new(NULL);
	c->ssl = SSL_new(c->s->ctx);
	SSL_set_fd(c->ssl, c->client_fd);
	c->dovecot_fd = -1;
	if (SSL_accept(c->ssl) == 1) {
		c->dovecot_fd = connect_dovecot(c->s->dovecot->imap_port);
		if (c->dovecot_fd >= 0)
			relay(c);
	}
	forget_fd(c->s, c->client_fd);
	SSL_free(c->ssl);
	close(c->client_fd);
	if (c->dovecot_fd >= 0)
		close(c->dovecot_fd);
	g_string_free(c->line, TRUE);
	g_free(c);
	return NULL;
}

static gpointer acceptor_main(gpointer data)
{
	struct tu_imapscript *s = data;
	while (!stopping(s)) {
		struct pollfd p = {.fd = s->listen_fd, .events = POLLIN};
		if (poll(&p, 1, 50) <= 0)
			continue;
		int fd = accept(s->listen_fd, NULL, NULL);
		if (fd < 0)
			continue;
		/* A client that stops reading must not hold a writer forever. */
		struct timeval timeout = {.tv_sec = 20};
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
		struct connection *c = g_new0(struct connection, 1);
		c->s = s;
		c->client_fd = fd;
		g_mutex_lock(&s->lock);
		s->connections++;
		g_array_append_val(s->fds, fd);
		g_ptr_array_add(s->threads, g_thread_new("imapscript", connection_main, c));
		g_mutex_unlock(&s->lock);
	}
	return NULL;
}

struct tu_imapscript *tu_imapscript_start(struct tu_dovecot *dovecot,
					  const struct tu_imapscript_rule *rules, guint n)
{
	/* Writing to a client that hung up must fail, not kill the test. */
	signal(SIGPIPE, SIG_IGN);
	struct tu_imapscript *s = g_new0(struct tu_imapscript, 1);
	s->dovecot = dovecot;
	s->dir = g_dir_make_tmp("canary-imapscript-XXXXXX", NULL);
	ck_assert_ptr_nonnull(s->dir);
	s->ca_file = tu_dovecot_other_cert(s->dir);
	g_autofree char *key = g_build_filename(s->dir, "other-key.pem", NULL);
	s->ctx = SSL_CTX_new(TLS_server_method());
	ck_assert_ptr_nonnull(s->ctx);
	ck_assert_int_eq(SSL_CTX_use_certificate_chain_file(s->ctx, s->ca_file), 1);
	ck_assert_int_eq(SSL_CTX_use_PrivateKey_file(s->ctx, key, SSL_FILETYPE_PEM), 1);
	s->rules = g_memdup2(rules, n * sizeof *rules);
	s->n_rules = n;
	g_mutex_init(&s->lock);
	s->threads = g_ptr_array_new();
	s->fds = g_array_new(FALSE, FALSE, sizeof(int));
	s->listen_fd = tu_listen_loopback(&s->port);
	s->acceptor = g_thread_new("imapscript-accept", acceptor_main, s);
	return s;
}

void tu_imapscript_free(struct tu_imapscript *s)
{
	if (s == NULL)
		return;
	g_atomic_int_set(&s->stopping, 1);
	g_thread_join(s->acceptor);
	g_mutex_lock(&s->lock);
	for (guint i = 0; i < s->fds->len; i++)
		shutdown(g_array_index(s->fds, int, i), SHUT_RDWR);
	g_mutex_unlock(&s->lock);
	for (guint i = 0; i < s->threads->len; i++)
		g_thread_join(s->threads->pdata[i]);
	g_ptr_array_unref(s->threads);
	g_array_unref(s->fds);
	close(s->listen_fd);
	SSL_CTX_free(s->ctx);
	g_mutex_clear(&s->lock);
	tu_rmtree(s->dir);
	g_free(s->dir);
	g_free(s->ca_file);
	g_free(s->rules);
	g_free(s);
}

char *tu_imapscript_url(const struct tu_imapscript *s)
{
	return g_strdup_printf("imaps://127.0.0.1:%u/INBOX", s->port);
}

const char *tu_imapscript_ca_file(const struct tu_imapscript *s)
{
	return s->ca_file;
}

guint tu_imapscript_played(struct tu_imapscript *s)
{
	g_mutex_lock(&s->lock);
	guint played = s->played;
	g_mutex_unlock(&s->lock);
	return played;
}

guint64 tu_imapscript_bytes_sent(struct tu_imapscript *s)
{
	g_mutex_lock(&s->lock);
	guint64 sent = s->bytes_sent;
	g_mutex_unlock(&s->lock);
	return sent;
}

guint tu_imapscript_connections(struct tu_imapscript *s)
{
	g_mutex_lock(&s->lock);
	guint n = s->connections;
	g_mutex_unlock(&s->lock);
	return n;
}
