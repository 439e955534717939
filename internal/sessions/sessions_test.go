package sessions

import (
	"context"
	"net/netip"
	"testing"
	"time"
)

// fake is a session that ends (unregisters) when kicked, unless stuck.
type fake struct {
	r     *Registry
	e     Entry
	kicks int
	stuck bool
}

func (f *fake) Kick() {
	f.kicks++
	if !f.stuck {
		go f.r.Remove(&f.e)
	}
}

func TestWhoAndKick(t *testing.T) {
	var r Registry
	ip := netip.MustParseAddr
	add := func(user, proto, remote string) *fake {
		f := &fake{r: &r}
		r.Add(&f.e, user, proto, ip(remote), f)
		return f
	}
	a1 := add("alice@example.com", "imap", "127.0.0.2")
	a2 := add("alice@example.com", "pop3", "127.0.0.3")
	b := add("bob@example.com", "imap", "127.0.0.2")
	v6 := add("carol@example.com", "imap", "2001:db8::7")

	who := r.Who()
	if len(who) != 4 || who[0].User != "alice@example.com" || who[0].Protocol != "imap" || who[1].Protocol != "pop3" ||
		who[2].User != "bob@example.com" || who[3].Remote != ip("2001:db8::7") {
		t.Fatalf("Who = %+v", who)
	}

	tests := []struct {
		name   string
		match  string
		kicked int
		gone   []*fake
	}{
		{"nobody", "dave@example.com", 0, nil},
		{"user, any case", "ALICE@example.com", 2, []*fake{a1, a2}},
		{"network", "2001:db8::/64", 1, []*fake{v6}},
		{"address", "127.0.0.2", 1, []*fake{b}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := r.Len()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			kicked, left := r.Kick(ctx, ParseMatch(tc.match))
			if kicked != tc.kicked || left != 0 {
				t.Fatalf("Kick(%q) = %d, %d; want %d, 0", tc.match, kicked, left, tc.kicked)
			}
			for _, f := range tc.gone {
				if f.kicks != 1 {
					t.Errorf("%s kicked %d times", f.e.user, f.kicks)
				}
			}
			if r.Len() != before-tc.kicked {
				t.Errorf("Len = %d after kicking %d of %d", r.Len(), tc.kicked, before)
			}
		})
	}
	if r.Len() != 0 {
		t.Errorf("left: %+v", r.Who())
	}
}

func TestKickStuck(t *testing.T) {
	var r Registry
	f := &fake{r: &r, stuck: true}
	r.Add(&f.e, "alice@example.com", "imap", netip.MustParseAddr("127.0.0.1"), f)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if kicked, left := r.Kick(ctx, Match{User: "alice@example.com"}); kicked != 1 || left != 1 {
		t.Errorf("Kick of a session that does not end = %d, %d; want 1, 1", kicked, left)
	}
	r.Remove(&f.e)
	r.Remove(&f.e) // twice: nothing
	if r.Len() != 0 {
		t.Error("Remove left it")
	}
}

func TestNilRegistry(t *testing.T) {
	var r *Registry
	var e Entry
	r.Add(&e, "a", "imap", netip.Addr{}, nil)
	r.Remove(&e)
	if r.Len() != 0 || r.Who() != nil {
		t.Error("nil registry holds something")
	}
	if k, l := r.Kick(context.Background(), Match{User: "a"}); k != 0 || l != 0 {
		t.Error("nil registry kicked")
	}
}

func TestParseMatch(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Match
	}{
		{"alice@example.com", Match{User: "alice@example.com"}},
		{"192.0.2.7", Match{Network: netip.MustParsePrefix("192.0.2.7/32")}},
		{"::ffff:192.0.2.7", Match{Network: netip.MustParsePrefix("192.0.2.7/32")}},
		{"2001:db8::1/64", Match{Network: netip.MustParsePrefix("2001:db8::/64")}},
	} {
		if got := ParseMatch(tc.in); got != tc.want {
			t.Errorf("ParseMatch(%q) = %+v, want %+v", tc.in, got, tc.want)
		}
	}
}

// BenchmarkAddRemove is a login and a logout: no allocation once the
// map has room.
func BenchmarkAddRemove(b *testing.B) {
	var r Registry
	es := make([]Entry, 64)
	ip := netip.MustParseAddr("127.0.0.1")
	for i := range es {
		r.Add(&es[i], "alice@example.com", "imap", ip, nil)
	}
	for i := range es {
		r.Remove(&es[i])
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		e := &es[i%len(es)]
		r.Add(e, "alice@example.com", "imap", ip, nil)
		r.Remove(e)
	}
}

// FuzzParseMatch: whatever `mailwarden kick` is given, ParseMatch picks
// exactly one of a user name and a masked network, and a network match
// holds the address it was made from.
func FuzzParseMatch(f *testing.F) {
	for _, s := range []string{"alice@example.com", "192.0.2.7", "2001:db8::1/64", "::ffff:10.0.0.1", "fe80::1%eth0", "1.2.3.4/33", "", "@", "/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m := ParseMatch(s)
		if (m.User != "") == m.Network.IsValid() && s != "" {
			t.Fatalf("ParseMatch(%q) = %+v: want a user or a network", s, m)
		}
		if m.Network.IsValid() {
			if m.Network != m.Network.Masked() {
				t.Fatalf("ParseMatch(%q): network %v not masked", s, m.Network)
			}
			if !m.Matches("", m.Network.Addr()) {
				t.Fatalf("ParseMatch(%q) does not match its own network address", s)
			}
			if m.Matches(s, netip.Addr{}) {
				t.Fatalf("ParseMatch(%q): a network match matched by user name", s)
			}
		} else if s != "" && !m.Matches(s, netip.Addr{}) {
			t.Fatalf("ParseMatch(%q) does not match its own name", s)
		}
	})
}
