package block

import (
	"net/netip"
	"testing"
	"time"
)

func TestParsePrefix(t *testing.T) {
	for _, tc := range []struct {
		in, want string // want "" = error
	}{
		{"203.0.113.0/24", "203.0.113.0/24"},
		{"203.0.113.77/24", "203.0.113.0/24"},
		{"127.0.0.2", "127.0.0.2/32"},
		{" 192.0.2.1 ", "192.0.2.1/32"},
		{"2001:db8::1", "2001:db8::1/128"},
		{"2001:db8:1:2::/48", "2001:db8:1::/48"},
		{"::ffff:192.0.2.9", "192.0.2.9/32"},
		{"::ffff:192.0.2.0/120", "192.0.2.0/24"},
		{"::ffff:0:0/96", "0.0.0.0/0"},
		{"::/0", "::/0"},
		{"::ffff:0:0/95", ""},
		{"fe80::1%eth0", ""},
		{"192.0.2.0/33", ""},
		{"192.0.2", ""},
		{"host.example", ""},
		{"", ""},
	} {
		p, err := ParsePrefix(tc.in)
		if tc.want == "" {
			if err == nil {
				t.Errorf("ParsePrefix(%q) = %v, want an error", tc.in, p)
			}
			continue
		}
		if err != nil || p.String() != tc.want {
			t.Errorf("ParsePrefix(%q) = %v, %v; want %s", tc.in, p, err, tc.want)
		}
	}
}

func TestCheckReason(t *testing.T) {
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{"", true},
		{"brute force on IMAP, ticket #42", true},
		{"two\nlines", false},
		{"tab\there", false},
		{string(make([]byte, maxReason+1)), false},
	} {
		if err := CheckReason(tc.in); (err == nil) != tc.ok {
			t.Errorf("CheckReason(%q) = %v, want ok=%v", tc.in, err, tc.ok)
		}
	}
}

func mustPrefix(t *testing.T, s string) netip.Prefix {
	t.Helper()
	p, err := ParsePrefix(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestSetLookup(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	es := []Entry{
		{Prefix: mustPrefix(t, "203.0.113.0/24"), Reason: "net"},
		{Prefix: mustPrefix(t, "203.0.113.7"), Reason: "host, expired", Expires: now.Add(-time.Second)},
		{Prefix: mustPrefix(t, "198.51.100.0/25"), Reason: "until soon", Expires: now.Add(time.Hour)},
		{Prefix: mustPrefix(t, "2001:db8:bad::/48"), Reason: "v6 net"},
		{Prefix: mustPrefix(t, "2001:db8::5"), Reason: "v6 host"},
		{Prefix: mustPrefix(t, "::ffff:192.0.2.0/120"), Reason: "mapped"},
		{Prefix: mustPrefix(t, "10.0.0.0/8"), Reason: "gone", Expires: now},
	}
	s := NewSet(es)
	for _, tc := range []struct {
		ip, reason string // reason "" = not blocked
		at         time.Time
	}{
		{"203.0.113.1", "net", now},
		{"203.0.113.255", "net", now},
		// The expired /32 falls back to the covering /24.
		{"203.0.113.7", "net", now},
		{"203.0.114.1", "", now},
		{"198.51.100.127", "until soon", now},
		{"198.51.100.128", "", now},
		{"198.51.100.1", "", now.Add(time.Hour)}, // expiry is exclusive
		{"10.1.2.3", "", now},
		{"10.1.2.3", "gone", now.Add(-time.Nanosecond)},
		{"2001:db8:bad:1::9", "v6 net", now},
		{"2001:db8::5", "v6 host", now},
		{"2001:db8::6", "", now},
		{"fe80::5%eth0", "", now},
		{"2001:db8::5%eth0", "v6 host", now},
		// IPv4-mapped clients (a dual-stack listener) match IPv4 blocks.
		{"::ffff:203.0.113.9", "net", now},
		{"::ffff:192.0.2.200", "mapped", now},
		{"192.0.2.200", "mapped", now},
		{"::ffff:192.0.3.1", "", now},
		// An IPv4 block does not catch the IPv6 address with the same bits.
		{"::cb00:7101", "", now},
	} {
		e, ok := s.Lookup(netip.MustParseAddr(tc.ip), tc.at)
		if ok != (tc.reason != "") || e.Reason != tc.reason {
			t.Errorf("Lookup(%s) = %q, %v; want %q", tc.ip, e.Reason, ok, tc.reason)
		}
	}
	if got := s.Len(); got != len(es) {
		t.Errorf("Len = %d, want %d", got, len(es))
	}
	var nilSet *Set
	if _, ok := nilSet.Lookup(netip.MustParseAddr("192.0.2.1"), now); ok {
		t.Error("nil Set blocks")
	}
	if _, ok := s.Lookup(netip.Addr{}, now); ok {
		t.Error("invalid address blocked")
	}
}

func TestSetEntriesSorted(t *testing.T) {
	s := NewSet([]Entry{
		{Prefix: mustPrefix(t, "2001:db8::/32")},
		{Prefix: mustPrefix(t, "192.0.2.0/24")},
		{Prefix: mustPrefix(t, "10.0.0.1")},
		{Prefix: mustPrefix(t, "192.0.2.0/24"), Reason: "later wins"},
	})
	var got []string
	for _, e := range s.Entries() {
		got = append(got, e.Prefix.String()+" "+e.Reason)
	}
	want := []string{"10.0.0.1/32 ", "192.0.2.0/24 later wins", "2001:db8::/32 "}
	if len(got) != len(want) {
		t.Fatalf("Entries = %q, want %q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("Entries = %q, want %q", got, want)
		}
	}
}

func FuzzParsePrefix(f *testing.F) {
	for _, s := range []string{"203.0.113.0/24", "127.0.0.2", "2001:db8::/48", "::ffff:1.2.3.4/128", "fe80::1%x", "1.2.3.4/40", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePrefix(s)
		if err != nil {
			return
		}
		if !p.IsValid() || p != p.Masked() || p.Addr().Is4In6() || p.Addr().Zone() != "" {
			t.Fatalf("ParsePrefix(%q) = %v: not canonical", s, p)
		}
		// The stored form reads back to the same network.
		q, err := ParsePrefix(p.String())
		if err != nil || q != p {
			t.Fatalf("ParsePrefix(%q) = %v, reread %v, %v", s, p, q, err)
		}
		// The network's own address is blocked by a set of it.
		if _, ok := NewSet([]Entry{{Prefix: p}}).Lookup(p.Addr(), time.Now()); !ok {
			t.Fatalf("set of %v does not hold %v", p, p.Addr())
		}
	})
}

func TestParseFor(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration // 0 = error
	}{
		{"24h", 24 * time.Hour},
		{"2s", 2 * time.Second},
		{"1h30m", 90 * time.Minute},
		{"7d", 7 * 24 * time.Hour},
		{"2w", 14 * 24 * time.Hour},
		{"0s", 0},
		{"-1h", 0},
		{"0d", 0},
		{"-3d", 0},
		{"d", 0},
		{"1.5d", 0},
		{"99999999d", 0},
		{"200000h", 200000 * time.Hour},
		{"1000000h", 0},
		{"", 0},
		{"forever", 0},
	} {
		got, err := ParseFor(tc.in)
		if tc.want == 0 {
			if err == nil {
				t.Errorf("ParseFor(%q) = %v, want an error", tc.in, got)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseFor(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
}

func FuzzParseFor(f *testing.F) {
	for _, s := range []string{"24h", "7d", "2w", "-1d", "1h30m", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseFor(s)
		if err == nil && (d <= 0 || d > maxFor) {
			t.Fatalf("ParseFor(%q) = %v out of range", s, d)
		}
	})
}
