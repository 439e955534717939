package transport

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// Hop is a host next hop as Postfix writes it in relayhost and transport
// results: "[host]:port" and "[10.0.0.2]" (brackets: no MX lookup),
// "host" and "host:port" (MX lookup).
type Hop struct {
	// Host is a host or domain name, or an IP address, without brackets.
	Host string
	// Port is 0 for the transport's default.
	Port int
	// NoMX says Host is connected to directly rather than looked up as
	// a mail domain.
	NoMX bool
}

// services are the port names accepted after a host ("host:submission").
var services = map[string]int{"smtp": 25, "lmtp": 24, "submission": 587, "submissions": 465, "smtps": 465}

// ParseHop reads a relayhost-style next hop.
func ParseHop(s string) (Hop, error) {
	orig := s
	s = strings.TrimSpace(s)
	var h Hop
	rest := ""
	if strings.HasPrefix(s, "[") {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return Hop{}, fmt.Errorf("next hop %q: missing ]", orig)
		}
		h.Host, rest, h.NoMX = s[1:end], s[end+1:], true
		if len(h.Host) > 5 && strings.EqualFold(h.Host[:5], "ipv6:") {
			h.Host = h.Host[5:]
		}
		if rest != "" && rest[0] != ':' {
			return Hop{}, fmt.Errorf("next hop %q: unexpected %q after ]", orig, rest)
		}
	} else {
		h.Host, rest = s, ""
		if i := strings.IndexByte(s, ':'); i >= 0 {
			if strings.Count(s, ":") > 1 {
				return Hop{}, fmt.Errorf("next hop %q: write an IPv6 address in brackets, [2001:db8::1]:25", orig)
			}
			h.Host, rest = s[:i], s[i:]
		}
	}
	if h.Host == "" || strings.ContainsAny(h.Host, " \t[]@/,;") {
		return Hop{}, fmt.Errorf("next hop %q: bad host", orig)
	}
	if a, err := netip.ParseAddr(h.Host); err == nil {
		h.Host, h.NoMX = a.String(), true
	} else if strings.Contains(h.Host, ":") {
		return Hop{}, fmt.Errorf("next hop %q: bad address", orig)
	}
	if rest != "" {
		p, err := parsePort(rest[1:])
		if err != nil {
			return Hop{}, fmt.Errorf("next hop %q: %v", orig, err)
		}
		h.Port = p
	}
	return h, nil
}

func parsePort(s string) (int, error) {
	if p, ok := services[strings.ToLower(s)]; ok {
		return p, nil
	}
	p, err := strconv.Atoi(s)
	if err != nil || p < 1 || p > 65535 {
		return 0, fmt.Errorf("bad port %q", s)
	}
	return p, nil
}

// String writes h back in Postfix form.
func (h Hop) String() string {
	s := h.Host
	if h.NoMX {
		s = "[" + s + "]"
	}
	if h.Port != 0 {
		s += ":" + strconv.Itoa(h.Port)
	}
	return s
}
