package e2e

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"mailwarden/internal/envelope"
	"mailwarden/internal/policy"
	"mailwarden/internal/testutil"
)

// waitListening waits until 127.0.0.1:port accepts connections, or the
// process behind it (done) exits.
func waitListening(t *testing.T, port int, done chan struct{}, log func() string) {
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

// waitLog waits up to 10s for want in policyd's log.
func (p *policydProc) waitLog(t *testing.T, want, what string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(p.log.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("policyd's log never showed %s (%q):\n%s", what, want, p.log.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
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
	waitListening(t, p.Port, p.done, p.log.String)
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

// postfixMaildirHas waits up to 20s for a message in pf's Maildir of
// relay.test/local whose text contains want.
func postfixMaildirHas(t *testing.T, pf *privatePostfix, local, want string) bool {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		files, _ := filepath.Glob(filepath.Join(pf.MailDir, "relay.test", local, "new", "*"))
		for _, f := range files {
			if b, err := os.ReadFile(f); err == nil && strings.Contains(string(b), want) {
				return true
			}
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestPolicydGreylistForPostfix: a real Postfix with
// check_policy_service pointing at `mailwarden policyd` greylists as
// with postgrey: the first try gets 450 with postgrey's text, the retry
// after [greylist] delay is accepted and delivered with the X-Greylist
// field, and with auto_whitelist_clients = 1 the client is then let
// through for any sender while another network is still greylisted.
func TestPolicydGreylistForPostfix(t *testing.T) {
	s := newServer(t, options{Extra: []string{"", "[greylist]", `delay = "2s"`, "auto_whitelist_clients = 1"}})
	p := startPolicyd(t, s)
	pf := startPostfixWith(t, fmt.Sprintf("smtpd_recipient_restrictions = reject_unauth_destination, check_policy_service inet:127.0.0.1:%d, permit\n", p.Port), "ann")
	pfAddr := fmt.Sprintf("127.0.0.1:%d", pf.Port)
	try := func(src, from string) swaksResult {
		t.Helper()
		return s.swaks("--server", pfAddr, "--local-interface", src, "--from", from, "--to", "ann@relay.test",
			"--data", "@"+s.writeMessage(message(from, "ann@relay.test", "grey", newMessageID("pgrey"), "hello")))
	}
	want := greylistText("ann@relay.test")
	first := time.Now()
	if r := try("127.0.0.2", "news@sender.example"); r.Code == 0 || !strings.Contains(r.Out, want) {
		t.Fatalf("first try: exit %d, want %q in\n%s", r.Code, want, r.Out)
	}
	if time.Since(first) < 1500*time.Millisecond {
		if r := try("127.0.0.2", "news@sender.example"); r.Code == 0 || !strings.Contains(r.Out, want) {
			t.Fatalf("early retry: exit %d\n%s", r.Code, r.Out)
		}
	}
	time.Sleep(time.Until(first.Add(2500 * time.Millisecond)))
	if r := try("127.0.0.2", "news@sender.example"); r.Code != 0 {
		t.Fatalf("retry after the delay: exit %d\n%s", r.Code, r.Out)
	}
	if !postfixMaildirHas(t, pf, "ann", "X-Greylist: delayed ") {
		t.Errorf("Postfix delivered no message with policyd's X-Greylist field")
	}
	if r := try("127.0.0.2", "other@elsewhere.example"); r.Code != 0 {
		t.Fatalf("auto-whitelisted client, new sender: exit %d\n%s", r.Code, r.Out)
	}
	if r := try("127.0.1.2", "other@elsewhere.example"); r.Code == 0 || !strings.Contains(r.Out, want) {
		t.Fatalf("another network: exit %d\n%s", r.Code, r.Out)
	}
	// The state is Mailwarden's, in SQL: the admin command sees it.
	if out := s.admin("greylist", "list", "--client", "127.0.0.0/24"); !strings.Contains(out, "passed") {
		t.Errorf("greylist list:\n%s", out)
	}
	for _, l := range []string{"action=DEFER_IF_PERMIT 4.2.0 Greylisted, see http://postgrey.schweikert.ch/help/relay.test.html",
		"action=PREPEND X-Greylist: delayed "} {
		if !strings.Contains(p.log.String(), l) {
			t.Errorf("policyd log has no %q", l)
		}
	}
}

// TestPolicydTargreyForPostfix: taRgrey's classic setup on a real
// Postfix (the policy service in the recipient and data lists) with
// `mailwarden policyd --targrey`: a client without a reverse name (S25R)
// that waits out the tarpit at RCPT (policyd answers "sleep N" and
// Postfix waits) gets its mail through without
// greylisting; one that hangs up during the tarpit is greylisted on its
// next try.
func TestPolicydTargreyForPostfix(t *testing.T) {
	s := newServer(t, options{Extra: []string{"", "[greylist]", `delay = "60s"`, `tarpit = "2s"`}})
	p := startPolicyd(t, s, "--targrey")
	pf := startPostfixWith(t, fmt.Sprintf("smtpd_recipient_restrictions = reject_unauth_destination, check_policy_service inet:127.0.0.1:%[1]d, permit\n"+
		"smtpd_data_restrictions = check_policy_service inet:127.0.0.1:%[1]d, permit\n", p.Port), "ann")
	pfAddr := fmt.Sprintf("127.0.0.1:%d", pf.Port)

	// Waits through the tarpit: accepted, no greylisting.
	start := time.Now()
	r := s.swaks("--server", pfAddr, "--local-interface", "127.0.0.2", "--from", "patient@sender.example", "--to", "ann@relay.test")
	if r.Code != 0 {
		t.Fatalf("a client that waits: exit %d\n%s", r.Code, r.Out)
	}
	if d := time.Since(start); d < 2*time.Second {
		t.Errorf("RCPT answered after %v, before the 2s tarpit", d)
	}
	// taRgrey's way: Postfix's smtpd waits, told so by the policy answer.
	p.waitLog(t, "state=RCPT, action=sleep 2", "the tarpit as a sleep answer")

	// Hangs up during the tarpit: greylisted on the next try.
	c, err := net.DialTimeout("tcp", pfAddr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	// 127.0.0.1 is a fine source too: policyd, not Postfix's mynetworks, decides here.
	fmt.Fprint(c, "EHLO client.example.org\r\nMAIL FROM:<hasty@sender.example>\r\nRCPT TO:<ann@relay.test>\r\n")
	time.Sleep(500 * time.Millisecond)
	c.Close()
	p.waitLog(t, "action=tarpit, reason=new", "policyd tarpitting the hasty client")
	time.Sleep(2500 * time.Millisecond) // Postfix's sleep ends; it finds the client gone
	got := smtpScript(t, "127.0.0.1", pfAddr, []string{"EHLO client.example.org", "MAIL FROM:<hasty@sender.example>", "RCPT TO:<ann@relay.test>", "QUIT"})
	if want := greylistText("ann@relay.test"); got[2] != want {
		t.Fatalf("the client that hung up, next try: %q, want %q", got[2], want)
	}
}

// TestPolicydReload: SIGHUP makes policyd read its config again (here a
// restriction class its --restriction names), and a config with a
// mistake keeps the running one.
func TestPolicydReload(t *testing.T) {
	class := func(entries string) options {
		return options{Extra: []string{"", "[restrictions.restriction_classes]", "policy_class = [" + entries + "]"}}
	}
	s := newServer(t, class(`"reject"`))
	p := startPolicyd(t, s, "--restriction", "policy_class")
	c := policy.NewPolicyClient("tcp", "127.0.0.1:"+strconv.Itoa(p.Port), "policyd", policy.PolicyServiceSettings{Timeout: 10 * time.Second,
		MaxIdle: time.Minute, MaxTTL: time.Hour, TryLimit: 1, RetryDelay: time.Second, MaxConnections: 1})
	defer c.Close()
	ask := func() string {
		t.Helper()
		r := &policy.Request{Stage: policy.Rcpt, Sender: "s@sender.example", Recipient: "ann@relay.test", Instance: "1",
			Env: &envelope.Envelope{ClientIP: netip.MustParseAddr("192.0.2.1"), ClientHost: "unknown"}}
		a, err := c.Query(context.Background(), policy.RequestAttrs(r, ""))
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	if a := ask(); a != "554 5.7.1 Access denied" {
		t.Fatalf("before reload: %q", a)
	}
	s.setOptions(class(`"defer"`))
	p.cmd.Process.Signal(syscall.SIGHUP)
	p.waitLog(t, "reload -- configuration", "the reload")
	if a := ask(); a != "450 4.7.1 Access denied" {
		t.Fatalf("after reload: %q", a)
	}
	s.setOptions(class(`"no_such_restriction"`))
	p.cmd.Process.Signal(syscall.SIGHUP)
	p.waitLog(t, "reload failed, keeping the running configuration", "the failed reload")
	if a := ask(); a != "450 4.7.1 Access denied" {
		t.Fatalf("after a failed reload: %q", a)
	}
}
