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
		l.fail(key(i), 0, now, 5, time.Hour)
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
	l.fail(a, 0, now, 5, time.Minute)
	if !l.fail(b, 0, now, 1, time.Minute) {
		t.Fatal("max=1 did not lock")
	}
	l.fail(c, 0, now.Add(2*time.Minute), 5, time.Minute)
	// a is stale and dropped; b was locked until now+1m, also stale now.
	if l.len() != 1 || l.locked(b, now.Add(2*time.Minute)) {
		t.Fatalf("after sweep: %d entries", l.len())
	}
}

// TestLimiterReserves: an attempt counts from begin; release takes back
// only its own; a lockout forgets attempts still running, and their
// late failures do not extend it.
func TestLimiterReserves(t *testing.T) {
	l := newLimiter(100)
	now := time.Unix(1e9, 0)
	k := netip.MustParseAddr("10.0.0.1")
	const max, win = 3, time.Minute
	a, ok1 := l.begin(k, now, max, win)
	b, ok2 := l.begin(k, now, max, win)
	c, ok3 := l.begin(k, now, max, win)
	if !ok1 || !ok2 || !ok3 || a == 0 || a == b || b == c {
		t.Fatalf("first three attempts: %d %v, %d %v, %d %v", a, ok1, b, ok2, c, ok3)
	}
	if _, ok := l.begin(k, now, max, win); ok {
		t.Fatal("fourth parallel attempt allowed")
	}
	l.release(k, b) // b succeeded
	d, ok := l.begin(k, now, max, win)
	if !ok {
		t.Fatal("attempt refused after a success freed a slot")
	}
	l.release(k, b) // twice: no effect
	if _, ok := l.begin(k, now, max, win); ok {
		t.Fatal("releasing twice freed a second slot")
	}
	if l.fail(k, a, now, max, win) || l.fail(k, c, now, max, win) {
		t.Fatal("locked before max failures")
	}
	if !l.fail(k, d, now, max, win) || !l.locked(k, now) {
		t.Fatal("third failure did not lock")
	}
	// An attempt abandoned half-way ages out with the window.
	later := now.Add(win + time.Second)
	if _, ok := l.begin(k, later, 1, win); !ok {
		t.Fatal("refused after the lockout ended")
	}
	if _, ok := l.begin(k, later.Add(win+time.Second), 1, win); !ok {
		t.Fatal("an abandoned attempt still counts after its window")
	}
}
