package block

import (
	"context"
	"errors"
	"log/slog"
	"net/netip"
	"path/filepath"
	"testing"
	"time"

	"mailwarden/internal/sqldb"
)

func openStore(t *testing.T) *Store {
	t.Helper()
	db, err := sqldb.Open(context.Background(), filepath.Join(t.TempDir(), "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return NewStore(db)
}

func TestStoreAndWatcher(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	w, err := NewWatcher(ctx, st, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ip := netip.MustParseAddr("203.0.113.9")
	if _, ok := w.Blocked(ip); ok {
		t.Fatal("blocked on an empty table")
	}
	if w.Refresh(ctx) {
		t.Error("Refresh reloaded without a change")
	}
	net := mustPrefix(t, "203.0.113.0/24")
	if err := st.Add(ctx, Entry{Prefix: net, Reason: "spam run"}); err != nil {
		t.Fatal(err)
	}
	if _, ok := w.Blocked(ip); ok {
		t.Fatal("blocked before the refresh: Blocked must not query SQL")
	}
	if !w.Refresh(ctx) {
		t.Fatal("Refresh missed an add")
	}
	if r, ok := w.Blocked(ip); !ok || r != "spam run" {
		t.Fatalf("Blocked = %q, %v after add", r, ok)
	}
	// Re-adding replaces reason and expiry; an expiry in the past lifts it.
	past := time.Now().Add(-time.Minute).Truncate(time.Second)
	if err := st.Add(ctx, Entry{Prefix: net, Reason: "renewed", Expires: past}); err != nil {
		t.Fatal(err)
	}
	w.Refresh(ctx)
	if _, ok := w.Blocked(ip); ok {
		t.Fatal("expired block still applies")
	}
	es := w.Set().Entries()
	if len(es) != 1 || es[0].Reason != "renewed" || es[0].Expires.Unix() != past.Unix() {
		t.Fatalf("entries = %+v", es)
	}
	if err := st.Delete(ctx, net); err != nil {
		t.Fatal(err)
	}
	if err := st.Delete(ctx, net); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second Delete = %v, want ErrNotFound", err)
	}
	if !w.Refresh(ctx) || w.Set().Len() != 0 {
		t.Fatalf("after delete: %d entries", w.Set().Len())
	}
	// A second node (another Watcher on the same database) sees the same.
	v6 := mustPrefix(t, "2001:db8::/32")
	if err := st.Add(ctx, Entry{Prefix: v6, Expires: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	w2, err := NewWatcher(ctx, st, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := w2.Blocked(netip.MustParseAddr("2001:db8:1::1")); !ok {
		t.Fatal("new watcher misses a block")
	}
	if err := st.Add(ctx, Entry{Reason: "x"}); err == nil {
		t.Error("Add of an invalid prefix succeeded")
	}
	if err := st.Add(ctx, Entry{Prefix: v6, Reason: "a\nb"}); err == nil {
		t.Error("Add with a control character in the reason succeeded")
	}
}

func TestWatcherKeepsSetOnError(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	if err := st.Add(ctx, Entry{Prefix: mustPrefix(t, "192.0.2.1")}); err != nil {
		t.Fatal(err)
	}
	w, err := NewWatcher(ctx, st, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	st.db.Read.Close() // reads fail from now on
	if w.Refresh(ctx) {
		t.Fatal("Refresh on a closed database reloaded")
	}
	if _, ok := w.Blocked(netip.MustParseAddr("192.0.2.1")); !ok {
		t.Fatal("a failed refresh dropped the blocks")
	}
}

func BenchmarkBlocked(b *testing.B) {
	var es []Entry
	for i := range 10000 {
		a := netip.AddrFrom4([4]byte{10, byte(i >> 8), byte(i), 0})
		es = append(es, Entry{Prefix: netip.PrefixFrom(a, 24+i%9).Masked()})
	}
	s := NewSet(es)
	ip := netip.MustParseAddr("192.0.2.1")
	now := time.Now()
	b.ResetTimer()
	for range b.N {
		s.Lookup(ip, now)
	}
}
