package imapserver

import (
	"encoding/base64"
	"strconv"
	"strings"
	"testing"
	"time"

	"mailwarden/internal/config"
)

// BenchmarkForward times forwarding a message's 5 MB attachment into a
// new draft: with CATENATE (the client sends the new text and a URL, the
// server copies the part) and the way a client without it does (it has
// downloaded the part and uploads the whole draft). It reports the bytes
// the client sends per draft.
//
//	go test -run '^$' -bench Forward -benchtime 20x ./internal/imapserver/
func BenchmarkForward(b *testing.B) {
	h := start(b, func(c *config.Config) { c.IMAP.AppendLimit = 64 << 20 })
	c := h.login(b, "alice@example.org")
	raw := make([]byte, 3<<20+(3<<20)/3) // 4 MB of data: about 5.3 MB in base64
	for i := range raw {
		raw[i] = byte(i * 7919 >> 3)
	}
	enc := base64.StdEncoding.EncodeToString(raw)
	var att strings.Builder
	for len(enc) > 76 {
		att.WriteString(enc[:76] + "\r\n")
		enc = enc[76:]
	}
	att.WriteString(enc + "\r\n")
	part := "Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n" + att.String()
	src := "Subject: report\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=B\r\n\r\n" +
		"--B\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n--B\r\n" + part + "--B--\r\n"
	c.appendMsg("INBOX", "()", src)
	head := "Subject: Fwd: report\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=F\r\n\r\n" +
		"--F\r\nContent-Type: text/plain\r\n\r\nforwarding the report\r\n--F\r\n"
	tail := "\r\n--F--\r\n"
	lit := func(s string) string { return "{" + strconv.Itoa(len(s)) + "+}\r\n" + s }
	for _, mode := range []string{"catenate", "append"} {
		b.Run(mode, func(b *testing.B) {
			var sent int
			for i := 0; i < b.N; i++ {
				c.conn.SetDeadline(time.Now().Add(time.Minute))
				var cmd string
				if mode == "catenate" {
					cmd = "f APPEND Drafts CATENATE (TEXT " + lit(head) + ` URL "/INBOX/;UID=1/;SECTION=2.MIME" URL "/INBOX/;UID=1/;SECTION=2" TEXT ` + lit(tail) + ")"
				} else {
					cmd = "f APPEND Drafts " + lit(head+part[:len(part)-2]+tail)
				}
				sent += len(cmd) + 2
				c.send(cmd)
				if _, tagged := c.until("f"); !strings.HasPrefix(tagged, "OK") {
					b.Fatalf("%s: %s", mode, tagged)
				}
			}
			b.ReportMetric(float64(sent)/float64(b.N), "client-bytes/op")
		})
	}
	// Both ways make the same message.
	c.ok("SELECT Drafts")
	u := c.ok("FETCH 1:* (RFC822.SIZE)")
	if len(u) < 2 || strings.TrimPrefix(u[0], "* 1 ") != strings.TrimPrefix(u[len(u)-1], "* "+strconv.Itoa(len(u))+" ") {
		b.Fatalf("sizes differ: %q", u)
	}
}
