package smtpserver

import (
	"net/netip"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"mailwarden/internal/config"
	"mailwarden/internal/directory"
	"mailwarden/internal/testutil"
)

// loopbackIsMyNetwork puts the test clients in mynetworks.
func loopbackIsMyNetwork(c *config.Config) {
	c.Networks = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
}

func TestSubmissionSender(t *testing.T) {
	for _, tc := range []struct {
		name string
		mod  func(*config.Config)
		user string // "" sends without AUTH
		from string
		want string
	}{
		{"no auth", nil, "", "alice@example.org", "530 5.7.0 Authentication required"},
		{"no auth mynetworks", loopbackIsMyNetwork, "", "anyone@anywhere.example", "250 "},
		{"no auth mynetworks, permit_mynetworks off", func(c *config.Config) {
			loopbackIsMyNetwork(c)
			c.Submission.PermitMyNetworks = false
		}, "", "anyone@anywhere.example", "530 5.7.0 Authentication required"},
		{"other user, mismatch check off", func(c *config.Config) { c.Submission.RejectSenderLoginMismatch = false },
			"alice@example.org", "bob@example.org", "250 "},
		{"own address", nil, "alice@example.org", "alice@example.org", "250 "},
		{"own extension", nil, "alice@example.org", "alice+lists@example.org", "250 "},
		{"own upper case", nil, "alice@example.org", "ALICE@Example.Org", "250 "},
		{"alias to user", nil, "alice@example.org", "sales@example.org", "250 "},
		{"null sender", nil, "alice@example.org", "", "250 "},
		{"other user", nil, "alice@example.org", "bob@example.org", "553 5.7.1 <bob@example.org>: Sender address rejected: not owned by user alice@example.org"},
		{"alias to other", nil, "bob@example.org", "sales@example.org", "553 5.7.1 "},
		{"unknown local", nil, "alice@example.org", "nobody@example.org", "553 5.7.1 "},
		{"foreign", nil, "alice@example.org", "alice@gmail.example", "553 5.7.1 "},
		{"alias to remote", nil, "alice@example.org", "fwd@example.org", "553 5.7.1 "},
		{"bad syntax", nil, "alice@example.org", "x@-bad-.example", "501 5.1.7 "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := startSubmission(t, Submission, tc.mod)
			h.dir.mu.Lock()
			h.dir.users["sales@example.org"] = h.dir.users["alice@example.org"]
			h.dir.mu.Unlock()
			c, _ := h.greetTLS(t, Submission)
			if tc.user != "" {
				c.expect(plain(tc.user, testutil.Secret), "235 ")
			}
			c.expect("MAIL FROM:<"+tc.from+">", tc.want)
			if tc.want[0] != '2' {
				c.expect("RCPT TO:<alice@example.org>", "5") // no transaction
				h.waitLog(t, "NOQUEUE: reject: MAIL from unknown[127.0.0.1]: "+tc.want)
				return
			}
			c.expect("RCPT TO:<alice@example.org>", "250 ")
			c.expect("RCPT TO:<someone@foreign.example>", "250 ") // relaying is allowed
			c.expect("DATA", "354 ")
			c.write(simpleBody + ".\r\n")
			c.expect("", "250 2.0.0 Ok: queued as ")
			m := h.del.delivered()[0]
			if m.env.AuthUser != tc.user || m.env.From != tc.from {
				t.Errorf("envelope %+v", m.env)
			}
			if len(m.rcpts) != 2 || m.rcpts[0].Dest.Kind != directory.Local || m.rcpts[1].Dest.Kind != directory.Remote ||
				m.rcpts[1].Dest.Address != "someone@foreign.example" {
				t.Errorf("routed %+v", m.rcpts)
			}
		})
	}
}

// TestSubmissionRecipients: authentication is not a licence for unknown
// local users, and relaying is only for the authenticated.
func TestSubmissionRecipients(t *testing.T) {
	h := startSubmission(t, Submission, nil)
	c, _ := h.greetTLS(t, Submission)
	c.expect(plain("alice@example.org", testutil.Secret), "235 ")
	c.expect("MAIL FROM:<alice@example.org>", "250 ")
	c.expect("RCPT TO:<nobody@example.org>", "550 5.1.1 ")
	c.expect("RCPT TO:<x@[192.0.2.1]>", "250 ")
	c.expect("QUIT", "221")

	// The MX service of the same directory still refuses to relay.
	mx := start(t, nil)
	m := greet(t, mx.addr)
	m.expect("MAIL FROM:<alice@example.org>", "250 ")
	m.expect("RCPT TO:<x@foreign.example>", "554 5.7.1 <x@foreign.example>: Relay access denied")
	m.expect("AUTH PLAIN "+b64("\x00alice@example.org\x00"+testutil.Secret), "5")
}

func TestSubmissionHeaders(t *testing.T) {
	const rest = "From: alice@example.org\r\nSubject: hi\r\n\r\nDate: in the body\r\n"
	const date = "Date: Mon, 2 Jan 2006 15:04:05 +0000\r\n"
	const msgID = "Message-ID: <given@client.example>\r\n"
	for _, tc := range []struct {
		name      string
		mode      Mode
		body      string
		wantDate  bool
		wantMsgID bool
	}{
		{"both missing", Submission, rest, true, true},
		{"both present", Submission, date + msgID + rest, false, false},
		{"odd case present", Submission, "DATE: x\r\nmessage-id: <y@z>\r\n" + rest, false, false},
		{"date missing", Submission, msgID + rest, true, false},
		{"message-id missing", Submissions, date + rest, false, true},
		{"folded lookalike", Submission, "X-Note: a\r\n Date: b\r\n" + msgID + rest, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := startSubmission(t, tc.mode, nil)
			c, _ := h.greetTLS(t, tc.mode)
			c.expect(plain("alice@example.org", testutil.Secret), "235 ")
			c.send("alice@example.org", []string{"bob@example.org"}, tc.body)
			m := h.del.delivered()[0]
			if m.body != tc.body {
				t.Errorf("body changed: %q", m.body)
			}
			date := regexp.MustCompile(`\r\nDate: \w{3}, \d{1,2} \w{3} \d{4} \d\d:\d\d:\d\d [+-]\d{4} \(\S+\)\r\n`)
			if got := date.MatchString(m.trace); got != tc.wantDate {
				t.Errorf("Date added: %v, want %v: %q", got, tc.wantDate, m.trace)
			}
			id := regexp.MustCompile(`\r\nMessage-ID: <` + m.env.ID + `\.\d{14}@mx\.test\.example>\r\n`)
			if got := id.MatchString(m.trace); got != tc.wantMsgID {
				t.Errorf("Message-ID added: %v, want %v: %q", got, tc.wantMsgID, m.trace)
			}
			if !strings.HasPrefix(m.trace, "Received: ") {
				t.Errorf("trace does not start with Received: %q", m.trace)
			}
		})
	}
}

func TestMXAddsNoHeaders(t *testing.T) {
	h := start(t, nil)
	c := greet(t, h.addr)
	c.send("s@sender.example", []string{"alice@example.org"}, simpleBody)
	if tr := h.del.delivered()[0].trace; strings.Contains(tr, "Message-ID") || strings.Contains(tr, "Date:") {
		t.Errorf("trace %q", tr)
	}
}

func TestHeaderScan(t *testing.T) {
	for _, tc := range []struct {
		name        string
		msg         string
		n           int
		date, msgID bool
	}{
		{"received", "Received: a\r\nX: y\r\n received: folded\r\nRECEIVED:b\r\nReceived : c\r\n\r\nReceived: body\r\n", 2, false, false},
		{"date and id", "date: x\r\nMessage-Id: <a@b>\r\n\r\n", 0, true, true},
		{"long names", "Message-IDs: x\r\nDated: y\r\nX-Message-ID: z\r\n\r\n", 0, false, false},
		{"body only", "\r\nDate: x\r\nMessage-ID: y\r\n", 0, false, false},
		{"no colon line", "Date\r\nMessage-ID: y\r\n\r\n", 0, false, true},
		{"bare LF", "Date: x\nReceived: y\n\nMessage-ID: z\n", 1, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for size := 1; size <= len(tc.msg); size++ {
				var h headerScan
				for p := []byte(tc.msg); len(p) > 0 && !h.done; {
					n := min(size, len(p))
					h.feed(p[:n])
					p = p[n:]
				}
				if h.n != tc.n || h.date != tc.date || h.msgID != tc.msgID {
					t.Fatalf("chunk %d: %+v", size, h)
				}
			}
		})
	}
}

// TestPythonSmtplib submits with Python's smtplib: STARTTLS, AUTH and
// sendmail, as a mail client would.
func TestPythonSmtplib(t *testing.T) {
	py, err := exec.LookPath("/usr/bin/python3")
	if err != nil {
		t.Skip("no /usr/bin/python3")
	}
	h := startSubmission(t, Submission, nil)
	host, port, _ := strings.Cut(h.addr, ":")
	script := `
import smtplib, ssl, sys
host, port, ca, pw = sys.argv[1:5]
ctx = ssl.create_default_context(cafile=ca)
with smtplib.SMTP(host, int(port), timeout=10) as s:
    s.ehlo("client.example")
    assert not s.has_extn("auth"), "AUTH before STARTTLS"
    s.starttls(context=ctx)
    s.ehlo("client.example")
    s.login("alice@example.org", pw)
    s.sendmail("alice@example.org", ["bob@example.org", "carol@foreign.example"],
        "From: alice@example.org\r\nTo: bob@example.org\r\nSubject: py\r\n\r\nhello from python\r\n")
try:
    with smtplib.SMTP(host, int(port), timeout=10) as s:
        s.starttls(context=ctx)
        s.login("alice@example.org", "wrong")
    sys.exit("wrong password accepted")
except smtplib.SMTPAuthenticationError as e:
    print("refused", e.smtp_code)
`
	cmd := exec.Command(py, "-c", script, host, port, h.caFile, testutil.Secret)
	cmd.Env = append(os.Environ(), "PYTHONDONTWRITEBYTECODE=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("python: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "refused 535") {
		t.Errorf("python output %q", out)
	}
	m := h.del.delivered()[0]
	if m.env.AuthUser != "alice@example.org" || len(m.rcpts) != 2 || m.rcpts[1].Dest.Kind != directory.Remote ||
		!strings.Contains(m.body, "hello from python") || !strings.Contains(m.trace, "Message-ID: <") {
		t.Errorf("delivered %+v", m)
	}
	h.waitLog(t, "sasl_method=PLAIN, sasl_username=alice@example.org")
}

func TestHeaderScanMessageID(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"Subject: x\r\nMessage-ID: <a@b>\r\n\r\nbody", "<a@b>"},
		{"message-id:<c@d>  \r\nMessage-ID: <second@x>\r\n\r\n", "<c@d>"},
		{"Subject: x\r\n\r\nMessage-ID: <in@body>\r\n", ""},
		{"Message-ID: <a\x01b@c>\r\n\r\n", "<a?b@c>"},
		{"Message-ID:\r\n <folded@x>\r\n\r\n", ""},
	} {
		for split := 1; split <= len(tc.in); split++ {
			var h headerScan
			for p := tc.in; len(p) > 0; {
				n := min(split, len(p))
				if !h.done {
					h.feed([]byte(p[:n]))
				}
				p = p[n:]
			}
			if got := h.messageID(); got != tc.want {
				t.Fatalf("%q fed %d at a time: got %q, want %q", tc.in, split, got, tc.want)
			}
		}
	}
}
