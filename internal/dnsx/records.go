package dnsx

import (
	"context"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// Records are the lookups DNS block and allow lists and the sender-domain
// restrictions need beyond Resolver: answers with the time they may be
// cached for, and name servers. A negative answer (ErrNotFound) also
// comes with its cache time (RFC 2308), 0 when the server gave none.
type Records interface {
	// LookupA returns name's IPv4 (A) records only, as DNS lists publish
	// them, and the smallest TTL among them.
	LookupA(ctx context.Context, name string) ([]netip.Addr, time.Duration, error)
	// LookupTXTTTL is LookupTXT with the smallest TTL of the records.
	LookupTXTTTL(ctx context.Context, name string) ([]string, time.Duration, error)
	// LookupNS returns the domain's name servers (no trailing dot).
	LookupNS(ctx context.Context, domain string) ([]string, error)
}

// Full is a Resolver with the Records lookups; New returns one.
type Full interface {
	Resolver
	Records
}

// negTTL is how long a negative answer may be cached: RFC 2308 5, the
// TTL of the SOA in the authority section capped by its MINIMUM field.
func negTTL(m *dns.Msg) uint32 {
	for _, rr := range m.Ns {
		if soa, ok := rr.(*dns.SOA); ok {
			return min(soa.Hdr.Ttl, soa.Minttl)
		}
	}
	return 0
}

func minTTL(rrs []dns.RR) time.Duration {
	var m uint32
	for i, rr := range rrs {
		if t := rr.Header().Ttl; i == 0 || t < m {
			m = t
		}
	}
	return time.Duration(m) * time.Second
}

func (r *resolver) LookupA(ctx context.Context, name string) ([]netip.Addr, time.Duration, error) {
	rrs, neg, err := r.queryNeg(ctx, name, dns.TypeA)
	if err != nil {
		return nil, time.Duration(neg) * time.Second, err
	}
	out := make([]netip.Addr, 0, len(rrs))
	for _, rr := range rrs {
		if a, ok := netip.AddrFromSlice(rr.(*dns.A).A.To4()); ok {
			out = append(out, a)
		}
	}
	return out, minTTL(rrs), nil
}

func (r *resolver) LookupTXTTTL(ctx context.Context, name string) ([]string, time.Duration, error) {
	rrs, neg, err := r.queryNeg(ctx, name, dns.TypeTXT)
	if err != nil {
		return nil, time.Duration(neg) * time.Second, err
	}
	out := make([]string, 0, len(rrs))
	for _, rr := range rrs {
		out = append(out, strings.Join(rr.(*dns.TXT).Txt, ""))
	}
	return out, minTTL(rrs), nil
}

func (r *resolver) LookupNS(ctx context.Context, domain string) ([]string, error) {
	rrs, err := r.query(ctx, domain, dns.TypeNS)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(rrs))
	for _, rr := range rrs {
		out = append(out, strings.TrimSuffix(rr.(*dns.NS).Ns, "."))
	}
	return out, nil
}

// ReverseName is the name an address is looked up under in a DNS list
// (RFC 5782 2.1, 2.4): the IPv4 octets or the IPv6 nibbles in reverse
// order, then "." and the list's domain.
func ReverseName(ip netip.Addr, domain string) string {
	ip = ip.Unmap()
	var b strings.Builder
	if ip.Is4() {
		a := ip.As4()
		for i := 3; i >= 0; i-- {
			b.WriteString(strconv.Itoa(int(a[i])))
			b.WriteByte('.')
		}
	} else {
		a := ip.As16()
		const hex = "0123456789abcdef"
		for i := 15; i >= 0; i-- {
			b.WriteByte(hex[a[i]&0xf])
			b.WriteByte('.')
			b.WriteByte(hex[a[i]>>4])
			b.WriteByte('.')
		}
	}
	b.WriteString(strings.TrimSuffix(domain, "."))
	return b.String()
}
