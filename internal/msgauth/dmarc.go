package msgauth

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"mailwarden/internal/config"
	"mailwarden/internal/dnsx"
	"mailwarden/internal/envelope"
	"mailwarden/internal/msgauth/dmarc"
	"mailwarden/internal/msgauth/dmarcreport"
)

// dmarcVerifier evaluates DMARC (RFC 7489) from the SPF and DKIM results
// already on the envelope, writes dmarc= into Authentication-Results,
// decides the message's fate under [dmarc] and records the result for
// aggregate reports.
type dmarcVerifier struct {
	cfg   *config.Config
	eval  *dmarc.Evaluator
	store *dmarcreport.Store // nil: no reports
	now   func() time.Time
}

func init() {
	RegisterVerifier(OrderDMARC, "dmarc", newDMARC)
}

// DMARCSample, when set (by tests), replaces the random pct= sampler of
// the verifiers built afterwards.
var DMARCSample func(pct int) bool

func newDMARC(d Deps) (Verifier, error) {
	if d.Config == nil || !d.Config.DMARC.Enabled {
		return nil, nil
	}
	var dns dnsx.Resolver = noDNS{}
	if d.DNS != nil {
		dns = d.DNS
	}
	v := &dmarcVerifier{cfg: d.Config, eval: dmarc.New(dns, 0), now: d.Now}
	if v.now == nil {
		v.now = time.Now
	}
	v.eval.Now = v.now
	v.eval.Sample = DMARCSample
	v.eval.Org, _ = dmarc.ParseOrgMode(d.Config.DMARC.OrgDomain) // validated by config
	if d.Config.DMARC.SendReports && d.DB != nil {
		v.store = &dmarcreport.Store{DB: d.DB, Interval: d.Config.DMARC.ReportInterval.D()}
	}
	return v, nil
}

// noDNS answers every lookup with a temporary failure (Deps without DNS).
type noDNS struct{}

var errNoDNS = fmt.Errorf("msgauth: no resolver: %w", dnsx.ErrTemporary)

func (noDNS) LookupMX(context.Context, string) ([]dnsx.MX, error)     { return nil, errNoDNS }
func (noDNS) LookupIP(context.Context, string) ([]netip.Addr, error)  { return nil, errNoDNS }
func (noDNS) LookupTXT(context.Context, string) ([]string, error)     { return nil, errNoDNS }
func (noDNS) LookupPTR(context.Context, netip.Addr) ([]string, error) { return nil, errNoDNS }

// domainOf is the domain of an address, or the value itself when it has
// no @ (SPF results may name either), lower case.
func domainOf(s string) string {
	s = strings.Trim(strings.TrimSpace(s), "<>")
	if at := strings.LastIndexByte(s, '@'); at >= 0 {
		s = s[at+1:]
	}
	return strings.ToLower(strings.TrimSuffix(s, "."))
}

// dmarcInputs collects the SPF identity (MAIL FROM, or HELO for a null
// sender: RFC 7208 2.4) and the DKIM signatures from the results so far.
func dmarcInputs(auth []envelope.AuthResult) (spf dmarc.Identifier, dkim []dmarc.Identifier) {
	var helo dmarc.Identifier
	for _, r := range auth {
		switch strings.ToLower(r.Method) {
		case "spf":
			if d := domainOf(r.Prop("smtp", "mailfrom")); d != "" && spf.Domain == "" {
				spf = dmarc.Identifier{Domain: d, Result: strings.ToLower(r.Result), Scope: "mfrom"}
			} else if d := domainOf(r.Prop("smtp", "helo")); d != "" && helo.Domain == "" {
				helo = dmarc.Identifier{Domain: d, Result: strings.ToLower(r.Result), Scope: "helo"}
			}
		case "dkim":
			if d := domainOf(r.Prop("header", "d")); d != "" {
				dkim = append(dkim, dmarc.Identifier{Domain: d, Selector: r.Prop("header", "s"), Result: strings.ToLower(r.Result)})
			}
		}
	}
	if spf.Domain == "" {
		spf = helo
	}
	return spf, dkim
}

func (v *dmarcVerifier) Verify(ctx context.Context, m *Message) error {
	dc := &v.cfg.DMARC
	res := envelope.AuthResult{Method: "dmarc"}
	from, err := m.FromDomain()
	if err != nil {
		// RFC 7489 6.6.1: without exactly one From address DMARC cannot
		// pick a policy.
		res.Result = dmarc.ResultPermError
		switch {
		case errors.Is(err, ErrMultipleFrom):
			res.Comment = "multiple From addresses"
			if dc.Enforce && dc.RejectMultipleFrom {
				m.Action = Reject
				m.Reply = Reply{550, "5.7.1", "Message has several From addresses; DMARC cannot be applied"}
			}
		case errors.Is(err, ErrNoFrom):
			res.Comment = "no From field"
		default:
			res.Comment = "unreadable From field"
		}
		m.Env.Auth = append(m.Env.Auth, res)
		return nil
	}
	spf, dkim := dmarcInputs(m.Env.Auth)
	r := v.eval.Evaluate(ctx, dmarc.Input{From: from, SPF: spf, DKIM: dkim})
	res.Result = r.Result
	res.Props = []envelope.AuthProp{{Type: "header", Name: "from", Value: from}}
	if r.Found == nil {
		m.Env.Auth = append(m.Env.Auth, res)
		return nil
	}
	disp, reasons := v.decide(m, from, r)
	rec := r.Found.Record
	res.Comment = "p=" + strings.ToUpper(string(rec.Policy)) + " sp=" + strings.ToUpper(string(rec.SubPolicy))
	if rec.HasNP {
		res.Comment += " np=" + strings.ToUpper(string(rec.NPolicy))
	}
	res.Comment += " dis=" + strings.ToUpper(string(disp))
	for _, rs := range reasons {
		if rs.Type != "sampled_out" {
			res.Props = append(res.Props, envelope.AuthProp{Type: "policy", Name: "override", Value: rs.Type})
			res.Comment += " " + rs.Comment
		}
	}
	m.Env.Auth = append(m.Env.Auth, res)
	if v.store != nil && len(rec.RUA) > 0 {
		if err := v.record(ctx, m, from, spf, dkim, r, disp, reasons); err != nil {
			return err // logged; the message goes on
		}
	}
	return nil
}

// decide applies local policy to a failure and sets the message's
// action: the disposition actually applied and why it differs from the
// published one.
func (v *dmarcVerifier) decide(m *Message, from string, r dmarc.Result) (dmarc.Policy, []dmarcreport.Reason) {
	dc := &v.cfg.DMARC
	if r.Result != dmarc.ResultFail {
		return dmarc.None, nil
	}
	disp := r.Disposition
	var reasons []dmarcreport.Reason
	if r.SampledOut {
		reasons = append(reasons, dmarcreport.Reason{Type: "sampled_out", Comment: fmt.Sprintf("pct=%d", r.Found.Record.Pct)})
	}
	if o := dc.OverrideFor(from, r.OrgDomain); o != "" && dmarc.Policy(o) != disp {
		disp = dmarc.Policy(o)
		reasons = append(reasons, dmarcreport.Reason{Type: "local_policy", Comment: "override=" + o})
	}
	// RFC 7489 6.7 and RFC 8617 7.2: a valid ARC chain whose newest seal
	// is by a sealer we trust vouches for the authentication results the
	// message had before that forwarder changed it; we take its word and
	// deliver normally.
	if disp != dmarc.None && m.ARC.Result == "pass" && len(m.ARC.Sealers) > 0 {
		last := strings.ToLower(m.ARC.Sealers[len(m.ARC.Sealers)-1])
		if slices.Contains(dc.ARCTrustedSealers, last) {
			disp = dmarc.None
			reasons = append(reasons, dmarcreport.Reason{Type: "trusted_forwarder", Comment: "arc=pass as=" + last})
		}
	}
	if disp != dmarc.None && !dc.Enforce {
		disp = dmarc.None
		reasons = append(reasons, dmarcreport.Reason{Type: "local_policy", Comment: "enforce=false"})
	}
	switch {
	case disp == dmarc.None:
	case r.TempAligned:
		// An aligned identifier could not be checked now (a DNS
		// failure in SPF or DKIM): the message may pass when tried
		// again, so it is neither refused nor filed away yet.
		m.Action = Defer
		m.Reply = Reply{451, "4.7.1", "DMARC evaluation for " + from + " failed temporarily, try again later"}
	case disp == dmarc.Reject:
		m.Action = Reject
		m.Reply = Reply{550, "5.7.1", "Rejected by DMARC policy for " + from}
	case disp == dmarc.Quarantine:
		m.Action = Quarantine
		m.Folder = dc.QuarantineFolder
	}
	return disp, reasons
}

// record stores the message's result for the aggregate report.
func (v *dmarcVerifier) record(ctx context.Context, m *Message, from string, spf dmarc.Identifier, dkim []dmarc.Identifier,
	r dmarc.Result, disp dmarc.Policy, reasons []dmarcreport.Reason) error {
	row := dmarcreport.Row{
		PolicyDomain: r.Found.Domain,
		HeaderFrom:   from,
		EnvelopeFrom: domainOf(m.Env.From),
		SPFDomain:    spf.Domain,
		SPFScope:     spf.Scope,
		SPFResult:    reportSPF(spf.Result),
		DKIMAligned:  passFail(r.DKIMAligned),
		SPFAligned:   passFail(r.SPFAligned),
		Disposition:  string(disp),
		Reasons:      reasons,
		Policy:       r.Found.Record.Raw,
	}
	if m.Env.ClientIP.IsValid() {
		row.SourceIP = m.Env.ClientIP.Unmap().String()
	}
	if len(m.Env.Recipients) > 0 {
		row.EnvelopeTo = domainOf(m.Env.Recipients[0].Address)
	}
	if row.SPFScope == "" {
		row.SPFScope = "mfrom"
	}
	for _, d := range dkim {
		row.DKIM = append(row.DKIM, dmarcreport.DKIM{Domain: d.Domain, Selector: d.Selector, Result: reportDKIM(d.Result)})
	}
	return v.store.Record(ctx, row, v.now())
}

func passFail(ok bool) string {
	if ok {
		return "pass"
	}
	return "fail"
}

// reportSPF and reportDKIM map Authentication-Results keywords to the
// report schema's SPFResultType and DKIMResultType (RFC 7489 appendix C).
func reportSPF(r string) string {
	switch r {
	case "pass", "fail", "softfail", "neutral", "temperror", "permerror":
		return r
	}
	return "none"
}

func reportDKIM(r string) string {
	switch r {
	case "pass", "fail", "neutral", "policy", "temperror", "permerror":
		return r
	}
	return "none"
}
