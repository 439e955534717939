package e2e

import (
	"bufio"
	"fmt"
	"net"
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
	lists := map[string][]string{
		"helo":      {"permit_mynetworks", "reject_invalid_helo_hostname", "reject_non_fqdn_helo_hostname"},
		"sender":    {"reject_non_fqdn_sender"},
		"relay":     {"permit_mynetworks", "reject_unauth_destination"},
		"recipient": {"reject_non_fqdn_recipient", "reject_multi_recipient_bounce", "strict", "permit"},
	}
	class := []string{"reject_unlisted_recipient", "permit"}
	pfKeys := map[string]string{"helo": "smtpd_helo_restrictions", "sender": "smtpd_sender_restrictions",
		"relay": "smtpd_relay_restrictions", "recipient": "smtpd_recipient_restrictions"}
	var mainCf, toml strings.Builder
	mainCf.WriteString("mynetworks = 127.0.0.1/32\nsmtpd_helo_required = yes\nsmtpd_restriction_classes = strict\nstrict = " + strings.Join(class, ", ") + "\n")
	toml.WriteString("\n[restrictions]\nhelo_required = true\n")
	for k, v := range lists {
		mainCf.WriteString(pfKeys[k] + " = " + strings.Join(v, ", ") + "\n")
		toml.WriteString(k + " = [\"" + strings.Join(v, "\", \"") + "\"]\n")
	}
	toml.WriteString("[restrictions.restriction_classes]\nstrict = [\"" + strings.Join(class, "\", \"") + "\"]\n")

	pf := startPostfixWith(t, mainCf.String(), "ann")
	s := startServer(t, options{Extra: []string{toml.String()}}, func(s *server) {
		s.admin("domain", "add", "relay.test")
		s.addUser("ann@relay.test")
	})
	pfAddr := fmt.Sprintf("127.0.0.1:%d", pf.Port)
	for _, tc := range []struct {
		name  string
		steps []string
	}{
		{"accepted", []string{"EHLO client.example.org", "MAIL FROM:<s@sender.example>", "RCPT TO:<ann@relay.test>", "RSET", "QUIT"}},
		{"relay denied", []string{"EHLO client.example.org", "MAIL FROM:<s@sender.example>", "RCPT TO:<x@far.example>", "QUIT"}},
		{"unknown user", []string{"EHLO client.example.org", "MAIL FROM:<s@sender.example>", "RCPT TO:<nobody@relay.test>", "QUIT"}},
		{"invalid HELO", []string{"EHLO bad..name", "MAIL FROM:<s@sender.example>", "RCPT TO:<ann@relay.test>", "QUIT"}},
		{"non-FQDN HELO", []string{"EHLO localhost", "MAIL FROM:<s@sender.example>", "RCPT TO:<ann@relay.test>", "QUIT"}},
		{"non-FQDN sender", []string{"EHLO client.example.org", "MAIL FROM:<s@localhost>", "RCPT TO:<ann@relay.test>", "QUIT"}},
		{"no HELO", []string{"MAIL FROM:<s@sender.example>", "QUIT"}},
		{"non-FQDN recipient", []string{"EHLO client.example.org", "MAIL FROM:<s@sender.example>", "RCPT TO:<ann@relay>", "QUIT"}},
		{"multi-recipient bounce", []string{"EHLO client.example.org", "MAIL FROM:<>", "RCPT TO:<ann@relay.test>", "RCPT TO:<ann+x@relay.test>", "QUIT"}},
		{"HELO then errors", []string{"HELO client.example.org", "MAIL FROM:<s@sender.example>", "RCPT TO:<x@far.example>", "RCPT TO:<nobody@relay.test>", "RCPT TO:<ann@relay.test>", "QUIT"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := smtpScript(t, "127.0.0.2", pfAddr, tc.steps)
			got := smtpScript(t, "127.0.0.2", s.Addr(), tc.steps)
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
