package policy

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// replyFilter is the "=d.d.d.d" of a DNS list entry
// (reject_rbl_client zen.example=127.0.0.[2..11]): each of the four
// bytes is a number or "[" ";"-separated numbers or lo..hi ranges "]"
// (postconf(5), Postfix 2.8 and later). The zero value (no filter)
// matches any address.
type replyFilter struct {
	set   bool
	bytes [4][]byteRange
}

type byteRange struct{ lo, hi uint8 }

// maxFilterRanges bounds the ranges inside one "[...]".
const maxFilterRanges = 64

// parseFilter reads "d.d.d.d".
func parseFilter(s string) (replyFilter, error) {
	var f replyFilter
	f.set = true
	rest := s
	for i := range 4 {
		if i > 0 {
			if !strings.HasPrefix(rest, ".") {
				return replyFilter{}, fmt.Errorf("reply filter %q: want d.d.d.d", s)
			}
			rest = rest[1:]
		}
		var part string
		if strings.HasPrefix(rest, "[") {
			end := strings.IndexByte(rest, ']')
			if end < 0 {
				return replyFilter{}, fmt.Errorf("reply filter %q: missing ]", s)
			}
			part, rest = rest[1:end], rest[end+1:]
			items := strings.Split(part, ";")
			if len(items) > maxFilterRanges {
				return replyFilter{}, fmt.Errorf("reply filter %q: too many ranges", s)
			}
			for _, it := range items {
				lo, hi, isRange := strings.Cut(it, "..")
				if !isRange {
					hi = lo
				}
				l, err1 := filterByte(lo)
				h, err2 := filterByte(hi)
				if err := errors.Join(err1, err2); err != nil || l > h {
					return replyFilter{}, fmt.Errorf("reply filter %q: bad range %q", s, it)
				}
				f.bytes[i] = append(f.bytes[i], byteRange{l, h})
			}
			continue
		}
		n := 0
		for n < len(rest) && rest[n] >= '0' && rest[n] <= '9' {
			n++
		}
		b, err := filterByte(rest[:n])
		if err != nil {
			return replyFilter{}, fmt.Errorf("reply filter %q: want d.d.d.d", s)
		}
		f.bytes[i] = []byteRange{{b, b}}
		rest = rest[n:]
	}
	if rest != "" {
		return replyFilter{}, fmt.Errorf("reply filter %q: unexpected %q", s, rest)
	}
	return f, nil
}

func filterByte(s string) (uint8, error) {
	if s == "" || len(s) > 3 || !isNumber(s) {
		return 0, fmt.Errorf("bad number %q", s)
	}
	n, _ := strconv.Atoi(s)
	if n > 255 {
		return 0, fmt.Errorf("%d is over 255", n)
	}
	return uint8(n), nil
}

// match reports whether a (an A record of the list) passes the filter.
func (f replyFilter) match(a netip.Addr) bool {
	if !f.set {
		return true
	}
	if !a.Is4() {
		return false
	}
	b := a.As4()
	for i, rs := range f.bytes {
		ok := false
		for _, r := range rs {
			if b[i] >= r.lo && b[i] <= r.hi {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

// dnsListSpec is one DNS list entry: "domain", "domain=filter", and for
// postscreen_dnsbl_sites also "*weight".
type dnsListSpec struct {
	Spec   string // as written, the rbl_reply_maps key
	Domain string
	Filter replyFilter
	Weight int
}

// parseDNSList reads "domain[=filter]", and with weights "[*weight]".
func parseDNSList(s string, weights bool) (dnsListSpec, error) {
	d := dnsListSpec{Spec: s, Weight: 1}
	rest := s
	if weights {
		if i := strings.LastIndexByte(rest, '*'); i >= 0 {
			w, err := strconv.Atoi(rest[i+1:])
			if err != nil || w < -1000 || w > 1000 {
				return d, fmt.Errorf("%q: weight must be an integer from -1000 to 1000", s)
			}
			d.Weight, rest = w, rest[:i]
		}
	}
	domain, filter, hasFilter := strings.Cut(rest, "=")
	domain = strings.ToLower(strings.TrimSuffix(domain, "."))
	if !validHelo(domain) || strings.HasPrefix(domain, "[") {
		return d, fmt.Errorf("%q: bad DNS list domain %q", s, domain)
	}
	d.Domain = domain
	if hasFilter {
		f, err := parseFilter(filter)
		if err != nil {
			return d, err
		}
		d.Filter = f
	}
	return d, nil
}

// maxExpansion bounds an expanded reply template.
const maxExpansion = 2048

var errTemplate = errors.New("bad template")

// expandTemplate expands a Postfix reply template (default_rbl_reply,
// rbl_reply_maps): $name, ${name}, $(name), $$, and the conditionals
// ${name?value}, ${name:value}, ${name?{value}}, ${name:{value}},
// ${name?{value1}:{value2}}; a value is itself expanded. A name vars does
// not know expands to nothing, as in Postfix. Unbalanced brackets are an
// error (Postfix then falls back to the default template).
func expandTemplate(tmpl string, vars func(string) string) (string, error) {
	var b strings.Builder
	if err := expandInto(&b, tmpl, vars, 0); err != nil {
		return "", err
	}
	return b.String(), nil
}

func isNameByte(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// closing finds the bracket that closes the one before s, counting
// nested ones of the same kind.
func closing(s string, open, close byte) int {
	depth := 1
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case open:
			depth++
		case close:
			if depth--; depth == 0 {
				return i
			}
		}
	}
	return -1
}

func expandInto(b *strings.Builder, s string, vars func(string) string, depth int) error {
	if depth > 8 {
		return fmt.Errorf("%w: nested too deep", errTemplate)
	}
	for len(s) > 0 {
		if b.Len() > maxExpansion {
			return fmt.Errorf("%w: expands to more than %d bytes", errTemplate, maxExpansion)
		}
		i := strings.IndexByte(s, '$')
		if i < 0 {
			b.WriteString(s)
			return nil
		}
		b.WriteString(s[:i])
		s = s[i+1:]
		if s == "" {
			return fmt.Errorf("%w: $ at the end", errTemplate)
		}
		switch c := s[0]; {
		case c == '$':
			b.WriteByte('$')
			s = s[1:]
		case c == '{' || c == '(':
			cl := byte('}')
			if c == '(' {
				cl = ')'
			}
			end := closing(s[1:], c, cl)
			if end < 0 {
				return fmt.Errorf("%w: unbalanced %c", errTemplate, c)
			}
			inner := s[1 : end+1]
			s = s[end+2:]
			if err := expandBraced(b, inner, vars, depth); err != nil {
				return err
			}
		case isNameByte(c):
			n := 1
			for n < len(s) && isNameByte(s[n]) {
				n++
			}
			b.WriteString(vars(s[:n]))
			s = s[n:]
		default:
			return fmt.Errorf("%w: bad character after $", errTemplate)
		}
	}
	return nil
}

// expandBraced expands the inside of ${...}: a name, or a name with a
// conditional value.
func expandBraced(b *strings.Builder, inner string, vars func(string) string, depth int) error {
	n := 0
	for n < len(inner) && isNameByte(inner[n]) {
		n++
	}
	name, rest := inner[:n], inner[n:]
	if name == "" {
		return fmt.Errorf("%w: empty name", errTemplate)
	}
	if rest == "" {
		b.WriteString(vars(name))
		return nil
	}
	op := rest[0]
	if op != '?' && op != ':' {
		return fmt.Errorf("%w: want ? or : after ${%s", errTemplate, name)
	}
	val := vars(name)
	rest = rest[1:]
	thenV, elseV, hasElse := rest, "", false
	if strings.HasPrefix(rest, "{") {
		// Postfix 3.0: ${name?{value1}:{value2}}
		end := closing(rest[1:], '{', '}')
		if end < 0 {
			return fmt.Errorf("%w: unbalanced {", errTemplate)
		}
		thenV = rest[1 : end+1]
		after := rest[end+2:]
		switch {
		case after == "":
		case op == '?' && strings.HasPrefix(after, ":{") && strings.HasSuffix(after, "}") && closing(after[2:], '{', '}') == len(after)-3:
			elseV, hasElse = after[2:len(after)-1], true
		default:
			return fmt.Errorf("%w: unexpected %q", errTemplate, after)
		}
	}
	chosen, use := thenV, (val != "") == (op == '?')
	if !use {
		if !hasElse {
			return nil
		}
		chosen = elseV
	}
	return expandInto(b, chosen, vars, depth+1)
}

// parseReply splits an expanded template into code, enhanced status and
// text, as Postfix's rbl_reject_reply does: the code must come first and
// be 4xx or 5xx; the enhanced status is optional (default X.7.1, X the
// code's class); an empty text is "Service unavailable".
func parseReply(s string) (code int, enh, text string, err error) {
	if len(s) < 3 || !isNumber(s[:3]) || (s[0] != '4' && s[0] != '5') || len(s) > 3 && s[3] != ' ' {
		return 0, "", "", fmt.Errorf("%w: the reply must start with a 4xx or 5xx code: %q", errTemplate, s)
	}
	code, _ = strconv.Atoi(s[:3])
	rest := strings.TrimSpace(s[3:])
	enh = string(s[0]) + ".7.1"
	if e, r, ok := cutEnhanced(rest); ok && e[0] == s[0] {
		enh, rest = e, r
	}
	if rest == "" {
		rest = "Service unavailable"
	}
	return code, enh, rest, nil
}
