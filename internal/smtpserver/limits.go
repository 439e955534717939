package smtpserver

import (
	"net/netip"
	"strings"
	"time"

	"mailwarden/internal/config"
	"mailwarden/internal/event"
	"mailwarden/internal/policy"
)

// Limiter is the abuse-limit policy the engine consults (internal/anvil
// implements it): the engine reports each event Postfix's anvil counts and
// obeys the answer; the counting, the limits and their exceptions are
// the Limiter's. It must be safe for concurrent use and must not block on
// a database in Hit and Over.
type Limiter interface {
	// Hit counts one event of kind k by ip and returns the client's rate
	// and whether it is over the configured limit.
	Hit(cfg *config.Config, ip netip.Addr, k event.LimitKind) (rate int, over bool)
	// Over is Hit without counting.
	Over(cfg *config.Config, ip netip.Addr, k event.LimitKind) (rate int, over bool)
	// Pregreeted reports whether ip is remembered as having talked
	// before the greeting ([postscreen] greet_ttl).
	Pregreeted(cfg *config.Config, ip netip.Addr) bool
	// RememberPregreet remembers that ip talked before the greeting.
	RememberPregreet(cfg *config.Config, ip netip.Addr)
}

// limited counts one event of kind k and, when the client is over its
// rate, logs Postfix's warning and returns Postfix's reply.
func (c *conn) limited(k event.LimitKind) (reply, bool) {
	if c.srv.o.Limiter == nil || c.srv.mode == Pickup {
		return reply{}, false
	}
	n, over := c.srv.o.Limiter.Hit(c.cfg, c.ip, k)
	if !over {
		return reply{}, false
	}
	return c.overLimit(k, n), true
}

// overLimit logs the warning of a rate limit and returns its reply, as
// Postfix's smtpd words them.
func (c *conn) overLimit(k event.LimitKind, n int) reply {
	c.srv.pub(&event.RateLimited{Program: c.srv.mode.program(), Client: c.peer(), Kind: k, Count: n})
	addr := c.ip.Unmap().String()
	switch k {
	case event.ConnectionRate:
		return reply{code: 421, enh: "4.7.0", text: c.cfg.Hostname + " Error: too many connections from " + addr, close: true}
	case event.MessageRate:
		return reply{code: 450, enh: "4.7.1", text: "Error: too much mail from " + addr}
	case event.RecipientRate:
		return reply{code: 450, enh: "4.7.1", text: "Error: too many recipients from " + addr}
	case event.NewTLSRate:
		return reply{code: 454, enh: "4.7.0", text: "Error: too many new TLS sessions from " + c.client}
	default:
		return reply{code: 450, enh: "4.7.1", text: "Error: too many AUTH commands from " + addr}
	}
}

// tlsAllowed checks the new-TLS-session rate before a handshake.
func (c *conn) tlsAllowed() (reply, bool) {
	if c.srv.o.Limiter == nil {
		return reply{}, true
	}
	if n, over := c.srv.o.Limiter.Over(c.cfg, c.ip, event.NewTLSRate); over {
		return c.overLimit(event.NewTLSRate, n), false
	}
	return reply{}, true
}

// countTLS counts a completed handshake that did not resume a session.
func (c *conn) countTLS(resumed bool) {
	if c.srv.o.Limiter != nil && !resumed {
		c.srv.o.Limiter.Hit(c.cfg, c.ip, event.NewTLSRate)
	}
}

var (
	// postscreen's replies to a client that failed the pregreet test.
	replyPregreetDrop    = reply{code: 521, enh: "5.5.1", text: "Protocol error", close: true}
	verdictPregreetRefus = policy.Verdict{Code: 550, Enhanced: "5.5.1", Text: "Protocol error", Check: "pregreet"}
)

// atConnect runs the connect-time limits before the greeting: the
// connection rate (smtpd_client_connection_rate_limit) and postscreen's
// pregreet test, which a client on postscreen's DNS allowlist skips. A
// reply with close set ends the session.
func (c *conn) atConnect(accepted time.Time, allowlisted bool) (reply, bool) {
	if r, over := c.limited(event.ConnectionRate); over {
		return r, true
	}
	if c.srv.mode == Submissions || c.srv.mode == Pickup || allowlisted {
		return reply{}, false
	}
	ps := &c.cfg.Postscreen
	screen := ps.GreetAction != "ignore" && !c.mynets && c.srv.o.Limiter != nil
	remembered := screen && c.srv.o.Limiter.Pregreeted(c.cfg, c.ip)
	if !remembered {
		wait := time.Duration(0)
		if screen {
			wait = ps.GreetWait.D()
		}
		c.pregreet = c.talkedEarly(wait)
	}
	if !screen || !remembered && !c.pregreet {
		return reply{}, false
	}
	if c.pregreet {
		buf, _ := c.br.Peek(c.br.Buffered())
		c.srv.pub(&event.Pregreet{Program: c.srv.mode.program(), Client: c.peer(), Port: c.port, Bytes: len(buf),
			After: time.Since(accepted), Text: earlyText(buf)})
		c.srv.o.Limiter.RememberPregreet(c.cfg, c.ip)
	}
	if ps.GreetAction == "drop" {
		c.logReject("CONNECT", "", replyPregreetDrop)
		return replyPregreetDrop, true
	}
	if c.psRefused == nil { // postscreen's enforce: every RCPT refused
		v := verdictPregreetRefus
		c.psRefused = &v
	}
	return reply{}, false
}

// talkedEarly reports whether the client sent anything before the
// greeting (RFC 5321 4.3.1), waiting up to wait for it; what it sent
// stays buffered for the command loop.
func (c *conn) talkedEarly(wait time.Duration) bool {
	if wait <= 0 {
		if !pending(c.raw) {
			return false
		}
		wait = 50 * time.Millisecond // it is there: read it for the log
	}
	c.raw.SetReadDeadline(time.Now().Add(wait))
	_, err := c.br.Peek(1)
	c.raw.SetReadDeadline(time.Time{})
	return err == nil || c.br.Buffered() > 0
}

// earlyText is the start of what a client sent early, as postscreen logs
// it: up to 100 bytes, CR and LF as \r and \n, other control bytes as ?.
func earlyText(b []byte) string {
	if len(b) > 100 {
		b = b[:100]
	}
	var sb strings.Builder
	for _, ch := range b {
		switch {
		case ch == '\r':
			sb.WriteString(`\r`)
		case ch == '\n':
			sb.WriteString(`\n`)
		case ch < 0x20 || ch >= 0x7f:
			sb.WriteByte('?')
		default:
			sb.WriteByte(ch)
		}
	}
	return sb.String()
}

// errorSleep slows down a client past smtp.soft_error_limit errors
// without delivering mail: smtp.error_sleep_time before each reply
// (Postfix smtpd_soft_error_limit, smtpd_error_sleep_time). Shutdown cuts
// the sleep short.
func (c *conn) errorSleep() {
	s := &c.cfg.SMTP.SMTPLimits
	if c.cnt.errors <= s.SoftErrorLimit || s.ErrorSleepTime <= 0 {
		return
	}
	t := time.NewTimer(s.ErrorSleepTime.D())
	defer t.Stop()
	select {
	case <-t.C:
	case <-c.srv.ctx.Done():
	}
}
