package smtpserver

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"mailwarden/internal/dnsx"
	"mailwarden/internal/event"
	"net"
	"net/netip"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"mailwarden/internal/config"
	"mailwarden/internal/envelope"
	"mailwarden/internal/policy"
	"mailwarden/internal/smtpwire"
)

// writeGrace lets a last reply (421) out after the session deadline.
const writeGrace = 10 * time.Second

// conn is one client connection, from accept to close, across STARTTLS.
// One goroutine (serve) reads commands and writes replies; drain and
// forceClose may be called from Shutdown.
type conn struct {
	watch checkWatch // the context checks run under
	srv   *Server
	cfg   *config.Config // the config this connection started with
	lists *policy.Lists
	raw   net.Conn // the accepted connection
	nc    net.Conn // raw, or the TLS connection over it
	rd    deadlineReader
	br    *bufio.Reader
	bw    *bufio.Writer

	ip      netip.Addr
	port    int
	host    string // forward-confirmed reverse DNS name, "unknown" when none
	revHost string // the PTR name even when not confirmed, "" when none
	dnsTemp bool   // the lookup failed for a temporary reason
	uid     int    // Pickup: the local user (PeerUID); -1 otherwise
	client  string // "host[ip]" for logs
	mynets  bool   // ip is in mynetworks
	idle    time.Duration
	sessEnd time.Time

	local netip.AddrPort // the address the client connected to

	// session state, reset by STARTTLS and XCLIENT
	helo        string
	esmtp       bool
	tls         string // "TLSv1.3 with cipher ...", "" in plaintext
	tlsState    *tls.ConnectionState
	user        string // SASL user (the mailbox name) after AUTH
	mech        string
	pipelined   string // the command after which the client pipelined without leave, "" if it never did
	xfwd        map[string]string
	pregreet    bool            // the client talked before the greeting
	connRefused *policy.Verdict // the client list refused the client (no delay_reject)
	psRefused   *policy.Verdict // postscreen's DNSBL test refuses every RCPT (dnsbl_action enforce)

	t      *tx               // the mail transaction, nil outside one
	req    policy.Request    // reused for every check-list run
	reqEnv envelope.Envelope // its envelope
	cnt    counters

	closeOnce sync.Once

	mu       sync.Mutex
	draining bool
	inTx     bool
	stage    string // last command seen, for "lost connection after X"
}

func newConn(raw net.Conn, s *Server, cfg *config.Config, ip netip.Addr) *conn {
	host := "unknown" // reverse DNS comes with the resolver (access policy issue)
	uid := -1
	if s.mode == Pickup {
		host = "localhost"
		if p, ok := raw.(peerUID); ok {
			uid = p.PeerUID()
		}
	}
	c := &conn{
		srv: s, cfg: cfg, lists: s.listsOf(cfg), raw: raw, nc: raw, ip: ip, host: host, uid: uid,
		client:  host + "[" + ip.String() + "]",
		mynets:  ip.IsValid() && cfg.InMyNetworks(ip),
		idle:    cfg.SMTP.Timeout.D(),
		sessEnd: time.Now().Add(cfg.SMTP.SessionTimeout.D()),
		stage:   "CONNECT",
	}
	if ta, ok := raw.RemoteAddr().(*net.TCPAddr); ok {
		c.port = ta.Port
	}
	if la, ok := raw.LocalAddr().(*net.TCPAddr); ok {
		c.local = la.AddrPort()
	}
	c.rd.c = c
	c.rd.r = raw
	c.br = bufio.NewReaderSize(&c.rd, 16<<10)
	c.bw = bufio.NewWriterSize(raw, 4<<10)
	return c
}

// serve runs the session: greeting, then one command at a time until
// QUIT, an error that ends it, or shutdown.
func (c *conn) serve() {
	defer c.close()
	defer c.endChecks()
	defer func() {
		// One broken session must not take the server down.
		if v := recover(); v != nil {
			c.srv.log.Error("panic serving " + c.client + ": " + fmt.Sprint(v) + "\n" + string(debug.Stack()))
		}
	}()
	if c.srv.mode == Submissions {
		// RFC 8314 3.3: TLS from the first byte.
		if _, ok := c.tlsAllowed(); !ok || !c.startTLS() {
			return
		}
	}
	accepted := time.Now()
	c.lookupClient()
	c.srv.pub(&event.Connect{Program: c.srv.mode.program(), Client: c.peer()})
	if c.isDraining() {
		c.send(reply{code: 421, enh: "4.3.2", text: "Service shutting down", close: true})
		return
	}
	allowlisted := false
	if ps := c.lists.Postscreen; ps != nil && !c.mynets {
		res := ps.Check(c.srv.ctx, c.ip)
		allowlisted = res.Allowlisted
		v := res.Verdict
		v.Check = "postscreen_dnsbl_sites"
		switch res.Action {
		case "drop": // postscreen: the 521 instead of the greeting, then hang up
			c.logReject("CONNECT", "", replyOfVerdict(v))
			c.send(reply{code: v.Code, enh: v.Enhanced, text: v.Text, close: true})
			return
		case "enforce":
			c.psRefused = &v
		}
	}
	req := c.request(policy.Connect)
	ctx, done := c.checkContext()
	d := c.lists.AtConnect(ctx, req)
	done()
	if d.Refused() {
		// Postfix smtpd_delay_reject=no: greet, then refuse MAIL and
		// RCPT with the client list's verdict.
		c.connRefused = &d.Verdict
	}
	// RFC 5321 4.3.1: the client must wait for the greeting.
	if r, refused := c.atConnect(accepted, allowlisted); refused {
		c.send(r)
		return
	}
	c.bw.WriteString("220 " + c.cfg.BannerText() + "\r\n")
	for {
		if !c.flushIfIdle() {
			return
		}
		line, err := c.readCommand()
		if err != nil {
			c.readFailed(err)
			return
		}
		r := c.command(line)
		c.errorSleep()
		if !c.send(r) || r.close {
			return
		}
	}
}

// readCommand reads one command line: it must arrive within the timeout
// as a whole (slowloris: each byte does not push the deadline).
func (c *conn) readCommand() ([]byte, error) {
	c.rd.dataMode = false
	c.setReadDeadline(time.Now().Add(c.idle))
	line, err := smtpwire.ReadLine(c.br, c.cfg.SMTP.MaxLineLength)
	if errors.Is(err, smtpwire.ErrLineTooLong) {
		return nil, err
	}
	return line, err
}

// readFailed ends the session after a failed read: a too-long line, a
// timeout, the client gone, or shutdown.
func (c *conn) readFailed(err error) {
	var ne net.Error
	switch {
	case errors.Is(err, smtpwire.ErrLineTooLong):
		c.send(reply{code: 500, enh: "5.5.2", text: "Error: line too long", close: true})
	case c.isDraining():
		c.send(reply{code: 421, enh: "4.3.2", text: "Service shutting down", close: true})
	case errors.As(err, &ne) && ne.Timeout():
		c.srv.pub(&event.Lost{Program: c.srv.mode.program(), Kind: event.Timeout, After: c.getStage(), Client: c.peer()})
		c.send(reply{code: 421, enh: "4.4.2", text: c.cfg.Hostname + " Error: timeout exceeded", close: true})
	default:
		c.srv.pub(&event.Lost{Program: c.srv.mode.program(), Kind: event.LostConnection, After: c.getStage(), Client: c.peer()})
	}
}

// flushIfIdle writes buffered replies unless more pipelined commands are
// already waiting (RFC 2920: replies to a group may be sent together).
func (c *conn) flushIfIdle() bool {
	if c.br.Buffered() > 0 && c.bw.Available() > 512 {
		return true
	}
	return c.flush()
}

func (c *conn) flush() bool {
	if c.bw.Buffered() == 0 {
		return true
	}
	c.nc.SetWriteDeadline(c.writeDeadline(time.Now().Add(c.idle)))
	if err := c.bw.Flush(); err != nil {
		return false
	}
	return true
}

// send writes a reply; a closing reply is flushed at once.
func (c *conn) send(r reply) bool {
	if r.code == 0 {
		return true
	}
	lines := r.lines
	if lines == nil {
		lines = []string{r.text}
	}
	if err := smtpwire.WriteReply(c.bw, r.code, r.enh, lines...); err != nil {
		return false
	}
	if r.close {
		c.flush()
		return false
	}
	return true
}

// setReadDeadline caps t at the session end.
func (c *conn) setReadDeadline(t time.Time) {
	c.mu.Lock()
	if c.draining && !c.inTx {
		t = time.Now()
	}
	if t.After(c.sessEnd) {
		t = c.sessEnd
	}
	c.mu.Unlock()
	c.nc.SetReadDeadline(t)
}

func (c *conn) writeDeadline(t time.Time) time.Time {
	if limit := c.sessEnd.Add(writeGrace); t.After(limit) {
		return limit
	}
	return t
}

// deadlineReader sits under the bufio.Reader. In DATA and BDAT it sets each
// read's deadline: the idle timeout (Postfix smtpd_timeout per read), but
// never later than the data phase's budget of one timeout plus what the
// bytes so far earn at smtp.min_data_rate, so a client trickling one byte
// at a time is cut off.
type deadlineReader struct {
	c        *conn
	r        io.Reader
	dataMode bool
	start    time.Time
	got      int64
}

func (d *deadlineReader) Read(p []byte) (int, error) {
	if d.dataMode {
		c := d.c
		now := time.Now()
		dl := now.Add(c.idle)
		if rate := int64(c.cfg.SMTP.MinDataRate); rate > 0 {
			budget := d.start.Add(c.idle + time.Duration(d.got*int64(time.Second)/rate))
			if budget.Before(dl) {
				dl = budget
			}
		}
		c.setReadDeadline(dl)
	}
	n, err := d.r.Read(p)
	d.got += int64(n)
	return n, err
}

// startData puts the reader in data mode for a DATA body or BDAT chunk.
func (c *conn) startData() {
	c.rd.dataMode = true
	c.rd.start = time.Now()
	c.rd.got = 0
}

// close closes the connection once and logs the disconnect.
func (c *conn) close() {
	c.closeOnce.Do(func() {
		c.flush()
		c.nc.Close()
		c.raw.Close()
		c.srv.ns.Release(c)
		c.srv.pub(&event.Disconnect{Program: c.srv.mode.program(), Client: c.peer(), Commands: c.counts()})
	})
}

// peer is the client for events.
func (c *conn) peer() event.Peer { return event.Peer{Host: c.host, IP: c.ip} }

// counts is Postfix's per-command tally of the disconnect line ("unknown"
// counts only in the total).
func (c *conn) counts() []event.Count {
	out := make([]event.Count, 0, numCmds)
	for k := range numCmds {
		if c.cnt.n[1][k] == 0 {
			continue
		}
		ok := c.cnt.n[0][k]
		if k == cmdUnknown {
			ok = 0
		}
		out = append(out, event.Count{Name: cmdNames[k], OK: ok, Total: c.cnt.n[1][k]})
	}
	return out
}

func (c *conn) setStage(stage string) {
	c.mu.Lock()
	c.stage = stage
	c.mu.Unlock()
}

func (c *conn) getStage() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stage
}

// beginTx starts a transaction unless the server is draining.
func (c *conn) beginTx() (draining bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.draining {
		return true
	}
	c.inTx = true
	return false
}

// endTx ends a transaction; a draining server then ends the session at
// the next read.
func (c *conn) endTx() {
	c.t, c.xfwd = nil, nil
	c.mu.Lock()
	c.inTx = false
	draining := c.draining
	c.mu.Unlock()
	if draining {
		c.nc.SetReadDeadline(time.Now())
	}
}

// drain ends the session at its next read unless a transaction is under
// way, in which case endTx does it. The session then answers 421.
func (c *conn) drain() {
	c.mu.Lock()
	c.draining = true
	inTx := c.inTx
	c.mu.Unlock()
	if !inTx {
		c.raw.SetReadDeadline(time.Now())
	}
}

func (c *conn) isDraining() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.draining
}

// forceClose closes the connection under a running session.
func (c *conn) forceClose() {
	c.raw.Close()
}

// maxLookup bounds the client-name lookup at connect.
const maxLookup = 10 * time.Second

// lookupClient finds the client's name as Postfix does: the PTR name is
// the reverse name; it is the client's name only when it resolves back
// to the address (forward-confirmed). Otherwise the client is "unknown".
func (c *conn) lookupClient() {
	r := c.srv.o.DNS
	if r == nil || c.srv.mode == Pickup || !c.ip.IsValid() || !c.cfg.SMTP.PeernameLookup {
		return
	}
	timeout := c.cfg.DNS.Timeout.D()
	if timeout <= 0 || timeout > maxLookup {
		timeout = maxLookup
	}
	ctx, cancel := context.WithTimeout(c.srv.ctx, timeout)
	defer cancel()
	names, err := r.LookupPTR(ctx, c.ip)
	if err != nil {
		c.dnsTemp = !errors.Is(err, dnsx.ErrNotFound)
		return
	}
	for _, n := range names {
		n = strings.ToLower(strings.TrimSuffix(n, "."))
		if n == "" {
			continue
		}
		if c.revHost == "" {
			c.revHost = n
		}
		addrs, err := r.LookupIP(ctx, n)
		if err != nil {
			c.dnsTemp = c.dnsTemp || !errors.Is(err, dnsx.ErrNotFound)
			continue
		}
		for _, a := range addrs {
			if a.Unmap() == c.ip.Unmap() {
				c.host, c.revHost = n, n
				c.client = n + "[" + c.ip.String() + "]"
				return
			}
		}
	}
}
