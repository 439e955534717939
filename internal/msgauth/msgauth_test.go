package msgauth

import (
	"context"
	"errors"
	"io"
	"net/netip"
	"strings"
	"testing"

	"mailwarden/internal/config"
	"mailwarden/internal/envelope"
)

func msg(raw string) *Message {
	return &Message{Env: &envelope.Envelope{ID: "Q1"}, Content: func() (io.Reader, error) { return strings.NewReader(raw), nil }}
}

func TestFromDomain(t *testing.T) {
	tests := []struct {
		raw  string
		want string
		err  error
	}{
		{"From: a@Example.COM\r\n\r\nbody", "example.com", nil},
		{"From: \"A, B\" <a@x.test>\r\nTo: b@y\r\n\r\n", "x.test", nil},
		{"From: <user (comment)@ (comment) domain.org>\r\n\r\n", "domain.org", nil},
		{"From: Name\r\n <a@folded.test>\r\n\r\n", "folded.test", nil},
		{"To: b@y\r\n\r\n", "", ErrNoFrom},
		{"From: a@x\r\nFrom: b@y\r\n\r\n", "", ErrMultipleFrom},
		{"From: a@x, b@y\r\n\r\n", "", ErrMultipleFrom},
		{"Subject: x\r\n\r\nFrom: a@body.test\r\n", "", ErrNoFrom},
	}
	for _, tt := range tests {
		got, err := msg(tt.raw).FromDomain()
		if got != tt.want || (tt.err != nil && !errors.Is(err, tt.err)) {
			t.Errorf("FromDomain(%q) = %q, %v; want %q, %v", tt.raw, got, err, tt.want, tt.err)
		}
	}
}

func TestFormatResults(t *testing.T) {
	rs := []envelope.AuthResult{
		{Method: "iprev", Result: "pass", Comment: "mail.x.test", Props: []envelope.AuthProp{{Type: "policy", Name: "iprev", Value: "192.0.2.1"}}},
		{Method: "spf", Result: "fail", Reason: `says "no"`, Props: []envelope.AuthProp{{Type: "smtp", Name: "mailfrom", Value: "user@x.test"}}},
		{Method: "dkim", Result: "pass", Props: []envelope.AuthProp{{Type: "header", Name: "d", Value: "x.test"}, {Type: "header", Name: "i", Value: "@x.test"}}},
	}
	got := FormatResults(rs)
	want := "\r\n\tiprev=pass (mail.x.test) policy.iprev=192.0.2.1;" +
		"\r\n\tspf=fail reason=\"says \\\"no\\\"\" smtp.mailfrom=user@x.test;" +
		"\r\n\tdkim=pass header.d=x.test header.i=@x.test"
	if got != want {
		t.Errorf("FormatResults =\n%q\nwant\n%q", got, want)
	}
	if got := FormatResults(nil); got != " none" {
		t.Errorf("no results: %q", got)
	}
	// Nothing a client controls can end the field or add a property.
	evil := FormatResults([]envelope.AuthResult{{Method: "dkim", Result: "pass", Comment: "x)\r\nX-Evil: 1",
		Props: []envelope.AuthProp{{Type: "header", Name: "d", Value: "a;b\r\nX-Evil: 2"}}}})
	if strings.Contains(evil, "\r\nX-Evil") || strings.Count(evil, ";") != 1 {
		t.Errorf("unsafe: %q", evil)
	}
}

func TestIPRev(t *testing.T) {
	ip := netip.MustParseAddr("192.0.2.9")
	tests := []struct {
		c    envelope.Client
		host string
		want string
	}{
		{envelope.Client{HostConfirmed: true}, "mx.x.test", "iprev=pass (mx.x.test) policy.iprev=192.0.2.9"},
		{envelope.Client{ReverseHost: "fake.test"}, "unknown", "iprev=fail (fake.test) policy.iprev=192.0.2.9"},
		{envelope.Client{}, "unknown", "iprev=fail policy.iprev=192.0.2.9"},
		{envelope.Client{ReverseTemp: true}, "unknown", "iprev=temperror policy.iprev=192.0.2.9"},
	}
	for _, tt := range tests {
		m := msg("From: a@b\r\n\r\n")
		m.Env.ClientIP, m.Env.ClientHost, m.Env.Client = ip, tt.host, tt.c
		if err := (iprev{}).Verify(context.Background(), m); err != nil {
			t.Fatal(err)
		}
		if got := strings.TrimSpace(FormatResults(m.Env.Auth)); got != tt.want {
			t.Errorf("%+v: %q, want %q", tt.c, got, tt.want)
		}
	}
}

// TestRunForged: a field with our authserv-id is removed, others stay,
// and ours is prepended; mail that is not inbound is left alone.
func TestRunForged(t *testing.T) {
	a, err := New(Deps{Config: &config.Config{Hostname: "mx.our.test"}})
	if err != nil {
		t.Fatal(err)
	}
	m := msg("Authentication-Results: MX.our.test; dkim=pass header.d=bank.test\r\n" +
		"Authentication-Results: other.test; spf=pass\r\nFrom: a@x.test\r\n\r\nhi\r\n")
	m.Inbound = true
	m.Env.ClientIP = netip.MustParseAddr("192.0.2.1")
	if err := a.Run(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	var ops []string
	for _, e := range m.Env.Header {
		ops = append(ops, string(rune('0'+e.Op))+" "+e.Name+" "+strings.SplitN(e.Field, "\r\n", 2)[0])
	}
	want := []string{
		string(rune('0'+envelope.RemoveAuthServID)) + " Authentication-Results mx.our.test",
		string(rune('0'+envelope.Prepend)) + "  Authentication-Results: mx.our.test;",
	}
	if strings.Join(ops, "|") != strings.Join(want, "|") {
		t.Errorf("edits %q, want %q", ops, want)
	}
	out := msg("From: a@x.test\r\n\r\n")
	out.Trusted = true
	if err := a.Run(context.Background(), out); err != nil || len(out.Env.Header) != 0 {
		t.Errorf("trusted mail: %v, edits %v", err, out.Env.Header)
	}
}

func TestAuthServIDFolding(t *testing.T) {
	// The header reader keeps fields that span lines and ignores the body.
	m := msg("Subject: x\r\nAuthentication-Results:\r\n (c) mx.our.test\r\n ; none\r\n\r\nAuthentication-Results: mx.our.test; body\r\n")
	forged, err := m.forgedAuthResults("mx.our.test")
	if err != nil || !forged {
		t.Errorf("forged = %v, %v", forged, err)
	}
}

// TestPrependOrder: what msgauth adds goes above the fields checks
// prepended, newest on top, each batch in its own top-first order.
func TestPrependOrder(t *testing.T) {
	m := msg("From: a@x.test\r\n\r\n")
	m.Env.Header = []envelope.HeaderEdit{
		{Op: envelope.Remove, Name: "X-Junk"},
		{Op: envelope.Prepend, Field: "X-Check: 1"},
		{Op: envelope.Prepend, Field: "Received-SPF: pass"},
	}
	m.prepend("Authentication-Results: mx; none")
	m.prepend("ARC-Seal: i=1", "ARC-Message-Signature: i=1", "ARC-Authentication-Results: i=1")
	var got []string
	for _, e := range m.Env.Header {
		if e.Op == envelope.Prepend {
			got = append(got, strings.SplitN(e.Field, ":", 2)[0])
		}
	}
	want := "ARC-Seal ARC-Message-Signature ARC-Authentication-Results Authentication-Results X-Check Received-SPF"
	if strings.Join(got, " ") != want {
		t.Errorf("prepend order %q, want %q", strings.Join(got, " "), want)
	}
}
