package dsn

import (
	"strings"
	"testing"
)

func TestClean(t *testing.T) {
	for _, tc := range []struct {
		in     string
		utf8ok bool
		want   string
	}{
		{"  a\r\n\tb  ", false, "a b"},
		{"x\x00y\x7fz", false, "x?y?z"},
		{"caf\u00e9", false, "caf?"},
		{"caf\u00e9", true, "caf\u00e9"},
		{"bad\xffutf8", true, "bad?utf8"},
		{"c1\u0085ctl", true, "c1?ctl"},
		{"", true, ""},
	} {
		if got := clean(tc.in, tc.utf8ok); got != tc.want {
			t.Errorf("clean(%q, %v) = %q, want %q", tc.in, tc.utf8ok, got, tc.want)
		}
	}
	if got := clean(strings.Repeat("a ", maxFieldValue), false); len(got) > maxFieldValue+8 {
		t.Errorf("clean did not cap: %d octets", len(got))
	}
}

func TestValidStatus(t *testing.T) {
	for s, want := range map[string]bool{
		"5.1.1": true, "4.4.7": true, "2.0.0": true, "5.7.26": true, "5.123.999": true,
		"3.1.1": false, "5.1": false, "5.01.1": false, "5.1.1000": false, "5.a.1": false,
		"": false, "5..1": false, " 5.1.1": false,
	} {
		if got := validStatus(s); got != want {
			t.Errorf("validStatus(%q) = %v", s, got)
		}
	}
}

func TestTypedFields(t *testing.T) {
	for _, tc := range []struct{ fn, in, want string }{
		{"with", "smtp; 550 no", "smtp; 550 no"},
		{"with", "smtp;550 no", "smtp; 550 no"},
		{"with", "550 no; really", "X; 550 no; really"},
		{"with", "mx.example.org", "X; mx.example.org"},
		{"addr", "<a@b>", "rfc822; a@b"},
		{"addr", "ü@b", "utf-8; ü@b"},
		{"orig", "rfc822;a+2Bb+3Dc@d", "rfc822; a+b=c@d"},
		{"orig", "RFC822;a+2bb@d", "RFC822; a+2bb@d"},
		{"orig", "a@b", "rfc822; a@b"},
		{"orig", "utf-8;a\\x{E9}@b", "utf-8; a\\x{E9}@b"},
	} {
		var got string
		switch tc.fn {
		case "with":
			got = withType(tc.in, "X")
		case "addr":
			got = addressField(tc.in)
		case "orig":
			got = originalField(tc.in)
		}
		if got != tc.want {
			t.Errorf("%s(%q) = %q, want %q", tc.fn, tc.in, got, tc.want)
		}
	}
}

func TestWriteFieldFolds(t *testing.T) {
	for _, tc := range []struct {
		name, value string
		maxLines    int
	}{
		{"short", "smtp; 550 no", 1},
		{"spaces", strings.TrimSpace(strings.Repeat("word ", 400)), 40},
		{"one long word", strings.Repeat("x", 5000), 7},
		{"utf8 word", strings.Repeat("é", 3000), 8},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b strings.Builder
			writeField(&b, "Diagnostic-Code", tc.value)
			out := b.String()
			lines := strings.Split(strings.TrimSuffix(out, "\r\n"), "\r\n")
			if len(lines) > tc.maxLines {
				t.Errorf("%d lines", len(lines))
			}
			for i, l := range lines {
				if len(l) > maxLine {
					t.Errorf("line %d: %d octets", i, len(l))
				}
				if i > 0 && l[0] != ' ' {
					t.Errorf("continuation line %d does not start with a space", i)
				}
				if !strings.HasPrefix(tc.name, "one") && !strings.HasPrefix(tc.name, "utf8") && len(l) > foldAt {
					t.Errorf("line %d longer than %d although it could fold", i, foldAt)
				}
			}
			unfolded := strings.TrimPrefix(strings.ReplaceAll(out, "\r\n ", " "), "Diagnostic-Code: ")
			if got := strings.ReplaceAll(strings.TrimSpace(unfolded), " ", ""); got != strings.ReplaceAll(tc.value, " ", "") {
				t.Errorf("content changed by folding")
			}
		})
	}
}

func TestOriginalHelpers(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"a\nb\r\nc\rd", "a\r\nb\r\nc\r\nd\r\n"},
		{"", ""},
		{"x\r\n", "x\r\n"},
		{"\r\r\n", "\r\n\r\n"},
	} {
		if got := string(normalizeCRLF([]byte(tc.in))); got != tc.want {
			t.Errorf("normalizeCRLF(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	for _, tc := range []struct {
		in        string
		truncated bool
		want      string
	}{
		{"A: 1\r\nB: 2\r\n\r\nbody\r\n", false, "A: 1\r\nB: 2\r\n"},
		{"\r\nbody\r\n", false, ""},
		{"A: 1\r\nB: 2\r\n", false, "A: 1\r\nB: 2\r\n"},
		{"A: 1\r\nB: par\r\n", true, "A: 1\r\n"},
		{"A: par\r\n", true, ""},
	} {
		if got := string(headerBlock([]byte(tc.in), tc.truncated)); got != tc.want {
			t.Errorf("headerBlock(%q, %v) = %q, want %q", tc.in, tc.truncated, got, tc.want)
		}
	}
	for _, tc := range []struct {
		in          string
		eight, fine bool
	}{
		{"abc\r\n", false, true},
		{"ab\xc3\xa9\r\n", true, true},
		{"a\x00b\r\n", false, false},
		{strings.Repeat("a", 998) + "\r\n", false, true},
		{strings.Repeat("a", 999) + "\r\n", false, false},
	} {
		eight, ok := rawEncoding([]byte(tc.in))
		if eight != tc.eight || ok != tc.fine {
			t.Errorf("rawEncoding(%.20q) = %v, %v", tc.in, eight, ok)
		}
	}
	for in, want := range map[string]int{"A: 1\n\nb": 4, "A: 1\r\n\r\nb": 5, "\nb": 0, "A: 1\n": -1, "A\r\rb": 1} {
		if got := headerEnd([]byte(in)); got != want {
			t.Errorf("headerEnd(%q) = %d, want %d", in, got, want)
		}
	}
}

func TestHostname(t *testing.T) {
	for in, want := range map[string]string{
		"mx.example.com":    "mx.example.com",
		"mx.example.com.":   "mx.example.com",
		"bad host\r\n<x>":   "badhostx",
		"[192.0.2.1]":       "[192.0.2.1]",
		"\u00fcber.example": "ber.example",
	} {
		if got := hostname(in); got != want {
			t.Errorf("hostname(%q) = %q, want %q", in, got, want)
		}
	}
}
