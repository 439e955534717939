package imapserver

import (
	"fmt"

	"mailwarden/internal/auth/login"
)

// logEnd writes the Dovecot-style line for the end of the session.
func (s *session) logEnd() {
	if s.reason == "" {
		s.reason = "Connection closed"
	}
	if s.state != stateNotAuth {
		what := "Disconnected: " + s.reason
		if s.reason == "Logged out" {
			what = "Logged out"
		}
		s.srv.log.Info(fmt.Sprintf("imap(%s): %s in=%d out=%d", login.LogSafe(s.mb.Username), what, s.in.Load(), s.out.Load()))
		return
	}
	detail := login.NotLoggedIn(s.start, s.authFails, s.refused)
	s.srv.log.Info("imap-login: Disconnected: " + s.reason + " (" + detail + "): " + s.who())
}

// who is the "user=<x>, method=M, rip=.., lip=.., TLS" part of log lines.
func (s *session) who() string { return login.Client(s.authUser, s.authMech, s.ip, s.lip, s.tls) }

// logError records an unexpected store error of a command.
func (s *session) logError(cmd string, err error) {
	s.srv.log.Error(fmt.Sprintf("imap(%s): %s failed: %v", login.LogSafe(s.mb.Username), cmd, err))
}
