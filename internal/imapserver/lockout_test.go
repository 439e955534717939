package imapserver

import (
	"bufio"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"mailwarden/internal/config"
)

// TestParallelLoginsLockedOut: 45 clients from one address send a wrong
// LOGIN at the same instant. Only auth.max_failures passwords are
// checked; the rest are refused as temporary failures without a check,
// and so is the right password afterwards, until the failure window has
// passed (on a fake clock).
func TestParallelLoginsLockedOut(t *testing.T) {
	const clients, maxFailures = 45, 10
	var mu sync.Mutex
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	h := start(t, func(c *config.Config) {
		c.Auth.MaxFailures = maxFailures
		c.Auth.FailureWindow = config.Duration(10 * time.Minute)
	}, func(o *Options) { o.Auth.SetClock(clock) })

	// All connections are greeted first, then every LOGIN is written at
	// once, so the checks overlap as much as the machine allows.
	type conn struct {
		c  net.Conn
		br *bufio.Reader
	}
	conns := make([]conn, clients)
	for i := range conns {
		c, err := net.Dial("tcp", h.addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		c.SetDeadline(time.Now().Add(60 * time.Second))
		br := bufio.NewReader(c)
		if g, err := br.ReadString('\n'); err != nil || !strings.HasPrefix(g, "* OK ") {
			t.Fatalf("greeting %q: %v", g, err)
		}
		conns[i] = conn{c, br}
	}
	replies := make([]string, clients)
	var start, wg sync.WaitGroup
	start.Add(1)
	for i, c := range conns {
		wg.Go(func() {
			start.Wait()
			if _, err := c.c.Write([]byte("a1 LOGIN alice@example.org wrong\r\n")); err != nil {
				replies[i] = err.Error()
				return
			}
			l, err := c.br.ReadString('\n')
			if err != nil {
				replies[i] = err.Error()
			}
			replies[i] = strings.TrimSuffix(l, "\r\n")
		})
	}
	start.Done()
	wg.Wait()

	failed, refused := 0, 0
	for i, r := range replies {
		switch r {
		case "a1 NO [AUTHENTICATIONFAILED] Authentication failed.":
			failed++
		case "a1 NO [UNAVAILABLE] Temporary authentication failure, try again later.":
			refused++
		default:
			t.Errorf("client %d: %q", i, r)
		}
	}
	checked := strings.Count(h.logs.String(), "reason=password mismatch")
	if failed != maxFailures || checked != maxFailures || refused != clients-maxFailures {
		t.Fatalf("%d passwords checked (%d answered as failed), %d refused; want %d checked and %d refused",
			checked, failed, refused, maxFailures, clients-maxFailures)
	}

	c := h.dial(t)
	c.expect("LOGIN alice@example.org "+testPass, "NO [UNAVAILABLE] Temporary authentication failure, try again later.")
	mu.Lock()
	now = now.Add(10*time.Minute + time.Second)
	mu.Unlock()
	c = h.dial(t)
	c.ok("LOGIN alice@example.org " + testPass)
}
