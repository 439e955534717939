package smtpserver

import (
	"context"
	"errors"
	"mailwarden/internal/event"
	"math"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"mailwarden/internal/delivery"
	"mailwarden/internal/directory"
	"mailwarden/internal/envelope"
	"mailwarden/internal/msgauth/spf"
	"mailwarden/internal/policy"
	"mailwarden/internal/smtpwire"
)

// lookupTimeout bounds one directory or quota lookup: a down database gets
// a quick 451, not a hung session.
const lookupTimeout = 20 * time.Second

// tx is one mail transaction (MAIL to end of data).
type tx struct {
	id       string // queue id, given at the first accepted RCPT
	from     string
	mp       smtpwire.MailParams
	proto    string
	rcpts    []envelope.Recipient
	routed   []delivery.Routed
	seen     map[string]struct{}   // destinations already routed, past the first
	verdicts []envelope.Verdict    // what the checks said that sticks: discard, hold, prepend...
	headers  []envelope.HeaderEdit // fields checks asked to add
	effects  []policy.Verdict      // sticking verdicts before end of data, as said (redirect, bcc)
	bdat     *bdatState            // BDAT in progress
	failed   bool                  // a BDAT chunk failed: the rest are read and dropped
	instance string                // names the transaction to policy checks (Request.Instance)
	spf      *spf.Outcome          // the SPF outcome once computed (spf.go)
	spfFn    policy.SPFFunc        // Request.SPF of this transaction
}

var (
	instanceCount atomic.Uint64
	instanceStart = time.Now()
)

// newInstance returns a name for one mail transaction, unique in this
// process's life and across restarts (Postfix's policy "instance",
// which is pid, time and a counter in hex).
func newInstance() string {
	return strconv.FormatInt(int64(os.Getpid()), 16) + "." + strconv.FormatInt(instanceStart.UnixMicro(), 16) + "." +
		strconv.FormatUint(instanceCount.Add(1), 16)
}

var (
	errNestedMail  = reply{code: 503, enh: "5.5.1", text: "Error: nested MAIL command"}
	errNeedMail    = reply{code: 503, enh: "5.5.1", text: "Error: need MAIL command"}
	errNeedRcpt    = reply{code: 503, enh: "5.5.1", text: "Error: need RCPT command"}
	errNoStorage   = reply{code: 452, enh: "4.3.1", text: "Insufficient system storage"}
	errTooBig      = reply{code: 552, enh: "5.3.4", text: "Message size exceeds fixed limit"}
	errTooManyRcpt = reply{code: 452, enh: "4.5.3", text: "Error: too many recipients"}
)

// request fills the connection's one policy request for a stage. Checks
// must not keep it: it is reused by the next stage.
func (c *conn) request(st policy.Stage) *policy.Request {
	env := &c.reqEnv
	*env = envelope.Envelope{ClientIP: c.ip, ClientHost: c.host, Helo: c.helo, AuthUser: c.user, TLS: c.tls,
		Client: envelope.Client{IP: c.ip, Port: c.port, Host: c.host, HostConfirmed: c.host != "unknown", ReverseHost: c.revHost,
			Helo: c.helo, AuthUser: c.user, AuthMech: c.mech, Service: c.srv.mode.service()}}
	if st := c.tlsState; st != nil {
		env.Client.TLSVersion, env.Client.TLSCipher = tlsVersion(st.Version), cipherName(st.CipherSuite)
	}
	env.Protocol = "SMTP"
	if c.esmtp {
		env.Protocol = "ESMTP"
	}
	r := &c.req
	*r = policy.Request{Stage: st, Env: env, Service: c.srv.mode.service(), MyNetworks: c.mynets, TLS: c.plaintextOK(),
		Pipelined: c.pipelined != "", DNSTempFail: c.dnsTemp, Server: c.local}
	if t := c.t; t != nil {
		env.From, env.Recipients, env.ID, env.AuthParam = t.from, t.rcpts, t.id, t.mp.Auth
		r.Sender = t.from
		r.Size = int64(min(t.mp.Size, math.MaxInt64))
		if t.instance == "" {
			t.instance = newInstance()
		}
		r.Instance = t.instance
		r.SPF = c.spfOf(t)
	}
	return r
}

// plaintextOK reports whether AUTH and submission may proceed: under TLS,
// or from loopback when the config allows it.
func (c *conn) plaintextOK() bool {
	if c.srv.mode.submit() {
		return c.tls != "" || c.ipAllowsPlaintext()
	}
	return true
}

// mail starts a transaction.
func (c *conn) mail(arg string) reply {
	c.setStage("MAIL")
	if c.connRefused != nil {
		return c.rejected("MAIL", "", "", replyOfVerdict(*c.connRefused))
	}
	if c.t != nil { // RFC 5321 4.1.4: MAIL inside a transaction
		return c.rejected("MAIL", "", "", errNestedMail)
	}
	if r, over := c.limited(event.MessageRate); over { // smtpd_client_message_rate_limit
		return r
	}
	if c.lists.HeloRequired && c.helo == "" { // smtpd_helo_required
		return c.rejected("MAIL", rawAddr(arg), "", reply{code: 503, enh: "5.5.1", text: "Error: send HELO/EHLO first"})
	}
	p, params, err := smtpwire.ParseMail(arg)
	if err != nil {
		return c.rejected("MAIL", rawAddr(arg), "", replyOfErr(err))
	}
	mp, err := smtpwire.ParseMailParams(params)
	if err != nil {
		return c.rejected("MAIL", p.Addr, "", replyOfErr(err))
	}
	if err := smtpwire.RequireASCII(p, mp.SMTPUTF8, false); err != nil {
		return c.rejected("MAIL", p.Addr, "", replyOfErr(err))
	}
	// RFC 1870 6.1: a declared size over the limit is refused now.
	if mp.HasSize && mp.Size > uint64(c.cfg.SMTP.MessageSizeLimit) && c.cfg.SMTP.MessageSizeLimit > 0 {
		return c.rejected("MAIL", p.Addr, "", errTooBig)
	}
	// Postfix queue_minfree: refuse before the body when the spool is short.
	if !c.srv.disk.ok(c.srv.o.SpoolDir, c.cfg) {
		c.srv.log.Warn("not enough free space in " + c.srv.o.SpoolDir + " (queue_minfree)")
		return c.rejected("MAIL", p.Addr, "", errNoStorage)
	}
	if c.cnt.msgs >= c.cfg.SMTP.MaxMessagesPerSession {
		c.srv.log.Info("too many messages in one session from " + c.client)
		return reply{code: 421, enh: "4.7.0", text: "Error: too many messages in one session", close: true}
	}
	if c.beginTx() {
		return replyShuttingDown
	}
	c.cnt.msgs++
	c.t = &tx{from: p.Addr, mp: mp, proto: c.srv.mode.protocol(c.esmtp, c.tls != "", c.user != "")}
	ctx, done := c.checkContext()
	defer done()
	if d := c.lists.AtMail(ctx, c.request(policy.Mail)); d.Refused() {
		t := c.t
		c.endTx()
		return c.rejectedTx("MAIL", t, "", replyOfVerdict(d.Verdict))
	} else {
		c.t.note(policy.Mail, d)
		c.warnings("MAIL", c.t, "", d)
	}
	return reply{code: 250, enh: "2.1.0", text: "Ok"}
}

// rcpt adds a recipient: syntax, then where it goes, then the relay and
// recipient lists.
func (c *conn) rcpt(arg string) reply {
	c.setStage("RCPT")
	t := c.t
	if t == nil {
		return c.rejected("RCPT", "", "", errNeedMail)
	}
	if r, over := c.limited(event.RecipientRate); over { // smtpd_client_recipient_rate_limit
		return r
	}
	p, params, err := smtpwire.ParseRcpt(arg)
	if err != nil {
		return c.rejectedTx("RCPT", t, rawAddr(arg), replyOfErr(err))
	}
	rp, err := smtpwire.ParseRcptParams(params)
	if err != nil {
		return c.rejectedTx("RCPT", t, p.Addr, replyOfErr(err))
	}
	if err := smtpwire.RequireASCII(p, t.mp.SMTPUTF8, true); err != nil {
		return c.rejectedTx("RCPT", t, p.Addr, replyOfErr(err))
	}
	if len(t.rcpts) >= c.cfg.SMTP.MaxRecipients {
		return c.rejectedTx("RCPT", t, p.Addr, errTooManyRcpt)
	}
	to := p.Addr
	if p.Domain == "" { // <postmaster> (RFC 5321 4.5.1)
		to = p.Local + "@" + c.cfg.Hostname
	}
	if c.psRefused != nil { // postscreen_dnsbl_action = enforce
		return c.rejectedTx("RCPT", t, to, replyOfVerdict(*c.psRefused))
	}
	ctx, cancel := context.WithTimeout(c.srv.ctx, lookupTimeout)
	defer cancel()
	res, err := c.srv.o.Resolver.Resolve(ctx, to, c.cfg.RecipientDelimiter)
	switch {
	case errors.Is(err, directory.ErrBadAddress):
		return c.rejectedTx("RCPT", t, to, reply{code: 501, enh: "5.1.3", text: "<" + to + ">: Bad recipient address syntax"})
	case errors.Is(err, directory.ErrUnknownUser):
		res.Destinations = nil // reject_unlisted_recipient says so
	case err != nil:
		c.srv.log.Warn("recipient lookup <" + to + ">: " + err.Error())
		return c.rejectedTx("RCPT", t, to, reply{code: 451, enh: "4.3.0", text: "<" + to + ">: Temporary lookup failure"})
	}
	req := c.request(policy.Rcpt)
	req.Recipient, req.Resolution = to, &res
	lctx, done := c.checkContext()
	d := c.lists.AtRcpt(lctx, req)
	done()
	if d.Refused() {
		return c.rejectedTx("RCPT", t, to, replyOfVerdict(d.Verdict))
	}
	if len(res.Destinations) == 0 {
		// No list said so, but there is nowhere to deliver: Postfix's
		// implicit smtpd_reject_unlisted_recipient.
		return c.rejectedTx("RCPT", t, to, reply{code: 550, enh: "5.1.1", text: "<" + to + ">: Recipient address rejected: User unknown in virtual mailbox table"})
	}
	t.note(policy.Rcpt, d)
	c.warnings("RCPT", t, to, d)
	rcpt := envelope.Recipient{Address: to, ORCPT: rp.ORCPT, Notify: rp.Notify}
	t.rcpts = append(t.rcpts, rcpt)
	for _, dst := range res.Destinations {
		t.route(rcpt, dst)
	}
	if t.id == "" {
		t.id = envelope.NewID()
		if c.uid >= 0 { // Postfix pickup: "uid=N from=<sender>"
			c.srv.pub(&event.Submitted{QueueID: t.id, UID: c.uid, From: t.from})
		} else {
			c.srv.pub(&event.Queued{Program: c.srv.mode.program(), QueueID: t.id, Client: c.peer(), SASLMethod: c.mech, SASLUser: c.user})
		}
	}
	return reply{code: 250, enh: "2.1.5", text: "Ok"}
}

// note keeps what a stage's checks decided beyond accept or refuse: the
// side effects, and a final discard (Postfix DISCARD takes the whole
// message). Permit is not kept: it only ends a list.
func (t *tx) note(st policy.Stage, d policy.Decision) {
	keep := func(v policy.Verdict) {
		t.verdicts = append(t.verdicts, v.Record(st))
		if st != policy.EndOfData {
			t.effects = append(t.effects, v)
		}
		if v.Action == policy.Prepend && v.Arg != "" {
			t.headers = append(t.headers, envelope.HeaderEdit{Op: envelope.Prepend, Field: v.Arg})
		}
	}
	for _, v := range d.Effects {
		keep(v)
	}
	if d.Action != policy.Dunno && d.Action != policy.Permit {
		keep(d.Verdict)
	}
}

// warnings logs what warn_if_reject turned from a refusal into a warning,
// as Postfix's "reject_warning" lines.
func (c *conn) warnings(what string, t *tx, to string, d policy.Decision) {
	for _, v := range d.Effects {
		if v.Action != policy.Warn || v.Code == 0 {
			continue
		}
		c.srv.pub(&event.Reject{Program: c.srv.mode.program(), QueueID: t.id, Action: "reject_warning", Stage: what, Client: c.peer(),
			Code: v.Code, DSN: v.Enhanced, Text: v.Text, From: t.from, To: to, Proto: t.proto, Helo: c.helo, Reason: v.Check})
	}
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

// rawAddr is the address of a refused MAIL or RCPT argument as the log
// shows it: what is between the angle brackets, control characters as
// '?', at most 256 octets.
func rawAddr(arg string) string {
	if i := strings.IndexByte(arg, '<'); i >= 0 {
		arg = arg[i+1:]
		if j := strings.LastIndexByte(arg, '>'); j >= 0 {
			arg = arg[:j]
		}
	}
	if len(arg) > 256 {
		arg = arg[:256]
	}
	b := []byte(arg)
	for i, ch := range b {
		if ch < 0x20 || ch == 0x7f {
			b[i] = '?'
		}
	}
	return string(b)
}

func replyOfErr(err error) reply {
	var we *smtpwire.Error
	if errors.As(err, &we) {
		return replyOf(we)
	}
	return reply{code: 501, enh: "5.5.4", text: "Error: bad syntax"}
}

// rejected logs a refused command outside a transaction.
func (c *conn) rejected(what, from, to string, r reply) reply {
	c.logRejectTx(what, "", from, to, c.srv.mode.protocol(c.esmtp, c.tls != "", c.user != ""), r)
	return r
}

// rejectedTx logs a refused command of transaction t.
func (c *conn) rejectedTx(what string, t *tx, to string, r reply) reply {
	c.logRejectTx(what, t.id, t.from, to, t.proto, r)
	return r
}

// logReject logs a refusal of a command that has no sender yet.
func (c *conn) logReject(what, to string, r reply) {
	c.logRejectTx(what, "", "", to, c.srv.mode.protocol(c.esmtp, c.tls != "", c.user != ""), r)
}

// logRejectTx writes Postfix's "NOQUEUE: reject: RCPT from host[ip]: 550 ...;
// from=<s> to=<r> proto=ESMTP helo=<h>".
func (c *conn) logRejectTx(what, id, from, to, proto string, r reply) {
	c.srv.pub(&event.Reject{Program: c.srv.mode.program(), QueueID: id, Stage: what, Client: c.peer(),
		Code: r.code, DSN: r.enh, Text: r.text, From: from, To: to, Proto: proto, Helo: c.helo, Reason: rejectReason(r)})
}

// rejectReason names a rejection for metrics: the check that said so,
// else what the reply says.
func rejectReason(r reply) string {
	switch {
	case r.check != "":
		return r.check
	case r.code == 501 || r.code == 500 || r.code == 502 || r.code == 503 || r.code == 555 || r.code == 553 && r.enh == "5.6.7":
		return "syntax"
	case strings.Contains(r.text, "Relay access denied"):
		return "reject_unauth_destination"
	case strings.Contains(r.text, "User unknown"):
		return "reject_unlisted_recipient"
	case r.enh == "5.2.2" || r.enh == "4.2.2":
		return "quota"
	case r.code/100 == 4:
		return "tempfail"
	}
	return "other"
}
