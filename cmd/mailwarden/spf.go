package main

import (
	"context"

	"mailwarden/internal/config"
	"mailwarden/internal/dnsx"
	"mailwarden/internal/msgauth/spf"
	"mailwarden/internal/policy"
)

// serveSPFPass is the greylist's SPF bypass in serve: the SMTP server
// hands every check the transaction's memoized SPF outcome.
func serveSPFPass() func(ctx context.Context, r *policy.Request) (bool, string) {
	return policy.SPFPass(nil, spf.TxOptions{})
}

// policydSPFPass is the bypass in the policy service, which checks SPF
// itself from what Postfix sends ([spf] as in serve); nil when [spf] is
// off.
func policydSPFPass(cfg *config.Config, r dnsx.Full) func(ctx context.Context, r *policy.Request) (bool, string) {
	rr, ok := r.(dnsx.RRLookup)
	if !cfg.SPF.Enable || !ok {
		return nil
	}
	s := cfg.SPF
	ch := &spf.Checker{DNS: dnsx.NewRRCache(rr, 0), Receiver: cfg.Hostname, MaxLookups: s.LookupLimit,
		MaxVoidLookups: s.VoidLimit, Timeout: s.LookupTime.D()}
	return policy.SPFPass(ch, spf.TxOptions{NoHELO: s.HeloReject == "no_check", NoMailFrom: s.MailFromReject == "no_check",
		Exempt: s.SPFExempt(), DomainWhitelist: s.DomainWhitelist})
}
