package queue

import (
	"context"
	"errors"
	"strings"
	"time"

	"mailwarden/internal/dnsx"
	"mailwarden/internal/smtpclient"
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
	}
}

func clientMessage(e Entry, rcpts []Rcpt, body *fileBody) *smtpclient.Message {
	m := &smtpclient.Message{
		From:     e.Sender,
		Size:     body.Size(),
		Body:     body.open,
		EightBit: e.Body8,
		SMTPUTF8: e.SMTPUTF8,
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

// fromResults turns the client's Results into outcomes.
func fromResults(rcpts []Rcpt, res []smtpclient.Result) []outcome {
	out := make([]outcome, len(rcpts))
	for i, rc := range rcpts {
		o := outcome{rcpt: rc.Address, code: 451, enhanced: "4.3.0", text: "no result from the SMTP client", relay: "none"}
		if i < len(res) {
			x := res[i]
			o.code, o.enhanced, o.text, o.relay = x.Code, x.Enhanced, x.Text, x.Relay
		}
		o.status = statusOf(o.code)
		out[i] = o
	}
	return out
}

func (r *Runner) deliverRemote(ctx context.Context, e Entry, domain string, rcpts []Rcpt, body *fileBody) []outcome {
	res, err := smtpclient.Deliver(ctx, r.clientOptions(), domain, clientMessage(e, rcpts, body))
	if err != nil {
		return allOutcomes(rcpts, outcome{status: StatusDeferred, code: 451, enhanced: "4.3.5", text: err.Error(), relay: "none"})
	}
	return fromResults(rcpts, res)
}

// deliverRelay delivers for a backup-MX domain: only to MX hosts more
// preferred than this one (RFC 5321 5.1), each in turn while recipients
// stay temporarily failed.
func (r *Runner) deliverRelay(ctx context.Context, e Entry, domain string, rcpts []Rcpt, body *fileBody) []outcome {
	mxs, err := r.o.Resolver.LookupMX(ctx, domain)
	if err != nil && !errors.Is(err, dnsx.ErrNotFound) && !errors.Is(err, dnsx.ErrNullMX) {
		return allOutcomes(rcpts, outcome{status: StatusDeferred, code: 451, enhanced: "4.4.3",
			text: "MX lookup failed, will retry: " + err.Error(), relay: "none"})
	}
	if err != nil {
		// No MX (or null MX): the client reports it.
		return r.deliverRemote(ctx, e, domain, rcpts, body)
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
			got = fromResults(sub, res)
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
