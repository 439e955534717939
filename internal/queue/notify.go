package queue

import (
	"context"
	"errors"
	"io/fs"
	"mailwarden/internal/event"
	"strings"

	"mailwarden/internal/config"
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
			if rerr := r.q.record(ctx, id, r.o.Now(), nil, next, e.NextAttempt, false); rerr != nil {
				return rerr
			}
			return errors.New("non-delivery notification: " + err.Error())
		}
	}
	if _, err := r.q.remove(ctx, id); err != nil {
		return err
	}
	r.pub(&event.Removed{QueueID: id})
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
// whose NOTIFY asks for it). A failed notification (a bounce that could
// not be delivered) goes to the postmaster as a double bounce; nothing is
// sent for an auto-submitted message or any other report (no bounce of a
// bounce): that is only logged. body may be nil when the message file is
// gone.
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
	cfg := r.o.Config()
	to := e.Sender
	from := ""
	postmaster := false
	if strings.EqualFold(e.Sender, doubleBounceAddress(cfg)) {
		if kind == kindFailure {
			r.o.Logger.Warn(e.ID + ": from=<" + e.Sender + ">: undeliverable postmaster notification, double bounce discarded")
		}
		return nil
	}
	if dsn.NeverBounce(e.Sender, header) {
		null := strings.TrimSpace(strings.Trim(e.Sender, "<>")) == ""
		switch {
		case kind == kindFailure && null:
			// Postfix's double bounce: the postmaster gets the failed
			// notification, from an address whose own bounces are dropped.
			to, from, postmaster = postmasterAddress(cfg), doubleBounceAddress(cfg), true
		case null:
			return nil // a report about a report is never sent
		default:
			r.o.Logger.Info(e.ID + ": from=<" + e.Sender + ">: no " + kindName(kind) + " notification (auto-submitted message or delivery report)")
			return nil
		}
	}
	now := r.o.Now()
	rep := dsn.Report{
		Kind:              kind,
		ReportingMTA:      cfg.Hostname,
		QueueID:           e.ID,
		EnvID:             e.EnvID,
		ArrivalDate:       e.Arrival,
		To:                to,
		Recipients:        list,
		ReturnHeadersOnly: strings.EqualFold(e.Ret, "HDRS") && !postmaster,
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
		if route, err = r.o.Route(ctx, to); err != nil {
			return err
		}
	}
	env := &envelope.Envelope{ID: envelope.NewID(), From: from, Received: now,
		Body8: e.Body8 || e.SMTPUTF8, SMTPUTF8: e.SMTPUTF8}
	if err := r.q.Enqueue(ctx, env, nil, bytesBody(msg), []Rcpt{{Address: to, Kind: route}}); err != nil {
		return err
	}
	if postmaster {
		r.o.Logger.Warn(e.ID + ": undeliverable notification: postmaster copy (double bounce) to <" + to + ">: " + env.ID)
		r.pub(&event.DSN{QueueID: e.ID, NewID: env.ID, Kind: dsnKind(kind), Postmaster: true})
		return nil
	}
	r.pub(&event.DSN{QueueID: e.ID, NewID: env.ID, Kind: dsnKind(kind)})
	return nil
}

// kindName names a notification in logs, as Postfix does.
func kindName(k dsn.Kind) string {
	switch k {
	case kindFailure:
		return "non-delivery"
	case kindDelay:
		return "delay"
	}
	return "delivery status"
}

// postmasterAddress is queue.2bounce_notice_recipient, qualified with the
// host name when it has no domain.
func postmasterAddress(cfg *config.Config) string {
	a := cfg.Queue.DoubleBounceRecipient
	if a == "" {
		a = "postmaster"
	}
	if !strings.Contains(a, "@") {
		a += "@" + cfg.Hostname
	}
	return a
}

// doubleBounceAddress is the envelope sender of double bounces (Postfix
// double-bounce@$myorigin): notifications about them are discarded.
func doubleBounceAddress(cfg *config.Config) string {
	return "double-bounce@" + cfg.Hostname
}

func dsnRecipient(rc Rcpt) dsn.Recipient {
	d := dsn.Recipient{
		Final:       rc.Address,
		Original:    rc.ORCPT,
		Status:      rc.DSN,
		Diagnostic:  rc.LastError,
		LastAttempt: rc.LastAttempt,
		Action:      rc.Action,
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

// dsnKind is the event's name for a notification kind.
func dsnKind(k dsn.Kind) event.DSNKind {
	switch k {
	case kindDelay:
		return event.Delay
	case dsn.Success, dsn.Relayed:
		return event.Success
	}
	return event.NonDelivery
}
