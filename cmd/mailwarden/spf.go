package main

import (
	"context"
	"sync/atomic"

	"mailwarden/internal/config"
	"mailwarden/internal/dnsx"
	"mailwarden/internal/msgauth/spf"
	"mailwarden/internal/policy"
)

// policydSPF gives each policy request its Request.SPF in the policy
// service ([spf] of the current config; nil when the resolver cannot do
// SPF's lookups): the transaction's client, HELO and sender as Postfix
// sends them, checked once per request, answers cached across requests.
func policydSPF(current *atomic.Pointer[config.Config], r dnsx.Full) func(r *policy.Request) policy.SPFFunc {
	rr, ok := r.(dnsx.RRLookup)
	if !ok {
		return nil
	}
	cache := dnsx.NewRRCache(rr, 0)
	return func(req *policy.Request) policy.SPFFunc {
		cfg := current.Load()
		if !cfg.SPF.Enable || req.Env == nil || !req.Env.ClientIP.IsValid() {
			return nil
		}
		var out *spf.Outcome
		return func(ctx context.Context) *spf.Outcome {
			if out == nil {
				s := cfg.SPF
				ch := &spf.Checker{DNS: cache, Receiver: cfg.Hostname, MaxLookups: s.LookupLimit,
					MaxVoidLookups: s.VoidLimit, Timeout: s.LookupTime.D()}
				out = ch.CheckTransaction(ctx, req.Env.ClientIP, req.Env.Helo, req.Sender, spf.TxOptions{
					NoHELO: s.HeloReject == "no_check", NoMailFrom: s.MailFromReject == "no_check",
					Exempt: s.SPFExempt(), DomainWhitelist: s.DomainWhitelist})
			}
			return out
		}
	}
}
