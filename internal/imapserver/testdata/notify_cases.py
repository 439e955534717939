"""Drives NOTIFY (RFC 5465) and CONTEXT=SEARCH/SORT (RFC 5267) with two
imaplib connections: A asks for notifications, B makes the changes. A's
unsolicited responses are read straight off its socket with no command
in progress, as a NOTIFY client must (RFC 5465 1). Prints, per step, the
lines A received as JSON.

    notify_cases.py HOST PORT USER PASSWORD
"""
import imaplib
import json
import re
import select
import sys

host, port, user, password = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
imaplib.Commands.setdefault("NOTIFY", ("AUTH", "SELECTED"))
imaplib.Commands.setdefault("CANCELUPDATE", ("SELECTED",))
out = {}


def conn(prefix):
    c = imaplib.IMAP4(host, port)
    # Fixed tags, so that the expected ESEARCH correlators are known.
    c.tagpre = prefix
    c.tagre = re.compile(br"(?P<tag>" + prefix + br"\d+) (?P<type>[A-Z]+) (?P<data>.*)", re.ASCII)
    c.login(user, password)
    return c


def lines_of(typ, data):
    res = []
    for d in data:
        if isinstance(d, tuple):
            res.append(d[0].decode() + d[1].decode())
        elif d is not None:
            res.append(d.decode())
    return res


def raw(c, tag_cmd):
    """Sends a command line and returns every line up to its completion."""
    tag = c._new_tag().decode()
    c.send((tag + " " + tag_cmd + "\r\n").encode())
    got = []
    while True:
        line = read_line(c, 10)
        if line is None:
            raise SystemExit("timeout waiting for " + tag)
        if line.startswith(tag + " "):
            got.append(line[len(tag) + 1:])
            return got
        if not is_recent(line):
            got.append(line)


def read_line(c, timeout):
    """One response line off the socket, its literals inline; None when
    nothing comes within timeout seconds."""
    # Data may wait in imaplib's buffer already; else wait on the socket.
    c.sock.setblocking(False)
    try:
        buffered = c.file.peek(1)
    except BlockingIOError:
        buffered = b""
    finally:
        c.sock.setblocking(True)
    if not buffered and not select.select([c.sock], [], [], timeout)[0]:
        return None
    line = c.readline()
    s = line.decode("utf-8", "replace").rstrip("\r\n")
    while s.endswith("}") and "{" in s:
        n = int(s[s.rindex("{") + 1:-1])
        s += "\r\n" + c.read(n).decode("utf-8", "replace")
        s += c.readline().decode("utf-8", "replace").rstrip("\r\n")
    return s


def pushed(c, until, timeout=10):
    """Lines A receives without sending anything, up to the first that
    starts with until."""
    got = []
    while True:
        line = read_line(c, timeout)
        if line is None:
            got.append("TIMEOUT")
            return got
        if not is_recent(line):
            got.append(line)
        if line.startswith(until):
            return got


def quiet(c, timeout=0.5):
    """Lines A receives within timeout (none expected)."""
    got = []
    while True:
        line = read_line(c, timeout)
        if line is None:
            return got
        if not is_recent(line):
            got.append(line)


def is_recent(line):
    """"* n RECENT": which of the two sessions claims a new message as
    recent first (RFC 3501 2.3.2) is a race, so those lines are left out."""
    return re.fullmatch(r"\* \d+ RECENT", line) is not None


def tag_of(lines):
    """The tag of the command whose ESEARCH is among lines."""
    return [l for l in lines if l.startswith("* ESEARCH")][0].split('"')[1]


MSG = b"From: Boss <boss@example.org>\r\nSubject: urgent\r\n\r\nbody\r\n"

a, b = conn(b"A"), conn(b"B")
for name in ("misc", "Lists", "Lists.Lemonade"):
    a.create(name)
a.select("INBOX")

# RFC 5465 3.1's example, with our names: SELECTED with MessageNew's
# fetch attributes, a subtree and one more mailbox; STATUS first.
out["notify_set"] = raw(a, 'NOTIFY SET STATUS (selected (MessageNew (UID BODY.PEEK[HEADER.FIELDS (From Subject)]) '
                        'MessageExpunge FlagChange)) (subtree Lists (MessageNew MessageExpunge)) '
                        '(mailboxes misc (MessageNew MessageExpunge MailboxName))')

# RFC 5465 5.2: a new message in the selected mailbox, EXISTS then FETCH,
# with no command in progress.
b.append("INBOX", None, None, MSG)
out["new_selected"] = pushed(a, "* 1 FETCH")

# RFC 5465 5.2: in another watched mailbox, STATUS (UIDNEXT MESSAGES).
b.append("Lists.Lemonade", None, None, MSG)
out["new_other"] = pushed(a, "* STATUS")

# Not watched: nothing.
b.create("elsewhere")
b.append("elsewhere", None, None, MSG)
out["unwatched"] = quiet(a)

# RFC 5465 5.1: a flag change in the selected mailbox, FETCH with UID
# and FLAGS.
b.select("INBOX")
b.store("1", "+FLAGS", "(\\Flagged)")
out["flags_selected"] = pushed(a, "* 1 FETCH")

# RFC 5465 5.3: an expunge in the selected mailbox with SELECTED comes
# at once.
b.store("1", "+FLAGS", "(\\Deleted)")
out["flags_deleted"] = pushed(a, "* 1 FETCH")
b.expunge()
out["expunge_selected"] = pushed(a, "* 1 EXPUNGE")

# RFC 5465 5.4: MailboxName for misc: deleted, then made again.
b.delete("misc")
out["delete_watched"] = pushed(a, "* LIST")
b.create("misc")
out["create_watched"] = pushed(a, "* LIST")
out["noop_after"] = raw(a, "NOOP")

# A's own APPEND to a watched mailbox makes no STATUS (RFC 5465 5).
a.append("Lists.Lemonade", None, None, MSG)
out["own_append"] = quiet(a)

# Unsupported events: tagged NO with BADEVENT (RFC 5465 3.1); the
# earlier NOTIFY stays.
out["badevent"] = raw(a, "NOTIFY SET (personal (MessageNew MessageExpunge AnnotationChange))")
out["bad_pairing"] = raw(a, "NOTIFY SET (personal (MessageNew))")
out["bad_selected"] = raw(a, "NOTIFY SET (selected (MailboxName))")

# SELECTED-DELAYED: new messages at once, expunges only with a command
# (RFC 5465 6.1.2); SubscriptionChange for personal names (5.5).
out["delayed_set"] = raw(a, "NOTIFY SET (selected-delayed (MessageNew MessageExpunge)) "
                        "(personal (SubscriptionChange))")
b.append("INBOX", None, None, MSG)
out["delayed_new"] = pushed(a, "* 1 EXISTS")
b.store("1", "+FLAGS.SILENT", "(\\Deleted)")
b.expunge()
out["delayed_expunge_waits"] = quiet(a)
out["delayed_expunge_noop"] = raw(a, "NOOP")
b.subscribe("Lists.Lemonade")
out["subscribe"] = pushed(a, "* LIST")
b.unsubscribe("Lists.Lemonade")
out["unsubscribe"] = pushed(a, "* LIST")

# NOTIFY NONE: nothing pushed; NOOP still reports the mailbox.
out["none"] = raw(a, "NOTIFY NONE")
b.append("INBOX", None, None, MSG)
out["none_quiet"] = quiet(a)
out["none_noop"] = raw(a, "NOOP")

# CONTEXT=SEARCH (RFC 5267 4.3): UPDATE, then ADDTO as a message comes,
# REMOVEFROM as one stops matching, with no command in progress.
out["search_update"] = raw(a, "UID SEARCH RETURN (UPDATE COUNT) UNSEEN")
b.append("INBOX", None, None, MSG)
out["addto"] = pushed(a, "* ESEARCH")
b.store("1:*", "+FLAGS", "(\\Seen)")
out["removefrom"] = pushed(a, "* ESEARCH")
# A tag in use by an updating search cannot start another (RFC 5267 4.3).
reuse = tag_of(out["search_update"])
a.send((reuse + " UID SEARCH RETURN (UPDATE) ALL\r\n").encode())
out["tag_reuse"] = [l for l in pushed(a, reuse + " ") if not l.startswith("* ")]

# CONTEXT=SORT: positions in sort order; REMOVEFROM before the EXPUNGE
# it explains (RFC 5267 4.3.4), at a command since expunges wait.
out["sort_update"] = raw(a, "SORT RETURN (UPDATE ALL) (ARRIVAL) UTF-8 ALL")
b.append("INBOX", None, '"01-Jan-2001 00:00:00 +0000"', MSG)
sort_tag = tag_of(out["sort_update"])
out["sort_addto"] = pushed(a, '* ESEARCH (TAG "' + sort_tag + '") ADDTO')
b.store("1", "+FLAGS.SILENT", "(\\Deleted)")
# The flag change is pushed on its own; waiting for it keeps it apart
# from the expunge (a flag change the server learns of only with the
# expunge of the same message need not be reported at all).
out["sort_flag"] = pushed(a, "* 1 FETCH")
b.expunge()
out["sort_expunge_noop"] = raw(a, "NOOP")

# CANCELUPDATE stops them (RFC 5267 4.3.5).
tags = [tag_of(out["search_update"]), sort_tag]
out["cancel"] = raw(a, 'CANCELUPDATE "%s" "%s"' % tuple(tags))
out["cancel_unknown"] = raw(a, 'CANCELUPDATE "nope"')
b.append("INBOX", None, None, MSG)
out["cancel_noop"] = raw(a, "NOOP")

# RFC 5465 7: UPDATE with fetch attributes, the FETCH before the ADDTO.
out["update_fetch"] = raw(a, "UID SEARCH RETURN (UPDATE (UID RFC822.SIZE)) FLAGGED")
b.append("INBOX", "(\\Flagged)", None, MSG)
out["update_fetch_addto"] = pushed(a, "* ESEARCH")
out["update_fetch_cancel"] = raw(a, 'CANCELUPDATE "%s"' % tag_of(out["update_fetch"]))

# Contexts are limited: the ninth is refused with NOUPDATE, and the
# search still answers (RFC 5267 4.3.1).
for i in range(8):
    raw(a, "SEARCH RETURN (UPDATE) ALL")
out["noupdate"] = raw(a, "SEARCH RETURN (UPDATE COUNT) ALL")

a.logout()
b.logout()
print(json.dumps(out))
