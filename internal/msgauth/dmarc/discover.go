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

// OrgMode is how the organizational domain of a name is found.
type OrgMode int

const (
	// TreeWalk finds it in the DNS with the DMARCbis tree walk (RFC 9989
	// 4.10.2): the records the domain owners publish, their psd= tags.
	// The default.
	TreeWalk OrgMode = iota
	// PSL uses the public suffix list (RFC 7489 3.2), as OpenDMARC with
	// its PublicSuffixList does: the public suffix plus one label.
	PSL
)

// ParseOrgMode reads the [dmarc] org_domain setting.
func ParseOrgMode(s string) (OrgMode, bool) {
	switch strings.ToLower(s) {
	case "", "treewalk", "tree-walk":
		return TreeWalk, true
	case "psl":
		return PSL, true
	}
	return TreeWalk, false
}

// OrgDomain is the organizational domain of a domain by the public
// suffix list (RFC 7489 3.2): the public suffix of the name, found with
// golang.org/x/net/publicsuffix, plus one label. A name that is itself a
// public suffix (or that the list cannot place) is its own
// organizational domain. Evaluator.OrgDomain follows the configured
// OrgMode.
func OrgDomain(domain string) string {
	domain = normalize(domain)
	org, err := publicsuffix.EffectiveTLDPlusOne(domain)
	if err != nil {
		return domain
	}
	return org
}

func normalize(d string) string { return strings.ToLower(strings.TrimSuffix(d, ".")) }

// maxWalk is the most names one tree walk asks about (RFC 9989 4.10):
// the name itself, then at most seven of its ancestors.
const maxWalk = 8

// walkTargets are the names a DNS tree walk from domain queries, in
// order (RFC 9989 4.10): the domain; then, for a name of more than eight
// labels, its last seven labels; then one label fewer each time, down to
// the top-level domain.
func walkTargets(domain string) []string {
	out := []string{domain}
	labels := strings.Count(domain, ".") + 1
	i := 0
	if labels > maxWalk {
		// Skip to the name of seven labels.
		for skip := labels - (maxWalk - 1); skip > 0; skip-- {
			i += strings.IndexByte(domain[i:], '.') + 1
		}
		out = append(out, domain[i:])
	}
	for {
		dot := strings.IndexByte(domain[i:], '.')
		if dot < 0 {
			return out
		}
		i += dot + 1
		out = append(out, domain[i:])
	}
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
	m   map[cacheKey]cached
	max int
}

// cacheKey names an entry: what is kept about which domain (a struct,
// so a lookup builds no string).
type cacheKey struct {
	kind   uint8
	domain string
}

const (
	kindPolicy uint8 = iota // the record at _dmarc.<domain>
	kindExists              // whether the domain exists (np=)
	kindOrg                 // its organizational domain by the tree walk
)

type cached struct {
	rec    *Record // kindPolicy; nil: no usable record
	exists bool    // kindExists
	org    string  // kindOrg
	until  time.Time
}

const (
	maxCacheTTL = time.Hour
	negCacheTTL = 5 * time.Minute
)

func (c *cache) get(name cacheKey, now time.Time) (cached, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[name]
	if !ok || now.After(e.until) {
		return cached{}, false
	}
	return e, true
}

func (c *cache) put(name cacheKey, e cached) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[cacheKey]cached{}
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
	key := cacheKey{kindPolicy, domain}
	now := e.now()
	if c, ok := e.cache.get(key, now); ok {
		return c.rec, nil
	}
	name := "_dmarc." + domain
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
		e.cache.put(key, cached{until: now.Add(ttl)})
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
	e.cache.put(key, cached{rec: rec, until: now.Add(min(ttl, maxCacheTTL))})
	return rec, nil
}

// Discover finds the policy for a From domain: the record at
// _dmarc.<from>, else (TreeWalk) the first record the DNS tree walk meets
// going up from it (RFC 9989 4.10.1), or (PSL) the one at the
// organizational domain (RFC 7489 6.6.3). It returns nil without error
// when there is none, and an error wrapping ErrTemp when DNS could not
// answer.
func (e *Evaluator) Discover(ctx context.Context, from string) (*Found, error) {
	from = normalize(from)
	if from == "" {
		return nil, nil
	}
	var targets []string
	if e.Org == PSL {
		targets = []string{from}
		if org := OrgDomain(from); org != from {
			targets = append(targets, org)
		}
	} else {
		targets = walkTargets(from)
	}
	for i, name := range targets {
		r, err := e.fetch(ctx, name)
		if err != nil {
			return nil, err
		}
		if r != nil {
			return &Found{Record: r, Domain: name, Org: i > 0}, nil
		}
	}
	return nil, nil
}

// OrgDomain returns the organizational domain of domain under e.Org. The
// tree walk (RFC 9989 4.10.2) asks every name on the way up, from the
// longest: a record with psd=n makes its name the organizational domain;
// one with psd=y makes it the name one label below (the domain itself
// when the record is its own); failing both, it is the name with the
// fewest labels that has a record, and the domain itself when no name
// has one. The error wraps ErrTemp when DNS could not answer.
func (e *Evaluator) OrgDomain(ctx context.Context, domain string) (string, error) {
	domain = normalize(domain)
	if e.Org == PSL || domain == "" {
		return OrgDomain(domain), nil
	}
	// The answer is kept as long as a negative policy answer: it rests
	// on the records of several names.
	key, now := cacheKey{kindOrg, domain}, e.now()
	if c, ok := e.cache.get(key, now); ok {
		return c.org, nil
	}
	org, err := e.walkOrg(ctx, domain)
	if err == nil {
		e.cache.put(key, cached{org: org, until: now.Add(negCacheTTL)})
	}
	return org, err
}

// walkOrg is OrgDomain's tree walk.
func (e *Evaluator) walkOrg(ctx context.Context, domain string) (string, error) {
	org := domain
	for _, name := range walkTargets(domain) {
		r, err := e.fetch(ctx, name)
		if err != nil {
			return "", err
		}
		switch {
		case r == nil:
		case r.PSD == 'n':
			return name, nil
		case r.PSD == 'y' && name == domain:
			return domain, nil
		case r.PSD == 'y':
			return oneBelow(domain, name), nil
		default:
			org = name
		}
	}
	return org, nil
}

// oneBelow is the name of domain that has one label more than its
// ancestor suffix.
func oneBelow(domain, suffix string) string {
	head := strings.TrimSuffix(domain, "."+suffix)
	if dot := strings.LastIndexByte(head, '.'); dot >= 0 {
		return domain[dot+1:]
	}
	return domain
}
