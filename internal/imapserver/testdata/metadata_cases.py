"""Runs one METADATA (RFC 5464) conversation with Python's imaplib and
prints, per step, the answer as JSON: the METADATA responses with their
entries sorted (values as quoted strings however the server sent them),
then the tagged status and response code (or the error imaplib raised).

    metadata_cases.py tcp HOST PORT USER PASSWORD   # Mailwarden
    metadata_cases.py stream COMMAND                # Dovecot's imap binary, preauth
"""
import imaplib
import json
import re
import sys

imaplib.Commands["GETMETADATA"] = ("AUTH", "SELECTED")
imaplib.Commands["SETMETADATA"] = ("AUTH", "SELECTED")


def connect():
    if sys.argv[1] == "tcp":
        c = imaplib.IMAP4(sys.argv[2], int(sys.argv[3]))
        c.login(sys.argv[4], sys.argv[5])
    else:
        c = imaplib.IMAP4_stream(sys.argv[2])
    return c


def quote(b):
    return '"' + b.decode("utf-8", "replace").replace("\\", "\\\\").replace('"', '\\"') + '"'


TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[()]|[^\s()"]+')


def canonical(items):
    """One METADATA response from imaplib's pieces, entries sorted."""
    text = ""
    for it in items:
        if isinstance(it, tuple):
            hdr = re.sub(rb"~?\{\d+\}$", b"", it[0]).decode()
            text += hdr + quote(it[1])
        else:
            text += it.decode()
    toks = TOKEN.findall(text)
    mailbox, body = toks[0], toks[2:-1]
    pairs = sorted(body[i] + " " + body[i + 1] for i in range(0, len(body) - 1, 2))
    return mailbox + " (" + " ".join(pairs) + ")"


def responses(c):
    data = c.untagged_responses.pop("METADATA", [])
    out, cur = [], []
    for it in data:
        # imaplib files the tagged [METADATA LONGENTRIES n] code here too.
        if not isinstance(it, tuple) and re.match(rb"(LONGENTRIES|MAXSIZE|TOOMANY|NOPRIVATE)\b", it):
            continue
        cur.append(it)
        if not isinstance(it, tuple):  # the end of one response
            out.append(canonical(cur))
            cur = []
    return out


out = {}


def step(name, c, *args):
    c.untagged_responses.pop("METADATA", None)
    try:
        typ, dat = c._simple_command(*args)
        res = responses(c)
        code = dat[-1].decode() if dat and dat[-1] else ""
        m = re.match(r"\[([^\]]*)\]", code)
        # Dovecot 2.3 has no OBJECTID: CREATE's MAILBOXID code is left out.
        res.append(typ + (" [" + m.group(1) + "]" if m and not m.group(1).startswith("MAILBOXID") else ""))
    except imaplib.IMAP4.error as e:
        res = responses(c) + ["error: " + str(e).split(" ", 2)[0]]
    out[name] = res


def literal(c, name, cmd, value, close=")", binary=False):
    """A SETMETADATA with a synchronizing literal value: imaplib can
    send one literal, at the end of a command; this one is followed by
    the closing parenthesis."""
    tag = c._new_tag()
    c.send(tag + b" " + cmd.encode() + (b" ~" if binary else b" ") + b"{%d}\r\n" % len(value))
    c._get_response()  # the continuation request
    c.send(value + close.encode() + b"\r\n")
    try:
        typ, dat = c._command_complete(cmd.split()[0], tag)
        out[name] = [typ]
    except imaplib.IMAP4.error as e:
        out[name] = ["error: " + str(e).split(" ", 2)[0]]


c = connect()
step("get_missing", c, "GETMETADATA", "INBOX", "/private/comment")
step("set_two", c, "SETMETADATA", "INBOX", '(/shared/comment "My new comment" /private/comment "My own comment")')
step("get_two", c, "GETMETADATA", "INBOX", "(/shared/comment /private/comment)")
literal(c, "set_literal", "SETMETADATA INBOX (/private/comment", b"My new comment across\r\ntwo lines.")
step("get_literal", c, "GETMETADATA", "INBOX", "/private/comment")
step("get_case", c, "GETMETADATA", "INBOX", "/Shared/Comment")
step("maxsize", c, "GETMETADATA", "(MAXSIZE 14)", "INBOX", "(/shared/comment /private/comment)")
step("set_tree", c, "SETMETADATA", "INBOX", '(/private/vendor/x/a "1" /private/vendor/x/a/b "2" /private/vendor/x/c "3")')
step("depth0", c, "GETMETADATA", "INBOX", "/private/vendor/x")
step("depth1", c, "GETMETADATA", "(DEPTH 1)", "INBOX", "/private/vendor/x")
step("depth_inf", c, "GETMETADATA", "(DEPTH infinity)", "INBOX", "/private/vendor")
step("depth_none", c, "GETMETADATA", "(DEPTH 1)", "INBOX", "/private/nothing")
step("remove", c, "SETMETADATA", "INBOX", '(/private/vendor/x/c NIL /private/vendor/x/a "")')
step("after_remove", c, "GETMETADATA", "INBOX", "(/private/vendor/x/c /private/vendor/x/a)")
step("bad_prefix", c, "SETMETADATA", "INBOX", '(/foo "x")')
step("bad_slash", c, "SETMETADATA", "INBOX", '(/private//x "x")')
step("bad_trailing", c, "SETMETADATA", "INBOX", '(/private/x/ "x")')
step("bad_depth", c, "GETMETADATA", "(DEPTH 2)", "INBOX", "/private")
step("no_mailbox", c, "GETMETADATA", "nope", "/private/comment")
step("create", c, "CREATE", "Work")
step("set_work", c, "SETMETADATA", "Work", '(/shared/comment "work" /private/comment "mine")')
step("rename", c, "RENAME", "Work", "Job")
step("get_renamed", c, "GETMETADATA", "Job", "(/shared/comment /private/comment)")
step("delete", c, "DELETE", "Job")
step("recreate", c, "CREATE", "Job")
step("get_recreated", c, "GETMETADATA", "Job", "(/shared/comment /private/comment)")
# Mailwarden only (Dovecot 2.3 keeps no server entries for a user, has
# no /shared/admin unless configured, and refuses NUL in values).
step("server_admin", c, "GETMETADATA", '""', "/shared/admin")
step("server_set_shared", c, "SETMETADATA", '""', '(/shared/comment "x")')
step("server_set_private", c, "SETMETADATA", '""', '(/private/vendor/example/theme "dark")')
step("server_get_private", c, "GETMETADATA", "(DEPTH infinity)", '""', "/private")
literal(c, "set_binary", "SETMETADATA INBOX (/private/vendor/x/bin", b"a\x00b", binary=True)
step("get_binary", c, "GETMETADATA", "INBOX", "/private/vendor/x/bin")
c.logout()
print(json.dumps(out))
