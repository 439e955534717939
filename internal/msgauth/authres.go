package msgauth

import (
	"strings"

	"mailwarden/internal/envelope"
)

// FormatResults writes results as the part of an Authentication-Results
// value after "authserv-id;" (RFC 8601 2.2): one resinfo per line, folded,
// or " none" when there are no results (RFC 8601 2.2, no-result). The
// field is then "Authentication-Results: " + authservID + ";" + this; an
// ARC-Authentication-Results writes "i=N; " + authservID + ";" + this.
func FormatResults(rs []envelope.AuthResult) string {
	if len(rs) == 0 {
		return " none"
	}
	var b strings.Builder
	for i, r := range rs {
		if i > 0 {
			b.WriteByte(';')
		}
		b.WriteString("\r\n\t")
		b.WriteString(token(strings.ToLower(r.Method)))
		b.WriteByte('=')
		b.WriteString(token(strings.ToLower(r.Result)))
		if r.Comment != "" {
			b.WriteString(" (")
			b.WriteString(comment(r.Comment))
			b.WriteByte(')')
		}
		if r.Reason != "" {
			b.WriteString(" reason=")
			b.WriteString(quote(r.Reason))
		}
		for _, p := range r.Props {
			if p.Type == "" || p.Name == "" {
				continue
			}
			b.WriteByte(' ')
			b.WriteString(token(p.Type))
			b.WriteByte('.')
			b.WriteString(token(p.Name))
			b.WriteByte('=')
			b.WriteString(pvalue(p.Value))
		}
	}
	return b.String()
}

// token keeps what RFC 2045's token allows (letters, digits and most
// punctuation, no tspecials, no spaces or controls): method, result and
// property names come from our own code, this only guards the field.
func token(s string) string {
	return strings.Map(func(r rune) rune {
		if r <= ' ' || r >= 0x7f || strings.ContainsRune(`()<>@,;:\"/[]?=`, r) {
			return -1
		}
		return r
	}, s)
}

// pvalue writes a property value (RFC 8601 2.2): as it is when it is a
// token or [local-part]@domain of plain characters, otherwise quoted.
func pvalue(s string) string {
	if s == "" {
		return `""`
	}
	plain := true
	for _, r := range s {
		if r <= ' ' || r >= 0x7f || strings.ContainsRune(`()<>,;:\"/[]?=`, r) {
			plain = false
			break
		}
	}
	if plain && strings.Count(s, "@") <= 1 {
		return s
	}
	return quote(s)
}

// quote makes s a quoted-string (RFC 5322 3.2.4): backslash before quote
// and backslash, controls and line ends dropped.
func quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < ' ' || r == 0x7f:
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// comment makes s safe inside a comment (RFC 5322 3.2.2): parentheses
// and backslashes escaped, controls dropped.
func comment(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '(' || r == ')' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < ' ' || r == 0x7f:
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
