package directory

import (
	"errors"
	"testing"
)

func TestSplit(t *testing.T) {
	for _, tc := range []struct {
		addr, local, domain string
		bad                 bool
	}{
		{"alice@Example.ORG", "alice", "example.org", false},
		{"a@b@c.test", "a@b", "c.test", false}, // unquoted: the last '@'
		{`"x@inner.test"@remote.test`, `"x@inner.test"`, "remote.test", false},
		{`"x@inner.test"@Remote.Test.`, `"x@inner.test"`, "remote.test", false},
		{`"john doe"@remote.test`, `"john doe"`, "remote.test", false},
		{`"a\"b@c"@remote.test`, `"a\"b@c"`, "remote.test", false},
		{`"a\\"@remote.test`, `"a\\"`, "remote.test", false},
		{`""@remote.test`, `""`, "remote.test", false},
		{`"x@inner.test"`, "", "", true},                   // no domain
		{`"x@inner.test"@`, "", "", true},                  // empty domain
		{`"unterminated@remote.test`, "", "", true},        // no closing quote
		{`"x"y@remote.test`, "", "", true},                 // text after the quotes
		{`"x"@a@remote.test`, "", "", true},                // '@' in the domain
		{"john doe@remote.test", "", "", true},             // space outside quotes
		{"\"x\r\nX-Injected: 1\"@evil.test", "", "", true}, // control characters
		{"\"x\x00\"@evil.test", "", "", true},
		{"@remote.test", "", "", true},
	} {
		local, domain, err := Split(tc.addr)
		if tc.bad {
			if !errors.Is(err, ErrBadAddress) {
				t.Errorf("Split(%q) = %q, %q, %v; want ErrBadAddress", tc.addr, local, domain, err)
			}
			continue
		}
		if err != nil || local != tc.local || domain != tc.domain {
			t.Errorf("Split(%q) = %q, %q, %v; want %q, %q", tc.addr, local, domain, err, tc.local, tc.domain)
		}
	}
}

func TestUnquote(t *testing.T) {
	for in, want := range map[string]string{
		`alice`: `alice`, `"alice"`: `alice`, `"a\"b"`: `a"b`, `"x@y"`: `x@y`, `""`: ``, `"`: `"`, `a"b"`: `a"b"`,
	} {
		if got := Unquote(in); got != want {
			t.Errorf("Unquote(%q) = %q, want %q", in, got, want)
		}
	}
}
