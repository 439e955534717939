package dkim

import (
	"slices"
	"strings"
	"testing"

	"mailwarden/internal/mime"
)

func TestSignedFields(t *testing.T) {
	head := "From: a@example.com\r\nTo: b@example.net\r\nTo: c@example.net\r\nSubject: s\r\n" +
		"Received: x\r\nX-Mailer: y\r\nmessage-id: <1@x>\r\n\r\n"
	h, _ := mime.ParseHeader([]byte(head))
	for _, c := range []struct {
		name           string
		sign, oversign []string
		want           []string
	}{
		{"defaults", nil, DefaultOversignHeaders,
			[]string{"From", "Subject", "To", "To", "Message-ID", "From", "To", "Cc", "Subject", "Date", "Reply-To"}},
		{"no oversign", nil, nil, []string{"From", "Subject", "To", "To", "Message-ID"}},
		{"own list without From", []string{"Subject", "X-Mailer", "X-Absent"}, nil, []string{"From", "Subject", "X-Mailer"}},
		{"duplicates", []string{"subject", "Subject"}, []string{"from", "From"}, []string{"From", "subject", "from"}},
	} {
		got := SignedFields(&h, c.sign, c.oversign)
		if !slices.Equal(got, c.want) {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
	empty, _ := mime.ParseHeader([]byte("Subject: x\r\n\r\n"))
	if got := SignedFields(&empty, nil, nil); !slices.Equal(got, []string{"Subject", "From"}) {
		t.Errorf("without From: %v", got)
	}
}

func TestSignFields(t *testing.T) {
	rsaKey, edKey := keys(t)
	fields := sign(t, testMessage, SignConfig{Oversign: DefaultOversignHeaders},
		SigningKey{Domain: "example.com", Selector: "r1", Signer: rsaKey, Identity: "alice@example.com"},
		SigningKey{Domain: "example.com", Selector: "e1", Signer: edKey})
	for i, f := range fields {
		if !strings.HasPrefix(f, "DKIM-Signature: ") || strings.HasSuffix(f, "\n") {
			t.Errorf("field %d: %q", i, f)
		}
		for _, line := range strings.Split(f, "\r\n")[1:] {
			if line == "" || line[0] != ' ' && line[0] != '\t' || len(line) > 998 {
				t.Errorf("field %d: bad continuation line %q", i, line)
			}
		}
		if strings.Contains(strings.ReplaceAll(f, "\r\n", ""), "\n") {
			t.Errorf("field %d: a bare LF", i)
		}
		tags, err := ParseTags(strings.TrimPrefix(f, "DKIM-Signature:"))
		if err != nil {
			t.Fatal(err)
		}
		if tags["c"] != "relaxed/relaxed" || tags["d"] != "example.com" || !strings.HasPrefix(tags["h"], "From:") || !strings.Contains(tags["h"], "Date:Reply-To") {
			t.Errorf("field %d tags: %v", i, tags)
		}
		if strings.Contains(strings.ToLower(tags["h"]), "received") {
			t.Errorf("field %d signs Received: %s", i, tags["h"])
		}
	}
	if a := fieldTag(fields[0], "a"); a != "rsa-sha256" {
		t.Errorf("first a=%s", a)
	}
	if a := fieldTag(fields[1], "a"); a != "ed25519-sha256" {
		t.Errorf("second a=%s", a)
	}
	if i := fieldTag(fields[0], "i"); i != "alice@example.com" {
		t.Errorf("i=%s", i)
	}
	if _, err := Sign(strings.NewReader(testMessage), []SigningKey{{Domain: "example.com", Selector: "r1", Signer: rsaKey}},
		SignConfig{Canonicalization: "loose"}); err == nil {
		t.Error("a bad canonicalization was accepted")
	}
	big := "X-Big: " + strings.Repeat("a", 1<<20) + "\r\n" + testMessage
	if _, err := Sign(strings.NewReader(big), []SigningKey{{Domain: "example.com", Selector: "r1", Signer: rsaKey}}, SignConfig{}); err != ErrHeaderTooLarge {
		t.Errorf("a header over 1 MiB: %v", err)
	}
	if fs, err := Sign(strings.NewReader(testMessage), nil, SignConfig{}); err != nil || fs != nil {
		t.Errorf("no keys: %v %v", fs, err)
	}
}

func fieldTag(field, name string) string {
	tags, _ := ParseTags(field[strings.IndexByte(field, ':')+1:])
	return tags[name]
}

func TestParseCanonicalization(t *testing.T) {
	for _, c := range []struct{ in, h, b string }{
		{"", "relaxed", "relaxed"}, {"relaxed/simple", "relaxed", "simple"}, {"Simple", "simple", "simple"}, {"relaxed", "relaxed", "simple"},
		{"nofws", "", ""}, {"relaxed/", "", ""},
	} {
		h, b, err := ParseCanonicalization(c.in)
		if c.h == "" {
			if err == nil {
				t.Errorf("%q accepted", c.in)
			}
			continue
		}
		if err != nil || string(h) != c.h || string(b) != c.b {
			t.Errorf("%q: %s/%s %v", c.in, h, b, err)
		}
	}
}
