"""COMPRESS=DEFLATE (RFC 4978) with imaplib over a zlib-wrapped socket.

    compress_client.py HOST PORT USER PASSWORD

Logs in, sends COMPRESS DEFLATE, then wraps the socket: raw deflate
(wbits -15) both ways, the client sync-flushing after each command. Then
it APPENDs, SELECTs, FETCHes and SEARCHes through the compressed stream and
prints the results and the byte counts as JSON.
"""
import imaplib
import json
import sys
import zlib


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
        out = self.deflate.compress(data) + self.deflate.flush(zlib.Z_SYNC_FLUSH)
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


imaplib.Commands.setdefault("COMPRESS", ("AUTH", "SELECTED"))
c = Compressed(sys.argv[1], int(sys.argv[2]))
c.login(sys.argv[3], sys.argv[4])
out = {"caps": " ".join(c.capabilities)}
typ, data = c._simple_command("COMPRESS", "DEFLATE")
out["compress"] = [typ, data[0].decode() if data and data[0] else ""]
c.start_compress()
msg = b"From: a@example.org\r\nSubject: compressed\r\n\r\n" + b"all work and no play\r\n" * 500
typ, data = c.append("INBOX", None, None, msg)
out["append"] = typ
typ, data = c.select("INBOX")
out["select"] = data[0].decode()
typ, data = c.fetch("1", "(BODY.PEEK[])")
out["body_ok"] = data[0][1] == msg
typ, data = c.search(None, "SUBJECT", "compressed")
out["search"] = data[0].decode()
typ, data = c._simple_command("COMPRESS", "DEFLATE")
out["again"] = typ
typ, data = c.noop()
out["noop"] = typ
out["raw_in"], out["raw_out"], out["msg"] = c.raw_in, c.raw_out, len(msg)
c.logout()
print(json.dumps(out))
