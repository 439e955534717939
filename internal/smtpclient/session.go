package smtpclient

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// session is one connection to one address.
type session struct {
	d     *delivery
	t     target
	level string // TLS level for this connection
	c     *smtp.Client
	tls   string // Result.TLS
}

// sessFailure is why a session did not take the message.
type sessFailure struct {
	failure
	tlsFailed bool // STARTTLS or the handshake failed: "may" retries plain
}

func (s *session) fail(code int, enhanced, format string, args ...any) sessFailure {
	return sessFailure{failure: failure{code: code, enhanced: enhanced,
		text: fmt.Sprintf(format, args...), relay: s.t.relay()}}
}

// replyFailure turns an error from go-smtp into a failure: the server's
// reply when it gave one, else a temporary "lost connection".
func (s *session) replyFailure(err error, stage string) sessFailure {
	var se *smtp.SMTPError
	if errors.As(err, &se) {
		return sessFailure{failure: failure{code: se.Code, enhanced: enhanced(se),
			text: se.Message, relay: s.t.relay()}}
	}
	return s.fail(451, "4.4.2", "lost connection with %s while %s: %v", s.t.relay(), stage, err)
}

// run connects and, when the host takes responsibility for the message
// (it answered MAIL FROM), returns one Result per recipient.
func (s *session) run(ctx context.Context) ([]Result, sessFailure) {
	o := s.d.o
	dialer := net.Dialer{Timeout: o.ConnectTimeout}
	if o.LocalAddr.IsValid() && s.t.network == "tcp" {
		dialer.LocalAddr = &net.TCPAddr{IP: o.LocalAddr.AsSlice()}
	}
	raw, err := dialer.DialContext(ctx, s.t.network, s.t.addr)
	if err != nil {
		return nil, s.fail(451, "4.4.1", "connect to %s: %v", s.t.relay(), err)
	}
	defer raw.Close()
	stop := context.AfterFunc(ctx, func() { raw.Close() })
	defer stop()

	if err := s.hello(&conn{Conn: raw, timeout: o.CommandTimeout}); err != nil {
		return nil, s.replyFailure(err, "receiving the greeting or sending EHLO")
	}
	if f, ok := s.startTLS(ctx, raw); !ok {
		return nil, f
	}
	if f, ok := s.auth(); !ok {
		return nil, f
	}
	return s.transaction()
}

func (s *session) hello(nc net.Conn) error {
	if s.d.hop.LMTP {
		s.c = smtp.NewClientLMTP(nc)
	} else {
		s.c = smtp.NewClient(nc)
	}
	s.c.CommandTimeout = s.d.o.CommandTimeout
	// Postfix smtp_data_done_timeout is twice smtp_data_init_timeout.
	s.c.SubmissionTimeout = 2 * s.d.o.CommandTimeout
	return s.c.Hello(s.d.o.HeloName)
}

func (s *session) startTLS(ctx context.Context, raw net.Conn) (sessFailure, bool) {
	if s.level == "none" {
		return sessFailure{}, true
	}
	if ok, _ := s.c.Extension("STARTTLS"); !ok {
		if s.level == "may" {
			return sessFailure{}, true
		}
		return s.fail(451, "4.7.4", "TLS is required, but was not offered by host %s", s.t.relay()), false
	}
	cfg := &tls.Config{
		ServerName:         s.t.host,
		InsecureSkipVerify: s.level != "verify", // may/encrypt: RFC 7435 opportunistic
		RootCAs:            s.d.o.RootCAs,
		MinVersion:         tls.VersionTLS12,
	}
	tc, err := starttls(ctx, raw, cfg, s.d.o.CommandTimeout)
	if err != nil {
		f := s.fail(451, "4.7.5", "TLS with %s failed: %v", s.t.relay(), err)
		f.tlsFailed = true
		return f, false
	}
	st := tc.ConnectionState()
	s.tls = tls.VersionName(st.Version) + " untrusted"
	if s.level == "verify" {
		s.tls = tls.VersionName(st.Version) + " verified"
	}
	if err := s.hello(&conn{Conn: tc, timeout: s.d.o.CommandTimeout, prefix: []byte("220 TLS\r\n")}); err != nil {
		return s.replyFailure(err, "sending EHLO after STARTTLS"), false
	}
	return sessFailure{}, true
}

// auth sends AUTH PLAIN when the hop has credentials. Failures are
// temporary (Postfix smtp_sasl_auth_soft_bounce) and move to the next host.
func (s *session) auth() (sessFailure, bool) {
	hop := s.d.hop
	if hop.Username == "" {
		return sessFailure{}, true
	}
	if s.tls == "" && s.t.network != "unix" {
		return s.fail(451, "4.7.0", "not sending credentials to %s without TLS", s.t.relay()), false
	}
	if !s.c.SupportsAuth(sasl.Plain) {
		return s.fail(451, "4.7.0", "%s offers no AUTH PLAIN", s.t.relay()), false
	}
	if err := s.c.Auth(sasl.NewPlainClient("", hop.Username, hop.Password)); err != nil {
		f := s.replyFailure(err, "authenticating")
		f.code, f.enhanced = 451, "4.7.0"
		f.text = "SASL authentication failed: " + f.text
		return f, false
	}
	return sessFailure{}, true
}

// enhanced formats a reply's enhanced status code, deriving "X.0.0" from
// the reply code when the server sent none.
func enhanced(se *smtp.SMTPError) string {
	ec := se.EnhancedCode
	if ec == (smtp.EnhancedCode{}) || ec == smtp.NoEnhancedCode {
		return fmt.Sprintf("%d.0.0", se.Code/100)
	}
	return fmt.Sprintf("%d.%d.%d", ec[0], ec[1], ec[2])
}
