package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"mailwarden/internal/event"
)

// abuse counts the abuse-limit events: rate limits hit, pregreet test
// failures, login lockouts and automatic blocks.
type abuse struct {
	rateLimited *prometheus.CounterVec // service, limit
	pregreets   *prometheus.CounterVec // service
	lockouts    prometheus.Counter
	autoblocks  *prometheus.CounterVec // cause
}

func newAbuse(reg *prometheus.Registry, counter func(name, help string, labels ...string) *prometheus.CounterVec) *abuse {
	a := &abuse{
		rateLimited: counter("rate_limited_total", "Client events refused by a Postfix anvil rate limit (smtp.client_*_rate_limit), by service and limit (connection, message, recipient, newtls, auth).", "service", "limit"),
		pregreets:   counter("pregreet_total", "Clients that talked before the greeting (postscreen's pregreet test), by service.", "service"),
		autoblocks:  counter("autoblocks_total", "Clients put on the block list automatically, by cause (auth, errors, rate, pregreet).", "cause"),
	}
	a.lockouts = prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Name: "auth_lockouts_total",
		Help: "Clients that reached the login-failure limit ([auth] max_failures)."})
	reg.MustRegister(a.lockouts)
	for k := range event.NumLimitKinds {
		a.rateLimited.WithLabelValues("smtp", k.String())
	}
	for _, c := range []string{"auth", "errors", "rate", "pregreet"} {
		a.autoblocks.WithLabelValues(c)
	}
	return a
}

func (a *abuse) handle(ev event.Event) {
	switch e := ev.(type) {
	case *event.RateLimited:
		a.rateLimited.WithLabelValues(e.Source().Service(), e.Kind.String()).Inc()
	case *event.Pregreet:
		a.pregreets.WithLabelValues(e.Source().Service()).Inc()
	case *event.AuthLockout:
		a.lockouts.Inc()
	case *event.AutoBlocked:
		a.autoblocks.WithLabelValues(e.Cause).Inc()
	}
}
