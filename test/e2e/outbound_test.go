package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"mailwarden/internal/dnsx/dnstest"
)

// sink is a remote MX: it accepts mail on 127.0.0.2 and refuses
// recipients whose local part starts with "bad".
type sink struct {
	mu    sync.Mutex
	msgs  []sinkMsg
	tried map[string]bool // "once..." recipients already answered 451
}

type sinkMsg struct {
	From string
	To   []string
	Data string
}

type sinkSession struct {
	s   *sink
	msg sinkMsg
}

func (k *sink) NewSession(*smtp.Conn) (smtp.Session, error) { return &sinkSession{s: k}, nil }
func (ss *sinkSession) Reset()                              { ss.msg = sinkMsg{} }
func (ss *sinkSession) Logout() error                       { return nil }
func (ss *sinkSession) Mail(from string, _ *smtp.MailOptions) error {
	ss.msg.From = from
	return nil
}
func (ss *sinkSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	if strings.HasPrefix(to, "once") {
		ss.s.mu.Lock()
		first := !ss.s.tried[to]
		if ss.s.tried == nil {
			ss.s.tried = map[string]bool{}
		}
		ss.s.tried[to] = true
		ss.s.mu.Unlock()
		if first {
			return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try again later"}
		}
	}
	if strings.HasPrefix(to, "defer") {
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 2, 1}, Message: "mailbox busy, try again later"}
	}
	if strings.HasPrefix(to, "bad") {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "<" + to + ">: no such user here"}
	}
	ss.msg.To = append(ss.msg.To, to)
	return nil
}
func (ss *sinkSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	ss.msg.Data = string(b)
	ss.s.mu.Lock()
	ss.s.msgs = append(ss.s.msgs, ss.msg)
	ss.s.mu.Unlock()
	return nil
}

func (k *sink) received() []sinkMsg {
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([]sinkMsg(nil), k.msgs...)
}

// startSink listens on 127.0.0.2 on a free port.
func startSink(t *testing.T) (*sink, int) {
	t.Helper()
	return startSinkOn(t, "127.0.0.2")
}

// startSinkOn listens on ip on a free port.
func startSinkOn(t *testing.T, ip string) (*sink, int) {
	t.Helper()
	return startSinkAt(t, ip+":0", false)
}

// startSinkAt listens on addr; withDSN makes it offer DSN (RFC 3461).
func startSinkAt(t *testing.T, addr string, withDSN bool) (*sink, int) {
	t.Helper()
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	k := &sink{}
	srv := smtp.NewServer(k)
	srv.EnableDSN = withDSN
	srv.Domain = "mx1.remote.test"
	srv.ErrorLog = log.New(io.Discard, "", 0)
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return k, l.Addr().(*net.TCPAddr).Port
}

// pyDSN parses a delivery status notification with Python's email package.
const pyDSN = `
import email, json, sys
m = email.message_from_bytes(sys.stdin.buffer.read())
out = {"type": m.get_content_type(), "report_type": m.get_param("report-type"), "subject": m["Subject"], "parts": []}
for p in m.get_payload():
    out["parts"].append(p.get_content_type())
    if p.get_content_type() == "message/delivery-status":
        out["fields"] = [dict(b.items()) for b in p.get_payload()]
print(json.dumps(out))
`

// parsedDSN is a notification as Python's email package reads it.
type parsedDSN struct {
	Type       string `json:"type"`
	ReportType string `json:"report_type"`
	Subject    string `json:"subject"`
	Parts      []string
	Fields     []map[string]string // per-message fields, then one map per recipient
}

func parseDSN(t *testing.T, msg []byte) (parsedDSN, []byte) {
	t.Helper()
	cmd := exec.Command(python, "-c", pyDSN)
	cmd.Stdin = bytes.NewReader(msg)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("parsing the DSN: %v\n%s", err, out)
	}
	var d parsedDSN
	if err := json.Unmarshal(out, &d); err != nil {
		t.Fatalf("python output %s: %v", out, err)
	}
	return d, out
}

// reports returns the delivery reports in addr's INBOX.
func (s *server) reports(addr string) [][]byte {
	var out [][]byte
	for _, f := range s.inbox(addr) {
		if strings.Contains(f.Headers.Get("Content-Type"), "multipart/report") {
			out = append(out, f.Data)
		}
	}
	return out
}

func TestOutboundDeliveryAndBounce(t *testing.T) {
	requireTool(t, python)
	k, port := startSink(t)
	dns := dnstest.New(t, `
remote.test. MX 10 mx1.remote.test.
remote.test. MX 20 mx2.remote.test.
mx1.remote.test. A 127.0.0.3
mx2.remote.test. A 127.0.0.2
`)
	const user, pw = "kim@out.test", "correct horse battery"
	s := startServer(t, options{Resolvers: []string{dns.Addr()}, Extra: []string{"", "[outbound]", fmt.Sprintf("smtp_port = %d", port)}}, func(s *server) {
		s.admin("domain", "add", "out.test")
		s.addUser(user)
	})
	sub := fmt.Sprintf("127.0.0.1:%d", s.SubmissionPort)
	auth := []string{"--server", sub, "--tls", "--auth", "PLAIN", "--auth-user", user, "--auth-password", pw, "--local-interface", "127.0.0.2"}
	// The preferred MX (127.0.0.3) has nothing listening: delivery falls back to the second.
	r := s.swaks(append(auth, "--from", user, "--to", "friend@remote.test,bad-one@remote.test",
		"--header", "Subject: hello remote")...)
	if r.Code != 0 {
		t.Fatalf("submission: exit %d\n%s", r.Code, r.Out)
	}
	deadline := time.Now().Add(30 * time.Second)
	for len(k.received()) == 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	got := k.received()
	if len(got) != 1 || strings.Join(got[0].To, ",") != "friend@remote.test" || got[0].From != user || !strings.Contains(got[0].Data, "Subject: hello remote") {
		t.Fatalf("the remote MX received %+v", got)
	}
	// The refused recipient comes back to the sender as a DSN in her INBOX.
	var dsnFile []byte
	for time.Now().Before(deadline) && dsnFile == nil {
		for _, f := range s.inbox(user) {
			if strings.Contains(f.Headers.Get("Content-Type"), "multipart/report") {
				dsnFile = f.Data
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	if dsnFile == nil {
		t.Fatalf("no DSN reached %s; log:\n%s", user, s.Log())
	}
	d, out := parseDSN(t, dsnFile)
	var rcpt map[string]string
	for _, f := range d.Fields {
		if strings.Contains(f["Final-Recipient"], "bad-one@remote.test") {
			rcpt = f
		}
	}
	if d.ReportType != "delivery-status" || len(d.Parts) != 3 || rcpt == nil || rcpt["Action"] != "failed" || !strings.HasPrefix(rcpt["Status"], "5.1.1") {
		t.Fatalf("DSN as Python reads it: %s", out)
	}
	if !strings.Contains(rcpt["Diagnostic-Code"], "no such user here") {
		t.Errorf("Diagnostic-Code should carry the remote reply: %q", rcpt["Diagnostic-Code"])
	}
	// Nothing is left in the queue.
	for time.Now().Before(deadline) {
		if out := s.admin("queue", "list"); strings.Contains(out, "empty") || !strings.Contains(out, "@") {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if out := s.admin("queue", "list"); strings.Contains(out, "remote.test") {
		t.Errorf("queue still holds the message:\n%s", out)
	}
	s.waitLog(func(l string) bool {
		return strings.Contains(l, "to=<friend@remote.test>, relay=mx2.remote.test[127.0.0.2]") && strings.Contains(l, "status=sent")
	}, "delivery log line")
}

// pyDSNParams sends one message with DSN parameters (RFC 3461) through
// smtplib: the first recipient asks for no notice, the second for one on
// failure, with RET=HDRS and an ENVID.
const pyDSNParams = `
import json, smtplib, sys
req = json.load(sys.stdin)
s = smtplib.SMTP("127.0.0.1", req["port"])
s.ehlo("client.e2e.test")
if not s.has_extn("dsn"):
    raise SystemExit("DSN not advertised")
code, _ = s.mail(req["from"], ["RET=HDRS", "ENVID=env-e2e-42"])
assert code == 250, code
for rcpt, notify in req["rcpts"]:
    code, msg = s.rcpt(rcpt, ["NOTIFY=" + notify, "ORCPT=rfc822;" + rcpt])
    assert code == 250, (code, msg)
code, msg = s.data(b"Subject: dsn params\r\nMessage-ID: <dsnparams@e2e.test>\r\n\r\nbody\r\n")
assert code == 250, (code, msg)
s.quit()
`

func TestOutboundDSNParameters(t *testing.T) {
	requireTool(t, python)
	_, port := startSink(t)
	dns := dnstest.New(t, "remote.test. MX 10 mx.remote.test.\nmx.remote.test. A 127.0.0.2\n")
	const user = "lou@out.test"
	s := startServer(t, options{Resolvers: []string{dns.Addr()}, Extra: []string{"", "[outbound]", fmt.Sprintf("smtp_port = %d", port)}}, func(s *server) {
		s.admin("domain", "add", "out.test")
		s.addUser(user)
	})
	body, _ := json.Marshal(map[string]any{"port": s.Port, "from": user,
		"rcpts": [][]string{{"bad-quiet@remote.test", "NEVER"}, {"bad-loud@remote.test", "FAILURE"}}})
	cmd := exec.Command(python, "-c", pyDSNParams)
	cmd.Stdin = bytes.NewReader(body)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("smtplib with DSN parameters: %v\n%s", err, out)
	}
	var dsns [][]byte
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		dsns = nil
		for _, f := range s.inbox(user) {
			dsns = append(dsns, f.Data)
		}
		if len(dsns) > 0 && !strings.Contains(s.admin("queue", "list"), "remote.test") {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if len(dsns) != 1 {
		t.Fatalf("%s received %d notices, want exactly 1 (NOTIFY=NEVER must be silent)", user, len(dsns))
	}
	d := string(dsns[0])
	for _, want := range []string{"Original-Envelope-Id: env-e2e-42", "Final-Recipient: rfc822; bad-loud@remote.test", "Original-Recipient: rfc822; bad-loud@remote.test", "text/rfc822-headers", "Subject: dsn params"} {
		if !strings.Contains(d, want) {
			t.Errorf("the notice lacks %q:\n%s", want, d)
		}
	}
	if strings.Contains(d, "bad-quiet@remote.test") || strings.Contains(d, "\r\n\r\nbody\r\n") {
		t.Errorf("the notice names the NOTIFY=NEVER recipient or returns the body despite RET=HDRS:\n%s", d)
	}
}

// TestOutboundRetry: a 451 defers the recipient (the queue shows the reason),
// `mailwarden queue flush` makes it due again, and the retry succeeds.
func TestOutboundRetry(t *testing.T) {
	k, port := startSink(t)
	dns := dnstest.New(t, "remote.test. MX 10 mx.remote.test.\nmx.remote.test. A 127.0.0.2\n")
	s := startServer(t, options{Resolvers: []string{dns.Addr()}, Extra: []string{"", "[outbound]", fmt.Sprintf("smtp_port = %d", port)}}, nil)
	s.send("sender@client.test", "once-only@remote.test", message("sender@client.test", "once-only@remote.test", "retry me", "<retry@e2e.test>", "hello"))
	deadline := time.Now().Add(30 * time.Second)
	var list string
	for time.Now().Before(deadline) {
		if list = s.admin("queue", "list"); strings.Contains(list, "try again later") {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !strings.Contains(list, "once-only@remote.test") || !strings.Contains(list, "451") {
		t.Fatalf("after a 451 the queue should show the deferred recipient and the reply:\n%s", list)
	}
	if len(k.received()) != 0 {
		t.Fatalf("the sink received mail on the first attempt: %+v", k.received())
	}
	s.admin("queue", "flush")
	for time.Now().Before(deadline) && len(k.received()) == 0 {
		time.Sleep(100 * time.Millisecond)
	}
	if got := k.received(); len(got) != 1 || !strings.Contains(got[0].Data, "retry me") {
		t.Fatalf("after queue flush the sink received %+v", got)
	}
	s.waitLog(func(l string) bool {
		return strings.Contains(l, "to=<once-only@remote.test>") && strings.Contains(l, "status=sent")
	}, "sent after retry")
}

// TestOutboundExpiry: a recipient that only ever gets 451 earns the sender
// one delay warning (delay_warning_time) and, once maximal_queue_lifetime
// has passed, a failure notice; the message leaves the queue.
func TestOutboundExpiry(t *testing.T) {
	requireTool(t, python)
	_, port := startSink(t)
	dns := dnstest.New(t, "remote.test. MX 10 mx.remote.test.\nmx.remote.test. A 127.0.0.2\n")
	const user, pw = "kim@out.test", "correct horse battery"
	s := startServer(t, options{Resolvers: []string{dns.Addr()}, Extra: []string{"",
		"[outbound]", fmt.Sprintf("smtp_port = %d", port),
		"[queue]", `minimal_backoff_time = "1s"`, `maximal_backoff_time = "1s"`,
		`maximal_queue_lifetime = "8s"`, `delay_warning_time = "1s"`}}, func(s *server) {
		s.admin("domain", "add", "out.test")
		s.addUser(user)
	})
	r := s.swaks("--server", fmt.Sprintf("127.0.0.1:%d", s.SubmissionPort), "--tls", "--auth", "PLAIN",
		"--auth-user", user, "--auth-password", pw, "--from", user, "--to", "defer-always@remote.test",
		"--header", "Subject: never gets there")
	if r.Code != 0 {
		t.Fatalf("submission: exit %d\n%s", r.Code, r.Out)
	}
	deadline := time.Now().Add(60 * time.Second)
	var actions []string
	var failed map[string]string
	for time.Now().Before(deadline) {
		actions, failed = nil, nil
		for _, m := range s.reports(user) {
			d, out := parseDSN(t, m)
			for _, f := range d.Fields {
				if a := f["Action"]; a != "" {
					actions = append(actions, a)
					if a == "failed" {
						failed = f
						if d.Subject != "Undelivered Mail Returned to Sender" {
							t.Errorf("failure notice: %s", out)
						}
					}
				}
			}
		}
		if failed != nil {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if failed == nil {
		t.Fatalf("no failure notice after expiry (actions seen %v); log:\n%s", actions, s.Log())
	}
	if strings.Join(actions, ",") != "delayed,failed" && strings.Join(actions, ",") != "failed,delayed" {
		t.Errorf("want one delay warning and one failure notice, got %v", actions)
	}
	if !strings.HasPrefix(failed["Status"], "4.2.1") || !strings.Contains(failed["Diagnostic-Code"], "try again later") ||
		!strings.Contains(failed["Final-Recipient"], "defer-always@remote.test") {
		t.Errorf("failed recipient fields: %v", failed)
	}
	s.waitLog(func(l string) bool { return strings.Contains(l, "message expired after 8s in the queue") }, "expiry log line")
	for time.Now().Before(deadline) && strings.Contains(s.admin("queue", "list"), "defer-always") {
		time.Sleep(100 * time.Millisecond)
	}
	if out := s.admin("queue", "list"); strings.Contains(out, "defer-always") {
		t.Errorf("expired message still queued:\n%s", out)
	}
}
