package spf

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/miekg/dns"

	"mailwarden/internal/dnsx"
)

// Limits of RFC 7208 4.6.4 and the evaluation time of 4.6.4/5 ("at least
// 20 seconds"; policyd-spf's Lookup_Time).
const (
	DefaultMaxLookups     = 10
	DefaultMaxVoidLookups = 2
	DefaultTimeout        = 20 * time.Second
	maxNames              = 10 // MX names per mx, PTR names per ptr/%{p}
)

// Checker evaluates SPF. The zero value is not usable: DNS is required.
// A Checker is safe for concurrent use.
type Checker struct {
	// DNS answers the lookups (a dnsx.RRCache in front of dnsx.New's
	// resolver in the server).
	DNS dnsx.RRLookup
	// Receiver is the %{r} of explanations: the checking host's domain.
	Receiver string
	// MaxLookups and MaxVoidLookups are the limits of 4.6.4 (0: 10
	// and 2).
	MaxLookups, MaxVoidLookups int
	// Timeout bounds one evaluation, every DNS query included (0: 20s).
	Timeout time.Duration
	// Now is the clock of %{t} (nil: time.Now).
	Now func() time.Time
}

// CheckHELO checks the HELO identity (RFC 7208 2.3): <domain> is the HELO
// name and <sender> postmaster@ it. A HELO that is an address literal or
// not a multi-label name gives None.
func (c *Checker) CheckHELO(ctx context.Context, ip netip.Addr, helo string) *Verdict {
	v := c.CheckHost(ctx, ip, helo, "postmaster@"+helo, helo)
	v.Identity = HELO
	return v
}

// CheckMailFrom checks the MAIL FROM identity (RFC 7208 2.4): the
// reverse-path's domain, or for the null reverse-path the HELO name with
// postmaster as the local part.
func (c *Checker) CheckMailFrom(ctx context.Context, ip netip.Addr, mailFrom, helo string) *Verdict {
	sender, domain := mailFrom, ""
	if mailFrom == "" {
		sender, domain = "postmaster@"+helo, helo
	} else if at := strings.LastIndexByte(mailFrom, '@'); at >= 0 {
		domain = mailFrom[at+1:]
	} else {
		// No "@": the whole is the domain (4.3: postmaster is the
		// local part).
		sender, domain = "postmaster@"+mailFrom, mailFrom
	}
	v := c.CheckHost(ctx, ip, domain, sender, helo)
	v.Identity = MailFrom
	return v
}

// CheckHost is check_host(<ip>, <domain>, <sender>) of RFC 7208 4, with
// helo for the %{h} macro.
func (c *Checker) CheckHost(ctx context.Context, ip netip.Addr, domain, sender, helo string) *Verdict {
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	local, sdomain := "", domain
	if at := strings.LastIndexByte(sender, '@'); at >= 0 {
		local, sdomain = sender[:at], sender[at+1:]
	}
	if local == "" { // 4.3: no local-part: postmaster
		local = "postmaster"
		sender = local + "@" + sdomain
	}
	e := &eval{c: c, maxLookups: c.MaxLookups, maxVoid: c.MaxVoidLookups}
	if e.maxLookups <= 0 {
		e.maxLookups = DefaultMaxLookups
	}
	if e.maxVoid <= 0 {
		e.maxVoid = DefaultMaxVoidLookups
	}
	e.env = macroEnv{ip: ip.Unmap(), sender: sender, local: local, sdomain: sdomain, helo: helo,
		receiver: c.Receiver, now: c.Now}
	e.env.ptr = func(d string) string { return e.validatedPTR(ctx, d) }

	domain = strings.TrimSuffix(domain, ".")
	v := &Verdict{Domain: domain, Sender: sender}
	o := e.checkHost(ctx, domain, true)
	v.Result, v.Mechanism, v.Explanation = o.result, o.mech, o.problem
	if o.result == Fail {
		v.Explanation = e.explain(ctx, o)
	}
	v.Lookups, v.VoidLookups = e.lookups, e.voids
	return v
}

// eval is the state of one check_host() evaluation and its recursions.
type eval struct {
	c                   *Checker
	env                 macroEnv
	lookups, voids      int
	maxLookups, maxVoid int

	ptrDone  bool
	ptrNames []string // validated names of the client, for %{p}
}

// outcome is a check_host() result with what produced it.
type outcome struct {
	result  Result
	mech    string
	problem string       // PermError, TempError
	exp     *macroString // the exp= of the record that failed
	domain  string       // that record's <domain>
}

func permErr(format string, a ...any) outcome {
	return outcome{result: PermError, problem: fmt.Sprintf(format, a...)}
}

func tempErr(err error) outcome {
	return outcome{result: TempError, problem: strings.TrimPrefix(err.Error(), "dnsx: ")}
}

// limitErr is returned by the checks of 4.6.4.
type limitErr struct{ msg string }

func (e *limitErr) Error() string { return e.msg }

// checkHost evaluates the record of domain (RFC 7208 4); top is false for
// include and redirect targets.
func (e *eval) checkHost(ctx context.Context, domain string, top bool) outcome {
	// 4.3: a malformed or single-label domain gives None.
	if !validDomain(domain) {
		return outcome{result: None, problem: "invalid domain " + domain}
	}
	txts, err := e.lookupTXT(ctx, domain)
	if err != nil {
		if errors.Is(err, dnsx.ErrNotFound) && !errors.Is(err, dnsx.ErrTemporary) {
			return outcome{result: None}
		}
		return tempErr(err)
	}
	// 4.5: exactly one SPF record among the TXT records.
	var found string
	n := 0
	for _, t := range txts {
		if isSPF(t) {
			found = t
			n++
		}
	}
	switch {
	case n == 0:
		return outcome{result: None}
	case n > 1:
		return permErr("%d SPF records for %s", n, domain)
	}
	rec, err := parseRecord(found)
	if err != nil {
		return permErr("%s: %v", domain, strings.TrimPrefix(err.Error(), "spf: "))
	}
	for i := range rec.mechs {
		m := &rec.mechs[i]
		if m.kind.dnsTerm() {
			if err := e.countLookup(); err != nil {
				return permErr("%v", err)
			}
		}
		matched, o, stop := e.match(ctx, m, domain)
		if stop {
			return o
		}
		if matched {
			return outcome{result: m.qual, mech: m.text, exp: rec.exp, domain: domain}
		}
	}
	// 6.1: redirect only when no mechanism matched.
	if rec.redirect != nil {
		if err := e.countLookup(); err != nil {
			return permErr("%v", err)
		}
		target := domainName(rec.redirect.expand(&e.env, domain))
		o := e.checkHost(ctx, target, false)
		if o.result == None { // 6.1: no record at the target is PermError
			return permErr("redirect=%s: no SPF record", target)
		}
		return o
	}
	// 4.7: no match, no redirect.
	return outcome{result: Neutral, mech: "default"}
}

func (e *eval) countLookup() error {
	e.lookups++
	if e.lookups > e.maxLookups {
		return &limitErr{fmt.Sprintf("more than %d DNS-querying terms", e.maxLookups)}
	}
	return nil
}

// void records a void lookup (4.6.4): past the limit the check is a
// PermError.
func (e *eval) void() error {
	e.voids++
	if e.voids > e.maxVoid {
		return &limitErr{fmt.Sprintf("more than %d void lookups", e.maxVoid)}
	}
	return nil
}

// match evaluates one mechanism. stop is true when the evaluation ends
// with o (an error, or an include's error).
func (e *eval) match(ctx context.Context, m *mechanism, domain string) (matched bool, o outcome, stop bool) {
	target := domain
	if len(m.domain.parts) > 0 {
		target = domainName(m.domain.expand(&e.env, domain))
	}
	ip := e.env.ip
	switch m.kind {
	case mAll:
		return true, o, false
	case mIP4, mIP6:
		// 5.6: an IPv4 client (also IPv4-mapped) only matches ip4.
		return ip.Is4() == m.net.Addr().Is4() && m.net.Contains(ip), o, false
	case mInclude:
		in := e.checkHost(ctx, target, false)
		switch in.result { // 5.2 table
		case Pass:
			return true, o, false
		case Fail, SoftFail, Neutral:
			return false, o, false
		case TempError:
			return false, in, true
		case None:
			return false, permErr("include:%s: no SPF record", target), true
		default:
			return false, in, true
		}
	case mA:
		addrs, err := e.lookupAddrs(ctx, target, ip.Is4())
		if o, stop := e.lookupFailed(err); stop {
			return false, o, true
		}
		return e.inNets(addrs, m), o, false
	case mMX:
		return e.matchMX(ctx, m, target)
	case mPTR:
		return e.matchPTR(ctx, target)
	case mExists:
		// 5.7: an A lookup whatever the client's address family.
		addrs, err := e.lookupAddrs(ctx, target, true)
		if o, stop := e.lookupFailed(err); stop {
			return false, o, true
		}
		return len(addrs) > 0, o, false
	}
	return false, o, false
}

// lookupFailed turns a mechanism's lookup error into the outcome that
// ends the evaluation: a void lookup over the limit is a PermError, a
// temporary failure a TempError (5: "DNS errors ... TempError").
func (e *eval) lookupFailed(err error) (outcome, bool) {
	switch {
	case err == nil:
		return outcome{}, false
	case isVoid(err):
		if verr := e.void(); verr != nil {
			return permErr("%v", verr), true
		}
		return outcome{}, false
	default:
		return tempErr(err), true
	}
}

func (e *eval) inNets(addrs []netip.Addr, m *mechanism) bool {
	ip := e.env.ip
	bits := m.cidr6
	if ip.Is4() {
		bits = m.cidr4
	}
	for _, a := range addrs {
		a = a.Unmap()
		if a.Is4() != ip.Is4() {
			continue
		}
		p, err := a.Prefix(bits)
		if err == nil && p.Contains(ip) {
			return true
		}
	}
	return false
}

// matchMX is the mx mechanism (5.4): more than 10 MX names is a
// PermError (4.6.4); a null MX has no hosts.
func (e *eval) matchMX(ctx context.Context, m *mechanism, target string) (bool, outcome, bool) {
	hosts, err := e.lookupMX(ctx, target)
	if o, stop := e.lookupFailed(err); stop || err != nil {
		return false, o, stop
	}
	if len(hosts) > maxNames {
		return false, permErr("mx:%s: more than %d MX names", target, maxNames), true
	}
	for _, h := range hosts {
		if h == "" { // "." : RFC 7505 null MX
			continue
		}
		addrs, err := e.lookupAddrs(ctx, h, e.env.ip.Is4())
		if err != nil {
			if isVoid(err) {
				continue
			}
			return false, tempErr(err), true
		}
		if e.inNets(addrs, m) {
			return true, outcome{}, false
		}
	}
	return false, outcome{}, false
}

// matchPTR is the ptr mechanism (5.5): a DNS error on the PTR lookup is
// no match; names beyond the first 10 are ignored.
func (e *eval) matchPTR(ctx context.Context, target string) (bool, outcome, bool) {
	names, err := e.lookupPTR(ctx)
	if err != nil {
		if isVoid(err) {
			if verr := e.void(); verr != nil {
				return false, permErr("%v", verr), true
			}
		}
		return false, outcome{}, false
	}
	for _, n := range names {
		if !subdomainOf(n, target) {
			continue
		}
		if e.validates(ctx, n) {
			return true, outcome{}, false
		}
	}
	return false, outcome{}, false
}

// validates reports whether name has an address equal to the client's
// (5.5); a DNS error skips the name.
func (e *eval) validates(ctx context.Context, name string) bool {
	addrs, err := e.lookupAddrs(ctx, name, e.env.ip.Is4())
	if err != nil {
		return false
	}
	for _, a := range addrs {
		if a.Unmap() == e.env.ip {
			return true
		}
	}
	return false
}

// validatedPTR is %{p} (7.3): a validated name of the client, the one
// equal to domain or a subdomain of it by preference, else "unknown".
func (e *eval) validatedPTR(ctx context.Context, domain string) string {
	if !e.ptrDone {
		e.ptrDone = true
		names, err := e.lookupPTR(ctx)
		if err == nil {
			for _, n := range names {
				if e.validates(ctx, n) {
					e.ptrNames = append(e.ptrNames, n)
				}
			}
		}
	}
	for _, n := range e.ptrNames {
		if strings.EqualFold(n, domain) {
			return n
		}
	}
	for _, n := range e.ptrNames {
		if subdomainOf(n, domain) {
			return n
		}
	}
	if len(e.ptrNames) > 0 {
		return e.ptrNames[0]
	}
	return "unknown"
}

func subdomainOf(name, domain string) bool {
	name, domain = strings.TrimSuffix(name, "."), strings.TrimSuffix(domain, ".")
	if len(name) == len(domain) {
		return strings.EqualFold(name, domain)
	}
	return len(name) > len(domain) && name[len(name)-len(domain)-1] == '.' &&
		strings.EqualFold(name[len(name)-len(domain):], domain)
}

// explain computes the explanation of a Fail (6.2): the TXT record named
// by the failing record's exp=, macros expanded; anything wrong with it
// (no record, several, a DNS error, bad syntax, non-ASCII) gives the
// default. This lookup is outside the limits of 4.6.4.
func (e *eval) explain(ctx context.Context, o outcome) string {
	if o.exp == nil {
		return DefaultExplanation
	}
	name := domainName(o.exp.expand(&e.env, o.domain))
	if !validName(name) {
		return DefaultExplanation
	}
	txts, err := e.lookupTXT(ctx, name)
	if err != nil || len(txts) != 1 {
		return DefaultExplanation
	}
	ms, err := parseMacro(txts[0], true)
	if err != nil {
		return DefaultExplanation
	}
	return ms.expand(&e.env, o.domain)
}

// validDomain is the check of 4.3 on <domain>: a multi-label name whose
// labels fit the DNS, not an address literal.
func validDomain(d string) bool {
	d = strings.TrimSuffix(d, ".")
	if !validName(d) || !strings.Contains(d, ".") || strings.HasPrefix(d, "[") {
		return false
	}
	if _, err := netip.ParseAddr(d); err == nil {
		return false
	}
	return true
}

// DNS lookups. A name that cannot be asked (validName) does not exist.

var errBadName = fmt.Errorf("spf: name not valid in DNS: %w", dnsx.ErrNotFound)

func isVoid(err error) bool {
	return errors.Is(err, dnsx.ErrNotFound) && !errors.Is(err, dnsx.ErrTemporary)
}

func (e *eval) lookup(ctx context.Context, name string, qtype uint16) ([]dns.RR, error) {
	if !validName(name) {
		return nil, errBadName
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("spf: %w: evaluation time is up: %w", dnsx.ErrTemporary, err)
	}
	rrs, _, err := e.c.DNS.LookupRR(ctx, name, qtype)
	return rrs, err
}

func (e *eval) lookupTXT(ctx context.Context, name string) ([]string, error) {
	rrs, err := e.lookup(ctx, name, dns.TypeTXT)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(rrs))
	for _, rr := range rrs {
		if t, ok := rr.(*dns.TXT); ok {
			out = append(out, dnsx.TXTString(t))
		}
	}
	return out, nil
}

// lookupAddrs asks for A (four) or AAAA records.
func (e *eval) lookupAddrs(ctx context.Context, name string, four bool) ([]netip.Addr, error) {
	qtype := dns.TypeAAAA
	if four {
		qtype = dns.TypeA
	}
	rrs, err := e.lookup(ctx, name, qtype)
	if err != nil {
		return nil, err
	}
	return dnsx.AddrsOf(rrs), nil
}

// lookupMX returns the MX host names in the order given ("" for ".").
func (e *eval) lookupMX(ctx context.Context, name string) ([]string, error) {
	rrs, err := e.lookup(ctx, name, dns.TypeMX)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(rrs))
	for _, rr := range rrs {
		if mx, ok := rr.(*dns.MX); ok {
			out = append(out, strings.TrimSuffix(mx.Mx, "."))
		}
	}
	return out, nil
}

// lookupPTR returns at most 10 names of the client (4.6.4).
func (e *eval) lookupPTR(ctx context.Context) ([]string, error) {
	rev, err := dns.ReverseAddr(e.env.ip.String())
	if err != nil {
		return nil, err
	}
	rrs, err := e.lookup(ctx, strings.TrimSuffix(rev, "."), dns.TypePTR)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, min(len(rrs), maxNames))
	for _, rr := range rrs {
		if p, ok := rr.(*dns.PTR); ok && len(out) < maxNames {
			out = append(out, strings.TrimSuffix(p.Ptr, "."))
		}
	}
	return out, nil
}
