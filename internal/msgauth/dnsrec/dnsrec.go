package dnsrec

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"strings"

	"mailwarden/internal/dnsx"
	"mailwarden/internal/msgauth/spf"
)

// Kind names what a record is for.
type Kind string

const (
	MX     Kind = "MX"
	SPF    Kind = "SPF"
	DKIM   Kind = "DKIM"
	DMARC  Kind = "DMARC"
	MTASTS Kind = "MTA-STS"
	TLSRPT Kind = "TLS-RPT"
)

// Record is one DNS record to publish.
type Record struct {
	Kind  Kind
	Name  string // owner name, fully qualified with the final dot
	Type  string // "MX" or "TXT"
	Value string // MX: "10 host."; TXT: the text, unquoted and unsplit
	Note  string // a comment line said before it
	// Placeholder records are examples to adapt (MTA-STS, TLS-RPT);
	// --check reports them but never fails on them.
	Placeholder bool
}

// DKIMKey is a published DKIM key: selector and the TXT value
// ("v=DKIM1; k=rsa; p=...").
type DKIMKey struct {
	Selector string
	Value    string
	State    string // "active", "pending", "retiring": said in the note
}

// Input is what Records needs to know about the domain.
type Input struct {
	Domain   string
	Hostname string // the MX host (the config's hostname)
	DKIM     []DKIMKey
	// DMARCReport is the rua address aggregate reports are sent to, ""
	// for none.
	DMARCReport string
}

// Records returns the records in the order they are best published.
func Records(in Input) []Record {
	d := strings.ToLower(strings.TrimSuffix(in.Domain, ".")) + "."
	host := strings.ToLower(strings.TrimSuffix(in.Hostname, ".")) + "."
	rs := []Record{
		{Kind: MX, Name: d, Type: "MX", Value: "10 " + host,
			Note: "mail for " + d + " goes to this server (" + host + " needs A/AAAA records of its public addresses)"},
		{Kind: SPF, Name: d, Type: "TXT", Value: "v=spf1 mx -all",
			Note: "SPF (RFC 7208): only the domain's MX hosts send its mail; add ip4:/include: for other senders"},
	}
	for _, k := range in.DKIM {
		rs = append(rs, Record{Kind: DKIM, Name: k.Selector + "._domainkey." + d, Type: "TXT", Value: k.Value,
			Note: "DKIM key " + k.Selector + " (" + k.State + ")"})
	}
	dmarc := "v=DMARC1; p=none"
	if in.DMARCReport != "" {
		dmarc += "; rua=mailto:" + in.DMARCReport
	}
	rs = append(rs, Record{Kind: DMARC, Name: "_dmarc." + d, Type: "TXT", Value: dmarc,
		Note: "DMARC (RFC 7489): start with p=none, read the reports (mailwarden dmarc reports), then p=quarantine or p=reject"})
	if at := strings.LastIndexByte(in.DMARCReport, '@'); at >= 0 {
		if rd := strings.ToLower(strings.TrimSuffix(in.DMARCReport[at+1:], ".")) + "."; rd != d {
			rs = append(rs, Record{Kind: DMARC, Name: strings.TrimSuffix(d, ".") + "._report._dmarc." + rd, Type: "TXT", Value: "v=DMARC1",
				Note: "lets " + strings.TrimSuffix(rd, ".") + " receive the reports about " + strings.TrimSuffix(d, ".") + " (RFC 7489 7.1); publish it in " + strings.TrimSuffix(rd, ".") + "'s zone"})
		}
	}
	rs = append(rs,
		Record{Kind: MTASTS, Name: "_mta-sts." + d, Type: "TXT", Value: "v=STSv1; id=1", Placeholder: true,
			Note: "MTA-STS (RFC 8461), placeholder: also serve https://mta-sts." + strings.TrimSuffix(d, ".") +
				"/.well-known/mta-sts.txt (version: STSv1, mode: testing, mx: " + strings.TrimSuffix(host, ".") + ", max_age: 86400); change id= with each policy change"},
		Record{Kind: TLSRPT, Name: "_smtp._tls." + d, Type: "TXT", Value: "v=TLSRPTv1; rua=mailto:tls-reports@" + strings.TrimSuffix(d, "."),
			Placeholder: true, Note: "SMTP TLS reporting (RFC 8460), placeholder: where senders report TLS failures"},
	)
	return rs
}

// WriteZone writes the records in BIND zone-file syntax, each after its
// note as a comment; a TXT value longer than 255 bytes is split into
// several character-strings inside parentheses (RFC 1035 3.3.14).
func WriteZone(w io.Writer, rs []Record) error {
	for _, r := range rs {
		if _, err := fmt.Fprintf(w, "; %s\n%s\tIN\t%s\t%s\n", r.Note, r.Name, r.Type, zoneValue(r)); err != nil {
			return err
		}
	}
	return nil
}

func zoneValue(r Record) string {
	if r.Type != "TXT" {
		return r.Value
	}
	parts := SplitTXT(r.Value)
	if len(parts) == 1 {
		return parts[0]
	}
	return "( " + strings.Join(parts, "\n\t\t\t") + " )"
}

// SplitTXT splits a TXT value into quoted character-strings of at most
// 255 bytes each (RFC 1035 3.3.14), with " and \ escaped.
func SplitTXT(v string) []string {
	var out []string
	for len(v) > 0 || out == nil {
		n := min(len(v), 255)
		out = append(out, `"`+strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(v[:n])+`"`)
		v = v[n:]
	}
	return out
}

// Status is what Check found for one record.
type Status struct {
	Record
	OK        bool
	Published []string // what DNS holds there (TXT of the same kind, or MX hosts)
	Problem   string   // "" when OK
}

// Lookup is the part of dnsx Check uses.
type Lookup interface {
	LookupMX(ctx context.Context, domain string) ([]dnsx.MX, error)
	LookupTXT(ctx context.Context, name string) ([]string, error)
	LookupIP(ctx context.Context, host string) ([]netip.Addr, error)
}

// Check compares each record with what DNS answers. With an SPF checker,
// the published SPF record must also authorize every address of the MX
// host (hostname): mail this server sends for the domain comes from them.
func Check(ctx context.Context, dns Lookup, rs []Record, hostname string, sc *spf.Checker) []Status {
	out := make([]Status, 0, len(rs))
	for _, r := range rs {
		st := check(ctx, dns, r)
		if st.OK && r.Kind == SPF && sc != nil {
			st.OK, st.Problem = authorizes(ctx, dns, sc, strings.TrimSuffix(r.Name, "."), hostname)
		}
		out = append(out, st)
	}
	return out
}

// authorizes evaluates the domain's SPF policy (RFC 7208 4) for each
// address of hostname.
func authorizes(ctx context.Context, dns Lookup, sc *spf.Checker, domain, hostname string) (bool, string) {
	addrs, err := dns.LookupIP(ctx, hostname)
	if err != nil {
		return false, "the MX host " + hostname + ": " + lookupProblem(err)
	}
	for _, ip := range addrs {
		v := sc.CheckHost(ctx, ip, domain, "postmaster@"+domain, hostname)
		if v.Result != spf.Pass {
			why := string(v.Result)
			if v.Mechanism != "" {
				why += " at " + v.Mechanism
			}
			return false, fmt.Sprintf("does not authorize %s (%s's address): %s", ip, hostname, why)
		}
	}
	return true, ""
}

func check(ctx context.Context, dns Lookup, r Record) Status {
	st := Status{Record: r}
	name := strings.TrimSuffix(r.Name, ".")
	if r.Type == "MX" {
		mxs, err := dns.LookupMX(ctx, name)
		if err != nil {
			st.Problem = lookupProblem(err)
			return st
		}
		want := strings.TrimSuffix(strings.Fields(r.Value)[1], ".")
		for _, mx := range mxs {
			h := strings.ToLower(strings.TrimSuffix(mx.Host, "."))
			st.Published = append(st.Published, h)
			if h == want {
				st.OK = true
			}
		}
		if !st.OK {
			st.Problem = "no MX record names " + want
		}
		return st
	}
	txts, err := dns.LookupTXT(ctx, name)
	if err != nil {
		st.Problem = lookupProblem(err)
		return st
	}
	prefix := txtPrefix(r)
	for _, t := range txts {
		if r.Kind == DKIM || strings.HasPrefix(strings.ToLower(strings.TrimSpace(t)), strings.ToLower(prefix)) {
			st.Published = append(st.Published, t)
		}
	}
	switch {
	case len(st.Published) == 0:
		st.Problem = "no " + prefix + " record"
	case len(st.Published) > 1 && (r.Kind == SPF || r.Kind == DMARC):
		// RFC 7208 4.5, RFC 7489 6.6.3: more than one record is an error.
		st.Problem = fmt.Sprintf("%d %s records: receivers treat that as an error, keep one", len(st.Published), prefix)
	case r.Kind == DKIM:
		st.OK = slices.ContainsFunc(st.Published, func(p string) bool { return dkimKey(p) == dkimKey(r.Value) })
		if !st.OK {
			st.Problem = "the published key differs from ours"
		}
	default:
		// SPF, DMARC and the placeholders: any record of that kind is
		// the domain's own choice.
		st.OK = true
	}
	return st
}

// txtPrefix is how a record of r's kind starts.
func txtPrefix(r Record) string {
	switch r.Kind {
	case SPF:
		return "v=spf1"
	case DMARC:
		return "v=DMARC1"
	case MTASTS:
		return "v=STSv1"
	case TLSRPT:
		return "v=TLSRPTv1"
	}
	return "v=DKIM1"
}

// dkimKey returns the p= tag of a DKIM key record, without blanks.
func dkimKey(v string) string {
	for _, tag := range strings.Split(v, ";") {
		k, val, ok := strings.Cut(tag, "=")
		if ok && strings.TrimSpace(k) == "p" {
			return strings.Join(strings.Fields(val), "")
		}
	}
	return ""
}

func lookupProblem(err error) string {
	if errors.Is(err, dnsx.ErrNotFound) {
		return "not published"
	}
	return "lookup failed: " + err.Error()
}

// SplitTXTIf is r's value as zone-file text: split quoted strings for a
// TXT record, the value as it is otherwise.
func SplitTXTIf(r Record) []string {
	if r.Type != "TXT" {
		return []string{r.Value}
	}
	return SplitTXT(r.Value)
}
