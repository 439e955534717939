package queue

import (
	"context"
	"errors"
	"io/fs"
	"strings"

	"mailwarden/internal/dsn"
	"mailwarden/internal/envelope"
)

const (
	kindFailure = dsn.Failure
	kindDelay   = dsn.Delay
)

// finish handles a message with nothing pending: one failure notification
// for its bounced recipients (if any asked for one), then removal.
func (r *Runner) finish(ctx context.Context, id string) error {
	e, err := r.q.Entry(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if len(e.Pending()) > 0 {
		return nil
	}
	var bounced []Rcpt
	for _, rc := range e.Rcpts {
		if rc.Status == StatusBounced {
			bounced = append(bounced, rc)
		}
	}
	if len(bounced) > 0 {
		body, err := openBody(r.q.Path(id))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		if body != nil {
			defer body.Close()
		}
		if err := r.notify(ctx, e, kindFailure, bounced, body); err != nil {
			// Keep the message so that the notification is not lost.
			next := r.o.Now().Add(r.o.MinBackoff)
			if rerr := r.q.record(ctx, id, r.o.Now(), nil, next, false); rerr != nil {
				return rerr
			}
			return errors.New("non-delivery notification: " + err.Error())
		}
	}
	if _, err := r.q.remove(ctx, id); err != nil {
		return err
	}
	r.o.Logger.Info(id + ": removed")
	return nil
}

// wants reports whether a recipient's NOTIFY asks for this kind of
// notification; without NOTIFY, failures and delays are reported (RFC 3461
// 4.1).
func wants(notify string, kind dsn.Kind) bool {
	if notify == "" {
		return kind == kindFailure || kind == kindDelay
	}
	word := "FAILURE"
	switch kind {
	case kindDelay:
		word = "DELAY"
	case dsn.Success:
		word = "SUCCESS"
	}
	for _, n := range strings.Split(notify, ",") {
		if strings.EqualFold(strings.TrimSpace(n), word) {
			return true
		}
	}
	return false
}

// notify queues a notification of kind to e's sender about rcpts (those
// whose NOTIFY asks for it). Nothing is sent for a null sender, an
// auto-submitted message or a report (no bounce of a bounce): that is only
// logged. body may be nil when the message file is gone.
func (r *Runner) notify(ctx context.Context, e Entry, kind dsn.Kind, rcpts []Rcpt, body *fileBody) error {
	var list []dsn.Recipient
	for _, rc := range rcpts {
		if wants(rc.Notify, kind) {
			list = append(list, dsnRecipient(rc))
		}
	}
	if len(list) == 0 {
		return nil
	}
	var header []byte
	if body != nil {
		header = body.header()
	}
	if dsn.NeverBounce(e.Sender, header) {
		what := "notification"
		if kind == kindFailure {
			what = "non-delivery notification"
		}
		if strings.TrimSpace(strings.Trim(e.Sender, "<>")) == "" {
			r.o.Logger.Warn(e.ID + ": from=<>: undeliverable notification, double bounce discarded")
			return nil
		}
		r.o.Logger.Info(e.ID + ": from=<" + e.Sender + ">: no " + what + " (auto-submitted message or delivery report)")
		return nil
	}
	cfg := r.o.Config()
	now := r.o.Now()
	rep := dsn.Report{
		Kind:              kind,
		ReportingMTA:      cfg.Hostname,
		QueueID:           e.ID,
		EnvID:             e.EnvID,
		ArrivalDate:       e.Arrival,
		To:                e.Sender,
		Recipients:        list,
		ReturnHeadersOnly: strings.EqualFold(e.Ret, "HDRS"),
		SMTPUTF8:          e.SMTPUTF8,
		Date:              now,
	}
	if body != nil {
		rep.Original = body.Reader()
	}
	if kind == kindDelay {
		until := e.Arrival.Add(r.lifetimeOf(e))
		for i := range rep.Recipients {
			rep.Recipients[i].WillRetryUntil = until
		}
	}
	msg, err := rep.Build()
	if err != nil {
		return err
	}
	route := KindRemote
	if r.o.Route != nil {
		if route, err = r.o.Route(ctx, e.Sender); err != nil {
			return err
		}
	}
	env := &envelope.Envelope{ID: envelope.NewID(), From: "", Received: now,
		Body8: e.Body8 || e.SMTPUTF8, SMTPUTF8: e.SMTPUTF8}
	if err := r.q.Enqueue(ctx, env, nil, bytesBody(msg), []Rcpt{{Address: e.Sender, Kind: route}}); err != nil {
		return err
	}
	what := "non-delivery"
	if kind == kindDelay {
		what = "delay"
	}
	r.o.Logger.Info(e.ID + ": sender " + what + " notification: " + env.ID)
	return nil
}

func dsnRecipient(rc Rcpt) dsn.Recipient {
	d := dsn.Recipient{
		Final:       rc.Address,
		Original:    rc.ORCPT,
		Status:      rc.DSN,
		Diagnostic:  rc.LastError,
		LastAttempt: rc.LastAttempt,
	}
	host, _, _ := strings.Cut(rc.Relay, "[")
	switch host {
	case "", "none", "local":
	default:
		d.RemoteMTA = "dns; " + host
		if rc.LastError != "" {
			d.Diagnostic = "smtp; " + rc.LastError
		}
	}
	return d
}
