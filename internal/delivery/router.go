package delivery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"mailwarden/internal/directory"
	"mailwarden/internal/queue"
	"mailwarden/internal/store"
)

// Router delivers accepted messages: local copies to the store, the rest to
// the queue.
type Router struct {
	Store *store.Store
	Queue *queue.Queue
	Log   *slog.Logger
}

// CheckQuota implements the SMTP server's quota question for one mailbox.
func (r *Router) CheckQuota(ctx context.Context, m directory.Mailbox, size int64) error {
	return r.Store.CheckQuota(ctx, m.Username, m.Quota, size)
}

// Deliver makes every copy of msg durable. It returns an error wrapping
// ErrOverQuota when every local recipient is full and there is nothing
// else to deliver; when only some are full, their copies wait in the queue
// (kind "local") so the others are not refused.
func (r *Router) Deliver(ctx context.Context, msg *Message) error {
	start := msg.Env.Received
	if start.IsZero() {
		start = time.Now()
	}
	size := int64(len(msg.Trace)) + msg.Body.Size()
	var targets []store.Target
	var locals []Routed
	var queued []queue.Rcpt
	var full []Routed
	var fullErr error
	for _, rc := range msg.Rcpts {
		d := rc.Dest
		switch d.Kind {
		case directory.Local:
			if wantsSuccess(rc.Rcpt.Notify) {
				// NOTIFY=SUCCESS: the queue delivers this copy, so that the
				// notice is sent and travels the same queue (RFC 3461 5.2.2).
				queued = append(queued, queueRcpt(rc, queue.KindLocal, ""))
				continue
			}
			if err := r.Store.CheckQuota(ctx, d.Mailbox.Username, d.Mailbox.Quota, size); err != nil {
				if !errors.Is(err, store.ErrOverQuota) {
					return err
				}
				full, fullErr = append(full, rc), err
				queued = append(queued, queueRcpt(rc, queue.KindLocal, "552 5.2.2 mailbox full"))
				continue
			}
			targets = append(targets, store.Target{Username: d.Mailbox.Username, Maildir: d.Mailbox.Maildir, Folder: "INBOX", DeliveredTo: d.Address})
			locals = append(locals, rc)
		case directory.Relay:
			queued = append(queued, queueRcpt(rc, queue.KindRelay, ""))
		default:
			queued = append(queued, queueRcpt(rc, queue.KindRemote, ""))
		}
	}
	if len(full) > 0 && len(full) == len(msg.Rcpts) {
		return fullErr
	}
	if len(targets) > 0 {
		if _, err := r.Store.Deliver(ctx, msg.Env.From, targets, msg.Trace, msg.Body); err != nil {
			return err
		}
	}
	if len(queued) > 0 {
		if err := r.Queue.Enqueue(ctx, msg.Env, msg.Trace, msg.Body, queued); err != nil {
			return err
		}
	}
	if r.Log != nil {
		delay := fmt.Sprintf("%.2f", time.Since(start).Seconds())
		for _, rc := range locals {
			r.Log.Info(msg.Env.ID + ": to=<" + rc.Dest.Address + ">" + origTo(rc) + ", relay=local, delay=" + delay +
				", dsn=2.0.0, status=sent (delivered to maildir)")
		}
		for _, q := range queued {
			why := "queued for delivery"
			if q.LastError != "" {
				why = q.LastError
			}
			r.Log.Info(msg.Env.ID + ": to=<" + q.Address + ">, relay=none, delay=" + delay + ", status=deferred (" + why + ")")
		}
	}
	return nil
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

func queueRcpt(rc Routed, kind, lastErr string) queue.Rcpt {
	return queue.Rcpt{
		Address:   rc.Dest.Address,
		ORCPT:     rc.Rcpt.ORCPT,
		Notify:    strings.Join(rc.Rcpt.Notify, ","),
		Kind:      kind,
		LastError: lastErr,
	}
}

func origTo(rc Routed) string {
	if strings.EqualFold(rc.Rcpt.Address, rc.Dest.Address) {
		return ""
	}
	return ", orig_to=<" + rc.Rcpt.Address + ">"
}
