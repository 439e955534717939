"""COMPRESS=DEFLATE (RFC 4978) with imaplib over a zlib-wrapped socket.

    compress_client.py HOST PORT CAFILE USER PASSWORD FLUSH

FLUSH is how the client ends each burst of commands: "sync"
(Z_SYNC_FLUSH, as imaplib2/offlineimap do) or "partial" (Z_PARTIAL_FLUSH,
as mbsync does). The client starts TLS, logs in, checks the COMPRESS
answers for an unknown mechanism, sends COMPRESS DEFLATE and wraps the
socket in raw deflate (wbits -15) both ways. Through the compressed stream
it APPENDs, SELECTs, FETCHes and SEARCHes, sends five commands pipelined in
one burst, and IDLEs: it prints "idling" on stderr and waits for a line on
stdin (the test delivers a message meanwhile), then reads the EXISTS the
server pushes. It prints the results and byte counts as JSON on stdout.
"""
import imaplib
import json
import ssl
import sys
import zlib

host, port, cafile, user, password, flush = sys.argv[1:7]
FLUSH = {"sync": zlib.Z_SYNC_FLUSH, "partial": zlib.Z_PARTIAL_FLUSH}[flush]


class Compressed(imaplib.IMAP4):
    deflate = None

    def start_compress(self):
        self.deflate = zlib.compressobj(6, zlib.DEFLATED, -15)
        self.inflate = zlib.decompressobj(-15)
        self.inbuf = b""
        self.raw_in = 0
        self.raw_out = 0

    def send(self, data):
        if self.deflate is None:
            return super().send(data)
        out = self.deflate.compress(data) + self.deflate.flush(FLUSH)
        self.raw_out += len(out)
        self.sock.sendall(out)

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise imaplib.IMAP4.abort("socket closed")
        self.raw_in += len(chunk)
        self.inbuf += self.inflate.decompress(chunk)

    def read(self, size):
        if self.deflate is None:
            return super().read(size)
        while len(self.inbuf) < size:
            self._fill()
        data, self.inbuf = self.inbuf[:size], self.inbuf[size:]
        return data

    def readline(self):
        if self.deflate is None:
            return super().readline()
        while b"\n" not in self.inbuf:
            self._fill()
        i = self.inbuf.index(b"\n") + 1
        line, self.inbuf = self.inbuf[:i], self.inbuf[i:]
        return line


def text(data):
    return data[0].decode() if data and data[0] else ""


imaplib.Commands.setdefault("COMPRESS", ("NONAUTH", "AUTH", "SELECTED"))
c = Compressed(host, int(port))
out = {}
c.starttls(ssl.create_default_context(cafile=cafile))
c.login(user, password)
out["caps"] = " ".join(c.capabilities)
try:
    c._simple_command("COMPRESS", "X-LZ4")
    out["unknown"] = "OK"
except imaplib.IMAP4.error as e:
    out["unknown"] = str(e)
typ, data = c._simple_command("COMPRESS", "DEFLATE")
out["compress"] = [typ, text(data)]
c.start_compress()

msg = b"From: a@example.org\r\nSubject: compressed\r\n\r\n" + b"all work and no play\r\n" * 500
typ, data = c.append("INBOX", None, None, msg)
out["append"] = typ
typ, data = c.select("INBOX")
out["select"] = text(data)
typ, data = c.fetch("1", "(BODY.PEEK[])")
out["body_ok"] = data[0][1] == msg
typ, data = c.search(None, "SUBJECT", "compressed")
out["search"] = text(data)
typ, data = c._simple_command("COMPRESS", "DEFLATE")
out["again"] = [typ, text(data)]

# Five commands in one burst (one flush), then the five answers.
tags = ["p%d" % i for i in range(5)]
burst = b"".join(b"%s %s\r\n" % (t.encode(), cmd) for t, cmd in zip(tags, [
    b"NOOP", b"UID FETCH 1 (FLAGS)", b"STORE 1 +FLAGS (\\Flagged)", b"SEARCH FLAGGED", b"CHECK"]))
c.send(burst)
pipelined = []
for t in tags:
    while True:
        line = c.readline().decode().rstrip("\r\n")
        if line.startswith(t + " "):
            pipelined.append(line)
            break
        if t == "p3" and line.startswith("* SEARCH"):
            pipelined.append(line)
out["pipelined"] = pipelined

# IDLE: new mail is pushed through the compressed stream.
c.send(b"i IDLE\r\n")
out["idle_start"] = c.readline().decode().rstrip("\r\n")
print("idling", file=sys.stderr, flush=True)
sys.stdin.readline()
pushed = [c.readline().decode().rstrip("\r\n")]
c.send(b"DONE\r\n")
while True:
    line = c.readline().decode().rstrip("\r\n")
    if line.startswith("i "):
        out["idle_done"] = line
        break
    pushed.append(line)
out["idle_push"] = pushed
typ, data = c.noop()
out["noop"] = typ
out["raw_in"], out["raw_out"], out["msg"] = c.raw_in, c.raw_out, len(msg)
c.logout()
print(json.dumps(out))
