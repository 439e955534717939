package imapserver

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"mailwarden/internal/event"
	"net"

	"mailwarden/internal/auth/login"
	"mailwarden/internal/config"
	"mailwarden/internal/directory"
	"mailwarden/internal/netserve"
	"mailwarden/internal/sessions"
	"mailwarden/internal/store"
)

// Options configures a Server.
type Options struct {
	Config func() *config.Config // current config; read per connection
	Auth   *login.Authenticator
	Store  *store.Store
	// Directory finds the owners of the folders other users share (the
	// "Other Users/" namespace); nil leaves that namespace empty.
	Directory *directory.Directory
	TLS       *tls.Config // nil: no STARTTLS (and Implicit is impossible)
	Logger    *slog.Logger
	// Events receives the typed mail events (logins, disconnects); nil
	// drops them.
	Events   event.Publisher
	Implicit bool // imaps (993): TLS from the first byte
	// Sessions registers logged-in sessions for `mailwarden who` and
	// `kick`; nil registers none.
	Sessions *sessions.Registry
}

// ErrServerClosed is returned by Serve after Shutdown.
var ErrServerClosed = errors.New("imapserver: server closed")

// Server is an IMAP (or IMAPS) service. One Server may Serve several
// listeners; connection limits count across all of them. Run the plain and
// the implicit-TLS service as two Servers sharing one Authenticator.
type Server struct {
	o      Options
	log    *slog.Logger
	ctx    context.Context // canceled when Shutdown gives up waiting
	cancel context.CancelFunc
	ns     *netserve.Server[*session]
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
	return &Server{o: o, log: log, ctx: ctx, cancel: cancel, ns: netserve.New[*session](log, ErrServerClosed)}
}

// Serve accepts on l until Shutdown, which makes it return nil.
func (s *Server) Serve(l net.Listener) error { return s.ns.Serve(l, s.accept) }

// accept applies imap.max_connections and imap.max_connections_per_ip,
// then runs the session in its own goroutine.
func (s *Server) accept(raw net.Conn) {
	cfg := s.o.Config()
	ip := netserve.AddrOf(raw.RemoteAddr())
	lim := netserve.Limits{Total: cfg.IMAP.MaxConnections, PerIP: cfg.IMAP.MaxConnectionsPerIP,
		PerNetwork: cfg.IMAP.MaxConnectionsPerNetwork, Reserved: cfg.IMAP.ReservedConnections, Trusted: cfg.InMyNetworks(ip)}
	sess, res := s.ns.Admit(ip, lim, func() *session { return newSession(s, cfg, raw, ip) })
	switch res {
	case netserve.Closing:
		raw.Close()
	case netserve.TooMany:
		s.pub(&event.TooManyConnections{Program: event.IMAPLogin, Client: event.Peer{IP: ip}, Limit: lim.PerIP})
		// With implicit TLS a plaintext reply would be garbage; just close.
		reply := "* BYE [UNAVAILABLE] Too many connections, try again later.\r\n"
		if s.o.Implicit {
			reply = ""
		}
		s.ns.Refuse(raw, reply)
	default:
		s.pub(&event.Connect{Program: event.IMAPLogin, Client: event.Peer{IP: ip}})
		go sess.run()
	}
}

// Shutdown stops accepting and ends sessions: those waiting for a command
// (or in IDLE) are sent "* BYE Server shutting down." at once; a command
// in progress may finish. When ctx ends first, the rest are closed.
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
