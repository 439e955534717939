"""Drives the IMAP server with Python's imaplib and prints what it saw as
JSON, for imaplib_test.go. Usage: imaplib_client.py host port cafile mode
(mode: starttls or ssl)."""
import imaplib
import json
import ssl
import sys

host, port, cafile, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
ctx = ssl.create_default_context(cafile=cafile)
if mode == "ssl":
    M = imaplib.IMAP4_SSL(host, port, ssl_context=ctx)
else:
    M = imaplib.IMAP4(host, port)
    M.starttls(ssl_context=ctx)


def s(data):
    out = []
    for d in data:
        if isinstance(d, tuple):
            out.append([x.decode("utf-8", "replace") for x in d])
        elif d is not None:
            out.append(d.decode("utf-8", "replace"))
    return out


r = {"caps": sorted(M.capabilities)}
try:
    M.login("alice@example.org", "wrong")
except M.error as e:
    r["bad_login"] = str(e)
r["login"] = M.login("alice@example.org", "secret")[0]
r["list"] = s(M.list()[1])
r["create"] = M.create("Work")[0]
msg = b"From: a@example.org\r\nSubject: hello\r\n\r\nbody line\r\n"
r["append"] = s(M.append("INBOX", "(\\Flagged)", imaplib.Time2Internaldate(1700000000), msg)[1])
r["select"] = s(M.select("INBOX")[1])
r["fetch_flags"] = s(M.uid("FETCH", "1:*", "(UID FLAGS)")[1])
r["fetch_body"] = s(M.uid("FETCH", "1", "(BODY.PEEK[])")[1])
r["fetch_header"] = s(M.fetch("1", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")[1])
r["store"] = s(M.uid("STORE", "1", "+FLAGS", "(\\Seen)")[1])
r["search"] = s(M.uid("SEARCH", None, "SEEN")[1])
r["search_subject"] = s(M.search(None, "SUBJECT", "hello")[1])
r["copy"] = M.uid("COPY", "1", "Work")[0]
r["copyuid"] = s(M.response("COPYUID")[1])
r["status"] = s(M.status("Work", "(MESSAGES UIDNEXT)")[1])
r["move"] = M.uid("MOVE", "1", "Work")[0]
r["after_move"] = s(M.select("INBOX")[1])
r["append2"] = M.append("INBOX", None, None, msg)[0]
r["noop"] = M.noop()[0]
r["store_deleted"] = M.store("1", "+FLAGS", "\\Deleted")[0]
r["expunge"] = s(M.expunge()[1])
r["namespace"] = s(M.namespace()[1])
r["quotaroot"] = s(M.getquotaroot("INBOX")[1][0])
r["close"] = M.close()[0]
r["logout"] = M.logout()[0]
print(json.dumps(r))
