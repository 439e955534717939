package table

import (
	"database/sql"
	"testing"
)

// sqlOpenForBench makes a SQLite database with an access(k, v) table.
func sqlOpenForBench(b *testing.B, path string) *sql.DB {
	b.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(wal)&_pragma=synchronous(off)")
	if err != nil {
		b.Fatal(err)
	}
	if _, err := db.Exec(`CREATE TABLE access (k TEXT PRIMARY KEY, v TEXT)`); err != nil {
		b.Fatal(err)
	}
	return db
}
