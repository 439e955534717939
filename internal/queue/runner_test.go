package queue

import (
	"context"
	"errors"
	"fmt"
	"mime"
	"mime/multipart"
	"net/mail"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"mailwarden/internal/envelope"
	"mailwarden/internal/store"
)

func TestRunnerDelivers(t *testing.T) {
	e := newEnv(t)
	e.start(t, e.options())
	id := enqueue(t, e.q, "a@sender.test", time.Now(), "b@example.net", "c@example.net")
	// "removed" is logged after the rows and then the file are gone.
	waitFor(t, "queue empty", func() bool { return strings.Contains(e.log.String(), id+": removed") })
	msgs := e.sink.messages()
	if len(msgs) != 1 || len(msgs[0].Rcpts) != 2 || msgs[0].From != "a@sender.test" {
		t.Fatalf("sink got %+v", msgs)
	}
	if !strings.HasPrefix(msgs[0].Body, "Received: test\r\nFrom: a@sender.test") {
		t.Errorf("body %q", msgs[0].Body)
	}
	if _, err := os.Stat(e.q.Path(id)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("queue file still there: %v", err)
	}
	log := e.log.String()
	for _, want := range []string{id + ": to=<b@example.net>, relay=mx.example.net[127.0.0.2]:", "status=sent (250 2.0.0", id + ": removed"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
}

func TestRunnerRetriesWithBackoff(t *testing.T) {
	e := newEnv(t)
	e.sink.setRcptErr("b@example.net", reply(451, "try later"))
	r := e.start(t, e.options())
	start := e.clock.Now()
	id := enqueue(t, e.q, "a@sender.test", start, "b@example.net")
	waitFor(t, "deferral", func() bool { return rcptState(t, e.q, id, "b@example.net").Attempts == 1 })
	got := rcptState(t, e.q, id, "b@example.net")
	if got.Status != StatusDeferred || got.DSN != "4.1.1" || !strings.Contains(got.LastError, "451 4.1.1 try later") {
		t.Errorf("after a 451: %+v", got)
	}
	en, err := e.q.Entry(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if want := start.Add(5 * time.Minute).Unix(); en.NextAttempt.Unix() != want {
		t.Errorf("next attempt %v, want first retry after 5m", en.NextAttempt)
	}
	// Not due yet: a kick changes nothing.
	r.Kick()
	time.Sleep(100 * time.Millisecond)
	if n := rcptState(t, e.q, id, "b@example.net").Attempts; n != 1 {
		t.Fatalf("retried before due: %d attempts", n)
	}
	e.sink.setRcptErr("b@example.net", nil)
	e.clock.Advance(5*time.Minute + time.Second)
	r.Kick()
	waitFor(t, "delivery on retry", func() bool { return len(entries(t, e.q)) == 0 })
	if n := len(e.sink.messages()); n != 1 {
		t.Errorf("sink got %d messages", n)
	}
}

// TestRunnerFlushDuringDelivery: a flush that arrives while the message is
// being delivered is not undone by that attempt's backoff: the message is
// tried again at once.
func TestRunnerFlushDuringDelivery(t *testing.T) {
	e := newEnv(t)
	e.sink.setRcptErr("b@example.net", reply(451, "try later"))
	r := e.start(t, e.options())
	id := enqueue(t, e.q, "a@sender.test", e.clock.Now(), "b@example.net")
	waitFor(t, "first deferral", func() bool { return rcptState(t, e.q, id, "b@example.net").Attempts == 1 })

	entered, resume := make(chan struct{}), make(chan struct{})
	var once sync.Once
	e.sink.mu.Lock()
	e.sink.onRcpt = func(string) { once.Do(func() { close(entered); <-resume }) }
	e.sink.mu.Unlock()
	e.clock.Advance(6 * time.Minute)
	r.Kick()
	<-entered // the second attempt is in flight
	if _, err := e.q.Flush(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	close(resume)
	waitFor(t, "third attempt without waiting for the backoff", func() bool {
		return rcptState(t, e.q, id, "b@example.net").Attempts >= 3
	})
}

func TestBackoff(t *testing.T) {
	r := NewRunner(newQueue(t), RunnerOptions{})
	for _, tc := range []struct{ age, want time.Duration }{
		{0, 5 * time.Minute},
		{5 * time.Minute, 5 * time.Minute},
		{10 * time.Minute, 10 * time.Minute},
		{40 * time.Minute, 40 * time.Minute},
		{80 * time.Minute, 4000 * time.Second},
		{48 * time.Hour, 4000 * time.Second},
	} {
		if got := r.backoff(tc.age); got != tc.want {
			t.Errorf("backoff(%v) = %v, want %v", tc.age, got, tc.want)
		}
	}
}

// notifications returns what the sink got from the null sender.
func notifications(s *sink) []sunk {
	var out []sunk
	for _, m := range s.messages() {
		if m.From == "" || strings.HasPrefix(m.From, "double-bounce@") {
			out = append(out, m)
		}
	}
	return out
}

// checkReport parses a notification as multipart/report and returns its
// delivery-status part.
func checkReport(t *testing.T, body string) (subject, status string) {
	t.Helper()
	m, err := mail.ReadMessage(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	mt, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/report" || params["report-type"] != "delivery-status" {
		t.Fatalf("content type %q %v (%v)", mt, params, err)
	}
	mr := multipart.NewReader(m.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if err != nil {
			break
		}
		if p.Header.Get("Content-Type") == "message/delivery-status" {
			status = readAll(t, p)
		}
	}
	return m.Header.Get("Subject"), status
}

func TestRunnerBounces(t *testing.T) {
	for _, tc := range []struct {
		name    string
		sender  string
		notify  string
		reply   *int
		arrival time.Duration // before now
		wantDSN string        // Status in the report; "" for no report
		wantLog string
	}{
		{name: "5xx", sender: "a@sender.test", reply: ptr(550), wantDSN: "Status: 5.1.1", wantLog: "status=bounced (550 5.1.1 no such user)"},
		{name: "expired", sender: "a@sender.test", reply: ptr(451), arrival: 6 * 24 * time.Hour, wantDSN: "Status: 4.1.1", wantLog: "message expired after"},
		{name: "null sender: postmaster copy", sender: "", reply: ptr(550), wantDSN: "Status: 5.1.1",
			wantLog: "postmaster copy (double bounce) to <postmaster@sender.test>"},
		{name: "double bounce undeliverable", sender: "double-bounce@mail.local.test", reply: ptr(550), wantLog: "double bounce discarded"},
		{name: "notify never", sender: "a@sender.test", notify: "NEVER", reply: ptr(550), wantLog: "status=bounced"},
		{name: "notify success only", sender: "a@sender.test", notify: "SUCCESS", reply: ptr(550), wantLog: "status=bounced"},
		{name: "notify failure", sender: "a@sender.test", notify: "FAILURE,DELAY", reply: ptr(554), wantDSN: "Status: 5.1.1", wantLog: "status=bounced"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.cfg.Queue.DoubleBounceRecipient = "postmaster@sender.test"
			e.sink.setRcptErr("b@example.net", reply(*tc.reply, "no such user"))
			id := enqueueRcpts(t, e.q, tc.sender, e.clock.Now().Add(-tc.arrival), Rcpt{Address: "b@example.net", Kind: KindRemote, Notify: tc.notify})
			e.start(t, e.options())
			// The rows go first, then the file (remove): wait for both.
			waitFor(t, "queue empty and its file removed", func() bool {
				_, err := os.Stat(e.q.Path(id))
				return len(entries(t, e.q)) == 0 && errors.Is(err, os.ErrNotExist)
			})
			dsns := notifications(e.sink)
			if tc.wantDSN == "" {
				if len(dsns) != 0 {
					t.Fatalf("unexpected notification %+v", dsns)
				}
			} else {
				to, from := tc.sender, ""
				if tc.sender == "" {
					to, from = "postmaster@sender.test", "double-bounce@mail.local.test"
				}
				if len(dsns) != 1 || len(dsns[0].Rcpts) != 1 || dsns[0].Rcpts[0] != to || dsns[0].From != from {
					t.Fatalf("notifications %+v", dsns)
				}
				subj, status := checkReport(t, dsns[0].Body)
				if subj != "Undelivered Mail Returned to Sender" || !strings.Contains(status, tc.wantDSN) ||
					!strings.Contains(status, "Final-Recipient: rfc822; b@example.net") {
					t.Errorf("subject %q, status part:\n%s", subj, status)
				}
				if !strings.Contains(dsns[0].Body, "Subject: hello") {
					t.Error("original not returned")
				}
			}
			if !strings.Contains(e.log.String(), tc.wantLog) {
				t.Errorf("log lacks %q:\n%s", tc.wantLog, e.log.String())
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

// TestRunnerSuccessNotice: NOTIFY=SUCCESS on a recipient delivered here
// gives the sender one "delivered" notice; other recipients get none.
func TestRunnerSuccessNotice(t *testing.T) {
	e := newEnv(t)
	o := e.options()
	o.Local = func(context.Context, *envelope.Envelope, string, Body) error { return nil }
	e.start(t, o)
	enqueueRcpts(t, e.q, "a@sender.test", time.Now(),
		Rcpt{Address: "box@local.test", Kind: KindLocal, Notify: "SUCCESS,FAILURE", ORCPT: "rfc822;Box@Local.test"},
		Rcpt{Address: "quiet@local.test", Kind: KindLocal})
	waitFor(t, "success notice", func() bool { return len(notifications(e.sink)) == 1 })
	waitFor(t, "queue empty", func() bool { return len(entries(t, e.q)) == 0 })
	n := notifications(e.sink)[0]
	subj, status := checkReport(t, n.Body)
	if len(n.Rcpts) != 1 || n.Rcpts[0] != "a@sender.test" || subj != "Successful Mail Delivery Report" ||
		!strings.Contains(status, "Action: delivered") || !strings.Contains(status, "Status: 2.0.0") ||
		!strings.Contains(status, "Original-Recipient: rfc822; Box@Local.test") || strings.Contains(status, "quiet@") {
		t.Errorf("notice to %v, subject %q, status:\n%s", n.Rcpts, subj, status)
	}
	if !strings.Contains(e.log.String(), "sender delivery status notification") {
		t.Errorf("log:\n%s", e.log.String())
	}
}

func TestRunnerDelayWarning(t *testing.T) {
	e := newEnv(t)
	e.sink.setRcptErr("b@example.net", reply(451, "greylisted"))
	o := e.options()
	o.DelayWarning = 4 * time.Hour
	e.start(t, o)
	id := enqueue(t, e.q, "a@sender.test", e.clock.Now().Add(-5*time.Hour), "b@example.net")
	waitFor(t, "delay notification", func() bool { return len(notifications(e.sink)) == 1 })
	subj, status := checkReport(t, notifications(e.sink)[0].Body)
	if !strings.HasPrefix(subj, "Delayed Mail") || !strings.Contains(status, "Action: delayed") {
		t.Errorf("subject %q, status:\n%s", subj, status)
	}
	waitFor(t, "warned flag", func() bool {
		en, err := e.q.Entry(context.Background(), id)
		return err == nil && en.Warned
	})
	if got := rcptState(t, e.q, id, "b@example.net"); got.Status != StatusDeferred {
		t.Errorf("original: %+v", got)
	}
}

func TestRunnerConcurrency(t *testing.T) {
	for _, tc := range []struct {
		dest, global, msgs, want int
	}{
		{dest: 2, global: 100, msgs: 6, want: 2},
		{dest: 20, global: 3, msgs: 6, want: 3},
	} {
		t.Run(fmt.Sprintf("dest%d-global%d", tc.dest, tc.global), func(t *testing.T) {
			e := newEnv(t)
			e.sink.hold = 150 * time.Millisecond
			for range tc.msgs {
				enqueue(t, e.q, "a@sender.test", time.Now(), "b@example.net")
			}
			o := e.options()
			o.DestinationConcurrency, o.Concurrency = tc.dest, tc.global
			e.start(t, o)
			waitFor(t, "queue empty", func() bool { return len(entries(t, e.q)) == 0 })
			e.sink.mu.Lock()
			top := e.sink.top
			e.sink.mu.Unlock()
			if top != tc.want || len(e.sink.messages()) != tc.msgs {
				t.Errorf("at most %d at once (want %d), %d delivered", top, tc.want, len(e.sink.messages()))
			}
		})
	}
}

func TestRunnerSkipsHeld(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	id := enqueue(t, e.q, "a@sender.test", time.Now(), "b@example.net")
	if _, err := e.q.Hold(ctx, id); err != nil {
		t.Fatal(err)
	}
	e.start(t, e.options())
	time.Sleep(200 * time.Millisecond)
	if len(e.sink.messages()) != 0 || len(entries(t, e.q)) != 1 {
		t.Fatal("held message delivered")
	}
	if _, err := e.q.Release(ctx, id); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "delivery after release", func() bool { return len(entries(t, e.q)) == 0 })
}

func TestRunnerLocal(t *testing.T) {
	for _, tc := range []struct {
		name    string
		errs    []error // returned by successive calls; nil: delivered
		wantDSN bool
	}{
		{name: "full then room", errs: []error{fmt.Errorf("x: %w", store.ErrOverQuota), nil}},
		{name: "temporary", errs: []error{errors.New("disk trouble"), nil}},
		{name: "unknown user", errs: []error{&LocalError{Code: 550, Enhanced: "5.1.1", Err: errors.New("unknown user")}}, wantDSN: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			var calls atomic.Int32
			var got atomic.Value
			o := e.options()
			o.Local = func(_ context.Context, env *envelope.Envelope, rcpt string, body Body) error {
				n := int(calls.Add(1)) - 1
				if err := tc.errs[min(n, len(tc.errs)-1)]; err != nil {
					return err
				}
				got.Store(env.From + " " + rcpt + " " + readAll(t, body.Reader()))
				return nil
			}
			r := e.start(t, o)
			id := enqueue(t, e.q, "a@sender.test", time.Now(), "local:box@local.test")
			waitFor(t, "first attempt", func() bool { return calls.Load() >= 1 })
			if len(tc.errs) > 1 {
				waitFor(t, "deferral", func() bool { return rcptState(t, e.q, id, "box@local.test").Status == StatusDeferred })
				e.clock.Advance(6 * time.Minute)
				r.Kick()
			}
			waitFor(t, "queue empty", func() bool { return len(entries(t, e.q)) == 0 })
			if tc.wantDSN {
				if n := len(notifications(e.sink)); n != 1 {
					t.Errorf("%d notifications", n)
				}
				return
			}
			if s, _ := got.Load().(string); !strings.HasPrefix(s, "a@sender.test box@local.test Received: test\r\n") {
				t.Errorf("local delivery got %q", s)
			}
		})
	}
}

// TestRunnerStopFinishesInFlight: canceling Run lets a delivery in
// progress complete and be recorded.
func TestRunnerStopFinishesInFlight(t *testing.T) {
	e := newEnv(t)
	e.sink.hold = 300 * time.Millisecond
	r := NewRunner(e.q, e.options())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.Run(ctx); close(done) }()
	enqueue(t, e.q, "a@sender.test", time.Now(), "b@example.net")
	waitFor(t, "delivery in progress", func() bool {
		e.sink.mu.Lock()
		defer e.sink.mu.Unlock()
		return e.sink.cur == 1
	})
	cancel()
	<-done
	if len(e.sink.messages()) != 1 || len(entries(t, e.q)) != 0 {
		t.Errorf("after stop: %d delivered, %d queued", len(e.sink.messages()), len(entries(t, e.q)))
	}
}

// TestRunnerKeepsQuotedLocalPart: a recipient with a quoted local part is
// stored and relayed as written (RFC 5321 4.1.2), not as
// x@inner.test@example.net, which the next hop would refuse.
func TestRunnerKeepsQuotedLocalPart(t *testing.T) {
	e := newEnv(t)
	e.start(t, e.options())
	const rcpt = `"x@inner.test"@example.net`
	id := enqueueRcpts(t, e.q, `"odd sender"@sender.test`, time.Now(), Rcpt{Address: rcpt, Kind: KindRemote})
	if got := rcptState(t, e.q, id, rcpt); got.Address != rcpt {
		t.Fatalf("stored as %q", got.Address)
	}
	waitFor(t, "queue empty", func() bool { return strings.Contains(e.log.String(), id+": removed") })
	// On the wire: the sink (go-smtp) unquotes what it parses.
	for _, line := range []string{"\r\nMAIL FROM:<\"odd sender\"@sender.test> ", "\r\nRCPT TO:<" + rcpt + ">\r\n"} {
		if !strings.Contains(e.wire.String(), line) {
			t.Errorf("the next hop did not get %q:\n%s", line, e.wire.String())
		}
	}
	if !strings.Contains(e.log.String(), id+`: to=<"x@inner.test"@example.net>, relay=mx.example.net[127.0.0.2]:`) {
		t.Errorf("log:\n%s", e.log.String())
	}
}
