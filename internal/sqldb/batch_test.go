package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func open(t *testing.T) *DB {
	t.Helper()
	db, err := Open(context.Background(), filepath.Join(t.TempDir(), "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Write.Exec("CREATE TABLE t (v INTEGER)"); err != nil {
		t.Fatal(err)
	}
	return db
}

// holdWriteLock takes SQLite's write lock from a connection of its own,
// as another process (a backup, an admin's sqlite3 shell) would, until
// the returned func is called.
func holdWriteLock(t *testing.T, db *DB) func() {
	t.Helper()
	other, err := sql.Open("sqlite", "file:"+db.Path)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := other.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(context.Background(), "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	release := func() {
		once.Do(func() {
			conn.ExecContext(context.Background(), "ROLLBACK")
			conn.Close()
			other.Close()
		})
	}
	t.Cleanup(release)
	return release
}

func count(t *testing.T, db *DB) int {
	t.Helper()
	var n int
	if err := db.Read.QueryRow("SELECT COUNT(*) FROM t").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestBatchStalledWriter: while another connection holds the write lock,
// callers with a deadline get their context's error back (not a hang
// until SQLite's busy timeout, not "database is locked"), and their
// writes never happen, not even once the lock is free again.
func TestBatchStalledWriter(t *testing.T) {
	db := open(t)
	release := holdWriteLock(t, db)
	var ran atomic.Int32
	errs := make([]error, 20)
	var wg sync.WaitGroup
	for i := range errs {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			defer cancel()
			errs[i] = db.Batch(ctx, func(tx *sql.Tx) error {
				ran.Add(1)
				_, err := tx.ExecContext(ctx, "INSERT INTO t VALUES (1)")
				return err
			})
		})
	}
	wg.Wait() // the lock is still held: every caller came back on its own
	for i, err := range errs {
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("caller %d: %v, want the deadline's error", i, err)
		}
	}
	release()
	// A caller after the stall is served, and only its write is there.
	if err := db.Batch(context.Background(), func(tx *sql.Tx) error {
		_, err := tx.Exec("INSERT INTO t VALUES (2)")
		return err
	}); err != nil {
		t.Fatalf("after the lock was released: %v", err)
	}
	if n := count(t, db); n != 1 || ran.Load() != 0 {
		t.Fatalf("%d rows, %d abandoned functions ran; want 1 and 0", n, ran.Load())
	}
}

// TestBatchRunningWaits: a caller whose fn has started waits for the
// commit even when its context ends meanwhile, so that an error from
// Batch always means nothing was written.
func TestBatchRunningWaits(t *testing.T) {
	db := open(t)
	ctx, cancel := context.WithCancel(context.Background())
	started, proceed := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- db.Batch(ctx, func(tx *sql.Tx) error {
			close(started)
			<-proceed
			_, err := tx.Exec("INSERT INTO t VALUES (1)")
			return err
		})
	}()
	<-started
	cancel()
	select {
	case err := <-done:
		t.Fatalf("Batch returned %v while its fn was running", err)
	default:
	}
	close(proceed)
	if err := <-done; err != nil {
		t.Fatalf("Batch: %v, but the write committed", err)
	}
	if n := count(t, db); n != 1 {
		t.Fatalf("%d rows, want 1", n)
	}
}

// TestBatchSharesCommit: concurrent callers all succeed, and a failing
// fn is rolled back alone.
func TestBatchSharesCommit(t *testing.T) {
	db := open(t)
	var wg sync.WaitGroup
	errs := make([]error, 50)
	for i := range errs {
		wg.Go(func() {
			errs[i] = db.Batch(context.Background(), func(tx *sql.Tx) error {
				if _, err := tx.Exec("INSERT INTO t VALUES (?)", i); err != nil {
					return err
				}
				if i%10 == 0 {
					return errors.New("refused")
				}
				return nil
			})
		})
	}
	wg.Wait()
	for i, err := range errs {
		if (err != nil) != (i%10 == 0) {
			t.Errorf("caller %d: %v", i, err)
		}
	}
	if n := count(t, db); n != 45 {
		t.Fatalf("%d rows, want 45", n)
	}
}
