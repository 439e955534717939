package smtpserver

import (
	"context"
	"errors"
	"mailwarden/internal/event"
	"strconv"
	"strings"

	"mailwarden/internal/auth/login"
	"mailwarden/internal/directory"
	"mailwarden/internal/policy"
	"mailwarden/internal/smtpwire"
)

// reply is what a command handler returns; the loop writes it.
type reply struct {
	code  int
	enh   string   // enhanced status code (RFC 3463), "" for none
	text  string   // one line
	lines []string // several lines (EHLO), instead of text
	close bool     // end the session after this reply
	check string   // the check whose verdict this is, for logs and metrics
}

func (r reply) String() string {
	s := strconv.Itoa(r.code)
	if r.enh != "" {
		s += " " + r.enh
	}
	if r.lines != nil {
		return s + " " + r.lines[len(r.lines)-1]
	}
	return s + " " + r.text
}

func replyOf(e *smtpwire.Error) reply { return reply{code: e.Code, enh: e.Enhanced, text: e.Text} }

func replyOfVerdict(v policy.Verdict) reply {
	return reply{code: v.Code, enh: v.Enhanced, text: v.Text, check: v.Check}
}

// cmd indexes the command counters of the disconnect line, in Postfix's
// order.
type cmd int

const (
	cmdHelo cmd = iota
	cmdEhlo
	cmdXclient
	cmdXforward
	cmdStarttls
	cmdAuth
	cmdMail
	cmdRcpt
	cmdData
	cmdBdat
	cmdRset
	cmdNoop
	cmdVrfy
	cmdHelp
	cmdQuit
	cmdUnknown
	numCmds
)

var cmdNames = [numCmds]string{"helo", "ehlo", "xclient", "xforward", "starttls", "auth", "mail", "rcpt", "data", "bdat", "rset", "noop", "vrfy", "help", "quit", "unknown"}

// counters are the session's command counts and error budgets.
type counters struct {
	n      [2][numCmds]int // [0]: accepted, [1]: all
	errors int             // smtpd_hard_error_limit
	junk   int             // smtpd_junk_command_limit
	msgs   int             // transactions started
}

var (
	replyTooManyErrors = reply{code: 421, enh: "4.7.0", text: "Error: too many errors", close: true}
	replyUnknown       = reply{code: 502, enh: "5.5.2", text: "Error: command not recognized"}
	replyShuttingDown  = reply{code: 421, enh: "4.3.2", text: "Service shutting down", close: true}
)

// mustBeLast are the commands RFC 2920 3.1 allows only at the end of a
// pipelined group.
var mustBeLast = map[string]bool{"EHLO": true, "HELO": true, "DATA": true, "VRFY": true, "EXPN": true,
	"TURN": true, "QUIT": true, "NOOP": true, "STARTTLS": true, "AUTH": true}

// command runs one command line and returns its reply.
func (c *conn) command(line []byte) reply {
	verb, arg := smtpwire.SplitCommand(line)
	switch {
	case c.pregreet:
		// RFC 5321 4.3.1: it talked before the greeting.
		c.pregreet, c.pipelined = false, "CONNECT"
		c.srv.pub(&event.Lost{Program: c.srv.mode.program(), Kind: event.Pipelining, After: "CONNECT", Client: c.peer(), Detail: login.LogSafe(verb)})
	case c.pipelined == "" && c.br.Buffered() > 0 && (mustBeLast[verb] || !c.esmtp):
		// RFC 2920 3.1: a command that must end a group, or any command of
		// a client that was not offered PIPELINING, followed by more input.
		c.pipelined = verb
		c.srv.pub(&event.Lost{Program: c.srv.mode.program(), Kind: event.Pipelining, After: verb, Client: c.peer()})
	}
	switch verb {
	case "HELO":
		return c.count(cmdHelo, c.hello(arg, false))
	case "EHLO":
		return c.count(cmdEhlo, c.hello(arg, true))
	case "MAIL":
		return c.count(cmdMail, c.mail(arg))
	case "RCPT":
		return c.count(cmdRcpt, c.rcpt(arg))
	case "DATA":
		return c.count(cmdData, c.data(arg))
	case "BDAT":
		return c.count(cmdBdat, c.bdat(arg))
	case "RSET":
		return c.junk(cmdRset, c.rset(arg))
	case "NOOP":
		return c.junk(cmdNoop, reply{code: 250, enh: "2.0.0", text: "Ok"})
	case "VRFY":
		return c.junk(cmdVrfy, c.vrfy(arg))
	case "HELP":
		return c.junk(cmdHelp, reply{code: 214, enh: "2.0.0", text: "Commands: HELO EHLO MAIL RCPT DATA BDAT RSET NOOP VRFY QUIT STARTTLS AUTH"})
	case "QUIT":
		c.cnt.n[0][cmdQuit]++
		c.cnt.n[1][cmdQuit]++
		return reply{code: 221, enh: "2.0.0", text: "Bye", close: true}
	case "STARTTLS":
		return c.count(cmdStarttls, c.starttls(arg))
	case "AUTH":
		return c.count(cmdAuth, c.auth(arg))
	case "XCLIENT":
		return c.count(cmdXclient, c.xclient(arg))
	case "XFORWARD":
		return c.count(cmdXforward, c.xforward(arg))
	}
	c.setStage("UNKNOWN")
	c.srv.log.Info("warning: " + c.client + ": unknown command: " + login.LogSafe(verb))
	return c.count(cmdUnknown, replyUnknown)
}

// count records a command and whether it succeeded. Refused commands
// count toward smtpd_hard_error_limit (Postfix counts syntax errors and
// unknown commands the same way); past it the session ends with 421.
func (c *conn) count(k cmd, r reply) reply {
	c.cnt.n[1][k]++
	if r.code < 400 {
		c.cnt.n[0][k]++
		return r
	}
	if r.close {
		return r
	}
	if c.addError() {
		c.send(r) // the refusal, then the 421
		return replyTooManyErrors
	}
	return r
}

// addError counts one error toward smtpd_hard_error_limit and reports
// whether the session is now past it (and logs that it is).
func (c *conn) addError() bool {
	c.cnt.errors++
	if c.cnt.errors < c.cfg.SMTP.HardErrorLimit {
		return false
	}
	c.srv.pub(&event.Lost{Program: c.srv.mode.program(), Kind: event.TooManyErrors, After: c.getStage(), Client: c.peer()})
	return true
}

// junk counts NOOP, RSET, VRFY and HELP: past smtpd_junk_command_limit
// each one is also an error (Postfix), so a flood of them ends the session.
func (c *conn) junk(k cmd, r reply) reply {
	c.setStage(strings.ToUpper(cmdNames[k]))
	c.cnt.junk++
	if c.cnt.junk > c.cfg.SMTP.JunkCommandLimit && r.code < 400 {
		c.cnt.n[1][k]++
		c.cnt.n[0][k]++
		if c.addError() {
			return replyTooManyErrors
		}
		return r
	}
	return c.count(k, r)
}

// hello answers HELO and EHLO. EHLO lists the extensions this session may
// use; RFC 5321 4.1.1.1: the first line is our name.
func (c *conn) hello(arg string, ehlo bool) reply {
	if ehlo {
		c.setStage("EHLO")
	} else {
		c.setStage("HELO")
	}
	if arg == "" {
		if ehlo {
			return reply{code: 501, enh: "5.5.4", text: "Syntax: EHLO hostname"}
		}
		return reply{code: 501, enh: "5.5.4", text: "Syntax: HELO hostname"}
	}
	if strings.ContainsFunc(arg, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return reply{code: 501, enh: "5.5.4", text: "Error: bad syntax"}
	}
	// RFC 5321 4.1.4: EHLO/HELO resets any transaction.
	if c.t != nil {
		c.endTx()
	}
	c.helo, c.esmtp = arg, ehlo
	ctx, done := c.checkContext()
	defer done()
	if d := c.lists.AtHelo(ctx, c.request(policy.Helo)); d.Refused() {
		c.logReject("HELO", "", replyOfVerdict(d.Verdict))
		return replyOfVerdict(d.Verdict)
	}
	if !ehlo {
		return reply{code: 250, text: c.cfg.Hostname}
	}
	lines := []string{c.cfg.Hostname, "PIPELINING", "SIZE " + strconv.FormatInt(int64(c.cfg.SMTP.MessageSizeLimit), 10)}
	if !c.cfg.SMTP.DisableVRFYCommand {
		lines = append(lines, "VRFY")
	}
	if c.srv.o.TLS != nil && c.tls == "" {
		lines = append(lines, "STARTTLS")
	}
	if c.srv.mode.submit() && c.plaintextOK() && c.user == "" {
		if ms := offered(c.cfg); ms != "" {
			lines = append(lines, "AUTH "+ms)
		}
	}
	if c.xclientOK() {
		lines = append(lines, "XCLIENT NAME ADDR PORT PROTO HELO LOGIN DESTADDR DESTPORT")
	}
	if c.xforwardOK() {
		lines = append(lines, "XFORWARD NAME ADDR PORT PROTO HELO IDENT SOURCE")
	}
	lines = append(lines, "ENHANCEDSTATUSCODES", "8BITMIME", "DSN", "SMTPUTF8", "CHUNKING")
	return reply{code: 250, lines: lines}
}

// rset aborts the transaction.
func (c *conn) rset(arg string) reply {
	if arg != "" {
		return reply{code: 501, enh: "5.5.4", text: "Syntax: RSET"}
	}
	if c.t != nil {
		c.endTx()
	}
	return reply{code: 250, enh: "2.0.0", text: "Ok"}
}

// vrfy answers VRFY as Postfix does: 252 for an address we would accept,
// 550 for an unknown user, 502 when disable_vrfy_command is set.
func (c *conn) vrfy(arg string) reply {
	if c.cfg.SMTP.DisableVRFYCommand {
		return reply{code: 502, enh: "5.5.1", text: "VRFY command is disabled"}
	}
	addr := strings.TrimSuffix(strings.TrimPrefix(arg, "<"), ">")
	if addr == "" {
		return reply{code: 501, enh: "5.5.4", text: "Syntax: VRFY address"}
	}
	p, _, err := smtpwire.ParseRcpt("TO:<" + addr + ">")
	if err != nil {
		return reply{code: 501, enh: "5.1.3", text: "Bad recipient address syntax"}
	}
	ctx, cancel := context.WithTimeout(c.srv.ctx, lookupTimeout)
	defer cancel()
	res, err := c.srv.o.Resolver.Resolve(ctx, p.Addr, c.cfg.RecipientDelimiter)
	switch {
	case errors.Is(err, directory.ErrUnknownUser), err == nil && res.Class != directory.Foreign && len(res.Destinations) == 0:
		return reply{code: 550, enh: "5.1.1", text: "<" + p.Addr + ">: Recipient address rejected: User unknown in virtual mailbox table"}
	case errors.Is(err, directory.ErrBadAddress):
		return reply{code: 501, enh: "5.1.3", text: "Bad recipient address syntax"}
	case err != nil:
		return reply{code: 451, enh: "4.3.0", text: "<" + p.Addr + ">: Temporary lookup failure"}
	}
	return reply{code: 252, enh: "2.0.0", text: p.Addr}
}
