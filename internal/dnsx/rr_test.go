package dnsx_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/miekg/dns"

	"mailwarden/internal/dnsx"
	"mailwarden/internal/dnsx/dnstest"
)

func rrLookup(t *testing.T, s *dnstest.Server) dnsx.RRLookup {
	t.Helper()
	r, ok := s.Resolver().(dnsx.RRLookup)
	if !ok {
		t.Fatal("dnsx.New's resolver is not an RRLookup")
	}
	return r
}

func TestLookupRRTXTBytes(t *testing.T) {
	s := dnstest.New(t, "")
	raw := "v=spf1 \"quoted\" back\\slash caf\xc3\xa9 nul\x00 end"
	s.Add(&dns.TXT{Hdr: dns.RR_Header{Name: "t.example.", Rrtype: dns.TypeTXT, Class: dns.ClassINET, Ttl: 60},
		Txt: []string{`v=spf1 \"quoted\" back\\slash `, "caf\xc3\xa9 nul\\000 end"}})
	rrs, ttl, err := rrLookup(t, s).LookupRR(context.Background(), "t.example", dns.TypeTXT)
	if err != nil || len(rrs) != 1 || ttl.Seconds() != 60 {
		t.Fatalf("LookupRR: %v %v %v", rrs, ttl, err)
	}
	if got := dnsx.TXTString(rrs[0].(*dns.TXT)); got != raw {
		t.Errorf("TXTString = %q, want %q", got, raw)
	}
}

func TestLookupRRNegative(t *testing.T) {
	s := dnstest.New(t, "a.example. A 192.0.2.1\nnull.example. MX 0 .")
	r := rrLookup(t, s)
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		qtype uint16
	}{{"a.example", dns.TypeTXT}, {"nx.example", dns.TypeA}} {
		_, ttl, err := r.LookupRR(ctx, tc.name, tc.qtype)
		if !errors.Is(err, dnsx.ErrNotFound) || errors.Is(err, dnsx.ErrTemporary) || ttl <= 0 {
			t.Errorf("%s: %v ttl %v, want ErrNotFound with a negative TTL", tc.name, err, ttl)
		}
	}
	rrs, _, err := r.LookupRR(ctx, "null.example", dns.TypeMX)
	if err != nil || len(rrs) != 1 || rrs[0].(*dns.MX).Mx != "." {
		t.Errorf("null MX: %v %v", rrs, err)
	}
	s.ServFail("bad.example", true)
	if _, _, err := r.LookupRR(ctx, "bad.example", dns.TypeA); !errors.Is(err, dnsx.ErrTemporary) {
		t.Errorf("SERVFAIL: %v", err)
	}
}

func TestRRCache(t *testing.T) {
	s := dnstest.New(t, "a.example. A 192.0.2.1")
	c := dnsx.NewRRCache(rrLookup(t, s), 2)
	ctx := context.Background()
	for range 3 {
		if rrs, _, err := c.LookupRR(ctx, "A.example.", dns.TypeA); err != nil || len(dnsx.AddrsOf(rrs)) != 1 {
			t.Fatalf("cached A: %v %v", rrs, err)
		}
		if _, _, err := c.LookupRR(ctx, "nx.example", dns.TypeA); !errors.Is(err, dnsx.ErrNotFound) {
			t.Fatalf("cached NXDOMAIN: %v", err)
		}
	}
	if n := s.Queries("a.example"); n != 1 {
		t.Errorf("a.example asked %d times, want 1", n)
	}
	if n := s.Queries("nx.example"); n != 1 {
		t.Errorf("nx.example asked %d times, want 1 (negative answers are cached)", n)
	}
	s.ServFail("sf.example", true)
	for range 2 {
		if _, _, err := c.LookupRR(ctx, "sf.example", dns.TypeA); !errors.Is(err, dnsx.ErrTemporary) {
			t.Fatalf("SERVFAIL: %v", err)
		}
	}
	if n := s.Queries("sf.example"); n != 2 {
		t.Errorf("temporary failures cached: %d queries", n)
	}
	// Over the size bound the cache starts afresh rather than grow.
	_, _, _ = c.LookupRR(ctx, "x.example", dns.TypeA)
	_, _, _ = c.LookupRR(ctx, "a.example", dns.TypeA)
	if n := s.Queries("a.example"); n != 2 {
		t.Errorf("after overflow a.example asked %d times, want 2", n)
	}
}

// FuzzTXTString: any bytes survive miekg/dns's presentation form and
// TXTString's undoing of it.
func FuzzTXTString(f *testing.F) {
	for _, s := range []string{"v=spf1 -all", `a"b\c`, "caf\xc3\xa9", "\x00\x01\xff", `\123`, ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		if len(raw) > 255 {
			raw = raw[:255]
		}
		var esc strings.Builder
		for i := 0; i < len(raw); i++ {
			fmt.Fprintf(&esc, "\\%03d", raw[i])
		}
		rr := &dns.TXT{Hdr: dns.RR_Header{Name: "t.example.", Rrtype: dns.TypeTXT, Class: dns.ClassINET}, Txt: []string{esc.String()}}
		buf := make([]byte, 1024)
		n, err := dns.PackRR(rr, buf, 0, nil, false)
		if err != nil {
			t.Fatal(err)
		}
		back, _, err := dns.UnpackRR(buf[:n], 0)
		if err != nil {
			t.Fatal(err)
		}
		if got := dnsx.TXTString(back.(*dns.TXT)); got != raw {
			t.Fatalf("TXTString = %q, want %q", got, raw)
		}
	})
}
