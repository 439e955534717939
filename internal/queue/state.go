package queue

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"
)

// outcome is what one delivery attempt did for one recipient.
type outcome struct {
	rcpt     string
	status   string // StatusSent, StatusDeferred or StatusBounced
	code     int
	enhanced string
	text     string
	relay    string
	expired  bool // bounced because the message is too old
	// action is the DSN action a delivery earns for NOTIFY=SUCCESS:
	// "delivered" (final delivery: a mailbox, LMTP), "relayed" (handed to
	// an SMTP server without DSN), or "" when the next hop took over the
	// request (it offers DSN) and no notice is due from here.
	action string
}

// diag is the reply as logged and kept in last_error: "550 5.1.1 text".
func (o outcome) diag() string {
	s := fmt.Sprint(o.code)
	if o.enhanced != "" {
		s += " " + o.enhanced
	}
	if o.text != "" {
		s += " " + o.text
	}
	return s
}

// dueIDs returns up to limit messages due at now that are not held.
func (q *Queue) dueIDs(ctx context.Context, now time.Time, limit int) ([]string, error) {
	rows, err := q.db.Read.QueryContext(ctx, `SELECT id FROM queue_message WHERE held=0 AND next_attempt<=?
		ORDER BY next_attempt, arrival LIMIT ?`, now.Unix(), limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// record stores one pass over a message: each recipient's outcome and
// when to try next (zero: leave as is). seen is the next attempt time the
// pass started from: when a flush or release changed it meanwhile, that
// request stands and next is not written. warned marks a delay
// notification as sent.
func (q *Queue) record(ctx context.Context, id string, at time.Time, outs []outcome, next, seen time.Time, warned bool) error {
	err := q.db.Batch(ctx, func(tx *sql.Tx) error {
		for _, o := range outs {
			if _, err := tx.ExecContext(ctx, `UPDATE queue_rcpt SET status=?, attempts=attempts+1, last_error=?, dsn=?, relay=?, last_attempt=?
				WHERE queue_id=? AND rcpt=?`, o.status, o.diag(), o.enhanced, o.relay, at.Unix(), id, o.rcpt); err != nil {
				return err
			}
		}
		if !next.IsZero() {
			var was int64
			if !seen.IsZero() {
				was = seen.Unix()
			}
			if _, err := tx.ExecContext(ctx, `UPDATE queue_message SET next_attempt=? WHERE id=? AND next_attempt=?`, next.Unix(), id, was); err != nil {
				return err
			}
		}
		if warned {
			if _, err := tx.ExecContext(ctx, `UPDATE queue_message SET warned=1 WHERE id=?`, id); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("queue: record %s: %w", id, err)
	}
	return nil
}

// sweepStats is what a sweep found.
type sweepStats struct {
	OrphanFiles []string // body files without rows, removed
	MissingBody []string // rows without a body file, made due
}

// sweep repairs what a crash can leave: body files with no rows (written,
// never committed) older than grace are removed; messages whose body file
// is gone are made due at once, so the runner bounces them.
func (q *Queue) sweep(ctx context.Context, now time.Time, grace time.Duration) (sweepStats, error) {
	var st sweepStats
	es, err := q.entries(ctx, "")
	if err != nil {
		return st, err
	}
	known := make(map[string]bool, len(es))
	for _, e := range es {
		known[e.ID] = true
	}
	files, err := os.ReadDir(q.dir)
	if err != nil {
		return st, err
	}
	onDisk := make(map[string]bool, len(files))
	for _, f := range files {
		name := f.Name()
		onDisk[name] = true
		if known[name] || !f.Type().IsRegular() || !validID(name) {
			continue
		}
		info, err := f.Info()
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return st, err
		}
		if now.Sub(info.ModTime()) < grace {
			continue // maybe being enqueued right now
		}
		// Check again: the rows may have been committed since entries().
		if _, err := q.Entry(ctx, name); !errors.Is(err, ErrNotFound) {
			continue
		}
		if err := os.Remove(q.Path(name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return st, err
		}
		st.OrphanFiles = append(st.OrphanFiles, name)
	}
	for _, e := range es {
		if onDisk[e.ID] {
			continue
		}
		if _, err := os.Stat(q.Path(e.ID)); !errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if _, err := q.Flush(ctx, e.ID); err != nil && !errors.Is(err, ErrNotFound) {
			return st, err
		}
		st.MissingBody = append(st.MissingBody, e.ID)
	}
	return st, nil
}
