package imapserver

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"runtime/debug"
	"sync/atomic"
	"time"

	"mailwarden/internal/config"
	"mailwarden/internal/directory"
	"mailwarden/internal/imapwire"
	"mailwarden/internal/netserve"
	"mailwarden/internal/sessions"
	"mailwarden/internal/store"
)

const (
	maxBadCommands = 20 // consecutive BADs before "* BYE" and close
	maxAuthFails   = 3  // failed logins per connection before it is closed
	// loginTimeout bounds the wait for a command before login; the
	// autologout timer of at least 30 minutes (RFC 9051 5.4) is for
	// authenticated sessions.
	loginTimeout = time.Minute
)

// state is the IMAP connection state (RFC 9051 3).
type state int

const (
	stateNotAuth  state = 1 << iota // not authenticated
	stateAuth                       // authenticated
	stateSelected                   // selected
)

// session is one IMAP connection. Everything but drain runs on the
// session's goroutine (IDLE reads DONE on a helper goroutine while the
// session goroutine only writes).
type session struct {
	srv     *Server
	cfg     *config.Config
	ctx     context.Context
	raw     net.Conn // the TCP connection
	conn    net.Conn // raw, or TLS over it
	br      *bufio.Reader
	bw      *bufio.Writer // under w
	rf      io.Reader     // under br: the connection, counting bytes
	w       *imapwire.Writer
	rd      *imapwire.Reader
	ip, lip netip.Addr
	tls     bool
	start   time.Time
	timeout time.Duration // autologout
	in, out atomic.Int64
	// The buffers are in the pools while the session waits (iobuf.go).
	readParked, writeParked bool

	dr     netserve.Drain // Shutdown and Kick start it
	kicked atomic.Bool    // by mailwarden kick
	reg    sessions.Entry // in Options.Sessions once logged in

	state     state
	authUser  string // last login attempt, for log lines
	authMech  string
	authFails int
	refused   bool // plaintext auth was refused
	bad       int  // consecutive BAD replies
	reason    string
	quit      bool // end the session after this command

	mb        directory.Mailbox
	acct      store.Account
	events    <-chan store.Event
	stopWatch func()
	// The events of the owner of a selected folder of another mailbox.
	selEvents    <-chan store.Event
	stopSelWatch func()

	// Extensions the client enabled (RFC 5161, RFC 7162).
	condstore, qresync, utf8, rev2 bool
	uidOnly                        bool // RFC 9586 (uidonly.go)

	sel   *mailbox // nil unless stateSelected
	saved []int64  // SEARCHRES "$": UIDs saved by SEARCH RETURN (SAVE)

	notify   *notifyState     // NOTIFY (notify.go); nil before the first
	contexts []*searchContext // updating SEARCH and SORT (context.go)
	zw       *deflater        // COMPRESS=DEFLATE is on: under bw (compress.go)

	// The APPEND being read: messages and bytes so far (checkAppend).
	appendN     int
	appendBytes int64
}

func newSession(srv *Server, cfg *config.Config, raw net.Conn, ip netip.Addr) *session {
	s := &session{
		srv: srv, cfg: cfg, ctx: srv.ctx, raw: raw,
		ip: ip, lip: netserve.AddrOf(raw.LocalAddr()),
		start: time.Now(), timeout: cfg.IMAP.IdleTimeout.D(), state: stateNotAuth,
	}
	if s.timeout <= 0 {
		s.timeout = 30 * time.Minute
	}
	s.setConn(raw)
	return s
}

// appendLimit is the largest APPEND accepted (RFC 7889).
func (s *session) appendLimit() int64 {
	if n := int64(s.cfg.IMAP.AppendLimit); n > 0 {
		return n
	}
	if n := int64(s.cfg.SMTP.MessageSizeLimit); n > 0 {
		return n
	}
	return imapwire.DefaultMaxLiteral
}

type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(p []byte) (int, error) { return f(p) }

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// setConn makes c (raw, or TLS over it) the connection commands flow on.
func (s *session) setConn(c net.Conn) {
	s.conn = c
	s.rf = readerFunc(func(p []byte) (int, error) {
		n, err := c.Read(p)
		s.in.Add(int64(n))
		return n, err
	})
	s.br = bufio.NewReaderSize(s.rf, 16<<10)
	utf8 := s.w != nil && s.w.UTF8
	s.bw = bufio.NewWriterSize(writerFunc(s.write), 32<<10)
	s.w = imapwire.NewWriter(s.bw)
	s.w.UTF8 = utf8
	s.rd = imapwire.NewReader(s.br, s.w, s.cfg.IMAP.MaxLineLength, s.appendLimit())
	s.rd.CheckAppend = s.checkAppend
	s.rd.MaxMetadataValue = int64(s.cfg.IMAP.MetadataMaxValueSize)
}

// write sends p with a fresh write deadline, so a long FETCH to a slow
// but live client is bounded per chunk, not as a whole.
func (s *session) write(p []byte) (int, error) {
	s.raw.SetWriteDeadline(time.Now().Add(s.timeout))
	n, err := s.conn.Write(p)
	s.out.Add(int64(n))
	return n, err
}

func (s *session) run() {
	// Deferred calls run last to first: the end is logged only once the
	// connection is closed and its slot is free again.
	defer s.logEnd()
	defer s.srv.o.Sessions.Remove(&s.reg)
	defer s.srv.ns.Release(s)
	defer s.raw.Close()
	defer func() {
		if s.stopWatch != nil {
			s.stopWatch()
		}
		s.stopOwnerWatch()
		s.stopNotify()
	}()
	defer func() {
		if r := recover(); r != nil {
			s.srv.log.Error(fmt.Sprintf("imap: panic serving %s: %v\n%s", s.ip, r, debug.Stack()))
		}
	}()
	if s.srv.o.Implicit && !s.startTLS() {
		return
	}
	s.w.Untagged().Atom("OK").Text("CAPABILITY "+s.capabilities(), "Mailwarden ready.").End()
	for s.next() {
	}
	s.w.Flush()
}

// next reads and runs one command; false ends the session.
func (s *session) next() bool {
	if s.br.Buffered() == 0 {
		if err := s.w.Flush(); err != nil {
			s.reason = "Connection closed"
			return false
		}
	}
	s.setReadDeadline()
	if s.pushing() && s.br.Buffered() == 0 && !s.waitCommand() {
		return false
	}
	if err := s.waitIdle(); err != nil {
		s.readFailed(err)
		return false
	}
	s.appendN, s.appendBytes = 0, 0
	cmd, err := s.rd.ReadCommand()
	if err != nil {
		var pe *imapwire.ParseError
		if errors.As(err, &pe) {
			return s.parseError(pe)
		}
		s.readFailed(err)
		return false
	}
	s.exec(cmd)
	if s.quit {
		return false
	}
	if s.bad >= maxBadCommands {
		s.bye("Too many invalid IMAP commands.")
		s.reason = "Too many invalid commands"
		return false
	}
	return true
}

// parseError answers a command the reader refused.
func (s *session) parseError(pe *imapwire.ParseError) bool {
	tag := pe.Tag
	var ar *appendRefusal
	switch {
	case errors.As(pe.Err, &ar) && !ar.bad:
		s.no(tag, ar.code, ar.text)
	case errors.Is(pe.Err, imapwire.ErrMetadataTooBig): // RFC 5464 4.3
		s.no(tag, pe.Code, pe.Msg)
	case pe.Code == "TOOBIG":
		s.no(tag, "TOOBIG", pe.Msg)
	default:
		s.bad++
		s.w.Status(tag, "BAD", pe.Code, pe.Msg)
	}
	if pe.Close {
		s.bye("Can't resynchronize with the client, closing the connection.")
		s.reason = "Protocol error: " + pe.Msg
		return false
	}
	if s.bad >= maxBadCommands {
		s.bye("Too many invalid IMAP commands.")
		s.reason = "Too many invalid commands"
		return false
	}
	return true
}

// readFailed tells the client why the session ends, if it can still hear.
func (s *session) readFailed(err error) {
	var ne net.Error
	switch {
	case s.kicked.Load():
		s.bye("Disconnected by the administrator.")
		s.reason = "Kicked by the administrator"
	case s.dr.Draining():
		s.bye("Server shutting down.")
		s.reason = "Server shutting down"
	case errors.As(err, &ne) && ne.Timeout():
		s.bye("Disconnected for inactivity.")
		s.reason = "Inactivity"
	case isInflateError(err):
		s.reason = "Invalid compressed data"
	default:
		s.reason = "Connection closed"
	}
}

// kickGrace is how long a kicked session may take to end by itself (a
// command in progress, a client slow to take the BYE) before its
// connection is closed under it.
const kickGrace = 10 * time.Second

// Kick ends the session for mailwarden kick (sessions.Kicker): waiting
// for a command or in IDLE, it is sent "* BYE" at once; a command in
// progress may finish first, as in a shutdown.
func (s *session) Kick() {
	if s.kicked.Swap(true) {
		return
	}
	s.dr.Start(s.raw)
	time.AfterFunc(kickGrace, func() { s.raw.Close() })
}

func (s *session) bye(text string) {
	s.w.Status("", "BYE", "", text)
	s.w.Flush()
}

// ok, no and badReply write tagged status responses.
func (s *session) ok(tag, code, text string) {
	s.bad = 0
	s.w.Status(tag, "OK", code, text)
}

func (s *session) no(tag, code, text string) {
	s.bad = 0
	s.w.Status(tag, "NO", code, text)
}

func (s *session) badReply(tag, text string) {
	s.bad++
	s.w.Status(tag, "BAD", "", text)
}

// setReadDeadline gives the next read the autologout time, or none when
// the server is draining.
func (s *session) setReadDeadline() {
	d := s.timeout
	if s.state == stateNotAuth {
		d = min(d, loginTimeout)
	}
	s.dr.SetReadDeadline(s.raw, d)
}

// startTLS runs the server side of a TLS handshake on the raw connection.
func (s *session) startTLS() bool {
	if s.srv.o.TLS == nil {
		s.reason = "TLS not configured"
		return false
	}
	tc := tls.Server(s.raw, s.srv.o.TLS)
	s.raw.SetWriteDeadline(time.Now().Add(s.timeout))
	s.setReadDeadline()
	ctx, cancel := context.WithTimeout(s.ctx, time.Minute)
	defer cancel()
	if err := tc.HandshakeContext(ctx); err != nil {
		s.reason = "TLS handshaking failed: " + err.Error()
		return false
	}
	s.setConn(tc)
	s.tls = true
	return true
}
