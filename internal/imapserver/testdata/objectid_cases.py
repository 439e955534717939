"""Drives OBJECTID (RFC 8474) with Python's imaplib and prints, per step,
what imaplib returned, as JSON; object ids are replaced by names
(F1, F2... for MAILBOXIDs, M1, M2... for EMAILIDs) in order of first
appearance, so that the expected answers can be written down.

    objectid_cases.py HOST PORT USER PASSWORD
"""
import imaplib
import json
import re
import sys

c = imaplib.IMAP4(sys.argv[1], int(sys.argv[2]))
c.login(sys.argv[3], sys.argv[4])

names = {}
# Not \b: an id may end with "-", and "-)" has no word boundary.
ID = re.compile(r"(?<![A-Za-z0-9_-])([FM][A-Za-z0-9_-]{20})(?![A-Za-z0-9_-])")


def norm(v):
    if isinstance(v, bytes):
        v = v.decode()
    if isinstance(v, (list, tuple)):
        return [norm(x) for x in v]
    if isinstance(v, str):
        def name(m):
            k = m.group(1)
            if k not in names:
                n = sum(1 for x in names if x[0] == k[0]) + 1
                names[k] = k[0] + str(n)
            return names[k]
        return ID.sub(name, v)
    return v


out = {}


def step(name, fn):
    try:
        out[name] = norm(fn())
    except imaplib.IMAP4.error as e:
        out[name] = "error: " + str(e)


def select_code(box):
    c.select(box)
    return c.response("MAILBOXID")


MSG = b"From: a@example.org\r\nSubject: %d\r\nMessage-ID: <%d@x>\r\n\r\nbody\r\n"

step("caps", lambda: "OBJECTID" in c.capabilities)
step("create", lambda: c.create("foo"))
step("status", lambda: c.status("foo", "(MAILBOXID MESSAGES)"))
step("select", lambda: select_code("foo"))
step("rename", lambda: c.rename("foo", "bar"))
step("status_renamed", lambda: c.status("bar", "(MAILBOXID)"))
step("delete", lambda: c.delete("bar"))
step("recreate", lambda: c.create("bar"))
step("append1", lambda: c.append("INBOX", None, None, MSG % (1, 1))[0])
step("append2", lambda: c.append("INBOX", None, None, MSG % (2, 2))[0])
step("select_inbox", lambda: select_code("INBOX"))
step("fetch", lambda: c.fetch("1:2", "(EMAILID THREADID)"))
step("search", lambda: c.search(None, "EMAILID", [k for k, v in names.items() if v == "M2"][0]))
step("search_thread", lambda: c.search(None, "THREADID", "T1"))
step("copy", lambda: c.copy("1", "bar")[0])
step("move", lambda: c._simple_command("MOVE", "2", "bar")[0])
step("select_bar", lambda: select_code("bar"))
step("fetch_bar", lambda: c.fetch("1:2", "(EMAILID)"))
step("list_status", lambda: c._simple_command("LIST", '""', "bar", "RETURN", "(STATUS (MAILBOXID))")
     and c.response("STATUS"))
c.logout()
print(json.dumps(out))
