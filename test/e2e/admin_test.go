package e2e

import (
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestAdminWhileServing: every admin change made with the CLI next to a
// running server (same SQLite DB) shows in the very next SMTP session,
// without restart or reload: new user, new alias, new domain, deleted
// user, deleted alias, inactive domain.
func TestAdminWhileServing(t *testing.T) {
	t.Parallel()
	s := startServer(t, options{}, func(s *server) { s.admin("domain", "add", "dom.test") })
	try := func(to string) swaksResult {
		t.Helper()
		return s.swaks("--local-interface", "127.0.0.2", "--from", "sender@remote.example", "--to", to,
			"--data", "@"+s.writeMessage(message("sender@remote.example", to, "cli", newMessageID("cli"), "hi")))
	}
	refused := func(to, reply string) {
		t.Helper()
		if r := try(to); r.Code != 24 || !strings.Contains(r.Out, reply) {
			t.Errorf("mail to %s: swaks exit %d, want 24 with %s:\n%s", to, r.Code, reply, r.Out)
		}
	}
	accepted := func(to string) {
		t.Helper()
		if r := try(to); r.Code != 0 {
			t.Errorf("mail to %s: swaks exit %d, want 0:\n%s", to, r.Code, r.Out)
		}
	}

	refused("newbie@dom.test", "550 5.1.1")
	s.addUser("newbie@dom.test")
	accepted("newbie@dom.test")
	if n := len(s.inbox("newbie@dom.test")); n != 1 {
		t.Errorf("newbie's INBOX holds %d messages, want 1", n)
	}
	if ul := s.admin("user", "list"); !strings.Contains(ul, "newbie@dom.test") {
		t.Errorf("user list does not show newbie@dom.test:\n%s", ul)
	}

	refused("info@dom.test", "550 5.1.1")
	s.admin("alias", "add", "info@dom.test", "newbie@dom.test")
	accepted("info@dom.test")
	if n := len(s.inbox("newbie@dom.test")); n != 2 {
		t.Errorf("newbie's INBOX holds %d messages after mail to info@, want 2", n)
	}
	s.admin("alias", "del", "info@dom.test")
	refused("info@dom.test", "550 5.1.1")

	refused("x@second.test", "554 5.7.1")
	s.admin("domain", "add", "second.test")
	s.addUser("x@second.test")
	accepted("x@second.test")
	if n := len(s.inbox("x@second.test")); n != 1 {
		t.Errorf("x@second.test's INBOX holds %d messages, want 1", n)
	}

	s.admin("user", "del", "newbie@dom.test")
	refused("newbie@dom.test", "550 5.1.1")
	if n := len(s.inbox("newbie@dom.test")); n != 2 {
		t.Errorf("`user del` without --purge should keep the 2 mail files; found %d", n)
	}

	s.admin("domain", "add", "sleepy.test", "--inactive")
	if r := try("someone@sleepy.test"); r.Code != 24 || !strings.Contains(r.Out, "<** 5") {
		t.Errorf("mail to an inactive domain from outside: swaks exit %d, want 24 with a 5xx at RCPT:\n%s", r.Code, r.Out)
	}
}

// TestCheckConfig: check-config names file:line for each unknown key and
// for a bad value, and exits non-zero; `serve` refuses the same file the
// same way; a good file passes.
func TestCheckConfig(t *testing.T) {
	t.Parallel()
	s := newServer(t, options{SMTP: []string{`max_conections_per_ip = 5`}})
	// The config written by the harness, with an unknown top-level key on
	// line 5 and a misspelt [smtp] key on its last line.
	data := readFileOr(t, s.Config)
	lines := strings.Split(strings.TrimRight(data, "\n"), "\n")
	typoLine := 0 // 1-based line of the misspelt key
	for i, l := range lines {
		if strings.HasPrefix(l, "max_conections_per_ip") {
			typoLine = i + 1
		}
	}
	if typoLine == 0 {
		t.Fatalf("unexpected config layout:\n%s", data)
	}
	lines = append(lines[:4], append([]string{`smtpd_banner = "$myhostname ESMTP"`}, lines[4:]...)...)
	typoLine++
	if err := os.WriteFile(s.Config, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	code, out, errOut := s.cli("check-config")
	if code == 0 {
		t.Fatalf("check-config exit 0 on a file with unknown keys:\n%s%s", out, errOut)
	}
	all := out + errOut
	for _, want := range []struct {
		line int
		key  string
	}{{5, "smtpd_banner"}, {typoLine, "max_conections_per_ip"}} {
		prefix := s.Config + ":" + strconv.Itoa(want.line) + ":"
		if !lineWith(all, prefix, want.key) {
			t.Errorf("check-config output lacks a %q line naming %s:\n%s", prefix, want.key, all)
		}
	}

	code, _, errOut = s.cli("serve")
	if code == 0 || !strings.Contains(errOut, s.Config+":5:") {
		t.Errorf("serve with unknown keys: exit %d, want non-zero and %s:5: ...:\n%s", code, s.Config, errOut)
	}
	if c, err := net.DialTimeout("tcp", s.Addr(), time.Second); err == nil {
		c.Close()
		t.Errorf("something listens on %s after serve refused its config", s.Addr())
	}

	bad := filepath.Join(s.Dir, "bad-value.toml")
	if err := os.WriteFile(bad, []byte("hostname = \"mx.test.example\"\ndata_dir = \"/tmp/x\"\n\n[smtp]\nmessage_size_limit = \"lots\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut = s.cli("check-config", "-config", bad)
	if code == 0 || !lineWith(out+errOut, bad+":5:", "lots") {
		t.Errorf("check-config on message_size_limit = \"lots\": exit %d, want non-zero and %s:5: naming the value:\n%s%s", code, bad, out, errOut)
	}

	badList := filepath.Join(s.Dir, "bad-restriction.toml")
	if err := os.WriteFile(badList, []byte("hostname = \"mx.test.example\"\ndata_dir = \"/tmp/x\"\n\n[restrictions]\nrecipient = [\n  \"permit_mynetworks\",\n  \"reject_unauth_destinaton\",\n]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut = s.cli("check-config", "-config", badList)
	if code == 0 || !lineWith(out+errOut, badList+":7:", "unknown restriction") {
		t.Errorf("check-config on a misspelt restriction: exit %d, want non-zero and %s:7: naming it:\n%s%s", code, badList, out, errOut)
	}

	s.setOptions(options{})
	code, out, errOut = s.cli("check-config")
	if code != 0 {
		t.Errorf("check-config on a good file: exit %d\n%s%s", code, out, errOut)
	}
}

func lineWith(out, prefix, word string) bool {
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, prefix) && strings.Contains(l, word) {
			return true
		}
	}
	return false
}

// TestSIGTERMDrains: SIGTERM during a DATA transfer lets that message finish
// with 250 and reach the Maildir, refuses new sessions, does not wait for
// an idle client that never says QUIT, and exits 0.
func TestSIGTERMDrains(t *testing.T) {
	t.Parallel()
	s := startServer(t, options{}, oneDomain)

	idle, err := smtpDial(s.Addr(), "127.0.0.2")
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()

	c, err := smtpDial(s.Addr(), "127.0.0.2")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Mail("sender@remote.example"); err != nil {
		t.Fatal(err)
	}
	if err := c.Rcpt("alice@dom.test"); err != nil {
		t.Fatal(err)
	}
	w, err := c.Data()
	if err != nil {
		t.Fatal(err)
	}
	id := newMessageID("drain")
	msg := message("sender@remote.example", "alice@dom.test", "drain", id, bigBody(64<<10))
	half := len(msg) / 2
	if _, err := w.Write([]byte(msg[:half])); err != nil {
		t.Fatal(err)
	}

	s.signal(syscall.SIGTERM)
	s.waitLog(func(l string) bool { return strings.Contains(l, "terminating on signal") }, "terminating on signal")
	if nc, err := net.DialTimeout("tcp", s.Addr(), 2*time.Second); err == nil {
		nc.SetDeadline(time.Now().Add(5 * time.Second))
		buf := make([]byte, 512)
		n, _ := nc.Read(buf)
		nc.Close()
		if n > 0 && !strings.HasPrefix(string(buf[:n]), "421") {
			t.Errorf("a new connection after SIGTERM was greeted with %q, want refused or 421", buf[:n])
		}
	}

	if _, err := w.Write([]byte(msg[half:])); err != nil {
		t.Fatalf("rest of DATA after SIGTERM: %v", err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("end of DATA after SIGTERM: %v, want 250 (the transfer under way must finish)", err)
	}
	c.Quit()
	finished := time.Now()

	select {
	case <-s.done:
	case <-time.After(25 * time.Second):
		t.Fatalf("still running 25s after the last transaction ended (an idle client must not hold shutdown)")
	}
	t.Logf("exited %v after the last transaction", time.Since(finished).Round(time.Millisecond))
	if s.err != nil {
		t.Errorf("exit status after SIGTERM: %v, want 0", s.err)
	}
	if n := len(s.findMessage("alice@dom.test", id)); n != 1 {
		t.Errorf("the message finished during shutdown is stored %d times, want 1", n)
	}
	s.checkIndex()
}
