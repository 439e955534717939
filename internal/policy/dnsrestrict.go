package policy

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"mailwarden/internal/directory"
	"mailwarden/internal/dnsx"
	"mailwarden/internal/table"
)

func init() {
	factories["reject_unknown_helo_hostname"] = func(b *builder, k Kind, args []string) (Check, error) {
		if len(args) > 0 {
			return nil, errors.New("reject_unknown_helo_hostname takes no argument")
		}
		return b.unknownHelo(), nil
	}
	factories["reject_unknown_hostname"] = factories["reject_unknown_helo_hostname"]
	factories["reject_unknown_sender_domain"] = func(b *builder, k Kind, args []string) (Check, error) {
		if len(args) > 0 {
			return nil, errors.New("reject_unknown_sender_domain takes no argument")
		}
		return b.unknownDomain(false), nil
	}
	factories["reject_unknown_recipient_domain"] = func(b *builder, k Kind, args []string) (Check, error) {
		if len(args) > 0 {
			return nil, errors.New("reject_unknown_recipient_domain takes no argument")
		}
		return b.unknownDomain(true), nil
	}
	for _, name := range []string{"check_sender_mx_access", "check_sender_ns_access", "check_recipient_mx_access",
		"check_recipient_ns_access", "check_helo_mx_access", "check_helo_ns_access", "check_client_mx_access", "check_client_ns_access"} {
		factories[name] = func(b *builder, k Kind, args []string) (Check, error) {
			if len(args) != 1 {
				return nil, fmt.Errorf("%s wants one table (type:name)", name)
			}
			t, err := b.openTable(args[0])
			if err != nil {
				return nil, err
			}
			return &serverAccess{name: name, t: t, ns: strings.HasSuffix(name, "_ns_access"), d: b.d}, nil
		}
	}
}

// dnsTempfail is what a temporary DNS failure of a reject_unknown_*
// restriction gives: defer_if_permit (Postfix's reject_tempfail_action
// default: the stage goes on and defers only if it would accept) or an
// immediate defer.
func dnsTempfail(action string, v Verdict) Verdict {
	if action == "defer_if_permit" {
		v.Action = DeferIfPermit
	}
	return v
}

// withClass makes an enhanced status code's class match the reply code's
// (X.1.8 with 450 is 4.1.8).
func withClass(code int, enh string) string {
	return fmt.Sprint(code/100) + enh[1:]
}

// unknownHelo is reject_unknown_helo_hostname: a HELO name with no A,
// AAAA or MX record (postconf(5)); unknown_hostname_reject_code, 450 on
// a temporary DNS failure (unknown_helo_hostname_tempfail_action).
func (b *builder) unknownHelo() Check {
	kn := b.cfg.Restrictions.DNSKnobs
	d := b.d
	return Func("reject_unknown_helo_hostname", func(ctx context.Context, r *Request) Verdict {
		if r.Env == nil || r.Env.Helo == "" || strings.HasPrefix(r.Env.Helo, "[") {
			return Verdict{}
		}
		h := strings.TrimSuffix(r.Env.Helo, ".")
		if _, err := netip.ParseAddr(h); err == nil {
			return Verdict{}
		}
		err := hostExists(ctx, d.DNS, h, true)
		switch {
		case err == nil:
			return Verdict{}
		case errors.Is(err, dnsx.ErrNotFound) || errors.Is(err, dnsx.ErrNullMX):
			code := kn.UnknownHostnameRejectCode
			return reject(code, withClass(code, "5.7.1"), "<"+r.Env.Helo+">: Helo command rejected: Host not found")
		}
		d.warn("reject_unknown_helo_hostname: " + err.Error())
		return dnsTempfail(kn.UnknownHeloHostnameTempfailAction,
			reject(450, "4.7.1", "<"+r.Env.Helo+">: Helo command rejected: Host not found"))
	})
}

// hostExists reports nil when name has an A or AAAA record, or (mxToo)
// an MX record; ErrNullMX for a domain with only a null MX and no
// address; ErrNotFound or ErrTemporary otherwise.
func hostExists(ctx context.Context, r DNS, name string, mxToo bool) error {
	if r == nil {
		return fmt.Errorf("no DNS resolver: %w", dnsx.ErrTemporary)
	}
	_, errIP := r.LookupIP(ctx, name)
	if errIP == nil || !mxToo {
		return errIP
	}
	_, errMX := r.LookupMX(ctx, name)
	if errMX == nil {
		return nil
	}
	if errors.Is(errIP, dnsx.ErrTemporary) {
		return errIP
	}
	return errMX
}

// unknownDomain is reject_unknown_sender_domain and
// reject_unknown_recipient_domain: a domain that is not ours and has no
// MX and no A/AAAA record (450, unknown_address_reject_code), or a null
// MX (RFC 7505; Postfix 3.0: 550 5.7.27 for a sender, 556 5.1.10 for a
// recipient).
func (b *builder) unknownDomain(recipient bool) Check {
	kn := b.cfg.Restrictions.DNSKnobs
	d := b.d
	name, thing, enh := "reject_unknown_sender_domain", "Sender address rejected", "5.1.8"
	if recipient {
		name, thing, enh = "reject_unknown_recipient_domain", "Recipient address rejected", "5.1.2"
	}
	return Func(name, func(ctx context.Context, r *Request) Verdict {
		addr := r.Sender
		if recipient {
			addr = r.Recipient
		}
		dom := strings.TrimSuffix(domainOf(addr), ".")
		if addr == "" || dom == "" || strings.HasPrefix(dom, "[") {
			return Verdict{}
		}
		if ours, err := isOurs(ctx, d, r, addr, recipient); err != nil {
			d.warn(name + ": " + err.Error())
			return reject(451, "4.3.0", "<"+addr+">: Temporary lookup failure")
		} else if ours {
			return Verdict{}
		}
		if d.DNS == nil {
			d.warn(name + ": no DNS resolver")
			return dnsTempfail(kn.UnknownAddressTempfailAction, reject(450, withClass(450, enh), "<"+addr+">: "+thing+": Domain not found"))
		}
		_, err := d.DNS.LookupMX(ctx, dom)
		if errors.Is(err, dnsx.ErrNotFound) {
			err = hostExists(ctx, d.DNS, dom, false)
		}
		switch {
		case err == nil:
			return Verdict{}
		case errors.Is(err, dnsx.ErrNullMX):
			if recipient {
				return reject(556, "5.1.10", "<"+addr+">: "+thing+": Domain "+dom+" does not accept mail (nullMX)")
			}
			return reject(550, "5.7.27", "<"+addr+">: "+thing+": Domain "+dom+" does not accept mail (nullMX)")
		case errors.Is(err, dnsx.ErrNotFound):
			code := kn.UnknownAddressRejectCode
			return reject(code, withClass(code, enh), "<"+addr+">: "+thing+": Domain not found")
		}
		d.warn(name + ": " + err.Error())
		return dnsTempfail(kn.UnknownAddressTempfailAction, reject(450, withClass(450, enh), "<"+addr+">: "+thing+": Domain not found"))
	})
}

// isOurs reports whether the address's domain is one we are the final
// destination or relay for (Postfix checks only other domains).
func isOurs(ctx context.Context, d Deps, r *Request, addr string, recipient bool) (bool, error) {
	if recipient && r.Resolution != nil {
		return r.Resolution.Class != directory.Foreign, nil
	}
	if d.Resolve == nil {
		return false, nil
	}
	res, err := d.Resolve(ctx, addr)
	switch {
	case errors.Is(err, directory.ErrUnknownUser):
		return true, nil // an unknown user in one of our domains
	case errors.Is(err, directory.ErrBadAddress):
		return false, nil
	case err != nil:
		return false, err
	}
	return res.Class != directory.Foreign, nil
}

// serverAccess is check_{sender,recipient,helo,client}_{mx,ns}_access:
// the MX hosts (or, without MX, the domain itself; postconf(5)) or the
// name servers (of the domain or, without NS, its nearest parent) of
// the domain, each looked up in the table by host name and then by its
// addresses; the first action found decides. OK is not allowed (Postfix
// warns and goes on). A DNS failure is logged and passes, as in Postfix.
type serverAccess struct {
	name string
	t    Table
	ns   bool
	d    Deps
}

// maxServers bounds the hosts one check looks at.
const maxServers = 10

func (s *serverAccess) Name() string { return s.name }

func (s *serverAccess) subject(r *Request) (domain, what, thing string) {
	switch {
	case strings.HasPrefix(s.name, "check_sender_"):
		return domainOf(r.Sender), r.Sender, "Sender address rejected"
	case strings.HasPrefix(s.name, "check_recipient_"):
		return domainOf(r.Recipient), r.Recipient, "Recipient address rejected"
	case strings.HasPrefix(s.name, "check_helo_"):
		if r.Env == nil {
			return "", "", ""
		}
		return r.Env.Helo, r.Env.Helo, "Helo command rejected"
	}
	if r.Env == nil || r.Env.ClientHost == "unknown" {
		return "", "", ""
	}
	w, t := KindClient.subject(r)
	return r.Env.ClientHost, w, t
}

func (s *serverAccess) Check(ctx context.Context, r *Request) Verdict {
	domain, what, thing := s.subject(r)
	domain = strings.ToLower(strings.TrimSuffix(domain, "."))
	if domain == "" || strings.HasPrefix(domain, "[") || !validHelo(domain) {
		return Verdict{}
	}
	if s.d.DNS == nil {
		s.d.warn(s.name + ": no DNS resolver")
		return Verdict{}
	}
	// Postfix: a domain whose servers cannot be found (for now or for
	// good) is logged and passes; the other restrictions decide.
	hosts, err := s.servers(ctx, domain)
	if err != nil {
		kind := "MX"
		if s.ns {
			kind = "NS"
		}
		if !errors.Is(err, dnsx.ErrNullMX) {
			s.d.warn("Unable to look up " + kind + " host for " + domain + ": " + err.Error())
		}
		return Verdict{}
	}
	for _, h := range hosts {
		keys := table.HostKeys(h, true)
		if addrs, err := s.d.DNS.LookupIP(ctx, h); err == nil {
			for _, a := range addrs {
				keys = append(keys, table.IPKeys(a)...)
			}
		}
		for _, k := range keys {
			v, found, err := s.t.Lookup(ctx, k)
			if err != nil {
				s.d.warn(s.name + ": lookup " + k + ": " + err.Error())
				return reject(451, "4.3.0", "<"+what+">: Temporary lookup failure")
			}
			if !found || strings.TrimSpace(v) == "" {
				continue
			}
			if w, _, _ := strings.Cut(strings.TrimSpace(v), " "); strings.EqualFold(w, "OK") || isNumber(strings.TrimSpace(v)) {
				s.d.warn(s.name + ": " + k + ": action OK is not allowed here (use DUNNO)")
				break
			}
			if vd := accessAction(ctx, r, v, what, thing, nil); vd.Action != Dunno {
				return vd
			}
			break // DUNNO: this host is done
		}
	}
	return Verdict{}
}

// servers are the MX or NS hosts to check.
func (s *serverAccess) servers(ctx context.Context, domain string) ([]string, error) {
	var hosts []string
	if s.ns {
		for d := domain; ; {
			ns, err := s.d.DNS.LookupNS(ctx, d)
			if err == nil {
				hosts = ns
				break
			}
			if !errors.Is(err, dnsx.ErrNotFound) {
				return nil, err
			}
			i := strings.IndexByte(d, '.')
			if i < 0 || !strings.Contains(d[i+1:], ".") {
				return nil, err // no NS below the top-level domain
			}
			d = d[i+1:]
		}
	} else {
		mxs, err := s.d.DNS.LookupMX(ctx, domain)
		switch {
		case errors.Is(err, dnsx.ErrNotFound):
			hosts = []string{domain} // no MX: the domain itself, as the SMTP client would
		case err != nil:
			return nil, err
		}
		for _, mx := range mxs {
			hosts = append(hosts, mx.Host)
		}
	}
	if len(hosts) > maxServers {
		hosts = hosts[:maxServers]
	}
	return hosts, nil
}
