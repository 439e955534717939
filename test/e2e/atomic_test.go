package e2e

import (
	"database/sql"
	"path/filepath"
	"strings"
	"testing"
)

// TestDeliveryAllOrNothing injects a fault into the running server's
// database (a trigger that refuses every queue insert) while a client
// sends one message to two local mailboxes and a relay domain: the client
// gets a 4xx and no local copy exists; after the fault is gone, the
// client's retry leaves exactly one copy per mailbox and one queue entry.
func TestDeliveryAllOrNothing(t *testing.T) {
	t.Parallel()
	s := startServer(t, options{Top: []string{`relay_domains = ["backup.test"]`}}, func(s *server) {
		s.admin("domain", "add", "dom.test")
		s.addUser("alice@dom.test")
		s.addUser("bob@dom.test")
	})
	db, err := sql.Open("sqlite", "file:"+filepath.Join(s.DataDir, "mailwarden.db")+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE TRIGGER e2e_fault BEFORE INSERT ON queue_message BEGIN SELECT RAISE(ABORT, 'injected fault'); END`); err != nil {
		t.Fatal(err)
	}
	msgID := newMessageID("atomic")
	file := s.writeMessage(message("sender@remote.example", "alice@dom.test", "all or nothing", msgID, "one copy each\n"))
	send := func() swaksResult {
		return s.swaks("--local-interface", "127.0.0.2", "--from", "sender@remote.example",
			"--to", "alice@dom.test,bob@dom.test,x@backup.test", "--data", "@"+file)
	}
	r := send()
	if r.Code == 0 || !strings.Contains(r.Out, "<** 451 4.3.0") {
		t.Fatalf("with the queue failing: swaks exit %d, want a 451 4.3.0 after DATA:\n%s", r.Code, r.Out)
	}
	for _, u := range []string{"alice@dom.test", "bob@dom.test"} {
		if n := len(s.findMessage(u, msgID)); n != 0 {
			t.Errorf("%s holds %d copies after the refused attempt", u, n)
		}
	}
	if _, err := db.Exec(`DROP TRIGGER e2e_fault`); err != nil {
		t.Fatal(err)
	}
	if r := send(); r.Code != 0 {
		t.Fatalf("retry: swaks exit %d:\n%s", r.Code, r.Out)
	}
	for _, u := range []string{"alice@dom.test", "bob@dom.test"} {
		if n := len(s.findMessage(u, msgID)); n != 1 {
			t.Errorf("%s holds %d copies after the retry, want 1", u, n)
		}
	}
	got := queryStrings(t, db, `SELECT rcpt FROM queue_rcpt`)
	if len(got) != 1 || got[0] != "x@backup.test" {
		t.Errorf("queue recipients after the retry: %q, want [x@backup.test]", got)
	}
	s.checkIndex()
}
