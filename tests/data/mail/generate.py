#!/usr/bin/env python3
"""Writes the test messages of tests/data/mail/ (run from anywhere; output is
deterministic). Charset bytes come from iconv(1), as a mail client's would.
All people, places and addresses are fictional."""

import base64
import os
import quopri
import struct
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))


def iconv(text, charset):
    """Returns TEXT encoded in CHARSET by iconv(1)."""
    return subprocess.run(["iconv", "-f", "UTF-8", "-t", charset], input=text.encode(),
                          check=True, capture_output=True).stdout


def qp(data):
    return quopri.encodestring(data)


def b64(data):
    return base64.encodebytes(data)


def word_q(text, charset):
    """One RFC 2047 Q encoded word."""
    out = []
    for byte in iconv(text, charset):
        c = chr(byte)
        if c == " ":
            out.append("_")
        elif c.isascii() and c.isalnum():
            out.append(c)
        else:
            out.append("=%02X" % byte)
    return "=?%s?Q?%s?=" % (charset, "".join(out))


def word_b(text, charset):
    """One RFC 2047 B encoded word."""
    return "=?%s?B?%s?=" % (charset, base64.b64encode(iconv(text, charset)).decode())


def write(name, data):
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(HERE, name), "wb") as f:
        f.write(data)


def blob(seed, size):
    """SIZE deterministic pseudo-random bytes (a linear congruential generator)."""
    out = bytearray()
    x = seed
    for _ in range(size):
        x = (x * 1103515245 + 12345) & 0x7FFFFFFF
        out.append((x >> 16) & 0xFF)
    return bytes(out)


# slug, MIME charset name, display name, address, subject, body, phrase
CHARSETS = [
    ("iso8859-1", "ISO-8859-1", "Renée Dupré", "renee.dupre@example.org",
     "Représailles après Genève",
     "Bonjour,\n\nNotre défenseur a été arrêté après la réunion à Genève.\n"
     "Ses collègues craignent d'autres représailles.\n\nRenée\n",
     "Notre défenseur a été arrêté après la réunion à Genève."),
    ("iso8859-2", "ISO-8859-2", "Łucja Wróbel", "lucja.wrobel@example.org",
     "Zatrzymanie obrońcy praw człowieka",
     "Dzień dobry,\n\nObrońca praw człowieka został zatrzymany po spotkaniu w Genewie.\n"
     "Proszę o pilną interwencję.\n\nŁucja\n",
     "Obrońca praw człowieka został zatrzymany po spotkaniu w Genewie."),
    ("iso8859-5", "ISO-8859-5", "Ирина Соколова", "irina.sokolova@example.org",
     "Задержание после встречи",
     "Здравствуйте,\n\nПравозащитник был задержан после встречи в Женеве.\n"
     "Его семье угрожают.\n\nИрина\n",
     "Правозащитник был задержан после встречи в Женеве."),
    ("iso8859-15", "ISO-8859-15", "Chloé Œuvray", "chloe.oeuvray@example.org",
     "Amende de 500 € contre l'association",
     "Bonjour,\n\nOn lui a infligé une amende de 500 € et confisqué son œuvre.\n"
     "L'association a dû fermer.\n\nChloé\n",
     "On lui a infligé une amende de 500 € et confisqué son œuvre."),
    ("windows-1250", "windows-1250", "Věra Dvořáková", "vera.dvorakova@example.org",
     "Zadržení obhájkyně „po Ženevě“",
     "Dobrý den,\n\nObhájkyně lidských práv byla zadržena po návratu ze Ženevy.\n"
     "Policie jí zabavila telefon.\n\nVěra\n",
     "Obhájkyně lidských práv byla zadržena po návratu ze Ženevy."),
    ("windows-1251", "windows-1251", "Олена Ковальчук", "olena.kovalchuk@example.org",
     "Допит після повернення з Женеви",
     "Добрий день,\n\nПісля повернення з Женеви її допитували в поліції.\n"
     "Їй погрожували звільненням.\n\nОлена\n",
     "Після повернення з Женеви її допитували в поліції."),
    ("windows-1252", "windows-1252", "Jürgen Weiß", "juergen.weiss@example.org",
     "Verhör nach der Rückkehr – dringend",
     "Guten Tag,\n\nSie wurde nach ihrer Rückkehr aus Genf verhört – „Sie wissen, was passiert“.\n"
     "Wir bitten um Schutz.\n\nJürgen\n",
     "Sie wurde nach ihrer Rückkehr aus Genf verhört – „Sie wissen, was passiert“."),
    ("windows-1256", "windows-1256", "ليلى حداد", "layla.haddad@example.org",
     "اعتقال بعد العودة من جنيف",
     "مرحبا،\n\nتم اعتقال المدافعة عن حقوق الإنسان بعد عودتها من جنيف.\n"
     "نطلب المساعدة العاجلة.\n\nليلى\n",
     "تم اعتقال المدافعة عن حقوق الإنسان بعد عودتها من جنيف."),
    ("koi8r", "KOI8-R", "Пётр Смирнов", "petr.smirnov@example.org",
     "Избиение за сотрудничество с ООН",
     "Здравствуйте,\n\nЕго избили за сотрудничество с Организацией Объединённых Наций.\n"
     "Он в больнице.\n\nПётр\n",
     "Его избили за сотрудничество с Организацией Объединённых Наций."),
    ("gb18030", "GB18030", "王秀英", "wang.xiuying@example.org",
     "日内瓦会议后被传唤",
     "您好，\n\n她在日内瓦会议后被警方传唤。\n我们请求紧急帮助。\n\n王秀英\n",
     "她在日内瓦会议后被警方传唤。"),
    ("shift-jis", "Shift_JIS", "佐藤花子", "hanako.sato@example.org",
     "ジュネーブ会合後の呼び出し",
     "こんにちは。\n\nジュネーブでの会合の後、彼女は警察に呼び出されました。\n"
     "至急ご対応ください。\n\n佐藤\n",
     "ジュネーブでの会合の後、彼女は警察に呼び出されました。"),
    ("utf8", "UTF-8", "Amara Diallo", "amara.diallo@example.org",
     "Représailles — Амара — أمارا — 人权",
     "Hello,\n\nDéfenseure des droits — Амара — أمارا — 人权捍卫者 — was threatened.\n"
     "Please call me back.\n\nAmara\n",
     "Défenseure des droits — Амара — أمارا — 人权捍卫者 — was threatened."),
]


def charset_message(slug, charset, name, address, subject, body, encoding, index):
    from_word = word_q if index % 2 == 0 else word_b
    subject_word = word_b if index % 2 == 0 else word_q
    raw = iconv(body, charset)
    if encoding == "8bit":
        payload = raw
    elif encoding == "quoted-printable":
        payload = qp(raw)
    else:
        payload = b64(raw)
    head = ("Return-Path: <%s>\n"
            "Received: from mx.example.net (mx.example.net [192.0.2.25])\n"
            "\tby mail.example.org (Postfix) with ESMTPS id 4Vx%02d\n"
            "\tfor <reprisals@example.org>; Tue, 4 Jun 2024 09:%02d:00 +0000\n"
            "From: %s <%s>\n"
            "To: Reprisals Desk <reprisals@example.org>\n"
            "Subject: %s\n"
            "Date: Tue, 4 Jun 2024 11:%02d:00 +0200\n"
            "Message-ID: <%s.%s@example.org>\n"
            "MIME-Version: 1.0\n"
            "Content-Type: text/plain; charset=%s; format=flowed\n"
            "Content-Transfer-Encoding: %s\n"
            "\n") % (address, index, index, from_word(name, charset), address,
                     subject_word(subject, charset), index, slug, encoding, charset, encoding)
    data = head.encode() + payload
    if charset == "UTF-8":
        data = data.replace(b"\n", b"\r\n")
    return data


def charsets():
    for index, (slug, charset, name, address, subject, body, _) in enumerate(CHARSETS):
        for encoding, suffix in (("8bit", "8bit"), ("quoted-printable", "qp"),
                                 ("base64", "base64")):
            write("charset-%s-%s.eml" % (slug, suffix),
                  charset_message(slug, charset, name, address, subject, body, encoding, index))


def encoded_words():
    subject = " ".join([word_q("Café fermé, ", "ISO-8859-1"),
                        word_b("Редакция закрыта, ", "KOI8-R"),
                        word_b("编辑部被关闭 ", "GB18030"),
                        word_q("— ¿por qué?", "UTF-8")])
    write("encoded-words-from-subject.eml",
          "From: " + word_q("José ", "ISO-8859-1") + " " + word_b("Ñúñez", "UTF-8") +
          " <jose.nunez@example.org>\n"
          "To: Reprisals Desk <reprisals@example.org>, " + word_b("Ольга", "windows-1251") +
          " <olga@example.net>\n"
          "Cc: Witnesses: " + word_q("Søren", "ISO-8859-1") + " <soren@example.net>, "
          "kofi.mensah@example.com;, \"Mensah, Ama\" <ama.mensah@example.com>\n"
          "Subject: " + subject + "\n"
          "Date: Wed, 5 Jun 2024 08:15:00 -0300\n"
          "Message-ID: <encoded-words.1@example.org>\n"
          "MIME-Version: 1.0\n"
          "Content-Type: text/plain; charset=us-ascii\n"
          "\n"
          "The newspaper office was closed by the police after our testimony.\n")


HTML = """<!DOCTYPE html>
<html><head><meta charset="windows-1251"><title>Секретно: заголовок</title>
<style>p { color: red } .hidden { display: none }</style>
<script type="text/javascript">var tracking = "should-not-appear";</script>
</head>
<body>
<div class="outer"><div><h1>Сообщение о репрессиях</h1>
<p>Уважаемые коллеги,<br>после нашего выступления в&nbsp;Женеве
   адвоката   задержали &laquo;для беседы&raquo; &amp; угрожали семье.</p>
<blockquote><p>Вы пожалеете об этом &mdash; сказал офицер.</p></blockquote>
<ul><li>Дата: 2 июня</li><li>Место: Алматы</li></ul>
<table><tr><td>Свидетель</td><td>Айгерим</td></tr></table>
<pre>  строка   с   пробелами</pre>
<!-- a comment that should-not-appear -->
</div></div>
<script>document.write("should-not-appear")</script>
</body></html>
"""


def html_only():
    write("html-only-windows1251.eml",
          b"From: Aigerim Nurlanovna <aigerim@example.kz>\n"
          b"To: reprisals@example.org\n"
          b"Subject: HTML report\n"
          b"Date: Thu, 6 Jun 2024 12:00:00 +0500\n"
          b"MIME-Version: 1.0\n"
          b"Content-Type: text/html; charset=windows-1251\n"
          b"Content-Transfer-Encoding: quoted-printable\n"
          b"\n" + qp(iconv(HTML, "windows-1251")))
    write("html-meta-charset-no-param.eml",
          b"From: Aigerim Nurlanovna <aigerim@example.kz>\n"
          b"To: reprisals@example.org\n"
          b"Subject: HTML report, charset only in meta\n"
          b"Date: Thu, 6 Jun 2024 12:00:00 +0500\n"
          b"MIME-Version: 1.0\n"
          b"Content-Type: text/html\n"
          b"Content-Transfer-Encoding: base64\n"
          b"\n" + b64(iconv(HTML, "windows-1251")))


def alternative():
    html = ("<html><body><p>HTML version: the <b>hearing</b> was postponed.</p>"
            "<img src=\"cid:map@example.org\"></body></html>\n")
    write("multipart-alternative.eml",
          "From: Tomas Herrera <tomas.herrera@example.org>\n"
          "To: reprisals@example.org\n"
          "Subject: Hearing postponed\n"
          "Date: Fri, 7 Jun 2024 16:45:00 -0500\n"
          "MIME-Version: 1.0\n"
          "Content-Type: multipart/alternative; boundary=\"alt-1\"\n"
          "\n"
          "This is a multi-part message in MIME format.\n"
          "--alt-1\n"
          "Content-Type: text/plain; charset=utf-8\n"
          "Content-Transfer-Encoding: 8bit\n"
          "\n"
          "Plain version: the hearing was postponed after the intimidation.\n"
          "--alt-1\n"
          "Content-Type: multipart/related; boundary=\"rel-1\"\n"
          "\n"
          "--rel-1\n"
          "Content-Type: text/html; charset=utf-8\n"
          "\n" + html +
          "--rel-1\n"
          "Content-Type: image/png\n"
          "Content-ID: <map@example.org>\n"
          "Content-Transfer-Encoding: base64\n"
          "\n" + b64(b"\x89PNG\r\n\x1a\n" + blob(7, 312)).decode() +
          "--rel-1--\n"
          "--alt-1--\n")
    write("multipart-alternative-html-preferred-when-alone.eml",
          "From: Tomas Herrera <tomas.herrera@example.org>\n"
          "To: reprisals@example.org\n"
          "Subject: Only HTML alternatives\n"
          "Date: Fri, 7 Jun 2024 16:50:00 -0500\n"
          "MIME-Version: 1.0\n"
          "Content-Type: multipart/alternative; boundary=\"alt-2\"\n"
          "\n"
          "--alt-2\n"
          "Content-Type: text/calendar; charset=utf-8; method=REQUEST\n"
          "\n"
          "BEGIN:VCALENDAR\nEND:VCALENDAR\n"
          "--alt-2\n"
          "Content-Type: text/html; charset=utf-8\n"
          "\n"
          "<p>Meeting with the <i>rapporteur</i> moved to Thursday.</p>\n"
          "--alt-2--\n")


def attachments():
    pdf = b"%PDF-1.4\n" + blob(11, 1015)
    jpg = b"\xff\xd8\xff\xe0" + blob(12, 700)
    docx = b"PK\x03\x04" + blob(13, 500)
    note = "Names of the witnesses are in the sealed envelope.\n".encode()
    long_name = "Фотографии задержания в Бишкеке, июнь 2024.jpg"
    enc = "".join("%%%02X" % b if not (chr(b).isalnum() and b < 128) else chr(b)
                  for b in long_name.encode())
    parts = [enc[i:i + 30] for i in range(0, len(enc), 30)]
    continuation = "".join(";\n filename*%d*=%s%s" % (i, "UTF-8''" if i == 0 else "", p)
                           for i, p in enumerate(parts))
    write("attachments-nonascii-names.eml",
          "From: Amara Diallo <amara.diallo@example.org>\n"
          "To: reprisals@example.org\n"
          "Subject: Evidence of the arrests\n"
          "Date: Sat, 8 Jun 2024 10:00:00 +0000\n"
          "MIME-Version: 1.0\n"
          "Content-Type: multipart/mixed; boundary=\"mix-1\"\n"
          "\n"
          "--mix-1\n"
          "Content-Type: text/plain; charset=utf-8\n"
          "\n"
          "Please find the protocol, the photographs and my statement attached.\n"
          "--mix-1\n"
          "Content-Type: application/pdf\n"
          "Content-Disposition: attachment;\n"
          " filename*=UTF-8''%D0%9F%D1%80%D0%BE%D1%82%D0%BE%D0%BA%D0%BE%D0%BB%20%E2%84%96%207.pdf\n"
          "Content-Transfer-Encoding: base64\n"
          "\n" + b64(pdf).decode() +
          "--mix-1\n"
          "Content-Type: IMAGE/JPEG\n"
          "Content-Disposition: attachment" + continuation + "\n"
          "Content-Transfer-Encoding: base64\n"
          "\n" + b64(jpg).decode() +
          "--mix-1\n"
          "Content-Type: application/vnd.openxmlformats-officedocument.wordprocessingml.document;\n"
          " name=\"" + word_b("Déclaration d'Amara.docx", "UTF-8") + "\"\n"
          "Content-Transfer-Encoding: base64\n"
          "\n" + b64(docx).decode() +
          "--mix-1\n"
          "Content-Type: text/plain; charset=utf-8; name=\"note.txt\"\n"
          "Content-Disposition: attachment; filename=\"note.txt\"\n"
          "\n" + note.decode() +
          "--mix-1--\n")
    return len(pdf), len(jpg), len(docx), len(note)


def forwarded():
    photo = b"\xff\xd8\xff\xe0" + blob(21, 400)
    inner = ("From: " + word_q("Kwame Mensah", "UTF-8") + " <kwame.mensah@example.com>\n"
             "To: Amara Diallo <amara.diallo@example.org>\n"
             "Subject: " + word_q("Menaces reçues", "ISO-8859-1") + "\n"
             "Date: Sun, 2 Jun 2024 21:30:00 +0000\n"
             "Message-ID: <inner.1@example.com>\n"
             "MIME-Version: 1.0\n"
             "Content-Type: multipart/mixed; boundary=\"inner-1\"\n"
             "\n"
             "--inner-1\n"
             "Content-Type: text/plain; charset=iso-8859-1\n"
             "Content-Transfer-Encoding: quoted-printable\n"
             "\n" + qp(iconv("Ils m'ont suivi jusqu'à la maison après l'audience.\n",
                             "ISO-8859-1")).decode() +
             "--inner-1\n"
             "Content-Type: image/jpeg; name=\"car.jpg\"\n"
             "Content-Disposition: attachment; filename=\"car.jpg\"\n"
             "Content-Transfer-Encoding: base64\n"
             "\n" + b64(photo).decode() +
             "--inner-1--\n")
    write("forwarded-rfc822-with-attachment.eml",
          "From: Amara Diallo <amara.diallo@example.org>\n"
          "To: reprisals@example.org\n"
          "Subject: Fwd: Menaces reçues\n"
          "Date: Mon, 3 Jun 2024 07:00:00 +0000\n"
          "MIME-Version: 1.0\n"
          "Content-Type: multipart/mixed; boundary=\"outer-1\"\n"
          "\n"
          "--outer-1\n"
          "Content-Type: text/plain; charset=utf-8\n"
          "\n"
          "I forward the message Kwame received last night.\n"
          "--outer-1\n"
          "Content-Type: message/rfc822; name=\"Menaces.eml\"\n"
          "Content-Disposition: attachment; filename=\"Menaces.eml\"\n"
          "\n" + inner +
          "--outer-1--\n")
    return len(photo)


def damaged():
    write("missing-closing-boundary.eml",
          "From: Nadia Rahman <nadia.rahman@example.org>\n"
          "To: reprisals@example.org\n"
          "Subject: Cut off\n"
          "Date: Tue, 11 Jun 2024 05:00:00 +0600\n"
          "MIME-Version: 1.0\n"
          "Content-Type: multipart/mixed; boundary=\"never-closed\"\n"
          "\n"
          "--never-closed\n"
          "Content-Type: text/plain; charset=utf-8\n"
          "\n"
          "My brother was taken from his office on Monday morning.\n"
          "--never-closed\n"
          "Content-Type: application/octet-stream; name=\"list.bin\"\n"
          "Content-Transfer-Encoding: base64\n"
          "\n"
          "AAECAwQFBgcICQ==\n")
    write("charset-unknown.eml",
          b"From: Nadia Rahman <nadia.rahman@example.org>\n"
          b"To: reprisals@example.org\n"
          b"Subject: Unknown charsets\n"
          b"Date: Tue, 11 Jun 2024 05:10:00 +0600\n"
          b"MIME-Version: 1.0\n"
          b"Content-Type: multipart/mixed; boundary=\"u\"\n"
          b"\n"
          b"--u\n"
          b"Content-Type: text/plain; charset=x-unknown-42\n"
          b"Content-Transfer-Encoding: 8bit\n"
          b"\n" + "Первый отчёт: их допросили в Душанбе.\n".encode() +
          b"--u\n"
          b"Content-Type: text/plain; charset=x-unknown-42\n"
          b"Content-Transfer-Encoding: 8bit\n"
          b"\n" + iconv("Deuxième rapport : arrêtés à Niamey.\n", "ISO-8859-1") +
          b"--u--\n")
    write("charset-wrong-usascii.eml",
          b"From: Nadia Rahman <nadia.rahman@example.org>\n"
          b"To: reprisals@example.org\n"
          b"Subject: Wrong charset\n"
          b"Date: Tue, 11 Jun 2024 05:20:00 +0600\n"
          b"MIME-Version: 1.0\n"
          b"Content-Type: text/plain; charset=us-ascii\n"
          b"Content-Transfer-Encoding: 7bit\n"
          b"\n" + "Ärztin Zoë Ngũgĩ wurde in Nairobi bedroht — 威胁.\n".encode())
    write("nul-bytes.eml",
          b"From: Nadia Rahman <nadia.rahman@example.org>\n"
          b"To: reprisals@example.org\n"
          b"Subject: Before\x00After the NUL\n"
          b"X-Tracking: a\x00b\n"
          b"Date: Tue, 11 Jun 2024 05:30:00 +0600\n"
          b"MIME-Version: 1.0\n"
          b"Content-Type: text/plain; charset=utf-8\n"
          b"\n"
          b"The first line\x00 has a NUL.\n"
          b"Text after the NUL is still read.\n")
    write("no-headers-bare-body.eml",
          "Hello, I was arrested on 3 June after speaking to the UN.\n"
          "Please help.\n")
    write("random-bytes.eml", b"\x00" + blob(99, 2047))


def crypto():
    armored_sig = ("-----BEGIN PGP SIGNATURE-----\n\n"
                   "iQEzBAEBCAAdFiEEfakefakefakefakefakefakefakefakeFAmZhAAAACgkQ\n"
                   "=fake\n-----END PGP SIGNATURE-----\n")
    armored_msg = ("-----BEGIN PGP MESSAGE-----\n\n"
                   "hQIMA/fakefakefakeAQ//fakefakefakefakefakefakefakefakefakefake\n"
                   "0lIBfakefakefakefakefakefakefakefakefakefakefakefakefakefake\n"
                   "=fake\n-----END PGP MESSAGE-----\n")
    write("pgp-mime-signed.eml",
          "From: Amara Diallo <amara.diallo@example.org>\n"
          "To: reprisals@example.org\n"
          "Subject: Signed statement\n"
          "Date: Wed, 12 Jun 2024 09:00:00 +0000\n"
          "MIME-Version: 1.0\n"
          "Content-Type: multipart/signed; micalg=pgp-sha256;\n"
          " protocol=\"application/pgp-signature\"; boundary=\"sig-1\"\n"
          "\n"
          "--sig-1\n"
          "Content-Type: text/plain; charset=utf-8\n"
          "\n"
          "I confirm every word of my earlier statement.\n"
          "--sig-1\n"
          "Content-Type: application/pgp-signature; name=\"signature.asc\"\n"
          "Content-Disposition: attachment; filename=\"signature.asc\"\n"
          "\n" + armored_sig +
          "--sig-1--\n")
    write("pgp-mime-encrypted.eml",
          "From: Amara Diallo <amara.diallo@example.org>\n"
          "To: reprisals@example.org\n"
          "Subject: ...\n"
          "Date: Wed, 12 Jun 2024 09:05:00 +0000\n"
          "MIME-Version: 1.0\n"
          "Content-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\";\n"
          " boundary=\"enc-1\"\n"
          "\n"
          "--enc-1\n"
          "Content-Type: application/pgp-encrypted\n"
          "Content-Description: PGP/MIME version identification\n"
          "\n"
          "Version: 1\n"
          "\n"
          "--enc-1\n"
          "Content-Type: application/octet-stream; name=\"encrypted.asc\"\n"
          "Content-Disposition: inline; filename=\"encrypted.asc\"\n"
          "\n" + armored_msg +
          "\n--enc-1--\n")
    p7m = b"\x30\x82\x01\x00" + blob(31, 252)
    write("smime-encrypted.eml",
          "From: Amara Diallo <amara.diallo@example.org>\n"
          "To: reprisals@example.org\n"
          "Subject: Encrypted with S/MIME\n"
          "Date: Wed, 12 Jun 2024 09:10:00 +0000\n"
          "MIME-Version: 1.0\n"
          "Content-Type: application/pkcs7-mime; smime-type=enveloped-data; name=\"smime.p7m\"\n"
          "Content-Disposition: attachment; filename=\"smime.p7m\"\n"
          "Content-Transfer-Encoding: base64\n"
          "\n" + b64(p7m).decode())
    p7s = b"\x30\x82\x00\xc0" + blob(32, 188)
    write("smime-signed.eml",
          "From: Amara Diallo <amara.diallo@example.org>\n"
          "To: reprisals@example.org\n"
          "Subject: Signed with S/MIME\n"
          "Date: Wed, 12 Jun 2024 09:15:00 +0000\n"
          "MIME-Version: 1.0\n"
          "Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\";\n"
          " micalg=sha-256; boundary=\"smime-1\"\n"
          "\n"
          "--smime-1\n"
          "Content-Type: text/plain; charset=utf-8\n"
          "\n"
          "The S/MIME signed part: they searched our office twice.\n"
          "--smime-1\n"
          "Content-Type: application/pkcs7-signature; name=\"smime.p7s\"\n"
          "Content-Disposition: attachment; filename=\"smime.p7s\"\n"
          "Content-Transfer-Encoding: base64\n"
          "\n" + b64(p7s).decode() +
          "--smime-1--\n")
    return len(armored_sig), len(armored_msg), len(p7m), len(p7s)


def delivered_to():
    write("delivered-to-plus-addressing.eml",
          "Return-Path: <farid.karimi@example.net>\n"
          "Delivered-To: reprisals+urgent@example.org\n"
          "Received: from mail.example.org (localhost [127.0.0.1])\n"
          "\tby imap.example.org (Dovecot) with LMTP id abc123\n"
          "\tfor <reprisals+urgent@example.org>; Thu, 13 Jun 2024 14:02:07 +0000\n"
          "Delivered-To: intake@example.org\n"
          "Received: from relay.example.net (relay.example.net [198.51.100.7])\n"
          "\tby mail.example.org (Postfix) with ESMTPS id 4W0\n"
          "\tfor <intake@example.org>; Thu, 13 Jun 2024 14:01:59 +0000\n"
          "From: Farid Karimi <farid.karimi@example.net>\n"
          "Sender: Lawyers Collective <list@lawyers.example.net>\n"
          "Reply-To: Farid (private) <f.karimi+safe@example.net>\n"
          "To: Reprisals <reprisals+urgent@example.org>\n"
          "Cc: undisclosed-recipients:;\n"
          "Subject: Travel ban after UN session\n"
          "Date: Thu, 13 Jun 2024 17:31:00 +0330\n"
          "Message-ID: <travel-ban.42@example.net>\n"
          "MIME-Version: 1.0\n"
          "Content-Type: text/plain; charset=utf-8\n"
          "\n"
          "My passport was confiscated at the airport on my way to Geneva.\n")


def split_words(text, parts):
    """TEXT's UTF-8 bytes cut into PARTS base64 words at arbitrary byte offsets,
    so that multi-byte characters are split across words (as some clients do)."""
    data = text.encode()
    step = -(-len(data) // parts)
    chunks = [data[i:i + step] for i in range(0, len(data), step)]
    return " ".join("=?UTF-8?B?%s?=" % base64.b64encode(c).decode() for c in chunks)


def real_world_shapes():
    """Issue 13: shapes seen in real mail that GMime alone reads wrong."""
    name = "Zoë Ngũgĩ-Ølander Wanjirũ"
    subject = "Überwachung nach der Anhörung — 监视 — слежка"
    write("encoded-words-split-run.eml",
          "From: " + split_words(name, 4) + " <zoe.ngugi@example.org>\n"
          "To: =?x-unknown-99?B?SGVsbG8=?= <desk@example.org>, "
          "=?UTF-8?B?QW5hIFBhdGnDsW8=?= =?UTF-8?B?!!broken**?= <ana.patino@example.net>\n"
          "Subject: " + split_words(subject, 4) + "\n"
          "Date: Mon, 17 Jun 2024 10:00:00 +0000\n"
          "Message-ID: <split-run.1@example.org>\n"
          "MIME-Version: 1.0\n"
          "Content-Type: multipart/mixed; boundary=\"b1\"\n"
          "\n"
          "--b1\n"
          "Content-Type: text/plain; charset=utf-8\n"
          "\n"
          "I am followed since the hearing. Zoë Ngũgĩ-Ølander Wanjirũ\n"
          "--b1\n"
          "Content-Type: application/pdf\n"
          "Content-Disposition: attachment;\n"
          " filename=\"" + split_words("Protokoll_Anhörung_Überwachung.pdf", 3) + "\"\n"
          "Content-Transfer-Encoding: base64\n"
          "\n"
          + b64(b"%PDF-1.4 minimal\n").decode() +
          "--b1--\n")
    write("alternative-empty-plain.eml",
          "From: Idris Bello <idris.bello@example.org>\n"
          "To: reprisals@example.org\n"
          "Subject: Empty plain alternative\n"
          "Date: Mon, 17 Jun 2024 10:05:00 +0000\n"
          "MIME-Version: 1.0\n"
          "Content-Type: multipart/alternative; boundary=\"alt\"\n"
          "\n"
          "--alt\n"
          "Content-Type: text/plain; charset=utf-8\n"
          "Content-Transfer-Encoding: quoted-printable\n"
          "\n"
          "  =20\n"
          "\t\n"
          "--alt\n"
          "Content-Type: text/html; charset=utf-8\n"
          "\n"
          "<html><body><p>My brother was detained at the border post.</p></body></html>\n"
          "--alt--\n")
    write("mislabelled-utf8-latin1.eml",
          "From: Maëlys Kaboré <maelys.kabore@example.org>\n"
          "To: reprisals@example.org\n"
          "Subject: Mislabelled\n"
          "Date: Mon, 17 Jun 2024 10:10:00 +0000\n"
          "MIME-Version: 1.0\n"
          "Content-Type: text/plain; charset=ISO-8859-1\n"
          "Content-Transfer-Encoding: 8bit\n"
          "\n"
          "Les policiers ont confisqué nos téléphones à Ouagadougou — « sans mandat ».\n")
    write("format-flowed.eml",
          "From: Tomasz Nowicki <tomasz.nowicki@example.org>\n"
          "To: reprisals@example.org\n"
          "Subject: Flowed\n"
          "Date: Mon, 17 Jun 2024 10:15:00 +0000\n"
          "MIME-Version: 1.0\n"
          "Content-Type: text/plain; charset=utf-8; format=flowed\n"
          "\n"
          "After the meeting in Geneva two men \n"
          "waited outside my office and \n"
          "photographed everyone who left.\n"
          "\n"
          "> Did they speak \n"
          "> to you?\n"
          " From then on I used the back door.\n"
          "-- \n"
          "Tomasz\n")
    write("format-flowed-delsp.eml",
          "From: Hana Kobayashi <hana.kobayashi@example.org>\n"
          "To: reprisals@example.org\n"
          "Subject: Flowed DelSp\n"
          "Date: Mon, 17 Jun 2024 10:20:00 +0000\n"
          "MIME-Version: 1.0\n"
          "Content-Type: text/plain; charset=utf-8; format=flowed; delsp=yes\n"
          "\n"
          "会合の後、警察が \n"
          "事務所に来ました。\n")
    inner = ("From: Samir Haddad <samir.haddad@example.net>\n"
             "To: Leila Nasser <leila.nasser@example.org>\n"
             "Subject: Summons\n"
             "Date: Sun, 16 Jun 2024 09:00:00 +0000\n"
             "MIME-Version: 1.0\n"
             "Content-Type: multipart/mixed; boundary=\"in\"\n"
             "\n"
             "--in\n"
             "Content-Type: text/plain; charset=utf-8\n"
             "\n"
             "You are summoned to the prosecutor on Tuesday.\n"
             "--in\n"
             "Content-Type: image/png\n"
             "Content-Disposition: attachment; filename=\"summons.png\"\n"
             "Content-Transfer-Encoding: base64\n"
             "\n"
             + b64(b"\x89PNG\r\n\x1a\nnot-really-an-image").decode() +
             "--in--\n")
    write("forwarded-rfc822-base64.eml",
          "From: Leila Nasser <leila.nasser@example.org>\n"
          "To: reprisals@example.org\n"
          "Subject: Fwd: Summons\n"
          "Date: Mon, 17 Jun 2024 10:25:00 +0000\n"
          "MIME-Version: 1.0\n"
          "Content-Type: multipart/mixed; boundary=\"out\"\n"
          "\n"
          "--out\n"
          "Content-Type: text/plain; charset=utf-8\n"
          "\n"
          "See the summons below.\n"
          "--out\n"
          "Content-Type: message/rfc822\n"
          "Content-Disposition: attachment; filename=\"summons.eml\"\n"
          "Content-Transfer-Encoding: base64\n"
          "\n"
          + b64(inner.encode()).decode() +
          "--out--\n")
    write("damaged-whitespace-line.eml",
          "From: Ruth Mbeki <ruth.mbeki@example.org>\n"
          "To: reprisals@example.org\n"
          "Subject: White-space line\n"
          "Date: Mon, 17 Jun 2024 10:30:00 +0000\n"
          "Content-Type: text/plain; charset=utf-8\n"
          "   \n"
          "Dear office,\n"
          "my colleague has not been seen since Friday.\n")
    write("damaged-boundary-nomatch.eml",
          "From: Ruth Mbeki <ruth.mbeki@example.org>\n"
          "To: reprisals@example.org\n"
          "Subject: Boundary matches nothing\n"
          "Date: Mon, 17 Jun 2024 10:35:00 +0000\n"
          "MIME-Version: 1.0\n"
          "Content-Type: multipart/mixed; boundary=\"expected-boundary\"\n"
          "\n"
          "--other-boundary\n"
          "Content-Type: text/plain; charset=utf-8\n"
          "\n"
          "The court hearing was moved without notice.\n"
          "--other-boundary--\n")


def tnef_attribute(level, attribute, data):
    """One TNEF attribute: level, id, length, data, 16-bit checksum of the data."""
    return (struct.pack("<BII", level, attribute, len(data)) + data +
            struct.pack("<H", sum(data) & 0xFFFF))


def tnef_mapi_unicode(prop_id, text):
    """A MAPI property block with one PT_UNICODE value (UTF-16LE, NUL-ended)."""
    value = text.encode("utf-16-le") + b"\0\0"
    padded = value + b"\0" * (-len(value) % 4)
    return struct.pack("<IHHII", 1, 0x001F, prop_id, 1, len(value)) + padded


def winmail_dat():
    """A small winmail.dat written from the TNEF format description (MS-OXTNEF):
    a windows-1252 body, one file with a long Unicode name in its MAPI
    properties, one with only its 8.3 title."""
    message, attachment = 1, 2
    out = struct.pack("<IH", 0x223E9F78, 0x0C01)
    out += tnef_attribute(message, 0x00089006, struct.pack("<I", 0x00010000))  # version
    out += tnef_attribute(message, 0x00069007, struct.pack("<II", 1252, 0))  # code page
    out += tnef_attribute(message, 0x00078008, b"IPM.Microsoft Mail.Note\0")
    out += tnef_attribute(message, 0x0002800C,  # attBody
                          "Die Festnahme geschah am Montag vor dem Gericht in Köln.\r\n"
                          .encode("cp1252") + b"\0")
    renddata = struct.pack("<HIHHI", 1, 0xFFFFFFFF, 0, 0, 0)
    out += tnef_attribute(attachment, 0x00069002, renddata)
    out += tnef_attribute(attachment, 0x00018010, b"BERICH~1.TXT\0")
    out += tnef_attribute(attachment, 0x0006800F, "Protokoll der Anhörung.\n".encode())
    out += tnef_attribute(attachment, 0x00069005,
                          tnef_mapi_unicode(0x3707, "Bericht über die Festnahme.txt"))
    out += tnef_attribute(attachment, 0x00069002, renddata)
    out += tnef_attribute(attachment, 0x00018010, b"photo.jpg\0")
    out += tnef_attribute(attachment, 0x0006800F, b"\xff\xd8\xff\xe0 not really a photo")
    return out


def tnef():
    data = winmail_dat()
    write("tnef-winmail-dat.tnef", data)
    write("tnef-winmail-dat.eml",
          "From: Greta Lindqvist <greta.lindqvist@example.org>\n"
          "To: reprisals@example.org\n"
          "Subject: Festnahme\n"
          "Date: Mon, 17 Jun 2024 10:40:00 +0000\n"
          "MIME-Version: 1.0\n"
          "Content-Type: multipart/mixed; boundary=\"ms\"\n"
          "\n"
          "--ms\n"
          "Content-Type: text/plain; charset=utf-8\n"
          "\n"
          "Siehe Anhang.\n"
          "--ms\n"
          "Content-Type: application/ms-tnef; name=\"winmail.dat\"\n"
          "Content-Disposition: attachment; filename=\"winmail.dat\"\n"
          "Content-Transfer-Encoding: base64\n"
          "\n"
          + b64(data).decode() +
          "--ms--\n")


def main():
    charsets()
    encoded_words()
    html_only()
    alternative()
    sizes = {"attachments": attachments(), "forwarded": forwarded(), "crypto": crypto()}
    damaged()
    delivered_to()
    real_world_shapes()
    tnef()
    print(sizes)


if __name__ == "__main__":
    main()
