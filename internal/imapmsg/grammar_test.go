package imapmsg

import (
	"fmt"
	"strconv"
	"strings"
)

// This file checks written ENVELOPE and BODY/BODYSTRUCTURE values against
// the formal syntax of RFC 9051 section 9, independently of the code
// under test: a small tokenizer builds a tree, then the grammar rules are
// checked on it, spacing included (SP between fields, none between the
// elements of 1*address and 1*body).

// node is a parsed IMAP value.
type node struct {
	kind  byte // '(' list, 'N' NIL, '#' number, 's' string (quoted or literal)
	items []node
	s     string
	sp    bool // preceded by a space
}

type gparser struct {
	s string
	i int
}

func (p *gparser) errf(format string, a ...any) error {
	return fmt.Errorf("at %d: %s", p.i, fmt.Sprintf(format, a...))
}

// value reads one value; sp tells whether a space preceded it.
func (p *gparser) value() (node, error) {
	n := node{}
	if p.i < len(p.s) && p.s[p.i] == ' ' {
		n.sp = true
		p.i++
	}
	if p.i >= len(p.s) {
		return n, p.errf("unexpected end")
	}
	switch c := p.s[p.i]; {
	case c == '(':
		p.i++
		n.kind = '('
		for {
			if p.i < len(p.s) && p.s[p.i] == ')' {
				p.i++
				return n, nil
			}
			it, err := p.value()
			if err != nil {
				return n, err
			}
			n.items = append(n.items, it)
		}
	case c == '"':
		n.kind = 's'
		var b strings.Builder
		for p.i++; ; p.i++ {
			if p.i >= len(p.s) {
				return n, p.errf("unterminated quoted string")
			}
			c := p.s[p.i]
			switch {
			case c == '"':
				p.i++
				n.s = b.String()
				return n, nil
			case c == '\\':
				p.i++
				if p.i >= len(p.s) || (p.s[p.i] != '"' && p.s[p.i] != '\\') {
					return n, p.errf("bad quoted-pair")
				}
				b.WriteByte(p.s[p.i])
			case c == '\r' || c == '\n' || c == 0:
				return n, p.errf("CR/LF/NUL in quoted string")
			default:
				b.WriteByte(c)
			}
		}
	case c == '{':
		j := strings.Index(p.s[p.i:], "}\r\n")
		if j < 0 {
			return n, p.errf("bad literal")
		}
		size, err := strconv.Atoi(p.s[p.i+1 : p.i+j])
		if err != nil || size < 0 || p.i+j+3+size > len(p.s) {
			return n, p.errf("bad literal size")
		}
		start := p.i + j + 3
		n.kind, n.s = 's', p.s[start:start+size]
		p.i = start + size
		return n, nil
	case c >= '0' && c <= '9':
		j := p.i
		for j < len(p.s) && p.s[j] >= '0' && p.s[j] <= '9' {
			j++
		}
		n.kind, n.s = '#', p.s[p.i:j]
		p.i = j
		return n, nil
	case strings.HasPrefix(p.s[p.i:], "NIL"):
		n.kind = 'N'
		p.i += 3
		return n, nil
	}
	return n, p.errf("unexpected %q", p.s[p.i])
}

// parseValue parses s as exactly one value.
func parseValue(s string) (node, error) {
	p := &gparser{s: s}
	n, err := p.value()
	if err == nil && n.sp {
		err = fmt.Errorf("leading space")
	}
	if err == nil && p.i != len(s) {
		err = p.errf("trailing data %q", s[p.i:])
	}
	return n, err
}

// fieldsSpaced checks that a list's fields are separated by one space.
func fieldsSpaced(n node, what string) error {
	for i, it := range n.items {
		if it.sp != (i > 0) {
			return fmt.Errorf("%s: bad spacing before field %d", what, i)
		}
	}
	return nil
}

func isNString(n node) bool { return n.kind == 's' || n.kind == 'N' }

func checkEnvelope(n node) error {
	if n.kind != '(' || len(n.items) != 10 {
		return fmt.Errorf("envelope: want a list of 10, got %c/%d", n.kind, len(n.items))
	}
	if err := fieldsSpaced(n, "envelope"); err != nil {
		return err
	}
	for _, i := range []int{0, 1, 8, 9} {
		if !isNString(n.items[i]) {
			return fmt.Errorf("envelope field %d: not an nstring", i)
		}
	}
	for i := 2; i < 8; i++ {
		if err := checkAddressList(n.items[i]); err != nil {
			return fmt.Errorf("envelope field %d: %v", i, err)
		}
	}
	return nil
}

func checkAddressList(n node) error {
	if n.kind == 'N' {
		return nil
	}
	if n.kind != '(' || len(n.items) == 0 {
		return fmt.Errorf("address list: want NIL or 1*address")
	}
	depth := 0
	for i, a := range n.items {
		if a.sp {
			return fmt.Errorf("address %d: space between addresses", i)
		}
		if a.kind != '(' || len(a.items) != 4 {
			return fmt.Errorf("address %d: want a list of 4", i)
		}
		if err := fieldsSpaced(a, "address"); err != nil {
			return err
		}
		for _, f := range a.items {
			if !isNString(f) {
				return fmt.Errorf("address %d: not an nstring", i)
			}
		}
		if a.items[3].kind == 'N' { // group marker
			if a.items[2].kind == 'N' {
				depth--
			} else {
				depth++
			}
			if depth < 0 || depth > 1 {
				return fmt.Errorf("address %d: unbalanced group", i)
			}
		}
	}
	if depth != 0 {
		return fmt.Errorf("unterminated group")
	}
	return nil
}

func checkParams(n node) error {
	if n.kind == 'N' {
		return nil
	}
	if n.kind != '(' || len(n.items) == 0 || len(n.items)%2 != 0 {
		return fmt.Errorf("params: want NIL or pairs")
	}
	for _, it := range n.items {
		if it.kind != 's' {
			return fmt.Errorf("params: not a string")
		}
	}
	return fieldsSpaced(n, "params")
}

// checkExt checks dsp, lang and loc, the common tail of extension data.
func checkExt(items []node) error {
	if len(items) != 3 {
		return fmt.Errorf("extension: want dsp lang loc, got %d", len(items))
	}
	dsp, lang, loc := items[0], items[1], items[2]
	if dsp.kind == '(' {
		if len(dsp.items) != 2 || dsp.items[0].kind != 's' {
			return fmt.Errorf("dsp: want (string params)")
		}
		if err := checkParams(dsp.items[1]); err != nil {
			return err
		}
		if err := fieldsSpaced(dsp, "dsp"); err != nil {
			return err
		}
	} else if dsp.kind != 'N' {
		return fmt.Errorf("dsp: want list or NIL")
	}
	if lang.kind == '(' {
		if len(lang.items) == 0 {
			return fmt.Errorf("lang: empty list")
		}
		for _, it := range lang.items {
			if it.kind != 's' {
				return fmt.Errorf("lang: not a string")
			}
		}
	} else if !isNString(lang) {
		return fmt.Errorf("lang: want nstring or list")
	}
	if !isNString(loc) {
		return fmt.Errorf("loc: want nstring")
	}
	return nil
}

// checkBody checks body (RFC 9051 section 9) with or without extension
// data, and returns the number of body nodes in it.
func checkBody(n node, extended bool) (int, error) {
	if n.kind != '(' || len(n.items) == 0 {
		return 0, fmt.Errorf("body: want a list")
	}
	if n.items[0].kind == '(' {
		return checkMultipart(n, extended)
	}
	it := n.items
	if err := fieldsSpaced(n, "body"); err != nil {
		return 0, err
	}
	if len(it) < 7 || it[0].kind != 's' || it[1].kind != 's' || !isNString(it[3]) || !isNString(it[4]) || it[5].kind != 's' || it[6].kind != '#' {
		return 0, fmt.Errorf("body-fields: bad type, id, description, encoding or size")
	}
	if err := checkParams(it[2]); err != nil {
		return 0, err
	}
	count := 1
	rest := it[7:]
	typ, sub := it[0].s, it[1].s
	switch {
	case typ == "MESSAGE" && (sub == "RFC822" || sub == "GLOBAL"):
		if len(rest) < 3 || rest[2].kind != '#' {
			return 0, fmt.Errorf("message: want envelope body lines")
		}
		if err := checkEnvelope(rest[0]); err != nil {
			return 0, err
		}
		c, err := checkBody(rest[1], extended)
		if err != nil {
			return 0, fmt.Errorf("in message: %v", err)
		}
		count += c
		rest = rest[3:]
	case typ == "TEXT":
		if len(rest) < 1 || rest[0].kind != '#' {
			return 0, fmt.Errorf("text: want lines")
		}
		rest = rest[1:]
	}
	if !extended {
		if len(rest) != 0 {
			return 0, fmt.Errorf("BODY with extension data")
		}
		return count, nil
	}
	if len(rest) < 1 || !isNString(rest[0]) {
		return 0, fmt.Errorf("md5: want nstring")
	}
	return count, checkExt(rest[1:])
}

func checkMultipart(n node, extended bool) (int, error) {
	count := 1
	i := 0
	for ; i < len(n.items) && n.items[i].kind == '('; i++ {
		if n.items[i].sp {
			return 0, fmt.Errorf("multipart: space between bodies")
		}
		c, err := checkBody(n.items[i], extended)
		if err != nil {
			return 0, err
		}
		count += c
	}
	if i >= len(n.items) || n.items[i].kind != 's' || !n.items[i].sp {
		return 0, fmt.Errorf("multipart: want SP subtype")
	}
	rest := n.items[i+1:]
	for _, r := range rest {
		if !r.sp {
			return 0, fmt.Errorf("multipart: missing space")
		}
	}
	if !extended {
		if len(rest) != 0 {
			return 0, fmt.Errorf("BODY with extension data")
		}
		return count, nil
	}
	if len(rest) < 1 {
		return 0, fmt.Errorf("multipart: want params")
	}
	if err := checkParams(rest[0]); err != nil {
		return 0, err
	}
	return count, checkExt(rest[1:])
}
