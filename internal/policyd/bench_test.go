package policyd

import (
	"context"
	"net/netip"
	"testing"

	"mailwarden/internal/envelope"
	"mailwarden/internal/policy"
)

// BenchmarkRoundTrip: one request and its reply over one kept
// connection (Mailwarden's check_policy_service client against
// policyd, loopback TCP), with a list that has no opinion: the cost of
// the protocol itself. Requests/s = 1e9 / ns/op.
func BenchmarkRoundTrip(b *testing.B) {
	benchRoundTrip(b, policy.List{policy.Func("dunno", func(context.Context, *policy.Request) policy.Verdict { return policy.Verdict{} })})
}

// BenchmarkRoundTripTable: the same with a 3-entry inline access table
// that does not match, as a typical list would look up.
func BenchmarkRoundTripTable(b *testing.B) {
	cfg := configWith("check_client_access inline:{192.0.2.9=REJECT,192.0.2.10=OK,198.51.100.0=DUNNO}")
	ls, err := policy.Build("smtp", cfg, policy.Deps{})
	if err != nil {
		b.Fatal(err)
	}
	benchRoundTrip(b, ls.Recipient)
}

func benchRoundTrip(b *testing.B, list policy.List) {
	_, addr := start(b, Options{List: func() policy.List { return list }})
	c := client(addr)
	defer c.Close()
	r := &policy.Request{Stage: policy.Rcpt, Sender: "s@b.example", Recipient: "a@here.example", Instance: "1.2.3",
		Env: &envelope.Envelope{ClientIP: netip.MustParseAddr("192.0.2.7"), ClientHost: "unknown", Helo: "mx.b.example", Protocol: "ESMTP"}}
	attrs := policy.RequestAttrs(r, "")
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := c.Query(ctx, attrs); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
}
