"""Appends one corpus of tricky messages with imaplib, then runs SORT and
THREAD commands and prints each command's untagged answer as JSON.

    sort_cases.py tcp HOST PORT USER PASSWORD   # Mailwarden
    sort_cases.py stream COMMAND                # Dovecot's imap binary, preauth

The same messages (same order, same internal dates) go to both servers,
so sequence numbers and UIDs agree and the answers can be compared.
"""
import imaplib
import json
import re
import sys

SUBJECTS = [
    "hello", "Re: hello", "RE: [list] hello", "Fwd: hello", "[fwd: hello]",
    "hello (fwd)", "Re[2]: hello", "[list] Re: hello", "=?UTF-8?B?R3LDvMOfZQ==?=",
    "re:re: x", "", "   spaced    subject  ", "[x]", "[a][b] Re: c", "Fw: d",
    "Fwd:[blob] e", "=?ISO-8859-1?Q?=C4pfel?=", "apfel", "Zebra", "zebra",
    "Re: Zebra", "x", "Re:   spaced subject", "[list]", "re: [list] [x] hello",
    "FWD: Fw: RE: deep", "deep", "Subject with\r\n folding", "subject with folding",
    "éclair", "Eclair", "Ölsardine", "[fwd: Re: wrapped] (fwd)", "wrapped",
]
FROMS = [
    '"Zed Last" <zed@example.org>', "alice@example.org", "Bob <BOB@example.org>",
    "=?UTF-8?Q?J=C3=BCrgen?= <juergen@example.de>", "<anon@example.net>",
    "carol (Carol Comment) <carol@example.com>", "dave@example.org (Dave Paren)",
    "undisclosed-recipients:;", "", "Émile <emile@example.fr>", "adam@example.org",
]
TOS = ["bob@example.org", "", "Zoe <zoe@example.org>", "a@b.example, c@d.example",
       "team: x@y.example;", "=?UTF-8?B?w4RuZ2VsYQ==?= <angela@example.org>"]
CCS = ["", "cc1@example.org", "Aaron <zz@example.org>", "", "yy@example.org"]
DATES = [
    "Mon, 7 Feb 2022 21:52:25 -0800", "Tue, 8 Feb 2022 05:52:25 +0000",
    "Tue, 8 Feb 2022 06:52:25 +0100", "", "garbage date", "1 Jan 2020 00:00:00 +0000",
    "Sat, 1 Jan 2000 12:00:00 GMT", "Mon, 7 Feb 2022 21:52:25 -0800",
    "Wed, 31 Dec 1969 23:59:59 +0000", "Thu, 10 Mar 2022 10:00:00 +0530",
]


def message(i):
    subj = SUBJECTS[i % len(SUBJECTS)]
    lines = []
    f = FROMS[i % len(FROMS)]
    if f:
        lines.append("From: " + f)
    t = TOS[i % len(TOS)]
    if t:
        lines.append("To: " + t)
    c = CCS[i % len(CCS)]
    if c:
        lines.append("Cc: " + c)
    if i % 7 != 3:
        lines.append("Subject: " + subj)
    d = DATES[i % len(DATES)]
    if d:
        lines.append("Date: " + d)
    # Threads: chains, replies to missing messages (dummies), duplicate
    # and missing Message-IDs, In-Reply-To without References, a loop.
    if i % 11 != 5:
        mid = "<m%d@example.org>" % (i if i % 13 != 4 else 1)
        lines.append("Message-ID: " + mid)
    if i % 5 == 1 and i > 1:
        lines.append("References: <m%d@example.org> <m%d@example.org>" % (i - 2, i - 1))
    elif i % 5 == 2:
        lines.append("In-Reply-To: <missing%d@example.org> (sent by x)" % (i // 10))
    elif i % 5 == 3:
        lines.append("References: <gone@example.org> <m%d@example.org>" % (i + 1))
    elif i % 9 == 4:
        lines.append("References: <m%d@example.org>\r\n <m%d@example.org>" % (i + 3, i))
    body = "body %d\r\n" % i + "x" * ((i * 37) % 200) + "\r\n"
    return ("\r\n".join(lines) + "\r\n\r\n" + body).encode("utf-8")


class Stream(imaplib.IMAP4_stream):
    pass


def connect():
    if sys.argv[1] == "tcp":
        c = imaplib.IMAP4(sys.argv[2], int(sys.argv[3]))
        c.login(sys.argv[4], sys.argv[5])
    else:
        c = Stream(sys.argv[2])
    return c


N = 68
c = connect()
for i in range(N):
    # Internal dates: increasing, with two equal pairs (ties).
    day = 1 + (i // 24) if i not in (10, 11) else 5
    date = '"%02d-Mar-2023 %02d:%02d:00 +0000"' % (day, i % 24, (i * 7) % 60)
    typ, data = c.append("INBOX", None, date, message(i))
    if typ != "OK":
        raise SystemExit("APPEND %d: %s" % (i, data))
c.select("INBOX")
c.store("3,9,27", "+FLAGS", "(\\Seen)")

out = {}
CMDS = [
    ("SORT", "(ARRIVAL) UTF-8 ALL"), ("SORT", "(REVERSE ARRIVAL) UTF-8 ALL"),
    ("SORT", "(DATE) UTF-8 ALL"), ("SORT", "(REVERSE DATE) UTF-8 ALL"),
    ("SORT", "(SIZE) UTF-8 ALL"), ("SORT", "(SUBJECT) UTF-8 ALL"),
    ("SORT", "(REVERSE SUBJECT) UTF-8 ALL"), ("SORT", "(FROM) UTF-8 ALL"),
    ("SORT", "(TO) UTF-8 ALL"), ("SORT", "(CC) UTF-8 ALL"),
    ("SORT", "(DISPLAYFROM) UTF-8 ALL"), ("SORT", "(DISPLAYTO) UTF-8 ALL"),
    ("SORT", "(SUBJECT REVERSE DATE) UTF-8 ALL"), ("SORT", "(FROM SIZE) US-ASCII UNSEEN"),
    ("SORT", "(CC REVERSE TO DATE) UTF-8 SINCE 1-Jan-2000"),
    ("UID SORT", "(SUBJECT) UTF-8 NOT SEEN"),
    ("SORT", "RETURN (MIN MAX COUNT) (SUBJECT) UTF-8 ALL"),
    ("UID SORT", "RETURN (ALL) (REVERSE SIZE) UTF-8 ALL"),
    ("SORT", "RETURN () (DATE) UTF-8 1:20"),
    ("THREAD", "ORDEREDSUBJECT UTF-8 ALL"), ("THREAD", "REFERENCES UTF-8 ALL"),
    ("UID THREAD", "REFERENCES UTF-8 NOT SEEN"), ("THREAD", "REFERENCES UTF-8 1:30"),
    ("THREAD", "ORDEREDSUBJECT US-ASCII UNSEEN"),
]
for name, args in CMDS:
    # imaplib's uid() keeps SORT and THREAD answers but not ESEARCH.
    typ, data = c._simple_command(*name.split(" ") + [args])
    if typ != "OK":
        raise SystemExit("%s %s: %s %s" % (name, args, typ, data))
    key = "ESEARCH" if "RETURN" in args else name.split(" ")[-1]
    typ, data = c._untagged_response(typ, data, key)
    # The tag ESEARCH echoes is each run's own: drop it.
    out[name + " " + args] = [re.sub(r'^\(TAG "[^"]*"\) ?', "", d.decode()) if isinstance(d, bytes) else d for d in data]
c.logout()
print(json.dumps(out))
