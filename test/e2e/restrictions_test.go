package e2e

import (
	"bufio"
	"fmt"
	"mailwarden/internal/dnsx/dnstest"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// smtpScript runs one SMTP conversation from src against addr and returns
// the last reply line of each step ("" steps only read).
func smtpScript(t *testing.T, src, addr string, steps []string) []string {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 10 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	r := bufio.NewReader(c)
	var out []string
	for _, s := range append([]string{""}, steps...) {
		if s != "" {
			fmt.Fprint(c, s+"\r\n")
		}
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				t.Fatalf("%s after %q: %v (so far %q)", addr, s, err, out)
			}
			if len(line) < 4 || line[3] != '-' {
				out = append(out, strings.TrimRight(line, "\r\n"))
				break
			}
		}
	}
	return out[1:]
}

// TestRestrictionsLikePostfix: the same restriction lists in Postfix's
// main.cf and in Mailwarden's [restrictions], the same SMTP conversations
// from a client outside mynetworks: every reply, code and text, is the
// same.
func TestRestrictionsLikePostfix(t *testing.T) {
	tables := tableDir(t, map[string]string{
		"clients.cidr": "127.0.0.3 REJECT go away\n127.0.0.4/32 550 5.7.1 not from there\n127.0.0.5 OK\n",
		"helo.regexp":  "/^evil\\./ REJECT bad helo\n/^tricky\\./ strict\n",
		"senders":      "spam.example 550 5.7.0 no spam here\nfriend@spam.example OK\nlater.example DEFER try again\n",
	})
	lists := map[string][]string{
		"client":    {"check_client_access cidr:" + tables + "/clients.cidr"},
		"helo":      {"permit_mynetworks", "check_helo_access regexp:" + tables + "/helo.regexp", "reject_invalid_helo_hostname", "reject_non_fqdn_helo_hostname"},
		"sender":    {"check_sender_access hash:" + tables + "/senders", "reject_non_fqdn_sender"},
		"relay":     {"permit_mynetworks", "reject_unauth_destination"},
		"recipient": {"reject_non_fqdn_recipient", "reject_multi_recipient_bounce", "strict", "permit"},
	}
	class := []string{"reject_unlisted_recipient", "permit"}
	pfKeys := map[string]string{"client": "smtpd_client_restrictions", "helo": "smtpd_helo_restrictions", "sender": "smtpd_sender_restrictions",
		"relay": "smtpd_relay_restrictions", "recipient": "smtpd_recipient_restrictions"}
	var mainCf, toml strings.Builder
	mainCf.WriteString("mynetworks = 127.0.0.1/32\nsmtpd_helo_required = yes\nsmtpd_restriction_classes = strict\nstrict = " + strings.Join(class, ", ") + "\n")
	toml.WriteString("\n[restrictions]\nhelo_required = true\n")
	for k, v := range lists {
		mainCf.WriteString(pfKeys[k] + " = " + strings.Join(v, ", ") + "\n")
		toml.WriteString(k + " = [\"" + strings.Join(v, "\", \"") + "\"]\n")
	}
	toml.WriteString("[restrictions.restriction_classes]\nstrict = [\"" + strings.Join(class, "\", \"") + "\"]\n")

	// Postfix needs its indexed file, made before its smtpd opens the
	// table; Mailwarden reads the text.
	postmap(t, filepath.Join(tables, "senders"))
	pf := startPostfixWith(t, mainCf.String(), "ann")
	s := startServer(t, options{Extra: []string{toml.String()}}, func(s *server) {
		s.admin("domain", "add", "relay.test")
		s.addUser("ann@relay.test")
	})
	pfAddr := fmt.Sprintf("127.0.0.1:%d", pf.Port)
	for _, tc := range []struct {
		name  string
		src   string
		steps []string
	}{
		{"client table REJECT", "127.0.0.3", []string{"EHLO client.example.org", "MAIL FROM:<s@sender.example>", "RCPT TO:<ann@relay.test>", "QUIT"}},
		{"client table 550 text", "127.0.0.4", []string{"EHLO client.example.org", "MAIL FROM:<s@sender.example>", "RCPT TO:<ann@relay.test>", "QUIT"}},
		{"client table OK, later lists still run", "127.0.0.5", []string{"EHLO localhost", "MAIL FROM:<s@sender.example>", "RCPT TO:<ann@relay.test>", "QUIT"}},
		{"helo table", "", []string{"EHLO evil.example.org", "MAIL FROM:<s@sender.example>", "RCPT TO:<ann@relay.test>", "QUIT"}},
		{"helo table names a class", "", []string{"EHLO tricky.example.org", "MAIL FROM:<s@sender.example>", "RCPT TO:<nobody@relay.test>", "RCPT TO:<ann@relay.test>", "QUIT"}},
		{"sender table, parent domain", "", []string{"EHLO client.example.org", "MAIL FROM:<s@mx.spam.example>", "RCPT TO:<ann@relay.test>", "QUIT"}},
		{"sender table, address OK", "", []string{"EHLO client.example.org", "MAIL FROM:<friend@spam.example>", "RCPT TO:<ann@relay.test>", "QUIT"}},
		{"sender table DEFER", "", []string{"EHLO client.example.org", "MAIL FROM:<s@later.example>", "RCPT TO:<ann@relay.test>", "QUIT"}},
		{"accepted", "", []string{"EHLO client.example.org", "MAIL FROM:<s@sender.example>", "RCPT TO:<ann@relay.test>", "RSET", "QUIT"}},
		{"relay denied", "", []string{"EHLO client.example.org", "MAIL FROM:<s@sender.example>", "RCPT TO:<x@far.example>", "QUIT"}},
		{"unknown user", "", []string{"EHLO client.example.org", "MAIL FROM:<s@sender.example>", "RCPT TO:<nobody@relay.test>", "QUIT"}},
		{"invalid HELO", "", []string{"EHLO bad..name", "MAIL FROM:<s@sender.example>", "RCPT TO:<ann@relay.test>", "QUIT"}},
		{"non-FQDN HELO", "", []string{"EHLO localhost", "MAIL FROM:<s@sender.example>", "RCPT TO:<ann@relay.test>", "QUIT"}},
		{"non-FQDN sender", "", []string{"EHLO client.example.org", "MAIL FROM:<s@localhost>", "RCPT TO:<ann@relay.test>", "QUIT"}},
		{"no HELO", "", []string{"MAIL FROM:<s@sender.example>", "QUIT"}},
		{"non-FQDN recipient", "", []string{"EHLO client.example.org", "MAIL FROM:<s@sender.example>", "RCPT TO:<ann@relay>", "QUIT"}},
		{"multi-recipient bounce", "", []string{"EHLO client.example.org", "MAIL FROM:<>", "RCPT TO:<ann@relay.test>", "RCPT TO:<ann+x@relay.test>", "QUIT"}},
		{"HELO then errors", "", []string{"HELO client.example.org", "MAIL FROM:<s@sender.example>", "RCPT TO:<x@far.example>", "RCPT TO:<nobody@relay.test>", "RCPT TO:<ann@relay.test>", "QUIT"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := tc.src
			if src == "" {
				src = "127.0.0.2"
			}
			want := smtpScript(t, src, pfAddr, tc.steps)
			got := smtpScript(t, src, s.Addr(), tc.steps)
			for i := range tc.steps {
				if tc.steps[i] == "QUIT" {
					continue
				}
				if (strings.HasPrefix(tc.steps[i], "HELO") || strings.HasPrefix(tc.steps[i], "EHLO")) && got[i][:3] == want[i][:3] {
					continue // the reply names each server's own host name
				}
				if got[i] != want[i] {
					t.Errorf("%s: Mailwarden %q, Postfix %q", tc.steps[i], got[i], want[i])
				}
			}
		})
	}
}

// TestClientHostname: the client's name is its PTR name when that
// resolves back to its address (as Postfix's smtpd decides it), and
// reject_unknown_client_hostname / reject_unknown_reverse_client_hostname
// refuse with Postfix's replies.
func TestClientHostname(t *testing.T) {
	dns := dnstest.New(t, `
2.0.0.127.in-addr.arpa. PTR mail.client.example.
mail.client.example. A 127.0.0.2
3.0.0.127.in-addr.arpa. PTR fake.client.example.
fake.client.example. A 10.9.9.9
`)
	s := startServer(t, options{Resolvers: []string{dns.Addr()}, Extra: []string{"", "[restrictions]",
		`client = ["reject_unknown_reverse_client_hostname", "reject_unknown_client_hostname"]`}}, oneDomain)
	for _, tc := range []struct{ src, want string }{
		{"127.0.0.2", "250 2.1.5 Ok"},
		{"127.0.0.3", "450 4.7.25 Client host rejected: cannot find your hostname, [127.0.0.3]"},
		{"127.0.0.4", "450 4.7.25 Client host rejected: cannot find your reverse hostname, [127.0.0.4]"},
	} {
		got := smtpScript(t, tc.src, s.Addr(), []string{"EHLO client.example.org", "MAIL FROM:<s@sender.example>", "RCPT TO:<alice@dom.test>", "QUIT"})
		if got[2] != tc.want {
			t.Errorf("from %s: RCPT got %q, want %q", tc.src, got[2], tc.want)
		}
	}
	s.waitLog(func(l string) bool { return strings.Contains(l, "connect from mail.client.example[127.0.0.2]") }, "the confirmed name in the connect line")
	s.waitLog(func(l string) bool { return strings.Contains(l, "connect from unknown[127.0.0.3]") }, "an unconfirmed name logged as unknown")
}

// postmap makes Postfix's hash: index (path.db, readable by Postfix's
// daemons) of a text table, with a throwaway config directory so no
// system main.cf is read.
func postmap(t *testing.T, path string) {
	t.Helper()
	pmcf := filepath.Join(t.TempDir(), "postmap-etc")
	if err := os.MkdirAll(pmcf, 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(pmcf, "main.cf"), "compatibility_level = 3.6\n")
	if out, err := exec.Command(filepath.Join(filepath.Dir(postfixBin(t)), "postmap"), "-c", pmcf, "hash:"+path).CombinedOutput(); err != nil {
		t.Fatalf("postmap %s: %v\n%s", path, err, out)
	}
	if err := os.Chmod(path+".db", 0o644); err != nil {
		t.Fatal(err)
	}
}

// tableDir writes lookup tables (file name → text) into a temp dir that
// Postfix's daemons, running as postfix, can read too, and returns it.
func tableDir(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}
