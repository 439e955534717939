package directory

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"mailwarden/internal/auth/password"
	"mailwarden/internal/sqldb"
)

func TestSCRAMKeysFollowThePassword(t *testing.T) {
	ctx := context.Background()
	d := newTestDir(t)
	if err := d.AddDomain(ctx, Domain{Name: "a.test", Active: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.AddMailbox(ctx, Mailbox{Username: "alice@a.test", PasswordHash: "{PLAIN}one", Active: true}); err != nil {
		t.Fatal(err)
	}
	k, err := password.NewSCRAMKeys("one", 4096)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.SCRAMKeys(ctx, "alice@a.test"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("before: %v", err)
	}
	if err := d.SetSCRAMKeys(ctx, "alice@a.test", "{PLAIN}other", k); !errors.Is(err, ErrNotFound) {
		t.Fatalf("keys for another password stored: %v", err)
	}
	if err := d.SetSCRAMKeys(ctx, "nobody@a.test", "{PLAIN}one", k); !errors.Is(err, ErrNotFound) {
		t.Fatalf("keys for an unknown mailbox: %v", err)
	}
	if err := d.SetSCRAMKeys(ctx, "Alice@A.test", "{PLAIN}one", k); err != nil {
		t.Fatal(err)
	}
	got, err := d.SCRAMKeys(ctx, "ALICE@a.test")
	if err != nil || got.String() != k.String() {
		t.Fatalf("got %v, %v; want %v", got, err, k)
	}
	// Replaced in place.
	k2, _ := password.NewSCRAMKeys("one", 5000)
	if err := d.SetSCRAMKeys(ctx, "alice@a.test", "{PLAIN}one", k2); err != nil {
		t.Fatal(err)
	}
	if got, _ := d.SCRAMKeys(ctx, "alice@a.test"); got.Iterations != 5000 || !bytes.Equal(got.Salt, k2.Salt) {
		t.Fatalf("after replace: %v", got)
	}
	// A new password, by any route, retires them.
	if err := d.SetPassword(ctx, "alice@a.test", "{PLAIN}two"); err != nil {
		t.Fatal(err)
	}
	if _, err := d.SCRAMKeys(ctx, "alice@a.test"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("stale keys returned: %v", err)
	}
	// Deleting the mailbox deletes them.
	if err := d.SetSCRAMKeys(ctx, "alice@a.test", "{PLAIN}two", k); err != nil {
		t.Fatal(err)
	}
	if _, err := d.DeleteMailbox(ctx, "alice@a.test"); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := d.db.Read.QueryRowContext(ctx, `SELECT COUNT(*) FROM mailbox_scram`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("%d rows left after user del (%v)", n, err)
	}
}

func TestSecret(t *testing.T) {
	ctx := context.Background()
	d := newTestDir(t)
	a, err := d.Secret(ctx, "scram", 32)
	if err != nil || len(a) != 32 {
		t.Fatalf("%x, %v", a, err)
	}
	b, _ := d.Secret(ctx, "scram", 32)
	c, _ := d.Secret(ctx, "other", 32)
	if !bytes.Equal(a, b) || bytes.Equal(a, c) {
		t.Fatalf("secrets %x %x %x", a, b, c)
	}
}

// TestMigrationOnExistingDatabase upgrades a database made by the schema
// before SCRAM (migrations 1 to 3) with a mailbox in it.
func TestMigrationOnExistingDatabase(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	old, err := sql.Open("sqlite", "file:"+path+"?_pragma=foreign_keys(1)")
	if err != nil {
		t.Fatal(err)
	}
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := old.ExecContext(ctx, q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	exec(`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP)`)
	for i, f := range []string{"0001_init.sql", "0002_mail_store.sql", "0003_queue.sql"} {
		body, err := os.ReadFile(filepath.Join("..", "sqldb", "migrations", f))
		if err != nil {
			t.Fatal(err)
		}
		exec(string(body))
		exec(`INSERT INTO schema_migrations(version) VALUES (?)`, i+1)
	}
	exec(`INSERT INTO domain(domain) VALUES ('a.test')`)
	exec(`INSERT INTO mailbox(username, password, maildir, local_part, domain) VALUES ('bob@a.test', '{PLAIN}pw', 'a.test/bob/', 'bob', 'a.test')`)
	old.Close()

	db, err := sqldb.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if v, err := db.Version(ctx); err != nil || v < 4 {
		t.Fatalf("version %d, %v", v, err)
	}
	d := New(db)
	if _, err := d.SCRAMKeys(ctx, "bob@a.test"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("keys before any were stored: %v", err)
	}
	k, _ := password.NewSCRAMKeys("pw", 4096)
	if err := d.SetSCRAMKeys(ctx, "bob@a.test", "{PLAIN}pw", k); err != nil {
		t.Fatal(err)
	}
	if got, err := d.SCRAMKeys(ctx, "bob@a.test"); err != nil || got.String() != k.String() {
		t.Fatalf("got %v, %v", got, err)
	}
	if _, err := d.Secret(ctx, "scram", 32); err != nil {
		t.Fatal(err)
	}
}
