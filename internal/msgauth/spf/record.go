package spf

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// mechKind names a mechanism (RFC 7208 5).
type mechKind uint8

const (
	mAll mechKind = iota
	mInclude
	mA
	mMX
	mPTR
	mIP4
	mIP6
	mExists
)

var mechNames = map[string]mechKind{
	"all": mAll, "include": mInclude, "a": mA, "mx": mMX, "ptr": mPTR,
	"ip4": mIP4, "ip6": mIP6, "exists": mExists,
}

// dnsTerm reports whether the mechanism counts against the limit of 10
// terms that query DNS (4.6.4).
func (k mechKind) dnsTerm() bool {
	return k == mInclude || k == mA || k == mMX || k == mPTR || k == mExists
}

// mechanism is one directive: [qualifier] mechanism.
type mechanism struct {
	qual   Result
	kind   mechKind
	text   string      // as written, for Verdict.Mechanism
	domain macroString // target domain-spec; no parts: the current domain
	net    netip.Prefix
	cidr4  int // a, mx: prefix lengths for IPv4 and IPv6 clients
	cidr6  int
}

// record is a parsed SPF record.
type record struct {
	mechs    []mechanism
	redirect *macroString
	exp      *macroString
}

// ErrSyntax is wrapped by every record syntax error.
var ErrSyntax = errors.New("spf: syntax error")

// isSPF reports whether a TXT record is an SPF record: "v=spf1" in any
// case, then a space or the end (4.5).
func isSPF(txt string) bool {
	return len(txt) >= 6 && strings.EqualFold(txt[:6], "v=spf1") && (len(txt) == 6 || txt[6] == ' ')
}

// parseRecord parses a whole SPF record before any of it is evaluated,
// so a syntax error anywhere is a PermError even after a match (4.6).
func parseRecord(txt string) (*record, error) {
	if !isSPF(txt) {
		return nil, fmt.Errorf("%w: not an SPF record", ErrSyntax)
	}
	r := &record{mechs: make([]mechanism, 0, min(strings.Count(txt, " "), 64))}
	// 4.6.1: terms are separated by one or more spaces (SP only).
	for term := range strings.SplitSeq(txt[6:], " ") {
		if term == "" {
			continue
		}
		if err := r.addTerm(term); err != nil {
			return nil, err
		}
	}
	return r, nil
}

func (r *record) addTerm(term string) error {
	// A modifier is name "=" ...; a mechanism has ":" or "/" (or nothing)
	// after its name (4.6.1).
	if i := strings.IndexAny(term, "=:/"); i >= 0 && term[i] == '=' {
		return r.addModifier(term[:i], term[i+1:], term)
	}
	m := mechanism{qual: Pass, text: term}
	switch term[0] {
	case '+':
		m.qual = Pass
	case '-':
		m.qual = Fail
	case '~':
		m.qual = SoftFail
	case '?':
		m.qual = Neutral
	}
	body := term
	if m.qual != Pass || term[0] == '+' {
		body = term[1:]
	}
	name, rest := body, ""
	if i := strings.IndexAny(body, ":/"); i >= 0 {
		name, rest = body[:i], body[i:]
	}
	kind, ok := mechNames[strings.ToLower(name)]
	if !ok {
		return fmt.Errorf("%w: unknown mechanism %q", ErrSyntax, term)
	}
	m.kind = kind
	if err := m.parseArgs(rest); err != nil {
		return fmt.Errorf("%w: %q: %v", ErrSyntax, term, err)
	}
	r.mechs = append(r.mechs, m)
	return nil
}

func (r *record) addModifier(name, value, term string) error {
	// 4.6.1 / A: name = ALPHA *( ALPHA / DIGIT / "-" / "_" / "." )
	if !modifierName(name) {
		return fmt.Errorf("%w: bad modifier name in %q", ErrSyntax, term)
	}
	switch strings.ToLower(name) {
	case "redirect", "exp":
		ms, err := parseMacro(value, false)
		if err != nil || !ms.validDomainSpec() {
			return fmt.Errorf("%w: %q needs a domain-spec", ErrSyntax, term)
		}
		slot := &r.redirect
		if strings.EqualFold(name, "exp") {
			slot = &r.exp
		}
		if *slot != nil { // 6: at most once each
			return fmt.Errorf("%w: %s= twice", ErrSyntax, strings.ToLower(name))
		}
		*slot = &ms
	default:
		// 6: unknown modifiers are ignored but must be well formed.
		if _, err := parseMacro(value, false); err != nil {
			return fmt.Errorf("%w: %q: %v", ErrSyntax, term, err)
		}
	}
	return nil
}

func modifierName(n string) bool {
	if n == "" || !(n[0] >= 'a' && n[0] <= 'z' || n[0] >= 'A' && n[0] <= 'Z') {
		return false
	}
	for i := 1; i < len(n); i++ {
		c := n[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// parseArgs parses what follows the mechanism name: ":" value and/or
// CIDR lengths, as each mechanism's grammar allows (5.1-5.7).
func (m *mechanism) parseArgs(rest string) error {
	m.cidr4, m.cidr6 = 32, 128
	switch m.kind {
	case mAll:
		if rest != "" {
			return errors.New("all takes no argument")
		}
	case mInclude, mExists:
		if !strings.HasPrefix(rest, ":") {
			return errors.New("domain-spec required")
		}
		return m.parseDomain(rest[1:])
	case mPTR:
		if rest == "" {
			return nil
		}
		if rest[0] != ':' {
			return errors.New("ptr takes no CIDR length")
		}
		return m.parseDomain(rest[1:])
	case mA, mMX:
		spec, c4, c6, err := dualCIDR(rest)
		if err != nil {
			return err
		}
		m.cidr4, m.cidr6 = c4, c6
		if spec == "" {
			return nil
		}
		if spec[0] != ':' {
			return errors.New("bad argument")
		}
		return m.parseDomain(spec[1:])
	case mIP4, mIP6:
		if !strings.HasPrefix(rest, ":") {
			return errors.New("address required")
		}
		return m.parseNet(rest[1:])
	}
	return nil
}

func (m *mechanism) parseDomain(spec string) error {
	ms, err := parseMacro(spec, false)
	if err != nil {
		return err
	}
	if !ms.validDomainSpec() { // 7.1 domain-end; an empty one too
		return fmt.Errorf("bad domain-spec %q", spec)
	}
	m.domain = ms
	return nil
}

// dualCIDR splits "[:domain-spec] [/ip4-cidr] [//ip6-cidr]" into the
// part before the lengths and the lengths (defaults 32 and 128).
func dualCIDR(s string) (spec string, c4, c6 int, err error) {
	c4, c6 = 32, 128
	if i := strings.LastIndex(s, "//"); i >= 0 && allDigits(s[i+2:]) {
		if c6, err = cidrLen(s[i+2:], 128); err != nil {
			return "", 0, 0, err
		}
		s = s[:i]
	}
	if i := strings.LastIndexByte(s, '/'); i >= 0 && allDigits(s[i+1:]) {
		if c4, err = cidrLen(s[i+1:], 32); err != nil {
			return "", 0, 0, err
		}
		s = s[:i]
	}
	if strings.HasPrefix(s, "/") {
		return "", 0, 0, fmt.Errorf("bad CIDR length %q", s)
	}
	return s, c4, c6, nil
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// cidrLen parses a CIDR length: decimal without leading zeros (5.6
// grammar: "0" / %x31-39 0*1DIGIT), at most max.
func cidrLen(s string, max int) (int, error) {
	if !allDigits(s) || len(s) > 3 || (len(s) > 1 && s[0] == '0') {
		return 0, fmt.Errorf("bad CIDR length %q", s)
	}
	v, _ := strconv.Atoi(s)
	if v > max {
		return 0, fmt.Errorf("CIDR length %d over %d", v, max)
	}
	return v, nil
}

func (m *mechanism) parseNet(s string) error {
	addr, bits := s, -1
	if i := strings.IndexByte(s, '/'); i >= 0 {
		addr = s[:i]
		max := 32
		if m.kind == mIP6 {
			max = 128
		}
		v, err := cidrLen(s[i+1:], max)
		if err != nil {
			return err
		}
		bits = v
	}
	ip, err := netip.ParseAddr(addr)
	if err != nil || ip.Zone() != "" {
		return fmt.Errorf("bad address %q", addr)
	}
	switch {
	case m.kind == mIP4 && !ip.Is4():
		return fmt.Errorf("not an IPv4 address: %q", addr)
	case m.kind == mIP6 && !ip.Is6():
		return fmt.Errorf("not an IPv6 address: %q", addr)
	}
	if bits < 0 {
		bits = ip.BitLen()
	}
	m.net, err = ip.Prefix(bits)
	return err
}
