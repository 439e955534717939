package smtpwire

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// code returns "501 5.1.7" for an *Error, "" for nil, "?" for other errors.
func code(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if !errors.As(err, &e) {
		return "?"
	}
	return e.Error()[:len("501 5.1.7")]
}

func TestParseMail(t *testing.T) {
	long := strings.Repeat("a", 64)
	tests := []struct {
		arg    string
		path   Path
		params []Param
		err    string
	}{
		{"FROM:<a@b.example>", Path{Addr: "a@b.example", Local: "a", Domain: "b.example"}, nil, ""},
		{"from:<A.B+tag@Sub.Example.COM>", Path{Addr: "A.B+tag@Sub.Example.COM", Local: "A.B+tag", Domain: "Sub.Example.COM"}, nil, ""},
		{"FROM:<>", Path{}, nil, ""},
		{"FROM: <a@b.example>", Path{Addr: "a@b.example", Local: "a", Domain: "b.example"}, nil, ""},
		{"FROM:   <a@b.example>   ", Path{Addr: "a@b.example", Local: "a", Domain: "b.example"}, nil, ""},
		{"FROM:<> SIZE=100 BODY=8bitmime", Path{}, []Param{{"SIZE", "100"}, {"BODY", "8bitmime"}}, ""},
		{"FROM:<a@b.example>  smtputf8   ret=HDRS", Path{Addr: "a@b.example", Local: "a", Domain: "b.example"}, []Param{{"SMTPUTF8", ""}, {"RET", "HDRS"}}, ""},
		{`FROM:<"x@inner.test"@remote.test>`, Path{Addr: `"x@inner.test"@remote.test`, Local: `"x@inner.test"`, Domain: "remote.test"}, nil, ""},
		{`FROM:<"a>b"@c.test>`, Path{Addr: `"a>b"@c.test`, Local: `"a>b"`, Domain: "c.test"}, nil, ""},
		{`FROM:<"a\"b\\ c"@c.test>`, Path{Addr: `"a\"b\\ c"@c.test`, Local: `"a\"b\\ c"`, Domain: "c.test"}, nil, ""},
		{`FROM:<"">`, Path{}, nil, "501 5.1.7"},
		{"FROM:<@a.example,@b.example:user@c.example>", Path{Addr: "user@c.example", Local: "user", Domain: "c.example"}, nil, ""},
		{"FROM:<@ü.example:user@c.example>", Path{Addr: "user@c.example", Local: "user", Domain: "c.example"}, nil, ""},
		{"FROM:<@a.example:user@c.example>", Path{Addr: "user@c.example", Local: "user", Domain: "c.example"}, nil, ""},
		{"FROM:<a@[192.0.2.1]>", Path{Addr: "a@[192.0.2.1]", Local: "a", Domain: "[192.0.2.1]"}, nil, ""},
		{"FROM:<a@[IPv6:2001:db8::1]>", Path{Addr: "a@[IPv6:2001:db8::1]", Local: "a", Domain: "[IPv6:2001:db8::1]"}, nil, ""},
		{"FROM:<a@[x-tag:stuff]>", Path{Addr: "a@[x-tag:stuff]", Local: "a", Domain: "[x-tag:stuff]"}, nil, ""},
		{"FROM:<a..b.@docomo.example>", Path{Addr: "a..b.@docomo.example", Local: "a..b.", Domain: "docomo.example"}, nil, ""},
		{"FROM:<a@host_name.example>", Path{Addr: "a@host_name.example", Local: "a", Domain: "host_name.example"}, nil, ""},
		{"FROM:<a@localhost>", Path{Addr: "a@localhost", Local: "a", Domain: "localhost"}, nil, ""},
		{"FROM:<用户@例子.测试>", Path{Addr: "用户@例子.测试", Local: "用户", Domain: "例子.测试", UTF8: true}, nil, ""},
		{`FROM:<"ü x"@b.test>`, Path{Addr: `"ü x"@b.test`, Local: `"ü x"`, Domain: "b.test", UTF8: true}, nil, ""},
		{"FROM:<" + long + long + long + long + "@b.test>", Path{Addr: long + long + long + long + "@b.test", Local: long + long + long + long, Domain: "b.test"}, nil, ""},
		{"FROM:<" + long + long + long + long + "x@b.test>", Path{}, nil, "501 5.1.7"},

		// syntax errors
		{"", Path{}, nil, "501 5.5.4"},
		{"FROM", Path{}, nil, "501 5.5.4"},
		{"TO:<a@b>", Path{}, nil, "501 5.5.4"},
		{"FROM:a@b.example", Path{}, nil, "501 5.5.4"},
		{"FROM:<a@b.example", Path{}, nil, "501 5.5.4"},
		{"FROM:<a@b.example>x", Path{}, nil, "501 5.5.4"},
		{"FROM :<a@b.example>", Path{}, nil, "501 5.5.4"},
		{"FROM:<a@b.example> SIZE=", Path{}, nil, "501 5.5.4"},
		{"FROM:<a@b.example> =1", Path{}, nil, "501 5.5.4"},
		{"FROM:<a@b.example> -X", Path{}, nil, "501 5.5.4"},
		{"FROM:<a@b.example> X=a=b", Path{}, nil, "501 5.5.4"},
		{"FROM:<a@b.example> X=a\x00", Path{}, nil, "501 5.5.4"},
		{"FROM:<a@b.example> X\r", Path{}, nil, "501 5.5.4"},
		{"FROM:<a@b.example> X=\xff", Path{}, nil, "501 5.5.4"},

		// bad addresses
		{"FROM:<a>", Path{}, nil, "501 5.1.7"},
		{"FROM:<postmaster>", Path{}, nil, "501 5.1.7"},
		{"FROM:<@b.example>", Path{}, nil, "501 5.1.7"},
		{"FROM:<a@>", Path{}, nil, "501 5.1.7"},
		{"FROM:<a@b@c>", Path{}, nil, "501 5.1.7"},
		{"FROM:<a b@c.test>", Path{}, nil, "501 5.1.7"},
		{"FROM:<a@b..example>", Path{}, nil, "501 5.1.7"},
		{"FROM:<a@b.example.>", Path{}, nil, "501 5.1.7"},
		{"FROM:<a@-b.example>", Path{}, nil, "501 5.1.7"},
		{"FROM:<a@b-.example>", Path{}, nil, "501 5.1.7"},
		{"FROM:<a@" + strings.Repeat("x", 64) + ".test>", Path{}, nil, "501 5.1.7"},
		{"FROM:<a@" + strings.Repeat("abcdefghi.", 25) + "tests>", Path{Addr: "a@" + strings.Repeat("abcdefghi.", 25) + "tests", Local: "a", Domain: strings.Repeat("abcdefghi.", 25) + "tests"}, nil, ""},
		{"FROM:<a@" + strings.Repeat("abcdefghi.", 25) + "testss>", Path{}, nil, "501 5.1.7"},
		{"FROM:<a@[192.0.2.256]>", Path{}, nil, "501 5.1.7"},
		{"FROM:<a@[192.0.2.1>", Path{}, nil, "501 5.1.7"},
		{"FROM:<a@[IPv6:192.0.2.1]>", Path{}, nil, "501 5.1.7"},
		{"FROM:<a@[IPv6:fe80::1%eth0]>", Path{}, nil, "501 5.1.7"},
		{"FROM:<a@[:x]>", Path{}, nil, "501 5.1.7"},
		{"FROM:<a@[]>", Path{}, nil, "501 5.1.7"},
		{"FROM:<@a.example user@c.example>", Path{}, nil, "501 5.1.7"},
		{"FROM:<@a..example:user@c.example>", Path{}, nil, "501 5.1.7"},
		{"FROM:<a.example,@b:user@c.example>", Path{}, nil, "501 5.1.7"},
		{"FROM:<.@b.example>", Path{}, nil, "501 5.1.7"},
		{"FROM:<\xff@b.example>", Path{}, nil, "501 5.1.7"},
		{"FROM:<a@b\xc3.example>", Path{}, nil, "501 5.1.7"},
		{"FROM:<a\xc2\x85@b.example>", Path{}, nil, "501 5.1.7"}, // U+0085, a C1 control
		{`FROM:<"a"b@c.test>`, Path{}, nil, "501 5.1.7"},
		{`FROM:<"a@c.test>`, Path{}, nil, "501 5.5.4"},

		// security: control characters anywhere in the address, quoted or not
		{"FROM:<\"x\rX-Injected: 1\"@evil.test>", Path{}, nil, "501 5.1.7"},
		{"FROM:<\"x\r\nX-Injected: 1\"@evil.test>", Path{}, nil, "501 5.1.7"},
		{"FROM:<\"x\\\rX\"@evil.test>", Path{}, nil, "501 5.1.7"},
		{"FROM:<a\x00@evil.test>", Path{}, nil, "501 5.1.7"},
		{"FROM:<\"a\x00\"@evil.test>", Path{}, nil, "501 5.1.7"},
		{"FROM:<a@evil\x00.test>", Path{}, nil, "501 5.1.7"},
		{"FROM:<a\t@evil.test>", Path{}, nil, "501 5.1.7"},
		{"FROM:<a\x7f@evil.test>", Path{}, nil, "501 5.1.7"},
		{"FROM:<a@evil.test\n>", Path{}, nil, "501 5.1.7"},
		{"FROM:<\"x\r", Path{}, nil, "501 5.1.7"},
		{"FROM:<@a.test\r:b@c.test>", Path{}, nil, "501 5.1.7"},
	}
	for _, tt := range tests {
		p, params, err := ParseMail(tt.arg)
		if code(err) != tt.err {
			t.Errorf("ParseMail(%q) error = %v, want %q", tt.arg, err, tt.err)
			continue
		}
		if err != nil {
			continue
		}
		if p != tt.path || !reflect.DeepEqual(params, tt.params) {
			t.Errorf("ParseMail(%q) = %+v, %v; want %+v, %v", tt.arg, p, params, tt.path, tt.params)
		}
	}
}

func TestParseRcpt(t *testing.T) {
	tests := []struct {
		arg    string
		path   Path
		params []Param
		err    string
	}{
		{"TO:<b@c.example>", Path{Addr: "b@c.example", Local: "b", Domain: "c.example"}, nil, ""},
		{"to: <b@c.example> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;b@c.example", Path{Addr: "b@c.example", Local: "b", Domain: "c.example"},
			[]Param{{"NOTIFY", "SUCCESS,FAILURE"}, {"ORCPT", "rfc822;b@c.example"}}, ""},
		{"TO:<postmaster>", Path{Addr: "postmaster", Local: "postmaster"}, nil, ""},
		{"TO:<PostMaster>", Path{Addr: "PostMaster", Local: "PostMaster"}, nil, ""},
		{"TO:<postmaster@c.example>", Path{Addr: "postmaster@c.example", Local: "postmaster", Domain: "c.example"}, nil, ""},
		{"TO:<@relay.example:b@c.example>", Path{Addr: "b@c.example", Local: "b", Domain: "c.example"}, nil, ""},
		{`TO:<"x@inner.test"@remote.test>`, Path{Addr: `"x@inner.test"@remote.test`, Local: `"x@inner.test"`, Domain: "remote.test"}, nil, ""},
		{"TO:<>", Path{}, nil, "501 5.1.3"},
		{"TO:<abuse>", Path{}, nil, "501 5.1.3"},
		{`TO:<"postmaster">`, Path{}, nil, "501 5.1.3"},
		{"TO:<b@c..example>", Path{}, nil, "501 5.1.3"},
		{"TO:b@c.example", Path{}, nil, "501 5.5.4"},
		{"FROM:<b@c.example>", Path{}, nil, "501 5.5.4"},
		{"TO:<b@c.example> X=", Path{}, nil, "501 5.5.4"},
		{"TO:<\"x\rX-Injected: 1\"@evil.test>", Path{}, nil, "501 5.1.3"},
		{"TO:<b\x00@evil.test>", Path{}, nil, "501 5.1.3"},
	}
	for _, tt := range tests {
		p, params, err := ParseRcpt(tt.arg)
		if code(err) != tt.err {
			t.Errorf("ParseRcpt(%q) error = %v, want %q", tt.arg, err, tt.err)
			continue
		}
		if err != nil {
			continue
		}
		if p != tt.path || !reflect.DeepEqual(params, tt.params) {
			t.Errorf("ParseRcpt(%q) = %+v, %v; want %+v, %v", tt.arg, p, params, tt.path, tt.params)
		}
	}
}

func TestErrorTexts(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{second(ParseMail("FROM:x")), "501 5.5.4 Syntax: MAIL FROM:<address>"},
		{second(ParseMail("FROM:<x>")), "501 5.1.7 Bad sender address syntax"},
		{second(ParseRcpt("TO:x")), "501 5.5.4 Syntax: RCPT TO:<address>"},
		{second(ParseRcpt("TO:<x>")), "501 5.1.3 Bad recipient address syntax"},
	}
	for _, tt := range tests {
		if tt.err == nil || tt.err.Error() != tt.want {
			t.Errorf("got %v, want %q", tt.err, tt.want)
		}
	}
}

func second(_ Path, _ []Param, err error) error { return err }

func TestRequireASCII(t *testing.T) {
	uni := Path{Addr: "用户@例子.test", Local: "用户", Domain: "例子.test", UTF8: true}
	ascii := Path{Addr: "a@b.test", Local: "a", Domain: "b.test"}
	tests := []struct {
		p    Path
		utf8 bool
		rcpt bool
		want string
	}{
		{ascii, false, false, ""},
		{ascii, true, true, ""},
		{uni, true, false, ""},
		{uni, false, false, `553 5.6.7 <\x{7528}\x{6237}@\x{4F8B}\x{5B50}.test>: Sender address contains non-ASCII characters, but SMTPUTF8 was not requested`},
		{uni, false, true, `553 5.6.7 <\x{7528}\x{6237}@\x{4F8B}\x{5B50}.test>: Recipient address contains non-ASCII characters, but SMTPUTF8 was not requested`},
		{Path{Addr: "ü@b.test", UTF8: true}, false, true, `553 5.6.7 <\x{FC}@b.test>: Recipient address contains non-ASCII characters, but SMTPUTF8 was not requested`},
	}
	for _, tt := range tests {
		err := RequireASCII(tt.p, tt.utf8, tt.rcpt)
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != tt.want {
			t.Errorf("RequireASCII(%q, %v, %v) = %q, want %q", tt.p.Addr, tt.utf8, tt.rcpt, got, tt.want)
		}
	}
}
