package pop3server

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
)

// Msg is one message of INBOX as POP3 sees it.
type Msg struct {
	UID  int64
	Size int64 // octets as sent by RETR: the file, which is stored with CRLF
	// File is the store's own reference (store.Msg.File); the server only
	// hands it back to Open.
	File string
}

// Mailstore is what the server needs of the mailbox store.
type Mailstore interface {
	// Inbox returns the messages of INBOX in UID order, and INBOX's
	// UIDVALIDITY.
	Inbox(ctx context.Context, username, maildir string) (msgs []Msg, uidValidity int64, err error)
	// Open returns the message's content; an error wrapping fs.ErrNotExist
	// means it was expunged meanwhile.
	Open(ctx context.Context, username, maildir string, m Msg) (io.ReadCloser, error)
	// Expunge removes these UIDs of INBOX (at QUIT in UPDATE state).
	Expunge(ctx context.Context, username, maildir string, uids []int64) error
	// MarkSeen sets \Seen on retrieved messages (Dovecot does this for
	// POP3 RETR).
	MarkSeen(ctx context.Context, username, maildir string, uids []int64) error
}

// Options configures a Server.
type Options struct {
	Config   func() *config.Config // current config; read per connection
	Auth     *login.Authenticator
	Store    Mailstore
	TLS      *tls.Config // nil: no STLS (and Implicit is impossible)
	Logger   *slog.Logger
	Implicit bool // pop3s (995): TLS from the first byte
}

// ErrServerClosed is returned by Serve after Shutdown.
var ErrServerClosed = errors.New("pop3server: server closed")

const (
	refuseTimeout = 2 * time.Second // to tell an over-limit client -ERR
	maxRefusing   = 256             // over-limit connections being told at once
	pollInterval  = 20 * time.Millisecond
)

// Server is a POP3 (or POP3S) service. One Server may Serve several
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

// New returns a POP3 server.
func New(o Options) *Server {
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
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

// accept applies pop3.max_connections and pop3.max_connections_per_ip,
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
	over := len(s.sessions) >= cfg.POP3.MaxConnections || s.perIP[ip] >= cfg.POP3.MaxConnectionsPerIP
	if !over {
		sess = newSession(s, cfg, raw, ip)
		s.sessions[sess] = struct{}{}
		s.perIP[ip]++
	}
	s.mu.Unlock()
	if over {
		s.log.Warn("pop3-login: Disconnected: Too many connections: rip=" + ipString(ip))
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
		if _, err := io.WriteString(raw, "-ERR [SYS/TEMP] Too many connections, try again later.\r\n"); err != nil {
			return
		}
		if hc, ok := raw.(interface{ CloseWrite() error }); ok {
			hc.CloseWrite()
			io.Copy(io.Discard, io.LimitReader(raw, 4096))
		}
	}()
}

// release forgets a finished session and its mailbox lock. It runs on the
// session's goroutine, after the session is done with sess.locked.
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
	unlock(sess.locked, sess)
}

// locks are the POP3 mailbox locks of this process, shared by all Servers
// so a mailbox open over POP3 on 110 is also [IN-USE] on 995. The lock is
// in process memory: nodes sharing a store do not see each other's.
var locks = struct {
	mu sync.Mutex
	m  map[string]*session // mailbox username -> holder
}{m: map[string]*session{}}

// lock takes the mailbox lock of username for sess; false if another
// session holds it.
func lock(username string, sess *session) bool {
	locks.mu.Lock()
	defer locks.mu.Unlock()
	if h, ok := locks.m[username]; ok && h != sess {
		return false
	}
	locks.m[username] = sess
	return true
}

// unlock gives up sess's lock of username, if it holds it.
func unlock(username string, sess *session) {
	locks.mu.Lock()
	defer locks.mu.Unlock()
	if locks.m[username] == sess {
		delete(locks.m, username)
	}
}

// Shutdown stops accepting and ends sessions: those waiting for a command
// are told "-ERR Server shutting down." at once (without the UPDATE state,
// so nothing is deleted); a command in progress (a RETR, the updates after
// QUIT) may finish. When ctx ends first, the rest are closed.
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
