package queue

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"mailwarden/internal/config"
	"mailwarden/internal/dnsx"
	"mailwarden/internal/smtpclient"
	"mailwarden/internal/table"
	"mailwarden/internal/transport"
)

// clientOptions maps [outbound] to the SMTP client's options.
func (r *Runner) clientOptions() smtpclient.Options {
	cfg := r.o.Config()
	helo := cfg.Outbound.HeloName
	if helo == "" {
		helo = cfg.Hostname
	}
	return smtpclient.Options{
		Resolver:       r.o.Resolver,
		Port:           cfg.Outbound.SMTPPort,
		HeloName:       helo,
		ConnectTimeout: time.Duration(cfg.Outbound.ConnectTimeout),
		CommandTimeout: time.Duration(cfg.Outbound.CommandTimeout),
		TLS:            cfg.Outbound.TLS,
		Logger:         r.o.Logger,
		Cache:          r.connectionCache(cfg),
	}
}

// connCache is a Runner's SMTP connection cache (Postfix scache), made at
// first use and shared by all its deliveries.
type connCache struct {
	once  sync.Once
	cache *smtpclient.Cache
}

// connectionCache returns the runner's cache with the current [outbound]
// time limits, or nil when connection_cache_time_limit is 0 (no reuse).
// It keeps at most as many idle connections as could be busy at once.
func (r *Runner) connectionCache(cfg *config.Config) *smtpclient.Cache {
	idle := cfg.Outbound.ConnectionCacheTimeLimit.D()
	if idle <= 0 {
		return nil
	}
	r.conns.once.Do(func() {
		r.conns.cache = smtpclient.NewCache(smtpclient.CacheOptions{
			MaxPerDestination: r.o.DestinationConcurrency,
			MaxIdle:           r.o.Concurrency,
		})
	})
	r.conns.cache.SetTimeLimits(idle, cfg.Outbound.ConnectionReuseTimeLimit.D())
	return r.conns.cache
}

// closeConnections QUITs the idle cached connections (without it they
// are QUIT connection_cache_time_limit after their last use). For when
// the runner stops: no delivery may run after it.
func (r *Runner) closeConnections() {
	r.conns.once.Do(func() {}) // no cache made after this
	if r.conns.cache != nil {
		r.conns.cache.Close()
	}
}

func clientMessage(e Entry, rcpts []Rcpt, body *fileBody) *smtpclient.Message {
	m := &smtpclient.Message{
		From:     e.Sender,
		Size:     body.Size(),
		Body:     body.open,
		EightBit: e.Body8,
		// Require SMTPUTF8 of the next hop only when the envelope needs it
		// (RFC 6531 3.4): an ASCII message from an SMTPUTF8 client must still
		// reach servers without the extension.
		SMTPUTF8: e.SMTPUTF8 && needsUTF8(e.Sender, rcpts),
		RetFull:  strings.EqualFold(e.Ret, "FULL"),
		EnvID:    e.EnvID,
	}
	for _, rc := range rcpts {
		var notify []string
		if rc.Notify != "" {
			notify = strings.Split(rc.Notify, ",")
		}
		m.Rcpts = append(m.Rcpts, smtpclient.Rcpt{Addr: rc.Address, Notify: notify, ORCPT: rc.ORCPT})
	}
	return m
}

// fromResults turns the client's Results into outcomes. lmtp says the hop
// delivered finally (LMTP); over SMTP a server offering DSN took the
// NOTIFY request over, and one without it earns a "relayed" notice
// (RFC 3461 5.2.2).
func fromResults(rcpts []Rcpt, res []smtpclient.Result, lmtp bool) []outcome {
	out := make([]outcome, len(rcpts))
	for i, rc := range rcpts {
		o := outcome{rcpt: rc.Address, code: 451, enhanced: "4.3.0", text: "no result from the SMTP client", relay: "none"}
		if i < len(res) {
			x := res[i]
			o.code, o.enhanced, o.text, o.relay = x.Code, x.Enhanced, x.Text, x.Relay
			switch {
			case lmtp:
				o.action = "delivered"
			case !x.DSN:
				o.action = "relayed"
			}
		}
		o.status = statusOf(o.code)
		out[i] = o
	}
	return out
}

// tableCache holds the transport and password tables of the process, one
// per spec (the spec may change when the config does). Each re-reads its
// file when it changes. A spec that cannot be opened is not kept, so the
// next delivery tries again.
var tableCache = struct {
	sync.Mutex
	transports map[string]*transport.Map
	passwords  map[string]*transport.PasswordMap
}{transports: map[string]*transport.Map{}, passwords: map[string]*transport.PasswordMap{}}

func (r *Runner) tableOptions() table.Options {
	logger := r.o.Logger
	return table.Options{Logf: func(format string, a ...any) { logger.Warn(fmt.Sprintf(format, a...)) }}
}

func (r *Runner) transportMap(spec string) (*transport.Map, error) {
	tableCache.Lock()
	defer tableCache.Unlock()
	if m := tableCache.transports[spec]; m != nil {
		return m, nil
	}
	m, err := transport.OpenMap(spec, r.tableOptions())
	if err != nil {
		return nil, err
	}
	tableCache.transports[spec] = m
	return m, nil
}

func (r *Runner) passwordMap(spec string) (*transport.PasswordMap, error) {
	tableCache.Lock()
	defer tableCache.Unlock()
	if m := tableCache.passwords[spec]; m != nil {
		return m, nil
	}
	m, err := transport.OpenPasswords(spec, r.tableOptions())
	if err != nil {
		return nil, err
	}
	tableCache.passwords[spec] = m
	return m, nil
}

type deliverFunc func(ctx context.Context, e Entry, domain string, rcpts []Rcpt, body *fileBody) []outcome

// deliverRemote routes a foreign domain's recipients: by [outbound]
// transport_file when it matches, else to relayhost when set, else to the
// domain's MX hosts.
func (r *Runner) deliverRemote(ctx context.Context, e Entry, domain string, rcpts []Rcpt, body *fileBody) []outcome {
	return r.deliverRouted(ctx, e, domain, rcpts, body, r.deliverDefault)
}

// deliverRelay routes a backup-MX domain's recipients: by transport_file
// when it matches, else to the domain's more preferred MX hosts
// (relayhost does not apply: the primary MX is the destination).
func (r *Runner) deliverRelay(ctx context.Context, e Entry, domain string, rcpts []Rcpt, body *fileBody) []outcome {
	return r.deliverRouted(ctx, e, domain, rcpts, body, r.deliverBackupMX)
}

// deliverRouted looks every recipient up in the transport table and
// delivers each set with the same route; unmatched ones go to fallback.
func (r *Runner) deliverRouted(ctx context.Context, e Entry, domain string, rcpts []Rcpt, body *fileBody, fallback deliverFunc) []outcome {
	path := r.o.Config().Outbound.TransportFile
	if path == "" {
		return fallback(ctx, e, domain, rcpts, body)
	}
	failed := func(err error) []outcome {
		r.o.Logger.Error(e.ID + ": " + err.Error())
		return allOutcomes(rcpts, outcome{status: StatusDeferred, code: 451, enhanced: "4.3.0",
			text: "transport table lookup failure", relay: "none"})
	}
	tm, err := r.transportMap(path)
	if err != nil {
		return failed(err)
	}
	var routes []transport.Route
	groups := map[transport.Route][]int{}
	for i, rc := range rcpts {
		rt, _, err := tm.Route(ctx, rc.Address) // no match: the zero Route, Default
		if err != nil {
			return failed(err)
		}
		if groups[rt] == nil {
			routes = append(routes, rt)
		}
		groups[rt] = append(groups[rt], i)
	}
	out := make([]outcome, len(rcpts))
	for _, rt := range routes {
		idx := groups[rt]
		sub := make([]Rcpt, len(idx))
		for j, i := range idx {
			sub[j] = rcpts[i]
		}
		for j, o := range r.deliverRoute(ctx, e, domain, rt, sub, body, fallback) {
			out[idx[j]] = o
		}
	}
	return out
}

// deliverRoute carries out one transport table result.
func (r *Runner) deliverRoute(ctx context.Context, e Entry, domain string, rt transport.Route, rcpts []Rcpt, body *fileBody, fallback deliverFunc) []outcome {
	switch rt.Kind {
	case transport.Local:
		return r.deliverLocal(ctx, e, rcpts, body)
	case transport.Error:
		return allOutcomes(rcpts, outcome{status: StatusBounced, code: 550, enhanced: rt.Enhanced, text: rt.Text, relay: "none"})
	case transport.Retry:
		return allOutcomes(rcpts, outcome{status: StatusDeferred, code: 451, enhanced: rt.Enhanced, text: rt.Text, relay: "none"})
	case transport.Discard:
		return allOutcomes(rcpts, outcome{status: StatusSent, code: 250, enhanced: rt.Enhanced, text: rt.Text, relay: "none"})
	case transport.LMTP:
		hop := smtpclient.Hop{Host: rt.Host, Port: rt.Port, NoMX: rt.NoMX, LMTP: true, Unix: rt.Unix}
		return r.deliverHop(ctx, e, hop, rcpts, body)
	case transport.SMTP:
		hop := smtpclient.Hop{Host: rt.Host, Port: rt.Port, NoMX: rt.NoMX}
		if hop.Host == "" {
			hop.Host = domain // "smtp:": the recipient domain by MX, relayhost or not
		}
		return r.deliverSMTP(ctx, e, rt.Nexthop, hop, rcpts, body)
	}
	return fallback(ctx, e, domain, rcpts, body)
}

// deliverDefault sends to relayhost when set, else to the MX hosts.
func (r *Runner) deliverDefault(ctx context.Context, e Entry, domain string, rcpts []Rcpt, body *fileBody) []outcome {
	relayhost := r.o.Config().Outbound.Relayhost
	if relayhost == "" {
		return r.deliverMX(ctx, e, domain, rcpts, body)
	}
	h, err := transport.ParseHop(relayhost)
	if err != nil {
		r.o.Logger.Error(e.ID + ": relayhost: " + err.Error())
		return allOutcomes(rcpts, outcome{status: StatusDeferred, code: 451, enhanced: "4.3.5",
			text: "relayhost is misconfigured", relay: "none"})
	}
	return r.deliverSMTP(ctx, e, relayhost, smtpclient.Hop{Host: h.Host, Port: h.Port, NoMX: h.NoMX}, rcpts, body)
}

// deliverSMTP delivers to an SMTP next hop, authenticating with the
// relayhost_password_file entry for nexthop (the table is re-read when it changes)
// when there is one. The client sends credentials only over TLS.
func (r *Runner) deliverSMTP(ctx context.Context, e Entry, nexthop string, hop smtpclient.Hop, rcpts []Rcpt, body *fileBody) []outcome {
	if pf := r.o.Config().Outbound.RelayhostPasswordFile; pf != "" && nexthop != "" {
		c, ok, err := r.lookupPassword(ctx, pf, nexthop)
		if err != nil {
			r.o.Logger.Error(e.ID + ": " + err.Error())
			return allOutcomes(rcpts, outcome{status: StatusDeferred, code: 451, enhanced: "4.3.0",
				text: "SASL password table lookup failure", relay: "none"})
		}
		if ok {
			hop.Username, hop.Password = c.Username, c.Password
		}
	}
	return r.deliverHop(ctx, e, hop, rcpts, body)
}

// lookupPassword finds nexthop's credentials in the password table spec.
func (r *Runner) lookupPassword(ctx context.Context, spec, nexthop string) (transport.Credentials, bool, error) {
	pm, err := r.passwordMap(spec)
	if err != nil {
		return transport.Credentials{}, false, err
	}
	return pm.Credentials(ctx, nexthop)
}

// deliverMX delivers to the MX hosts of domain.
func (r *Runner) deliverMX(ctx context.Context, e Entry, domain string, rcpts []Rcpt, body *fileBody) []outcome {
	return r.deliverHop(ctx, e, smtpclient.Hop{Host: domain}, rcpts, body)
}

// deliverHop delivers to an explicit next hop.
func (r *Runner) deliverHop(ctx context.Context, e Entry, hop smtpclient.Hop, rcpts []Rcpt, body *fileBody) []outcome {
	res, err := smtpclient.DeliverTo(ctx, r.clientOptions(), hop, clientMessage(e, rcpts, body))
	if err != nil {
		return allOutcomes(rcpts, outcome{status: StatusDeferred, code: 451, enhanced: "4.3.5", text: err.Error(), relay: "none"})
	}
	return fromResults(rcpts, res, hop.LMTP)
}

// deliverBackupMX delivers for a backup-MX domain: only to MX hosts more
// preferred than this one (RFC 5321 5.1), each in turn while recipients
// stay temporarily failed.
func (r *Runner) deliverBackupMX(ctx context.Context, e Entry, domain string, rcpts []Rcpt, body *fileBody) []outcome {
	mxs, err := r.o.Resolver.LookupMX(ctx, domain)
	if err != nil && !errors.Is(err, dnsx.ErrNotFound) && !errors.Is(err, dnsx.ErrNullMX) {
		return allOutcomes(rcpts, outcome{status: StatusDeferred, code: 451, enhanced: "4.4.3",
			text: dnsx.Explain(err), relay: "none"})
	}
	if err != nil {
		// No MX (or null MX): the client reports it.
		return r.deliverMX(ctx, e, domain, rcpts, body)
	}
	cfg := r.o.Config()
	self := -1
	for _, mx := range mxs {
		if isSelf(mx.Host, cfg.Hostname, cfg.Outbound.HeloName) && (self < 0 || int(mx.Pref) < self) {
			self = int(mx.Pref)
		}
	}
	var hosts []string
	for _, mx := range mxs {
		if self < 0 || int(mx.Pref) < self {
			hosts = append(hosts, mx.Host)
		}
	}
	if len(hosts) == 0 {
		return allOutcomes(rcpts, outcome{status: StatusDeferred, code: 451, enhanced: "4.4.6",
			text: "mail for " + domain + " loops back to myself", relay: "none"})
	}
	out := make([]outcome, len(rcpts))
	todo := make([]int, len(rcpts))
	for i := range todo {
		todo[i] = i
	}
	o := r.clientOptions()
	for _, h := range hosts {
		sub := make([]Rcpt, len(todo))
		for j, i := range todo {
			sub[j] = rcpts[i]
		}
		res, err := smtpclient.DeliverTo(ctx, o, smtpclient.Hop{Host: h, NoMX: true}, clientMessage(e, sub, body))
		var got []outcome
		if err != nil {
			got = allOutcomes(sub, outcome{status: StatusDeferred, code: 451, enhanced: "4.3.5", text: err.Error(), relay: "none"})
		} else {
			got = fromResults(sub, res, false)
		}
		var again []int
		for j, i := range todo {
			out[i] = got[j]
			if got[j].status == StatusDeferred {
				again = append(again, i)
			}
		}
		if todo = again; len(todo) == 0 || ctx.Err() != nil {
			break
		}
	}
	return out
}

func isSelf(host string, names ...string) bool {
	host = strings.TrimSuffix(host, ".")
	for _, n := range names {
		if n != "" && strings.EqualFold(host, strings.TrimSuffix(n, ".")) {
			return true
		}
	}
	return false
}

// needsUTF8 reports whether any envelope address is not ASCII.
func needsUTF8(from string, rcpts []Rcpt) bool {
	ascii := func(s string) bool {
		for i := 0; i < len(s); i++ {
			if s[i] >= 0x80 {
				return false
			}
		}
		return true
	}
	if !ascii(from) {
		return true
	}
	for _, rc := range rcpts {
		if !ascii(rc.Address) {
			return true
		}
	}
	return false
}
