package greylist

import (
	"context"
	"database/sql"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"mailwarden/internal/config"
	"mailwarden/internal/envelope"
	"mailwarden/internal/policy"
	"mailwarden/internal/sqldb"
)

// benchTriplets is how many triplets the lookup benchmarks store
// (GREYLIST_BENCH_N overrides it).
const benchTriplets = 1_000_000

var bench struct {
	once sync.Once
	dir  string
	db   *sqldb.DB
	g    *Greylist
	n    int
	err  error
}

// benchClient is the i-th stored triplet's client, sender and recipient:
// 4,000 networks, 250 senders and recipients each.
func benchTriplet(i int) (ip netip.Addr, from, to string) {
	net := i % 4000
	ip = netip.AddrFrom4([4]byte{10, byte(net >> 8), byte(net), byte(1 + i%200)})
	return ip, fmt.Sprintf("sender%d@example%d.org", (i/4000)%250, net), fmt.Sprintf("rcpt%d@example.com", i/1_000_000*1000+(i/4000)/250)
}

func benchSetup(b *testing.B) {
	bench.once.Do(func() {
		bench.n = benchTriplets
		if s := os.Getenv("GREYLIST_BENCH_N"); s != "" {
			fmt.Sscan(s, &bench.n)
		}
		bench.dir, bench.err = os.MkdirTemp("", "greylist-bench")
		if bench.err != nil {
			return
		}
		ctx := context.Background()
		if bench.db, bench.err = sqldb.Open(ctx, filepath.Join(bench.dir, "db")); bench.err != nil {
			return
		}
		now := time.Now().Unix()
		bench.err = bench.db.Tx(ctx, func(tx *sql.Tx) error {
			st, err := tx.PrepareContext(ctx, `INSERT INTO greylist_triplet (client_net, sender, recipient, first_seen, last_seen, passed, tarpit, client_ip)
				VALUES (?, ?, ?, ?, ?, ?, 0, ?)`)
			if err != nil {
				return err
			}
			defer st.Close()
			for i := 0; i < bench.n; i++ {
				ip, from, to := benchTriplet(i)
				if _, err := st.ExecContext(ctx, ClientNet(ip, 24, 64).String(), NormalizeSender(from, "+"), to, now-1000, now, now-500, ip.String()); err != nil {
					return err
				}
			}
			return nil
		})
		if bench.err != nil {
			return
		}
		if _, bench.err = bench.db.Write.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)"); bench.err != nil {
			return
		}
		cfg := config.DefaultGreylist()
		cfg.Header = ""
		bench.g, bench.err = Open(bench.db, cfg, Options{})
	})
	if bench.err != nil {
		b.Fatal(bench.err)
	}
}

func benchRequest(i int) *policy.Request {
	ip, from, to := benchTriplet(i)
	return &policy.Request{Stage: policy.Rcpt, Env: &envelope.Envelope{ClientIP: ip, ClientHost: "mx.example.org"}, Sender: from, Recipient: to}
}

// BenchmarkLookupPassed: check_greylist for triplets that passed (the
// steady state of a greylisting MX), with benchTriplets stored.
func BenchmarkLookupPassed(b *testing.B) {
	benchSetup(b)
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if v := bench.g.Check(ctx, policy.KindRecipient, benchRequest((i*7919)%bench.n)); v.Action != policy.Dunno {
			b.Fatalf("%+v", v)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lookups/s")
	reportSize(b)
}

// BenchmarkLookupPassedParallel: the same from concurrent sessions.
func BenchmarkLookupPassedParallel(b *testing.B) {
	benchSetup(b)
	ctx := context.Background()
	var mu sync.Mutex
	next := 0
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			mu.Lock()
			next++
			i := next
			mu.Unlock()
			if v := bench.g.Check(ctx, policy.KindRecipient, benchRequest((i*7919)%bench.n)); v.Action != policy.Dunno {
				b.Fatalf("%+v", v)
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lookups/s")
}

// BenchmarkLookupNew: check_greylist for new triplets (a lookup and an
// insert each: the 450 path).
func BenchmarkLookupNew(b *testing.B) {
	benchSetup(b)
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r := benchRequest(i % bench.n)
		r.Sender = fmt.Sprintf("new%d-%d@new.example", time.Now().UnixNano(), i)
		if v := bench.g.Check(ctx, policy.KindRecipient, r); v.Action != policy.DeferIfPermit {
			b.Fatalf("%+v", v)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lookups/s")
}

func reportSize(b *testing.B) {
	var size int64
	for _, s := range []string{"", "-wal"} {
		if fi, err := os.Stat(bench.db.Path + s); err == nil {
			size += fi.Size()
		}
	}
	b.ReportMetric(float64(size)/float64(bench.n), "dbbytes/triplet")
	b.ReportMetric(float64(size)/(1<<20), "dbMiB")
}

func TestMain(m *testing.M) {
	code := m.Run()
	if bench.g != nil {
		bench.g.Close()
	}
	if bench.db != nil {
		bench.db.Close()
	}
	if bench.dir != "" {
		os.RemoveAll(bench.dir)
	}
	os.Exit(code)
}
