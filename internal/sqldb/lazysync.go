package sqldb

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
)

// lazyTx runs fn in a write transaction that commits with SQLite's
// synchronous=NORMAL: in WAL mode the commit is written to the WAL but
// not fsync'd (https://sqlite.org/pragma.html#pragma_synchronous). The
// setting is per connection and cannot change inside a transaction, so it
// is set on the one write connection before BEGIN and put back to FULL
// after; the WAL is then handed to the syncer. A connection that cannot
// be put back is discarded, so no durable commit ever runs at NORMAL.
func (db *DB) lazyTx(ctx context.Context, fn func(*sql.Tx) error) (err error) {
	if db.sync.broken.Load() {
		return db.Tx(ctx, fn)
	}
	conn, err := db.Write.Conn(ctx)
	if err != nil {
		return fmt.Errorf("sqldb: lazy: %w", err)
	}
	defer func() {
		if _, rerr := conn.ExecContext(context.Background(), "PRAGMA synchronous=FULL"); rerr != nil {
			conn.Raw(func(any) error { return driver.ErrBadConn })
			if err == nil {
				err = fmt.Errorf("sqldb: lazy: restore synchronous: %w", rerr)
			}
		}
		conn.Close()
	}()
	if _, err := conn.ExecContext(ctx, "PRAGMA synchronous=NORMAL"); err != nil {
		return fmt.Errorf("sqldb: lazy: %w", err)
	}
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqldb: begin: %w", err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqldb: commit: %w", err)
	}
	db.sync.kick()
	return nil
}

// lazySyncer fsyncs the WAL file after lazy commits, one fsync at a time:
// commits that arrive while one runs share the next. fsync(2) flushes a
// file's data whichever descriptor wrote it, so the WAL is opened here on
// its own. A WAL that does not exist has nothing unsynced: SQLite removes
// it only after a checkpoint, which syncs the database.
type lazySyncer struct {
	path    string
	kickCh  chan struct{}
	stop    chan struct{}
	stopped chan struct{}
	once    sync.Once
	synced  atomic.Int64 // fsyncs done (tests)
	// broken: an fsync of the WAL failed. What it should have covered
	// may be lost (as after a crash), and lazy commits are durable ones
	// from then on.
	broken atomic.Bool
}

func (ls *lazySyncer) start(path string) {
	ls.path = path
	ls.kickCh = make(chan struct{}, 1)
	ls.stop = make(chan struct{})
	ls.stopped = make(chan struct{})
	go ls.run()
}

func (ls *lazySyncer) kick() {
	select {
	case ls.kickCh <- struct{}{}:
	default: // a sync is already due; it will cover this commit
	}
}

func (ls *lazySyncer) run() {
	defer close(ls.stopped)
	for {
		select {
		case <-ls.kickCh:
			ls.syncNow()
		case <-ls.stop:
			select {
			case <-ls.kickCh:
				ls.syncNow()
			default:
			}
			return
		}
	}
}

func (ls *lazySyncer) syncNow() {
	f, err := os.Open(ls.path)
	if errors.Is(err, os.ErrNotExist) {
		ls.synced.Add(1)
		return
	}
	if err == nil {
		err = f.Sync()
		f.Close()
	}
	if err != nil {
		ls.broken.Store(true)
		return
	}
	ls.synced.Add(1)
}

// close syncs what is pending and stops the goroutine (after the batcher
// stopped, so that no lazy commit follows).
func (ls *lazySyncer) close() {
	if ls.stop == nil {
		return
	}
	ls.once.Do(func() {
		close(ls.stop)
		<-ls.stopped
	})
}
