package smtpserver

import (
	"context"
	"strings"

	"mailwarden/internal/config"
	"mailwarden/internal/dnsx"
	"mailwarden/internal/envelope"
	"mailwarden/internal/msgauth/spf"
	"mailwarden/internal/policy"
)

// SPF on the MX service: one outcome per transaction, computed when a
// check first asks for it (check_spf, the greylist's bypass) or at end of
// data, kept on the tx; recorded on the envelope (Auth) and as the
// Received-SPF field policyd-spf would have prepended.

// spfLookup is the server's DNS for SPF: Options.DNS behind a cache
// shared by every session, nil when Options.DNS cannot do single-type
// lookups.
func spfLookup(dns ReverseResolver) dnsx.RRLookup {
	if rr, ok := dns.(dnsx.RRLookup); ok {
		return dnsx.NewRRCache(rr, 0)
	}
	return nil
}

// spfOf returns the Request.SPF of transaction t: nil unless this is the
// MX service with [spf] enable and a resolver.
func (c *conn) spfOf(t *tx) policy.SPFFunc {
	if c.srv.mode != MX || !c.cfg.SPF.Enable || c.srv.spfDNS == nil {
		return nil
	}
	if t.spfFn == nil {
		cfg := c.cfg.SPF
		t.spfFn = func(ctx context.Context) *spf.Outcome {
			if t.spf == nil {
				t.spf = c.checkSPF(ctx, cfg, t.from)
			}
			return t.spf
		}
	}
	return t.spfFn
}

func (c *conn) checkSPF(ctx context.Context, cfg config.SPF, from string) *spf.Outcome {
	ch := &spf.Checker{DNS: c.srv.spfDNS, Receiver: c.cfg.Hostname, MaxLookups: cfg.LookupLimit,
		MaxVoidLookups: cfg.VoidLimit, Timeout: cfg.LookupTime.D()}
	return ch.CheckTransaction(ctx, c.ip, c.helo, from, spf.TxOptions{
		NoHELO: cfg.HeloReject == "no_check", NoMailFrom: cfg.MailFromReject == "no_check",
		Exempt: cfg.SPFExempt(), DomainWhitelist: cfg.DomainWhitelist})
}

// recordSPF puts the transaction's SPF outcome on env (Auth: MAIL FROM,
// then HELO; DMARC and Authentication-Results read them whatever
// header_type says) and, with [spf] header_type = spf, the Received-SPF
// field on t's header edits. At end of data, before env.Header is set.
func (c *conn) recordSPF(t *tx, env *envelope.Envelope) {
	get := c.spfOf(t)
	if get == nil {
		return
	}
	ctx, done := c.checkContext()
	o := get(ctx)
	done()
	if o == nil || o.Skipped != "" {
		return
	}
	// For the null sender the HELO result stands alone, as policyd-spf
	// writes it (and DMARC then takes the HELO identity, RFC 7489 4.1).
	if v := o.MailFrom; v != nil && o.Sender != "" {
		env.Auth = append(env.Auth, envelope.AuthResult{Method: "spf", Result: string(v.Result), Reason: v.Comment(),
			Props: []envelope.AuthProp{{Type: "smtp", Name: "mailfrom", Value: v.Domain}}})
	}
	if v := o.HELO; v != nil {
		env.Auth = append(env.Auth, envelope.AuthResult{Method: "spf", Result: string(v.Result), Reason: v.Comment(),
			Props: []envelope.AuthProp{{Type: "smtp", Name: "helo", Value: o.HELOName}}})
	}
	if c.cfg.SPF.HeaderType != "spf" {
		return
	}
	receiver := ""
	if len(t.rcpts) > 0 {
		receiver = t.rcpts[0].Address
		if at := strings.LastIndexByte(receiver, '@'); at >= 0 {
			receiver = receiver[at+1:]
		}
	}
	if f := o.ReceivedSPF(receiver); f != "" {
		t.headers = append(t.headers, envelope.HeaderEdit{Op: envelope.Prepend, Field: sanitizeField(f)})
	}
}

// sanitizeField keeps a field built from what a client said (HELO,
// MAIL FROM) free of line breaks, folded after its "; " when it would
// pass the 998-character line limit (RFC 5322 2.1.1).
func sanitizeField(f string) string {
	f = strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' || r == 0 {
			return ' '
		}
		return r
	}, f)
	if len(f) > 998 {
		f = strings.ReplaceAll(f, "; ", ";\r\n\t")
	}
	return f
}
