package pop3server

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"mailwarden/internal/event"
	"net"
	"net/netip"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"time"

	"mailwarden/internal/auth/login"
	"mailwarden/internal/config"
	"mailwarden/internal/directory"
	"mailwarden/internal/netserve"
	"mailwarden/internal/sessions"
)

const (
	// maxCommandLine bounds a command line with its CRLF. RFC 2449 4 says
	// 255 octets; be lenient as Dovecot is.
	maxCommandLine = 1000
	// maxAuthLine bounds a SASL response line (RFC 5034 4 lifts the
	// command limit for it).
	maxAuthLine    = 8192
	maxBadCommands = 10 // then "-ERR Too many bad commands." and close
	maxAuthFails   = 3  // failed logins per connection before it is closed
)

var errLineTooLong = errors.New("line too long")

type state int

const (
	stateAuth  state = 1 << iota // AUTHORIZATION
	stateTrans                   // TRANSACTION
)

type counter struct {
	n     int
	bytes int64
}

// session is one POP3 connection.
type session struct {
	srv     *Server
	cfg     *config.Config
	ctx     context.Context
	raw     net.Conn // the TCP connection
	conn    net.Conn // raw, or TLS over it
	r       *bufio.Reader
	w       *bufio.Writer
	ip, lip netip.Addr
	tls     bool
	start   time.Time
	timeout time.Duration

	dr     netserve.Drain // Shutdown and Kick start it
	kicked atomic.Bool    // by mailwarden kick
	reg    sessions.Entry // in Options.Sessions once logged in

	state     state
	user      string // from USER, for PASS
	authUser  string // last login attempt, for the disconnect line
	authMech  string
	authFails int
	refused   bool // plaintext auth was refused
	bad       int
	reason    string // why the session ended

	mb          directory.Mailbox
	locked      string // mailbox lock held (username)
	msgs        []Msg
	uidValidity int64
	deleted     []bool
	retrieved   []bool
	size        int64
	top, retr   counter
	expunged    int
}

func newSession(srv *Server, cfg *config.Config, raw net.Conn, ip netip.Addr) *session {
	s := &session{
		srv: srv, cfg: cfg, ctx: srv.ctx, raw: raw, conn: raw,
		ip: ip, lip: netserve.AddrOf(raw.LocalAddr()),
		start: time.Now(), timeout: cfg.POP3.Timeout.D(), state: stateAuth,
	}
	s.setConn(raw)
	return s
}

// setConn makes c (raw, or TLS over it) the connection commands flow on.
func (s *session) setConn(c net.Conn) {
	s.conn = c
	s.r = bufio.NewReaderSize(c, 4096)
	s.w = bufio.NewWriterSize(writerFunc(s.write), 16<<10)
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// write sends p with a fresh write deadline, so a long RETR to a slow but
// live client is bounded per chunk, not as a whole.
func (s *session) write(p []byte) (int, error) {
	s.raw.SetWriteDeadline(time.Now().Add(s.timeout))
	return s.conn.Write(p)
}

func (s *session) run() {
	// Deferred calls run last to first: the end is logged only once the
	// connection is closed and its slot is free again.
	defer s.logEnd()
	defer s.srv.release(s)
	defer s.raw.Close()
	defer func() {
		if r := recover(); r != nil {
			s.srv.log.Error(fmt.Sprintf("pop3: panic serving %s: %v\n%s", s.ip, r, debug.Stack()))
		}
	}()
	if s.srv.o.Implicit && !s.startTLS() {
		return
	}
	s.reply("+OK Mailwarden ready.")
	for s.next() {
	}
	s.w.Flush()
}

// next reads and runs one command; false ends the session.
func (s *session) next() bool {
	line, err := s.readLine(maxCommandLine)
	if err != nil {
		s.readFailed(err)
		return false
	}
	verb, arg, _ := strings.Cut(line, " ")
	c, ok := commands[strings.ToUpper(verb)]
	switch {
	case !ok:
		s.badCommand("Unknown command.")
	case c.states&s.state == 0:
		s.badCommand("Command not allowed in this state.")
	case !c.fn(s, arg):
		return false
	}
	if s.bad >= maxBadCommands {
		s.reply("-ERR Too many bad commands.")
		s.reason = "Too many bad commands"
		return false
	}
	return true
}

// readFailed tells the client why the session ends, if it can still hear.
func (s *session) readFailed(err error) {
	var ne net.Error
	switch {
	case errors.Is(err, errLineTooLong):
		s.reply("-ERR Line too long.")
		s.reason = "Line too long"
	case s.kicked.Load():
		s.reply("-ERR Disconnected by the administrator.")
		s.reason = "Kicked by the administrator"
	case s.dr.Draining():
		s.reply("-ERR Server shutting down.")
		s.reason = "Server shutting down"
	case errors.As(err, &ne) && ne.Timeout():
		s.reply("-ERR Disconnected for inactivity.")
		s.reason = "Inactivity"
	default:
		s.reason = "Connection closed"
	}
}

// readLine reads one line of at most limit octets and strips its CRLF (or
// bare LF). It first flushes pending replies unless more pipelined input
// is already buffered (RFC 2449 6.6).
func (s *session) readLine(limit int) (string, error) {
	if s.r.Buffered() == 0 {
		if err := s.w.Flush(); err != nil {
			return "", err
		}
	}
	s.setReadDeadline()
	var line []byte
	for {
		chunk, err := s.r.ReadSlice('\n')
		if len(line)+len(chunk) > limit {
			return "", errLineTooLong
		}
		line = append(line, chunk...)
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			return "", err
		}
		break
	}
	line = bytes.TrimSuffix(bytes.TrimSuffix(line, []byte("\n")), []byte("\r"))
	return string(line), nil
}

// kickGrace is how long a kicked session may take to end by itself (a
// RETR in progress, a client slow to take the reply) before its
// connection is closed under it.
const kickGrace = 10 * time.Second

// Kick ends the session for mailwarden kick (sessions.Kicker): waiting
// for a command, it is told "-ERR Disconnected by the administrator." at
// once, without the UPDATE state (nothing is deleted); a command in
// progress may finish first, as in a shutdown.
func (s *session) Kick() {
	if s.kicked.Swap(true) {
		return
	}
	s.dr.Start(s.raw)
	time.AfterFunc(kickGrace, func() { s.raw.Close() })
}

func (s *session) reply(line string) {
	s.w.WriteString(line)
	s.w.WriteString("\r\n")
}

// badCommand answers a protocol error and counts it.
func (s *session) badCommand(text string) {
	s.bad++
	s.reply("-ERR " + text)
}

// setReadDeadline gives the next read pop3.timeout, or none when the
// server is draining.
func (s *session) setReadDeadline() { s.dr.SetReadDeadline(s.raw, s.timeout) }

// startTLS runs the server side of a TLS handshake on the raw connection.
func (s *session) startTLS() bool {
	if s.srv.o.TLS == nil {
		s.reason = "TLS not configured"
		return false
	}
	tc := tls.Server(s.raw, s.srv.o.TLS)
	s.raw.SetWriteDeadline(time.Now().Add(s.timeout))
	s.setReadDeadline()
	if err := tc.HandshakeContext(s.ctx); err != nil {
		s.reason = "TLS handshaking failed: " + err.Error()
		return false
	}
	s.setConn(tc)
	s.tls = true
	return true
}

// plaintextOK reports whether USER/PASS and AUTH PLAIN may be used now.
func (s *session) plaintextOK() bool {
	return login.PlaintextAllowed(s.tls, s.ip, s.cfg)
}

// logEnd writes the Dovecot-style disconnect line.
func (s *session) logEnd() {
	if s.reason == "" {
		s.reason = "Connection closed"
	}
	if s.state == stateTrans {
		s.srv.pub(&event.Logout{Program: event.POP3, User: login.LogSafe(s.mb.Username), Reason: s.reason,
			Stats: fmt.Sprintf("top=%d/%d, retr=%d/%d, del=%d/%d, size=%d",
				s.top.n, s.top.bytes, s.retr.n, s.retr.bytes, s.expunged, len(s.msgs), s.size)})
		return
	}
	s.srv.pub(&event.LoginDisconnect{Program: event.POP3Login, Reason: s.reason, Failures: s.authFails, Refused: s.refused,
		Duration: int(time.Since(s.start).Seconds()), User: login.LogSafe(s.authUser), Method: s.authMech,
		RIP: s.ip, LIP: s.lip, TLS: s.tls})
}

// who is the "user=<x>, method=M, rip=.., lip=.., TLS" part of log lines.
func (s *session) who() string { return login.Client(s.authUser, s.authMech, s.ip, s.lip, s.tls) }
