package mech

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/emersion/go-sasl"

	"mailwarden/internal/auth/login"
	"mailwarden/internal/auth/password"
	"mailwarden/internal/config"
	"mailwarden/internal/directory"
)

// Mechanism names, as auth.mechanisms and the protocols spell them.
const (
	Plain       = "PLAIN"
	Login       = "LOGIN"
	SCRAMSHA256 = "SCRAM-SHA-256"
	CRAMMD5     = "CRAM-MD5"
)

// Errors of New and Server.Next besides login.ErrFailed (wrong
// credentials, after the failure delay) and those for which errors.Is(err,
// login.ErrTemporary) holds (locked out, directory down).
var (
	// ErrUnsupported: the mechanism is unknown or not in auth.mechanisms.
	ErrUnsupported = errors.New("unsupported SASL mechanism")
	// ErrMalformed: the client's message breaks the mechanism's syntax, or
	// asks for something refused (another authorization identity). Not
	// counted as a failed login.
	ErrMalformed = errors.New("malformed SASL message")
	// ErrChannelBinding: a SCRAM client requires channel binding, which
	// is not offered (RFC 5802 7 server-error "channel-binding-not-supported").
	ErrChannelBinding = errors.New("channel-binding-not-supported")
	// ErrUnexpected: Next was called after the exchange ended.
	ErrUnexpected = errors.New("unexpected SASL step")
)

// maxResponse bounds one decoded client response: PLAIN's three fields of
// at most 1024 octets fit, and so does any honest SCRAM message.
const maxResponse = 4096

// Server is the server side of one authentication exchange. Next follows
// go-sasl: a nil response is "no initial response"; a challenge with done
// false is sent to the client (it may be empty); done true without an error
// means the client is logged in, to Mailbox.
type Server interface {
	sasl.Server
	// User is the user name the client gave, "" until it gave one.
	User() string
	// Mailbox is the mailbox logged in to once Next returned done.
	Mailbox() directory.Mailbox
}

// Options are what every exchange needs to know of its session.
type Options struct {
	Auth    *login.Authenticator
	Config  *config.Config // auth.mechanisms says what New accepts
	Service string         // "submission", "imap", "pop3": for logs
	IP      netip.Addr     // the client's
	// Hostname ends the CRAM-MD5 challenge ("<random.time@hostname>").
	Hostname string
	// Ctx bounds the exchange (the session's); Timeout, if set, each
	// account lookup within it.
	Ctx     context.Context
	Timeout time.Duration
}

// op is the context of one call into the Authenticator.
func (o *Options) op() (context.Context, context.CancelFunc) {
	ctx := o.Ctx
	if ctx == nil {
		ctx = context.Background()
	}
	if o.Timeout > 0 {
		return context.WithTimeout(ctx, o.Timeout)
	}
	return context.WithCancel(ctx)
}

// Offered lists the mechanisms of auth.mechanisms this package serves, in
// the configured order, upper case and without repeats.
func Offered(cfg *config.Config) []string {
	var out []string
	for _, m := range cfg.Auth.Mechanisms {
		m = strings.ToUpper(m)
		switch m {
		case Plain, Login, SCRAMSHA256, CRAMMD5:
			if !slices.Contains(out, m) {
				out = append(out, m)
			}
		}
	}
	return out
}

// New starts an exchange of mechanism name (any case). It fails with
// ErrUnsupported when the mechanism is not one of Offered(o.Config).
func New(name string, o Options) (Server, error) {
	name = strings.ToUpper(name)
	if o.Config == nil || !slices.Contains(Offered(o.Config), name) {
		return nil, ErrUnsupported
	}
	switch name {
	case Plain:
		return &plainServer{o: o, auth: o.Auth}, nil
	case Login:
		return &loginServer{o: o, auth: o.Auth}, nil
	case SCRAMSHA256:
		return newSCRAM(o, o.Auth.Begin(o.Service, name, o.IP), nil), nil
	case CRAMMD5:
		return &cramServer{o: o, ex: o.Auth.Begin(o.Service, name, o.IP)}, nil
	}
	return nil, ErrUnsupported
}

// checker is what PLAIN and LOGIN need of *login.Authenticator.
type checker interface {
	Check(ctx context.Context, service, mech, username, pw string, ip netip.Addr) (directory.Mailbox, error)
}

// exchange is what the challenge-response mechanisms need of
// *login.Exchange; tests give them a fake.
type exchange interface {
	Lookup(ctx context.Context, username string) (string, error)
	SCRAMKeys(ctx context.Context) (password.SCRAMKeys, error)
	Succeed(ctx context.Context) (directory.Mailbox, error)
	Fail(ctx context.Context, reason string) error
}

// outcome is the User and Mailbox part of every Server.
type outcome struct {
	user string
	mb   directory.Mailbox
}

func (r *outcome) User() string               { return r.user }
func (r *outcome) Mailbox() directory.Mailbox { return r.mb }

func malformed(why string) error { return fmt.Errorf("%w: %s", ErrMalformed, why) }
