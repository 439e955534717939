package e2e

import (
	"bufio"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"mailwarden/internal/dnsx/dnstest"
)

// TestQuotedLocalPartRelayed: RCPT TO:<"x@inner.test"@remote.test> and
// <"john doe"@remote.test> from mynetworks are relayed to the remote MX
// with their quotes (RFC 5321 4.1.2), not as <x@inner.test@remote.test>,
// which the next hop would take for another address or refuse; and
// <"alice"@dom.test> is the local mailbox alice.
func TestQuotedLocalPartRelayed(t *testing.T) {
	t.Parallel()
	k, port := startRawSink(t, "127.0.0.2")
	dns := dnstest.New(t, "remote.test. MX 10 mx1.remote.test.\nmx1.remote.test. A 127.0.0.2\n")
	s := startServer(t, options{Resolvers: []string{dns.Addr()}, Extra: []string{"", "[outbound]", fmt.Sprintf("smtp_port = %d", port)}}, oneDomain)

	c, err := net.Dial("tcp", s.Addr()) // from 127.0.0.1: mynetworks may relay
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	br := bufio.NewReader(c)
	reply := func(cmd string) string {
		t.Helper()
		if cmd != "" {
			fmt.Fprint(c, cmd+"\r\n")
		}
		var last string
		for {
			l, err := br.ReadString('\n')
			if err != nil {
				t.Fatalf("after %q: %v", cmd, err)
			}
			if len(l) < 4 || l[3] != '-' {
				last = strings.TrimSuffix(l, "\r\n")
				break
			}
		}
		return last
	}
	for _, step := range []struct{ cmd, want string }{
		{"", "220 "}, {"EHLO client.test", "250 "}, {"MAIL FROM:<sender@dom.test>", "250 "},
		{`RCPT TO:<"x@inner.test"@remote.test>`, "250 "}, {`RCPT TO:<"john doe"@remote.test>`, "250 "},
		{`RCPT TO:<"alice"@dom.test>`, "250 "}, {"DATA", "354 "},
		{"Subject: quoted\r\n\r\nhello\r\n.", "250 "}, {"QUIT", "221 "},
	} {
		if got := reply(step.cmd); !strings.HasPrefix(got, step.want) {
			t.Fatalf("%q: %q, want %s", step.cmd, got, step.want)
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		lines, n := k.commands()
		if n > 0 {
			for _, want := range []string{`RCPT TO:<"x@inner.test"@remote.test>`, `RCPT TO:<"john doe"@remote.test>`} {
				found := false
				for _, l := range lines {
					if l == want || strings.HasPrefix(l, want+" ") {
						found = true
					}
				}
				if !found {
					t.Errorf("the remote MX got no %s; its commands: %q", want, lines)
				}
			}
			// "alice" is alice: delivered here, not relayed.
			if n := len(s.inbox("alice@dom.test")); n != 1 {
				t.Errorf(`%d messages for alice from "alice"@dom.test, want 1`, n)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("nothing relayed in 30s; the remote MX read %q\n%s", lines, s.Log())
		}
		time.Sleep(50 * time.Millisecond)
	}
}
