package e2e

import (
	"regexp"
	"strings"
	"testing"
)

// TestLoginBlockedUnblock: IMAP clients fail logins past [auth]
// max_failures; the right password is then refused; `mailwarden login
// blocked` lists each locked-out client with the name it tried and when
// the lockout ends; `login unblock USER` lifts the lockout of the client
// that tried that user, `login unblock ADDRESS` the other's, and the
// right password works again from both.
func TestLoginBlockedUnblock(t *testing.T) {
	t.Parallel()
	s := startServer(t, options{Extra: []string{"",
		"[auth]", `failure_delay = "0s"`, "max_failures = 3", `failure_window = "10m"`,
	}}, func(s *server) {
		s.admin("domain", "add", "brute.test")
		s.addUser("victim@brute.test")
		s.addUser("other@brute.test")
	})
	if out := s.admin("login", "blocked"); out != "no client is locked out or automatically blocked\n" {
		t.Fatalf("login blocked before any failure:\n%s", out)
	}
	const right = "correct horse battery"
	try := func(t *testing.T, src, user string, passwords ...string) []string {
		t.Helper()
		var out struct{ Tries []string }
		runPyLimits(t, map[string]any{"scenario": "imap-brute", "src": src, "port": s.IMAPSPort,
			"user": user, "passwords": passwords}, &out)
		if len(out.Tries) != len(passwords) {
			t.Fatalf("tries: %q", out.Tries)
		}
		return out.Tries
	}
	clients := []struct{ src, user string }{{"127.0.0.8", "victim@brute.test"}, {"127.0.0.9", "other@brute.test"}}
	for _, c := range clients {
		tries := try(t, c.src, c.user, "guess1", "guess2", "guess3", right)
		for i, r := range tries[:3] {
			if !strings.Contains(r, "AUTHENTICATIONFAILED") {
				t.Fatalf("%s: wrong password %d: %q", c.src, i+1, r)
			}
		}
		if !strings.Contains(tries[3], "UNAVAILABLE") {
			t.Fatalf("%s: the right password while locked out: %q", c.src, tries[3])
		}
	}
	out := s.admin("login", "blocked")
	for _, c := range clients {
		re := `(?m)^` + regexp.QuoteMeta(c.src) + `/32\s+lockout\s+\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\s+tried ` + regexp.QuoteMeta(c.user) + `$`
		if !regexp.MustCompile(re).MatchString(out) {
			t.Fatalf("login blocked does not list %s trying %s:\n%s", c.src, c.user, out)
		}
	}
	if !strings.HasPrefix(out, "CLIENT ") {
		t.Errorf("login blocked has no header:\n%s", out)
	}

	// By user name, any case: only the client that tried it.
	out = s.admin("login", "unblock", "Victim@Brute.test")
	if !strings.HasPrefix(out, "Victim@Brute.test: 127.0.0.8/32: 1 login lockout(s)") || strings.Contains(out, "127.0.0.9") {
		t.Fatalf("login unblock USER said %q", out)
	}
	if r := try(t, "127.0.0.8", "victim@brute.test", right); r[0] != "OK" {
		t.Fatalf("right password after login unblock USER: %q", r)
	}
	if r := try(t, "127.0.0.9", "other@brute.test", right); !strings.Contains(r[0], "UNAVAILABLE") {
		t.Fatalf("the other client was unblocked too: %q", r)
	}
	out = s.admin("login", "blocked")
	if strings.Contains(out, "127.0.0.8") || !strings.Contains(out, "127.0.0.9/32") {
		t.Fatalf("login blocked after one unblock:\n%s", out)
	}

	// By address.
	if out := s.admin("login", "unblock", "127.0.0.9"); !strings.HasPrefix(out, "127.0.0.9/32: 1 login lockout(s)") {
		t.Fatalf("login unblock ADDRESS said %q", out)
	}
	if r := try(t, "127.0.0.9", "other@brute.test", right); r[0] != "OK" {
		t.Fatalf("right password after login unblock ADDRESS: %q", r)
	}
	if out := s.admin("login", "blocked"); out != "no client is locked out or automatically blocked\n" {
		t.Fatalf("login blocked after both unblocks:\n%s", out)
	}
	if out := s.admin("login", "unblock", "nobody@brute.test"); out != "nobody@brute.test: no client is locked out or has failed logins as this user\n" {
		t.Fatalf("login unblock of a user nobody tried said %q", out)
	}
}
