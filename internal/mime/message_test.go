package mime

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

func crlf(s string) string { return strings.ReplaceAll(s, "\n", "\r\n") }

// sample has every kind of entity a filter meets: text in a legacy
// charset and quoted-printable, HTML, a base64 attachment with an RFC
// 2231 filename, and a forwarded message holding its own attachment.
var sample = crlf(`From: a@example.org
Subject: =?ISO-8859-1?Q?Gr=FC=DFe?=
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="outer"

preamble
--outer
Content-Type: multipart/alternative; boundary=inner

--inner
Content-Type: text/plain; charset=iso-8859-1
Content-Transfer-Encoding: quoted-printable

Gr=FC=DFe aus M=FCnchen=
!
--inner
Content-Type: text/html; charset=utf-8

<p>caf&eacute;</p>
--inner--
--outer
Content-Type: application/octet-stream
Content-Disposition: ATTACHMENT;
 filename*0*=utf-8''r%C3%A9sum%C3%A9;
 filename*1=".pdf"
Content-Transfer-Encoding: base64

aGVsbG8gd29y
bGQ=
--outer
Content-Type: message/rfc822

Subject: fwd
Content-Type: multipart/mixed; boundary=fw

--fw
Content-Type: application/x-msdownload; name="setup.exe"
Content-Transfer-Encoding: base64

TVo=
--fw--
--outer--
epilogue
`)

type seen struct {
	depth            int
	typ, name, bytes string
}

func TestWalk(t *testing.T) {
	m := Parse([]byte(sample))
	var got []seen
	m.Walk(func(p *Part, depth int) bool {
		var data string
		if p.Type() == "text" {
			b, _ := p.Text()
			data = string(b)
		} else if !p.IsMultipart() && p.Message() == nil {
			b, _ := p.Decoded()
			data = string(b)
		}
		got = append(got, seen{depth, p.MediaType(), p.Filename(), data})
		return true
	})
	want := []seen{
		{0, "multipart/mixed", "", ""},
		{1, "multipart/alternative", "", ""},
		{2, "text/plain", "", "Grüße aus München!"},
		{2, "text/html", "", "<p>caf&eacute;</p>"},
		{1, "application/octet-stream", "résumé.pdf", "hello world"},
		{1, "message/rfc822", "", ""},
		{2, "multipart/mixed", "", ""},
		{3, "application/x-msdownload", "setup.exe", "MZ"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Walk:\n%+v\nwant\n%+v", got, want)
	}
	if v, _ := m.Header().Get("subject"); DecodeHeader(v) != "Grüße" {
		t.Errorf("subject %q", DecodeHeader(v))
	}

	// returning false skips the descendants
	n := 0
	m.Walk(func(p *Part, depth int) bool {
		n++
		return p.Type() != "message"
	})
	if n != 6 {
		t.Errorf("Walk skipping message/rfc822 saw %d entities, want 6", n)
	}

	att := m.Root().Parts()[1]
	if typ, params := att.Disposition(); typ != "attachment" || len(params) != 1 || params[0].Name != "filename*" {
		t.Errorf("Disposition = %q %q", typ, params)
	}
	start, body, end := att.Offsets()
	raw := m.Bytes()
	if !strings.HasPrefix(string(raw[start:body]), "Content-Type: application/octet-stream\r\n") ||
		!strings.HasSuffix(string(raw[start:body]), "base64\r\n\r\n") || string(raw[body:end]) != "aGVsbG8gd29y\r\nbGQ=" {
		t.Errorf("offsets %d %d %d: %q %q", start, body, end, raw[start:body], raw[body:end])
	}
	if string(att.Content()) != "aGVsbG8gd29y\r\nbGQ=" || att.Encoding() != "base64" || !att.Explicit() {
		t.Errorf("Content %q, Encoding %q", att.Content(), att.Encoding())
	}
	if _, ok := att.Text(); ok {
		t.Error("Text of an application part")
	}
	if m.BodyOffset() != strings.Index(sample, "preamble") || m.Size() != int64(len(sample)) {
		t.Errorf("BodyOffset %d, Size %d", m.BodyOffset(), m.Size())
	}
}

func TestDefaults(t *testing.T) {
	tests := []struct {
		name, in string
		types    []string // MediaType of each entity in Walk order
	}{
		{"no content-type", "Subject: x\r\n\r\nhi", []string{"text/plain"}},
		{"unreadable content-type", "Content-Type: garbage\r\n\r\nhi", []string{"text/plain"}},
		{"multipart without boundary", "Content-Type: multipart/mixed\r\n\r\n--x\r\n\r\nhi", []string{"text/plain"}},
		// RFC 2046 5.1.5: parts of a digest are messages by default
		{"digest", "Content-Type: multipart/digest; boundary=d\r\n\r\n--d\r\n\r\nSubject: in\r\n\r\nx\r\n--d--",
			[]string{"multipart/digest", "message/rfc822", "text/plain"}},
		{"part without header", "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nno header\r\n--b--",
			[]string{"multipart/mixed", "text/plain"}},
		{"no close delimiter", "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\none\r\n--b\r\n\r\ntwo",
			[]string{"multipart/mixed", "text/plain", "text/plain"}},
		{"prefix boundaries", "Content-Type: multipart/mixed; boundary=a\r\n\r\n--a\r\nContent-Type: multipart/mixed; boundary=aa\r\n\r\n--aa\r\n\r\nx\r\n--aa--\r\n--a--",
			[]string{"multipart/mixed", "multipart/mixed", "text/plain"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			Parse([]byte(tc.in)).Walk(func(p *Part, _ int) bool {
				got = append(got, p.MediaType())
				return true
			})
			if !reflect.DeepEqual(got, tc.types) {
				t.Errorf("got %q, want %q", got, tc.types)
			}
		})
	}
	p := Parse([]byte("hi")).Root()
	if cs, _ := p.Params().Get("charset"); cs != "US-ASCII" || p.Explicit() {
		t.Errorf("default charset %q, explicit %v", cs, p.Explicit())
	}
	if _, ok := Parse([]byte("Content-Transfer-Encoding: x-uue\r\n\r\nhi")).Root().Decoded(); ok {
		t.Error("unknown encoding decoded")
	}
	if txt, ok := Parse([]byte("Content-Transfer-Encoding: x-uue\r\n\r\nhi")).Root().Text(); !ok || string(txt) != "hi" {
		t.Errorf("Text with an unknown encoding = %q, %v; want the content as stored", txt, ok)
	}
}

// TestLimits checks the depth and part caps with Walk.
func TestLimits(t *testing.T) {
	count := func(raw string) (n, maxDepth int) {
		Parse([]byte(raw)).Walk(func(_ *Part, d int) bool {
			n++
			maxDepth = max(maxDepth, d)
			return true
		})
		return n, maxDepth
	}
	if n, d := count(strings.Repeat("Content-Type: message/rfc822\r\n\r\n", 200) + "bottom"); n != MaxDepth+1 || d != MaxDepth {
		t.Errorf("nested messages: %d entities, depth %d", n, d)
	}
	var b strings.Builder
	for i := range 100 {
		fmt.Fprintf(&b, "Content-Type: multipart/mixed; boundary=b%d\r\n\r\n--b%d\r\n", i, i)
	}
	if n, d := count(b.String()); n != MaxDepth+1 || d != MaxDepth {
		t.Errorf("nested multiparts: %d entities, depth %d", n, d)
	}
	many := "Content-Type: multipart/mixed; boundary=b\r\n\r\n" + strings.Repeat("--b\r\n\r\nx\r\n", 20000) + "--b--\r\n"
	if n, _ := count(many); n != MaxParts {
		t.Errorf("many parts: %d entities, want %d", n, MaxParts)
	}
}

func TestDecode(t *testing.T) {
	tests := []struct{ cte, in, want string }{
		{"base64", "aGVs\r\nbG8g\r\nd29y\r\nbGQ=\r\n", "hello world"},
		{"base64", "a GV*sbG8=ignored", "hello"},
		{"quoted-printable", "caf=C3=A9 =\r\nbar", "caf\xc3\xa9 bar"},
		{"quoted-printable", "lower=e9 bad=ZZ end=", "lower\xe9 bad=ZZ end"},
		{"8bit", "as is=41", "as is=41"},
	}
	for _, tc := range tests {
		if got, ok := DecodeTransfer(tc.cte, []byte(tc.in)); !ok || string(got) != tc.want {
			t.Errorf("DecodeTransfer(%q, %q) = %q, %v; want %q", tc.cte, tc.in, got, ok, tc.want)
		}
	}
	for in, want := range map[string]string{
		"=?ISO-8859-1?Q?=E9t=E9?=":      "été",
		"=?UTF-8?Q?a_b?= =?UTF-8?Q?c?=": "a bc",
		"=?x-unknown?Q?abc?=":           "=?x-unknown?Q?abc?=",
	} {
		if got := DecodeHeader(in); got != want {
			t.Errorf("DecodeHeader(%q) = %q, want %q", in, got, want)
		}
	}
	for _, tc := range []struct{ cs, in, want string }{
		{"iso-8859-1", "M\xfcnchen", "München"},
		{"windows-1252", "\x80", "€"},
		{"UTF-8", "\xff", "\xff"},
		{"x-unknown", "\xff", "\xff"},
	} {
		if got := ToUTF8(tc.cs, []byte(tc.in)); string(got) != tc.want {
			t.Errorf("ToUTF8(%q, %q) = %q, want %q", tc.cs, tc.in, got, tc.want)
		}
	}
}
