package spf

import (
	"net/netip"
	"strings"
	"testing"
	"time"
)

// The examples of RFC 7208 7.4.
func TestMacroExamples(t *testing.T) {
	env4 := &macroEnv{ip: netip.MustParseAddr("192.0.2.3"), sender: "strong-bad@email.example.com",
		local: "strong-bad", sdomain: "email.example.com", helo: "mx.example.org"}
	env6 := *env4
	env6.ip = netip.MustParseAddr("2001:db8::cb01")
	for _, tc := range []struct {
		env  *macroEnv
		in   string
		want string
	}{
		{env4, "%{s}", "strong-bad@email.example.com"},
		{env4, "%{o}", "email.example.com"},
		{env4, "%{d}", "email.example.com"},
		{env4, "%{d4}", "email.example.com"},
		{env4, "%{d3}", "email.example.com"},
		{env4, "%{d2}", "example.com"},
		{env4, "%{d1}", "com"},
		{env4, "%{dr}", "com.example.email"},
		{env4, "%{d2r}", "example.email"},
		{env4, "%{l}", "strong-bad"},
		{env4, "%{l-}", "strong.bad"},
		{env4, "%{lr}", "strong-bad"},
		{env4, "%{lr-}", "bad.strong"},
		{env4, "%{l1r-}", "strong"},
		{env4, "%{ir}.%{v}._spf.%{d2}", "3.2.0.192.in-addr._spf.example.com"},
		{env4, "%{lr-}.lp._spf.%{d2}", "bad.strong.lp._spf.example.com"},
		{env4, "%{lr-}.lp.%{ir}.%{v}._spf.%{d2}", "bad.strong.lp.3.2.0.192.in-addr._spf.example.com"},
		{env4, "%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}", "3.2.0.192.in-addr.strong.lp._spf.example.com"},
		{env4, "%{d2}.trusted-domains.example.net", "example.com.trusted-domains.example.net"},
		// DNS names are case-insensitive; we write IPv6 nibbles in upper
		// case as the RFC 7208 test suite expects.
		{&env6, "%{ir}.%{v}._spf.%{d2}", "1.0.B.C.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.B.D.0.1.0.0.2.ip6._spf.example.com"},
		{env4, "%{H}", "mx.example.org"},
		{env4, "%%%_%-", "% %20"},
		{env4, "%{S}", "strong-bad%40email.example.com"},
		{env4, "%{d999}", "email.example.com"},
		{env4, "%{l+-}", "strong.bad"},
	} {
		ms, err := parseMacro(tc.in, false)
		if err != nil {
			t.Fatalf("%s: %v", tc.in, err)
		}
		if got := ms.expand(tc.env, "email.example.com"); got != tc.want {
			t.Errorf("%s = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestMacroExplanationLetters(t *testing.T) {
	env := &macroEnv{ip: netip.MustParseAddr("2001:db8::1"), receiver: "mx.example.net",
		now: func() time.Time { return time.Unix(1700000000, 0) }}
	ms, err := parseMacro("%{c} to %{r} at %{t}", true)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := ms.expand(env, "d.example"), "2001:db8::1 to mx.example.net at 1700000000"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	env.receiver = ""
	if got := ms.expand(env, "d"); !strings.Contains(got, " to unknown at ") {
		t.Errorf("empty receiver: %q", got)
	}
}

func TestMacroSyntax(t *testing.T) {
	for _, tc := range []struct {
		in  string
		exp bool
		ok  bool
	}{
		{"%{d}", false, true},
		{"%{c}", false, false}, // c, r, t only in explanations
		{"%{r}", false, false},
		{"%{t}", false, false},
		{"%{c}", true, true},
		{"%{a}", false, false},
		{"%{d0}", false, false},
		{"%{d2r.-+,/_=}", false, true},
		{"%{d2x}", false, false},
		{"%{d", false, false},
		{"%x", false, false},
		{"50%", false, false},
		{"a b", false, false},
		{"a b", true, true},
		{"caf\xc3\xa9", true, false},
		{"%{}", false, false},
	} {
		_, err := parseMacro(tc.in, tc.exp)
		if (err == nil) != tc.ok {
			t.Errorf("parseMacro(%q, %v): err %v, want ok %v", tc.in, tc.exp, err, tc.ok)
		}
	}
}

func TestDomainName(t *testing.T) {
	long := strings.Repeat("abcdefghi.", 30) + "example.com."
	got := domainName(long)
	if len(got) > 253 || !strings.HasSuffix(got, ".example.com") || strings.HasPrefix(got, ".") {
		t.Errorf("domainName: %q (%d)", got, len(got))
	}
	if domainName("example.com.") != "example.com" {
		t.Error("trailing dot kept")
	}
}

func TestMacroExpansionBounded(t *testing.T) {
	env := &macroEnv{sender: strings.Repeat("x", 300) + "@" + strings.Repeat("a.", 100) + "example.com", local: strings.Repeat("x", 300)}
	ms, err := parseMacro(strings.Repeat("%{s}", 5000)+".example.com", false)
	if err != nil {
		t.Fatal(err)
	}
	out := ms.expand(env, "d.example")
	if len(out) > maxExpansion || !strings.HasSuffix(out, "example.com.example.com") {
		t.Errorf("expansion of %d bytes, ends %q", len(out), out[max(0, len(out)-30):])
	}
	if n := domainName(out); len(n) > 253 || !strings.HasSuffix(n, ".example.com") {
		t.Errorf("domain %q", n)
	}
}
