/* check_identity.c: who wrote in: extraction from headers and text, scrubbing
 * (whole words, case, Unicode normalisation, scripts without spaces), and the
 * sealed record, including damaged ones. */
#include <string.h>

#include "identity.h"
#include "mail.h"
#include "testutil.h"

#define PSEUDONYM "P-TEST"

static void setup(void)
{
	canary_mail_init();
}

/* Parses the message S (LF line ends are fine). */
static struct canary_mail *parse(const char *s)
{
	g_autoptr(GBytes) raw = g_bytes_new(s, strlen(s));
	struct canary_mail *mail = canary_mail_parse(raw, NULL);
	ck_assert_ptr_nonnull(mail);
	return mail;
}

/* Extracts the identity of the message S. */
static struct canary_identity *extract(const char *s)
{
	g_autoptr(canary_mail) mail = parse(s);
	struct canary_identity *id = canary_identity_extract(mail);
	ck_assert_ptr_nonnull(id);
	ck_assert_ptr_nonnull(id->addresses);
	ck_assert_ptr_nonnull(id->ips);
	ck_assert_ptr_nonnull(id->phones);
	ck_assert_ptr_nonnull(id->emails);
	return id;
}

/* Parses tests/data/mail/NAME. */
static struct canary_mail *parse_file(const char *name)
{
	g_autofree char *relative = g_build_filename("mail", name, NULL);
	g_autoptr(GBytes) raw = tu_data_bytes(relative);
	struct canary_mail *mail = canary_mail_parse(raw, NULL);
	ck_assert_ptr_nonnull(mail);
	return mail;
}

/* The identity of a message from NAME <ADDRESS> (NAME encoded as RFC 2047). */
static struct canary_identity *identity_of(const char *name, const char *address)
{
	g_autofree char *b64 = g_base64_encode((const guchar *)name, strlen(name));
	g_autofree char *msg = g_strdup_printf("From: =?UTF-8?B?%s?= <%s>\n"
					       "Subject: test\n\n"
					       "Body.\n",
					       b64, address);
	return extract(msg);
}

static gboolean contains(const GPtrArray *list, const char *s)
{
	for (guint i = 0; i < list->len; i++)
		if (g_strcmp0(list->pdata[i], s) == 0)
			return TRUE;
	return FALSE;
}

static const struct canary_address *address_at(const struct canary_identity *id, guint i)
{
	ck_assert_uint_gt(id->addresses->len, i);
	return id->addresses->pdata[i];
}

/* ---- extraction ---- */

START_TEST(test_addresses)
{
	g_autoptr(canary_identity) id =
		extract("From: \"Amina Diallo\" <  Amina.Diallo@Example.ORG >\n"
			"Sender: <amina.diallo@example.org>\n"
			"Reply-To: Amina <AMINA.DIALLO@example.org>, \"A. D.\" <ad@other.example>\n"
			"To: intake@ohchr.example\n"
			"Subject: hello\n\n"
			"Body.\n");
	ck_assert_uint_eq(id->addresses->len, 2);
	ck_assert_str_eq(address_at(id, 0)->name, "Amina Diallo");
	ck_assert_str_eq(address_at(id, 0)->address, "Amina.Diallo@Example.ORG");
	ck_assert_str_eq(address_at(id, 1)->name, "A. D.");
	ck_assert_str_eq(address_at(id, 1)->address, "ad@other.example");
	ck_assert_str_eq(id->primary, "amina.diallo@example.org");
	ck_assert_uint_eq(id->emails->len, 0);
}
END_TEST

/* The primary address: From, else Sender, else Reply-To. */
static const struct {
	const char *headers;
	const char *primary;
} primary_cases[] = {
	{"From: a@one.example\nSender: b@two.example\nReply-To: c@three.example\n",
	 "a@one.example"},
	{"Sender: Bee <B@Two.Example>\nReply-To: c@three.example\n", "b@two.example"},
	{"Reply-To: \"Cé\" <C@Three.Example>\n", "c@three.example"},
	{"To: intake@ohchr.example\n", NULL},
	{"", NULL},
};

START_TEST(test_primary)
{
	g_autofree char *msg =
		g_strdup_printf("%sSubject: x\n\nBody.\n", primary_cases[_i].headers);
	g_autoptr(canary_identity) id = extract(msg);
	ck_assert_pstr_eq(id->primary, primary_cases[_i].primary);
	if (primary_cases[_i].primary == NULL)
		ck_assert_uint_eq(id->addresses->len, 0);
}
END_TEST

START_TEST(test_ips)
{
	g_autoptr(canary_identity) id = extract(
		"Received: from mx.example.net (mx.example.net [203.0.113.7])\n"
		"\tby intake.example.org (Postfix) with ESMTPS id 4ABCDEF12;\n"
		"\tTue, 3 Mar 2026 07:15:00 +0000\n"
		"Received: from laptop (host [2001:DB8::1]) by mx.example.net\n"
		"\twith ESMTPSA id deadbeef; Tue, 3 Mar 2026 07:14:58 +0000\n"
		"Received: from [IPv6:2001:db8:0:0::2] by relay; Tue, 3 Mar 2026 07:14:50 +0000\n"
		"Received: from localhost ([127.0.0.1]) by relay ([::1]);\n"
		"\tTue, 3 Mar 2026 07:14:40 +0000\n"
		"Received: from bogus ([999.1.1.1]) by relay (helo [1.2.3]) ([203.0.113.7]:2525);\n"
		"\tTue, 3 Mar 2026 07:14:30 +0000\n"
		"Received: from client (198.51.100.23) by relay; Tue, 3 Mar 2026 07:14:20 +0000\n"
		"From: someone@example.org\n"
		"Subject: ips\n\n"
		"Body.\n");
	ck_assert_uint_eq(id->ips->len, 4);
	ck_assert_str_eq(id->ips->pdata[0], "203.0.113.7");
	ck_assert_str_eq(id->ips->pdata[1], "2001:db8::1");
	ck_assert_str_eq(id->ips->pdata[2], "2001:db8::2");
	ck_assert_str_eq(id->ips->pdata[3], "198.51.100.23");
}
END_TEST

/* Phone numbers in the text, as written; NULL: none is. */
static const struct {
	const char *text;
	const char *phone;
} phone_cases[] = {
	{"Call me on +221 77 123 45 67.", "+221 77 123 45 67"},
	{"Tel: +7 (495) 123-45-67 (office)", "+7 (495) 123-45-67"},
	{"Paris +33 1 23 45 67 89, evenings", "+33 1 23 45 67 89"},
	{"London 00 44 20 7946 0958", "00 44 20 7946 0958"},
	{"Mobile: 077 123 45 67", "077 123 45 67"},
	{"Office (495) 123-45-67", "(495) 123-45-67"},
	{"US 555.867.5309 after six", "555.867.5309"},
	{"WhatsApp 0612345678", "0612345678"},
	{"Моб. 89161234567", "89161234567"},
	{"The fine was 103349.35 (USD).", NULL},
	{"He left in 1997 (2000 miles from home).", NULL},
	{"A sum of 12 345 678 francs.", NULL},
	{"Order 0612345678 shipped.", NULL},
	{"tel:+221771234567", "+221771234567"},
	{"Téléphone : +33\xc2\xa0"
	 "6\xc2\xa0"
	 "12\xc2\xa0"
	 "34\xc2\xa0"
	 "56\xc2\xa0"
	 "78",
	 "+33\xc2\xa0"
	 "6\xc2\xa0"
	 "12\xc2\xa0"
	 "34\xc2\xa0"
	 "56\xc2\xa0"
	 "78"},
	{"They came on 2026-11-24 and again on 2026-11-25.", NULL},
	{"Detained 24.11.2026 at the border.", NULL},
	{"At 2026-11-24 10:30:00 they left.", NULL},
	{"Between 10:30 and 11:45 on 24/11/2026.", NULL},
	{"Regarding case 12345 and file 987654321.", NULL},
	{"Reference 2026-000123", NULL},
	{"Server 192.168.100.200 was seized.", NULL},
	{"A fine of 1.500.000.000 francs.", NULL},
	{"Number 1234567 is short.", NULL},
	{"ID AB12345678 and x+12345678901", NULL},
	{"Too long: 1234 5678 9012 3456 7890", NULL},
};

START_TEST(test_phones)
{
	g_autofree char *msg = g_strdup_printf("From: a@example.org\nSubject: x\n"
					       "Content-Type: text/plain; charset=utf-8\n\n%s\n",
					       phone_cases[_i].text);
	g_autoptr(canary_identity) id = extract(msg);
	if (phone_cases[_i].phone == NULL) {
		ck_assert_msg(id->phones->len == 0, "%s: found \"%s\"", phone_cases[_i].text,
			      (const char *)id->phones->pdata[0]);
	} else {
		ck_assert_msg(id->phones->len == 1, "%s: %u phones", phone_cases[_i].text,
			      id->phones->len);
		ck_assert_str_eq(id->phones->pdata[0], phone_cases[_i].phone);
	}
}
END_TEST

START_TEST(test_phones_deduplicated)
{
	g_autoptr(canary_identity) id =
		extract("From: a@example.org\nSubject: x\n\n"
			"Call +221 77 123 45 67 or +221 77 123 45 67, or +221 33 800 00 00.\n");
	ck_assert_uint_eq(id->phones->len, 2);
	ck_assert_str_eq(id->phones->pdata[0], "+221 77 123 45 67");
	ck_assert_str_eq(id->phones->pdata[1], "+221 33 800 00 00");
}
END_TEST

START_TEST(test_signature_emails)
{
	g_autoptr(canary_identity) id =
		extract("From: Amina Diallo <amina.diallo@example.org>\nSubject: x\n\n"
			"Write to press@ngo.example about the case, not me.\n"
			"\n"
			"-- \n"
			"Amina Diallo\n"
			"Work: AMINA.DIALLO@example.org\n"
			"Private: <amina.d@mail.example>, mailto:Amina.D@mail.example.\n"
			"Also: a.diallo@backup.example\n"
			"> quoted@someone.example\n");
	ck_assert_uint_eq(id->emails->len, 2);
	ck_assert_str_eq(id->emails->pdata[0], "amina.d@mail.example");
	ck_assert_str_eq(id->emails->pdata[1], "a.diallo@backup.example");
	ck_assert(!contains(id->emails, "press@ngo.example"));
}
END_TEST

/* Without a "-- " line, the last lines are the signature. */
START_TEST(test_signature_last_lines)
{
	GString *body = g_string_new("Early mention of early@example.org.\n");
	for (int i = 0; i < 20; i++)
		g_string_append(body, "Some line of the report.\n");
	g_string_append(body, "Amina\nhome: amina@home.example\n\n\n");
	g_autofree char *msg = g_strdup_printf("From: a@example.org\nSubject: x\n\n%s", body->str);
	g_string_free(body, TRUE);
	g_autoptr(canary_identity) id = extract(msg);
	ck_assert_uint_eq(id->emails->len, 1);
	ck_assert_str_eq(id->emails->pdata[0], "amina@home.example");
}
END_TEST

START_TEST(test_no_from)
{
	g_autoptr(canary_identity) id = extract("Subject: nobody\n\nJust text, no sender.\n");
	ck_assert_uint_eq(id->addresses->len, 0);
	ck_assert_ptr_null(id->primary);
	g_autofree char *same = canary_identity_scrub(id, "Just text.", PSEUDONYM);
	ck_assert_str_eq(same, "Just text.");

	g_autoptr(GBytes) record = canary_identity_serialize(id);
	g_autoptr(GError) error = NULL;
	g_autoptr(canary_identity) back = canary_identity_deserialize(record, &error);
	ck_assert_ptr_nonnull(back);
	ck_assert_uint_eq(back->addresses->len, 0);
	ck_assert_ptr_null(back->primary);

	g_autoptr(canary_identity) empty = canary_identity_extract(NULL);
	ck_assert_ptr_nonnull(empty);
	canary_identity_free(NULL);
}
END_TEST

START_TEST(test_quarantined)
{
	/* Whatever headers a damaged message has, extraction works. */
	g_autoptr(GBytes) raw = g_bytes_new("\0\0\0\xff", 4);
	g_autoptr(canary_mail) mail = canary_mail_parse(raw, NULL);
	g_autoptr(canary_identity) id = canary_identity_extract(mail);
	ck_assert_ptr_nonnull(id);
	ck_assert_ptr_null(id->primary);
}
END_TEST

/* ---- scrubbing ---- */

struct scrub_case {
	const char *name;    /* display name of the sender */
	const char *address; /* their address */
	const char *text;
	const char *expected;
};

static const struct scrub_case scrub_cases[] = {
	/* The whole name goes as one, the longest needle first. */
	{"Amina Diallo", "amina.diallo@example.org", "I am Amina Diallo, from Dakar.",
	 "I am " PSEUDONYM ", from Dakar."},
	{"Amina Diallo", "amina.diallo@example.org", "Diallo wrote; Amina signed.",
	 PSEUDONYM " wrote; " PSEUDONYM " signed."},
	{"Amina Diallo", "amina.diallo@example.org", "AMINA DIALLO and amina and DiAlLo.",
	 PSEUDONYM " and " PSEUDONYM " and " PSEUDONYM "."},
	{"Amina Diallo", "amina.diallo@example.org", "Signed:\nAmina\nDiallo\n",
	 "Signed:\n" PSEUDONYM "\n"},
	{"Amina Diallo", "amina.diallo@example.org", "Write to <Amina.Diallo@Example.org>.",
	 "Write to <" PSEUDONYM ">."},
	{"Amina Diallo", "amina.diallo@example.org", "Diallos and Aminata and xAmina stay.",
	 "Diallos and Aminata and xAmina stay."},
	/* Full-width letters fold to ASCII (NFKC). */
	{"Amina Diallo", "amina.diallo@example.org",
	 "\xef\xbc\xa1\xef\xbd\x8d\xef\xbd\x89\xef"
	 "\xbd\x8e\xef\xbd\x81 was there.",
	 PSEUDONYM " was there."},
	/* Particles stay. */
	{"Maria de la Cruz", "maria@example.org", "The report de la commission, by Cruz.",
	 "The report de la commission, by " PSEUDONYM "."},
	{"Maria de la Cruz", "maria@example.org", "Maria de la Cruz and MARIA DE LA CRUZ.",
	 PSEUDONYM " and " PSEUDONYM "."},
	{"Omar al Rashid", "omar@example.org", "Omar met al Rashid in Al Qusayr.",
	 PSEUDONYM " met al " PSEUDONYM " in Al Qusayr."},
	/* Word boundaries. */
	{"Ana Lopes", "ana@example.org", "Analysis by Ana; Ana's note. Banana.",
	 "Analysis by " PSEUDONYM "; " PSEUDONYM "'s note. Banana."},
	{"Jean-Pierre Dupré", "jp@example.org", "Jean-Pierre, Jean, Pierre et DUPRÉ.",
	 PSEUDONYM ", " PSEUDONYM ", " PSEUDONYM " et " PSEUDONYM "."},
	/* A precomposed name matches decomposed text, and the reverse. */
	{"José Núñez", "jose@example.org",
	 "Jose\xcc\x81 Nu\xcc\x81n\xcc\x83"
	 "ez came; Jose stays.",
	 PSEUDONYM " came; Jose stays."},
	/* Other scripts. */
	{"أمينة ديالو", "amina@example.org", "أنا أمينة ديالو. أمينة هنا.",
	 "أنا " PSEUDONYM ". " PSEUDONYM " هنا."},
	{"Иван Петров", "ivan@example.org", "Меня зовут ИВАН ПЕТРОВ. Петров был там. Иванов нет.",
	 "Меня зовут " PSEUDONYM ". " PSEUDONYM " был там. Иванов нет."},
	{"王小明", "wang@example.org", "我是王小明。王小明的朋友也在。",
	 "我是" PSEUDONYM "。" PSEUDONYM "的朋友也在。"},
	{"王小明", "wang@example.org", "Contact王小明today.", "Contact" PSEUDONYM "today."},
	/* Where the scrubber skips ahead, what it skips still bounds the words. */
	{"Amina Diallo", "amina.diallo@example.org", "Signed by the office; Amina \n Diallo.",
	 "Signed by the office; " PSEUDONYM "."},
	{"Amina Diallo", "amina.diallo@example.org", "Témoin:Amina, ÉtéAmina, +Amina, 王Amina.",
	 "Témoin:" PSEUDONYM ", ÉtéAmina, +" PSEUDONYM ", 王" PSEUDONYM "."},
	/* No match: the text comes back byte for byte. */
	{"Amina Diallo", "amina.diallo@example.org",
	 "Nothing here.\r\n  Tabs\tand  spaces,\n\n\nemoji \xf0\x9f\x98\x80, e\xcc\x81, Ａ.",
	 "Nothing here.\r\n  Tabs\tand  spaces,\n\n\nemoji \xf0\x9f\x98\x80, e\xcc\x81, Ａ."},
	{"Amina Diallo", "amina.diallo@example.org", "", ""},
	/* Spacing around a match is kept. */
	{"Amina Diallo", "amina.diallo@example.org", "  Amina   Diallo  \n\n",
	 "  " PSEUDONYM "  \n\n"},
	{"Amina Diallo", "amina.diallo@example.org", "Amina\n\nDiallo", PSEUDONYM "\n\n" PSEUDONYM},
};

START_TEST(test_scrub)
{
	const struct scrub_case *c = &scrub_cases[_i];
	g_autoptr(canary_identity) id = identity_of(c->name, c->address);
	ck_assert_uint_eq(id->addresses->len, 1);
	ck_assert_str_eq(address_at(id, 0)->name, c->name);
	g_autofree char *out = canary_identity_scrub(id, c->text, PSEUDONYM);
	ck_assert_str_eq(out, c->expected);
}
END_TEST

START_TEST(test_scrub_phones_and_emails)
{
	g_autoptr(canary_identity) id = extract(
		"From: \"Amina Diallo\" <amina.diallo@example.org>\nSubject: x\n"
		"Content-Type: text/plain; charset=utf-8\n\n"
		"Call me on +221 77 123 45 67.\n-- \nAmina\nprivate: amina.d@mail.example\n");
	ck_assert_uint_eq(id->phones->len, 1);
	ck_assert_uint_eq(id->emails->len, 1);
	static const struct {
		const char *text, *expected;
	} cases[] = {
		{"Call me on +221 77 123 45 67.", "Call me on " PSEUDONYM "."},
		{"or 00221 77 123 45 67 or 77-123-45-67 or +221771234567!",
		 "or " PSEUDONYM " or " PSEUDONYM " or " PSEUDONYM "!"},
		{"not 77 123 45 68 nor 2026-11-24", "not 77 123 45 68 nor 2026-11-24"},
		{"Mail AMINA.D@mail.example now", "Mail " PSEUDONYM " now"},
	};
	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autofree char *out = canary_identity_scrub(id, cases[i].text, PSEUDONYM);
		ck_assert_str_eq(out, cases[i].expected);
	}
}
END_TEST

START_TEST(test_scrub_edge_cases)
{
	g_autoptr(canary_identity) id = identity_of("Amina Diallo", "amina.diallo@example.org");
	g_autofree char *empty = canary_identity_scrub(id, NULL, PSEUDONYM);
	ck_assert_str_eq(empty, "");
	g_autofree char *blank = canary_identity_scrub(id, "Amina", "");
	ck_assert_str_eq(blank, "");

	/* A long text (past the window's compaction) with matches all along. */
	GString *text = g_string_new(NULL), *expected = g_string_new(NULL);
	for (int i = 0; i < 5000; i++) {
		g_string_append(text, "Témoignage d'Amina Diallo, ligne — ок.\n");
		g_string_append(expected, "Témoignage d'" PSEUDONYM ", ligne — ок.\n");
	}
	g_autofree char *out = canary_identity_scrub(id, text->str, PSEUDONYM);
	ck_assert_str_eq(out, expected->str);
	g_string_free(text, TRUE);
	g_string_free(expected, TRUE);

	/* Invalid UTF-8 (not from mail.c) comes back valid. */
	g_autofree char *fixed = canary_identity_scrub(id, "Amina \xff\xfe end", PSEUDONYM);
	ck_assert(g_utf8_validate(fixed, -1, NULL));
	ck_assert_ptr_null(strstr(fixed, "Amina"));
}
END_TEST

/* ---- only the submitter: the messages in tests/data/mail/identity-*.eml ---- */

static void assert_in(const char *text, const char *s)
{
	ck_assert_msg(strstr(text, s) != NULL, "\"%s\" missing from:\n%s", s, text);
}

static void assert_not_in(const char *text, const char *s)
{
	ck_assert_msg(strstr(text, s) == NULL, "\"%s\" still in:\n%s", s, text);
}

/* Extracts the identity of FILE and scrubs its text into *SCRUBBED_R. */
static struct canary_identity *file_identity(const char *file, char **scrubbed_r)
{
	g_autoptr(canary_mail) mail = parse_file(file);
	ck_assert_int_eq(mail->quarantine, CANARY_QUARANTINE_NONE);
	struct canary_identity *id = canary_identity_extract(mail);
	*scrubbed_r = canary_identity_scrub(id, mail->text, PSEUDONYM);
	return id;
}

START_TEST(test_forward_inline)
{
	g_autofree char *text = NULL;
	g_autoptr(canary_identity) id = file_identity("identity-forward-inline.eml", &text);
	ck_assert_uint_eq(id->addresses->len, 1);
	ck_assert_str_eq(address_at(id, 0)->address, "amina.diallo@example.org");
	ck_assert_uint_eq(id->phones->len, 1);
	ck_assert_str_eq(id->phones->pdata[0], "+221 77 123 45 67");
	ck_assert_uint_eq(id->emails->len, 0);
	ck_assert_uint_eq(id->omitted, 0);
	assert_in(text, "WhatsApp " PSEUDONYM ".");
	assert_in(text, "From: Karim Haddad <karim.haddad@example.net>");
	assert_in(text, "Tel: +961 3 123 456");
	assert_in(text, "karim.h@mail.example.net");
	assert_in(text, "To: " PSEUDONYM " <" PSEUDONYM ">");
	assert_not_in(text, "Amina");
	assert_not_in(text, "Diallo");
}
END_TEST

/* Every kind of forward marker ends the submitter's own text, in any case
 * and script: the phone number after it is someone else's. Lines that
 * only look like one do not. */
START_TEST(test_forward_markers)
{
	static const struct {
		const char *line;
		gboolean marker;
	} lines[] = {
		{ "---------- Forwarded message ---------", TRUE },
		{ "-----ORIGINAL MESSAGE-----", TRUE },
		{ "Begin forwarded message:", TRUE },
		{ "-------- Message transféré --------", TRUE },
		{ "-------- MESSAGE D'ORIGINE --------", TRUE },
		{ "---------- Mensaje reenviado ---------", TRUE },
		{ "-----Mensaje original-----", TRUE },
		{ "-------- Пересылаемое сообщение --------", TRUE },
		{ "-------- ИСХОДНОЕ СООБЩЕНИЕ --------", TRUE },
		{ "------------------ 转发的邮件 ------------------", TRUE },
		{ "------------------ 原始邮件 ------------------", TRUE },
		{ "---------- رسالة محولة ----------", TRUE },
		{ "On Mon, 2 Mar 2026, Bob <bob@example.net> wrote:", TRUE },
		{ "ON MON, 2 MAR 2026, BOB WROTE:", TRUE },
		{ "Le 2 mars 2026, Bob a écrit :", TRUE },
		{ "El 2 de marzo de 2026, Bob ESCRIBIÓ:", TRUE },
		{ "2 марта 2026 г., Боб пишет:", TRUE },
		{ "2 марта 2026 г., Боб НАПИСАЛ:", TRUE },
		{ "2026年3月2日 Bob 写道：", TRUE },
		{ "2026年3月2日 Bob 写道:", TRUE },
		{ "في 2 مارس 2026، بوب كتب:", TRUE },
		{ "______________________________________________", TRUE },
		{ "My brother wrote:", FALSE },
		{ "The original message was lost in 2025.", FALSE },
		{ "Forwarded to the police on 2 March.", FALSE },
		{ "Мне написал:", FALSE },
	};
	for (gsize i = 0; i < G_N_ELEMENTS(lines); i++) {
		g_autofree char *msg = g_strdup_printf(
			"From: a@example.org\nSubject: x\nContent-Type: text/plain; charset=utf-8\n\n"
			"They came to my house again.\n\n%s\nTel: +961 3 123 456\n",
			lines[i].line);
		g_autoptr(canary_identity) id = extract(msg);
		ck_assert_msg(id->phones->len == (lines[i].marker ? 0u : 1u), "\"%s\": %u phones",
			      lines[i].line, id->phones->len);
	}
}
END_TEST

START_TEST(test_forward_rfc822)
{
	g_autofree char *text = NULL;
	g_autoptr(canary_identity) id = file_identity("identity-forward-rfc822.eml", &text);
	ck_assert_uint_eq(id->addresses->len, 1);
	ck_assert_uint_eq(id->phones->len, 0);
	ck_assert_uint_eq(id->emails->len, 0);
	assert_in(text, "Mobile: +20 10 1234 5678");
	assert_in(text, "leila.private@mail.example.net");
	assert_in(text, "Leila Nasser");
	assert_not_in(text, "Amina");
}
END_TEST

START_TEST(test_bounce)
{
	g_autofree char *text = NULL;
	g_autoptr(canary_identity) id = file_identity("identity-bounce.eml", &text);
	ck_assert_uint_eq(id->addresses->len, 1);
	ck_assert_str_eq(address_at(id, 0)->address, "MAILER-DAEMON@mx.example.org");
	ck_assert_uint_eq(id->phones->len, 0);
	ck_assert_uint_eq(id->emails->len, 0);
	assert_in(text, "<omar.farouk@example.net>: host mail.example.net[192.0.2.25]");
	assert_in(text, "Phone +1 555 010 0199");
	assert_in(text, "postmaster@mx.example.org");
}
END_TEST

START_TEST(test_list_mail)
{
	g_autofree char *text = NULL;
	g_autoptr(canary_identity) id = file_identity("identity-list.eml", &text);
	ck_assert_uint_eq(id->addresses->len, 1);
	ck_assert_str_eq(address_at(id, 0)->address, "amina.diallo@example.org");
	ck_assert_str_eq(id->primary, "amina.diallo@example.org");
	ck_assert_uint_eq(id->emails->len, 0);
	assert_in(text, PSEUDONYM " will post the names.");
	assert_in(text, "Rights Watch mailing list\nrights-watch@lists.example.org\n"
			"https://lists.example.org/mailman/listinfo/rights-watch");
}
END_TEST

START_TEST(test_phones_not_amounts)
{
	g_autofree char *text = NULL;
	g_autoptr(canary_identity) id = file_identity("identity-phones-amounts.eml", &text);
	static const char *const phones[] = {
		"06 12 34 56 78", "612345678",  "8 (495) 123-45-67",
		"13812345678",    "0501234567", "0033612345679",
	};
	ck_assert_uint_eq(id->phones->len, G_N_ELEMENTS(phones));
	for (gsize i = 0; i < G_N_ELEMENTS(phones); i++)
		ck_assert_str_eq(id->phones->pdata[i], phones[i]);
	assert_in(text, "The fine was 103349.35 (USD), paid on 24.11.2026.\n"
			"He left in 1997 (2000 miles from home) and came back 2026-11-24.\n"
			"Case 2026-000123, account 12 345 678.\n"
			"Tél. : " PSEUDONYM "\nTeléfono: " PSEUDONYM "\n");
}
END_TEST

START_TEST(test_urls_stay_whole)
{
	g_autofree char *text = NULL;
	g_autoptr(canary_identity) id = file_identity("identity-urls.eml", &text);
	assert_in(text,
		  PSEUDONYM " here. The photos are at http://amina.example.org/diallo/photos\n"
			    "and a copy on www.diallo.example.net, host amina.example.net.\n"
			    "Write to diallo@example.net or to " PSEUDONYM ".\n"
			    "Thanks, " PSEUDONYM ".");
}
END_TEST

/* The crafted message of issue 13, smaller: one-letter words, and thousands
 * of addresses with one-letter names in From, Sender and Reply-To. */
static char *crafted_message(guint addresses, gsize body_bytes)
{
	GString *m = g_string_new(NULL);
	const char *headers[] = {"From", "Sender", "Reply-To"};
	for (gsize h = 0; h < G_N_ELEMENTS(headers); h++) {
		g_string_append_printf(m, "%s: ", headers[h]);
		for (guint i = 0; i < addresses; i++)
			g_string_append_printf(m, "%s%c <%c%u@example.org>", i > 0 ? ",\n " : "",
					       'a' + i % 26, headers[h][0], i);
		g_string_append_c(m, '\n');
	}
	g_string_append(m, "Subject: crafted\nContent-Type: text/plain; charset=us-ascii\n\n");
	for (gsize i = 0; m->len < body_bytes; i++)
		g_string_append_printf(m, "%c%c", 'a' + (int)(i % 26), i % 36 == 35 ? '\n' : ' ');
	return g_string_free(m, FALSE);
}

START_TEST(test_crafted_capped)
{
	g_autofree char *msg = crafted_message(2600, 300 * 1000);
	g_autoptr(canary_mail) mail = parse(msg);
	gint64 start = g_get_monotonic_time();
	g_autoptr(canary_identity) id = canary_identity_extract(mail);
	g_autofree char *out = canary_identity_scrub(id, mail->text, PSEUDONYM);
	gint64 took = g_get_monotonic_time() - start;
	ck_assert_uint_eq(id->addresses->len, CANARY_IDENTITY_MAX_ADDRESSES);
	ck_assert_uint_eq(id->omitted, 3 * 2600 - CANARY_IDENTITY_MAX_ADDRESSES);
	ck_assert_str_eq(id->primary, "f0@example.org");
	/* Every one-letter word is a name of someone in From: all are scrubbed. */
	ck_assert(g_str_has_prefix(out, PSEUDONYM " " PSEUDONYM " "));
	/* Seconds, not minutes (quadratic took minutes for this); generous for ASan. */
	ck_assert_int_lt(took, 60 * G_USEC_PER_SEC);

	/* A display name of thousands of words is looked for by its words only. */
	GString *long_name = g_string_new("From: \"");
	for (int i = 0; i < 3000; i++)
		g_string_append(long_name, "ab ");
	g_string_append(long_name, "cd\" <x@example.org>\nSubject: x\n\n");
	for (int i = 0; i < 50000; i++)
		g_string_append(long_name, "ab ");
	g_string_append(long_name, "cd ab\n");
	g_autoptr(canary_mail) long_mail = parse(long_name->str);
	g_string_free(long_name, TRUE);
	g_autoptr(canary_identity) long_id = canary_identity_extract(long_mail);
	g_autofree char *long_out = canary_identity_scrub(long_id, long_mail->text, "P");
	ck_assert(g_str_has_prefix(long_out, "P P P "));
	ck_assert(g_str_has_suffix(long_out, "P P"));
	took = g_get_monotonic_time() - start;
	ck_assert_int_lt(took, 60 * G_USEC_PER_SEC);

	/* The count survives the sealed record. */
	g_autoptr(GBytes) record = canary_identity_serialize(id);
	g_autoptr(canary_identity) back = canary_identity_deserialize(record, NULL);
	ck_assert_ptr_nonnull(back);
	ck_assert_uint_eq(back->omitted, id->omitted);
}
END_TEST

/* ---- the sealed record ---- */

static struct canary_identity *full_identity(void)
{
	struct canary_identity *id = extract(
		"Received: from host ([203.0.113.7]) by mx; Tue, 3 Mar 2026 07:15:00 +0000\n"
		"Received: from laptop ([2001:db8::1]) by host; Tue, 3 Mar 2026 07:14:00 +0000\n"
		"From: =?UTF-8?B?2KPZhdmK2YbYqSDYr9mK2KfZhNmI?= <Amina.Diallo@example.org>\n"
		"Reply-To: <other@example.org>\n"
		"Subject: x\nContent-Type: text/plain; charset=utf-8\n\n"
		"Call +221 77 123 45 67 or +33 1 23 45 67 89.\n-- \nprivate: "
		"amina.d@mail.example\n");
	ck_assert_uint_eq(id->addresses->len, 2);
	ck_assert_uint_eq(id->ips->len, 2);
	ck_assert_uint_eq(id->phones->len, 2);
	ck_assert_uint_eq(id->emails->len, 1);
	ck_assert_ptr_nonnull(id->primary);
	return id;
}

static void assert_same_list(const GPtrArray *a, const GPtrArray *b)
{
	ck_assert_uint_eq(a->len, b->len);
	for (guint i = 0; i < a->len; i++)
		ck_assert_str_eq(a->pdata[i], b->pdata[i]);
}

START_TEST(test_round_trip)
{
	g_autoptr(canary_identity) id = full_identity();
	g_autoptr(GBytes) record = canary_identity_serialize(id);
	g_autoptr(GError) error = NULL;
	g_autoptr(canary_identity) back = canary_identity_deserialize(record, &error);
	ck_assert_msg(back != NULL, "%s", error ? error->message : "?");
	ck_assert_uint_eq(back->addresses->len, id->addresses->len);
	for (guint i = 0; i < id->addresses->len; i++) {
		ck_assert_pstr_eq(address_at(back, i)->name, address_at(id, i)->name);
		ck_assert_pstr_eq(address_at(back, i)->address, address_at(id, i)->address);
	}
	ck_assert_ptr_null(address_at(back, 1)->name);
	assert_same_list(back->ips, id->ips);
	assert_same_list(back->phones, id->phones);
	assert_same_list(back->emails, id->emails);
	ck_assert_str_eq(back->primary, id->primary);

	/* The same identity always gives the same bytes. */
	g_autoptr(GBytes) again = canary_identity_serialize(back);
	ck_assert(g_bytes_equal(record, again));
}
END_TEST

static void assert_damaged(GBytes *bytes)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(canary_identity) id = canary_identity_deserialize(bytes, &error);
	ck_assert_ptr_null(id);
	ck_assert_ptr_nonnull(error);
	ck_assert(g_error_matches(error, CANARY_IDENTITY_ERROR, CANARY_IDENTITY_ERROR_FORMAT));
	ck_assert_ptr_null(strstr(error->message, "amina"));
}

START_TEST(test_damaged)
{
	g_autoptr(canary_identity) id = full_identity();
	g_autoptr(GBytes) record = canary_identity_serialize(id);
	gsize size = 0;
	const guint8 *data = g_bytes_get_data(record, &size);

	/* Every truncation. */
	for (gsize n = 0; n < size; n++) {
		g_autoptr(GBytes) cut = g_bytes_new(data, n);
		assert_damaged(cut);
	}
	/* Garbage. */
	static const char garbage[] = "not an identity record at all, just some text";
	g_autoptr(GBytes) junk = g_bytes_new(garbage, sizeof garbage - 1);
	assert_damaged(junk);
	g_autoptr(GBytes) empty = g_bytes_new(NULL, 0);
	assert_damaged(empty);
	assert_damaged(NULL);

	/* Another version: well formed, but not ours. */
	g_autoptr(GVariant) v2 = g_variant_ref_sink(g_variant_new_parsed(
		"(byte 3, [('Amina', 'amina@example.org')], @as [], @as [], @as [], @ms nothing, "
		"@u 0)"));
	g_autoptr(GBytes) v2_bytes = g_variant_get_data_as_bytes(v2);
	assert_damaged(v2_bytes);

	/* Every flipped byte gives either an identity or a clean error. */
	guint8 *copy = g_memdup2(data, size);
	for (gsize i = 0; i < size; i++) {
		for (guint bit = 0; bit < 8; bit++) {
			copy[i] ^= (guint8)(1u << bit);
			g_autoptr(GBytes) flipped = g_bytes_new(copy, size);
			g_autoptr(GError) error = NULL;
			g_autoptr(canary_identity) back =
				canary_identity_deserialize(flipped, &error);
			ck_assert((back == NULL) != (error == NULL));
			if (error != NULL)
				ck_assert_int_eq(error->code, CANARY_IDENTITY_ERROR_FORMAT);
			copy[i] ^= (guint8)(1u << bit);
		}
	}
	g_free(copy);
}
END_TEST

/* A version 1 record, as sealed before the count of omitted addresses: still read. */
START_TEST(test_version_1)
{
	g_autoptr(GVariant) v1 = g_variant_ref_sink(g_variant_new_parsed(
		"(byte 1, [('Amina Diallo', 'amina@example.org'), ('', 'other@example.org')], "
		"['192.0.2.1'], ['+221 77 123 45 67'], ['amina.d@mail.example'], "
		"@ms 'amina@example.org')"));
	g_autoptr(GBytes) bytes = g_variant_get_data_as_bytes(v1);
	g_autoptr(GError) error = NULL;
	g_autoptr(canary_identity) id = canary_identity_deserialize(bytes, &error);
	ck_assert_msg(id != NULL, "%s", error ? error->message : "?");
	ck_assert_uint_eq(id->addresses->len, 2);
	ck_assert_str_eq(address_at(id, 0)->name, "Amina Diallo");
	ck_assert_ptr_null(address_at(id, 1)->name);
	ck_assert_str_eq(id->ips->pdata[0], "192.0.2.1");
	ck_assert_str_eq(id->phones->pdata[0], "+221 77 123 45 67");
	ck_assert_str_eq(id->emails->pdata[0], "amina.d@mail.example");
	ck_assert_str_eq(id->primary, "amina@example.org");
	ck_assert_uint_eq(id->omitted, 0);
	/* A version 1 record with a version 2 tail is damaged, not half read. */
	g_autoptr(GVariant) mixed = g_variant_ref_sink(g_variant_new_parsed(
		"(byte 1, @a(ss) [], @as [], @as [], @as [], @ms nothing, @u 5)"));
	g_autoptr(GBytes) mixed_bytes = g_variant_get_data_as_bytes(mixed);
	g_autoptr(GError) mixed_error = NULL;
	g_autoptr(canary_identity) none = canary_identity_deserialize(mixed_bytes, &mixed_error);
	ck_assert_ptr_null(none);
}
END_TEST

static Suite *identity_suite(void)
{
	Suite *s = suite_create("identity");
	TCase *extraction = tcase_create("extraction");
	tcase_add_unchecked_fixture(extraction, setup, NULL);
	tcase_add_test(extraction, test_addresses);
	tcase_add_loop_test(extraction, test_primary, 0, G_N_ELEMENTS(primary_cases));
	tcase_add_test(extraction, test_ips);
	tcase_add_loop_test(extraction, test_phones, 0, G_N_ELEMENTS(phone_cases));
	tcase_add_test(extraction, test_phones_deduplicated);
	tcase_add_test(extraction, test_signature_emails);
	tcase_add_test(extraction, test_signature_last_lines);
	tcase_add_test(extraction, test_no_from);
	tcase_add_test(extraction, test_quarantined);
	tcase_add_test(extraction, test_forward_inline);
	tcase_add_test(extraction, test_forward_rfc822);
	tcase_add_test(extraction, test_forward_markers);
	tcase_add_test(extraction, test_bounce);
	tcase_add_test(extraction, test_list_mail);
	tcase_add_test(extraction, test_phones_not_amounts);
	suite_add_tcase(s, extraction);

	TCase *scrubbing = tcase_create("scrubbing");
	tcase_add_unchecked_fixture(scrubbing, setup, NULL);
	tcase_add_loop_test(scrubbing, test_scrub, 0, G_N_ELEMENTS(scrub_cases));
	tcase_add_test(scrubbing, test_scrub_phones_and_emails);
	tcase_add_test(scrubbing, test_scrub_edge_cases);
	tcase_add_test(scrubbing, test_urls_stay_whole);
	tcase_add_test(scrubbing, test_crafted_capped);
	suite_add_tcase(s, scrubbing);

	TCase *record = tcase_create("record");
	tcase_add_unchecked_fixture(record, setup, NULL);
	tcase_add_test(record, test_round_trip);
	tcase_add_test(record, test_damaged);
	tcase_add_test(record, test_version_1);
	suite_add_tcase(s, record);
	return s;
}

int main(void)
{
	return tu_run_suite(identity_suite());
}
