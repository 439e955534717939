package imapserver

import (
	"encoding/base64"
	"errors"
	"mailwarden/internal/event"

	"mailwarden/internal/auth/login"
	"mailwarden/internal/auth/mech"
	"mailwarden/internal/directory"
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

// authCapabilities are the login capabilities before authentication:
// AUTH= for each of auth.mechanisms in the configured order while logins
// may be made, else LOGINDISABLED (RFC 9051 6.2.3, 7.2.2).
func (s *session) authCapabilities() []string {
	if !s.plaintextOK() {
		return []string{"LOGINDISABLED"}
	}
	var caps []string
	for _, m := range mech.Offered(s.cfg) {
		caps = append(caps, "AUTH="+m)
	}
	return caps
}

// cmdAuthenticate runs AUTHENTICATE (RFC 9051 6.2.2, RFC 4959 SASL-IR)
// with the mechanisms of auth.mechanisms, under the same TLS rule as
// LOGIN.
func (s *session) cmdAuthenticate(c *imapwire.Command) result {
	a := c.Args.(*imapwire.AuthenticateArgs)
	m, err := mech.New(a.Mechanism, mech.Options{Auth: s.srv.o.Auth, Config: s.cfg, Service: "imap",
		IP: s.ip, Hostname: s.cfg.Hostname, Ctx: s.ctx})
	if err != nil {
		return fail("CANNOT", "Unsupported authentication mechanism.")
	}
	if !s.plaintextOK() {
		s.refused = true
		return fail("PRIVACYREQUIRED", plaintextRefused)
	}
	var resp []byte // nil: no initial response
	if a.HasInitialResponse {
		resp = a.InitialResponse
		if resp == nil {
			resp = []byte{}
		}
	}
	for {
		ch, done, err := m.Next(resp)
		switch {
		case err != nil:
			s.authUser, s.authMech = m.User(), a.Mechanism
			return s.authFailed(c.Tag, err)
		case done:
			return s.loggedIn(a.Mechanism, m.Mailbox())
		}
		s.w.Continuation(base64.StdEncoding.EncodeToString(ch))
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
}

// login checks the password and enters the authenticated state.
func (s *session) login(tag, method, user, pw string) result {
	s.authUser, s.authMech = user, method
	mb, err := s.srv.o.Auth.Check(s.ctx, "imap", method, user, pw, s.ip)
	if err != nil {
		return s.authFailed(tag, err)
	}
	return s.loggedIn(method, mb)
}

// loggedIn opens the mailbox mb logged in to and enters the
// authenticated state.
func (s *session) loggedIn(method string, mb directory.Mailbox) result {
	s.authMech = method
	acct := store.Account{Username: mb.Username, Maildir: mb.Maildir}
	if err := s.srv.o.Store.EnsureMailbox(s.ctx, acct.Username, acct.Maildir); err != nil {
		s.srv.log.Warn("imap(" + login.LogSafe(mb.Username) + "): Couldn't open mailbox: " + err.Error())
		return fail("UNAVAILABLE", "Couldn't open the mailbox, try again later.")
	}
	s.mb, s.acct, s.authUser = mb, acct, mb.Username
	s.events, s.stopWatch = s.srv.o.Store.Watch(mb.Username)
	s.state = stateAuth
	s.srv.o.Sessions.Add(&s.reg, mb.Username, "imap", s.ip, s)
	s.srv.pub(&event.Login{Program: event.IMAPLogin, User: login.LogSafe(mb.Username), Method: method,
		RIP: s.ip, LIP: s.lip, TLS: s.tls})
	return doneCode("CAPABILITY "+s.capabilities(), "Logged in")
}

// authFailed answers a failed login; the third one ends the session.
func (s *session) authFailed(tag string, err error) result {
	s.authFails++
	r := fail("AUTHENTICATIONFAILED", "Authentication failed.")
	why := "authentication failure"
	if errors.Is(err, login.ErrTemporary) {
		r = fail("UNAVAILABLE", "Temporary authentication failure, try again later.")
		why = "temporary failure"
	}
	s.srv.pub(&event.AuthFailed{Program: event.IMAPLogin, Client: event.Peer{IP: s.ip}, Mechanism: s.authMech,
		Reason: why, User: login.LogSafe(s.authUser)})
	if s.authFails < maxAuthFails {
		return r
	}
	s.no(tag, r.code, r.text)
	s.bye("Too many invalid authentication attempts.")
	s.quit = true
	s.reason = "Too many invalid authentication attempts"
	return result{quiet: true}
}
