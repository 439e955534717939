package queue

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"
)

func TestSweep(t *testing.T) {
	q := newQueue(t)
	ctx := context.Background()
	now := time.Now()
	for _, tc := range []struct {
		name    string
		age     time.Duration
		removed bool
	}{
		{"OLDORPHAN", time.Hour, true},
		{"NEWORPHAN", time.Minute, false},
	} {
		p := q.Path(tc.name)
		if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, now.Add(-tc.age), now.Add(-tc.age)); err != nil {
			t.Fatal(err)
		}
	}
	kept := enqueue(t, q, "a@sender.test", now, "b@example.net")
	lost := enqueue(t, q, "a@sender.test", now, "b@example.net")
	if err := os.Remove(q.Path(lost)); err != nil {
		t.Fatal(err)
	}
	if _, err := q.db.Write.Exec(`UPDATE queue_message SET next_attempt=? WHERE id=?`, now.Add(time.Hour).Unix(), lost); err != nil {
		t.Fatal(err)
	}
	st, err := q.sweep(ctx, now, sweepGrace)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(st.OrphanFiles, ",") != "OLDORPHAN" || strings.Join(st.MissingBody, ",") != lost {
		t.Errorf("sweep: %+v", st)
	}
	for name, want := range map[string]bool{"OLDORPHAN": false, "NEWORPHAN": true, kept: true} {
		if _, err := os.Stat(q.Path(name)); (err == nil) != want {
			t.Errorf("%s: exists=%v, want %v", name, err == nil, want)
		}
	}
	if e, err := q.Entry(ctx, lost); err != nil || !e.NextAttempt.IsZero() {
		t.Errorf("message without body not made due: %+v %v", e, err)
	}
}

func TestRunnerBouncesMissingBody(t *testing.T) {
	e := newEnv(t)
	id := enqueue(t, e.q, "a@sender.test", time.Now(), "b@example.net")
	if err := os.Remove(e.q.Path(id)); err != nil {
		t.Fatal(err)
	}
	e.start(t, e.options())
	waitFor(t, "queue empty", func() bool { return len(entries(t, e.q)) == 0 })
	dsns := notifications(e.sink)
	if len(dsns) != 1 {
		t.Fatalf("%d notifications", len(dsns))
	}
	if _, status := checkReport(t, dsns[0].Body); !strings.Contains(status, "Status: 5.3.0") {
		t.Errorf("status part:\n%s", status)
	}
	if len(e.sink.messages()) != 1 {
		t.Error("the lost message was delivered")
	}
}

func TestRunnerRelay(t *testing.T) {
	for _, tc := range []struct {
		name, zone string
		want       string // rcpt status after the first attempt ("" = delivered, gone)
		wantErr    string
	}{
		{name: "primary above us", zone: "relay.test. MX 10 mx.example.net.\nrelay.test. MX 20 mail.local.test.\nmail.local.test. A 127.0.0.9"},
		{name: "we are the best MX", zone: "relay.test. MX 10 mail.local.test.\nrelay.test. MX 20 mx.example.net.", want: StatusDeferred, wantErr: "loops back to myself"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.dns.Zone(tc.zone)
			e.start(t, e.options())
			id := enqueue(t, e.q, "a@sender.test", time.Now(), "relay:x@relay.test")
			if tc.want == "" {
				waitFor(t, "queue empty", func() bool { return len(entries(t, e.q)) == 0 })
				if m := e.sink.messages(); len(m) != 1 || m[0].Rcpts[0] != "x@relay.test" {
					t.Errorf("sink got %+v", m)
				}
				return
			}
			waitFor(t, "attempt", func() bool { return rcptState(t, e.q, id, "x@relay.test").Attempts == 1 })
			if r := rcptState(t, e.q, id, "x@relay.test"); r.Status != tc.want || !strings.Contains(r.LastError, tc.wantErr) {
				t.Errorf("got %+v", r)
			}
		})
	}
}
