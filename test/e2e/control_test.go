package e2e

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestSecondServerRefused: a second serve on a data_dir a server is
// serving — even on other ports — refuses to start with the running
// one's pid, runs no recovery or queue sweep, and leaves the running
// server's marker alone: the next start after a clean stop is clean.
func TestSecondServerRefused(t *testing.T) {
	t.Parallel()
	s := startServer(t, options{}, oneDomain)
	marker := filepath.Join(s.DataDir, "mail", ".serving")
	if _, err := os.Stat(marker); err != nil {
		t.Fatalf("the running server's marker: %v", err)
	}
	// The same data_dir with ports nobody uses.
	other := filepath.Join(s.Dir, "second.toml")
	cfg := readFileOr(t, s.Config)
	for _, p := range []int{s.Port, s.POP3Port, s.POP3SPort, s.IMAPPort, s.IMAPSPort, s.SubmissionPort, s.SubmissionsPort} {
		cfg = strings.ReplaceAll(cfg, ":"+strconv.Itoa(p)+`"`, ":"+strconv.Itoa(freePort(t))+`"`)
	}
	if err := os.WriteFile(other, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := s.cli("serve", "-config", other)
	want := fmt.Sprintf("another mailwarden (pid %d) is already serving data_dir %s — stop it first (mailwarden stop)", s.cmd.Process.Pid, s.DataDir)
	if code == 0 || !strings.Contains(errOut, want) {
		t.Errorf("second serve: exit %d, want non-zero and %q\nstdout: %s\nstderr: %s", code, want, out, errOut)
	}
	for _, w := range []string{"recovery", "did not shut down cleanly", "listening on"} {
		if strings.Contains(errOut, w) {
			t.Errorf("the refused second serve logged %q:\n%s", w, errOut)
		}
	}
	if _, err := os.Stat(marker); err != nil {
		t.Errorf("after the second serve gave up, the running server's marker: %v", err)
	}
	s.send("sender@remote.example", "alice@dom.test", message("sender@remote.example", "alice@dom.test", "still", newMessageID("still"), "x"),
		"--local-interface", "127.0.0.2")
	s.stop()
	s.start()
	if strings.Contains(s.Log(), "did not shut down cleanly") {
		t.Errorf("the restart after a clean stop ran recovery:\n%s", s.Log())
	}
}

// TestStatusReloadStop: mailwarden status names the pid, version,
// listeners, open connections and queue; reload sends SIGHUP and reports
// that a changed [queue] needs a restart (and a broken file that it kept
// the running config); stop ends the server cleanly; status then says it
// is not running (exit 3).
func TestStatusReloadStop(t *testing.T) {
	t.Parallel()
	s := startServer(t, options{}, oneDomain)
	// One queued message (remote, the resolver is a closed port) and one
	// open SMTP connection.
	s.send("alice@dom.test", "someone@remote.example", message("alice@dom.test", "someone@remote.example", "q", newMessageID("q"), "x"))
	conn, err := net.DialTimeout("tcp", s.Addr(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	if l, err := bufio.NewReader(conn).ReadString('\n'); err != nil || !strings.HasPrefix(l, "220 ") {
		t.Fatalf("greeting %q, %v", l, err)
	}

	code, out, errOut := s.cli("status")
	if code != 0 {
		t.Fatalf("status: exit %d\n%s%s", code, out, errOut)
	}
	for _, want := range []string{
		fmt.Sprintf("mailwarden is running (pid %d)", s.cmd.Process.Pid),
		"config:", s.Config, "uptime:",
		"smtp " + s.Addr(), fmt.Sprintf("imaps 127.0.0.1:%d", s.IMAPSPort), fmt.Sprintf("submission 127.0.0.1:%d", s.SubmissionPort),
		"smtp 1", "imap 0",
		"reloads:", "0",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("status lacks %q:\n%s", want, out)
		}
	}
	if m := regexp.MustCompile(`version:\s+\S+ \(commit [0-9a-f]{12}`).FindString(out); m == "" {
		t.Errorf("status has no version with its commit:\n%s", out)
	}
	m := regexp.MustCompile(`queue:\s+(\d+) active, (\d+) deferred, 0 held`).FindStringSubmatch(out)
	if m == nil {
		t.Errorf("status has no queue line:\n%s", out)
	} else if a, _ := strconv.Atoi(m[1]); a+atoi(m[2]) != 1 {
		t.Errorf("status counts %s active + %s deferred, want the 1 queued message:\n%s", m[1], m[2], out)
	}

	// The running server's own ports do not fail check-config.
	if code, out, errOut := s.cli("check-config"); code != 0 {
		t.Errorf("check-config beside the running server: exit %d\n%s%s", code, out, errOut)
	}

	// A [queue] change cannot apply to the running runner: said by
	// reload and in the log.
	s.setOptions(options{Extra: []string{"", "[queue]", `minimal_backoff_time = "1m"`}})
	code, out, errOut = s.cli("reload")
	want := "changes to [queue] need a restart"
	if code != 0 || !strings.Contains(out, "reloaded (pid ") || !strings.Contains(out, want) {
		t.Errorf("reload after a [queue] change: exit %d, want 0 and %q\nstdout: %s\nstderr: %s", code, want, out, errOut)
	}
	s.waitLog(func(l string) bool { return strings.Contains(l, "reload: "+want) }, "the restart warning")
	if _, out, _ = s.cli("status"); !strings.Contains(out, "reloads:") || !strings.Contains(out, "1 (last: ok; "+want) {
		t.Errorf("status after one reload:\n%s", out)
	}

	// A broken file: the command refuses to signal; a file only the
	// server can find wrong (a misspelt restriction): the server keeps
	// running on the old one, and reload says so.
	if err := os.WriteFile(s.Config, []byte(readFileOr(t, s.Config)+"\nbogus_key = 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, errOut = s.cli("reload")
	if code == 0 || !strings.Contains(errOut, "not reloading, the server keeps its running configuration") || !strings.Contains(errOut, "bogus_key") {
		t.Errorf("reload of a file with an unknown key: exit %d, stderr %s", code, errOut)
	}
	s.setOptions(options{Extra: []string{"", "[restrictions]", `recipient = ["reject_unauth_destinaton"]`}})
	code, _, errOut = s.cli("reload")
	if code == 0 || !strings.Contains(errOut, "reload failed, keeping the running configuration") || !strings.Contains(errOut, "reject_unauth_destinaton") {
		t.Errorf("reload with a misspelt restriction: exit %d, stderr %s", code, errOut)
	}
	s.setOptions(options{})
	conn.Close()

	code, out, errOut = s.cli("stop")
	if code != 0 || !strings.Contains(out, fmt.Sprintf("mailwarden stopped (pid %d)", s.cmd.Process.Pid)) {
		t.Errorf("stop: exit %d\n%s%s", code, out, errOut)
	}
	select {
	case <-s.done:
		if s.err != nil {
			t.Errorf("the server exited with %v after mailwarden stop", s.err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the server is still running after mailwarden stop returned")
	}
	code, out, _ = s.cli("status")
	if code != 3 || !strings.Contains(out, "mailwarden is not running (data_dir "+s.DataDir+")") {
		t.Errorf("status after stop: exit %d, want 3 and not running:\n%s", code, out)
	}
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}
