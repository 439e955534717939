package queue

import (
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"mailwarden/internal/config"
)

// countingBackend counts a sink's connections and their ends.
type countingBackend struct {
	*sink
	conns, logouts atomic.Int32
}

func (b *countingBackend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	b.conns.Add(1)
	s, err := b.sink.NewSession(c)
	return &countedSession{Session: s, b: b}, err
}

type countedSession struct {
	smtp.Session
	b *countingBackend
}

func (s *countedSession) Logout() error {
	s.b.logouts.Add(1)
	return s.Session.Logout()
}

func TestRunnerReusesConnections(t *testing.T) {
	tests := []struct {
		name  string
		idle  time.Duration // connection_cache_time_limit
		conns int32
	}{
		{"cache on", 2 * time.Second, 1},
		{"cache off", 0, 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			b := &countingBackend{sink: e.sink}
			ln, err := net.Listen("tcp", "127.0.0.2:0")
			if err != nil {
				t.Fatal(err)
			}
			srv := smtp.NewServer(b)
			srv.Domain = "mx.example.net"
			srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
			go func() { _ = srv.Serve(ln) }()
			t.Cleanup(func() { _ = srv.Close() })
			e.cfg.Outbound.SMTPPort = ln.Addr().(*net.TCPAddr).Port
			e.cfg.Outbound.ConnectionCacheTimeLimit = config.Duration(tt.idle)

			o := e.options()
			o.DestinationConcurrency = 1 // one message after the other
			r := e.start(t, o)
			for range 5 {
				enqueue(t, e.q, "a@sender.test", time.Now(), "b@example.net")
			}
			waitFor(t, "queue empty", func() bool { return len(entries(t, e.q)) == 0 })
			if n := len(e.sink.messages()); n != 5 {
				t.Errorf("sink got %d messages, want 5", n)
			}
			if n := b.conns.Load(); n != tt.conns {
				t.Errorf("%d connections, want %d", n, tt.conns)
			}
			r.closeConnections()
			waitFor(t, "connections closed", func() bool { return b.logouts.Load() == b.conns.Load() })
		})
	}
}
