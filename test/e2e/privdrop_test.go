package e2e

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"mailwarden/internal/testutil"
)

// procIDs is the Uid: or Gid: line of /proc/PID/task/TID/status for every
// thread of pid.
func procIDs(t testing.TB, pid int, field string) []string {
	t.Helper()
	tasks, err := filepath.Glob("/proc/" + strconv.Itoa(pid) + "/task/*/status")
	if err != nil || len(tasks) == 0 {
		t.Fatalf("threads of %d: %v", pid, err)
	}
	var out []string
	for _, f := range tasks {
		m := regexp.MustCompile(`(?m)^` + field + `:\s+(.*)$`).FindStringSubmatch(readFileOr(t, f))
		if m == nil {
			t.Fatalf("%s has no %s line", f, field)
		}
		out = append(out, strings.Join(strings.Fields(m[1]), " "))
	}
	return out
}

// TestPrivilegeDrop: serve started as root with user = "nobody" binds
// port 25 (in a network namespace of the test), then every thread runs
// as nobody — real, effective, saved and filesystem ids — with nobody's
// groups only; the data_dir it created is nobody's, and mail and status
// work.
func TestPrivilegeDrop(t *testing.T) {
	t.Parallel()
	requireRoot(t)
	dir, err := os.MkdirTemp("", "mw-privdrop-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "data")
	cfg := filepath.Join(dir, "mailwarden.toml")
	src := `hostname = "mx.test.example"
data_dir = "` + data + `"
user = "nobody"
[listen]
smtp = ["127.0.0.1:25"]
submission = ["127.0.0.1:587"]
[dns]
resolvers = ["127.0.0.1:9"]
`
	if err := os.WriteFile(cfg, []byte(src), 0o644); err != nil { // nobody re-reads it on reload
		t.Fatal(err)
	}
	log := &testutil.Buffer{}
	cmd := netnsServe(t, log, mwBin, "serve", "-config", cfg)
	pid := cmd.Process.Pid
	for _, f := range []string{"Uid", "Gid"} {
		for _, ids := range procIDs(t, pid, f) {
			if ids != "65534 65534 65534 65534" {
				t.Errorf("a thread of the server has %s: %s, want nobody's 65534 four times", f, ids)
			}
		}
	}
	if g := procIDs(t, pid, "Groups")[0]; g != "65534" && g != "" {
		t.Errorf("supplementary groups %q, want nobody's only", g)
	}
	if !strings.Contains(log.String(), "running as nobody (uid 65534, gid 65534)") {
		t.Errorf("the log does not say who the server runs as:\n%s", log.String())
	}
	if g := greetingIn(t, pid, "127.0.0.1", 25); !strings.HasPrefix(g, "220 mx.test.example") {
		t.Errorf("greeting on port 25: %q", g)
	}
	for _, f := range []string{data, filepath.Join(data, "mailwarden.db"), filepath.Join(data, "mailwarden.pid"), filepath.Join(data, "control.sock")} {
		st, err := os.Stat(f)
		if err != nil {
			t.Errorf("%v", err)
			continue
		}
		if uid := st.Sys().(*syscall.Stat_t).Uid; uid != 65534 {
			t.Errorf("%s belongs to uid %d, want nobody", f, uid)
		}
	}
	s := &server{t: t, serverState: &serverState{Config: cfg}}
	if code, out, _ := s.cli("status"); code != 0 || !strings.Contains(out, "mailwarden is running (pid "+strconv.Itoa(pid)+")") || !strings.Contains(out, "smtp 127.0.0.1:25") {
		t.Errorf("status as root: exit %d\n%s", code, out)
	}
	// A reload re-reads the file as nobody.
	if code, out, errOut := s.cli("reload"); code != 0 || !strings.Contains(out, "reloaded") {
		t.Errorf("reload: exit %d\n%s%s", code, out, errOut)
	}
}

// TestPrivilegeDropRefusesForeignDataDir: a data_dir with files of
// another owner is not taken over: serve says whose it is and what to do.
func TestPrivilegeDropRefusesForeignDataDir(t *testing.T) {
	t.Parallel()
	requireRoot(t)
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	if err := os.MkdirAll(filepath.Join(data, "mail"), 0o700); err != nil { // root's
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "mailwarden.toml")
	port := freePort(t)
	if err := os.WriteFile(cfg, []byte("hostname = \"mx.test.example\"\ndata_dir = \""+data+"\"\nuser = \"nobody\"\n[listen]\nsmtp = [\"127.0.0.1:"+strconv.Itoa(port)+"\"]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s := &server{t: t, serverState: &serverState{Config: cfg}}
	// An account that does not exist is named, with how to make it.
	if err := os.WriteFile(cfg, []byte(strings.Replace(readFileOr(t, cfg), `user = "nobody"`, `user = "mw-no-such-user"`, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := s.cli("check-config"); code == 0 || !strings.Contains(errOut, cfg+":3: user: user \"mw-no-such-user\": ") ||
		!strings.Contains(errOut, "create it (adduser --system --group mw-no-such-user)") {
		t.Errorf("check-config with an unknown user: exit %d\n%s", code, errOut)
	}
	if err := os.WriteFile(cfg, []byte(strings.Replace(readFileOr(t, cfg), `user = "mw-no-such-user"`, `user = "nobody"`, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	want := "data_dir " + data + " belongs to uid 0, not to nobody (uid 65534), who serve runs as — chown -R nobody: " + data
	for _, verb := range []string{"check-config", "serve"} {
		code, _, errOut := s.cli(verb)
		if code == 0 || !strings.Contains(errOut, want) {
			t.Errorf("%s: exit %d, want %q in\n%s", verb, code, want, errOut)
		}
	}

}
