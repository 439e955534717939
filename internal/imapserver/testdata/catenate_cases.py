"""Runs the same CATENATE conversation (RFC 4469) against a server with
Python's imaplib and prints, per step, the response lines the server sent,
and per appended message the bytes FETCH BODY.PEEK[] returns, as JSON.

    catenate_cases.py tcp HOST PORT USER PASSWORD   # Mailwarden
    catenate_cases.py stream COMMAND                # Dovecot's imap binary, preauth

Every literal is non-synchronizing (LITERAL+), so that imaplib sends each
command in one piece; the parts themselves are RFC 4469's syntax.
"""
import imaplib
import json
import sys

from logclient import connect


c = connect(sys.argv)
out = {}


def step(name, fn):
    c.log = []
    try:
        fn()
    except imaplib.IMAP4.error as e:
        c.log.append("error: " + str(e))
    out[name] = c.log
    c.log = None


def lit(data, binary=False):
    """A non-synchronizing literal (RFC 7888), or literal8 (RFC 3516)."""
    return (b"~" if binary else b"") + b"{%d+}\r\n" % len(data) + data


def catenate(mailbox, *parts, head=b""):
    """APPEND mailbox [head] CATENATE (parts), parts as bytes."""
    return c._simple_command("APPEND", mailbox, head + b"CATENATE (" + b" ".join(parts) + b")")


MIME = (b"From: Alice <alice@example.org>\r\nTo: Bob <bob@example.org>\r\nSubject: parts\r\n"
        b"Date: Mon, 7 Feb 2022 21:52:25 -0800\r\nMessage-ID: <m1@example.org>\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: multipart/mixed; boundary=XX\r\n\r\n--XX\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        b"Hello there\r\n--XX\r\nContent-Type: message/rfc822\r\n\r\nSubject: inner\r\nX-A: 1\r\n\r\ninner body\r\n"
        b"--XX--\r\n")
PLAIN = (b"From: Carol <carol@example.org>\r\nSubject: second\r\nDate: Tue, 8 Feb 2022 10:00:00 +0000\r\n"
         b"\r\nline one\r\nline two\r\n")
SEP = b"\r\n--------------030308070208000400050907\r\n"

step("create", lambda: c.create("Cat"))
step("append_mime", lambda: c.append("INBOX", None, None, MIME))
step("append_plain", lambda: c.append("INBOX", None, None, PLAIN))
step("select", lambda: c.select("INBOX"))
uv = c.untagged_responses.get("UIDVALIDITY", [b"0"])[-1]
if isinstance(uv, bytes):
    uv = uv.decode()
src = "/INBOX;UIDVALIDITY=%s/;UID=" % uv


def url(s):
    return b'URL "' + s.encode() + b'"'


# RFC 4469 3: the example, forwarding a part of one message and all of
# another between text the client sends.
step("example", lambda: catenate(
    "Cat", url(src + "1/;section=HEADER"), b"TEXT " + lit(SEP), url(src + "1/;section=1.MIME"),
    url(src + "1/;section=1"), b"TEXT " + lit(SEP), url(src + "2"),
    b"TEXT " + lit(b"\r\n--------------030308070208000400050907--\r\n"), head=b"(\\Seen \\Draft $MDNSent) "))
# Sections of an attached message, relative URLs, a PARTIAL.
step("sections", lambda: catenate(
    "Cat", url(src + "1/;SECTION=2.HEADER"), url(";UID=1/;SECTION=2.TEXT"), url(";UID=2/;SECTION=TEXT/;PARTIAL=5.8"),
    url(";UID=1/;SECTION=HEADER.FIELDS%20(Subject%20To)"), url(";UID=2/;SECTION=HEADER.FIELDS.NOT%20(Date)")))
# MULTIAPPEND (RFC 3502) mixing a CATENATE message with a literal one.
step("multiappend", lambda: c._simple_command(
    "APPEND", "Cat", b"CATENATE (" + url(";UID=2") + b" TEXT " + lit(b"\r\nP.S.\r\n") + b") (\\Flagged) " +
    lit(b"Subject: plain\r\n\r\nx\r\n")))
# RFC 5550 (BINARY with CATENATE): a TEXT part as literal8.
step("literal8", lambda: catenate("Cat", b"TEXT " + lit(b"Subject: bin\r\n\r\na\x00b\r\n", True), url(";UID=2/;SECTION=TEXT")))
# [BADURL url]: nothing stored.
for name, u in [("badurl_uidvalidity", "/INBOX;UIDVALIDITY=1/;UID=1"), ("badurl_uid", src + "99"),
                ("badurl_mailbox", "/Nope/;UID=1")]:
    step(name, lambda u=u: catenate("Cat", b"TEXT " + lit(b"Subject: x\r\n\r\n"), url(u)))
step("status", lambda: c.status("Cat", "(MESSAGES)"))
step("select_cat", lambda: c.select("Cat"))
typ, data = c.fetch("1:4", "(BODY.PEEK[])")
out["bodies"] = [d[1].decode("utf-8", "replace") for d in data if isinstance(d, tuple)]
# The literal8 one holds a NUL: BINARY[] shows it as stored (RFC 3516).
typ, data = c.fetch("5", "(BINARY.PEEK[])")
out["binary"] = [d[1].decode("utf-8", "replace") for d in data if isinstance(d, tuple)]
step("flags", lambda: c.fetch("1:*", "(FLAGS)"))
step("logout", lambda: c.logout())
print(json.dumps(out))
