package e2e

import (
	"fmt"
	"os/exec"
	"strings"
	"testing"
)

// The replies RFC 5321 4.1.1.1 wants before and after TLS, on 587
// (STARTTLS) and 465 (implicit TLS): the EHLO reply starts with our name,
// HELO answers with it, and SIZE up to 20 digits is understood (RFC 1870:
// 552 when too big). The go-smtp based server got these wrong under TLS.
func TestGreetingUnderTLS(t *testing.T) {
	s := startServer(t, options{}, nil)
	sub := fmt.Sprintf("127.0.0.1:%d", s.SubmissionPort)
	subs := fmt.Sprintf("127.0.0.1:%d", s.SubmissionsPort)
	const host = "mx.test.example"
	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		{"EHLO after STARTTLS on 587", []string{"--server", sub, "--tls", "--quit-after", "EHLO"}, []string{"<~  250-" + host + "\n"}},
		{"EHLO on 465", []string{"--server", subs, "--tlsc", "--quit-after", "EHLO"}, []string{"<~  250-" + host + "\n"}},
		{"HELO on 465", []string{"--server", subs, "--tlsc", "--protocol", "SMTP", "--quit-after", "HELO"}, []string{"<~  250 " + host + "\n"}},
		{"EHLO in plaintext on 587", []string{"--server", sub, "--quit-after", "EHLO"}, []string{"<-  250-" + host + "\n", "250-STARTTLS"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := s.swaks(tc.args...)
			if r.Code != 0 {
				t.Fatalf("swaks exit %d:\n%s", r.Code, r.Out)
			}
			for _, w := range tc.want {
				if !strings.Contains(r.Out, w) {
					t.Errorf("no %q in:\n%s", w, r.Out)
				}
			}
		})
	}
	requireTool(t, "/usr/bin/python3")
	script := `
import smtplib, ssl, sys
port, tls = int(sys.argv[1]), sys.argv[2]
ctx = ssl._create_unverified_context()
if tls == "implicit":
    c = smtplib.SMTP_SSL("127.0.0.1", port, context=ctx, timeout=20)
else:
    c = smtplib.SMTP("127.0.0.1", port, timeout=20)
    c.starttls(context=ctx)
code, msg = c.ehlo("client.e2e.test")
first = msg.decode().split("\n")[0]
mc, mm = c.docmd("MAIL FROM:<a@e2e.test> SIZE=999999999999")
print(code, first)
print(mc, mm.decode())
c.quit()
`
	for _, tc := range []struct{ port, tls string }{{fmt.Sprint(s.SubmissionPort), "starttls"}, {fmt.Sprint(s.SubmissionsPort), "implicit"}} {
		out, err := exec.Command("/usr/bin/python3", "-c", script, tc.port, tc.tls).CombinedOutput()
		if err != nil {
			t.Fatalf("python %s: %v\n%s", tc.tls, err, out)
		}
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		if len(lines) != 2 || lines[0] != "250 "+host || !strings.HasPrefix(lines[1], "552 5.3.4 ") {
			t.Errorf("%s: EHLO and MAIL SIZE=999999999999 replies:\n%s", tc.tls, out)
		}
	}
}

// TestXCLIENT: a proxy in smtp.authorized_xclient_hosts hands over the
// real client's facts with XCLIENT (swaks' own XCLIENT support): access
// decisions and the log use them; other hosts are refused.
func TestXCLIENT(t *testing.T) {
	s := startServer(t, options{SMTP: []string{`authorized_xclient_hosts = ["127.0.0.1"]`}}, func(s *server) {
		s.admin("domain", "add", "dom.test")
		s.addUser("alice@dom.test")
	})
	// 127.0.0.1 is in mynetworks and may relay; the client it speaks for
	// (192.0.2.77) may not.
	r := s.swaks("--from", "s@remote.example", "--to", "x@far.example", "--xclient-addr", "192.0.2.77", "--xclient-name", "client.example.net", "--quit-after", "RCPT")
	if !strings.Contains(r.Out, "554 5.7.1 <x@far.example>: Relay access denied") {
		t.Errorf("relay through the proxy for a stranger:\n%s", r.Out)
	}
	r = s.swaks("--from", "s@remote.example", "--to", "alice@dom.test", "--xclient-addr", "192.0.2.77", "--xclient-name", "client.example.net")
	if r.Code != 0 {
		t.Fatalf("delivery through the proxy: exit %d\n%s", r.Code, r.Out)
	}
	s.waitLog(func(l string) bool { return strings.Contains(l, ": client=client.example.net[192.0.2.77]") }, "the client= line naming the real client")
	files := s.inbox("alice@dom.test")
	if len(files) != 1 || !strings.Contains(string(files[0].Data), "(client.example.net [192.0.2.77])") {
		t.Errorf("the Received field should name the real client: %d messages", len(files))
	}
	// A host that is not authorized is not offered XCLIENT, and is
	// refused when it sends it anyway.
	r = s.swaks("--local-interface", "127.0.0.2", "--quit-after", "EHLO")
	if strings.Contains(r.Out, "XCLIENT") {
		t.Errorf("XCLIENT offered to an unauthorized host:\n%s", r.Out)
	}
	got := smtpScript(t, "127.0.0.2", s.Addr(), []string{"EHLO client.example.org", "XCLIENT ADDR=10.1.2.3", "QUIT"})
	if got[1] != "550 5.7.0 Error: insufficient authorization" {
		t.Errorf("XCLIENT from an unauthorized host: %q", got[1])
	}
}
