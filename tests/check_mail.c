/* check_mail.c: raw messages -> struct canary_mail on the corpus in
 * tests/data/mail (every charset, encoded words, HTML, attachments, forwards,
 * PGP/MIME and S/MIME, damage) and on large messages built here (limits). */
#include <sodium.h>
#include <string.h>

#include "base64.h"
#include "identity.h"
#include "mail.h"
#include "tnef.h"
#include "testutil.h"

/* Parses tests/data/mail/NAME with LIMITS (NULL: defaults). */
static struct canary_mail *parse_file(const char *name, const struct canary_limits *limits)
{
	g_autofree char *relative = g_build_filename("mail", name, NULL);
	g_autoptr(GBytes) raw = tu_data_bytes(relative);
	struct canary_limits defaults;
	canary_limits_init_default(&defaults);
	struct canary_mail *mail = canary_mail_parse(raw, limits != NULL ? limits : &defaults);
	ck_assert_ptr_nonnull(mail);
	return mail;
}

/* Parses the string S (LEN bytes) with LIMITS (NULL: defaults). */
static struct canary_mail *parse_string(const char *s, gsize len,
					const struct canary_limits *limits)
{
	g_autoptr(GBytes) raw = g_bytes_new(s, len);
	struct canary_limits defaults;
	canary_limits_init_default(&defaults);
	struct canary_mail *mail = canary_mail_parse(raw, limits != NULL ? limits : &defaults);
	ck_assert_ptr_nonnull(mail);
	return mail;
}

/* Checks what every parse must give, whatever the input. */
static void assert_sane(const struct canary_mail *mail)
{
	ck_assert_ptr_nonnull(mail->raw);
	ck_assert_ptr_nonnull(mail->text);
	ck_assert(g_utf8_validate(mail->text, -1, NULL));
	ck_assert(mail->subject == NULL || g_utf8_validate(mail->subject, -1, NULL));
	ck_assert(mail->message_id == NULL || g_utf8_validate(mail->message_id, -1, NULL));
	GPtrArray *lists[] = { mail->from, mail->sender, mail->reply_to,
			       mail->to,   mail->cc,     mail->delivered_to };
	for (gsize i = 0; i < G_N_ELEMENTS(lists); i++) {
		ck_assert_ptr_nonnull(lists[i]);
		for (guint j = 0; j < lists[i]->len; j++) {
			const struct canary_address *a = lists[i]->pdata[j];
			ck_assert(a->name == NULL || g_utf8_validate(a->name, -1, NULL));
			ck_assert(a->address == NULL || g_utf8_validate(a->address, -1, NULL));
		}
	}
	for (guint i = 0; i < mail->received->len; i++)
		ck_assert(g_utf8_validate(mail->received->pdata[i], -1, NULL));
	for (guint i = 0; i < mail->attachments->len; i++) {
		struct canary_attachment *a = mail->attachments->pdata[i];
		ck_assert(a->filename == NULL || g_utf8_validate(a->filename, -1, NULL));
		ck_assert_ptr_nonnull(a->content_type);
		/* Decoded only now, if it stands in the raw message: the size
		 * the parse counted is what it decodes to. */
		ck_assert(a->encoded != NULL || a->data != NULL);
		ck_assert_ptr_nonnull(canary_attachment_data(a));
		ck_assert_uint_eq(a->size, g_bytes_get_size(canary_attachment_data(a)));
		if (a->encoded == NULL)
			continue;
		/* A span of the raw message itself, which decodes to the data. */
		gsize raw_len = 0, len = 0;
		const guint8 *raw = g_bytes_get_data(mail->raw, &raw_len);
		const guint8 *span = g_bytes_get_data(a->encoded, &len);
		ck_assert_ptr_eq(span, raw + a->encoded_offset);
		ck_assert_uint_le(a->encoded_offset + len, raw_len);
		g_autoptr(GBytes) decoded = canary_mail_decode(a->encoding, span, len);
		ck_assert(g_bytes_equal(decoded, canary_attachment_data(a)));
	}
	if (mail->quarantine == CANARY_QUARANTINE_NONE) {
		ck_assert_ptr_null(mail->quarantine_detail);
	} else {
		ck_assert_ptr_nonnull(mail->quarantine_detail);
		ck_assert_str_eq(mail->text, "");
		ck_assert_uint_eq(mail->attachments->len, 0);
	}
}

static const struct canary_address *address_at(GPtrArray *list, guint i)
{
	ck_assert_uint_gt(list->len, i);
	return list->pdata[i];
}

static struct canary_attachment *attachment_at(const struct canary_mail *mail, guint i)
{
	ck_assert_uint_gt(mail->attachments->len, i);
	return mail->attachments->pdata[i];
}

#define REPLACEMENT "\xEF\xBF\xBD"

#define ck_assert_contains(haystack, needle)                                               \
	ck_assert_msg(strstr((haystack), (needle)) != NULL, "\"%s\" not in \"%s\"", (needle), \
		      (const char *)(haystack))
#define ck_assert_lacks(haystack, needle)                                                  \
	ck_assert_msg(strstr((haystack), (needle)) == NULL, "\"%s\" in \"%s\"", (needle),     \
		      (const char *)(haystack))

/* ---- the charset corpus: 12 charsets x 8bit, quoted-printable, base64 ---- */

struct charset_case {
	const char *slug;
	const char *name;
	const char *address;
	const char *subject;
	const char *phrase;
};

static const struct charset_case charset_cases[] = {
	{ "iso8859-1", "Renée Dupré", "renee.dupre@example.org", "Représailles après Genève",
	  "Notre défenseur a été arrêté après la réunion à Genève." },
	{ "iso8859-2", "Łucja Wróbel", "lucja.wrobel@example.org",
	  "Zatrzymanie obrońcy praw człowieka",
	  "Obrońca praw człowieka został zatrzymany po spotkaniu w Genewie." },
	{ "iso8859-5", "Ирина Соколова", "irina.sokolova@example.org", "Задержание после встречи",
	  "Правозащитник был задержан после встречи в Женеве." },
	{ "iso8859-15", "Chloé Œuvray", "chloe.oeuvray@example.org",
	  "Amende de 500 € contre l'association",
	  "On lui a infligé une amende de 500 € et confisqué son œuvre." },
	{ "windows-1250", "Věra Dvořáková", "vera.dvorakova@example.org",
	  "Zadržení obhájkyně „po Ženevě“",
	  "Obhájkyně lidských práv byla zadržena po návratu ze Ženevy." },
	{ "windows-1251", "Олена Ковальчук", "olena.kovalchuk@example.org",
	  "Допит після повернення з Женеви", "Після повернення з Женеви її допитували в поліції." },
	{ "windows-1252", "Jürgen Weiß", "juergen.weiss@example.org",
	  "Verhör nach der Rückkehr – dringend",
	  "Sie wurde nach ihrer Rückkehr aus Genf verhört – „Sie wissen, was passiert“." },
	{ "windows-1256", "ليلى حداد", "layla.haddad@example.org", "اعتقال بعد العودة من جنيف",
	  "تم اعتقال المدافعة عن حقوق الإنسان بعد عودتها من جنيف." },
	{ "koi8r", "Пётр Смирнов", "petr.smirnov@example.org", "Избиение за сотрудничество с ООН",
	  "Его избили за сотрудничество с Организацией Объединённых Наций." },
	{ "gb18030", "王秀英", "wang.xiuying@example.org", "日内瓦会议后被传唤",
	  "她在日内瓦会议后被警方传唤。" },
	{ "shift-jis", "佐藤花子", "hanako.sato@example.org", "ジュネーブ会合後の呼び出し",
	  "ジュネーブでの会合の後、彼女は警察に呼び出されました。" },
	{ "utf8", "Amara Diallo", "amara.diallo@example.org", "Représailles — Амара — أمارا — 人权",
	  "Défenseure des droits — Амара — أمارا — 人权捍卫者 — was threatened." },
};

static const char *const transfer_encodings[] = { "8bit", "qp", "base64" };

START_TEST(test_charset)
{
	const struct charset_case *c = &charset_cases[_i / 3];
	g_autofree char *name =
		g_strdup_printf("charset-%s-%s.eml", c->slug, transfer_encodings[_i % 3]);
	g_autoptr(canary_mail) mail = parse_file(name, NULL);
	assert_sane(mail);
	ck_assert_int_eq(mail->quarantine, CANARY_QUARANTINE_NONE);
	ck_assert_uint_eq(mail->warnings, 0);
	ck_assert_uint_eq(mail->from->len, 1);
	ck_assert_str_eq(address_at(mail->from, 0)->name, c->name);
	ck_assert_str_eq(address_at(mail->from, 0)->address, c->address);
	ck_assert_str_eq(address_at(mail->to, 0)->address, "reprisals@example.org");
	ck_assert_str_eq(mail->subject, c->subject);
	ck_assert_contains(mail->text, c->phrase);
	ck_assert_lacks(mail->text, "\r");
	ck_assert_uint_eq(mail->attachments->len, 0);
	ck_assert_uint_eq(mail->parts, 1);
	ck_assert_uint_eq(mail->depth, 0);
	/* Date: Tue, 4 Jun 2024 11:MM:00 +0200; Received ... 09:MM:00 +0000. */
	gint64 minute = (gint64)(_i / 3) * 60;
	ck_assert_int_eq(mail->date, 1717491600 + minute);
	ck_assert_int_eq(mail->received_date, 1717491600 + minute);
	ck_assert_uint_eq(mail->received->len, 1);
	g_autofree char *id = g_strdup_printf(
		"%s.%s@example.org", c->slug,
		_i % 3 == 0 ? "8bit" : _i % 3 == 1 ? "quoted-printable" : "base64");
	ck_assert_str_eq(mail->message_id, id);
}
END_TEST

/* ---- headers ---- */

START_TEST(test_encoded_words)
{
	g_autoptr(canary_mail) mail = parse_file("encoded-words-from-subject.eml", NULL);
	assert_sane(mail);
	ck_assert_str_eq(mail->subject, "Café fermé, Редакция закрыта, 编辑部被关闭 — ¿por qué?");
	ck_assert_str_eq(address_at(mail->from, 0)->name, "José Ñúñez");
	ck_assert_str_eq(address_at(mail->from, 0)->address, "jose.nunez@example.org");
	ck_assert_uint_eq(mail->to->len, 2);
	ck_assert_str_eq(address_at(mail->to, 1)->name, "Ольга");
	/* The group "Witnesses:" is flattened into its members. */
	ck_assert_uint_eq(mail->cc->len, 3);
	ck_assert_str_eq(address_at(mail->cc, 0)->name, "Søren");
	ck_assert_ptr_null(address_at(mail->cc, 1)->name);
	ck_assert_str_eq(address_at(mail->cc, 1)->address, "kofi.mensah@example.com");
	ck_assert_str_eq(address_at(mail->cc, 2)->name, "Mensah, Ama");
	ck_assert_str_eq(mail->message_id, "encoded-words.1@example.org");
	ck_assert_int_eq(mail->date, 1717586100);
	ck_assert_int_eq(mail->received_date, 0);
}
END_TEST

START_TEST(test_delivered_to)
{
	g_autoptr(canary_mail) mail = parse_file("delivered-to-plus-addressing.eml", NULL);
	assert_sane(mail);
	ck_assert_uint_eq(mail->delivered_to->len, 2);
	ck_assert_str_eq(address_at(mail->delivered_to, 0)->address,
			 "reprisals+urgent@example.org");
	ck_assert_str_eq(address_at(mail->delivered_to, 1)->address, "intake@example.org");
	ck_assert_str_eq(address_at(mail->to, 0)->address, "reprisals+urgent@example.org");
	ck_assert_str_eq(address_at(mail->sender, 0)->name, "Lawyers Collective");
	ck_assert_str_eq(address_at(mail->sender, 0)->address, "list@lawyers.example.net");
	ck_assert_str_eq(address_at(mail->reply_to, 0)->address, "f.karimi+safe@example.net");
	ck_assert_str_eq(address_at(mail->from, 0)->name, "Farid Karimi");
	ck_assert_uint_eq(mail->cc->len, 0); /* "undisclosed-recipients:;" */
	ck_assert_uint_eq(mail->received->len, 2);
	ck_assert_contains(mail->received->pdata[0], "by imap.example.org (Dovecot)");
	ck_assert_contains(mail->received->pdata[1], "by mail.example.org (Postfix)");
	ck_assert_int_eq(mail->received_date, 1718287327); /* 14:02:07 +0000, the top one */
	ck_assert_int_eq(mail->date, 1718287260);
	ck_assert_str_eq(mail->message_id, "travel-ban.42@example.net");
	ck_assert_str_eq(mail->text,
			 "My passport was confiscated at the airport on my way to Geneva.");
}
END_TEST

/* ---- text ---- */

START_TEST(test_html)
{
	static const char *const files[] = { "html-only-windows1251.eml",
					     "html-meta-charset-no-param.eml" };
	g_autoptr(canary_mail) mail = parse_file(files[_i], NULL);
	assert_sane(mail);
	ck_assert_int_eq(mail->quarantine, CANARY_QUARANTINE_NONE);
	ck_assert_uint_eq(mail->attachments->len, 0);
	ck_assert_contains(mail->text, "Сообщение о репрессиях\n\nУважаемые коллеги,\nпосле "
				       "нашего выступления в Женеве адвоката задержали «для "
				       "беседы» & угрожали семье.\n\n");
	ck_assert_contains(mail->text, "Вы пожалеете об этом — сказал офицер.");
	ck_assert_contains(mail->text, "- Дата: 2 июня\n- Место: Алматы");
	ck_assert_contains(mail->text, "Свидетель Айгерим");
	ck_assert_contains(mail->text, "  строка   с   пробелами");
	ck_assert_lacks(mail->text, "should-not-appear");
	ck_assert_lacks(mail->text, "Секретно");
	ck_assert_lacks(mail->text, "color");
	ck_assert_lacks(mail->text, "<");
	ck_assert_lacks(mail->text, "&amp;");
	ck_assert_lacks(mail->text, "&nbsp;");
	ck_assert_lacks(mail->text, "\n\n\n");
	ck_assert(g_str_has_prefix(mail->text, "Сообщение"));
}
END_TEST

START_TEST(test_alternative)
{
	g_autoptr(canary_mail) mail = parse_file("multipart-alternative.eml", NULL);
	assert_sane(mail);
	ck_assert_str_eq(mail->text,
			 "Plain version: the hearing was postponed after the intimidation.");
	/* The inline image of the HTML alternative is still kept. */
	ck_assert_uint_eq(mail->attachments->len, 1);
	ck_assert_str_eq(attachment_at(mail, 0)->content_type, "image/png");
	ck_assert_uint_eq(g_bytes_get_size(canary_attachment_data(attachment_at(mail, 0))), 320);
	ck_assert_uint_eq(mail->parts, 5);
	ck_assert_uint_eq(mail->depth, 2);

	g_autoptr(canary_mail) html = parse_file("multipart-alternative-html-preferred-when-alone.eml",
						 NULL);
	assert_sane(html);
	ck_assert_str_eq(html->text, "Meeting with the rapporteur moved to Thursday.");
	ck_assert_uint_eq(html->attachments->len, 1);
	ck_assert_str_eq(attachment_at(html, 0)->content_type, "text/calendar");
}
END_TEST

START_TEST(test_charset_fallbacks)
{
	g_autoptr(canary_mail) unknown = parse_file("charset-unknown.eml", NULL);
	assert_sane(unknown);
	/* charset=x-unknown-42: valid UTF-8 is read as such, the rest as windows-1252. */
	ck_assert_str_eq(unknown->text, "Первый отчёт: их допросили в Душанбе.\n\n"
					"Deuxième rapport : arrêtés à Niamey.");

	g_autoptr(canary_mail) wrong = parse_file("charset-wrong-usascii.eml", NULL);
	assert_sane(wrong);
	ck_assert_str_eq(wrong->text, "Ärztin Zoë Ngũgĩ wurde in Nairobi bedroht — 威胁.");
}
END_TEST

START_TEST(test_nul_bytes)
{
	g_autoptr(canary_mail) mail = parse_file("nul-bytes.eml", NULL);
	assert_sane(mail);
	ck_assert_int_eq(mail->quarantine, CANARY_QUARANTINE_NONE);
	/* GMime ends a header value at a NUL; the headers after it still count. */
	ck_assert_str_eq(mail->subject, "Before");
	ck_assert_str_eq(address_at(mail->from, 0)->name, "Nadia Rahman");
	ck_assert_int_eq(mail->date, 1718062200);
	ck_assert_str_eq(mail->text, "The first line\xEF\xBF\xBD has a NUL.\n"
				     "Text after the NUL is still read.");
}
END_TEST

START_TEST(test_missing_closing_boundary)
{
	g_autoptr(canary_mail) mail = parse_file("missing-closing-boundary.eml", NULL);
	assert_sane(mail);
	ck_assert_int_eq(mail->quarantine, CANARY_QUARANTINE_NONE);
	ck_assert_uint_ge(mail->warnings, 1);
	ck_assert_str_eq(mail->text, "My brother was taken from his office on Monday morning.");
	ck_assert_uint_eq(mail->attachments->len, 1);
	ck_assert_str_eq(attachment_at(mail, 0)->filename, "list.bin");
	ck_assert_uint_eq(g_bytes_get_size(canary_attachment_data(attachment_at(mail, 0))), 10);
}
END_TEST

/* ---- attachments ---- */

START_TEST(test_attachment_names)
{
	g_autoptr(canary_mail) mail = parse_file("attachments-nonascii-names.eml", NULL);
	assert_sane(mail);
	ck_assert_str_eq(mail->text,
			 "Please find the protocol, the photographs and my statement attached.");
	ck_assert_uint_eq(mail->attachments->len, 4);
	static const struct {
		const char *filename, *type;
		gsize size;
		const char *magic;
	} want[] = {
		{ "Протокол № 7.pdf", "application/pdf", 1024, "%PDF-1.4\n" },
		{ "Фотографии задержания в Бишкеке, июнь 2024.jpg", "image/jpeg", 704,
		  "\xff\xd8\xff\xe0" },
		{ "Déclaration d'Amara.docx",
		  "application/vnd.openxmlformats-officedocument.wordprocessingml.document", 504,
		  "PK\x03\x04" },
		{ "note.txt", "text/plain", 50, "Names of the witnesses" },
	};
	for (gsize i = 0; i < G_N_ELEMENTS(want); i++) {
		struct canary_attachment *a = attachment_at(mail, i);
		ck_assert_str_eq(a->filename, want[i].filename);
		ck_assert_str_eq(a->content_type, want[i].type);
		gsize size = 0;
		const char *data = g_bytes_get_data(canary_attachment_data(a), &size);
		ck_assert_uint_eq(size, want[i].size);
		ck_assert_mem_eq(data, want[i].magic, strlen(want[i].magic));
		ck_assert_uint_eq(a->depth, 0);
	}
}
END_TEST

START_TEST(test_forwarded)
{
	g_autoptr(canary_mail) mail = parse_file("forwarded-rfc822-with-attachment.eml", NULL);
	assert_sane(mail);
	ck_assert_str_eq(mail->text, "I forward the message Kwame received last night.\n\n"
				     "---------- Forwarded message ----------\n"
				     "From: Kwame Mensah <kwame.mensah@example.com>\n"
				     "Date: Sun, 2 Jun 2024 21:30:00 +0000\n"
				     "To: Amara Diallo <amara.diallo@example.org>\n"
				     "Subject: Menaces reçues\n\n"
				     "Ils m'ont suivi jusqu'à la maison après l'audience.");
	ck_assert_uint_eq(mail->attachments->len, 2);
	struct canary_attachment *eml = attachment_at(mail, 0);
	ck_assert_str_eq(eml->filename, "Menaces.eml");
	ck_assert_str_eq(eml->content_type, "message/rfc822");
	ck_assert_uint_eq(eml->depth, 0);
	gsize size = 0;
	const char *data = g_bytes_get_data(canary_attachment_data(eml), &size);
	g_autofree char *copy = g_strndup(data, size);
	ck_assert(g_str_has_prefix(copy, "From: "));
	ck_assert_contains(copy, "Message-ID: <inner.1@example.com>");
	ck_assert_contains(copy, "filename=\"car.jpg\"");
	struct canary_attachment *photo = attachment_at(mail, 1);
	ck_assert_str_eq(photo->filename, "car.jpg");
	ck_assert_str_eq(photo->content_type, "image/jpeg");
	ck_assert_uint_eq(g_bytes_get_size(canary_attachment_data(photo)), 404);
	ck_assert_uint_eq(photo->depth, 1);
	/* The forwarded message parsed on its own gives the same attachment. */
	g_autoptr(canary_mail) inner = parse_string(data, size, NULL);
	assert_sane(inner);
	ck_assert_str_eq(inner->subject, "Menaces reçues");
	ck_assert_uint_eq(inner->attachments->len, 1);
	ck_assert(g_bytes_equal(canary_attachment_data(attachment_at(inner, 0)), canary_attachment_data(photo)));
}
END_TEST

START_TEST(test_crypto_parts)
{
	g_autoptr(canary_mail) sig = parse_file("pgp-mime-signed.eml", NULL);
	assert_sane(sig);
	ck_assert_str_eq(sig->text, "I confirm every word of my earlier statement.");
	ck_assert_uint_eq(sig->attachments->len, 1);
	ck_assert_str_eq(attachment_at(sig, 0)->content_type, "application/pgp-signature");
	ck_assert_str_eq(attachment_at(sig, 0)->filename, "signature.asc");
	ck_assert_uint_eq(g_bytes_get_size(canary_attachment_data(attachment_at(sig, 0))), 126);

	g_autoptr(canary_mail) enc = parse_file("pgp-mime-encrypted.eml", NULL);
	assert_sane(enc);
	ck_assert_str_eq(enc->text, "");
	ck_assert_uint_eq(enc->attachments->len, 2);
	ck_assert_str_eq(attachment_at(enc, 0)->content_type, "application/pgp-encrypted");
	ck_assert_ptr_null(attachment_at(enc, 0)->filename);
	ck_assert_str_eq(attachment_at(enc, 1)->content_type, "application/octet-stream");
	ck_assert_str_eq(attachment_at(enc, 1)->filename, "encrypted.asc");
	gsize size = 0;
	const char *armor = g_bytes_get_data(canary_attachment_data(attachment_at(enc, 1)), &size);
	ck_assert_uint_eq(size, 185);
	ck_assert_mem_eq(armor, "-----BEGIN PGP MESSAGE-----\n", 28);

	g_autoptr(canary_mail) p7m = parse_file("smime-encrypted.eml", NULL);
	assert_sane(p7m);
	ck_assert_str_eq(p7m->text, "");
	ck_assert_uint_eq(p7m->attachments->len, 1);
	ck_assert_str_eq(attachment_at(p7m, 0)->content_type, "application/pkcs7-mime");
	ck_assert_str_eq(attachment_at(p7m, 0)->filename, "smime.p7m");
	ck_assert_uint_eq(g_bytes_get_size(canary_attachment_data(attachment_at(p7m, 0))), 256);

	g_autoptr(canary_mail) p7s = parse_file("smime-signed.eml", NULL);
	assert_sane(p7s);
	ck_assert_str_eq(p7s->text, "The S/MIME signed part: they searched our office twice.");
	ck_assert_uint_eq(p7s->attachments->len, 1);
	ck_assert_str_eq(attachment_at(p7s, 0)->content_type, "application/pkcs7-signature");
	ck_assert_uint_eq(g_bytes_get_size(canary_attachment_data(attachment_at(p7s, 0))), 192);
}
END_TEST

/* ---- unparseable input ---- */

START_TEST(test_unparseable)
{
	static const char *const files[] = { "no-headers-bare-body.eml", "random-bytes.eml" };
	g_autoptr(canary_mail) mail = parse_file(files[_i], NULL);
	assert_sane(mail);
	ck_assert_int_eq(mail->quarantine, CANARY_QUARANTINE_UNPARSEABLE);
	ck_assert_str_eq(mail->quarantine_detail, "no header block");
	ck_assert_str_eq(canary_quarantine_name(mail->quarantine), "unparseable");
	ck_assert_ptr_null(mail->subject);
	ck_assert_uint_eq(mail->from->len, 0);
	/* The raw bytes stay with the struct, untouched. */
	g_autofree char *relative = g_build_filename("mail", files[_i], NULL);
	g_autoptr(GBytes) raw = tu_data_bytes(relative);
	ck_assert(g_bytes_equal(mail->raw, raw));
}
END_TEST

START_TEST(test_empty_input)
{
	g_autoptr(canary_mail) mail = parse_string("", 0, NULL);
	assert_sane(mail);
	ck_assert_int_eq(mail->quarantine, CANARY_QUARANTINE_UNPARSEABLE);
	g_autoptr(canary_mail) header_only = parse_string("Subject: only a header", 22, NULL);
	assert_sane(header_only);
	ck_assert_int_eq(header_only->quarantine, CANARY_QUARANTINE_NONE);
	ck_assert_str_eq(header_only->subject, "only a header");
	ck_assert_str_eq(header_only->text, "");
	canary_mail_free(NULL);
}
END_TEST

/* ---- limits, on messages built here ---- */

/* Returns a message whose text sits under DEPTH nested multiparts. */
static GString *nested_multiparts(guint depth)
{
	GString *s = g_string_new("From: Amara Diallo <amara.diallo@example.org>\n"
				  "Subject: Nested\nMIME-Version: 1.0\n");
	for (guint i = 0; i < depth; i++)
		g_string_append_printf(s, "Content-Type: multipart/mixed; boundary=\"b%u\"\n\n--b%u\n",
				       i, i);
	g_string_append(s, "Content-Type: text/plain\n\nAt the bottom of the nesting.\n");
	for (guint i = depth; i > 0; i--)
		g_string_append_printf(s, "--b%u--\n", i - 1);
	return s;
}

START_TEST(test_too_deep)
{
	g_autoptr(GString) s = nested_multiparts(200);
	g_autoptr(canary_mail) mail = parse_string(s->str, s->len, NULL);
	assert_sane(mail);
	ck_assert_int_eq(mail->quarantine, CANARY_QUARANTINE_TOO_DEEP);
	ck_assert_str_eq(mail->quarantine_detail, "depth 200 > 32");
	ck_assert_str_eq(canary_quarantine_name(mail->quarantine), "too-deep");
	ck_assert_str_eq(mail->subject, "Nested"); /* headers are still read */
	ck_assert_str_eq(address_at(mail->from, 0)->address, "amara.diallo@example.org");

	struct canary_limits limits;
	canary_limits_init_default(&limits);
	limits.max_mime_depth = 250;
	g_autoptr(canary_mail) deep = parse_string(s->str, s->len, &limits);
	assert_sane(deep);
	ck_assert_int_eq(deep->quarantine, CANARY_QUARANTINE_NONE);
	ck_assert_uint_eq(deep->depth, 200);
	ck_assert_uint_eq(deep->parts, 201);
	ck_assert_str_eq(deep->text, "At the bottom of the nesting.");
}
END_TEST

START_TEST(test_very_deep)
{
	/* GMime stops nesting at about a thousand levels by itself. */
	g_autoptr(GString) s = nested_multiparts(100000);
	g_autoptr(canary_mail) mail = parse_string(s->str, s->len, NULL);
	assert_sane(mail);
	ck_assert_int_eq(mail->quarantine, CANARY_QUARANTINE_TOO_DEEP);
	ck_assert_uint_ge(mail->depth, 33);
	ck_assert_uint_ge(mail->warnings, 1);

	struct canary_limits limits;
	canary_limits_init_default(&limits);
	limits.max_mime_depth = 1000000;
	limits.max_parts = 1000000;
	g_autoptr(canary_mail) unlimited = parse_string(s->str, s->len, &limits);
	assert_sane(unlimited);
	ck_assert_int_eq(unlimited->quarantine, CANARY_QUARANTINE_TOO_DEEP);
	ck_assert(g_str_has_suffix(unlimited->quarantine_detail, "> parser limit"));
}
END_TEST

/* Returns a message with DEPTH forwarded messages, one inside the other, the
 * innermost with an attachment of ATTACHMENT bytes. */
static GString *nested_forwards(guint depth, gsize attachment)
{
	GString *s = g_string_new("");
	for (guint i = 0; i < depth; i++)
		g_string_append_printf(s, "From: Sender %u <sender%u@example.org>\n"
					  "Subject: Level %u\nMIME-Version: 1.0\n"
					  "Content-Type: message/rfc822\n\n",
				       i, i, i);
	g_string_append(s, "From: Kwame Mensah <kwame.mensah@example.com>\n"
			   "Subject: Innermost\nMIME-Version: 1.0\n"
			   "Content-Type: multipart/mixed; boundary=\"x\"\n\n"
			   "--x\nContent-Type: text/plain\n\nThe innermost report.\n"
			   "--x\nContent-Type: application/octet-stream; name=\"data.bin\"\n\n");
	for (gsize i = 0; i < attachment; i++)
		g_string_append_c(s, i % 64 == 63 ? '\n' : 'A' + (char)(i % 26));
	g_string_append(s, "\n--x--\n");
	return s;
}

START_TEST(test_nested_forwards)
{
	g_autoptr(GString) s = nested_forwards(3, 1000);
	g_autoptr(canary_mail) mail = parse_string(s->str, s->len, NULL);
	assert_sane(mail);
	ck_assert_int_eq(mail->quarantine, CANARY_QUARANTINE_NONE);
	ck_assert_str_eq(mail->subject, "Level 0");
	/* Three message/rfc822 entries at depths 0, 1, 2, then the file at 3. */
	ck_assert_uint_eq(mail->attachments->len, 4);
	for (guint i = 0; i < 3; i++) {
		ck_assert_str_eq(attachment_at(mail, i)->content_type, "message/rfc822");
		ck_assert_uint_eq(attachment_at(mail, i)->depth, i);
	}
	ck_assert_str_eq(attachment_at(mail, 3)->filename, "data.bin");
	ck_assert_uint_eq(attachment_at(mail, 3)->depth, 3);
	ck_assert_uint_eq(g_bytes_get_size(canary_attachment_data(attachment_at(mail, 3))), 1000);
	ck_assert_contains(mail->text, "Subject: Level 1\n\n---------- Forwarded message");
	ck_assert(g_str_has_suffix(mail->text, "Subject: Innermost\n\nThe innermost report."));

	/* Each level copies the forwarded message once more: past four times
	 * the size limit, the message is kept whole for the custodian. */
	g_autoptr(GString) big = nested_forwards(8, 40000);
	struct canary_limits limits;
	canary_limits_init_default(&limits);
	limits.max_message_size = 50000;
	g_autoptr(canary_mail) copies = parse_string(big->str, big->len, &limits);
	assert_sane(copies);
	ck_assert_int_eq(copies->quarantine, CANARY_QUARANTINE_TOO_LARGE);
	ck_assert(g_str_has_prefix(copies->quarantine_detail, "decoded "));
	ck_assert(g_str_has_suffix(copies->quarantine_detail, " > 200000"));
	ck_assert_str_eq(copies->subject, "Level 0");
}
END_TEST

/* Returns a multipart/mixed message with N text parts. */
static GString *many_parts(guint n)
{
	GString *s = g_string_new("From: Amara Diallo <amara.diallo@example.org>\n"
				  "Subject: Many parts\nMIME-Version: 1.0\n"
				  "Content-Type: multipart/mixed; boundary=\"p\"\n\n");
	for (guint i = 0; i < n; i++)
		g_string_append_printf(s, "--p\nContent-Type: text/plain\n\nPart %u.\n", i);
	g_string_append(s, "--p--\n");
	return s;
}

START_TEST(test_too_many_parts)
{
	g_autoptr(GString) s = many_parts(3000);
	g_autoptr(canary_mail) mail = parse_string(s->str, s->len, NULL);
	assert_sane(mail);
	ck_assert_int_eq(mail->quarantine, CANARY_QUARANTINE_TOO_MANY_PARTS);
	ck_assert_str_eq(mail->quarantine_detail, "3001 parts > 1000");
	ck_assert_str_eq(canary_quarantine_name(mail->quarantine), "too-many-parts");
	ck_assert_str_eq(mail->subject, "Many parts");

	struct canary_limits limits;
	canary_limits_init_default(&limits);
	limits.max_parts = 5000;
	g_autoptr(canary_mail) ok = parse_string(s->str, s->len, &limits);
	assert_sane(ok);
	ck_assert_int_eq(ok->quarantine, CANARY_QUARANTINE_NONE);
	ck_assert_uint_eq(ok->parts, 3001);
	ck_assert(g_str_has_prefix(ok->text, "Part 0.\n\nPart 1.\n\n"));
	ck_assert(g_str_has_suffix(ok->text, "\n\nPart 2999."));
}
END_TEST

START_TEST(test_header_too_long)
{
	const gsize n = 120 * 1024;
	g_autoptr(GString) s = g_string_new("From: Amara Diallo <amara.diallo@example.org>\nSubject: ");
	for (gsize i = 0; i < n; i++)
		g_string_append_c(s, "Reprisals "[i % 10]);
	g_string_append(s, "\nMIME-Version: 1.0\nContent-Type: text/plain\n\nBody.\n");
	g_autoptr(canary_mail) mail = parse_string(s->str, s->len, NULL);
	assert_sane(mail);
	ck_assert_int_eq(mail->quarantine, CANARY_QUARANTINE_HEADER_TOO_LONG);
	/* "Subject" ":" " " and 122880 bytes. */
	ck_assert_str_eq(mail->quarantine_detail, "header of 122889 bytes > 65536");
	ck_assert_str_eq(canary_quarantine_name(mail->quarantine), "header-too-long");
	ck_assert_str_eq(address_at(mail->from, 0)->name, "Amara Diallo");

	struct canary_limits limits;
	canary_limits_init_default(&limits);
	limits.max_header_length = 1024 * 1024;
	g_autoptr(canary_mail) ok = parse_string(s->str, s->len, &limits);
	assert_sane(ok);
	ck_assert_int_eq(ok->quarantine, CANARY_QUARANTINE_NONE);
	ck_assert_ptr_nonnull(ok->subject);
	ck_assert_uint_eq(strlen(ok->subject), n - 1); /* the trailing space is trimmed */
	ck_assert(g_str_has_prefix(ok->subject, "Reprisals Reprisals"));
	ck_assert_str_eq(ok->text, "Body.");
}
END_TEST

START_TEST(test_folded_header_too_long)
{
	/* 1,000 short folded lines: each line is short, the field is not. */
	g_autoptr(GString) s = g_string_new("From: Amara Diallo <amara.diallo@example.org>\n"
					    "Content-Type: text/plain;");
	for (guint i = 0; i < 1000; i++)
		g_string_append_printf(s, "\n x-param-%04u=\"%060u\";", i, i);
	g_string_append(s, "\n\nBody.\n");
	g_autoptr(canary_mail) mail = parse_string(s->str, s->len, NULL);
	assert_sane(mail);
	ck_assert_int_eq(mail->quarantine, CANARY_QUARANTINE_HEADER_TOO_LONG);
	ck_assert(g_str_has_prefix(mail->quarantine_detail, "header of "));

	/* The same in a MIME part's header. */
	g_autoptr(GString) part = g_string_new("From: Amara Diallo <amara.diallo@example.org>\n"
					       "Content-Type: multipart/mixed; boundary=\"q\"\n\n"
					       "--q\nContent-Type: text/plain;");
	for (guint i = 0; i < 1000; i++)
		g_string_append_printf(part, "\n x-param-%04u=\"%060u\";", i, i);
	g_string_append(part, "\n\nBody.\n--q--\n");
	g_autoptr(canary_mail) in_part = parse_string(part->str, part->len, NULL);
	assert_sane(in_part);
	ck_assert_int_eq(in_part->quarantine, CANARY_QUARANTINE_HEADER_TOO_LONG);
}
END_TEST

START_TEST(test_too_large)
{
	const gsize size = 60 * 1000 * 1000;
	static const char head[] = "From: Amara Diallo <amara.diallo@example.org>\n"
				   "To: reprisals@example.org\n"
				   "Subject: Video of the raid\n"
				   "Date: Mon, 17 Jun 2024 08:00:00 +0000\n"
				   "MIME-Version: 1.0\n"
				   "Content-Type: multipart/mixed; boundary=\"v\"\n\n"
				   "--v\nContent-Type: text/plain\n\nSee the video.\n"
				   "--v\nContent-Type: video/mp4\nContent-Transfer-Encoding: base64\n\n";
	char *buf = g_malloc(size);
	memcpy(buf, head, sizeof(head) - 1);
	for (gsize i = sizeof(head) - 1; i < size; i++)
		buf[i] = i % 77 == 76 ? '\n' : 'Q';
	g_autoptr(GBytes) raw = g_bytes_new_take(buf, size);
	struct canary_limits limits;
	canary_limits_init_default(&limits);
	g_autoptr(canary_mail) mail = canary_mail_parse(raw, &limits);
	assert_sane(mail);
	ck_assert_int_eq(mail->quarantine, CANARY_QUARANTINE_TOO_LARGE);
	ck_assert_str_eq(mail->quarantine_detail, "60000000 bytes > 52428800");
	ck_assert_str_eq(canary_quarantine_name(mail->quarantine), "too-large");
	ck_assert_str_eq(mail->subject, "Video of the raid");
	ck_assert_str_eq(address_at(mail->from, 0)->address, "amara.diallo@example.org");
	ck_assert_int_eq(mail->date, 1718611200);
	ck_assert_ptr_eq(mail->raw, raw);
	ck_assert_uint_eq(g_bytes_get_size(mail->raw), size);

	/* A huge message with no empty line: at most 1 MiB of it is read. */
	char *flat = g_malloc(size);
	memset(flat, 'Z', size);
	memcpy(flat, "Subject: one endless line ", 26);
	g_autoptr(GBytes) flat_raw = g_bytes_new_take(flat, size);
	g_autoptr(canary_mail) endless = canary_mail_parse(flat_raw, &limits);
	assert_sane(endless);
	ck_assert_int_eq(endless->quarantine, CANARY_QUARANTINE_TOO_LARGE);
}
END_TEST

START_TEST(test_names_and_defaults)
{
	ck_assert_ptr_null(canary_quarantine_name(CANARY_QUARANTINE_NONE));
	ck_assert_str_eq(canary_quarantine_name(CANARY_QUARANTINE_TOO_LARGE), "too-large");
	ck_assert_str_eq(canary_quarantine_name(CANARY_QUARANTINE_TOO_DEEP), "too-deep");
	ck_assert_str_eq(canary_quarantine_name(CANARY_QUARANTINE_TOO_MANY_PARTS),
			 "too-many-parts");
	ck_assert_str_eq(canary_quarantine_name(CANARY_QUARANTINE_HEADER_TOO_LONG),
			 "header-too-long");
	ck_assert_str_eq(canary_quarantine_name(CANARY_QUARANTINE_UNPARSEABLE), "unparseable");
	ck_assert_ptr_null(canary_quarantine_name((enum canary_quarantine)99));
	struct canary_limits limits;
	canary_limits_init_default(&limits);
	ck_assert_uint_eq(limits.max_message_size, 50 * 1024 * 1024);
	ck_assert_uint_eq(limits.max_mime_depth, 32);
	ck_assert_uint_eq(limits.max_parts, 1000);
	ck_assert_uint_eq(limits.max_header_length, 64 * 1024);
}
END_TEST

/* ---- real-world shapes (issue 13) ---- */

START_TEST(test_split_encoded_words)
{
	g_autoptr(canary_mail) mail = parse_file("encoded-words-split-run.eml", NULL);
	assert_sane(mail);
	/* Four base64 words, multi-byte characters cut between them. */
	ck_assert_str_eq(address_at(mail->from, 0)->name, "Zoë Ngũgĩ-Ølander Wanjirũ");
	ck_assert_str_eq(mail->subject, "Überwachung nach der Anhörung — 监视 — слежка");
	/* An unknown charset and a broken word give replacement characters. */
	ck_assert_uint_eq(mail->to->len, 2);
	ck_assert_str_eq(address_at(mail->to, 0)->name, "Hello");
	ck_assert_str_eq(address_at(mail->to, 0)->address, "desk@example.org");
	ck_assert_str_eq(address_at(mail->to, 1)->name, "Ana Patiño" REPLACEMENT);
	ck_assert_str_eq(address_at(mail->to, 1)->address, "ana.patino@example.net");
	ck_assert_str_eq(attachment_at(mail, 0)->filename, "Protokoll_Anhörung_Überwachung.pdf");
	/* The whole name reaches the identity record, and all of it is scrubbed. */
	g_autoptr(canary_identity) identity = canary_identity_extract(mail);
	ck_assert_uint_ge(identity->addresses->len, 1);
	const struct canary_address *who = identity->addresses->pdata[0];
	ck_assert_str_eq(who->name, "Zoë Ngũgĩ-Ølander Wanjirũ");
	ck_assert_str_eq(who->address, "zoe.ngugi@example.org");
	char *scrubbed = canary_identity_scrub(identity, mail->text, "P-TEST");
	ck_assert_lacks(scrubbed, "Wanjirũ");
	ck_assert_lacks(scrubbed, "Ølander");
	ck_assert_contains(scrubbed, "I am followed since the hearing.");
	sodium_memzero(scrubbed, strlen(scrubbed));
	g_free(scrubbed);
}
END_TEST

START_TEST(test_rfc2047_edge_words)
{
	static const char message[] =
		"From: =?UTF-8?Q?Kw=C3=A1me_?= =?utf-8?q?Ofori?= <kwame@example.org>\n"
		"Subject: =?UTF-8?B?w6k=?=  plain =?UTF-8?B?w6k?= =?x?B?*?= =?UTF-8?Q?=?= "
		"=?UTF-8?B?4o?= =?UTF-8?B?Ks?= =?=?== =?UTF-8?X?abc?= =?*fr?Q?a?= end\n"
		"\n"
		"Body.\n";
	g_autoptr(canary_mail) mail = parse_string(message, sizeof(message) - 1, NULL);
	assert_sane(mail);
	ck_assert_str_eq(address_at(mail->from, 0)->name, "Kwáme Ofori");
	/* Base64 cut inside a quantum across words still joins ("€"). */
	ck_assert_str_eq(mail->subject, "é  plain é" REPLACEMENT "=" REPLACEMENT
					"€ =?=?== =?UTF-8?X?abc?= a end");
}
END_TEST

START_TEST(test_empty_alternative)
{
	g_autoptr(canary_mail) mail = parse_file("alternative-empty-plain.eml", NULL);
	assert_sane(mail);
	ck_assert_str_eq(mail->text, "My brother was detained at the border post.");
	ck_assert_uint_eq(mail->attachments->len, 0);
	ck_assert_ptr_null(mail->damage);
}
END_TEST

START_TEST(test_mislabelled_utf8)
{
	g_autoptr(canary_mail) mail = parse_file("mislabelled-utf8-latin1.eml", NULL);
	assert_sane(mail);
	ck_assert_str_eq(mail->text, "Les policiers ont confisqué nos téléphones à Ouagadougou "
				     "— « sans mandat ».");
	ck_assert_str_eq(address_at(mail->from, 0)->name, "Maëlys Kaboré");
}
END_TEST

START_TEST(test_format_flowed)
{
	g_autoptr(canary_mail) mail = parse_file("format-flowed.eml", NULL);
	assert_sane(mail);
	ck_assert_str_eq(mail->text, "After the meeting in Geneva two men waited outside my "
				     "office and photographed everyone who left.\n"
				     "\n"
				     "> Did they speak to you?\n"
				     "From then on I used the back door.\n"
				     "-- \n"
				     "Tomasz");
	g_autoptr(canary_mail) delsp = parse_file("format-flowed-delsp.eml", NULL);
	assert_sane(delsp);
	ck_assert_str_eq(delsp->text, "会合の後、警察が事務所に来ました。");
}
END_TEST

START_TEST(test_forwarded_base64)
{
	g_autoptr(canary_mail) mail = parse_file("forwarded-rfc822-base64.eml", NULL);
	assert_sane(mail);
	ck_assert_contains(mail->text, "See the summons below.");
	ck_assert_contains(mail->text, "From: Samir Haddad <samir.haddad@example.net>");
	ck_assert_contains(mail->text, "Subject: Summons");
	ck_assert_contains(mail->text, "You are summoned to the prosecutor on Tuesday.");
	ck_assert_uint_eq(mail->attachments->len, 2);
	struct canary_attachment *eml = attachment_at(mail, 0);
	ck_assert_str_eq(eml->content_type, "message/rfc822");
	ck_assert_str_eq(eml->filename, "summons.eml");
	ck_assert_uint_eq(eml->depth, 0);
	struct canary_attachment *png = attachment_at(mail, 1);
	ck_assert_str_eq(png->filename, "summons.png");
	ck_assert_str_eq(png->content_type, "image/png");
	ck_assert_uint_eq(png->depth, 1);
	ck_assert_uint_eq(mail->depth, 2);
	ck_assert_ptr_null(mail->damage);
}
END_TEST

/* Base64 GMime would decode: its size, counted without decoding, is what
 * GMime's decoder makes of it, or not counted at all. */
static void assert_counts_as_decoded(const char *encoded, gsize len, gboolean plain)
{
	gsize size = 0;
	gboolean counted = canary_base64_decoded_size((const guint8 *)encoded, len, &size);
	g_autoptr(GBytes) decoded = canary_mail_decode(CANARY_ENCODING_BASE64, encoded, len);
	ck_assert_msg(counted == plain, "\"%.*s\" counted: %d", (int)len, encoded, counted);
	if (counted)
		ck_assert_uint_eq(size, g_bytes_get_size(decoded));
}

START_TEST(test_base64_size)
{
	static const struct {
		const char *encoded;
		gboolean plain;
	} cases[] = {
		{ "", TRUE },
		{ "\r\n \t", TRUE },
		{ "AAECAwQF\nBgcI", TRUE },
		{ "AAECAwQF\r\nBgcICQ==\r\n", TRUE },
		{ "AAECAwQF\r\nBgcICQo=\r\n\r\n", TRUE },
		{ "AAEC AwQF\tBgcI\n", TRUE },
		{ "AAECAwQF\nBgcI=\n=\n", FALSE },	/* padding past a whole quartet */
		{ "AAECAwQFBgcICQ\n", FALSE },		/* the last quartet left short */
		{ "AAECAwQFBgcICQo\n", FALSE },
		{ "AAECAwQFBgcICQ=\n", FALSE },		/* one '=' too few */
		{ "AAECAwQFBgcICQ===\n", FALSE },
		{ "AAEC==AwQFBgcI\n", FALSE },		/* padding inside */
		{ "==", FALSE },
		{ "AAEC\x80\xff" "AwQF*BgcI\n", TRUE },	/* bytes GMime skips */
		{ "AAECAwQF\nBg-cI=\n=\n", FALSE },
	};
	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++)
		assert_counts_as_decoded(cases[i].encoded, strlen(cases[i].encoded), cases[i].plain);

	/* Real encodings of every length up to 300, lines cut as mailers cut
	 * them, with and without padding; and bytes drawn from what base64
	 * text is made of, wherever they happen to fall. */
	GRand *rand = g_rand_new_with_seed(2045);
	for (guint n = 0; n <= 300; n++) {
		guint8 data[300];
		for (guint i = 0; i < n; i++)
			data[i] = (guint8)g_rand_int(rand);
		g_autofree char *b64 = g_base64_encode(data, n);
		GString *lines = g_string_new(NULL);
		const char *eol = n % 2 ? "\r\n" : "\n";
		for (gsize at = 0, len = strlen(b64); at < len; at += 76) {
			g_string_append_len(lines, b64 + at, (gssize)MIN(76, len - at));
			g_string_append(lines, eol);
		}
		gsize size = 0;
		ck_assert(canary_base64_decoded_size((const guint8 *)lines->str, lines->len, &size));
		ck_assert_uint_eq(size, n);
		assert_counts_as_decoded(lines->str, lines->len, TRUE);
		while (lines->len > 0 && strchr("=\r\n", lines->str[lines->len - 1]) != NULL)
			g_string_truncate(lines, lines->len - 1);
		assert_counts_as_decoded(lines->str, lines->len, n % 3 == 0);
		g_string_free(lines, TRUE);
	}
	static const char made_of[] = "ABCxyz019+/=\r\n -";
	for (guint round = 0; round < 20000; round++) {
		char text[24];
		gsize len = (gsize)g_rand_int_range(rand, 0, sizeof text);
		for (gsize i = 0; i < len; i++)
			text[i] = made_of[g_rand_int_range(rand, 0, sizeof made_of - 1)];
		gsize size = 0;
		if (canary_base64_decoded_size((const guint8 *)text, len, &size)) {
			g_autoptr(GBytes) decoded = canary_mail_decode(CANARY_ENCODING_BASE64, text, len);
			ck_assert_uint_eq(size, g_bytes_get_size(decoded));
		}
	}
	g_rand_free(rand);
}
END_TEST

/* Attachments of the message itself stand as spans of its raw bytes
 * (assert_sane() checks that each decodes to its data); those decoded out
 * of another attachment (a forwarded message sent encoded, a TNEF file)
 * do not. */
START_TEST(test_attachment_spans)
{
	static const char message[] =
		"From: a@example.org\nSubject: spans\nMIME-Version: 1.0\n"
		"Content-Type: multipart/mixed; boundary=b\n\n"
		"--b\nContent-Type: text/plain\n\nSee attached.\n"
		"--b\nContent-Type: application/octet-stream\nContent-Transfer-Encoding: base64\n"
		"Content-Disposition: attachment; filename=a.bin\n\nAAECAwQF\nBgcI\n"
		"--b\nContent-Type: text/plain\nContent-Transfer-Encoding: quoted-printable\n"
		"Content-Disposition: attachment; filename=b.txt\n\ncaf=C3=A9 au=\n lait\n"
		"--b\nContent-Type: application/octet-stream\nContent-Transfer-Encoding: x-uuencode\n"
		"Content-Disposition: attachment; filename=c.bin\n\n"
		"begin 644 c.bin\n#86)C\n`\nend\n"
		"--b\nContent-Type: text/csv\nContent-Disposition: attachment; filename=d.csv\n\n"
		"a,b\n1,2\n"
		"--b--\n";
	g_autoptr(canary_mail) mail = parse_string(message, strlen(message), NULL);
	assert_sane(mail);
	ck_assert_uint_eq(mail->attachments->len, 4);
	static const struct {
		enum canary_transfer_encoding encoding;
		const char *span, *data;
		gsize data_len;
	} want[] = {
		{CANARY_ENCODING_BASE64, "AAECAwQF\nBgcI", "\0\1\2\3\4\5\6\7\10", 9},
		{CANARY_ENCODING_QUOTED_PRINTABLE, "caf=C3=A9 au=\n lait", "caf\xC3\xA9 au lait", 13},
		{CANARY_ENCODING_UUENCODE, "begin 644 c.bin\n#86)C\n`\nend", "abc", 3},
		{CANARY_ENCODING_NONE, "a,b\n1,2", "a,b\n1,2", 7},
	};
	for (gsize i = 0; i < G_N_ELEMENTS(want); i++) {
		struct canary_attachment *a = attachment_at(mail, (guint)i);
		ck_assert_ptr_nonnull(a->encoded);
		ck_assert_int_eq(a->encoding, want[i].encoding);
		gsize len = 0;
		const char *span = g_bytes_get_data(a->encoded, &len);
		ck_assert_uint_eq(len, strlen(want[i].span));
		ck_assert_mem_eq(span, want[i].span, len);
		ck_assert_uint_eq(g_bytes_get_size(canary_attachment_data(a)), want[i].data_len);
		ck_assert_mem_eq(g_bytes_get_data(canary_attachment_data(a), NULL), want[i].data, want[i].data_len);
	}

	g_autoptr(canary_mail) forwarded = parse_file("forwarded-rfc822-base64.eml", NULL);
	assert_sane(forwarded);
	ck_assert_ptr_nonnull(attachment_at(forwarded, 0)->encoded); /* the .eml, base64 */
	ck_assert_ptr_null(attachment_at(forwarded, 1)->encoded);    /* the .png inside it */
	g_autoptr(canary_mail) tnef = parse_file("tnef-winmail-dat.eml", NULL);
	assert_sane(tnef);
	ck_assert_ptr_nonnull(attachment_at(tnef, 0)->encoded); /* winmail.dat */
	ck_assert_ptr_null(attachment_at(tnef, 1)->encoded);    /* a file inside it */
	ck_assert_ptr_null(attachment_at(tnef, 2)->encoded);
}
END_TEST

START_TEST(test_damaged)
{
	g_autoptr(canary_mail) line = parse_file("damaged-whitespace-line.eml", NULL);
	assert_sane(line);
	ck_assert_int_eq(line->quarantine, CANARY_QUARANTINE_NONE);
	ck_assert_str_eq(address_at(line->from, 0)->address, "ruth.mbeki@example.org");
	ck_assert_str_eq(line->subject, "White-space line");
	ck_assert_str_eq(line->text,
			 "Dear office,\nmy colleague has not been seen since Friday.");
	ck_assert_ptr_nonnull(line->damage);
	ck_assert_str_eq(line->damage, "header block ended by a white-space line at byte 172");

	g_autoptr(canary_mail) boundary = parse_file("damaged-boundary-nomatch.eml", NULL);
	assert_sane(boundary);
	ck_assert_int_eq(boundary->quarantine, CANARY_QUARANTINE_NONE);
	ck_assert_contains(boundary->text, "The court hearing was moved without notice.");
	ck_assert_ptr_nonnull(boundary->damage);
	ck_assert_str_eq(boundary->damage, "multipart at depth 0: no boundary line found in 121 bytes");
	for (const char *p = boundary->damage; *p != '\0'; p++)
		ck_assert(!g_ascii_isupper(*p));

	g_autoptr(canary_mail) whole = parse_file("multipart-alternative.eml", NULL);
	ck_assert_ptr_null(whole->damage);
}
END_TEST

START_TEST(test_tnef)
{
	g_autoptr(canary_mail) mail = parse_file("tnef-winmail-dat.eml", NULL);
	assert_sane(mail);
	ck_assert_int_eq(mail->quarantine, CANARY_QUARANTINE_NONE);
	ck_assert_ptr_null(mail->damage);
	ck_assert_str_eq(mail->text, "Siehe Anhang.\n\n"
				     "Die Festnahme geschah am Montag vor dem Gericht in Köln.");
	/* The winmail.dat itself is kept, its files beside it. */
	ck_assert_uint_eq(mail->attachments->len, 3);
	struct canary_attachment *dat = attachment_at(mail, 0);
	ck_assert_str_eq(dat->filename, "winmail.dat");
	ck_assert_str_eq(dat->content_type, "application/ms-tnef");
	g_autoptr(GBytes) tnef = tu_data_bytes("mail/tnef-winmail-dat.tnef");
	ck_assert(g_bytes_equal(canary_attachment_data(dat), tnef));
	struct canary_attachment *report = attachment_at(mail, 1);
	ck_assert_str_eq(report->filename, "Bericht über die Festnahme.txt");
	ck_assert_str_eq(report->content_type, "application/octet-stream");
	ck_assert_uint_eq(report->depth, 0);
	gsize size = 0;
	const char *data = g_bytes_get_data(canary_attachment_data(report), &size);
	ck_assert_uint_eq(size, strlen("Protokoll der Anhörung.\n"));
	ck_assert(memcmp(data, "Protokoll der Anhörung.\n", size) == 0);
	ck_assert_str_eq(attachment_at(mail, 2)->filename, "photo.jpg");

	/* Cut short or not TNEF at all: kept as it is, marked damaged. */
	gsize len = 0;
	const guint8 *bytes = g_bytes_get_data(tnef, &len);
	for (gsize cut = 0; cut < len; cut += 7) {
		g_autoptr(canary_tnef) part = canary_tnef_read(bytes, cut, G_MAXUINT64);
		if (part != NULL)
			ck_assert_uint_le(part->files->len, 2);
	}
	g_autoptr(canary_tnef) capped = canary_tnef_read(bytes, len, 30);
	ck_assert_ptr_nonnull(capped);
	ck_assert_uint_eq(capped->files->len, 1);
	ck_assert_uint_eq(capped->skipped, 1);
	static const char not_tnef[] =
		"From: a@example.org\nMIME-Version: 1.0\n"
		"Content-Type: multipart/mixed; boundary=b\n\n--b\n"
		"Content-Type: application/ms-tnef; name=winmail.dat\n\nplain words\n--b--\n";
	g_autoptr(canary_mail) bad = parse_string(not_tnef, sizeof(not_tnef) - 1, NULL);
	assert_sane(bad);
	ck_assert_uint_eq(bad->attachments->len, 1);
	ck_assert_str_eq(bad->damage, "winmail.dat at depth 0: not readable as TNEF");
}
END_TEST

/* ---- the whole corpus ---- */

START_TEST(test_every_file)
{
	g_autofree char *dir_path = tu_data_path("mail");
	g_autoptr(GError) error = NULL;
	g_autoptr(GDir) dir = g_dir_open(dir_path, 0, &error);
	ck_assert_msg(dir != NULL, "%s", error != NULL ? error->message : "?");
	guint files = 0;
	for (const char *name; (name = g_dir_read_name(dir)) != NULL;) {
		g_autoptr(canary_mail) mail = parse_file(name, NULL);
		assert_sane(mail);
		if (g_str_has_suffix(name, ".eml"))
			files++;
	}
	ck_assert_uint_ge(files, 36 + 17);
}
END_TEST

/* What a reply names, and what must never be answered automatically. */
START_TEST(test_reply_headers)
{
	static const char reply[] =
		"From: Amina <amina@example.net>\r\n"
		"Return-Path: <amina@example.net>\r\n"
		"Auto-Submitted: no (a person wrote this)\r\n"
		"In-Reply-To: <reply.1@example.org> (our answer)\r\n"
		"References: <first@example.net>\r\n"
		"  <reply.1@example.org> not-an-id <third@[192.0.2.1]>\r\n"
		"Subject: Re: news\r\n\r\nReleased today.\r\n";
	g_autoptr(canary_mail) mail = parse_string(reply, sizeof reply - 1, NULL);
	ck_assert_uint_eq(mail->in_reply_to->len, 1);
	ck_assert_str_eq(g_ptr_array_index(mail->in_reply_to, 0), "reply.1@example.org");
	ck_assert_uint_ge(mail->references->len, 2);
	ck_assert_str_eq(g_ptr_array_index(mail->references, 0), "first@example.net");
	ck_assert_str_eq(g_ptr_array_index(mail->references, 1), "reply.1@example.org");
	ck_assert(!mail->auto_submitted);
	ck_assert(!mail->null_sender);

	static const char bounce[] = "From: MAILER-DAEMON@example.org\r\n"
				     "Return-Path: < >\r\n"
				     "Auto-Submitted: auto-replied\r\n"
				     "Subject: failure\r\n\r\nx\r\n";
	g_autoptr(canary_mail) automatic = parse_string(bounce, sizeof bounce - 1, NULL);
	ck_assert(automatic->auto_submitted);
	ck_assert(automatic->null_sender);
	ck_assert_uint_eq(automatic->in_reply_to->len, 0);
	ck_assert_uint_eq(automatic->references->len, 0);

	/* A References header of a thousand ids keeps the cap. */
	GString *many = g_string_new("From: a@example.net\r\nReferences:");
	for (int i = 0; i < 1000; i++)
		g_string_append_printf(many, " <id.%d@example.net>", i);
	g_string_append(many, "\r\nSubject: x\r\n\r\nx\r\n");
	g_autoptr(canary_mail) capped = parse_string(many->str, many->len, NULL);
	ck_assert_uint_eq(capped->references->len, CANARY_MAIL_MAX_REFERENCES);
	g_string_free(many, TRUE);
}
END_TEST

static Suite *mail_suite(void)
{
	Suite *s = suite_create("mail");
	TCase *corpus = tcase_create("corpus");
	tcase_add_loop_test(corpus, test_charset, 0, G_N_ELEMENTS(charset_cases) * 3);
	tcase_add_test(corpus, test_encoded_words);
	tcase_add_test(corpus, test_delivered_to);
	tcase_add_loop_test(corpus, test_html, 0, 2);
	tcase_add_test(corpus, test_alternative);
	tcase_add_test(corpus, test_charset_fallbacks);
	tcase_add_test(corpus, test_nul_bytes);
	tcase_add_test(corpus, test_missing_closing_boundary);
	tcase_add_test(corpus, test_attachment_names);
	tcase_add_test(corpus, test_attachment_spans);
	tcase_add_test(corpus, test_base64_size);
	tcase_add_test(corpus, test_forwarded);
	tcase_add_test(corpus, test_crypto_parts);
	tcase_add_loop_test(corpus, test_unparseable, 0, 2);
	tcase_add_test(corpus, test_empty_input);
	tcase_add_test(corpus, test_split_encoded_words);
	tcase_add_test(corpus, test_rfc2047_edge_words);
	tcase_add_test(corpus, test_empty_alternative);
	tcase_add_test(corpus, test_mislabelled_utf8);
	tcase_add_test(corpus, test_format_flowed);
	tcase_add_test(corpus, test_forwarded_base64);
	tcase_add_test(corpus, test_damaged);
	tcase_add_test(corpus, test_tnef);
	tcase_add_test(corpus, test_every_file);
	tcase_add_test(corpus, test_reply_headers);
	suite_add_tcase(s, corpus);

	TCase *limits = tcase_create("limits");
	tcase_add_test(limits, test_names_and_defaults);
	tcase_add_test(limits, test_too_deep);
	tcase_add_test(limits, test_very_deep);
	tcase_add_test(limits, test_nested_forwards);
	tcase_add_test(limits, test_too_many_parts);
	tcase_add_test(limits, test_header_too_long);
	tcase_add_test(limits, test_folded_header_too_long);
	tcase_add_test(limits, test_too_large);
	suite_add_tcase(s, limits);
	return s;
}

int main(void)
{
	/* Once per process: GMime 3.2 cannot be set up again after its shutdown. */
	canary_mail_init();
	int rc = tu_run_suite(mail_suite());
	canary_mail_shutdown();
	return rc;
}
