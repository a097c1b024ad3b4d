#!/usr/bin/env python3
"""Writes the crafted message of issue 13: a body of one-letter words and about
2,600 addresses with one-letter names in each of From, Sender and
Reply-To. Every word of the body is a needle's start; before the fix each
needle was compared at each word start.

    bench/crafted.py --size BYTES [--addresses N] OUT.eml
"""
import argparse
import string


def addresses(prefix, n):
    letters = string.ascii_lowercase
    items = []
    for i in range(n):
        # One-letter names, short enough that a header stays under 64K.
        items.append("%s <%s%d@example.org>" % (letters[i % 26], prefix[0], i))
    return ",\n ".join(items)


def body(size):
    words = string.ascii_lowercase
    out, line, total, i = [], [], 0, 0
    while total < size:
        line.append(words[i % 26])
        i += 1
        if len(line) == 36:
            s = " ".join(line) + "\n"
            out.append(s)
            total += len(s)
            line = []
    return "".join(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=1_100_000, help="body bytes")
    ap.add_argument("--addresses", type=int, default=2600, help="per header")
    ap.add_argument("out")
    a = ap.parse_args()
    with open(a.out, "w", encoding="ascii", newline="\r\n") as f:
        f.write("From: %s\n" % addresses("from", a.addresses))
        f.write("Sender: %s\n" % addresses("sender", a.addresses))
        f.write("Reply-To: %s\n" % addresses("reply", a.addresses))
        f.write("To: intake@example.net\nSubject: crafted\n")
        f.write("Date: Tue, 03 Mar 2026 07:15:00 +0000\n")
        f.write("Message-ID: <crafted-%d@example.org>\n" % a.size)
        f.write("Content-Type: text/plain; charset=us-ascii\n\n")
        f.write(body(a.size))


main()
