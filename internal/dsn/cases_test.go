package dsn

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

var (
	testDate    = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	testArrival = time.Date(2026, 3, 3, 22, 0, 0, 0, time.UTC)
)

func origMsg(subject, body string) string {
	return "Return-Path: <alice@example.com>\r\n" +
		"From: Alice <alice@example.com>\r\n" +
		"To: bob@example.org\r\n" +
		"Subject: " + subject + "\r\n" +
		"Message-ID: <orig1@example.com>\r\n" +
		"\r\n" + body
}

// buildCase is a report and what a parser must find in it.
type buildCase struct {
	name       string
	report     func() *Report
	global     bool                // RFC 6533 types expected
	wantParts  []string            // content types of the parts
	wantBlocks []map[string]string // per-recipient fields, unfolded
	wantSubj   string              // Subject of the returned message ("" if none)
	wantText   []string            // substrings of the text part
}

func baseReport(k Kind, rcpts ...Recipient) *Report {
	return &Report{
		Kind:         k,
		ReportingMTA: "mx.example.com",
		QueueID:      "4ABC123",
		EnvID:        "env-42",
		ArrivalDate:  testArrival,
		To:           "alice@example.com",
		Recipients:   rcpts,
		Original:     strings.NewReader(origMsg("Hello there", "Hi Bob,\r\n\r\nsee you.\r\n")),
		Date:         testDate,
		MessageID:    "<dsn1@mx.example.com>",
	}
}

var bob = Recipient{
	Final:       "bob@example.org",
	Original:    "rfc822;bob+2Btag@example.org",
	Status:      "5.1.1",
	RemoteMTA:   "dns; mx.example.org",
	Diagnostic:  "smtp; 550 5.1.1 <bob@example.org>: Recipient address rejected: User unknown",
	LastAttempt: testDate,
}

var longDiag = "smtp; 550 " + strings.Repeat("this mailbox is full and over quota ", 80)

var buildCases = []buildCase{
	{
		name:      "failure full original",
		report:    func() *Report { return baseReport(Failure, bob, Recipient{Final: "carol@example.org"}) },
		wantParts: []string{"text/plain", "message/delivery-status", "message/rfc822"},
		wantBlocks: []map[string]string{
			{"Original-Recipient": "rfc822; bob+tag@example.org", "Final-Recipient": "rfc822; bob@example.org",
				"Action": "failed", "Status": "5.1.1", "Remote-MTA": "dns; mx.example.org",
				"Diagnostic-Code": bob.Diagnostic},
			{"Final-Recipient": "rfc822; carol@example.org", "Action": "failed", "Status": "5.0.0"},
		},
		wantSubj: "Hello there",
		wantText: []string{"could not", "<bob@example.org>: 550 5.1.1", "<carol@example.org>: delivery failed"},
	},
	{
		name: "failure RET=HDRS",
		report: func() *Report {
			r := baseReport(Failure, bob)
			r.ReturnHeadersOnly = true
			return r
		},
		wantParts:  []string{"text/plain", "message/delivery-status", "text/rfc822-headers"},
		wantBlocks: []map[string]string{{"Action": "failed", "Status": "5.1.1"}},
		wantSubj:   "Hello there",
	},
	{
		name: "failure over MaxOriginal",
		report: func() *Report {
			r := baseReport(Failure, bob)
			r.Original = strings.NewReader(origMsg("Big one", strings.Repeat("0123456789\r\n", 1000)))
			r.MaxOriginal = 2000
			return r
		},
		wantParts:  []string{"text/plain", "message/delivery-status", "text/rfc822-headers"},
		wantBlocks: []map[string]string{{"Action": "failed"}},
		wantSubj:   "Big one",
	},
	{
		name: "failure original with overlong line",
		report: func() *Report {
			r := baseReport(Failure, bob)
			r.Original = strings.NewReader(origMsg("Long line", strings.Repeat("x", 3000)+"\n"))
			return r
		},
		wantParts: []string{"text/plain", "message/delivery-status", "text/rfc822-headers"},
		wantSubj:  "Long line",
	},
	{
		name: "failure bare LF original and long diagnostics",
		report: func() *Report {
			r := baseReport(Failure,
				Recipient{Final: "dave@example.org", Status: "5.2.2", Diagnostic: longDiag},
				Recipient{Final: "erin@example.org", Status: "bogus", Diagnostic: "local: " + strings.Repeat("y", 2500)})
			r.Original = strings.NewReader("From: a@b\nSubject: LF only\n\nbody\n")
			return r
		},
		wantParts: []string{"text/plain", "message/delivery-status", "message/rfc822"},
		wantBlocks: []map[string]string{
			{"Status": "5.2.2", "Diagnostic-Code": strings.TrimSpace(longDiag)},
			{"Status": "5.0.0"},
		},
		wantSubj: "LF only",
	},
	{
		name: "failure original with overlong header line",
		report: func() *Report {
			r := baseReport(Failure, bob)
			r.Original = strings.NewReader("X-Long: " + strings.Repeat("z", 1500) + "\r\n" + origMsg("QP headers", "body\r\n"))
			return r
		},
		wantParts: []string{"text/plain", "message/delivery-status", "text/rfc822-headers"},
		wantSubj:  "QP headers",
	},
	{
		name: "failure 8-bit original",
		report: func() *Report {
			r := baseReport(Failure, bob)
			r.Original = strings.NewReader(origMsg("Eight bit", "Gr\xc3\xbc\xc3\x9fe, caf\xe9\r\n"))
			return r
		},
		wantParts: []string{"text/plain", "message/delivery-status", "message/rfc822"},
		wantSubj:  "Eight bit",
	},
	{
		name: "delay",
		report: func() *Report {
			r := baseReport(Delay, Recipient{Final: "bob@example.org", Status: "4.4.1",
				Diagnostic:     "connect to mx.example.org[192.0.2.1]:25: Connection timed out",
				WillRetryUntil: testDate.Add(96 * time.Hour)})
			return r
		},
		wantParts: []string{"text/plain", "message/delivery-status", "text/rfc822-headers"},
		wantBlocks: []map[string]string{{"Action": "delayed", "Status": "4.4.1",
			"Diagnostic-Code":  "X-Mailwarden; connect to mx.example.org[192.0.2.1]:25: Connection timed out",
			"Will-Retry-Until": "Sun, 08 Mar 2026 05:06:07 +0000"}},
		wantSubj: "Hello there",
		wantText: []string{"WARNING ONLY", "will be retried until"},
	},
	{
		name:       "success",
		report:     func() *Report { return baseReport(Success, Recipient{Final: "bob@example.org"}) },
		wantParts:  []string{"text/plain", "message/delivery-status", "text/rfc822-headers"},
		wantBlocks: []map[string]string{{"Action": "delivered", "Status": "2.0.0", "Final-Recipient": "rfc822; bob@example.org"}},
		wantSubj:   "Hello there",
		wantText:   []string{"successfully delivered", "delivered to mailbox"},
	},
	{
		name: "relayed without original",
		report: func() *Report {
			r := baseReport(Relayed, Recipient{Final: "bob@example.org", Status: "2.0.0",
				RemoteMTA: "mx.example.org", Diagnostic: "smtp; 250 2.0.0 Ok: queued as 123"})
			r.Original = nil
			return r
		},
		wantParts: []string{"text/plain", "message/delivery-status"},
		wantBlocks: []map[string]string{{"Action": "relayed", "Status": "2.0.0",
			"Remote-MTA": "dns; mx.example.org", "Diagnostic-Code": "smtp; 250 2.0.0 Ok: queued as 123"}},
	},
	{
		name: "non-ASCII diagnostic in ASCII report",
		report: func() *Report {
			return baseReport(Failure, Recipient{Final: "bob@example.org", Status: "5.7.1",
				Diagnostic: "smtp; 550 5.7.1 Zugriff verweigert \u2013 Nachricht abgelehnt\r\nsecond line"})
		},
		wantParts: []string{"text/plain", "message/delivery-status", "message/rfc822"},
		wantBlocks: []map[string]string{{"Status": "5.7.1",
			"Diagnostic-Code": "smtp; 550 5.7.1 Zugriff verweigert ? Nachricht abgelehnt second line"}},
		wantSubj: "Hello there",
	},
	{
		name: "SMTPUTF8",
		report: func() *Report {
			r := baseReport(Failure, Recipient{Final: "用户@例子.广告", Original: "utf-8;用户@例子.广告",
				Status: "5.1.1", Diagnostic: "smtp; 550 5.1.1 mailbox 用户 unknown"})
			r.To = "jöran@example.se"
			return r
		},
		global:    true,
		wantParts: []string{"text/plain", "message/global-delivery-status", "message/global"},
		wantBlocks: []map[string]string{{"Final-Recipient": "utf-8; 用户@例子.广告",
			"Original-Recipient": "utf-8; 用户@例子.广告", "Action": "failed",
			"Diagnostic-Code": "smtp; 550 5.1.1 mailbox 用户 unknown"}},
		wantSubj: "Hello there",
		wantText: []string{"<用户@例子.广告>"},
	},
}

// checkWellFormed checks the properties every notification must have.
func checkWellFormed(t testing.TB, out []byte, global bool) {
	t.Helper()
	if !bytes.HasSuffix(out, []byte("\r\n")) {
		t.Fatalf("output does not end in CRLF")
	}
	lines := bytes.Split(out[:len(out)-2], []byte("\r\n"))
	inHeader := true
	var boundary string
	for i, l := range lines {
		if len(l) > 998 {
			t.Fatalf("line %d is %d octets long", i+1, len(l))
		}
		if bytes.ContainsAny(l, "\r\n") {
			t.Fatalf("line %d has a bare CR or LF: %q", i+1, l)
		}
		if len(l) == 0 {
			inHeader = false
		}
		if inHeader {
			if !global && !isASCII(string(l)) {
				t.Fatalf("raw 8-bit header line %q", l)
			}
			if _, v, ok := strings.Cut(string(l), "boundary=\""); ok {
				boundary = strings.TrimSuffix(v, "\"")
			}
		}
	}
	if boundary == "" {
		t.Fatalf("no boundary in header")
	}
	// The boundary appears only in delimiter lines.
	n := bytes.Count(out, []byte(boundary))
	delims := 0
	for _, l := range lines {
		if string(l) == "--"+boundary || string(l) == "--"+boundary+"--" {
			delims++
		}
	}
	if n != delims+1 { // +1 for the Content-Type parameter
		t.Fatalf("boundary occurs %d times, %d delimiter lines", n, delims)
	}
}

// parseBlocks splits a delivery-status body into unfolded field blocks.
func parseBlocks(body string) []map[string]string {
	var blocks []map[string]string
	body = strings.ReplaceAll(body, "\r\n", "\n")
	for _, chunk := range strings.Split(strings.TrimSpace(body), "\n\n") {
		m := map[string]string{}
		var last string
		for _, l := range strings.Split(chunk, "\n") {
			if strings.HasPrefix(l, " ") || strings.HasPrefix(l, "\t") {
				m[last] += " " + strings.TrimSpace(l)
				continue
			}
			k, v, _ := strings.Cut(l, ":")
			last = k
			m[k] = strings.TrimSpace(v)
		}
		blocks = append(blocks, m)
	}
	return blocks
}

// checkBlocks compares wanted per-recipient fields with got (per-message
// block first).
func checkBlocks(t *testing.T, got []map[string]string, want []map[string]string) {
	t.Helper()
	if len(want) == 0 {
		return
	}
	if len(got) != len(want)+1 {
		t.Fatalf("got %d status blocks, want %d per-recipient + 1: %v", len(got), len(want), got)
	}
	if got[0]["Reporting-MTA"] != "dns; mx.example.com" {
		t.Errorf("Reporting-MTA = %q", got[0]["Reporting-MTA"])
	}
	for i, w := range want {
		for k, v := range w {
			if g := got[i+1][k]; g != v {
				t.Errorf("recipient %d %s = %q, want %q", i, k, g, v)
			}
		}
	}
}
