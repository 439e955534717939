package dnsx_test

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"mailwarden/internal/dnsx"
	"mailwarden/internal/dnsx/dnstest"
)

func newZone(t *testing.T) *dnstest.Server {
	s := dnstest.New(t, `
example.com. MX 20 mx2.example.com.
example.com. MX 10 mx1.example.com.
example.com. TXT "v=spf1 -all"
mx1.example.com. A 127.0.0.2
mx2.example.com. A 127.0.0.3
mx2.example.com. AAAA ::1
`)
	s.NullMX("nomail.example")
	s.MX("mixed.example", 0, ".")
	s.MX("mixed.example", 10, "mx1.example.com")
	s.Host("v6.example", "2001:db8::25")
	s.CNAME("alias.example", "mx1.example.com")
	s.TXT("long.example", strings.Repeat("a", 300))
	s.PTR("127.0.0.2", "mx1.example.com")
	s.ServFail("broken.example", true)
	s.Truncate("big.example", true)
	s.Host("big.example", "192.0.2.1")
	return s
}

func TestLookups(t *testing.T) {
	s := newZone(t)
	r := s.Resolver()
	ctx := context.Background()
	tests := []struct {
		name    string
		run     func() (any, error)
		want    any
		wantErr error
	}{
		{"MX sorted", func() (any, error) { return r.LookupMX(ctx, "EXAMPLE.com") },
			[]dnsx.MX{{"mx1.example.com", 10}, {"mx2.example.com", 20}}, nil},
		{"null MX", func() (any, error) { return r.LookupMX(ctx, "nomail.example") }, nil, dnsx.ErrNullMX},
		{"null MX among others ignored", func() (any, error) { return r.LookupMX(ctx, "mixed.example") },
			[]dnsx.MX{{"mx1.example.com", 10}}, nil},
		{"MX NXDOMAIN", func() (any, error) { return r.LookupMX(ctx, "nowhere.example") }, nil, dnsx.ErrNotFound},
		{"MX NODATA", func() (any, error) { return r.LookupMX(ctx, "mx1.example.com") }, nil, dnsx.ErrNotFound},
		{"MX SERVFAIL", func() (any, error) { return r.LookupMX(ctx, "broken.example") }, nil, dnsx.ErrTemporary},
		{"A and AAAA", func() (any, error) { return r.LookupIP(ctx, "mx2.example.com") },
			[]netip.Addr{netip.MustParseAddr("127.0.0.3"), netip.MustParseAddr("::1")}, nil},
		{"AAAA only", func() (any, error) { return r.LookupIP(ctx, "v6.example") },
			[]netip.Addr{netip.MustParseAddr("2001:db8::25")}, nil},
		{"IP literal", func() (any, error) { return r.LookupIP(ctx, "[192.0.2.7]") },
			[]netip.Addr{netip.MustParseAddr("192.0.2.7")}, nil},
		{"CNAME followed", func() (any, error) { return r.LookupIP(ctx, "alias.example") },
			[]netip.Addr{netip.MustParseAddr("127.0.0.2")}, nil},
		{"IP NXDOMAIN", func() (any, error) { return r.LookupIP(ctx, "nowhere.example") }, nil, dnsx.ErrNotFound},
		{"IP SERVFAIL", func() (any, error) { return r.LookupIP(ctx, "broken.example") }, nil, dnsx.ErrTemporary},
		{"truncated UDP retried over TCP", func() (any, error) { return r.LookupIP(ctx, "big.example") },
			[]netip.Addr{netip.MustParseAddr("192.0.2.1")}, nil},
		{"TXT", func() (any, error) { return r.LookupTXT(ctx, "example.com") }, []string{"v=spf1 -all"}, nil},
		{"TXT joined", func() (any, error) { return r.LookupTXT(ctx, "long.example") },
			[]string{strings.Repeat("a", 300)}, nil},
		{"PTR", func() (any, error) { return r.LookupPTR(ctx, netip.MustParseAddr("127.0.0.2")) },
			[]string{"mx1.example.com"}, nil},
		{"PTR missing", func() (any, error) { return r.LookupPTR(ctx, netip.MustParseAddr("127.0.0.9")) },
			nil, dnsx.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.run()
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !equal(got, tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func equal(a, b any) bool {
	switch a := a.(type) {
	case []dnsx.MX:
		return slices.Equal(a, b.([]dnsx.MX))
	case []netip.Addr:
		return slices.Equal(a, b.([]netip.Addr))
	case []string:
		return slices.Equal(a, b.([]string))
	}
	return false
}

func TestFailover(t *testing.T) {
	good := newZone(t)
	bad := dnstest.New(t, "")
	bad.ServFail("example.com", true)
	r, err := dnsx.New([]string{bad.Addr(), good.Addr()}, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	mxs, err := r.LookupMX(context.Background(), "example.com")
	if err != nil || len(mxs) != 2 {
		t.Fatalf("LookupMX = %v, %v; want the second server's answer", mxs, err)
	}
	if bad.Queries("example.com") != 1 || good.Queries("example.com") != 1 {
		t.Errorf("queries: bad %d, good %d; want 1 each", bad.Queries("example.com"), good.Queries("example.com"))
	}
}

func TestTimeoutIsTemporary(t *testing.T) {
	s := dnstest.New(t, "")
	s.Drop("slow.example", true)
	r, err := dnsx.New([]string{s.Addr()}, 100*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.LookupTXT(context.Background(), "slow.example"); !errors.Is(err, dnsx.ErrTemporary) {
		t.Fatalf("err = %v, want ErrTemporary", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := r.LookupTXT(ctx, "slow.example"); !errors.Is(err, dnsx.ErrTemporary) {
		t.Fatalf("cancelled: err = %v, want ErrTemporary", err)
	}
}

func TestNew(t *testing.T) {
	tests := []struct {
		resolvers []string
		ok        bool
	}{
		{[]string{"127.0.0.1:5353"}, true},
		{[]string{"192.0.2.1"}, true},
		{[]string{"[::1]:53"}, true},
		{[]string{"127.0.0.1:notaport"}, false},
		{[]string{""}, false},
	}
	for _, tt := range tests {
		_, err := dnsx.New(tt.resolvers, 0)
		if (err == nil) != tt.ok {
			t.Errorf("New(%q) err = %v, want ok=%v", tt.resolvers, err, tt.ok)
		}
	}
}

func TestRecords(t *testing.T) {
	s := dnstest.New(t, `
2.0.0.127.zen.example. 60 A 127.0.0.2
2.0.0.127.zen.example. 30 A 127.0.0.4
2.0.0.127.zen.example. 90 TXT "listed" " here"
example.org. NS ns1.example.org.
example.org. NS ns2.example.net.
`)
	r := s.Resolver()
	ctx := context.Background()
	addrs, ttl, err := r.LookupA(ctx, "2.0.0.127.zen.example")
	if err != nil || len(addrs) != 2 || ttl != 30*time.Second {
		t.Errorf("LookupA = %v, %v, %v; want 2 addresses, TTL 30s", addrs, ttl, err)
	}
	_, ttl, err = r.LookupA(ctx, "3.0.0.127.zen.example")
	if !errors.Is(err, dnsx.ErrNotFound) || ttl != dnstest.TTL*time.Second {
		t.Errorf("LookupA NXDOMAIN = %v, %v; want ErrNotFound with the SOA minimum", ttl, err)
	}
	txt, ttl, err := r.LookupTXTTTL(ctx, "2.0.0.127.zen.example")
	if err != nil || !slices.Equal(txt, []string{"listed here"}) || ttl != 90*time.Second {
		t.Errorf("LookupTXTTTL = %q, %v, %v", txt, ttl, err)
	}
	ns, err := r.LookupNS(ctx, "example.org")
	if err != nil || !slices.Equal(ns, []string{"ns1.example.org", "ns2.example.net"}) {
		t.Errorf("LookupNS = %q, %v", ns, err)
	}
	if _, err := r.LookupNS(ctx, "none.example"); !errors.Is(err, dnsx.ErrNotFound) {
		t.Errorf("LookupNS none = %v", err)
	}
}

func TestReverseName(t *testing.T) {
	for ip, want := range map[string]string{
		"192.0.2.99":         "99.2.0.192.zen.example",
		"::ffff:192.0.2.99":  "99.2.0.192.zen.example",
		"2001:db8::1":        "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.zen.example",
		"2001:db8:1:2::abcd": "d.c.b.a.0.0.0.0.0.0.0.0.0.0.0.0.2.0.0.0.1.0.0.0.8.b.d.0.1.0.0.2.zen.example",
	} {
		if got := dnsx.ReverseName(netip.MustParseAddr(ip), "zen.example."); got != want {
			t.Errorf("ReverseName(%s) = %s, want %s", ip, got, want)
		}
	}
}
