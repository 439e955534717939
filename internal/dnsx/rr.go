package dnsx

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"
)

// RRLookup (implemented by the resolver New returns) is the single-type lookup callers need when they must see an
// answer exactly as the DNS gave it: every record of one type (a null MX
// "." included, TXT character strings apart), and, for a negative answer,
// ErrNotFound — NXDOMAIN and NODATA alike, the "void lookups" of RFC 7208
// 4.6.4 — apart from ErrTemporary. SPF and DKIM/DMARC key lookups use it.
type RRLookup interface {
	// LookupRR returns the records of qtype at name (CNAMEs followed by
	// the server) and how long they may be cached: the smallest TTL, or
	// for ErrNotFound the negative-caching time of RFC 2308 (0 when the
	// server sent no SOA). The records must not be modified.
	LookupRR(ctx context.Context, name string, qtype uint16) ([]dns.RR, time.Duration, error)
}

// LookupRR implements RRLookup over the configured servers.
func (r *resolver) LookupRR(ctx context.Context, name string, qtype uint16) ([]dns.RR, time.Duration, error) {
	rrs, neg, err := r.queryNeg(ctx, name, qtype)
	if err != nil {
		return nil, time.Duration(neg) * time.Second, err
	}
	return rrs, minTTL(rrs), nil
}

// TXTString is a TXT record's character strings joined with nothing
// between them (RFC 7208 3.3), as the bytes the zone holds: miekg/dns
// hands them over in presentation form (`\"`, `\\`, `\DDD` for bytes
// outside printable ASCII), which this undoes.
func TXTString(t *dns.TXT) string {
	n, plain := 0, true
	for _, s := range t.Txt {
		n += len(s)
		plain = plain && strings.IndexByte(s, '\\') < 0
	}
	if plain {
		return strings.Join(t.Txt, "")
	}
	var b strings.Builder
	b.Grow(n)
	for _, s := range t.Txt {
		unescapeTo(&b, s)
	}
	return b.String()
}

func unescapeTo(b *strings.Builder, s string) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 >= len(s) {
			b.WriteByte(c)
			continue
		}
		if i+3 < len(s) && isDigit(s[i+1]) && isDigit(s[i+2]) && isDigit(s[i+3]) {
			v := int(s[i+1]-'0')*100 + int(s[i+2]-'0')*10 + int(s[i+3]-'0')
			if v <= 255 {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i+1])
		i++
	}
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// AddrsOf returns the addresses of the A and AAAA records among rrs.
func AddrsOf(rrs []dns.RR) []netip.Addr {
	out := make([]netip.Addr, 0, len(rrs))
	for _, rr := range rrs {
		switch rr := rr.(type) {
		case *dns.A:
			if a, ok := netip.AddrFromSlice(rr.A.To4()); ok {
				out = append(out, a)
			}
		case *dns.AAAA:
			if a, ok := netip.AddrFromSlice(rr.AAAA.To16()); ok {
				out = append(out, a)
			}
		}
	}
	return out
}

// RRCache is an RRLookup that keeps answers of another for their TTL (at
// most MaxTTL), negative answers for their RFC 2308 time (NegTTL when the
// server gave none), and never temporary failures. It holds public DNS
// data only and at most Max entries; when full it drops expired entries,
// then everything. Safe for concurrent use.
type RRCache struct {
	next   RRLookup
	max    int
	maxTTL time.Duration
	negTTL time.Duration
	now    func() time.Time

	mu sync.Mutex
	m  map[rrKey]rrEntry
}

type rrKey struct {
	name  string
	qtype uint16
}

type rrEntry struct {
	rrs   []dns.RR
	err   error
	ttl   time.Duration
	until time.Time
}

// Defaults of NewRRCache.
const (
	rrCacheMax    = 20000
	rrCacheMaxTTL = time.Hour
	rrCacheNegTTL = time.Minute
)

// NewRRCache returns a cache in front of next holding at most max
// entries (0: 20000).
func NewRRCache(next RRLookup, max int) *RRCache {
	if max <= 0 {
		max = rrCacheMax
	}
	return &RRCache{next: next, max: max, maxTTL: rrCacheMaxTTL, negTTL: rrCacheNegTTL, now: time.Now, m: map[rrKey]rrEntry{}}
}

// LookupRR answers from the cache when it can, else asks the next lookup.
func (c *RRCache) LookupRR(ctx context.Context, name string, qtype uint16) ([]dns.RR, time.Duration, error) {
	k := rrKey{strings.ToLower(strings.TrimSuffix(name, ".")), qtype}
	now := c.now()
	c.mu.Lock()
	e, ok := c.m[k]
	c.mu.Unlock()
	if ok && now.Before(e.until) {
		return e.rrs, e.until.Sub(now), e.err
	}
	rrs, ttl, err := c.next.LookupRR(ctx, name, qtype)
	keep := ttl
	switch {
	case err == nil:
	case isNotFound(err):
		if keep <= 0 {
			keep = c.negTTL
		}
	default:
		return rrs, ttl, err // temporary: never kept
	}
	keep = min(keep, c.maxTTL)
	if keep <= 0 {
		return rrs, ttl, err
	}
	c.mu.Lock()
	if len(c.m) >= c.max {
		for k, e := range c.m {
			if !now.Before(e.until) {
				delete(c.m, k)
			}
		}
		if len(c.m) >= c.max {
			clear(c.m)
		}
	}
	c.m[k] = rrEntry{rrs: rrs, err: err, ttl: ttl, until: now.Add(keep)}
	c.mu.Unlock()
	return rrs, ttl, err
}

func isNotFound(err error) bool {
	return errors.Is(err, ErrNotFound) && !errors.Is(err, ErrTemporary)
}
