package main

import (
	"context"
	"log/slog"
	"net/netip"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"mailwarden/internal/auth/login"
	"mailwarden/internal/block"
	"mailwarden/internal/config"
	"mailwarden/internal/sqldb"
)

// One prune run goes through more rows than one batch holds, deletes
// what has expired and keeps the rest.
func TestPrune(t *testing.T) {
	ctx := context.Background()
	db, err := sqldb.Open(ctx, filepath.Join(t.TempDir(), "m.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	cfg := config.Default()
	window := cfg.Auth.FailureWindow.D()
	p := &pruner{blocks: block.NewStore(db), failures: login.NewSQLFailures(db), cfg: func() *config.Config { return cfg },
		log: slog.New(slog.DiscardHandler)}
	now := time.Now()
	old := now.Add(-expiredBlockKeep - time.Hour)
	n := pruneBatch + 10
	tx, err := db.Write.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		ip := netip.AddrFrom4([4]byte{10, byte(i >> 8), byte(i), 1}).String()
		for _, q := range []struct {
			sql  string
			args []any
		}{
			{`INSERT INTO client_block(prefix, reason, created, expires) VALUES (?, 'autoblock: x', ?, ?)`, []any{ip + "/32", old.Unix(), old.Add(time.Minute).Unix()}},
			{`INSERT INTO login_lock(client, lock_until) VALUES (?, ?)`, []any{ip, now.Add(-time.Minute).Unix()}},
			{`INSERT INTO login_lock_user(client, username) VALUES (?, 'alice@example.org')`, []any{ip}},
			{`INSERT INTO login_failure(client, failed_at, username) VALUES (?, ?, 'bob')`, []any{ip, now.Add(-window - time.Second).Unix()}},
		} {
			if _, err := tx.Exec(q.sql, q.args...); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	keep := []struct{ table, sql string }{
		{"client_block", `INSERT INTO client_block(prefix, reason, created, expires) VALUES ('192.0.2.0/24', 'manual', 1, 0)`},
		{"client_block", `INSERT INTO client_block(prefix, reason, created, expires) VALUES ('192.0.2.200/32', 'recent', 1, ` + itoa(now.Add(-time.Hour).Unix()) + `)`},
		{"login_lock", `INSERT INTO login_lock(client, lock_until) VALUES ('192.0.2.9', ` + itoa(now.Add(time.Minute).Unix()) + `)`},
		{"login_lock_user", `INSERT INTO login_lock_user(client, username) VALUES ('192.0.2.9', 'carol')`},
		{"login_failure", `INSERT INTO login_failure(client, failed_at, username) VALUES ('192.0.2.9', ` + itoa(now.Unix()) + `, 'carol')`},
	}
	for _, k := range keep {
		if _, err := db.Write.Exec(k.sql); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.prune(ctx, now); err != nil {
		t.Fatal(err)
	}
	for table, want := range map[string]int{"client_block": 2, "login_lock": 1, "login_lock_user": 1, "login_failure": 1} {
		var got int
		if err := db.Read.QueryRow(`SELECT COUNT(*) FROM ` + table).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("%s: %d rows left, want %d", table, got, want)
		}
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
