package e2e

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestConnectionFloodLeavesRoom: 500 idle connections from 13 loopback
// addresses (127.0.0.2 to .14) to SMTP and 500 to IMAP do not shut out
// a new client, neither 127.0.0.1 (in mynetworks) nor 127.0.0.99 (not).
// Then, with max_connections lowered (SIGHUP) so that only the reserve is
// left, the stranger gets 421 while the mynetworks client still gets in on
// the reserve, and the submission port, a server of its own, is untouched
// by the flood on port 25.
func TestConnectionFloodLeavesRoom(t *testing.T) {
	t.Parallel()
	s := startServer(t, options{}, oneDomain)
	smtpAddr, imapAddr := s.Addr(), "127.0.0.1:"+strconv.Itoa(s.IMAPPort)
	subAddr := "127.0.0.1:" + strconv.Itoa(s.SubmissionPort)

	// greet connects from src and returns the first line the server sends.
	greet := func(src, addr string, keep bool) string {
		t.Helper()
		d := net.Dialer{Timeout: 10 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}
		c, err := d.Dial("tcp", addr)
		if err != nil {
			t.Fatalf("connect from %s to %s: %v", src, addr, err)
		}
		if keep {
			t.Cleanup(func() { c.Close() })
		} else {
			defer c.Close()
		}
		c.SetDeadline(time.Now().Add(20 * time.Second))
		l, err := bufio.NewReader(c).ReadString('\n')
		if err != nil {
			return "error: " + err.Error()
		}
		c.SetDeadline(time.Time{})
		return strings.TrimSuffix(l, "\r\n")
	}
	rss := func() int {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
		if err != nil {
			return 0
		}
		for _, l := range strings.Split(string(b), "\n") {
			if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
				n, _ := strconv.Atoi(f[1])
				return n
			}
		}
		return 0
	}

	before := rss()
	for _, svc := range []struct{ name, addr, ok string }{{"SMTP", smtpAddr, "220 "}, {"IMAP", imapAddr, "* OK "}} {
		for i := range 500 {
			src := "127.0.0." + strconv.Itoa(2+i%13)
			if l := greet(src, svc.addr, true); !strings.HasPrefix(l, svc.ok) {
				t.Fatalf("%s flood connection %d from %s: %q", svc.name, i, src, l)
			}
		}
		for _, src := range []string{"127.0.0.1", "127.0.0.99"} {
			if l := greet(src, svc.addr, false); !strings.HasPrefix(l, svc.ok) {
				t.Errorf("%s: a new client from %s, after 500 idle connections from 13 others, got %q", svc.name, src, l)
			}
		}
	}
	if after := rss(); before > 0 && after > before {
		t.Logf("server RSS %d KiB before, %d KiB with 1000 idle connections: %.1f KiB each", before, after, float64(after-before)/1000)
	}

	// Only the reserve is left: 600 in all, 100 of them for mynetworks.
	s.setOptions(options{SMTP: []string{"max_connections = 600", "reserved_connections = 100"}})
	s.reload()
	if l := greet("127.0.0.99", smtpAddr, false); !strings.HasPrefix(l, "421 4.7.0") {
		t.Errorf("a stranger when only the reserve is left: %q, want 421 4.7.0", l)
	}
	if l := greet("127.0.0.1", smtpAddr, false); !strings.HasPrefix(l, "220 ") {
		t.Errorf("a mynetworks client when only the reserve is left: %q, want 220", l)
	}
	if l := greet("127.0.0.99", subAddr, false); !strings.HasPrefix(l, "220 ") {
		t.Errorf("submission from a stranger while port 25 is full: %q, want 220", l)
	}
}
