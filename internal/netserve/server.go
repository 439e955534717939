package netserve

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

const (
	refuseTimeout = 2 * time.Second // to tell an over-limit client so
	maxRefusing   = 256             // over-limit connections being told at once
	pollInterval  = 20 * time.Millisecond
)

// Limits are the most connections a Server takes at once, in total and
// from one client IP.
type Limits struct {
	Total, PerIP int
}

// Result is what Admit did with a connection.
type Result int

const (
	Admitted Result = iota // counted and tracked: serve it
	Closing                // the server is shutting down: close it
	TooMany                // over a limit: log it and Refuse it
)

// Server accepts connections for a protocol server and tracks them. C is
// the protocol server's own connection or session type. One Server may
// Serve several listeners; the limits count across all of them.
type Server[C comparable] struct {
	log    *slog.Logger
	closed error

	mu        sync.Mutex
	closing   bool
	listeners map[net.Listener]struct{}
	conns     map[C]netip.Addr // live connection -> client IP
	perIP     map[netip.Addr]int

	refusing atomic.Int64 // goroutines telling over-limit clients so
}

// New returns a Server that logs accept errors to log and whose Serve
// returns closed once Close has been called.
func New[C comparable](log *slog.Logger, closed error) *Server[C] {
	return &Server[C]{
		log: log, closed: closed,
		listeners: map[net.Listener]struct{}{},
		conns:     map[C]netip.Addr{},
		perIP:     map[netip.Addr]int{},
	}
}

// Serve accepts on l and hands each connection to handle, on the accept
// goroutine, until Close, which makes it return nil. Called after Close,
// it closes l and returns the closed error given to New.
func (s *Server[C]) Serve(l net.Listener, handle func(net.Conn)) error {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		l.Close()
		return s.closed
	}
	s.listeners[l] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.listeners, l)
		s.mu.Unlock()
	}()
	var delay time.Duration
	for {
		raw, err := l.Accept()
		if err != nil {
			if s.Closing() {
				return nil
			}
			if errors.Is(err, net.ErrClosed) {
				return err
			}
			// EMFILE and friends: back off as net/http does.
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			s.log.Warn("accept: " + err.Error() + "; retrying in " + delay.String())
			time.Sleep(delay)
			continue
		}
		delay = 0
		handle(raw)
	}
}

// Closing reports whether Close has been called.
func (s *Server[C]) Closing() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closing
}

// Admit counts and tracks a new connection from ip, made by newConn, when
// the server is not closing and lim leaves room for it. newConn runs only
// then, under the Server's lock. The connection is returned when Admitted;
// Release gives its slot back.
func (s *Server[C]) Admit(ip netip.Addr, lim Limits, newConn func() C) (C, Result) {
	var c C
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.closing:
		return c, Closing
	case len(s.conns) >= lim.Total || s.perIP[ip] >= lim.PerIP:
		return c, TooMany
	}
	c = newConn()
	s.conns[c] = ip
	s.perIP[ip]++
	return c, Admitted
}

// Refuse tells an over-limit client reply and closes the connection,
// without holding up the accept loop. An empty reply (implicit TLS, where
// plaintext would be garbage) just closes it, as do too many refusals at
// once.
func (s *Server[C]) Refuse(raw net.Conn, reply string) {
	if reply == "" {
		raw.Close()
		return
	}
	if s.refusing.Add(1) > maxRefusing {
		s.refusing.Add(-1)
		raw.Close()
		return
	}
	go func() {
		defer s.refusing.Add(-1)
		defer raw.Close()
		raw.SetDeadline(time.Now().Add(refuseTimeout))
		if _, err := io.WriteString(raw, reply); err != nil {
			return
		}
		// Half-close and drain a little so the reply is not lost to a reset.
		if hc, ok := raw.(interface{ CloseWrite() error }); ok {
			hc.CloseWrite()
			io.Copy(io.Discard, io.LimitReader(raw, 4096))
		}
	}()
}

// Release forgets a finished connection and frees its slot; a second call
// does nothing.
func (s *Server[C]) Release(c C) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ip, ok := s.conns[c]
	if !ok {
		return
	}
	delete(s.conns, c)
	if s.perIP[ip]--; s.perIP[ip] <= 0 {
		delete(s.perIP, ip)
	}
}

// Close stops accepting: it closes the listeners, makes Serve return and
// Admit answer Closing from now on. It returns the live connections, for
// the caller to drain.
func (s *Server[C]) Close() []C {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closing = true
	for l := range s.listeners {
		l.Close()
	}
	return s.snapshotLocked()
}

// Wait waits until no connection is left, none is being refused, and busy
// (when not nil) reports false. When ctx ends first, it calls kill on
// each connection left and returns ctx.Err().
func (s *Server[C]) Wait(ctx context.Context, kill func(C), busy func() bool) error {
	t := time.NewTicker(pollInterval)
	defer t.Stop()
	for !s.Idle() || busy != nil && busy() {
		select {
		case <-ctx.Done():
			s.mu.Lock()
			conns := s.snapshotLocked()
			s.mu.Unlock()
			for _, c := range conns {
				kill(c)
			}
			return ctx.Err()
		case <-t.C:
		}
	}
	return nil
}

// Idle reports whether no connection is live and none is being refused.
func (s *Server[C]) Idle() bool {
	s.mu.Lock()
	n := len(s.conns)
	s.mu.Unlock()
	return n == 0 && s.refusing.Load() == 0
}

func (s *Server[C]) snapshotLocked() []C {
	out := make([]C, 0, len(s.conns))
	for c := range s.conns {
		out = append(out, c)
	}
	return out
}

// AddrOf is a connection end's IP, unmapped; invalid when not IP.
func AddrOf(a net.Addr) netip.Addr {
	if t, ok := a.(*net.TCPAddr); ok {
		ip, _ := netip.AddrFromSlice(t.IP)
		return ip.Unmap()
	}
	if a == nil {
		return netip.Addr{}
	}
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}
