package policy

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"mailwarden/internal/config"
	"mailwarden/internal/directory"
	"mailwarden/internal/table"
)

// Kind is which restriction list a check stands in; Postfix words its
// replies by it ("Client host rejected", "Recipient address rejected").
type Kind int

// The lists, by their [restrictions] key.
const (
	KindClient Kind = iota
	KindHelo
	KindSender
	KindRelay
	KindRecipient
	KindData
	KindEndOfData
)

var kindKeys = [...]string{"client", "helo", "sender", "relay", "recipient", "data", "end_of_data"}

// subject is what Postfix names in a generic reply: "<what>: Thing
// rejected: text".
func (k Kind) subject(r *Request) (what, thing string) {
	switch k {
	case KindClient:
		host, ip := "unknown", ""
		if r.Env != nil {
			if r.Env.ClientHost != "" {
				host = r.Env.ClientHost
			}
			ip = r.Env.ClientIP.String()
		}
		return host + "[" + ip + "]", "Client host rejected"
	case KindHelo:
		h := ""
		if r.Env != nil {
			h = r.Env.Helo
		}
		return h, "Helo command rejected"
	case KindSender:
		return r.Sender, "Sender address rejected"
	case KindData:
		return "DATA", "Data command rejected"
	case KindEndOfData:
		return "END-OF-MESSAGE", "End-of-data rejected"
	}
	return r.Recipient, "Recipient address rejected"
}

// generic is Postfix's reply for a restriction without its own words.
func (k Kind) generic(code int, enh, text string) Check {
	return Func("", func(_ context.Context, r *Request) Verdict {
		what, thing := k.subject(r)
		return reject(code, enh, "<"+what+">: "+thing+": "+text)
	})
}

// Build returns the restriction lists of a service: for "smtp", the
// [restrictions] lists the config sets, Defaults for the rest; other
// services get Defaults. An unknown or unsupported restriction is an
// error naming the key and the entry.
func Build(service string, cfg *config.Config, d Deps) (*Lists, error) {
	ls := Defaults(service, cfg, d)
	if service != "smtp" {
		return ls, nil
	}
	rs := cfg.Restrictions
	ls.DelayReject = rs.DelayReject
	ls.SoftBounce = rs.SoftBounce
	b := builder{cfg: cfg, d: d, classes: rs.Classes}
	for k, entries := range [...][]string{rs.Client, rs.Helo, rs.Sender, rs.Relay, rs.Recipient, rs.Data, rs.EndOfData} {
		key := kindKeys[k]
		if !rs.Set[key] {
			continue
		}
		l, err := b.list(Kind(k), entries, 0)
		if err != nil {
			be := &BuildError{Key: "restrictions." + key, Err: err}
			var ee *entryError
			if errors.As(err, &ee) {
				be.Entry, be.Err = ee.entry, ee.err
			}
			return nil, be
		}
		*ls.byKind(Kind(k)) = l
	}
	if rs.HeloRequired {
		ls.HeloRequired = true
	}
	ps, err := newPostscreen(cfg.Postscreen, b.d, b.cache())
	if err != nil {
		return nil, &BuildError{Key: "postscreen.dnsbl_sites", Err: err}
	}
	ls.Postscreen = ps
	return ls, nil
}

// BuildList builds one restriction list of kind k from entries in the
// [restrictions] syntax, outside the service's lists: for a component
// that runs restrictions of its own (greylisting's DNSWL bypass). nil cfg
// means the built-in defaults.
func BuildList(k Kind, entries []string, cfg *config.Config, d Deps) (List, error) {
	if cfg == nil {
		cfg = config.Default()
	}
	b := builder{cfg: cfg, d: d, classes: cfg.Restrictions.Classes}
	return b.list(k, entries, 0)
}

// byKind is the list a Kind names.
func (ls *Lists) byKind(k Kind) *List {
	return [...]*List{&ls.Client, &ls.Helo, &ls.Sender, &ls.Relay, &ls.Recipient, &ls.Data, &ls.EndOfData}[k]
}

type builder struct {
	cfg     *config.Config
	d       Deps
	classes map[string][]string
	kind    Kind // the list being built, for restrictions named by a table
	depth   int
}

// maxClassDepth bounds restriction classes naming each other.
const maxClassDepth = 8

// BuildError is a restriction list the server cannot build: Key is the
// config key ("restrictions.recipient"), Entry the string at fault.
type BuildError struct {
	Key, Entry string
	Err        error
}

func (e *BuildError) Error() string {
	return e.Key + ": " + strconv.Quote(e.Entry) + ": " + e.Err.Error()
}
func (e *BuildError) Unwrap() error { return e.Err }

type entryError struct {
	entry string
	err   error
}

func (e *entryError) Error() string { return strconv.Quote(e.entry) + ": " + e.err.Error() }
func (e *entryError) Unwrap() error { return e.err }

func (b *builder) list(k Kind, entries []string, depth int) (List, error) {
	var l List
	for _, e := range entries {
		c, err := b.one(k, e, depth)
		if err != nil {
			var ee *entryError
			if errors.As(err, &ee) {
				return nil, err // the innermost entry is the one to name
			}
			return nil, &entryError{entry: e, err: err}
		}
		l = append(l, c)
	}
	return l, nil
}

var errNotYet = errors.New("not supported yet (see docs/migrate-postfix.md)")

// one builds the check for one entry: a restriction name with its
// arguments, or a restriction class.
func (b *builder) one(k Kind, entry string, depth int) (Check, error) {
	f := strings.Fields(entry)
	if len(f) == 0 {
		return nil, errors.New("empty restriction")
	}
	name, args := strings.ToLower(f[0]), f[1:]
	noArgs := func(c Check) (Check, error) {
		if len(args) > 0 {
			return nil, fmt.Errorf("%s takes no argument", name)
		}
		return named(name, c), nil
	}
	if cl, ok := b.classes[f[0]]; ok {
		if depth >= maxClassDepth {
			return nil, errors.New("restriction classes nest too deep")
		}
		l, err := b.list(k, cl, depth+1)
		if err != nil {
			return nil, fmt.Errorf("class %s: %w", f[0], err)
		}
		return classCheck{name: f[0], l: l}, nil
	}
	if c, err, ok := b.access(k, name, args); ok {
		return c, err
	}
	if f, ok := b.d.Restrictions[name]; ok {
		c, err := f(k, args)
		if err != nil {
			return nil, err
		}
		return named(name, c), nil
	}
	if f, ok := factories[name]; ok {
		c, err := f(b, k, args)
		if err != nil {
			return nil, err
		}
		return named(name, c), nil
	}
	switch name {
	case "permit", "ok":
		return noArgs(Func(name, func(context.Context, *Request) Verdict { return Verdict{Action: Permit} }))
	case "reject":
		return noArgs(k.generic(554, "5.7.1", "Access denied"))
	case "defer":
		return noArgs(k.generic(450, "4.7.1", "Access denied"))
	case "dunno":
		return noArgs(Func(name, func(context.Context, *Request) Verdict { return Verdict{} }))
	case "defer_if_permit":
		return noArgs(Func(name, func(_ context.Context, r *Request) Verdict {
			what, thing := k.subject(r)
			return Verdict{Action: DeferIfPermit, Code: 450, Enhanced: "4.7.1", Text: "<" + what + ">: " + thing + ": Service unavailable"}
		}))
	case "defer_if_reject", "warn_if_reject":
		a := map[string]Action{"defer_if_reject": DeferIfReject, "warn_if_reject": WarnIfReject}[name]
		return noArgs(Func(name, func(context.Context, *Request) Verdict { return Verdict{Action: a} }))
	case "sleep":
		if len(args) != 1 {
			return nil, errors.New("sleep wants a number of seconds")
		}
		n, err := strconv.Atoi(args[0])
		if err != nil || n < 0 || n > 3600 {
			return nil, fmt.Errorf("sleep %q: want seconds from 0 to 3600", args[0])
		}
		return Func(name, func(ctx context.Context, _ *Request) Verdict {
			t := time.NewTimer(time.Duration(n) * time.Second)
			defer t.Stop()
			select {
			case <-t.C:
			case <-ctx.Done():
			}
			return Verdict{}
		}), nil
	case "permit_mynetworks":
		return noArgs(PermitMyNetworks)
	case "permit_sasl_authenticated":
		return noArgs(PermitSASLAuthenticated)
	case "reject_unauth_destination":
		return noArgs(RejectUnauthDestination)
	case "defer_unauth_destination":
		return noArgs(Func(name, func(ctx context.Context, r *Request) Verdict {
			if v := RejectUnauthDestination.Check(ctx, r); v.Action == Reject {
				return reject(450, "4.7.1", v.Text)
			}
			return Verdict{}
		}))
	case "permit_auth_destination":
		return noArgs(Func(name, func(_ context.Context, r *Request) Verdict {
			if r.Resolution != nil && r.Resolution.Class != directory.Foreign {
				return Verdict{Action: Permit}
			}
			return Verdict{}
		}))
	case "reject_unlisted_recipient", "check_recipient_maps":
		return noArgs(RejectUnlistedRecipient)
	case "reject_unlisted_sender":
		return noArgs(rejectUnlistedSender(b.d))
	case "reject_over_quota":
		return noArgs(RejectOverQuota(b.d, b.cfg.Delivery.OverQuotaTempfail))
	case "reject_non_fqdn_sender":
		return noArgs(nonFQDN(KindSender, func(r *Request) string { return r.Sender }, "need fully-qualified address"))
	case "reject_non_fqdn_recipient":
		return noArgs(nonFQDN(KindRecipient, func(r *Request) string { return r.Recipient }, "need fully-qualified address"))
	case "reject_non_fqdn_helo_hostname", "reject_non_fqdn_hostname":
		return noArgs(nonFQDNHelo())
	case "reject_invalid_helo_hostname", "reject_invalid_hostname":
		return noArgs(invalidHelo())
	case "reject_unknown_client_hostname", "reject_unknown_client":
		// Postfix unknown_client_reject_code (450): no PTR, or a PTR name
		// that does not resolve back to the address.
		// A temporary DNS failure is always 450.
		code := b.cfg.Restrictions.UnknownClientRejectCode
		return noArgs(Func(name, func(_ context.Context, r *Request) Verdict {
			if r.Env == nil || r.Env.Client.HostConfirmed {
				return Verdict{}
			}
			c := code
			if r.DNSTempFail {
				c = 450
			}
			return reject(c, withClass(c, "4.7.25"), "Client host rejected: cannot find your hostname, ["+r.Env.ClientIP.String()+"]")
		}))
	case "reject_unknown_reverse_client_hostname":
		return noArgs(Func(name, func(_ context.Context, r *Request) Verdict {
			if r.Env == nil || r.Env.Client.ReverseHost != "" {
				return Verdict{}
			}
			return reject(450, "4.7.25", "Client host rejected: cannot find your reverse hostname, ["+r.Env.ClientIP.String()+"]")
		}))
	case "reject_unauth_pipelining":
		return noArgs(Func(name, func(_ context.Context, r *Request) Verdict {
			if r.Pipelined {
				return reject(554, "5.5.0", "Error: improper use of SMTP command pipelining")
			}
			return Verdict{}
		}))
	case "reject_multi_recipient_bounce":
		return noArgs(Func(name, func(_ context.Context, r *Request) Verdict {
			n := 0
			if r.Env != nil {
				n = len(r.Env.Recipients)
			}
			if r.Stage == Rcpt {
				n++ // the one being checked
			}
			if r.Sender == "" && r.Env != nil && n > 1 {
				what, thing := k.subject(r)
				return reject(550, "5.5.3", "<"+what+">: "+thing+": Multi-recipient bounce")
			}
			return Verdict{}
		}))
	case "reject_plaintext_session":
		return noArgs(Func(name, func(_ context.Context, r *Request) Verdict {
			if r.Env != nil && r.Env.TLS == "" {
				return reject(450, "4.7.1", "Session encryption is required")
			}
			return Verdict{}
		}))
	case "reject_authenticated_sender_login_mismatch":
		return noArgs(RejectAuthenticatedSenderLoginMismatch(b.d))
	case "reject_sender_login_mismatch", "reject_unauthenticated_sender_login_mismatch", "reject_known_sender_login_mismatch":
		return noArgs(senderLoginMismatch(b.d, name))
	}
	if known[name] && factories[name] == nil {
		return nil, fmt.Errorf("%s: %w", name, errNotYet)
	}
	return nil, fmt.Errorf("unknown restriction %q", f[0])
}

// known are Postfix restrictions Mailwarden will support but does not
// yet: a config naming them gets "not supported yet", not "unknown".
var known = map[string]bool{}

// named gives a check the name it was configured with.
func named(name string, c Check) Check {
	if c.Name() == name {
		return c
	}
	return Func(name, c.Check)
}

// classCheck is a restriction class: its list's final verdict is the
// class's (Postfix smtpd_restriction_classes).
type classCheck struct {
	name string
	l    List
}

func (c classCheck) Name() string { return c.name }
func (c classCheck) Check(ctx context.Context, r *Request) Verdict {
	return c.l.Eval(ctx, r, nil)
}

func domainOf(addr string) string {
	if i := strings.LastIndexByte(addr, '@'); i >= 0 {
		return addr[i+1:]
	}
	return ""
}

func nonFQDN(k Kind, addr func(*Request) string, text string) Check {
	return Func("", func(_ context.Context, r *Request) Verdict {
		a := addr(r)
		if a == "" {
			return Verdict{}
		}
		if d := domainOf(a); d == "" || !strings.Contains(strings.Trim(d, "."), ".") && !strings.HasPrefix(d, "[") {
			what, thing := k.subject(r)
			return reject(504, "5.5.2", "<"+what+">: "+thing+": "+text)
		}
		return Verdict{}
	})
}

func nonFQDNHelo() Check {
	return Func("", func(_ context.Context, r *Request) Verdict {
		if r.Env == nil || r.Env.Helo == "" {
			return Verdict{}
		}
		h := r.Env.Helo
		if strings.HasPrefix(h, "[") || strings.Contains(strings.Trim(h, "."), ".") {
			return Verdict{}
		}
		return reject(504, "5.5.2", "<"+h+">: Helo command rejected: need fully-qualified hostname")
	})
}

// invalidHelo is reject_invalid_helo_hostname: bad syntax for a host name
// or an address literal.
func invalidHelo() Check {
	return Func("", func(_ context.Context, r *Request) Verdict {
		if r.Env == nil || r.Env.Helo == "" {
			return Verdict{}
		}
		h := r.Env.Helo
		if validHelo(h) {
			return Verdict{}
		}
		return reject(501, "5.5.2", "<"+h+">: Helo command rejected: Invalid name")
	})
}

func validHelo(h string) bool {
	if strings.HasPrefix(h, "[") && strings.HasSuffix(h, "]") {
		return len(h) > 2
	}
	h = strings.TrimSuffix(h, ".")
	if h == "" || len(h) > 255 {
		return false
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

// rejectUnlistedSender is reject_unlisted_sender: a sender address in one
// of our domains that reaches no mailbox or alias.
func rejectUnlistedSender(d Deps) Check {
	return Func("", func(ctx context.Context, r *Request) Verdict {
		if r.Sender == "" || d.Resolve == nil {
			return Verdict{}
		}
		res, err := d.Resolve(ctx, r.Sender)
		switch {
		case errors.Is(err, directory.ErrUnknownUser):
			return reject(550, "5.1.0", "<"+r.Sender+">: Sender address rejected: User unknown in virtual mailbox table")
		case errors.Is(err, directory.ErrBadAddress):
			return reject(501, "5.1.7", "<"+r.Sender+">: Bad sender address syntax")
		case err != nil:
			d.warn("sender lookup <" + r.Sender + ">: " + err.Error())
			return reject(451, "4.3.0", "<"+r.Sender+">: Temporary lookup failure")
		}
		if res.Class != directory.Foreign && len(res.Destinations) == 0 {
			return reject(550, "5.1.0", "<"+r.Sender+">: Sender address rejected: User unknown in virtual mailbox table")
		}
		return Verdict{}
	})
}

// senderLoginMismatch is reject_sender_login_mismatch and its variants:
// the owner of a sender address in our domains is the mailbox it reaches;
// an unauthenticated client may not use an owned address (except in
// reject_authenticated_...), an authenticated one only its own.
func senderLoginMismatch(d Deps, name string) Check {
	authed := RejectAuthenticatedSenderLoginMismatch(d)
	return Func(name, func(ctx context.Context, r *Request) Verdict {
		if r.Env != nil && r.Env.AuthUser != "" {
			if name == "reject_unauthenticated_sender_login_mismatch" {
				return Verdict{}
			}
			return authed.Check(ctx, r)
		}
		if r.Sender == "" || d.Resolve == nil {
			return Verdict{}
		}
		res, err := d.Resolve(ctx, r.Sender)
		if err != nil {
			return Verdict{}
		}
		for _, dst := range res.Destinations {
			if dst.Kind == directory.Local && res.Class != directory.Foreign {
				return reject(553, "5.7.1", "<"+r.Sender+">: Sender address rejected: not logged in")
			}
		}
		return Verdict{}
	})
}

// access builds check_client_access, check_reverse_client_hostname_access,
// check_helo_access, check_sender_access and check_recipient_access: the
// table is opened now (a missing file is a config error), looked up with
// access(5)'s key order, and its value is an access(5) action.
func (b *builder) access(k Kind, name string, args []string) (Check, error, bool) {
	type keyFunc func(r *Request) (keys []string, what, thing string)
	// Postfix's default parent_domain_matches_subdomains lists
	// smtpd_access_maps: "example.com" matches its subdomains too.
	const parentMatches = true
	var keys keyFunc
	switch name {
	case "check_client_access":
		keys = func(r *Request) ([]string, string, string) {
			what, thing := KindClient.subject(r)
			if r.Env == nil {
				return nil, what, thing
			}
			// The name first, "unknown" included: Postfix looks it up
			// too, and taRgrey's permit_client_nots25r table relies on
			// /^unknown$/.
			h := r.Env.ClientHost
			if h == "" {
				h = "unknown"
			}
			return append(table.HostKeys(h, parentMatches), table.IPKeys(r.Env.ClientIP)...), what, thing
		}
	case "check_reverse_client_hostname_access":
		keys = func(r *Request) ([]string, string, string) {
			what, thing := KindClient.subject(r)
			if r.Env == nil || r.Env.Client.ReverseHost == "" {
				return []string{"unknown"}, what, thing
			}
			return table.HostKeys(r.Env.Client.ReverseHost, parentMatches), what, thing
		}
	case "check_helo_access":
		keys = func(r *Request) ([]string, string, string) {
			what, thing := KindHelo.subject(r)
			if r.Env == nil || r.Env.Helo == "" {
				return nil, what, thing
			}
			return table.HostKeys(r.Env.Helo, parentMatches), what, thing
		}
	case "check_sender_access":
		keys = func(r *Request) ([]string, string, string) {
			what, thing := KindSender.subject(r)
			return table.AddressKeysDelim(r.Sender, parentMatches, b.cfg.RecipientDelimiter), what, thing
		}
	case "check_recipient_access":
		keys = func(r *Request) ([]string, string, string) {
			what, thing := KindRecipient.subject(r)
			if r.Recipient == "" {
				return nil, what, thing
			}
			return table.AddressKeysDelim(r.Recipient, parentMatches, b.cfg.RecipientDelimiter), what, thing
		}
	default:
		return nil, nil, false
	}
	if len(args) != 1 {
		return nil, fmt.Errorf("%s wants one table (type:name)", name), true
	}
	t, err := b.openTable(args[0])
	if err != nil {
		return nil, err, true
	}
	return &accessCheck{name: name, t: t, keys: keys, restriction: b.restrictionByName(k), d: b.d}, nil, true
}

// restrictionByName returns the function that turns an access(5) value
// naming a restriction or class (a table's value, a policy service's
// action) into its check for a list of kind k: built once per value, on
// first use.
func (b *builder) restrictionByName(k Kind) func(value string) (Check, bool) {
	var mu sync.Mutex
	built := map[string]Check{}
	return func(value string) (Check, bool) {
		mu.Lock()
		defer mu.Unlock()
		if c, ok := built[value]; ok {
			return c, c != nil
		}
		var c Check
		if b.depth < maxClassDepth {
			if cc, err := b.one(k, value, b.depth+1); err == nil {
				c = cc
			}
		}
		if len(built) < 1000 {
			built[value] = c
		}
		return c, c != nil
	}
}
