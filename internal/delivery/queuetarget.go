package delivery

import (
	"context"
	"log/slog"
	"strings"
	"time"

	"mailwarden/internal/directory"
	"mailwarden/internal/event"
	"mailwarden/internal/queue"
)

// Queue is the queue as a Target: remote and relay recipients, and local
// copies that must wait (a full mailbox) or be reported (NOTIFY=SUCCESS,
// RFC 3461 5.2.2, so that the notice travels the same queue). With Held
// the message waits on hold (postsuper -h) until released: Hold.
type Queue struct {
	Queue *queue.Queue
	Held  bool
	// Log receives the lines for copies deferred at once (Routed.Defer)
	// and held messages; nil logs nothing.
	Log *slog.Logger
	// Events receives a Delivery (status=deferred) per copy deferred at
	// once; nil drops them.
	Events event.Publisher
}

// Hold returns the queue target that holds what it takes.
func Hold(q *queue.Queue, log *slog.Logger) *Queue { return &Queue{Queue: q, Held: true, Log: log} }

// Start implements Target.
func (q *Queue) Start(_ context.Context, msg *Message) (Tx, error) {
	return &queueTx{q: q, msg: msg}, nil
}

type queueTx struct {
	q       *Queue
	msg     *Message
	rcpts   []queue.Rcpt
	pending *queue.Pending
}

// AddRcpt records the recipient with its queue kind.
func (t *queueTx) AddRcpt(_ context.Context, rc Routed) error {
	kind := queue.KindRemote
	switch rc.Dest.Kind {
	case directory.Local:
		kind = queue.KindLocal
	case directory.Relay:
		kind = queue.KindRelay
	}
	t.rcpts = append(t.rcpts, queue.Rcpt{
		Address:   rc.Dest.Address,
		ORCPT:     rc.Rcpt.ORCPT,
		Notify:    strings.Join(rc.Rcpt.Notify, ","),
		Kind:      kind,
		LastError: rc.Defer,
	})
	return nil
}

// Body writes and syncs the queue file.
func (t *queueTx) Body(ctx context.Context, b Body) error {
	if len(t.rcpts) == 0 {
		return nil
	}
	p, err := t.q.Queue.Prepare(ctx, t.msg.Env, nil, b, t.rcpts)
	if err != nil {
		return err
	}
	p.Held = t.q.Held
	t.pending = p
	return nil
}

// Commit puts the queue rows into g's transaction.
func (t *queueTx) Commit(_ context.Context, g *Group) error {
	if t.pending == nil {
		return nil
	}
	g.Exec(t.q.Queue.DB(), t.pending.Insert)
	g.OnCommit(func() {
		t.pending.Committed()
		t.log()
	})
	return nil
}

func (t *queueTx) Abort() {
	if t.pending != nil {
		t.pending.Abort()
	}
}

func (t *queueTx) log() {
	id := t.msg.Env.ID
	if t.q.Held {
		if t.q.Log != nil {
			t.q.Log.Info(id + ": hold: " + holdReason(t.msg) + "; from=<" + t.msg.Env.From + ">")
		}
		return
	}
	if t.q.Events == nil {
		return
	}
	delay := time.Since(received(t.msg.Env))
	for _, r := range t.rcpts {
		if r.LastError != "" {
			t.q.Events.Publish(&event.Delivery{Program: event.Virtual, QueueID: id, To: r.Address, Relay: "none",
				Delay: delay, DSN: dsnOf(r.LastError), Status: event.Deferred, Text: r.LastError, Size: t.msg.Size()})
		}
	}
}

// dsnOf is the enhanced code in a "452 4.2.2 text" reply, or "".
func dsnOf(reply string) string {
	f := strings.Fields(reply)
	if len(f) > 1 && len(f[1]) >= 5 && f[1][1] == '.' {
		return f[1]
	}
	return ""
}

// holdReason is the reply of the verdict that held the message.
func holdReason(msg *Message) string {
	for _, v := range msg.Env.Verdicts {
		if v.Action == ActionHold {
			if v.Reply != "" {
				return v.Check + ": " + v.Reply
			}
			return v.Check
		}
	}
	return "held"
}
