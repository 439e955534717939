package dnsx

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// Errors returned by lookups, to be tested with errors.Is. Every error a
// Resolver returns wraps exactly one of them.
var (
	// ErrNotFound means the name does not exist (NXDOMAIN) or has no
	// records of the asked type: a permanent condition.
	ErrNotFound = errors.New("dns: not found")
	// ErrTemporary means the answer could not be had now (SERVFAIL,
	// REFUSED, timeout, network error): try again later.
	ErrTemporary = errors.New("dns: temporary failure")
	// ErrNullMX means the domain publishes a null MX (RFC 7505): it
	// accepts no mail. Permanent.
	ErrNullMX = errors.New("dns: domain accepts no mail (null MX)")
)

// MX is one mail exchanger; Host has no trailing dot.
type MX struct {
	Host string
	Pref uint16
}

// Resolver answers the lookups Mailwarden needs.
type Resolver interface {
	// LookupMX returns the domain's MX records sorted by preference
	// (equal preferences in the order received). ErrNotFound when there
	// are none (the caller falls back to the implicit MX), ErrNullMX for a
	// null MX.
	LookupMX(ctx context.Context, domain string) ([]MX, error)
	// LookupIP returns the host's A and AAAA addresses (IPv4 first). An IP
	// literal is returned as is.
	LookupIP(ctx context.Context, host string) ([]netip.Addr, error)
	// LookupTXT returns one string per TXT record, its character strings
	// concatenated (as SPF and DKIM want).
	LookupTXT(ctx context.Context, name string) ([]string, error)
	// LookupPTR returns the names (no trailing dot) the address maps to.
	LookupPTR(ctx context.Context, ip netip.Addr) ([]string, error)
}

// DefaultTimeout is used when New is given a zero timeout.
const DefaultTimeout = 5 * time.Second

type resolver struct {
	servers []string
	udp     *dns.Client
	tcp     *dns.Client
}

// New returns a resolver (a Full: every Resolver and Records lookup) that asks resolvers ("host:port"; a bare host
// means port 53) in turn, over UDP with a retry over TCP when the answer is
// truncated. An empty list means the servers in /etc/resolv.conf. timeout
// bounds each exchange with one server.
func New(resolvers []string, timeout time.Duration) (Full, error) {
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	var servers []string
	if len(resolvers) == 0 {
		conf, err := dns.ClientConfigFromFile("/etc/resolv.conf")
		if err != nil {
			return nil, fmt.Errorf("dnsx: no resolvers configured and %w", err)
		}
		for _, s := range conf.Servers {
			servers = append(servers, net.JoinHostPort(s, conf.Port))
		}
		if len(servers) == 0 {
			return nil, errors.New("dnsx: /etc/resolv.conf lists no nameserver; set [dns] resolvers")
		}
	}
	for _, r := range resolvers {
		addr, err := normalize(r)
		if err != nil {
			return nil, err
		}
		servers = append(servers, addr)
	}
	return &resolver{
		servers: servers,
		udp:     &dns.Client{Net: "udp", Timeout: timeout, UDPSize: 1232},
		tcp:     &dns.Client{Net: "tcp", Timeout: timeout},
	}, nil
}

func normalize(r string) (string, error) {
	host, port, err := net.SplitHostPort(r)
	if err != nil {
		host, port = strings.Trim(r, "[]"), "53"
	}
	if _, perr := strconv.ParseUint(port, 10, 16); perr != nil || host == "" {
		return "", fmt.Errorf("dnsx: resolver %q: want host:port", r)
	}
	return net.JoinHostPort(host, port), nil
}

// query asks each server in turn until one gives a definite answer and
// returns the answer records of type qtype.
func (r *resolver) query(ctx context.Context, name string, qtype uint16) ([]dns.RR, error) {
	rrs, _, err := r.queryNeg(ctx, name, qtype)
	return rrs, err
}

// queryNeg is query that also returns, for a negative answer, how long
// it may be cached (RFC 2308 5: the SOA's TTL capped by its MINIMUM; 0
// when the answer carries no SOA).
func (r *resolver) queryNeg(ctx context.Context, name string, qtype uint16) ([]dns.RR, uint32, error) {
	what := dns.TypeToString[qtype] + " " + name
	fail := func(msg string, kind, cause error, nodata bool) error {
		return &nameError{msg: "dnsx: " + msg, name: name, qtype: dns.TypeToString[qtype], kind: kind, nodata: nodata, cause: cause}
	}
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qtype)
	m.SetEdns0(1232, false)
	var lastErr error
	for _, server := range r.servers {
		if err := ctx.Err(); err != nil {
			return nil, 0, fail(fmt.Sprintf("%s: %v: %v", what, ErrTemporary, err), ErrTemporary, err, false)
		}
		resp, _, err := r.udp.ExchangeContext(ctx, m, server)
		if err == nil && resp.Truncated {
			resp, _, err = r.tcp.ExchangeContext(ctx, m, server)
		}
		if err != nil {
			lastErr = fail(fmt.Sprintf("%s via %s: %v: %v", what, server, ErrTemporary, err), ErrTemporary, err, false)
			continue
		}
		switch resp.Rcode {
		case dns.RcodeSuccess:
			var rrs []dns.RR
			for _, rr := range resp.Answer {
				if rr.Header().Rrtype == qtype {
					rrs = append(rrs, rr)
				}
			}
			if len(rrs) == 0 {
				return nil, negTTL(resp), fail(fmt.Sprintf("%s: no records: %v", what, ErrNotFound), ErrNotFound, nil, true)
			}
			return rrs, 0, nil
		case dns.RcodeNameError:
			return nil, negTTL(resp), fail(fmt.Sprintf("%s: NXDOMAIN: %v", what, ErrNotFound), ErrNotFound, nil, false)
		default:
			lastErr = fail(fmt.Sprintf("%s via %s: %s: %v", what, server, dns.RcodeToString[resp.Rcode], ErrTemporary), ErrTemporary, nil, false)
		}
	}
	return nil, 0, lastErr
}

func (r *resolver) LookupMX(ctx context.Context, domain string) ([]MX, error) {
	rrs, err := r.query(ctx, domain, dns.TypeMX)
	if err != nil {
		return nil, err
	}
	mxs := make([]MX, 0, len(rrs))
	for _, rr := range rrs {
		mx := rr.(*dns.MX)
		if mx.Mx == "." {
			continue // RFC 7505 3: a null MX among others is ignored
		}
		mxs = append(mxs, MX{Host: strings.TrimSuffix(mx.Mx, "."), Pref: mx.Preference})
	}
	if len(mxs) == 0 {
		// RFC 7505 3: the only MX is "." (with preference 0).
		return nil, fmt.Errorf("dnsx: MX %s: %w", domain, ErrNullMX)
	}
	sort.SliceStable(mxs, func(i, j int) bool { return mxs[i].Pref < mxs[j].Pref })
	return mxs, nil
}

func (r *resolver) LookupIP(ctx context.Context, host string) ([]netip.Addr, error) {
	if ip, err := netip.ParseAddr(strings.Trim(host, "[]")); err == nil {
		return []netip.Addr{ip}, nil
	}
	type result struct {
		rrs []dns.RR
		err error
	}
	aaaa := make(chan result, 1)
	go func() {
		rrs, err := r.query(ctx, host, dns.TypeAAAA)
		aaaa <- result{rrs, err}
	}()
	rrs, errA := r.query(ctx, host, dns.TypeA)
	six := <-aaaa
	var addrs []netip.Addr
	for _, rr := range append(rrs, six.rrs...) {
		var ip net.IP
		switch rr := rr.(type) {
		case *dns.A:
			ip = rr.A
		case *dns.AAAA:
			ip = rr.AAAA
		}
		if a, ok := netip.AddrFromSlice(ip); ok {
			addrs = append(addrs, a.Unmap())
		}
	}
	if len(addrs) > 0 {
		return addrs, nil
	}
	if errors.Is(errA, ErrTemporary) {
		return nil, errA
	}
	if errors.Is(six.err, ErrTemporary) {
		return nil, six.err
	}
	// NXDOMAIN for A says the host does not exist; an empty answer that
	// it has no address.
	var ne *nameError
	nodata := !errors.As(errA, &ne) || ne.nodata
	return nil, &nameError{msg: fmt.Sprintf("dnsx: A/AAAA %s: no addresses: %v", host, ErrNotFound), name: host, qtype: "A", kind: ErrNotFound, nodata: nodata}
}

func (r *resolver) LookupTXT(ctx context.Context, name string) ([]string, error) {
	rrs, err := r.query(ctx, name, dns.TypeTXT)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(rrs))
	for _, rr := range rrs {
		out = append(out, strings.Join(rr.(*dns.TXT).Txt, ""))
	}
	return out, nil
}

func (r *resolver) LookupPTR(ctx context.Context, ip netip.Addr) ([]string, error) {
	rev, err := dns.ReverseAddr(ip.Unmap().String())
	if err != nil {
		return nil, fmt.Errorf("dnsx: PTR %s: %w", ip, err)
	}
	rrs, err := r.query(ctx, rev, dns.TypePTR)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(rrs))
	for _, rr := range rrs {
		out = append(out, strings.TrimSuffix(rr.(*dns.PTR).Ptr, "."))
	}
	return out, nil
}
