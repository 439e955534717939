package queue

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mailwarden/internal/event"
	"os"
	"strings"
	"sync"
	"time"

	"mailwarden/internal/dsn"
	"mailwarden/internal/envelope"
	"mailwarden/internal/store"
)

// fileBody is a queued message's body file, readable many times at once.
type fileBody struct {
	f    *os.File
	size int64
}

func openBody(path string) (*fileBody, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	return &fileBody{f: f, size: st.Size()}, nil
}

func (b *fileBody) Reader() io.Reader { return io.NewSectionReader(b.f, 0, b.size) }
func (b *fileBody) Size() int64       { return b.size }
func (b *fileBody) Close() error      { return b.f.Close() }

// open is the SMTP client's Body.
func (b *fileBody) open() (io.ReadCloser, error) {
	return io.NopCloser(b.Reader()), nil
}

// header returns the start of the message, enough for its header.
func (b *fileBody) header() []byte {
	buf := make([]byte, 64<<10)
	n, _ := io.ReadFull(b.Reader(), buf)
	return buf[:n]
}

// bytesBody is a Body in memory (notifications).
type bytesBody []byte

func (b bytesBody) Reader() io.Reader { return bytes.NewReader(b) }
func (b bytesBody) Size() int64       { return int64(len(b)) }

// process makes one pass over a message: every pending recipient is
// tried, the outcomes recorded, and a message with nothing left pending is
// reported (DSNs) and removed. stop ends the start of new deliveries; ctx
// (which outlives stop) bounds the deliveries and the bookkeeping.
func (r *Runner) process(stop, ctx context.Context, id string) error {
	e, err := r.q.Entry(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return nil // deleted meanwhile
	}
	if err != nil || e.Held {
		return err
	}
	// The scan that started this pass read the due list before an earlier
	// pass over the same message recorded its next attempt: re-check, so a
	// deferred recipient is not tried again at once.
	if e.NextAttempt.After(r.o.Now()) {
		return nil
	}
	pending := e.Pending()
	if len(pending) > 0 {
		left, err := r.attemptAll(stop, ctx, e, pending)
		if err != nil || left > 0 {
			return err
		}
	}
	return r.finish(ctx, id)
}

// attemptAll tries every pending recipient, records the outcomes and
// returns how many are still pending.
// notifySuccess sends one success notice (RFC 3461 NOTIFY=SUCCESS) for
// the recipients of this pass that were delivered or relayed and asked
// for it. A failure to queue it is logged: the deliveries stand.
func (r *Runner) notifySuccess(ctx context.Context, e Entry, pending []Rcpt, outs []outcome, body *fileBody) {
	var done []Rcpt
	for i := range outs {
		o := &outs[i]
		if o.status != StatusSent || o.action == "" {
			continue
		}
		rc := rcptOf(pending, o)
		if !wants(rc.Notify, dsn.Success) {
			continue
		}
		rc.Action = o.action
		done = append(done, rc)
	}
	if len(done) == 0 {
		return
	}
	if err := r.notify(ctx, e, dsn.Success, done, body); err != nil {
		r.o.Logger.Error(e.ID + ": success notification: " + err.Error())
	}
}

func (r *Runner) attemptAll(stop, ctx context.Context, e Entry, pending []Rcpt) (int, error) {
	body, err := openBody(r.q.Path(e.ID))
	var outs []outcome
	switch {
	case errors.Is(err, fs.ErrNotExist):
		for _, rc := range pending {
			outs = append(outs, outcome{rcpt: rc.Address, status: StatusBounced, code: 550, enhanced: "5.3.0",
				text: "queue file missing", relay: "none"})
		}
	case err != nil:
		return 0, err
	default:
		defer body.Close()
		outs = r.deliver(stop, ctx, e, pending, body)
	}
	now := r.o.Now()
	age := now.Sub(e.Arrival)
	lifetime := r.o.MaxLifetime
	if e.Sender == "" {
		lifetime = r.o.BounceLifetime
	}
	left := len(pending) - len(outs) // skipped at shutdown
	var deferred []Rcpt
	expired := false
	for i := range outs {
		o := &outs[i]
		if o.status == StatusDeferred && age >= lifetime {
			o.status, o.expired = StatusBounced, true
		}
		if o.status == StatusDeferred {
			left++
			deferred = append(deferred, rcptOf(pending, o))
		}
		r.logOutcome(e, *o, age)
		expired = expired || o.expired
	}
	if expired {
		r.pub(&event.Expired{QueueID: e.ID, From: e.Sender})
	}
	r.notifySuccess(ctx, e, pending, outs, body)
	var next time.Time
	if left > 0 && len(outs) == len(pending) {
		next = now.Add(r.backoff(age))
	}
	warned := false
	if r.o.DelayWarning > 0 && !e.Warned && age >= r.o.DelayWarning && len(deferred) > 0 && body != nil {
		if err := r.notify(ctx, e, kindDelay, deferred, body); err != nil {
			r.o.Logger.Error(e.ID + ": delay notification: " + err.Error())
		} else {
			warned = true
		}
	}
	return left, r.q.record(ctx, e.ID, now, outs, next, e.NextAttempt, warned)
}

// rcptOf returns the pending recipient an outcome is about, with the
// outcome applied.
func rcptOf(pending []Rcpt, o *outcome) Rcpt {
	for _, rc := range pending {
		if rc.Address == o.rcpt {
			rc.Status, rc.LastError, rc.DSN, rc.Relay = o.status, o.diag(), o.enhanced, o.relay
			return rc
		}
	}
	return Rcpt{Address: o.rcpt}
}

func (r *Runner) logOutcome(e Entry, o outcome, age time.Duration) {
	why := o.diag()
	if o.expired {
		why = fmt.Sprintf("message expired after %s in the queue: %s", r.lifetimeOf(e), why)
	}
	st := event.Deferred
	switch o.status {
	case StatusSent:
		st = event.Sent
	case StatusBounced:
		st = event.Bounced
	}
	prog := event.SMTP
	if o.relay == "local" {
		prog = event.Virtual
	}
	r.pub(&event.Delivery{Program: prog, QueueID: e.ID, To: o.rcpt, Relay: o.relay, Delay: age,
		DSN: o.enhanced, Status: st, Text: why, Size: e.Size})
}

func (r *Runner) lifetimeOf(e Entry) time.Duration {
	if e.Sender == "" {
		return r.o.BounceLifetime
	}
	return r.o.MaxLifetime
}

// deliver groups recipients by destination and delivers each group in
// parallel within the concurrency limits. Groups not started because stop
// ended have no outcome.
func (r *Runner) deliver(stop, ctx context.Context, e Entry, pending []Rcpt, body *fileBody) []outcome {
	groups := map[string][]Rcpt{}
	var keys []string
	for _, rc := range pending {
		k := destKey(rc)
		if groups[k] == nil {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], rc)
	}
	var mu sync.Mutex
	var outs []outcome
	var wg sync.WaitGroup
	for _, k := range keys {
		wg.Go(func() {
			release, ok := r.acquire(stop, k)
			if !ok {
				return
			}
			defer release()
			res := r.deliverGroup(ctx, e, k, groups[k], body)
			mu.Lock()
			outs = append(outs, res...)
			mu.Unlock()
		})
	}
	wg.Wait()
	return outs
}

// destKey names a recipient's destination: "local", or the kind and the
// domain ("remote:example.com").
func destKey(rc Rcpt) string {
	if rc.Kind == KindLocal {
		return KindLocal
	}
	kind := rc.Kind
	if kind != KindRelay {
		kind = KindRemote
	}
	return kind + ":" + domainOf(rc.Address)
}

func domainOf(addr string) string {
	i := strings.LastIndexByte(addr, '@')
	if i < 0 {
		return ""
	}
	return strings.ToLower(addr[i+1:])
}

func (r *Runner) deliverGroup(ctx context.Context, e Entry, key string, rcpts []Rcpt, body *fileBody) []outcome {
	kind, domain, _ := strings.Cut(key, ":")
	switch {
	case kind == KindLocal:
		return r.deliverLocal(ctx, e, rcpts, body)
	case domain == "":
		return allOutcomes(rcpts, outcome{status: StatusBounced, code: 553, enhanced: "5.1.3",
			text: "bad address syntax: no domain", relay: "none"})
	case kind == KindRelay:
		return r.deliverRelay(ctx, e, domain, rcpts, body)
	}
	return r.deliverRemote(ctx, e, domain, rcpts, body)
}

func allOutcomes(rcpts []Rcpt, o outcome) []outcome {
	out := make([]outcome, len(rcpts))
	for i, rc := range rcpts {
		out[i] = o
		out[i].rcpt = rc.Address
	}
	return out
}

func (r *Runner) deliverLocal(ctx context.Context, e Entry, rcpts []Rcpt, body *fileBody) []outcome {
	env := localEnvelope(e)
	out := make([]outcome, len(rcpts))
	for i, rc := range rcpts {
		o := outcome{rcpt: rc.Address, relay: "local", status: StatusSent, code: 250, enhanced: "2.0.0",
			text: "delivered to maildir", action: "delivered"}
		var err error
		if r.o.Local == nil {
			err = &LocalError{Code: 451, Enhanced: "4.3.5", Err: errors.New("local delivery is not configured")}
		} else {
			err = r.o.Local(ctx, env, rc.Address, body)
		}
		var le *LocalError
		switch {
		case err == nil:
		case errors.As(err, &le):
			o.code, o.enhanced, o.text = le.Code, le.Enhanced, le.Error()
		case errors.Is(err, store.ErrOverQuota):
			o.code, o.enhanced, o.text = 452, "4.2.2", "mailbox full"
		default:
			o.code, o.enhanced, o.text = 451, "4.3.0", err.Error()
		}
		o.status = statusOf(o.code)
		out[i] = o
	}
	return out
}

// localEnvelope is the envelope a queued local copy is delivered with:
// the stored one without its header edits, which the queued body file
// already carries.
func localEnvelope(e Entry) *envelope.Envelope {
	env := &envelope.Envelope{ID: e.ID, From: e.Sender, Received: e.Arrival}
	if e.Env != nil {
		c := *e.Env
		env = &c
	}
	env.Header = nil
	return env
}

func statusOf(code int) string {
	switch {
	case code >= 200 && code < 300:
		return StatusSent
	case code >= 500:
		return StatusBounced
	}
	return StatusDeferred
}
