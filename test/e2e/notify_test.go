package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"mailwarden/internal/dnsx/dnstest"
)

// TestOutboundNotifySuccess: NOTIFY=SUCCESS (RFC 3461) gets the sender an
// "Action: delivered" notice for a local mailbox and "Action: relayed" for
// a remote MX without DSN; a remote MX offering DSN is handed the request
// instead, and recipients without SUCCESS get no notice.
func TestOutboundNotifySuccess(t *testing.T) {
	requireTool(t, python)
	plain, port := startSink(t)
	withDSN, _ := startSinkAt(t, fmt.Sprintf("127.0.0.4:%d", port), true)
	dns := dnstest.New(t, `
remote.test. MX 10 mx.remote.test.
mx.remote.test. A 127.0.0.2
dsn.test. MX 10 mx.dsn.test.
mx.dsn.test. A 127.0.0.4
`)
	const user = "lou@out.test"
	s := startServer(t, options{Resolvers: []string{dns.Addr()}, Extra: []string{"", "[outbound]", fmt.Sprintf("smtp_port = %d", port)}}, func(s *server) {
		s.admin("domain", "add", "out.test")
		s.addUser(user)
		s.addUser("friend@out.test")
	})
	body, _ := json.Marshal(map[string]any{"port": s.Port, "from": user, "rcpts": [][]string{
		{"friend@out.test", "SUCCESS"}, {"far@remote.test", "SUCCESS,FAILURE"},
		{"quiet@remote.test", "FAILURE"}, {"far@dsn.test", "SUCCESS"}}})
	cmd := exec.Command(python, "-c", pyDSNParams)
	cmd.Stdin = bytes.NewReader(body)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("smtplib with NOTIFY=SUCCESS: %v\n%s", err, out)
	}
	deadline := time.Now().Add(30 * time.Second)
	got := map[string]string{} // final recipient -> action
	for time.Now().Before(deadline) {
		clear(got)
		for _, m := range s.reports(user) {
			d, out := parseDSN(t, m)
			if d.Subject != "Successful Mail Delivery Report" {
				t.Fatalf("unexpected report: %s", out)
			}
			for _, f := range d.Fields {
				if r := f["Final-Recipient"]; r != "" {
					got[strings.TrimPrefix(r, "rfc822; ")] = f["Action"] + " " + f["Status"]
				}
			}
		}
		if len(got) >= 2 && !strings.Contains(s.admin("queue", "list"), "@") {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	want := map[string]string{"friend@out.test": "delivered 2.0.0", "far@remote.test": "relayed 2.0.0"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("success notices: got %v, want %v", got, want)
	}
	if n := len(s.inbox("friend@out.test")); n != 1 {
		t.Errorf("friend@out.test has %d messages, want 1", n)
	}
	if len(plain.received()) != 1 || len(withDSN.received()) != 1 {
		t.Errorf("the MX hosts received %d and %d messages, want 1 each", len(plain.received()), len(withDSN.received()))
	}
}
