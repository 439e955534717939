package metrics

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"mailwarden/internal/event"
	"mailwarden/internal/queue"
)

type fakeQueue struct {
	c   queue.Counts
	err error
}

func (f *fakeQueue) Count(context.Context, time.Time) (queue.Counts, error) { return f.c, f.err }

// value finds one sample of name whose labels include want.
func value(t *testing.T, m *Metrics, name string, want map[string]string) float64 {
	t.Helper()
	fams, err := m.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
	next:
		for _, s := range f.GetMetric() {
			for k, v := range want {
				found := false
				for _, l := range s.GetLabel() {
					if l.GetName() == k && l.GetValue() == v {
						found = true
					}
				}
				if !found {
					continue next
				}
			}
			return sampleValue(s)
		}
	}
	t.Fatalf("no %s%v", name, want)
	return 0
}

func sampleValue(s *dto.Metric) float64 {
	switch {
	case s.Counter != nil:
		return s.Counter.GetValue()
	case s.Gauge != nil:
		return s.Gauge.GetValue()
	case s.Histogram != nil:
		return float64(s.Histogram.GetSampleCount())
	}
	return -1
}

func TestHandleCounts(t *testing.T) {
	q := &fakeQueue{c: queue.Counts{Active: 1, Deferred: 2, Hold: 3}}
	m := New(q)
	bus := event.NewBus(m)
	for _, ev := range []event.Event{
		&event.Connect{}, &event.Connect{Program: event.IMAPLogin}, &event.TooManyConnections{Program: event.Submission},
		&event.Blocked{Program: event.POP3Login}, &event.Blocked{Program: event.POP3Login},
		&event.Reject{Stage: "RCPT", Reason: "reject_unauth_destination"},
		&event.Reject{Stage: "RCPT", Reason: "reject_unauth_destination"},
		&event.Reject{Stage: "RCPT", Action: "hold"}, // not a rejection
		&event.Queued{}, &event.Queued{Program: event.Submission}, &event.Submitted{},
		&event.Received{Size: 100}, &event.Received{Size: 50},
		&event.Delivery{Program: event.Virtual, Status: event.Sent, Size: 100, Delay: time.Second},
		&event.Delivery{Status: event.Deferred}, &event.Delivery{Status: event.Deferred}, &event.Delivery{Status: event.Bounced},
		&event.Expired{},
		&event.AuthFailed{}, &event.AuthFailed{Program: event.POP3Login}, &event.AuthOK{}, &event.Login{},
		&event.Lost{Kind: event.Timeout}, &event.DSN{},
	} {
		bus.Publish(ev)
	}
	for _, c := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"mailwarden_connections_total", map[string]string{"service": "smtp", "outcome": "accepted"}, 1},
		{"mailwarden_connections_total", map[string]string{"service": "imap", "outcome": "accepted"}, 1},
		{"mailwarden_connections_total", map[string]string{"service": "submission", "outcome": "refused"}, 1},
		{"mailwarden_connections_total", map[string]string{"service": "pop3", "outcome": "blocked"}, 2},
		{"mailwarden_connections_total", map[string]string{"service": "smtp", "outcome": "blocked"}, 0},
		{"mailwarden_messages_rejected_total", map[string]string{"service": "smtp", "stage": "RCPT", "reason": "reject_unauth_destination"}, 2},
		{"mailwarden_messages_received_total", map[string]string{"service": "smtp"}, 1},
		{"mailwarden_messages_received_total", map[string]string{"service": "submission"}, 1},
		{"mailwarden_messages_received_total", map[string]string{"service": "sendmail"}, 1},
		{"mailwarden_received_bytes_total", nil, 150},
		{"mailwarden_messages_delivered_total", map[string]string{"transport": "virtual"}, 1},
		{"mailwarden_delivered_bytes_total", map[string]string{"transport": "virtual"}, 100},
		{"mailwarden_messages_deferred_total", map[string]string{"transport": "smtp"}, 2},
		{"mailwarden_messages_bounced_total", map[string]string{"transport": "smtp"}, 1},
		{"mailwarden_messages_expired_total", nil, 1},
		{"mailwarden_delivery_delay_seconds", map[string]string{"transport": "smtp", "status": "deferred"}, 2},
		{"mailwarden_logins_total", map[string]string{"service": "submission", "outcome": "failure"}, 1},
		{"mailwarden_logins_total", map[string]string{"service": "pop3", "outcome": "failure"}, 1},
		{"mailwarden_logins_total", map[string]string{"service": "submission", "outcome": "success"}, 1},
		{"mailwarden_logins_total", map[string]string{"service": "imap", "outcome": "success"}, 1},
		{"mailwarden_sessions_aborted_total", map[string]string{"service": "smtp", "reason": "timeout"}, 1},
		{"mailwarden_notifications_total", map[string]string{"kind": "non-delivery"}, 1},
		{"mailwarden_queue_messages", map[string]string{"state": "active"}, 1},
		{"mailwarden_queue_messages", map[string]string{"state": "deferred"}, 2},
		{"mailwarden_queue_messages", map[string]string{"state": "hold"}, 3},
		{"mailwarden_queue_scrape_error", nil, 0},
	} {
		if got := value(t, m, c.name, c.labels); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	q.err = errors.New("database down")
	if got := value(t, m, "mailwarden_queue_scrape_error", nil); got != 1 {
		t.Errorf("scrape error = %v", got)
	}
}

func TestServe(t *testing.T) {
	m := New(nil)
	s, err := m.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve() }()
	m.Handle(&event.Queued{})
	resp, err := http.Get("http://" + s.Addr().String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `mailwarden_messages_received_total{service="smtp"} 1`) {
		t.Errorf("%d\n%s", resp.StatusCode, body)
	}
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// BenchmarkHandleDelivery is the cost the metrics add to one delivery.
func BenchmarkHandleDelivery(b *testing.B) {
	m := New(nil)
	ev := &event.Delivery{Program: event.Virtual, Status: event.Sent, Size: 5000, Delay: 20 * time.Millisecond}
	b.ReportAllocs()
	for b.Loop() {
		m.Handle(ev)
	}
}
