package imapserver

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"mailwarden/internal/auth/login"
	"mailwarden/internal/config"
	"mailwarden/internal/store"
)

// Options configures a Server.
type Options struct {
	Config   func() *config.Config // current config; read per connection
	Auth     *login.Authenticator
	Store    *store.Store
	TLS      *tls.Config // nil: no STARTTLS (and Implicit is impossible)
	Logger   *slog.Logger
	Implicit bool // imaps (993): TLS from the first byte
}

// ErrServerClosed is returned by Serve after Shutdown.
var ErrServerClosed = errors.New("imapserver: server closed")

const (
	refuseTimeout = 2 * time.Second // to tell an over-limit client BYE
	maxRefusing   = 256             // over-limit connections being told at once
	pollInterval  = 20 * time.Millisecond
)

// Server is an IMAP (or IMAPS) service. One Server may Serve several
// listeners; connection limits count across all of them. Run the plain and
// the implicit-TLS service as two Servers sharing one Authenticator.
type Server struct {
	o      Options
	log    *slog.Logger
	ctx    context.Context // canceled when Shutdown gives up waiting
	cancel context.CancelFunc

	mu        sync.Mutex
	closing   bool
	listeners map[net.Listener]struct{}
	sessions  map[*session]struct{}
	perIP     map[netip.Addr]int

	refusing atomic.Int64
}

// New returns an IMAP server.
func New(o Options) *Server {
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if o.TLS != nil && !o.TLS.SessionTicketsDisabled {
		// TLS 1.3 session tickets arrive after the handshake, and
		// threaded clients (offlineimap's imaplib2) read them on one
		// thread while writing the first command on another, which
		// OpenSSL does not allow: the command is lost now and then.
		// IMAP connections are long-lived, so resumption buys little.
		o.TLS = o.TLS.Clone()
		o.TLS.SessionTicketsDisabled = true
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Server{
		o: o, log: log, ctx: ctx, cancel: cancel,
		listeners: map[net.Listener]struct{}{},
		sessions:  map[*session]struct{}{},
		perIP:     map[netip.Addr]int{},
	}
}

// Serve accepts on l until Shutdown, which makes it return nil.
func (s *Server) Serve(l net.Listener) error {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		l.Close()
		return ErrServerClosed
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
			if s.isClosing() {
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
		s.accept(raw)
	}
}

func (s *Server) isClosing() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closing
}

// accept applies imap.max_connections and imap.max_connections_per_ip,
// then runs the session in its own goroutine.
func (s *Server) accept(raw net.Conn) {
	cfg := s.o.Config()
	ip := addrOf(raw.RemoteAddr())
	var sess *session
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		raw.Close()
		return
	}
	over := len(s.sessions) >= cfg.IMAP.MaxConnections || s.perIP[ip] >= cfg.IMAP.MaxConnectionsPerIP
	if !over {
		sess = newSession(s, cfg, raw, ip)
		s.sessions[sess] = struct{}{}
		s.perIP[ip]++
	}
	s.mu.Unlock()
	if over {
		s.log.Warn("imap-login: Disconnected: Too many connections: rip=" + ipString(ip))
		s.refuse(raw)
		return
	}
	go sess.run()
}

// refuse tells an over-limit client so without blocking the accept loop.
// With implicit TLS a plaintext reply would be garbage; just close.
func (s *Server) refuse(raw net.Conn) {
	if s.o.Implicit {
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
		if _, err := io.WriteString(raw, "* BYE [UNAVAILABLE] Too many connections, try again later.\r\n"); err != nil {
			return
		}
		if hc, ok := raw.(interface{ CloseWrite() error }); ok {
			hc.CloseWrite()
			io.Copy(io.Discard, io.LimitReader(raw, 4096))
		}
	}()
}

// release forgets a finished session.
func (s *Server) release(sess *session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.sessions[sess]; !ok {
		return
	}
	delete(s.sessions, sess)
	if s.perIP[sess.ip]--; s.perIP[sess.ip] <= 0 {
		delete(s.perIP, sess.ip)
	}
}

// Shutdown stops accepting and ends sessions: those waiting for a command
// (or in IDLE) are sent "* BYE Server shutting down." at once; a command
// in progress may finish. When ctx ends first, the rest are closed.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closing = true
	for l := range s.listeners {
		l.Close()
	}
	sessions := s.snapshot()
	s.mu.Unlock()
	for _, sess := range sessions {
		sess.drain()
	}
	t := time.NewTicker(pollInterval)
	defer t.Stop()
	for !s.idle() {
		select {
		case <-ctx.Done():
			s.mu.Lock()
			sessions := s.snapshot()
			s.mu.Unlock()
			for _, sess := range sessions {
				sess.raw.Close()
			}
			s.cancel()
			return ctx.Err()
		case <-t.C:
		}
	}
	s.cancel()
	return nil
}

func (s *Server) snapshot() []*session {
	out := make([]*session, 0, len(s.sessions))
	for sess := range s.sessions {
		out = append(out, sess)
	}
	return out
}

func (s *Server) idle() bool {
	s.mu.Lock()
	n := len(s.sessions)
	s.mu.Unlock()
	return n == 0 && s.refusing.Load() == 0
}

// addrOf is a connection end's IP, unmapped; invalid when not IP.
func addrOf(a net.Addr) netip.Addr {
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

func ipString(ip netip.Addr) string {
	if !ip.IsValid() {
		return "unknown"
	}
	return ip.String()
}
