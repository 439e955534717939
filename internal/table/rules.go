package table

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
)

// rule is one line of a regexp:, pcre: or cidr: table. Rules are tried in
// order; the first match wins. An "if" rule whose pattern does not match
// jumps past its "endif".
type rule struct {
	// match reports whether the rule's pattern matches; applies is false
	// when the rule cannot be applied to this key at all (a cidr: rule for
	// the other address family, or a key that is not an address), which
	// a "!" does not invert, as in Postfix. An error (a pcre: match over
	// its time limit) fails the lookup.
	match  func(k *lookupKey) (groups []string, ok, applies bool, err error)
	line   int // in the file, for errors
	negate bool
	kind   ruleKind
	skip   int     // kindIf: index after the matching endif
	result []piece // kindMatch
}

type ruleKind uint8

const (
	kindMatch ruleKind = iota
	kindIf
	kindEndif
)

// piece of a result: literal text, or a $n group reference when group > 0.
type piece struct {
	text  string
	group int
}

// lookupKey is the key of one lookup, with its address parsed once for
// cidr: tables.
type lookupKey struct {
	s    string
	addr netip.Addr
	isIP bool
}

type ruleTable struct {
	rules []rule
	cidr  bool   // parse the key as an IP address
	path  string // for errors
}

func (t *ruleTable) Lookup(ctx context.Context, key string) (string, bool, error) {
	k := lookupKey{s: key}
	if t.cidr {
		a, err := netip.ParseAddr(key)
		k.addr, k.isIP = a, err == nil
	}
	rs := t.rules
	for i := 0; i < len(rs); {
		r := &rs[i]
		if r.kind == kindEndif {
			i++
			continue
		}
		groups, ok, applies, err := r.match(&k)
		if err != nil {
			return "", false, fmt.Errorf("%s, line %d: %w", t.path, r.line, err)
		}
		if r.negate && applies {
			ok = !ok
		}
		if r.kind == kindIf {
			if ok {
				i++
			} else {
				i = r.skip
			}
			continue
		}
		if ok {
			return expand(r.result, groups), true, nil
		}
		i++
	}
	return "", false, nil
}

func expand(ps []piece, groups []string) string {
	if len(ps) == 1 && ps[0].group == 0 {
		return ps[0].text
	}
	var b strings.Builder
	for _, p := range ps {
		if p.group == 0 {
			b.WriteString(p.text)
		} else if p.group < len(groups) {
			b.WriteString(groups[p.group])
		}
	}
	return b.String()
}

// keyword reports whether s starts with the word w (case-insensitive)
// followed by the end or a non-alphanumeric character, and returns the
// rest with leading blanks removed.
func keyword(s, w string) (string, bool) {
	if len(s) < len(w) || !strings.EqualFold(s[:len(w)], w) {
		return "", false
	}
	rest := s[len(w):]
	if rest != "" {
		c := rest[0]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' {
			return "", false
		}
	}
	return strings.TrimLeft(rest, " \t"), true
}

// nester checks if/endif nesting and fills in each if's skip target.
type nester struct {
	path  string
	open  []int // indexes of open if rules
	lines []int
}

func (n *nester) add(rs *[]rule, r rule, line int) error {
	r.line = line
	switch r.kind {
	case kindIf:
		n.open = append(n.open, len(*rs))
		n.lines = append(n.lines, line)
	case kindEndif:
		if len(n.open) == 0 {
			return fmt.Errorf("%s, line %d: endif without if", n.path, line)
		}
		(*rs)[n.open[len(n.open)-1]].skip = len(*rs) + 1
		n.open, n.lines = n.open[:len(n.open)-1], n.lines[:len(n.lines)-1]
	}
	*rs = append(*rs, r)
	return nil
}

func (n *nester) done() error {
	if len(n.open) > 0 {
		return fmt.Errorf("%s, line %d: if without endif", n.path, n.lines[len(n.lines)-1])
	}
	return nil
}

// parseResult splits a result into text and $n references: $1, ${1},
// $(1); $$ is a literal "$". maxGroup is the number of groups the pattern
// has (-1: none allowed, for negated patterns and cidr:).
func parseResult(s string, maxGroup int) ([]piece, error) {
	var ps []piece
	var lit strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '$' {
			lit.WriteByte(c)
			continue
		}
		if i+1 >= len(s) {
			return nil, fmt.Errorf("result ends with a lone $ (write $$ for a dollar sign)")
		}
		rest := s[i+1:]
		var num string
		switch rest[0] {
		case '$':
			lit.WriteByte('$')
			i++
			continue
		case '{', '(':
			closer := byte('}')
			if rest[0] == '(' {
				closer = ')'
			}
			end := strings.IndexByte(rest, closer)
			if end < 0 {
				return nil, fmt.Errorf("unbalanced %c in result", rest[0])
			}
			num = rest[1:end]
			i += end + 1
		default:
			j := 0
			for j < len(rest) && rest[j] >= '0' && rest[j] <= '9' {
				j++
			}
			num = rest[:j]
			i += j
		}
		n := 0
		for _, d := range num {
			if d < '0' || d > '9' || n > 1000 {
				n = -1
				break
			}
			n = n*10 + int(d-'0')
		}
		if num == "" || n < 0 {
			return nil, fmt.Errorf("unknown $ substitution in result (only $1, ${1}, $(1) and $$ are allowed)")
		}
		if maxGroup < 0 {
			return nil, fmt.Errorf("$%d substitution is not possible here (no groups: a negated or address pattern)", n)
		}
		if n == 0 || n > maxGroup {
			return nil, fmt.Errorf("out of range replacement index $%d (the pattern has %d groups)", n, maxGroup)
		}
		if lit.Len() > 0 {
			ps = append(ps, piece{text: lit.String()})
			lit.Reset()
		}
		ps = append(ps, piece{group: n})
	}
	if lit.Len() > 0 || len(ps) == 0 {
		ps = append(ps, piece{text: lit.String()})
	}
	return ps, nil
}

// ruleHead reads what regexp_table(5) and cidr_table(5) lines share: an
// "endif" line (done), or an optional "if" and "!" before the pattern,
// which it returns in rest.
func ruleHead(s string) (r rule, rest string, done bool, err error) {
	s = strings.TrimRight(s, " \t\r")
	if rest, ok := keyword(s, "endif"); ok {
		if rest != "" {
			return rule{}, "", true, fmt.Errorf("extra text after endif: %q", rest)
		}
		return rule{kind: kindEndif}, "", true, nil
	}
	if rest, ok := keyword(s, "if"); ok {
		r.kind = kindIf
		s = rest
	}
	if strings.HasPrefix(s, "!") {
		r.negate = true
		s = strings.TrimLeft(s[1:], " \t")
	}
	return r, s, false, nil
}
