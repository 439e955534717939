"""Drives NOTIFY's METADATA events (RFC 5465 5.9 MailboxMetadataChange,
5.10 ServerMetadataChange) with imaplib: A (USER) asks for them, B (the
same user on another connection) and C (OTHER, who shares a folder
with USER) change entries. Every step that expects a line waits for it
(pushed); the lines a step must not bring are checked by a later change
that must come alone, published after them on the same watch. Prints,
per step, the lines A received as JSON.

    notify_metadata.py HOST PORT USER OTHER PASSWORD
"""
import imaplib
import json
import re
import select
import sys

imaplib.Commands.setdefault("NOTIFY", ("AUTH", "SELECTED"))


def conn(host, port, user, password, prefix):
    c = imaplib.IMAP4(host, port)
    c.tagpre = prefix
    c.tagre = re.compile(br"(?P<tag>" + prefix + br"\d+) (?P<type>[A-Z]+) (?P<data>.*)", re.ASCII)
    c.login(user, password)
    return c


def read_line(c, timeout):
    """One response line off the socket; None when nothing comes within
    timeout seconds."""
    c.sock.setblocking(False)
    try:
        buffered = c.file.peek(1)
    except BlockingIOError:
        buffered = b""
    finally:
        c.sock.setblocking(True)
    if not buffered and not select.select([c.sock], [], [], timeout)[0]:
        return None
    return c.readline().decode("utf-8", "replace").rstrip("\r\n")


def raw(c, cmd):
    """Sends a command and returns every line up to its completion."""
    tag = c._new_tag().decode()
    c.send((tag + " " + cmd + "\r\n").encode())
    got = []
    while True:
        line = read_line(c, 10)
        if line is None:
            raise SystemExit("timeout waiting for " + tag)
        if line.startswith(tag + " "):
            got.append(line[len(tag) + 1:])
            return got
        got.append(line)


def pushed(c, until, timeout=10):
    """Lines c receives with no command in progress, up to the first
    that starts with until."""
    got = []
    while True:
        line = read_line(c, timeout)
        if line is None:
            got.append("TIMEOUT")
            return got
        got.append(line)
        if line.startswith(until):
            return got


def quiet(c, timeout=0.5):
    """Lines c receives within timeout (none expected)."""
    got = []
    while True:
        line = read_line(c, timeout)
        if line is None:
            return got
        got.append(line)


host, port, user, other, password = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
out = {}
shared = '"Other Users/%s/Work"' % other

a, b = conn(host, port, user, password, b"A"), conn(host, port, user, password, b"B")
c = conn(host, port, other, password, b"C")
a.create("Notes")
raw(c, "CREATE Work")
raw(c, "SETACL Work %s lr" % user)

out["set"] = raw(a, "NOTIFY SET (personal (MailboxMetadataChange ServerMetadataChange)) "
                 "(mailboxes %s (MailboxMetadataChange))" % shared)

# RFC 5465 5.9, RFC 5464 4.4.2: a shared entry of a personal folder,
# the name alone.
raw(b, 'SETMETADATA Notes (/shared/comment "hello")')
out["shared"] = pushed(a, "* METADATA")

# The user's own private entries, changed on another connection.
raw(b, 'SETMETADATA Notes (/private/comment "mine")')
out["private"] = pushed(a, "* METADATA")

# Several at once, one removed: one response, names sorted.
raw(b, 'SETMETADATA Notes (/shared/comment NIL /private/todo "x")')
out["several"] = pushed(a, "* METADATA")

# RFC 5465 5.10: the user's private server entry.
raw(b, 'SETMETADATA "" (/private/vendor/mailwarden/x "1")')
out["server"] = pushed(a, "* METADATA")

# Another user's private entries, on the folder shared with USER and on
# the server, are not USER's business; its shared entry is.
raw(c, 'SETMETADATA Work (/private/comment "mine")')
raw(c, 'SETMETADATA "" (/private/vendor/mailwarden/x "2")')
raw(c, 'SETMETADATA Work (/shared/comment "for all")')
out["other_user"] = pushed(a, "* METADATA")

# RFC 5465 5: A's own change is not echoed to A.
out["own"] = raw(a, 'SETMETADATA Notes (/shared/own "a")')
raw(b, 'SETMETADATA Notes (/shared/marker "1")')
out["after_own"] = pushed(a, "* METADATA")

# Without "r" the shared entries of Work are not USER's to read (RFC
# 5464 3.3, RFC 5465 5): nothing comes for Work.
raw(c, "SETACL Work %s l" % user)
raw(c, 'SETMETADATA Work (/shared/comment "hidden")')
out["no_read"] = quiet(a)
raw(b, 'SETMETADATA Notes (/shared/marker "2")')
out["no_read_marker"] = pushed(a, "* METADATA")

# NOTIFY without the METADATA events: nothing.
out["set_other"] = raw(a, "NOTIFY SET (personal (MailboxName))")
raw(b, 'SETMETADATA Notes (/shared/marker "3")')
raw(b, 'SETMETADATA "" (/private/vendor/mailwarden/x "3")')
out["not_asked"] = quiet(a)

for x in (a, b, c):
    x.logout()
print(json.dumps(out))
