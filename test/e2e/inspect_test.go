package e2e

import (
	"strings"
	"testing"
)

// TestLookupAuthConfigShow: lookup says which row an address matched and
// where its mail goes (mailbox, alias, catch-all, local alias, unknown,
// remote); auth test checks a password as a login would and says why it
// fails (doveadm auth test); config show -n lists what the file changes
// (postconf -n), config show every setting.
func TestLookupAuthConfigShow(t *testing.T) {
	t.Parallel()
	s := newServer(t, options{SMTP: []string{"max_connections = 700"},
		Extra: []string{"", "[local]", `aliases = { root = "alice@dom.test" }`, `alias_file = ""`}})
	oneDomain(s)
	s.admin("alias", "add", "info@dom.test", "bob@dom.test,friend@outside.example")
	s.admin("domain", "add", "catch.test")
	s.addUser("carol@catch.test")
	s.admin("alias", "add", "@catch.test", "carol@catch.test")
	s.admin("user", "disable", "bob@dom.test")

	for _, tc := range []struct {
		addr  string
		code  int
		wants []string
	}{
		{"alice@dom.test", 0, []string{"alice@dom.test: a domain of this server", "via the mailbox alice@dom.test", "-> mailbox alice@dom.test (active"}},
		{"info@dom.test", 0, []string{"via the alias info@dom.test -> bob@dom.test,friend@outside.example", "(bob@dom.test is a disabled mailbox: it gets none of it)", "-> remote friend@outside.example"}},
		{"anyone@catch.test", 0, []string{"via the catch-all @catch.test -> carol@catch.test", "-> mailbox carol@catch.test"}},
		{"root", 0, []string{"root@mx.test.example: local alias", "-> alice@dom.test", "-> mailbox alice@dom.test"}},
		{"ghost@dom.test", 1, []string{"ghost@dom.test: unknown user in a domain of this server: mail to it is refused (550 5.1.1)"}},
		{"x@remote.example", 0, []string{"a domain of somewhere else", "-> remote x@remote.example"}},
	} {
		code, out, errOut := s.cli("lookup", tc.addr)
		if code != tc.code {
			t.Errorf("lookup %s: exit %d, want %d\n%s%s", tc.addr, code, tc.code, out, errOut)
		}
		for _, w := range tc.wants {
			if !strings.Contains(out, w) {
				t.Errorf("lookup %s lacks %q:\n%s", tc.addr, w, out)
			}
		}
	}

	if out := s.admin("auth", "test", "alice@dom.test", "--password-file", s.PwFile); !strings.Contains(out, "passdb: alice@dom.test auth succeeded") {
		t.Errorf("auth test with the right password: %s", out)
	}
	for _, tc := range []struct{ addr, want string }{
		{"alice@dom.test", "auth failed: password mismatch"},
		{"bob@dom.test", "auth failed: mailbox disabled"},
		{"ghost@dom.test", "auth failed: unknown user"},
	} {
		pw := s.Dir + "/wrong"
		if tc.addr == "bob@dom.test" {
			pw = s.PwFile
		}
		writeFile(t, s.Dir+"/wrong", "not the password\n")
		code, out, _ := s.cli("auth", "test", tc.addr, "--password-file", pw)
		if code != 1 || !strings.Contains(out, tc.want) {
			t.Errorf("auth test %s: exit %d, %q, want 1 and %q", tc.addr, code, out, tc.want)
		}
	}

	out := s.admin("config", "show", "-n")
	for _, w := range []string{`hostname = "mx.test.example"`, `smtp.max_connections = 700`, `smtp.message_size_limit = "1M"`, `local.aliases.root = "alice@dom.test"`, `local.alias_file = ""`} {
		if !strings.Contains(out, w+"\n") {
			t.Errorf("config show -n lacks %s:\n%s", w, out)
		}
	}
	for _, unchanged := range []string{"smtp.max_recipients", "queue.maximal_queue_lifetime"} {
		if strings.Contains(out, unchanged) {
			t.Errorf("config show -n lists %s, which the file does not set:\n%s", unchanged, out)
		}
	}
	all := s.admin("config", "show")
	for _, w := range []string{`smtp.max_recipients = 1000`, `queue.maximal_queue_lifetime = "120h0m0s"`, `smtp.max_connections = 700`} {
		if !strings.Contains(all, w+"\n") {
			t.Errorf("config show lacks %s", w)
		}
	}
}
