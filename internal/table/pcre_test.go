package table

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// TestPCREBacktracking: pcre: patterns RE2 cannot run (look-around,
// back-references, atomic groups, possessive quantifiers) run on the
// backtracking engine with PCRE's meaning, flags and $n substitution.
func TestPCREBacktracking(t *testing.T) {
	file := `# look-ahead, look-behind, back-references
/^(?!postmaster@)([^@]+)@example\.com$/      user $1
/^(\w+)\.\1\.test$/                          repeated $1
/(?<=@)(mail|smtp)\./                        relay host $1
/^(?<user>[a-z]+)\+(?P<ext>\w+)@(\w+)\.org$/ ext ${2} of $1 at $3
/^(?P<w>\w)(?P=w)\k<w>$/                     triple $1
/^a++b$/                                     possessive
/^(?>x+)x$/                                  atomic-never
/^CaSe(?=!)/                                 case-insensitive default
/^Exact(?=!)/i                               exact-case
if /(?<!bad)\.net$/
/^[[:digit:]]+\.net$/                        digits
endif
/^(\d+)-\g{1}-\g{-1}$/                       g-refs $1
/^\Qa.b\E(?=c)/                              quoted
/^(a)?(?=b)(b)z$/                            opt [$1|$2]
`
	p := writeFile(t, "checks.pcre", file)
	tab, err := Open("pcre:"+p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	check(t, tab, []probe{
		{"joe@example.com", "user joe", true},
		{"postmaster@example.com", "", false},
		{"abc.abc.test", "repeated abc", true},
		{"abc.abd.test", "", false},
		{"x@mail.example", "relay host mail", true},
		{"mail.example", "", false},
		{"joe+lists@site.org", "ext lists of joe at site", true},
		{"zzz", "triple z", true},
		{"zzy", "", false},
		{"aaab", "possessive", true},
		{"xxxx", "", false},
		{"case!", "case-insensitive default", true},
		{"CASE!", "case-insensitive default", true},
		{"exact!", "", false},
		{"Exact!", "exact-case", true},
		{"12.net", "digits", true},
		{"bad.net", "", false},
		{"7-7-7", "g-refs 7", true},
		{"7-7-8", "", false},
		{"a.bc", "quoted", true},
		{"axbc", "", false},
		{"bz", "opt [|b]", true},
	})
}

// TestPCRETimeout: a catastrophic pattern is a lookup error (a temporary
// failure naming the file and line), not a hang; other lines still work.
func TestPCRETimeout(t *testing.T) {
	p := writeFile(t, "slow.pcre", "/^ok$/ fine\n/^(a+)+(?=x)\\1$/ never\n")
	tab, err := Open("pcre:"+p, Options{MatchTimeout: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	check(t, tab, []probe{{"ok", "fine", true}})
	_, found, err := tab.Lookup(context.Background(), strings.Repeat("a", 60)+"!")
	if !errors.Is(err, ErrMatchTimeout) || found {
		t.Fatalf("catastrophic match: found %v, err %v; want ErrMatchTimeout", found, err)
	}
	if !strings.Contains(err.Error(), p+", line 2") {
		t.Errorf("error %q does not name %s, line 2", err, p)
	}
}

func TestTranslatePCRE(t *testing.T) {
	cases := []struct {
		in, out string
		groups  int
		err     string
	}{
		{in: `(a)(?<n>b)\k<n>`, out: `(a)(b)\k<2>`, groups: 2},
		{in: `(?P<x>a)(?P=x)`, out: `(a)(?:\k<1>)`, groups: 1},
		{in: `(?'q'a)\k'q'\k{q}`, out: `(a)\k<1>\k<1>`, groups: 1},
		{in: `(a)(b)\g{-1}\g1\g{2}`, out: `(a)(b)\k<2>\k<1>\k<2>`, groups: 2},
		{in: `(?<=a)(?<!b)(?:c)(?=d)`, out: `(?<=a)(?<!b)(?:c)(?=d)`},
		{in: `[[:alpha:][:digit:]_]`, out: `[a-zA-Z0-9_]`},
		{in: `[]a]`, out: `[\]a]`},
		{in: `[^]a]`, out: `[^\]a]`},
		{in: `[a[b]`, out: `[a\[b]`},
		{in: `\h\H[\h]`, out: "[" + hspace + "][^" + hspace + "][" + hspace + "]"},
		{in: `\Q(a)\E(b)`, out: `\(a\)(b)`, groups: 1},
		{in: `\(a\)`, out: `\(a\)`},
		{in: `(*UTF)a`, out: `(*UTF)a`},
		{in: `[\H]`, err: `\H inside`},
		{in: `(a)\g{3}`, err: "reference to group 3"},
		{in: `(?<a>x)(?<a>y)`, err: "used twice"},
		{in: `[[:^alpha:]]`, err: "negated POSIX class"},
		{in: `\g`, err: `bad \g`},
	}
	for _, c := range cases {
		out, groups, err := translatePCRE(c.in)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("translatePCRE(%q) err %v, want %q", c.in, err, c.err)
			}
			continue
		}
		if err != nil || out != c.out || groups != c.groups {
			t.Errorf("translatePCRE(%q) = %q, %d, %v; want %q, %d", c.in, out, groups, err, c.out, c.groups)
		}
	}
}

func FuzzTranslatePCRE(f *testing.F) {
	for _, s := range []string{`(a)(?<n>b)\k<n>`, `(?P<x>a)(?P=x)`, `[[:alpha:]]\h\Q(\E`, `\g{-1}(a)`, `[]a[`, `(?'q'`, `\k<`, `(?P=`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		out, groups, err := translatePCRE(p)
		if err != nil {
			return
		}
		if groups < 0 || groups > len(p) {
			t.Fatalf("%d groups in %q", groups, p)
		}
		if m, err := compileBacktrack(p, pcreFlags{icase: true}, 10*time.Millisecond); err == nil {
			m.match("key@example.com", true)
		}
		_ = out
	})
}
