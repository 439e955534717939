package e2e

import (
	"bufio"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"mailwarden/internal/dnsx/dnstest"
)

// quotedSink is a remote MX that records the command lines it reads as
// they came on the wire (go-smtp's server would unquote addresses).
type quotedSink struct {
	mu    sync.Mutex
	lines []string
	msgs  int
}

func (k *quotedSink) serve(c net.Conn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	br := bufio.NewReader(c)
	fmt.Fprint(c, "220 mx1.remote.test ESMTP\r\n")
	for {
		l, err := br.ReadString('\n')
		if err != nil {
			return
		}
		l = strings.TrimSuffix(l, "\r\n")
		k.mu.Lock()
		k.lines = append(k.lines, l)
		k.mu.Unlock()
		switch verb, _, _ := strings.Cut(strings.ToUpper(l), " "); verb {
		case "EHLO":
			fmt.Fprint(c, "250-mx1.remote.test\r\n250 PIPELINING\r\n")
		case "DATA":
			fmt.Fprint(c, "354 go ahead\r\n")
			for {
				d, err := br.ReadString('\n')
				if err != nil {
					return
				}
				if d == ".\r\n" {
					break
				}
			}
			k.mu.Lock()
			k.msgs++
			k.mu.Unlock()
			fmt.Fprint(c, "250 2.0.0 queued\r\n")
		case "QUIT":
			fmt.Fprint(c, "221 2.0.0 bye\r\n")
			return
		default:
			fmt.Fprint(c, "250 2.0.0 ok\r\n")
		}
	}
}

// TestQuotedLocalPartRelayed: RCPT TO:<"x@inner.test"@remote.test> and
// <"john doe"@remote.test> from mynetworks are relayed to the remote MX
// with their quotes (RFC 5321 4.1.2), not as <x@inner.test@remote.test>,
// which the next hop would take for another address or refuse; and
// <"alice"@dom.test> is the local mailbox alice.
func TestQuotedLocalPartRelayed(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	k := &quotedSink{}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go k.serve(c)
		}
	}()
	dns := dnstest.New(t, "remote.test. MX 10 mx1.remote.test.\nmx1.remote.test. A 127.0.0.2\n")
	port := l.Addr().(*net.TCPAddr).Port
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
		k.mu.Lock()
		n, lines := k.msgs, append([]string(nil), k.lines...)
		k.mu.Unlock()
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
