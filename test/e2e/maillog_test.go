package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"mailwarden/internal/dnsx/dnstest"
)

// pyMailMix drives the server with Python's own clients: local mail on the
// MX port from a client outside mynetworks (127.0.0.2), refused RCPTs
// (unknown user, relay), authenticated submissions (two to recipients the
// remote MX defers, one it accepts), failed SMTP AUTH (PLAIN and LOGIN),
// failed IMAP and POP3 logins. It prints what it did as JSON.
const pyMailMix = `
import imaplib, json, poplib, smtplib, ssl, sys
req = json.load(sys.stdin)
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
user, pw = req["user"], req["password"]
out = {"rejected": 0, "smtp_auth_failed": 0, "imap_failed": 0, "pop3_failed": 0}

def msg(i, frm, to, pad):
    return ("From: <%s>\r\nTo: <%s>\r\nSubject: log mix %d\r\nMessage-ID: <mix%d@e2e.test>\r\n\r\n%s\r\n"
            % (frm, to, i, i, "x" * pad))

mx = smtplib.SMTP("127.0.0.1", req["smtp"], local_hostname="client.ext.test", source_address=("127.0.0.2", 0))
for i in range(4):
    frm = "sender%d@ext.test" % (i % 3)
    mx.sendmail(frm, ["alice@logs.test"], msg(i, frm, "alice@logs.test", 100 * (i + 1)))
mx.sendmail("sender0@ext.test", ["alice@logs.test", "bob@logs.test"], msg(4, "sender0@ext.test", "alice@logs.test", 50))
for rcpt in req["refused"]:
    mx.mail("spam@ext.test")
    code, _ = mx.rcpt(rcpt)
    if code < 500:
        raise SystemExit("RCPT %s: %d, want a 5xx" % (rcpt, code))
    out["rejected"] += 1
    mx.rset()
mx.quit()

sub = smtplib.SMTP("127.0.0.1", req["submission"], local_hostname="client.logs.test")
sub.starttls(context=ctx)
sub.login(user, pw)
for i, to in enumerate(["defer1@remote.test", "defer2@remote.test", "friend@remote.test"]):
    sub.sendmail(user, [to], msg(10 + i, user, to, 300))
sub.quit()

for mech in ("PLAIN", "LOGIN"):
    s = smtplib.SMTP("127.0.0.1", req["submission"], local_hostname="client.logs.test")
    s.starttls(context=ctx)
    s.ehlo("client.logs.test")
    s.user, s.password = user, "wrong password"
    try:
        s.auth(mech, s.auth_plain if mech == "PLAIN" else s.auth_login, initial_response_ok=(mech == "PLAIN"))
        raise SystemExit("AUTH %s with a wrong password succeeded" % mech)
    except smtplib.SMTPAuthenticationError:
        out["smtp_auth_failed"] += 1
    s.quit()

for i in range(2):
    m = imaplib.IMAP4("127.0.0.1", req["imap"])
    m.starttls(ssl_context=ctx)
    try:
        m.login(user, "wrong password")
        raise SystemExit("IMAP LOGIN with a wrong password succeeded")
    except imaplib.IMAP4.error:
        out["imap_failed"] += 1
    m.logout()

for i in range(2):
    p = poplib.POP3("127.0.0.1", req["pop3"])
    p.stls(context=ctx)
    p.user(user)
    try:
        p.pass_("wrong password")
        raise SystemExit("POP3 PASS with a wrong password succeeded")
    except poplib.error_proto:
        out["pop3_failed"] += 1
    p.quit()
print(json.dumps(out))
`

// mixResult is what pyMailMix reports.
type mixResult struct {
	Rejected       int `json:"rejected"`
	SMTPAuthFailed int `json:"smtp_auth_failed"`
	IMAPFailed     int `json:"imap_failed"`
	POP3Failed     int `json:"pop3_failed"`
}

// sbinTool finds a tool that Debian installs in /usr/sbin (not on every
// PATH), or requires it on PATH.
func sbinTool(t *testing.T, tool string) string {
	t.Helper()
	if p, err := exec.LookPath(tool); err == nil {
		return p
	}
	if p := filepath.Join("/usr/sbin", tool); fileExists(p) {
		return p
	}
	requireTool(t, tool)
	return tool
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// TestMailLogTools runs a scripted mix of mail and failed logins, then
// reads the mail log with pflogsumm and fail2ban-regex (the stock postfix
// and dovecot filters with only _daemon overridden, as docs/logs.md
// says) and scrapes /metrics: all three must agree with what was done.
func TestMailLogTools(t *testing.T) {
	requireTool(t, python)
	pflogsumm := sbinTool(t, "pflogsumm")
	requireTool(t, "fail2ban-regex")
	requireTool(t, "promtool")

	k, sinkPort := startSink(t)
	dns := dnstest.New(t, `
remote.test. MX 10 mx.remote.test.
mx.remote.test. A 127.0.0.2
`)
	const name = "mwtest" // syslog_name
	metricsAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	var logFile string
	const user, pw = "kim@logs.test", "correct horse battery"
	s := newServer(t, options{Resolvers: []string{dns.Addr()}})
	logFile = filepath.Join(s.Dir, "mail.log")
	s.setOptions(options{Resolvers: []string{dns.Addr()}, Extra: []string{
		"", "[outbound]", fmt.Sprintf("smtp_port = %d", sinkPort),
		"", "[auth]", `failure_delay = "0s"`,
		"", "[log]", fmt.Sprintf("file = %q", logFile), fmt.Sprintf("syslog_name = %q", name),
		"", "[metrics]", fmt.Sprintf("listen = %q", metricsAddr),
	}})
	s.admin("domain", "add", "logs.test")
	for _, u := range []string{"alice@logs.test", "bob@logs.test", user} {
		s.addUser(u)
	}
	s.start()

	req, _ := json.Marshal(map[string]any{"smtp": s.Port, "submission": s.SubmissionPort, "imap": s.IMAPPort, "pop3": s.POP3Port,
		"user": user, "password": pw,
		"refused": []string{"nobody@logs.test", "ghost@logs.test", "x@elsewhere.test", "y@elsewhere.test"}})
	cmd := exec.Command(python, "-c", pyMailMix)
	cmd.Stdin = bytes.NewReader(req)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	outb, err := cmd.Output()
	if err != nil {
		t.Fatalf("python mail mix: %v\n%s\n%s", err, outb, stderr.String())
	}
	var mix mixResult
	if err := json.Unmarshal(outb, &mix); err != nil {
		t.Fatalf("python output %q: %v", outb, err)
	}
	if mix != (mixResult{Rejected: 4, SMTPAuthFailed: 2, IMAPFailed: 2, POP3Failed: 2}) {
		t.Fatalf("the mix did %+v", mix)
	}

	// The queue's first attempt: two deferred by the remote MX, one sent.
	readLog := func() string { return readFileOr(t, logFile) }
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		l := readLog()
		if strings.Count(l, "status=deferred") >= 2 && strings.Contains(l, "to=<friend@remote.test>") &&
			strings.Count(l, "imap-login: Disconnected") >= 2 && strings.Count(l, "pop3-login: Disconnected") >= 2 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if got := k.received(); len(got) != 1 {
		t.Fatalf("the remote MX got %d messages, want 1; log:\n%s", len(got), readLog())
	}
	log := readLog()
	if os.Getenv("MAILWARDEN_E2E_LOG") != "" {
		t.Logf("mail log:\n%s", log)
	}

	// The true sizes: what each message was when accepted (trace and
	// body, as the queue and the remote MX hold it).
	local := map[string]int64{} // queue id -> size, from the Maildir copies
	var bytesDelivered int64
	for _, u := range []string{"alice@logs.test", "bob@logs.test"} {
		for _, f := range s.inbox(u) {
			data := f.Data
			// Local delivery adds Return-Path and Delivered-To in front.
			for _, h := range []string{"Return-Path:", "Delivered-To:"} {
				if bytes.HasPrefix(data, []byte(h)) {
					data = data[bytes.Index(data, []byte("\r\n"))+2:]
				}
			}
			id := queueIDOf(t, data)
			local[id] = int64(len(data))
			bytesDelivered += int64(len(data))
		}
	}
	remoteSize := int64(len(k.received()[0].Data))
	bytesDelivered += remoteSize
	var queued []int64
	for _, v := range queryStrings(t, s.openDB(), `SELECT size FROM queue_message`) {
		n, _ := strconv.ParseInt(v, 10, 64)
		queued = append(queued, n)
	}
	if len(local) != 5 || len(queued) != 2 {
		t.Fatalf("%d local messages, %d queued; want 5 and 2", len(local), len(queued))
	}
	bytesReceived := remoteSize + queued[0] + queued[1]
	for _, n := range local {
		bytesReceived += n
	}

	t.Run("pflogsumm", func(t *testing.T) {
		out, err := exec.Command(pflogsumm, "--syslog-name="+name, logFile).CombinedOutput()
		if err != nil {
			t.Fatalf("pflogsumm: %v\n%s", err, out)
		}
		want := map[string]int64{
			"received":                8, // 5 local, 3 submitted
			"delivered":               7, // 6 local copies (one message to two users), 1 remote
			"forwarded":               0,
			"bounced":                 0,
			"rejected":                4,
			"bytes received":          bytesReceived,
			"bytes delivered":         bytesDelivered,
			"senders":                 4, // sender0..2@ext.test, kim@logs.test
			"sending hosts/domains":   2,
			"recipients":              3, // alice, bob, friend@remote.test
			"recipient hosts/domains": 2,
		}
		got := pflogsummTotals(t, string(out))
		for k, v := range want {
			if got[k] != v {
				t.Errorf("pflogsumm %q = %d, want %d", k, got[k], v)
			}
		}
		if m := regexp.MustCompile(`(?m)^\s*(\d+)\s+deferred\s+\((\d+)\s+deferrals\)`).FindStringSubmatch(string(out)); m == nil || m[1] != "2" || m[2] != "2" {
			t.Errorf("pflogsumm deferred: %q, want 2 (2 deferrals)", m)
		}
		if t.Failed() {
			t.Logf("pflogsumm:\n%s\nlog:\n%s", out, log)
		}
	})

	// fail2ban: jail.local overrides only _daemon (docs/logs.md).
	postfixDaemon := name + `/\w+(?:/smtp[ds])?`
	authLines := mix.SMTPAuthFailed
	authSessions := mix.SMTPAuthFailed // each failed AUTH had its own session: disconnect ... auth=0/1
	// Aggressive mode also counts connections dropped before DATA (the
	// harness's readiness probe is one: connect, close).
	dropped := 0
	for _, m := range regexp.MustCompile(`lost connection after ([A-Z-]+) from`).FindAllStringSubmatch(log, -1) {
		if m[1] != "DATA" {
			dropped++
		}
	}
	for _, tc := range []struct {
		filter string
		want   int
	}{
		{fmt.Sprintf(`postfix[mode=normal, _daemon="%s"]`, postfixDaemon), mix.Rejected},
		{fmt.Sprintf(`postfix[mode=more, _daemon="%s"]`, postfixDaemon), mix.Rejected},
		{fmt.Sprintf(`postfix[mode=auth, _daemon="%s"]`, postfixDaemon), authLines},
		{fmt.Sprintf(`postfix[mode=aggressive, _daemon="%s"]`, postfixDaemon), mix.Rejected + authLines + authSessions + dropped},
		{fmt.Sprintf(`dovecot[_daemon="%s"]`, name), mix.IMAPFailed + mix.POP3Failed},
	} {
		t.Run("fail2ban "+tc.filter, func(t *testing.T) {
			out, err := exec.Command("fail2ban-regex", "--print-all-matched", logFile, tc.filter).CombinedOutput()
			if err != nil {
				t.Fatalf("fail2ban-regex: %v\n%s", err, out)
			}
			m := regexp.MustCompile(`Lines: \d+ lines, \d+ ignored, (\d+) matched`).FindSubmatch(out)
			if m == nil || string(m[1]) != strconv.Itoa(tc.want) {
				t.Errorf("fail2ban-regex matched %s lines, want %d:\n%s", m, tc.want, out)
			}
			// Every match names the client: the host fail2ban would ban.
			if n := bytes.Count(out, []byte("127.0.0.")); n < tc.want {
				t.Errorf("only %d matches name a 127.0.0.x host:\n%s", n, out)
			}
		})
	}

	t.Run("metrics", func(t *testing.T) {
		resp, err := http.Get("http://" + metricsAddr + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("GET /metrics: %d\n%s", resp.StatusCode, body)
		}
		check := exec.Command("promtool", "check", "metrics")
		check.Stdin = bytes.NewReader(body)
		if out, err := check.CombinedOutput(); err != nil {
			t.Errorf("promtool check metrics: %v\n%s", err, out)
		}
		parser := expfmt.NewTextParser(model.UTF8Validation)
		fams, err := parser.TextToMetricFamilies(bytes.NewReader(body))
		if err != nil {
			t.Fatalf("parsing the scrape: %v", err)
		}
		// The log's own counts, line by line.
		count := func(re string) float64 { return float64(len(regexp.MustCompile(re).FindAllString(log, -1))) }
		for _, c := range []struct {
			metric string
			labels map[string]string
			want   float64
		}{
			{"mailwarden_messages_received_total", nil, count(`(?m)/smtpd\[\d+\]: \w+: client=`)},
			{"mailwarden_messages_received_total", map[string]string{"service": "smtp"}, count(`(?m) ` + name + `/smtpd\[\d+\]: \w+: client=`)},
			{"mailwarden_messages_received_total", map[string]string{"service": "submission"}, count(`(?m)/submission/smtpd\[\d+\]: \w+: client=`)},
			{"mailwarden_received_bytes_total", nil, float64(bytesReceived)},
			{"mailwarden_messages_delivered_total", nil, count(`status=sent`)},
			{"mailwarden_messages_deferred_total", nil, count(`status=deferred`)},
			{"mailwarden_messages_bounced_total", nil, count(`status=bounced`)},
			{"mailwarden_delivered_bytes_total", nil, float64(bytesDelivered)},
			{"mailwarden_messages_rejected_total", nil, count(`: reject: `)},
			{"mailwarden_messages_rejected_total", map[string]string{"reason": "reject_unauth_destination"}, count(`Relay access denied`)},
			{"mailwarden_messages_rejected_total", map[string]string{"reason": "reject_unlisted_recipient"}, count(`User unknown`)},
			{"mailwarden_logins_total", map[string]string{"service": "submission", "outcome": "failure"}, count(`SASL \w+ authentication failed`)},
			{"mailwarden_logins_total", map[string]string{"service": "submission", "outcome": "success"}, float64(sumAuthOK(log))},
			{"mailwarden_logins_total", map[string]string{"service": "imap", "outcome": "failure"}, float64(sumAttempts(log, "imap-login"))},
			{"mailwarden_logins_total", map[string]string{"service": "pop3", "outcome": "failure"}, float64(sumAttempts(log, "pop3-login"))},
			{"mailwarden_connections_total", map[string]string{"service": "smtp", "outcome": "accepted"}, count(name + `/smtpd\[\d+\]: connect from`)},
			{"mailwarden_connections_total", map[string]string{"service": "submission", "outcome": "accepted"}, count(`/submission/smtpd\[\d+\]: connect from`)},
			{"mailwarden_queue_messages", map[string]string{"state": "deferred"}, 2},
			{"mailwarden_queue_messages", map[string]string{"state": "hold"}, 0},
		} {
			if got := metricSum(fams, c.metric, c.labels); got != c.want {
				t.Errorf("%s%v = %v, the log says %v", c.metric, c.labels, got, c.want)
			}
		}
		// The delay histogram saw every delivery attempt.
		if got, want := metricSum(fams, "mailwarden_delivery_delay_seconds", nil), count(`status=(sent|deferred|bounced)`); got != want {
			t.Errorf("delivery_delay_seconds count %v, want %v", got, want)
		}
		if t.Failed() {
			t.Logf("scrape:\n%s", body)
		}
	})

	// logrotate: the file is moved away, SIGHUP makes the server reopen
	// [log] file; new lines go to the new file, none to the old one.
	t.Run("reopen on SIGHUP", func(t *testing.T) {
		readOr := func(p string) string { b, _ := os.ReadFile(p); return string(b) }
		if err := os.Rename(logFile, logFile+".1"); err != nil {
			t.Fatal(err)
		}
		s.signal(syscall.SIGHUP)
		deadline := time.Now().Add(10 * time.Second)
		for !strings.Contains(readOr(logFile), "reload -- configuration") && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		before := readOr(logFile + ".1")
		if r := s.swaks("--from", "a@ext.test", "--to", "alice@logs.test", "--local-interface", "127.0.0.2"); r.Code != 0 {
			t.Fatalf("swaks: %d\n%s", r.Code, r.Out)
		}
		for !strings.Contains(readOr(logFile), "to=<alice@logs.test>, relay=local") && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		now := readOr(logFile)
		if !strings.Contains(now, "reload -- configuration") || !strings.Contains(now, "to=<alice@logs.test>, relay=local") {
			t.Errorf("the new file lacks the reload and the delivery:\n%s", now)
		}
		if after := readOr(logFile + ".1"); after != before {
			t.Errorf("lines went to the rotated file after SIGHUP:\n%s", after[len(before):])
		}
	})
}

// queueIDOf returns the id in a message's first Received field ("with
// ESMTP id X" or "id X;").
func queueIDOf(t *testing.T, data []byte) string {
	t.Helper()
	m := regexp.MustCompile(`\bid ([0-9A-Z]+)`).FindSubmatch(data)
	if m == nil {
		t.Fatalf("no queue id in the trace of:\n%s", data)
	}
	return string(m[1])
}

// pflogsummTotals reads the "Grand Totals" block: "   1312   bytes
// received" and " 4   rejected (33%)".
func pflogsummTotals(t *testing.T, out string) map[string]int64 {
	t.Helper()
	got := map[string]int64{}
	re := regexp.MustCompile(`^\s*(\d+)([km]?)\s+([a-z/ ]+?)\s*(?:\(.*\))?$`)
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "Per-Hour") {
			break
		}
		m := re.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		if m[2] != "" {
			t.Fatalf("pflogsumm rounded %q: keep the test messages small", line)
		}
		n, _ := strconv.ParseInt(m[1], 10, 64)
		got[m[3]] = n
	}
	return got
}

// sumAttempts adds up "auth failed, N attempts" of a login service's
// Disconnected lines.
func sumAttempts(log, prog string) int {
	n := 0
	for _, m := range regexp.MustCompile(prog+`: Disconnected[^(]*\(auth failed, (\d+) attempts`).FindAllStringSubmatch(log, -1) {
		v, _ := strconv.Atoi(m[1])
		n += v
	}
	return n
}

// sumAuthOK adds up the accepted AUTH commands of the submission
// disconnect lines ("auth=1" or "auth=0/1").
func sumAuthOK(log string) int {
	n := 0
	for _, m := range regexp.MustCompile(`/submission/smtpd\[\d+\]: disconnect from .* auth=(\d+)`).FindAllStringSubmatch(log, -1) {
		v, _ := strconv.Atoi(m[1])
		n += v
	}
	return n
}

// metricSum adds the samples of a family whose labels include want
// (histograms: their counts).
func metricSum(fams map[string]*dto.MetricFamily, name string, want map[string]string) float64 {
	f, ok := fams[name]
	if !ok {
		return -1
	}
	sum := 0.0
next:
	for _, m := range f.GetMetric() {
		for k, v := range want {
			found := false
			for _, l := range m.GetLabel() {
				if l.GetName() == k && l.GetValue() == v {
					found = true
				}
			}
			if !found {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			sum += m.Counter.GetValue()
		case m.Gauge != nil:
			sum += m.Gauge.GetValue()
		case m.Histogram != nil:
			sum += float64(m.Histogram.GetSampleCount())
		}
	}
	return sum
}
