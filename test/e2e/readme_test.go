package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"mailwarden/internal/testutil"
)

// requireRoot skips a test that needs root (network namespaces, other
// users), or fails it under CI=true, where the suite runs as root.
func requireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("this test needs root (the test suite runs as root under CI)")
	}
	t.Skip("needs root; skipping")
}

// netnsServe runs `mailwarden ARGS...` in a new network namespace with
// only loopback up, so it may bind the real ports (25, 587 ...) and
// wildcard addresses without touching the machine's network. The
// returned command's pid is the server's (unshare and sh exec it).
func netnsServe(t testing.TB, log *testutil.Buffer, bin string, args ...string) *exec.Cmd {
	t.Helper()
	return netnsServeUntil(t, log, func() bool { return strings.Contains(log.String(), "daemon started") }, bin, args...)
}

// netnsServeUntil is netnsServe with its own test of readiness.
func netnsServeUntil(t testing.TB, log *testutil.Buffer, ready func() bool, bin string, args ...string) *exec.Cmd {
	t.Helper()
	requireRoot(t)
	cmd := exec.Command("unshare", append([]string{"-n", "--", "sh", "-c", `ip link set lo up && exec "$@"`, "sh", bin}, args...)...)
	cmd.Env = append(os.Environ(), "MAILWARDEN_CONFIG=")
	startUntil(t, cmd, log, ready)
	return cmd
}

// startUntil starts a server command with its output into log, waits
// until ready says so (at most a minute) and stops it (SIGTERM, then
// SIGKILL after 30 s) at the end of the test. The channel closes when it
// has exited.
func startUntil(t testing.TB, cmd *exec.Cmd, log *testutil.Buffer, ready func() bool) <-chan struct{} {
	t.Helper()
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("log:\n%s", log.String())
		}
	})
	deadline := time.Now().Add(time.Minute)
	for !ready() {
		select {
		case <-done:
			t.Fatalf("%v exited:\n%s", cmd.Args, log.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%v did not start:\n%s", cmd.Args, log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	return done
}

// greetingIn connects to host:port inside the network namespace of pid
// (python3's smtplib, through nsenter) and returns the server's 220 line.
func greetingIn(t testing.TB, pid int, host string, port int) string {
	t.Helper()
	requireTool(t, python)
	script := `import smtplib, sys
s = smtplib.SMTP(timeout=10)
code, msg = s.connect(sys.argv[1], int(sys.argv[2]))
print(code, msg.decode())
s.quit()`
	out, err := exec.Command("nsenter", "-t", strconv.Itoa(pid), "-n", python, "-c", script, host, strconv.Itoa(port)).CombinedOutput()
	if err != nil {
		t.Errorf("SMTP to %s port %d in the namespace: %v\n%s", host, port, err, out)
	}
	return strings.TrimSpace(string(out))
}

// TestREADMEConfig: the README's minimal config, as printed (only
// data_dir and the certificate paths pointed at the test's files), passes
// check-config and starts — its `["0.0.0.0:25", "[::]:25"]` included —
// serving SMTP on IPv4 and IPv6 port 25, in a network namespace of the
// test.
func TestREADMEConfig(t *testing.T) {
	t.Parallel()
	requireRoot(t)
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	readme := readFileOr(t, filepath.Join(root, "README.md"))
	m := regexp.MustCompile("(?s)A minimal `/etc/mailwarden/mailwarden.toml`.*?```toml\n(.*?)```").FindStringSubmatch(readme)
	if m == nil {
		t.Fatal("README has no minimal config block")
	}
	src := m[1]
	if !strings.Contains(src, `"[::]:25"`) || !strings.Contains(src, `"0.0.0.0:25"`) {
		t.Fatalf("the README's config no longer lists 0.0.0.0:25 and [::]:25:\n%s", src)
	}
	dir := t.TempDir()
	cert, key := writeCert(t, dir, "le", []string{"mail.example.com"}, time.Now().Add(-time.Hour), time.Now().AddDate(0, 3, 0))
	for _, r := range []struct{ re, repl string }{
		{`(?m)^data_dir = .*$`, "data_dir = " + strconv.Quote(filepath.Join(dir, "data"))},
		{`(?m)^cert_file = .*$`, "cert_file = " + strconv.Quote(cert)},
		{`(?m)^key_file  = .*$`, "key_file  = " + strconv.Quote(key)},
	} {
		re := regexp.MustCompile(r.re)
		if !re.MatchString(src) {
			t.Fatalf("README config has no line matching %s:\n%s", r.re, src)
		}
		src = re.ReplaceAllLiteralString(src, r.repl)
	}
	cfg := filepath.Join(dir, "mailwarden.toml")
	if err := os.WriteFile(cfg, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	// The README's admin commands, as printed (the password on stdin
	// where it would be asked), before the server starts.
	cmds := regexp.MustCompile("(?s)\nThen:\n\n```sh\n(.*?)```").FindStringSubmatch(readme)
	if cmds == nil {
		t.Fatal("README has no \"Then:\" command block")
	}
	ran := 0
	for _, line := range strings.Split(strings.TrimSpace(cmds[1]), "\n") {
		line, _, _ = strings.Cut(line, "#")
		args := shellWords(t, strings.TrimSpace(line))
		if len(args) < 2 || args[0] != "mailwarden" {
			t.Fatalf("README command %q is not a mailwarden command", line)
		}
		switch args[1] {
		case "serve", "status", "check-config", "reload", "stop":
			continue // below, in the namespace
		}
		c := exec.Command(mwBin, append([]string{"-config", cfg}, args[1:]...)...)
		c.Stdin = strings.NewReader("correct horse battery\n")
		if out, err := c.CombinedOutput(); err != nil {
			t.Errorf("README: %s: %v\n%s", line, err, out)
		}
		ran++
	}
	if ran < 5 {
		t.Errorf("ran %d admin commands of the README, want its 5", ran)
	}
	log := &testutil.Buffer{}
	cmd := netnsServe(t, log, "sh", "-c", `"$0" check-config -config "$1" && exec "$0" serve -config "$1"`, mwBin, cfg)
	if !strings.Contains(log.String(), cfg+": ok") {
		t.Errorf("check-config did not say ok:\n%s", log.String())
	}
	for _, host := range []string{"127.0.0.1", "::1"} {
		if g := greetingIn(t, cmd.Process.Pid, host, 25); !strings.HasPrefix(g, "220 mail.example.com") {
			t.Errorf("greeting on %s port 25: %q, want 220 mail.example.com", host, g)
		}
	}
	// What the commands set up: the catch-all and the alias domain reach
	// alice, as the README says.
	for _, to := range []string{"postmaster@example.com", "anything@example.com", "alice@example.net"} {
		if out, err := exec.Command(mwBin, "-config", cfg, "lookup", to).CombinedOutput(); err != nil || !strings.Contains(string(out), "-> mailbox alice@example.com") {
			t.Errorf("after the README's commands, lookup %s: %v\n%s", to, err, out)
		}
	}
	if out, err := exec.Command(mwBin, "-config", cfg, "status").CombinedOutput(); err != nil || !strings.Contains(string(out), "mailwarden is running") {
		t.Errorf("the README's mailwarden status: %v\n%s", err, out)
	}
}

// shellWords splits a command line as sh would for the README's simple
// commands: words, and "double-quoted" words.
func shellWords(t testing.TB, line string) []string {
	t.Helper()
	var out []string
	for _, m := range regexp.MustCompile(`"([^"]*)"|(\S+)`).FindAllStringSubmatch(line, -1) {
		if m[2] != "" {
			out = append(out, m[2])
		} else {
			out = append(out, m[1])
		}
	}
	return out
}
