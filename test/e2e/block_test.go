package e2e

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestBlock drives `mailwarden block add|list|delete` against a running
// server: a blocked client gets no greeting (nor TLS handshake) on any
// listener while others are served, a delete lifts the block and a
// --for block expires, all without a restart or SIGHUP.
func TestBlock(t *testing.T) {
	metricsAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	s := startServer(t, options{Extra: []string{"", "[metrics]", fmt.Sprintf("listen = %q", metricsAddr)}}, nil)
	ports := []struct {
		name string
		port int
		tls  bool
	}{
		{"smtp", s.Port, false}, {"submission", s.SubmissionPort, false}, {"submissions", s.SubmissionsPort, true},
		{"imap", s.IMAPPort, false}, {"imaps", s.IMAPSPort, true},
		{"pop3", s.POP3Port, false}, {"pop3s", s.POP3SPort, true},
	}
	// greeting is the first line a client at from gets on port, or the
	// error that ended the connection before it.
	greeting := func(from string, port int, useTLS bool) (string, error) {
		d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 10 * time.Second}
		raw, err := d.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			t.Fatalf("dial from %s: %v", from, err)
		}
		defer raw.Close()
		raw.SetDeadline(time.Now().Add(20 * time.Second))
		var c net.Conn = raw
		if useTLS {
			tc := tls.Client(raw, &tls.Config{InsecureSkipVerify: true})
			if err := tc.Handshake(); err != nil {
				return "", fmt.Errorf("TLS handshake: %w", err)
			}
			c = tc
		}
		return bufio.NewReader(c).ReadString('\n')
	}
	// served reports whether every listener greets from; dropped whether
	// every listener closes on from without a byte or a handshake.
	served := func(t *testing.T, from string) bool {
		t.Helper()
		for _, p := range ports {
			line, err := greeting(from, p.port, p.tls)
			if err != nil || !strings.HasPrefix(line, "220 ") && !strings.HasPrefix(line, "* OK") && !strings.HasPrefix(line, "+OK") {
				t.Logf("%s from %s: %q, %v", p.name, from, line, err)
				return false
			}
		}
		return true
	}
	dropped := func(t *testing.T, from string) bool {
		t.Helper()
		for _, p := range ports {
			line, err := greeting(from, p.port, p.tls)
			if line != "" || err == nil {
				t.Logf("%s from %s: %q, %v", p.name, from, line, err)
				return false
			}
			if !p.tls && err != io.EOF && !strings.Contains(err.Error(), "reset") {
				t.Fatalf("%s from %s: %v, want the connection closed (not a timeout)", p.name, from, err)
			}
		}
		return true
	}
	// eventually polls cond for up to 10s: changes reach the server by a
	// poll of about a second.
	eventually := func(t *testing.T, what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("never: %s", what)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	list := func() string { return s.admin("block", "list") }

	if !served(t, "127.0.0.2") {
		t.Fatal("127.0.0.2 not served before any block")
	}
	s.admin("block", "add", "127.0.0.2", "--reason", "test")
	if out := list(); !regexp.MustCompile(`(?m)^127\.0\.0\.2/32\s+permanent\s+\S+\s+test$`).MatchString(out) {
		t.Fatalf("block list:\n%s", out)
	}
	eventually(t, "127.0.0.2 dropped on every listener", func() bool { return dropped(t, "127.0.0.2") })
	if !served(t, "127.0.0.1") {
		t.Fatal("127.0.0.1 not served while 127.0.0.2 is blocked")
	}
	// A real SMTP client sees the connection closed before any banner.
	r := s.swaks("--local-interface", "127.0.0.2", "--to", "x@mx.test.example", "--quit-after", "EHLO")
	if r.Code == 0 || strings.Contains(r.Out, "<-  220") {
		t.Fatalf("swaks from a blocked client: exit %d\n%s", r.Code, r.Out)
	}
	r = s.swaks("--local-interface", "127.0.0.1", "--to", "x@mx.test.example", "--quit-after", "EHLO")
	if r.Code != 0 || !strings.Contains(r.Out, "<-  220") {
		t.Fatalf("swaks from 127.0.0.1: exit %d\n%s", r.Code, r.Out)
	}
	s.waitLog(func(l string) bool {
		return strings.Contains(l, "blocked connection from unknown[127.0.0.2] for service smtp: test") &&
			strings.Contains(l, "blocked connection from unknown[127.0.0.2] for service submissions: test") &&
			strings.Contains(l, "imap-login: Disconnected: Client blocked (test): rip=127.0.0.2") &&
			strings.Contains(l, "pop3-login: Disconnected: Client blocked (test): rip=127.0.0.2")
	}, "the blocked-connection lines of every service")
	// Once the block applies, no connection of the client reaches smtpd.
	mark := len(s.Log())
	if !dropped(t, "127.0.0.2") {
		t.Fatal("127.0.0.2 served again while blocked")
	}
	if later := s.Log()[mark:]; strings.Contains(later, "connect from unknown[127.0.0.2]") || strings.Contains(later, "rip=127.0.0.2, lip=") {
		t.Errorf("a blocked connection reached a protocol server:\n%s", later)
	}
	resp, err := http.Get("http://" + metricsAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, svc := range []string{"smtp", "submission", "submissions", "imap", "pop3"} {
		re := regexp.MustCompile(`mailwarden_connections_total\{outcome="blocked",service="` + svc + `"\} ([0-9]+)`)
		if m := re.FindSubmatch(body); m == nil || string(m[1]) == "0" {
			t.Errorf("no blocked connections counted for %s", svc)
		}
	}

	// Deleting lifts it without a restart.
	s.admin("block", "delete", "127.0.0.2")
	if code, _, errOut := s.cli("block", "delete", "127.0.0.2"); code == 0 || !strings.Contains(errOut, "no such block") {
		t.Fatalf("second delete: exit %d, %s", code, errOut)
	}
	if out := list(); strings.Contains(out, "127.0.0.2") {
		t.Fatalf("block list after delete:\n%s", out)
	}
	eventually(t, "127.0.0.2 served again after delete", func() bool { return served(t, "127.0.0.2") })

	// A network block with --for applies, then expires by itself.
	s.admin("block", "add", "127.0.0.0/30", "--for", "5s", "--reason", "short")
	if out := list(); !regexp.MustCompile(`(?m)^127\.0\.0\.0/30\s+until \S+\s+\S+\s+short$`).MatchString(out) {
		t.Fatalf("block list:\n%s", out)
	}
	smtpGreets := func(from string) bool {
		line, err := greeting(from, s.Port, false)
		return err == nil && strings.HasPrefix(line, "220 ")
	}
	eventually(t, "the /30 block applies to 127.0.0.3", func() bool { return !smtpGreets("127.0.0.3") })
	eventually(t, "the --for 5s block expires", func() bool { return served(t, "127.0.0.3") && served(t, "127.0.0.1") })
	if out := list(); !regexp.MustCompile(`(?m)^127\.0\.0\.0/30\s+expired \S+\s+\S+\s+short$`).MatchString(out) {
		t.Fatalf("block list after expiry:\n%s", out)
	}

	// Bad input is refused with a clear error and changes nothing.
	for _, args := range [][]string{
		{"block", "add", "not-an-address"},
		{"block", "add", "192.0.2.0/33"},
		{"block", "add", "192.0.2.1", "--for", "-1h"},
		{"block", "add", "192.0.2.1", "--reason", "two\nlines"},
		{"block", "delete"},
	} {
		if code, _, errOut := s.cli(args...); code == 0 || errOut == "" {
			t.Errorf("mailwarden %q: exit %d, stderr %q", args, code, errOut)
		}
	}
	if out := list(); strings.Contains(out, "192.0.2") {
		t.Fatalf("refused adds were stored:\n%s", out)
	}
}
