package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mailwarden/internal/testutil"
)

// startDovecotLMTP runs a private Dovecot whose LMTP service listens on a
// unix socket and stores mail in Maildirs under Home/<domain>/<user>.
func startDovecotLMTP(t *testing.T) (d *testutil.Dovecot, socket string) {
	t.Helper()
	d = testutil.StartDovecot(t, testutil.DovecotOptions{
		Protocols:    "lmtp",
		MailLocation: "maildir:~/Maildir",
		UserHome:     "%HOME%/%d/%n",
		Extra: `service lmtp {
  unix_listener lmtp {
    mode = 0666
  }
}
`,
	})
	socket = filepath.Join(d.Base, "run", "lmtp")
	for i := 0; ; i++ {
		if _, err := os.Stat(socket); err == nil {
			return d, socket
		}
		if i == 100 {
			t.Fatalf("dovecot's LMTP socket did not appear: %s", d.Log())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestGatewayTransport is the filtering-gateway setup: relay_domains
// accepted from anyone on port 25 and passed on by a Postfix-syntax
// transport table, one domain to an SMTP next hop (a sink on 127.0.0.3)
// and one to a real Dovecot over LMTP; any other domain is still refused.
func TestGatewayTransport(t *testing.T) {
	k, port := startSinkOn(t, "127.0.0.3")
	dc, socket := startDovecotLMTP(t)
	dir := t.TempDir()
	table := filepath.Join(dir, "transport")
	writeFile(t, table, fmt.Sprintf("# Postfix transport(5) syntax\ngw.test\tsmtp:[127.0.0.3]:%d\nlmtp.test  lmtp:unix:%s\n", port, socket))
	s := startServer(t, options{
		Top:   []string{`relay_domains = ["gw.test", "lmtp.test"]`},
		Extra: []string{"", "[outbound]", fmt.Sprintf("transport_file = %q", table)},
	}, nil)

	// The client is 127.0.0.2: outside mynetworks (127.0.0.1/32).
	stranger := []string{"--server", s.Addr(), "--local-interface", "127.0.0.2"}
	for _, to := range []string{"someone@gw.test", "Alice@lmtp.test"} {
		r := s.swaks(append(stranger, "--from", "sender@outside.test", "--to", to,
			"--header", "Subject: via the gateway to "+to)...)
		if r.Code != 0 {
			t.Fatalf("mail for relay domain %s refused: exit %d\n%s", to, r.Code, r.Out)
		}
	}
	r := s.swaks(append(stranger, "--from", "sender@outside.test", "--to", "x@elsewhere.test", "--quit-after", "RCPT")...)
	if r.Code == 0 || !strings.Contains(r.Out, "554 5.7.1") {
		t.Fatalf("a domain that is not a relay domain must be refused (no open relay): exit %d\n%s", r.Code, r.Out)
	}

	deadline := time.Now().Add(30 * time.Second)
	for len(k.received()) == 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	got := k.received()
	if len(got) != 1 || strings.Join(got[0].To, ",") != "someone@gw.test" || got[0].From != "sender@outside.test" ||
		!strings.Contains(got[0].Data, "Subject: via the gateway to someone@gw.test") {
		t.Fatalf("the SMTP next hop received %+v", got)
	}

	// Dovecot delivered the LMTP copy into the user's Maildir.
	newDir := filepath.Join(dc.Home, "lmtp.test", "alice", "Maildir", "new")
	var files []string
	for time.Now().Before(deadline) {
		files, _ = filepath.Glob(filepath.Join(newDir, "*"))
		if len(files) > 0 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if len(files) != 1 {
		t.Fatalf("Dovecot's Maildir %s holds %d messages; dovecot log:\n%s", newDir, len(files), dc.Log())
	}
	data, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), "Subject: via the gateway to Alice@lmtp.test") {
		t.Errorf("LMTP copy:\n%s", data)
	}
	s.waitLog(func(l string) bool {
		return strings.Contains(l, "to=<Alice@lmtp.test>, relay=") && strings.Contains(l, "status=sent")
	}, "LMTP delivery log line")
	s.waitLog(func(l string) bool {
		return strings.Contains(l, "to=<someone@gw.test>, relay=127.0.0.3[127.0.0.3]") && strings.Contains(l, "status=sent")
	}, "SMTP next hop log line")
}

// TestTransportTableTypes: transport_file given as a pcre: table (with a
// look-ahead and $1) routes relay-domain mail to the SMTP next hop, and
// an edit of the table file applies to the next message without a reload.
func TestTransportTableTypes(t *testing.T) {
	k, port := startSinkOn(t, "127.0.0.3")
	dir := t.TempDir()
	table := filepath.Join(dir, "transport.pcre")
	writeFile(t, table, fmt.Sprintf("/^(?!blocked)[^@]+@(gw)\\.test$/ smtp:[127.0.0.3]:%d\n", port))
	s := startServer(t, options{
		Top:   []string{`relay_domains = ["gw.test"]`},
		Extra: []string{"", "[outbound]", fmt.Sprintf("transport_file = %q", "pcre:"+table)},
	}, nil)
	stranger := []string{"--server", s.Addr(), "--local-interface", "127.0.0.2", "--from", "sender@outside.test"}
	if r := s.swaks(append(stranger, "--to", "someone@gw.test")...); r.Code != 0 {
		t.Fatalf("exit %d\n%s", r.Code, r.Out)
	}
	deadline := time.Now().Add(30 * time.Second)
	for len(k.received()) == 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if got := k.received(); len(got) != 1 || strings.Join(got[0].To, ",") != "someone@gw.test" {
		t.Fatalf("the next hop received %+v", got)
	}
	// An edited table: blocked@ now bounces by the table's error: route.
	time.Sleep(1100 * time.Millisecond) // past the once-a-second check of the file
	writeFile(t, table, fmt.Sprintf("/^blocked/ error:5.7.1 blocked by the transport table\n/^[^@]+@(gw)\\.test$/ smtp:[127.0.0.3]:%d\n", port))
	if r := s.swaks(append(stranger, "--to", "blocked@gw.test")...); r.Code != 0 {
		t.Fatalf("exit %d\n%s", r.Code, r.Out)
	}
	s.waitLog(func(log string) bool {
		for _, l := range strings.Split(log, "\n") {
			if strings.Contains(l, "to=<blocked@gw.test>") && strings.Contains(l, "status=bounced") && strings.Contains(l, "blocked by the transport table") {
				return true
			}
		}
		return false
	}, "the bounce by the edited transport table")
}
