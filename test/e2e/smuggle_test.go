package e2e

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"mailwarden/internal/dnsx/dnstest"
)

// rawSink is a capture MX: it says yes to everything and keeps the bytes
// of each DATA exactly as they arrived, up to the first <CRLF>.<CRLF>, so a
// test sees what a lenient next hop would see (go-smtp's server would
// normalise them).
type rawSink struct {
	mu    sync.Mutex
	mails int      // MAIL commands seen
	datas [][]byte // raw DATA contents
}

func startRawSink(t *testing.T, ip string) (*rawSink, int) {
	t.Helper()
	l, err := net.Listen("tcp", ip+":0")
	if err != nil {
		t.Fatal(err)
	}
	k := &rawSink{}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go k.serve(c)
		}
	}()
	t.Cleanup(func() { l.Close() })
	return k, l.Addr().(*net.TCPAddr).Port
}

func (k *rawSink) serve(c net.Conn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	r := bufio.NewReader(c)
	fmt.Fprintf(c, "220 sink.remote.test ESMTP\r\n")
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		verb := strings.ToUpper(strings.TrimSpace(line))
		switch {
		case strings.HasPrefix(verb, "EHLO"):
			fmt.Fprintf(c, "250-sink.remote.test\r\n250 8BITMIME\r\n")
		case strings.HasPrefix(verb, "MAIL"):
			k.mu.Lock()
			k.mails++
			k.mu.Unlock()
			fmt.Fprintf(c, "250 ok\r\n")
		case verb == "DATA":
			fmt.Fprintf(c, "354 go\r\n")
			var data []byte
			for !bytes.HasSuffix(data, []byte("\r\n.\r\n")) {
				b, err := r.ReadByte()
				if err != nil {
					return
				}
				data = append(data, b)
			}
			k.mu.Lock()
			k.datas = append(k.datas, data)
			k.mu.Unlock()
			fmt.Fprintf(c, "250 queued\r\n")
		case verb == "QUIT":
			fmt.Fprintf(c, "221 bye\r\n")
			return
		default:
			fmt.Fprintf(c, "250 ok\r\n")
		}
	}
}

func (k *rawSink) got() (int, [][]byte) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.mails, append([][]byte(nil), k.datas...)
}

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
