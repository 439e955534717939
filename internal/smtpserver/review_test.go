package smtpserver

import (
	"context"
	"mailwarden/internal/policy"
	"net/netip"
	"strings"
	"testing"
	"time"

	"mailwarden/internal/config"
)

// Each test here is one finding of the hostile review (issue 8); each
// failed on the go-smtp based server.

// RFC 5321 4.1.1.1: the EHLO reply starts with our name, HELO answers
// with it; RFC 1870: SIZE has up to 20 digits and an excess is 552.
func TestGreetingReplies(t *testing.T) {
	h := start(t, nil)
	c := dial(t, h.addr)
	c.expect("", "220 mx.test.example ESMTP Mailwarden-test")
	ehlo := c.expect("EHLO client.example", "250-mx.test.example\n250-PIPELINING\n")
	for _, kw := range []string{"SIZE 65536", "ENHANCEDSTATUSCODES", "8BITMIME", "DSN", "SMTPUTF8", "CHUNKING"} {
		if !strings.Contains(ehlo, kw) {
			t.Errorf("EHLO lacks %s:\n%s", kw, ehlo)
		}
	}
	c.expect("HELO client.example", "250 mx.test.example")
	c.expect("MAIL FROM:<a@b.example> SIZE=999999999999", "552 5.3.4 Message size exceeds fixed limit")
	c.expect("MAIL FROM:<a@b.example> SIZE=99999999999999999999", "552 5.3.4 ") // 20 digits, over 64 bits
	c.expect("MAIL FROM:<a@b.example> SIZE=100", "250 2.1.0 Ok")
	c.expect("RCPT TO:<alice@example.org>", "250 2.1.5 Ok")
	c.expect("DATA", "354 End data with <CR><LF>.<CR><LF>")
	c.write(simpleBody + ".\r\n")
	c.expect("", "250 2.0.0 Ok: queued as ")
	c.expect("QUIT", "221 2.0.0 Bye")
}

// Envelope injection: control characters in an address are refused and
// never reach a header.
func TestEnvelopeInjection(t *testing.T) {
	h := start(t, nil)
	c := greet(t, h.addr)
	c.expect("MAIL FROM:<\"x\rX-Injected: 1\"@evil.test>", "501 5.1.7 ")
	c.expect("MAIL FROM:<\"x\x00y\"@evil.test>", "501 5.1.7 ")
	c.expect("MAIL FROM:<s@sender.example>", "250")
	c.expect("RCPT TO:<\"a\x01b\"@example.org>", "501 5.1.3 ")
	c.expect("RCPT TO:<alice@example.org>", "250")
	// RFC 6531 3.4: non-ASCII needs SMTPUTF8.
	c.expect("RCPT TO:<jösé@example.org>", "553 5.6.7 ")
	c.expect("RSET", "250")
	c.expect("MAIL FROM:<jösé@sender.example> SMTPUTF8", "250")
	c.expect("RSET", "250")
	c.expect("MAIL FROM:<jösé@sender.example>", "553 5.6.7 ")
	if len(h.del.delivered()) != 0 {
		t.Fatal("delivered")
	}
}

// SMTP smuggling: only <CRLF>.<CRLF> ends the data, and what looks like a
// second message is the first one's text.
func TestSmuggling(t *testing.T) {
	for name, end := range map[string]string{
		"LF.LF": "\n.\n", "CR.CR": "\r.\r", "LF.CRLF": "\n.\r\n", "CR.CRLF": "\r.\r\n", "CRLF.LF": "\r\n.\n", "CRLF.CR": "\r\n.\r",
	} {
		t.Run(name, func(t *testing.T) {
			h := start(t, nil)
			c := greet(t, h.addr)
			c.expect("MAIL FROM:<s@sender.example>", "250")
			c.expect("RCPT TO:<alice@example.org>", "250")
			c.expect("DATA", "354")
			c.write("Subject: a\r\n\r\nhello" + end + "MAIL FROM:<evil@x.example>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\nSubject: smuggled\r\n\r\nx\r\n.\r\n")
			c.expect("", "250 2.0.0 Ok: queued as ")
			c.expect("QUIT", "221")
			msgs := h.del.delivered()
			if len(msgs) != 1 {
				t.Fatalf("%d messages", len(msgs))
			}
			b := msgs[0].body
			if !strings.Contains(b, "Subject: smuggled") || len(msgs[0].rcpts) != 1 {
				t.Fatalf("not one message: %q", b)
			}
			for i := 0; i < len(b); i++ {
				switch {
				case b[i] == 0:
					t.Fatalf("NUL in %q", b)
				case b[i] == '\r' && (i+1 == len(b) || b[i+1] != '\n'), b[i] == '\n' && (i == 0 || b[i-1] != '\r'):
					t.Fatalf("bare CR or LF at %d in %q", i, b)
				}
			}
		})
	}
}

// Slowloris: a client sending a byte at a time cannot hold a command line
// or DATA open beyond the timeout.
func TestSlowClient(t *testing.T) {
	h := start(t, func(c *config.Config) {
		c.SMTP.Timeout = config.Duration(time.Second)
		c.SMTP.MinDataRate = 1000
	})
	trickle := func(c *client, s string) time.Duration {
		begin := time.Now()
		for i := 0; i < len(s); i++ {
			if _, err := c.conn.Write([]byte{s[i]}); err != nil {
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
		c.rest()
		return time.Since(begin)
	}
	c := greet(t, h.addr)
	// A command line needs ~4 s at this pace; the idle timeout (1 s) would
	// never fire, since a byte comes every 0.2 s.
	if d := trickle(c, "MAIL FROM:<s@sender.example>\r\n"); d > 3*time.Second {
		t.Errorf("command line held the session %v", d)
	}
	c = greet(t, h.addr)
	c.expect("MAIL FROM:<s@sender.example>", "250")
	c.expect("RCPT TO:<alice@example.org>", "250")
	c.expect("DATA", "354")
	if d := trickle(c, strings.Repeat("x", 40)+"\r\n.\r\n"); d > 6*time.Second {
		t.Errorf("DATA held the session %v", d)
	}
	h.waitLog(t, "timeout after DATA")
}

// Commands that are not rejections still count: a NOOP flood and a flood
// of unparseable MAIL commands end the session.
func TestFloods(t *testing.T) {
	h := start(t, func(c *config.Config) {
		c.SMTP.JunkCommandLimit = 10
		c.SMTP.HardErrorLimit = 5
	})
	c := greet(t, h.addr)
	var b strings.Builder
	for i := 0; i < 1000; i++ {
		b.WriteString("NOOP\r\n")
	}
	go c.write(b.String())
	out := c.rest()
	if n := strings.Count(out, "250 2.0.0 Ok"); n > 15 || !strings.Contains(out, "421 4.7.0 Error: too many errors") {
		t.Errorf("%d NOOPs answered, then %q", n, out[max(0, len(out)-80):])
	}
	c = greet(t, h.addr)
	b.Reset()
	for i := 0; i < 1000; i++ {
		b.WriteString("MAIL FROM:garbage\r\n")
	}
	go c.write(b.String())
	out = c.rest()
	if n := strings.Count(out, "501 "); n > 5 || !strings.Contains(out, "421 4.7.0 Error: too many errors") {
		t.Errorf("%d bad MAILs answered", n)
	}
	c = greet(t, h.addr)
	for i := 0; i < 4; i++ {
		c.expect("FOO", "502 5.5.2 Error: command not recognized")
	}
	c.expect("BAR", "502 5.5.2")
	c.expect("", "421 4.7.0 Error: too many errors")
	h.waitLog(t, "unknown=0/5")
}

// Postfix queue_minfree: with less room than that, MAIL gets 452 before
// the client sends a body.
func TestQueueMinfree(t *testing.T) {
	h := start(t, func(c *config.Config) { c.SMTP.QueueMinfree = 1 << 60 })
	c := greet(t, h.addr)
	c.expect("MAIL FROM:<s@sender.example>", "452 4.3.1 Insufficient system storage")
	h2 := start(t, nil)
	c = greet(t, h2.addr)
	c.expect("MAIL FROM:<s@sender.example>", "250")
}

// XCLIENT from an authorized host replaces the client's facts (here: its
// address moves into mynetworks, so it may relay); from others it is
// refused.
func TestXCLIENT(t *testing.T) {
	h := start(t, func(c *config.Config) {
		c.SMTP.XclientNets = c.Networks[:0:0]
	})
	c := greet(t, h.addr)
	c.expect("XCLIENT ADDR=10.1.2.3", "550 5.7.0 ")
	h2 := start(t, func(c *config.Config) {
		c.SMTP.XclientNets = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
	})
	c = dial(t, h2.addr)
	c.expect("", "220 ")
	if ehlo := c.expect("EHLO proxy.example", "250-"); !strings.Contains(ehlo, "XCLIENT NAME ADDR") {
		t.Fatalf("no XCLIENT in %q", ehlo)
	}
	c.expect("MAIL FROM:<s@sender.example>", "250")
	c.expect("RCPT TO:<x@foreign.example>", "554 5.7.1 ")
	c.expect("RSET", "250")
	c.expect("XCLIENT ADDR=10.1.2.3 NAME=inside.example HELO=inner", "220 ")
	c.expect("EHLO inner.example", "250")
	c.expect("MAIL FROM:<s@sender.example>", "250")
	c.expect("RCPT TO:<x@foreign.example>", "250 2.1.5")
	h2.waitLog(t, "client=inside.example[10.1.2.3]")
}

// Talking before the greeting and pipelining without PIPELINING are
// noticed (for reject_unauth_pipelining) and logged as Postfix does.
func TestImproperPipelining(t *testing.T) {
	// A connect-stage check that takes a while (as a DNS lookup would)
	// gives the eager client time to talk before the greeting.
	slow := policy.Func("slow", func(context.Context, *policy.Request) policy.Verdict {
		time.Sleep(300 * time.Millisecond)
		return policy.Verdict{}
	})
	h := start(t, nil, func(o *Options) {
		o.Lists = func(cfg *config.Config) *policy.Lists { return &policy.Lists{Client: policy.List{slow}} }
	})
	c := dial(t, h.addr)
	c.write("EHLO early.example\r\n")
	c.expect("", "220 ")
	c.expect("", "250")
	h.waitLog(t, "improper command pipelining after CONNECT from unknown[127.0.0.1]")
	c = dial(t, h.addr)
	c.expect("", "220 ")
	c.write("HELO a.example\r\nMAIL FROM:<s@sender.example>\r\n")
	c.expect("", "250 mx.test.example")
	c.expect("", "250 2.1.0")
	h.waitLog(t, "improper command pipelining after HELO from unknown[127.0.0.1]")
}
