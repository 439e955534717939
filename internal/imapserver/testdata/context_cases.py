"""Runs updating searches (CONTEXT=SEARCH, RFC 5267 4.3) on one
connection while another changes the mailbox, and prints per step the
lines the first received up to its NOOP as JSON, for comparison with
Dovecot, which offers CONTEXT=SEARCH.

    context_cases.py tcp HOST PORT USER PASSWORD   # Mailwarden
    context_cases.py stream COMMAND                # Dovecot's imap binary, preauth
"""
import imaplib
import json
import re
import sys
import time

imaplib.Commands.setdefault("CANCELUPDATE", ("SELECTED",))


class Stream(imaplib.IMAP4_stream):
    pass


def connect(prefix):
    if sys.argv[1] == "tcp":
        c = imaplib.IMAP4(sys.argv[2], int(sys.argv[3]))
    else:
        c = Stream(sys.argv[2])
    # The same tags on both servers: the ESEARCH correlators compare.
    c.tagpre = prefix
    c.tagre = re.compile(br"(?P<tag>" + prefix + br"\d+) (?P<type>[A-Z]+) (?P<data>.*)", re.ASCII)
    if sys.argv[1] == "tcp":
        c.login(sys.argv[4], sys.argv[5])
    else:
        c.noop()  # in place of LOGIN, so that the tags agree
    return c


def raw(c, cmd):
    """Sends cmd; returns the lines up to its completion, \\Recent
    reports left out (two sessions race for them)."""
    tag = c._new_tag().decode()
    c.send((tag + " " + cmd + "\r\n").encode())
    got = []
    while True:
        line = c.readline().decode().rstrip("\r\n")
        if line.startswith(tag + " "):
            got.append(tag + " " + line[len(tag) + 1:].split(" ")[0])
            return got
        if re.fullmatch(r"\* \d+ RECENT", line) or " FETCH " in line:
            continue
        got.append(line)


def settle():
    # Dovecot learns of the other session's changes from the file
    # system; Mailwarden at once.
    time.sleep(0.4)


MSG = b"From: a@example.org\r\nSubject: s\r\n\r\nbody\r\n"
a, b = connect(b"A"), connect(b"B")
for _ in range(3):
    b.append("INBOX", None, None, MSG)
b.select("INBOX")
out = {"select": [l for l in raw(a, "SELECT INBOX") if l.startswith("* ") and "EXISTS" in l]}
out["uid_update"] = raw(a, "UID SEARCH RETURN (UPDATE COUNT) UNSEEN")
out["seq_update"] = raw(a, "SEARCH RETURN (UPDATE MIN) NOT DELETED")
b.append("INBOX", None, None, MSG)
settle()
out["after_append"] = raw(a, "NOOP")
b.store("1,3", "+FLAGS", "(\\Seen)")
settle()
out["after_seen"] = raw(a, "NOOP")
b.store("2", "+FLAGS", "(\\Deleted)")
settle()
out["after_deleted"] = raw(a, "NOOP")
b.expunge()
settle()
out["after_expunge"] = raw(a, "NOOP")
out["cancel"] = raw(a, 'CANCELUPDATE "%s"' % out["uid_update"][0].split('"')[1])
b.append("INBOX", None, None, MSG)
settle()
out["after_cancel"] = raw(a, "NOOP")
a.logout()
b.logout()
print(json.dumps(out))
