package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// pyIdleWatch logs in over IMAPS, selects INBOX, starts IDLE and prints
// "IDLING"; then it prints the first untagged response that arrives
// (within 60s), ends IDLE and prints the Subject of the newest message.
const pyIdleWatch = `
import imaplib, json, socket, ssl, sys
req = json.load(sys.stdin)
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
m = imaplib.IMAP4_SSL("127.0.0.1", req["imaps"], ssl_context=ctx)
m.login(req["user"], req["pass"])
typ, n = m.select("INBOX")
tag = m._new_tag()
m.send(tag + b" IDLE\r\n")
cont = m.readline()
if not cont.startswith(b"+"):
    raise SystemExit("no IDLE continuation: %r" % cont)
print("IDLING", int(n[0]), flush=True)
m.sock.settimeout(60)
try:
    push = m.readline().decode().strip()
except socket.timeout:
    push = "timeout"
m.send(b"DONE\r\n")
while not m.readline().startswith(tag):
    pass
typ, d = m.select("INBOX")
count = int(d[0])
subj = ""
if count:
    typ, f = m.fetch(str(count), "(BODY.PEEK[HEADER.FIELDS (SUBJECT RECEIVED)])")
    subj = f[0][1].decode()
m.logout()
print(json.dumps({"push": push, "count": count, "header": subj}), flush=True)
`

type idleResult struct {
	Push   string `json:"push"`
	Count  int    `json:"count"`
	Header string `json:"header"`
}

// idleWatch starts pyIdleWatch for user and returns once the client is
// idling; wait returns what it saw.
func (s *server) idleWatch(user string) (wait func() idleResult) {
	s.t.Helper()
	requireTool(s.t, python)
	body, _ := json.Marshal(map[string]any{"imaps": s.IMAPSPort, "user": user, "pass": "correct horse battery"})
	cmd := exec.Command(python, "-c", pyIdleWatch)
	cmd.Stdin = bytes.NewReader(body)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		s.t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	br := bufio.NewReader(out)
	line, err := br.ReadString('\n')
	if !strings.HasPrefix(line, "IDLING") {
		cmd.Wait()
		s.t.Fatalf("imaplib did not start IDLE: %q %v\n%s", line, err, stderr.String())
	}
	return func() idleResult {
		s.t.Helper()
		rest, _ := io.ReadAll(br)
		if err := cmd.Wait(); err != nil {
			s.t.Fatalf("imaplib IDLE watcher: %v\n%s", err, stderr.String())
		}
		var r idleResult
		if err := json.Unmarshal(rest, &r); err != nil {
			s.t.Fatalf("imaplib IDLE watcher printed %q: %v", rest, err)
		}
		return r
	}
}

// sendmail runs `mailwarden sendmail ARGS` with stdin and returns its exit
// status and stderr.
func (s *server) sendmail(stdin string, args ...string) (int, string) {
	s.t.Helper()
	cmd := exec.Command(mwBin, append([]string{"-config", s.Config, "sendmail"}, args...)...)
	cmd.Env = append(os.Environ(), "MAILWARDEN_CONFIG=")
	cmd.Stdin = strings.NewReader(stdin)
	var errb bytes.Buffer
	cmd.Stderr = &errb
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		return ee.ExitCode(), errb.String()
	case err != nil:
		s.t.Fatalf("sendmail: %v", err)
	}
	return 0, errb.String()
}

// TestSendmailWakesIDLE: a message from `mailwarden sendmail` goes through
// the running server, so an IMAP client idling on INBOX is told at once;
// the Received field names the sender's uid as Postfix's pickup does.
func TestSendmailWakesIDLE(t *testing.T) {
	const user = "ida@pick.test"
	s := startServer(t, options{}, func(s *server) {
		s.admin("domain", "add", "pick.test")
		s.addUser(user)
	})
	wait := s.idleWatch(user)
	if code, errs := s.sendmail("Subject: cron report\n\nall fine\n", user); code != 0 {
		t.Fatalf("sendmail: exit %d: %s", code, errs)
	}
	r := wait()
	if r.Push != "* 1 EXISTS" || r.Count != 1 || !strings.Contains(r.Header, "Subject: cron report") {
		t.Errorf("IDLE saw %+v, want * 1 EXISTS and the message", r)
	}
	want := fmt.Sprintf("Received: by mx.test.example (Mailwarden, from userid %d)\r\n\twith local id ", os.Getuid())
	if !strings.Contains(r.Header, want) {
		t.Errorf("Received field: %q, want it to contain %q", r.Header, want)
	}
	if !strings.Contains(s.Log(), "mailwarden/pickup[") || !strings.Contains(s.Log(), fmt.Sprintf(": uid=%d from=<", os.Getuid())) {
		t.Errorf("no pickup log line with the uid:\n%s", s.Log())
	}
}

// pyWaitMessage logs in over IMAPS and waits (up to 30s) for INBOX to
// hold a message, then prints its header.
const pyWaitMessage = `
import imaplib, json, ssl, sys, time
req = json.load(sys.stdin)
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
m = imaplib.IMAP4_SSL("127.0.0.1", req["imaps"], ssl_context=ctx)
m.login(req["user"], req["pass"])
deadline = time.time() + 30
while True:
    typ, d = m.select("INBOX")
    if int(d[0]) > 0 or time.time() > deadline:
        break
    time.sleep(0.2)
hdr = ""
if int(d[0]) > 0:
    typ, f = m.fetch("1", "(BODY.PEEK[HEADER])")
    hdr = f[0][1].decode()
m.logout()
print(json.dumps({"count": int(d[0]), "header": hdr}))
`

// TestSendmailServerStopped: with the server stopped, sendmail leaves the
// message in the maildrop and exits 0; when the server starts, the
// message arrives (seen with imaplib) and the maildrop is empty.
func TestSendmailServerStopped(t *testing.T) {
	const user = "max@pick.test"
	s := startServer(t, options{}, func(s *server) {
		s.admin("domain", "add", "pick.test")
		s.addUser(user)
	})
	// serve installs its SIGTERM handler after the ports accept.
	s.waitLog(func(l string) bool { return strings.Contains(l, "daemon started") }, "daemon started")
	s.stop()
	if _, err := os.Stat(filepath.Join(s.DataDir, "run", "submit.sock")); !os.IsNotExist(err) {
		t.Errorf("the socket outlived the server: %v", err)
	}
	if code, errs := s.sendmail("Subject: while down\n\nqueued locally\n", user); code != 0 {
		t.Fatalf("sendmail with the server stopped: exit %d: %s", code, errs)
	}
	if n := len(maildropFiles(t, s)); n != 1 {
		t.Fatalf("maildrop holds %d files, want 1", n)
	}
	s.start()
	requireTool(t, python)
	body, _ := json.Marshal(map[string]any{"imaps": s.IMAPSPort, "user": user, "pass": "correct horse battery"})
	cmd := exec.Command(python, "-c", pyWaitMessage)
	cmd.Stdin = bytes.NewReader(body)
	raw, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("imaplib: %v\n%s", err, raw)
	}
	var r struct {
		Count  int
		Header string
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Fatalf("imaplib printed %q", raw)
	}
	if r.Count != 1 || !strings.Contains(r.Header, "Subject: while down") ||
		!strings.Contains(r.Header, "(Mailwarden, from userid "+strconv.Itoa(os.Getuid())+")") {
		t.Errorf("after the start INBOX has %d messages: %q", r.Count, r.Header)
	}
	if n := len(maildropFiles(t, s)); n != 0 {
		t.Errorf("maildrop still holds %d files", n)
	}
}

func maildropFiles(t *testing.T, s *server) []string {
	t.Helper()
	es, err := os.ReadDir(filepath.Join(s.DataDir, "maildrop"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		if e.Type().IsRegular() {
			out = append(out, e.Name())
		}
	}
	return out
}

// pySMTPRcpt sends RCPT for one address over SMTP and prints the reply.
const pySMTPRcpt = `
import smtplib, sys
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]))
s.ehlo("client.test")
s.mail(sys.argv[2])
code, text = s.rcpt(sys.argv[3])
print("%d %s" % (code, text.decode()))
s.quit()
`

// TestSendmailChecks: sendmail gets the server's checks: an unknown local
// user is refused with the reply an SMTP client gets, at once, with
// EX_NOUSER (67) and nothing delivered to the others.
func TestSendmailChecks(t *testing.T) {
	requireTool(t, python)
	s := startServer(t, options{}, func(s *server) {
		s.admin("domain", "add", "pick.test")
		s.addUser("known@pick.test")
	})
	out, err := exec.Command(python, "-c", pySMTPRcpt, strconv.Itoa(s.Port), "someone@far.test", "ghost@pick.test").CombinedOutput()
	if err != nil {
		t.Fatalf("smtplib: %v\n%s", err, out)
	}
	smtpReply := strings.TrimSpace(string(out))
	if !strings.HasPrefix(smtpReply, "550 5.1.1 ") {
		t.Fatalf("SMTP RCPT reply %q", smtpReply)
	}
	code, errs := s.sendmail("Subject: x\n\ny\n", "known@pick.test", "ghost@pick.test")
	if code != 67 || !strings.Contains(errs, smtpReply) {
		t.Errorf("sendmail to an unknown user: exit %d, stderr %q; want 67 and %q", code, errs, smtpReply)
	}
	if n := len(s.inbox("known@pick.test")); n != 0 {
		t.Errorf("known@ got %d messages from a refused submission", n)
	}
	// The server writes its log line as it answers; sendmail may exit
	// before the line reaches the log pipe.
	s.waitLog(func(l string) bool {
		return strings.Contains(l, "reject: RCPT from localhost[127.0.0.1]: 550 5.1.1 <ghost@pick.test>")
	}, "a Postfix-style reject line for the local submission")
}

// TestMaildropCorrupt: a file in the maildrop that is no message is moved
// aside with a log line; the server goes on and delivers good files.
func TestMaildropCorrupt(t *testing.T) {
	const user = "cora@pick.test"
	s := startServer(t, options{}, func(s *server) {
		s.admin("domain", "add", "pick.test")
		s.addUser(user)
	})
	bad := filepath.Join(s.DataDir, "maildrop", "0123456789abcdef0123456789abcdef")
	if err := os.WriteFile(bad, []byte("X-Mailwarden-Maildrop: 1\nSender: <a@b.test>\nnot a field\n\nbody"), 0o600); err != nil {
		t.Fatal(err)
	}
	os.Chmod(bad, 0o744) // complete: the picker wakes on this change
	s.waitLog(func(l string) bool {
		return strings.Contains(l, "0123456789abcdef0123456789abcdef: pickup: corrupt maildrop file")
	}, "the corrupt file's log line")
	if _, err := os.Stat(filepath.Join(s.DataDir, "maildrop", "corrupt", filepath.Base(bad))); err != nil {
		t.Errorf("corrupt file not moved aside: %v", err)
	}
	if code, errs := s.sendmail("Subject: still works\n\nok\n", user); code != 0 {
		t.Fatalf("sendmail after a corrupt file: exit %d: %s", code, errs)
	}
	if n := len(s.inbox(user)); n != 1 {
		t.Errorf("%s has %d messages, want 1", user, n)
	}
	if !s.running() {
		t.Fatal("the server died")
	}
}

// TestImportMaildirWakesIDLE: import-maildir is another process; the
// server learns of its changes through the mail_change table and an IMAP
// client idling on INBOX is told.
func TestImportMaildirWakesIDLE(t *testing.T) {
	const user = "imp@pick.test"
	s := startServer(t, options{}, func(s *server) {
		s.admin("domain", "add", "pick.test")
		s.addUser(user)
	})
	src := filepath.Join(s.Dir, "old-maildir")
	makeMaildirTree(t, src, map[string]int{"INBOX": 3}, 0, func(int) string { return "" })
	wait := s.idleWatch(user)
	if out := s.admin("import-maildir", user, src); !strings.Contains(out, "imported 3 messages") {
		t.Fatalf("import-maildir said %q", out)
	}
	r := wait()
	if r.Push != "* 3 EXISTS" || r.Count != 3 {
		t.Errorf("IDLE saw %+v after the import, want * 3 EXISTS", r)
	}
}

// TestMaildropBounce: a recipient the server refuses when it picks up a
// maildrop file (sendmail could not ask while the server was down) gets
// the sender a non-delivery report, as Postfix bounces mail that postdrop
// accepted; the other recipient gets the message and the file goes.
func TestMaildropBounce(t *testing.T) {
	s := startServer(t, options{}, func(s *server) {
		s.admin("domain", "add", "pick.test")
		s.addUser("sender@pick.test")
		s.addUser("known@pick.test")
	})
	// serve installs its SIGTERM handler after the ports accept.
	s.waitLog(func(l string) bool { return strings.Contains(l, "daemon started") }, "daemon started")
	s.stop()
	if code, errs := s.sendmail("Subject: to two\n\nhello\n", "-f", "sender@pick.test", "known@pick.test", "ghost@pick.test"); code != 0 {
		t.Fatalf("sendmail with the server stopped: exit %d: %s", code, errs)
	}
	s.start()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) && (len(s.inbox("sender@pick.test")) == 0 || len(s.inbox("known@pick.test")) == 0 || len(maildropFiles(t, s)) > 0) {
		time.Sleep(50 * time.Millisecond)
	}
	if n := len(s.inbox("known@pick.test")); n != 1 {
		t.Fatalf("known@ has %d messages, want 1", n)
	}
	bounces := s.inbox("sender@pick.test")
	if len(bounces) != 1 {
		t.Fatalf("sender has %d messages, want the bounce", len(bounces))
	}
	b := string(bounces[0].Data)
	if !strings.HasPrefix(b, "Return-Path: <>\r\n") || !strings.Contains(b, "Final-Recipient: rfc822; ghost@pick.test") ||
		!strings.Contains(b, "Status: 5.1.1") || !strings.Contains(b, "Subject: to two") {
		t.Errorf("bounce:\n%s", b)
	}
	if n := len(maildropFiles(t, s)); n != 0 {
		t.Errorf("maildrop still holds %d files", n)
	}
	if !strings.Contains(s.Log(), "to=<ghost@pick.test>, status=bounced (550 5.1.1") {
		t.Errorf("no bounced line in the log:\n%s", s.Log())
	}
}
