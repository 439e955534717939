package imapserver

import (
	"fmt"
	"strconv"
	"strings"
	"time"

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
	secs := strconv.Itoa(int(time.Since(s.start).Seconds()))
	detail := "no auth attempts in " + secs + " secs"
	switch {
	case s.authFails > 0:
		detail = "auth failed, " + strconv.Itoa(s.authFails) + " attempts in " + secs + " secs"
	case s.refused:
		detail = "tried to use disallowed plaintext auth"
	}
	s.srv.log.Info("imap-login: Disconnected: " + s.reason + " (" + detail + "): " + s.who())
}

// who is the "user=<x>, method=M, rip=.., lip=.., TLS" part of log lines.
func (s *session) who() string {
	var b strings.Builder
	if s.authUser != "" {
		b.WriteString("user=<" + login.LogSafe(s.authUser) + ">, method=" + s.authMech + ", ")
	}
	b.WriteString("rip=" + ipString(s.ip) + ", lip=" + ipString(s.lip))
	switch {
	case s.tls:
		b.WriteString(", TLS")
	case s.ip.IsLoopback():
		b.WriteString(", secured")
	}
	return b.String()
}

// logError records an unexpected store error of a command.
func (s *session) logError(cmd string, err error) {
	s.srv.log.Error(fmt.Sprintf("imap(%s): %s failed: %v", login.LogSafe(s.mb.Username), cmd, err))
}
