package imapserver

import (
	"encoding/base64"
	"errors"

	"mailwarden/internal/auth/login"
	"mailwarden/internal/imapwire"
	"mailwarden/internal/store"
)

const plaintextRefused = "Plaintext authentication disallowed on non-secure (SSL/TLS) connections."

// plaintextOK reports whether LOGIN and AUTHENTICATE PLAIN may be used now.
func (s *session) plaintextOK() bool {
	return login.PlaintextAllowed(s.tls, s.ip, s.cfg)
}

// cmdStartTLS starts TLS (RFC 9051 6.2.1). Commands pipelined behind it
// would run as if sent over TLS (CVE-2011-0411), so they end the session.
func (s *session) cmdStartTLS(c *imapwire.Command) result {
	switch {
	case s.tls:
		return bad("TLS is already active.")
	case s.srv.o.TLS == nil:
		return bad("TLS support isn't enabled.")
	case s.br.Buffered() > 0:
		s.badReply(c.Tag, "Unexpected data after STARTTLS.")
		s.quit = true
		s.reason = "Data pipelined after STARTTLS"
		return result{quiet: true}
	}
	s.ok(c.Tag, "", "Begin TLS negotiation now.")
	if err := s.w.Flush(); err != nil {
		s.quit = true
		s.reason = "Connection closed"
		return result{quiet: true}
	}
	if !s.startTLS() {
		s.quit = true
	}
	return result{quiet: true}
}

func (s *session) cmdLogin(c *imapwire.Command) result {
	a := c.Args.(*imapwire.LoginArgs)
	if !s.plaintextOK() {
		s.refused = true
		return fail("PRIVACYREQUIRED", plaintextRefused)
	}
	return s.login(c.Tag, "PLAIN", a.Username, a.Password)
}

// cmdAuthenticate runs AUTHENTICATE PLAIN (RFC 9051 6.2.2, RFC 4959
// SASL-IR, RFC 4616).
func (s *session) cmdAuthenticate(c *imapwire.Command) result {
	a := c.Args.(*imapwire.AuthenticateArgs)
	if a.Mechanism != "PLAIN" {
		return fail("CANNOT", "Unsupported authentication mechanism.")
	}
	if !s.plaintextOK() {
		s.refused = true
		return fail("PRIVACYREQUIRED", plaintextRefused)
	}
	resp := a.InitialResponse
	if !a.HasInitialResponse {
		s.w.Continuation("")
		if err := s.w.Flush(); err != nil {
			s.quit = true
			return result{quiet: true}
		}
		s.setReadDeadline()
		line, err := s.rd.ReadLine()
		if err != nil {
			s.readFailed(err)
			s.quit = true
			return result{quiet: true}
		}
		if line == "*" { // RFC 9051 6.2.2: the client cancels
			return bad("Authentication aborted by client.")
		}
		if resp, err = base64.StdEncoding.DecodeString(line); err != nil {
			return bad("Invalid base64 data in continued response.")
		}
	}
	_, user, pw, err := login.DecodePlain(resp)
	if err != nil {
		s.authUser, s.authMech = user, "PLAIN"
		return s.authFailed(c.Tag, err)
	}
	return s.login(c.Tag, "PLAIN", user, pw)
}

// login checks the password and enters the authenticated state.
func (s *session) login(tag, mech, user, pw string) result {
	s.authUser, s.authMech = user, mech
	mb, err := s.srv.o.Auth.Check(s.ctx, "imap", mech, user, pw, s.ip)
	if err != nil {
		return s.authFailed(tag, err)
	}
	acct := store.Account{Username: mb.Username, Maildir: mb.Maildir}
	if err := s.srv.o.Store.EnsureMailbox(s.ctx, acct.Username, acct.Maildir); err != nil {
		s.srv.log.Warn("imap(" + login.LogSafe(mb.Username) + "): Couldn't open mailbox: " + err.Error())
		return fail("UNAVAILABLE", "Couldn't open the mailbox, try again later.")
	}
	s.mb, s.acct, s.authUser = mb, acct, mb.Username
	s.events, s.stopWatch = s.srv.o.Store.Watch(mb.Username)
	s.state = stateAuth
	s.srv.log.Info("imap-login: Login: " + s.who())
	return doneCode("CAPABILITY "+s.capabilities(), "Logged in")
}

// authFailed answers a failed login; the third one ends the session.
func (s *session) authFailed(tag string, err error) result {
	s.authFails++
	r := fail("AUTHENTICATIONFAILED", "Authentication failed.")
	if errors.Is(err, login.ErrTemporary) {
		r = fail("UNAVAILABLE", "Temporary authentication failure, try again later.")
	}
	if s.authFails < maxAuthFails {
		return r
	}
	s.no(tag, r.code, r.text)
	s.bye("Too many invalid authentication attempts.")
	s.quit = true
	s.reason = "Too many invalid authentication attempts"
	return result{quiet: true}
}
