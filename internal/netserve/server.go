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

// Limits are the most connections a Server takes at once, and what the
// client at hand may use of them. One class of clients must not be able to
// shut out the others: PerIP and PerNetwork stay well below Total, and
// Reserved slots of Total are kept for Trusted clients (mynetworks), so a
// flood from strangers cannot lock out the operator's own hosts.
type Limits struct {
	// Total is the most connections at once, from everybody.
	Total int
	// PerIP is the most from one client IP.
	PerIP int
	// PerNetwork is the most from one client network (see NetworkOf)
	// outside Trusted clients; 0 means no such limit.
	PerNetwork int
	// Reserved of Total are for Trusted clients only: others are refused
	// once Total-Reserved connections are open (at most Total-1 count).
	Reserved int
	// Trusted says the client at hand may use the reserved slots, and is
	// not counted against or held to PerNetwork.
	Trusted bool
}

// NetworkOf is the network a client IP is counted in for
// Limits.PerNetwork: its /24 for IPv4, its /64 for IPv6 (what one site or
// one host commonly holds).
func NetworkOf(ip netip.Addr) netip.Prefix {
	ip = ip.Unmap().WithZone("")
	bits := 64
	if ip.Is4() {
		bits = 24
	}
	p, err := ip.Prefix(bits)
	if err != nil {
		return netip.Prefix{}
	}
	return p
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
	conns     map[C]client // live connection -> who
	perIP     map[netip.Addr]int
	perNet    map[netip.Prefix]int // clients not Trusted when admitted

	refusing atomic.Int64 // goroutines telling over-limit clients so
}

// New returns a Server that logs accept errors to log and whose Serve
// returns closed once Close has been called.
func New[C comparable](log *slog.Logger, closed error) *Server[C] {
	return &Server[C]{
		log: log, closed: closed,
		listeners: map[net.Listener]struct{}{},
		conns:     map[C]client{},
		perIP:     map[netip.Addr]int{},
		perNet:    map[netip.Prefix]int{},
	}
}

// client is what a live connection counts against.
type client struct {
	ip  netip.Addr
	net netip.Prefix // zero when not counted per network (Trusted)
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
	cl := client{ip: ip}
	if !lim.Trusted && lim.PerNetwork > 0 {
		cl.net = NetworkOf(ip)
	}
	total := lim.Total
	if !lim.Trusted {
		// A reserve of all slots would shut everybody else out: at
		// least one stays open to all.
		total -= max(min(lim.Reserved, lim.Total-1), 0)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.closing:
		return c, Closing
	case len(s.conns) >= total || s.perIP[ip] >= lim.PerIP:
		return c, TooMany
	case cl.net.IsValid() && s.perNet[cl.net] >= lim.PerNetwork:
		return c, TooMany
	}
	c = newConn()
	s.conns[c] = cl
	s.perIP[ip]++
	if cl.net.IsValid() {
		s.perNet[cl.net]++
	}
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
	cl, ok := s.conns[c]
	if !ok {
		return
	}
	delete(s.conns, c)
	if s.perIP[cl.ip]--; s.perIP[cl.ip] <= 0 {
		delete(s.perIP, cl.ip)
	}
	if cl.net.IsValid() {
		if s.perNet[cl.net]--; s.perNet[cl.net] <= 0 {
			delete(s.perNet, cl.net)
		}
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

// Guard wraps l so that its Accept drops, at once and without a byte
// written, connections from clients blocked says are blocked, calling
// dropped for each (to log and count it); other connections and errors
// pass through. It runs on the accept goroutine before the protocol
// server sees the connection, so a blocked client gets no greeting and no
// TLS handshake and takes no connection slot. blocked must be cheap and
// safe for concurrent use; connections without an IP address pass.
func Guard(l net.Listener, blocked func(netip.Addr) (reason string, ok bool), dropped func(ip netip.Addr, reason string)) net.Listener {
	return &guarded{Listener: l, blocked: blocked, dropped: dropped}
}

type guarded struct {
	net.Listener
	blocked func(netip.Addr) (string, bool)
	dropped func(netip.Addr, string)
}

func (g *guarded) Accept() (net.Conn, error) {
	for {
		c, err := g.Listener.Accept()
		if err != nil {
			return nil, err
		}
		ip := AddrOf(c.RemoteAddr())
		if !ip.IsValid() {
			return c, nil
		}
		reason, ok := g.blocked(ip)
		if !ok {
			return c, nil
		}
		c.Close()
		if g.dropped != nil {
			g.dropped(ip, reason)
		}
	}
}
