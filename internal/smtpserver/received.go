package smtpserver

import (
	"mailwarden/internal/envelope"
	"strconv"
)

// received builds the trace header of RFC 5321 4.4 the way Postfix writes it:
//
//	Received: from helo (host [ip])
//		(using TLSv1.3 with cipher TLS_AES_128_GCM_SHA256)
//		by hostname (Mailwarden) with ESMTPS id QUEUEID
//		for <rcpt>; Mon, 2 Jan 2006 15:04:05 +0000 (UTC)
//
// "for" only names a single recipient, so a copy does not reveal the others.
func (c *conn) received(env *envelope.Envelope) []byte {
	b := make([]byte, 0, 256)
	if c.srv.mode == Pickup {
		return c.receivedLocal(b, env)
	}
	b = append(b, "Received: from "...)
	b = appendClean(b, env.Helo)
	b = append(b, " ("...)
	b = append(b, env.ClientHost...)
	b = append(b, " ["...)
	if env.ClientIP.Is6() {
		b = append(b, "IPv6:"...) // RFC 5321 4.1.3 address literal
	}
	b = env.ClientIP.AppendTo(b)
	b = append(b, "])\r\n"...)
	if env.TLS != "" {
		b = append(b, "\t(using "...)
		b = append(b, env.TLS...)
		b = append(b, ")\r\n"...)
	}
	b = append(b, "\tby "...)
	b = append(b, c.cfg.Hostname...)
	b = append(b, " (Mailwarden) with "...)
	b = append(b, env.Protocol...)
	b = append(b, " id "...)
	b = append(b, env.ID...)
	if len(env.Recipients) == 1 {
		b = append(b, "\r\n\tfor <"...)
		b = appendClean(b, env.Recipients[0].Address)
		b = append(b, '>')
	}
	b = append(b, "; "...)
	b = env.Received.AppendFormat(b, "Mon, 2 Jan 2006 15:04:05 -0700 (MST)")
	return append(b, "\r\n"...)
}

// receivedLocal is the trace of a local submission, as Postfix's pickup
// writes it:
//
//	Received: by hostname (Mailwarden, from userid 1000)
//		with local id QUEUEID; Mon, 2 Jan 2006 15:04:05 +0000 (UTC)
func (c *conn) receivedLocal(b []byte, env *envelope.Envelope) []byte {
	b = append(b, "Received: by "...)
	b = append(b, c.cfg.Hostname...)
	b = append(b, " (Mailwarden"...)
	if c.uid >= 0 {
		b = append(b, ", from userid "...)
		b = strconv.AppendInt(b, int64(c.uid), 10)
	}
	b = append(b, ")\r\n\twith "...)
	b = append(b, env.Protocol...)
	b = append(b, " id "...)
	b = append(b, env.ID...)
	b = append(b, "; "...)
	b = env.Received.AppendFormat(b, "Mon, 2 Jan 2006 15:04:05 -0700 (MST)")
	return append(b, "\r\n"...)
}

// appendClean appends client-supplied text with control characters and
// comment delimiters replaced, so it cannot break the header's structure.
func appendClean(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c < 0x20, c == 0x7f, c == '(', c == ')', c == '\\':
			b = append(b, '?')
		default:
			b = append(b, c)
		}
	}
	return b
}
