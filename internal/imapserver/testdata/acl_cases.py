"""Runs one conversation of the ACL commands (RFC 4314) on the user's own
folders with Python's imaplib and prints, per step, the response lines,
as JSON, so that Mailwarden's answers can be compared with Dovecot's
(acl and imap_acl plugins).

    acl_cases.py tcp HOST PORT USER PASSWORD   # Mailwarden
    acl_cases.py stream COMMAND                # Dovecot's imap binary, preauth
"""
import imaplib
import json
import sys

from logclient import connect


c = connect(sys.argv)

out = {}


def step(name, *args):
    c.log = []
    try:
        c._simple_command(*args)
    except imaplib.IMAP4.error as e:
        c.log.append("error: " + str(e))
    out[name] = c.log
    c.log = None


# imaplib knows these commands; give it the ones it lacks.
imaplib.Commands.setdefault("LISTRIGHTS", ("AUTH", "SELECTED"))

c._simple_command("CREATE", "Work")
step("caps", "CAPABILITY")
step("myrights", "MYRIGHTS", "Work")
step("getacl_new", "GETACL", "Work")
step("setacl", "SETACL", "Work", "bob@example.org", "lrs")
step("setacl_add", "SETACL", "Work", "bob@example.org", "+i")
step("setacl_anyone", "SETACL", "Work", "anyone", "l")
step("getacl", "GETACL", "Work")
step("setacl_remove", "SETACL", "Work", "bob@example.org", "-s")
step("setacl_c", "SETACL", "Work", "carol@example.org", "lrc")
step("setacl_d", "SETACL", "Work", "dave@example.org", "lrd")
step("getacl_cd", "GETACL", "Work")
step("listrights", "LISTRIGHTS", "Work", "bob@example.org")
step("deleteacl", "DELETEACL", "Work", "anyone")
step("deleteacl_absent", "DELETEACL", "Work", "nobody@example.org")
step("getacl_after", "GETACL", "Work")
step("setacl_bad_right", "SETACL", "Work", "bob@example.org", "lq")
step("getacl_missing", "GETACL", "Nope")
step("myrights_inbox", "MYRIGHTS", "INBOX")
c.logout()
print(json.dumps(out))
