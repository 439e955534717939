package metrics

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"mailwarden/internal/event"
	"mailwarden/internal/queue"
)

// QueueCounter reports the queue size by state (queue.Queue does).
type QueueCounter interface {
	Count(ctx context.Context, now time.Time) (queue.Counts, error)
}

const ns = "mailwarden"

// Metrics is the event subscriber and the registry it fills.
type Metrics struct {
	reg *prometheus.Registry

	received      *prometheus.CounterVec   // service
	receivedBytes prometheus.Counter       //
	rejected      *prometheus.CounterVec   // service, stage, reason
	delivered     *prometheus.CounterVec   // transport
	deferred      *prometheus.CounterVec   // transport
	bounced       *prometheus.CounterVec   // transport
	expired       prometheus.Counter       //
	deliveredB    *prometheus.CounterVec   // transport
	delay         *prometheus.HistogramVec // transport, status
	connections   *prometheus.CounterVec   // service, outcome
	logins        *prometheus.CounterVec   // service, outcome
	lost          *prometheus.CounterVec   // service, reason
	notifications *prometheus.CounterVec   // kind
	abuse         *abuse                   // limits.go
}

// New returns metrics with the Go runtime and process collectors and, when
// q is not nil, the queue size gauge.
func New(q QueueCounter) *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	counter := func(name, help string, labels ...string) *prometheus.CounterVec {
		c := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: name, Help: help}, labels)
		m.reg.MustRegister(c)
		return c
	}
	m.received = counter("messages_received_total", "Messages accepted for delivery (a queue id was assigned: pflogsumm's received), by service.", "service")
	m.receivedBytes = prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Name: "received_bytes_total",
		Help: "Bytes of accepted messages (qmgr's size=)."})
	m.reg.MustRegister(m.receivedBytes)
	m.rejected = counter("messages_rejected_total", "SMTP commands rejected (reject: lines), by service, stage and the check that rejected.", "service", "stage", "reason")
	m.delivered = counter("messages_delivered_total", "Recipients delivered (status=sent), by transport.", "transport")
	m.deferred = counter("messages_deferred_total", "Delivery attempts deferred (status=deferred), by transport.", "transport")
	m.bounced = counter("messages_bounced_total", "Recipients bounced (status=bounced), by transport.", "transport")
	m.expired = prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Name: "messages_expired_total",
		Help: "Messages returned to the sender after maximal_queue_lifetime."})
	m.reg.MustRegister(m.expired)
	m.deliveredB = counter("delivered_bytes_total", "Bytes delivered: message size times recipients delivered, by transport.", "transport")
	m.delay = prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: ns, Name: "delivery_delay_seconds",
		Help:    "Time from arrival to the end of a delivery attempt (delay=), by transport and status.",
		Buckets: []float64{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 4 * 3600, 24 * 3600, 5 * 24 * 3600}},
		[]string{"transport", "status"})
	m.reg.MustRegister(m.delay)
	m.connections = counter("connections_total", "Connections by service and outcome (accepted, refused by a concurrency limit, or blocked: dropped at accept by the block list).", "service", "outcome")
	m.logins = counter("logins_total", "Authentication attempts (SMTP AUTH, IMAP, POP3) by service and outcome (success, failure).", "service", "outcome")
	m.lost = counter("sessions_aborted_total", "SMTP sessions ended by timeout, lost connection, the error limit or pipelining, by service and reason.", "service", "reason")
	m.notifications = counter("notifications_total", "Delivery status notifications queued, by kind (non-delivery, delay, success, postmaster).", "kind")
	// Zero series for the usual labels, so a rate() starts at the first
	// scrape rather than at the first event.
	for _, s := range []string{"smtp", "submission", "submissions", "imap", "pop3"} {
		for _, o := range []string{"accepted", "refused", "blocked"} {
			m.connections.WithLabelValues(s, o)
		}
		for _, o := range []string{"success", "failure"} {
			m.logins.WithLabelValues(s, o)
		}
	}
	for _, s := range []string{"smtp", "submission", "submissions", "sendmail"} {
		m.received.WithLabelValues(s)
	}
	for _, t := range []string{"smtp", "virtual"} {
		m.delivered.WithLabelValues(t)
		m.deferred.WithLabelValues(t)
		m.bounced.WithLabelValues(t)
		m.deliveredB.WithLabelValues(t)
	}
	m.abuse = newAbuse(m.reg, counter)
	m.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if q != nil {
		m.reg.MustRegister(&queueCollector{q: q})
	}
	return m
}

// Registry is where the metrics live (for the HTTP handler and tests).
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handle implements event.Subscriber.
func (m *Metrics) Handle(ev event.Event) {
	switch e := ev.(type) {
	case *event.Connect:
		m.connections.WithLabelValues(e.Source().Service(), "accepted").Inc()
	case *event.TooManyConnections:
		m.connections.WithLabelValues(e.Source().Service(), "refused").Inc()
	case *event.Blocked:
		m.connections.WithLabelValues(e.Source().Service(), "blocked").Inc()
	case *event.Reject:
		if e.Action == "" || e.Action == "reject" {
			reason := e.Reason
			if reason == "" {
				reason = "other"
			}
			m.rejected.WithLabelValues(e.Source().Service(), e.Stage, reason).Inc()
		}
	case *event.Queued:
		m.received.WithLabelValues(e.Source().Service()).Inc()
	case *event.Submitted:
		m.received.WithLabelValues(e.Source().Service()).Inc()
	case *event.Received:
		m.receivedBytes.Add(float64(e.Size))
	case *event.Delivery:
		t := e.Source().Service()
		switch e.Status {
		case event.Sent:
			m.delivered.WithLabelValues(t).Inc()
			m.deliveredB.WithLabelValues(t).Add(float64(e.Size))
		case event.Deferred:
			m.deferred.WithLabelValues(t).Inc()
		case event.Bounced:
			m.bounced.WithLabelValues(t).Inc()
		}
		m.delay.WithLabelValues(t, e.Status.String()).Observe(e.Delay.Seconds())
	case *event.Expired:
		m.expired.Inc()
	case *event.AuthFailed:
		m.logins.WithLabelValues(e.Source().Service(), "failure").Inc()
	case *event.AuthOK:
		m.logins.WithLabelValues(e.Source().Service(), "success").Inc()
	case *event.Login:
		m.logins.WithLabelValues(e.Source().Service(), "success").Inc()
	case *event.Lost:
		m.lost.WithLabelValues(e.Source().Service(), lostReason(e.Kind)).Inc()
	case *event.DSN:
		m.notifications.WithLabelValues(dsnKind(e)).Inc()
	default:
		m.abuse.handle(ev)
	}
}

func lostReason(k event.LostKind) string {
	switch k {
	case event.Timeout:
		return "timeout"
	case event.TooManyErrors:
		return "too_many_errors"
	case event.Pipelining:
		return "pipelining"
	}
	return "lost_connection"
}

func dsnKind(e *event.DSN) string {
	switch {
	case e.Postmaster:
		return "postmaster"
	case e.Kind == event.Delay:
		return "delay"
	case e.Kind == event.Success:
		return "success"
	}
	return "non-delivery"
}

// queueCollector reads the queue size by state at scrape time.
type queueCollector struct{ q QueueCounter }

var queueDesc = prometheus.NewDesc(ns+"_queue_messages", "Messages in the queue by state (active: due now, deferred: waiting to retry, hold).",
	[]string{"state"}, nil)

var queueErrDesc = prometheus.NewDesc(ns+"_queue_scrape_error", "1 when the queue could not be counted at this scrape.", nil, nil)

func (c *queueCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- queueDesc
	ch <- queueErrDesc
}

func (c *queueCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	n, err := c.q.Count(ctx, time.Now())
	if err != nil {
		ch <- prometheus.MustNewConstMetric(queueErrDesc, prometheus.GaugeValue, 1)
		return
	}
	ch <- prometheus.MustNewConstMetric(queueErrDesc, prometheus.GaugeValue, 0)
	ch <- prometheus.MustNewConstMetric(queueDesc, prometheus.GaugeValue, float64(n.Active), "active")
	ch <- prometheus.MustNewConstMetric(queueDesc, prometheus.GaugeValue, float64(n.Deferred), "deferred")
	ch <- prometheus.MustNewConstMetric(queueDesc, prometheus.GaugeValue, float64(n.Hold), "hold")
}
