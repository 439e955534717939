package imapmsg

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

func TestParseMediaType(t *testing.T) {
	tests := []struct {
		in       string
		typ, sub string
		params   []param
		ok       bool
	}{
		{"text/plain", "text", "plain", nil, true},
		{"TEXT/PLAIN; CHARSET=US-ASCII", "text", "plain", []param{{"CHARSET", "US-ASCII"}}, true},
		{` text / html ; charset = "utf-8" (comment) ; format=flowed`, "text", "html", []param{{"charset", "utf-8"}, {"format", "flowed"}}, true},
		{`multipart/mixed; boundary="a\"b\\c"`, "multipart", "mixed", []param{{"boundary", `a"b\c`}}, true},
		{`multipart/alternative; boundary=----=_Part_1/2`, "multipart", "alternative", []param{{"boundary", "----=_Part_1/2"}}, true},
		{`text/plain; charset=utf-8; charset=latin1`, "text", "plain", []param{{"charset", "utf-8"}}, true},
		{`text/plain;;; =x; novalue; name="unterminated`, "text", "plain", []param{{"name", "unterminated"}}, true},
		{`application/x-stuff; title*0*=us-ascii'en'This%20is%20even%20more%20; title*1*=%2A%2A%2Afun%2A%2A%2A%20; title*2="isn't it!"`,
			"application", "x-stuff", []param{{"title*", `us-ascii'en'This%20is%20even%20more%20%2A%2A%2Afun%2A%2A%2A%20isn%27t%20it!`}}, true},
		{`message/external-body; access-type=URL; URL*0="ftp://"; URL*1="cs.utk.edu/pub/moore/bulk-mailer/bulk-mailer.tar"`,
			"message", "external-body", []param{{"access-type", "URL"}, {"URL", "ftp://cs.utk.edu/pub/moore/bulk-mailer/bulk-mailer.tar"}}, true},
		{`application/pdf; name*1="b"; name*0="a"; name*3="d"`, "application", "pdf", []param{{"name", "ab"}}, true},
		{`application/pdf; name*1="b"`, "application", "pdf", nil, true},
		{`application/pdf; name*0*=utf-8''%E2%82%AC; name*1=" x"`, "application", "pdf", []param{{"name*", "utf-8''%E2%82%AC%20x"}}, true},
		{`application/pdf; name*0="plain"; name*1*=%41`, "application", "pdf", []param{{"name*", "''plain%41"}}, true},
		{`application/pdf; filename="a.pdf"; filename*=utf-8''b.pdf`, "application", "pdf", []param{{"filename", "a.pdf"}, {"filename*", "utf-8''b.pdf"}}, true},
		{`application/pdf; name*99999=x`, "application", "pdf", []param{{"name*99999", "x"}}, true},
		{"text", "", "", nil, false},
		{"/plain", "", "", nil, false},
		{"text/", "", "", nil, false},
		{"", "", "", nil, false},
		{"(comment only)", "", "", nil, false},
	}
	for _, tc := range tests {
		typ, sub, params, ok := parseMediaType(tc.in)
		if typ != tc.typ || sub != tc.sub || ok != tc.ok || !reflect.DeepEqual(params, tc.params) {
			t.Errorf("parseMediaType(%q) = %q %q %q %v; want %q %q %q %v", tc.in, typ, sub, params, ok, tc.typ, tc.sub, tc.params, tc.ok)
		}
	}
	many := "text/plain" + strings.Repeat("; p=v", 1000) + strings.Repeat("; a*1=x", 1000)
	for i := range 200 {
		many += fmt.Sprintf("; q%d=v", i)
	}
	if _, _, params, _ := parseMediaType(many); len(params) > maxParams {
		t.Errorf("%d params kept", len(params))
	}
}

func TestParseAddressList(t *testing.T) {
	mb := func(name, mailbox, host string) address { return address{name: name, mailbox: mailbox, host: host} }
	start := func(name string) address { return address{mailbox: name, kind: addrGroupStart} }
	end := address{kind: addrGroupEnd}
	tests := []struct {
		in   string
		want []address
	}{
		{"user@example.com", []address{mb("", "user", "example.com")}},
		{"John Doe <john.doe@example.com>", []address{mb("John Doe", "john.doe", "example.com")}},
		{`"Doe, John" <john@example.com>, jane@example.com`, []address{mb("Doe, John", "john", "example.com"), mb("", "jane", "example.com")}},
		{`"quoted \"name\"" <a@b>`, []address{mb(`quoted "name"`, "a", "b")}},
		{"John Q. Public <jqp@example.com>", []address{mb("John Q. Public", "jqp", "example.com")}},
		{"jqp@example.com (John Q. Public)", []address{mb("John Q. Public", "jqp", "example.com")}},
		{`"john doe"@example.com`, []address{mb("", "john doe", "example.com")}},
		{"a@[192.0.2.1]", []address{mb("", "a", "[192.0.2.1]")}},
		{"<@route1,@route2:user@host>", []address{{adl: "@route1,@route2", mailbox: "user", host: "host"}}},
		{"Group: a@b, C <c@d>;", []address{start("Group"), mb("", "a", "b"), mb("C", "c", "d"), end}},
		{"undisclosed-recipients:;", []address{start("undisclosed-recipients"), end}},
		{"G: a@b", []address{start("G"), mb("", "a", "b"), end}}, // unterminated group
		{"G1: a@b;, G2: c@d;", []address{start("G1"), mb("", "a", "b"), end, start("G2"), mb("", "c", "d"), end}},
		{"=?utf-8?q?Andr=C3=A9?= <andre@example.com>", []address{mb("=?utf-8?q?Andr=C3=A9?=", "andre", "example.com")}},
		{"localonly", []address{mb("", "localonly", missingDomain)}},
		{"Name <>", []address{mb("Name", missingMailbox, missingDomain)}},
		{"<>", nil},
		{"", nil},
		{",,,", nil},
		{"a@b,, ,c@d", []address{mb("", "a", "b"), mb("", "c", "d")}},
		{"Broken <a@b", []address{mb("Broken", "a", "b")}},
		{"a@b garbage here, c@d", []address{mb("", "a", "b"), mb("", "c", "d")}},
		{"((nested) comment) a@b", []address{mb("", "a", "b")}},
		{"Ünïcode Name <u@exämple.org>", []address{mb("Ünïcode Name", "u", "exämple.org")}},
		{";;;:::<<<>>>@@@", []address{start(""), end}},
		{"John Smith john.smith@example.com", []address{mb("John Smith", "john.smith", "example.com")}},
		{"john . smith @ example . com", []address{mb("", "john.smith", "example.com")}},
		{"<a@b> trailing, <c@d>", []address{mb("", "a", "b"), mb("", "c", "d")}},
	}
	for _, tc := range tests {
		if got := parseAddressList(tc.in); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("parseAddressList(%q) =\n%+v\nwant\n%+v", tc.in, got, tc.want)
		}
	}
}

func TestDecode(t *testing.T) {
	tests := []struct{ cte, in, want string }{
		{"base64", "aGVsbG8gd29ybGQ=", "hello world"},
		{"base64", "aGVs\r\nbG8g\r\nd29y\r\nbGQ=\r\n", "hello world"},
		{"base64", "aGVsbG8", "hello"}, // incomplete groups
		{"base64", "aGVsbA", "hell"},
		{"base64", "a GV*sbG8=ignored", "hello"},
		{"base64", "", ""},
		{"quoted-printable", "caf=C3=A9 =\r\nbar", "caf\xc3\xa9 bar"},
		{"quoted-printable", "soft=\nbreak", "softbreak"},
		{"quoted-printable", "trailing   \r\nspace\t\r\n", "trailing\r\nspace\r\n"},
		{"quoted-printable", "lower=e9 bad=ZZ end=", "lower\xe9 bad=ZZ end"},
		{"quoted-printable", "=4", "=4"},
		{"quoted-printable", "=", ""},
		{"7bit", "as is=41", "as is=41"},
		{"", "as is", "as is"},
		{"binary", "\x00\xff", "\x00\xff"},
	}
	for _, tc := range tests {
		got, ok := decodeCTE(tc.cte, []byte(tc.in))
		if !ok || string(got) != tc.want {
			t.Errorf("decodeCTE(%q, %q) = %q, %v; want %q", tc.cte, tc.in, got, ok, tc.want)
		}
	}
	if _, ok := decodeCTE("x-uuencode", []byte("x")); ok {
		t.Error("x-uuencode decoded")
	}
	for in, want := range map[string]string{
		"plain":                          "plain",
		"=?UTF-8?Q?a_b?= =?UTF-8?Q?c?=":  "a bc",
		"=?ISO-8859-1?Q?=E9t=E9?=":       "été",
		"=?windows-1252?Q?=80?=":         "€",
		"=?x-unknown?Q?abc?=":            "=?x-unknown?Q?abc?=",
		"=?UTF-8?B?invalid!!?= and text": "=?UTF-8?B?invalid!!?= and text",
	} {
		if got := decodeHeader(in); got != want {
			t.Errorf("decodeHeader(%q) = %q, want %q", in, got, want)
		}
	}
}
