package smtpserver

import (
	"crypto/tls"
	"encoding/base64"
	"errors"
	"mailwarden/internal/event"
	"strconv"
	"strings"
	"time"

	"mailwarden/internal/auth/login"
	"mailwarden/internal/auth/mech"
	"mailwarden/internal/config"
	"mailwarden/internal/smtpwire"
)

var (
	errAuthFailed = reply{code: 535, enh: "5.7.8", text: "Error: authentication failed: authentication failure"}
	errAuthTemp   = reply{code: 454, enh: "4.7.0", text: "Temporary authentication failure"}
	// RFC 4954 6: a plaintext mechanism without TLS.
	errAuthEncrypt = reply{code: 538, enh: "5.7.11", text: "Encryption required for requested authentication mechanism"}
	// RFC 4954 4: no AUTH inside a mail transaction.
	errAuthInTx = reply{code: 503, enh: "5.5.1", text: "Error: MAIL transaction in progress"}
	// RFC 5802 7: a SCRAM client that requires channel binding.
	errChannelBinding = reply{code: 535, enh: "5.7.8", text: "Error: authentication failed: channel-binding-not-supported"}
)

// maxAuthLine bounds one line of an AUTH exchange (RFC 4954 4: at least
// 12288 octets).
const maxAuthLine = 12288

// offered is the AUTH keyword's list: auth.mechanisms in order.
func offered(cfg *config.Config) string { return strings.Join(mech.Offered(cfg), " ") }

func (c *conn) ipAllowsPlaintext() bool { return login.PlaintextAllowed(false, c.ip, c.cfg) }

// auth runs one AUTH exchange (RFC 4954) through the login package, which
// applies the failure delay and the per-IP lockout.
func (c *conn) auth(arg string) reply {
	c.setStage("AUTH")
	if !c.srv.mode.submit() {
		return replyUnknown
	}
	f := strings.Fields(arg)
	name := ""
	if len(f) > 0 {
		name = strings.ToUpper(f[0])
	}
	switch {
	case len(f) == 0 || len(f) > 2:
		return reply{code: 501, enh: "5.5.4", text: "Syntax: AUTH mechanism"}
	case c.user != "":
		return reply{code: 503, enh: "5.5.1", text: "Error: already authenticated"}
	case !c.plaintextOK():
		return c.authError(name, "", errAuthEncrypt)
	case c.t != nil:
		return c.authError(name, "", errAuthInTx)
	}
	if r, over := c.limited(event.AuthRate); over { // smtpd_client_auth_rate_limit
		return r
	}
	m, err := mech.New(name, mech.Options{Auth: c.srv.o.Auth, Config: c.cfg, Service: c.srv.mode.service(),
		IP: c.ip, Hostname: c.cfg.Hostname, Ctx: c.srv.ctx, Timeout: lookupTimeout})
	if err != nil {
		return c.authError(name, "", reply{code: 504, enh: "5.7.4", text: "Unsupported authentication mechanism"})
	}
	var resp []byte
	if len(f) == 2 {
		if f[1] == "=" { // RFC 4954 4: an empty initial response
			resp = []byte{}
		} else if resp, err = base64.StdEncoding.DecodeString(f[1]); err != nil {
			return c.authError(name, "", reply{code: 501, enh: "5.5.2", text: "Error: cannot decode response"})
		}
	}
	for {
		ch, done, err := m.Next(resp)
		switch {
		case errors.Is(err, login.ErrTemporary):
			return c.authError(name, m.User(), errAuthTemp)
		case errors.Is(err, mech.ErrChannelBinding):
			return c.authError(name, m.User(), errChannelBinding)
		case err != nil:
			return c.authError(name, m.User(), errAuthFailed)
		case done:
			c.user, c.mech = m.Mailbox().Username, name
			c.srv.pub(&event.AuthOK{Program: c.srv.mode.program(), Client: c.peer(), Mechanism: name, User: c.user})
			return reply{code: 235, enh: "2.7.0", text: "Authentication successful"}
		}
		c.bw.WriteString("334 " + base64.StdEncoding.EncodeToString(ch) + "\r\n")
		if !c.flush() {
			return reply{close: true}
		}
		c.setReadDeadline(time.Now().Add(c.idle))
		line, err := smtpwire.ReadLine(c.br, maxAuthLine)
		if err != nil {
			if errors.Is(err, smtpwire.ErrLineTooLong) {
				return c.authError(name, m.User(), reply{code: 500, enh: "5.5.6", text: "Error: authentication line too long"})
			}
			c.readFailed(err)
			return reply{close: true}
		}
		if string(line) == "*" { // RFC 4954 4: the client cancels
			return c.authError(name, m.User(), reply{code: 501, enh: "5.7.0", text: "Authentication aborted"})
		}
		if resp, err = base64.StdEncoding.DecodeString(string(line)); err != nil {
			return c.authError(name, m.User(), reply{code: 501, enh: "5.5.2", text: "Error: cannot decode response"})
		}
	}
}

// authError logs a failed AUTH the way Postfix does (the line fail2ban's
// postfix-sasl filter matches) and returns its reply.
func (c *conn) authError(name, user string, r reply) reply {
	if r.code == errAuthFailed.code || r.code == errAuthTemp.code {
		why := "authentication failure"
		if r.code == errAuthTemp.code {
			why = "temporary failure"
		}
		c.srv.pub(&event.AuthFailed{Program: c.srv.mode.program(), Client: c.peer(), Mechanism: login.LogSafe(name),
			Reason: why, User: login.LogSafe(user)})
	}
	return r
}

// starttls upgrades the connection (RFC 3207). Everything learned before
// it is forgotten (4.2), and anything the client sent after the command in
// the same packet is dropped: it could be a command injected before the
// handshake.
func (c *conn) starttls(arg string) reply {
	c.setStage("STARTTLS")
	switch {
	case c.srv.o.TLS == nil:
		return replyUnknown
	case c.tls != "":
		return reply{code: 554, enh: "5.5.1", text: "Error: TLS already active"}
	case arg != "":
		return reply{code: 501, enh: "5.5.4", text: "Syntax: STARTTLS"}
	}
	if r, ok := c.tlsAllowed(); !ok { // smtpd_client_new_tls_session_rate_limit
		return r
	}
	c.send(reply{code: 220, enh: "2.0.0", text: "Ready to start TLS"})
	if !c.flush() {
		return reply{close: true}
	}
	if n := c.br.Buffered(); n > 0 {
		c.srv.log.Warn("possible STARTTLS command injection from " + c.client + ": " + "dropped " + strconv.Itoa(n) + " octets sent before the handshake")
		c.br.Discard(n)
	}
	if !c.startTLS() {
		return reply{close: true}
	}
	return reply{}
}

// startTLS runs the server side of the handshake on the raw connection and
// resets the session (RFC 3207 4.2).
func (c *conn) startTLS() bool {
	tc := tls.Server(c.raw, c.srv.o.TLS)
	c.raw.SetDeadline(c.writeDeadline(time.Now().Add(c.idle)))
	if err := tc.Handshake(); err != nil {
		c.srv.log.Info("SSL_accept error from " + c.client + ": " + err.Error())
		return false
	}
	c.raw.SetDeadline(time.Time{})
	st := tc.ConnectionState()
	c.countTLS(st.DidResume)
	c.nc, c.tlsState = tc, &st
	c.tls = tlsInfo(st)
	c.rd.r = tc
	c.br.Reset(&c.rd)
	c.bw.Reset(tc)
	c.helo, c.esmtp, c.user, c.mech, c.xfwd = "", false, "", "", nil
	if c.t != nil {
		c.endTx()
	}
	c.srv.log.Info("Anonymous TLS connection established from " + c.client + ": " + c.tls)
	return true
}
