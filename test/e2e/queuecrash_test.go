package e2e

import (
	"bytes"
	"fmt"
	"io"
	"log"
	"net"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"mailwarden/internal/dnsx/dnstest"
)

// gatedSink is the remote MX of startSink, slowed down: every DATA waits
// until the gate opens, then another delay, before it is accepted.
type gatedSink struct {
	*sink
	gate  chan struct{}
	delay time.Duration
}

type gatedSession struct {
	sinkSession
	g *gatedSink
}

func (g *gatedSink) NewSession(*smtp.Conn) (smtp.Session, error) {
	return &gatedSession{sinkSession: sinkSession{s: g.sink}, g: g}, nil
}

func (gs *gatedSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	<-gs.g.gate
	time.Sleep(gs.g.delay)
	return gs.sinkSession.Data(bytes.NewReader(b))
}

// TestQueueCrash: 100 messages for remote recipients are queued while the
// remote MX holds every delivery at DATA; then the MX lets them through
// (50ms each) and after it has accepted 30 the server is killed with
// SIGKILL in the middle of delivering. After a restart on the same data
// dir, the queue drains by itself: every message reaches the MX at least
// once (a copy accepted just before the kill may be sent again; none may
// be lost), and the queue tables and data_dir/queue end up empty.
func TestQueueCrash(t *testing.T) {
	t.Parallel()
	const total, killAt = 100, 30
	k := &gatedSink{sink: &sink{}, gate: make(chan struct{}), delay: 50 * time.Millisecond}
	var openOnce sync.Once
	open := func() { openOnce.Do(func() { close(k.gate) }) }
	t.Cleanup(open) // never leave sink sessions blocked
	port := startSMTPServer(t, k)
	dns := dnstest.New(t, `
remote.test. MX 10 mx1.remote.test.
mx1.remote.test. A 127.0.0.2
`)
	s := startServer(t, options{Resolvers: []string{dns.Addr()}, Extra: []string{"", "[outbound]", fmt.Sprintf("smtp_port = %d", port)}}, nil)

	// Queue them over 5 connections from 127.0.0.1 (mynetworks: relaying
	// allowed), one recipient each.
	ids := make([]string, total)
	for i := range ids {
		ids[i] = newMessageID(fmt.Sprintf("qcrash-%d", i))
	}
	var wg sync.WaitGroup
	errs := make(chan error, total)
	for w := 0; w < 5; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := smtpDial(s.Addr(), "127.0.0.1")
			if err != nil {
				errs <- err
				return
			}
			defer c.Quit()
			for i := w; i < total; i += 5 {
				to := fmt.Sprintf("rcpt%d@remote.test", i)
				body := strings.Repeat(fmt.Sprintf("queue crash message %d\n", i), 10+i%50)
				if err := sendOn(c, "sender@e2e.test", []string{to}, message("sender@e2e.test", to, "queue crash", ids[i], body)); err != nil {
					errs <- fmt.Errorf("%s: %w", ids[i], err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("queueing: %v", err)
	}
	if n := len(k.received()); n != 0 {
		t.Fatalf("the sink accepted %d messages before the gate opened", n)
	}

	open()
	deadline := time.Now().Add(60 * time.Second)
	for len(k.received()) < killAt {
		if time.Now().After(deadline) {
			t.Fatalf("the sink got only %d messages in 60s\nlog:\n%s", len(k.received()), s.Log())
		}
		time.Sleep(5 * time.Millisecond)
	}
	s.kill()
	atKill := len(k.received())
	t.Logf("SIGKILL after the sink accepted %d of %d", atKill, total)
	if atKill >= total {
		t.Fatalf("all %d messages were delivered before the kill: the test did not crash mid-delivery", total)
	}
	time.Sleep(200 * time.Millisecond) // let sink sessions of the dead server end

	s.start()
	t0 := time.Now()
	deadline = time.Now().Add(90 * time.Second)
	for {
		out := s.admin("queue", "list")
		if strings.Contains(out, "Mail queue is empty") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("queue not empty 90s after the restart (sink has %d):\n%s", len(k.received()), out)
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("queue empty %.1fs after the restart", time.Since(t0).Seconds())

	count := map[string]int{}
	for _, m := range k.received() {
		msg, err := mail.ReadMessage(strings.NewReader(m.Data))
		if err != nil {
			t.Errorf("unparsable message at the sink: %v", err)
			continue
		}
		count[msg.Header.Get("Message-Id")]++
	}
	dups := 0
	for i, id := range ids {
		switch n := count[id]; {
		case n == 0:
			t.Errorf("message %d (%s, to rcpt%d@remote.test) never reached the sink", i, id, i)
		case n > 1:
			dups += n - 1
		}
	}
	t.Logf("%d messages at the sink, %d duplicates (allowed)", len(k.received()), dups)

	db := s.openDB()
	for _, table := range []string{"queue_message", "queue_rcpt"} {
		var n int
		if err := db.QueryRow("SELECT COUNT(*) FROM " + table).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Errorf("%s still has %d rows", table, n)
		}
	}
	var left []string
	filepath.WalkDir(filepath.Join(s.DataDir, "queue"), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			left = append(left, p)
		}
		return nil
	})
	if len(left) > 0 {
		// Seen: a message whose rows were deleted after status=sent but
		// whose body file was not yet unlinked at the SIGKILL; the start-up
		// sweep spares files younger than 5 minutes, so it stays ~1 hour.
		t.Errorf("%d files left under data_dir/queue (body files without queue rows, after the queue emptied): %v", len(left), left)
	}
	if t.Failed() {
		t.Logf("queue list:\n%s", s.admin("queue", "list"))
	}
}

// startSMTPServer serves backend on 127.0.0.2 on a free port.
func startSMTPServer(t *testing.T, backend smtp.Backend) int {
	t.Helper()
	srv := smtp.NewServer(backend)
	srv.Domain = "mx1.remote.test"
	// Not nil: go-smtp logs a connection error (the killed client's) through
	// it unconditionally.
	srv.ErrorLog = log.New(io.Discard, "", 0)
	// Go's net/smtp asks for SMTPUTF8 whenever it is offered, and Mailwarden
	// then requires it of the next hop even for all-ASCII mail (Postfix would
	// deliver such mail to a server without SMTPUTF8): offer it.
	srv.EnableSMTPUTF8 = true
	l, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return l.Addr().(*net.TCPAddr).Port
}
