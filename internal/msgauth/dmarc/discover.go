package dmarc

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/publicsuffix"

	"mailwarden/internal/dnsx"
)

// OrgDomain is the organizational domain of a domain (RFC 7489 3.2): the
// public suffix of the name, found with the public suffix list, plus one
// label. A name that is itself a public suffix (or that the list cannot
// place) is its own organizational domain.
func OrgDomain(domain string) string {
	domain = strings.ToLower(strings.TrimSuffix(domain, "."))
	org, err := publicsuffix.EffectiveTLDPlusOne(domain)
	if err != nil {
		return domain
	}
	return org
}

// ErrTemp wraps a temporary DNS failure during discovery: the result is
// temperror (RFC 7489 6.6.3 step 2 for the From domain's lookup).
var ErrTemp = errors.New("dmarc: temporary DNS failure")

// Found is a discovered policy.
type Found struct {
	Record *Record
	// Domain is the name the record was found at (without "_dmarc."):
	// the From domain or its organizational domain.
	Domain string
	// Org is true when the record came from the organizational domain,
	// so that sp= (or np=) applies to the From domain.
	Org bool
}

// cache keeps policy lookups (the record parsed from the TXT answer of a
// _dmarc name, or that there is none) and the existence checks of np=,
// for their TTL, bounded, in process: a cache, not shared state.
type cache struct {
	mu  sync.Mutex
	m   map[string]cached
	max int
}

type cached struct {
	rec    *Record // nil: no usable record
	exists bool    // for "exists:" keys
	until  time.Time
}

const (
	maxCacheTTL = time.Hour
	negCacheTTL = 5 * time.Minute
)

func (c *cache) get(name string, now time.Time) (cached, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[name]
	if !ok || now.After(e.until) {
		return cached{}, false
	}
	return e, true
}

func (c *cache) put(name string, e cached) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]cached{}
	}
	if len(c.m) >= c.max {
		// Full: forget everything rather than track use; the cache
		// refills from DNS.
		clear(c.m)
	}
	c.m[name] = e
}

type ttlTXT interface {
	LookupTXTTTL(ctx context.Context, name string) ([]string, time.Duration, error)
}

// fetch returns the DMARC record published at _dmarc.domain, nil when
// there is none usable: no TXT, none starting with v=DMARC1, more than
// one, or one that does not parse (RFC 7489 6.6.3 steps 3 to 6). Answers
// are cached for their TTL (at most an hour; a negative one at most
// five minutes).
func (e *Evaluator) fetch(ctx context.Context, domain string) (*Record, error) {
	name := "_dmarc." + domain
	now := e.now()
	if c, ok := e.cache.get(name, now); ok {
		return c.rec, nil
	}
	var txt []string
	var ttl time.Duration
	var err error
	if r, ok := e.DNS.(ttlTXT); ok {
		txt, ttl, err = r.LookupTXTTTL(ctx, name)
	} else {
		txt, err = e.DNS.LookupTXT(ctx, name)
		ttl = maxCacheTTL
	}
	switch {
	case errors.Is(err, dnsx.ErrNotFound):
		if ttl <= 0 || ttl > negCacheTTL {
			ttl = negCacheTTL
		}
		e.cache.put(name, cached{until: now.Add(ttl)})
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("%w: TXT %s: %v", ErrTemp, name, err)
	}
	var rec *Record
	var recs []string
	for _, t := range txt {
		if IsRecord(t) {
			recs = append(recs, t)
		}
	}
	if len(recs) == 1 {
		if r, err := ParseRecord(recs[0]); err == nil {
			rec = r
		}
	}
	if rec == nil {
		ttl = min(ttl, negCacheTTL)
	}
	e.cache.put(name, cached{rec: rec, until: now.Add(min(ttl, maxCacheTTL))})
	return rec, nil
}

// Discover finds the policy for a From domain (RFC 7489 6.6.3): the
// record at _dmarc.<from>, else the one at _dmarc.<organizational
// domain>. It returns nil without error when neither publishes one, and
// an error wrapping ErrTemp when DNS could not answer.
func (e *Evaluator) Discover(ctx context.Context, from string) (*Found, error) {
	from = strings.ToLower(strings.TrimSuffix(from, "."))
	if from == "" {
		return nil, nil
	}
	r, err := e.fetch(ctx, from)
	if err != nil {
		return nil, err
	}
	if r != nil {
		return &Found{Record: r, Domain: from}, nil
	}
	org := OrgDomain(from)
	if org == from {
		return nil, nil
	}
	r, err = e.fetch(ctx, org)
	if err != nil || r == nil {
		return nil, err
	}
	return &Found{Record: r, Domain: org, Org: true}, nil
}
