package mime

import (
	"reflect"
	"strings"
	"testing"
)

// fieldsOf lists a header's fields as "name=value" ("!raw" for a line
// that is not a field).
func fieldsOf(h *Header) []string {
	var out []string
	for i := range h.Len() {
		if h.Valid(i) {
			out = append(out, h.Name(i)+"="+h.Value(i))
		} else {
			out = append(out, "!"+string(h.Raw(i)))
		}
	}
	return out
}

func TestParseHeader(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		fields []string
		body   int // -1: len(in)
	}{
		{"simple", "A: 1\r\nB: 2\r\n\r\nbody", []string{"A=1", "B=2"}, 14},
		{"folded", "Subject: one\r\n two\r\n\tthree\r\nX: y\r\n\r\n", []string{"Subject=one two\tthree", "X=y"}, -1},
		{"bare LF", "A: 1\nB:2\n\nbody\n", []string{"A=1", "B=2"}, 10},
		{"no empty line", "A: 1\r\nB: 2", []string{"A=1", "B=2"}, -1},
		{"no line end at all", "Subject: x", []string{"Subject=x"}, -1},
		{"empty header", "\r\nbody", nil, 2},
		{"empty message", "", nil, -1},
		{"blank before colon", "Subject \t: x\r\n\r\n", []string{"Subject=x"}, -1},
		{"not a field", "garbage line\r\nA: 1\r\n\r\n", []string{"!garbage line\r\n", "A=1"}, -1},
		{"leading continuation", " cont\r\nA: 1\r\n\r\n", []string{"! cont\r\n", "A=1"}, -1},
		{"8-bit name", "Sübject: x\r\n\r\n", []string{"!Sübject: x\r\n"}, -1},
		{"colon first", ": x\r\n\r\n", []string{"!: x\r\n"}, -1},
		{"empty value", "A:\r\n\r\n", []string{"A="}, -1},
		{"body line with colon", "A: 1\r\n\r\nB: 2\r\n", []string{"A=1"}, 8},
		{"lone CR line", "A: 1\r\n\r", []string{"A=1"}, -1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, body := ParseHeader([]byte(tc.in))
			want := tc.body
			if want < 0 {
				want = len(tc.in)
			}
			if got := fieldsOf(&h); !reflect.DeepEqual(got, tc.fields) || body != want {
				t.Errorf("got %q, body %d; want %q, body %d", got, body, tc.fields, want)
			}
			// the fields and the empty line are the header, byte for byte
			var joined []byte
			for i := range h.Len() {
				s, e := h.Span(i)
				if string(h.Raw(i)) != tc.in[s:e] {
					t.Errorf("field %d: Raw %q, Span %q", i, h.Raw(i), tc.in[s:e])
				}
				joined = append(joined, h.Raw(i)...)
			}
			if rest := tc.in[len(joined):body]; strings.Trim(rest, "\r\n") != "" || len(rest) > 2 {
				t.Errorf("header is %q then %q before the body", joined, rest)
			}
		})
	}
}

func TestHeaderLookup(t *testing.T) {
	h, _ := ParseHeader([]byte("Received: a\r\nsubject: =?UTF-8?Q?caf=C3=A9?=\r\nRECEIVED: b\r\n  folded\r\nX-Ünï: no\r\nReceived-SPF: pass\r\n\r\n"))
	if v, ok := h.Get("SUBJECT"); !ok || v != "=?UTF-8?Q?caf=C3=A9?=" {
		t.Errorf("Get = %q, %v", v, ok)
	}
	if i := h.Index("Subject"); i != 1 || h.Text(i) != "café" {
		t.Errorf("Index %d, Text %q", i, h.Text(i))
	}
	if got := h.Values("received"); !reflect.DeepEqual(got, []string{"a", "b  folded"}) {
		t.Errorf("Values = %q", got)
	}
	if h.Has("Receive") || h.Has("") || h.Has("X-Ünï") || !h.Has("received-spf") {
		t.Error("Has matched the wrong fields")
	}
	if _, ok := h.Get("missing"); ok {
		t.Error("Get found a missing field")
	}
	if h.Name(2) != "RECEIVED" || h.NameBytes(3) != nil || h.Name(3) != "" {
		t.Errorf("names %q %q", h.Name(2), h.NameBytes(4))
	}
}

func TestHeaderEnd(t *testing.T) {
	for in, want := range map[string]int{
		"A: 1\r\n\r\nbody":  8,
		"A: 1\n\nbody":      6,
		"\r\n":              2,
		"A: 1\r\n":          -1,
		"A: 1":              -1,
		"":                  -1,
		"A: 1\r\n \r\n\r\n": 11, // a blank-only line is a continuation
	} {
		if got := HeaderEnd([]byte(in)); got != want {
			t.Errorf("HeaderEnd(%q) = %d, want %d", in, got, want)
		}
	}
}
