package event

import (
	"net/netip"
	"time"
)

// LimitKind is one of Postfix anvil's per-client rates.
type LimitKind uint8

// The rates, each a Postfix smtpd_client_*_rate_limit.
const (
	ConnectionRate LimitKind = iota // smtpd_client_connection_rate_limit
	MessageRate                     // smtpd_client_message_rate_limit
	RecipientRate                   // smtpd_client_recipient_rate_limit
	NewTLSRate                      // smtpd_client_new_tls_session_rate_limit
	AuthRate                        // smtpd_client_auth_rate_limit
	NumLimitKinds
)

var limitNames = [NumLimitKinds]string{"connection", "message", "recipient", "newtls", "auth"}

// String is a short stable name for metrics and counters: "connection",
// "message", "recipient", "newtls", "auth".
func (k LimitKind) String() string {
	if k < NumLimitKinds {
		return limitNames[k]
	}
	return "unknown"
}

// RateLimited is a client over one of its rate limits, logged as Postfix's
// smtpd warns: "warning: Connection rate limit exceeded: 31 from
// h[ip] for service smtp".
type RateLimited struct {
	Program Program
	Client  Peer
	Kind    LimitKind
	Count   int // the client's rate, this event included
}

// Pregreet is a client that talked before the greeting (postscreen's
// pregreet test): "PREGREET 11 after 0.00 from [ip]:port: EHLO x\r\n".
// Remembered is set when the client was refused at once because an
// earlier connection failed the test within postscreen.greet_ttl (no
// PREGREET line then: the reject line says it).
type Pregreet struct {
	Program    Program
	Client     Peer
	Port       int
	Bytes      int           // how much it sent early (what was waiting)
	After      time.Duration // since the connection was accepted
	Text       string        // the first line it sent, up to 100 bytes, CR and LF escaped
	Remembered bool
}

// AuthLockout is a client reaching the login-failure limit ([auth]
// max_failures within failure_window): its logins are refused until
// Until. The authenticator logs its own line; this event is counted and
// feeds automatic blocking.
type AuthLockout struct {
	Client   netip.Addr
	Failures int
	Until    time.Time
}

// Source implements Event.
func (*AuthLockout) Source() Program { return Auth }

// AutoBlocked is a client put on the block list by automatic blocking:
// "autoblock: blocked 192.0.2.7 for 3600s: 3 rate limits within 600s".
type AutoBlocked struct {
	Client  netip.Addr
	Cause   string // "auth", "errors", "rate", "pregreet"
	Count   int
	Within  time.Duration
	For     time.Duration
	Command string // the command run, "" when none; its failure is a separate warning
}

// Source implements Event.
func (*AutoBlocked) Source() Program { return Master }

// Source implements Event.
func (e *RateLimited) Source() Program { return orDefault(e.Program, Smtpd) }

// Source implements Event.
func (e *Pregreet) Source() Program { return orDefault(e.Program, Smtpd) }
