package smtpserver

import (
	"net/netip"
	"strconv"
	"strings"

	"mailwarden/internal/config"
	"mailwarden/internal/policy"
	"mailwarden/internal/smtpwire"
)

// xclientOK reports whether this client may send XCLIENT
// (smtp.authorized_xclient_hosts, judged by the real peer address).
func (c *conn) xclientOK() bool {
	return c.peerIP().IsValid() && config.InNets(c.cfg.SMTP.XclientNets, c.peerIP())
}

// xforwardOK reports whether this client may send XFORWARD.
func (c *conn) xforwardOK() bool {
	return c.peerIP().IsValid() && config.InNets(c.cfg.SMTP.XforwardNets, c.peerIP())
}

// peerIP is the address of the connection's real peer (XCLIENT may have
// replaced c.ip).
func (c *conn) peerIP() netip.Addr {
	if ap, err := netip.ParseAddrPort(c.raw.RemoteAddr().String()); err == nil {
		return ap.Addr().Unmap()
	}
	return netip.Addr{}
}

// xclient replaces the client's facts for the rest of the session, as
// Postfix's XCLIENT does for a trusted proxy: the session starts again
// with a new greeting.
func (c *conn) xclient(arg string) reply {
	c.setStage("XCLIENT")
	if !c.xclientOK() {
		return reply{code: 550, enh: "5.7.0", text: "Error: insufficient authorization"}
	}
	if c.t != nil {
		return reply{code: 503, enh: "5.5.1", text: "Error: MAIL transaction in progress"}
	}
	attrs, err := smtpwire.ParseAttrs(arg)
	if err != nil || len(attrs) == 0 {
		return reply{code: 501, enh: "5.5.4", text: "Syntax: XCLIENT attribute=value..."}
	}
	ip, host, helo, user, esmtp := c.ip, c.host, c.helo, c.user, c.esmtp
	port := c.port
	for _, a := range attrs {
		unavailable := a.Value == "[UNAVAILABLE]" || a.Value == "[TEMPUNAVAIL]"
		switch a.Key {
		case "ADDR":
			if unavailable {
				ip = netip.Addr{}
				continue
			}
			v := strings.TrimPrefix(strings.TrimPrefix(a.Value, "IPV6:"), "IPv6:")
			p, err := netip.ParseAddr(v)
			if err != nil {
				return reply{code: 501, enh: "5.5.4", text: "Bad ADDR syntax: " + strconvQuote(a.Value)}
			}
			ip = p.Unmap()
		case "NAME":
			host = "unknown"
			if !unavailable {
				host = a.Value
			}
		case "PORT":
			n, err := strconv.Atoi(a.Value)
			if err != nil && !unavailable {
				return reply{code: 501, enh: "5.5.4", text: "Bad PORT syntax"}
			}
			port = n
		case "HELO":
			helo = ""
			if !unavailable {
				helo = a.Value
			}
		case "PROTO":
			esmtp = strings.EqualFold(a.Value, "ESMTP")
		case "LOGIN":
			user = ""
			if !unavailable {
				user = a.Value
			}
		case "REVERSE_NAME", "DESTADDR", "DESTPORT":
		default:
			return reply{code: 501, enh: "5.5.4", text: "Bad XCLIENT attribute name: " + strconvQuote(a.Key)}
		}
	}
	c.ip, c.host, c.port, c.helo, c.user, c.esmtp = ip, host, port, helo, user, esmtp
	if user == "" {
		c.mech = ""
	} else if c.mech == "" {
		c.mech = "XCLIENT"
	}
	c.client = host + "[" + ip.String() + "]"
	c.mynets = ip.IsValid() && c.cfg.InMyNetworks(ip)
	c.connRefused = nil
	if d := c.lists.AtConnect(c.srv.ctx, c.request(policy.Connect)); d.Refused() {
		c.connRefused = &d.Verdict
	}
	return reply{code: 220, text: c.cfg.BannerText()}
}

// xforward records the original client's facts for the next transaction
// (a content filter re-injecting mail): they go into the log and the
// Received header, not into access decisions.
func (c *conn) xforward(arg string) reply {
	c.setStage("XFORWARD")
	if !c.xforwardOK() {
		return reply{code: 550, enh: "5.7.0", text: "Error: insufficient authorization"}
	}
	if c.t != nil {
		return reply{code: 503, enh: "5.5.1", text: "Error: MAIL transaction in progress"}
	}
	attrs, err := smtpwire.ParseAttrs(arg)
	if err != nil || len(attrs) == 0 {
		return reply{code: 501, enh: "5.5.4", text: "Syntax: XFORWARD attribute=value..."}
	}
	if c.xfwd == nil {
		c.xfwd = map[string]string{}
	}
	for _, a := range attrs {
		switch a.Key {
		case "NAME", "ADDR", "PORT", "PROTO", "HELO", "IDENT", "SOURCE":
			c.xfwd[a.Key] = a.Value
		default:
			return reply{code: 501, enh: "5.5.4", text: "Bad XFORWARD attribute name: " + strconvQuote(a.Key)}
		}
	}
	return reply{code: 250, enh: "2.0.0", text: "Ok"}
}

func strconvQuote(s string) string {
	if len(s) > 64 {
		s = s[:64]
	}
	return strconv.QuoteToASCII(s)
}
