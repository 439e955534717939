package pickup

import (
	"errors"
	"fmt"
	"strings"
)

// Envelope is what sendmail asks for besides the message: sender,
// recipients and the DSN options of its -N, -R and -V flags (RFC 3461).
type Envelope struct {
	From  string // "" is the null sender
	Rcpts []Rcpt
	Ret   string // "", "FULL" or "HDRS"
	EnvID string // ENVID, plain text (xtext-encoded on the wire)
	// Body8 says the message has 8-bit data (BODY=8BITMIME); SMTPUTF8
	// that an address is not ASCII (RFC 6531).
	Body8, SMTPUTF8 bool
}

// Rcpt is one recipient with its NOTIFY list (NEVER, or some of SUCCESS,
// DELAY, FAILURE).
type Rcpt struct {
	Addr   string
	Notify []string
}

// Limits on what an envelope may hold (a maildrop file is written by any
// local user).
const (
	maxAddr  = 1024
	maxRcpts = 10000
	maxEnvID = 100 // RFC 3461 4.4
)

// check refuses what cannot go into an SMTP command or a maildrop line.
func (e *Envelope) check() error {
	if err := checkAddr(e.From, true); err != nil {
		return fmt.Errorf("sender: %w", err)
	}
	if len(e.Rcpts) == 0 {
		return errors.New("no recipients")
	}
	if len(e.Rcpts) > maxRcpts {
		return fmt.Errorf("%d recipients, at most %d", len(e.Rcpts), maxRcpts)
	}
	for _, r := range e.Rcpts {
		if err := checkAddr(r.Addr, false); err != nil {
			return fmt.Errorf("recipient: %w", err)
		}
		for _, n := range r.Notify {
			switch n {
			case "NEVER", "SUCCESS", "DELAY", "FAILURE":
			default:
				return fmt.Errorf("recipient <%s>: NOTIFY %q", r.Addr, n)
			}
		}
	}
	switch e.Ret {
	case "", "FULL", "HDRS":
	default:
		return fmt.Errorf("RET %q", e.Ret)
	}
	if len(e.EnvID) > maxEnvID {
		return fmt.Errorf("ENVID longer than %d bytes", maxEnvID)
	}
	for i := 0; i < len(e.EnvID); i++ {
		if c := e.EnvID[i]; c < 0x20 || c > 0x7e {
			return errors.New("ENVID: only printable ASCII")
		}
	}
	return nil
}

// checkAddr refuses addresses with control characters, spaces or angle
// brackets outside quotes, and (unless null is allowed) empty ones.
func checkAddr(a string, null bool) error {
	if a == "" {
		if null {
			return nil
		}
		return errors.New("empty address")
	}
	if len(a) > maxAddr {
		return fmt.Errorf("address longer than %d bytes", maxAddr)
	}
	if strings.ContainsAny(a, "\x00\r\n<>") {
		return fmt.Errorf("%q: control character or angle bracket", a)
	}
	for i := 0; i < len(a); i++ {
		if a[i] < 0x20 || a[i] == 0x7f {
			return fmt.Errorf("%q: control character", a)
		}
	}
	if !strings.Contains(a, "@") {
		return fmt.Errorf("%q: no domain", a)
	}
	return nil
}
