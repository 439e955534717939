package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"sync"
	"testing"
	"time"
)

// synchronous reads the write connection's setting (2 is FULL).
func synchronous(t *testing.T, db *DB) int {
	t.Helper()
	var v int
	if err := db.Write.QueryRow("PRAGMA synchronous").Scan(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

// TestBatchLazy: lazy and durable callers mixed all commit, a failing
// lazy fn is rolled back alone, readers see lazy writes when BatchLazy
// returns, the WAL is fsync'd after them, and the write connection is
// back at synchronous=FULL for every durable commit.
func TestBatchLazy(t *testing.T) {
	db := open(t)
	if got := synchronous(t, db); got != 2 {
		t.Fatalf("synchronous = %d before, want 2 (FULL)", got)
	}
	ctx := context.Background()
	boom := errors.New("boom")
	var wg sync.WaitGroup
	errs := make([]error, 40)
	for i := range errs {
		wg.Go(func() {
			ins := func(tx *sql.Tx) error {
				if _, err := tx.ExecContext(ctx, "INSERT INTO t VALUES (?)", i); err != nil {
					return err
				}
				if i%10 == 3 {
					return boom
				}
				return nil
			}
			if i%2 == 0 {
				errs[i] = db.BatchLazy(ctx, ins)
			} else {
				errs[i] = db.Batch(ctx, ins)
			}
		})
	}
	wg.Wait()
	for i, err := range errs {
		if want := i%10 == 3; (err != nil) != want || (want && !errors.Is(err, boom)) {
			t.Errorf("caller %d: err = %v", i, err)
		}
	}
	if n := count(t, db); n != 36 {
		t.Errorf("%d rows, want 36", n)
	}
	if got := synchronous(t, db); got != 2 {
		t.Errorf("synchronous = %d after lazy batches, want 2 (FULL)", got)
	}
	// One lazy write alone: visible at once, then synced.
	before := db.sync.synced.Load()
	var during int
	if err := db.BatchLazy(ctx, func(tx *sql.Tx) error {
		if err := tx.QueryRow("PRAGMA synchronous").Scan(&during); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, "INSERT INTO t VALUES (100)")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if during != 1 {
		t.Errorf("synchronous = %d in a lazy transaction, want 1 (NORMAL)", during)
	}
	if n := count(t, db); n != 37 {
		t.Errorf("%d rows after a lazy insert, want 37", n)
	}
	deadline := time.Now().Add(10 * time.Second)
	for db.sync.synced.Load() == before {
		if time.Now().After(deadline) {
			t.Fatal("the WAL was not synced after a lazy commit")
		}
		time.Sleep(time.Millisecond)
	}
	if db.sync.broken.Load() {
		t.Error("an fsync of the WAL failed")
	}
}

// TestBatchLazyBroken: after an fsync of the WAL failed, lazy commits are
// durable ones (the write connection stays at FULL throughout).
func TestBatchLazyBroken(t *testing.T) {
	db := open(t)
	db.batchOnce.Do(db.startBatcher)
	db.sync.broken.Store(true)
	err := db.BatchLazy(context.Background(), func(tx *sql.Tx) error {
		var v int
		if err := tx.QueryRow("PRAGMA synchronous").Scan(&v); err != nil {
			return err
		}
		if v != 2 {
			return errors.New("lazy commit at NORMAL after a failed fsync")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestBatchAloneFails: a request alone in its transaction (no savepoint)
// that fails is rolled back and gets its own error, lazy or not; the
// next one commits.
func TestBatchAloneFails(t *testing.T) {
	db := open(t)
	ctx := context.Background()
	boom := errors.New("boom")
	for _, batch := range []func(context.Context, func(*sql.Tx) error) error{db.Batch, db.BatchLazy} {
		err := batch(ctx, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, "INSERT INTO t VALUES (1)"); err != nil {
				return err
			}
			return boom
		})
		if err != boom {
			t.Fatalf("err = %v, want the request's own", err)
		}
		if n := count(t, db); n != 0 {
			t.Fatalf("%d rows after a failed request", n)
		}
	}
	if err := db.Batch(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, "INSERT INTO t VALUES (2)")
		return err
	}); err != nil || count(t, db) != 1 {
		t.Fatalf("next request: %v, %d rows", err, count(t, db))
	}
}
