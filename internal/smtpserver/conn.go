package smtpserver

import (
	"bytes"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-smtp"

	"mailwarden/internal/config"
)

// writeGrace lets a last reply (421) out after the session deadline.
const writeGrace = 10 * time.Second

// cmd indexes the command counters of the disconnect line, in Postfix order.
type cmd int

const (
	cmdHelo cmd = iota
	cmdEhlo
	cmdStarttls
	cmdAuth
	cmdMail
	cmdRcpt
	cmdData
	cmdBdat
	cmdRset
	cmdQuit
	numCmds
)

var cmdNames = [numCmds]string{"helo", "ehlo", "starttls", "auth", "mail", "rcpt", "data", "bdat", "rset", "quit"}

var (
	ehloReply = []byte("250-Hello ")       // go-smtp's first EHLO reply line
	heloReply = []byte("250 2.0.0 Hello ") // go-smtp's HELO reply
)

// conn wraps one accepted connection for its whole life, across the go-smtp
// sessions STARTTLS creates. It replaces go-smtp's greeting with the banner,
// keeps the idle (per read) and session deadlines, counts what it can see
// of the commands for the disconnect line and lets the server drain or
// close it.
type conn struct {
	net.Conn
	srv    *Server
	cfg    *config.Config // the config this connection started with
	ip     netip.Addr
	host   string // reverse DNS name, "unknown" for now
	uid    int    // Pickup: the local user (PeerUID); -1 otherwise
	client string // "host[ip]" for logs
	banner []byte // "220 <banner>\r\n"
	idle   time.Duration

	greeted bool        // only the goroutine go-smtp writes from touches it
	esmtp   atomic.Bool // last greeting was EHLO (RFC 3848 protocol)

	closeOnce sync.Once

	mu       sync.Mutex
	end      time.Time // read deadline cap: session end, or now when draining
	rdl      time.Time // read deadline last set
	draining bool
	inTx     bool
	n        [2][numCmds]int // [0]: accepted, [1]: all
	errors   int             // rejected commands (smtpd_hard_error_limit)
	junk     int             // RSETs (smtpd_junk_command_limit)
	msgs     int             // transactions started
	stage    string          // last command seen, for "lost connection after X"
	tlsSeen  bool
	readErr  error
	byUs     bool // we closed it: a limit or shutdown
}

func newConn(raw net.Conn, s *Server, cfg *config.Config, ip netip.Addr) *conn {
	host := "unknown" // reverse DNS comes with the resolver (later issue)
	uid := -1
	if s.mode == Pickup {
		host = "localhost"
		if p, ok := raw.(peerUID); ok {
			uid = p.PeerUID()
		}
	}
	c := &conn{
		Conn: raw, srv: s, cfg: cfg, ip: ip, host: host, uid: uid,
		client: host + "[" + ip.String() + "]",
		banner: []byte("220 " + cfg.BannerText() + "\r\n"),
		idle:   cfg.SMTP.Timeout.D(),
		end:    time.Now().Add(cfg.SMTP.SessionTimeout.D()),
		stage:  "CONNECT",
	}
	c.esmtp.Store(true)
	return c
}

// connOf finds our wrapper under a go-smtp connection, TLS or not.
func connOf(sc *smtp.Conn) *conn {
	nc := sc.Conn()
	if tc, ok := nc.(*tls.Conn); ok {
		nc = tc.NetConn()
	}
	c, _ := nc.(*conn)
	return c
}

// Read refreshes the idle deadline as data flows: go-smtp sets it only per
// command line, which would bound a whole DATA transfer by one timeout.
func (c *conn) Read(p []byte) (int, error) {
	if c.idle > 0 {
		now := time.Now()
		c.mu.Lock()
		dl := now.Add(c.idle)
		if c.end.Before(dl) {
			dl = c.end
		}
		if dl.Sub(c.rdl) > c.idle/8 {
			c.Conn.SetReadDeadline(dl)
			c.rdl = dl
		}
		c.mu.Unlock()
	}
	n, err := c.Conn.Read(p)
	if err != nil {
		c.mu.Lock()
		if c.readErr == nil {
			c.readErr = err
		}
		c.mu.Unlock()
	}
	return n, err
}

// Write replaces the first line (go-smtp's "220 <domain> ESMTP Service
// Ready") with the configured banner, notes HELO or EHLO from the reply and
// puts our host name first in it as RFC 5321 4.1.1.1 wants (go-smtp says
// "Hello <client>"; after STARTTLS the reply is encrypted below this layer
// and keeps go-smtp's text).
func (c *conn) Write(p []byte) (int, error) {
	if !c.greeted {
		c.greeted = true
		if i := bytes.Index(p, []byte("\r\n")); i >= 0 && bytes.HasPrefix(p, []byte("220 ")) {
			if _, err := c.Conn.Write(c.banner); err != nil {
				return 0, err
			}
			if rest := p[i+2:]; len(rest) > 0 {
				if _, err := c.Conn.Write(rest); err != nil {
					return i + 2, err
				}
			}
			return len(p), nil
		}
	}
	// Only plaintext replies can match; after STARTTLS the session says.
	if len(p) > 10 && p[0] == '2' && p[1] == '5' && p[2] == '0' {
		switch {
		case bytes.HasPrefix(p, ehloReply):
			c.esmtp.Store(true)
			c.count(cmdEhlo, true)
			// RFC 5321 4.1.1.1: the reply starts with the server's name.
			if _, err := c.Conn.Write([]byte("250-" + c.cfg.Hostname + "\r\n")); err != nil {
				return 0, err
			}
			return len(p), nil
		case bytes.HasPrefix(p, heloReply):
			c.esmtp.Store(false)
			c.count(cmdHelo, true)
			// No enhanced code after HELO (RFC 2034 applies to EHLO sessions).
			if _, err := c.Conn.Write([]byte("250 " + c.cfg.Hostname + "\r\n")); err != nil {
				return 0, err
			}
			return len(p), nil
		}
	}
	return c.Conn.Write(p)
}

// SetReadDeadline caps t at the session end.
func (c *conn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.IsZero() || t.After(c.end) {
		t = c.end
	}
	c.rdl = t
	return c.Conn.SetReadDeadline(t)
}

// SetWriteDeadline caps t shortly after the session end.
func (c *conn) SetWriteDeadline(t time.Time) error {
	c.mu.Lock()
	limit := c.end.Add(writeGrace)
	c.mu.Unlock()
	if t.IsZero() || t.After(limit) {
		t = limit
	}
	return c.Conn.SetWriteDeadline(t)
}

// SetDeadline sets both.
func (c *conn) SetDeadline(t time.Time) error {
	if err := c.SetReadDeadline(t); err != nil {
		return err
	}
	return c.SetWriteDeadline(t)
}

// Close closes the connection; the first call logs the disconnect.
func (c *conn) Close() error {
	err := c.Conn.Close()
	c.closeOnce.Do(c.finish)
	return err
}

func (c *conn) finish() {
	c.srv.ns.Release(c)
	c.mu.Lock()
	defer c.mu.Unlock()
	var ne net.Error
	switch err := c.readErr; {
	case c.byUs:
	case err == nil:
		// go-smtp closed without a read error: QUIT (or its own
		// syntax-error limit, which looks the same from here).
		c.n[0][cmdQuit]++
		c.n[1][cmdQuit]++
	case errors.As(err, &ne) && ne.Timeout():
		if !c.draining {
			c.srv.log.Info("timeout after " + c.stage + " from " + c.client)
		}
	case errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || errors.As(err, &ne):
		c.srv.log.Info("lost connection after " + c.stage + " from " + c.client)
	}
	c.srv.log.Info(c.summary())
}

// summary is Postfix's "disconnect from host[ip] ehlo=1 mail=1 ... commands=N".
func (c *conn) summary() string {
	var b strings.Builder
	b.WriteString("disconnect from ")
	b.WriteString(c.client)
	ok, all := 0, 0
	for k := range numCmds {
		if c.n[1][k] == 0 {
			continue
		}
		writeCount(&b, cmdNames[k], c.n[0][k], c.n[1][k])
		ok += c.n[0][k]
		all += c.n[1][k]
	}
	writeCount(&b, "commands", ok, all)
	return b.String()
}

func writeCount(b *strings.Builder, name string, ok, all int) {
	b.WriteByte(' ')
	b.WriteString(name)
	b.WriteByte('=')
	b.WriteString(strconv.Itoa(ok))
	if ok != all {
		b.WriteByte('/')
		b.WriteString(strconv.Itoa(all))
	}
}

// count records one command and whether it was accepted.
func (c *conn) count(k cmd, ok bool) {
	c.mu.Lock()
	if ok {
		c.n[0][k]++
	}
	c.n[1][k]++
	c.mu.Unlock()
}

func (c *conn) setStage(stage string) {
	c.mu.Lock()
	c.stage = stage
	c.mu.Unlock()
}

// beginTx starts a transaction unless the server is draining or the session
// has had its messages (smtpd max messages per session).
func (c *conn) beginTx() (draining, tooMany bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.draining {
		return true, false
	}
	if c.msgs >= c.cfg.SMTP.MaxMessagesPerSession {
		return false, true
	}
	c.msgs++
	c.inTx = true
	return false, false
}

// endTx ends a transaction; a draining server then ends the session.
func (c *conn) endTx() {
	c.mu.Lock()
	c.inTx = false
	if c.draining {
		c.cutReadsLocked()
	}
	c.mu.Unlock()
}

// drain ends the session at its next read unless a transaction is under way,
// in which case endTx does it. go-smtp then answers 421 and closes.
func (c *conn) drain() {
	c.mu.Lock()
	c.draining = true
	if !c.inTx {
		c.cutReadsLocked()
	}
	c.mu.Unlock()
}

func (c *conn) cutReadsLocked() {
	c.end = time.Now()
	c.rdl = c.end
	c.Conn.SetReadDeadline(c.end)
}

func (c *conn) isDraining() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.draining
}

// forceClose closes the connection under a running session.
func (c *conn) forceClose() {
	c.noQuit()
	c.Close()
}

// noQuit notes that go-smtp will close the connection on its own, so the
// close is not a QUIT.
func (c *conn) noQuit() {
	c.mu.Lock()
	c.byUs = true
	c.mu.Unlock()
}

// closeWith writes final reply lines and closes the connection. It is safe
// from inside go-smtp's command handlers (including Reset, which runs under
// go-smtp's lock): it closes the net.Conn, not the smtp.Conn, and go-smtp's
// own reply, if any, then fails to write. go-smtp flushes after every reply,
// so nothing of its own is pending.
func (c *conn) closeWith(sc *smtp.Conn, lines ...string) {
	c.noQuit()
	nc := sc.Conn()
	nc.SetWriteDeadline(time.Now().Add(writeGrace))
	var b []byte
	for _, l := range lines {
		b = append(append(b, l...), '\r', '\n')
	}
	nc.Write(b)
	nc.Close()
}

// addError counts a rejected command and reports whether the session is now
// past smtpd_hard_error_limit.
func (c *conn) addError() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.errors++
	return c.errors >= c.cfg.SMTP.HardErrorLimit
}

// tooManyErrors reports whether the session is past smtpd_hard_error_limit.
func (c *conn) tooManyErrors() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.errors >= c.cfg.SMTP.HardErrorLimit
}

// delivered clears the error counters, as Postfix does after a message.
func (c *conn) delivered(k cmd) {
	c.mu.Lock()
	c.n[0][k]++
	c.n[1][k]++
	c.errors, c.junk = 0, 0
	c.mu.Unlock()
}

// junkCommand counts an RSET; past smtpd_junk_command_limit each one is
// also an error.
func (c *conn) junkCommand() {
	c.mu.Lock()
	c.n[0][cmdRset]++
	c.n[1][cmdRset]++
	if c.junk++; c.junk > c.cfg.SMTP.JunkCommandLimit {
		c.errors++
	}
	c.mu.Unlock()
}
