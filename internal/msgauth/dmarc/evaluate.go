package dmarc

import (
	"context"
	"errors"
	"math/rand/v2"
	"strings"
	"time"

	"mailwarden/internal/dnsx"
)

// Identifier is an authenticated (or not) domain: SPF's MAIL FROM (or
// HELO) domain with its SPF result, or a DKIM signature's d= with its
// result. Results are RFC 8601 keywords ("pass", "fail", "temperror"...).
type Identifier struct {
	Domain string
	Result string
	// Selector is the DKIM signature's s= (reports name it); "" for SPF.
	Selector string
	// Scope is SPF's identity, "mfrom" or "helo" (reports name it).
	Scope string
}

// Input is what DMARC evaluates for one message.
type Input struct {
	From string       // the RFC5322.From domain
	SPF  Identifier   // the SPF result for the MAIL FROM domain (HELO for a null sender)
	DKIM []Identifier // one per DKIM signature
}

// Result keywords of DMARC in Authentication-Results (RFC 7489 11.2).
const (
	ResultPass      = "pass"
	ResultFail      = "fail"
	ResultNone      = "none"
	ResultTempError = "temperror"
	ResultPermError = "permerror"
)

// Result is the outcome of one evaluation.
type Result struct {
	Result string // pass, fail, none, temperror
	Found  *Found // the policy record, nil when none was found
	// OrgDomain is the From domain's organizational domain (set when a
	// policy was found).
	OrgDomain string
	// Policy is what the domain owner asks for failing mail from the
	// From domain: p=, or sp= (np= for a non-existent subdomain) when the
	// record is the organizational domain's.
	Policy Policy
	// Disposition is what to do with this message under the published
	// policy: none for a pass, Policy for a failure, one step weaker
	// when pct sampled it out. Local policy (enforce, overrides, ARC) is
	// applied by the caller.
	Disposition Policy
	SPFAligned  bool // SPF passed for a domain aligned with From
	DKIMAligned bool // a DKIM signature passed for a domain aligned with From
	// TempAligned is set when an aligned identifier had a temperror:
	// the message might pass when tried again.
	TempAligned bool
	SampledOut  bool // pct= left this failure out of the policy
	NonExistent bool // the From domain does not exist and np= applied
	Err         error
}

// Evaluator evaluates DMARC with a resolver and a policy cache.
type Evaluator struct {
	DNS dnsx.Resolver
	// Sample decides whether a failing message is subject to a policy of
	// pct percent (RFC 7489 6.6.4); nil: at random. Tests inject a
	// deterministic one.
	Sample func(pct int) bool
	Now    func() time.Time // nil: time.Now
	// Org is how organizational domains are found: the DMARCbis tree
	// walk (the zero value) or the public suffix list.
	Org OrgMode

	cache cache
}

// New returns an Evaluator asking dns, keeping up to cacheSize policy
// answers (0: 10000).
func New(dns dnsx.Resolver, cacheSize int) *Evaluator {
	if cacheSize <= 0 {
		cacheSize = 10000
	}
	return &Evaluator{DNS: dns, cache: cache{max: cacheSize}}
}

func (e *Evaluator) now() time.Time {
	if e.Now != nil {
		return e.Now()
	}
	return time.Now()
}

// Aligned reports whether domain a is aligned with the From domain b
// (RFC 7489 3.1.1, 3.1.2): the same name in strict mode, the same
// organizational domain (under e.Org) in relaxed mode. The error wraps
// ErrTemp when DNS could not say.
func (e *Evaluator) Aligned(ctx context.Context, a, b string, mode Alignment) (bool, error) {
	b = normalize(b)
	orgB, err := e.OrgDomain(ctx, b)
	if err != nil {
		return false, err
	}
	return e.aligned(ctx, a, b, orgB, mode)
}

// aligned is Aligned with the From domain's organizational domain known.
func (e *Evaluator) aligned(ctx context.Context, a, from, orgFrom string, mode Alignment) (bool, error) {
	a = normalize(a)
	if a == "" || from == "" {
		return false, nil
	}
	if a == from {
		return true, nil
	}
	if mode != Relaxed {
		return false, nil
	}
	// An organizational domain is the name itself or an ancestor, so the
	// same one means a is orgFrom or under it; only then is a's own
	// organizational domain looked for.
	if a != orgFrom && !(len(a) > len(orgFrom) && strings.HasSuffix(a, orgFrom) && a[len(a)-len(orgFrom)-1] == '.') {
		return false, nil
	}
	orgA, err := e.OrgDomain(ctx, a)
	return orgA == orgFrom, err
}

// Evaluate runs DMARC for one message (RFC 7489 6.6).
func (e *Evaluator) Evaluate(ctx context.Context, in Input) Result {
	if e.cache.max == 0 {
		e.cache.max = 10000
	}
	from := strings.ToLower(strings.TrimSuffix(in.From, "."))
	found, err := e.Discover(ctx, from)
	if err != nil {
		return Result{Result: ResultTempError, Disposition: None, Err: err}
	}
	if found == nil {
		return Result{Result: ResultNone, Disposition: None}
	}
	rec := found.Record
	res := Result{Found: found, Policy: rec.Policy}
	orgFrom, err := e.OrgDomain(ctx, from)
	if err != nil {
		return Result{Result: ResultTempError, Found: found, Disposition: None, Err: err}
	}
	res.OrgDomain = orgFrom
	// RFC 7489 4.2: a pass needs one aligned identifier that passed. An
	// identifier whose alignment DNS could not tell is like one whose
	// check had a temperror: the message may pass when tried again.
	if in.SPF.Domain != "" {
		ok, err := e.aligned(ctx, in.SPF.Domain, from, orgFrom, rec.ASPF)
		switch r := strings.ToLower(in.SPF.Result); {
		case err != nil && (r == "pass" || r == "temperror"):
			res.TempAligned = true
		case !ok:
		case r == "pass":
			res.SPFAligned = true
		case r == "temperror":
			res.TempAligned = true
		}
	}
	for _, d := range in.DKIM {
		ok, err := e.aligned(ctx, d.Domain, from, orgFrom, rec.ADKIM)
		switch r := strings.ToLower(d.Result); {
		case err != nil && (r == "pass" || r == "temperror"):
			res.TempAligned = true
		case !ok:
		case r == "pass":
			res.DKIMAligned = true
		case r == "temperror":
			res.TempAligned = true
		}
	}
	if found.Org {
		res.Policy = rec.SubPolicy
	}
	if res.SPFAligned || res.DKIMAligned {
		res.Result, res.Disposition = ResultPass, None
		return res
	}
	if found.Org && rec.HasNP && rec.NPolicy != rec.SubPolicy && e.nonExistent(ctx, from) {
		// DMARCbis np=: the From domain is a subdomain that does not
		// exist (no A, AAAA or MX). Asked only for failing mail.
		res.Policy, res.NonExistent = rec.NPolicy, true
	}
	res.Result, res.Disposition = ResultFail, res.Policy
	// RFC 7489 6.6.4: pct= applies the policy to that share of failing
	// mail; the rest gets the next policy down.
	if res.Policy != None && rec.Pct < 100 && !e.sample(rec.Pct) {
		res.Disposition, res.SampledOut = res.Policy.weaker(), true
	}
	return res
}

func (e *Evaluator) sample(pct int) bool {
	if e.Sample != nil {
		return e.Sample(pct)
	}
	return rand.IntN(100) < pct
}

// nonExistent reports whether domain has neither MX nor address records
// and so counts as non-existent for np= (DMARCbis 4.7). A temporary
// failure counts as existing: the stronger np= is not applied on doubt.
func (e *Evaluator) nonExistent(ctx context.Context, domain string) bool {
	key, now := cacheKey{kindExists, domain}, e.now()
	if c, ok := e.cache.get(key, now); ok {
		return !c.exists
	}
	_, err := e.DNS.LookupMX(ctx, domain)
	if errors.Is(err, dnsx.ErrNotFound) {
		_, err = e.DNS.LookupIP(ctx, domain)
	}
	switch {
	case err == nil:
		e.cache.put(key, cached{exists: true, until: now.Add(negCacheTTL)})
		return false
	case errors.Is(err, dnsx.ErrNotFound):
		e.cache.put(key, cached{exists: false, until: now.Add(negCacheTTL)})
		return true
	}
	return false
}
