"""Drives UIDONLY (RFC 9586) with Python's imaplib and prints, per step,
the response lines read, plus what imaplib made of them, as JSON.

    uidonly_cases.py HOST PORT USER PASSWORD

imaplib knows nothing of UIDFETCH: it files those responses under their
name, which is how a client that does not expect them would see them.
"""
import imaplib
import json
import sys


class Recorder(imaplib.IMAP4):
    log = None

    def _get_line(self):
        line = super()._get_line()
        if self.log is not None:
            self.log.append(line.decode("utf-8", "replace"))
        return line


def connect():
    c = Recorder(sys.argv[1], int(sys.argv[2]))
    c.login(sys.argv[3], sys.argv[4])
    return c


out = {}


def step(name, c, fn):
    c.log = []
    try:
        res = fn()
    except imaplib.IMAP4.error as e:
        c.log.append("error: " + str(e))
        res = None
    out[name] = c.log
    c.log = None
    return res


def parsed(name, value):
    out[name] = [repr(v) for v in value]


a = connect()
for i in range(1, 4):
    a.append("INBOX", None, None, b"Subject: m%d\r\n\r\nbody %d\r\n" % (i, i))
step("enable", a, lambda: a.enable("UIDONLY"))
step("select", a, lambda: a.select("INBOX"))
step("fetch_seq", a, lambda: a.fetch("1", "(FLAGS)"))
step("search_seq", a, lambda: a.search(None, "ALL"))
step("uid_search_seq", a, lambda: a.uid("SEARCH", "1:2"))
typ, data = step("uid_fetch", a, lambda: a._simple_command("UID", "FETCH", "1:*", "(FLAGS BODY.PEEK[TEXT])"))
parsed("uid_fetch_parsed", a._untagged_response(typ, data, "UIDFETCH")[1])
step("uid_store", a, lambda: a.uid("STORE", "2", "+FLAGS", "(\\Deleted \\Seen)"))
step("uid_search", a, lambda: a.uid("SEARCH", "DELETED"))
step("expunge", a, lambda: a.expunge())
b = connect()
b.select("INBOX")
b.store("1", "+FLAGS", "(\\Deleted)")
b.expunge()
b.store("1", "+FLAGS", "(\\Answered)")
b.logout()
step("noop", a, lambda: a.noop())
step("uid_copy", a, lambda: a.uid("COPY", "1:*", "Trash"))
step("logout", a, lambda: a.logout())
print(json.dumps(out))
