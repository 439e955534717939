"""ACL answers of one user on a list of mailboxes, as JSON, so that
Mailwarden's can be compared with Dovecot's after Mailwarden imported
Dovecot's dovecot-acl files.

    acl_import.py setup stream COMMAND
        as the owner on Dovecot: make the folders and set their ACLs
    acl_import.py rights tcp HOST PORT USER PASSWORD MAILBOX...   # Mailwarden
    acl_import.py rights stream COMMAND MAILBOX...                # Dovecot, preauth

    acl_import.py seen tcp|stream ... MAILBOX ACTION...
        one session on MAILBOX doing ACTIONs (select, flags, read, seen+,
        seen-, status), each keyed by its position

"rights" prints, per mailbox given (keyed by its position), the lines
of MYRIGHTS and, when the user may, GETACL.
"""
import imaplib
import json
import sys


class Rec:
    log = None

    def _get_line(self):
        line = super()._get_line()
        if self.log is not None:
            self.log.append(line.decode("utf-8", "replace"))
        return line


class TCP(Rec, imaplib.IMAP4):
    pass


class Stream(Rec, imaplib.IMAP4_stream):
    pass


mode, kind = sys.argv[1], sys.argv[2]
if kind == "tcp":
    c = TCP(sys.argv[3], int(sys.argv[4]))
    c.login(sys.argv[5], sys.argv[6])
    rest = sys.argv[7:]
else:
    c = Stream(sys.argv[3])
    rest = sys.argv[4:]


def q(name):
    return '"' + name + '"'


out = {}


def step(key, *args):
    c.log = []
    try:
        c._simple_command(*args)
    except imaplib.IMAP4.error as e:
        c.log.append("error: " + str(e))
    out[key] = c.log
    c.log = None


if mode == "setup":
    # Dovecot's names ("/" separator); Mailwarden's are the same
    # folders with ".".
    for f in ["Work", "Work/Sub", "Team"]:
        c._simple_command("CREATE", f)
    c.append("Work", None, None, b"From: alice@example.org\r\nSubject: plan\r\n\r\nthe plan\r\n")
    for f, ident, rights in [
        ("INBOX", "bob@example.org", "lr"),
        ("Work", "bob@example.org", "lrs"),
        ("Work", "anyone", "l"),
        ("Work", "authenticated", "r"),
        ("Work", "-carol@example.org", "r"),
        ("Work", "-anyone", "i"),
        ("Work/Sub", "bob@example.org", "lrc"),
        ("Work/Sub", "dave@example.org", "lrswipkxtea"),
        ("Team", "$team", "lr"),
        ("Team", "carol@example.org", "lrswd"),
        ("Team", "owner", "lrswipkxtea"),
    ]:
        step("setacl %s %s" % (f, ident), "SETACL", q(f), ident, rights)
elif mode == "seen":
    box, actions = rest[0], rest[1:]
    for i, a in enumerate(actions):
        key = "%d %s" % (i, a)
        if a == "select":
            step(key, "SELECT", q(box))
        elif a == "flags":
            step(key, "FETCH", "1", "(FLAGS)")
        elif a == "read":
            step(key, "FETCH", "1", "(BODY[TEXT])")
        elif a == "seen+":
            step(key, "STORE", "1", "+FLAGS", "(\\Seen)")
        elif a == "seen-":
            step(key, "STORE", "1", "-FLAGS", "(\\Seen)")
        elif a == "status":
            step(key, "STATUS", q(box), "(MESSAGES UNSEEN)")
else:
    for i, m in enumerate(rest):
        step("myrights %d" % i, "MYRIGHTS", q(m))
        step("getacl %d" % i, "GETACL", q(m))
c.logout()
print(json.dumps(out))
