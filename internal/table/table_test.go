package table

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

type probe struct {
	key   string
	want  string
	found bool
}

func writeFile(t *testing.T, name, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func check(t *testing.T, tab Table, probes []probe) {
	t.Helper()
	for _, p := range probes {
		v, ok, err := tab.Lookup(context.Background(), p.key)
		if err != nil || ok != p.found || v != p.want {
			t.Errorf("Lookup(%q) = %q, %v, %v; want %q, %v", p.key, v, ok, err, p.want, p.found)
		}
	}
}

func TestTypes(t *testing.T) {
	hashText := "# comment\nFoo@Example.COM   OK  \n   # indented comment\nbar value one\n  continued here\nbar duplicate\nexample.net REJECT no thanks\r\n"
	regexpText := `
/^(.*)@example\.com$/   local $1 at ${1}x $$
!/\.org$/  not-org
if /^a/
/b$/ ab
endif
/^x(y)?z/ X[$(1)]
`
	cases := []struct {
		name, typ, file string
		probes          []probe
	}{
		{"hash", "hash", hashText, []probe{
			{"foo@example.com", "OK", true},
			{"FOO@EXAMPLE.COM", "OK", true},
			{"bar", "value one  continued here", true},
			{"example.net", "REJECT no thanks", true},
			{"# comment", "", false},
			{"missing", "", false},
		}},
		{"texthash", "texthash", hashText, []probe{{"Bar", "value one  continued here", true}}},
		{"btree", "btree", hashText, []probe{{"foo@example.com", "OK", true}}},
		{"lmdb", "lmdb", hashText, []probe{{"foo@example.com", "OK", true}}},
		{"cdb", "cdb", hashText, []probe{{"foo@example.com", "OK", true}}},
		{"regexp", "regexp", regexpText, []probe{
			{"joe@EXAMPLE.com", "local joe at joex $", true},
			{"foo.org", "", false},
			{"abb", "not-org", true},
			{"a.org", "", false},
			{"xz", "not-org", true},
			{"x.org", "", false},
		}},
		{"regexp nested if", "regexp", "if /a/\nif !/b/\n/c/ a-c-no-b\nendif\n/./ has-a\nendif\n", []probe{
			{"ac", "a-c-no-b", true},
			{"abc", "has-a", true},
			{"c", "", false},
		}},
		{"regexp case flag", "regexp", "/Foo/i exact\n/bar/ any\n", []probe{
			{"Foo", "exact", true},
			{"foo", "", false},
			{"BAR", "any", true},
		}},
		{"regexp longest", "regexp", "/(a|ab)(c|bcd)(d*)/ [$1|$2|$3]\n", []probe{
			// POSIX leftmost-longest, as regexec(3): "abcd" is matched whole.
			{"abcd", "[a|bcd|]", true},
		}},
		{"regexp other delimiter", "regexp", "%^a/b$% slash\n|x\\|y| pipe\n", []probe{
			{"a/b", "slash", true},
			{"x|y", "pipe", true},
		}},
		{"pcre", "pcre", "/^(\\d+)\\.(\\d+)\\./ net $2.$1\n/ a \\s b # comment/x spaced\n/^z/A anchored\n", []probe{
			{"10.20.30.40", "net 20.10", true},
			{"a b", "spaced", true},
			{"ab", "", false},
			{"z", "anchored", true},
		}},
		{"cidr", "cidr", "192.168.0.0/16 lan\n!10.0.0.0/8 not-ten\n2001:db8::/32 doc6\n[::1] loopback6\nif 10.0.0.0/8\n10.1.2.3 exact\n10.1.0.0/16   ten-one\nendif\n", []probe{
			{"192.168.7.7", "lan", true},
			{"10.1.2.3", "exact", true},
			{"10.1.9.9", "ten-one", true},
			{"10.2.0.1", "", false},
			{"172.16.0.1", "not-ten", true},
			{"2001:db8::5", "doc6", true},
			{"not an address", "", false},
		}},
		{"cidr ipv6", "cidr", "2001:db8::/32 doc6\n[::1] loopback6\n0.0.0.0/0 any4\n", []probe{
			{"2001:DB8:0:0::5", "doc6", true},
			{"::1", "loopback6", true},
			{"1.2.3.4", "any4", true},
			{"::2", "", false},
			{"junk", "", false},
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := writeFile(t, "table", c.file)
			tab, err := Open(c.typ+":"+p, Options{})
			if err != nil {
				t.Fatal(err)
			}
			check(t, tab, c.probes)
		})
	}
}

func TestInlineStatic(t *testing.T) {
	tab, err := Open("inline:{ A=b, {c = d e }, C=x,k=v }", Options{})
	if err != nil {
		t.Fatal(err)
	}
	check(t, tab, []probe{{"a", "b", true}, {"c", "x", true}, {"K", "v", true}, {"d", "", false}})
	tab, err = Open("static:{ a b }", Options{})
	if err != nil {
		t.Fatal(err)
	}
	check(t, tab, []probe{{"anything", "a b", true}})
	tab, err = Open("static:OK", Options{})
	if err != nil {
		t.Fatal(err)
	}
	check(t, tab, []probe{{"", "OK", true}})
	tab, err = Open("proxy:inline:{x=y}", Options{})
	if err != nil {
		t.Fatal(err)
	}
	check(t, tab, []probe{{"X", "y", true}})
}

// TestErrors: every broken table names the file and the line.
func TestErrors(t *testing.T) {
	cases := []struct{ typ, text, want string }{
		{"hash", "ok value\nnovalue\n", "line 2: expected format: key whitespace value"},
		{"hash", "  leading\n", "line 1: a logical line must not start with whitespace"},
		{"regexp", "/a/ x\n/b/\n", "line 2: no result after the pattern"},
		{"regexp", "/a(/ x\n", "line 1: pattern"},
		{"regexp", "/a/q x\n", `line 1: unknown pattern flag 'q'`},
		{"regexp", "/a/x x\n", "line 1: flag x (POSIX basic"},
		{"regexp", "/a(b)/ $2\n", "line 1: out of range replacement index $2"},
		{"regexp", "!/a(b)/ $1\n", "line 1: $1 substitution is not possible"},
		{"regexp", "/a/ $x\n", "line 1: unknown $ substitution"},
		{"regexp", "/abc x\n", "line 1: missing closing /"},
		{"regexp", "if /a/\n/b/ c\n", "line 1: if without endif"},
		{"regexp", "endif\n", "line 1: endif without if"},
		{"pcre", "/a(?R)?b/ x\n", "line 1: pattern \"a(?R)?b\""},
		{"pcre", "/(a)\\2/ x\n", "line 1: pattern \"(a)\\\\2\""},
		{"pcre", "/(?=a)(b)/ $2\n", "line 1: out of range replacement index $2"},
		{"pcre", "/(?=a)/U x\n", "line 1: pattern \"(?=a)\": flag U"},
		{"pcre", "/(?=a)[[:foo:]]/ x\n", "unknown POSIX class [:foo:]"},
		{"pcre", "/(?=a)\\k<nope>/ x\n", "reference to an unknown group \"nope\""},
		{"cidr", "10.0.0.1/8 x\n", "line 1: non-null host address bits"},
		{"cidr", "10.0.0.0/33 x\n", "line 1: bad network prefix"},
		{"cidr", "example.com x\n", "line 1: bad network address"},
		{"cidr", "10.0.0.0/8\n", "line 1: no result"},
	}
	for _, c := range cases {
		p := writeFile(t, "broken", c.text)
		_, err := Open(c.typ+":"+p, Options{})
		if err == nil || !strings.Contains(err.Error(), p+", "+c.want) && !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), p) {
			t.Errorf("%s %q: err %v, want it to name %s and %q", c.typ, c.text, err, p, c.want)
		}
	}
	for _, spec := range []string{"nocolon", "sqlite:/x.cf", "hash:", "inline:a=b", "inline:{ }", "inline:{ a }", "inline:{ {a=b }", "hash:/nonexistent/file"} {
		if _, err := Open(spec, Options{}); err == nil {
			t.Errorf("Open(%q) succeeded", spec)
		}
	}
	if _, err := Open("ldap:/etc/x.cf", Options{}); !errors.Is(err, ErrUnsupported) {
		t.Errorf("ldap: %v, want ErrUnsupported", err)
	}
}

// TestReload: a changed file is re-read after the interval; a broken
// rewrite keeps the last good content and is logged.
func TestReload(t *testing.T) {
	p := writeFile(t, "access", "a one\n")
	now := time.Unix(1000, 0)
	var mu sync.Mutex
	var logs []string
	opts := Options{
		Now: func() time.Time { mu.Lock(); defer mu.Unlock(); return now },
		Logf: func(f string, a ...any) {
			mu.Lock()
			defer mu.Unlock()
			logs = append(logs, f)
		},
	}
	advance := func() { mu.Lock(); now = now.Add(2 * time.Second); mu.Unlock() }
	tab, err := Open("hash:"+p, opts)
	if err != nil {
		t.Fatal(err)
	}
	check(t, tab, []probe{{"a", "one", true}})
	if err := os.WriteFile(p, []byte("a two\nb three\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	check(t, tab, []probe{{"a", "one", true}}) // not yet: within the interval
	advance()
	check(t, tab, []probe{{"a", "two", true}, {"b", "three", true}})
	if err := os.WriteFile(p, []byte("a four\nbroken\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	advance()
	check(t, tab, []probe{{"a", "two", true}})
	mu.Lock()
	n := len(logs)
	mu.Unlock()
	if n != 1 {
		t.Errorf("%d reload failures logged, want 1", n)
	}
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
	advance()
	check(t, tab, []probe{{"b", "three", true}})
	// A file renamed into place with the same size and modification time
	// is still noticed: it is another inode.
	if err := os.WriteFile(p, []byte("a five\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	advance()
	check(t, tab, []probe{{"a", "five", true}})
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	tmp := p + ".new"
	if err := os.WriteFile(tmp, []byte("a sixx\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(tmp, fi.ModTime(), fi.ModTime()); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, p); err != nil {
		t.Fatal(err)
	}
	advance()
	check(t, tab, []probe{{"a", "sixx", true}})
}

func TestAddressKeys(t *testing.T) {
	cases := []struct {
		addr   string
		parent bool
		delim  string
		want   []string
	}{
		{"user@mail.example.com", true, "", []string{"user@mail.example.com", "mail.example.com", "example.com", "com", "user@"}},
		{"user@mail.example.com", false, "", []string{"user@mail.example.com", "mail.example.com", ".example.com", ".com", "user@"}},
		{"user+foo@example.com", true, "+", []string{"user+foo@example.com", "user@example.com", "example.com", "com", "user+foo@", "user@"}},
		{"user+foo@example.com", true, "", []string{"user+foo@example.com", "example.com", "com", "user+foo@"}},
		{"+foo@example.com", true, "+", []string{"+foo@example.com", "example.com", "com", "+foo@"}},
		{"", true, "", []string{"<>"}},
		{"postmaster", true, "", []string{"postmaster"}},
		{`"a@b"@example.com`, true, "", []string{`"a@b"@example.com`, "example.com", "com", `"a@b"@`}},
	}
	for _, c := range cases {
		if got := AddressKeysDelim(c.addr, c.parent, c.delim); !reflect.DeepEqual(got, c.want) {
			t.Errorf("AddressKeysDelim(%q, %v, %q) = %q, want %q", c.addr, c.parent, c.delim, got, c.want)
		}
	}
	if got := AddressKeys("a@b.c", false); !reflect.DeepEqual(got, []string{"a@b.c", "b.c", ".c", "a@"}) {
		t.Errorf("AddressKeys = %q", got)
	}
}

func TestHostKeys(t *testing.T) {
	cases := []struct {
		host   string
		parent bool
		want   []string
	}{
		{"a.b.example.com", true, []string{"a.b.example.com", "b.example.com", "example.com", "com"}},
		{"a.b.example.com", false, []string{"a.b.example.com", ".b.example.com", ".example.com", ".com"}},
		{"localhost", true, []string{"localhost"}},
		{"", true, nil},
	}
	for _, c := range cases {
		if got := HostKeys(c.host, c.parent); !reflect.DeepEqual(got, c.want) {
			t.Errorf("HostKeys(%q, %v) = %q, want %q", c.host, c.parent, got, c.want)
		}
	}
}

func TestIPKeys(t *testing.T) {
	cases := []struct {
		ip   string
		want []string
	}{
		{"1.2.3.4", []string{"1.2.3.4", "1.2.3", "1.2", "1"}},
		{"::ffff:192.0.2.1", []string{"192.0.2.1", "192.0.2", "192.0", "192"}},
		{"2001:db8::1", []string{"2001:db8::1", "2001:db8:", "2001:db8", "2001"}},
		{"2001:DB8:0:1:0:0:0:1", []string{"2001:db8:0:1::1", "2001:db8:0:1:", "2001:db8:0:1", "2001:db8:0", "2001:db8", "2001"}},
		{"2001:db8:1:2:3:4:5:6", []string{"2001:db8:1:2:3:4:5:6", "2001:db8:1:2:3:4:5", "2001:db8:1:2:3:4", "2001:db8:1:2:3", "2001:db8:1:2", "2001:db8:1", "2001:db8", "2001"}},
		{"::1", []string{"::1", ":"}},
	}
	for _, c := range cases {
		if got := IPKeys(netip.MustParseAddr(c.ip)); !reflect.DeepEqual(got, c.want) {
			t.Errorf("IPKeys(%s) = %q, want %q", c.ip, got, c.want)
		}
	}
	if IPKeys(netip.Addr{}) != nil {
		t.Error("IPKeys of the zero Addr is not nil")
	}
}
