package table

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/dlclark/regexp2/v2"
)

// DefaultMatchTimeout bounds one match of a pcre: pattern that runs on the
// backtracking engine (Options.MatchTimeout zero).
const DefaultMatchTimeout = 100 * time.Millisecond

// maxBacktrackStack bounds the memory of one backtracking match (integer
// slots; regexp2 refuses to go deeper).
const maxBacktrackStack = 1 << 20

// ErrMatchTimeout is wrapped by a lookup whose pcre: pattern ran longer
// than its time limit: a temporary failure, never a hang.
var ErrMatchTimeout = errors.New("pattern match time limit exceeded")

// matcher is one compiled regexp:/pcre: pattern: Go's RE2 when the pattern
// allows, the backtracking engine (regexp2) otherwise.
type matcher interface {
	// match reports whether s matches; with groups it also returns the
	// text of every group (index 0 = the whole match, "" when a group
	// did not take part).
	match(s string, groups bool) ([]string, bool, error)
	numSubexp() int
}

type re2Matcher struct{ re *regexp.Regexp }

func (m re2Matcher) match(s string, groups bool) ([]string, bool, error) {
	if !groups {
		return nil, m.re.MatchString(s), nil
	}
	g := m.re.FindStringSubmatch(s)
	return g, g != nil, nil
}

func (m re2Matcher) numSubexp() int { return m.re.NumSubexp() }

// backtrackMatcher runs a PCRE pattern RE2 cannot (look-around,
// back-references, atomic groups, possessive quantifiers) with a time
// limit per match.
type backtrackMatcher struct {
	re     *regexp2.Regexp
	groups int
}

func (m backtrackMatcher) match(s string, groups bool) ([]string, bool, error) {
	res, err := m.re.FindStringMatch(s)
	if err != nil {
		return nil, false, fmt.Errorf("%w (%v): %v", ErrMatchTimeout, m.re.MatchTimeout, err)
	}
	if res == nil {
		return nil, false, nil
	}
	if !groups {
		return nil, true, nil
	}
	out := make([]string, m.groups+1)
	for i := range out {
		if g := res.GroupByNumber(i); g != nil && len(g.Captures) > 0 {
			out[i] = g.String()
		}
	}
	return out, true, nil
}

func (m backtrackMatcher) numSubexp() int { return m.groups }

// pcreFlags are the pcre_table(5) pattern flags in force for one pattern.
type pcreFlags struct {
	icase, multi, dotall, anchored, ungreedy bool
}

// compileBacktrack compiles a PCRE pattern RE2 refused on the backtracking
// engine, after translating the PCRE syntax regexp2 (a .NET dialect) reads
// differently; see translatePCRE.
func compileBacktrack(pat string, fl pcreFlags, timeout time.Duration) (matcher, error) {
	if fl.ungreedy {
		return nil, fmt.Errorf("flag U (ungreedy) is not available with look-around, back-references or atomic groups; write lazy quantifiers (*?, +?) instead")
	}
	tr, groups, err := translatePCRE(pat)
	if err != nil {
		return nil, err
	}
	if fl.anchored {
		tr = `\A(?:` + tr + `)`
	}
	opts := regexp2.None
	if fl.icase {
		opts |= regexp2.IgnoreCase
	}
	if fl.multi {
		opts |= regexp2.Multiline
	}
	if fl.dotall {
		opts |= regexp2.Singleline
	}
	re, err := regexp2.Compile(tr, opts, regexp2.OptionMaxBacktrackingStackSize(maxBacktrackStack))
	if err != nil {
		return nil, err
	}
	if timeout <= 0 {
		timeout = DefaultMatchTimeout
	}
	re.MatchTimeout = timeout
	return backtrackMatcher{re: re, groups: groups}, nil
}

// posixClasses are the [:name:] classes PCRE accepts inside brackets, as
// ASCII ranges (regexp2 has none of them).
var posixClasses = map[string]string{
	"alpha": `a-zA-Z`, "digit": `0-9`, "alnum": `a-zA-Z0-9`, "upper": `A-Z`, "lower": `a-z`,
	"space": `\t\n\x0b\f\r\x20`, "blank": `\t\x20`, "punct": `!-/:-@\[-` + "`" + `{-~`,
	"xdigit": `0-9A-Fa-f`, "word": `\w`, "cntrl": `\x00-\x1f\x7f`, "print": `\x20-\x7e`,
	"graph": `\x21-\x7e`, "ascii": `\x00-\x7f`,
}

// hspace is PCRE's \h (horizontal white space), for use inside brackets.
const hspace = `\t\x20\xa0\u1680\u180e\u2000-\u200a\u202f\u205f\u3000`

// translatePCRE rewrites a PCRE pattern into the dialect regexp2 reads and
// returns the number of capturing groups. The differences that matter:
// .NET numbers named groups after all unnamed ones, PCRE left to right, so
// named groups become plain ones and references to them numbered; PCRE's
// (?P<n>...), (?P=n), \g{n}, POSIX [:classes:], \h, \H and \R are
// rewritten. Everything else (look-around, atomic groups, possessive
// quantifiers, \Q...\E, \x{hh}) regexp2 reads as PCRE does.
func translatePCRE(p string) (string, int, error) {
	// First pass: number the capturing groups and learn the names.
	names := map[string]int{}
	groups := 0
	inClass := false
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case c == '\\':
			if strings.HasPrefix(p[i:], `\Q`) {
				end := strings.Index(p[i+2:], `\E`)
				if end < 0 {
					i = len(p)
				} else {
					i += 2 + end + 1
				}
				continue
			}
			i++
		case inClass:
			if c == ']' {
				inClass = false
			}
		case c == '[':
			inClass = true
			if strings.HasPrefix(p[i+1:], "^]") {
				i += 2
			} else if strings.HasPrefix(p[i+1:], "]") {
				i++
			}
		case c == '(':
			name, _, capturing := groupName(p[i:])
			if capturing {
				groups++
				if name != "" {
					if _, dup := names[name]; dup {
						return "", 0, fmt.Errorf("group name %q is used twice", name)
					}
					names[name] = groups
				}
			}
		}
	}
	ref := func(name string) (string, error) {
		if n, err := strconv.Atoi(name); err == nil {
			if n < 1 || n > groups {
				return "", fmt.Errorf("reference to group %d, but the pattern has %d groups", n, groups)
			}
			return `\k<` + strconv.Itoa(n) + `>`, nil
		}
		n, ok := names[name]
		if !ok {
			return "", fmt.Errorf("reference to an unknown group %q", name)
		}
		return `\k<` + strconv.Itoa(n) + `>`, nil
	}
	// Second pass: rewrite.
	var b strings.Builder
	inClass = false
	seen := 0 // capturing groups opened so far (for \g{-n})
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c == '\\' && i+1 < len(p) {
			e := p[i+1]
			switch {
			case e == 'Q':
				end := strings.Index(p[i+2:], `\E`)
				lit := p[i+2:]
				if end >= 0 {
					lit = p[i+2 : i+2+end]
				}
				b.WriteString(regexp2.Escape(lit))
				if end < 0 {
					i = len(p)
				} else {
					i += 2 + end + 1
				}
				continue
			case e == 'h' || e == 'H':
				switch {
				case inClass && e == 'h':
					b.WriteString(hspace)
				case inClass:
					return "", 0, fmt.Errorf(`\H inside a character class is not supported`)
				case e == 'h':
					b.WriteString("[" + hspace + "]")
				default:
					b.WriteString("[^" + hspace + "]")
				}
				i++
				continue
			case e == 'R' && !inClass:
				b.WriteString(`(?>\r\n|[\n\x0b\f\r\x85\u2028\u2029])`)
				i++
				continue
			case e == 'g' && !inClass:
				name, n := gReference(p[i+2:])
				if n == 0 {
					return "", 0, fmt.Errorf(`bad \g reference`)
				}
				if k, err := strconv.Atoi(name); err == nil && k < 0 {
					name = strconv.Itoa(seen + 1 + k)
				}
				r, err := ref(name)
				if err != nil {
					return "", 0, err
				}
				b.WriteString(r)
				i += 1 + n
				continue
			case e == 'k' && !inClass && i+2 < len(p) && strings.IndexByte("<'{", p[i+2]) >= 0:
				closer := map[byte]byte{'<': '>', '\'': '\'', '{': '}'}[p[i+2]]
				end := strings.IndexByte(p[i+3:], closer)
				if end < 0 {
					return "", 0, fmt.Errorf(`unterminated \k reference`)
				}
				r, err := ref(p[i+3 : i+3+end])
				if err != nil {
					return "", 0, err
				}
				b.WriteString(r)
				i += 3 + end
				continue
			}
			b.WriteByte(c)
			b.WriteByte(e)
			i++
			continue
		}
		switch {
		case inClass:
			if c == '[' && strings.HasPrefix(p[i:], "[:") {
				end := strings.Index(p[i+2:], ":]")
				if end >= 0 {
					name := p[i+2 : i+2+end]
					if strings.HasPrefix(name, "^") {
						return "", 0, fmt.Errorf("negated POSIX class [:%s:] is not supported", name)
					}
					set, ok := posixClasses[name]
					if !ok {
						return "", 0, fmt.Errorf("unknown POSIX class [:%s:]", name)
					}
					b.WriteString(set)
					i += 2 + end + 1
					continue
				}
			}
			if c == '[' {
				b.WriteString(`\[`) // literal in PCRE; a subtraction in .NET
				continue
			}
			if c == ']' {
				inClass = false
			}
			b.WriteByte(c)
		case c == '[':
			inClass = true
			b.WriteByte(c)
			if strings.HasPrefix(p[i+1:], "^]") {
				b.WriteString(`^\]`)
				i += 2
			} else if strings.HasPrefix(p[i+1:], "]") {
				b.WriteString(`\]`)
				i++
			}
		case c == '(':
			_, skip, capturing := groupName(p[i:])
			switch {
			case capturing:
				seen++
				b.WriteByte('(')
				i += skip - 1
			case strings.HasPrefix(p[i:], "(?P="):
				end := strings.IndexByte(p[i:], ')')
				if end < 0 {
					return "", 0, fmt.Errorf("unterminated (?P= reference")
				}
				r, err := ref(p[i+4 : i+end])
				if err != nil {
					return "", 0, err
				}
				b.WriteString("(?:" + r + ")")
				i += end
			default:
				b.WriteByte('(')
			}
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), groups, nil
}

// groupName looks at "(" at the start of s and reports whether it opens a
// capturing group, its name if it has one, and how many bytes the
// opening takes ("(", "(?<name>", "(?'name'", "(?P<name>").
func groupName(s string) (name string, skip int, capturing bool) {
	if !strings.HasPrefix(s, "(?") {
		if strings.HasPrefix(s, "(*") { // PCRE verbs: not groups
			return "", 1, false
		}
		return "", 1, true
	}
	rest := s[2:]
	var open, closer string
	switch {
	case strings.HasPrefix(rest, "P<"):
		open, closer = "P<", ">"
	case strings.HasPrefix(rest, "<") && !strings.HasPrefix(rest, "<=") && !strings.HasPrefix(rest, "<!"):
		open, closer = "<", ">"
	case strings.HasPrefix(rest, "'"):
		open, closer = "'", "'"
	default:
		return "", 1, false
	}
	end := strings.Index(rest[len(open):], closer)
	if end < 0 {
		return "", 1, false
	}
	name = rest[len(open) : len(open)+end]
	if name == "" {
		return "", 1, false
	}
	for _, r := range name {
		if !(r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return "", 1, false
		}
	}
	return name, 2 + len(open) + end + len(closer), true
}

// gReference reads what follows \g: "{name}", "{-1}" or digits "1",
// "-1" ("\g<name>" is a subroutine call in PCRE: not supported). It
// returns the reference and how many bytes after \g it took (0: bad).
func gReference(s string) (string, int) {
	if strings.HasPrefix(s, "{") {
		end := strings.IndexByte(s, '}')
		if end <= 1 {
			return "", 0
		}
		return s[1:end], end + 1
	}
	j := 0
	if strings.HasPrefix(s, "-") {
		j = 1
	}
	k := j
	for k < len(s) && s[k] >= '0' && s[k] <= '9' {
		k++
	}
	if k == j {
		return "", 0
	}
	return s[:k], k
}
