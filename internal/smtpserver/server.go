package smtpserver

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"mailwarden/internal/event"
	"net"
	"net/netip"
	"sync/atomic"
	"time"

	"mailwarden/internal/auth/login"
	"mailwarden/internal/config"
	"mailwarden/internal/delivery"
	"mailwarden/internal/directory"
	"mailwarden/internal/dnsx"
	"mailwarden/internal/msgauth"
	"mailwarden/internal/netserve"
	"mailwarden/internal/policy"
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

// ReverseResolver is what the client-name lookup needs of dnsx.Resolver.
type ReverseResolver interface {
	LookupPTR(ctx context.Context, ip netip.Addr) ([]string, error)
	LookupIP(ctx context.Context, host string) ([]netip.Addr, error)
}

// Options configures a Server.
type Options struct {
	Config    func() *config.Config // current config; reloaded on SIGHUP, read it per session
	Resolver  Resolver
	Deliverer Deliverer
	TLS       *tls.Config // nil: no STARTTLS; required for Submissions
	Logger    *slog.Logger
	// Events receives the typed mail events (connect, reject, client=,
	// from=, disconnect ...); nil drops them.
	Events   event.Publisher
	SpoolDir string // for envelope.NewSpool temp files

	// Mode is the service: MX (the zero value), Submission or Submissions.
	Mode Mode
	// Auth checks AUTH passwords; required for Submission and
	// Submissions, unused by MX.
	Auth *login.Authenticator
	// DNS looks up the client's reverse name at connect (PTR, then A/AAAA
	// to confirm it, as Postfix does); nil leaves every client "unknown".
	DNS ReverseResolver
	// Lists returns the restriction lists for a config; nil means
	// policy.Defaults for the Mode.
	Lists func(cfg *config.Config) *policy.Lists
	// Restrictions are named restrictions from other packages
	// (check_greylist ...), handed to policy.Build as Deps.Restrictions.
	Restrictions map[string]policy.Factory
	// MsgAuth returns the message authentication (DKIM, DMARC, ARC ...)
	// of a config; nil: none. It may return an error with the Auth of
	// the previous config, which is then used.
	MsgAuth func(cfg *config.Config) (*msgauth.Auth, error)
	// Limiter applies the per-client rate limits and remembers clients
	// that talked before the greeting (limits.go); nil: none.
	Limiter Limiter
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
	disk   diskCheck

	lists atomic.Pointer[listsFor] // built once per config
	// dnsCache keeps DNS list answers across connections and reloads.
	dnsCache *policy.DNSCache
	spfDNS   dnsx.RRLookup // SPF's lookups, cached (spf.go)

	inflight atomic.Int64 // messages being received or delivered
}

// listsFor caches the restriction lists of one config.
type listsFor struct {
	cfg   *config.Config
	lists *policy.Lists
}

// New returns a server for o.Mode.
func New(o Options) *Server {
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Server{o: o, log: log, mode: o.Mode, ctx: ctx, cancel: cancel, ns: netserve.New[*conn](log, ErrServerClosed),
		dnsCache: policy.NewDNSCache(0), spfDNS: spfLookup(o.DNS)}
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

// listsOf returns the restriction lists for cfg, built once per config.
func (s *Server) listsOf(cfg *config.Config) *policy.Lists {
	if lf := s.lists.Load(); lf != nil && lf.cfg == cfg {
		return lf.lists
	}
	var ls *policy.Lists
	if s.o.Lists != nil {
		ls = s.o.Lists(cfg)
	} else {
		var err error
		if ls, err = policy.Build(s.mode.service(), cfg, s.deps(cfg)); err != nil {
			// The config was checked when it was loaded; keep serving
			// with the built-in lists rather than none.
			s.log.Error("restrictions: " + err.Error() + "; using the built-in lists")
			ls = policy.Defaults(s.mode.service(), cfg, s.deps(cfg))
		}
	}
	s.lists.Store(&listsFor{cfg: cfg, lists: ls})
	return ls
}

// deps gives the built-in checks the server's lookups.
func (s *Server) deps(cfg *config.Config) policy.Deps {
	return policy.Deps{
		Resolve: func(ctx context.Context, addr string) (directory.Resolution, error) {
			return s.o.Resolver.Resolve(ctx, addr, cfg.RecipientDelimiter)
		},
		QuotaFull: func(ctx context.Context, m directory.Mailbox, size int64) (bool, error) {
			err := s.o.Deliverer.CheckQuota(ctx, m, size)
			if errors.Is(err, delivery.ErrOverQuota) {
				return true, nil
			}
			return false, err
		},
		Log:          s.log,
		Restrictions: s.o.Restrictions,
		DNS:          s.dns(),
		DNSCache:     s.dnsCache,
	}
}

// dns is the resolver of the DNS-based restrictions: Options.DNS when it
// has their lookups (dnsx.New's resolver does), else nil.
func (s *Server) dns() policy.DNS {
	if d, ok := s.o.DNS.(policy.DNS); ok {
		return d
	}
	return nil
}

// accept applies the connection limits (Postfix anvil's
// smtpd_client_connection_count_limit and the process limit), then starts
// the session.
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
		s.pub(&event.TooManyConnections{Program: s.mode.program(), Client: c.peer(), Limit: lim.PerIP})
		reply := "421 4.7.0 " + cfg.Hostname + " Error: too many connections from " + ip.String() + "\r\n"
		if s.mode == Submissions {
			reply = "" // plaintext would be garbage to a TLS client
		}
		s.ns.Refuse(raw, reply)
		return
	}
	go c.serve()
}

// Shutdown stops accepting, lets sessions finish until ctx ends, then closes
// them. Sessions between transactions are told 421 at once; a transaction
// in progress may complete first.
func (s *Server) Shutdown(ctx context.Context) error {
	conns := s.ns.Close()
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

// pub publishes a mail event when Options.Events is set.
func (s *Server) pub(ev event.Event) {
	if s.o.Events != nil {
		s.o.Events.Publish(ev)
	}
}
