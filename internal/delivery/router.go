package delivery

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"

	"mailwarden/internal/directory"
	"mailwarden/internal/envelope"
	"mailwarden/internal/event"
	"mailwarden/internal/queue"
	"mailwarden/internal/store"
)

// Verdict actions (envelope.Verdict.Action) that decide a whole message's
// target, as Postfix's DISCARD and HOLD do.
const (
	ActionDiscard = "discard"
	ActionHold    = "hold"
)

// Router hands accepted messages to their targets: it chooses a Target
// per recipient, opens one transaction per target, and commits them all
// as one Group. It is the smtpserver.Deliverer.
type Router struct {
	// Local is the local store target; nil makes one of Store and Log
	// (files into INBOX).
	Local *Local
	Store *store.Store
	// Queue holds everything that is not delivered at once.
	Queue *queue.Queue
	// Log receives the Postfix-style lines of the targets the router makes.
	Log *slog.Logger
	// Choose, when set, picks a recipient's target before the default
	// choice (a FILTER verdict, a transport); returning nil leaves it to
	// the default.
	Choose func(msg *Message, rc Routed) Target
	// Events receives the delivery events of the targets the router
	// makes (local copies sent, copies deferred at once).
	Events event.Publisher

	once    sync.Once
	queue   *Queue
	hold    *Queue
	discard *Discard
}

func (r *Router) init() {
	r.once.Do(func() {
		if r.Local == nil {
			r.Local = &Local{Store: r.Store, Log: r.Log, Events: r.Events}
		}
		r.queue = &Queue{Queue: r.Queue, Log: r.Log, Events: r.Events}
		r.hold = Hold(r.Queue, r.Log)
		r.discard = &Discard{Log: r.Log}
	})
}

// CheckQuota implements the SMTP server's quota question for one mailbox.
func (r *Router) CheckQuota(ctx context.Context, m directory.Mailbox, size int64) error {
	r.init()
	return r.Local.Store.CheckQuota(ctx, m.Username, m.Quota, size)
}

// choose is where a recipient goes: a discard or hold verdict takes the
// whole message; local mailboxes get their copy at once unless NOTIFY
// asks for a success notice (the queue delivers it, so the notice travels
// the same queue, RFC 3461 5.2.2); everything else is queued.
func (r *Router) choose(msg *Message, rc Routed) Target {
	if r.Choose != nil {
		if t := r.Choose(msg, rc); t != nil {
			return t
		}
	}
	switch wholeMessage(msg.Env) {
	case ActionDiscard:
		return r.discard
	case ActionHold:
		return r.hold
	}
	if rc.Dest.Kind == directory.Local && !wantsSuccess(rc.Rcpt.Notify) {
		return r.Local
	}
	return r.queue
}

// wholeMessage returns ActionDiscard or ActionHold when a verdict said so
// (discard wins, as in Postfix), else "".
func wholeMessage(env *envelope.Envelope) string {
	held := false
	for _, v := range env.Verdicts {
		switch v.Action {
		case ActionDiscard:
			return ActionDiscard
		case ActionHold:
			held = true
		}
	}
	if held {
		return ActionHold
	}
	return ""
}

// Deliver makes every copy of msg durable, together: it returns nil only
// when all are, and leaves none behind otherwise (so the client's retry
// cannot duplicate any). It returns an error wrapping ErrOverQuota when
// every recipient is a full local mailbox; when only some are, their
// copies wait in the queue so the others are not refused.
func (r *Router) Deliver(ctx context.Context, msg *Message) error {
	r.init()
	body, err := Compose(msg.Env, msg.Trace, msg.Body)
	if err != nil {
		return err
	}
	type open struct {
		t  Target
		tx Tx
		n  int
	}
	var opens []*open
	abort := func() {
		for _, o := range opens {
			o.tx.Abort()
		}
	}
	get := func(t Target) (*open, error) {
		for _, o := range opens {
			if o.t == t {
				return o, nil
			}
		}
		tx, err := t.Start(ctx, msg)
		if err != nil {
			return nil, err
		}
		o := &open{t: t, tx: tx}
		opens = append(opens, o)
		return o, nil
	}
	add := func(t Target, rc Routed) error {
		o, err := get(t)
		if err != nil {
			return err
		}
		if err := o.tx.AddRcpt(ctx, rc); err != nil {
			return err
		}
		o.n++
		return nil
	}
	var deferred []Routed
	var deferErr error
	for _, rc := range msg.Rcpts {
		err := add(r.choose(msg, rc), rc)
		var de *DeferError
		switch {
		case errors.As(err, &de):
			rc.Defer = de.Reason
			deferred, deferErr = append(deferred, rc), err
		case err != nil:
			abort()
			return err
		}
	}
	if len(deferred) > 0 && len(deferred) == len(msg.Rcpts) && errors.Is(deferErr, ErrOverQuota) {
		abort()
		return deferErr
	}
	for _, rc := range deferred {
		if err := add(r.queue, rc); err != nil {
			abort()
			return err
		}
	}
	txs := make([]Tx, 0, len(opens))
	for _, o := range opens {
		if o.n > 0 {
			txs = append(txs, o.tx)
		} else {
			o.tx.Abort()
		}
	}
	return commitAll(ctx, txs, body)
}

// wantsSuccess reports whether a NOTIFY list asks for success notices.
func wantsSuccess(notify []string) bool {
	for _, n := range notify {
		if strings.EqualFold(n, "SUCCESS") {
			return true
		}
	}
	return false
}
