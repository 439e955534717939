package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"mailwarden/internal/event"
	"path/filepath"
	"strings"
	"time"

	"mailwarden/internal/queue"
)

const queueUsage = "queue list | show ID | flush [ID] | delete ID|ALL | hold ID|ALL | release ID|ALL"

// queueCmd administers the outbound queue like mailq, postcat -q,
// postqueue -f and postsuper -d/-h/-H. A running server notices changes
// within its poll interval.
func (c *cli) queueCmd(args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: %s", errUsage, queueUsage)
	}
	fs := flag.NewFlagSet("queue", flag.ContinueOnError)
	ctx := context.Background()
	pos, e, err := c.parseOpen(ctx, fs, args[1:])
	if err != nil {
		return err
	}
	defer e.close()
	q, err := queue.New(e.db, filepath.Join(e.cfg.DataDir, "queue"), e.cfg.Delivery.Fsync)
	if err != nil {
		return err
	}
	one := func(verb string) error { return need(pos, 1, "queue "+verb+" ID") }
	// Administrative changes go to the mail log (file or syslog), as
	// postsuper's do.
	events, closeLog := adminLog(e.cfg)
	defer closeLog()
	logAdmin := func(a event.AdminAction, id string, n int) {
		if n > 0 {
			events.Publish(&event.Admin{Action: a, QueueID: id, Count: n})
		}
	}
	switch args[0] {
	case "list", "ls":
		if err := need(pos, 0, "queue list"); err != nil {
			return err
		}
		es, err := q.List(ctx)
		if err != nil {
			return err
		}
		return mailq(c.stdout, es)
	case "show", "cat":
		if err := one("show"); err != nil {
			return err
		}
		return showQueued(ctx, c.stdout, q, pos[0])
	case "flush":
		var n int
		switch len(pos) {
		case 0:
			n, err = q.FlushAll(ctx)
			logAdmin(event.Flush, "ALL", n)
		case 1:
			n, err = q.Flush(ctx, pos[0])
			logAdmin(event.Flush, pos[0], n)
		default:
			return fmt.Errorf("%w: queue flush [ID]", errUsage)
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "%d message(s) due now; the running server delivers them within seconds\n", n)
		return nil
	case "delete", "del", "rm":
		if err := one("delete"); err != nil {
			return err
		}
		n, err := q.Delete(ctx, pos[0])
		logAdmin(event.Delete, pos[0], n)
		if err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "deleted %d message(s)\n", n)
		return nil
	case "hold", "release":
		if err := one(args[0]); err != nil {
			return err
		}
		f, done, act := q.Hold, "held", event.Hold
		if args[0] == "release" {
			f, done, act = q.Release, "released", event.Release
		}
		n, err := f(ctx, pos[0])
		logAdmin(act, pos[0], n)
		if err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "%s %d message(s)\n", done, n)
		return nil
	}
	return fmt.Errorf("%w: %s", errUsage, queueUsage)
}

// mailq prints the queue like Postfix's mailq: one block per message, the
// reason of a deferral in parentheses above its recipients.
func mailq(w io.Writer, es []queue.Entry) error {
	if len(es) == 0 {
		_, err := fmt.Fprintln(w, "Mail queue is empty")
		return err
	}
	fmt.Fprintln(w, "-Queue ID-      --Size-- ----Arrival Time---- -Sender/Recipient-------")
	var total int64
	for _, e := range es {
		id := e.ID
		if e.Held {
			id += "!"
		}
		sender := e.Sender
		if sender == "" {
			sender = "MAILER-DAEMON"
		}
		fmt.Fprintf(w, "%-15s %8d %20s  %s\n", id, e.Size, e.Arrival.Local().Format("Mon Jan _2 15:04:05"), sender)
		last := ""
		for _, r := range e.Pending() {
			if r.LastError != "" && r.LastError != last {
				fmt.Fprintf(w, "(%s)\n", r.LastError)
				last = r.LastError
			}
			fmt.Fprintf(w, "%47s%s\n", "", r.Address)
		}
		fmt.Fprintln(w)
		total += e.Size
	}
	req := "Requests"
	if len(es) == 1 {
		req = "Request"
	}
	_, err := fmt.Fprintf(w, "-- %d Kbytes in %d %s.\n", (total+1023)/1024, len(es), req)
	return err
}

// showQueued prints a message like postcat -q: envelope, then contents.
func showQueued(ctx context.Context, w io.Writer, q *queue.Queue, id string) error {
	e, body, err := q.Show(ctx, id)
	if e.ID == "" {
		return err
	}
	if err != nil {
		fmt.Fprintf(w, "(%v)\n", err) // the body file is gone
	}
	fmt.Fprintf(w, "*** ENVELOPE RECORDS %s ***\n", e.ID)
	field := func(k, v string) {
		if v != "" {
			fmt.Fprintf(w, "%s: %s\n", k, v)
		}
	}
	field("message_size", fmt.Sprint(e.Size))
	field("message_arrival_time", e.Arrival.Local().Format(time.RFC1123Z))
	field("client", e.Client)
	field("sasl_username", e.AuthUser)
	field("envelope_id", e.EnvID)
	field("ret", e.Ret)
	if e.Held {
		field("held", "yes")
	}
	if !e.NextAttempt.IsZero() {
		field("next_attempt", e.NextAttempt.Local().Format(time.RFC1123Z))
	}
	fmt.Fprintf(w, "sender: %s\n", e.Sender)
	for _, r := range e.Rcpts {
		var extra []string
		if r.ORCPT != "" {
			extra = append(extra, "orcpt="+r.ORCPT)
		}
		if r.Notify != "" {
			extra = append(extra, "notify="+r.Notify)
		}
		extra = append(extra, "kind="+r.Kind, "status="+r.Status, fmt.Sprintf("attempts=%d", r.Attempts))
		fmt.Fprintf(w, "recipient: %s (%s)\n", r.Address, strings.Join(extra, ", "))
		if r.LastError != "" {
			fmt.Fprintf(w, "  last error: %s\n", r.LastError)
		}
	}
	if body == nil {
		return nil
	}
	defer body.Close()
	fmt.Fprintf(w, "*** MESSAGE CONTENTS %s ***\n", e.ID)
	if _, err := io.Copy(w, body); err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "*** MESSAGE FILE END %s ***\n", e.ID)
	return err
}
