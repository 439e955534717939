package imapmsg

import (
	"testing"
	"time"
)

func TestSearch(t *testing.T) {
	const (
		header = iota
		has
		body
		text
	)
	tests := []struct {
		file          string
		kind          int
		field, substr string
		want          bool
	}{
		{"alternative.eml", header, "subject", "LUNCH", true},
		{"alternative.eml", header, "Subject", "lunch tomorrow", true}, // unfolded
		{"alternative.eml", header, "from", "alice@example", true},
		{"alternative.eml", header, "to", "alice", false},
		{"alternative.eml", header, "subject", "", true},
		{"alternative.eml", header, "X-Missing", "", false},
		{"alternative.eml", header, "", "lunch", false},
		{"alternative.eml", header, "received", "4F2A1", true}, // any occurrence
		{"encoded.eml", header, "subject", "échantillon", true},
		{"encoded.eml", header, "subject", "ÄRGER", true},
		{"encoded.eml", header, "subject", "=?UTF-8?", false},
		{"encoded.eml", header, "from", "jürgen müller", true},
		{"encoded.eml", header, "to", "日本", true},
		{"alternative.eml", has, "delivered-to", "", true},
		{"alternative.eml", has, "Cc", "", false},
		{"alternative.eml", has, "", "", false},
		{"alternative.eml", body, "", "CAFÉ TOMORROW", true}, // QP, UTF-8
		{"alternative.eml", body, "", "caf&eacute;", true},   // text/html
		{"alternative.eml", body, "", "lunch", true},
		{"alternative.eml", body, "", "Alice", false}, // header only
		{"alternative.eml", body, "", "new menu", true},
		{"encoded.eml", body, "", "grüße aus münchen", true}, // ISO-8859-1, QP
		{"mixed.eml", body, "", "find the REPORT", true},
		{"mixed.eml", body, "", "hello world", false}, // application/pdf
		{"nested.eml", body, "", "part 4.2.2.2", true},
		{"nested.eml", body, "", "part 4.1", false}, // image/gif
		{"nested.eml", body, "", "inner 3", false},  // header of an attached message
		{"broken.eml", body, "", "hi", true},        // base64 text after garbage
		{"missing.eml", body, "", "", true},
		{"alternative.eml", text, "", "delivered-to: bob", true},
		{"alternative.eml", text, "", "Lunch tomorrow", true},
		{"alternative.eml", text, "", "try the new", true},
		{"alternative.eml", text, "", "nowhere", false},
		{"encoded.eml", text, "", "müller", true},
		// Addresses match in their parsed form too, comments dropped.
		{"comments", header, "from", "user@domain.org", true},
		{"comments", header, "From", "Jane Doe", true},
		{"comments", header, "from", "user@example", false},
		{"comments", header, "cc", "ann@b.example", true},
		{"comments", header, "subject", "user@domain.org", false}, // not an address field
	}
	for _, tc := range tests {
		var m *Message
		if tc.file == "comments" {
			m = Parse([]byte("From: Jane Doe <user (comment)@ (comment) domain.org>\r\n" +
				"Cc: team: ann (x) @ b.example;\r\nSubject: user (c) @domain.org\r\n\r\nbody\r\n"))
		} else {
			m = Parse(load(t, tc.file))
		}
		var got bool
		switch tc.kind {
		case header:
			got = m.HeaderContains(tc.field, tc.substr)
		case has:
			got = m.HasHeader(tc.field)
		case body:
			got = m.BodyContains(tc.substr)
		case text:
			got = m.TextContains(tc.substr)
		}
		if got != tc.want {
			t.Errorf("%s kind %d (%q, %q) = %v", tc.file, tc.kind, tc.field, tc.substr, got)
		}
	}
}

func TestDate(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Wed, 17 Jul 1996 02:23:25 -0700 (PDT)", "1996-07-17T02:23:25-07:00"},
		{"Tue, 2 Jan 2024 11:00:00 +0100", "2024-01-02T11:00:00+01:00"},
		{"2 Jan 2024 11:00 +0100", "2024-01-02T11:00:00+01:00"},
		{"Sat, 6 Jan 2024 00:00:00 GMT", "2024-01-06T00:00:00Z"},
		{"Mon, 1 Jan 2024 12:00:00 EST", "2024-01-01T12:00:00-05:00"},
		{"Mon, 1 Jan 2024 12:00:00 PDT", "2024-01-01T12:00:00-07:00"},
		{"Mon,1 Jan 2024 12:00:00 Z", "2024-01-01T12:00:00Z"},
		{"1 Jan 99 12:00:00 +0000", "1999-01-01T12:00:00Z"},
		{"1 Jan 05 12:00:00 +0000", "2005-01-01T12:00:00Z"},
		{"1 Jan 105 12:00:00 +0000", "2005-01-01T12:00:00Z"},
		{"Mon Jan  2 15:04:05 2006", "2006-01-02T15:04:05Z"}, // asctime
		{"Fri, 13 December 2024 09:05:07 +0530", "2024-12-13T09:05:07+05:30"},
		{"Thu, 31 Dec 2015 23:59:60 +0000", "2015-12-31T23:59:59Z"}, // leap second
		{"Mon, 1 Jan 2024 12:00:00 A", "2024-01-01T12:00:00Z"},      // military zone
		{"", ""},
		{"garbage", ""},
		{"31 Feb 2024 10:00:00 +0000", ""},
		{"1 Foo 2024 10:00:00 +0000", ""},
		{"1 Jan 2024 25:00:00 +0000", ""},
		{"1 Jan 2024 10:00:00:00:00 +0000", ""},
		{"1 2 3 Jan", ""},
	}
	for _, tc := range tests {
		got := parseDate(tc.in)
		s := ""
		if !got.IsZero() {
			s = got.Format(time.RFC3339)
		}
		if s != tc.want {
			t.Errorf("parseDate(%q) = %q, want %q", tc.in, s, tc.want)
		}
	}
	if d := Parse(load(t, "mixed.eml")).Date(); !d.Equal(time.Date(2024, 1, 3, 14, 0, 0, 0, time.UTC)) {
		t.Errorf("Date() = %v", d)
	}
	if d := Parse(load(t, "missing.eml")).Date(); !d.IsZero() {
		t.Errorf("Date() of a message without Date = %v", d)
	}
}
