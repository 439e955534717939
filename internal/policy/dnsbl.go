package policy

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"mailwarden/internal/directory"
	"mailwarden/internal/dnsx"
	"mailwarden/internal/table"
)

// The DNS list restrictions: what each looks up, and how Postfix names
// it in a reply ($rbl_class).
var dnsLists = map[string]struct {
	class  string
	permit bool
	// subject is what is listed ($rbl_what) and the name to look up
	// under the list's domain; ok is false when there is nothing to ask
	// (no client name, the null sender, an address literal...).
	subject func(r *Request, domain string) (what, query string, ok bool)
}{
	"reject_rbl_client":           {"Client host", false, clientAddrSubject},
	"permit_dnswl_client":         {"Client host", true, clientAddrSubject},
	"reject_rhsbl_client":         {"Client host", false, nameSubject(func(r *Request) string { return r.Env.ClientHost })},
	"permit_rhswl_client":         {"Client host", true, nameSubject(func(r *Request) string { return r.Env.ClientHost })},
	"reject_rhsbl_reverse_client": {"Unverified Client host", false, nameSubject(func(r *Request) string { return r.Env.Client.ReverseHost })},
	"reject_rhsbl_helo":           {"Helo command", false, nameSubject(func(r *Request) string { return r.Env.Helo })},
	"reject_rhsbl_sender":         {"Sender address", false, addrSubject(func(r *Request) string { return r.Sender })},
	"reject_rhsbl_recipient":      {"Recipient address", false, addrSubject(func(r *Request) string { return r.Recipient })},
}

func init() {
	for name := range dnsLists {
		factories[name] = func(b *builder, k Kind, args []string) (Check, error) {
			if len(args) != 1 {
				return nil, fmt.Errorf("%s wants one DNS list (domain or domain=d.d.d.d)", name)
			}
			return b.dnsList(name, args[0])
		}
	}
	// reject_maps_rbl: the obsolete form, reject_rbl_client for each of
	// maps_rbl_domains.
	factories["reject_maps_rbl"] = func(b *builder, k Kind, args []string) (Check, error) {
		if len(args) > 0 {
			return nil, errors.New("reject_maps_rbl takes no argument (it uses maps_rbl_domains)")
		}
		var l List
		for _, d := range b.cfg.Restrictions.MapsRBLDomains {
			c, err := b.dnsList("reject_rbl_client", d)
			if err != nil {
				return nil, fmt.Errorf("maps_rbl_domains: %w", err)
			}
			l = append(l, c)
		}
		return Func("reject_maps_rbl", func(ctx context.Context, r *Request) Verdict { return l.eval(ctx, r, &evalState{}, nil) }), nil
	}
}

func clientAddrSubject(r *Request, domain string) (string, string, bool) {
	if r.Env == nil || !r.Env.ClientIP.IsValid() {
		return "", "", false
	}
	ip := r.Env.ClientIP.Unmap()
	return ip.String(), dnsx.ReverseName(ip, domain), true
}

// nameSubject looks up a host name (the client's, the HELO name) under
// the list; "unknown", empty names and address literals are not asked.
func nameSubject(name func(r *Request) string) func(r *Request, domain string) (string, string, bool) {
	return func(r *Request, domain string) (string, string, bool) {
		if r.Env == nil {
			return "", "", false
		}
		n := strings.TrimSuffix(name(r), ".")
		if n == "" || n == "unknown" || strings.HasPrefix(n, "[") || !validHelo(n) {
			return "", "", false
		}
		if _, err := netip.ParseAddr(n); err == nil {
			return "", "", false
		}
		return n, n + "." + domain, true
	}
}

// addrSubject looks up an address's domain; the whole address is
// $rbl_what, as in Postfix.
func addrSubject(addr func(r *Request) string) func(r *Request, domain string) (string, string, bool) {
	return func(r *Request, domain string) (string, string, bool) {
		a := addr(r)
		d := strings.TrimSuffix(domainOf(a), ".")
		if a == "" || d == "" || strings.HasPrefix(d, "[") || !validHelo(d) {
			return "", "", false
		}
		return a, d + "." + domain, true
	}
}

// cache is the DNS answer cache the builder's checks share.
func (b *builder) cache() *DNSCache {
	if b.d.DNSCache == nil {
		b.d.DNSCache = NewDNSCache(0)
	}
	return b.d.DNSCache
}

// replyMaps opens rbl_reply_maps once per builder.
func (b *builder) replyMaps() ([]Table, error) {
	var ts []Table
	for _, spec := range b.cfg.Restrictions.RBLReplyMaps {
		t, err := b.openTable(spec)
		if err != nil {
			return nil, fmt.Errorf("rbl_reply_maps: %w", err)
		}
		ts = append(ts, t)
	}
	return ts, nil
}

func (b *builder) openTable(spec string) (Table, error) {
	if b.d.OpenTable != nil {
		return b.d.OpenTable(spec)
	}
	// A table file edited into something that no longer parses is
	// reported in the mail log (the table keeps its last good content).
	d := b.d
	return table.Open(spec, table.Options{Logf: func(format string, a ...any) { d.warn(fmt.Sprintf(format, a...)) }})
}

func (b *builder) dnsList(name, arg string) (Check, error) {
	spec, err := parseDNSList(arg, false)
	if err != nil {
		return nil, err
	}
	maps, err := b.replyMaps()
	if err != nil {
		return nil, err
	}
	l := dnsLists[name]
	return &dnsListCheck{name: name, spec: spec, class: l.class, permit: l.permit, subject: l.subject,
		d: b.d, cache: b.cache(), knobs: b.rblKnobs(), maps: maps}, nil
}

type rblKnobs struct {
	code       int
	defaultTpl string
}

func (b *builder) rblKnobs() rblKnobs {
	k := b.cfg.Restrictions.DNSKnobs
	return rblKnobs{code: k.MapsRBLRejectCode, defaultTpl: k.DefaultRBLReply}
}

// dnsListCheck is one DNS list restriction (RFC 5782): the client's
// reversed address, or a name, looked up under the list's domain; an A
// record that passes the filter lists it.
type dnsListCheck struct {
	name    string
	spec    dnsListSpec
	class   string
	permit  bool
	subject func(r *Request, domain string) (what, query string, ok bool)
	d       Deps
	cache   *DNSCache
	knobs   rblKnobs
	maps    []Table
}

func (c *dnsListCheck) Name() string { return c.name }

func (c *dnsListCheck) Check(ctx context.Context, r *Request) Verdict {
	what, query, ok := c.subject(r, c.spec.Domain)
	if !ok {
		return Verdict{}
	}
	listed, err := c.listed(ctx, query)
	if err != nil {
		// Postfix: a reject_* list that cannot be asked is skipped with
		// a warning (no mail is refused for the list's trouble); an allow
		// list that cannot be asked gives DEFER_IF_REJECT.
		if c.permit {
			c.d.warn(query + ": RBL lookup error: " + err.Error() + " (" + c.name + " " + c.spec.Spec + ": defer_if_reject)")
			return Verdict{Action: DeferIfReject}
		}
		c.d.warn(query + ": RBL lookup error: " + err.Error() + " (" + c.name + " " + c.spec.Spec + " skipped)")
		return Verdict{}
	}
	if !listed {
		return Verdict{}
	}
	if c.permit {
		// Postfix: an allow list never overrides reject_unauth_destination.
		if r.Stage == Rcpt && r.Resolution != nil && r.Resolution.Class == directory.Foreign {
			c.d.info("ignoring " + c.name + " " + c.spec.Spec + " for the relay recipient <" + r.Recipient + ">")
			return Verdict{}
		}
		return Verdict{Action: Permit}
	}
	return c.reply(ctx, r, what, query)
}

// listed asks for the A records of query and applies the filter.
func (c *dnsListCheck) listed(ctx context.Context, query string) (bool, error) {
	if c.d.DNS == nil {
		return false, errors.New("no DNS resolver")
	}
	addrs, found, err := c.cache.lookupA(ctx, c.d.DNS, query)
	if err != nil || !found {
		return false, err
	}
	for _, a := range addrs {
		if c.spec.Filter.match(a) {
			return true, nil
		}
	}
	return false, nil
}

// maxReason bounds the TXT text put in a reply.
const maxReason = 400

// reply is Postfix's rbl reply: the template of rbl_reply_maps for this
// list, or default_rbl_reply, expanded.
func (c *dnsListCheck) reply(ctx context.Context, r *Request, what, query string) Verdict {
	reason := ""
	if txts, err := c.cache.lookupTXT(ctx, c.d.DNS, query); err == nil && len(txts) > 0 {
		reason = printable(strings.Join(txts, "; "))
		if len(reason) > maxReason {
			reason = reason[:maxReason]
		}
	}
	tpl := c.knobs.defaultTpl
	for _, t := range c.maps {
		v, found, err := t.Lookup(ctx, c.spec.Spec)
		if err != nil {
			c.d.warn("rbl_reply_maps: lookup " + c.spec.Spec + ": " + err.Error())
			return reject(451, "4.3.0", "Temporary lookup failure")
		}
		if found && strings.TrimSpace(v) != "" {
			tpl = v
			break
		}
	}
	vars := rblVars(r, c.class, strconv.Itoa(c.knobs.code), c.spec.Domain, reason, what)
	code, enh, text, err := expandReply(tpl, vars)
	if err != nil {
		c.d.warn(c.name + " " + c.spec.Spec + ": bad reply template: " + err.Error() + "; using default_rbl_reply")
		if code, enh, text, err = expandReply(c.knobs.defaultTpl, vars); err != nil {
			code, enh, text, _ = expandReply(defaultRBLReply, vars)
		}
	}
	return reject(code, enh, text)
}

// defaultRBLReply is Postfix's default_rbl_reply, the last resort.
const defaultRBLReply = "$rbl_code Service unavailable; $rbl_class [$rbl_what] blocked using $rbl_domain${rbl_reason?; $rbl_reason}"

func expandReply(tpl string, vars func(string) string) (int, string, string, error) {
	s, err := expandTemplate(tpl, vars)
	if err != nil {
		return 0, "", "", err
	}
	return parseReply(s)
}

// rblVars are the names a reply template may use (postconf(5)
// default_rbl_reply).
func rblVars(r *Request, class, code, domain, reason, what string) func(string) string {
	return func(name string) string {
		switch name {
		case "rbl_class":
			return class
		case "rbl_code":
			return code
		case "rbl_domain":
			return domain
		case "rbl_reason", "rbl_txt":
			return reason
		case "rbl_what":
			return what
		}
		return requestVar(r, name)
	}
}

// requestVar is a client or envelope fact by its Postfix attribute name.
func requestVar(r *Request, name string) string {
	addr := func(a string, seen bool) (full, local, domain string) {
		if a == "" {
			if seen {
				return "<>", "<>", ""
			}
			return "", "", ""
		}
		if i := strings.LastIndexByte(a, '@'); i >= 0 {
			return a, a[:i], a[i+1:]
		}
		return a, a, ""
	}
	switch name {
	case "client", "client_address", "client_name", "reverse_client_name", "helo_name":
		if r.Env == nil {
			return ""
		}
		host := r.Env.ClientHost
		if host == "" {
			host = "unknown"
		}
		switch name {
		case "client":
			return host + "[" + r.Env.ClientIP.String() + "]"
		case "client_address":
			return r.Env.ClientIP.String()
		case "client_name":
			return host
		case "reverse_client_name":
			if r.Env.Client.ReverseHost == "" {
				return "unknown"
			}
			return r.Env.Client.ReverseHost
		}
		return r.Env.Helo
	case "sender", "sender_name", "sender_domain":
		full, local, domain := addr(r.Sender, r.Stage >= Mail)
		return map[string]string{"sender": full, "sender_name": local, "sender_domain": domain}[name]
	case "recipient", "recipient_name", "recipient_domain":
		full, local, domain := addr(r.Recipient, r.Stage == Rcpt)
		return map[string]string{"recipient": full, "recipient_name": local, "recipient_domain": domain}[name]
	}
	return ""
}

// printable replaces control characters and non-ASCII bytes with "?",
// as Postfix does with text from DNS before it goes into a reply.
func printable(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c < 0x20 || c >= 0x7f {
			b[i] = '?'
		}
	}
	return string(b)
}
