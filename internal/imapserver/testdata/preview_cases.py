"""Appends messages with imaplib and prints FETCH PREVIEW of each as JSON.

    preview_cases.py tcp HOST PORT USER PASSWORD | stream COMMAND
"""
import imaplib
import json
import sys

MSGS = [
    "Subject: plain\r\n\r\nHello Bob,\r\n\r\nthe   meeting is   at 10.\r\nSee you!\r\n",
    "Subject: quoted\r\n\r\nYes, agreed.\r\n\r\nOn Monday Bob wrote:\r\n> shall we meet?\r\n> at 10?\r\n",
    "Subject: long\r\n\r\n" + ("word " * 100) + "\r\n",
    "Subject: utf8\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nGr=C3=BC=C3=9Fe aus M=C3=BCnchen\r\n",
    "Subject: alt\r\nMIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=b\r\n\r\n--b\r\n"
    "Content-Type: text/plain\r\n\r\nPlain version\r\n--b\r\nContent-Type: text/html\r\n\r\n<p>HTML version</p>\r\n--b--\r\n",
    "Subject: empty\r\n\r\n",
    "Subject: attachment only\r\nMIME-Version: 1.0\r\nContent-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0=\r\n",
]


def connect():
    if sys.argv[1] == "tcp":
        c = imaplib.IMAP4(sys.argv[2], int(sys.argv[3]))
        c.login(sys.argv[4], sys.argv[5])
    else:
        c = imaplib.IMAP4_stream(sys.argv[2])
    return c


c = connect()
for m in MSGS:
    c.append("INBOX", None, None, m.encode("utf-8"))
c.select("INBOX")
out = {}
for mod in ["", " (LAZY)"]:
    typ, data = c.fetch("1:*", "(PREVIEW%s)" % mod)
    got = []
    for d in data:
        if isinstance(d, tuple):
            got.append(d[0].decode() + "|" + d[1].decode("utf-8"))
        elif d != b")":
            got.append(d.decode())
    out["PREVIEW" + mod] = got
c.logout()
print(json.dumps(out, ensure_ascii=False))
