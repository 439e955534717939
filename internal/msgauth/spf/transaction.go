package spf

import (
	"context"
	"net/netip"
	"strings"
)

// Outcome is what SPF says about one mail transaction: the verdicts of
// both identities, as policyd-spf computes them.
type Outcome struct {
	// HELO is the HELO identity's verdict; nil when it was not checked
	// (TxOptions.NoHELO).
	HELO *Verdict
	// MailFrom is the MAIL FROM identity's verdict; nil when it was not
	// checked (TxOptions.NoMailFrom). For the null reverse-path it is the
	// HELO check (RFC 7208 2.4: postmaster@ the HELO name) made under the
	// mailfrom identity.
	MailFrom *Verdict
	// Skipped says why no check was made (a client in skip_addresses or
	// the whitelist, a whitelisted domain); both verdicts are then nil.
	Skipped string
	// IP, HELOName and Sender are the inputs (Sender "" for the null
	// reverse-path), for Received-SPF and rejection texts.
	IP       netip.Addr
	HELOName string
	Sender   string
}

// TxOptions are the parts of a transaction check that policyd-spf
// configures beyond RFC 7208.
type TxOptions struct {
	// NoHELO and NoMailFrom skip an identity (HELO_reject or
	// Mail_From_reject = No_Check).
	NoHELO, NoMailFrom bool
	// Exempt are client networks never checked (skip_addresses and
	// Whitelist).
	Exempt []netip.Prefix
	// DomainWhitelist are domains whose record passing the client exempts
	// it (Domain_Whitelist).
	DomainWhitelist []string
}

// CheckTransaction checks a transaction's HELO and MAIL FROM identities
// for a client. helo is the HELO/EHLO argument ("" when none was given:
// the sender's domain stands in, as in policyd-spf); mailFrom is the
// reverse-path, "" for the null one.
func (c *Checker) CheckTransaction(ctx context.Context, ip netip.Addr, helo, mailFrom string, o TxOptions) *Outcome {
	ip = ip.Unmap()
	out := &Outcome{IP: ip, HELOName: helo, Sender: mailFrom}
	for _, p := range o.Exempt {
		if p.Contains(ip) {
			out.Skipped = "client " + ip.String() + " is exempt (" + p.String() + ")"
			return out
		}
	}
	for _, d := range o.DomainWhitelist {
		if v := c.CheckHost(ctx, ip, d, "postmaster@"+d, d); v.Result == Pass {
			out.Skipped = "client " + ip.String() + " passes whitelisted domain " + d
			return out
		}
	}
	if helo == "" {
		if at := strings.LastIndexByte(mailFrom, '@'); at >= 0 {
			helo = mailFrom[at+1:]
		} else {
			helo = "unknown"
		}
		out.HELOName = helo
	}
	if !o.NoHELO {
		out.HELO = c.CheckHELO(ctx, ip, helo)
	}
	if !o.NoMailFrom {
		if mailFrom == "" && out.HELO != nil {
			v := *out.HELO // the same check_host() call (2.4)
			v.Identity = MailFrom
			out.MailFrom = &v
		} else {
			out.MailFrom = c.CheckMailFrom(ctx, ip, mailFrom, helo)
		}
	}
	return out
}

// ReceivedSPF is the Received-SPF field (RFC 7208 9.1) for the outcome
// exactly as policyd-spf writes it, without the line end: the MAIL FROM
// verdict for a non-null sender (when it is not None or the HELO's is
// None too), else the HELO verdict; receiver is the first recipient's
// domain. "" when there is nothing to say (skipped or unchecked).
func (o *Outcome) ReceivedSPF(receiver string) string {
	if o == nil || o.Skipped != "" {
		return ""
	}
	if receiver == "" {
		receiver = "<UNKNOWN>"
	}
	v, comment := o.HELO, ""
	if o.Sender != "" && o.MailFrom != nil && (o.MailFrom.Result != None || o.HELO == nil || o.HELO.Result == None) {
		v, comment = o.MailFrom, "mailfrom"
	}
	if v == nil {
		return ""
	}
	if comment == "" {
		comment = v.Comment()
	}
	from := o.Sender
	if from == "" {
		from = "<>"
	}
	return "Received-SPF: " + v.Result.Title() + " (" + comment + ") identity=" + string(v.Identity) +
		"; client-ip=" + o.IP.String() + "; helo=" + o.HELOName + "; envelope-from=" + from + "; receiver=" + receiver + " "
}
