package imapserver

import (
	"strconv"
	"strings"
	"testing"
)

// TestBinaryAppend: APPEND with a literal8 (RFC 3516 4.4) stores binary
// content as sent, and FETCH BINARY gives the decoded parts back.
func TestBinaryAppend(t *testing.T) {
	h := start(t, nil)
	c := h.login(t, "alice@example.org")
	if caps := c.ok("CAPABILITY"); !strings.Contains(caps[0], " BINARY") {
		t.Fatalf("BINARY not offered: %q", caps)
	}
	msg := "From: a@example.org\r\nSubject: bin\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n" +
		"--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n" +
		"--b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\n\r\n\x00\x01\x02\xff\r\n" +
		"--b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\nAAEC\r\n--b--\r\n"
	c.send("a1 APPEND INBOX ~{" + strconv.Itoa(len(msg)) + "}")
	if l := c.line(); !strings.HasPrefix(l, "+ ") {
		t.Fatalf("APPEND ~{n}: %q", l)
	}
	c.send(msg)
	if _, tagged := c.until("a1"); !strings.HasPrefix(tagged, "OK [APPENDUID ") {
		t.Fatalf("APPEND ~{n}: %q", tagged)
	}
	c.ok("SELECT INBOX")
	c.expect("FETCH 1 (BINARY.SIZE[2] BINARY.SIZE[3])", "* 1 FETCH (BINARY.SIZE[2] 4 BINARY.SIZE[3] 3)", "OK Fetch completed.")
	c.expect("FETCH 1 BINARY.PEEK[2]", "* 1 FETCH (BINARY[2] ~{4}\r\n\x00\x01\x02\xff)", "OK Fetch completed.")
	c.expect("FETCH 1 BINARY.PEEK[3]", "* 1 FETCH (BINARY[3] ~{3}\r\n\x00\x01\x02)", "OK Fetch completed.")
	c.expect("FETCH 1 BINARY.PEEK[1]", "* 1 FETCH (BINARY[1] {2}\r\nhi)", "OK Fetch completed.")
	c.expect("FETCH 1 RFC822.SIZE", "* 1 FETCH (RFC822.SIZE "+strconv.Itoa(len(msg))+")", "OK Fetch completed.")
}
