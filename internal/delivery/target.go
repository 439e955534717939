package delivery

import (
	"context"
	"database/sql"
	"fmt"

	"mailwarden/internal/sqldb"
)

// Target is a destination for accepted mail (the local store, the queue, a
// next hop, discard, hold). The code handing mail over only chooses a
// target per recipient; everything else is the target's business.
type Target interface {
	// Start opens a transaction for msg. Nothing is written yet.
	Start(ctx context.Context, msg *Message) (Tx, error)
}

// Tx is one message on its way into one target. The router calls AddRcpt
// for each recipient, then Body once, then Commit once; Abort undoes
// whatever was done when any step of any target of the message failed.
type Tx interface {
	// AddRcpt adds a recipient. A *DeferError puts this recipient off:
	// the router queues it instead. Any other error fails the message.
	AddRcpt(ctx context.Context, rc Routed) error
	// Body writes the copy for every recipient added: trace, edited
	// header and body as one stream (see Compose). What it writes is not
	// visible to anyone until Commit's group commits.
	Body(ctx context.Context, b Body) error
	// Commit adds this transaction's durable step to g (rows into g's one
	// SQL transaction, what follows it to g's OnCommit). A target outside
	// the database (a next hop) does its work here, before g commits.
	Commit(ctx context.Context, g *Group) error
	// Abort removes what Body wrote. It is called after a failed Commit
	// too, and may be called more than once.
	Abort()
}

// DeferError is a recipient a target cannot take now but the queue may
// (a full mailbox): the router queues it with Reason as its last error.
type DeferError struct {
	Reason string // SMTP-like status kept with the queued copy: "552 5.2.2 mailbox full"
	Err    error
}

func (e *DeferError) Error() string { return e.Reason + ": " + e.Err.Error() }
func (e *DeferError) Unwrap() error { return e.Err }

// Group is the one durable step all targets of a message share: the SQL
// work each adds runs in a single database transaction (sqldb.Batch, so
// concurrent messages still share a commit), so every copy becomes
// durable or none does. Store and queue live in one database; should
// targets bring different ones, each database commits on its own, in the
// order they were first named.
type Group struct {
	dbs  []*sqldb.DB
	work map[*sqldb.DB][]func(context.Context, *sql.Tx) error
	done []func()
}

// Exec adds fn to the transaction on db.
func (g *Group) Exec(db *sqldb.DB, fn func(context.Context, *sql.Tx) error) {
	if g.work == nil {
		g.work = map[*sqldb.DB][]func(context.Context, *sql.Tx) error{}
	}
	if _, ok := g.work[db]; !ok {
		g.dbs = append(g.dbs, db)
	}
	g.work[db] = append(g.work[db], fn)
}

// OnCommit adds fn to what runs once the transaction committed (events,
// waking the queue runner, log lines).
func (g *Group) OnCommit(fn func()) { g.done = append(g.done, fn) }

// run commits the group, then runs the OnCommit functions.
func (g *Group) run(ctx context.Context) error {
	for _, db := range g.dbs {
		fns := g.work[db]
		err := db.Batch(ctx, func(tx *sql.Tx) error {
			for _, fn := range fns {
				if err := fn(ctx, tx); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("delivery: commit: %w", err)
		}
	}
	for _, fn := range g.done {
		fn()
	}
	return nil
}
