package e2e

import (
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSQLSenderAccessAndReload: check_sender_access on a sqlite: table
// decides what swaks sees at RCPT; a row added to the database, an edited
// hash: file and an edited sqlite: config file all change the decisions
// of the running server without a reload, and a table whose database
// cannot be read is a 4xx, not an accept.
func TestSQLSenderAccessAndReload(t *testing.T) {
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "senders.db")
	db, err := sql.Open("sqlite", "file:"+dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := db.Exec(q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	exec(`CREATE TABLE senders (k TEXT PRIMARY KEY, action TEXT)`)
	exec(`INSERT INTO senders VALUES ('spammer@bad.example', 'REJECT go away spammer'), ('bad.example', '550 5.7.1 nothing from bad.example')`)
	write := func(name, text string) string {
		t.Helper()
		p := filepath.Join(dir, name)
		// Write a new file and rename it into place, as editors and
		// config tools do.
		if err := os.WriteFile(p+".tmp", []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(p+".tmp", p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cf := write("senders.cf", "dbpath = "+dbPath+"\nquery = SELECT action FROM senders WHERE k = '%s'\n")
	rcpts := write("recipients", "bob@dom.test REJECT bob is away\n")
	s := startServer(t, options{Extra: []string{"", "[restrictions]",
		`sender = ["check_sender_access sqlite:` + cf + `"]`,
		`recipient = ["check_recipient_access hash:` + rcpts + `"]`}}, oneDomain)

	rcpt := func(from, to string) string {
		t.Helper()
		r := s.swaks("--from", from, "--to", to, "--quit-after", "RCPT")
		// The server's reply to RCPT TO.
		seen := false
		for _, l := range strings.Split(r.Out, "\n") {
			if strings.Contains(l, "RCPT TO:<"+to+">") {
				seen = true
				continue
			}
			if seen && (strings.HasPrefix(l, "<** ") || strings.HasPrefix(l, "<-  ")) {
				return strings.TrimSpace(l[4:])
			}
		}
		t.Fatalf("no reply to RCPT in the transcript:\n%s", r.Out)
		return ""
	}
	expect := func(from, to, want string) {
		t.Helper()
		if got := rcpt(from, to); got != want {
			t.Errorf("MAIL FROM:<%s> RCPT TO:<%s>: got %q, want %q", from, to, got, want)
		}
	}
	// eventually polls until the reply changes (tables are re-read when a
	// lookup finds their file changed, at most once a second).
	eventually := func(from, to, want string) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			got := rcpt(from, to)
			if got == want {
				return
			}
			if time.Now().After(deadline) {
				t.Errorf("MAIL FROM:<%s> RCPT TO:<%s>: still %q, want %q", from, to, got, want)
				return
			}
			time.Sleep(300 * time.Millisecond)
		}
	}

	expect("spammer@bad.example", "alice@dom.test", "554 5.7.1 <spammer@bad.example>: Sender address rejected: go away spammer")
	expect("Other@Bad.Example", "alice@dom.test", "550 5.7.1 <Other@Bad.Example>: Sender address rejected: nothing from bad.example")
	expect("friend@good.example", "alice@dom.test", "250 2.1.5 Ok")
	expect("friend@good.example", "bob@dom.test", "554 5.7.1 <bob@dom.test>: Recipient address rejected: bob is away")

	// A new row is seen at once: the database is asked on every lookup.
	exec(`INSERT INTO senders VALUES ('friend@good.example', 'DEFER_IF_PERMIT not a friend after all')`)
	expect("friend@good.example", "alice@dom.test", "450 4.7.1 <friend@good.example>: Sender address rejected: not a friend after all")

	// The hash: file edited: bob is back, alice is away.
	write("recipients", "alice@dom.test REJECT alice is away\n")
	eventually("someone@good.example", "alice@dom.test", "554 5.7.1 <alice@dom.test>: Recipient address rejected: alice is away")
	expect("someone@good.example", "bob@dom.test", "250 2.1.5 Ok")
	// A broken edit is logged and the last good content stays in use.
	write("recipients", "alice@dom.test REJECT alice is away\nbob@dom.test\n")
	logged := func() bool {
		for _, l := range strings.Split(s.Log(), "\n") {
			if strings.Contains(l, "warning: table hash:"+rcpts) && strings.Contains(l, "line 2: expected format: key whitespace value (keeping the last content read)") {
				return true
			}
		}
		return false
	}
	for deadline := time.Now().Add(20 * time.Second); !logged(); time.Sleep(300 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the broken edit of %s is not in the log:\n%s", rcpts, s.Log())
		}
		rcpt("someone@good.example", "alice@dom.test") // a lookup notices the edit
	}
	expect("someone@good.example", "alice@dom.test", "554 5.7.1 <alice@dom.test>: Recipient address rejected: alice is away")
	expect("someone@good.example", "bob@dom.test", "250 2.1.5 Ok")

	// The sqlite: config file edited: another query.
	write("senders.cf", "dbpath = "+dbPath+"\nquery = SELECT 'REJECT ' || k || ' is listed' FROM senders WHERE k = '%d'\n")
	eventually("anyone@bad.example", "bob@dom.test", "554 5.7.1 <anyone@bad.example>: Sender address rejected: bad.example is listed")

	// A database that cannot be read: a temporary failure, never an accept.
	write("senders.cf", "dbpath = "+filepath.Join(dir, "missing.db")+"\nquery = SELECT action FROM senders WHERE k = '%s'\n")
	eventually("anyone@good.example", "bob@dom.test", "451 4.3.0 <anyone@good.example>: Temporary lookup failure")
	s.waitLog(func(l string) bool {
		return strings.Contains(l, "warning: check_sender_access: lookup anyone@good.example: table sqlite:"+cf)
	}, "the lookup failure in the log")
}
