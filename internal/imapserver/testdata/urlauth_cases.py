"""The URLAUTH flow of RFC 4467 7 with Python's imaplib: the owner signs
a URL to a part of a message for another user (GENURLAUTH), who fetches
it (URLFETCH); RESETKEY voids it. Prints what imaplib parsed, as JSON.

    urlauth_cases.py HOST PORT OWNER RECIPIENT PASSWORD
"""
import imaplib
import json
import sys

# imaplib sends only commands it knows: teach it RFC 4467's.
for name in ("GENURLAUTH", "URLFETCH", "RESETKEY"):
    imaplib.Commands[name] = ("AUTH", "SELECTED")

host, port, owner, recipient, password = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
out = {}
a = imaplib.IMAP4(host, port)
a.login(owner, password)
b = imaplib.IMAP4(host, port)
b.login(recipient, password)
MSG = (b"From: Joe <joe@example.com>\r\nSubject: report\r\nMIME-Version: 1.0\r\n"
       b"Content-Type: multipart/mixed; boundary=B\r\n\r\n--B\r\nContent-Type: text/plain\r\n\r\ncover note\r\n"
       b"--B\r\nContent-Type: text/plain\r\n\r\nthe report itself\r\n--B--\r\n")
a.append("INBOX", None, None, MSG)
a.select("INBOX")
uv = a.untagged_responses["UIDVALIDITY"][-1].decode()
enc = lambda s: s.replace("@", "%40")
rump = "imap://%s@%s/INBOX;UIDVALIDITY=%s/;UID=1/;SECTION=2;URLAUTH=user+%s" % (enc(owner), host, uv, enc(recipient))
typ, data = a._simple_command("GENURLAUTH", '"%s"' % rump, "INTERNAL")
typ, data = a._untagged_response(typ, data, "GENURLAUTH")
out["genurlauth"] = [typ, data[0].decode()]
url = data[0].decode().strip('"')
typ, data = b._simple_command("URLFETCH", '"%s"' % url)
out["urlfetch"] = [typ] + [repr(d) for d in b._untagged_response(typ, data, "URLFETCH")[1]]
typ, data = a._simple_command("URLFETCH", '"%s"' % url)
out["urlfetch_owner"] = [typ] + [repr(d) for d in a._untagged_response(typ, data, "URLFETCH")[1]]
typ, data = a._simple_command("RESETKEY")
out["resetkey"] = [typ]
typ, data = b._simple_command("URLFETCH", '"%s"' % url)
out["urlfetch_after_reset"] = [typ] + [repr(d) for d in b._untagged_response(typ, data, "URLFETCH")[1]]
out["rump"] = [rump]
a.logout()
b.logout()
print(json.dumps(out))
