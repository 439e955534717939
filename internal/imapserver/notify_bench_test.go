package imapserver

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"mailwarden/internal/config"
)

// notifyFolders makes alice's folders f000..f(n-1).
func (h *harness) notifyFolders(tb testing.TB, n int) []string {
	tb.Helper()
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("f%03d", i)
		if err := h.store.CreateFolder(context.Background(), h.account("alice@example.org"), names[i], ""); err != nil {
			tb.Fatal(err)
		}
	}
	return names
}

// skipLine reads one response line of any length (the greeting lists
// more capabilities than a small client buffer holds).
func skipLine(tb testing.TB, br *bufio.Reader) {
	tb.Helper()
	for {
		_, err := br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			tb.Fatal(err)
		}
		return
	}
}

func stackInUse() uint64 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.StackInuse
}

// BenchmarkNotifyHeap measures what NOTIFY costs a session: N sessions
// log in and select INBOX, then each asks for MessageNew, MessageExpunge,
// FlagChange and MailboxName of 100 folders and waits for notifications.
// It reports the heap and goroutine stack each session adds with NOTIFY.
//
//	go test -run '^$' -bench NotifyHeap -benchtime 1x ./internal/imapserver/
func BenchmarkNotifyHeap(b *testing.B) {
	const sessions, folders = 100, 100
	h := start(b, func(c *config.Config) {
		c.IMAP.MaxConnections = 10 * sessions
		c.IMAP.MaxConnectionsPerIP = 10 * sessions
	})
	names := h.notifyFolders(b, folders)
	notify := "NOTIFY SET (selected (MessageNew MessageExpunge FlagChange)) (mailboxes (" + strings.Join(names, " ") +
		") (MessageNew MessageExpunge FlagChange MailboxName))"
	type conn struct {
		c  net.Conn
		br *bufio.Reader
	}
	for range b.N {
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
			rawCmd(b, c, cs[i].br, "b", "SELECT INBOX")
		}
		before, stackBefore := heapInUse(), stackInUse()
		for _, c := range cs {
			rawCmd(b, c.c, c.br, "c", notify)
		}
		time.Sleep(100 * time.Millisecond) // the waiting goroutines start
		after, stackAfter := heapInUse(), stackInUse()
		b.ReportMetric(float64(int64(after)-int64(before))/sessions, "B/session")
		b.ReportMetric(float64(int64(stackAfter)-int64(stackBefore))/sessions, "stackB/session")
		for _, c := range cs {
			fmt.Fprintf(c.c, "d LOGOUT\r\n")
			c.c.Close()
		}
	}
}

// BenchmarkNotifyDelay measures the time from a delivery's commit
// (store.Deliver returning, as after SMTP's 250) to the "* STATUS" line
// reaching a client that watches 100 folders with NOTIFY and is waiting
// for its next command. It reports the median and the 99th percentile.
//
//	go test -run '^$' -bench NotifyDelay -benchtime 500x ./internal/imapserver/
func BenchmarkNotifyDelay(b *testing.B) {
	h := start(b, nil)
	names := h.notifyFolders(b, 100)
	c := h.login(b, "alice@example.org")
	c.ok("SELECT INBOX")
	c.ok("NOTIFY SET (mailboxes (" + strings.Join(names, " ") + ") (MessageNew MessageExpunge))")
	msg := testMessage(1)
	delays := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		h.deliver(b, "alice@example.org", names[i%len(names)], msg)
		t0 := time.Now()
		c.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		if l := c.line(); !strings.HasPrefix(l, "* STATUS "+names[i%len(names)]+" ") {
			b.Fatalf("got %q", l)
		}
		delays = append(delays, time.Since(t0))
	}
	b.StopTimer()
	slices.Sort(delays)
	b.ReportMetric(float64(delays[len(delays)/2].Microseconds()), "µs-p50")
	b.ReportMetric(float64(delays[len(delays)*99/100].Microseconds()), "µs-p99")
}
