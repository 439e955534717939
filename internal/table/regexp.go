package table

import (
	"fmt"
	"regexp"
	"strings"
	"time"
)

// parseRegexp reads regexp_table(5) or pcre_table(5) text:
//
//	/pattern/flags result
//	!/pattern/flags result
//	if /pattern/flags      (or if !/pattern/flags)
//	endif
//
// regexp: patterns are POSIX extended regular expressions, run on Go's
// regexp (RE2) leftmost-longest as regexec(3) does. pcre: patterns run on
// RE2 too when it can run them; those it cannot (look-around,
// back-references, atomic groups, possessive quantifiers) run on a
// backtracking engine with timeout as the time limit of one match (zero:
// DefaultMatchTimeout). Recursion and subroutine calls are refused with
// the line named.
func parseRegexp(path string, data []byte, pcre bool, timeout time.Duration) (Table, error) {
	lines, err := logicalLines(path, data)
	if err != nil {
		return nil, err
	}
	var rs []rule
	n := &nester{path: path}
	for _, l := range lines {
		r, err := parseRegexpLine(l.text, pcre, timeout)
		if err != nil {
			return nil, fmt.Errorf("%s, line %d: %w", path, l.line, err)
		}
		if err := n.add(&rs, r, l.line); err != nil {
			return nil, err
		}
	}
	if err := n.done(); err != nil {
		return nil, err
	}
	return &ruleTable{rules: rs, path: path}, nil
}

func parseRegexpLine(s string, pcre bool, timeout time.Duration) (rule, error) {
	r, s, done, err := ruleHead(s)
	if done || err != nil {
		return r, err
	}
	re, rest, err := compilePattern(s, pcre, timeout)
	if err != nil {
		return rule{}, err
	}
	rest = strings.TrimSpace(rest)
	r.match = func(k *lookupKey) ([]string, bool, bool, error) {
		_, ok, err := re.match(k.s, false)
		return nil, ok, true, err
	}
	if r.kind == kindIf {
		if rest != "" {
			return rule{}, fmt.Errorf("extra text after if pattern: %q", rest)
		}
		return r, nil
	}
	if rest == "" {
		return rule{}, fmt.Errorf("no result after the pattern")
	}
	maxGroup := re.numSubexp()
	if r.negate {
		maxGroup = -1
	}
	if r.result, err = parseResult(rest, maxGroup); err != nil {
		return rule{}, err
	}
	for _, p := range r.result {
		if p.group > 0 { // only then are the groups needed
			r.match = func(k *lookupKey) ([]string, bool, bool, error) {
				m, ok, err := re.match(k.s, true)
				return m, ok, true, err
			}
			break
		}
	}
	return r, nil
}

// compilePattern reads "/pattern/flags" (any non-blank delimiter) from the
// start of s and returns the compiled expression and the text after it.
func compilePattern(s string, pcre bool, timeout time.Duration) (matcher, string, error) {
	if s == "" {
		return nil, "", fmt.Errorf("missing pattern")
	}
	delim := s[0]
	if delim == ' ' || delim == '\t' || delim == '\\' || delim >= 0x80 ||
		delim >= '0' && delim <= '9' || delim >= 'a' && delim <= 'z' || delim >= 'A' && delim <= 'Z' {
		return nil, "", fmt.Errorf("pattern must start with a delimiter such as /, not %q", delim)
	}
	end := -1
	for i := 1; i < len(s); i++ {
		if s[i] == '\\' {
			i++
			continue
		}
		if s[i] == delim {
			end = i
			break
		}
	}
	if end < 0 {
		return nil, "", fmt.Errorf("missing closing %c of the pattern", delim)
	}
	pat := s[1:end]
	rest := s[end+1:]
	fl := rest
	if i := strings.IndexAny(rest, " \t"); i >= 0 {
		fl, rest = rest[:i], rest[i:]
	} else {
		rest = ""
	}
	// Flags toggle; defaults: case-insensitive on, everything else off
	// (regexp_table(5), pcre_table(5)).
	icase, multi, dotall, ext, anchored, ungreedy := true, false, false, false, false, false
	for _, f := range fl {
		switch {
		case f == 'i':
			icase = !icase
		case f == 'm':
			multi = !multi
		case f == 'x' && !pcre:
			return nil, "", fmt.Errorf("flag x (POSIX basic regular expressions) is not supported; write the pattern as an extended one without x")
		case f == 'x' && pcre:
			ext = !ext
		case f == 's' && pcre:
			dotall = !dotall
		case f == 'A' && pcre:
			anchored = !anchored
		case f == 'U' && pcre:
			ungreedy = !ungreedy
		case (f == 'E' || f == 'X') && pcre:
			// PCRE_DOLLAR_ENDONLY: RE2's $ without m already matches only at
			// the end; PCRE_EXTRA only makes PCRE stricter.
		default:
			return nil, "", fmt.Errorf("unknown pattern flag %q", f)
		}
	}
	if ext {
		pat = stripExtended(pat)
	}
	var prefix strings.Builder
	for _, on := range []struct {
		b bool
		f string
	}{{icase, "i"}, {multi, "m"}, {dotall, "s"}, {ungreedy, "U"}} {
		if on.b {
			prefix.WriteString(on.f)
		}
	}
	full := pat
	if anchored {
		full = `\A(?:` + pat + `)`
	}
	if prefix.Len() > 0 {
		full = "(?" + prefix.String() + ")" + full
	}
	re, err := regexp.Compile(full)
	if err != nil {
		if pcre {
			// RE2 cannot run it: the backtracking engine, with a time limit.
			fl := pcreFlags{icase: icase, multi: multi, dotall: dotall, anchored: anchored, ungreedy: ungreedy}
			bt, err2 := compileBacktrack(pat, fl, timeout)
			if err2 != nil {
				return nil, "", fmt.Errorf("pattern %q: %w", pat, err2)
			}
			return bt, rest, nil
		}
		return nil, "", fmt.Errorf("pattern %q: %w", pat, err)
	}
	if !pcre {
		re.Longest() // POSIX regexec: leftmost-longest
	}
	return re2Matcher{re}, rest, nil
}

// stripExtended removes the blanks and #-comments PCRE's extended mode
// ignores, outside character classes and escapes.
func stripExtended(p string) string {
	var b strings.Builder
	inClass := false
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case c == '\\' && i+1 < len(p):
			b.WriteByte(c)
			b.WriteByte(p[i+1])
			i++
		case inClass:
			if c == ']' {
				inClass = false
			}
			b.WriteByte(c)
		case c == '[':
			inClass = true
			b.WriteByte(c)
			if i+1 < len(p) && p[i+1] == ']' { // "[]...]": ] is literal
				b.WriteByte(']')
				i++
			}
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
		case c == '#':
			for i < len(p) && p[i] != '\n' {
				i++
			}
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}
