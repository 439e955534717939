package dmarc

import (
	"context"
	"testing"
)

// BenchmarkEvaluate is one DMARC evaluation with the policy in the
// cache (a warm DNS cache): a message from a subdomain whose policy is
// the organizational domain's, with SPF passing unaligned and one DKIM
// signature passing aligned in relaxed mode.
func BenchmarkEvaluate(b *testing.B) {
	e := New(zone(), 0)
	in := Input{From: "mail.reject.example", SPF: Identifier{Domain: "bounce.esp.example", Result: "pass", Scope: "mfrom"},
		DKIM: []Identifier{{Domain: "esp.example", Result: "pass"}, {Domain: "reject.example", Result: "pass", Selector: "s1"}}}
	ctx := context.Background()
	if r := e.Evaluate(ctx, in); r.Result != ResultPass {
		b.Fatalf("warm-up: %+v", r)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		e.Evaluate(ctx, in)
	}
}

// BenchmarkEvaluateFail is a failing message under p=reject, cached.
func BenchmarkEvaluateFail(b *testing.B) {
	e := New(zone(), 0)
	in := Input{From: "reject.example", SPF: Identifier{Domain: "evil.example", Result: "pass", Scope: "mfrom"}}
	ctx := context.Background()
	e.Evaluate(ctx, in)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		e.Evaluate(ctx, in)
	}
}

// BenchmarkParseRecord parses a full policy record.
func BenchmarkParseRecord(b *testing.B) {
	const rec = "v=DMARC1; p=reject; sp=quarantine; adkim=s; aspf=r; pct=100; rua=mailto:dmarc@example.com!10m; ruf=mailto:f@example.com; fo=1"
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseRecord(rec); err != nil {
			b.Fatal(err)
		}
	}
}
