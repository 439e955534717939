package policy

import (
	"context"
	"errors"
	"net/netip"
	"sync"
	"time"

	"mailwarden/internal/dnsx"
)

// DNS is what the DNS-based restrictions ask (dnsx.New's resolver).
type DNS = dnsx.Full

// DNSCache keeps DNS list answers (A and TXT) for their TTL, across
// connections, so a client that comes back, or the same list asked at
// several stages, costs no second query. It holds only public DNS data
// (no state two nodes must share) and is bounded in size.
type DNSCache struct {
	mu  sync.Mutex
	m   map[cacheKey]cacheEntry
	max int
	now func() time.Time
}

type cacheKey struct {
	txt  bool
	name string
}

type cacheEntry struct {
	addrs    []netip.Addr
	txt      []string
	notFound bool
	until    time.Time
}

// Cache times: an answer is kept for its TTL, at most maxCacheTTL; a
// negative answer for its SOA minimum (RFC 2308), or negCacheTTL when the
// server sent none. Temporary failures are never kept.
const (
	maxCacheTTL     = time.Hour
	negCacheTTL     = time.Minute
	defaultCacheMax = 20000
)

func NewDNSCache(max int) *DNSCache {
	if max <= 0 {
		max = defaultCacheMax
	}
	return &DNSCache{m: map[cacheKey]cacheEntry{}, max: max, now: time.Now}
}

// lookupA returns name's A records; found is false for NXDOMAIN/NODATA;
// err is a temporary failure.
func (c *DNSCache) lookupA(ctx context.Context, r DNS, name string) (addrs []netip.Addr, found bool, err error) {
	e, err := c.get(ctx, cacheKey{false, name}, func() ([]netip.Addr, []string, time.Duration, error) {
		a, ttl, err := r.LookupA(ctx, name)
		return a, nil, ttl, err
	})
	return e.addrs, !e.notFound, err
}

// lookupTXT returns name's TXT records, nil when there are none.
func (c *DNSCache) lookupTXT(ctx context.Context, r DNS, name string) ([]string, error) {
	e, err := c.get(ctx, cacheKey{true, name}, func() ([]netip.Addr, []string, time.Duration, error) {
		t, ttl, err := r.LookupTXTTTL(ctx, name)
		return nil, t, ttl, err
	})
	return e.txt, err
}

func (c *DNSCache) get(ctx context.Context, k cacheKey, fetch func() ([]netip.Addr, []string, time.Duration, error)) (cacheEntry, error) {
	now := c.now()
	c.mu.Lock()
	e, ok := c.m[k]
	c.mu.Unlock()
	if ok && now.Before(e.until) {
		return e, nil
	}
	addrs, txt, ttl, err := fetch()
	switch {
	case errors.Is(err, dnsx.ErrNotFound):
		if ttl <= 0 {
			ttl = negCacheTTL
		}
		e = cacheEntry{notFound: true}
	case err != nil:
		return cacheEntry{}, err
	default:
		e = cacheEntry{addrs: addrs, txt: txt}
	}
	if ttl <= 0 {
		return e, nil // TTL 0: use once, keep nothing
	}
	e.until = now.Add(min(ttl, maxCacheTTL))
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= c.max {
		c.evict(now)
	}
	c.m[k] = e
	return e, nil
}

// evict drops the expired entries, then, if the cache is still full, an
// eighth of the rest (map order: arbitrary); c.mu is held.
func (c *DNSCache) evict(now time.Time) {
	for k, e := range c.m {
		if !now.Before(e.until) {
			delete(c.m, k)
		}
	}
	drop := len(c.m) - c.max + c.max/8 + 1
	for k := range c.m {
		if drop <= 0 {
			break
		}
		delete(c.m, k)
		drop--
	}
}

func (c *DNSCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}
