package imapserver

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"mailwarden/internal/config"
)

// importINBOX fills alice's INBOX with n small messages through
// store.Import, with a handful of distinct flag sets as real mailboxes
// have.
func (h *harness) importINBOX(t testing.TB, n int) {
	t.Helper()
	h.importMessages(t, n, testMessage)
}

// importMessages fills alice's INBOX with the n messages gen makes.
func (h *harness) importMessages(t testing.TB, n int, gen func(int) string) {
	t.Helper()
	src := t.TempDir()
	for _, d := range []string{"cur", "new", "tmp"} {
		if err := os.Mkdir(filepath.Join(src, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	infos := []string{"S", "S", "S", "RS", "FS", "", "ST"}
	for i := range n {
		name := fmt.Sprintf("%d.M%dP1.host:2,%s", 1600000000+i, i, infos[i%len(infos)])
		if err := os.WriteFile(filepath.Join(src, "cur", name), []byte(gen(i)), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := h.store.Import(context.Background(), h.account("alice@example.org"), src); err != nil {
		t.Fatal(err)
	}
}

// rawCmd sends one command on a bare connection and reads to its
// completion, keeping nothing (the client must not weigh on the heap).
func rawCmd(tb testing.TB, conn net.Conn, br *bufio.Reader, tag, cmd string) {
	tb.Helper()
	if _, err := fmt.Fprintf(conn, "%s %s\r\n", tag, cmd); err != nil {
		tb.Fatal(err)
	}
	for {
		l, err := br.ReadString('\n') // whole lines: a tagged OK may carry a long CAPABILITY
		if err != nil {
			tb.Fatal(err)
		}
		if strings.HasPrefix(l, tag+" ") {
			if !strings.HasPrefix(string(l), tag+" OK") {
				tb.Fatalf("%s: %s", cmd, l)
			}
			return
		}
	}
}

func heapInUse() uint64 {
	var ms runtime.MemStats
	for range 2 {
		runtime.GC()
	}
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// BenchmarkSelectHeap measures the heap a session keeps with a
// 10,000-message INBOX selected: N sessions log in, then SELECT INBOX and
// wait in IDLE. It reports the heap per session, in total and for the
// selected state alone (after SELECT minus after LOGIN).
//
//	go test -run '^$' -bench SelectHeap -benchtime 1x ./internal/imapserver/
func BenchmarkSelectHeap(b *testing.B) {
	const msgs, sessions = 10000, 100
	h := start(b, func(c *config.Config) {
		c.IMAP.MaxConnections = 10 * sessions
		c.IMAP.MaxConnectionsPerIP = 10 * sessions
	})
	h.importINBOX(b, msgs)
	type conn struct {
		c  net.Conn
		br *bufio.Reader
	}
	for range b.N {
		base := heapInUse()
		cs := make([]conn, sessions)
		for i := range cs {
			c, err := net.Dial("tcp", h.addr)
			if err != nil {
				b.Fatal(err)
			}
			c.SetDeadline(time.Now().Add(time.Minute))
			cs[i] = conn{c, bufio.NewReaderSize(c, 512)}
			skipLine(b, cs[i].br)
			rawCmd(b, c, cs[i].br, "a", "LOGIN alice@example.org "+testPass)
		}
		authed := heapInUse()
		for _, c := range cs {
			rawCmd(b, c.c, c.br, "b", "SELECT INBOX")
			if _, err := fmt.Fprintf(c.c, "c IDLE\r\n"); err != nil {
				b.Fatal(err)
			}
			if _, err := c.br.ReadSlice('\n'); err != nil {
				b.Fatal(err)
			}
		}
		selected := heapInUse()
		b.ReportMetric(float64(selected-base)/sessions, "B/session")
		b.ReportMetric(float64(selected-authed)/sessions, "B/selected")
		b.ReportMetric(float64(selected-authed)/sessions/msgs, "B/msg")
		for _, c := range cs {
			fmt.Fprintf(c.c, "DONE\r\nd LOGOUT\r\n")
			c.c.Close()
		}
	}
}
