package smtpclient

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"net"
)

// session is one use of a connection to one address: a new connection
// (greeting, EHLO, STARTTLS, AUTH) or one taken from the Cache.
type session struct {
	d      *delivery
	t      target
	level  string // TLS level asked for this connection
	c      *conn
	reused bool // c came from the Cache
}

// sessFailure is why a session did not take the message.
type sessFailure struct {
	failure
	tlsFailed bool // STARTTLS or the handshake failed: "may" retries plain
}

func (s *session) fail(code int, enhanced, format string, args ...any) sessFailure {
	return sessFailure{failure: failure{code: code, enhanced: enhanced,
		text: fmt.Sprintf(format, args...), relay: s.t.relay()}}
}

// replyFailure is the server's reply as a failure.
func (s *session) replyFailure(r reply) sessFailure {
	return sessFailure{failure: failure{code: r.code, enhanced: r.enhanced(), text: r.text, relay: s.t.relay()}}
}

// lost is a temporary failure for an I/O or protocol error.
func (s *session) lost(err error, stage string) sessFailure {
	return s.fail(451, "4.4.2", "lost connection with %s while %s: %s", s.t.relay(), stage, netErrText(err))
}

// open connects and gets the connection ready for a transaction. On
// failure the connection is closed.
func (s *session) open(ctx context.Context) (sessFailure, bool) {
	o := s.d.o
	dialer := net.Dialer{Timeout: o.ConnectTimeout}
	if o.LocalAddr.IsValid() && s.t.network == "tcp" {
		dialer.LocalAddr = &net.TCPAddr{IP: o.LocalAddr.AsSlice()}
	}
	raw, err := dialer.DialContext(ctx, s.t.network, s.t.addr)
	if err != nil {
		return s.fail(451, "4.4.1", "connect to %s: %s", s.t.relay(), netErrText(err)), false
	}
	s.c = newConn(raw, o.CommandTimeout)
	stop := s.c.watch(ctx)
	f, ok := s.setup(ctx)
	if !stop() {
		s.c.broken = true
		if ok {
			f, ok = s.fail(451, "4.4.2", "delivery to %s canceled: %v", s.t.relay(), context.Cause(ctx)), false
		}
	}
	if !ok {
		s.c.quit()
	}
	return f, ok
}

func (s *session) setup(ctx context.Context) (sessFailure, bool) {
	r, err := s.c.read(s.d.o.CommandTimeout)
	if err != nil {
		return s.lost(err, "receiving the greeting"), false
	}
	if r.code != 220 {
		s.c.broken = true // RFC 5321 3.1: a 554 greeting; only QUIT is left
		return s.replyFailure(r), false
	}
	if f, ok := s.hello("receiving the greeting or sending EHLO"); !ok {
		return f, ok
	}
	if f, ok := s.startTLS(ctx); !ok {
		return f, ok
	}
	return s.auth()
}

// hello sends EHLO (LHLO for LMTP), falling back to HELO when an old
// server does not know EHLO, and records the extensions.
func (s *session) hello(stage string) (sessFailure, bool) {
	verb := "EHLO"
	if s.d.hop.LMTP {
		verb = "LHLO"
	}
	r, err := s.c.cmd(verb + " " + s.d.o.HeloName)
	if err == nil && (r.code == 500 || r.code == 502) && !s.d.hop.LMTP {
		r, err = s.c.cmd("HELO " + s.d.o.HeloName)
		if err == nil && r.ok() {
			r.lines = r.lines[:1] // no extensions
		}
	}
	if err != nil {
		return s.lost(err, stage), false
	}
	if r.code != 250 {
		return s.replyFailure(r), false
	}
	s.c.ext = parseEHLO(r.lines)
	return sessFailure{}, true
}

func (s *session) startTLS(ctx context.Context) (sessFailure, bool) {
	if s.level == "none" {
		return sessFailure{}, true
	}
	if !s.c.ext.has("STARTTLS") {
		if s.level == "may" {
			return sessFailure{}, true
		}
		return s.fail(451, "4.7.4", "TLS is required, but was not offered by host %s", s.t.relay()), false
	}
	cfg := &tls.Config{
		ServerName:         s.t.host,
		InsecureSkipVerify: s.level != "verify", // may/encrypt: RFC 7435 opportunistic
		RootCAs:            s.d.o.RootCAs,
		MinVersion:         tls.VersionTLS12,
	}
	if err := s.c.starttls(ctx, cfg); err != nil {
		f := s.fail(451, "4.7.5", "TLS with %s failed: %v", s.t.relay(), err)
		f.tlsFailed = true
		return f, false
	}
	st := s.c.nc.(*tls.Conn).ConnectionState()
	s.c.tls = tls.VersionName(st.Version) + " untrusted"
	if s.level == "verify" {
		s.c.tls = tls.VersionName(st.Version) + " verified"
	}
	// RFC 3207 4.2: forget what was learnt before TLS.
	return s.hello("sending EHLO after STARTTLS")
}

// auth sends AUTH PLAIN (RFC 4954, initial response) when the hop has
// credentials. Failures are temporary (Postfix
// smtp_sasl_auth_soft_bounce) and move to the next host.
func (s *session) auth() (sessFailure, bool) {
	hop := s.d.hop
	if hop.Username == "" {
		return sessFailure{}, true
	}
	if s.c.tls == "" && s.t.network != "unix" {
		return s.fail(451, "4.7.0", "not sending credentials to %s without TLS", s.t.relay()), false
	}
	if !s.c.ext.auth("PLAIN") {
		return s.fail(451, "4.7.0", "%s offers no AUTH PLAIN", s.t.relay()), false
	}
	resp := base64.StdEncoding.EncodeToString([]byte("\x00" + hop.Username + "\x00" + hop.Password))
	r, err := s.c.cmd("AUTH PLAIN " + resp)
	if err == nil && r.code == 334 { // a server that ignored the initial response
		r, err = s.c.cmd(resp)
	}
	var f sessFailure
	switch {
	case err != nil:
		f = s.lost(err, "authenticating")
	case r.code == 235:
		return sessFailure{}, true
	default:
		f = s.replyFailure(r)
		if r.code == 334 {
			s.c.broken = true // still inside the exchange
		}
	}
	f.code, f.enhanced = 451, "4.7.0"
	f.text = "SASL authentication failed: " + f.text
	return f, false
}

// run opens a new connection and delivers on it.
func (s *session) run(ctx context.Context) ([]Result, sessFailure) {
	if f, ok := s.open(ctx); !ok {
		return nil, f
	}
	return s.deliver(ctx)
}

// deliver runs the transaction on the open connection, then parks it in
// the Cache or ends it.
func (s *session) deliver(ctx context.Context) ([]Result, sessFailure) {
	stop := s.c.watch(ctx)
	res, f := s.transaction()
	if !stop() {
		s.c.broken = true // canceled: the socket is closed
	}
	if cache := s.d.o.Cache; cache != nil && !s.c.broken {
		cache.put(&idleConn{c: s.c, t: s.t, dest: s.d.destKey(), addr: s.d.addrKey(s.t)})
	} else {
		s.c.quit()
	}
	return res, f
}
