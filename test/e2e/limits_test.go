package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// pyLimits plays the abusive clients with Python's socket, smtplib and
// imaplib; the request (JSON on stdin) names the scenario, the answer is
// JSON on stdout.
const pyLimits = `
import imaplib, json, smtplib, socket, ssl, sys
req = json.load(sys.stdin)
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
out = {}
def banner(src, port, early=b""):
    s = socket.create_connection(("127.0.0.1", port), timeout=30, source_address=(src, 0))
    if early:
        s.sendall(early)
    f = s.makefile("rb")
    try:
        line = f.readline().decode("utf-8", "replace").rstrip("\r\n")
    except OSError as e:
        line = "error: " + repr(e)
    s.close()
    return line
class SrcIMAP(imaplib.IMAP4_SSL):
    # imaplib has no source address: connect from the scenario's one.
    def _create_socket(self, timeout):
        sock = socket.create_connection((self.host, self.port), timeout, source_address=(req["src"], 0))
        return self.ssl_context.wrap_socket(sock, server_hostname=self.host)
sc = req["scenario"]
if sc == "connections":
    out["banners"] = [banner(req["src"], req["port"]) for _ in range(req["n"])]
elif sc == "recipients":
    s = smtplib.SMTP("127.0.0.1", req["port"], local_hostname="client.e2e.test", source_address=(req["src"], 0), timeout=30)
    s.ehlo()
    s.mail(req["from"])
    out["rcpt"] = []
    for r in req["to"]:
        code, msg = s.rcpt(r)
        out["rcpt"].append("%d %s" % (code, msg.decode()))
    s.quit()
elif sc == "pregreet":
    out["early"] = banner(req["src"], req["port"], b"EHLO early.e2e.test\r\n")
    out["next"] = banner(req["src"], req["port"])
elif sc == "banner":
    out["banner"] = banner(req["src"], req["port"])
elif sc == "imap-brute":
    out["tries"] = []
    for pw in req["passwords"]:
        try:
            m = SrcIMAP("127.0.0.1", req["port"], ssl_context=ctx, timeout=30)
        except Exception as e:
            out["tries"].append("connect: " + repr(e)); continue
        try:
            m.login(req["user"], pw)
            out["tries"].append("OK")
            m.logout()
        except imaplib.IMAP4.error as e:
            out["tries"].append(str(e))
        except Exception as e:
            out["tries"].append("error: " + repr(e))
elif sc == "smtp-brute":
    out["tries"] = []
    for pw in req["passwords"]:
        try:
            s = smtplib.SMTP("127.0.0.1", req["port"], local_hostname="client.e2e.test", source_address=(req["src"], 0), timeout=30)
            s.starttls(context=ctx)
            s.login(req["user"], pw)
            out["tries"].append("235")
            s.quit()
        except smtplib.SMTPAuthenticationError as e:
            out["tries"].append("%d %s" % (e.smtp_code, e.smtp_error.decode()))
        except smtplib.SMTPResponseException as e:
            out["tries"].append("%d %s" % (e.smtp_code, e.smtp_error.decode() if isinstance(e.smtp_error, bytes) else e.smtp_error))
        except Exception as e:
            out["tries"].append("error: " + repr(e))
print(json.dumps(out))
`

// runPyLimits runs one scenario of pyLimits.
func runPyLimits(t *testing.T, req map[string]any, out any) {
	t.Helper()
	requireTool(t, python)
	in, _ := json.Marshal(req)
	cmd := exec.Command(python, "-c", pyLimits)
	cmd.Stdin = strings.NewReader(string(in))
	b, err := cmd.Output()
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("python %v: %v\n%s", req["scenario"], err, stderr)
	}
	if err := json.Unmarshal(b, out); err != nil {
		t.Fatalf("python output %q: %v", b, err)
	}
}

// TestRateLimits drives Postfix anvil's limits with Python clients: the
// connection after the limit gets 421, the recipient after the limit 450,
// each with Postfix's reply and log line, while mynetworks is exempt; a
// client that talks before the greeting is refused and remembered, and
// `auth unlock` forgets it.
func TestRateLimits(t *testing.T) {
	s := startServer(t, options{
		SMTP:  []string{"client_connection_rate_limit = 3", "client_recipient_rate_limit = 4", `rate_time_unit = "1h"`},
		Extra: []string{"", "[postscreen]", `greet_action = "drop"`, `greet_wait = "1s"`},
	}, func(s *server) {
		s.admin("domain", "add", "limits.test")
		s.addUser("rcpt@limits.test")
	})

	t.Run("connection rate", func(t *testing.T) {
		var out struct{ Banners []string }
		runPyLimits(t, map[string]any{"scenario": "connections", "src": "127.0.0.2", "port": s.Port, "n": 5}, &out)
		for i, b := range out.Banners {
			want := "220 "
			if i >= 3 {
				want = "421 4.7.0 mx.test.example Error: too many connections from 127.0.0.2"
			}
			if !strings.HasPrefix(b, want) {
				t.Errorf("connection %d: %q, want %q", i+1, b, want)
			}
		}
		runPyLimits(t, map[string]any{"scenario": "connections", "src": "127.0.0.1", "port": s.Port, "n": 5}, &out)
		for i, b := range out.Banners {
			if !strings.HasPrefix(b, "220 ") {
				t.Errorf("mynetworks connection %d: %q", i+1, b)
			}
		}
		s.on(t).waitLog(func(l string) bool {
			return strings.Contains(l, "warning: Connection rate limit exceeded: 4 from unknown[127.0.0.2] for service smtp") &&
				strings.Contains(l, "warning: Connection rate limit exceeded: 5 from unknown[127.0.0.2] for service smtp")
		}, "the connection rate warnings")
	})

	t.Run("recipient rate", func(t *testing.T) {
		var out struct{ Rcpt []string }
		to := []string{"rcpt@limits.test", "nobody@limits.test", "rcpt@limits.test", "rcpt@limits.test", "rcpt@limits.test", "rcpt@limits.test"}
		runPyLimits(t, map[string]any{"scenario": "recipients", "src": "127.0.0.3", "port": s.Port, "from": "a@sender.test", "to": to}, &out)
		if len(out.Rcpt) != 6 {
			t.Fatalf("replies: %q", out.Rcpt)
		}
		for i, r := range out.Rcpt {
			switch {
			case i == 1:
				if !strings.HasPrefix(r, "550 ") {
					t.Errorf("unknown recipient: %q", r)
				}
			case i < 4:
				if !strings.HasPrefix(r, "250 ") {
					t.Errorf("recipient %d: %q", i+1, r)
				}
			default:
				if r != "450 4.7.1 Error: too many recipients from 127.0.0.3" {
					t.Errorf("recipient %d: %q, want 450 4.7.1 Error: too many recipients from 127.0.0.3", i+1, r)
				}
			}
		}
		s.on(t).waitLog(func(l string) bool {
			return strings.Contains(l, "warning: Recipient address rate limit exceeded: 5 from unknown[127.0.0.3] for service smtp")
		}, "the recipient rate warning")
	})

	t.Run("pregreet", func(t *testing.T) {
		var out struct{ Early, Next string }
		runPyLimits(t, map[string]any{"scenario": "pregreet", "src": "127.0.0.4", "port": s.Port}, &out)
		if out.Early != "521 5.5.1 Protocol error" || out.Next != "521 5.5.1 Protocol error" {
			t.Fatalf("early talker got %q, then %q; want 521 5.5.1 Protocol error both times", out.Early, out.Next)
		}
		s.on(t).waitLog(func(l string) bool {
			return regexp.MustCompile(`PREGREET 21 after [0-9.]+ from \[127\.0\.0\.4\]:[0-9]+: EHLO early\.e2e\.test\\r\\n`).MatchString(l) &&
				strings.Count(l, "NOQUEUE: reject: CONNECT from unknown[127.0.0.4]: 521 5.5.1 Protocol error") == 2
		}, "the PREGREET line and two rejects")
		// A polite client elsewhere waits out greet_wait and is greeted.
		var b struct{ Banner string }
		runPyLimits(t, map[string]any{"scenario": "banner", "src": "127.0.0.5", "port": s.Port}, &b)
		if !strings.HasPrefix(b.Banner, "220 ") {
			t.Fatalf("polite client: %q", b.Banner)
		}
		// The unlock command forgets the verdict.
		if out := s.on(t).admin("auth", "unlock", "127.0.0.4"); !strings.Contains(out, "127.0.0.4/32") {
			t.Fatalf("unlock said %q", out)
		}
		runPyLimits(t, map[string]any{"scenario": "banner", "src": "127.0.0.4", "port": s.Port}, &b)
		if !strings.HasPrefix(b.Banner, "220 ") {
			t.Fatalf("after unlock: %q", b.Banner)
		}
	})
}

// TestAutoblock is the built-in fail2ban: a client brute-forcing IMAP and
// one brute-forcing SMTP AUTH reach the login-failure limit, are blocked
// automatically (the configured command runs) and dropped at accept on
// SMTP and IMAP; `mailwarden auth unlock` lets them back in, and then
// even logs them in with the right password.
func TestAutoblock(t *testing.T) {
	marks := t.TempDir()
	s := startServer(t, options{Extra: []string{"",
		"[auth]", `failure_delay = "0s"`, "max_failures = 3", `failure_window = "10m"`,
		"", "[autoblock]", "enabled = true", "auth_lockouts = 1", `ban_time = "1h"`,
		fmt.Sprintf("command = %q", "touch "+marks+"/blocked-%a-%d"),
	}}, func(s *server) {
		s.admin("domain", "add", "brute.test")
		s.addUser("victim@brute.test")
	})
	wrong := []string{"guess1", "guess2", "guess3", "correct horse battery"}
	dropped := func(t *testing.T, src string) bool {
		for _, port := range []int{s.Port, s.IMAPPort} {
			var b struct{ Banner string }
			runPyLimits(t, map[string]any{"scenario": "banner", "src": src, "port": port}, &b)
			if b.Banner != "" && !strings.HasPrefix(b.Banner, "error:") {
				t.Logf("port %d from %s: %q", port, src, b.Banner)
				return false
			}
		}
		return true
	}
	eventually := func(t *testing.T, what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("never: %s", what)
			}
			time.Sleep(300 * time.Millisecond)
		}
	}
	for _, tc := range []struct {
		name, scenario, src string
		port                int
	}{
		{"imap", "imap-brute", "127.0.0.6", s.IMAPSPort},
		{"smtp auth", "smtp-brute", "127.0.0.7", s.SubmissionPort},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out struct{ Tries []string }
			runPyLimits(t, map[string]any{"scenario": tc.scenario, "src": tc.src, "port": tc.port,
				"user": "victim@brute.test", "passwords": wrong}, &out)
			if len(out.Tries) != 4 || strings.Contains(out.Tries[2], "OK") || strings.HasPrefix(out.Tries[2], "235") {
				t.Fatalf("tries: %q", out.Tries)
			}
			// The fourth try, with the right password, is refused: locked
			// out, or already dropped at accept.
			if strings.Contains(out.Tries[3], "OK") || strings.HasPrefix(out.Tries[3], "235") {
				t.Fatalf("right password let in while locked out: %q", out.Tries)
			}
			eventually(t, tc.src+" dropped on SMTP and IMAP", func() bool { return dropped(t, tc.src) })
			if list := s.on(t).admin("block", "list"); !regexp.MustCompile(regexp.QuoteMeta(tc.src) + `/32\s+until \S+\s+\S+\s+autoblock: 1 auth offences within 10m0s`).MatchString(list) {
				t.Fatalf("block list:\n%s", list)
			}
			if list := s.on(t).admin("login", "blocked"); !regexp.MustCompile(`(?m)^`+regexp.QuoteMeta(tc.src)+`/32\s+lockout\s+\S+\s+tried victim@brute\.test$`).MatchString(list) ||
				!regexp.MustCompile(`(?m)^`+regexp.QuoteMeta(tc.src)+`/32\s+autoblock\s+\S+\s+autoblock: 1 auth offences within 10m0s$`).MatchString(list) {
				t.Fatalf("login blocked:\n%s", list)
			}
			if _, err := os.Stat(filepath.Join(marks, "blocked-"+tc.src+"-3600")); err != nil {
				t.Fatalf("the configured command did not run: %v", err)
			}
			s.on(t).waitLog(func(l string) bool {
				return strings.Contains(l, "warning: autoblock: blocked "+tc.src+" for 3600s: 1 login-failure lockouts within 600s; ran touch "+marks+"/blocked-"+tc.src+"-3600") &&
					strings.Contains(l, "blocked connection from unknown["+tc.src+"] for service smtp: autoblock: 1 auth offences within 10m0s")
			}, "the autoblock and blocked-connection lines")

			out2 := s.on(t).admin("auth", "unlock", tc.src)
			if !strings.Contains(out2, "1 login lockout(s)") || !strings.Contains(out2, tc.src+"/32") {
				t.Fatalf("unlock said %q", out2)
			}
			eventually(t, tc.src+" served after unlock", func() bool { return !dropped(t, tc.src) })
			runPyLimits(t, map[string]any{"scenario": tc.scenario, "src": tc.src, "port": tc.port,
				"user": "victim@brute.test", "passwords": []string{"correct horse battery"}}, &out)
			if len(out.Tries) != 1 || out.Tries[0] != "OK" && out.Tries[0] != "235" {
				t.Fatalf("right password after unlock: %q", out.Tries)
			}
		})
	}
	// mynetworks is never blocked.
	var out struct{ Tries []string }
	runPyLimits(t, map[string]any{"scenario": "imap-brute", "src": "127.0.0.1", "port": s.IMAPSPort,
		"user": "victim@brute.test", "passwords": wrong}, &out)
	time.Sleep(1500 * time.Millisecond) // a block, if one were made, would apply by now
	var b struct{ Banner string }
	runPyLimits(t, map[string]any{"scenario": "banner", "src": "127.0.0.1", "port": s.IMAPPort}, &b)
	if !strings.HasPrefix(b.Banner, "* OK") {
		t.Fatalf("mynetworks client after a lockout: %q", b.Banner)
	}
}
