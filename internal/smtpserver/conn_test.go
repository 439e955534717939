package smtpserver

import (
	"context"
	"crypto/tls"
	"net/smtp"
	"strings"
	"testing"
	"time"

	"mailwarden/internal/config"
	"mailwarden/internal/testutil"
)

func TestBannerAndEHLO(t *testing.T) {
	h := start(t, nil)
	c := dial(t, h.addr)
	if got := c.reply(); got != "220 mx.test.example ESMTP Mailwarden-test" {
		t.Errorf("banner %q", got)
	}
	r := c.expect("EHLO client.example", "250-")
	for _, ext := range []string{"PIPELINING", "SIZE 65536", "8BITMIME", "ENHANCEDSTATUSCODES", "SMTPUTF8", "CHUNKING"} {
		if !strings.Contains(r, "250-"+ext+"\n") && !strings.HasSuffix(r, "250 "+ext) {
			t.Errorf("EHLO lacks %s: %q", ext, r)
		}
	}
	for _, ext := range []string{"STARTTLS", "AUTH"} {
		if strings.Contains(r, ext) {
			t.Errorf("EHLO offers %s: %q", ext, r)
		}
	}
}

func TestSTARTTLS(t *testing.T) {
	tlsConf, roots := testutil.SelfSigned(t, []string{"mx.test.example"})
	h := start(t, nil, func(o *Options) { o.TLS = tlsConf })
	c, err := smtp.Dial(h.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Hello("client.example"); err != nil {
		t.Fatal(err)
	}
	if ok, _ := c.Extension("STARTTLS"); !ok {
		t.Fatal("no STARTTLS")
	}
	if err := c.StartTLS(&tls.Config{RootCAs: roots, ServerName: "mx.test.example"}); err != nil {
		t.Fatal(err)
	}
	if ok, _ := c.Extension("STARTTLS"); ok {
		t.Error("STARTTLS offered inside TLS")
	}
	if err := c.Mail("s@sender.example"); err != nil {
		t.Fatal(err)
	}
	if err := c.Rcpt("alice@example.org"); err != nil {
		t.Fatal(err)
	}
	w, err := c.Data()
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte(simpleBody))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Quit(); err != nil {
		t.Fatal(err)
	}
	m := h.del.delivered()[0]
	if !strings.Contains(m.trace, "])\r\n\t(using TLSv1.3 with cipher TLS_") || !strings.Contains(m.trace, " with ESMTPS id ") {
		t.Errorf("trace %q", m.trace)
	}
	if m.env.Protocol != "ESMTPS" || !strings.HasPrefix(m.env.TLS, "TLSv1.3 with cipher ") {
		t.Errorf("envelope %+v", m.env)
	}
	h.waitLog(t, "Anonymous TLS connection established from unknown[127.0.0.1]: TLSv1.3 with cipher TLS_")
	h.waitLog(t, "disconnect from unknown[127.0.0.1] ehlo=2 starttls=1 mail=1 rcpt=1 data=1 quit=1 commands=7")
}

func TestPerIPLimit(t *testing.T) {
	h := start(t, func(c *config.Config) { c.SMTP.MaxConnectionsPerIP = 2 })
	a := dial(t, h.addr)
	a.expect("", "220 ")
	b := dial(t, h.addr)
	b.expect("", "220 ")
	over := dial(t, h.addr)
	over.expect("", "421 4.7.0 mx.test.example Error: too many connections from 127.0.0.1")
	if rest := over.rest(); rest != "" {
		t.Errorf("after 421: %q", rest)
	}
	h.waitLog(t, "warning: Connection concurrency limit exceeded: 2 from unknown[127.0.0.1] for service smtp")
	a.expect("QUIT", "221")
	// The slot frees once the server has seen the close.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		c := dial(t, h.addr)
		if r := c.reply(); strings.HasPrefix(r, "220 ") {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("still refused: %q", r)
		}
	}
}

func TestMaxConnections(t *testing.T) {
	h := start(t, func(c *config.Config) { c.SMTP.MaxConnections = 1 })
	a := dial(t, h.addr)
	a.expect("", "220 ")
	dial(t, h.addr).expect("", "421 4.7.0 mx.test.example Error: too many connections from 127.0.0.1")
}

func TestMaxMessagesPerSession(t *testing.T) {
	h := start(t, func(c *config.Config) { c.SMTP.MaxMessagesPerSession = 2 })
	c := greet(t, h.addr)
	c.send("s@sender.example", []string{"alice@example.org"}, simpleBody)
	c.expect("MAIL FROM:<s@sender.example>", "250")
	c.expect("RSET", "250")
	c.expect("MAIL FROM:<s@sender.example>", "421 4.7.0 Error: too many messages in one session")
	if rest := c.rest(); rest != "" {
		t.Errorf("after 421: %q", rest)
	}
}

func TestSessionTimeout(t *testing.T) {
	h := start(t, func(c *config.Config) { c.SMTP.SessionTimeout = config.Duration(300 * time.Millisecond) })
	c := greet(t, h.addr)
	c.expect("", "421 4.4.2 ")
	c.rest()
	h.waitLog(t, "timeout after EHLO from unknown[127.0.0.1]")
}

func TestIdleTimeoutDuringData(t *testing.T) {
	h := start(t, func(c *config.Config) { c.SMTP.Timeout = config.Duration(300 * time.Millisecond) })
	c := greet(t, h.addr)
	c.expect("MAIL FROM:<s@sender.example>", "250")
	c.expect("RCPT TO:<alice@example.org>", "250")
	c.expect("DATA", "354")
	c.write("Subject: slow\r\n")
	c.expect("", "421 4.4.2 ")
	c.rest()
	if len(h.del.delivered()) != 0 {
		t.Error("delivered a partial message")
	}
}

func TestShutdown(t *testing.T) {
	h := start(t, nil)
	idle := greet(t, h.addr)
	busy := greet(t, h.addr)
	busy.expect("MAIL FROM:<s@sender.example>", "250")
	busy.expect("RCPT TO:<alice@example.org>", "250")
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		done <- h.srv.Shutdown(ctx)
	}()
	// The idle session is told at once; the transaction may finish.
	idle.expect("", "421 ")
	busy.expect("DATA", "354")
	busy.write(simpleBody + ".\r\n")
	busy.expect("", "250 2.0.0 Ok: queued as ")
	busy.expect("", "421 ")
	if err := <-done; err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	if n := len(h.del.delivered()); n != 1 {
		t.Errorf("%d deliveries", n)
	}
}

func TestShutdownForced(t *testing.T) {
	h := start(t, nil)
	busy := greet(t, h.addr)
	busy.expect("MAIL FROM:<s@sender.example>", "250")
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := h.srv.Shutdown(ctx); err != context.DeadlineExceeded {
		t.Errorf("Shutdown: %v", err)
	}
	busy.rest()
}

// A reloaded config applies to new connections; old ones keep theirs.
func TestReload(t *testing.T) {
	h := start(t, nil)
	old := greet(t, h.addr)
	cfg := testConfig()
	cfg.SMTP.MessageSizeLimit = 128 << 10
	cfg.SMTP.Banner = "$hostname ESMTP reloaded"
	h.cfg.Store(cfg)
	c := dial(t, h.addr)
	c.expect("", "220 mx.test.example ESMTP reloaded")
	if r := c.expect("EHLO client.example", "250"); !strings.Contains(r, "SIZE 131072") {
		t.Errorf("new session: %q", r)
	}
	if r := old.expect("EHLO client.example", "250"); !strings.Contains(r, "SIZE 65536") {
		t.Errorf("old session: %q", r)
	}
	old.send("s@sender.example", []string{"alice@example.org"}, simpleBody)
	c.send("s@sender.example", []string{"alice@example.org"}, simpleBody)
}
