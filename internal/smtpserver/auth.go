package smtpserver

import (
	"context"
	"errors"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"mailwarden/internal/auth/login"
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
	errSASLStep = errors.New("unexpected SASL step")
)

// mechanisms are the SASL mechanisms submission offers, both plaintext.
var mechanisms = []string{sasl.Plain, "LOGIN"}

// authSession is a submission session: a session that also implements
// smtp.AuthSession, so go-smtp advertises and runs AUTH (RFC 4954).
type authSession struct{ *session }

// plaintextOK reports whether PLAIN and LOGIN may be used (and mail may be
// submitted): under TLS, or from loopback when the config allows it.
func (s *session) plaintextOK() bool {
	return login.PlaintextAllowed(s.tls != "", s.c.ip, s.c.cfg)
}

// AuthMechanisms lists the mechanisms for EHLO; none before STARTTLS
// (Postfix smtpd_tls_auth_only).
func (a authSession) AuthMechanisms() []string {
	if !a.plaintextOK() {
		return nil
	}
	return mechanisms
}

// Auth starts one AUTH exchange.
func (a authSession) Auth(mech string) (sasl.Server, error) {
	a.c.setStage("AUTH")
	switch {
	case !a.plaintextOK():
		return nil, a.authError(mech, "", errAuthEncrypt)
	case a.inTransaction():
		return nil, a.authError(mech, "", errAuthInTx)
	}
	switch mech {
	case sasl.Plain:
		return &plainServer{s: a.session}, nil
	case "LOGIN":
		return &loginServer{s: a.session}, nil
	}
	return nil, a.authError(mech, "", smtp.ErrAuthUnknownMechanism)
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

// plainServer is SASL PLAIN (RFC 4616) through login.DecodePlain, which
// also refuses proxy authorization.
type plainServer struct {
	s    *session
	done bool
}

func (p *plainServer) Next(resp []byte) ([]byte, bool, error) {
	switch {
	case p.done:
		return nil, false, errSASLStep
	case resp == nil: // no initial response: an empty challenge asks for it
		return []byte{}, false, nil
	}
	p.done = true
	_, user, pw, err := login.DecodePlain(resp)
	if err != nil {
		return nil, true, p.s.authError(sasl.Plain, user, errAuthFailed)
	}
	return nil, true, p.s.authenticate(sasl.Plain, user, pw)
}

// loginServer is the obsolete but ubiquitous LOGIN mechanism
// (draft-murchison-sasl-login): base64 "Username:" and "Password:"
// prompts; an initial response is the user name.
type loginServer struct {
	s    *session
	step int
	user string
}

func (l *loginServer) Next(resp []byte) ([]byte, bool, error) {
	switch l.step {
	case 0:
		l.step = 1
		if resp == nil {
			return []byte("Username:"), false, nil
		}
		l.user, l.step = string(resp), 2
		return []byte("Password:"), false, nil
	case 1:
		l.user, l.step = string(resp), 2
		return []byte("Password:"), false, nil
	case 2:
		l.step = 3
		return nil, true, l.s.authenticate("LOGIN", l.user, string(resp))
	}
	return nil, false, errSASLStep
}

// authenticate checks a password through the login package (which counts
// failures per IP, delays failed replies and logs the attempt) and
// records the user on success.
func (s *session) authenticate(mech, user, pw string) error {
	c := s.c
	ctx, cancel := context.WithTimeout(c.srv.ctx, lookupTimeout)
	defer cancel()
	mb, err := c.srv.o.Auth.Check(ctx, c.srv.mode.service(), mech, user, pw, c.ip)
	switch {
	case errors.Is(err, login.ErrTemporary):
		return s.authError(mech, user, errAuthTemp)
	case err != nil:
		return s.authError(mech, user, errAuthFailed)
	}
	s.mu.Lock()
	s.user, s.mech = mb.Username, mech
	s.mu.Unlock()
	c.count(cmdAuth, true)
	return nil
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
	if e == errAuthFailed || e == errAuthTemp {
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
