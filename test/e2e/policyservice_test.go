package e2e

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"mailwarden/internal/testutil"
)

// waitPort waits until 127.0.0.1:port accepts connections, or the
// process behind it (done) exits.
func waitPort(t *testing.T, port int, done chan struct{}, log func() string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), time.Second)
		if err == nil {
			c.Close()
			return
		}
		select {
		case <-done:
			t.Fatalf("exited before listening on %d:\n%s", port, log())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("nothing listening on %d after 20s:\n%s", port, log())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestPostgreyBehindCheckPolicyService: Debian's postgrey answers
// Mailwarden's check_policy_service as it answers Postfix: the first try
// of a triplet gets 450 with postgrey's text, a retry after the delay is
// accepted (with postgrey's X-Greylist field); a dead service gives
// Postfix's default action at once.
func TestPostgreyBehindCheckPolicyService(t *testing.T) {
	const delay = 2
	port := startPostgrey(t, "--delay="+strconv.Itoa(delay))
	opts := func(port int) options {
		return options{Extra: []string{"[restrictions]",
			fmt.Sprintf(`recipient = ["reject_unauth_destination", "check_policy_service inet:127.0.0.1:%d", "permit"]`, port),
			`policy_service_timeout = "10s"`}}
	}
	s := startServer(t, opts(port), func(s *server) {
		s.admin("domain", "add", "relay.test")
		s.addUser("ann@relay.test")
	})
	msg := message("s@sender.example", "ann@relay.test", "greylisted", newMessageID("grey"), "hello\r\n")
	send := func() swaksResult {
		return s.swaks("--local-interface", "127.0.0.2", "--from", "s@sender.example", "--to", "ann@relay.test", "--data", "@"+s.writeMessage(msg))
	}
	r := send()
	want := "450 4.2.0 <ann@relay.test>: Recipient address rejected: Greylisted, see http://postgrey.schweikert.ch/help/relay.test.html"
	if r.Code == 0 || !strings.Contains(r.Out, want) {
		t.Fatalf("first try: exit %d, want %q in\n%s", r.Code, want, r.Out)
	}
	if r = send(); !strings.Contains(r.Out, want) {
		t.Fatalf("early retry: want %q in\n%s", want, r.Out)
	}
	time.Sleep((delay + 1) * time.Second)
	if r = send(); r.Code != 0 || r.QueueID() == "" {
		t.Fatalf("retry after the delay: exit %d\n%s", r.Code, r.Out)
	}
	files := s.inbox("ann@relay.test")
	if len(files) != 1 || !strings.HasPrefix(files[0].Headers.Get("X-Greylist"), "delayed ") ||
		!strings.Contains(files[0].Headers.Get("X-Greylist"), "by postgrey") {
		t.Fatalf("want one message with postgrey's X-Greylist field, got %d: %v", len(files), files)
	}

	// A service that is not there: Postfix's
	// smtpd_policy_service_default_action, at once.
	port = freePort(t)
	s.setOptions(opts(port))
	s.reload()
	start := time.Now()
	r = send()
	want = "451 4.3.5 <ann@relay.test>: Recipient address rejected: Server configuration problem"
	if !strings.Contains(r.Out, want) {
		t.Fatalf("dead service: want %q in\n%s", want, r.Out)
	}
	t.Logf("dead service answered in %v", time.Since(start).Round(time.Millisecond))
	warning := "problem talking to server inet:127.0.0.1:" + strconv.Itoa(port)
	s.waitLog(func(l string) bool { return strings.Contains(l, warning) }, "the warning about the dead policy service")
}

// policydProc is a running `mailwarden policyd`.
type policydProc struct {
	Port int
	log  *testutil.Buffer
	cmd  *exec.Cmd
	done chan struct{}
}

// startPolicyd runs `mailwarden policyd --listen 127.0.0.1:PORT args...`
// on s's config and data directory, and stops it (SIGTERM, exit 0) when
// the test ends.
func startPolicyd(t *testing.T, s *server, args ...string) *policydProc {
	t.Helper()
	p := &policydProc{Port: freePort(t), log: &testutil.Buffer{}, done: make(chan struct{})}
	full := append([]string{"policyd", "-config", s.Config, "--listen", "127.0.0.1:" + strconv.Itoa(p.Port)}, args...)
	p.cmd = exec.Command(mwBin, full...)
	p.cmd.Env = append(os.Environ(), "MAILWARDEN_CONFIG=")
	p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var werr error
	go func() { werr = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			p.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-p.done:
				if werr != nil {
					t.Errorf("policyd exited with %v after SIGTERM", werr)
				}
			case <-time.After(20 * time.Second):
				p.cmd.Process.Kill()
				<-p.done
				t.Errorf("policyd did not exit within 20s of SIGTERM")
			}
		}
		if t.Failed() {
			t.Logf("policyd log:\n%s", p.log.String())
		}
	})
	waitPort(t, p.Port, p.done, p.log.String)
	return p
}

// TestPolicydForPostfix: a real Postfix asks `mailwarden policyd` through
// check_policy_service and answers with its verdicts: a client table's
// REJECT, a DEFER_IF_PERMIT that a later reject in Postfix's list
// overrides, DUNNO.
func TestPolicydForPostfix(t *testing.T) {
	tables := t.TempDir()
	writeFile(t, filepath.Join(tables, "clients.cidr"), "127.0.0.3 REJECT not from there\n127.0.0.4 DEFER_IF_PERMIT 4.2.0 come back later\n")
	s := newServer(t, options{})
	p := startPolicyd(t, s, "--restriction", "check_client_access cidr:"+filepath.Join(tables, "clients.cidr"))
	pf := startPostfixWith(t, fmt.Sprintf("smtpd_recipient_restrictions = reject_unauth_destination, check_policy_service inet:127.0.0.1:%d, "+
		"check_recipient_access inline:{nobody@relay.test=REJECT}, permit\n", p.Port), "ann")
	pfAddr := fmt.Sprintf("127.0.0.1:%d", pf.Port)
	for _, tc := range []struct {
		src, rcpt, want string
	}{
		{"127.0.0.3", "ann@relay.test", "554 5.7.1 <ann@relay.test>: Recipient address rejected: not from there"},
		{"127.0.0.4", "ann@relay.test", "450 4.2.0 <ann@relay.test>: Recipient address rejected: come back later"},
		// DEFER_IF_PERMIT: a later reject in Postfix's list still wins.
		{"127.0.0.4", "nobody@relay.test", "554 5.7.1 <nobody@relay.test>: Recipient address rejected: Access denied"},
		{"127.0.0.2", "ann@relay.test", "250 2.1.5 Ok"},
	} {
		got := smtpScript(t, tc.src, pfAddr, []string{"EHLO client.example.org", "MAIL FROM:<s@sender.example>", "RCPT TO:<" + tc.rcpt + ">", "QUIT"})
		if got[2] != tc.want {
			t.Errorf("from %s to %s: Postfix said %q, want %q", tc.src, tc.rcpt, got[2], tc.want)
		}
	}
	if !strings.Contains(p.log.String(), "action=554 5.7.1 not from there") {
		t.Errorf("policyd did not log its reject:\n%s", p.log.String())
	}
}
