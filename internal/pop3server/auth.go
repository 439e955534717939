package pop3server

import (
	"encoding/base64"
	"errors"
	"mailwarden/internal/event"
	"strings"

	"mailwarden/internal/auth/login"
	"mailwarden/internal/auth/mech"
	"mailwarden/internal/directory"
)

// command is one POP3 command: the states it is valid in and its handler,
// which returns false to end the session.
type command struct {
	states state
	fn     func(s *session, arg string) bool
}

var commands map[string]command

func init() {
	commands = map[string]command{
		"CAPA": {stateAuth | stateTrans, (*session).capa},
		"QUIT": {stateAuth | stateTrans, (*session).quit},
		"USER": {stateAuth, (*session).userCmd},
		"PASS": {stateAuth, (*session).pass},
		"AUTH": {stateAuth, (*session).auth},
		"STLS": {stateAuth, (*session).stls},
		"STAT": {stateTrans, (*session).stat},
		"LIST": {stateTrans, (*session).list},
		"UIDL": {stateTrans, (*session).uidl},
		"RETR": {stateTrans, (*session).retrCmd},
		"TOP":  {stateTrans, (*session).topCmd},
		"DELE": {stateTrans, (*session).dele},
		"RSET": {stateTrans, (*session).rset},
		"NOOP": {stateTrans, (*session).noop},
	}
}

const plaintextRefused = "-ERR [AUTH] Plaintext authentication disallowed on non-secure connections."

// capa lists what this state offers (RFC 2449 5). Login methods appear
// only while they may be used; STLS only until TLS is on.
func (s *session) capa(string) bool {
	caps := []string{"+OK", "CAPA", "TOP", "UIDL", "RESP-CODES", "PIPELINING", "AUTH-RESP-CODE"}
	if s.state == stateAuth {
		if s.plaintextOK() {
			caps = append(caps, "USER")
			if mechs := mech.Offered(s.cfg); len(mechs) > 0 {
				caps = append(caps, "SASL "+strings.Join(mechs, " "))
			}
		}
		if !s.tls && s.srv.o.TLS != nil {
			caps = append(caps, "STLS")
		}
	}
	for _, c := range append(caps, ".") {
		s.reply(c)
	}
	return true
}

func (s *session) quit(string) bool {
	s.reason = "Logged out"
	if s.state == stateTrans {
		s.update()
		return false
	}
	s.reply("+OK Logging out.")
	return false
}

// stls starts TLS (RFC 2595 4).
func (s *session) stls(arg string) bool {
	switch {
	case arg != "":
		s.badCommand("STLS takes no arguments.")
		return true
	case s.tls:
		s.badCommand("TLS is already active.")
		return true
	case s.srv.o.TLS == nil:
		s.badCommand("TLS support isn't enabled.")
		return true
	case s.r.Buffered() > 0:
		// Commands pipelined behind STLS would run as if sent over TLS
		// (the STARTTLS command injection of CVE-2011-0411).
		s.reply("-ERR Unexpected data after STLS.")
		s.reason = "Data pipelined after STLS"
		return false
	}
	s.reply("+OK Begin TLS negotiation now.")
	if err := s.w.Flush(); err != nil {
		s.reason = "Connection closed"
		return false
	}
	if !s.startTLS() {
		return false
	}
	s.user = "" // RFC 2595 4: forget what was said before TLS
	return true
}

func (s *session) userCmd(arg string) bool {
	switch {
	case !s.plaintextOK():
		s.refused = true
		s.reply(plaintextRefused)
	case arg == "":
		s.badCommand("USER needs a user name.")
	default:
		s.user = arg
		s.reply("+OK")
	}
	return true
}

// pass takes the rest of the line as the password: it may contain spaces.
func (s *session) pass(arg string) bool {
	switch {
	case !s.plaintextOK():
		s.refused = true
		s.reply(plaintextRefused)
		return true
	case s.user == "":
		s.badCommand("No username given.")
		return true
	}
	user := s.user
	s.user = ""
	return s.login("PLAIN", user, arg)
}

// auth runs AUTH (RFC 5034) with the mechanisms of auth.mechanisms.
// Without a mechanism it lists them, as many clients expect.
func (s *session) auth(arg string) bool {
	name, initial, hasInitial := strings.Cut(arg, " ")
	name = strings.ToUpper(name)
	if name == "" {
		s.reply("+OK")
		if s.plaintextOK() {
			for _, m := range mech.Offered(s.cfg) {
				s.reply(m)
			}
		}
		s.reply(".")
		return true
	}
	m, err := mech.New(name, mech.Options{Auth: s.srv.o.Auth, Config: s.cfg, Service: "pop3",
		IP: s.ip, Hostname: s.cfg.Hostname, Ctx: s.ctx})
	switch {
	case err != nil:
		s.badCommand("Unsupported authentication mechanism.")
		return true
	case !s.plaintextOK():
		s.refused = true
		s.reply(plaintextRefused)
		return true
	}
	var resp []byte // nil: no initial response
	if hasInitial {
		if resp = decodeSASL(initial); resp == nil {
			s.badCommand("Invalid base64 data.")
			return true
		}
	}
	for {
		ch, done, err := m.Next(resp)
		switch {
		case errors.Is(err, mech.ErrMalformed), errors.Is(err, mech.ErrChannelBinding):
			s.badCommand("[AUTH] Authentication failed.")
			return true
		case err != nil:
			s.authUser, s.authMech = m.User(), name
			return s.loginFailed(err)
		case done:
			return s.open(name, m.Mailbox())
		}
		s.reply("+ " + base64.StdEncoding.EncodeToString(ch))
		line, err := s.readLine(maxAuthLine)
		if err != nil {
			s.readFailed(err)
			return false
		}
		if line == "*" { // RFC 5034 4: the client cancels
			s.reply("-ERR Authentication aborted.")
			return true
		}
		if resp = decodeSASL(line); resp == nil {
			s.badCommand("Invalid base64 data.")
			return true
		}
	}
}

// decodeSASL decodes a base64 SASL response, "=" being an empty one
// (RFC 5034 4); nil when it is not base64.
func decodeSASL(s string) []byte {
	if s == "=" {
		return []byte{}
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil
	}
	if b == nil {
		b = []byte{}
	}
	return b
}

// login checks the password, takes the mailbox lock and reads INBOX.
func (s *session) login(method, user, pw string) bool {
	s.authUser, s.authMech = user, method
	mb, err := s.srv.o.Auth.Check(s.ctx, "pop3", method, user, pw, s.ip)
	if err != nil {
		return s.loginFailed(err)
	}
	return s.open(method, mb)
}

// loginFailed answers a failed login; the third one ends the session.
func (s *session) loginFailed(err error) bool {
	s.authFails++
	why := "authentication failure"
	if errors.Is(err, login.ErrTemporary) {
		why = "temporary failure"
	}
	s.srv.pub(&event.AuthFailed{Program: event.POP3Login, Client: event.Peer{IP: s.ip}, Mechanism: s.authMech,
		Reason: why, User: login.LogSafe(s.authUser)})
	if errors.Is(err, login.ErrTemporary) {
		s.reply("-ERR [SYS/TEMP] Temporary authentication failure, try again later.")
	} else {
		s.reply("-ERR [AUTH] Authentication failed.")
	}
	if s.authFails >= maxAuthFails {
		s.reason = "Too many invalid authentication attempts"
		return false
	}
	return true
}

// open enters the TRANSACTION state for the mailbox logged in to: it
// takes the mailbox lock and reads INBOX.
func (s *session) open(method string, mb directory.Mailbox) bool {
	s.authUser, s.authMech = mb.Username, method
	if !lock(mb.Username, s) {
		s.srv.log.Info("pop3-login: Mailbox in use by another POP3 session: " + s.who())
		s.reply("-ERR [IN-USE] Mailbox is locked by another POP3 session.")
		return true
	}
	msgs, uv, err := s.srv.o.Store.Inbox(s.ctx, mb.Username, mb.Maildir)
	if err != nil {
		unlock(mb.Username, s)
		s.srv.log.Warn("pop3(" + login.LogSafe(mb.Username) + "): Couldn't open INBOX: " + err.Error())
		s.reply("-ERR [SYS/TEMP] Couldn't open INBOX, try again later.")
		return true
	}
	s.locked, s.mb, s.msgs, s.uidValidity = mb.Username, mb, msgs, uv
	s.deleted, s.retrieved = make([]bool, len(msgs)), make([]bool, len(msgs))
	for _, m := range msgs {
		s.size += m.Size
	}
	s.state = stateTrans
	s.srv.o.Sessions.Add(&s.reg, mb.Username, "pop3", s.ip, s)
	s.srv.pub(&event.Login{Program: event.POP3Login, User: login.LogSafe(mb.Username), Method: method,
		RIP: s.ip, LIP: s.lip, TLS: s.tls})
	s.reply("+OK Logged in.")
	return true
}
