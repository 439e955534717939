package dkim

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"

	"mailwarden/internal/dnsx"
)

// TXTCache keeps key records (public DNS data, nothing nodes must share)
// for their TTL, so that a burst of mail from one sender costs one
// lookup. It is bounded in size; temporary failures are never kept.
type TXTCache struct {
	mu  sync.Mutex
	m   map[string]txtEntry
	max int
	now func() time.Time
}

type txtEntry struct {
	txts     []string
	notFound bool
	until    time.Time
}

// Cache times: an answer is kept for its TTL, at most an hour; a
// negative one for its SOA minimum (RFC 2308) or a minute.
const (
	maxTXTTTL = time.Hour
	negTXTTTL = time.Minute
)

// NewTXTCache returns a cache of at most max names (0: 10000); now nil
// means time.Now.
func NewTXTCache(max int, now func() time.Time) *TXTCache {
	if max <= 0 {
		max = 10000
	}
	if now == nil {
		now = time.Now
	}
	return &TXTCache{m: map[string]txtEntry{}, max: max, now: now}
}

// Lookup returns name's TXT records as r.LookupTXTTTL does, from the
// cache when it has them. A nil cache always asks.
func (c *TXTCache) Lookup(ctx context.Context, r dnsx.Full, name string) ([]string, error) {
	if c == nil {
		txts, _, err := r.LookupTXTTTL(ctx, name)
		return txts, err
	}
	key := strings.ToLower(strings.TrimSuffix(name, "."))
	now := c.now()
	c.mu.Lock()
	e, ok := c.m[key]
	c.mu.Unlock()
	if ok && now.Before(e.until) {
		if e.notFound {
			return nil, dnsx.ErrNotFound
		}
		return e.txts, nil
	}
	txts, ttl, err := r.LookupTXTTTL(ctx, name)
	switch {
	case errors.Is(err, dnsx.ErrNotFound):
		if ttl <= 0 {
			ttl = negTXTTTL
		}
		e = txtEntry{notFound: true}
	case err != nil:
		return nil, err
	default:
		e = txtEntry{txts: txts}
	}
	if ttl > 0 {
		e.until = now.Add(min(ttl, maxTXTTTL))
		c.mu.Lock()
		if len(c.m) >= c.max {
			c.evict(now)
		}
		c.m[key] = e
		c.mu.Unlock()
	}
	return e.txts, err
}

// evict drops expired entries, then an eighth of the rest if still
// full; c.mu is held.
func (c *TXTCache) evict(now time.Time) {
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
