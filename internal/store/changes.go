package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"time"
)

// Changes made by other processes (or nodes) reach this one's watchers
// through the mail_change table: every transaction that publishes an
// Event also writes a row there (noteChange), and a serving process
// polls the table (Feed) and publishes what others wrote. In-process
// events stay immediate; the table adds at most one poll interval for
// the others.

// newOrigin names this Store's process in mail_change rows.
func newOrigin() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// noteChange records a change inside the transaction that makes it.
const noteChangeSQL = `INSERT INTO mail_change(username, folder, kind, modseq, origin, created) VALUES (?,?,?,?,?,?)`

func (s *Store) noteChange(ctx context.Context, tx *sql.Tx, username, folder string, kind EventKind, modseq int64) error {
	// Prepared once: this runs for every delivered copy.
	_, err := tx.StmtContext(ctx, s.stmts.noteChange).ExecContext(ctx, username, folder, int(kind), modseq, s.origin, time.Now().Unix())
	if err != nil {
		return fmt.Errorf("store: note change: %w", err)
	}
	return nil
}

// Feed polls mail_change for changes made by other processes.
type Feed struct {
	s    *Store
	last int64
	// Keep is how long rows stay before Prune removes them.
	Keep time.Duration
}

// NewFeed starts reading after the newest change committed so far.
func (s *Store) NewFeed(ctx context.Context) (*Feed, error) {
	f := &Feed{s: s, Keep: time.Hour}
	if err := s.db.Read.QueryRowContext(ctx, `SELECT COALESCE(MAX(id), 0) FROM mail_change`).Scan(&f.last); err != nil {
		return nil, fmt.Errorf("store: change feed: %w", err)
	}
	return f, nil
}

// feedBatch bounds the rows one Poll reads.
const feedBatch = 1000

// Poll publishes the changes other processes committed since the last
// Poll to this process's watchers and returns how many rows it read.
func (f *Feed) Poll(ctx context.Context) (int, error) {
	rows, err := f.s.db.Read.QueryContext(ctx, `SELECT id, username, folder, kind, modseq, origin FROM mail_change
		WHERE id > ? ORDER BY id LIMIT ?`, f.last, feedBatch)
	if err != nil {
		return 0, fmt.Errorf("store: change feed: %w", err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var ev Event
		var kind int
		var origin string
		if err := rows.Scan(&f.last, &ev.Username, &ev.Folder, &kind, &ev.ModSeq, &origin); err != nil {
			return n, fmt.Errorf("store: change feed: %w", err)
		}
		n++
		if origin == f.s.origin {
			continue // published in-process already
		}
		ev.Kind = EventKind(kind)
		f.s.publish(ev)
	}
	if err := rows.Err(); err != nil {
		return n, fmt.Errorf("store: change feed: %w", err)
	}
	return n, nil
}

// Prune removes rows older than Keep, never the newest (its id must not
// be handed out again).
func (f *Feed) Prune(ctx context.Context) (int64, error) {
	res, err := f.s.db.Write.ExecContext(ctx, `DELETE FROM mail_change WHERE created < ? AND id < (SELECT MAX(id) FROM mail_change)`,
		time.Now().Add(-f.Keep).Unix())
	if err != nil {
		return 0, fmt.Errorf("store: prune changes: %w", err)
	}
	return res.RowsAffected()
}

// Run polls every interval and prunes every pruneEvery until ctx ends;
// errors go to the Store's logger (a down database is retried).
func (f *Feed) Run(ctx context.Context, interval, pruneEvery time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	lastPrune := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for {
			n, err := f.Poll(ctx)
			if err != nil {
				if ctx.Err() == nil {
					f.s.log.Warn(err.Error())
				}
				break
			}
			if n < feedBatch {
				break
			}
		}
		if time.Since(lastPrune) >= pruneEvery {
			lastPrune = time.Now()
			if _, err := f.Prune(ctx); err != nil && ctx.Err() == nil {
				f.s.log.Warn(err.Error())
			}
		}
	}
}
