package smtpserver

import (
	"errors"
	"strings"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"mailwarden/internal/auth/login"
	"mailwarden/internal/auth/mech"
)

var (
	errNeedTLS      = &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "Must issue a STARTTLS command first"}
	errAuthRequired = &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "Authentication required"}
	errAuthFailed   = &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "Error: authentication failed: authentication failure"}
	errAuthTemp     = &smtp.SMTPError{Code: 454, EnhancedCode: smtp.EnhancedCode{4, 7, 0}, Message: "Temporary authentication failure"}
	// RFC 4954 6: a plaintext mechanism without TLS.
	errAuthEncrypt = &smtp.SMTPError{Code: 538, EnhancedCode: smtp.EnhancedCode{5, 7, 11}, Message: "Encryption required for requested authentication mechanism"}
	// RFC 4954 4: no AUTH inside a mail transaction.
	errAuthInTx = &smtp.SMTPError{Code: 503, EnhancedCode: smtp.EnhancedCode{5, 5, 1}, Message: "Error: MAIL transaction in progress"}
	// RFC 5802 7: a SCRAM client that requires channel binding.
	errChannelBinding = &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "Error: authentication failed: channel-binding-not-supported"}
)

// authSession is a submission session: a session that also implements
// smtp.AuthSession, so go-smtp advertises and runs AUTH (RFC 4954).
type authSession struct{ *session }

// plaintextOK reports whether AUTH may be used (and mail may be
// submitted): under TLS, or from loopback when the config allows it. It
// applies to every mechanism, challenge-response ones included.
func (s *session) plaintextOK() bool {
	return login.PlaintextAllowed(s.tls != "", s.c.ip, s.c.cfg)
}

// AuthMechanisms lists auth.mechanisms for EHLO, in the configured order;
// none before STARTTLS (Postfix smtpd_tls_auth_only).
func (a authSession) AuthMechanisms() []string {
	if !a.plaintextOK() {
		return nil
	}
	return mech.Offered(a.c.cfg)
}

// Auth starts one AUTH exchange.
func (a authSession) Auth(name string) (sasl.Server, error) {
	a.c.setStage("AUTH")
	switch {
	case !a.plaintextOK():
		return nil, a.authError(name, "", errAuthEncrypt)
	case a.inTransaction():
		return nil, a.authError(name, "", errAuthInTx)
	}
	c := a.c
	m, err := mech.New(name, mech.Options{Auth: c.srv.o.Auth, Config: c.cfg, Service: c.srv.mode.service(),
		IP: c.ip, Hostname: c.cfg.Hostname, Ctx: c.srv.ctx, Timeout: lookupTimeout})
	if err != nil {
		return nil, a.authError(name, "", smtp.ErrAuthUnknownMechanism)
	}
	return &saslExchange{s: a.session, name: strings.ToUpper(name), m: m}, nil
}

func (s *session) inTransaction() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.inTx
}

// authUser is the authenticated user and mechanism, "" before AUTH.
func (s *session) authUser() (user, mech string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.user, s.mech
}

// saslExchange runs a mechanism for go-smtp: it turns the mechanism's
// errors into replies (counted and logged as Postfix does) and records
// the user once the exchange succeeds.
type saslExchange struct {
	s    *session
	name string
	m    mech.Server
}

func (x *saslExchange) Next(resp []byte) ([]byte, bool, error) {
	ch, done, err := x.m.Next(resp)
	switch {
	case errors.Is(err, login.ErrTemporary):
		return nil, false, x.s.authError(x.name, x.m.User(), errAuthTemp)
	case errors.Is(err, mech.ErrChannelBinding):
		return nil, false, x.s.authError(x.name, x.m.User(), errChannelBinding)
	case err != nil:
		return nil, false, x.s.authError(x.name, x.m.User(), errAuthFailed)
	case !done:
		return ch, false, nil
	}
	s := x.s
	s.mu.Lock()
	s.user, s.mech = x.m.Mailbox().Username, x.name
	s.mu.Unlock()
	s.c.count(cmdAuth, true)
	return nil, true, nil
}

// authError counts and logs a failed AUTH the way Postfix does (the line
// fail2ban's postfix-sasl filter matches) and returns its reply. Past
// smtpd_hard_error_limit the session ends.
func (s *session) authError(mech, user string, e *smtp.SMTPError) error {
	c := s.c
	c.count(cmdAuth, false)
	over := c.addError()
	why := "authentication failure"
	if e == errAuthTemp {
		why = "temporary failure"
	}
	if e == errAuthFailed || e == errAuthTemp || e == errChannelBinding {
		line := c.client + ": SASL " + login.LogSafe(mech) + " authentication failed: " + why
		if user != "" {
			line += ", sasl_username=" + login.LogSafe(user)
		}
		c.srv.log.Warn(line)
	}
	if over {
		c.closeWith(s.sc, replyLine(e), replyTooManyErrors)
	}
	return e
}
