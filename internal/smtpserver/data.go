package smtpserver

import (
	"context"
	"errors"
	"io"
	"mailwarden/internal/event"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"mailwarden/internal/delivery"
	"mailwarden/internal/envelope"
	"mailwarden/internal/mime"
	"mailwarden/internal/policy"
	"mailwarden/internal/smtpwire"
)

const (
	spoolMemory = 256 << 10 // body bytes kept in memory before a temp file
	maxHops     = 100       // RFC 5321 6.3: Received fields before a loop is assumed
	copyBuffer  = 64 << 10  // room for the DataReader to write a whole bufio chunk straight in (2×16 KB + 8)
)

var bufPool = sync.Pool{New: func() any { b := make([]byte, copyBuffer); return &b }}

var (
	errLineTooLong = reply{code: 552, enh: "5.3.4", text: "Error: message line too long"}
	errTooManyHops = reply{code: 554, enh: "5.4.6", text: "Too many hops"}
	errWriteFailed = reply{code: 451, enh: "4.3.0", text: "Error: queue file write error"}
	errNoValidRcpt = reply{code: 554, enh: "5.5.1", text: "Error: no valid recipients"}
)

// bdatState is a BDAT transfer in progress (RFC 3030).
type bdatState struct {
	sp  *envelope.Spool
	nz  *smtpwire.Normalizer
	hdr headerScan
	err error // the first failure; later chunks are read and dropped
}

// dataStart checks what DATA and the first BDAT check: a transaction with
// recipients, and the DATA list.
func (c *conn) dataStart(what string) (reply, bool) {
	t := c.t
	if t == nil {
		return c.rejected(what, "", "", errNeedMail), false
	}
	if len(t.rcpts) == 0 {
		return c.rejectedTx(what, t, "", errNeedRcpt), false
	}
	ctx, done := c.checkContext()
	defer done()
	if d := c.lists.AtData(ctx, c.request(policy.Data)); d.Refused() {
		return c.rejectedTx(what, t, "", replyOfVerdict(d.Verdict)), false
	} else {
		t.note(policy.Data, d)
	}
	return reply{}, true
}

// data receives a message after DATA: dot-unstuffed, bare CR and LF
// normalised, NUL dropped, up to message_size_limit.
func (c *conn) data(arg string) reply {
	c.setStage("DATA")
	if arg != "" {
		return reply{code: 501, enh: "5.5.4", text: "Syntax: DATA"}
	}
	if c.t != nil && c.t.bdat != nil {
		return reply{code: 503, enh: "5.5.1", text: "Error: BDAT in progress"}
	}
	if r, ok := c.dataStart("DATA"); !ok {
		return r
	}
	c.send(reply{code: 354, text: "End data with <CR><LF>.<CR><LF>"})
	if !c.flush() {
		return reply{close: true}
	}
	c.srv.inflight.Add(1)
	defer c.srv.inflight.Add(-1)
	sp := envelope.NewSpool(c.srv.o.SpoolDir, spoolMemory, 0)
	defer sp.Close()
	c.startData()
	dr := smtpwire.NewDataReader(c.br, c.cfg.SMTP.MaxLineLength, int64(c.cfg.SMTP.MessageSizeLimit))
	hdr, rerr, werr := spoolBody(sp, dr)
	c.rd.dataMode = false
	if r, ok := c.bodyError(rerr, werr); !ok {
		return r
	}
	if dr.Normalized() || dr.Nul() > 0 {
		c.srv.log.Info(c.t.id + ": bare CR or LF normalised, " + strconv.Itoa(dr.Nul()) + " NUL dropped, from " + c.client)
	}
	return c.finish("DATA", sp, &hdr)
}

// bodyError maps a failure to read or spool the body to its reply; ok
// when there was none.
func (c *conn) bodyError(rerr, werr error) (reply, bool) {
	t := c.t
	var ne net.Error
	switch {
	case rerr == nil && werr == nil:
		return reply{}, true
	case errors.Is(rerr, smtpwire.ErrTooLarge), errors.Is(werr, envelope.ErrTooLarge):
		c.endTx()
		return c.rejectedTx("END-OF-MESSAGE", t, "", errTooBig), false
	case errors.Is(rerr, smtpwire.ErrLineTooLong):
		c.endTx()
		return c.rejectedTx("END-OF-MESSAGE", t, "", errLineTooLong), false
	case werr != nil && (rerr == nil || rerr == io.EOF):
		c.srv.log.Error(t.id + ": spool: " + werr.Error())
		c.endTx()
		return c.rejectedTx("END-OF-MESSAGE", t, "", errWriteFailed), false
	case errors.As(rerr, &ne) && ne.Timeout():
		c.srv.pub(&event.Lost{Program: c.srv.mode.program(), Kind: event.Timeout, After: "DATA", Client: c.peer()})
		return reply{code: 421, enh: "4.4.2", text: c.cfg.Hostname + " Error: timeout exceeded", close: true}, false
	}
	c.srv.pub(&event.Lost{Program: c.srv.mode.program(), Kind: event.LostConnection, After: "DATA", Client: c.peer()})
	return reply{close: true}, false
}

// bdat receives one chunk: "BDAT size [LAST]" then exactly size octets
// (RFC 3030 2), never dot-stuffed, normalised like DATA.
func (c *conn) bdat(arg string) reply {
	c.setStage("BDAT")
	f := strings.Fields(arg)
	if len(f) == 0 || len(f) > 2 || (len(f) == 2 && !strings.EqualFold(f[1], "LAST")) {
		// The chunk's length is unknown: its octets would be read as
		// commands. End the session.
		return reply{code: 501, enh: "5.5.4", text: "Syntax: BDAT count [LAST]", close: true}
	}
	size, err := strconv.ParseUint(f[0], 10, 63)
	if err != nil {
		return reply{code: 501, enh: "5.5.4", text: "Syntax: BDAT count [LAST]", close: true}
	}
	last := len(f) == 2
	t := c.t
	if t == nil || t.failed {
		// RFC 3030 2: the chunk is read even when it is refused.
		if !c.skip(int64(size)) {
			return reply{close: true}
		}
		if t == nil {
			return c.rejected("BDAT", "", "", errNeedMail)
		}
		if last {
			c.endTx()
		}
		return reply{code: 503, enh: "5.5.1", text: "Error: previous BDAT failed"}
	}
	if t.bdat == nil {
		if r, ok := c.dataStart("BDAT"); !ok {
			if !c.skip(int64(size)) {
				return reply{close: true}
			}
			t.failed = !last
			if last {
				c.endTx()
			}
			return r
		}
		sp := envelope.NewSpool(c.srv.o.SpoolDir, spoolMemory, int64(c.cfg.SMTP.MessageSizeLimit))
		t.bdat = &bdatState{sp: sp}
		t.bdat.nz = smtpwire.NewNormalizer(&hopWriter{h: &t.bdat.hdr, w: sp})
	}
	b := t.bdat
	c.srv.inflight.Add(1)
	defer c.srv.inflight.Add(-1)
	werr, rerr := c.copyChunk(b.nz, int64(size))
	if rerr != nil {
		b.sp.Close()
		r, _ := c.bodyError(rerr, nil)
		return r
	}
	if werr != nil {
		b.sp.Close()
		t.bdat = nil
		r, _ := c.bodyError(nil, werr) // logs and ends the transaction
		if !last {
			// RFC 3030 2: later chunks up to LAST are read and refused.
			t.failed = true
			c.t = t
			c.beginTx()
		}
		return r
	}
	if !last {
		return reply{code: 250, enh: "2.0.0", text: "Ok: " + strconv.FormatUint(size, 10) + " octets received"}
	}
	if err := b.nz.Close(); err != nil {
		b.sp.Close()
		r, _ := c.bodyError(nil, err)
		return r
	}
	defer b.sp.Close()
	return c.finish("BDAT", b.sp, &b.hdr)
}

// copyChunk copies n octets of a BDAT chunk to w. After a write error it
// reads on and drops the rest, so the session stays in step; a read
// error ends the session.
func (c *conn) copyChunk(w io.Writer, n int64) (werr, rerr error) {
	c.startData()
	defer func() { c.rd.dataMode = false }()
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	buf := *bp
	for n > 0 {
		k := int64(len(buf))
		if n < k {
			k = n
		}
		m, err := io.ReadFull(c.br, buf[:k])
		n -= int64(m)
		if werr == nil && m > 0 {
			_, werr = w.Write(buf[:m])
		}
		if err != nil {
			return werr, err
		}
	}
	return werr, nil
}

// skip reads and drops n octets of a refused chunk.
func (c *conn) skip(n int64) bool {
	c.startData()
	defer func() { c.rd.dataMode = false }()
	m, err := io.CopyN(io.Discard, c.br, n)
	if m < n {
		c.bodyError(err, nil)
		return false
	}
	return true
}

// hopWriter feeds the header scanner on the way into the spool.
type hopWriter struct {
	h *headerScan
	w io.Writer
}

func (hw *hopWriter) Write(p []byte) (int, error) {
	if !hw.h.done {
		hw.h.feed(p)
	}
	return hw.w.Write(p)
}

// finish runs the end-of-data checks on the spooled message, builds the
// envelope and trace, hands it to the Deliverer and answers.
func (c *conn) finish(what string, sp *envelope.Spool, hdr *headerScan) reply {
	c.setStage("END-OF-MESSAGE")
	t := c.t
	defer c.endTx()
	if hdr.n > maxHops {
		return c.rejectedTx("END-OF-MESSAGE", t, "", errTooManyHops)
	}
	if len(t.routed) == 0 {
		return errNoValidRcpt
	}
	if t.id == "" {
		t.id = envelope.NewID()
	}
	env := c.envelope(t, sp.Size())
	req := c.request(policy.EndOfData)
	req.Env, req.Size = env, sp.Size()
	if len(c.lists.EndOfData) > 0 {
		// Every content check of this message shares one read and one
		// MIME parse of the spool.
		req.Body = mime.Shared(sp)
	}
	ctx, done := c.checkContext()
	d := c.lists.AtEndOfData(ctx, req)
	done()
	if d.Refused() {
		return c.rejectedTx("END-OF-MESSAGE", t, "", replyOfVerdict(d.Verdict))
	}
	t.note(policy.EndOfData, d)
	c.recordSPF(t, env) // env.Auth and Received-SPF (spf.go)
	env.Verdicts, env.Header = t.verdicts, t.headers
	if r, ok := c.redirect(t, append(t.effects, d.Effects...), d.Verdict); !ok {
		return c.rejectedTx("END-OF-MESSAGE", t, "", r)
	}
	trace := c.received(env)
	if c.srv.mode.submit() || c.srv.mode == Pickup {
		trace = c.addMissing(trace, env, hdr)
	}
	if r, ok := c.authenticate(t, env, trace, sp); !ok {
		return c.rejectedTx("END-OF-MESSAGE", t, "", r)
	}
	id := hdr.messageID()
	if !hdr.msgID && (c.srv.mode.submit() || c.srv.mode == Pickup) {
		id = addedMessageID(env, c.cfg.Hostname)
	}
	c.srv.pub(&event.MessageID{QueueID: t.id, MessageID: id})
	msg := &delivery.Message{Env: env, Trace: trace, Body: sp, Rcpts: t.routed}
	c.srv.pub(&event.Received{QueueID: t.id, From: t.from, Size: msg.Size(), NRcpt: len(t.rcpts)})
	ctx, cancel := context.WithTimeout(c.srv.ctx, c.cfg.SMTP.Timeout.D())
	err := c.srv.o.Deliverer.Deliver(ctx, msg)
	cancel()
	switch {
	case errors.Is(err, delivery.ErrOverQuota):
		if c.cfg.Delivery.OverQuotaTempfail {
			return c.rejectedTx("END-OF-MESSAGE", t, "", reply{code: 452, enh: "4.2.2", text: "Mailbox full"})
		}
		return c.rejectedTx("END-OF-MESSAGE", t, "", reply{code: 552, enh: "5.2.2", text: "Mailbox full"})
	case err != nil:
		c.srv.log.Error(t.id + ": deliver: " + err.Error())
		return c.rejectedTx("END-OF-MESSAGE", t, "", errWriteFailed)
	}
	c.delivered()
	c.cnt.errors = 0 // the error limits count errors "without delivering mail"
	return reply{code: 250, enh: "2.0.0", text: "Ok: queued as " + t.id}
}

// redirect applies REDIRECT (every recipient replaced by one address)
// and BCC (one address added) verdicts, as Postfix's cleanup does: the new
// address is resolved like a RCPT, without the relay check (the verdict
// came from our own configuration).
func (c *conn) redirect(t *tx, effects []policy.Verdict, final policy.Verdict) (reply, bool) {
	all := append(effects[:len(effects):len(effects)], final)
	for _, v := range all {
		if v.Action != policy.Redirect && v.Action != policy.BCC || v.Arg == "" {
			continue
		}
		ctx, cancel := context.WithTimeout(c.srv.ctx, lookupTimeout)
		res, err := c.srv.o.Resolver.Resolve(ctx, v.Arg, c.cfg.RecipientDelimiter)
		cancel()
		if err != nil || len(res.Destinations) == 0 {
			c.srv.log.Warn(t.id + ": " + v.Action.String() + " to <" + v.Arg + "> (" + v.Check + "): cannot resolve it")
			return reply{code: 451, enh: "4.3.0", text: "Error: queue file write error"}, false
		}
		rcpt := envelope.Recipient{Address: v.Arg}
		if v.Action == policy.Redirect {
			t.routed, t.seen = nil, nil
		}
		for _, d := range res.Destinations {
			t.route(rcpt, d)
		}
		c.srv.log.Info(t.id + ": " + v.Action.String() + ": " + v.Check + " to <" + v.Arg + ">")
	}
	return reply{}, true
}

// delivered clears the error counters, as Postfix does after a message.
func (c *conn) delivered() {
	c.cnt.errors, c.cnt.junk = 0, 0
}

// envelope builds the message's envelope from the session and transaction.
func (c *conn) envelope(t *tx, size int64) *envelope.Envelope {
	env := &envelope.Envelope{
		ID: t.id, From: t.from, Recipients: t.rcpts, Received: time.Now(),
		ClientIP: c.ip, ClientHost: c.host, Helo: c.helo, AuthUser: c.user, TLS: c.tls, Protocol: t.proto,
		EnvID: t.mp.EnvID, Ret: t.mp.Ret, Body8: t.mp.Body == "8BITMIME", SMTPUTF8: t.mp.SMTPUTF8,
		AuthParam: t.mp.Auth, Size: size,
		Client: envelope.Client{IP: c.ip, Port: c.port, Host: c.host, HostConfirmed: c.host != "unknown", ReverseTemp: c.dnsTemp, ReverseHost: c.revHost, Helo: c.helo,
			AuthUser: c.user, AuthMech: c.mech, Service: c.srv.mode.service()},
	}
	if x := c.xfwd; x != nil { // XFORWARD: the original client's facts
		if a, err := netip.ParseAddr(strings.TrimPrefix(x["ADDR"], "IPV6:")); err == nil {
			env.ClientIP = a
		}
		if n := x["NAME"]; n != "" && n != "[UNAVAILABLE]" {
			env.ClientHost = n
		}
		if h := x["HELO"]; h != "" && h != "[UNAVAILABLE]" {
			env.Helo = h
		}
	}
	if st := c.tlsState; st != nil {
		env.Client.TLSVersion, env.Client.TLSCipher = tlsVersion(st.Version), cipherName(st.CipherSuite)
	}
	return env
}

// spoolBody copies the body into sp and scans its header (Received fields,
// Date, Message-ID). It reads to the end even past maxHops, so the
// session stays in step.
func spoolBody(sp *envelope.Spool, r io.Reader) (h headerScan, rerr, werr error) {
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	buf := *bp
	for {
		n, err := r.Read(buf)
		if n > 0 {
			if !h.done {
				h.feed(buf[:n])
			}
			if werr == nil {
				_, werr = sp.Write(buf[:n])
			}
		}
		if err == io.EOF {
			return h, nil, werr
		}
		if err != nil {
			return h, err, werr
		}
	}
}
