package policy

import (
	"context"
	"fmt"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"mailwarden/internal/config"
	"mailwarden/internal/dnsx"
)

// Postscreen is postscreen(8)'s DNSBL test, run once at connect: every
// site of postscreen_dnsbl_sites is asked in parallel, within
// dnsbl_timeout; each site that lists the client (an A record passing
// its filter) adds its weight once; a score at or above dnsbl_threshold
// is acted on by dnsbl_action. A site that cannot be asked in time adds
// nothing (postscreen counts only non-error replies).
type Postscreen struct {
	sites     []dnsListSpec
	threshold int
	allow     int
	action    string
	timeout   time.Duration
	d         Deps
	cache     *DNSCache
}

// PostscreenResult is the outcome of the test.
type PostscreenResult struct {
	Score int
	// Site is the listing site with the largest weight (the first such),
	// the one the reply names; "" when none listed the client.
	Site string
	// Action is "" (below the threshold, or dnsbl_action ignore),
	// "enforce" or "drop".
	Action string
	// Allowlisted: the score is at or below a (negative)
	// dnsbl_allowlist_threshold.
	Allowlisted bool
	// Verdict is the reply for Action: postscreen's 550 (enforce, given
	// to every RCPT) or 521 (drop, instead of the greeting).
	Verdict Verdict
}

// maxPostscreenSites bounds the parallel queries of one connection.
const maxPostscreenSites = 32

// newPostscreen builds the test from [postscreen]; nil when no site is
// configured.
func newPostscreen(cfg config.Postscreen, d Deps, cache *DNSCache) (*Postscreen, error) {
	if len(cfg.DNSBLSites) == 0 {
		return nil, nil
	}
	if len(cfg.DNSBLSites) > maxPostscreenSites {
		return nil, fmt.Errorf("postscreen.dnsbl_sites: at most %d sites", maxPostscreenSites)
	}
	p := &Postscreen{threshold: cfg.DNSBLThreshold, allow: cfg.DNSBLAllowlistThreshold, action: cfg.DNSBLAction,
		timeout: cfg.DNSBLTimeout.D(), d: d, cache: cache}
	for _, s := range cfg.DNSBLSites {
		spec, err := parseDNSList(s, true)
		if err != nil {
			return nil, fmt.Errorf("postscreen.dnsbl_sites: %w", err)
		}
		p.sites = append(p.sites, spec)
	}
	return p, nil
}

// Check scores ip.
func (p *Postscreen) Check(ctx context.Context, ip netip.Addr) PostscreenResult {
	var res PostscreenResult
	if p == nil || !ip.IsValid() {
		return res
	}
	if p.d.DNS == nil {
		p.d.warn("postscreen: no DNS resolver; DNSBL test skipped")
		return res
	}
	ip = ip.Unmap()
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	listed := make([]bool, len(p.sites))
	var wg sync.WaitGroup
	for i, s := range p.sites {
		wg.Go(func() {
			q := dnsx.ReverseName(ip, s.Domain)
			addrs, found, err := p.cache.lookupA(ctx, p.d.DNS, q)
			if err != nil {
				p.d.warn("postscreen: dnsblog_query: lookup error for DNS query " + q + ": " + err.Error())
				return
			}
			if !found {
				return
			}
			for _, a := range addrs {
				if s.Filter.match(a) {
					listed[i] = true
					return
				}
			}
		})
	}
	wg.Wait()
	best := 0
	for i, s := range p.sites {
		if !listed[i] {
			continue
		}
		res.Score += s.Weight
		if s.Weight > 0 && (res.Site == "" || s.Weight > best) {
			res.Site, best = s.Domain, s.Weight
		}
	}
	if p.allow < 0 && res.Score <= p.allow {
		res.Allowlisted = true
		return res
	}
	if res.Score < p.threshold || res.Site == "" {
		return res
	}
	p.d.info("postscreen: DNSBL rank " + strconv.Itoa(res.Score) + " for [" + ip.String() + "]")
	switch p.action {
	case "enforce":
		res.Action = "enforce"
		res.Verdict = reject(550, "5.7.1", "Service unavailable; client ["+ip.String()+"] blocked using "+res.Site)
	case "drop":
		res.Action = "drop"
		res.Verdict = reject(521, "5.7.1", "Service unavailable; client ["+ip.String()+"] blocked using "+res.Site)
	}
	return res
}
