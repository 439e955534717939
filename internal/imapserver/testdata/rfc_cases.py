"""Runs the same IMAP conversation against a server with Python's imaplib
and prints, per step, the response lines the server sent, as JSON.

    rfc_cases.py tcp HOST PORT USER PASSWORD   # Mailwarden: two logins
    rfc_cases.py stream COMMAND                # Dovecot's imap binary, preauth

Each step runs a command through imaplib (a real client: its parser
must accept every line) and records the raw lines read for it.
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


class TCP(Recorder):
    pass


class Stream(imaplib.IMAP4_stream):
    log = None

    def _get_line(self):
        line = super()._get_line()
        if self.log is not None:
            self.log.append(line.decode("utf-8", "replace"))
        return line


def connect():
    if sys.argv[1] == "tcp":
        c = TCP(sys.argv[2], int(sys.argv[3]))
        c.login(sys.argv[4], sys.argv[5])
    else:
        c = Stream(sys.argv[2])
    c.log = []
    return c


out = {}


def step(name, c, fn):
    c.log = []
    try:
        fn()
    except imaplib.IMAP4.error as e:
        c.log.append("error: " + str(e))
    out[name] = c.log
    c.log = None


MSG1 = (b"From: Jane Doe <user (comment)@ (comment) domain.org>\r\n"
        b"To: bob@example.org\r\nSubject: first\r\n"
        b"Date: Mon, 7 Feb 2022 21:52:25 -0800\r\nMessage-ID: <1@x>\r\n\r\nhello\r\n")
MSG2 = (b"From: other@example.net\r\nTo: bob@example.org\r\nSubject: second\r\n"
        b"Date: Tue, 8 Feb 2022 21:52:25 -0800\r\nMessage-ID: <2@x>\r\n\r\nhello\r\n")

a = connect()
b = connect()

# RFC 3501 6.3.4, RFC 5258 3.1: DELETE keeps the subscription.
step("create_gone", a, lambda: a.create("Gone"))
step("subscribe_gone", a, lambda: a.subscribe("Gone"))
step("delete_gone", a, lambda: a.delete("Gone"))
step("list_subscribed_gone", a, lambda: a._simple_command("LIST", "(SUBSCRIBED)", '""', "Gone"))
step("lsub_gone", a, lambda: a.lsub('""', "Gone"))
step("list_gone", a, lambda: a.list('""', "Gone"))
step("unsubscribe_gone", a, lambda: a.unsubscribe("Gone"))
step("lsub_gone_after", a, lambda: a.lsub('""', "Gone"))
# RFC 5258 3.5: CHILDINFO only for children the pattern leaves out.
step("create_foobar", a, lambda: a.create("Foo.Bar"))
step("subscribe_foobar", a, lambda: a.subscribe("Foo.Bar"))
step("childinfo_star", a, lambda: a._simple_command("LIST", "(SUBSCRIBED RECURSIVEMATCH)", '""', '"Foo*"'))
step("childinfo_percent", a, lambda: a._simple_command("LIST", "(SUBSCRIBED RECURSIVEMATCH)", '""', '"Fo%"'))

# RFC 3501 2.3.2: the first session to see a message has it \Recent.
step("append1", a, lambda: a.append("INBOX", None, None, MSG1))
step("select_a", a, lambda: a.select("INBOX"))
step("select_b", b, lambda: b.select("INBOX"))
step("append2", b, lambda: b.append("INBOX", None, None, MSG2))
step("noop_a", a, lambda: a.noop())
step("noop_b", b, lambda: b.noop())
step("fetch_flags_a", a, lambda: a.fetch("1:*", "(FLAGS)"))
step("fetch_flags_b", b, lambda: b.fetch("1:*", "(FLAGS)"))
step("search_recent_a", a, lambda: a.search(None, "RECENT"))
step("search_new_a", a, lambda: a.search(None, "NEW"))
step("search_old_b", b, lambda: b.search(None, "OLD"))
step("search_new_b", b, lambda: b.search(None, "NEW"))

# Address search matches the parsed address.
step("search_from", a, lambda: a.search(None, "FROM", "user@domain.org"))
step("search_from_name", a, lambda: a.search(None, "FROM", '"Jane Doe"'))

# RFC 7162 3.1: a command that enables CONDSTORE implicitly.
step("fetch_modseq", a, lambda: a.fetch("1", "(MODSEQ)"))
step("fetch_modseq_again", a, lambda: a.fetch("1", "(MODSEQ)"))

# RFC 9051 7.3.5: FLAGS announces a new keyword before FETCH shows it.
step("store_keyword", b, lambda: b.store("2", "+FLAGS", "($Label1)"))
step("noop_a_keyword", a, lambda: a.noop())

step("logout_b", b, lambda: b.logout())
step("logout_a", a, lambda: a.logout())
print(json.dumps(out))
