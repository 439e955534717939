package smtpclient

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"strconv"
	"time"

	"mailwarden/internal/dnsx"
)

// Options are the client's settings (Postfix smtp_*).
type Options struct {
	// Resolver finds MX hosts and addresses. Required unless every hop is
	// an IP literal or a unix socket.
	Resolver dnsx.Resolver
	// Port is the port MX hosts are contacted on; 0 means 25.
	Port int
	// HeloName is sent in EHLO/LHLO; empty means the host name.
	HeloName string
	// ConnectTimeout bounds connecting (0: 30s); CommandTimeout bounds
	// each command's reply (0: 5m; twice that for the reply to the final
	// dot).
	ConnectTimeout, CommandTimeout time.Duration
	// TLS is "none", "may" (opportunistic, the default when empty),
	// "encrypt" (required, unverified) or "verify" (required, certificate
	// verified for the MX host name against RootCAs).
	TLS string
	// RootCAs verifies certificates at level "verify"; nil means the
	// system's pool.
	RootCAs *x509.CertPool
	// Logger receives one debug line per attempt; nil discards.
	Logger *slog.Logger
	// LocalAddr, when valid, is the source address of connections.
	LocalAddr netip.Addr
	// Cache, when not nil, keeps connections open for the next delivery
	// (see Cache); nil QUITs each connection after its transaction.
	Cache *Cache
}

// Message is one message in flight with the recipients of one destination.
type Message struct {
	From  string
	Rcpts []Rcpt
	// Size is the message size in bytes, for SIZE (RFC 1870).
	Size int64
	// Body returns a fresh reader on the message each time it is called.
	Body func() (io.ReadCloser, error)
	// EightBit says the body has 8-bit data (sent as BODY=8BITMIME when
	// the server offers it); SMTPUTF8 says the message needs SMTPUTF8
	// (RFC 6531): a server not offering it gets a permanent 5.6.7 failure.
	EightBit, SMTPUTF8 bool
	// RetFull asks for RET=FULL (false sends no RET); EnvID is ENVID. Both are
	// sent only when the server offers DSN (RFC 3461).
	RetFull bool
	EnvID   string
}

// Rcpt is one recipient with its DSN parameters.
type Rcpt struct {
	Addr string
	// Notify holds NEVER or some of SUCCESS, FAILURE, DELAY.
	Notify []string
	// ORCPT is "rfc822;addr", "utf-8;addr" or a bare address.
	ORCPT string
}

// Result is what happened to one recipient.
type Result struct {
	Rcpt string
	// Code is the SMTP reply code (synthesized for local failures:
	// 451/554 style), Enhanced its RFC 3463 code ("4.4.1").
	Code     int
	Enhanced string
	Text     string
	// Permanent is true for a 5xx: bounce, do not retry.
	Permanent bool
	// Relay is the host that answered: "mx.example.com[127.0.0.2]:25", or
	// "none" when no host was reached.
	Relay string
	// TLS describes the connection: "" (plaintext) or e.g.
	// "TLS 1.3 verified" / "TLS 1.3 untrusted".
	TLS string
	// DSN reports that the host that answered offered DSN (RFC 3461), so
	// NOTIFY, ORCPT, RET and ENVID were passed on: for an accepted
	// recipient, notices are now that host's job. False when it did not
	// (a NOTIFY=SUCCESS sender then gets a "relayed" notice, RFC 3461
	// 4.1) or no host was reached.
	DSN bool
}

// OK reports whether the recipient was accepted.
func (r Result) OK() bool { return r.Code >= 200 && r.Code < 300 }

// Hop is an explicit next hop.
type Hop struct {
	// Host is looked up for MX like a domain unless NoMX (Postfix
	// "[host]") or it is an IP literal.
	Host string
	// Port overrides Options.Port (LMTP defaults to 24).
	Port int
	NoMX bool
	// LMTP speaks LMTP (RFC 2033): LHLO and one reply per recipient
	// after DATA.
	LMTP bool
	// Unix is a unix socket path to connect to instead of Host.
	Unix string
	// Username and Password are sent with AUTH PLAIN, only over TLS or a
	// unix socket.
	Username, Password string
}

// Deliver sends m to the MX hosts of domain (see the package comment).
// The error is non-nil only for unusable arguments; delivery failures are
// Results.
func Deliver(ctx context.Context, o Options, domain string, m *Message) ([]Result, error) {
	return DeliverTo(ctx, o, Hop{Host: domain}, m)
}

// DeliverTo sends m to an explicit next hop.
func DeliverTo(ctx context.Context, o Options, hop Hop, m *Message) ([]Result, error) {
	if err := o.normalize(hop); err != nil {
		return nil, err
	}
	if len(m.Rcpts) == 0 || m.Body == nil {
		return nil, errors.New("smtpclient: message without recipients or body")
	}
	d := &delivery{o: &o, hop: hop, m: m, log: o.Logger}
	return d.run(ctx), nil
}

func (o *Options) normalize(hop Hop) error {
	switch o.TLS {
	case "":
		o.TLS = "may"
	case "none", "may", "encrypt", "verify":
	default:
		return fmt.Errorf("smtpclient: TLS level %q: want none, may, encrypt or verify", o.TLS)
	}
	if o.Port == 0 {
		o.Port = 25
	}
	if hop.Port < 0 || hop.Port > 65535 || o.Port < 0 || o.Port > 65535 {
		return errors.New("smtpclient: port out of range")
	}
	if o.HeloName == "" {
		o.HeloName, _ = os.Hostname()
		if o.HeloName == "" {
			o.HeloName = "localhost"
		}
	}
	if o.ConnectTimeout <= 0 {
		o.ConnectTimeout = 30 * time.Second
	}
	if o.CommandTimeout <= 0 {
		o.CommandTimeout = 5 * time.Minute
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Resolver == nil && hop.Unix == "" {
		if _, err := netip.ParseAddr(trimBrackets(hop.Host)); err != nil {
			return errors.New("smtpclient: no resolver")
		}
	}
	return nil
}

func (d *delivery) port() string {
	switch {
	case d.hop.Port != 0:
		return strconv.Itoa(d.hop.Port)
	case d.hop.LMTP && d.hop.Unix == "":
		return "24"
	}
	return strconv.Itoa(d.o.Port)
}

func trimBrackets(s string) string {
	if len(s) > 1 && s[0] == '[' && s[len(s)-1] == ']' {
		return s[1 : len(s)-1]
	}
	return s
}
