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
