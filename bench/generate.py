#!/usr/bin/env python3
"""Write N deterministic, realistic-looking test messages as .eml files.

Mix (by message index, from a seeded PRNG, so the same seed and N always give
the same bytes):
  80%  text/plain, 2-10 KB of text in utf-8, iso-8859-1, koi8-r,
       windows-1251 or gb18030, quoted-printable or base64
  10%  multipart/alternative (text/plain + text/html)
  10%  multipart/mixed with one base64 attachment of 50 KB-2 MB
       (log-uniform size, so the mean is about 0.5 MB raw)
  0.1% malformed: no header block at all (a bare body)
Senders are fictional (example.org). Python 3 standard library only.

  generate.py OUTDIR [-n N] [--seed S]
  generate.py OUTDIR --big BYTES       one message of about BYTES bytes
"""
import argparse
import base64
import math
import os
import quopri
import random
import sys
import time
import unicodedata

# Sentences per language; they name countries and mechanisms so that the
# routing rules have something to do, as in real intake mail.
TEXT = {
    "en": [
        "I am writing to you because I was questioned by the security service after I spoke at the Human Rights Council in Geneva.",
        "My brother was detained for three days when he came back from the session of the Committee against Torture.",
        "They took my passport at the airport and told me I cannot travel while the case is open.",
        "Officers came to my family's house in Belarus and asked who I had met at the United Nations.",
        "Since the visit of the Special Rapporteur our office in Egypt has been searched twice.",
        "I cooperated with the Universal Periodic Review of Nicaragua and since then I receive threats by phone.",
        "Please do not share my name; my colleagues in Myanmar are still under surveillance.",
        "The police said that anyone who writes to the UN will lose their job and their home.",
        "We submitted a shadow report to the Human Rights Committee and two of our members were arrested.",
        "I can be reached at the number below in the evening, but please be careful what you write.",
        "My lawyer in Viet Nam was disbarred one week after the dialogue with the treaty body.",
        "The authorities in Bahrain froze our bank accounts after our testimony.",
    ],
    "fr": [
        "Je vous écris parce que j'ai été interrogée par la sûreté après mon intervention à Genève.",
        "Mon frère a été détenu trois jours à son retour de la session du Comité contre la torture.",
        "On m'a retiré mon passeport à l'aéroport de Bujumbura, sans aucune décision écrite.",
        "Depuis la visite du Rapporteur spécial, notre bureau en Côte d'Ivoire a été fouillé deux fois.",
        "Des policiers sont venus chez mes parents et ont demandé qui j'avais rencontré à l'ONU.",
        "Nous avons participé à l'Examen périodique universel du Burundi ; depuis, nous recevons des menaces.",
        "Merci de ne pas divulguer mon nom : mes collègues sont toujours surveillés.",
        "Mon employeur m'a licenciée après l'envoi de notre rapport alternatif au Comité des droits de l'homme.",
    ],
    "de": [
        "Ich schreibe Ihnen, weil ich nach meiner Rede vor dem Menschenrechtsrat verhört wurde.",
        "Mein Bruder wurde nach seiner Rückkehr aus Genf drei Tage lang festgehalten.",
        "Man hat mir am Flughafen den Reisepass abgenommen; eine Begründung gab es nicht.",
        "Unsere Büroräume wurden nach dem Besuch der Sonderberichterstatterin durchsucht.",
        "Bitte geben Sie meinen Namen nicht weiter, meine Kollegen werden überwacht.",
    ],
    "es": [
        "Le escribo porque fui interrogada por la policía después de hablar en el Consejo de Derechos Humanos.",
        "Mi hermano fue detenido al regresar de Ginebra y lo acusaron de traición.",
        "Me retiraron el pasaporte en el aeropuerto de Managua sin ninguna explicación.",
        "Después del Examen Periódico Universal de Nicaragua recibimos amenazas todos los días.",
        "Por favor, no compartan mi nombre; mis compañeros siguen vigilados.",
        "Nuestra organización perdió su registro legal tras enviar información al Comité.",
    ],
    "ru": [
        "Я пишу вам, потому что после моего выступления в Совете по правам человека меня допросили.",
        "Моего брата задержали на три дня, когда он вернулся из Женевы.",
        "В аэропорту у меня забрали паспорт и сказали, что я не могу выезжать из страны.",
        "После визита Специального докладчика в Таджикистан наш офис дважды обыскивали.",
        "Сотрудники приходили к моим родителям в Беларуси и спрашивали, с кем я встречался в ООН.",
        "Пожалуйста, не называйте моё имя: за моими коллегами до сих пор следят.",
        "Мы направили альтернативный доклад в Комитет против пыток, и двоих наших сотрудников арестовали.",
        "Меня уволили с работы через неделю после универсального периодического обзора.",
    ],
    "zh": [
        "我写信给您，是因为我在人权理事会发言后被安全部门约谈。",
        "我的哥哥从日内瓦回国后被拘留了三天。",
        "他们在机场没收了我的护照，说案件结束前我不能出境。",
        "特别报告员访问之后，我们的办公室被搜查了两次。",
        "请不要透露我的名字，我的同事们仍然受到监视。",
        "我们向禁止酷刑委员会提交了报告，之后有两名成员被捕。",
        "警察到我父母家里询问我在联合国见过什么人。",
    ],
    "ar": [
        "أكتب إليكم لأنني استُجوبت بعد مداخلتي أمام مجلس حقوق الإنسان في جنيف.",
        "احتُجز أخي ثلاثة أيام بعد عودته من جنيف.",
        "صادروا جواز سفري في المطار ولم يقدموا أي قرار مكتوب.",
        "أرجو عدم نشر اسمي، فزملائي ما زالوا تحت المراقبة.",
    ],
}

# Which languages each charset can carry.
CHARSETS = [
    ("utf-8", ["en", "fr", "es", "ru", "zh", "ar", "de"]),
    ("iso-8859-1", ["fr", "de", "es", "en"]),
    ("koi8-r", ["ru"]),
    ("windows-1251", ["ru"]),
    ("gb18030", ["zh"]),
]

FIRST = ["Amina", "Oleg", "María", "Jean", "Li", "Fatima", "Sergei", "Aisha", "Carlos",
         "Nadia", "Pierre", "Wei", "Olga", "Yusuf", "Elena", "Kofi", "Mariam", "Ivan"]
LAST = ["Diallo", "Petrov", "García", "Dupont", "Wang", "Haddad", "Ivanova", "Mensah",
        "Rodríguez", "Karimova", "Nguyen", "Moreau", "Okafor", "Sokolov", "Hassan"]
SUBJECTS = {
    "en": ["Reprisal after Geneva session", "Urgent: my brother detained", "Travel ban after UPR",
           "Threats after cooperation with the UN", "Please help - passport confiscated"],
    "fr": ["Représailles après la session de Genève", "Urgent : mon frère détenu",
           "Interdiction de voyager après l'EPU"],
    "de": ["Repressalien nach der Sitzung in Genf", "Dringend: Reisepass entzogen"],
    "es": ["Represalias después de la sesión en Ginebra", "Urgente: detención de mi hermano"],
    "ru": ["Преследование после сессии в Женеве", "Срочно: задержан мой брат",
           "Запрет на выезд после обзора"],
    "zh": ["在日内瓦会议后遭到报复", "紧急：我的哥哥被拘留"],
    "ar": ["انتقام بعد دورة جنيف", "عاجل: احتجاز أخي"],
}
ATTACH = [("application/pdf", "statement.pdf"), ("image/jpeg", "photo.jpg"),
          ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", "report.docx"),
          ("application/octet-stream", "recording.m4a")]

MALFORMED_EVERY = 1000   # 0.1%


def b64lines(data):
    enc = base64.b64encode(data)
    return b"\n".join(enc[i:i + 76] for i in range(0, len(enc), 76)) + b"\n"


def encoded_word(text, charset):
    """RFC 2047 B-encoded words, each at most 75 characters, never splitting a character."""
    words, chunk = [], ""
    for ch in text:
        cand = chunk + ch
        if len(base64.b64encode(cand.encode(charset))) + len(charset) + 7 > 75 and chunk:
            words.append(chunk)
            chunk = ch
        else:
            chunk = cand
    if chunk:
        words.append(chunk)
    return "\n ".join("=?%s?B?%s?=" % (charset, base64.b64encode(w.encode(charset)).decode())
                      for w in words)


def ascii_header(name, value, charset="utf-8"):
    try:
        value.encode("ascii")
        return "%s: %s\n" % (name, value)
    except UnicodeEncodeError:
        return "%s: %s\n" % (name, encoded_word(value, charset))


def asciify(s):
    return unicodedata.normalize("NFKD", s).encode("ascii", "ignore").decode()


def person(rng):
    first, last = rng.choice(FIRST), rng.choice(LAST)
    local = "".join(c for c in asciify(first + "." + last).lower() if c.isalnum() or c == ".")
    return "%s %s" % (first, last), "%s.%d@example.org" % (local or "someone", rng.randrange(1000))


def body_text(rng, lang, target_bytes, charset, name):
    """Paragraphs in LANG until the encoded size reaches TARGET_BYTES, then a signature."""
    out, size = [], 0
    sentences = TEXT[lang]
    while size < target_bytes:
        para = " ".join(rng.choice(sentences) for _ in range(rng.randint(2, 5)))
        out.append(para)
        size += len(para.encode(charset)) + 2
    try:
        name.encode(charset)
    except UnicodeEncodeError:
        name = asciify(name)
    out.append("-- \n%s\nTel. +41 22 %03d %02d %02d\n" % (
        name, rng.randrange(1000), rng.randrange(100), rng.randrange(100)))
    return "\n\n".join(out)


def encode_body(rng, text, charset):
    raw = text.encode(charset)
    if rng.random() < 0.5:
        return "quoted-printable", quopri.encodestring(raw)
    return "base64", b64lines(raw)


def headers(rng, i, lang, charset, date):
    name, addr = person(rng)
    subject = rng.choice(SUBJECTS[lang])
    h = ""
    h += "Return-Path: <%s>\n" % addr
    h += "Received: from mail.example.org (mail.example.org [192.0.2.%d])\n" % rng.randrange(1, 255)
    h += "\tby mx.example.org with ESMTPS id bench%06d\n\tfor <reprisals@example.org>; %s\n" % (i, date)
    h += ascii_header("From", '"%s" <%s>' % (name, addr) if name.isascii() else "%s <%s>" % (
        encoded_word(name, "utf-8"), addr))
    h += "To: reprisals@example.org\n"
    h += ascii_header("Subject", subject, charset)
    h += "Date: %s\n" % date
    h += "Message-ID: <bench.%06d.%08x@example.org>\n" % (i, rng.getrandbits(32))
    h += "MIME-Version: 1.0\n"
    return h, name


def msg_plain(rng, i, date):
    charset, langs = rng.choice(CHARSETS)
    lang = rng.choice(langs)
    h, name = headers(rng, i, lang, charset, date)
    text = body_text(rng, lang, rng.randint(2048, 10240), charset, name)
    cte, body = encode_body(rng, text, charset)
    h += "Content-Type: text/plain; charset=%s\nContent-Transfer-Encoding: %s\n\n" % (charset, cte)
    return h.encode("ascii") + body


def msg_html(rng, i, date):
    lang = rng.choice(["en", "fr", "es", "ru", "zh", "ar"])
    h, name = headers(rng, i, lang, "utf-8", date)
    text = body_text(rng, lang, rng.randint(2048, 8192), "utf-8", name)
    paras = text.split("\n\n")
    html = ("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><style>p{margin:0 0 1em}"
            ".sig{color:#666}</style></head><body>\n" +
            "\n".join("<p>%s</p>" % p.replace("&", "&amp;").replace("<", "&lt;").replace("\n", "<br>")
                      for p in paras[:-1]) +
            "\n<table><tr><td>Case</td><td>%d</td></tr></table>\n<p class=\"sig\">%s</p>\n"
            "</body></html>\n" % (i, paras[-1].replace("\n", "<br>")))
    boundary = "=_alt_%08x" % rng.getrandbits(32)
    h += "Content-Type: multipart/alternative; boundary=\"%s\"\n\n" % boundary
    out = h.encode("ascii") + b"This is a multi-part message in MIME format.\n"
    for ctype, part in (("text/plain", text), ("text/html", html)):
        cte, body = encode_body(rng, part, "utf-8")
        out += ("\n--%s\nContent-Type: %s; charset=utf-8\nContent-Transfer-Encoding: %s\n\n"
                % (boundary, ctype, cte)).encode("ascii") + body
    return out + ("\n--%s--\n" % boundary).encode("ascii")


def msg_attach(rng, i, date, size=None):
    charset, langs = rng.choice(CHARSETS)
    lang = rng.choice(langs)
    h, name = headers(rng, i, lang, charset, date)
    text = body_text(rng, lang, rng.randint(1024, 4096), charset, name)
    if size is None:   # log-uniform 50 KB .. 2 MB
        size = int(math.exp(rng.uniform(math.log(50 * 1024), math.log(2 * 1024 * 1024))))
    ctype, fname = rng.choice(ATTACH)
    boundary = "=_mix_%08x" % rng.getrandbits(32)
    h += "Content-Type: multipart/mixed; boundary=\"%s\"\n\n" % boundary
    cte, body = encode_body(rng, text, charset)
    out = h.encode("ascii") + b"This is a multi-part message in MIME format.\n"
    out += ("\n--%s\nContent-Type: text/plain; charset=%s\nContent-Transfer-Encoding: %s\n\n"
            % (boundary, charset, cte)).encode("ascii") + body
    out += ("\n--%s\nContent-Type: %s; name=\"%s\"\nContent-Disposition: attachment; filename=\"%s\"\n"
            "Content-Transfer-Encoding: base64\n\n" % (boundary, ctype, fname, fname)).encode("ascii")
    out += b64lines(rng.randbytes(size))
    return out + ("\n--%s--\n" % boundary).encode("ascii")


def msg_malformed(rng, i, date):
    lines = [rng.choice(TEXT["en"]) for _ in range(rng.randint(5, 30))]
    return ("\n".join(lines) + "\n\nsent from my phone, message %d\n" % i).encode("utf-8")


def rfc2822_date(ts):
    return time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime(ts))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("outdir")
    ap.add_argument("-n", type=int, default=10000, help="number of messages (default 10000)")
    ap.add_argument("--seed", type=int, default=20260101, help="PRNG seed (default 20260101)")
    ap.add_argument("--big", type=int, metavar="BYTES",
                    help="write one message of about BYTES bytes (a base64 attachment) instead")
    a = ap.parse_args()
    os.makedirs(a.outdir, exist_ok=True)
    base_ts = 1767225600   # 2026-01-01
    if a.big:
        rng = random.Random(a.seed)
        raw = (a.big - 8192) * 3 // 4 // 77 * 76   # base64 with 76-char lines + newline
        data = msg_attach(rng, 0, rfc2822_date(base_ts), size=max(raw, 1024))
        with open(os.path.join(a.outdir, "big.eml"), "wb") as f:
            f.write(data)
        print("wrote 1 message of %d bytes to %s" % (len(data), a.outdir))
        return
    total = 0
    counts = {"plain": 0, "html": 0, "attachment": 0, "malformed": 0}
    width = max(5, len(str(a.n)))
    for i in range(a.n):
        rng = random.Random(a.seed * 1000003 + i)   # per message: any prefix of the set is stable
        date = rfc2822_date(base_ts + i * 97)
        if i % MALFORMED_EVERY == MALFORMED_EVERY // 2:
            kind, data = "malformed", msg_malformed(rng, i, date)
        else:
            r = rng.random()
            if r < 0.80:
                kind, data = "plain", msg_plain(rng, i, date)
            elif r < 0.90:
                kind, data = "html", msg_html(rng, i, date)
            else:
                kind, data = "attachment", msg_attach(rng, i, date)
        counts[kind] += 1
        total += len(data)
        with open(os.path.join(a.outdir, "%0*d.eml" % (width, i)), "wb") as f:
            f.write(data)
    print("wrote %d messages, %.1f MB, to %s (%s)" % (
        a.n, total / 1e6, a.outdir, ", ".join("%s %d" % kv for kv in counts.items())))


if __name__ == "__main__":
    sys.exit(main())
