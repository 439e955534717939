package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"mailwarden/internal/dnsx/dnstest"
	"mailwarden/internal/testutil"
)

// TestHelpWithoutConfig: -h, --help and help after a verb print that
// verb's usage on stdout with exit 0, with no config file anywhere.
func TestHelpWithoutConfig(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ args, want []string }{
		{[]string{"serve", "-h"}, []string{"serve", "run the server"}},
		{[]string{"user", "-h"}, []string{"user add ADDRESS", "user show ADDRESS", "user enable ADDRESS"}},
		{[]string{"user", "add", "--help"}, []string{"user add ADDRESS"}},
		{[]string{"alias", "help"}, []string{"alias add", "alias set", "alias remove"}},
		{[]string{"reload", "-h"}, []string{"status | reload | stop"}},
		{[]string{"check-config", "-h"}, []string{"check-config", "dry run"}},
		{[]string{"acl", "-h"}, []string{"acl set OWNER FOLDER IDENTIFIER RIGHTS", "acl list OWNER"}},
		{[]string{"shared", "--help"}, []string{"shared create DOMAIN NAME", "shared list DOMAIN"}},
	} {
		cmd := exec.Command(mwBin, tc.args...)
		cmd.Env = append(os.Environ(), "MAILWARDEN_CONFIG=/nonexistent/mailwarden.toml")
		var o, e strings.Builder
		cmd.Stdout, cmd.Stderr = &o, &e
		err := cmd.Run()
		if err != nil || !strings.HasPrefix(o.String(), "usage:") || e.Len() > 0 {
			t.Errorf("mailwarden %s: %v\nstdout: %s\nstderr: %s", strings.Join(tc.args, " "), err, o.String(), e.String())
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(o.String(), w) {
				t.Errorf("mailwarden %s: usage lacks %q:\n%s", strings.Join(tc.args, " "), w, o.String())
			}
		}
		for _, bad := range []string{"flag: help requested", "nonexistent"} {
			if strings.Contains(o.String()+e.String(), bad) {
				t.Errorf("mailwarden %s says %q", strings.Join(tc.args, " "), bad)
			}
		}
	}
}

// TestVersion: version and --version print the commit the binary was
// built from.
func TestVersion(t *testing.T) {
	t.Parallel()
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	rev, err := exec.Command("git", "-C", root, "rev-parse", "HEAD").Output()
	if err != nil {
		t.Skipf("no git checkout: %v", err)
	}
	want := "(commit " + strings.TrimSpace(string(rev))[:12]
	for _, arg := range []string{"version", "--version", "-version"} {
		out, err := exec.Command(mwBin, arg).CombinedOutput()
		if err != nil || !strings.HasPrefix(string(out), "mailwarden ") || !strings.Contains(string(out), want) {
			t.Errorf("mailwarden %s: %v %q, want the commit %s", arg, err, out, want)
		}
	}
}

// TestUserVerbs: user show, enable/disable (mail to a disabled mailbox is
// refused, and accepted again once enabled), quota with units (a bare
// number is refused rather than taken as bytes), sizes shown readably.
func TestUserVerbs(t *testing.T) {
	t.Parallel()
	s := startServer(t, options{}, func(s *server) {
		oneDomain(s)
		s.admin("alias", "add", "info@dom.test", "alice@dom.test")
	})
	s.send("sender@remote.example", "alice@dom.test", message("sender@remote.example", "alice@dom.test", "x", newMessageID("show"), strings.Repeat("y", 3000)),
		"--local-interface", "127.0.0.2")
	out := s.admin("user", "show", "alice@dom.test")
	for _, re := range []string{`address:\s+alice@dom\.test`, `name:\s+Alice Example`, `active:\s+yes`, `quota:\s+unlimited`,
		`used:\s+[34]\.\dK`, `messages:\s+1`, `maildir:\s+` + regexp.QuoteMeta(s.mailDir("alice@dom.test")), `aliases to it:\s+info@dom\.test`} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("user show lacks %s:\n%s", re, out)
		}
	}
	if code, _, errOut := s.cli("user", "quota", "alice@dom.test", "5"); code == 0 || !strings.Contains(errOut, `quota "5" has no unit: write 5G, 5M or 5K`) {
		t.Errorf("user quota ... 5: exit %d, %s", code, errOut)
	}
	if out := s.admin("user", "quota", "alice@dom.test", "2GB"); !strings.Contains(out, "alice@dom.test: quota 2G") {
		t.Errorf("user quota ... 2GB said %q", out)
	}
	if out := s.admin("user", "show", "alice@dom.test"); !regexp.MustCompile(`quota:\s+2G`).MatchString(out) || !regexp.MustCompile(`used:\s+[34]\.\dK \(0% of 2G\)`).MatchString(out) {
		t.Errorf("user show after quota 2GB:\n%s", out)
	}
	if out := s.admin("user", "list"); !regexp.MustCompile(`alice@dom\.test\s+Alice Example\s+2G\s+[34]\.\dK\s+1\s+yes`).MatchString(out) {
		t.Errorf("user list does not show 2G and a readable USED:\n%s", out)
	}

	try := func(to string) swaksResult {
		return s.swaks("--local-interface", "127.0.0.2", "--from", "sender@remote.example", "--to", to)
	}
	if out := s.admin("user", "disable", "bob@dom.test"); !strings.Contains(out, "bob@dom.test: disabled") {
		t.Errorf("user disable said %q", out)
	}
	if !regexp.MustCompile(`active:\s+no`).MatchString(s.admin("user", "show", "bob@dom.test")) {
		t.Error("user show does not say a disabled mailbox is inactive")
	}
	if r := try("bob@dom.test"); r.Code == 0 {
		t.Errorf("mail to a disabled mailbox accepted:\n%s", r.Out)
	}
	s.admin("user", "enable", "bob@dom.test")
	if r := try("bob@dom.test"); r.Code != 0 {
		t.Errorf("mail to a re-enabled mailbox: exit %d\n%s", r.Code, r.Out)
	}
	if code, _, errOut := s.cli("user", "show", "nobody@dom.test"); code == 0 || errOut == "" {
		t.Errorf("user show of an unknown address: exit %d", code)
	}
}

// TestAliasVerbs: alias add adds targets (it used to replace them
// silently), alias set and add --replace replace, alias remove drops one
// target and the alias with its last.
func TestAliasVerbs(t *testing.T) {
	t.Parallel()
	s := startServer(t, options{}, oneDomain)
	targets := func() string {
		for _, l := range strings.Split(s.admin("alias", "list", "dom.test"), "\n") {
			if f := strings.Fields(l); len(f) >= 2 && f[0] == "team@dom.test" {
				return f[1]
			}
		}
		return ""
	}
	step := func(want string, args ...string) {
		t.Helper()
		s.admin(args...)
		if got := targets(); got != want {
			t.Errorf("after alias %s: targets %q, want %q", strings.Join(args[1:], " "), got, want)
		}
	}
	step("alice@dom.test", "alias", "add", "team@dom.test", "alice@dom.test")
	step("alice@dom.test,bob@dom.test", "alias", "add", "team@dom.test", "bob@dom.test")
	step("alice@dom.test,bob@dom.test", "alias", "add", "team@dom.test", "BOB@dom.test")
	s.send("sender@remote.example", "team@dom.test", message("sender@remote.example", "team@dom.test", "t", newMessageID("team"), "both"),
		"--local-interface", "127.0.0.2")
	for _, u := range []string{"alice@dom.test", "bob@dom.test"} {
		if n := len(s.inbox(u)); n != 1 {
			t.Errorf("%s got %d messages for team@, want 1", u, n)
		}
	}
	step("carol@outside.example", "alias", "set", "team@dom.test", "carol@outside.example")
	step("alice@dom.test", "alias", "add", "--replace", "team@dom.test", "alice@dom.test")
	step("alice@dom.test,bob@dom.test", "alias", "add", "team@dom.test", "bob@dom.test")
	step("bob@dom.test", "alias", "remove", "team@dom.test", "alice@dom.test")
	if code, _, errOut := s.cli("alias", "remove", "team@dom.test", "zed@dom.test"); code == 0 || !strings.Contains(errOut, "zed@dom.test is not one of its targets (bob@dom.test)") {
		t.Errorf("alias remove of a non-target: exit %d, %s", code, errOut)
	}
	if out := s.admin("alias", "remove", "team@dom.test", "bob@dom.test"); !strings.Contains(out, "last target removed, alias deleted") {
		t.Errorf("removing the last target said %q", out)
	}
	if got := targets(); got != "" {
		t.Errorf("alias still listed with %q after its last target went", got)
	}
}

// TestBounceWording: a bounce for a domain that does not exist says so as
// Postfix does, without package names or resolver addresses.
func TestBounceWording(t *testing.T) {
	t.Parallel()
	requireTool(t, python)
	dns := dnstest.New(t, "exists.test. A 127.0.0.2\nrefuse.test. MX 10 mx.refuse.test.\nmx.refuse.test. A 127.0.0.1\n")
	const user, pw = "kim@out.test", "correct horse battery"
	closed := freePort(t) // nothing listens: connections are refused
	s := startServer(t, options{Resolvers: []string{dns.Addr()}, Extra: []string{"", "[outbound]", fmt.Sprintf("smtp_port = %d", closed)}}, func(s *server) {
		s.admin("domain", "add", "out.test")
		s.addUser(user)
	})
	r := s.swaks("--server", fmt.Sprintf("127.0.0.1:%d", s.SubmissionPort), "--tls", "--auth", "PLAIN",
		"--auth-user", user, "--auth-password", pw, "--from", user, "--to", "someone@gone.test")
	if r.Code != 0 {
		t.Fatalf("submission: exit %d\n%s", r.Code, r.Out)
	}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) && len(s.reports(user)) == 0 {
		time.Sleep(100 * time.Millisecond)
	}
	reports := s.reports(user)
	if len(reports) != 1 {
		t.Fatalf("%d bounces, want 1; log:\n%s", len(reports), s.Log())
	}
	want := "Host or domain name not found. Name service error for name=gone.test type=A: Host not found"
	// Long lines are folded: compare with whitespace runs as one space.
	flat := func(s string) string { return strings.Join(strings.Fields(s), " ") }
	d, out := parseDSN(t, reports[0])
	if len(d.Fields) < 2 || !strings.Contains(flat(d.Fields[1]["Diagnostic-Code"]), want) {
		t.Errorf("Diagnostic-Code lacks %q:\n%s", want, out)
	}
	body := string(reports[0])
	if !strings.Contains(flat(body), "<someone@gone.test>: 550 5.4.4 "+want) {
		t.Errorf("the bounce text lacks %q:\n%s", want, body)
	}
	for _, leak := range []string{"dnsx", dns.Addr(), "NXDOMAIN"} {
		if strings.Contains(body, leak) {
			t.Errorf("the bounce shows %q:\n%s", leak, body)
		}
	}

	// A host that refuses the connection: the deferral says so as
	// Postfix does, without Go's "dial tcp ...: connect:".
	r = s.swaks("--server", fmt.Sprintf("127.0.0.1:%d", s.SubmissionPort), "--tls", "--auth", "PLAIN",
		"--auth-user", user, "--auth-password", pw, "--from", user, "--to", "someone@refuse.test")
	if r.Code != 0 {
		t.Fatalf("submission: exit %d\n%s", r.Code, r.Out)
	}
	want = fmt.Sprintf("connect to mx.refuse.test[127.0.0.1]:%d: Connection refused", closed)
	var list string
	for time.Now().Before(deadline) {
		if list = s.admin("queue", "list"); strings.Contains(list, "Connection refused") {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !strings.Contains(strings.Join(strings.Fields(list), " "), want) || strings.Contains(list, "dial tcp") {
		t.Errorf("queue list after a refused connection, want %q:\n%s", want, list)
	}
}

// TestDemo: the demo listens for submission on 2587 (AUTH after STARTTLS
// with the printed password), its certificate verifies for 127.0.0.1,
// and the printed walkthrough works: send with swaks, read with IMAP,
// see it in the log; status answers for its config. In a network
// namespace, so its fixed ports meet nothing else.
func TestDemo(t *testing.T) {
	t.Parallel()
	requireTool(t, "swaks")
	requireTool(t, python)
	dir := filepath.Join(t.TempDir(), "demo")
	log := &testutil.Buffer{}
	cmd := netnsServe(t, log, mwBin, "demo", "-dir", dir)
	deadline := time.Now().Add(10 * time.Second)
	var pw []string
	for pw == nil && time.Now().Before(deadline) {
		pw = regexp.MustCompile(`mailbox:\s+demo@example\.test\s+password: (\S+)`).FindStringSubmatch(log.String())
		time.Sleep(20 * time.Millisecond)
	}
	if pw == nil {
		t.Fatalf("no password printed:\n%s", log.String())
	}
	for _, w := range []string{"submission (STARTTLS + AUTH): 127.0.0.1:2587", "swaks --server 127.0.0.1:2587 --tls --auth PLAIN", "queue list", "localhost and 127.0.0.1"} {
		if !strings.Contains(log.String(), w) {
			t.Errorf("the demo's text lacks %q:\n%s", w, log.String())
		}
	}
	pid := fmt.Sprint(cmd.Process.Pid)
	out, err := exec.Command("nsenter", "-t", pid, "-n", "swaks", "--server", "127.0.0.1:2587", "--tls", "--auth", "PLAIN",
		"--auth-user", "demo@example.test", "--auth-password", pw[1], "--from", "demo@example.test", "--to", "demo@example.test",
		"--header", "Subject: walkthrough").CombinedOutput()
	if err != nil {
		t.Fatalf("swaks to the demo's submission port: %v\n%s", err, out)
	}
	script := `import imaplib, ssl, sys
ctx = ssl.create_default_context(cafile=sys.argv[1])
m = imaplib.IMAP4_SSL("127.0.0.1", 2993, ssl_context=ctx)
m.login("demo@example.test", sys.argv[2])
typ, data = m.select("INBOX")
typ, msg = m.fetch(b"1", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
print(data[0].decode(), msg[0][1].decode().strip())
m.logout()`
	out, err = exec.Command("nsenter", "-t", pid, "-n", python, "-c", script, filepath.Join(dir, "tls", "selfsigned.crt"), pw[1]).CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "1 Subject: walkthrough") {
		t.Errorf("IMAP over TLS verified for 127.0.0.1: %v\n%s", err, out)
	}
	if !strings.Contains(log.String(), "to=<demo@example.test>") {
		t.Errorf("the log shows no delivery:\n%s", log.String())
	}
	code, sout, _ := (&server{t: t, serverState: &serverState{Config: filepath.Join(dir, "mailwarden.toml")}}).cli("status")
	if code != 0 || !strings.Contains(sout, "submission 127.0.0.1:2587") {
		t.Errorf("status of the demo: exit %d\n%s", code, sout)
	}
}

// TestTestScriptLeavesSystemServices: scripts/test.sh stops a service
// only when it installed its package itself: a Postfix that was there
// before (a machine being migrated) is never stopped.
func TestTestScriptLeavesSystemServices(t *testing.T) {
	t.Parallel()
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	script := readFileOr(t, filepath.Join(root, "scripts", "test.sh"))
	if regexp.MustCompile(`postfix\s+stop`).MatchString(script) {
		t.Errorf("scripts/test.sh runs postfix stop")
	}
	// Run its service-stopping loop with systemctl recorded: with only
	// swaks missing nothing is stopped; with postfix missing (so
	// installed by the run) postfix is.
	loop := script[strings.Index(script, "\tstop_new() {") : strings.Index(script, "\tdone\n")+len("\tdone\n")]
	bin := t.TempDir()
	rec := filepath.Join(bin, "calls")
	for _, tool := range []string{"systemctl", "service", "fail2ban-client"} {
		if err := os.WriteFile(filepath.Join(bin, tool), []byte("#!/bin/sh\necho \"$(basename $0) $*\" >> "+rec+"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct{ missing, want string }{
		{"swaks", ""},
		{"swaks postfix", "systemctl stop postfix\n"},
	} {
		os.Remove(rec)
		cmd := exec.Command("bash", "-c", "set -euo pipefail\nsudo=()\nmissing=("+tc.missing+")\n"+loop)
		cmd.Env = append(os.Environ(), "PATH="+bin+":"+os.Getenv("PATH"))
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("the loop: %v\n%s", err, out)
		}
		got, _ := os.ReadFile(rec)
		if string(got) != tc.want {
			t.Errorf("missing=(%s): calls %q, want %q", tc.missing, got, tc.want)
		}
	}
}
