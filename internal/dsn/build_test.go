package dsn

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/emersion/go-message"
	_ "github.com/emersion/go-message/charset"
)

// goParse parses out with go-message and returns the top-level entity's
// media type and params and each part's media type and decoded body.
func goParse(t testing.TB, out []byte) (string, map[string]string, []string, [][]byte) {
	t.Helper()
	e, err := message.Read(bytes.NewReader(out))
	if err != nil {
		t.Fatalf("go-message: %v", err)
	}
	mt, params, err := e.Header.ContentType()
	if err != nil {
		t.Fatalf("go-message content type: %v", err)
	}
	mr := e.MultipartReader()
	if mr == nil {
		t.Fatalf("go-message: not multipart: %s", mt)
	}
	var types []string
	var bodies [][]byte
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("go-message part: %v", err)
		}
		pt, _, err := p.Header.ContentType()
		if err != nil {
			t.Fatalf("go-message part content type: %v", err)
		}
		b, err := io.ReadAll(p.Body)
		if err != nil {
			t.Fatalf("go-message part body: %v", err)
		}
		types = append(types, pt)
		bodies = append(bodies, b)
	}
	return mt, params, types, bodies
}

func TestBuildGoMessage(t *testing.T) {
	for _, tc := range buildCases {
		t.Run(tc.name, func(t *testing.T) {
			out, err := tc.report().Build()
			if err != nil {
				t.Fatal(err)
			}
			checkWellFormed(t, out, tc.global)
			mt, params, types, bodies := goParse(t, out)
			wantRT := "delivery-status"
			if tc.global {
				wantRT = "global-delivery-status"
			}
			if mt != "multipart/report" || params["report-type"] != wantRT {
				t.Fatalf("content type %s %v", mt, params)
			}
			if strings.Join(types, ",") != strings.Join(tc.wantParts, ",") {
				t.Fatalf("parts %v, want %v", types, tc.wantParts)
			}
			checkBlocks(t, parseBlocks(string(bodies[1])), tc.wantBlocks)
			text := strings.Join(strings.Fields(string(bodies[0])), " ")
			for _, w := range tc.wantText {
				if !strings.Contains(text, w) {
					t.Errorf("text part lacks %q:\n%s", w, bodies[0])
				}
			}
			if tc.wantSubj != "" {
				sub, err := message.Read(bytes.NewReader(bodies[2]))
				if err != nil && !message.IsUnknownCharset(err) {
					t.Fatalf("returned part: %v", err)
				}
				if got := sub.Header.Get("Subject"); got != tc.wantSubj {
					t.Errorf("returned Subject %q, want %q", got, tc.wantSubj)
				}
			}
		})
	}
}

func TestBuildHeader(t *testing.T) {
	out, err := baseReport(Failure, bob).Build()
	if err != nil {
		t.Fatal(err)
	}
	e, err := message.Read(bytes.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ field, want string }{
		{"From", "MAILER-DAEMON@mx.example.com (Mail Delivery System)"},
		{"To", "alice@example.com"},
		{"Subject", "Undelivered Mail Returned to Sender"},
		{"Date", "Wed, 04 Mar 2026 05:06:07 +0000"},
		{"Message-Id", "<dsn1@mx.example.com>"},
		{"Auto-Submitted", "auto-replied"},
		{"Mime-Version", "1.0"},
	} {
		if got := e.Header.Get(tc.field); got != tc.want {
			t.Errorf("%s = %q, want %q", tc.field, got, tc.want)
		}
	}
	_, _, _, bodies := goParse(t, out)
	pm := parseBlocks(string(bodies[1]))[0]
	for k, v := range map[string]string{
		"Original-Envelope-Id":  "env-42",
		"Reporting-MTA":         "dns; mx.example.com",
		"X-Mailwarden-Queue-ID": "4ABC123",
		"X-Mailwarden-Sender":   "rfc822; alice@example.com",
		"Arrival-Date":          "Tue, 03 Mar 2026 22:00:00 +0000",
	} {
		if pm[k] != v {
			t.Errorf("%s = %q, want %q", k, pm[k], v)
		}
	}
}

func TestBuildGeneratedMessageID(t *testing.T) {
	r := baseReport(Success, Recipient{Final: "bob@example.org"})
	r.MessageID, r.Date = "", testDate
	a, err := r.Build()
	if err != nil {
		t.Fatal(err)
	}
	r.Original = nil
	b, err := r.Build()
	if err != nil {
		t.Fatal(err)
	}
	ea, _ := message.Read(bytes.NewReader(a))
	eb, _ := message.Read(bytes.NewReader(b))
	ida, idb := ea.Header.Get("Message-Id"), eb.Header.Get("Message-Id")
	if !strings.HasSuffix(ida, "@mx.example.com>") || ida == idb {
		t.Errorf("message ids %q, %q", ida, idb)
	}
}

func TestBuildErrors(t *testing.T) {
	readErr := errors.New("disk on fire")
	for _, tc := range []struct {
		name   string
		modify func(*Report)
		want   error
	}{
		{"null sender", func(r *Report) { r.To = "<>" }, ErrNullSender},
		{"empty sender", func(r *Report) { r.To = " " }, ErrNullSender},
		{"no recipients", func(r *Report) { r.Recipients = nil }, ErrNoRecipients},
		{"no host", func(r *Report) { r.ReportingMTA = "\r\n" }, ErrNoHost},
		{"bad kind", func(r *Report) { r.Kind = 9 }, nil},
		{"bad action", func(r *Report) { r.Recipients[0].Action = "bounced" }, nil},
		{"empty final", func(r *Report) { r.Recipients[0].Final = "" }, nil},
		{"read error", func(r *Report) { r.Original = iotest.ErrReader(readErr) }, readErr},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := baseReport(Failure, bob)
			tc.modify(r)
			out, err := r.Build()
			if err == nil {
				t.Fatalf("no error, output:\n%s", out)
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("error %v, want %v", err, tc.want)
			}
		})
	}
}

func TestKindString(t *testing.T) {
	for k, want := range map[Kind]string{Failure: "failure", Delay: "delay", Success: "success", Relayed: "relayed", 7: "Kind(7)"} {
		if got := k.String(); got != want {
			t.Errorf("%d: %q, want %q", int(k), got, want)
		}
	}
}
