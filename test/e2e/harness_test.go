// Package e2e runs the built mailwarden binary against real clients (swaks,
// Python's smtplib, Go's net/smtp) on loopback, each test with its own data
// directory and port, and checks what a user would see: SMTP replies,
// Maildir files and the rows of the SQLite index.
package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"mailwarden/internal/daemon"
	"mailwarden/internal/testutil"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// mwBin is the mailwarden binary built once by TestMain.
var mwBin string

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "mailwarden-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	mwBin = filepath.Join(dir, "mailwarden")
	root, err := moduleRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	args := []string{"build", "-o", mwBin}
	if os.Getenv("MAILWARDEN_E2E_RACE") == "1" {
		// The server under the race detector: slower, finds data races
		// the concurrency and crash tests provoke.
		args = append(args, "-race")
	}
	// The commit, for `mailwarden version` (Go records none from a git
	// worktree or under -buildvcs=false).
	if rev, err := exec.Command("git", "-C", root, "rev-parse", "HEAD").Output(); err == nil {
		args = append(args, "-ldflags", "-X main.commit="+strings.TrimSpace(string(rev)))
	}
	build := exec.Command("go", append(args, "./cmd/mailwarden")...)
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: cannot build ./cmd/mailwarden: %v\n%s", err, out)
		return 1
	}
	return m.Run()
}

func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("not inside the mailwarden module")
	}
	return filepath.Dir(gomod), nil
}

// aptPackage names the Debian package that provides a tool.
var aptPackage = map[string]string{
	"swaks": "swaks", python: "python3", "doveadm": "dovecot-core", "mkpasswd": "whois",
	"pflogsumm": "pflogsumm", "fail2ban-regex": "fail2ban", "promtool": "prometheus",
	"xmllint": "libxml2-utils",
}

// requireTool skips the test when tool is missing, or fails it under CI=true,
// where every peer must be installed.
func requireTool(t testing.TB, tool string) {
	t.Helper()
	if _, err := exec.LookPath(tool); err == nil {
		return
	}
	pkg := aptPackage[tool]
	if pkg == "" {
		pkg = filepath.Base(tool)
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s not installed: apt-get install %s", tool, pkg)
	}
	t.Skipf("%s not installed (apt-get install %s); skipping", tool, pkg)
}

// options are the parts of the config file a test chooses.
type options struct {
	SMTP     []string // extra lines in [smtp]
	Delivery []string // extra lines in [delivery]
	Extra    []string // lines appended at the end (whole sections)
	Top      []string // extra top-level keys (relay_domains = [...])
	// Resolvers for [dns]; by default a closed loopback port, so nothing
	// ever leaves the machine and remote mail simply stays queued.
	Resolvers []string
}

// server is one mailwarden data directory, config file and (when started)
// process, seen from one test: its methods report failures to t. Use on(t)
// inside subtests.
type server struct {
	*serverState
	t testing.TB
}

type serverState struct {
	Dir     string // the test's temp dir
	DataDir string
	Config  string // path of mailwarden.toml
	PwFile  string // a password file for `user add`
	Port    int    // SMTP
	// Mailbox access ports: every test server listens on all of them.
	POP3Port, POP3SPort, IMAPPort, IMAPSPort int
	SubmissionPort, SubmissionsPort          int
	opts                                     options

	log  *testutil.Buffer // stderr of every run, appended
	cmd  *exec.Cmd
	done chan struct{}
	err  error // cmd.Wait's result once done is closed
}

// on returns the same server reporting to t (a subtest).
func (s *server) on(t testing.TB) *server { return &server{serverState: s.serverState, t: t} }

// newServer prepares a data dir and config; call start to run it.
func newServer(t testing.TB, opts options) *server {
	t.Helper()
	dir := t.TempDir()
	s := &server{t: t, serverState: &serverState{Dir: dir, DataDir: filepath.Join(dir, "data"),
		Config: filepath.Join(dir, "mailwarden.toml"), PwFile: filepath.Join(dir, "password"), opts: opts, log: &testutil.Buffer{}}}
	if err := os.WriteFile(s.PwFile, []byte("correct horse battery\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s.pickPorts()
	s.writeConfig()
	t.Cleanup(func() {
		if s.running() {
			s.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-s.done:
				if s.err != nil {
					t.Errorf("mailwarden exited with %v after SIGTERM at the end of the test", s.err)
				}
			case <-time.After(30 * time.Second):
				s.cmd.Process.Kill()
				<-s.done
				t.Errorf("mailwarden did not exit within 30s of SIGTERM at the end of the test")
			}
		}
		if t.Failed() || os.Getenv("MAILWARDEN_E2E_LOG") != "" {
			t.Logf("mailwarden log (%s):\n%s", s.DataDir, s.log.String())
		}
	})
	return s
}

// startServer is newServer, setup (admin commands), start.
func startServer(t testing.TB, opts options, setup func(s *server)) *server {
	t.Helper()
	s := newServer(t, opts)
	if setup != nil {
		setup(s)
	}
	s.start()
	return s
}

func freePort(t testing.TB) int {
	t.Helper()
	for range 200 {
		p := int(nextPort.Add(1))%(portHigh-portLow) + portLow
		l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
		if err != nil {
			continue
		}
		l.Close()
		return p
	}
	t.Fatal("no free port below the ephemeral range")
	return 0
}

// Test listeners take ports below Linux's ephemeral range (32768-60999),
// which outgoing connections draw from: a port picked with ":0" and bound
// later could meanwhile become some other test's client port. Each test
// process starts at a random place, so parallel runs rarely meet.
const portLow, portHigh = 10000, 32000

var nextPort = func() *atomic.Int64 {
	var n atomic.Int64
	n.Store(rand.Int64N(portHigh - portLow))
	return &n
}()

func (s *server) pickPorts() {
	s.Port, s.POP3Port, s.POP3SPort = freePort(s.t), freePort(s.t), freePort(s.t)
	s.IMAPPort, s.IMAPSPort = freePort(s.t), freePort(s.t)
	s.SubmissionPort, s.SubmissionsPort = freePort(s.t), freePort(s.t)
}

// Addr is the SMTP listener's host:port.
func (s *server) Addr() string { return "127.0.0.1:" + strconv.Itoa(s.Port) }

func (s *server) writeConfig() {
	s.t.Helper()
	lines := []string{
		`hostname = "mx.test.example"`,
		fmt.Sprintf("data_dir = %q", s.DataDir),
		`mynetworks = ["127.0.0.1/32"]`,
		`recipient_delimiter = "+"`,
	}
	lines = append(lines, s.opts.Top...)
	lines = append(lines,
		``,
		`[listen]`,
		fmt.Sprintf("smtp = [%q]", s.Addr()),
		fmt.Sprintf("pop3 = [\"127.0.0.1:%d\"]", s.POP3Port),
		fmt.Sprintf("pop3s = [\"127.0.0.1:%d\"]", s.POP3SPort),
		fmt.Sprintf("imap = [\"127.0.0.1:%d\"]", s.IMAPPort),
		fmt.Sprintf("imaps = [\"127.0.0.1:%d\"]", s.IMAPSPort),
		fmt.Sprintf("submission = [\"127.0.0.1:%d\"]", s.SubmissionPort),
		fmt.Sprintf("submissions = [\"127.0.0.1:%d\"]", s.SubmissionsPort),
		``,
		`[smtp]`,
		`message_size_limit = "1M"`,
	)
	lines = append(lines, s.opts.SMTP...)
	lines = append(lines, "", "[delivery]", "fsync = true")
	lines = append(lines, s.opts.Delivery...)
	resolvers := s.opts.Resolvers
	if resolvers == nil {
		resolvers = []string{"127.0.0.1:9"}
	}
	lines = append(lines, "", "[dns]", fmt.Sprintf("resolvers = [%q]", strings.Join(resolvers, `", "`)))
	lines = append(lines, s.opts.Extra...)
	if err := os.WriteFile(s.Config, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		s.t.Fatal(err)
	}
}

// setOptions rewrites the config file (the running server sees it after
// reload).
func (s *server) setOptions(opts options) {
	s.opts = opts
	s.writeConfig()
}

// start runs `mailwarden serve` and waits until the SMTP port accepts
// connections. A port taken in the meantime by someone else is replaced.
func (s *server) start() {
	s.t.Helper()
	for attempt := 0; ; attempt++ {
		err := s.tryStart()
		if err == nil {
			return
		}
		if attempt < 3 && strings.Contains(s.log.String(), "address already in use") {
			s.pickPorts()
			s.writeConfig()
			continue
		}
		s.t.Fatalf("mailwarden serve did not come up: %v\nlog:\n%s", err, s.log.String())
	}
}

func (s *server) tryStart() error {
	if s.running() {
		return errors.New("already running")
	}
	fmt.Fprintf(s.log, "---- e2e: starting mailwarden serve on %s ----\n", s.Addr())
	cmd := exec.Command(mwBin, "serve", "-config", s.Config)
	cmd.Stdout = s.log
	cmd.Stderr = s.log
	cmd.Env = append(os.Environ(), "MAILWARDEN_CONFIG=")
	if err := cmd.Start(); err != nil {
		return err
	}
	s.cmd, s.done = cmd, make(chan struct{})
	go func() {
		s.err = cmd.Wait()
		close(s.done)
	}()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-s.done:
			return fmt.Errorf("exited: %v", s.err)
		default:
		}
		// The ports are bound first; the server is ready when its
		// control socket answers.
		if st, err := daemon.Query(s.DataDir); err == nil && st.Pid == cmd.Process.Pid {
			c, err := net.DialTimeout("tcp", s.Addr(), time.Second)
			if err == nil {
				c.Close()
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.cmd.Process.Kill()
	<-s.done
	return errors.New("port not accepting after 30s")
}

func (s *server) running() bool {
	if s.done == nil {
		return false
	}
	select {
	case <-s.done:
		return false
	default:
		return true
	}
}

func (s *server) signal(sig os.Signal) {
	s.t.Helper()
	if err := s.cmd.Process.Signal(sig); err != nil {
		s.t.Fatalf("signal %v: %v", sig, err)
	}
}

// stop sends SIGTERM and requires a clean exit (status 0) within 30s.
func (s *server) stop() {
	s.t.Helper()
	s.signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(30 * time.Second):
		s.cmd.Process.Kill()
		<-s.done
		s.t.Fatal("mailwarden did not exit within 30s of SIGTERM")
	}
	if s.err != nil {
		s.t.Fatalf("mailwarden exited with %v after SIGTERM", s.err)
	}
}

// kill sends SIGKILL: a crash.
func (s *server) kill() {
	s.t.Helper()
	s.signal(syscall.SIGKILL)
	<-s.done
}

// reload sends SIGHUP and waits for the log to say the config was re-read.
func (s *server) reload() {
	s.t.Helper()
	before := strings.Count(s.log.String(), "reload")
	s.signal(syscall.SIGHUP)
	s.waitLog(func(l string) bool { return strings.Count(l, "reload") > before }, "a reload line after SIGHUP")
	if strings.Contains(s.log.String(), "reload failed") {
		s.t.Fatalf("reload failed:\n%s", s.log.String())
	}
}

// waitLog waits up to 10s for the log to satisfy ok.
func (s *server) waitLog(ok func(log string) bool, what string) {
	s.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ok(s.log.String()) {
		if time.Now().After(deadline) {
			s.t.Fatalf("log never showed %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Log returns everything the server wrote so far.
func (s *server) Log() string { return s.log.String() }

// cli runs an admin command against this data dir and returns its exit
// status, stdout and stderr.
func (s *server) cli(args ...string) (code int, stdout, stderr string) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	full := args
	if !hasConfigFlag(args) {
		full = append(append([]string{}, args...), "-config", s.Config)
	}
	cmd := exec.CommandContext(ctx, mwBin, full...)
	cmd.Env = append(os.Environ(), "MAILWARDEN_CONFIG=")
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		s.t.Fatalf("mailwarden %s: %v", strings.Join(args, " "), err)
	}
	return code, o.String(), e.String()
}

func hasConfigFlag(args []string) bool {
	for _, a := range args {
		name, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if strings.HasPrefix(a, "-") && name == "config" {
			return true
		}
	}
	return false
}

// admin runs an admin command that must succeed and returns its stdout.
func (s *server) admin(args ...string) string {
	s.t.Helper()
	code, out, errOut := s.cli(args...)
	if code != 0 {
		s.t.Fatalf("mailwarden %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

// addUser creates a mailbox with the test password.
func (s *server) addUser(addr string, flags ...string) {
	s.t.Helper()
	s.admin(append([]string{"user", "add", addr, "--password-file", s.PwFile}, flags...)...)
}

// mailDir is the Maildir root of a mailbox (its INBOX).
func (s *server) mailDir(addr string) string {
	local, domain, _ := strings.Cut(addr, "@")
	return filepath.Join(s.DataDir, "mail", domain, local)
}
