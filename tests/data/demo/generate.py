#!/usr/bin/env python3
"""Writes the demo corpus of tests/data/demo/ (run from anywhere; stdlib only,
output is deterministic). Twelve reports of reprisals for cooperation with the
United Nations: 01-11 are well-formed RFC 5322 messages, 12 has no header block.

Everything here is FICTIONAL: people, organisations and events are invented;
addresses use example.org/.net/.com only; IP addresses are in the
documentation ranges (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24,
2001:db8::/32); phone numbers are in ranges reserved for drama and fiction
(UK +44 7700 900xxx, North America 555-01xx, France +33 6 39 98 xx xx,
Australia +61 491 570 xxx, Ireland +353 20 910 xxxx).
"""

import base64
import binascii
import datetime
import os
import quopri
import struct
import urllib.parse
import zlib
from email.utils import format_datetime

HERE = os.path.dirname(os.path.abspath(__file__))


# ---- helpers -------------------------------------------------------------

def date(y, mo, d, h, mi, s, offset_minutes):
    """An RFC 5322 date (the weekday computed, not typed)."""
    tz = datetime.timezone(datetime.timedelta(minutes=offset_minutes))
    return format_datetime(datetime.datetime(y, mo, d, h, mi, s, tzinfo=tz))


def b64(data):
    """Base64 in 76-column lines, LF-terminated."""
    return base64.encodebytes(data).decode("ascii")


def qp(data):
    """Quoted-printable of DATA (bytes with LF line ends), LF-terminated."""
    return quopri.encodestring(data).decode("ascii")


def encoded_words(text, charset, mode="B", first_room=60):
    """TEXT as one or more RFC 2047 encoded words in CHARSET, folded so that
    no word is longer than 75 characters. Words are separated by CRLF-less
    folding ("\\n "), which write() turns into the file's line ending."""
    words, chunk = [], ""

    def enc(s):
        raw = s.encode(charset)
        if mode == "B":
            body = base64.b64encode(raw).decode("ascii")
        else:
            body = "".join(
                "_" if b == 0x20 else
                chr(b) if (chr(b).isascii() and chr(b).isalnum()) else
                "=%02X" % b for b in raw)
        return "=?%s?%s?%s?=" % (charset, mode, body)

    for ch in text:
        room = first_room if not words else 75
        if len(enc(chunk + ch)) > room and chunk:
            words.append(enc(chunk))
            chunk = ""
        chunk += ch
    if chunk:
        words.append(enc(chunk))
    return "\n ".join(words)


def rfc2231(name, charset="UTF-8"):
    """The extended filename*= value for NAME."""
    return "%s''%s" % (charset, urllib.parse.quote(name.encode(charset), safe=""))


def rfc2231_split(param, name, charset="UTF-8", width=60):
    """PARAM*0*=..; PARAM*1*=.. continuations for NAME (RFC 2231 section 3),
    cut between characters, one per folded line."""
    pieces, cur = [], charset + "''"
    for ch in name:
        tok = urllib.parse.quote(ch.encode(charset), safe="")
        if len(cur) + len(tok) > width:
            pieces.append(cur)
            cur = ""
        cur += tok
    pieces.append(cur)
    return ";\n ".join("%s*%d*=%s" % (param, n, v) for n, v in enumerate(pieces))


def write(name, text, crlf=False):
    """Writes TEXT (str with LF line ends, or bytes) as NAME."""
    data = text.encode("ascii") if isinstance(text, str) else text
    if crlf:
        assert b"\r" not in data
        data = data.replace(b"\n", b"\r\n")
    path = os.path.join(HERE, name)
    with open(path, "wb") as f:
        f.write(data)
    return path


def tiny_pdf(lines):
    """A small, valid one-page PDF 1.4 showing LINES (ASCII)."""
    stream = "BT /F1 11 Tf 56 780 Td 14 TL\n"
    for line in lines:
        stream += "(%s) '\n" % line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
    stream += "ET\n"
    objs = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        "/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        "<< /Length %d >>\nstream\n%sendstream" % (len(stream), stream),
    ]
    out = "%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"
    offsets = []
    for i, obj in enumerate(objs, 1):
        offsets.append(len(out.encode("latin-1")))
        out += "%d 0 obj\n%s\nendobj\n" % (i, obj)
    xref = len(out.encode("latin-1"))
    out += "xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    for off in offsets:
        out += "%010d 00000 n \n" % off
    out += "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
    return out.encode("latin-1")


def tiny_png(width=24, height=16):
    """A small, valid greyscale PNG: a dark car-shaped block on a light ground."""
    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", binascii.crc32(body) & 0xFFFFFFFF)

    rows = bytearray()
    for y in range(height):
        rows.append(0)  # filter: none
        for x in range(width):
            car = 4 <= x < 20 and 6 <= y < 12 or 8 <= x < 16 and 3 <= y < 6
            wheel = y in (12, 13) and (x in (6, 7) or x in (16, 17))
            rows.append(0x30 if car else 0x10 if wheel else 0xD8)
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) +
            chunk(b"IDAT", zlib.compress(bytes(rows), 9)) + chunk(b"IEND", b""))


def assemble(headers, body):
    """HEADERS (list of (name, value) with folded values) and BODY (str) as
    one str with LF line ends."""
    return "".join("%s: %s\n" % hv for hv in headers) + "\n" + body


def received(helo, host, ip, by, msgid_token, stamp, for_addr="reprisals@example.org",
             extra="with ESMTPS id"):
    return ("from %s (%s [%s])\n\tby %s (Postfix) %s %s\n\tfor <%s>; %s"
            % (helo, host, ip, by, extra, msgid_token, for_addr, stamp))


# ---- 01: Egypt, travel ban, Human Rights Council (English, plain) ---------

def msg01():
    d = date(2025, 3, 11, 9, 42, 17, 120)
    body = """\
Dear colleagues of the reprisals team,

I am writing on behalf of the Cairo Centre for Legal Aid (CCLA) to report a
travel ban imposed on our colleague Mr. Karim Abdelrahman Youssef, a lawyer
who was due to speak at a side event during the 58th session of the Human
Rights Council in Geneva.

What happened:

1. On 24 February 2025 at about 06:40, Mr. Youssef presented himself at
   Cairo International Airport, Terminal 3, to board a morning flight to
   Geneva. The passport control officer kept his passport for almost two
   hours, then told him he was "banned from travel by order of the Public
   Prosecution". No written decision was shown to him.

2. Before he left the airport, two men in civilian clothes took him to a
   side office for about forty minutes. They asked about the side event,
   the names of the other speakers, and whether he had "met people from the
   High Commissioner's office" on earlier trips. They photographed his
   invitation letter from the event organisers.

3. On 2 March 2025 he filed a written request at the Public Prosecutor's
   office for a copy of the order. As of today he has received no reply and
   his lawyer was told informally that "the file is with State Security".

4. On 9 March 2025 a pro-government news site published an article naming
   him among "those who defame Egypt in Geneva", with a photograph taken at
   the Palais des Nations in 2023.

Mr. Youssef also contributed to a joint stakeholder submission for Egypt's
fourth-cycle Universal Periodic Review (January 2025). We believe the ban is
a direct consequence of this cooperation.

Mr. Youssef consents to his case being raised with the Government. He asks
that his home address and the names of his children are not shared with
anyone. He prefers to be contacted through me, not directly.

We can send copies of the flight booking, the side-event invitation and the
newspaper article if useful.

Kind regards,
Mona Saleh

-- 
Mona Saleh
Programme Officer, Cairo Centre for Legal Aid (CCLA)
Mobile / Signal: +44 7700 900412
Personal address: mona.saleh.cairo@example.com
"""
    headers = [
        ("Return-Path", "<mona.saleh@example.net>"),
        ("Received", received("mail.example.net", "mail.example.net", "203.0.113.45",
                              "mx.example.org", "4Z3kQh2xTbz9rGv",
                              "Tue, 11 Mar 2025 07:42:21 +0000 (UTC)")),
        ("Received", "from [192.0.2.17] (unknown [192.0.2.17])\n\tby mail.example.net "
                     "(Postfix) with ESMTPSA id 8C1F2600A1\n\tfor <reprisals@example.org>; "
                     + d),
        ("From", "Mona Saleh <mona.saleh@example.net>"),
        ("Reply-To", "Mona Saleh <mona.saleh.cairo@example.com>"),
        ("To", "reprisals@example.org"),
        ("Date", d),
        ("Message-ID", "<d41f0a7e-58c2-4b1e-9a0e-2f6c1b7a9e31@example.net>"),
        ("Subject", "Travel ban on lawyer after planned HRC58 side event - Egypt"),
        ("MIME-Version", "1.0"),
        ("Content-Type", "text/plain; charset=UTF-8; format=flowed"),
        ("Content-Transfer-Encoding", "7bit"),
        ("User-Agent", "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Thunderbird/128.7.1"),
    ]
    write("01-travel-ban-egypt.eml", assemble(headers, body))


# ---- 02: Cote d'Ivoire, detention, UPR follow-up (French UTF-8, PDF) ------

def msg02():
    d = date(2025, 4, 10, 16, 5, 48, 0)
    text = """\
Madame, Monsieur,

Je vous écris au nom de l'Observatoire ivoirien des libertés publiques (OILP)
pour signaler la détention de notre coordonnateur, M. Serge Kouassi Yao, à la
suite de sa participation aux travaux de l'Examen périodique universel (EPU).

Rappel des faits :

- Le 14 mars 2025, M. Yao a présenté, lors d'une manifestation parallèle à la
  58e session du Conseil des droits de l'homme à Genève, le rapport à
  mi-parcours de la société civile sur la mise en œuvre des recommandations
  adressées à la Côte d'Ivoire lors du quatrième cycle de l'EPU.

- Le 4 avril 2025, deux agents en civil ont déposé à notre siège, à
  Abidjan-Cocody, une convocation à se présenter le 7 avril à 9 h à la
  préfecture de police du Plateau « pour affaire le concernant ». Une copie
  de la convocation est jointe.

- Le 7 avril 2025, M. Yao s'est présenté accompagné de son avocat. L'avocat
  a été prié d'attendre à l'extérieur. M. Yao a été placé en garde à vue
  pendant 48 heures. Les questions portaient presque exclusivement sur son
  séjour à Genève : qui avait financé le voyage, quels diplomates il avait
  rencontrés, s'il avait remis des « documents » au Haut-Commissariat.

- Son téléphone et son ordinateur portable ont été saisis sans procès-verbal.
  Il a été libéré le 9 avril vers 18 h sans qu'aucune charge ne lui soit
  notifiée. Ses appareils ne lui ont pas été restitués.

M. Yao donne son accord pour que ces informations soient communiquées aux
autorités ivoiriennes. Il demande toutefois que le nom de son avocat ne soit
pas mentionné.

Nous restons à votre disposition pour tout complément d'information.

Bien cordialement,

Adjoua N'Guessan
Chargée de programme, OILP
"""
    pdf = tiny_pdf([
        "REPUBLIQUE DE COTE D'IVOIRE - Union - Discipline - Travail",
        "PREFECTURE DE POLICE - Plateau",
        "",
        "CONVOCATION No 0417/PP/2025",
        "",
        "Monsieur YAO Kouassi Serge est prie de se presenter",
        "le lundi 7 avril 2025 a 9 heures",
        "pour affaire le concernant.",
        "",
        "Abidjan, le 3 avril 2025",
        "(document fictif - corpus de demonstration)",
    ])
    boundary = "------------0A7cT3vYqL2mR9sPw4nXb1Ke"
    body = """\
This is a multi-part message in MIME format.
--%(b)s
Content-Type: text/plain; charset=UTF-8; format=flowed
Content-Transfer-Encoding: 8bit

%(text)s
--%(b)s
Content-Type: application/pdf; name="convocation-2025-04-07.pdf"
Content-Disposition: attachment; filename="convocation-2025-04-07.pdf"
Content-Transfer-Encoding: base64

%(pdf)s
--%(b)s--
""" % {"b": boundary, "text": text, "pdf": b64(pdf)}
    head = [
        ("Return-Path", "<a.nguessan@example.net>"),
        ("Received", received("smtp.example.net", "smtp.example.net", "198.51.100.23",
                              "mx.example.org", "4Z9mWq0Lrfz1Jk7",
                              "Thu, 10 Apr 2025 16:05:52 +0000 (UTC)",
                              for_addr="reprisals+africa@example.org")),
        ("From", "=?UTF-8?Q?Adjoua_N=E2=80=99Guessan?= <a.nguessan@example.net>"),
        ("To", "reprisals+africa@example.org"),
        ("Cc", "secretariat@example.net"),
        ("Date", d),
        ("Message-ID", "<7b2e91c4-0f3a-4d6e-b8a1-5c9e2d4f6a10@example.net>"),
        ("Subject", encoded_words("Détention de M. Yao après sa participation à l'EPU",
                                  "UTF-8", "Q")),
        ("MIME-Version", "1.0"),
        ("Content-Type", 'multipart/mixed;\n boundary="%s"' % boundary),
        ("Content-Language", "fr"),
    ]
    data = assemble(head, "").encode("ascii") + body.encode("utf-8")
    write("02-detention-upr-cote-divoire.eml", data, crlf=True)


# ---- 03: Burundi, family harassment, Special Rapporteur (ISO-8859-1, QP) ---

def msg03():
    d = date(2025, 2, 3, 21, 17, 2, 60)
    text = """\
Bonjour,

Je m'appelle Claudine Niyonzima. Je suis défenseure des droits humains
burundaise et je vis en France depuis 2016. Je vous écris parce que ma
famille restée à Bujumbura est harcelée depuis que j'ai rencontré le
Rapporteur spécial sur la situation des droits de l'homme au Burundi.

Le 28 novembre 2024, j'ai été entendue à Genève par le Rapporteur spécial
et son équipe, dans le cadre de la préparation de son rapport au Conseil
des droits de l'homme. J'ai parlé des disparitions dans la commune de
Mutimbuzi et j'ai remis une liste de noms.

Depuis :

- le 19 décembre 2024 vers 20 h, trois hommes, dont deux que ma mère
  reconnaît comme des membres des Imbonerakure du quartier et un agent du
  Service national de renseignement, sont venus chez elle à Kamenge. Ils
  ont demandé où j'habite et « pourquoi elle salit le pays chez les
  Blancs ». Ils ont pris sa carte d'identité et ne l'ont pas rendue ;

- le 6 janvier 2025, mon frère cadet, enseignant, a été convoqué par
  l'administrateur communal et averti qu'il perdrait son poste si je
  « continue à parler à l'ONU » ;

- le 27 janvier 2025, ma mère a reçu un appel d'un numéro masqué : on lui a
  dit que « les familles des traîtres finissent mal ».

Ma mère a 67 ans et ne sort plus de chez elle. Je ne souhaite PAS que son
nom ni son adresse soient transmis au gouvernement. Pour mon propre nom,
j'accepte qu'il soit cité. Merci de me dire ce qui est possible sans mettre
ma famille plus en danger.

Je vous remercie de votre attention.

Claudine Niyonzima

-- 
Claudine Niyonzima
Tél. : +33 6 39 98 21 47
Autre adresse : claudine.n@example.com
"""
    head = [
        ("Return-Path", "<bounce-7731@lists.example.net>"),
        ("Received", received("relay.example.net", "relay.example.net", "203.0.113.9",
                              "mx.example.org", "4YmP2s5Hcdz3QvR",
                              "Mon, 03 Feb 2025 20:17:09 +0000 (UTC)")),
        ("Received", "from webmail.example.net (webmail.example.net [203.0.113.10])\n\t"
                     "by relay.example.net (Postfix) with ESMTP id 5F0E21C0042\n\t"
                     "for <reprisals@example.org>; " + d),
        ("From", "Claudine Niyonzima <c.niyonzima@example.net>"),
        ("Sender", "Permanence juridique <permanence@example.net>"),
        ("To", "reprisals@example.org"),
        ("Date", d),
        ("Message-ID", "<20250203201702.GA4417@webmail.example.net>"),
        ("Subject", encoded_words("Harcèlement de ma famille à Bujumbura après mon "
                                  "entretien avec le Rapporteur spécial", "ISO-8859-1", "Q")),
        ("MIME-Version", "1.0"),
        ("Content-Type", "text/plain; charset=ISO-8859-1"),
        ("Content-Transfer-Encoding", "quoted-printable"),
    ]
    write("03-family-harassment-burundi.eml",
          assemble(head, qp(text.encode("iso-8859-1"))))


# ---- 04: Central Asia, surveillance after SR visit (KOI8-R, PNG, RFC 2231) -

def msg04():
    d = date(2025, 1, 22, 11, 3, 55, 300)
    text = """\
Здравствуйте.

Меня зовут Фарход Рахимов, я работаю юристом в общественной организации в
Худжанде (Таджикистан). Пишу, чтобы сообщить о слежке и давлении после
моей встречи со Специальным докладчиком ООН по вопросу о положении
правозащитников во время его визита в страну.

1. 14 ноября 2024 года я вместе с двумя коллегами встретился с
   Докладчиком и его сотрудниками в гостинице в Душанбе. Мы передали
   сведения о трех уголовных делах против адвокатов.

2. С 18 ноября у моего дома почти каждый день стоит серый автомобиль без
   номеров на переднем бампере, в нем двое мужчин. Фотография, сделанная
   моей женой 9 января 2025 года, приложена к письму.

3. 2 декабря 2024 года почтовый сервис сообщил о входе в мой ящик с
   неизвестного адреса 198.51.100.77. Пароль я никому не сообщал. В тот же
   день перестал работать мой аккаунт в Telegram.

4. 16 января 2025 года меня пригласили на "беседу" в областное управление
   ГКНБ. Офицер, не назвавший фамилии, спросил, о чем я говорил с
   "иностранцами из ООН", и сказал, что "лицензия вашей организации может
   быть не продлена".

Я согласен, чтобы мое имя было названо правительству. Прошу не называть
имена моих коллег, которые были на встрече.

С уважением,
Фарход Рахимов
"""
    png = tiny_png()
    boundary = "=_Part_188204_1043876512.1737525835000"
    name = "машина у дома 2025-01-09.png"
    body = """\
--%(b)s
Content-Type: text/plain; charset=KOI8-R
Content-Transfer-Encoding: 8bit

""" % {"b": boundary}
    tail = """
--%(b)s
Content-Type: image/png;
 %(ct)s
Content-Disposition: attachment;
 %(cd)s
Content-Transfer-Encoding: base64

%(png)s
--%(b)s--
""" % {"b": boundary, "ct": rfc2231_split("name", name),
       "cd": rfc2231_split("filename", name), "png": b64(png)}
    head = [
        ("Return-Path", "<f.rakhimov@example.com>"),
        ("Received", received("mail.example.com", "mail.example.com", "IPv6:2001:db8:41::25",
                              "mx.example.org", "4Yd7Rk1NqPz4Tm2",
                              "Wed, 22 Jan 2025 06:04:03 +0000 (UTC)",
                              for_addr="reprisals+asia@example.org")),
        ("Received", "from [198.51.100.140] (helo=[198.51.100.140])\n\tby mail.example.com "
                     "with esmtpsa (TLS1.3) id 1taXkz-0003qB-2L\n\t"
                     "for reprisals+asia@example.org; " + d),
        ("From", encoded_words("Фарход Рахимов", "KOI8-R", "B") + " <f.rakhimov@example.com>"),
        ("To", "reprisals+asia@example.org"),
        ("Date", d),
        ("Message-ID", "<1737525835.188204.f7a3@mail.example.com>"),
        ("Subject", encoded_words("Слежка после встречи со Специальным докладчиком ООН",
                                  "KOI8-R", "B")),
        ("MIME-Version", "1.0"),
        ("Content-Type", 'multipart/mixed; boundary="%s"' % boundary),
        ("X-Mailer", "Mail Client 7.2"),
    ]
    data = (assemble(head, "").encode("ascii") + body.encode("ascii") +
            text.encode("koi8_r") + tail.encode("ascii"))
    write("04-surveillance-sr-visit-tajikistan.eml", data)


# ---- 05: Belarus, threats after CAT review (windows-1251 QP, .txt) ---------

def msg05():
    d = date(2025, 5, 19, 14, 28, 10, 180)
    text = """\
Уважаемые коллеги!

Я адвокат, с 2021 года живу в Вильнюсе. Сообщаю о преследовании моей
коллеги из Минска — Ольги Сергеевны Ковалевич, — которое, по нашему
убеждению, связано с ее участием в подготовке альтернативного доклада для
Комитета ООН против пыток.

Доклад о пытках в местах лишения свободы был направлен в Комитет в
феврале 2025 года. Ольга собирала показания бывших заключенных, ее имя
указано в докладе как контактное лицо (мы сожалеем об этом решении).

Кратко:
— 8 апреля 2025 года в ее квартире провели обыск сотрудники ГУБОПиК,
  изъяты ноутбук, два телефона и бумажные копии показаний;
— ее допросили по статье 361-1 УК («участие в экстремистском
  формировании»), спрашивали о «связях с Женевой»;
— с 15 апреля ей звонят с незнакомых номеров и говорят, что ее сына
  (14 лет) «заберут в интернат», если она «не прекратит»;
— 2 мая ей запретили выезд из страны на границе с Литвой (пункт
  пропуска «Каменный Лог»), без объяснения причин.

Подробная хронология приложена отдельным файлом. Ольга согласна, чтобы ее
случай был передан властям Беларуси, но просит не упоминать ее сына по
имени.

С уважением,
Андрей Мельник

-- 
Андрей Мельник, адвокат
тел.: +353 20 910 4471
резервный адрес: a.melnik.lt@example.com
"""
    chronology = """\
Хронология (составлена А. Мельником по словам О. Ковалевич)

2025-02-10  Альтернативный доклад направлен в Комитет против пыток.
2025-03-19  Публикация доклада на сайте организации; имя О.К. в разделе "Контакты".
2025-04-08  06:50 обыск в квартире, ул. [адрес не указывается]; изъяты ноутбук, 2 телефона.
2025-04-08  11:00-17:30 допрос в ГУБОПиК, ст. 361-1 УК; вопросы о "Женеве" и "ООН".
2025-04-15  Первый звонок с угрозами в адрес сына (номер скрыт).
2025-04-22  Второй звонок; назван адрес школы сына.
2025-05-02  Отказ в выезде, пункт пропуска "Каменный Лог"; паспорт возвращен через 3 часа.
2025-05-12  Вызов в районный отдел образования "по поводу условий воспитания ребенка".
"""
    boundary = "----=_NextPart_000_0019_01DBC8A1.4F3E2B70"
    name = "хронология Ковалевич.txt"
    body = """\
This is a multi-part message in MIME format.

--%(b)s
Content-Type: text/plain;
\tcharset="windows-1251"
Content-Transfer-Encoding: quoted-printable

%(text)s
--%(b)s
Content-Type: text/plain; charset="utf-8";
\tname*=%(n)s
Content-Transfer-Encoding: base64
Content-Disposition: attachment;
\tfilename*=%(n)s

%(att)s
--%(b)s--
""" % {"b": boundary, "text": qp(text.encode("cp1251")), "n": rfc2231(name),
       "att": b64(chronology.encode("utf-8"))}
    head = [
        ("Return-Path", "<a.melnik@example.org>"),
        ("Received", received("out.example.org", "out.example.org", "192.0.2.88",
                              "mx.example.org", "4ZxbS9yTq2z8Vn5",
                              "Mon, 19 May 2025 11:28:14 +0000 (UTC)")),
        ("From", encoded_words("Андрей Мельник", "windows-1251", "B") + " <a.melnik@example.org>"),
        ("To", "<reprisals@example.org>"),
        ("Date", d),
        ("Message-ID", "<000f01dbc8a1$4f3e2b70$eebb8250$@example.org>"),
        ("Subject", encoded_words("Угрозы и запрет на выезд после доклада в Комитет "
                                  "против пыток (Беларусь)", "windows-1251", "B")),
        ("MIME-Version", "1.0"),
        ("Content-Type", 'multipart/mixed;\n\tboundary="%s"' % boundary),
        ("X-Mailer", "Microsoft Outlook 16.0"),
        ("Content-Language", "ru"),
    ]
    write("05-threats-after-cat-review-belarus.eml", assemble(head, body), crlf=True)


# ---- 06: Bahrain, brother detained after HRC side event (Arabic, base64) ---

def msg06():
    d = date(2024, 10, 14, 8, 51, 30, 60)
    text = """\
السادة فريق الأعمال الانتقامية المحترمين،

تحية طيبة وبعد،

اسمي علي حسن المطوع، ناشط بحريني مقيم في لندن منذ عام ٢٠١٣. أكتب إليكم
للإبلاغ عن اعتقال أخي الأصغر، السيد جعفر حسن المطوع، في البحرين، وأعتقد أن
ذلك جاء انتقاماً من مشاركتي في فعالية جانبية خلال الدورة السابعة والخمسين
لمجلس حقوق الإنسان في جنيف.

الوقائع:

١. في ١٩ سبتمبر ٢٠٢٤ تحدثت في فعالية جانبية في قصر الأمم عن أوضاع السجناء
   السياسيين، وذكرت أسماء ثلاثة معتقلين بموافقة عائلاتهم.

٢. في ٢٦ سبتمبر ٢٠٢٤ عند الساعة الرابعة فجراً تقريباً، داهمت قوة أمنية بملابس
   مدنية منزل العائلة في سترة، واقتادت أخي جعفر دون إبراز مذكرة توقيف.

٣. احتُجز أخي خمسة أيام في مبنى التحقيقات الجنائية. سُئل مراراً عن اتصالاتي
   في جنيف وعن الأشخاص الذين ساعدوني في إعداد كلمتي. أُفرج عنه في
   ١ أكتوبر ٢٠٢٤ دون توجيه اتهام، لكنه أُبلغ شفهياً بمنعه من السفر.

٤. في ٨ أكتوبر ٢٠٢٤ استُدعي والدي إلى مركز الشرطة وطُلب منه أن "ينصح ابنه
   في الخارج بالتوقف".

يوافق أخي على أن تُثار قضيته مع الحكومة، ويطلب عدم ذكر اسم والدي.

مع خالص الشكر والتقدير،
علي حسن المطوع

-- 
علي حسن المطوع
الهاتف / سيغنال: +44 7700 900731
بريد بديل: ali.almutawa@example.com
"""
    head = [
        ("Return-Path", "<ali.h.mutawa@example.net>"),
        ("Received", received("smtp-out.example.net", "smtp-out.example.net", "198.51.100.201",
                              "mx.example.org", "4XS1Ld6vKmz2Hp0",
                              "Mon, 14 Oct 2024 07:51:36 +0000 (UTC)",
                              for_addr="reprisals+mena@example.org")),
        ("Received", "from [192.0.2.131] (unknown [192.0.2.131])\n\tby smtp-out.example.net "
                     "(Postfix) with ESMTP id 1B2C3D4E5F\n\tfor <reprisals+mena@example.org>; "
                     + d),
        ("From", encoded_words("علي المطوع", "UTF-8", "B") + " <ali.h.mutawa@example.net>"),
        ("Reply-To", encoded_words("علي حسن", "UTF-8", "B") + " <ali.almutawa@example.com>"),
        ("To", "reprisals+mena@example.org"),
        ("Date", d),
        ("Message-ID", "<CAE7x9Qp3mK+4vT2b8LwZfN1sYh0eR6uJd5cA=gW@mail.example.net>"),
        ("Subject", encoded_words("اعتقال أخي بعد مشاركتي في فعالية جانبية بمجلس حقوق "
                                  "الإنسان - البحرين", "UTF-8", "B")),
        ("MIME-Version", "1.0"),
        ("Content-Type", 'text/plain; charset="UTF-8"'),
        ("Content-Transfer-Encoding", "base64"),
        ("Content-Language", "ar"),
    ]
    write("06-brother-detained-bahrain.eml", assemble(head, b64(text.encode("utf-8"))))


# ---- 07: Nicaragua, passport withheld after UPR (Spanish, alternative) ----

def msg07():
    d = date(2024, 12, 2, 18, 36, 4, -360)
    paragraphs = [
        "Estimado equipo:",
        "Les escribo desde San José, Costa Rica, para informar sobre la situación de la "
        "defensora nicaragüense Martha Lucía Espinoza Rocha, integrante del Colectivo "
        "Defensoras & Memoria, tras su participación en la precesión del Examen Periódico "
        "Universal (EPU) de Nicaragua.",
        "El 7 de octubre de 2024 la señora Espinoza regresó a Managua desde Ginebra. En el "
        "Aeropuerto Internacional Augusto C. Sandino, agentes de Migración retuvieron su "
        "pasaporte «para verificación» y no se lo devolvieron. Desde entonces no puede salir "
        "del país.",
        "El 21 de octubre, dos agentes de la Policía Nacional y un funcionario de la alcaldía "
        "visitaron la casa de su madre en Matagalpa. Tomaron fotografías de la vivienda y "
        "preguntaron «a qué se dedica la hija en el extranjero».",
        "Desde el 4 de noviembre, la señora Espinoza debe presentarse cada lunes en la "
        "delegación policial de su distrito y firmar un libro de control. Nadie le ha "
        "notificado por escrito el motivo.",
        "Ella autoriza que su caso se comunique al Estado de Nicaragua. Solicita que no se "
        "mencione el nombre de su madre ni la localidad exacta.",
        "Quedo atenta a cualquier consulta.",
        "Un saludo cordial,\nInés Carvajal Montoya\nCoordinadora de Protección",
    ]
    plain = "\n\n".join(paragraphs) + "\n"

    def html_escape(s):
        out = []
        named = {"&": "&amp;", "<": "&lt;", ">": "&gt;", "á": "&aacute;", "é": "&eacute;",
                 "í": "&iacute;", "ó": "&oacute;", "ú": "&uacute;", "ñ": "&ntilde;",
                 "ü": "&uuml;", "«": "&laquo;", "»": "&raquo;"}
        for ch in s:
            out.append(named.get(ch, ch if ord(ch) < 128 else "&#%d;" % ord(ch)))
        return "".join(out)

    html_paras = "\n".join("<p>%s</p>" % html_escape(p).replace("\n", "<br>\n")
                           for p in paragraphs)
    html = """\
<!DOCTYPE html>
<html lang="es">
<head>
<meta http-equiv="Content-Type" content="text/html; charset=UTF-8">
<style type="text/css">
  body { font-family: Calibri, Arial, sans-serif; font-size: 11pt; color: #1f1f1f; }
  p { margin: 0 0 10px 0; }
  .firma { color: #5a5a5a; font-size: 9pt; border-top: 1px solid #cccccc; }
</style>
</head>
<body>
%s
<div class="firma">Red Centroamericana de Protecci&oacute;n &amp; Acompa&ntilde;amiento<br>
Este mensaje es confidencial.</div>
</body>
</html>
""" % html_paras
    boundary = "_000_MW4PR0701MB2283A1C9E5F04B7D8E2A6B13MW4PR0701MB2283_"
    body = """\
--%(b)s
Content-Type: text/plain; charset="utf-8"
Content-Transfer-Encoding: quoted-printable

%(plain)s
--%(b)s
Content-Type: text/html; charset="utf-8"
Content-Transfer-Encoding: 7bit

%(html)s
--%(b)s--
""" % {"b": boundary, "plain": qp(plain.encode("utf-8")), "html": html}
    head = [
        ("Return-Path", "<icarvajal@example.com>"),
        ("Received", received("mail-relay.example.com", "mail-relay.example.com",
                              "203.0.113.77", "mx.example.org", "4Y2Nf7sZ0Hz6Wq3",
                              "Tue, 03 Dec 2024 00:36:09 +0000 (UTC)",
                              for_addr="reprisals+americas@example.org")),
        ("Received", "from MW4PR0701MB2283.example.com (2001:db8:10:5::2283) by\n\t"
                     "mail-relay.example.com (2001:db8:10:1::77) with Microsoft SMTP Server\n\t"
                     "(version=TLS1_2) id 15.20.8207.17; " + d),
        ("From", "=?utf-8?Q?In=C3=A9s_Carvajal_Montoya?= <icarvajal@example.com>"),
        ("To", "\"reprisals+americas@example.org\" <reprisals+americas@example.org>"),
        ("Date", d),
        ("Message-ID", "<MW4PR0701MB2283A1C9E5F04B7D8E2A6B13@MW4PR0701MB2283.example.com>"),
        ("Subject", encoded_words("Retención de pasaporte y controles policiales tras el "
                                  "EPU - Nicaragua", "utf-8", "Q")),
        ("Accept-Language", "es-CR, en-US"),
        ("Content-Language", "es-CR"),
        ("MIME-Version", "1.0"),
        ("Content-Type", 'multipart/alternative;\n\tboundary="%s"' % boundary),
    ]
    data = assemble(head, "").encode("ascii") + body.encode("ascii")
    write("07-passport-withheld-nicaragua.eml", data)


# ---- 08: Viet Nam, detention after UPR, forwarded (message/rfc822) --------

def msg08():
    d_inner = date(2025, 6, 2, 22, 14, 9, 420)
    d = date(2025, 6, 4, 10, 2, 37, 420)
    inner_text = """\
Dear Ms. Harper,

Thank you for calling me on Sunday. As you asked, I write down what happened
to my husband, Mr. Nguyễn Văn Đức (blogger, 41 years old).

In April 2024 my husband helped to collect information for a civil society
submission to the Universal Periodic Review of Viet Nam. He also travelled
to Bangkok in March 2024 for a UPR preparation workshop.

On 19 May 2025 at about 7 a.m., around ten police officers came to our house
in Hà Đông district, Hà Nội. They searched the house for five hours and took
two laptops, his phone, my phone, and a folder with printed UPR documents.
They showed a decision to detain him under Article 117 of the Penal Code
("making, storing, disseminating information against the State").

He is held at the detention centre of the city police. I have not been
allowed to visit him. The investigator told me that the case is about his
"contacts with hostile organisations and the United Nations".

Since 22 May two men in plain clothes sit at the tea stall in front of our
house every day. My landlord asked us to leave by the end of June.

I agree that you send this to the United Nations. Please do not give my
phone number to anyone.

Trần Thị Lan
"""
    inner = """\
Return-Path: <tran.lan.hn@example.com>
Received: from mail.example.com (mail.example.com [198.51.100.54])
	by mx.example.net (Postfix) with ESMTPS id 4ZbV1m3KcFz5Yt8
	for <e.harper@example.net>; Mon, 02 Jun 2025 15:14:15 +0000 (UTC)
From: %(name)s <tran.lan.hn@example.com>
To: Emily Harper <e.harper@example.net>
Date: %(d)s
Message-ID: <CAK4pT9v8Ns1QmZ0x2WfH7uY6rLb3Ej5dGc=tR@mail.example.com>
Subject: What happened to my husband
MIME-Version: 1.0
Content-Type: text/plain; charset="UTF-8"
Content-Transfer-Encoding: 8bit

""" % {"d": d_inner, "name": encoded_words("Trần Thị Lan", "UTF-8", "B")}
    outer_text = """\
Dear colleagues,

Please find below, forwarded with her consent, a report from Ms. Tran Thi
Lan about the detention of her husband, a blogger who contributed to a
civil society submission for Viet Nam's fourth-cycle Universal Periodic
Review and attended a UPR preparation workshop we organised in Bangkok in
March 2024.

We spoke to Ms. Tran by phone on 1 June 2025 and consider her account
credible. Two other participants of the same workshop were questioned by
police in May. We are collecting their accounts and will write separately.

Ms. Tran consents to the case being raised with the Government but asks
that her own contact details are not shared.

Best regards,
Emily Harper

-- 
Emily Harper
Asia Protection Desk, Mekong Rights Network
Signal / WhatsApp: +61 491 570 158
Alternate: emily.harper.apd@example.org
"""
    boundary = "------------vQ1m8sK3dT0fW9yR2pX6cN4b"
    body = """\
This is a multi-part message in MIME format.
--%(b)s
Content-Type: text/plain; charset=UTF-8; format=flowed
Content-Transfer-Encoding: 7bit

%(outer)s
--%(b)s
Content-Type: message/rfc822; name="What happened to my husband.eml"
Content-Disposition: attachment; filename="What happened to my husband.eml"
Content-Transfer-Encoding: 8bit

""" % {"b": boundary, "outer": outer_text}
    head = [
        ("Return-Path", "<e.harper@example.net>"),
        ("Received", received("mail.example.net", "mail.example.net", "203.0.113.150",
                              "mx.example.org", "4ZcJ8w2RpLz7Nk1",
                              "Wed, 04 Jun 2025 03:02:41 +0000 (UTC)")),
        ("From", "Emily Harper <e.harper@example.net>"),
        ("To", "reprisals@example.org"),
        ("Date", d),
        ("Message-ID", "<b3c1e8d2-7a4f-4f60-9e25-0d8a6c5b1f47@example.net>"),
        ("Subject", "Fwd: What happened to my husband (Viet Nam, detention after UPR)"),
        ("MIME-Version", "1.0"),
        ("Content-Type", 'multipart/mixed; boundary="%s"' % boundary),
    ]
    data = (assemble(head, "").encode("ascii") + body.encode("ascii") +
            inner.encode("ascii") + inner_text.encode("utf-8") +
            ("\n--%s--\n" % boundary).encode("ascii"))
    write("08-forwarded-detention-viet-nam.eml", data, crlf=True)


# ---- 09: China, family harassment after UPR submission (GB18030) ---------

def msg09():
    d = date(2024, 4, 8, 23, 47, 12, 480)
    text = """\
尊敬的联合国人权事务高级专员办事处报复问题工作人员：

您好。我叫周慧敏，是一名维权律师的妻子。我丈夫王建国律师在二〇二三年十月
与几位同事一起，向联合国普遍定期审议（对中国的第四轮审议）提交了关于律师
执业权利的书面材料。审议于二〇二四年一月在日内瓦举行。

此后我们全家受到以下骚扰：

一、二〇二四年二月五日，两名自称“国保”的便衣人员到我家，要求我丈夫说明
    “向境外组织提供材料”的情况，并要求他写保证书，他拒绝了。

二、二〇二四年二月下旬，我们家门口对面安装了一个新的摄像头，正对我家房门。

三、二〇二四年三月十二日，房东告诉我们“上面有人打招呼”，要求我们在四月底前
    搬走。

四、二〇二四年三月二十日，我女儿（九岁）的班主任约我谈话，说学校“接到通知”，
    建议孩子转学。

五、我丈夫申请护照被出入境管理部门拒绝，理由是“可能危害国家安全”。

我丈夫同意将他的情况转告中国政府。请不要提及我女儿的名字和学校。

此致
敬礼

周慧敏
二〇二四年四月八日
"""
    head = [
        ("Return-Path", "<zhm.2024@example.com>"),
        ("Received", received("smtp.example.com", "smtp.example.com", "198.51.100.9",
                              "mx.example.org", "4VDs2p8GxKz0Lr4",
                              "Mon, 08 Apr 2024 15:47:19 +0000 (UTC)",
                              for_addr="reprisals+asia@example.org")),
        ("From", encoded_words("周慧敏", "GB18030", "B") + " <zhm.2024@example.com>"),
        ("To", "reprisals+asia@example.org"),
        ("Date", d),
        ("Message-ID", "<6613f2a8.1c0a4e.2b7d5@smtp.example.com>"),
        ("Subject", encoded_words("关于我家人因联合国普遍定期审议而受到骚扰的报告",
                                  "GB18030", "B")),
        ("MIME-Version", "1.0"),
        ("Content-Type", 'text/plain; charset="GB18030"'),
        ("Content-Transfer-Encoding", "base64"),
        ("X-Mailer", "Mail Client 3.1"),
    ]
    write("09-family-harassment-china.eml", assemble(head, b64(text.encode("gb18030"))))


# ---- 10: Myanmar, threats and father detained (English, Sender) ----------

def msg10():
    d = date(2025, 7, 15, 13, 20, 45, 420)
    body = """\
To the Reprisals focal point,

Our network documents abuses in Sagaing Region. I am reporting threats
against one of our documenters and the detention of his father. We believe
both are linked to his cooperation with the Special Rapporteur on the
situation of human rights in Myanmar.

Background: in March 2025 Ko Aung Min Htet (28, documenter since 2022) gave
two remote interviews to the Special Rapporteur's team about the burning of
villages in his township in late 2024, and shared photographs and a list of
names. Parts of this information were reflected, without his name, in the
report presented to the Human Rights Council in June 2025.

Since then:

* 27 June 2025: a Telegram account using the name of a local militia leader
  sent him a message with a screenshot of the Human Rights Council report
  and the words "we know who talked". The account also posted the name of
  his village in a public channel with about 40,000 subscribers.

* 3 July 2025: soldiers came to his family house and detained his father,
  U Tin Maung (61), a retired schoolteacher. Neighbours say the soldiers
  asked repeatedly where the son is and "who he sends pictures to".

* As of today the father's whereabouts are unknown. The family has been
  told informally that he is held at a military camp near the township
  centre. No charge has been communicated.

Ko Aung Min Htet is now in hiding outside Myanmar. He does NOT consent to
his name being shared with the military authorities at this stage, but
agrees that the information be used without names in public reporting. We
would welcome advice on what protection steps are possible.

With thanks,
Nang Seng Hom
Documentation Coordinator

Sent through our casework system. Replies go to the coordinator only.
"""
    head = [
        ("Return-Path", "<casework-bounces@example.net>"),
        ("Received", received("list.example.net", "list.example.net", "192.0.2.201",
                              "mx.example.org", "4bHq7m1CwTz3Rk9",
                              "Tue, 15 Jul 2025 06:20:52 +0000 (UTC)",
                              for_addr="reprisals+asia@example.org")),
        ("Received", "from [203.0.113.61] (port=51544 helo=[203.0.113.61])\n\t"
                     "by list.example.net with esmtpsa (TLS1.3) tls TLS_AES_256_GCM_SHA384\n\t"
                     "(Exim 4.97) id 1ubT8c-00Fh2W-1x; " + d),
        ("From", "Nang Seng Hom <nang.senghom@example.net>"),
        ("Sender", "Casework System <casework@example.net>"),
        ("To", "Reprisals Focal Point <reprisals+asia@example.org>"),
        ("Date", d),
        ("Message-ID", "<case-2025-0713.a91f3e@list.example.net>"),
        ("Subject", "Myanmar: documenter threatened, father detained after SR interviews"),
        ("MIME-Version", "1.0"),
        ("Content-Type", "text/plain; charset=us-ascii"),
        ("Content-Transfer-Encoding", "7bit"),
        ("Precedence", "bulk"),
    ]
    write("10-threats-father-detained-myanmar.eml", assemble(head, body))


# ---- 11: Venezuela, reprisals after Fact-Finding Mission (Spanish QP) ---

def msg11():
    d = date(2025, 9, 29, 19, 12, 3, -240)
    text = """\
Buenas tardes:

Soy Yelitza Ramírez Uzcátegui, trabajadora social y miembro de una
organización de familiares de personas detenidas en Caracas. Escribo para
denunciar las represalias que estamos sufriendo por haber colaborado con la
Misión Internacional Independiente de Determinación de los Hechos sobre
Venezuela.

1. Entre enero y marzo de 2025 facilité, con el consentimiento de las
   familias, once entrevistas de la Misión con madres y esposas de presos
   políticos del estado Carabobo.

2. El 16 de septiembre de 2025, un día después de que la Misión presentara
   su informe al Consejo de Derechos Humanos, un diputado dijo en un
   programa de televisión estatal que «ciertas ONG de fachada» entregaban
   «testimonios falsos a Ginebra» y mostró una foto mía.

3. El 20 de septiembre, funcionarios que se identificaron como del SEBIN se
   presentaron en casa de mi hermano en Valencia y se lo llevaron para
   «una entrevista». Regresó a las 14 horas. Le preguntaron por mi paradero
   y por los nombres de las familias entrevistadas.

4. Desde el 22 de septiembre recibo mensajes anónimos por WhatsApp con
   fotos de la puerta de mi edificio y la frase «ya sabemos dónde vives».

Por seguridad salí del país el 25 de septiembre y me encuentro en Cúcuta.
Autorizo que mi caso sea presentado al Estado venezolano. Pido que NO se
mencione a mi hermano por su nombre ni a ninguna de las familias.

Atentamente,
Yelitza Ramírez

-- 
Yelitza Ramírez Uzcátegui
Tel.: +1 305 555 0123
Correo alterno: yelitza.ru@example.com
"""
    head = [
        ("Return-Path", "<yramirez@example.org>"),
        ("Received", received("smtp2.example.org", "smtp2.example.org", "192.0.2.45",
                              "mx.example.org", "4cV0n6pKdRz1Sx2",
                              "Mon, 29 Sep 2025 23:12:08 +0000 (UTC)",
                              for_addr="reprisals+americas@example.org")),
        ("Received", "from [IPv6:2001:db8:c0a::5e] (unknown [IPv6:2001:db8:c0a::5e])\n\t"
                     "by smtp2.example.org (Postfix) with ESMTPSA id 3A7B90C0015\n\t"
                     "for <reprisals+americas@example.org>; " + d),
        ("From", "=?UTF-8?Q?Yelitza_Ram=C3=ADrez?= <yramirez@example.org>"),
        ("To", "reprisals+americas@example.org"),
        ("Cc", "yelitza.ru@example.com"),
        ("Date", d),
        ("Message-ID", "<4f8d2c61-93ab-4e07-a5d1-8b6e0f2c7d94@example.org>"),
        ("Subject", encoded_words("Represalias por colaborar con la Misión de Determinación "
                                  "de los Hechos (Venezuela)", "UTF-8", "Q")),
        ("MIME-Version", "1.0"),
        ("Content-Type", "text/plain; charset=UTF-8"),
        ("Content-Transfer-Encoding", "quoted-printable"),
    ]
    write("11-reprisals-fact-finding-venezuela.eml",
          assemble(head, qp(text.encode("utf-8"))), crlf=True)


# ---- 12: no header block at all (binary junk, then a pasted report) -------

def msg12():
    junk = bytes([0x00, 0x01, 0x02, 0x03, 0xFE, 0xFF, 0x00, 0x00, 0x1B, 0x7F, 0x8D, 0x00,
                  0xC3, 0x28, 0xA0, 0xA1, 0x00, 0x05])
    text = """\

[pasted from a messaging app, no sender details]

...and after I came back from Geneva in March they called my mother again
and said I should "think about my sister's job". On 11 April 2025 two men
waited for me outside the office in Yekaterinburg and told me that people
who "run to the UN" get a criminal case. I spoke at the Human Rights
Committee briefing in March. I do not know who to send this to, please
forward it to whoever handles reprisals. I will write again from a safe
address.
"""
    write("12-malformed-pasted-fragment.eml", junk + text.encode("utf-8"))


def main():
    for make in (msg01, msg02, msg03, msg04, msg05, msg06, msg07, msg08, msg09, msg10,
                 msg11, msg12):
        make()


if __name__ == "__main__":
    main()
