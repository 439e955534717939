package smtpclient

import (
	"errors"
	"fmt"
	"io"
	"strings"
)

// pipeBatch bounds the bytes of commands written before their replies
// are read. RFC 2920 5 warns of the deadlock when both sides block
// writing; a batch this small always fits in the socket's send buffer, so
// our writes never wait for the server to read while it waits for us.
const pipeBatch = 4096

type cmdKind int

const (
	cmdRSET cmdKind = iota
	cmdMAIL
	cmdRCPT
	cmdDATA
)

type command struct {
	line string
	kind cmdKind
	rcpt int // index in Message.Rcpts for RCPT
}

// txn is the state of one MAIL transaction.
type txn struct {
	s        *session
	res      []Result
	accepted []int  // indexes of recipients the server accepted
	mailDone bool   // MAIL was answered
	mailErr  bool   // ... and refused: res holds its reply
	data     *reply // the reply to DATA
}

// transaction runs [RSET,] MAIL, RCPT and DATA: pipelined (RFC 2920) when
// the server offers PIPELINING and always for LMTP (RFC 2033 4.2), one
// command at a time otherwise. From MAIL on, the host's replies decide
// every recipient's Result; a nil Result slice (a lost connection before
// the end of DATA, or a cached connection found dead) lets the caller try
// again elsewhere. Afterwards s.c is reusable unless it is broken.
func (s *session) transaction() ([]Result, sessFailure) {
	m, c := s.d.m, s.c
	x := &txn{s: s, res: fill(m, Result{Relay: s.t.relay(), TLS: c.tls, DSN: c.ext.has("DSN")})}
	if max := c.ext.size(); max > 0 && m.Size > max {
		// RFC 1870 6.1: do not send what the server said it will refuse.
		return x.all(552, "5.3.4", "message size exceeds fixed limit of "+s.t.relay()), sessFailure{}
	}
	if m.SMTPUTF8 && !c.ext.has("SMTPUTF8") {
		// RFC 6531 3.2: the message cannot be delivered.
		return x.all(550, "5.6.7", "SMTPUTF8 is required, but was not offered by host "+s.t.relay()), sessFailure{}
	}
	if badLine(m.From) {
		return x.all(553, "5.1.7", "bad sender address syntax"), sessFailure{}
	}
	body, err := m.Body()
	if err != nil {
		return x.all(451, "4.3.0", "cannot read the message: "+err.Error()), sessFailure{}
	}
	defer body.Close()

	cmds, nrcpt := s.commands(x)
	if nrcpt == 0 {
		return x.res, sessFailure{} // no recipient could be sent
	}
	if f, ok := x.exchange(cmds); !ok {
		return nil, f
	}
	switch {
	case x.mailErr || len(x.accepted) == 0:
		if x.data != nil && x.data.code == 354 {
			// RFC 2920 3.1: the server wants a message nobody will get.
			if c.queue(".") == nil && c.flush() == nil {
				_, _ = c.read(2 * s.d.o.CommandTimeout)
			}
		}
		return x.res, sessFailure{}
	case x.data.code != 354:
		x.setAccepted(x.data.code, x.data.enhanced(), x.data.text)
		return x.res, sessFailure{}
	}
	return x.sendBody(body)
}

// commands builds the command group and counts its RCPTs; recipients
// whose address cannot be sent get their Result here.
func (s *session) commands(x *txn) ([]command, int) {
	m := s.d.m
	var cmds []command
	nrcpt := 0
	if s.reused {
		// A cached connection: clear any state and see that it is alive.
		cmds = append(cmds, command{line: "RSET", kind: cmdRSET})
	}
	cmds = append(cmds, command{line: s.mailCommand(), kind: cmdMAIL})
	for i, r := range m.Rcpts {
		if badLine(r.Addr) {
			x.set(i, 553, "5.1.3", "bad recipient address syntax")
			continue
		}
		cmds = append(cmds, command{line: s.rcptCommand(r), kind: cmdRCPT, rcpt: i})
		nrcpt++
	}
	return append(cmds, command{line: "DATA", kind: cmdDATA}), nrcpt
}

// exchange writes the commands in groups and reads the replies in order.
// A group is one command without PIPELINING, else up to pipeBatch bytes.
// false means the transaction cannot go on (and nothing was accepted).
func (x *txn) exchange(cmds []command) (sessFailure, bool) {
	s, c := x.s, x.s.c
	pipelined := s.d.hop.LMTP || c.ext.has("PIPELINING")
	for i := 0; i < len(cmds) && !x.mailErr; {
		// With every earlier reply known, DATA is not sent when no
		// recipient was accepted.
		if cmds[i].kind == cmdDATA && len(x.accepted) == 0 {
			break
		}
		j, size := i, 0
		for j < len(cmds) && (j == i || pipelined && size+len(cmds[j].line)+2 <= pipeBatch) {
			if err := c.queue(cmds[j].line); err != nil {
				return s.lost(err, "sending commands"), false
			}
			size += len(cmds[j].line) + 2
			j++
		}
		if err := c.flush(); err != nil {
			return s.lost(err, "sending "+verb(cmds[i])), false
		}
		for _, cmd := range cmds[i:j] {
			if f, ok := x.receive(cmd); !ok {
				return f, false
			}
		}
		i = j
	}
	return sessFailure{}, true
}

// receive reads and applies the reply to one command.
func (x *txn) receive(cmd command) (sessFailure, bool) {
	s, c := x.s, x.s.c
	r, err := c.read(s.d.o.CommandTimeout)
	if err != nil {
		if x.mailErr {
			return sessFailure{}, true // the reply to MAIL decided already
		}
		return s.lost(err, "sending "+verb(cmd)), false
	}
	switch {
	case x.mailErr:
		if cmd.kind == cmdDATA {
			x.data = &r
		}
	case cmd.kind == cmdRSET:
		if !r.ok() {
			c.broken = true
			return s.fail(451, "4.4.2", "cached connection to %s refused RSET: %s", s.t.relay(), r), false
		}
	case cmd.kind == cmdMAIL:
		x.mailDone = true
		if r.ok() {
			break
		}
		if s.reused && r.code == 421 {
			// The server closed the cached connection: not the message's fault.
			return s.replyFailure(r), false
		}
		x.mailErr = true
		x.all(r.code, r.enhanced(), r.text)
	case cmd.kind == cmdRCPT:
		if r.ok() {
			x.accepted = append(x.accepted, cmd.rcpt)
		} else {
			x.set(cmd.rcpt, r.code, r.enhanced(), r.text)
		}
	case cmd.kind == cmdDATA:
		x.data = &r
	}
	return sessFailure{}, true
}

// sendBody sends the message after a 354 and reads the final reply (one
// per accepted recipient for LMTP, RFC 2033 4.2).
func (x *txn) sendBody(body io.Reader) ([]Result, sessFailure) {
	s, c := x.s, x.s.c
	dw := newDataWriter(c.bw) // RFC 5321 4.5.2 dot-stuffing, line ends normalised
	_, err := io.Copy(dw, &bodyReader{r: body})
	var be *bodyError
	if errors.As(err, &be) {
		// Abort without the final dot: the server discards the message.
		c.broken = true
		c.raw.Close()
		x.setAccepted(451, "4.3.0", "cannot read the message: "+err.Error())
		return x.res, sessFailure{}
	}
	if err == nil {
		err = dw.Close()
	}
	if err != nil {
		c.broken = true
		return nil, s.lost(err, "sending message body")
	}
	timeout := 2 * s.d.o.CommandTimeout // Postfix smtp_data_done_timeout
	if !s.d.hop.LMTP {
		r, err := c.read(timeout)
		if err != nil {
			x.setAccepted(451, "4.4.2", fmt.Sprintf("lost connection with %s while sending end of data -- message may be sent more than once: %v", s.t.relay(), err))
			return x.res, sessFailure{}
		}
		x.setAccepted(r.code, r.enhanced(), r.text)
		return x.res, sessFailure{}
	}
	for n, i := range x.accepted {
		r, err := c.read(timeout)
		if err != nil {
			for _, i := range x.accepted[n:] {
				x.set(i, 451, "4.4.2", fmt.Sprintf("lost connection with %s while reading LMTP replies -- message may be delivered more than once: %v", s.t.relay(), err))
			}
			break
		}
		x.set(i, r.code, r.enhanced(), r.text)
	}
	return x.res, sessFailure{}
}

func (x *txn) set(i, code int, enh, text string) {
	r := &x.res[i]
	r.Code, r.Enhanced, r.Text, r.Permanent = code, enh, text, code >= 500
}

func (x *txn) all(code int, enh, text string) []Result {
	for i := range x.res {
		x.set(i, code, enh, text)
	}
	return x.res
}

func (x *txn) setAccepted(code int, enh, text string) {
	for _, i := range x.accepted {
		x.set(i, code, enh, text)
	}
}

func verb(c command) string {
	switch c.kind {
	case cmdRSET:
		return "resetting a cached connection"
	case cmdMAIL:
		return "MAIL FROM"
	case cmdRCPT:
		return "RCPT TO"
	}
	return "DATA"
}

// mailCommand is MAIL FROM with the parameters the server takes.
func (s *session) mailCommand() string {
	m, ext := s.d.m, s.c.ext
	var b strings.Builder
	b.WriteString("MAIL FROM:<" + m.From + ">")
	if ext.has("8BITMIME") {
		b.WriteString(" BODY=8BITMIME") // RFC 6152
	}
	if ext.has("SIZE") && m.Size > 0 {
		fmt.Fprintf(&b, " SIZE=%d", m.Size) // RFC 1870
	}
	if m.SMTPUTF8 {
		b.WriteString(" SMTPUTF8") // RFC 6531 3.4
	}
	if ext.has("DSN") { // RFC 3461 4.3, 4.4
		if m.RetFull {
			b.WriteString(" RET=FULL")
		}
		if printable(m.EnvID) {
			b.WriteString(" ENVID=" + xtext(m.EnvID))
		}
	}
	return b.String()
}

// rcptCommand is RCPT TO with NOTIFY and ORCPT when the server offers DSN
// (RFC 3461 4.1, 4.2).
func (s *session) rcptCommand(r Rcpt) string {
	ext := s.c.ext
	line := "RCPT TO:<" + r.Addr + ">"
	if !ext.has("DSN") {
		return line
	}
	if n := notifyParam(r.Notify); n != "" {
		line += " NOTIFY=" + n
	}
	if r.ORCPT == "" {
		return line
	}
	typ, addr, ok := strings.Cut(r.ORCPT, ";")
	if !ok {
		typ, addr = "rfc822", r.ORCPT
	}
	switch {
	case addr == "":
	case strings.EqualFold(typ, "rfc822") && printable(addr):
		line += " ORCPT=rfc822;" + xtext(addr)
	case strings.EqualFold(typ, "utf-8") || strings.EqualFold(typ, "rfc822"):
		// RFC 6533 3: utf-8-addr-unitext to SMTPUTF8 servers, else xtext.
		line += " ORCPT=utf-8;" + utf8AddrText(addr, ext.has("SMTPUTF8"))
	}
	return line
}

// notifyParam is the NOTIFY value: known keywords once each; NEVER
// cannot be combined (RFC 3461 4.1), so such a list is dropped.
func notifyParam(list []string) string {
	var out []string
	never := false
	for _, n := range list {
		v := strings.ToUpper(strings.TrimSpace(n))
		switch v {
		case "NEVER":
			never = true
		case "SUCCESS", "FAILURE", "DELAY":
		default:
			continue
		}
		if !inList(out, v) {
			out = append(out, v)
		}
	}
	if never && len(out) > 1 {
		return ""
	}
	return strings.Join(out, ",")
}

func inList(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// xtext encodes s (RFC 3461 4).
func xtext(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if ch >= '!' && ch <= '~' && ch != '+' && ch != '=' {
			b.WriteByte(ch)
		} else {
			fmt.Fprintf(&b, "+%02X", ch)
		}
	}
	return b.String()
}

// utf8AddrText encodes an address as utf-8-addr-unitext (unicode kept)
// or utf-8-addr-xtext (RFC 6533 3).
func utf8AddrText(s string, unitext bool) string {
	var b strings.Builder
	for _, ch := range s {
		switch {
		case ch >= '!' && ch <= '~' && ch != '+' && ch != '=' && ch != '\\':
			b.WriteRune(ch)
		case ch > 0x7f && unitext:
			b.WriteRune(ch)
		default:
			fmt.Fprintf(&b, `\x{%X}`, ch)
		}
	}
	return b.String()
}

func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return s != ""
}

// badLine reports an address that cannot go into a command line.
func badLine(s string) bool { return strings.ContainsAny(s, "\r\n\x00") }

// bodyReader marks read errors so they are told from write errors.
type bodyReader struct{ r io.Reader }

type bodyError struct{ err error }

func (e *bodyError) Error() string { return e.err.Error() }
func (e *bodyError) Unwrap() error { return e.err }

func (b *bodyReader) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err != nil && err != io.EOF {
		err = &bodyError{err}
	}
	return n, err
}
