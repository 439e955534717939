package smtpserver

import (
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"strings"
	"testing"

	"mailwarden/internal/config"
	"mailwarden/internal/delivery"
	"mailwarden/internal/directory"
)

func TestHappyPath(t *testing.T) {
	h := start(t, nil)
	c := greet(t, h.addr)
	body := "Subject: hi\r\n\r\nhello\r\n..leading dot\r\n"
	got := c.send("s@sender.example", []string{"alice+tag@example.org"}, body)
	c.expect("QUIT", "221")
	msgs := h.del.delivered()
	if len(msgs) != 1 {
		t.Fatalf("%d deliveries", len(msgs))
	}
	m := msgs[0]
	if want := "250 2.0.0 Ok: queued as " + m.env.ID; got != want || len(m.env.ID) != 14 {
		t.Errorf("reply %q, want %q", got, want)
	}
	re := regexp.MustCompile(`^Received: from client\.example \(unknown \[127\.0\.0\.1\]\)\r\n` +
		`\tby mx\.test\.example \(Mailwarden\) with ESMTP id ` + m.env.ID + `\r\n` +
		`\tfor <alice\+tag@example\.org>; \w{3}, \d{1,2} \w{3} \d{4} \d\d:\d\d:\d\d [+-]\d{4} \(\S+\)\r\n$`)
	if !re.MatchString(m.trace) {
		t.Errorf("trace %q", m.trace)
	}
	if want := strings.Replace(body, "\r\n..", "\r\n.", 1); m.body != want {
		t.Errorf("body %q, want %q", m.body, want)
	}
	e := m.env
	if e.From != "s@sender.example" || e.Helo != "client.example" || e.ClientIP != netip.MustParseAddr("127.0.0.1") ||
		e.ClientHost != "unknown" || e.Protocol != "ESMTP" || e.TLS != "" || e.Size != int64(len(m.body)) ||
		len(e.Recipients) != 1 || e.Recipients[0].Address != "alice+tag@example.org" || e.Received.IsZero() {
		t.Errorf("envelope %+v", e)
	}
	if len(m.rcpts) != 1 || m.rcpts[0].Dest.Kind != directory.Local || m.rcpts[0].Dest.Mailbox.Username != "alice@example.org" {
		t.Errorf("routed %+v", m.rcpts)
	}
	h.waitLog(t, m.env.ID+": client=unknown[127.0.0.1]")
	h.waitLog(t, fmt.Sprintf("%s: from=<s@sender.example>, size=%d, nrcpt=1 (queue active)", m.env.ID, len(m.trace)+len(m.body)))
	h.waitLog(t, "connect from unknown[127.0.0.1]")
	h.waitLog(t, "disconnect from unknown[127.0.0.1] ehlo=1 mail=1 rcpt=1 data=1 quit=1 commands=5")
}

func TestHELOProtocol(t *testing.T) {
	h := start(t, nil)
	c := dial(t, h.addr)
	c.expect("", "220 ")
	c.expect("HELO old.example", "250 mx.test.example")
	c.send("", []string{"alice@example.org"}, simpleBody)
	c.expect("QUIT", "221")
	m := h.del.delivered()[0]
	if !strings.Contains(m.trace, "from old.example (unknown [127.0.0.1])") || !strings.Contains(m.trace, " with SMTP id ") || m.env.From != "" {
		t.Errorf("trace %q, env %+v", m.trace, m.env)
	}
	h.waitLog(t, "helo=1 mail=1 rcpt=1 data=1 quit=1 commands=5")
}

func TestPipelining(t *testing.T) {
	h := start(t, nil)
	c := greet(t, h.addr)
	c.write("MAIL FROM:<s@sender.example>\r\nRCPT TO:<alice@example.org>\r\nRCPT TO:<nobody@example.org>\r\n" +
		"RCPT TO:<bob@example.org>\r\nDATA\r\n")
	for _, want := range []string{"250 ", "250 ", "550 5.1.1", "250 ", "354 "} {
		c.expect("", want)
	}
	// The body, a second whole transaction and QUIT in one write.
	c.write(simpleBody + ".\r\nMAIL FROM:<>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\n")
	for _, want := range []string{"250 2.0.0 Ok: queued as ", "250 ", "250 ", "354 "} {
		c.expect("", want)
	}
	c.write(simpleBody + ".\r\nQUIT\r\n")
	c.expect("", "250 2.0.0 Ok: queued as ")
	c.expect("", "221 ")
	if n := len(h.del.delivered()); n != 2 {
		t.Errorf("%d deliveries", n)
	}
}

func TestSizeAtMail(t *testing.T) {
	h := start(t, nil)
	c := greet(t, h.addr)
	if r := c.expect("EHLO client.example", "250"); !strings.Contains(r, "\n250-SIZE 65536\n") {
		t.Errorf("EHLO %q", r)
	}
	c.expect("MAIL FROM:<s@sender.example> SIZE=65537", "552 5.3.4 ")
	c.expect("MAIL FROM:<s@sender.example> SIZE=65536", "250")
}

func TestBodyTooBig(t *testing.T) {
	h := start(t, nil)
	c := greet(t, h.addr)
	big := strings.Repeat("x", 998) + "\r\n"
	c.expect("MAIL FROM:<s@sender.example>", "250")
	c.expect("RCPT TO:<alice@example.org>", "250")
	c.expect("DATA", "354")
	c.write("Subject: big\r\n\r\n" + strings.Repeat(big, 70) + ".\r\n")
	c.expect("", "552 5.3.4 Message size exceeds fixed limit")
	// The session goes on.
	c.send("s@sender.example", []string{"alice@example.org"}, simpleBody)
	if n := len(h.del.delivered()); n != 1 {
		t.Errorf("%d deliveries", n)
	}
	h.waitLog(t, ": reject: END-OF-MESSAGE from unknown[127.0.0.1]: 552 5.3.4 Message size exceeds fixed limit; from=<s@sender.example> proto=ESMTP helo=<client.example>")
}

func TestBDAT(t *testing.T) {
	h := start(t, nil)
	c := greet(t, h.addr)
	c.expect("MAIL FROM:<s@sender.example>", "250")
	c.expect("RCPT TO:<alice@example.org>", "250")
	c.write("BDAT 14\r\nSubject: x\r\n\r\n")
	c.expect("", "250 2.0.0 Ok: 14 octets received")
	c.write("BDAT 7 LAST\r\nhello\r\n")
	c.expect("", "250 2.0.0 Ok: queued as ")
	c.expect("MAIL FROM:<s@sender.example>", "250")
	c.expect("RCPT TO:<alice@example.org>", "250")
	// Lines, not one 70000-byte line: go-smtp discards a refused chunk
	// under the command line-length limit and would drop the connection.
	c.write(fmt.Sprintf("BDAT %d LAST\r\n%s", 70000, strings.Repeat(strings.Repeat("y", 98)+"\r\n", 700)))
	c.expect("", "552 5.3.4 ")
	c.expect("QUIT", "221")
	msgs := h.del.delivered()
	if len(msgs) != 1 || msgs[0].body != "Subject: x\r\n\r\nhello\r\n" {
		t.Fatalf("deliveries %+v", msgs)
	}
	h.waitLog(t, "ehlo=1 mail=2 rcpt=2 bdat=2/3 quit=1 commands=8/9")
}

func TestOverQuotaAtData(t *testing.T) {
	for _, tempfail := range []bool{false, true} {
		h := start(t, func(c *config.Config) { c.Delivery.OverQuotaTempfail = tempfail })
		h.del.err = fmt.Errorf("alice: %w", delivery.ErrOverQuota)
		c := greet(t, h.addr)
		want := "552 5.2.2 Mailbox full"
		if tempfail {
			want = "452 4.2.2 Mailbox full"
		}
		if got := c.send("s@sender.example", []string{"alice@example.org"}, simpleBody); got != want {
			t.Errorf("tempfail=%v: %q, want %q", tempfail, got, want)
		}
	}
}

func TestDeliverError(t *testing.T) {
	h := start(t, nil)
	h.del.err = errors.New("queue: fsync: no space left on device")
	c := greet(t, h.addr)
	if got := c.send("s@sender.example", []string{"alice@example.org"}, simpleBody); got != "451 4.3.0 Error: queue file write error" {
		t.Errorf("reply %q", got)
	}
	h.waitLog(t, "error: ")
	h.waitLog(t, "no space left on device")
}

func TestTooManyHops(t *testing.T) {
	h := start(t, nil)
	c := greet(t, h.addr)
	hops := func(n int) string {
		return strings.Repeat("Received: from a by b; Mon, 1 Jan 2024 00:00:00 +0000\r\n", n) + simpleBody
	}
	if got := c.send("s@sender.example", []string{"alice@example.org"}, hops(101)); got != "554 5.4.6 Too many hops" {
		t.Errorf("101 hops: %q", got)
	}
	if got := c.send("s@sender.example", []string{"alice@example.org"}, hops(100)); !strings.HasPrefix(got, "250 ") {
		t.Errorf("100 hops: %q", got)
	}
	// Received lines in the body do not count.
	if got := c.send("s@sender.example", []string{"alice@example.org"}, simpleBody+hops(200)); !strings.HasPrefix(got, "250 ") {
		t.Errorf("body: %q", got)
	}
}

func TestLineTooLong(t *testing.T) {
	h := start(t, func(c *config.Config) { c.SMTP.MaxLineLength = 1000 })
	c := greet(t, h.addr)
	c.expect("MAIL FROM:<s@sender.example>", "250")
	c.expect("RCPT TO:<alice@example.org>", "250")
	c.expect("DATA", "354")
	c.write("Subject: x\r\n\r\n" + strings.Repeat("z", 2000) + "\r\n.\r\n")
	c.expect("", "552 5.3.4 Error: message line too long")
	if len(h.del.delivered()) != 0 {
		t.Error("delivered")
	}
	// The whole message was read: the session goes on in step.
	c.expect("NOOP", "250 2.0.0 Ok")
}

func TestHopCounter(t *testing.T) {
	msg := "Received: a\r\nX: y\r\n received: folded\r\nRECEIVED:b\r\nReceived : c\r\n\r\nReceived: body\r\n"
	for size := 1; size <= len(msg); size++ {
		var h headerScan
		for p := []byte(msg); len(p) > 0 && !h.done; {
			n := min(size, len(p))
			h.feed(p[:n])
			p = p[n:]
		}
		if h.n != 2 || !h.done {
			t.Errorf("chunk %d: n=%d done=%v", size, h.n, h.done)
		}
	}
}
