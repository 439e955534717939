package e2e

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestSendmail: a script pipes a message into `mailwarden sendmail -t`, as
// cron does; recipients come from the headers, Bcc is removed, local mail
// is delivered at once and foreign mail is queued for the running server.
func TestSendmail(t *testing.T) {
	s := startServer(t, options{}, func(s *server) {
		s.admin("domain", "add", "cron.test")
		s.addUser("ops@cron.test")
		s.addUser("audit@cron.test")
	})
	msg := "From: backup job <backup@cron.test>\nTo: ops@cron.test, someone@far.example\nBcc: audit@cron.test\nSubject: nightly backup\n\nall good\n.\n"
	cmd := exec.Command(mwBin, "-config", s.Config, "sendmail", "-t", "-f", "backup@cron.test")
	cmd.Env = append(os.Environ(), "MAILWARDEN_CONFIG=")
	cmd.Stdin = strings.NewReader(msg)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("sendmail -t: %v\n%s", err, out.String())
	}
	for _, who := range []string{"ops@cron.test", "audit@cron.test"} {
		files := s.inbox(who)
		if len(files) != 1 {
			t.Fatalf("%s has %d messages, want 1", who, len(files))
		}
		f := files[0]
		if f.Headers.Get("Bcc") != "" || f.Headers.Get("Message-Id") == "" || f.Headers.Get("Subject") != "nightly backup" {
			t.Errorf("%s got headers %v", who, f.Headers)
		}
		if !strings.HasPrefix(string(f.Data), "Return-Path: <backup@cron.test>\r\n") || !strings.Contains(string(f.Data), "with local id") {
			t.Errorf("%s: trace headers wrong:\n%s", who, f.Data)
		}
	}
	db := s.openDB()
	defer db.Close()
	if q := queryStrings(t, db, `SELECT rcpt FROM queue_rcpt WHERE kind='remote'`); strings.Join(q, ",") != "someone@far.example" {
		t.Errorf("queued: %v", q)
	}
	// An unknown local recipient: exit 67 (EX_NOUSER), nothing delivered.
	cmd = exec.Command(mwBin, "-config", s.Config, "sendmail", "nobody@cron.test")
	cmd.Env = append(os.Environ(), "MAILWARDEN_CONFIG=")
	cmd.Stdin = strings.NewReader("Subject: x\n\ny\n")
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 67 {
		t.Errorf("sendmail to an unknown user: %v, want exit 67", err)
	}
	s.checkIndex()
}
