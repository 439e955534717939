package arc

import (
	"context"
	"strings"
	"testing"
	"time"
)

// benchMsg is a 5 KB message.
var benchMsg = testMsg + strings.Repeat("A line of a plain text body, about seventy characters long here.\r\n", 75)

// BenchmarkVerify2 validates a two-set chain (both RSA-2048): two AMS
// and two AS signatures, keys from an in-memory zone (no DNS time).
func BenchmarkVerify2(b *testing.B) {
	z := zone{"arc._domainkey.fwd1.example": keyRecord(b, testRSA(b))}
	s := &Sealer{Domain: "fwd1.example", Selector: "arc", Key: testRSA(b), Now: func() time.Time { return time.Unix(1764756000, 0) }}
	msg := benchMsg
	for range 2 {
		res, err := (&Verifier{Lookup: z.lookup}).Verify(context.Background(), strings.NewReader(msg))
		if err != nil {
			b.Fatal(err)
		}
		fields, err := s.Seal(strings.NewReader(msg), res, "mx.fwd1.example", " none")
		if err != nil {
			b.Fatal(err)
		}
		msg = strings.Join(fields, "\r\n") + "\r\n" + msg
	}
	v := &Verifier{Lookup: z.lookup}
	b.ReportAllocs()
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		res, err := v.Verify(context.Background(), strings.NewReader(msg))
		if err != nil || res.Status != Pass || res.Instances != 2 {
			b.Fatalf("%+v %v", res, err)
		}
	}
}

// BenchmarkSeal adds the first set (RSA-2048: two signatures).
func BenchmarkSeal(b *testing.B) {
	s := &Sealer{Domain: "fwd1.example", Selector: "arc", Key: testRSA(b)}
	chain := &Result{Status: None}
	b.ReportAllocs()
	b.SetBytes(int64(len(benchMsg)))
	for b.Loop() {
		if _, err := s.Seal(strings.NewReader(benchMsg), chain, "mx.fwd1.example", " none"); err != nil {
			b.Fatal(err)
		}
	}
}
