package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestSASL drives the challenge-response mechanisms with real clients:
// msmtp (GNU SASL) on submission 587 (STARTTLS) and 465, gsasl on IMAP
// with STARTTLS, and Python's imaplib.login_cram_md5 on imaps.
func TestSASL(t *testing.T) {
	for _, tool := range []string{"msmtp", "gsasl", "doveadm", "swaks", python} {
		requireTool(t, tool)
	}
	const (
		user, pw         = "sam@sasl.test", "correct horse battery"
		cramUser, cramPW = "cy@sasl.test", "cram-md5 secret"
		rcpt             = "rcpt@sasl.test"
	)
	out, err := exec.Command("doveadm", "pw", "-s", "CRAM-MD5", "-p", cramPW).Output()
	if err != nil {
		t.Fatalf("doveadm pw: %v", err)
	}
	cramHash := strings.TrimSpace(string(out))
	s := startServer(t, options{Extra: []string{"", "[auth]",
		`mechanisms = ["PLAIN", "LOGIN", "SCRAM-SHA-256", "CRAM-MD5"]`,
		`failure_delay = "200ms"`,
		`max_failures = 100`,
	}}, func(s *server) {
		s.admin("domain", "add", "sasl.test")
		s.addUser(user) // stores SCRAM-SHA-256 keys
		s.addUser(rcpt)
		// As an admin migrating from Dovecot would: the hash as it is.
		_, _, errOut := s.cli("user", "add", cramUser, "--password-hash", cramHash)
		if !strings.Contains(errOut, "no SCRAM-SHA-256 keys for "+cramUser) {
			t.Errorf("user add --password-hash did not say SCRAM keys are missing: %q", errOut)
		}
		if code, _, errOut := s.cli("user", "add", "bad@sasl.test", "--password-hash", "{NOPE}x"); code == 0 {
			t.Errorf("user add accepted an unknown scheme: %s", errOut)
		}
	})
	sub := fmt.Sprintf("%d", s.SubmissionPort)
	subs := fmt.Sprintf("%d", s.SubmissionsPort)

	t.Run("EHLO", func(t *testing.T) {
		r := s.on(t).swaks("--server", "127.0.0.1:"+sub, "--quit-after", "EHLO")
		if strings.Contains(r.Out, "AUTH") || strings.Contains(r.Out, "SCRAM") {
			t.Errorf("AUTH offered before STARTTLS:\n%s", r.Out)
		}
		r = s.on(t).swaks("--server", "127.0.0.1:"+sub, "--tls", "--quit-after", "EHLO")
		if !strings.Contains(r.Out, "250-AUTH PLAIN LOGIN SCRAM-SHA-256 CRAM-MD5") {
			t.Errorf("EHLO after STARTTLS:\n%s", r.Out)
		}
	})

	for _, tc := range []struct {
		name, port, starttls, mech, user, pw string
		ok                                   bool
	}{
		{"SCRAM-SHA-256 on 587", sub, "on", "scram-sha-256", user, pw, true},
		{"SCRAM-SHA-256 on 465", subs, "off", "scram-sha-256", user, pw, true},
		{"CRAM-MD5 on 587", sub, "on", "cram-md5", cramUser, cramPW, true},
		{"SCRAM-SHA-256 wrong password", sub, "on", "scram-sha-256", user, "wrong password", false},
		{"SCRAM-SHA-256 unknown user", subs, "off", "scram-sha-256", "nobody@sasl.test", pw, false},
		{"CRAM-MD5 wrong password", subs, "off", "cram-md5", cramUser, "wrong password", false},
		{"CRAM-MD5 with an argon2id hash", sub, "on", "cram-md5", user, pw, false},
		{"SCRAM-SHA-256 without keys yet", sub, "on", "scram-sha-256", cramUser, cramPW, false},
	} {
		t.Run("msmtp "+tc.name, func(t *testing.T) {
			s := s.on(t)
			id := newMessageID("sasl")
			rc := filepath.Join(t.TempDir(), "msmtprc")
			conf := strings.Join([]string{
				"account test", "host 127.0.0.1", "port " + tc.port,
				"tls on", "tls_starttls " + tc.starttls, "tls_certcheck off",
				"auth " + tc.mech, "user " + tc.user, fmt.Sprintf("password %q", tc.pw), "from " + tc.user,
				"account default : test", ""}, "\n")
			if err := os.WriteFile(rc, []byte(conf), 0o600); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command("msmtp", "-C", rc, "-d", rcpt)
			cmd.Stdin = strings.NewReader(message(tc.user, rcpt, tc.name, id, "sent by msmtp"))
			out, err := cmd.CombinedOutput()
			if tc.ok != (err == nil) {
				t.Fatalf("msmtp: %v, want success %v:\n%s", err, tc.ok, out)
			}
			if !tc.ok {
				if !strings.Contains(string(out), "535 5.7.8") {
					t.Fatalf("no 535 in:\n%s", out)
				}
				return
			}
			if !strings.Contains(string(out), "AUTH "+strings.ToUpper(tc.mech)) {
				t.Errorf("msmtp did not use %s:\n%s", tc.mech, out)
			}
			if n := len(s.findMessage(rcpt, id)); n != 1 {
				t.Fatalf("%d copies of %s in %s's Maildir", n, id, rcpt)
			}
			s.waitLog(func(l string) bool {
				return strings.Contains(l, "sasl_method="+strings.ToUpper(tc.mech)+", sasl_username="+tc.user)
			}, "the sasl_method log line")
		})
	}

	for _, tc := range []struct {
		name, user, pw string
		ok             bool
	}{
		{"SCRAM-SHA-256", user, pw, true},
		{"SCRAM-SHA-256 wrong password", user, "wrong password", false},
	} {
		t.Run("gsasl IMAP "+tc.name, func(t *testing.T) {
			s := s.on(t)
			out, err := gsaslIMAP(s, tc.user, tc.pw)
			if tc.ok != (err == nil) {
				t.Fatalf("gsasl: %v, want success %v:\n%s", err, tc.ok, out)
			}
			if !tc.ok && !strings.Contains(string(out), ". NO [AUTHENTICATIONFAILED] Authentication failed.") {
				t.Fatalf("gsasl was not refused by the server:\n%s", out)
			}
			if tc.ok {
				s.waitLog(func(l string) bool {
					return regexp.MustCompile(`imap-login: Login: user=<` + regexp.QuoteMeta(tc.user) + `>, method=SCRAM-SHA-256, rip=127\.0\.0\.1, lip=127\.0\.0\.1, mpid=\d+, TLS`).MatchString(l)
				}, "the IMAP SCRAM login line")
			}
		})
	}

	t.Run("imaplib login_cram_md5", func(t *testing.T) {
		s := s.on(t)
		body, _ := json.Marshal(map[string]any{"port": s.IMAPSPort, "imap": s.IMAPPort, "user": cramUser, "pass": cramPW})
		cmd := exec.Command(python, "-c", pyCRAM)
		cmd.Stdin = bytes.NewReader(body)
		raw, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("imaplib: %v\n%s", err, raw)
		}
		var r map[string]string
		if err := json.Unmarshal(raw, &r); err != nil {
			t.Fatalf("imaplib output %q: %v", raw, err)
		}
		for k, want := range map[string]string{
			"caps_plain": "LOGINDISABLED",
			"caps_tls":   "AUTH=CRAM-MD5",
			"good":       "OK",
			"select":     "OK",
			"wrong":      "AUTHENTICATIONFAILED",
		} {
			if !strings.Contains(r[k], want) {
				t.Errorf("%s = %q, want %q in it", k, r[k], want)
			}
		}
		if strings.Contains(r["caps_plain"], "AUTH=") {
			t.Errorf("AUTH= offered before STARTTLS: %s", r["caps_plain"])
		}
	})
	// A password login stores the SCRAM keys the CRAM-MD5 user lacked,
	// and keeps the {CRAM-MD5} hash CRAM-MD5 needs.
	t.Run("keys after a password login", func(t *testing.T) {
		s := s.on(t)
		r := s.swaks("--server", "127.0.0.1:"+subs, "--tlsc", "--auth", "PLAIN", "--auth-user", cramUser, "--auth-password", cramPW, "--quit-after", "AUTH")
		if r.Code != 0 {
			t.Fatalf("swaks AUTH PLAIN: %d\n%s", r.Code, r.Out)
		}
		if out, err := gsaslIMAP(s, cramUser, cramPW); err != nil {
			t.Fatalf("gsasl SCRAM-SHA-256 after a PLAIN login: %v\n%s", err, out)
		}
		db := s.openDB()
		defer db.Close()
		if h := queryStrings(t, db, `SELECT password FROM mailbox WHERE username=?`, cramUser); len(h) != 1 || h[0] != cramHash {
			t.Errorf("stored hash now %q, want the {CRAM-MD5} one kept", h)
		}
		if n := queryStrings(t, db, `SELECT COUNT(*) FROM mailbox_scram WHERE username=?`, cramUser); len(n) != 1 || n[0] != "1" {
			t.Errorf("mailbox_scram rows: %v", n)
		}
	})
	// user passwd makes new keys; the old password no longer works.
	t.Run("user passwd", func(t *testing.T) {
		s := s.on(t)
		newPW := filepath.Join(t.TempDir(), "pw")
		if err := os.WriteFile(newPW, []byte("battery staple horse\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		s.admin("user", "passwd", user, "--password-file", newPW)
		if out, err := gsaslIMAP(s, user, "battery staple horse"); err != nil {
			t.Fatalf("SCRAM-SHA-256 with the new password: %v\n%s", err, out)
		}
		if out, err := gsaslIMAP(s, user, pw); err == nil {
			t.Fatalf("SCRAM-SHA-256 with the old password accepted:\n%s", out)
		}
	})
	// user del takes the keys along.
	t.Run("user del", func(t *testing.T) {
		s := s.on(t)
		s.admin("user", "del", user)
		db := s.openDB()
		defer db.Close()
		if n := queryStrings(t, db, `SELECT COUNT(*) FROM mailbox_scram WHERE username=?`, user); len(n) != 1 || n[0] != "0" {
			t.Errorf("mailbox_scram rows after user del: %v", n)
		}
	})
}

// gsaslIMAP logs in with GNU SASL's gsasl over IMAP STARTTLS with
// SCRAM-SHA-256. --no-cb: given the TLS channel binding, gsasl 2.2.0
// fails on its own, before sending anything, unless the mechanism is
// SCRAM-SHA-256-PLUS, which is not offered.
func gsaslIMAP(s *server, user, pw string) ([]byte, error) {
	cmd := exec.Command("gsasl", "--imap", "--starttls", "--no-cb", "--x509-ca-file=", "--mechanism", "SCRAM-SHA-256",
		"--authentication-id", user, "--password", pw, "127.0.0.1", fmt.Sprint(s.IMAPPort))
	cmd.Stdin = strings.NewReader("")
	return cmd.CombinedOutput()
}

// pyCRAM logs in with imaplib's login_cram_md5 over STARTTLS-less imaps,
// and looks at the capabilities of the plaintext port before and after
// STARTTLS.
const pyCRAM = `
import imaplib, json, ssl, sys
req = json.load(sys.stdin)
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
out = {}
m = imaplib.IMAP4("127.0.0.1", req["imap"])
out["caps_plain"] = " ".join(m.capabilities)
m.starttls(ssl_context=ctx)
out["caps_tls"] = " ".join(m.capabilities)
m.logout()
m = imaplib.IMAP4_SSL("127.0.0.1", req["port"], ssl_context=ctx)
try:
    m.login_cram_md5(req["user"], "not the password")
    out["wrong"] = "accepted"
except imaplib.IMAP4.error as e:
    out["wrong"] = str(e)
m.logout()
m = imaplib.IMAP4_SSL("127.0.0.1", req["port"], ssl_context=ctx)
out["good"] = m.login_cram_md5(req["user"], req["pass"])[0]
out["select"] = m.select("INBOX")[0]
m.logout()
print(json.dumps(out))
`
