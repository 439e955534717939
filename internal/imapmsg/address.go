package imapmsg

import (
	"strings"

	"mailwarden/internal/mime"
)

// address is one element of an ENVELOPE address list (RFC 9051 7.5.2).
type address struct {
	name, adl, mailbox, host string
	kind                     int // addrMailbox, addrGroupStart (mailbox is the group name), addrGroupEnd
}

const (
	addrMailbox = iota
	addrGroupStart
	addrGroupEnd
)

// Placeholders for what a mailbox lacks, as Dovecot sends: a NIL host
// would make the address a group marker.
const (
	missingMailbox = "MISSING_MAILBOX"
	missingDomain  = "MISSING_DOMAIN"
)

// atok is a token of an address header: kind is 'a' (atom), 'q' (quoted
// string, text unquoted), 'c' (comment), 'l' (domain literal with its
// brackets), one of the specials `<>@,;:.`, or 0 at the end. sp tells
// whether blanks preceded it.
type atok struct {
	kind       byte
	text       string
	sp         bool
	start, end int // span in the header value
}

type addrLexer struct {
	s string
	i int
}

func isAddrSpecial(c byte) bool { return strings.IndexByte("()<>[]:;@\\,.\"", c) >= 0 }

func (l *addrLexer) next() (t atok) {
	start := l.i
	for l.i < len(l.s) && (l.s[l.i] == ' ' || l.s[l.i] == '\t' || l.s[l.i] == '\r' || l.s[l.i] == '\n') {
		l.i++
	}
	t = atok{sp: l.i > start, start: l.i}
	defer func() { t.end = l.i }()
	if l.i >= len(l.s) {
		return t
	}
	c := l.s[l.i]
	switch {
	case c == '(':
		t.kind, t.text = 'c', l.comment()
	case c == '"':
		var n int
		t.kind = 'q'
		t.text, n = mime.QuotedString(l.s[l.i:])
		l.i += n
	case c == '[':
		j := strings.IndexByte(l.s[l.i:], ']')
		if j < 0 {
			j = len(l.s) - l.i - 1
		}
		t.kind, t.text = 'l', l.s[l.i:l.i+j+1]
		l.i += j + 1
	case strings.IndexByte("<>@,;:.", c) >= 0:
		t.kind = c
		l.i++
	case c == ']' || c == ')' || c == '\\':
		t.kind, t.text = 'a', string(c) // stray: keep as text
		l.i++
	default:
		j := l.i
		for j < len(l.s) && !isAddrSpecial(l.s[j]) && l.s[j] > ' ' && l.s[j] != 0x7f {
			j++
		}
		if j == l.i { // a control character
			j++
		}
		t.kind, t.text = 'a', l.s[l.i:j]
		l.i = j
	}
	return t
}

// comment reads a nested comment and returns its text.
func (l *addrLexer) comment() string {
	var b strings.Builder
	depth := 0
	for ; l.i < len(l.s); l.i++ {
		c := l.s[l.i]
		switch {
		case c == '\\' && l.i+1 < len(l.s):
			l.i++
			b.WriteByte(l.s[l.i])
			continue
		case c == '(':
			depth++
			if depth == 1 {
				continue
			}
		case c == ')':
			depth--
			if depth == 0 {
				l.i++
				return strings.TrimSpace(b.String())
			}
		}
		b.WriteByte(c)
	}
	return strings.TrimSpace(b.String())
}

// addrParser reads an address list leniently: what does not fit the
// grammar is skipped up to the next comma.
type addrParser struct {
	lex     addrLexer
	tok     atok
	comment string // last comment seen, the name of "user@host (Name)"

	wbuf, abuf, dbuf [8]atok // scratch for words, angle-addr and domain
}

func (p *addrParser) advance() {
	for {
		p.tok = p.lex.next()
		if p.tok.kind != 'c' {
			return
		}
		p.comment = p.tok.text
	}
}

// words appends to ws the tokens up to one of the stop kinds (or the end).
func (p *addrParser) words(stop string, ws []atok) []atok {
	for p.tok.kind != 0 && strings.IndexByte(stop, p.tok.kind) < 0 {
		ws = append(ws, p.tok)
		p.advance()
	}
	return ws
}

// skip skips tokens up to one of the stop kinds (or the end).
func (p *addrParser) skip(stop string) {
	for p.tok.kind != 0 && strings.IndexByte(stop, p.tok.kind) < 0 {
		p.advance()
	}
}

// phrase renders words as a display name: quotes removed, blanks between
// words collapsed to one space.
func (p *addrParser) phrase(ws []atok) string { return p.render(ws, true) }

// dotted renders words without blanks: a local part or a domain.
func (p *addrParser) dotted(ws []atok) string { return p.render(ws, false) }

func (p *addrParser) render(ws []atok, spaced bool) string {
	if s, ok := p.verbatim(ws, spaced); ok {
		return s
	}
	var b strings.Builder
	for i, t := range ws {
		if spaced && i > 0 && t.sp {
			b.WriteByte(' ')
		}
		if t.kind == 'a' || t.kind == 'q' || t.kind == 'l' {
			b.WriteString(t.text)
		} else {
			b.WriteByte(t.kind)
		}
	}
	return b.String()
}

// verbatim returns the rendering of ws without allocating when it is a
// span of the header value: a single token, or atoms and specials
// separated as rendering would separate them.
func (p *addrParser) verbatim(ws []atok, spaced bool) (string, bool) {
	if len(ws) == 0 {
		return "", true
	}
	if len(ws) == 1 && ws[0].kind != '.' && ws[0].kind != 'a' {
		return ws[0].text, ws[0].kind == 'q' || ws[0].kind == 'l'
	}
	s := p.lex.s
	for i, t := range ws {
		if t.kind == 'q' || t.kind == 'c' || (t.kind == 'a' && t.text != s[t.start:t.end]) {
			return "", false
		}
		if i > 0 {
			gap := s[ws[i-1].end:t.start]
			if gap != "" && (!spaced || gap != " ") {
				return "", false
			}
		}
	}
	return s[ws[0].start:ws[len(ws)-1].end], true
}

// parseAddressList parses an address-list (RFC 5322 3.4) with groups.
func parseAddressList(s string) []address {
	p := addrParser{lex: addrLexer{s: s}}
	p.advance()
	out := make([]address, 0, strings.Count(s, ",")+1)
	inGroup := false
	for p.tok.kind != 0 {
		p.comment = ""
		ws := p.words("<:@,;", p.wbuf[:0])
		switch p.tok.kind {
		case ':':
			p.advance()
			if !inGroup {
				out = append(out, address{mailbox: p.phrase(ws), kind: addrGroupStart})
				inGroup = true
			}
			continue
		case ';':
			p.advance()
			if len(ws) > 0 {
				out = appendMailbox(out, address{mailbox: p.dotted(ws)})
			}
			if inGroup {
				out = append(out, address{kind: addrGroupEnd})
				inGroup = false
			}
			continue
		case '<':
			p.advance()
			a := p.angleAddr()
			if a.name = p.phrase(ws); a.name == "" {
				a.name = p.comment
			}
			out = appendMailbox(out, a)
		case '@':
			p.advance()
			k := localStart(ws)
			a := address{name: p.phrase(ws[:k]), mailbox: p.dotted(ws[k:]), host: p.domain()}
			if a.name == "" {
				a.name = p.comment
			}
			out = appendMailbox(out, a)
		default: // ',' or end: a bare word list
			if len(ws) > 0 {
				out = appendMailbox(out, address{name: p.comment, mailbox: p.dotted(ws)})
			}
		}
		p.skip(",;") // garbage after the mailbox
		if p.tok.kind == ',' {
			p.advance()
		}
	}
	if inGroup {
		out = append(out, address{kind: addrGroupEnd})
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// angleAddr reads "[@route,@route:]local@domain>" after the "<".
func (p *addrParser) angleAddr() address {
	var a address
	if p.tok.kind == '@' {
		route := p.words(":>", p.abuf[:0])
		if p.tok.kind == ':' {
			a.adl = p.dotted(route)
			p.advance()
		}
	}
	ws := p.words("@>,;<", p.abuf[:0])
	a.mailbox = p.dotted(ws[localStart(ws):])
	if p.tok.kind == '@' {
		p.advance()
		a.host = p.domain()
	}
	p.skip(">,;<")
	if p.tok.kind == '>' {
		p.advance()
	}
	return a
}

// localStart returns where the local part at the end of ws starts: the
// last run of atoms, quoted strings and dots not separated by blanks
// except around dots. What precedes it is a display name given without
// angle brackets ("John Smith john@example.com").
func localStart(ws []atok) int {
	k := len(ws)
	for k > 0 {
		t := ws[k-1]
		if t.kind != 'a' && t.kind != 'q' && t.kind != '.' {
			break
		}
		k--
		if t.sp && t.kind != '.' && (k == 0 || ws[k-1].kind != '.') {
			break
		}
	}
	return k
}

// domain reads a dot-atom or domain literal.
func (p *addrParser) domain() string {
	ws := p.dbuf[:0]
	for p.tok.kind == 'a' || p.tok.kind == 'l' || p.tok.kind == '.' {
		if len(ws) > 0 && p.tok.kind != '.' && ws[len(ws)-1].kind != '.' {
			break
		}
		ws = append(ws, p.tok)
		p.advance()
	}
	return p.dotted(ws)
}

// appendMailbox appends a, with placeholders for a missing mailbox or
// host; an empty address ("<>") is dropped.
func appendMailbox(out []address, a address) []address {
	if a.mailbox == "" && a.host == "" && a.name == "" {
		return out
	}
	if a.mailbox == "" {
		a.mailbox = missingMailbox
	}
	if a.host == "" {
		a.host = missingDomain
	}
	return append(out, a)
}
