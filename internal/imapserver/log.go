package imapserver

import (
	"fmt"
	"mailwarden/internal/event"
	"time"

	"mailwarden/internal/auth/login"
)

// logEnd writes the Dovecot-style line for the end of the session.
func (s *session) logEnd() {
	if s.reason == "" {
		s.reason = "Connection closed"
	}
	if s.state != stateNotAuth {
		s.srv.pub(&event.Logout{Program: event.IMAP, User: login.LogSafe(s.mb.Username), Reason: s.reason,
			Stats: fmt.Sprintf("in=%d out=%d", s.in.Load(), s.out.Load())})
		return
	}
	s.srv.pub(&event.LoginDisconnect{Program: event.IMAPLogin, Reason: s.reason, Failures: s.authFails, Refused: s.refused,
		Duration: int(time.Since(s.start).Seconds()), User: login.LogSafe(s.authUser), Method: s.authMech,
		RIP: s.ip, LIP: s.lip, TLS: s.tls})
}

// logError records an unexpected store error of a command.
func (s *session) logError(cmd string, err error) {
	s.srv.log.Error(fmt.Sprintf("imap(%s): %s failed: %v", login.LogSafe(s.mb.Username), cmd, err))
}
