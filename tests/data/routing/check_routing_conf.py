#!/usr/bin/env python3
"""Check conf/routing.conf, then route the sample messages next to this script.

Usage: check_routing_conf.py [ROUTING_CONF] [EML_DIR]
       (defaults: conf/routing.conf of this checkout, and this directory)

Checks of the rules file:
  - GLib key-file syntax: groups, "key = value", comment lines, escapes
    (\\s \\n \\t \\r \\\\ and \\; inside lists); no group or key given twice;
  - [scoring] has integer country, keyword and subject_factor; every section
    has a title and a numeric weight; [section triage] exists;
  - exactly the 195 States (193 UN members, 2 observer States) have a
    [country NAME] group, and each is in the "countries" of exactly one
    section; every country a section lists has a group;
  - no name belongs to two countries, no keyword to two sections, and no
    keyword is also a country name (compared after NFKC and case folding).

Then every <expected-section>--<slug>.eml in EML_DIR is routed by a small
reference implementation of the rules described in the header of
routing.conf (recipients first, then distinct-match scoring with longest
match and the subject factor, ties and no signal to triage) and the result
is compared with the section named in the file name. The C router is the
authority; this is a consistency check of the data and the samples.

Python 3 standard library only. Exit status 0 when everything passes.
"""

import email
import email.policy
import fnmatch
import os
import re
import sys
import unicodedata
from collections import defaultdict

UN_STATES = """
Afghanistan|Albania|Algeria|Andorra|Angola|Antigua and Barbuda|Argentina|Armenia|
Australia|Austria|Azerbaijan|Bahamas|Bahrain|Bangladesh|Barbados|Belarus|Belgium|
Belize|Benin|Bhutan|Bolivia|Bosnia and Herzegovina|Botswana|Brazil|
Brunei Darussalam|Bulgaria|Burkina Faso|Burundi|Cabo Verde|Cambodia|Cameroon|
Canada|Central African Republic|Chad|Chile|China|Colombia|Comoros|Congo|
Costa Rica|Côte d'Ivoire|Croatia|Cuba|Cyprus|Czechia|
Democratic People's Republic of Korea|Democratic Republic of the Congo|Denmark|
Djibouti|Dominica|Dominican Republic|Ecuador|Egypt|El Salvador|Equatorial Guinea|
Eritrea|Estonia|Eswatini|Ethiopia|Fiji|Finland|France|Gabon|Gambia|Georgia|
Germany|Ghana|Greece|Grenada|Guatemala|Guinea|Guinea-Bissau|Guyana|Haiti|
Honduras|Hungary|Iceland|India|Indonesia|Iran|Iraq|Ireland|Israel|Italy|Jamaica|
Japan|Jordan|Kazakhstan|Kenya|Kiribati|Kuwait|Kyrgyzstan|
Lao People's Democratic Republic|Latvia|Lebanon|Lesotho|Liberia|Libya|
Liechtenstein|Lithuania|Luxembourg|Madagascar|Malawi|Malaysia|Maldives|Mali|
Malta|Marshall Islands|Mauritania|Mauritius|Mexico|Micronesia|Monaco|Mongolia|
Montenegro|Morocco|Mozambique|Myanmar|Namibia|Nauru|Nepal|Netherlands|
New Zealand|Nicaragua|Niger|Nigeria|North Macedonia|Norway|Oman|Pakistan|Palau|
Panama|Papua New Guinea|Paraguay|Peru|Philippines|Poland|Portugal|Qatar|
Republic of Korea|Republic of Moldova|Romania|Russian Federation|Rwanda|
Saint Kitts and Nevis|Saint Lucia|Saint Vincent and the Grenadines|Samoa|
San Marino|Sao Tome and Principe|Saudi Arabia|Senegal|Serbia|Seychelles|
Sierra Leone|Singapore|Slovakia|Slovenia|Solomon Islands|Somalia|South Africa|
South Sudan|Spain|Sri Lanka|Sudan|Suriname|Sweden|Switzerland|
Syrian Arab Republic|Tajikistan|Thailand|Timor-Leste|Togo|Tonga|
Trinidad and Tobago|Tunisia|Türkiye|Turkmenistan|Tuvalu|Uganda|Ukraine|
United Arab Emirates|United Kingdom|United Republic of Tanzania|
United States of America|Uruguay|Uzbekistan|Vanuatu|Venezuela|Viet Nam|Yemen|
Zambia|Zimbabwe|
Holy See|State of Palestine
"""
EXPECTED = [s.strip() for s in UN_STATES.replace('\n', '').split('|') if s.strip()]

# Regions fixed by the routing policy (a sample, not the whole map).
PINNED = {
    'Israel': 'mena', 'State of Palestine': 'mena', 'Sudan': 'africa',
    'Mauritania': 'africa', 'Russian Federation': 'europe-central-asia',
    'Türkiye': 'europe-central-asia', 'Afghanistan': 'asia-pacific',
    'Iran': 'asia-pacific', 'Canada': 'americas',
    'United States of America': 'americas', 'Egypt': 'mena',
    'Kazakhstan': 'europe-central-asia', 'Georgia': 'europe-central-asia',
}

errors = []


def error(msg):
    errors.append(msg)


def fold(s):
    """NFKC, case folding, white space runs to one space."""
    s = unicodedata.normalize('NFKC', s).casefold()
    return re.sub(r'\s+', ' ', s).strip()


# ------------------------------------------------------------------ parsing

def unescape(raw, where, in_list):
    out, i = [], 0
    while i < len(raw):
        c = raw[i]
        if c != '\\':
            out.append(c)
            i += 1
            continue
        if i + 1 >= len(raw):
            error(f'{where}: value ends in a lone backslash')
            break
        n = raw[i + 1]
        rep = {'s': ' ', 'n': '\n', 't': '\t', 'r': '\r', '\\': '\\'}.get(n)
        if rep is None and n == ';' and in_list:
            rep = '\x00'          # protected separator, restored by split_list
        if rep is None:
            error(f'{where}: invalid escape "\\{n}"')
            rep = n
        out.append(rep)
        i += 2
    return ''.join(out)


def split_list(raw, where):
    s = unescape(raw, where, True)
    items = [p.replace('\x00', ';') for p in s.split(';')]
    if items and items[-1] == '':
        items.pop()               # "a;b;" is the list a, b
    for it in items:
        if it.strip() != it or it == '':
            error(f'{where}: empty item or item with outer white space: {it!r}')
    return items


def parse(path):
    groups = {}
    order = []
    cur = None
    with open(path, 'rb') as f:
        data = f.read()
    try:
        text = data.decode('utf-8')
    except UnicodeDecodeError as e:
        error(f'{path}: not UTF-8 ({e})')
        return groups, order
    for no, line in enumerate(text.split('\n'), 1):
        where = f'{os.path.basename(path)}:{no}'
        line = line.rstrip('\r')
        s = line.strip()
        if s == '' or line.lstrip().startswith('#'):
            continue
        if s.startswith('['):
            if not s.endswith(']') or s.count('[') != 1 or s.count(']') != 1:
                error(f'{where}: bad group line {line!r}')
                continue
            cur = s[1:-1]
            if cur in groups:
                error(f'{where}: group [{cur}] given twice')
            groups.setdefault(cur, {})
            order.append(cur)
            continue
        if cur is None:
            error(f'{where}: key outside any group')
            continue
        if '=' not in line:
            error(f'{where}: neither group, key nor comment: {line!r}')
            continue
        k, v = line.split('=', 1)
        k, v = k.strip(), v.strip()
        if not re.fullmatch(r'[A-Za-z0-9_-]+', k):
            error(f'{where}: bad key name {k!r}')
        if k in groups[cur]:
            error(f'{where}: key {k} given twice in [{cur}]')
        if re.search(r'\s#', v):
            error(f'{where}: "#" inside a value is not a comment in a key file')
        groups[cur][k] = (v, where)
    return groups, order


# ------------------------------------------------------------------ checks

def check(path):
    groups, order = parse(path)
    scoring = {}
    sections = {}   # id -> dict(title, countries, keywords, recipients, weight)
    countries = {}  # canonical -> names
    for g in order:
        keys = groups[g]
        if g == 'scoring':
            for k in ('country', 'keyword', 'subject_factor'):
                if k not in keys:
                    error(f'[scoring]: {k} missing')
                    continue
                v, where = keys[k]
                if not re.fullmatch(r'-?[0-9]+', v):
                    error(f'{where}: {k} is not an integer: {v!r}')
                else:
                    scoring[k] = int(v)
            for k in keys:
                if k not in ('country', 'keyword', 'subject_factor'):
                    error(f'{keys[k][1]}: unknown key {k} in [scoring]')
        elif g.startswith('section '):
            sid = g[len('section '):]
            if not re.fullmatch(r'[a-z0-9][a-z0-9-]*', sid):
                error(f'[{g}]: section id should be lower case letters, digits, "-"')
            sec = {'countries': [], 'keywords': [], 'recipients': [], 'weight': 1.0}
            for k, (v, where) in keys.items():
                if k in ('countries', 'keywords', 'recipients'):
                    sec[k] = split_list(v, where)
                elif k == 'weight':
                    try:
                        sec['weight'] = float(v)
                        if sec['weight'] < 0:
                            error(f'{where}: negative weight')
                    except ValueError:
                        error(f'{where}: weight is not a number: {v!r}')
                elif k in ('title', 'public_key'):
                    sec[k] = unescape(v, where, False)
                else:
                    error(f'{where}: unknown key {k} in [{g}]')
            if not sec.get('title'):
                error(f'[{g}]: title missing')
            sections[sid] = sec
        elif g.startswith('country '):
            name = g[len('country '):]
            for k in keys:
                if k != 'names':
                    error(f'{keys[k][1]}: unknown key {k} in [{g}]')
            if 'names' not in keys:
                error(f'[{g}]: names missing')
                countries[name] = [name]
                continue
            v, where = keys['names']
            names = split_list(v, where)
            if name not in names:
                error(f'[{g}]: its own name is not in its names')
            seen = {}
            for n in names:
                if fold(n) in seen:
                    error(f'[{g}]: {n!r} listed twice (same as {seen[fold(n)]!r} after folding)')
                seen[fold(n)] = n
            countries[name] = names
        else:
            error(f'unknown group [{g}]')

    if 'triage' not in sections:
        error('[section triage] missing')
    elif sections['triage']['countries'] or sections['triage']['keywords']:
        error('[section triage] should list no countries or keywords')

    # countries: exactly the expected 195, each in exactly one section
    exp = set(EXPECTED)
    if len(EXPECTED) != 195 or len(exp) != 195:
        error(f'internal: expected list has {len(EXPECTED)} entries')
    have = set(countries)
    for c in sorted(exp - have):
        error(f'no [country {c}] group')
    for c in sorted(have - exp):
        error(f'[country {c}] is not one of the 195 expected States')
    where_listed = defaultdict(list)
    for sid, sec in sections.items():
        for c in sec['countries']:
            where_listed[c].append(sid)
            if c not in countries:
                error(f'[section {sid}] lists {c!r}, which has no [country] group')
    for c in sorted(have):
        secs = where_listed.get(c, [])
        if len(secs) != 1:
            error(f'{c} is in {len(secs)} sections: {secs}')
        elif c in PINNED and secs[0] != PINNED[c]:
            error(f'{c} is in {secs[0]}, policy says {PINNED[c]}')

    # names unique across countries
    owner = {}
    for c, names in countries.items():
        for n in names:
            f = fold(n)
            if f in owner and owner[f][0] != c:
                error(f'name {n!r} is under both {owner[f][0]} and {c}')
            owner.setdefault(f, (c, n))

    # keywords unique across sections, and never a country name
    kwowner = {}
    for sid, sec in sections.items():
        for k in sec['keywords']:
            f = fold(k)
            if f in kwowner and kwowner[f] != sid:
                error(f'keyword {k!r} is in both {kwowner[f]} and {sid}')
            if f in owner:
                error(f'keyword {k!r} of {sid} is also a name of {owner[f][0]}')
            kwowner.setdefault(f, sid)

    return scoring, sections, countries


# ---------------------------------------------------------- reference router

def is_cjk(ch):
    o = ord(ch)
    return (0x2E80 <= o <= 0x9FFF or 0xAC00 <= o <= 0xD7AF or
            0xF900 <= o <= 0xFAFF or 0x20000 <= o <= 0x2FA1F)


class Router:
    def __init__(self, scoring, sections, countries):
        self.scoring = scoring
        self.sections = sections
        region_of = {c: sid for sid, s in sections.items() for c in s['countries']}
        self.terms = []   # (folded term, kind, item, section)
        for c, names in countries.items():
            for n in names:
                self.terms.append((fold(n), 'country', c, region_of.get(c)))
        for sid, s in sections.items():
            for k in s['keywords']:
                self.terms.append((fold(k), 'keyword', fold(k), sid))

    def matches(self, text):
        text = fold(text)
        found = []
        for term, kind, item, sid in self.terms:
            start = 0
            while True:
                i = text.find(term, start)
                if i < 0:
                    break
                j = i + len(term)
                ok_l = i == 0 or is_cjk(term[0]) or not text[i - 1].isalnum()
                ok_r = j == len(text) or is_cjk(term[-1]) or not text[j].isalnum()
                if ok_l and ok_r:
                    found.append((i, j, kind, item, sid))
                start = i + 1
        found.sort(key=lambda m: (-(m[1] - m[0]), m[0]))
        taken, out = [], []
        for m in found:
            if all(m[1] <= a or m[0] >= b for a, b in taken):
                taken.append((m[0], m[1]))
                out.append(m)
        return out

    def route(self, subject, body, recipients):
        for sid, s in self.sections.items():
            for pat in s['recipients']:
                for r in recipients:
                    if fnmatch.fnmatchcase(r.casefold(), pat.casefold()):
                        return sid, f'recipient {r} matches {pat}'
        factor = self.scoring.get('subject_factor', 1)
        count = {}   # (kind, item, sid) -> multiplier
        for m in self.matches(body):
            count.setdefault((m[2], m[3], m[4]), 1)
        for m in self.matches(subject):
            count[(m[2], m[3], m[4])] = factor
        score = defaultdict(float)
        for (kind, item, sid), mult in count.items():
            if sid is None:
                continue
            score[sid] += self.scoring.get(kind, 0) * mult
        for sid in score:
            score[sid] *= self.sections[sid]['weight']
        why = ', '.join(f'{k}:{v:g}' for k, v in sorted(score.items(), key=lambda x: -x[1]))
        if not score or max(score.values()) <= 0:
            return 'triage', 'no signal'
        top = max(score.values())
        best = [k for k, v in score.items() if v == top]
        if len(best) > 1:
            return 'triage', f'tie ({why})'
        return best[0], why


def message_parts(path):
    with open(path, 'rb') as f:
        msg = email.message_from_binary_file(f, policy=email.policy.default)
    subject = str(msg.get('Subject', ''))
    recips = []
    for h in ('To', 'Cc', 'Delivered-To'):
        for v in msg.get_all(h, []):
            for a in getattr(v, 'addresses', []):
                recips.append(a.addr_spec)
            if not getattr(v, 'addresses', None):
                recips.append(str(v).strip())
    bodies = []
    for part in msg.walk():
        if part.get_content_type() == 'text/plain' and not part.is_attachment():
            bodies.append(part.get_content())
    return subject, '\n'.join(bodies), recips, msg


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    conf = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, '..', '..', '..', 'conf', 'routing.conf')
    emls = sys.argv[2] if len(sys.argv) > 2 else here
    scoring, sections, countries = check(conf)

    print(f'{os.path.normpath(conf)}')
    print(f'  countries: {len(countries)} groups, '
          f'{sum(len(s["countries"]) for s in sections.values())} listed in sections')
    total_names = sum(len(n) for n in countries.values())
    print(f'  names: {total_names} in all')
    print(f'  scoring: {scoring}')
    for sid, s in sections.items():
        print(f'  [section {sid}] {len(s["countries"]):3d} countries, '
              f'{len(s["keywords"]):3d} keywords, {len(s["recipients"])} recipient patterns, '
              f'weight {s["weight"]:g}')

    failed = 0
    if not errors:
        router = Router(scoring, sections, countries)
        files = sorted(f for f in os.listdir(emls) if f.endswith('.eml'))
        print(f'{len(files)} sample messages:')
        for f in files:
            want = f.split('--', 1)[0]
            if want not in sections:
                error(f'{f}: "{want}" is not a section')
                continue
            subject, body, recips, msg = message_parts(os.path.join(emls, f))
            for h in ('From', 'To', 'Date', 'Message-ID', 'MIME-Version', 'Subject'):
                if msg.get(h) is None:
                    error(f'{f}: no {h} header')
            got, why = router.route(subject, body, recips)
            ok = got == want
            failed += not ok
            print(f'  {"ok  " if ok else "FAIL"} {f}: {got} ({why})')
            if not ok:
                error(f'{f}: routed to {got}, expected {want}')

    for e in errors:
        print(f'ERROR: {e}', file=sys.stderr)
    print('PASS' if not errors else f'FAIL: {len(errors)} problem(s)')
    return 0 if not errors else 1


if __name__ == '__main__':
    sys.exit(main())
