package dkim

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"mailwarden/internal/table"
)

func TestSigningKeys(t *testing.T) {
	got := SigningKeys("joe@foo.example.com", "foo.example.com")
	want := []string{"joe@foo.example.com", "foo.example.com", "joe@.example.com", "joe@.com", ".example.com", ".com", "joe@*", "*"}
	if !slices.Equal(got, want) {
		t.Errorf("SigningKeys = %v, want %v", got, want)
	}
}

func TestRefile(t *testing.T) {
	r, err := ParseRefile([]byte("# comment\n\n*@example.com\tkey1\nboss@*  key2 boss@example.com\n*@*.example.org key3\n*  fallback\n"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ addr, want string }{
		{"joe@example.com", "key1\nfallback"},
		{"Boss@Example.COM", "key1\nkey2 boss@example.com\nfallback"},
		{"joe@mail.example.org", "key3\nfallback"},
		{"joe@example.org", "fallback"},
	} {
		got, ok, err := r.Lookup(context.Background(), c.addr)
		if err != nil || !ok || got != c.want {
			t.Errorf("%s: %q %v %v, want %q", c.addr, got, ok, err, c.want)
		}
	}
	for _, bad := range []string{"justapattern\n", "pattern   \n"} {
		if _, err := ParseRefile([]byte(bad)); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	for _, c := range []struct {
		pat, s string
		ok     bool
	}{
		{"a*b*c", "abc", true}, {"a*b*c", "axxbyyc", true}, {"a*b*c", "acb", false}, {"*", "", true}, {"**", "x", true},
		{"a*a", "a", false}, {"x", "x", true}, {"x", "xy", false}, {"*@b", "a@b", true},
	} {
		if got := wildcard(strings.Split(c.pat, "*"), c.s); got != c.ok {
			t.Errorf("wildcard(%q, %q) = %v", c.pat, c.s, got)
		}
	}
}

func TestParseKeyTableValue(t *testing.T) {
	for _, c := range []struct {
		in   string
		want KeyTableEntry
		ok   bool
	}{
		{"example.com:sel:/etc/opendkim/keys/sel.private", KeyTableEntry{"example.com", "sel", "/etc/opendkim/keys/sel.private"}, true},
		{"Example.COM:sel", KeyTableEntry{"example.com", "sel", ""}, true},
		{"%:sel:/k", KeyTableEntry{"%", "sel", "/k"}, true},
		{"example.com", KeyTableEntry{}, false},
		{"example.com:bad sel", KeyTableEntry{}, false},
		{"not a domain:sel", KeyTableEntry{}, false},
	} {
		got, err := ParseKeyTableValue(c.in)
		if (err == nil) != c.ok || c.ok && got != c.want {
			t.Errorf("%q: %+v %v", c.in, got, err)
		}
	}
}

func TestFinder(t *testing.T) {
	ctx := context.Background()
	st, _, _ := newStore(t)
	for _, d := range []string{"example.com", "example.net"} {
		if _, err := st.Create(ctx, d, "", RSA2048); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := st.Create(ctx, "example.com", "", Ed25519); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write := func(name, data string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	rsaKey, _ := keys(t)
	pemKey, _ := EncodePrivateKey(rsaKey)
	keyFile := write("legacy.private", pemKey)
	refile := write("signing.refile", "*@example.org legacy\n*@lists.example.com netkey lists@lists.example.com\n*@example.com %\n")
	keytable := write("keytable", "legacy example.org:old:"+keyFile+"\nnetkey example.net:mw202612r\nexample.com %:mw202612e\n")
	hashTable := write("signing.hash", "example.org legacy\n.example.com netkey\n")
	got := func(f *Finder, addr string) string {
		t.Helper()
		domain := addr[strings.LastIndexByte(addr, '@')+1:]
		ks, err := f.Keys(ctx, addr, domain)
		if err != nil {
			return "error: " + err.Error()
		}
		var out []string
		for _, k := range ks {
			s := k.Domain + "/" + k.Selector
			if k.Identity != "" {
				s += "(" + k.Identity + ")"
			}
			out = append(out, s)
		}
		return strings.Join(out, " ")
	}
	open := func(signing, keys string, multiple bool) *Finder {
		t.Helper()
		f, err := NewFinder(st, signing, keys, multiple, table.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(f.Close)
		return f
	}
	def := open("", "", false)
	re := open("refile:"+refile, keytable, false)
	reMulti := open("refile:"+refile, keytable, true)
	hash := open("texthash:"+hashTable, keytable, false)
	bare := open(hashTable, "", false)
	for _, c := range []struct {
		f          *Finder
		addr, want string
	}{
		{def, "joe@example.com", "example.com/mw202612r example.com/mw202612e"},
		{def, "joe@example.net", "example.net/mw202612r"},
		{def, "joe@example.org", ""},
		{def, "joe@sub.example.com", ""},
		{re, "joe@example.org", "example.org/old"},
		{re, "joe@example.com", "example.com/mw202612e"},
		{re, "joe@lists.example.com", "example.net/mw202612r"},
		{reMulti, "joe@lists.example.com", "example.net/mw202612r"},
		{re, "joe@elsewhere.example", ""},
		{hash, "joe@example.org", "example.org/old"},
		{hash, "joe@mail.example.com", "example.net/mw202612r"},
		{hash, "joe@example.com", ""},
		{bare, "joe@example.org", "error: dkim: signing_table names \"legacy\": not a domain and no key_table"},
	} {
		if g := got(c.f, c.addr); g != c.want {
			t.Errorf("%s: %q, want %q", c.addr, g, c.want)
		}
	}
	// The identity of a refile entry for a domain of its own.
	refile2 := write("signing2.refile", "*@example.com example.com %\n*@example.com netkey\n")
	kt2 := write("keytable2", "example.com example.com:mw202612r\nnetkey example.net:mw202612r\n")
	f2 := open("refile:"+refile2, kt2, true)
	if g := got(f2, "joe@example.com"); g != "example.com/mw202612r(@example.com) example.net/mw202612r" {
		t.Errorf("multiple signatures: %q", g)
	}
	missing := open("refile:"+write("s3", "* nokey\n"), kt2, false)
	if g := got(missing, "a@example.com"); !strings.Contains(g, "not in key_table") {
		t.Errorf("missing key name: %q", g)
	}
	if _, err := NewFinder(st, "refile:"+filepath.Join(dir, "absent"), "", false, table.Options{}); err == nil {
		t.Error("a missing signing table was accepted")
	}
}
