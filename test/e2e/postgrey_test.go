package e2e

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// startPostgrey runs Debian's postgrey privately (its own port and
// database directory, empty whitelists, never the system service) with the
// given options, and returns its port.
func startPostgrey(t *testing.T, opts ...string) int {
	t.Helper()
	bin, err := exec.LookPath("postgrey")
	if err != nil {
		if _, err := os.Stat("/usr/sbin/postgrey"); err == nil {
			bin = "/usr/sbin/postgrey"
		} else {
			requireTool(t, "postgrey") // skips, or fails under CI=true
		}
	}
	if os.Geteuid() != 0 {
		t.Skip("postgrey switches to its own user: the test needs root")
	}
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	writeFile(t, empty, "")
	port := freePort(t)
	args := append([]string{"--inet=127.0.0.1:" + strconv.Itoa(port), "--dbdir=" + dir, "--user=root", "--group=root",
		"--whitelist-clients=" + empty, "--whitelist-recipients=" + empty}, opts...)
	cmd := exec.Command(bin, args...)
	out, err := os.Create(filepath.Join(dir, "postgrey.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("postgrey: %v", err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		out.Close()
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), time.Second)
		if err == nil {
			c.Close()
			return port
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "postgrey.log"))
			t.Fatalf("postgrey did not listen on %d: %v\n%s", port, err, log)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// policyQuery asks a policy server (Postfix's policy delegation protocol,
// name=value lines and an empty line) and returns its action.
func policyQuery(t *testing.T, addr string, attrs map[string]string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	var b strings.Builder
	b.WriteString("request=smtpd_access_policy\n")
	for k, v := range attrs {
		b.WriteString(k + "=" + v + "\n")
	}
	b.WriteString("\n")
	if _, err := c.Write([]byte(b.String())); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		t.Fatalf("policy answer: %v", err)
	}
	return strings.TrimPrefix(strings.TrimSpace(line), "action=")
}

// TestGreylistLikePostgrey: Debian's postgrey behind a real Postfix
// (check_policy_service) and Mailwarden's check_greylist get the same
// sequence of triplets from the same client addresses: new triplets, early
// retries, VERP, BATV and extension senders, the null sender, a retry
// after the delay from another host of the /24, auto-whitelisting, a
// later reject winning over the greylist's DEFER_IF_PERMIT. Every RCPT
// reply, code and text, is the same.
func TestGreylistLikePostgrey(t *testing.T) {
	const delay = 5
	pg := startPostgrey(t, "--delay="+strconv.Itoa(delay), "--auto-whitelist-clients=1")
	// postgrey itself, before Postfix words its answer.
	if got := policyQuery(t, fmt.Sprintf("127.0.0.1:%d", pg), map[string]string{"protocol_state": "RCPT", "client_address": "192.0.2.1",
		"client_name": "unknown", "sender": "probe@example.org", "recipient": "ann@relay.test", "etrn_domain": "", "instance": "1"}); got !=
		"DEFER_IF_PERMIT 4.2.0 Greylisted, see http://postgrey.schweikert.ch/help/relay.test.html" {
		t.Fatalf("postgrey answered %q", got)
	}
	pf := startPostfixWith(t, fmt.Sprintf("mynetworks = 127.0.0.1/32\nsmtpd_recipient_restrictions = reject_unauth_destination, check_policy_service inet:127.0.0.1:%d, reject_unlisted_recipient, permit\n", pg), "ann")
	s := startServer(t, options{Extra: []string{"", "[restrictions]",
		`recipient = ["reject_unauth_destination", "check_greylist", "reject_unlisted_recipient", "permit"]`,
		"", "[greylist]", fmt.Sprintf(`delay = "%ds"`, delay), "auto_whitelist_clients = 1"}}, func(s *server) {
		s.admin("domain", "add", "relay.test")
		s.addUser("ann@relay.test")
	})
	pfAddr := fmt.Sprintf("127.0.0.1:%d", pf.Port)
	type step struct {
		src, from, want string // want: the reply's code
		to              string // ann@relay.test when empty
	}
	run := func(steps []step) {
		t.Helper()
		for _, st := range steps {
			to := st.to
			if to == "" {
				to = "ann@relay.test"
			}
			script := []string{"EHLO client.example.org", "MAIL FROM:<" + st.from + ">", "RCPT TO:<" + to + ">", "QUIT"}
			want := smtpScript(t, st.src, pfAddr, script)[2]
			got := smtpScript(t, st.src, s.Addr(), script)[2]
			if got != want {
				t.Errorf("%s <%s>: Mailwarden %q, postgrey behind Postfix %q", st.src, st.from, got, want)
			}
			if !strings.HasPrefix(want, st.want+" ") {
				t.Errorf("%s <%s>: Postfix with postgrey said %q, the test expects %s", st.src, st.from, want, st.want)
			}
		}
	}
	start := time.Now()
	run([]step{
		{"127.0.0.2", "news+1@sender.example", "450", ""},
		{"127.0.0.2", "news+2@sender.example", "450", ""}, // the same triplet, early
		{"127.0.0.3", "bounce-123-77@lists.example", "450", ""},
		{"127.0.0.2", "prvs=1234567890=bob@batv.example", "450", ""},
		{"127.0.0.4", "", "450", ""},
		// DEFER_IF_PERMIT: a reject later in the list wins.
		{"127.0.0.6", "x@sender.example", "550", "nobody@relay.test"},
	})
	if time.Since(start) >= delay*time.Second {
		t.Fatalf("the first round took longer than the %ds delay: the machine is too slow for this test", delay)
	}
	time.Sleep(time.Until(start.Add(delay*time.Second + 1500*time.Millisecond)))
	run([]step{
		{"127.0.0.5", "news+3@sender.example", "250", ""},       // another host of the /24, after the delay
		{"127.0.0.3", "bounce-456-78@lists.example", "250", ""}, // VERP numbers
		{"127.0.0.2", "prvs=0987654321=bob@batv.example", "250", ""},
		{"127.0.0.4", "", "250", ""},
		{"127.0.0.5", "new@fresh.example", "250", ""}, // auto-whitelisted after one success
		{"127.0.0.9", "new@fresh.example", "450", ""}, // its neighbour is not
		{"127.0.0.9", "NEW@Fresh.Example", "450", ""},
	})
}

// TestGreylistActionLikePostgrey: postgrey --greylist-action=451 and
// [greylist] action = "451" refuse at once, before a later reject: the
// same replies behind Postfix and from Mailwarden.
func TestGreylistActionLikePostgrey(t *testing.T) {
	pg := startPostgrey(t, "--delay=60", "--greylist-action=451")
	pf := startPostfixWith(t, fmt.Sprintf("mynetworks = 127.0.0.1/32\nsmtpd_recipient_restrictions = reject_unauth_destination, check_policy_service inet:127.0.0.1:%d, reject_unlisted_recipient, permit\n", pg), "ann")
	s := startServer(t, options{Extra: []string{"", "[restrictions]",
		`recipient = ["reject_unauth_destination", "check_greylist", "reject_unlisted_recipient", "permit"]`,
		"", "[greylist]", `delay = "60s"`, `action = "451"`}}, func(s *server) {
		s.admin("domain", "add", "relay.test")
		s.addUser("ann@relay.test")
	})
	pfAddr := fmt.Sprintf("127.0.0.1:%d", pf.Port)
	for _, to := range []string{"ann@relay.test", "nobody@relay.test"} {
		script := []string{"EHLO client.example.org", "MAIL FROM:<a@sender.example>", "RCPT TO:<" + to + ">", "QUIT"}
		want := smtpScript(t, "127.0.0.2", pfAddr, script)[2]
		got := smtpScript(t, "127.0.0.2", s.Addr(), script)[2]
		if got != want || !strings.HasPrefix(want, "451 4.2.0 <"+to+">: Recipient address rejected: Greylisted") {
			t.Errorf("<%s>: Mailwarden %q, postgrey behind Postfix %q", to, got, want)
		}
	}
}
