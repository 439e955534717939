package smtpserver

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-smtp"

	"mailwarden/internal/auth/login"
	"mailwarden/internal/config"
	"mailwarden/internal/delivery"
	"mailwarden/internal/directory"
	"mailwarden/internal/netserve"
)

// Resolver finds where a recipient goes (directory.Directory implements it).
type Resolver interface {
	Resolve(ctx context.Context, addr, delims string) (directory.Resolution, error)
}

// Deliverer takes accepted mail.
type Deliverer interface {
	// CheckQuota returns an error wrapping delivery.ErrOverQuota when m cannot take size more bytes (size 0: is it already full?).
	CheckQuota(ctx context.Context, m directory.Mailbox, size int64) error
	// Deliver makes every copy durable (local Maildir and/or queue) before returning nil.
	Deliver(ctx context.Context, msg *delivery.Message) error
}

// Options configures a Server.
type Options struct {
	Config    func() *config.Config // current config; reloaded on SIGHUP, read it per session
	Resolver  Resolver
	Deliverer Deliverer
	TLS       *tls.Config // nil: no STARTTLS; required for Submissions
	Logger    *slog.Logger
	SpoolDir  string // for envelope.NewSpool temp files

	// Mode is the service: MX (the zero value), Submission or Submissions.
	Mode Mode
	// Auth checks AUTH PLAIN/LOGIN passwords; required for Submission and
	// Submissions, unused by MX.
	Auth *login.Authenticator
}

// check reports options a Server cannot run with.
func (o *Options) check() error {
	switch {
	case o.Mode.submit() && o.Auth == nil:
		return errors.New("smtpserver: " + o.Mode.service() + " needs Options.Auth")
	case o.Mode == Submissions && o.TLS == nil:
		return errors.New("smtpserver: submissions needs Options.TLS")
	}
	return nil
}

// ErrServerClosed is returned by Serve after Shutdown.
var ErrServerClosed = errors.New("smtpserver: server closed")

const (
	pollInterval = 20 * time.Millisecond
	abortGrace   = 5 * time.Second // for deliveries after a forced shutdown
)

// Server is one SMTP service (Options.Mode). One Server may Serve several
// listeners; the connection limits count across all of them.
type Server struct {
	o      Options
	log    *slog.Logger
	mode   Mode
	ctx    context.Context // canceled when Shutdown gives up waiting
	cancel context.CancelFunc
	ns     *netserve.Server[*conn]

	mu  sync.Mutex
	gen *generation // for new connections; nil before the first and after Shutdown

	inflight atomic.Int64 // Data calls running
}

// New returns a server for o.Mode.
func New(o Options) *Server {
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Server{o: o, log: log, mode: o.Mode, ctx: ctx, cancel: cancel, ns: netserve.New[*conn](log, ErrServerClosed)}
}

// Serve accepts on l until Shutdown. One Server may Serve several listeners.
// It closes l and returns an error at once when the Options do not fit the
// Mode (no Auth for submission, no TLS for submissions).
func (s *Server) Serve(l net.Listener) error {
	if err := s.o.check(); err != nil {
		l.Close()
		return err
	}
	return s.ns.Serve(l, s.accept)
}

// accept applies the connection limits (Postfix anvil's
// smtpd_client_connection_count_limit and the process limit), then hands
// the connection to go-smtp.
func (s *Server) accept(raw net.Conn) {
	cfg := s.o.Config()
	ip := netserve.AddrOf(raw.RemoteAddr())
	if s.mode == Pickup { // a unix socket or pipe: no IP; limits count it as loopback
		ip = netip.AddrFrom4([4]byte{127, 0, 0, 1})
	}
	c := newConn(raw, s, cfg, ip)
	lim := netserve.Limits{Total: cfg.SMTP.MaxConnections, PerIP: cfg.SMTP.MaxConnectionsPerIP,
		PerNetwork: cfg.SMTP.MaxConnectionsPerNetwork, Reserved: cfg.SMTP.ReservedConnections, Trusted: cfg.InMyNetworks(ip)}
	switch _, res := s.ns.Admit(ip, lim, func() *conn { return c }); res {
	case netserve.Closing:
		raw.Close()
		return
	case netserve.TooMany:
		s.log.Warn("too many connections from " + c.client)
		reply := "421 4.7.0 " + cfg.Hostname + " Error: too many connections from " + ip.String() + "\r\n"
		if s.mode == Submissions {
			reply = "" // plaintext would be garbage to a TLS client
		}
		s.ns.Refuse(raw, reply)
		return
	}
	s.log.Info("connect from " + c.client)
	var nc net.Conn = c
	if s.mode == Submissions {
		// RFC 8314 3.3: TLS from the first byte; go-smtp does the
		// handshake under its read timeout before the greeting.
		nc = tls.Server(c, s.o.TLS)
	}
	for {
		g := s.generation(cfg)
		if g == nil {
			c.forceClose()
			return
		}
		select {
		case g.ln.ch <- nc:
			return
		case <-g.ln.done: // retired by a reload or shutdown: ask again
		}
	}
}

// Shutdown stops accepting, lets sessions finish until ctx ends, then closes
// them. Sessions between transactions are told 421 at once; a transaction
// in progress may complete first.
func (s *Server) Shutdown(ctx context.Context) error {
	conns := s.ns.Close()
	s.mu.Lock()
	if s.gen != nil {
		s.gen.ln.Close()
		s.gen = nil
	}
	s.mu.Unlock()
	for _, c := range conns {
		c.drain()
	}
	err := s.ns.Wait(ctx, (*conn).forceClose, func() bool { return s.inflight.Load() > 0 })
	s.cancel()
	if err != nil {
		deadline := time.Now().Add(abortGrace)
		for s.inflight.Load() > 0 && time.Now().Before(deadline) {
			time.Sleep(pollInterval)
		}
	}
	return err
}

// A generation is one go-smtp server built from one config. go-smtp reads
// its limits from shared fields, so a reload starts a new generation for
// new connections instead of changing fields under running sessions.
type generation struct {
	cfg *config.Config
	srv *smtp.Server
	ln  *handoff
}

// generation returns the go-smtp server for cfg, nil after Shutdown.
func (s *Server) generation(cfg *config.Config) *generation {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ns.Closing() {
		return nil
	}
	if s.gen != nil && s.gen.cfg == cfg {
		return s.gen
	}
	if s.gen != nil {
		s.gen.ln.Close() // its sessions go on; it takes no new ones
	}
	srv := smtp.NewServer(backend{s})
	srv.Domain = cfg.Hostname
	srv.MaxMessageBytes = int64(cfg.SMTP.MessageSizeLimit)
	srv.MaxRecipients = cfg.SMTP.MaxRecipients
	srv.MaxLineLength = cfg.SMTP.MaxLineLength
	srv.ReadTimeout = cfg.SMTP.Timeout.D()
	srv.WriteTimeout = cfg.SMTP.Timeout.D()
	srv.TLSConfig = s.o.TLS
	srv.EnableSMTPUTF8 = true
	// RFC 3461: NOTIFY, ORCPT, RET and ENVID are kept with the message and
	// honoured by the queue's delivery status notifications.
	srv.EnableDSN = true
	// Submission sessions decide themselves whether AUTH may be offered
	// without TLS (login.PlaintextAllowed); MX sessions never offer it.
	srv.AllowInsecureAuth = s.mode.submit()
	srv.ErrorLog = errorLog{s.log}
	g := &generation{cfg: cfg, srv: srv, ln: &handoff{ch: make(chan net.Conn), done: make(chan struct{})}}
	s.gen = g
	go srv.Serve(g.ln) // returns when g.ln is closed
	return g
}

// handoff is the net.Listener a generation's go-smtp server accepts from.
type handoff struct {
	ch   chan net.Conn
	done chan struct{}
	once sync.Once
}

func (h *handoff) Accept() (net.Conn, error) {
	select {
	case c := <-h.ch:
		return c, nil
	case <-h.done:
		return nil, net.ErrClosed
	}
}

func (h *handoff) Close() error {
	h.once.Do(func() { close(h.done) })
	return nil
}

func (h *handoff) Addr() net.Addr { return &net.TCPAddr{} }

// backend creates go-smtp sessions.
type backend struct{ s *Server }

func (b backend) NewSession(sc *smtp.Conn) (smtp.Session, error) {
	c := connOf(sc)
	if c == nil {
		return nil, &smtp.SMTPError{Code: 421, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "Error: internal error"}
	}
	return c.newSession(sc)
}

// errorLog sends go-smtp's own messages (connection errors, panics) to slog.
type errorLog struct{ l *slog.Logger }

func (e errorLog) Printf(format string, v ...any) { e.log(fmt.Sprintf(format, v...)) }
func (e errorLog) Println(v ...any)               { e.log(strings.TrimSuffix(fmt.Sprintln(v...), "\n")) }

func (e errorLog) log(msg string) {
	if strings.Contains(msg, "panic") {
		e.l.Error(msg)
		return
	}
	e.l.Debug(msg)
}
