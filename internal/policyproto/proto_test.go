package policyproto

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

const sample = "request=smtpd_access_policy\nprotocol_state=RCPT\nprotocol_name=ESMTP\n" +
	"helo_name=mx.example.net\nqueue_id=\nsender=a@example.net\nrecipient=b@example.org\n" +
	"client_address=192.0.2.1\nclient_name=mx.example.net\ninstance=1a.2b.3c\nsize=0\n\n"

func TestRead(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		lim   Limits
		want  []Attrs
		err   error // after the requests in want
		check string
	}{
		{name: "postfix request", in: sample, want: []Attrs{{{"request", "smtpd_access_policy"}, {"protocol_state", "RCPT"},
			{"protocol_name", "ESMTP"}, {"helo_name", "mx.example.net"}, {"queue_id", ""}, {"sender", "a@example.net"},
			{"recipient", "b@example.org"}, {"client_address", "192.0.2.1"}, {"client_name", "mx.example.net"},
			{"instance", "1a.2b.3c"}, {"size", "0"}}}, err: io.EOF},
		{name: "two requests on one connection", in: "a=1\n\nb=2\n\n", want: []Attrs{{{"a", "1"}}, {{"b", "2"}}}, err: io.EOF},
		{name: "crlf", in: "action=DUNNO\r\n\r\n", want: []Attrs{{{"action", "DUNNO"}}}, err: io.EOF},
		{name: "value with =", in: "action=PREPEND X-A: a=b\n\n", want: []Attrs{{{"action", "PREPEND X-A: a=b"}}}, err: io.EOF},
		{name: "empty value", in: "sender=\n\n", want: []Attrs{{{"sender", ""}}}, err: io.EOF},
		{name: "closed between requests", in: "", err: io.EOF},
		{name: "closed inside a request", in: "a=1\n", err: io.ErrUnexpectedEOF},
		{name: "closed inside a line", in: "a=1", err: io.ErrUnexpectedEOF},
		{name: "no =", in: "junk\n\n", err: ErrMalformed},
		{name: "empty name", in: "=x\n\n", err: ErrMalformed},
		{name: "blank in name", in: "a b=x\n\n", err: ErrMalformed},
		{name: "cr inside a value", in: "a=x\ry\n\n", err: ErrMalformed},
		{name: "empty request", in: "\n", err: ErrEmpty},
		{name: "line too long", in: "a=" + strings.Repeat("x", 100) + "\n\n", lim: Limits{MaxLine: 50}, err: ErrLineTooLong},
		{name: "line at the limit", in: "a=" + strings.Repeat("x", 48) + "\n\n", lim: Limits{MaxLine: 50},
			want: []Attrs{{{"a", strings.Repeat("x", 48)}}}, err: io.EOF},
		{name: "line longer than the buffer", in: "a=" + strings.Repeat("x", 70000) + "\n\n", lim: Limits{MaxLine: 80000, MaxSize: 100000},
			want: []Attrs{{{"a", strings.Repeat("x", 70000)}}}, err: io.EOF},
		{name: "too many attributes", in: "a=1\nb=2\nc=3\n\n", lim: Limits{MaxAttrs: 2}, err: ErrTooManyAttrs},
		{name: "too large", in: strings.Repeat("a=1234567890\n", 10) + "\n", lim: Limits{MaxSize: 100}, err: ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewReader(strings.NewReader(tt.in), tt.lim)
			for i, w := range tt.want {
				got, err := r.Read()
				if err != nil {
					t.Fatalf("request %d: %v", i, err)
				}
				if len(got) != len(w) {
					t.Fatalf("request %d: got %q, want %q", i, got, w)
				}
				for j := range w {
					if got[j] != w[j] {
						t.Fatalf("request %d attr %d: got %q, want %q", i, j, got[j], w[j])
					}
				}
			}
			if _, err := r.Read(); !errors.Is(err, tt.err) {
				t.Fatalf("last Read: got %v, want %v", err, tt.err)
			}
		})
	}
}

func TestGet(t *testing.T) {
	a := Attrs{{"a", "1"}, {"b", ""}, {"a", "2"}}
	if v, ok := a.Get("a"); v != "1" || !ok {
		t.Errorf("Get(a) = %q %v", v, ok)
	}
	if v, ok := a.Get("b"); v != "" || !ok {
		t.Errorf("Get(b) = %q %v", v, ok)
	}
	if v, ok := a.Get("c"); v != "" || ok {
		t.Errorf("Get(c) = %q %v", v, ok)
	}
}

func TestWrite(t *testing.T) {
	tests := []struct {
		name  string
		attrs Attrs
		want  string
		err   error
	}{
		{"reply", Reply("DEFER_IF_PERMIT Greylisted"), "action=DEFER_IF_PERMIT Greylisted\n\n", nil},
		{"cleaned reply", Reply("REJECT a\r\nb"), "action=REJECT a  b\n\n", nil},
		{"request", Attrs{{"request", "smtpd_access_policy"}, {"sender", ""}}, "request=smtpd_access_policy\nsender=\n\n", nil},
		{"newline in value", Attrs{{"sender", "a\nb"}}, "", ErrUnsafe},
		{"= in name", Attrs{{"a=b", "c"}}, "", ErrUnsafe},
		{"empty name", Attrs{{"", "c"}}, "", ErrUnsafe},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			err := Write(&b, tt.attrs)
			if !errors.Is(err, tt.err) {
				t.Fatalf("err %v, want %v", err, tt.err)
			}
			if err == nil && b.String() != tt.want {
				t.Fatalf("wrote %q, want %q", b.String(), tt.want)
			}
		})
	}
}

// FuzzRead: whatever arrives, Read never panics, stays within its limits,
// and what it returns writes back and reads again the same.
func FuzzRead(f *testing.F) {
	for _, s := range []string{sample, "action=DUNNO\n\n", "a=1\r\n\r\nb=2\n\n", "junk\n\n", "\n", "a=1", "=\n\n",
		"action=PREPEND X-Greylist: delayed 2 seconds by postgrey-1.37\n\n", "a=" + strings.Repeat("x", 300) + "\n\n",
		"a=\x00\xff\n\n", "a\tb=c\n\n"} {
		f.Add(s)
	}
	lim := Limits{MaxLine: 256, MaxAttrs: 16, MaxSize: 2048}
	f.Fuzz(func(t *testing.T, in string) {
		r := NewReader(strings.NewReader(in), lim)
		for {
			attrs, err := r.Read()
			if err != nil {
				return
			}
			if len(attrs) == 0 || len(attrs) > lim.MaxAttrs {
				t.Fatalf("%d attributes", len(attrs))
			}
			var b bytes.Buffer
			if err := Write(&b, attrs); err != nil {
				t.Fatalf("cannot write back %q: %v", attrs, err)
			}
			again, err := NewReader(&b, lim).Read()
			if err != nil || len(again) != len(attrs) {
				t.Fatalf("read back %q: %v", again, err)
			}
			for i := range attrs {
				if again[i] != attrs[i] {
					t.Fatalf("read back %q, want %q", again[i], attrs[i])
				}
			}
		}
	})
}
