package imapmsg

import (
	"sort"
	"strconv"
	"strings"
)

// param is a Content-Type or Content-Disposition parameter.
type param struct{ name, value string }

// maxParams bounds the parameters kept per header field.
const maxParams = 64

// lexer reads the structured values of MIME header fields (RFC 2045
// section 5.1): tokens, quoted strings and comments, leniently.
type lexer struct {
	s string
	i int
}

const tspecials = "()<>@,;:\\\"/[]?="

func isTokenChar(c byte) bool {
	return c > ' ' && c < 0x7f && strings.IndexByte(tspecials, c) < 0
}

// skipCFWS skips blanks and (nested) comments.
func (l *lexer) skipCFWS() {
	depth := 0
	for l.i < len(l.s) {
		switch c := l.s[l.i]; {
		case c == '(':
			depth++
		case c == ')' && depth > 0:
			depth--
		case c == '\\' && depth > 0:
			l.i++
		case depth == 0 && c != ' ' && c != '\t' && c != '\r' && c != '\n':
			return
		}
		l.i++
	}
}

// token reads a run of token characters.
func (l *lexer) token() string {
	j := l.i
	for j < len(l.s) && isTokenChar(l.s[j]) {
		j++
	}
	t := l.s[l.i:j]
	l.i = j
	return t
}

// quoted reads a quoted string starting at the opening quote and returns
// its content with quoted-pairs resolved; an unterminated string runs to
// the end.
func (l *lexer) quoted() string {
	if j := strings.IndexAny(l.s[l.i+1:], "\"\\\r\n"); j >= 0 && l.s[l.i+1+j] == '"' {
		v := l.s[l.i+1 : l.i+1+j]
		l.i += j + 2
		return v
	}
	var b strings.Builder
	for l.i++; l.i < len(l.s); l.i++ {
		c := l.s[l.i]
		if c == '"' {
			l.i++
			break
		}
		if c == '\\' && l.i+1 < len(l.s) {
			l.i++
			c = l.s[l.i]
		}
		if c != '\r' && c != '\n' {
			b.WriteByte(c)
		}
	}
	return b.String()
}

// value reads a parameter value: a quoted string, or leniently anything up
// to a semicolon, blank, quote or comment (real-world boundaries contain
// '=' and '/').
func (l *lexer) value() string {
	if l.i < len(l.s) && l.s[l.i] == '"' {
		return l.quoted()
	}
	j := l.i
	for j < len(l.s) {
		c := l.s[j]
		if c == ';' || c == ' ' || c == '\t' || c == '"' || c == '(' || c < ' ' || c == 0x7f {
			break
		}
		j++
	}
	v := l.s[l.i:j]
	l.i = j
	return v
}

// params reads "; name=value" pairs to the end of the value, skipping what
// cannot be read, and merges RFC 2231 continuations.
func (l *lexer) params() []param {
	var raw []param
	for l.i < len(l.s) && len(raw) < maxParams*4 {
		if l.s[l.i] == '"' {
			l.quoted() // stray quoted string: skip it whole
			continue
		}
		if l.s[l.i] != ';' {
			l.i++
			continue
		}
		l.i++
		l.skipCFWS()
		name := l.token()
		if name == "" {
			continue
		}
		l.skipCFWS()
		if l.i >= len(l.s) || l.s[l.i] != '=' {
			continue
		}
		l.i++
		l.skipCFWS()
		raw = append(raw, param{name, l.value()})
	}
	return mergeRFC2231(raw)
}

// parseMediaType parses a Content-Type value. ok is false when it has no
// type/subtype; type and subtype are lower case.
func parseMediaType(v string) (typ, sub string, params []param, ok bool) {
	l := lexer{s: v}
	l.skipCFWS()
	typ = l.token()
	l.skipCFWS()
	if typ == "" || l.i >= len(l.s) || l.s[l.i] != '/' {
		return "", "", nil, false
	}
	l.i++
	l.skipCFWS()
	if sub = l.token(); sub == "" {
		return "", "", nil, false
	}
	return strings.ToLower(typ), strings.ToLower(sub), l.params(), true
}

// parseDisposition parses a Content-Disposition value (RFC 2183).
func parseDisposition(v string) (typ string, params []param) {
	l := lexer{s: v}
	l.skipCFWS()
	if typ = l.token(); typ == "" {
		return "", nil
	}
	return typ, l.params()
}

// segment is one piece of an RFC 2231 parameter value continuation.
type segment struct {
	n       int
	value   string
	encoded bool
}

// splitName splits an RFC 2231 parameter name: "name*2*" is ("name", 2,
// encoded), "name*" is ("name", 0, encoded); ok is false for a plain name.
func splitName(name string) (base string, n int, encoded, ok bool) {
	i := strings.IndexByte(name, '*')
	if i <= 0 {
		return name, 0, false, false
	}
	base, rest := name[:i], name[i+1:]
	if rest == "" {
		return base, 0, true, true
	}
	if strings.HasSuffix(rest, "*") {
		rest, encoded = rest[:len(rest)-1], true
	}
	if rest == "" || len(rest) > 4 || (len(rest) > 1 && rest[0] == '0') {
		return name, 0, false, false
	}
	n, err := strconv.Atoi(rest)
	if err != nil || n < 0 {
		return name, 0, false, false
	}
	return base, n, encoded, true
}

// mergeRFC2231 joins RFC 2231 continuations ("name*0", "name*1*"...) into
// one parameter, in the position of its first piece. When a piece is
// encoded the result is named "name*" and keeps the charset'language'
// %-encoded form (unencoded pieces get %-encoded), as Dovecot does; a
// client decodes it. Later duplicates of a name are dropped.
func mergeRFC2231(raw []param) []param {
	var out []param
	var groups map[string][]segment
	for _, p := range raw {
		base, n, enc, ok := splitName(p.name)
		if !ok {
			out = addParam(out, p)
			continue
		}
		key := strings.ToLower(base)
		if groups == nil {
			groups = map[string][]segment{}
		}
		if _, seen := groups[key]; !seen {
			out = append(out, param{name: "\x00" + base})
		}
		groups[key] = append(groups[key], segment{n, p.value, enc})
	}
	if groups == nil {
		return out
	}
	merged := out[:0]
	for _, p := range out {
		if strings.HasPrefix(p.name, "\x00") {
			base := p.name[1:]
			p = joinSegments(base, groups[strings.ToLower(base)])
			if p.name == "" {
				continue
			}
		}
		merged = addParam(merged, p)
	}
	if len(merged) == 0 {
		return nil
	}
	return merged
}

// addParam appends p unless a parameter of that name is present or the
// list is full.
func addParam(ps []param, p param) []param {
	if len(ps) >= maxParams {
		return ps
	}
	for _, q := range ps {
		if strings.EqualFold(q.name, p.name) {
			return ps
		}
	}
	return append(ps, p)
}

// joinSegments joins the pieces numbered 0, 1, 2... up to the first
// missing number; the first piece of a number wins.
func joinSegments(base string, segs []segment) param {
	sort.SliceStable(segs, func(i, j int) bool { return segs[i].n < segs[j].n })
	var seq []segment
	for _, s := range segs {
		if s.n == len(seq) {
			seq = append(seq, s)
		} else if s.n > len(seq) {
			break
		}
	}
	if len(seq) == 0 {
		return param{}
	}
	encoded := false
	for _, s := range seq {
		encoded = encoded || s.encoded
	}
	var b strings.Builder
	for i, s := range seq {
		switch {
		case !encoded || s.encoded:
			b.WriteString(s.value)
		case i == 0:
			b.WriteString("''")
			b.WriteString(percentEncode(s.value))
		default:
			b.WriteString(percentEncode(s.value))
		}
	}
	if encoded {
		return param{base + "*", b.String()}
	}
	return param{base, b.String()}
}

// percentEncode encodes what is not an RFC 2231 attribute-char.
func percentEncode(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isTokenChar(c) && c != '*' && c != '\'' && c != '%' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}

// paramValue returns the value of the parameter name (case-insensitive).
func paramValue(ps []param, name string) (string, bool) {
	for _, p := range ps {
		if strings.EqualFold(p.name, name) {
			return p.value, true
		}
	}
	return "", false
}
