package e2e

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"mailwarden/internal/dnsx/dnstest"
)

// TestSmugglingThroughForwarder: a message whose body carries each
// published smuggling sequence, sent to an alias that forwards to another
// domain, reaches the next hop as one message, with only CRLF line ends
// and no NUL — so it cannot end the data early there either.
func TestSmugglingThroughForwarder(t *testing.T) {
	k, port := startRawSink(t, "127.0.0.3")
	dns := dnstest.New(t, "remote.test. MX 10 mx.remote.test.\nmx.remote.test. A 127.0.0.3\n")
	s := startServer(t, options{Resolvers: []string{dns.Addr()}, Extra: []string{"", "[outbound]", fmt.Sprintf("smtp_port = %d", port)}}, func(s *server) {
		s.admin("domain", "add", "fwd.test")
		s.admin("alias", "add", "fwd@fwd.test", "target@remote.test")
	})
	variants := []string{"\n.\n", "\r.\r", "\n.\r\n", "\r.\r\n", "\r\n.\n", "\r\n.\r", "\r\n.\x00\r\n"}
	for _, v := range variants {
		c, err := net.Dial("tcp", s.Addr())
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(30 * time.Second))
		r := bufio.NewReader(c)
		expect := func(send, want string) {
			t.Helper()
			if send != "" {
				fmt.Fprint(c, send)
			}
			for {
				line, err := r.ReadString('\n')
				if err != nil {
					t.Fatalf("after %q: %v", send, err)
				}
				if len(line) >= 4 && line[3] == '-' {
					continue
				}
				if !strings.HasPrefix(line, want) {
					t.Fatalf("after %q: got %q, want %q", send, line, want)
				}
				return
			}
		}
		expect("", "220 ")
		expect("EHLO client.e2e.test\r\n", "250")
		expect("MAIL FROM:<sender@origin.example>\r\n", "250")
		expect("RCPT TO:<fwd@fwd.test>\r\n", "250")
		expect("DATA\r\n", "354")
		expect("Subject: smuggle "+fmt.Sprintf("%q", v)+"\r\n\r\nhello"+v+
			"MAIL FROM:<evil@attacker.example>\r\nRCPT TO:<victim@remote.test>\r\nDATA\r\nSubject: smuggled\r\n\r\nowned\r\n.\r\n", "250 2.0.0 Ok: queued as ")
		expect("QUIT\r\n", "221")
		c.Close()
	}
	deadline := time.Now().Add(60 * time.Second)
	mails, datas := k.got()
	for len(datas) < len(variants) && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
		mails, datas = k.got()
	}
	time.Sleep(500 * time.Millisecond) // anything smuggled would arrive now
	mails, datas = k.got()
	if mails != len(variants) || len(datas) != len(variants) {
		t.Fatalf("the next hop saw %d MAIL commands and %d messages, want %d of each", mails, len(datas), len(variants))
	}
	for _, d := range datas {
		for i := 0; i < len(d); i++ {
			switch {
			case d[i] == 0:
				t.Errorf("NUL reached the next hop: %q", d)
			case d[i] == '\r' && (i+1 == len(d) || d[i+1] != '\n'), d[i] == '\n' && (i == 0 || d[i-1] != '\r'):
				t.Errorf("bare CR or LF at %d reached the next hop: %q", i, d)
			}
		}
		if !bytes.Contains(d, []byte("Subject: smuggled")) {
			t.Errorf("the smuggled text is not part of the one message: %q", d)
		}
	}
}
