/* check_imap.c: the IMAP session against a real Dovecot on 127.0.0.1 (IMAPS
 * and STARTTLS, certificate and pin checks, login failures, listing,
 * fetching, folders, moves with and without MOVE), fetches from a scripted
 * misbehaving server in front of it (tests/imapscript.c), and the response
 * parsers on well-formed and hostile answers. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <utime.h>

#include "dovecot.h"
#include "imap.h"
#include "imapscript.h"
#include "log.h"
#include "testutil.h"

static struct tu_dovecot *dovecot;
static char *url;

static void setup(void)
{
	dovecot = tu_dovecot_start(NULL);
	url = tu_dovecot_url(dovecot, TRUE);
}

static void teardown(void)
{
	tu_dovecot_free(dovecot);
	dovecot = NULL;
	g_clear_pointer(&url, g_free);
}

static struct canary_imap_options options_for(const char *the_url)
{
	return (struct canary_imap_options){
		.url = the_url,
		.username = dovecot->user,
		.password = dovecot->password,
		.ca_file = dovecot->ca_file,
		.connect_timeout = 5,
		.io_timeout = 10,
	};
}

static struct canary_imap *session(void)
{
	struct canary_imap_options options = options_for(url);
	g_autoptr(GError) error = NULL;
	struct canary_imap *imap = canary_imap_new(&options, &error);
	ck_assert_msg(imap != NULL, "%s", error ? error->message : "");
	return imap;
}

/* A small message with CRLF line ends, as IMAP hands them out. */
static char *message(guint n)
{
	return g_strdup_printf("From: Sender %u <sender%u@example.org>\r\n"
			       "To: reprisals@example.org\r\n"
			       "Subject: report %u\r\n"
			       "Message-ID: <%u@example.org>\r\n"
			       "\r\n"
			       "Body of report %u.\r\n",
			       n, n, n, n, n);
}

static void deliver(guint first, guint count)
{
	for (guint i = first; i < first + count; i++) {
		g_autofree char *text = message(i);
		tu_dovecot_deliver_text(dovecot, "INBOX", text);
	}
}

/* Expects OPERATION's error to be of CLASS. */
#define assert_imap_error(error, class)                                                            \
	do {                                                                                       \
		ck_assert_ptr_nonnull(error);                                                      \
		ck_assert_msg(g_error_matches(error, CANARY_IMAP_ERROR, class),                    \
			      "expected class %d, got %s (%d)", class, (error)->message,           \
			      (error)->code);                                                      \
	} while (0)

static GError *status_error(const struct canary_imap_options *options)
{
	GError *error = NULL;
	g_autoptr(canary_imap) imap = canary_imap_new(options, &error);
	if (imap == NULL)
		return error;
	struct canary_imap_status status;
	if (canary_imap_status(imap, "INBOX", &status, &error))
		return NULL;
	return error;
}

START_TEST(test_status_list_fetch)
{
	deliver(1, 3);
	g_autoptr(canary_imap) imap = session();
	ck_assert_str_eq(canary_imap_mailbox(imap), "INBOX");
	g_autoptr(GError) error = NULL;
	struct canary_imap_status status;
	ck_assert_msg(canary_imap_status(imap, "INBOX", &status, &error), "%s",
		      error ? error->message : "");
	ck_assert_uint_ne(status.uidvalidity, 0);
	ck_assert_uint_eq(status.uidnext, 4);
	ck_assert_uint_eq(status.messages, 3);

	g_autoptr(GArray) list = canary_imap_list(imap, 0, &error);
	ck_assert_ptr_nonnull(list);
	ck_assert_uint_eq(list->len, 3);
	gint64 now = g_get_real_time() / G_USEC_PER_SEC;
	for (guint i = 0; i < 3; i++) {
		const struct canary_imap_message *m =
			&g_array_index(list, struct canary_imap_message, i);
		g_autofree char *expected = message(i + 1);
		ck_assert_uint_eq(m->uid, i + 1);
		ck_assert_uint_eq(m->size, strlen(expected));
		ck_assert_int_le(llabs(m->internal_date - now), 120);
		g_autoptr(GBytes) raw =
			canary_imap_fetch(imap, status.uidvalidity, m->uid, m->size, &error);
		ck_assert_msg(raw != NULL, "%s", error ? error->message : "");
		ck_assert_uint_eq(g_bytes_get_size(raw), strlen(expected));
		ck_assert_int_eq(memcmp(g_bytes_get_data(raw, NULL), expected, strlen(expected)),
				 0);
	}
	/* LIMIT keeps the oldest. */
	g_autoptr(GArray) two = canary_imap_list(imap, 2, &error);
	ck_assert_uint_eq(two->len, 2);
	ck_assert_uint_eq(g_array_index(two, struct canary_imap_message, 1).uid, 2);

	g_autoptr(GBytes) header = canary_imap_fetch_header(imap, status.uidvalidity, 2, &error);
	ck_assert_ptr_nonnull(header);
	g_autofree char *text = g_strndup(g_bytes_get_data(header, NULL), g_bytes_get_size(header));
	ck_assert_ptr_nonnull(strstr(text, "Subject: report 2"));
	ck_assert_ptr_null(strstr(text, "Body of report"));
}
END_TEST

START_TEST(test_empty_inbox)
{
	g_autoptr(canary_imap) imap = session();
	g_autoptr(GError) error = NULL;
	g_autoptr(GArray) list = canary_imap_list(imap, 0, &error);
	ck_assert_msg(list != NULL, "%s", error ? error->message : "");
	ck_assert_uint_eq(list->len, 0);
}
END_TEST

START_TEST(test_starttls)
{
	deliver(1, 1);
	g_autofree char *plain_url = tu_dovecot_url(dovecot, FALSE);
	struct canary_imap_options options = options_for(plain_url);
	g_autoptr(GError) error = NULL;
	g_autoptr(canary_imap) imap = canary_imap_new(&options, &error);
	ck_assert_ptr_nonnull(imap);
	g_autoptr(GArray) list = canary_imap_list(imap, 0, &error);
	ck_assert_msg(list != NULL, "%s", error ? error->message : "");
	ck_assert_uint_eq(list->len, 1);
}
END_TEST

START_TEST(test_wrong_password_is_auth)
{
	struct canary_imap_options options = options_for(url);
	options.password = "not the password";
	g_autoptr(GError) error = status_error(&options);
	assert_imap_error(error, CANARY_IMAP_ERROR_AUTH);
	ck_assert_ptr_null(strstr(error->message, "not the password"));
	ck_assert_ptr_nonnull(strstr(error->message, "login refused"));
}
END_TEST

START_TEST(test_untrusted_certificate_is_tls)
{
	g_autofree char *other = tu_dovecot_other_cert(dovecot->dir);
	struct canary_imap_options options = options_for(url);
	options.ca_file = other;
	g_autoptr(GError) error = status_error(&options);
	assert_imap_error(error, CANARY_IMAP_ERROR_TLS);

	/* The system's CAs do not vouch for a self-signed test server either. */
	options.ca_file = NULL;
	g_autoptr(GError) system = status_error(&options);
	assert_imap_error(system, CANARY_IMAP_ERROR_TLS);
}
END_TEST

START_TEST(test_host_name_is_checked)
{
	/* The certificate names localhost and 127.0.0.1, not 127.0.0.2. */
	g_autofree char *other_host =
		g_strdup_printf("imaps://127.0.0.2:%u/INBOX", dovecot->imaps_port);
	struct canary_imap_options options = options_for(other_host);
	g_autoptr(GError) error = status_error(&options);
	ck_assert_ptr_nonnull(error);
	/* Dovecot listens on 127.0.0.1 only: refused (TEMPORARY) or, if some
	 * system routes it there, the name check fails (TLS). Never success. */
	ck_assert(error->code == CANARY_IMAP_ERROR_TLS ||
		  error->code == CANARY_IMAP_ERROR_TEMPORARY);
}
END_TEST

START_TEST(test_pinned_key)
{
	g_autofree char *pin = tu_dovecot_pin(dovecot);
	struct canary_imap_options options = options_for(url);
	options.pinned_public_key = pin;
	g_autoptr(GError) right = status_error(&options);
	ck_assert_msg(right == NULL, "%s", right ? right->message : "");

	options.pinned_public_key = "sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
	g_autoptr(GError) wrong = status_error(&options);
	assert_imap_error(wrong, CANARY_IMAP_ERROR_TLS);
}
END_TEST

START_TEST(test_no_starttls_is_refused)
{
	/* A server that offers no TLS at all: imap:// must not fall back to
	 * sending the password in clear. */
	tu_dovecot_free(dovecot);
	dovecot = tu_dovecot_start("ssl = no\ndisable_plaintext_auth = no\n");
	deliver(1, 1);
	g_autofree char *plain_url = tu_dovecot_url(dovecot, FALSE);
	struct canary_imap_options options = options_for(plain_url);
	g_autoptr(GError) error = status_error(&options);
	assert_imap_error(error, CANARY_IMAP_ERROR_TLS);
	ck_assert_uint_eq(tu_dovecot_count(dovecot, "INBOX"), 1);
	/* Dovecot saw no login at all. */
	g_autofree char *log_path = g_build_filename(dovecot->dir, "dovecot.log", NULL);
	ck_assert_uint_eq(tu_count_in_file(log_path, "Login:", 6), 0);
}
END_TEST

START_TEST(test_server_down_is_temporary)
{
	tu_dovecot_stop(dovecot);
	struct canary_imap_options options = options_for(url);
	g_autoptr(GError) error = status_error(&options);
	assert_imap_error(error, CANARY_IMAP_ERROR_TEMPORARY);
}
END_TEST

/* A server that reads the TLS ClientHello and then resets the connection
 * or closes it, as one restarting or killed in the handshake does. */
struct handshake_cutter {
	int listener;
	gboolean reset;
};

static gpointer cut_handshake(gpointer data)
{
	const struct handshake_cutter *cutter = data;
	int fd = accept(cutter->listener, NULL, NULL);
	if (fd < 0)
		return NULL;
	/* All of it (one write): what is left unread makes the close a reset. */
	char hello[65536];
	if (read(fd, hello, sizeof hello) <= 0)
		g_warning("handshake cutter: no ClientHello");
	if (cutter->reset) {
		struct linger now = {.l_onoff = 1, .l_linger = 0};
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &now, sizeof now);
	}
	close(fd);
	return NULL;
}

/* A handshake the server cuts (a restart, a crash), by a reset or by
 * closing, is retried soon like a server that is down, not logged as a
 * TLS failure that waits for an admin: libcurl gives both the handshake's
 * error code. */
START_TEST(test_handshake_cut_is_temporary)
{
	for (int reset = 0; reset <= 1; reset++) {
		guint port = 0;
		struct handshake_cutter cutter = {tu_listen_loopback(&port), reset};
		GThread *server = g_thread_new("handshake-cutter", cut_handshake, &cutter);
		g_autofree char *cut_url = g_strdup_printf("imaps://127.0.0.1:%u/INBOX", port);
		struct canary_imap_options options = options_for(cut_url);
		g_autoptr(GError) error = status_error(&options);
		g_thread_join(server);
		close(cutter.listener);
		assert_imap_error(error, CANARY_IMAP_ERROR_TEMPORARY);
		ck_assert_ptr_null(strstr(error->message, "TLS check failed"));
	}
}
END_TEST

START_TEST(test_bad_urls_refused)
{
	static const char *const bad[] = {
		"pop3://127.0.0.1/INBOX",
		"https://127.0.0.1/INBOX",
		"imaps://user:secret@127.0.0.1/INBOX",
		"imaps://127.0.0.1/INBOX;UID=3",
		"not a url",
	};
	for (gsize i = 0; i < G_N_ELEMENTS(bad); i++) {
		struct canary_imap_options options = options_for(bad[i]);
		g_autoptr(GError) error = NULL;
		struct canary_imap *imap = canary_imap_new(&options, &error);
		ck_assert_msg(imap == NULL, "%s accepted", bad[i]);
		ck_assert_ptr_nonnull(error);
		ck_assert_ptr_null(strstr(error->message, "secret"));
	}
}
END_TEST

START_TEST(test_folders_and_moves)
{
	deliver(1, 5);
	g_autoptr(canary_imap) imap = session();
	g_autoptr(GError) error = NULL;
	ck_assert_msg(canary_imap_ensure_folder(imap, "Processed", &error), "%s",
		      error ? error->message : "");
	ck_assert(canary_imap_ensure_folder(imap, "Processed", &error));
	ck_assert(canary_imap_ensure_folder(imap, "Quarantine", &error));
	/* A second session sees them as existing, and does not fail. */
	g_autoptr(canary_imap) again = session();
	ck_assert(canary_imap_ensure_folder(again, "Processed", &error));

	const guint32 processed[] = {4, 1, 2};
	const guint32 quarantine[] = {5};
	ck_assert_msg(canary_imap_move(imap, processed, 3, "Processed", &error), "%s",
		      error ? error->message : "");
	ck_assert(canary_imap_move(imap, quarantine, 1, "Quarantine", &error));
	ck_assert(canary_imap_move(imap, NULL, 0, "Quarantine", &error));
	ck_assert_uint_eq(tu_dovecot_count(dovecot, "INBOX"), 1);
	ck_assert_uint_eq(tu_dovecot_count(dovecot, "Processed"), 3);
	ck_assert_uint_eq(tu_dovecot_count(dovecot, "Quarantine"), 1);
	g_autoptr(GArray) left = canary_imap_list(imap, 0, &error);
	ck_assert_uint_eq(left->len, 1);
	ck_assert_uint_eq(g_array_index(left, struct canary_imap_message, 0).uid, 3);

	/* Folder names are quoted, and refused when they are not plain ASCII. */
	ck_assert(canary_imap_ensure_folder(imap, "Case files \"2026\"", &error));
	ck_assert(!canary_imap_ensure_folder(imap, "Dossiers\xc3\xa9", &error));
	assert_imap_error(error, CANARY_IMAP_ERROR_REFUSED);
	g_clear_error(&error);

	/* A refusal carries the server's own words, which say why. */
	const guint32 left_uid[] = {3};
	ck_assert(!canary_imap_move(imap, left_uid, 1, "Nowhere", &error));
	assert_imap_error(error, CANARY_IMAP_ERROR_REFUSED);
	ck_assert_msg(strstr(error->message, "the server said \"NO [TRYCREATE]") != NULL, "%s",
		      error->message);
}
END_TEST

START_TEST(test_moves_without_move_capability)
{
	/* Hide MOVE (the server still has UIDPLUS): COPY + \Deleted + UID
	 * EXPUNGE. Then hide UIDPLUS too: EXPUNGE, but only while no one else
	 * has marked a message \Deleted. */
	tu_dovecot_free(dovecot);
	dovecot = tu_dovecot_start("protocol imap {\n  imap_capability = IMAP4rev1 UIDPLUS "
				   "ESEARCH LITERAL+\n}\n");
	g_free(url);
	url = tu_dovecot_url(dovecot, TRUE);
	deliver(1, 5);
	g_autoptr(GError) error = NULL;
	{
		g_autoptr(canary_imap) imap = session();
		ck_assert(canary_imap_ensure_folder(imap, "Processed", &error));
		const guint32 uids[] = {1, 3};
		ck_assert_msg(canary_imap_move(imap, uids, 2, "Processed", &error), "%s",
			      error ? error->message : "");
	}
	ck_assert_uint_eq(tu_dovecot_count(dovecot, "INBOX"), 3);
	ck_assert_uint_eq(tu_dovecot_count(dovecot, "Processed"), 2);

	g_free(dovecot->extra_conf);
	dovecot->extra_conf = g_strdup("protocol imap {\n  imap_capability = IMAP4rev1\n}\n");
	tu_dovecot_restart(dovecot);
	g_autoptr(canary_imap) imap = session();
	/* Without ESEARCH the listing searches UID ranges. */
	g_autoptr(GArray) list = canary_imap_list(imap, 0, &error);
	ck_assert_msg(list != NULL, "%s", error ? error->message : "");
	ck_assert_uint_eq(list->len, 3);
	const guint32 uids[] = {2};
	ck_assert(canary_imap_move(imap, uids, 1, "Processed", &error));
	ck_assert_uint_eq(tu_dovecot_count(dovecot, "INBOX"), 2);
	ck_assert_uint_eq(tu_dovecot_count(dovecot, "Processed"), 3);

	/* Someone else marks message 5 \Deleted before it is filed: moving 4
	 * must not expunge it with a plain EXPUNGE. Message 4 stays marked in
	 * the inbox, copied (the next pass would copy it again). */
	{
		g_autoptr(canary_imap) other = session();
		const guint32 theirs[] = {5};
		ck_assert(canary_imap_mark(other, theirs, 1, "\\Deleted", &error));
	}
	const guint32 ours[] = {4};
	ck_assert_msg(canary_imap_move(imap, ours, 1, "Processed", &error), "%s",
		      error ? error->message : "");
	ck_assert_uint_eq(tu_dovecot_count(dovecot, "INBOX"), 2);
	ck_assert_uint_eq(tu_dovecot_count(dovecot, "Processed"), 4);
	/* Nor is a removal by UID possible: refused, nothing removed. */
	ck_assert(!canary_imap_remove(imap, ours, 1, &error));
	assert_imap_error(error, CANARY_IMAP_ERROR_REFUSED);
	g_clear_error(&error);
	ck_assert_uint_eq(tu_dovecot_count(dovecot, "INBOX"), 2);
	/* The processed folder is canary's: its sweep may EXPUNGE it all. */
	guint removed = 0;
	ck_assert_msg(canary_imap_sweep(imap, "Processed", G_MAXINT64, NULL, &removed, &error),
		      "%s", error ? error->message : "");
	ck_assert_uint_eq(removed, 4);
	ck_assert_uint_eq(tu_dovecot_count(dovecot, "Processed"), 0);
}
END_TEST

START_TEST(test_remove_and_sweep)
{
	deliver(1, 7);
	g_autoptr(canary_imap) imap = session();
	g_autoptr(GError) error = NULL;
	ck_assert(canary_imap_ensure_folder(imap, "Processed", &error));
	ck_assert(canary_imap_ensure_folder(imap, "Quarantine", &error));
	/* Someone else marked message 7 \Deleted: removing 1 and 2 by UID
	 * leaves it alone. */
	{
		g_autoptr(canary_imap) other = session();
		const guint32 theirs[] = {7};
		ck_assert(canary_imap_mark(other, theirs, 1, "\\Deleted", &error));
	}
	const guint32 removed_uids[] = {2, 1};
	ck_assert_msg(canary_imap_put_away(imap, removed_uids, 2, NULL, NULL, &error), "%s",
		      error ? error->message : "");
	ck_assert_uint_eq(tu_dovecot_count(dovecot, "INBOX"), 5);
	g_autoptr(GArray) left = canary_imap_list(imap, 0, &error);
	ck_assert_uint_eq(left->len, 5);
	ck_assert_uint_eq(g_array_index(left, struct canary_imap_message, 0).uid, 3);

	/* Moved: 3 and 4 to Processed, 5 marked and 6 unmarked to Quarantine. */
	const guint32 processed[] = {3, 4}, sealed[] = {5}, unsealed[] = {6};
	ck_assert(canary_imap_put_away(imap, processed, 2, "Processed", NULL, &error));
	ck_assert(canary_imap_put_away(imap, sealed, 1, "Quarantine", "$CanarySealed", &error));
	ck_assert(canary_imap_put_away(imap, unsealed, 1, "Quarantine", NULL, &error));
	ck_assert_uint_eq(tu_dovecot_count(dovecot, "Processed"), 2);
	ck_assert_uint_eq(tu_dovecot_count(dovecot, "Quarantine"), 2);

	/* Arrived just now: a sweep of what is two days old takes nothing. */
	gint64 now = g_get_real_time() / G_USEC_PER_SEC;
	guint removed = 0;
	ck_assert_msg(canary_imap_sweep(imap, "Processed", now - 2 * 86400, NULL, &removed, &error),
		      "%s", error ? error->message : "");
	ck_assert_uint_eq(removed, 0);
	ck_assert_uint_eq(tu_dovecot_count(dovecot, "Processed"), 2);
	/* What arrived before a minute from now: both. */
	ck_assert(canary_imap_sweep(imap, "Processed", now + 60, NULL, &removed, &error));
	ck_assert_uint_eq(removed, 2);
	ck_assert_uint_eq(tu_dovecot_count(dovecot, "Processed"), 0);
	/* In Quarantine only the marked message goes. */
	ck_assert(canary_imap_sweep(imap, "Quarantine", G_MAXINT64, "$CanarySealed", &removed,
				    &error));
	ck_assert_uint_eq(removed, 1);
	ck_assert_uint_eq(tu_dovecot_count(dovecot, "Quarantine"), 1);
	ck_assert(canary_imap_sweep(imap, "Quarantine", G_MAXINT64, "$CanarySealed", &removed,
				    &error));
	ck_assert_uint_eq(removed, 0);
	ck_assert_uint_eq(tu_dovecot_count(dovecot, "Quarantine"), 1);
	/* Message 7, marked by someone else, is still in the inbox. */
	ck_assert_uint_eq(tu_dovecot_count(dovecot, "INBOX"), 1);
}
END_TEST

START_TEST(test_many_messages)
{
	/* More than one command's worth of UIDs, for listing and moving. */
	deliver(1, 250);
	g_autoptr(canary_imap) imap = session();
	g_autoptr(GError) error = NULL;
	g_autoptr(GArray) list = canary_imap_list(imap, 0, &error);
	ck_assert_msg(list != NULL, "%s", error ? error->message : "");
	ck_assert_uint_eq(list->len, 250);
	g_autoptr(GArray) uids = g_array_new(FALSE, FALSE, sizeof(guint32));
	for (guint i = 0; i < list->len; i++) {
		guint32 uid = g_array_index(list, struct canary_imap_message, i).uid;
		ck_assert_uint_eq(uid, i + 1);
		if (uid != 100) /* a hole in the set */
			g_array_append_val(uids, uid);
	}
	ck_assert(canary_imap_ensure_folder(imap, "Processed", &error));
	ck_assert_msg(
		canary_imap_move(imap, (const guint32 *)uids->data, uids->len, "Processed", &error),
		"%s", error ? error->message : "");
	ck_assert_uint_eq(tu_dovecot_count(dovecot, "INBOX"), 1);
	ck_assert_uint_eq(tu_dovecot_count(dovecot, "Processed"), 249);
}
END_TEST

START_TEST(test_uidvalidity_change_is_reset)
{
	deliver(1, 1);
	g_autoptr(GError) error = NULL;
	struct canary_imap_status before;
	{
		g_autoptr(canary_imap) imap = session();
		ck_assert(canary_imap_status(imap, "INBOX", &before, &error));
	}
	tu_dovecot_reset_inbox(dovecot);
	deliver(1, 1);
	g_autoptr(canary_imap) imap = session();
	struct canary_imap_status after;
	ck_assert(canary_imap_status(imap, "INBOX", &after, &error));
	ck_assert_uint_ne(before.uidvalidity, after.uidvalidity);
	g_autoptr(GBytes) stale = canary_imap_fetch(imap, before.uidvalidity, 1, 100000, &error);
	ck_assert_ptr_null(stale);
	assert_imap_error(error, CANARY_IMAP_ERROR_RESET);
	g_clear_error(&error);
	g_autoptr(GBytes) fresh = canary_imap_fetch(imap, after.uidvalidity, 1, 100000, &error);
	ck_assert_msg(fresh != NULL, "%s", error ? error->message : "");
}
END_TEST

START_TEST(test_missing_uid_is_refused)
{
	deliver(1, 1);
	g_autoptr(canary_imap) imap = session();
	g_autoptr(GError) error = NULL;
	struct canary_imap_status status;
	ck_assert(canary_imap_status(imap, "INBOX", &status, &error));
	g_autoptr(GBytes) none = canary_imap_fetch(imap, status.uidvalidity, 99, 100000, &error);
	ck_assert_ptr_null(none);
	ck_assert_ptr_nonnull(error);
	ck_assert_msg(error->code == CANARY_IMAP_ERROR_REFUSED ||
			      error->code == CANARY_IMAP_ERROR_PROTOCOL,
		      "%s", error->message);
	/* The session still works afterwards. */
	g_clear_error(&error);
	g_autoptr(GBytes) one = canary_imap_fetch(imap, status.uidvalidity, 1, 100000, &error);
	ck_assert_msg(one != NULL, "%s", error ? error->message : "");
}
END_TEST

/* What canary_imap_stream_fetch() delivered: UID -> bytes. */
static gboolean collect(guint32 uid, GBytes *message, gpointer data, GError **error)
{
	(void)error;
	g_hash_table_insert(data, GUINT_TO_POINTER(uid), message);
	return TRUE;
}

static struct canary_imap_stream *stream_open(guint32 uidvalidity, GError **error)
{
	struct canary_imap_options options = options_for(url);
	return canary_imap_stream_open(&options, uidvalidity, error);
}

/* Many messages in one command, byte for byte, \Seen left alone; a UID
 * the server does not have is left out, and the stream goes on. */
START_TEST(test_stream_fetches_many)
{
	deliver(1, 150);
	g_autoptr(canary_imap) imap = session();
	g_autoptr(GError) error = NULL;
	struct canary_imap_status status;
	ck_assert(canary_imap_status(imap, "INBOX", &status, &error));
	g_autoptr(canary_imap_stream) stream = stream_open(status.uidvalidity, &error);
	ck_assert_msg(stream != NULL, "%s", error ? error->message : "");

	guint32 uids[151];
	for (guint i = 0; i < 150; i++)
		uids[i] = i + 1;
	uids[150] = 999; /* not there */
	g_autoptr(GHashTable) got =
		g_hash_table_new_full(NULL, NULL, NULL, (GDestroyNotify)g_bytes_unref);
	ck_assert_msg(canary_imap_stream_fetch(stream, uids, 151, 4096, collect, got, &error),
		      "%s", error ? error->message : "");
	ck_assert_uint_eq(g_hash_table_size(got), 150);
	for (guint i = 1; i <= 150; i++) {
		g_autofree char *expected = message(i);
		GBytes *raw = g_hash_table_lookup(got, GUINT_TO_POINTER(i));
		ck_assert_ptr_nonnull(raw);
		ck_assert_uint_eq(g_bytes_get_size(raw), strlen(expected));
		ck_assert_int_eq(memcmp(g_bytes_get_data(raw, NULL), expected, strlen(expected)),
				 0);
	}
	/* Again on the same connection; nothing was marked \Seen. */
	g_hash_table_remove_all(got);
	ck_assert(canary_imap_stream_fetch(stream, uids, 2, 4096, collect, got, &error));
	ck_assert_uint_eq(g_hash_table_size(got), 2);
	ck_assert_uint_eq(tu_dovecot_count_seen(dovecot, "INBOX"), 0);
	/* As a fetch by libcurl would (checks that the count sees flags). */
	g_autoptr(GBytes) one = canary_imap_fetch(imap, status.uidvalidity, 1, 4096, &error);
	ck_assert_ptr_nonnull(one);
	ck_assert_uint_eq(tu_dovecot_count_seen(dovecot, "INBOX"), 1);
}
END_TEST

/* A literal over the limit stops the stream with a clear error. */
START_TEST(test_stream_limit)
{
	deliver(1, 2);
	g_autoptr(canary_imap) imap = session();
	g_autoptr(GError) error = NULL;
	struct canary_imap_status status;
	ck_assert(canary_imap_status(imap, "INBOX", &status, &error));
	g_autoptr(canary_imap_stream) stream = stream_open(status.uidvalidity, &error);
	ck_assert_ptr_nonnull(stream);
	guint32 uids[] = {1, 2};
	g_autoptr(GHashTable) got =
		g_hash_table_new_full(NULL, NULL, NULL, (GDestroyNotify)g_bytes_unref);
	ck_assert(!canary_imap_stream_fetch(stream, uids, 2, 20, collect, got, &error));
	assert_imap_error(error, CANARY_IMAP_ERROR_PROTOCOL);
	ck_assert_ptr_nonnull(strstr(error->message, "more than the 20 allowed"));
	ck_assert_uint_eq(g_hash_table_size(got), 0);
}
END_TEST

/* A stream is refused on a mailbox whose UIDVALIDITY changed. */
START_TEST(test_stream_uidvalidity_change_is_reset)
{
	deliver(1, 1);
	g_autoptr(GError) error = NULL;
	struct canary_imap_status status;
	{
		g_autoptr(canary_imap) imap = session();
		ck_assert(canary_imap_status(imap, "INBOX", &status, &error));
	}
	g_autoptr(canary_imap_stream) good = stream_open(status.uidvalidity, &error);
	ck_assert_msg(good != NULL, "%s", error ? error->message : "");
	g_autoptr(canary_imap_stream) stale = stream_open(status.uidvalidity + 1, &error);
	ck_assert_ptr_null(stale);
	assert_imap_error(error, CANARY_IMAP_ERROR_RESET);
	g_clear_error(&error);
	struct canary_imap_options wrong = options_for(url);
	wrong.password = "wrong";
	g_autoptr(canary_imap_stream) refused =
		canary_imap_stream_open(&wrong, status.uidvalidity, &error);
	ck_assert_ptr_null(refused);
	assert_imap_error(error, CANARY_IMAP_ERROR_AUTH);
}
END_TEST

/* --- A misbehaving server ---------------------------------------------------- */

/* The process's peak resident memory so far, in bytes. */
static guint64 peak_rss(void)
{
	g_autofree char *status = NULL;
	ck_assert(g_file_get_contents("/proc/self/status", &status, NULL, NULL));
	const char *line = strstr(status, "VmHWM:");
	ck_assert_ptr_nonnull(line);
	return g_ascii_strtoull(line + strlen("VmHWM:"), NULL, 10) * 1024;
}

#define MIB (1024u * 1024u)

/* One way to misbehave on the fetch of UID 2, and what the error says. */
static const struct misbehaviour {
	struct tu_imapscript_rule rule;
	gboolean header_only;
	const char *says;
} misbehaviours[] = {
	/* Announced about 150 bytes, then 300 MB. */
	{{2, TU_IMAPSCRIPT_OVERSIZED, 300ull * MIB, 0}, FALSE, "more than the"},
	{{2, TU_IMAPSCRIPT_OVERSIZED, 2ull * MIB, 0}, TRUE, "more than the"},
	{{2, TU_IMAPSCRIPT_WRONG_UID, 0, 3}, FALSE, "answered with UID 3"},
	{{2, TU_IMAPSCRIPT_WRONG_UID, 0, 3}, TRUE, "answered with UID 3"},
	{{2, TU_IMAPSCRIPT_ENDLESS_LINE, 8ull * MIB, 0}, FALSE, "endless line"},
	{{2, TU_IMAPSCRIPT_ENDLESS_LINE, 100 * 1000, 0}, FALSE, "endless line"},
	{{2, TU_IMAPSCRIPT_CUT_LITERAL, 10000, 0}, FALSE, "cut after"},
	{{2, TU_IMAPSCRIPT_SHORT_LITERAL, 10000, 0}, FALSE, "cut after"},
};

/* Each misbehaviour costs one message, not the session: a clear error for
 * it, nothing of it returned, memory and bytes read bounded, and the
 * messages before and after it fetched whole on the same session. */
START_TEST(test_misbehaving_server)
{
	const struct misbehaviour *m = &misbehaviours[_i];
	deliver(1, 3);
	struct tu_imapscript *script = tu_imapscript_start(dovecot, &m->rule, 1);
	g_autofree char *script_url = tu_imapscript_url(script);
	struct canary_imap_options options = options_for(script_url);
	options.ca_file = tu_imapscript_ca_file(script);
	options.io_timeout = 2; /* how long an endless line or a stall may last */
	g_autoptr(GError) error = NULL;
	g_autoptr(canary_imap) imap = canary_imap_new(&options, &error);
	ck_assert_ptr_nonnull(imap);
	struct canary_imap_status status;
	ck_assert_msg(canary_imap_status(imap, "INBOX", &status, &error), "%s",
		      error ? error->message : "");
	g_autoptr(GArray) list = canary_imap_list(imap, 0, &error);
	ck_assert_ptr_nonnull(list);
	ck_assert_uint_eq(list->len, 3);
	const struct canary_imap_message *listed = (const struct canary_imap_message *)list->data;

	g_autoptr(GBytes) first =
		canary_imap_fetch(imap, status.uidvalidity, 1, listed[0].size, &error);
	ck_assert_msg(first != NULL, "%s", error ? error->message : "");

	guint64 peak_before = peak_rss();
	gint64 started = g_get_monotonic_time();
	g_autoptr(GBytes) bad =
		m->header_only
			? canary_imap_fetch_header(imap, status.uidvalidity, 2, &error)
			: canary_imap_fetch(imap, status.uidvalidity, 2, listed[1].size, &error);
	gint64 took = g_get_monotonic_time() - started;
	ck_assert_ptr_null(bad);
	assert_imap_error(error, CANARY_IMAP_ERROR_MESSAGE);
	ck_assert_msg(strstr(error->message, m->says) != NULL, "%s", error->message);
	ck_assert_msg(strstr(error->message, "UID 2") != NULL, "%s", error->message);
	ck_assert_uint_eq(tu_imapscript_played(script), 1);
	/* Bounded: the first line of a 300 MB answer is enough to refuse it. */
	guint64 peak_after = peak_rss();
	ck_assert_msg(peak_after < peak_before + 64 * MIB,
		      "peak RSS grew from %" G_GUINT64_FORMAT " to %" G_GUINT64_FORMAT, peak_before,
		      peak_after);
	ck_assert_msg(tu_imapscript_bytes_sent(script) < 64 * MIB,
		      "the server got %" G_GUINT64_FORMAT " bytes out",
		      tu_imapscript_bytes_sent(script));
	ck_assert_int_lt(took, 30 * G_USEC_PER_SEC);
	g_clear_error(&error);

	/* The same session fetches the next message whole. */
	g_autoptr(GBytes) third =
		canary_imap_fetch(imap, status.uidvalidity, 3, listed[2].size, &error);
	ck_assert_msg(third != NULL, "%s", error ? error->message : "");
	g_autofree char *expected = message(3);
	ck_assert_uint_eq(g_bytes_get_size(third), strlen(expected));
	ck_assert_int_eq(memcmp(g_bytes_get_data(third, NULL), expected, strlen(expected)), 0);
	/* Nothing was taken off the server. */
	ck_assert_uint_eq(tu_dovecot_count(dovecot, "INBOX"), 3);
	tu_imapscript_free(script);
}
END_TEST

/* The answer checker alone, on answers as libcurl hands them over. */
START_TEST(test_fetch_check)
{
	struct canary_imap_fetch_check check;
	g_autoptr(GError) error = NULL;

	/* The bound: the listed size and a slack, never past what fits. */
	ck_assert_uint_eq(canary_imap_fetch_limit(0), 64 * 1024);
	ck_assert_uint_eq(canary_imap_fetch_limit(92), 92 + 5 + 64 * 1024);
	ck_assert_uint_eq(canary_imap_fetch_limit(1600), 1600 + 100 + 64 * 1024);
	ck_assert_uint_eq(canary_imap_fetch_limit(G_MAXUINT64), G_MAXUINT - 1);

	/* Well-formed: the UID first or last, unsolicited lines around it. */
	canary_imap_fetch_check_init(&check, 7, 100);
	ck_assert(canary_imap_fetch_check_line(&check, "* 3 EXISTS\r\n", 12));
	ck_assert(canary_imap_fetch_check_line(&check, "* 1 FETCH (FLAGS (\\Seen))\r\n", 27));
	const char *line = "* 1 FETCH (UID 7 FLAGS (\\Seen) BODY[] {10}\r\n";
	ck_assert(canary_imap_fetch_check_line(&check, line, strlen(line)));
	ck_assert(canary_imap_fetch_check_data(&check, 4));
	ck_assert(canary_imap_fetch_check_data(&check, 6));
	ck_assert(canary_imap_fetch_check_line(&check, ")\r\n", 3));
	ck_assert(canary_imap_fetch_check_line(&check, "A5 OK done\r\n", 12));
	ck_assert(canary_imap_fetch_check_finish(&check, &error));
	canary_imap_fetch_check_clear(&check);

	/* A literal's size with any number of leading zeros. */
	canary_imap_fetch_check_init(&check, 7, 100);
	line = "* 1 FETCH (UID 7 BODY[] {000000000000000000000010}\r\n";
	ck_assert(canary_imap_fetch_check_line(&check, line, strlen(line)));
	ck_assert(canary_imap_fetch_check_data(&check, 10));
	ck_assert(canary_imap_fetch_check_finish(&check, &error));
	canary_imap_fetch_check_clear(&check);

	canary_imap_fetch_check_init(&check, 7, 100);
	line = "* 1 FETCH (BODY[] {0}\r\n";
	ck_assert(canary_imap_fetch_check_line(&check, line, strlen(line)));
	ck_assert(canary_imap_fetch_check_line(&check, " UID 7)\r\n", 9));
	ck_assert(canary_imap_fetch_check_finish(&check, &error));
	canary_imap_fetch_check_clear(&check);

	/* The UID last, and another one. */
	canary_imap_fetch_check_init(&check, 7, 100);
	ck_assert(canary_imap_fetch_check_line(&check, line, strlen(line)));
	ck_assert(!canary_imap_fetch_check_line(&check, " UID 8)\r\n", 9));
	ck_assert(!canary_imap_fetch_check_finish(&check, &error));
	assert_imap_error(error, CANARY_IMAP_ERROR_MESSAGE);
	g_clear_error(&error);
	canary_imap_fetch_check_clear(&check);

	/* Over the limit, data past the literal, data with no literal, two
	 * literals, a literal cut short, no literal at all. */
	static const struct {
		const char *line;
		gsize data;
		const char *second;
	} bad[] = {
		{"* 1 FETCH (UID 7 BODY[] {101}\r\n", 0, NULL},
		{"* 1 FETCH (UID 7 BODY[] {99999999999999999999}\r\n", 0, NULL},
		{"* 1 FETCH (UID 7 BODY[] {10}\r\n", 11, NULL},
		{"* OK still here\r\n", 1, NULL},
		{"* 1 FETCH (UID 7 BODY[] {0}\r\n", 0, "* 2 FETCH (UID 7 BODY[] {0}\r\n"},
		{"* 1 FETCH (UID 7 BODY[] {10}\r\n", 9, NULL},
		{"A5 OK done\r\n", 0, NULL},
	};
	for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
		canary_imap_fetch_check_init(&check, 7, 100);
		gboolean ok =
			canary_imap_fetch_check_line(&check, bad[i].line, strlen(bad[i].line));
		if (ok && bad[i].data > 0)
			ok = canary_imap_fetch_check_data(&check, bad[i].data);
		if (ok && bad[i].second != NULL)
			ok = canary_imap_fetch_check_line(&check, bad[i].second,
							  strlen(bad[i].second));
		ck_assert_msg(!canary_imap_fetch_check_finish(&check, &error), "case %u", i);
		assert_imap_error(error, CANARY_IMAP_ERROR_MESSAGE);
		g_clear_error(&error);
		canary_imap_fetch_check_clear(&check);
	}
}
END_TEST

/* Our log (stderr), sent to a file meanwhile. */
struct captured_log {
	char *path;
	int saved_stderr;
	enum canary_log_level saved_level;
};

static struct captured_log capture_log(enum canary_log_level level)
{
	struct captured_log c = {
		.path = g_build_filename(dovecot->dir, "captured.log", NULL),
		.saved_stderr = dup(STDERR_FILENO),
		.saved_level = canary_log_get_level(),
	};
	FILE *log = fopen(c.path, "w");
	ck_assert_ptr_nonnull(log);
	dup2(fileno(log), STDERR_FILENO);
	fclose(log);
	canary_log_set_level(level);
	return c;
}

/* Restores stderr; returns the file's path. */
static char *end_capture(struct captured_log *c)
{
	canary_log_set_level(c->saved_level);
	dup2(c->saved_stderr, STDERR_FILENO);
	close(c->saved_stderr);
	return c->path;
}

START_TEST(test_trace_hides_credentials)
{
	deliver(1, 1);
	struct captured_log capture = capture_log(CANARY_LOG_DEBUG);
	{
		struct canary_imap_options options = options_for(url);
		options.trace = TRUE;
		g_autoptr(GError) error = NULL;
		g_autoptr(canary_imap) imap = canary_imap_new(&options, &error);
		struct canary_imap_status status;
		ck_assert(canary_imap_status(imap, "INBOX", &status, &error));
		g_autoptr(GBytes) raw =
			canary_imap_fetch(imap, status.uidvalidity, 1, 100000, &error);
		ck_assert_ptr_nonnull(raw);
	}
	g_autofree char *log_path = end_capture(&capture);
	ck_assert_uint_gt(tu_count_in_file(log_path, "imap: >", 7), 0);
	ck_assert_uint_eq(tu_count_in_file(log_path, dovecot->password, strlen(dovecot->password)),
			  0);
	g_autofree char *plain =
		g_base64_encode((const guchar *)"\0reprisals\0imap test password", 30);
	ck_assert_uint_eq(tu_count_in_file(log_path, plain, strlen(plain)), 0);
	ck_assert_uint_eq(tu_count_in_file(log_path, "report 1", 8), 0);
	ck_assert_uint_eq(tu_count_in_file(log_path, "sender1@", 8), 0);
}
END_TEST

/* The lock test: Dovecot says why a SELECT waits for a lock 30 s in,
 * then every 30 s. */
struct held_lock {
	const char *path;     /* the lock file */
	const char *log_path; /* our captured log */
};

/* Unlinks the lock once our log shows the server's notice, or after 90 s. */
static gpointer release_lock_on_notice(gpointer data)
{
	const struct held_lock *lock = data;
	for (int i = 0; i < 900; i++) {
		if (tu_count_in_file(lock->log_path, "Mailbox is locked", 17) > 0)
			break;
		g_usleep(100 * 1000);
	}
	unlink(lock->path);
	return NULL;
}

START_TEST(test_server_notices_are_logged)
{
	/* A new message makes the SELECT take INBOX's uidlist lock. Held in
	 * the name of a live process (ours) and older than 2 s (Dovecot does
	 * not check the PID of a younger one), the lock makes Dovecot wait,
	 * saying so, until it goes away. */
	deliver(1, 1);
	g_autofree char *lock = g_build_filename(dovecot->maildir, "dovecot-uidlist.lock", NULL);
	char host[256] = "";
	ck_assert_int_eq(gethostname(host, sizeof host - 1), 0);
	g_autofree char *owner = g_strdup_printf("%d:%s", (int)getpid(), host);
	ck_assert(g_file_set_contents(lock, owner, -1, NULL));
	struct utimbuf old = {.actime = time(NULL) - 10, .modtime = time(NULL) - 10};
	ck_assert_int_eq(utime(lock, &old), 0);

	struct captured_log capture = capture_log(CANARY_LOG_INFO);
	struct held_lock held = {.path = lock, .log_path = capture.path};
	GThread *releaser = g_thread_new("release-lock", release_lock_on_notice, &held);
	g_autoptr(GError) error = NULL;
	g_autoptr(GArray) list = NULL;
	{
		struct canary_imap_options options = options_for(url);
		options.io_timeout = 120;
		g_autoptr(canary_imap) imap = canary_imap_new(&options, &error);
		ck_assert_ptr_nonnull(imap);
		list = canary_imap_list(imap, 0, &error);
	}
	g_autofree char *log_path = end_capture(&capture);
	g_thread_join(releaser);
	ck_assert_msg(list != NULL, "%s", error ? error->message : "");
	ck_assert_uint_eq(list->len, 1);
	ck_assert_uint_gt(tu_count_in_file(log_path, "says: NO Mailbox is locked", 26), 0);
}
END_TEST

/* --- XOAUTH2 ------------------------------------------------------------------ */

/* A stand-in for an OAuth 2.0 provider's introspection endpoint, on
 * loopback: Dovecot asks it (GET, "Authorization: Bearer TOKEN") who a
 * token belongs to; it knows one token. */
struct token_endpoint {
	int listener;
	guint port;
	GThread *thread;
	volatile gint stop;
};

static gpointer serve_tokens(gpointer data)
{
	struct token_endpoint *e = data;
	while (!g_atomic_int_get(&e->stop)) {
		int fd = accept(e->listener, NULL, NULL);
		if (fd < 0)
			break;
		char request[4096];
		gsize got = 0;
		while (got < sizeof request - 1) {
			ssize_t n = read(fd, request + got, sizeof request - 1 - got);
			if (n <= 0)
				break;
			got += (gsize)n;
			request[got] = '\0';
			if (strstr(request, "\r\n\r\n") != NULL)
				break;
		}
		request[got] = '\0';
		gboolean known = strstr(request, "Bearer good-token\r\n") != NULL;
		const char *body = known ? "{\"email\":\"reprisals\",\"active\":true}"
					 : "{\"error\":\"invalid_token\"}";
		g_autofree char *answer = g_strdup_printf(
			"HTTP/1.1 %s\r\nContent-Type: application/json\r\nContent-Length: "
			"%zu\r\nConnection: close\r\n\r\n%s",
			known ? "200 OK" : "401 Unauthorized", strlen(body), body);
		if (write(fd, answer, strlen(answer)) < 0)
			g_warning("token endpoint: %s", g_strerror(errno));
		close(fd);
	}
	return NULL;
}

static void token_endpoint_start(struct token_endpoint *e)
{
	e->listener = tu_listen_loopback(&e->port);
	e->thread = g_thread_new("token-endpoint", serve_tokens, e);
}

static void token_endpoint_stop(struct token_endpoint *e)
{
	g_atomic_int_set(&e->stop, 1);
	shutdown(e->listener, SHUT_RDWR);
	g_thread_join(e->thread);
	close(e->listener);
}

START_TEST(test_xoauth2)
{
	struct token_endpoint endpoint = {0};
	token_endpoint_start(&endpoint);
	g_autofree char *oauth_dir = tu_make_tempdir();
	ck_assert_int_eq(chmod(oauth_dir, 0755), 0);
	g_autofree char *settings =
		g_strdup_printf("introspection_mode = auth\n"
				"introspection_url = http://127.0.0.1:%u/introspect\n"
				"username_attribute = email\n",
				endpoint.port);
	g_autofree char *settings_path = tu_write_file(oauth_dir, "oauth2.conf.ext", settings);
	ck_assert_int_eq(chmod(settings_path, 0644), 0);
	g_autofree char *extra = g_strdup_printf("auth_mechanisms = plain login xoauth2\n"
						 "passdb {\n  driver = oauth2\n  args = %s\n}\n",
						 settings_path);
	tu_dovecot_free(dovecot);
	dovecot = tu_dovecot_start(extra);
	g_free(url);
	url = tu_dovecot_url(dovecot, TRUE);
	deliver(1, 1);

	struct canary_imap_options options = options_for(url);
	options.password = NULL;
	options.oauth2_token = "good-token";
	g_autoptr(GError) error = NULL;
	{
		g_autoptr(canary_imap) imap = canary_imap_new(&options, &error);
		g_autoptr(GArray) list = canary_imap_list(imap, 0, &error);
		ck_assert_msg(list != NULL, "%s", error ? error->message : "");
		ck_assert_uint_eq(list->len, 1);
	}
	options.oauth2_token = "expired-token";
	g_autoptr(GError) refused = status_error(&options);
	assert_imap_error(refused, CANARY_IMAP_ERROR_AUTH);
	ck_assert_ptr_null(strstr(refused->message, "expired-token"));
	token_endpoint_stop(&endpoint);
	tu_rmtree(oauth_dir);
}
END_TEST

/* --- Parsers ---------------------------------------------------------------- */

static gboolean parse_status(const char *text, struct canary_imap_status *status)
{
	g_autoptr(GError) error = NULL;
	return canary_imap_parse_status(text, strlen(text), status, &error);
}

START_TEST(test_parse_status)
{
	struct canary_imap_status s;
	ck_assert(parse_status("* STATUS INBOX (UIDVALIDITY 1700000000 UIDNEXT 42 MESSAGES 7)\r\n",
			       &s));
	ck_assert_uint_eq(s.uidvalidity, 1700000000u);
	ck_assert_uint_eq(s.uidnext, 42);
	ck_assert_uint_eq(s.messages, 7);
	ck_assert(parse_status("* OK still here\r\n* STATUS \"My \\\"box\\\"\" (MESSAGES 1 "
			       "UIDNEXT 2 UIDVALIDITY 3)\r\n",
			       &s));
	ck_assert_uint_eq(s.uidvalidity, 3);
	/* A count over 32 bits is read, and not kept. */
	ck_assert(parse_status("* STATUS INBOX (UIDVALIDITY 3 UIDNEXT 2 MESSAGES "
			       "9223372036854775807)\r\n",
			       &s));
	ck_assert_uint_eq(s.messages, 0);
	static const char *const bad[] = {
		"",
		"* STATUS INBOX (UIDNEXT 42)\r\n",
		"* STATUS INBOX (UIDVALIDITY 0 UIDNEXT 42)\r\n",
		"* STATUS INBOX (UIDVALIDITY 99999999999 UIDNEXT 42)\r\n",
		"* STATUS INBOX UIDVALIDITY 1 UIDNEXT 2\r\n",
		"* STATUS INBOX (UIDVALIDITY x UIDNEXT 2)\r\n",
		"* STATUS INBOX (UIDVALIDITY 1 UIDNEXT 2",
		"* STATUS \"INBOX (UIDVALIDITY 1 UIDNEXT 2)",
		"* STATUS \"INBOX\\\" (UIDVALIDITY 1 UIDNEXT 2)",
		"* STATUS INBOX (UIDVALIDITY 1 UIDNEXT 2 MESSAGES 9223372036854775808)\r\n",
	};
	for (gsize i = 0; i < G_N_ELEMENTS(bad); i++)
		ck_assert_msg(!parse_status(bad[i], &s), "accepted: %s", bad[i]);
}
END_TEST

static guint parse_search(const char *text, GArray *uids)
{
	g_autoptr(GError) error = NULL;
	g_array_set_size(uids, 0);
	if (!canary_imap_parse_search(text, strlen(text), uids, &error))
		return G_MAXUINT;
	return uids->len;
}

START_TEST(test_parse_search)
{
	g_autoptr(GArray) uids = g_array_new(FALSE, FALSE, sizeof(guint32));
	ck_assert_uint_eq(parse_search("* ESEARCH (TAG \"A5\") UID ALL 1:3,7,10:9\r\n", uids), 6);
	ck_assert_uint_eq(g_array_index(uids, guint32, 3), 7);
	ck_assert_uint_eq(g_array_index(uids, guint32, 4), 9);
	ck_assert_uint_eq(parse_search("* ESEARCH (TAG \"A5\") UID\r\n", uids), 0);
	ck_assert_uint_eq(parse_search("* ESEARCH (TAG \"A5\") UID COUNT 2 ALL 4,5\r\n", uids), 2);
	ck_assert_uint_eq(parse_search("* SEARCH 2 84 882\r\n", uids), 3);
	ck_assert_uint_eq(parse_search("* SEARCH\r\n", uids), 0);
	ck_assert_uint_eq(parse_search("* 3 EXISTS\r\n* SEARCH 5\r\n", uids), 1);
	/* Any number of leading zeros; the largest UID. */
	ck_assert_uint_eq(parse_search("* SEARCH 000000000007 4294967295\r\n", uids), 2);
	ck_assert_uint_eq(g_array_index(uids, guint32, 0), 7);
	ck_assert_uint_eq(g_array_index(uids, guint32, 1), 4294967295u);
	ck_assert_uint_eq(parse_search("* ESEARCH (TAG \"A5\") UID ALL 1:4294967295\r\n", uids),
			  G_MAXUINT);
	ck_assert_uint_eq(parse_search("* SEARCH 1 x 2\r\n", uids), G_MAXUINT);
	ck_assert_uint_eq(parse_search("* SEARCH 0\r\n", uids), G_MAXUINT);
	ck_assert_uint_eq(parse_search("* SEARCH 4294967296\r\n", uids), G_MAXUINT);
	ck_assert_uint_eq(parse_search("* ESEARCH (TAG \"A5\" UID ALL 1\r\n", uids), G_MAXUINT);
	ck_assert_uint_eq(parse_search("* ESEARCH UID ALL 3:\r\n", uids), G_MAXUINT);
}
END_TEST

START_TEST(test_parse_fetch_sizes)
{
	const char *answer =
		"* 1 FETCH (UID 11 RFC822.SIZE 1234 INTERNALDATE \"17-Jul-1996 02:44:25 "
		"-0700\")\r\n"
		"* 2 FETCH (FLAGS (\\Seen) UID 12 MODSEQ (5) RFC822.SIZE 99 INTERNALDATE "
		"\"01-Jan-2026 00:00:00 +0000\")\r\n"
		"* 3 FETCH (UID 13 FLAGS (\\Deleted))\r\n"
		"* 4 EXPUNGE\r\n";
	g_autoptr(GArray) m = g_array_new(FALSE, TRUE, sizeof(struct canary_imap_message));
	g_autoptr(GError) error = NULL;
	ck_assert(canary_imap_parse_fetch_sizes(answer, strlen(answer), m, &error));
	ck_assert_uint_eq(m->len, 2);
	const struct canary_imap_message *a = &g_array_index(m, struct canary_imap_message, 0);
	ck_assert_uint_eq(a->uid, 11);
	ck_assert_uint_eq(a->size, 1234);
	ck_assert_int_eq(a->internal_date, 837596665); /* 1996-07-17 09:44:25 UTC */
	ck_assert_int_eq(g_array_index(m, struct canary_imap_message, 1).internal_date, 1767225600);
	static const char *const bad[] = {
		"* 1 FETCH UID 1\r\n",
		"* 1 FETCH (UID 0 RFC822.SIZE 5)\r\n",
		"* 1 FETCH (UID 1 RFC822.SIZE x)\r\n",
		"* 1 FETCH (UID 1 RFC822.SIZE 5",
		"* 1 FETCH (UID 1 INTERNALDATE \"17-Jul-1996)\r\n",
		"* 1 FETCH (UID 1 INTERNALDATE 17)\r\n",
		"* 1 FETCH (UID 1 FLAGS (\\Seen\r\n",
		"* 1 FETCH (UID 4294967296 RFC822.SIZE 5)\r\n",
		"* 1 FETCH (UID 1 RFC822.SIZE 9223372036854775808)\r\n",
		"* 1 FETCH (UID 1 MODSEQ (5 RFC822.SIZE 5\r\n",
		"* 1 FETCH (UID 1 RFC822.SIZE 5 X-ODD)\r\n",
	};
	for (gsize i = 0; i < G_N_ELEMENTS(bad); i++) {
		g_autoptr(GError) e = NULL;
		ck_assert_msg(!canary_imap_parse_fetch_sizes(bad[i], strlen(bad[i]), m, &e),
			      "accepted %s", bad[i]);
		ck_assert(g_error_matches(e, CANARY_IMAP_ERROR, CANARY_IMAP_ERROR_PROTOCOL));
	}
	/* A date we cannot read is 0, not a failure. */
	const char *odd = "* 1 FETCH (UID 1 RFC822.SIZE 5 INTERNALDATE \"yesterday\")\r\n";
	g_array_set_size(m, 0);
	ck_assert(canary_imap_parse_fetch_sizes(odd, strlen(odd), m, &error));
	ck_assert_int_eq(g_array_index(m, struct canary_imap_message, 0).internal_date, 0);
	/* Leading zeros, the largest size; a list is skipped to its first
	 * ')', which here ends the FETCH. */
	const char *edges = "* 1 FETCH (UID 000000000001 RFC822.SIZE 9223372036854775807 "
			    "X-NESTED ((5)) FLAGS (\\Seen))\r\n";
	g_array_set_size(m, 0);
	ck_assert(canary_imap_parse_fetch_sizes(edges, strlen(edges), m, &error));
	ck_assert_uint_eq(m->len, 1);
	ck_assert_uint_eq(g_array_index(m, struct canary_imap_message, 0).uid, 1);
	ck_assert_uint_eq(g_array_index(m, struct canary_imap_message, 0).size, G_MAXINT64);
}
END_TEST

START_TEST(test_parse_capabilities)
{
	const char *answer = "* CAPABILITY IMAP4rev1 Move uidplus ESEARCH AUTH=PLAIN\r\n"
			     "A1 OK done\r\n";
	g_autoptr(GHashTable) caps = canary_imap_parse_capabilities(answer, strlen(answer));
	ck_assert(g_hash_table_contains(caps, "MOVE"));
	ck_assert(g_hash_table_contains(caps, "UIDPLUS"));
	ck_assert(g_hash_table_contains(caps, "ESEARCH"));
	ck_assert(!g_hash_table_contains(caps, "OK"));
	/* A carriage return ends an atom, and the line's reading. */
	const char *cr = "* CAPABILITY IMAP4rev1\rMOVE ESEARCH\r\n";
	g_autoptr(GHashTable) before_cr = canary_imap_parse_capabilities(cr, strlen(cr));
	ck_assert_uint_eq(g_hash_table_size(before_cr), 1);
	ck_assert(g_hash_table_contains(before_cr, "IMAP4REV1"));
	g_autoptr(GHashTable) none = canary_imap_parse_capabilities("garbage", 7);
	ck_assert_uint_eq(g_hash_table_size(none), 0);
}
END_TEST

/* Expects LINE to say KIND, with TEXT (NULL when it says nothing). */
static void assert_said(const char *line, gsize len, enum canary_imap_said kind, const char *text)
{
	g_autofree char *said = NULL;
	ck_assert_int_eq(canary_imap_parse_said(line, len, &said), kind);
	ck_assert_pstr_eq(said, text);
}
#define SAID(line, kind, text) assert_said(line, strlen(line), kind, text)

START_TEST(test_parse_said)
{
	SAID("* NO Mailbox is locked, will abort in 92 seconds\r\n", CANARY_IMAP_SAID_NOTICE,
	     "NO Mailbox is locked, will abort in 92 seconds");
	SAID("* BAD Invalid characters in atom\r\n", CANARY_IMAP_SAID_NOTICE,
	     "BAD Invalid characters in atom");
	SAID("* OK [ALERT] Maintenance at 22:00", CANARY_IMAP_SAID_NOTICE,
	     "OK [ALERT] Maintenance at 22:00");
	SAID("A012 NO [TRYCREATE] Mailbox doesn't exist: Archive\r\n", CANARY_IMAP_SAID_REFUSAL,
	     "NO [TRYCREATE] Mailbox doesn't exist: Archive");
	SAID("B7 BAD\r\n", CANARY_IMAP_SAID_REFUSAL, "BAD");
	/* What every answer holds says nothing. */
	SAID("A012 OK Move completed\r\n", CANARY_IMAP_SAID_NOTHING, NULL);
	SAID("* OK [UIDNEXT 5] Predicted next UID\r\n", CANARY_IMAP_SAID_NOTHING, NULL);
	SAID("* 3 EXISTS\r\n", CANARY_IMAP_SAID_NOTHING, NULL);
	SAID("* BYE Logging out\r\n", CANARY_IMAP_SAID_NOTHING, NULL);
	/* Malformed: no tag, no space, a word that only begins like NO, a tag
	 * libcurl never sends, a continuation, a message header line. */
	SAID("", CANARY_IMAP_SAID_NOTHING, NULL);
	SAID("*", CANARY_IMAP_SAID_NOTHING, NULL);
	SAID("* ", CANARY_IMAP_SAID_NOTHING, NULL);
	SAID("*NO x", CANARY_IMAP_SAID_NOTHING, NULL);
	SAID("* NOTE x", CANARY_IMAP_SAID_NOTHING, NULL);
	SAID("A NO x", CANARY_IMAP_SAID_NOTHING, NULL);
	SAID("a1 NO x", CANARY_IMAP_SAID_NOTHING, NULL);
	SAID("A1x NO x", CANARY_IMAP_SAID_NOTHING, NULL);
	SAID("+ NO x", CANARY_IMAP_SAID_NOTHING, NULL);
	SAID("Subject: NO way", CANARY_IMAP_SAID_NOTHING, NULL);
	SAID("** NO x", CANARY_IMAP_SAID_NOTHING, NULL);
	/* Control and 8-bit bytes are shown as '?'; a NUL ends the line. */
	SAID("* NO l\x1b[2Jock\xc3\xa9\r\n", CANARY_IMAP_SAID_NOTICE, "NO l?[2Jock??");
	assert_said("* NO a\0b", 8, CANARY_IMAP_SAID_NOTICE, "NO a");
	/* A long line is cut to 200 bytes. */
	g_autofree char *filler = g_strnfill(10000, 'x');
	g_autofree char *long_line = g_strconcat("* NO ", filler, NULL);
	g_autofree char *said = NULL;
	ck_assert_int_eq(canary_imap_parse_said(long_line, strlen(long_line), &said),
			 CANARY_IMAP_SAID_NOTICE);
	ck_assert_uint_eq(strlen(said), 198);
}
END_TEST

static Suite *imap_suite(void)
{
	Suite *s = suite_create("imap");
	TCase *server = tcase_create("dovecot");
	tcase_add_checked_fixture(server, setup, teardown);
	tcase_set_timeout(server, 120);
	tcase_add_test(server, test_status_list_fetch);
	tcase_add_test(server, test_stream_fetches_many);
	tcase_add_test(server, test_stream_limit);
	tcase_add_test(server, test_stream_uidvalidity_change_is_reset);
	tcase_add_test(server, test_empty_inbox);
	tcase_add_test(server, test_starttls);
	tcase_add_test(server, test_wrong_password_is_auth);
	tcase_add_test(server, test_untrusted_certificate_is_tls);
	tcase_add_test(server, test_host_name_is_checked);
	tcase_add_test(server, test_pinned_key);
	tcase_add_test(server, test_no_starttls_is_refused);
	tcase_add_test(server, test_server_down_is_temporary);
	tcase_add_test(server, test_handshake_cut_is_temporary);
	tcase_add_test(server, test_bad_urls_refused);
	tcase_add_test(server, test_folders_and_moves);
	tcase_add_test(server, test_moves_without_move_capability);
	tcase_add_test(server, test_remove_and_sweep);
	tcase_add_test(server, test_server_notices_are_logged);
	tcase_add_test(server, test_many_messages);
	tcase_add_test(server, test_uidvalidity_change_is_reset);
	tcase_add_test(server, test_missing_uid_is_refused);
	tcase_add_test(server, test_trace_hides_credentials);
	suite_add_tcase(s, server);

	TCase *oauth = tcase_create("xoauth2");
	tcase_add_checked_fixture(oauth, setup, teardown);
	tcase_set_timeout(oauth, 120);
	tcase_add_test(oauth, test_xoauth2);
	suite_add_tcase(s, oauth);

	TCase *script = tcase_create("misbehaving");
	tcase_add_checked_fixture(script, setup, teardown);
	tcase_set_timeout(script, 120);
	tcase_add_loop_test(script, test_misbehaving_server, 0, G_N_ELEMENTS(misbehaviours));
	suite_add_tcase(s, script);

	TCase *parsers = tcase_create("parsers");
	tcase_add_test(parsers, test_parse_status);
	tcase_add_test(parsers, test_parse_search);
	tcase_add_test(parsers, test_parse_fetch_sizes);
	tcase_add_test(parsers, test_parse_capabilities);
	tcase_add_test(parsers, test_parse_said);
	tcase_add_test(parsers, test_fetch_check);
	suite_add_tcase(s, parsers);
	return s;
}

int main(void)
{
	return tu_run_suite(imap_suite());
}
