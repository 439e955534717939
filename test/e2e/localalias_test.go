package e2e

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestLocalAliases: sendmail -t with "To: root" (every cron job) reaches
// the mailbox [local] aliases names; an aliases(5) file is read too
// (postmaster -> root, abuse -> bob), from the outside as well as
// locally; root@localhost is root; a reload re-reads the file; an
// unaliased name stays what it was (not a local mailbox).
func TestLocalAliases(t *testing.T) {
	t.Parallel()
	s := newServer(t, options{})
	aliasFile := filepath.Join(s.Dir, "aliases")
	if err := os.WriteFile(aliasFile, []byte("# test aliases\nmailer-daemon: postmaster\npostmaster: root\nabuse: bob@dom.test\nwebmaster: |/bin/false\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	opts := options{Extra: []string{"", "[local]", `aliases = { root = "alice@dom.test" }`, "alias_file = " + strconv.Quote(aliasFile)}}
	s.setOptions(opts)
	oneDomain(s)
	s.start()
	if !strings.Contains(s.Log(), `webmaster: "|/bin/false" is not supported`) {
		t.Errorf("the unsupported target in the alias file is not warned about:\n%s", s.Log())
	}

	if code, errOut := s.sendmail("To: root\nSubject: cron job output\n\nall is well\n", "-t", "-i"); code != 0 {
		t.Fatalf("sendmail -t To: root: exit %d\n%s", code, errOut)
	}
	waitInbox := func(addr string, n int) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for len(s.inbox(addr)) < n && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		if got := len(s.inbox(addr)); got != n {
			t.Fatalf("%s has %d messages, want %d; log:\n%s", addr, got, n, s.Log())
		}
	}
	waitInbox("alice@dom.test", 1)
	if f := s.inbox("alice@dom.test")[0]; f.Headers.Get("Subject") != "cron job output" {
		t.Errorf("alice got %q", f.Headers.Get("Subject"))
	}
	// From outside, by the file: postmaster -> root -> alice; abuse -> bob.
	for _, to := range []string{"postmaster@mx.test.example", "MAILER-DAEMON@mx.test.example", "root@localhost"} {
		s.send("sender@remote.example", to, message("sender@remote.example", to, "to "+to, newMessageID("local"), "x"), "--local-interface", "127.0.0.1")
	}
	waitInbox("alice@dom.test", 4)
	s.send("sender@remote.example", "abuse@mx.test.example", message("sender@remote.example", "abuse@mx.test.example", "abuse", newMessageID("abuse"), "x"), "--local-interface", "127.0.0.2")
	waitInbox("bob@dom.test", 1)

	// A reload re-reads the file: abuse now goes to alice.
	if err := os.WriteFile(aliasFile, []byte("abuse: root\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s.reload()
	s.send("sender@remote.example", "abuse@mx.test.example", message("sender@remote.example", "abuse@mx.test.example", "abuse 2", newMessageID("abuse"), "x"), "--local-interface", "127.0.0.2")
	waitInbox("alice@dom.test", 5)
	// An unaliased name at hostname is not ours: refused from outside.
	if r := s.swaks("--local-interface", "127.0.0.2", "--from", "sender@remote.example", "--to", "games@mx.test.example"); r.Code == 0 {
		t.Errorf("mail for an unaliased local name accepted from outside:\n%s", r.Out)
	}
}
