package spf

import (
	"net/netip"
	"testing"
	"time"
)

func FuzzParseRecord(f *testing.F) {
	for _, s := range []string{
		"v=spf1 -all",
		"v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 a:mail.example.com/24//64 mx/26 ptr:example.com ~all",
		"v=spf1 exists:%{ir}.%{l1r+-}._spf.%{d} redirect=_spf.%{d2} exp=exp.%{d}",
		"v=spf1 include:_spf.google.com ?all",
		"v=spf1 a:%{H}.bar foo=%{p}",
		"v=spf1 a//129 %",
	} {
		f.Add(s)
	}
	env := &macroEnv{ip: netip.MustParseAddr("2001:db8::1"), sender: "a@b.example", local: "a",
		sdomain: "b.example", helo: "h.example", now: func() time.Time { return time.Unix(0, 0) }}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := parseRecord(s)
		if err != nil {
			return
		}
		for _, m := range r.mechs {
			if len(m.domain.parts) > 0 {
				_ = domainName(m.domain.expand(env, "example.com"))
			}
		}
	})
}

func FuzzMacro(f *testing.F) {
	for _, s := range []string{
		"%{ir}.%{v}._spf.%{d2}", "%{lr-}.lp._spf.%{d2}", "%%%_%-", "%{S}", "%{c} %{r} %{t}",
		"%{d999r.-+,/_=}", "%{", "%{p}.%{h}",
	} {
		f.Add(s, true)
		f.Add(s, false)
	}
	env := &macroEnv{ip: netip.MustParseAddr("192.0.2.3"), sender: "strong-bad@email.example.com",
		local: "strong-bad", sdomain: "email.example.com", helo: "mx", receiver: "r.example"}
	f.Fuzz(func(t *testing.T, s string, exp bool) {
		ms, err := parseMacro(s, exp)
		if err != nil {
			return
		}
		out := ms.expand(env, "email.example.com")
		if n := domainName(out); len(n) > 253 && validName(n) {
			t.Fatalf("domainName kept %d characters", len(n))
		}
		_ = ms.validDomainSpec()
	})
}
