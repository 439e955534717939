package login

import (
	"net/netip"
	"testing"
	"time"
)

func TestClientKey(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"192.0.2.7", "192.0.2.7"},
		{"::ffff:192.0.2.7", "192.0.2.7"},
		{"2001:db8:1:2:3:4:5:6", "2001:db8:1:2::"},
		{"fe80::1%eth0", "fe80::"},
		{"::1", "::"},
	} {
		if got := clientKey(netip.MustParseAddr(tc.in)); got != netip.MustParseAddr(tc.want) {
			t.Errorf("clientKey(%s) = %s, want %s", tc.in, got, tc.want)
		}
	}
	if got := clientKey(netip.Addr{}); got.IsValid() {
		t.Errorf("invalid address keyed as %s", got)
	}
}

func TestLimiterBounded(t *testing.T) {
	l := newLimiter(3)
	now := time.Unix(1e9, 0)
	key := func(i int) netip.Addr { return netip.AddrFrom4([4]byte{10, 0, 0, byte(i)}) }
	for i := range 10 {
		l.fail(key(i), now, 5, time.Hour)
	}
	if l.len() != 3 {
		t.Fatalf("%d entries, want 3", l.len())
	}
	for i, want := range []bool{false, false, true, true, true} {
		if _, ok := l.entries[key(i+5)]; ok != want {
			t.Errorf("entry %d present=%v, want %v", i+5, ok, want)
		}
	}
}

func TestLimiterSweep(t *testing.T) {
	l := newLimiter(100)
	now := time.Unix(1e9, 0)
	a, b, c := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2"), netip.MustParseAddr("10.0.0.3")
	l.fail(a, now, 5, time.Minute)
	if !l.fail(b, now, 1, time.Minute) {
		t.Fatal("max=1 did not lock")
	}
	l.fail(c, now.Add(2*time.Minute), 5, time.Minute)
	// a is stale and dropped; b was locked until now+1m, also stale now.
	if l.len() != 1 || l.locked(b, now.Add(2*time.Minute)) {
		t.Fatalf("after sweep: %d entries", l.len())
	}
}
