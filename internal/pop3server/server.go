package pop3server

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"mailwarden/internal/event"
	"net"
	"sync"

	"mailwarden/internal/auth/login"
	"mailwarden/internal/config"
	"mailwarden/internal/netserve"
	"mailwarden/internal/sessions"
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
	Config func() *config.Config // current config; read per connection
	Auth   *login.Authenticator
	Store  Mailstore
	TLS    *tls.Config // nil: no STLS (and Implicit is impossible)
	Logger *slog.Logger
	// Events receives the typed mail events (logins, disconnects); nil
	// drops them.
	Events   event.Publisher
	Implicit bool // pop3s (995): TLS from the first byte
	// Sessions registers logged-in sessions for `mailwarden who` and
	// `kick`; nil registers none.
	Sessions *sessions.Registry
}

// ErrServerClosed is returned by Serve after Shutdown.
var ErrServerClosed = errors.New("pop3server: server closed")

// Server is a POP3 (or POP3S) service. One Server may Serve several
// listeners; connection limits count across all of them. Run the plain and
// the implicit-TLS service as two Servers sharing one Authenticator.
type Server struct {
	o      Options
	log    *slog.Logger
	ctx    context.Context // canceled when Shutdown gives up waiting
	cancel context.CancelFunc
	ns     *netserve.Server[*session]
}

// New returns a POP3 server.
func New(o Options) *Server {
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Server{o: o, log: log, ctx: ctx, cancel: cancel, ns: netserve.New[*session](log, ErrServerClosed)}
}

// Serve accepts on l until Shutdown, which makes it return nil.
func (s *Server) Serve(l net.Listener) error { return s.ns.Serve(l, s.accept) }

// accept applies pop3.max_connections and pop3.max_connections_per_ip,
// then runs the session in its own goroutine.
func (s *Server) accept(raw net.Conn) {
	cfg := s.o.Config()
	ip := netserve.AddrOf(raw.RemoteAddr())
	lim := netserve.Limits{Total: cfg.POP3.MaxConnections, PerIP: cfg.POP3.MaxConnectionsPerIP,
		PerNetwork: cfg.POP3.MaxConnectionsPerNetwork, Reserved: cfg.POP3.ReservedConnections, Trusted: cfg.InMyNetworks(ip)}
	sess, res := s.ns.Admit(ip, lim, func() *session { return newSession(s, cfg, raw, ip) })
	switch res {
	case netserve.Closing:
		raw.Close()
	case netserve.TooMany:
		s.pub(&event.TooManyConnections{Program: event.POP3Login, Client: event.Peer{IP: ip}, Limit: lim.PerIP})
		// With implicit TLS a plaintext reply would be garbage; just close.
		reply := "-ERR [SYS/TEMP] Too many connections, try again later.\r\n"
		if s.o.Implicit {
			reply = ""
		}
		s.ns.Refuse(raw, reply)
	default:
		s.pub(&event.Connect{Program: event.POP3Login, Client: event.Peer{IP: ip}})
		go sess.run()
	}
}

// release gives up a finished session's mailbox lock and then its
// connection slot. It runs on the session's goroutine, after the session
// is done with sess.locked.
func (s *Server) release(sess *session) {
	unlock(sess.locked, sess)
	s.ns.Release(sess)
	s.o.Sessions.Remove(&sess.reg)
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
	for _, sess := range s.ns.Close() {
		sess.dr.Start(sess.raw)
	}
	err := s.ns.Wait(ctx, func(sess *session) { sess.raw.Close() }, nil)
	s.cancel()
	return err
}

// pub publishes a mail event when Options.Events is set.
func (s *Server) pub(ev event.Event) {
	if s.o.Events != nil {
		s.o.Events.Publish(ev)
	}
}
