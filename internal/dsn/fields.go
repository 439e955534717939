package dsn

import (
	"strings"
	"time"
	"unicode/utf8"
)

const (
	// foldAt is the preferred maximum length of an output line.
	foldAt = 78
	// maxWord is the longest run of text without white space written
	// on one line; longer runs are split so that no line can exceed
	// the 998 octets allowed by RFC 5322.
	maxWord = 900
	// maxFieldValue caps a single field value (diagnostics can be
	// arbitrarily long multi-line SMTP replies).
	maxFieldValue = 8 * 1024
)

// clean makes s safe for a header field or text line: line breaks and
// tabs become spaces, other control characters and invalid UTF-8
// become '?', and non-ASCII characters are kept only when utf8ok
// (otherwise each becomes '?'). Runs of white space are collapsed and
// the result is trimmed and capped at maxFieldValue octets.
func clean(s string, utf8ok bool) string {
	var b strings.Builder
	space := false
	for i, r := range s {
		if b.Len() >= maxFieldValue {
			b.WriteString("...")
			break
		}
		switch {
		case r == ' ' || r == '\t' || r == '\r' || r == '\n':
			space = true
			continue
		case r == utf8.RuneError && isInvalid(s, i):
			r = '?'
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0):
			r = '?'
		case r >= 0x80 && !utf8ok:
			r = '?'
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		b.WriteRune(r)
	}
	return b.String()
}

func isInvalid(s string, i int) bool {
	_, n := utf8.DecodeRuneInString(s[i:])
	return n <= 1
}

// isASCII reports whether s holds only 7-bit characters.
func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// splitWord cuts w into pieces of at most maxWord octets, at rune
// boundaries.
func splitWord(w string) []string {
	var out []string
	for len(w) > maxWord {
		n := maxWord
		for n > 0 && !utf8.RuneStart(w[n]) {
			n--
		}
		if n == 0 {
			n = maxWord
		}
		out = append(out, w[:n])
		w = w[n:]
	}
	return append(out, w)
}

// writeField writes "Name: value" followed by CRLF, folding the value
// at white space so lines stay near foldAt characters and never exceed
// 998 octets. The value must already be clean.
func writeField(b *strings.Builder, name, value string) {
	b.WriteString(name)
	b.WriteByte(':')
	n := len(name) + 1
	first := true
	for _, word := range strings.Fields(value) {
		for _, w := range splitWord(word) {
			if !first && n+1+len(w) > foldAt {
				b.WriteString("\r\n")
				n = 0
			}
			b.WriteByte(' ')
			b.WriteString(w)
			n += 1 + len(w)
			first = false
		}
	}
	b.WriteString("\r\n")
}

// wrapText word-wraps s into lines of about foldAt characters; every
// line after the first is prefixed with indent.
func wrapText(s, indent string) []string {
	var lines []string
	var cur strings.Builder
	for _, word := range strings.Fields(s) {
		for _, w := range splitWord(word) {
			if cur.Len() > len(indent) && cur.Len()+1+len(w) > foldAt {
				lines = append(lines, cur.String())
				cur.Reset()
			}
			if cur.Len() == 0 && len(lines) > 0 {
				cur.WriteString(indent)
			}
			if cur.Len() > 0 && cur.String() != indent {
				cur.WriteByte(' ')
			}
			cur.WriteString(w)
		}
	}
	if cur.Len() > 0 {
		lines = append(lines, cur.String())
	}
	return lines
}

// validStatus reports whether s is an RFC 3463 status code:
// class "." subject "." detail, class one of 2, 4 or 5, subject and
// detail of one to three digits without leading zeros.
func validStatus(s string) bool {
	parts := strings.Split(s, ".")
	if len(parts) != 3 || len(parts[0]) != 1 || !strings.ContainsAny(parts[0], "245") {
		return false
	}
	for _, p := range parts[1:] {
		if len(p) == 0 || len(p) > 3 || (len(p) > 1 && p[0] == '0') {
			return false
		}
		for i := 0; i < len(p); i++ {
			if p[i] < '0' || p[i] > '9' {
				return false
			}
		}
	}
	return true
}

// typed splits "type; value" into its parts. ok is false when s does
// not start with an atom followed by ';'.
func typed(s string) (typ, value string, ok bool) {
	i := strings.IndexByte(s, ';')
	if i <= 0 {
		return "", s, false
	}
	typ = strings.TrimSpace(s[:i])
	if typ == "" {
		return "", s, false
	}
	for j := 0; j < len(typ); j++ {
		c := typ[j]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return "", s, false
		}
	}
	return typ, strings.TrimSpace(s[i+1:]), true
}

// withType returns "type; value", keeping the type s already has or
// using def when it has none.
func withType(s, def string) string {
	if typ, v, ok := typed(s); ok {
		return typ + "; " + v
	}
	return def + "; " + s
}

// addressField formats an address for Final-Recipient: "rfc822; a@b",
// or "utf-8; ..." for a non-ASCII address in a global report (RFC 6533
// section 3, utf-8-addr-unitext).
func addressField(addr string) string {
	addr = strings.TrimSuffix(strings.TrimPrefix(addr, "<"), ">")
	if !isASCII(addr) {
		return "utf-8; " + addr
	}
	return "rfc822; " + addr
}

// originalField formats an ORCPT value ("rfc822;a+2Bb@c") for
// Original-Recipient: the address is decoded from xtext (RFC 3461
// section 4) when its type is rfc822.
func originalField(orcpt string) string {
	typ, v, ok := typed(orcpt)
	if !ok {
		return addressField(orcpt)
	}
	if strings.EqualFold(typ, "rfc822") {
		v = decodeXtext(v)
	}
	return typ + "; " + v
}

// decodeXtext decodes the "+HH" escapes of RFC 3461 xtext, leaving
// malformed escapes as they are.
func decodeXtext(s string) string {
	if !strings.Contains(s, "+") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '+' && i+2 < len(s) && isUpperHex(s[i+1]) && isUpperHex(s[i+2]) {
			b.WriteByte(unhex(s[i+1])<<4 | unhex(s[i+2]))
			i += 2
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isUpperHex(c byte) bool { return c >= '0' && c <= '9' || c >= 'A' && c <= 'F' }

func unhex(c byte) byte {
	if c <= '9' {
		return c - '0'
	}
	return c - 'A' + 10
}

// rfc5322Date formats t as an RFC 5322 date-time.
func rfc5322Date(t time.Time) string {
	return t.Format("Mon, 02 Jan 2006 15:04:05 -0700")
}

// hostname makes h usable as a domain in Message-ID and Reporting-MTA:
// anything but letters, digits, '-', '.', '[', ']' and ':' (address
// literals) is dropped.
func hostname(h string) string {
	var b strings.Builder
	for i := 0; i < len(h); i++ {
		c := h[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c == '-' || c == '.' || c == '[' || c == ']' || c == ':' {
			b.WriteByte(c)
		}
	}
	return strings.Trim(b.String(), ".")
}
