package sqldb

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
)

// Batch runs fn in a write transaction shared with other concurrent callers
// (group commit): one COMMIT, and so one fsync, serves everyone waiting.
// Each fn runs inside its own SAVEPOINT, so one failing fn is rolled back
// alone. Batch returns after the shared transaction committed (nil) or
// failed; fn must not keep tx.
func (db *DB) Batch(ctx context.Context, fn func(*sql.Tx) error) error {
	db.batchOnce.Do(db.startBatcher)
	req := &batchReq{ctx: ctx, fn: fn, done: make(chan error, 1)}
	select {
	case db.batchCh <- req:
	case <-ctx.Done():
		return ctx.Err()
	case <-db.closed:
		return fmt.Errorf("sqldb: closed")
	}
	return <-req.done
}

type batchReq struct {
	ctx  context.Context
	fn   func(*sql.Tx) error
	done chan error
}

type batcher struct {
	batchOnce sync.Once
	batchCh   chan *batchReq
	closed    chan struct{}
	stopped   chan struct{}
}

// maxBatch bounds how many callers share one transaction.
const maxBatch = 256

func (db *DB) startBatcher() {
	db.batchCh = make(chan *batchReq, maxBatch)
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

func (db *DB) runBatch(reqs []*batchReq) {
	errs := make([]error, len(reqs))
	err := db.Tx(context.Background(), func(tx *sql.Tx) error {
		for i, r := range reqs {
			if err := r.ctx.Err(); err != nil {
				errs[i] = err
				continue
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
	for i, r := range reqs {
		if err != nil {
			r.done <- fmt.Errorf("sqldb: batch: %w", err)
		} else {
			r.done <- errs[i]
		}
	}
}
