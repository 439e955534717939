package smtpserver

import (
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"mailwarden/internal/config"
)

// FuzzSession feeds command lines through a real session and checks that
// nothing panics and that every "queued" reply matches a Deliver that
// succeeded: no 250 after DATA without one.
func FuzzSession(f *testing.F) {
	for _, seed := range []string{
		"EHLO a\nMAIL FROM:<s@x.example>\nRCPT TO:<alice@example.org>\nDATA\nSubject: x\n\nhi\n.\nQUIT",
		"HELO a\nMAIL FROM:<>\nRCPT TO:<bob@example.org>\nDATA\nFAILME\n.\nDATA\n.\nQUIT",
		"EHLO a\nMAIL FROM:<s@x.example> SIZE=10 BODY=8BITMIME SMTPUTF8\nRCPT TO:<x@foreign.example>\nRCPT TO:<full@example.org>\nDATA\n.",
		"EHLO a\nMAIL FROM:<s@x.example>\nRCPT TO:<alice@example.org>\nBDAT 5\nhelloBDAT 0 LAST\nRSET\nBDAT 3 LAST\nabc",
		"EHLO a\nRSET\nNOOP\nVRFY alice\nMAIL FROM:<s@x.example>\nMAIL FROM:<t@x.example>\nRCPT TO:<@a,@b:c@example.org>\nSTARTTLS\nEHLO b",
		"EHLO a\nMAIL FROM:<s@x.example>\nRCPT TO:<alice@example.org>\nDATA\nReceived: x\nReceived: y\n\n.\nBDAT x\nAUTH PLAIN AGFAYg==",
		"EHLO a\nXCLIENT ADDR=10.0.0.1 NAME=x\nXFORWARD ADDR=1.2.3.4\nHELP\nVRFY <alice@example.org>\nMAIL FROM:<s@x.example> BODY=8BITMIME RET=HDRS ENVID=a+2Bb\nRCPT TO:<alice@example.org> NOTIFY=SUCCESS,DELAY ORCPT=rfc822;a@b\nBDAT 0 LAST",
		"EHLO a\nMAIL FROM:<\"q\\\"x\"@x.example> SMTPUTF8\nRCPT TO:<j\u00f6@example.org>\nRCPT TO:<postmaster>\nDATA\nx\r.\r\n.\n\r\n.\r\nQUIT",
	} {
		f.Add(seed)
	}
	h := start(f, func(c *config.Config) {
		c.SMTP.MaxConnectionsPerIP = 1000
		c.SMTP.HardErrorLimit = 5
		c.SMTP.MaxMessagesPerSession = 3
		c.SMTP.Timeout = config.Duration(2 * time.Second)
		c.SMTP.MaxLineLength = 1000
		c.SMTP.MessageSizeLimit = 2048
	})
	f.Fuzz(func(t *testing.T, script string) {
		if len(script) > 8192 || strings.Count(script, "\n") > 64 {
			return
		}
		before := h.del.okCount()
		h.logs.Reset() // inputs run one at a time in a worker
		conn, err := net.Dial("tcp", h.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(15 * time.Second))
		go func() {
			io.WriteString(conn, strings.ReplaceAll(script, "\n", "\r\n")+"\r\n")
			conn.(*net.TCPConn).CloseWrite()
		}()
		out, _ := io.ReadAll(conn)
		conn.Close()
		replies := string(out)
		if strings.Contains(replies, "Internal server error") || strings.Contains(replies, "OK: queued") {
			t.Fatalf("replies:\n%s", replies)
		}
		queued := strings.Count(replies, "250 2.0.0 Ok: queued as ")
		// Deliver runs before the reply is written, so the count is final.
		if got := h.del.okCount() - before; got != queued {
			t.Fatalf("%d queued replies, %d deliveries:\n%s", queued, got, replies)
		}
		if l := h.logs.String(); strings.Contains(l, "panic serving") {
			t.Fatalf("panic logged:\n%s", h.logs.String())
		}
	})
}

func (f *fakeDeliverer) okCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.msgs)
}
