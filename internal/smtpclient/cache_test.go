package smtpclient

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"mailwarden/internal/testutil"
)

// sendN delivers n messages one after the other to hop and checks that
// each was accepted.
func sendN(t *testing.T, o Options, hop Hop, n int, between func()) {
	t.Helper()
	for i := range n {
		res, err := DeliverTo(context.Background(), o, hop, msg(fmt.Sprintf("r%d@x.test", i)))
		if err != nil {
			t.Fatal(err)
		}
		if !res[0].OK() {
			t.Fatalf("message %d: %+v", i, res[0])
		}
		if between != nil {
			between()
		}
	}
}

// waitIdle waits until the cache holds n idle connections.
func waitIdle(t *testing.T, c *Cache, n int) {
	t.Helper()
	for range 500 {
		if c.Idle() == n {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("cache holds %d idle connections, want %d", c.Idle(), n)
}

func TestCacheReuse(t *testing.T) {
	tests := []struct {
		name string
		cfg  fakeConfig
		want string // commands on the one connection
	}{
		{"pipelined: RSET in the group", fakeConfig{ext: []string{"PIPELINING"}, group: true},
			"EHLO MAIL RCPT DATA RSET MAIL RCPT DATA RSET MAIL RCPT DATA QUIT"},
		{"lock-step", fakeConfig{ext: []string{"SIZE"}, lockstep: true},
			"EHLO MAIL RCPT DATA RSET MAIL RCPT DATA RSET MAIL RCPT DATA QUIT"},
		{"LMTP", fakeConfig{lmtp: true, group: true},
			"LHLO MAIL RCPT DATA RSET MAIL RCPT DATA RSET MAIL RCPT DATA QUIT"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			noLeaks(t)
			f := newFake(t, tt.cfg)
			cache := NewCache(CacheOptions{IdleTime: time.Minute})
			o := fakeOpts()
			o.Cache = cache
			sendN(t, o, f.hop(), 3, nil)
			if cache.Idle() != 1 {
				t.Errorf("%d idle connections, want 1", cache.Idle())
			}
			cache.Close()
			f.close()
			conns, msgs, cmds, violations, quits := f.snapshot()
			if conns != 1 || len(msgs) != 3 || quits != 1 || len(violations) > 0 {
				t.Errorf("server: %d connections, %d messages, %d QUITs, %q", conns, len(msgs), quits, violations)
			}
			if got := verbs(cmds[1]); got != tt.want {
				t.Errorf("commands %q, want %q", got, tt.want)
			}
			// A closed cache keeps nothing.
			sendN(t, o, newFake(t, tt.cfg).hop(), 1, nil)
			if cache.Idle() != 0 {
				t.Errorf("closed cache holds %d connections", cache.Idle())
			}
		})
	}
}

func TestCacheNoReuse(t *testing.T) {
	tests := []struct {
		name    string
		cache   *CacheOptions // nil: no cache
		between bool          // wait for the cache to empty between messages
	}{
		{"no cache", nil, false},
		{"cache time limit 0", &CacheOptions{}, false},
		{"idle limit passed", &CacheOptions{IdleTime: 20 * time.Millisecond}, true},
		{"reuse time limit passed", &CacheOptions{IdleTime: time.Minute, MaxAge: time.Nanosecond}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			noLeaks(t)
			f := newFake(t, fakeConfig{ext: []string{"PIPELINING"}})
			o := fakeOpts()
			var between func()
			if tt.cache != nil {
				o.Cache = NewCache(*tt.cache)
				defer o.Cache.Close()
				if tt.between {
					between = func() { waitIdle(t, o.Cache, 0) }
				}
			}
			sendN(t, o, f.hop(), 3, between)
			if o.Cache != nil {
				o.Cache.Close()
			}
			f.close()
			conns, msgs, cmds, _, quits := f.snapshot()
			if conns != 3 || len(msgs) != 3 || quits != 3 {
				t.Errorf("server: %d connections, %d messages, %d QUITs; want 3 of each", conns, len(msgs), quits)
			}
			for i := 1; i <= conns; i++ {
				if got := verbs(cmds[i]); got != "EHLO MAIL RCPT DATA QUIT" {
					t.Errorf("connection %d: %q", i, got)
				}
			}
		})
	}
}

func TestCacheDeadConnection(t *testing.T) {
	tests := []struct {
		name  string
		cfg   fakeConfig
		conns int
		want  want
	}{
		{"closed by the server", fakeConfig{ext: []string{"PIPELINING"}, closeAfter: 1}, 3, want{250, "2.0.0", false, ""}},
		{"closed by the server, lock-step", fakeConfig{ext: nil, closeAfter: 1}, 3, want{250, "2.0.0", false, ""}},
		{"421 to RSET", fakeConfig{ext: []string{"PIPELINING"}, rset: "421 4.4.2 idle too long"}, 3, want{250, "2.0.0", false, ""}},
		{"421 to MAIL on a reused connection", fakeConfig{ext: []string{"PIPELINING"}, mail: func(_, n int) string {
			if n > 0 {
				return "421 4.3.2 shutting down"
			}
			return ""
		}}, 3, want{250, "2.0.0", false, ""}},
		// On a new connection a 421 is the message's result: no retry.
		{"421 to MAIL on a new connection", fakeConfig{ext: []string{"PIPELINING"}, mail: func(int, int) string {
			return "421 4.3.2 shutting down"
		}}, 3, want{421, "4.3.2", false, ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			noLeaks(t)
			f := newFake(t, tt.cfg)
			o := fakeOpts()
			o.Cache = NewCache(CacheOptions{IdleTime: time.Minute})
			defer o.Cache.Close()
			for i := range 3 {
				res, err := DeliverTo(context.Background(), o, f.hop(), msg(fmt.Sprintf("r%d@x.test", i)))
				if err != nil {
					t.Fatal(err)
				}
				check(t, res, tt.want)
			}
			o.Cache.Close()
			f.close()
			conns, msgs, _, violations, _ := f.snapshot()
			wantMsgs := 3
			if !tt.want.ok() {
				wantMsgs = 0
			}
			if conns != tt.conns || len(msgs) != wantMsgs || len(violations) > 0 {
				t.Errorf("server: %d connections (want %d), %d messages, %q", conns, tt.conns, len(msgs), violations)
			}
		})
	}
}

func (w want) ok() bool { return w.code >= 200 && w.code < 300 }

// TestCacheConcurrent runs deliveries in parallel through one cache: each
// connection carries one transaction at a time (the fake server flags a
// nested MAIL; -race flags shared state).
func TestCacheConcurrent(t *testing.T) {
	noLeaks(t)
	f := newFake(t, fakeConfig{ext: []string{"PIPELINING"}})
	o := fakeOpts()
	o.Cache = NewCache(CacheOptions{IdleTime: time.Minute, MaxPerDestination: 4})
	const workers, each = 8, 10
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				id := fmt.Sprintf("w%dm%d", w, i)
				m := msg(id + "@x.test")
				text := "Subject: " + id + "\r\n\r\n" + id + "\r\n"
				m.Body = func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(text)), nil }
				res, err := DeliverTo(context.Background(), o, f.hop(), m)
				if err != nil || !res[0].OK() {
					t.Errorf("%s: %+v %v", id, res, err)
				}
			}
		})
	}
	wg.Wait()
	if n := o.Cache.Idle(); n > 4 {
		t.Errorf("%d idle connections, want at most 4", n)
	}
	o.Cache.Close()
	f.close()
	conns, msgs, _, violations, _ := f.snapshot()
	if len(violations) > 0 || len(msgs) != workers*each {
		t.Fatalf("server: %d messages, %q", len(msgs), violations)
	}
	for _, m := range msgs {
		id := strings.TrimSuffix(m.rcpts[0], "@x.test")
		if len(m.rcpts) != 1 || !strings.Contains(m.body, "Subject: "+id+"\r\n") {
			t.Errorf("message mixed up: %+v", m)
		}
	}
	if conns >= workers*each {
		t.Errorf("%d connections for %d messages: no reuse", conns, workers*each)
	}
	t.Logf("%d messages over %d connections", len(msgs), conns)
}

// TestCacheTLSAuth reuses an authenticated STARTTLS connection to a
// go-smtp server, found by destination (no DNS lookup) and by address.
func TestCacheTLSAuth(t *testing.T) {
	noLeaks(t)
	cert, _ := testutil.SelfSigned(t, []string{"mx2.mx.test"})
	e := newEnv(t, sinkConfig{TLS: cert}, func(s *sink) { s.password = "secret" }, "127.0.0.3")
	e.opts.Cache = NewCache(CacheOptions{IdleTime: time.Minute})
	defer e.opts.Cache.Close()
	relay := Hop{Host: "[mx2.mx.test]", NoMX: true, Username: "u", Password: "secret"}
	sendN(t, e.opts, relay, 3, nil)
	// Another destination on the same host with the same settings shares
	// the connection through its address; other credentials do not.
	other := Hop{Host: "mx2.mx.test", NoMX: true, Username: "u", Password: "secret"}
	sendN(t, e.opts, other, 1, nil)
	s := e.sinks["127.0.0.3"]
	if n := s.conns.Load(); n != 1 {
		t.Errorf("%d connections, want 1", n)
	}
	sendN(t, e.opts, Hop{Host: "[mx2.mx.test]", NoMX: true, Username: "v", Password: "secret"}, 1, nil)
	if n := s.conns.Load(); n != 2 {
		t.Errorf("%d connections, want 2 (other credentials)", n)
	}
	msgs := s.messages()
	if len(msgs) != 5 || !msgs[3].TLS || msgs[3].User != "u" || msgs[4].User != "v" {
		t.Errorf("sink got %+v", msgs)
	}
}

// TestCacheIdleExpiry checks that expired connections are QUIT by the
// cache itself and that Close QUITs the rest.
func TestCacheIdleExpiry(t *testing.T) {
	noLeaks(t)
	f := newFake(t, fakeConfig{ext: []string{"PIPELINING"}})
	g := newFake(t, fakeConfig{ext: []string{"PIPELINING"}})
	cache := NewCache(CacheOptions{IdleTime: time.Minute})
	o := fakeOpts()
	o.Cache = cache
	sendN(t, o, f.hop(), 1, nil)
	cache.SetTimeLimits(30*time.Millisecond, time.Minute)
	sendN(t, o, g.hop(), 1, nil) // parked with the short limit
	waitIdle(t, cache, 1)        // g's is QUIT, f's stays
	for i := 0; ; i++ {
		if _, _, _, _, q := g.snapshot(); q == 1 {
			break
		}
		if i == 500 {
			t.Fatal("expired connection not QUIT")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cache.Close()
	if _, _, _, _, q := f.snapshot(); q != 1 {
		t.Errorf("Close: %d QUITs, want 1", q)
	}
}
