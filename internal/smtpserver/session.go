package smtpserver

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-smtp"

	"mailwarden/internal/delivery"
	"mailwarden/internal/directory"
	"mailwarden/internal/envelope"
)

// lookupTimeout bounds one directory or quota lookup: a down database gets
// a quick 451, not a hung session.
const lookupTimeout = 20 * time.Second

// tx is one mail transaction (MAIL to end of data).
type tx struct {
	id     string // queue id, given at the first accepted RCPT
	from   string
	helo   string
	proto  string
	size   int64 // declared SIZE
	body8  bool
	utf8   bool
	envID  string
	ret    string
	rcpts  []envelope.Recipient
	routed []delivery.Routed
	seen   map[string]struct{} // destinations already routed, past the first
}

// session is one go-smtp session: from EHLO to QUIT, or to STARTTLS, which
// starts a new one on the same conn.
type session struct {
	c   *conn
	sc  *smtp.Conn
	tls string // "TLSv1.3 with cipher ...", "" in plaintext

	mu        sync.Mutex // Data may run in go-smtp's BDAT goroutine
	t         tx
	inTx      bool
	afterData bool   // the next Reset ends a DATA/BDAT, not an RSET
	user      string // SASL user (the mailbox name) after AUTH, "" before
	mech      string // its mechanism
}

// replyTooManyErrors ends a session past smtpd_hard_error_limit.
const replyTooManyErrors = "421 4.7.0 Error: too many errors"

var (
	errNestedMail   = &smtp.SMTPError{Code: 503, EnhancedCode: smtp.EnhancedCode{5, 5, 1}, Message: "Error: nested MAIL command"}
	errShuttingDown = &smtp.SMTPError{Code: 421, EnhancedCode: smtp.EnhancedCode{4, 3, 2}, Message: "Error: service shutting down, try again later"}
)

func (c *conn) newSession(sc *smtp.Conn) (smtp.Session, error) {
	if c.isDraining() {
		return nil, errShuttingDown
	}
	s := &session{c: c, sc: sc}
	var ss smtp.Session = s
	if c.srv.mode.submit() {
		ss = authSession{s} // offers AUTH
	}
	st, isTLS := sc.TLSConnectionState()
	if !isTLS {
		c.setStage("EHLO")
		return ss, nil
	}
	s.tls = tlsInfo(st)
	// The reply to EHLO is encrypted now: count it here, and take it as
	// EHLO, as every STARTTLS client sends.
	c.esmtp.Store(true)
	c.mu.Lock()
	first := !c.tlsSeen
	c.tlsSeen = true
	if first && c.srv.mode != Submissions { // implicit TLS is no STARTTLS
		c.n[0][cmdStarttls]++
		c.n[1][cmdStarttls]++
	}
	c.n[0][cmdEhlo]++
	c.n[1][cmdEhlo]++
	c.stage = "EHLO"
	c.mu.Unlock()
	if first {
		c.srv.log.Info("Anonymous TLS connection established from " + c.client + ": " + s.tls)
	}
	return ss, nil
}

// Mail starts a transaction. go-smtp has already checked syntax, the order
// of commands and SIZE against the limit (552 5.3.4).
func (s *session) Mail(from string, opts *smtp.MailOptions) error {
	c := s.c
	c.setStage("MAIL")
	if c.tooManyErrors() {
		c.closeWith(s.sc, replyTooManyErrors)
		return errShuttingDown
	}
	s.mu.Lock()
	nested := s.inTx
	s.mu.Unlock()
	if nested { // RFC 5321 4.1.4: MAIL inside a transaction
		return s.reject(cmdMail, &tx{from: from, helo: s.sc.Hostname()}, "", errNestedMail)
	}
	user, _ := s.authUser()
	if c.srv.mode.submit() {
		if e := s.submitCheck(from, user); e != nil {
			return s.reject(cmdMail, &tx{from: from, helo: s.sc.Hostname()}, "", e)
		}
	}
	switch draining, tooMany := c.beginTx(); {
	case draining:
		c.count(cmdMail, false)
		c.closeWith(s.sc, "421 4.3.2 "+c.cfg.Hostname+" Error: service shutting down, try again later")
		return errShuttingDown
	case tooMany:
		c.count(cmdMail, false)
		c.srv.log.Info("too many messages in one session from " + c.client)
		c.closeWith(s.sc, "421 4.7.0 Error: too many messages in one session")
		return errShuttingDown
	}
	t := tx{
		from:  from,
		helo:  s.sc.Hostname(),
		proto: c.srv.mode.protocol(c.esmtp.Load(), s.tls != "", user != ""),
		size:  opts.Size,
		body8: opts.Body == smtp.Body8BitMIME,
		utf8:  opts.UTF8,
		envID: opts.EnvelopeID,
		ret:   string(opts.Return),
	}
	s.mu.Lock()
	s.t, s.inTx = t, true
	s.mu.Unlock()
	c.count(cmdMail, true)
	return nil
}

// Rcpt checks one recipient: syntax, relay, existence, quota.
func (s *session) Rcpt(to string, opts *smtp.RcptOptions) error {
	c := s.c
	c.setStage("RCPT")
	if c.tooManyErrors() {
		c.closeWith(s.sc, replyTooManyErrors)
		return errShuttingDown
	}
	s.mu.Lock()
	t := s.t // a copy for the reject log
	user := s.user
	s.mu.Unlock()
	ctx, cancel := context.WithTimeout(c.srv.ctx, lookupTimeout)
	defer cancel()
	res, err := c.srv.o.Resolver.Resolve(ctx, to, c.cfg.RecipientDelimiter)
	switch {
	case errors.Is(err, directory.ErrBadAddress):
		return s.reject(cmdRcpt, &t, to, rcptError(501, 5, 1, 3, to, "Bad recipient address syntax"))
	case errors.Is(err, directory.ErrUnknownUser):
		return s.reject(cmdRcpt, &t, to, rcptError(550, 5, 1, 1, to, "Recipient address rejected: User unknown in virtual mailbox table"))
	case err != nil:
		c.srv.log.Warn("recipient lookup <" + to + ">: " + err.Error())
		return s.reject(cmdRcpt, &t, to, rcptError(451, 4, 3, 0, to, "Temporary lookup failure"))
	}
	// A bare name qualified by sendmail with our host name, which is no
	// mail domain here: relaying it would loop back to us.
	if c.srv.mode == Pickup && res.Class == directory.Foreign && strings.EqualFold(domainOf(to), c.cfg.Hostname) {
		return s.reject(cmdRcpt, &t, to, rcptError(550, 5, 1, 1, to, "Recipient address rejected: "+c.cfg.Hostname+
			" is not a mail domain here (give a full address, or add the domain and an alias)"))
	}
	// Never an open relay: a foreign domain needs a client allowed to relay.
	if res.Class == directory.Foreign && !c.srv.mode.mayRelay(c.cfg, c.ip, user != "") {
		return s.reject(cmdRcpt, &t, to, rcptError(554, 5, 7, 1, to, "Relay access denied"))
	}
	if len(res.Destinations) == 0 {
		return s.reject(cmdRcpt, &t, to, rcptError(550, 5, 1, 1, to, "Recipient address rejected: User unknown in virtual mailbox table"))
	}
	if e := s.checkQuota(ctx, to, t.size, res.Destinations); e != nil {
		return s.reject(cmdRcpt, &t, to, e)
	}
	rcpt := envelope.Recipient{Address: to, ORCPT: opts.OriginalRecipient}
	for _, n := range opts.Notify {
		rcpt.Notify = append(rcpt.Notify, string(n))
	}
	s.mu.Lock()
	s.t.rcpts = append(s.t.rcpts, rcpt)
	for _, d := range res.Destinations {
		s.t.route(rcpt, d)
	}
	newID := s.t.id == ""
	if newID {
		s.t.id = envelope.NewID()
	}
	id := s.t.id
	s.mu.Unlock()
	if newID {
		line := id + ": client=" + c.client
		if c.uid >= 0 { // Postfix pickup: "uid=N from=<sender>"
			line = id + ": uid=" + strconv.Itoa(c.uid) + " from=<" + t.from + ">"
		}
		if user, mech := s.authUser(); user != "" {
			line += ", sasl_method=" + mech + ", sasl_username=" + user
		}
		c.srv.log.Info(line)
	}
	c.count(cmdRcpt, true)
	return nil
}

// route adds a destination once: two RCPTs reaching one mailbox deliver one
// copy, as Postfix does.
func (t *tx) route(rcpt envelope.Recipient, d directory.Destination) {
	key := strconv.Itoa(int(d.Kind)) + d.Address
	if len(t.routed) == 0 {
		t.routed = append(t.routed, delivery.Routed{Rcpt: rcpt, Dest: d})
		return
	}
	if t.seen == nil {
		first := t.routed[0].Dest
		t.seen = map[string]struct{}{strconv.Itoa(int(first.Kind)) + first.Address: {}}
	}
	if _, dup := t.seen[key]; dup {
		return
	}
	t.seen[key] = struct{}{}
	t.routed = append(t.routed, delivery.Routed{Rcpt: rcpt, Dest: d})
}

// checkQuota refuses a recipient whose every destination is a full mailbox.
// When only some are full the others must not be refused: the Deliverer
// handles the full ones.
func (s *session) checkQuota(ctx context.Context, to string, size int64, dests []directory.Destination) *smtp.SMTPError {
	full := 0
	for _, d := range dests {
		if d.Kind != directory.Local {
			continue
		}
		err := s.c.srv.o.Deliverer.CheckQuota(ctx, d.Mailbox, size)
		switch {
		case errors.Is(err, delivery.ErrOverQuota):
			full++
		case err != nil:
			s.c.srv.log.Warn("quota lookup " + d.Mailbox.Username + ": " + err.Error())
			return rcptError(451, 4, 3, 0, to, "Temporary lookup failure")
		}
	}
	if full == 0 || full < len(dests) {
		return nil
	}
	if s.c.cfg.Delivery.OverQuotaTempfail {
		return rcptError(452, 4, 2, 2, to, "Mailbox full")
	}
	return rcptError(552, 5, 2, 2, to, "Mailbox full")
}

// Reset ends the transaction: RSET, a new EHLO, or the end of DATA/BDAT.
func (s *session) Reset() {
	c := s.c
	s.mu.Lock()
	afterData := s.afterData
	s.t, s.inTx, s.afterData = tx{}, false, false
	s.mu.Unlock()
	if !afterData {
		c.setStage("RSET")
		c.junkCommand()
	}
	c.endTx()
	if c.tooManyErrors() {
		c.closeWith(s.sc, replyTooManyErrors)
	}
}

// Logout ends the session.
func (s *session) Logout() error {
	s.mu.Lock()
	s.t, s.inTx = tx{}, false
	s.mu.Unlock()
	s.c.endTx()
	return nil
}

// reject counts and logs a refused command and returns its reply. Past
// smtpd_hard_error_limit a refused MAIL or RCPT is followed by 421 and the
// end of the connection; after DATA the next command or Reset does that.
func (s *session) reject(k cmd, t *tx, to string, e *smtp.SMTPError) error {
	c := s.c
	c.count(k, false)
	over := c.addError()
	s.logReject(k, t, to, e)
	if over && k != cmdData && k != cmdBdat {
		c.closeWith(s.sc, replyLine(e), replyTooManyErrors)
	}
	return e
}

// logReject writes Postfix's "NOQUEUE: reject: RCPT from host[ip]: 550 ...;
// from=<s> to=<r> proto=ESMTP helo=<h>".
func (s *session) logReject(k cmd, t *tx, to string, e *smtp.SMTPError) {
	var b strings.Builder
	if t.id != "" {
		b.WriteString(t.id)
	} else {
		b.WriteString("NOQUEUE")
	}
	b.WriteString(": reject: ")
	if k == cmdData || k == cmdBdat {
		b.WriteString("END-OF-MESSAGE")
	} else {
		b.WriteString(strings.ToUpper(cmdNames[k]))
	}
	b.WriteString(" from ")
	b.WriteString(s.c.client)
	b.WriteString(": ")
	b.WriteString(replyLine(e))
	b.WriteString("; from=<" + t.from + ">")
	if to != "" {
		b.WriteString(" to=<" + to + ">")
	}
	proto := t.proto
	if proto == "" {
		user, _ := s.authUser()
		proto = s.c.srv.mode.protocol(s.c.esmtp.Load(), s.tls != "", user != "")
	}
	b.WriteString(" proto=" + proto + " helo=<" + t.helo + ">")
	s.c.srv.log.Info(b.String())
}

// rcptError is a reply about one address: "<addr>: text".
func rcptError(code, a, b, c int, addr, text string) *smtp.SMTPError {
	return &smtp.SMTPError{Code: code, EnhancedCode: smtp.EnhancedCode{a, b, c}, Message: "<" + addr + ">: " + text}
}

// replyLine formats e as go-smtp writes it.
func replyLine(e *smtp.SMTPError) string {
	ec := e.EnhancedCode
	return strconv.Itoa(e.Code) + " " + strconv.Itoa(ec[0]) + "." + strconv.Itoa(ec[1]) + "." + strconv.Itoa(ec[2]) + " " + e.Message
}

// domainOf returns the part of addr after the last '@'.
func domainOf(addr string) string {
	return addr[strings.LastIndexByte(addr, '@')+1:]
}
