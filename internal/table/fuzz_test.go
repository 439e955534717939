package table

import (
	"context"
	"errors"
	"net/netip"
	"testing"
)

// The parsers must never panic on any file, and a table that parses must
// answer any key without panicking.

func fuzzParser(f *testing.F, parse func(string, []byte) (Table, error), seeds ...string) {
	for _, s := range seeds {
		f.Add(s, "key@example.com")
	}
	f.Fuzz(func(t *testing.T, text, key string) {
		tab, err := parse("fuzz", []byte(text))
		if err != nil {
			return
		}
		if _, _, err := tab.Lookup(context.Background(), key); err != nil && !errors.Is(err, ErrMatchTimeout) {
			t.Fatalf("lookup error: %v", err)
		}
	})
}

func FuzzText(f *testing.F) {
	fuzzParser(f, parseText, "a b\n c\n# x\n", "key@example.com OK\r\n", "", "  x\n", "k\n")
}

func FuzzRegexp(f *testing.F) {
	fuzzParser(f, func(p string, d []byte) (Table, error) { return parseRegexp(p, d, false, 0) },
		"/^(.*)@example\\.com$/ x $1 ${1} $(1) $$\n", "if !/a/\n/b/i c\nendif\n", "%a\\%b% d\n", "/a/q x\n", "/(/ x\n")
}

func FuzzPCRE(f *testing.F) {
	fuzzParser(f, func(p string, d []byte) (Table, error) { return parseRegexp(p, d, true, 0) },
		"/ a \\s b # c/x d\n", "/^z/AsmUEX y\n", "/a(?=b)/ x\n", "if /a/\nendif\n", "/(?<n>a)\\k<n>(?!b)/ $1\n", "/[[:alpha:]]++\\h/ y\n")
}

func FuzzCIDR(f *testing.F) {
	for _, s := range []string{"10.0.0.0/8 a\n", "!::1 b\nif [2001:db8::]/32\n2001:db8::1 c\nendif\n", "1.2.3.4/24 x\n"} {
		f.Add(s, "10.1.2.3")
	}
	f.Fuzz(func(t *testing.T, text, key string) {
		tab, err := parseCIDR("fuzz", []byte(text))
		if err != nil {
			return
		}
		if _, _, err := tab.Lookup(context.Background(), key); err != nil {
			t.Fatal(err)
		}
	})
}

func FuzzInline(f *testing.F) {
	for _, s := range []string{"{ a=b, { c = d e } }", "{}", "{ {a=b} x=y,z=}", "{ { }"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tab, err := parseInline(s)
		if err != nil {
			return
		}
		if _, _, err := tab.Lookup(context.Background(), "a"); err != nil {
			t.Fatal(err)
		}
	})
}

func FuzzKeys(f *testing.F) {
	for _, s := range []string{"user+ext@a.b.example.com", "", "@", "a@", "@b", ".", "a..b", "x@.y."} {
		f.Add(s, "+-")
	}
	f.Fuzz(func(t *testing.T, addr, delims string) {
		keys := AddressKeysDelim(addr, true, delims)
		if len(keys) == 0 {
			t.Fatal("no keys")
		}
		AddressKeysDelim(addr, false, delims)
		HostKeys(addr, false)
		if a, err := netip.ParseAddr(addr); err == nil {
			for _, k := range IPKeys(a) {
				if k == "" {
					t.Fatal("empty IP key")
				}
			}
		}
	})
}
