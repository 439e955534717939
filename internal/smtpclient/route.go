package smtpclient

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"strconv"
	"strings"

	"mailwarden/internal/dnsx"
)

// delivery is one call of Deliver/DeliverTo.
type delivery struct {
	o   *Options
	hop Hop
	m   *Message
	log *slog.Logger
	// cacheFailed is set when a cached connection turned out dead: the
	// others are not tried in this delivery.
	cacheFailed bool
}

// failure is why one host or address did not take the message; the last
// one becomes every recipient's Result when no host does.
type failure struct {
	code     int
	enhanced string
	text     string
	relay    string
}

func (f failure) results(m *Message) []Result {
	return fill(m, Result{Code: f.code, Enhanced: f.enhanced, Text: f.text,
		Permanent: f.code >= 500, Relay: f.relay})
}

func fill(m *Message, r Result) []Result {
	out := make([]Result, len(m.Rcpts))
	for i, rc := range m.Rcpts {
		out[i] = r
		out[i].Rcpt = rc.Addr
	}
	return out
}

func (d *delivery) run(ctx context.Context) []Result {
	// A connection to this destination, found without DNS.
	if res := d.reuse(ctx, d.destKey(), true); res != nil {
		return res
	}
	if d.hop.Unix != "" {
		host := d.hop.Host
		if host == "" {
			host = "localhost"
		}
		res, f := d.try(ctx, target{host: host, network: "unix", addr: d.hop.Unix})
		if res != nil {
			return res
		}
		return f.results(d.m)
	}
	hosts, f := d.hosts(ctx)
	if hosts == nil {
		return f.results(d.m)
	}
	// A host that does not exist fails the delivery permanently only when
	// every host is missing; any other failure makes it temporary.
	var last, notFound *failure
	for _, h := range hosts {
		addrs, err := d.addrs(ctx, h)
		if errors.Is(err, dnsx.ErrNotFound) {
			notFound = &failure{code: 550, enhanced: "5.4.4", relay: "none",
				text: dnsx.Explain(err)}
			continue
		}
		if err != nil {
			last = &failure{code: 451, enhanced: "4.4.3", relay: "none",
				text: dnsx.Explain(err)}
			continue
		}
		for _, a := range addrs {
			t := target{host: h, network: "tcp", addr: net.JoinHostPort(a.String(), d.port())}
			res, f := d.try(ctx, t)
			if res != nil {
				return res
			}
			last = &f
			if ctx.Err() != nil {
				return last.results(d.m)
			}
		}
	}
	if last == nil {
		last = notFound
	}
	return last.results(d.m)
}

// hosts returns the host names to try, in order, or nil and why.
func (d *delivery) hosts(ctx context.Context) ([]string, failure) {
	name := trimBrackets(d.hop.Host)
	if _, err := netip.ParseAddr(name); err == nil || d.hop.NoMX {
		return []string{name}, failure{}
	}
	mxs, err := d.o.Resolver.LookupMX(ctx, name)
	switch {
	case errors.Is(err, dnsx.ErrNullMX):
		// RFC 7505 3: no mail for a domain with a null MX.
		return nil, failure{code: 556, enhanced: "5.1.10", relay: "none",
			text: "Domain " + name + " does not accept mail (nullMX)"}
	case errors.Is(err, dnsx.ErrNotFound):
		// RFC 5321 5.1: no MX, the domain itself is the implicit MX.
		return []string{name}, failure{}
	case err != nil:
		return nil, failure{code: 451, enhanced: "4.4.3", relay: "none",
			text: dnsx.Explain(err)}
	}
	// RFC 5321 5.1: equal preferences in random order.
	for i := 0; i < len(mxs); {
		j := i
		for j < len(mxs) && mxs[j].Pref == mxs[i].Pref {
			j++
		}
		group := mxs[i:j]
		rand.Shuffle(len(group), func(a, b int) { group[a], group[b] = group[b], group[a] })
		i = j
	}
	hosts := make([]string, len(mxs))
	for i, mx := range mxs {
		hosts[i] = mx.Host
	}
	return hosts, failure{}
}

func (d *delivery) addrs(ctx context.Context, host string) ([]netip.Addr, error) {
	if a, err := netip.ParseAddr(host); err == nil {
		return []netip.Addr{a}, nil
	}
	return d.o.Resolver.LookupIP(ctx, host)
}

// try delivers to one address, on a cached connection to it if there is
// one, falling back to plaintext when opportunistic TLS fails (like
// Postfix). A nil Result slice means the address did not take
// responsibility: try the next one.
func (d *delivery) try(ctx context.Context, t target) ([]Result, failure) {
	if res := d.reuse(ctx, d.addrKey(t), false); res != nil {
		return res, failure{}
	}
	level := d.level(t)
	s := &session{d: d, t: t, level: level}
	res, f := s.run(ctx)
	if f.tlsFailed && level == "may" {
		d.log.Debug("smtpclient: TLS failed, retrying without", "relay", t.relay(), "err", f.text)
		s = &session{d: d, t: t, level: "none"}
		res, f = s.run(ctx)
	}
	d.log.Debug("smtpclient: attempt", "relay", t.relay(), "done", res != nil, "code", f.code, "text", f.text)
	return res, f.failure
}

// level is the TLS level asked for t.
func (d *delivery) level(t target) string {
	if t.network == "unix" {
		return "none"
	}
	return d.o.TLS
}

// reuse delivers on a cached connection under key, if there is one. A
// nil Result slice means there was none, or it was dead (closed while
// idle, 421, RSET refused...) and the caller goes on with a new
// connection; then no other cached one is tried in this delivery.
func (d *delivery) reuse(ctx context.Context, key string, byDest bool) []Result {
	if d.cacheFailed {
		return nil
	}
	ic := d.o.Cache.take(key, byDest)
	if ic == nil {
		return nil
	}
	ic.c.timeout = d.o.CommandTimeout
	s := &session{d: d, t: ic.t, level: d.level(ic.t), c: ic.c, reused: true}
	res, f := s.deliver(ctx)
	if res == nil {
		d.cacheFailed = true
		d.log.Debug("smtpclient: cached connection unusable, trying a new one", "relay", ic.t.relay(), "err", f.text)
	}
	return res
}

// destKey names the next-hop request: what decides which connections
// serve it, without DNS.
func (d *delivery) destKey() string {
	h, o := d.hop, d.o
	return strings.Join([]string{"dest", strings.ToLower(h.Host), d.port(), strconv.FormatBool(h.NoMX),
		strconv.FormatBool(h.LMTP), h.Unix, o.TLS, h.Username, h.Password, o.HeloName, o.LocalAddr.String()}, "\x00")
}

// addrKey names a connection to one address with the same settings.
func (d *delivery) addrKey(t target) string {
	h, o := d.hop, d.o
	return strings.Join([]string{"addr", t.network, t.addr, strings.ToLower(t.host), d.level(t),
		strconv.FormatBool(h.LMTP), h.Username, h.Password, o.HeloName, o.LocalAddr.String()}, "\x00")
}
