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

// pyNullSender sends one message with the null reverse path, as a
// bounce arriving from elsewhere would be.
const pyNullSender = `
import smtplib, sys
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]))
s.sendmail("<>", [sys.argv[2]], b"From: MAILER-DAEMON@elsewhere.test\r\nSubject: Undelivered Mail Returned to Sender\r\nMessage-ID: <nullsender@e2e.test>\r\n\r\nyour mail bounced\r\n")
s.quit()
`

// TestOutboundDoubleBounce: a notification that cannot be delivered (null
// sender, 5xx from the remote MX) goes to 2bounce_notice_recipient as a
// failure report from double-bounce@hostname, with the failed notification
// attached; it is not bounced back to anyone else.
func TestOutboundDoubleBounce(t *testing.T) {
	requireTool(t, python)
	k, port := startSink(t)
	dns := dnstest.New(t, "remote.test. MX 10 mx.remote.test.\nmx.remote.test. A 127.0.0.2\n")
	const pm = "hostmaster@out.test"
	s := startServer(t, options{Resolvers: []string{dns.Addr()}, Extra: []string{"",
		"[outbound]", fmt.Sprintf("smtp_port = %d", port),
		"[queue]", fmt.Sprintf("2bounce_notice_recipient = %q", pm)}}, func(s *server) {
		s.admin("domain", "add", "out.test")
		s.addUser(pm)
	})
	if out, err := exec.Command(python, "-c", pyNullSender, fmt.Sprint(s.Port), "bad-gone@remote.test").CombinedOutput(); err != nil {
		t.Fatalf("smtplib: %v\n%s", err, out)
	}
	deadline := time.Now().Add(30 * time.Second)
	var reports [][]byte
	for time.Now().Before(deadline) {
		if reports = s.reports(pm); len(reports) > 0 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if len(reports) != 1 {
		t.Fatalf("%s got %d reports, want 1; log:\n%s", pm, len(reports), s.Log())
	}
	d, out := parseDSN(t, reports[0])
	var failed map[string]string
	for _, f := range d.Fields {
		if f["Action"] == "failed" {
			failed = f
		}
	}
	if d.ReportType != "delivery-status" || failed == nil || !strings.Contains(failed["Final-Recipient"], "bad-gone@remote.test") ||
		!strings.Contains(string(reports[0]), "your mail bounced") {
		t.Fatalf("postmaster copy as Python reads it: %s", out)
	}
	var rp string
	for _, f := range s.inbox(pm) {
		rp = f.Headers.Get("Return-Path")
	}
	if !strings.Contains(rp, "double-bounce@mx.test.example") {
		t.Errorf("Return-Path of the postmaster copy: %q", rp)
	}
	if len(k.received()) != 0 {
		t.Errorf("the remote MX accepted something: %+v", k.received())
	}
	s.waitLog(func(l string) bool { return strings.Contains(l, "postmaster copy (double bounce) to <"+pm+">") }, "double bounce log line")
}
