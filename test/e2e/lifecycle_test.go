package e2e

import (
	"bufio"
	"net"
	"strings"
	"testing"
	"time"
)

// TestRestart: an operator's stop and start. A fresh data dir starts
// without any "unclean shutdown" warning, SIGTERM exits 0, the next start
// is again clean (no recovery), mail stored before is still there, and new
// mail gets a higher UID than the old.
func TestRestart(t *testing.T) {
	t.Parallel()
	s := startServer(t, options{}, oneDomain)
	const warning = "did not shut down cleanly"
	if strings.Contains(s.Log(), warning) {
		t.Errorf("the first start on a fresh data dir warns %q", warning)
	}
	first := newMessageID("before-restart")
	s.send("sender@remote.example", "alice@dom.test", message("sender@remote.example", "alice@dom.test", "1", first, "one"),
		"--local-interface", "127.0.0.2")
	s.stop()
	before := strings.Count(s.Log(), warning)
	s.start()
	if strings.Count(s.Log(), warning) != before {
		t.Errorf("the start after a clean SIGTERM stop warns %q", warning)
	}
	second := newMessageID("after-restart")
	s.send("sender@remote.example", "alice@dom.test", message("sender@remote.example", "alice@dom.test", "2", second, "two"),
		"--local-interface", "127.0.0.2")
	if n := len(s.findMessage("alice@dom.test", first)); n != 1 {
		t.Errorf("message from before the restart: %d copies, want 1", n)
	}
	uids := queryStrings(t, s.openDB(), `SELECT m.uid FROM mail_message m JOIN mail_folder f ON f.id = m.folder_id
		WHERE f.username = 'alice@dom.test' AND f.name = 'INBOX' ORDER BY m.uid`)
	if len(uids) != 2 || uids[0] == uids[1] {
		t.Errorf("INBOX UIDs %q, want two distinct", uids)
	}
	s.checkIndex()
}

// TestConnectionLimit: with max_connections_per_ip = 2, a third
// simultaneous connection from the same address gets 421 4.7.0 and is
// closed, another address is still served, and a slot freed by QUIT can be
// used again.
func TestConnectionLimit(t *testing.T) {
	t.Parallel()
	s := startServer(t, options{SMTP: []string{"max_connections_per_ip = 2"}}, oneDomain)
	open := func(src string) (net.Conn, string) {
		t.Helper()
		d := net.Dialer{Timeout: 10 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}
		c, err := d.Dial("tcp", s.Addr())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		c.SetDeadline(time.Now().Add(10 * time.Second))
		line, err := bufio.NewReader(c).ReadString('\n')
		if err != nil {
			t.Fatalf("greeting from %s: %v", src, err)
		}
		return c, line
	}
	a, l1 := open("127.0.0.2")
	_, l2 := open("127.0.0.2")
	if !strings.HasPrefix(l1, "220 ") || !strings.HasPrefix(l2, "220 ") {
		t.Fatalf("first two connections greeted %q and %q, want 220", l1, l2)
	}
	third, l3 := open("127.0.0.2")
	if !strings.HasPrefix(l3, "421 4.7.0") {
		t.Errorf("third connection from 127.0.0.2 greeted %q, want 421 4.7.0 (too many connections)", l3)
	}
	third.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := third.Read(make([]byte, 1)); err == nil {
		t.Errorf("the refused connection sends more after 421")
	} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Errorf("the refused connection is still open 5s after 421")
	}
	if _, l := open("127.0.0.3"); !strings.HasPrefix(l, "220 ") {
		t.Errorf("a connection from 127.0.0.3 greeted %q, want 220 (the limit is per address)", l)
	}
	a.Write([]byte("QUIT\r\n"))
	a.Read(make([]byte, 512))
	a.Close()
	// The server notices the close asynchronously: retry for a while.
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, l := open("127.0.0.2")
		if strings.HasPrefix(l, "220 ") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after one of two connections quit, a new one still gets %q", l)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
