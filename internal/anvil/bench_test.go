package anvil

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"mailwarden/internal/event"
)

// BenchmarkMessage is the limiter's cost for one message in the SMTP hot
// path: MAIL and two RCPTs counted, with the periodic flush to SQL
// running alongside as in serve.
func BenchmarkMessage(b *testing.B) {
	db := openDB(b)
	l := New(NewStore(db), nil)
	cfg := limits(b, "[smtp]\nclient_message_rate_limit = 1000000000\nclient_recipient_rate_limit = 1000000000\n")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go l.Run(ctx, FlushInterval)
	ips := make([]netip.Addr, 1024)
	for i := range ips {
		ips[i] = netip.AddrFrom4([4]byte{198, 51, byte(i >> 8), byte(i)})
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		ip := ips[i%len(ips)]
		l.Hit(cfg, ip, event.MessageRate)
		l.Hit(cfg, ip, event.RecipientRate)
		l.Hit(cfg, ip, event.RecipientRate)
	}
}

// BenchmarkFlush is one flush of 1,000 clients' new counts to SQLite.
func BenchmarkFlush(b *testing.B) {
	db := openDB(b)
	l := New(NewStore(db), nil)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		for i := range 1000 {
			l.Count(netip.AddrFrom4([4]byte{198, 51, byte(i >> 8), byte(i)}), event.RecipientRate, time.Minute, 1)
		}
		if err := l.Flush(ctx); err != nil {
			b.Fatal(err)
		}
	}
}
