package spf

import (
	"context"
	"net/netip"
	"testing"
)

// BenchmarkCheckWarm is one MAIL FROM check of a typical record (an
// include, a, mx and ip4 terms, an exp=) with every answer in the
// dnsx.RRCache: the per-message cost once the sender's domain is known.
func BenchmarkCheckWarm(b *testing.B) {
	c, _ := newChecker(b, `
example.com. TXT "v=spf1 a mx include:_spf.example.net ip4:192.0.2.0/24 -all exp=why.example.com"
example.com. A 198.51.100.1
example.com. MX 10 mx1.example.com.
mx1.example.com. A 198.51.100.2
_spf.example.net. TXT "v=spf1 ip4:203.0.113.0/24 ip6:2001:db8::/32 ~all"
why.example.com. TXT "%{i} is not allowed to send for %{d}"
`)
	ctx := context.Background()
	pass := netip.MustParseAddr("192.0.2.77")
	if v := c.CheckMailFrom(ctx, pass, "user@example.com", "mail.example.org"); v.Result != Pass {
		b.Fatalf("warm-up: %s", v.Result)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if v := c.CheckMailFrom(ctx, pass, "user@example.com", "mail.example.org"); v.Result != Pass {
			b.Fatal(v.Result)
		}
	}
}

// BenchmarkCheckWarmFail is the same with a client that fails, so the
// explanation is looked up and expanded too.
func BenchmarkCheckWarmFail(b *testing.B) {
	c, _ := newChecker(b, `
example.com. TXT "v=spf1 a mx include:_spf.example.net ip4:192.0.2.0/24 -all exp=why.example.com"
example.com. A 198.51.100.1
example.com. MX 10 mx1.example.com.
mx1.example.com. A 198.51.100.2
_spf.example.net. TXT "v=spf1 ip4:203.0.113.0/24 ip6:2001:db8::/32 ~all"
why.example.com. TXT "%{i} is not allowed to send for %{d}"
`)
	ctx := context.Background()
	bad := netip.MustParseAddr("233.252.0.9")
	c.CheckMailFrom(ctx, bad, "user@example.com", "mail.example.org")
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if v := c.CheckMailFrom(ctx, bad, "user@example.com", "mail.example.org"); v.Result != Fail {
			b.Fatal(v.Result)
		}
	}
}
