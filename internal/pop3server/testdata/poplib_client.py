"""Drive Mailwarden's POP3 server with Python's poplib; print JSON results.

usage: poplib_client.py HOST PORT CAFILE MODE   (MODE: stls | ssl | plain-refused)
"""
import json
import poplib
import ssl
import sys

host, port, cafile, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
ctx = ssl.create_default_context(cafile=cafile)
out = {}

if mode == "ssl":
    p = poplib.POP3_SSL(host, port, context=ctx, timeout=10)
else:
    p = poplib.POP3(host, port, timeout=10)
out["welcome"] = p.getwelcome().decode()
out["capa_before"] = sorted(p.capa().keys())

if mode == "plain-refused":
    try:
        p.user("alice@example.org")
        out["user"] = "accepted"
    except poplib.error_proto as e:
        out["user"] = e.args[0].decode()
    p.quit()
    print(json.dumps(out))
    sys.exit(0)

if mode == "stls":
    out["stls"] = p.stls(context=ctx).decode()
out["capa_after"] = sorted(p.capa().keys())

try:
    p.user("alice@example.org")
    p.pass_("wrong")
except poplib.error_proto as e:
    out["bad_pass"] = e.args[0].decode()

p.user("alice@example.org")
out["pass"] = p.pass_("secret").decode()
out["stat"] = list(p.stat())
resp, listing, _ = p.list()
out["list"] = [l.decode() for l in listing]
resp, uidls, _ = p.uidl()
out["uidl"] = [l.decode() for l in uidls]
out["uidl1"] = p.uidl(1).decode()
resp, lines, octets = p.retr(1)
out["retr1"] = [l.decode() for l in lines]
out["retr1_octets"] = octets
resp, lines, _ = p.retr(2)
out["retr2"] = [l.decode() for l in lines]
resp, lines, _ = p.top(1, 1)
out["top1"] = [l.decode() for l in lines]
out["dele"] = p.dele(2).decode()
try:
    p.retr(2)
except poplib.error_proto as e:
    out["retr_deleted"] = e.args[0].decode()
out["rset"] = p.rset().decode()
out["dele_again"] = p.dele(2).decode()
out["noop"] = p.noop().decode()
out["quit"] = p.quit().decode()
print(json.dumps(out))
