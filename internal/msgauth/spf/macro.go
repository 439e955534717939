package spf

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// macroPart is one piece of a parsed macro-string (RFC 7208 7.1): a
// literal (letter 0) or a macro-expand "%{" letter transformers
// delimiters "}".
type macroPart struct {
	lit     string
	letter  byte   // lower-case macro letter; 0 for a literal
	url     bool   // upper-case letter: URL-escape the value (7.3)
	digits  int    // keep this many right-hand parts; 0 for all
	reverse bool   // the "r" transformer
	delims  string // split characters; "" means "."
}

// macroString is a parsed macro-string, expanded per evaluation.
type macroString struct {
	parts []macroPart
	// tail is the literal text after the last macro-expand ("%%", "%_"
	// and "%-" count as macro-expands), for the domain-end rule of 7.1.
	tail      string
	endsMacro bool
}

// errMacro is wrapped by every macro syntax error.
var errMacro = errors.New("invalid macro")

// Longest number of parts a DIGIT transformer may ask for; larger
// values mean "all parts" anyway (7.3).
const maxDigits = 128

// parseMacro parses a macro-string (exp false: a domain-spec, letters
// s l o d i p h v) or an explanation-string (exp true: spaces and the
// letters c r t allowed too), RFC 7208 7.1.
func parseMacro(s string, exp bool) (macroString, error) {
	var ms macroString
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			ms.parts = append(ms.parts, macroPart{lit: lit.String()})
			lit.Reset()
		}
	}
	tailStart := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '%' {
			// macro-literal = %x21-24 / %x26-7E; SP only in explanations.
			if (c < 0x21 || c > 0x7e) && !(exp && c == ' ') {
				return ms, fmt.Errorf("%w: character %q in %q", errMacro, c, s)
			}
			lit.WriteByte(c)
			continue
		}
		if i+1 >= len(s) {
			return ms, fmt.Errorf("%w: %q ends with %%", errMacro, s)
		}
		switch s[i+1] {
		case '%':
			lit.WriteByte('%')
		case '_':
			lit.WriteByte(' ')
		case '-':
			lit.WriteString("%20")
		case '{':
			end := strings.IndexByte(s[i+2:], '}')
			if end < 0 {
				return ms, fmt.Errorf("%w: unclosed %%{ in %q", errMacro, s)
			}
			p, err := parseExpand(s[i+2:i+2+end], exp)
			if err != nil {
				return ms, fmt.Errorf("%w in %q", err, s)
			}
			flush()
			ms.parts = append(ms.parts, p)
			i += 2 + end
			tailStart = i + 1
			continue
		default:
			// 7.1: a '%' not followed by '{', '%', '-' or '_' is an error.
			return ms, fmt.Errorf("%w: %%%c in %q", errMacro, s[i+1], s)
		}
		i++
		tailStart = i + 1
	}
	flush()
	ms.tail = s[tailStart:]
	ms.endsMacro = tailStart == len(s) && len(s) > 0
	return ms, nil
}

// parseExpand parses the inside of "%{...}".
func parseExpand(in string, exp bool) (macroPart, error) {
	if in == "" {
		return macroPart{}, fmt.Errorf("%w: empty %%{}", errMacro)
	}
	p := macroPart{letter: in[0] | 0x20, url: in[0] >= 'A' && in[0] <= 'Z'}
	switch p.letter {
	case 's', 'l', 'o', 'd', 'i', 'p', 'h', 'v':
	case 'c', 'r', 't':
		if !exp { // 7.1: c, r and t only in explanation text
			return p, fmt.Errorf("%w: %%{%c} outside exp text", errMacro, in[0])
		}
	default:
		return p, fmt.Errorf("%w: unknown macro letter %q", errMacro, in[0])
	}
	if c := in[0]; !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
		return p, fmt.Errorf("%w: unknown macro letter %q", errMacro, c)
	}
	rest := in[1:]
	n := 0
	for n < len(rest) && rest[n] >= '0' && rest[n] <= '9' {
		n++
	}
	if n > 0 {
		d := rest[:n]
		if len(d) > 3 {
			d = "999"
		}
		v, _ := strconv.Atoi(d)
		if v == 0 { // 7.3: a DIGIT transformer must be nonzero
			return p, fmt.Errorf("%w: zero parts in %%{%s}", errMacro, in)
		}
		p.digits = min(v, maxDigits)
		rest = rest[n:]
	}
	if rest != "" && (rest[0] == 'r' || rest[0] == 'R') {
		p.reverse = true
		rest = rest[1:]
	}
	for i := 0; i < len(rest); i++ {
		if !strings.ContainsRune(".-+,/_=", rune(rest[i])) {
			return p, fmt.Errorf("%w: delimiter %q in %%{%s}", errMacro, rest[i], in)
		}
	}
	p.delims = rest
	return p, nil
}

// validDomainSpec reports whether ms may be a domain-spec: it ends in a
// macro-expand or in "." toplabel ["."] (RFC 7208 7.1, the domain-end
// rule; 4.8: checked before expansion).
func (ms macroString) validDomainSpec() bool {
	if len(ms.parts) == 0 {
		return false
	}
	if ms.endsMacro {
		return true
	}
	t := strings.TrimSuffix(ms.tail, ".")
	dot := strings.LastIndexByte(t, '.')
	if dot < 0 {
		return false
	}
	return toplabel(t[dot+1:])
}

// toplabel = ( *alphanum ALPHA *alphanum ) /
//
//	( 1*alphanum "-" *( alphanum / "-" ) alphanum )
func toplabel(l string) bool {
	if l == "" || l[0] == '-' || l[len(l)-1] == '-' {
		return false
	}
	alpha, dash := false, false
	for i := 0; i < len(l); i++ {
		c := l[i]
		switch {
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
			alpha = true
		case c >= '0' && c <= '9':
		case c == '-':
			dash = true
		default:
			return false
		}
	}
	return alpha || dash
}

// macroEnv holds the values macros expand to during one evaluation.
type macroEnv struct {
	ip       netip.Addr
	sender   string // <sender>: local-part@domain
	local    string
	sdomain  string
	helo     string
	receiver string
	now      func() time.Time
	ptr      func(domain string) string // validated name for %{p}
}

// maxExpansion bounds what one macro-string expands to: a record of
// 64 KB full of %{s} must not cost megabytes. Only the right-hand end
// of a longer expansion is kept, which for a domain name is exact (7.3
// keeps at most the rightmost 253 characters) and for an explanation
// is more than anyone reads.
const maxExpansion = 8 << 10

// expand returns ms with every macro replaced (RFC 7208 7.3); domain is
// the current <domain>.
func (ms macroString) expand(env *macroEnv, domain string) string {
	if len(ms.parts) == 1 && ms.parts[0].letter == 0 {
		return ms.parts[0].lit
	}
	var b []byte
	for _, p := range ms.parts {
		v := p.lit
		if p.letter != 0 {
			v = env.value(p.letter, domain)
			if p.digits > 0 || p.reverse || p.delims != "" {
				v = transform(v, p)
			}
			if p.url {
				v = urlEscape(v)
			}
		}
		if len(v) > maxExpansion {
			v = v[len(v)-maxExpansion:]
		}
		b = append(b, v...)
		if len(b) > 2*maxExpansion {
			b = append(b[:0], b[len(b)-maxExpansion:]...)
		}
	}
	if len(b) > maxExpansion {
		b = b[len(b)-maxExpansion:]
	}
	return string(b)
}

func (env *macroEnv) value(letter byte, domain string) string {
	switch letter {
	case 's':
		return env.sender
	case 'l':
		return env.local
	case 'o':
		return env.sdomain
	case 'd':
		return domain
	case 'i':
		return dotted(env.ip)
	case 'p':
		if env.ptr == nil {
			return "unknown"
		}
		return env.ptr(domain)
	case 'v':
		if env.ip.Is4() {
			return "in-addr"
		}
		return "ip6"
	case 'h':
		return env.helo
	case 'c':
		return env.ip.String()
	case 'r':
		if env.receiver == "" {
			return "unknown"
		}
		return env.receiver
	case 't':
		now := time.Now
		if env.now != nil {
			now = env.now
		}
		return strconv.FormatInt(now().Unix(), 10)
	}
	return ""
}

// dotted is the "i" macro's value: the dotted quad for IPv4, and for
// IPv6 the 32 nibbles separated by dots (7.3), upper-case hex as the RFC
// 7208 test suite and pyspf write them (DNS does not mind the case).
func dotted(ip netip.Addr) string {
	if ip.Is4() {
		return ip.String()
	}
	const hex = "0123456789ABCDEF"
	a := ip.As16()
	b := make([]byte, 0, 63)
	for i, x := range a {
		if i > 0 {
			b = append(b, '.')
		}
		b = append(b, hex[x>>4], '.', hex[x&0xf])
	}
	return string(b)
}

// transform splits v on the delimiters, reverses, keeps the right-hand
// parts and joins them with "." (7.3).
func transform(v string, p macroPart) string {
	delims := p.delims
	if delims == "" {
		delims = "."
	}
	parts := splitAny(v, delims)
	if p.reverse {
		for i, j := 0, len(parts)-1; i < j; i, j = i+1, j-1 {
			parts[i], parts[j] = parts[j], parts[i]
		}
	}
	if p.digits > 0 && p.digits < len(parts) {
		parts = parts[len(parts)-p.digits:]
	}
	return strings.Join(parts, ".")
}

func splitAny(v, delims string) []string {
	var out []string
	start := 0
	for i := 0; i < len(v); i++ {
		if strings.IndexByte(delims, v[i]) >= 0 {
			out = append(out, v[start:i])
			start = i + 1
		}
	}
	return append(out, v[start:])
}

// urlEscape escapes every byte outside the URI unreserved set (7.3,
// RFC 3986 2.3) as %XX.
func urlEscape(v string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&0xf])
	}
	return b.String()
}

// domainName turns an expanded domain-spec into the name to query: the
// trailing dot dropped, then labels removed from the left until it fits
// in 253 characters (7.3).
func domainName(s string) string {
	s = strings.TrimSuffix(s, ".")
	for len(s) > 253 {
		dot := strings.IndexByte(s, '.')
		if dot < 0 {
			return s
		}
		s = s[dot+1:]
	}
	return s
}

// validName reports whether name can be asked of the DNS: 1 to 63
// characters per label, 253 in all (RFC 1035 2.3.4). RFC 7208 leaves a
// target that is not (4.3, 5: "undefined") to the implementation: it is
// treated as a name that does not exist.
func validName(name string) bool {
	if name == "" || len(name) > 253 {
		return false
	}
	for l := range strings.SplitSeq(name, ".") {
		if l == "" || len(l) > 63 {
			return false
		}
	}
	return true
}
