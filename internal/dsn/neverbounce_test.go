package dsn

import (
	"net/textproto"
	"testing"
)

func TestNeverBounce(t *testing.T) {
	plain := "From: a@b\r\nSubject: hi\r\nContent-Type: text/plain\r\n\r\nbody\r\n"
	for _, tc := range []struct {
		name, from, header string
		want               bool
	}{
		{"normal", "alice@example.com", plain, false},
		{"null sender", "", plain, true},
		{"null sender brackets", "<>", plain, true},
		{"mailer-daemon", "MAILER-DAEMON@mx.example.com", plain, true},
		{"auto-replied", "a@b", "Auto-Submitted: auto-replied\r\n\r\n", true},
		{"auto-generated with comment", "a@b", "auto-submitted: auto-generated (vacation)\r\n\r\n", true},
		{"auto-submitted no", "a@b", "Auto-Submitted: no\r\n\r\n", false},
		{"auto-submitted no comment", "a@b", "Auto-Submitted: (human) No\r\n\r\n", false},
		{"dsn", "a@b", "Content-Type: multipart/report; report-type=delivery-status;\r\n\tboundary=x\r\n\r\n", true},
		{"global dsn folded", "a@b", "Content-Type: multipart/report;\n report-type=\"global-delivery-status\"; boundary=x\n\n", true},
		{"mdn is bounced", "a@b", "Content-Type: multipart/report; report-type=disposition-notification; boundary=x\r\n\r\n", false},
		{"bare delivery-status", "a@b", "Content-Type: message/delivery-status\r\n\r\n", true},
		{"malformed ct", "a@b", "Content-Type: multipart/report; report-type=delivery-status; ;;=\r\n\r\n", true},
		{"field in body ignored", "a@b", "Subject: x\r\n\r\nAuto-Submitted: auto-replied\r\n", false},
		{"empty header", "a@b", "", false},
		{"garbage", "a@b", "\x00\xff:\r\n: x\r\n continuation\r\n", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := NeverBounce(tc.from, []byte(tc.header)); got != tc.want {
				t.Errorf("NeverBounce = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestNeverBounceHeader(t *testing.T) {
	for _, tc := range []struct {
		name string
		from string
		h    textproto.MIMEHeader
		want bool
	}{
		{"normal", "a@b", textproto.MIMEHeader{"Subject": {"hi"}}, false},
		{"null", "<>", textproto.MIMEHeader{}, true},
		{"auto", "a@b", textproto.MIMEHeader{"Auto-Submitted": {"auto-replied"}}, true},
		{"lower-case key", "a@b", textproto.MIMEHeader{"content-type": {"multipart/report; report-type=delivery-status"}}, true},
	} {
		if got := NeverBounceHeader(tc.from, tc.h); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

// A notification built by this package must itself never be bounced.
func TestBuiltReportNeverBounces(t *testing.T) {
	out, err := baseReport(Failure, bob).Build()
	if err != nil {
		t.Fatal(err)
	}
	if !NeverBounce("someone@example.com", out) {
		t.Error("a built DSN is not recognised as one")
	}
}
