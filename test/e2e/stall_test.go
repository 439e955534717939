package e2e

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"
)

// TestStalledDatabase: while another process holds the database's write
// lock (an admin's sqlite3 shell, a backup), a message gets 451 4.3.0
// when [smtp] timeout runs out, not a session hung for as long as the
// lock is held; nothing of it is stored, and once the lock is free mail
// flows again.
func TestStalledDatabase(t *testing.T) {
	t.Parallel()
	s := startServer(t, options{SMTP: []string{`timeout = "3s"`}}, oneDomain)
	first := newMessageID("before-stall")
	s.send("sender@remote.example", "alice@dom.test", message("sender@remote.example", "alice@dom.test", "1", first, "one"),
		"--local-interface", "127.0.0.2")

	other, err := sql.Open("sqlite", "file:"+filepath.Join(s.DataDir, "mailwarden.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	conn, err := other.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(context.Background(), "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	stalled := newMessageID("during-stall")
	r := s.swaks("--from", "sender@remote.example", "--to", "alice@dom.test", "--local-interface", "127.0.0.2",
		"--data", "@"+s.writeMessage(message("sender@remote.example", "alice@dom.test", "2", stalled, "two")))
	if r.Code == 0 || !strings.Contains(r.Out, "<** 451 4.3.0") {
		t.Errorf("while the database is locked: exit %d, want a 451 4.3.0 reply\n%s", r.Code, r.Out)
	}
	// The session gave up at its own deadline, not at SQLite's busy
	// timeout ("database is locked"), which a longer lock would outlast.
	// (The log reaches the test through a pipe: wait for the line.)
	s.waitLog(func(l string) bool {
		return strings.Contains(l, "sqldb: batch: waiting for the writer: context deadline exceeded")
	}, "a deliver error naming the session's deadline")
	conn.ExecContext(context.Background(), "ROLLBACK")
	conn.Close()

	last := newMessageID("after-stall")
	s.send("sender@remote.example", "alice@dom.test", message("sender@remote.example", "alice@dom.test", "3", last, "three"),
		"--local-interface", "127.0.0.2")
	for id, want := range map[string]int{first: 1, stalled: 0, last: 1} {
		if n := len(s.findMessage("alice@dom.test", id)); n != want {
			t.Errorf("message %s: %d copies, want %d", id, n, want)
		}
	}
	s.checkIndex()
}
