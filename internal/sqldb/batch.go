package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
)

var errAbandoned = errors.New("sqldb: batch: abandoned by its caller")

// errSolo rolls back a transaction whose one request failed.
var errSolo = errors.New("sqldb: batch: the one request failed")

// Batch runs fn in a write transaction shared with other concurrent callers
// (group commit): one COMMIT, and so one fsync, serves everyone waiting.
// Each fn runs inside its own SAVEPOINT, so one failing fn is rolled back
// alone. Batch returns after the shared transaction committed (nil) or
// failed; fn must not keep tx.
//
// Batch honours ctx while fn waits for its turn: a stalled database (the
// write lock held elsewhere, a batch ahead that does not finish) makes it
// return ctx's error as soon as ctx ends, and fn never runs. Once fn has
// started, Batch waits for the transaction's outcome, so an error always
// means fn's writes were not committed; fn should pass ctx to its
// statements so that they stop early too.
func (db *DB) Batch(ctx context.Context, fn func(*sql.Tx) error) error {
	return db.batch(ctx, fn, false)
}

// BatchLazy is Batch for changes that may reach the disk a few
// milliseconds after it returns: IMAP flag changes, expunges and \Recent
// claims, which Dovecot's mail_fsync=optimized does not sync at all. The
// shared transaction commits without waiting for an fsync (SQLite's
// synchronous=NORMAL for that transaction only), and the WAL is synced
// right after by a goroutine of its own (lazysync.go), so that concurrent
// lazy commits share one fsync and none holds the writer while it runs.
// A crash in that window can lose the change, never corrupt the database;
// a later durable commit (Batch, Tx) also makes it durable. Readers see
// it as soon as BatchLazy returns.
func (db *DB) BatchLazy(ctx context.Context, fn func(*sql.Tx) error) error {
	return db.batch(ctx, fn, true)
}

func (db *DB) batch(ctx context.Context, fn func(*sql.Tx) error, lazy bool) error {
	db.batchOnce.Do(db.startBatcher)
	req := &batchReq{ctx: ctx, fn: fn, lazy: lazy, done: make(chan error, 1)}
	select {
	case db.batchCh <- req:
	case <-ctx.Done():
		return fmt.Errorf("sqldb: batch: waiting for the writer: %w", ctx.Err())
	case <-db.closed:
		return fmt.Errorf("sqldb: closed")
	}
	select {
	case err := <-req.done:
		return err
	case <-ctx.Done():
		if req.state.CompareAndSwap(reqPending, reqAbandoned) {
			return fmt.Errorf("sqldb: batch: waiting for the writer: %w", ctx.Err())
		}
		return <-req.done // fn is running: its outcome is moments away
	}
}

// A request's state: the batcher moves it from pending to running just
// before fn runs, its caller from pending to abandoned when ctx ends
// first. Whichever moves first wins.
const (
	reqPending int32 = iota
	reqRunning
	reqAbandoned
)

type batchReq struct {
	ctx   context.Context
	fn    func(*sql.Tx) error
	lazy  bool       // BatchLazy
	done  chan error // buffered: the batcher never waits for a caller
	state atomic.Int32
}

type batcher struct {
	batchOnce sync.Once
	batchCh   chan *batchReq
	closed    chan struct{}
	stopped   chan struct{}
	sync      lazySyncer
}

// maxBatch bounds how many callers share one transaction.
const maxBatch = 256

func (db *DB) startBatcher() {
	db.batchCh = make(chan *batchReq, maxBatch)
	db.sync.start(db.Path + "-wal")
	go db.runBatches()
}

func (db *DB) runBatches() {
	defer close(db.stopped)
	for {
		var first *batchReq
		select {
		case first = <-db.batchCh:
		case <-db.closed:
			for {
				select {
				case r := <-db.batchCh:
					r.done <- fmt.Errorf("sqldb: closed")
				default:
					return
				}
			}
		}
		reqs := []*batchReq{first}
	drain:
		for len(reqs) < maxBatch {
			select {
			case r := <-db.batchCh:
				reqs = append(reqs, r)
			default:
				break drain
			}
		}
		db.runBatch(reqs)
	}
}

// runBatch commits the lazy requests first, in a transaction of their
// own that waits for no fsync, then the durable ones: a flag change never
// waits for the fsync an APPEND next to it needs.
func (db *DB) runBatch(reqs []*batchReq) {
	// Callers that gave up while the batch ahead ran need no transaction.
	reqs = slices.DeleteFunc(reqs, func(r *batchReq) bool { return r.state.Load() == reqAbandoned })
	var lazy, durable []*batchReq
	for _, r := range reqs {
		if r.lazy {
			lazy = append(lazy, r)
		} else {
			durable = append(durable, r)
		}
	}
	if len(lazy) > 0 {
		db.runShared(lazy, true)
	}
	if len(durable) > 0 {
		db.runShared(durable, false)
	}
}

// runShared runs reqs in one transaction, each in its savepoint.
func (db *DB) runShared(reqs []*batchReq, lazy bool) {
	errs := make([]error, len(reqs))
	tx := db.Tx
	if lazy {
		tx = db.lazyTx
	}
	err := tx(context.Background(), func(tx *sql.Tx) error {
		for i, r := range reqs {
			if !r.state.CompareAndSwap(reqPending, reqRunning) {
				errs[i] = errAbandoned // nobody reads it
				continue
			}
			if err := r.ctx.Err(); err != nil {
				errs[i] = fmt.Errorf("sqldb: batch: %w", err)
				continue
			}
			if len(reqs) == 1 {
				// Alone in the transaction: no savepoint needed, a
				// failure rolls the whole of it back.
				if err := r.fn(tx); err != nil {
					errs[i] = err
					return errSolo
				}
				return nil
			}
			if _, err := tx.Exec("SAVEPOINT batch_item"); err != nil {
				return err
			}
			if err := r.fn(tx); err != nil {
				errs[i] = err
				if _, err := tx.Exec("ROLLBACK TO SAVEPOINT batch_item"); err != nil {
					return err
				}
			}
			if _, err := tx.Exec("RELEASE SAVEPOINT batch_item"); err != nil {
				return err
			}
		}
		return nil
	})
	if err == errSolo {
		err = nil // errs[0] says why
	}
	for i, r := range reqs {
		if err != nil {
			r.done <- fmt.Errorf("sqldb: batch: %w", err)
		} else {
			r.done <- errs[i]
		}
	}
}
