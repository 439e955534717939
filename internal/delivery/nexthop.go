package delivery

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"mailwarden/internal/event"
	"strings"
	"time"

	"mailwarden/internal/smtpclient"
)

// NextHop is an SMTP or LMTP server as a Target (a before-queue content
// filter, Postfix's FILTER, or an LMTP mailbox server): the message is
// handed over while the client waits, and the hop's replies decide.
// It commits before the group's database transaction (a hop cannot take
// a message back): should that transaction then fail, the client's retry
// reaches the hop twice, a duplicate of a message never acknowledged.
type NextHop struct {
	Hop smtpclient.Hop
	// Options returns the client settings (HELO name, timeouts, TLS).
	Options func() smtpclient.Options
	// Log receives free-text lines; nil logs nothing.
	Log *slog.Logger
	// Events receives one Delivery per recipient; nil drops them.
	Events event.Publisher
}

// HopError is a next hop's refusal of some recipients; Results holds
// every recipient's reply.
type HopError struct {
	Results []smtpclient.Result
}

func (e *HopError) Error() string {
	var parts []string
	for _, r := range e.Results {
		if !r.OK() {
			parts = append(parts, fmt.Sprintf("<%s>: %d %s %s (%s)", r.Rcpt, r.Code, r.Enhanced, r.Text, r.Relay))
		}
	}
	return "delivery: next hop refused " + strings.Join(parts, "; ")
}

// Permanent reports whether every refusal was permanent (5xx).
func (e *HopError) Permanent() bool {
	for _, r := range e.Results {
		if !r.OK() && !r.Permanent {
			return false
		}
	}
	return true
}

// Start implements Target.
func (h *NextHop) Start(_ context.Context, msg *Message) (Tx, error) {
	return &hopTx{h: h, msg: msg}, nil
}

type hopTx struct {
	h     *NextHop
	msg   *Message
	rcpts []smtpclient.Rcpt
	body  Body
}

func (t *hopTx) AddRcpt(_ context.Context, rc Routed) error {
	t.rcpts = append(t.rcpts, smtpclient.Rcpt{Addr: rc.Dest.Address, Notify: rc.Rcpt.Notify, ORCPT: rc.Rcpt.ORCPT})
	return nil
}

func (t *hopTx) Body(_ context.Context, b Body) error {
	t.body = b
	return nil
}

// Commit hands the message over; every recipient must be accepted.
func (t *hopTx) Commit(ctx context.Context, g *Group) error {
	if len(t.rcpts) == 0 {
		return nil
	}
	env := t.msg.Env
	m := &smtpclient.Message{
		From:     env.From,
		Rcpts:    t.rcpts,
		Size:     t.body.Size(),
		Body:     func() (io.ReadCloser, error) { return io.NopCloser(t.body.Reader()), nil },
		EightBit: env.Body8,
		SMTPUTF8: env.SMTPUTF8,
		RetFull:  strings.EqualFold(env.Ret, "FULL"),
		EnvID:    env.EnvID,
	}
	res, err := smtpclient.DeliverTo(ctx, t.h.Options(), t.h.Hop, m)
	if err != nil {
		return fmt.Errorf("delivery: next hop: %w", err)
	}
	for _, r := range res {
		if !r.OK() {
			return &HopError{Results: res}
		}
	}
	g.OnCommit(func() { t.log(res) })
	return nil
}

func (t *hopTx) Abort() {}

func (t *hopTx) log(res []smtpclient.Result) {
	if t.h.Events == nil {
		return
	}
	delay := time.Since(received(t.msg.Env))
	prog := event.SMTP
	if t.h.Hop.LMTP {
		prog = event.LMTP
	}
	for _, r := range res {
		t.h.Events.Publish(&event.Delivery{Program: prog, QueueID: t.msg.Env.ID, To: r.Rcpt, Relay: r.Relay, Delay: delay,
			DSN: r.Enhanced, Status: event.Sent, Text: fmt.Sprintf("%d %s %s", r.Code, r.Enhanced, r.Text), Size: t.msg.Size()})
	}
}
