package e2e

import (
	"regexp"
	"strings"
	"testing"
)

// TestAliases: postfixadmin-style aliases as a user sets them up with the
// CLI, checked by sending from the internet (127.0.0.2):
//   - team@dom.test -> alice, bob: one copy in each mailbox;
//   - catch-all @catch.test -> carol@catch.test, while an existing mailbox
//     of that domain still gets its own mail once;
//   - alias domain alias.test of dom.test: bob@alias.test reaches bob, an
//     unknown user there is still 550 5.1.1;
//   - ext@dom.test -> friend@outside.example: accepted from outside
//     mynetworks (the recipient domain is local), queued as kind remote,
//     in no Maildir;
//   - a mix of a local and an outside target: local copy + queue row.
func TestAliases(t *testing.T) {
	t.Parallel()
	s := startServer(t, options{}, func(s *server) {
		oneDomain(s)
		s.admin("domain", "add", "catch.test")
		s.addUser("carol@catch.test")
		s.addUser("dave@catch.test")
		s.admin("domain", "add", "alias.test", "--alias-of", "dom.test")
		s.admin("alias", "add", "team@dom.test", "alice@dom.test,bob@dom.test")
		s.admin("alias", "add", "@catch.test", "carol@catch.test")
		s.admin("alias", "add", "ext@dom.test", "friend@outside.example")
		s.admin("alias", "add", "mixed@dom.test", "alice@dom.test,pal@outside.example")
	})
	list := s.admin("alias", "list")
	for _, a := range []string{"team@dom.test", "@catch.test", "ext@dom.test", "mixed@dom.test"} {
		if !strings.Contains(list, a) {
			t.Errorf("alias list does not show %s:\n%s", a, list)
		}
	}
	if dl := s.admin("domain", "list"); !regexp.MustCompile(`alias\.test\s+alias-of dom\.test`).MatchString(dl) {
		t.Errorf("domain list does not show alias.test as alias-of dom.test:\n%s", dl)
	}
	deliver := func(s *server, rcpt, tag string) string {
		s.t.Helper()
		id := newMessageID(tag)
		s.send("sender@remote.example", rcpt, message("sender@remote.example", rcpt, tag, id, "to "+rcpt),
			"--local-interface", "127.0.0.2")
		return id
	}
	copies := func(s *server, addr, id string) int { return len(s.findMessage(addr, id)) }

	t.Run("fan-out", func(t *testing.T) {
		s := s.on(t)
		id := deliver(s, "team@dom.test", "team")
		for _, u := range []string{"alice@dom.test", "bob@dom.test"} {
			files := s.findMessage(u, id)
			if len(files) != 1 {
				t.Errorf("%s got %d copies of the team@ message, want 1", u, len(files))
				continue
			}
			if lines := headerLines(files[0].Data); !regexp.MustCompile(`^Delivered-To: <?` + regexp.QuoteMeta(u) + `>?$`).MatchString(lines[1]) {
				t.Errorf("%s's copy: second line %q, want Delivered-To: %s", u, lines[1], u)
			}
		}
	})
	t.Run("fan-out with a member also named", func(t *testing.T) {
		s := s.on(t)
		id := newMessageID("team-and-alice")
		s.send("sender@remote.example", "team@dom.test,alice@dom.test",
			message("sender@remote.example", "team@dom.test, alice@dom.test", "dup", id, "twice named"),
			"--local-interface", "127.0.0.2")
		if n := copies(s, "alice@dom.test", id); n != 1 {
			t.Errorf("alice, named directly and through team@, got %d copies, want 1", n)
		}
		if n := copies(s, "bob@dom.test", id); n != 1 {
			t.Errorf("bob got %d copies, want 1", n)
		}
	})
	t.Run("catch-all", func(t *testing.T) {
		s := s.on(t)
		id := deliver(s, "whoever@catch.test", "catchall")
		if n := copies(s, "carol@catch.test", id); n != 1 {
			t.Errorf("carol got %d copies of mail to whoever@catch.test, want 1", n)
		}
		id = deliver(s, "dave@catch.test", "dave")
		if n := copies(s, "dave@catch.test", id); n != 1 {
			t.Errorf("dave (a mailbox in the catch-all domain) got %d copies, want 1", n)
		}
		if n := copies(s, "carol@catch.test", id); n != 0 {
			t.Errorf("the catch-all took dave's mail too (%d copies at carol)", n)
		}
	})
	t.Run("alias domain", func(t *testing.T) {
		s := s.on(t)
		id := deliver(s, "bob@alias.test", "aliasdomain")
		if n := copies(s, "bob@dom.test", id); n != 1 {
			t.Errorf("bob@dom.test got %d copies of mail to bob@alias.test, want 1", n)
		}
		id = deliver(s, "team@alias.test", "aliasdomain-team")
		if n := copies(s, "alice@dom.test", id) + copies(s, "bob@dom.test", id); n != 2 {
			t.Errorf("team@alias.test reached %d of alice and bob, want 2", n)
		}
		r := s.swaks("--local-interface", "127.0.0.2", "--from", "sender@remote.example", "--to", "nobody@alias.test")
		if r.Code != 24 || !strings.Contains(r.Out, "550 5.1.1") {
			t.Errorf("nobody@alias.test: swaks exit %d, want 24 with 550 5.1.1:\n%s", r.Code, r.Out)
		}
	})
	t.Run("to an outside address", func(t *testing.T) {
		s := s.on(t)
		id := newMessageID("ext")
		qid := s.send("sender@remote.example", "ext@dom.test",
			message("sender@remote.example", "ext@dom.test", "ext", id, "forward me"), "--local-interface", "127.0.0.2")
		rows := queryStrings(t, s.openDB(), `SELECT rcpt, kind FROM queue_rcpt WHERE queue_id = ?`, qid)
		if len(rows) != 1 || rows[0] != "friend@outside.example|remote" {
			t.Errorf("queue_rcpt of %s: %q, want [friend@outside.example|remote]", qid, rows)
		}
		for _, f := range s.allMailFiles() {
			if f.Headers.Get("Message-Id") == id {
				t.Errorf("forwarded message found in a Maildir: %s", f.Path)
			}
		}
	})
	t.Run("local and outside targets", func(t *testing.T) {
		s := s.on(t)
		id := newMessageID("mixed")
		qid := s.send("sender@remote.example", "mixed@dom.test",
			message("sender@remote.example", "mixed@dom.test", "mixed", id, "half here"), "--local-interface", "127.0.0.2")
		if n := copies(s, "alice@dom.test", id); n != 1 {
			t.Errorf("alice got %d copies, want 1", n)
		}
		rows := queryStrings(t, s.openDB(), `SELECT rcpt, kind FROM queue_rcpt WHERE queue_id = ?`, qid)
		if len(rows) != 1 || rows[0] != "pal@outside.example|remote" {
			t.Errorf("queue_rcpt of %s: %q, want [pal@outside.example|remote]", qid, rows)
		}
	})
	s.checkIndex()
}
