package e2e

import (
	"fmt"
	"strings"
	"testing"
)

func TestSubmission(t *testing.T) {
	const user, pw = "ivy@sub.test", "correct horse battery"
	s := startServer(t, options{}, func(s *server) {
		s.admin("domain", "add", "sub.test")
		s.addUser(user)
		s.addUser("jack@sub.test")
		s.admin("alias", "add", "sales@sub.test", user)
	})
	sub := fmt.Sprintf("127.0.0.1:%d", s.SubmissionPort)
	subs := fmt.Sprintf("127.0.0.1:%d", s.SubmissionsPort)
	auth := []string{"--auth", "PLAIN", "--auth-user", user, "--auth-password", pw}
	// Clients outside mynetworks, as a laptop on the internet would be.
	outside := []string{"--local-interface", "127.0.0.2"}
	args := func(extra ...[]string) []string {
		var a []string
		for _, e := range extra {
			a = append(a, e...)
		}
		return a
	}
	tests := []struct {
		name     string
		args     []string
		wantCode int    // swaks exit status
		want     string // in the transcript
	}{
		{"AUTH over STARTTLS on 587, to a foreign domain", args([]string{"--server", sub, "--tls", "--from", user, "--to", "someone@far.example"}, auth, outside), 0, "250 2.0.0 Ok: queued as"},
		{"AUTH LOGIN on 465", args([]string{"--server", subs, "--tlsc", "--from", user, "--to", "jack@sub.test", "--auth", "LOGIN", "--auth-user", user, "--auth-password", pw, "--data", "Subject: bare\nFrom: ivy@sub.test\n\nno Message-ID or Date here\n"}, outside), 0, "250 2.0.0 Ok: queued as"},
		{"AUTH refused before TLS", args([]string{"--server", sub, "--from", user, "--to", "jack@sub.test"}, auth, outside), 28, ""},
		{"MAIL without AUTH", args([]string{"--server", sub, "--tls", "--from", user, "--to", "someone@far.example"}, outside), 23, "530 5.7.0"},
		{"wrong password", args([]string{"--server", sub, "--tls", "--from", user, "--to", "jack@sub.test", "--auth", "PLAIN", "--auth-user", user, "--auth-password", "not it"}, outside), 28, "535 5.7.8"},
		{"sender mismatch", args([]string{"--server", sub, "--tls", "--from", "jack@sub.test", "--to", "someone@far.example"}, auth, outside), 23, "553 5.7.1"},
		{"alias sender allowed", args([]string{"--server", sub, "--tls", "--from", "sales@sub.test", "--to", "jack@sub.test"}, auth, outside), 0, "250 2.0.0 Ok: queued as"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := s.on(t).swaks(tc.args...)
			if r.Code != tc.wantCode || !strings.Contains(r.Out, tc.want) {
				t.Fatalf("swaks exit %d, want %d with %q in:\n%s", r.Code, tc.wantCode, tc.want, r.Out)
			}
		})
	}
	// AUTH is only advertised after STARTTLS.
	r := s.swaks("--server", sub, "--quit-after", "EHLO")
	if strings.Contains(r.Out, "AUTH ") || !strings.Contains(r.Out, "STARTTLS") {
		t.Errorf("EHLO before TLS on 587 should offer STARTTLS and no AUTH:\n%s", r.Out)
	}
	r = s.swaks("--server", sub, "--tls", "--quit-after", "EHLO")
	if !strings.Contains(r.Out, "AUTH PLAIN LOGIN") {
		t.Errorf("EHLO after STARTTLS should offer AUTH PLAIN LOGIN:\n%s", r.Out)
	}
	// The relayed message waits in the queue; the local one was delivered
	// with Message-ID and Date added.
	db := s.openDB()
	defer db.Close()
	if q := queryStrings(t, db, `SELECT rcpt FROM queue_rcpt WHERE kind='remote'`); strings.Join(q, ",") != "someone@far.example" {
		t.Errorf("queued remote recipients: %v", q)
	}
	files := s.inbox("jack@sub.test")
	if len(files) != 2 {
		t.Fatalf("jack has %d messages, want 2", len(files))
	}
	bare := 0
	for _, f := range files {
		if f.Headers.Get("Subject") == "bare" {
			bare++
		}
		if f.Headers.Get("Message-Id") == "" || f.Headers.Get("Date") == "" {
			t.Errorf("submitted message lacks Message-ID or Date:\n%s", f.Data)
		}
		if !strings.Contains(string(f.Data), "with ESMTPSA") {
			t.Errorf("Received header should say ESMTPSA:\n%s", f.Data)
		}
	}
	if bare != 1 {
		t.Errorf("the message sent without Message-ID and Date was not found")
	}
	s.waitLog(func(l string) bool { return strings.Contains(l, "sasl_method=PLAIN, sasl_username="+user) }, "sasl log line")
}
