package smtpwire

import (
	"math"
	"reflect"
	"strings"
	"testing"
)

func params(s string) []Param {
	ps, ok := splitParams(s)
	if !ok {
		panic("bad test params: " + s)
	}
	return ps
}

func TestParseMailParams(t *testing.T) {
	tests := []struct {
		in   string
		want MailParams
		err  string // full reply when not ""
	}{
		{"", MailParams{}, ""},
		{"SIZE=0", MailParams{HasSize: true}, ""},
		{"SIZE=1000", MailParams{Size: 1000, HasSize: true}, ""},
		{"size=999999999999", MailParams{Size: 999999999999, HasSize: true}, ""},
		{"SIZE=18446744073709551615", MailParams{Size: math.MaxUint64, HasSize: true}, ""},
		{"SIZE=18446744073709551616", MailParams{Size: math.MaxUint64, HasSize: true}, ""},
		{"SIZE=99999999999999999999", MailParams{Size: math.MaxUint64, HasSize: true}, ""},
		{"SIZE=00000000000000000001", MailParams{Size: 1, HasSize: true}, ""},
		{"SIZE=999999999999999999999", MailParams{}, "501 5.5.4 Bad SIZE parameter"},
		{"SIZE=-1", MailParams{}, "501 5.5.4 Bad SIZE parameter"},
		{"SIZE=1k", MailParams{}, "501 5.5.4 Bad SIZE parameter"},
		{"SIZE", MailParams{}, "501 5.5.4 Bad SIZE parameter"},
		{"SIZE=1 SIZE=2", MailParams{}, "501 5.5.4 Duplicate SIZE parameter"},
		{"BODY=7bit", MailParams{Body: "7BIT"}, ""},
		{"BODY=8BITMIME", MailParams{Body: "8BITMIME"}, ""},
		{"BODY=BINARYMIME", MailParams{}, "501 5.5.4 BODY=BINARYMIME is not supported"},
		{"BODY=9BIT", MailParams{}, "501 5.5.4 Bad BODY parameter"},
		{"BODY", MailParams{}, "501 5.5.4 Bad BODY parameter"},
		{"SMTPUTF8", MailParams{SMTPUTF8: true}, ""},
		{"SMTPUTF8=yes", MailParams{}, "501 5.5.4 SMTPUTF8 parameter takes no value"},
		{"RET=full", MailParams{Ret: "FULL"}, ""},
		{"RET=HDRS", MailParams{Ret: "HDRS"}, ""},
		{"RET=ALL", MailParams{}, "501 5.5.4 Bad RET parameter"},
		{"RET=HDRS RET=HDRS", MailParams{}, "501 5.5.4 Duplicate RET parameter"},
		{"ENVID=QQ314159", MailParams{EnvID: "QQ314159"}, ""},
		{"ENVID=a+2Bb+3Dc+20d", MailParams{EnvID: "a+b=c d"}, ""},
		{"ENVID=" + strings.Repeat("x", 100), MailParams{EnvID: strings.Repeat("x", 100)}, ""},
		{"ENVID=" + strings.Repeat("x", 101), MailParams{}, "501 5.5.4 Bad ENVID parameter"},
		{"ENVID=a+0D+0AX-Injected:+201", MailParams{}, "501 5.5.4 Bad ENVID parameter"},
		{"ENVID=a+00", MailParams{}, "501 5.5.4 Bad ENVID parameter"},
		{"ENVID=a+C3+A9", MailParams{}, "501 5.5.4 Bad ENVID parameter"},
		{"ENVID=a+4", MailParams{}, "501 5.5.4 Bad ENVID parameter"},
		{"ENVID", MailParams{}, "501 5.5.4 Bad ENVID parameter"},
		{"AUTH=<>", MailParams{Auth: "<>"}, ""},
		{"AUTH=joe+40example.test", MailParams{Auth: "joe@example.test"}, ""},
		{"AUTH=a+0D+0Ab", MailParams{}, "501 5.5.4 Bad AUTH parameter"},
		{"AUTH", MailParams{}, "501 5.5.4 Bad AUTH parameter"},
		{"SIZE=10 BODY=8BITMIME SMTPUTF8 RET=HDRS ENVID=id1 AUTH=<>",
			MailParams{Size: 10, HasSize: true, Body: "8BITMIME", SMTPUTF8: true, Ret: "HDRS", EnvID: "id1", Auth: "<>"}, ""},
		{"X-FOO=1", MailParams{}, "555 5.5.4 Unsupported option: X-FOO"},
		{"NOTIFY=NEVER", MailParams{}, "555 5.5.4 Unsupported option: NOTIFY"},
	}
	for _, tt := range tests {
		got, err := ParseMailParams(params(tt.in))
		gotErr := ""
		if err != nil {
			gotErr = err.Error()
		}
		if gotErr != tt.err || got != tt.want {
			t.Errorf("ParseMailParams(%q) = %+v, %q; want %+v, %q", tt.in, got, gotErr, tt.want, tt.err)
		}
	}
}

func TestParseRcptParams(t *testing.T) {
	tests := []struct {
		in   string
		want RcptParams
		err  string
	}{
		{"", RcptParams{}, ""},
		{"NOTIFY=NEVER", RcptParams{Notify: []string{"NEVER"}}, ""},
		{"NOTIFY=never", RcptParams{Notify: []string{"NEVER"}}, ""},
		{"NOTIFY=SUCCESS", RcptParams{Notify: []string{"SUCCESS"}}, ""},
		{"NOTIFY=delay,Failure,SUCCESS", RcptParams{Notify: []string{"DELAY", "FAILURE", "SUCCESS"}}, ""},
		{"NOTIFY=NEVER,SUCCESS", RcptParams{}, "501 5.5.4 Bad NOTIFY parameter"},
		{"NOTIFY=SUCCESS,NEVER", RcptParams{}, "501 5.5.4 Bad NOTIFY parameter"},
		{"NOTIFY=SUCCESS,SUCCESS", RcptParams{}, "501 5.5.4 Bad NOTIFY parameter"},
		{"NOTIFY=SUCCESS,", RcptParams{}, "501 5.5.4 Bad NOTIFY parameter"},
		{"NOTIFY=ALWAYS", RcptParams{}, "501 5.5.4 Bad NOTIFY parameter"},
		{"NOTIFY", RcptParams{}, "501 5.5.4 Bad NOTIFY parameter"},
		{"ORCPT=rfc822;a@b", RcptParams{ORCPT: "rfc822;a@b"}, ""},
		{"ORCPT=RFC822;a+2Bb@c.example", RcptParams{ORCPT: "RFC822;a+b@c.example"}, ""},
		{"ORCPT=utf-8;用户@例子.test", RcptParams{ORCPT: "utf-8;用户@例子.test"}, ""},
		{"ORCPT=rfc822;a+0D+0AX:+201@b", RcptParams{}, "501 5.5.4 Bad ORCPT parameter"},
		{"ORCPT=rfc822;a+00@b", RcptParams{}, "501 5.5.4 Bad ORCPT parameter"},
		{"ORCPT=rfc822;a+FF@b", RcptParams{}, "501 5.5.4 Bad ORCPT parameter"},
		{"ORCPT=rfc822", RcptParams{}, "501 5.5.4 Bad ORCPT parameter"},
		{"ORCPT=;a@b", RcptParams{}, "501 5.5.4 Bad ORCPT parameter"},
		{"ORCPT=rfc822;", RcptParams{}, "501 5.5.4 Bad ORCPT parameter"},
		{"ORCPT=rfc(822);a@b", RcptParams{}, "501 5.5.4 Bad ORCPT parameter"},
		{"ORCPT=rfc822;" + strings.Repeat("a", 500), RcptParams{}, "501 5.5.4 Bad ORCPT parameter"},
		{"ORCPT=rfc822;a@b ORCPT=rfc822;a@b", RcptParams{}, "501 5.5.4 Duplicate ORCPT parameter"},
		{"NOTIFY=FAILURE ORCPT=rfc822;a@b", RcptParams{Notify: []string{"FAILURE"}, ORCPT: "rfc822;a@b"}, ""},
		{"SIZE=1", RcptParams{}, "555 5.5.4 Unsupported option: SIZE"},
	}
	for _, tt := range tests {
		got, err := ParseRcptParams(params(tt.in))
		gotErr := ""
		if err != nil {
			gotErr = err.Error()
		}
		if gotErr != tt.err || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseRcptParams(%q) = %+v, %q; want %+v, %q", tt.in, got, gotErr, tt.want, tt.err)
		}
	}
}

func TestXtext(t *testing.T) {
	tests := []struct {
		enc, dec string
		ok       bool
	}{
		{"", "", true},
		{"abc", "abc", true},
		{"a+2Bb", "a+b", true},
		{"a+3Db", "a=b", true},
		{"+20", " ", true},
		{"+0D+0A", "\r\n", true},
		{"+2b", "+", true}, // lower-case hex tolerated
		{"+", "", false},
		{"+2", "", false},
		{"a+G0", "", false},
		{"a=b", "", false},
		{"a b", "", false},
		{"a\x00", "", false},
		{"\xc3\xa9", "", false},
		{"[UNAVAILABLE]", "[UNAVAILABLE]", true},
	}
	for _, tt := range tests {
		got, err := DecodeXtext(tt.enc)
		if (err == nil) != tt.ok || got != tt.dec {
			t.Errorf("DecodeXtext(%q) = %q, %v; want %q, ok=%v", tt.enc, got, err, tt.dec, tt.ok)
		}
	}
	enc := []struct{ in, out string }{
		{"", ""},
		{"a@b.example", "a@b.example"},
		{"a+b=c d", "a+2Bb+3Dc+20d"},
		{"\r\n\x00\x7f\xff", "+0D+0A+00+7F+FF"},
	}
	for _, tt := range enc {
		if got := EncodeXtext(tt.in); got != tt.out {
			t.Errorf("EncodeXtext(%q) = %q, want %q", tt.in, got, tt.out)
		}
		if back, err := DecodeXtext(EncodeXtext(tt.in)); err != nil || back != tt.in {
			t.Errorf("round trip of %q = %q, %v", tt.in, back, err)
		}
	}
}

func TestParseAttrs(t *testing.T) {
	tests := []struct {
		in   string
		want []Param
		ok   bool
	}{
		{"NAME=mail.example ADDR=192.0.2.1", []Param{{"NAME", "mail.example"}, {"ADDR", "192.0.2.1"}}, true},
		{"name=[UNAVAILABLE]  addr=[TEMPUNAVAIL]  ", []Param{{"NAME", "[UNAVAILABLE]"}, {"ADDR", "[TEMPUNAVAIL]"}}, true},
		{"HELO=a+20b LOGIN=", []Param{{"HELO", "a b"}, {"LOGIN", ""}}, true},
		{"ADDR=IPV6:2001:db8::1 PORT=25 PROTO=ESMTP DESTADDR=192.0.2.2 DESTPORT=587", []Param{{"ADDR", "IPV6:2001:db8::1"}, {"PORT", "25"}, {"PROTO", "ESMTP"}, {"DESTADDR", "192.0.2.2"}, {"DESTPORT", "587"}}, true},
		{"IDENT=x_y SOURCE=REMOTE", []Param{{"IDENT", "x_y"}, {"SOURCE", "REMOTE"}}, true},
		{"", nil, false},
		{"   ", nil, false},
		{"NAME", nil, false},
		{"=x", nil, false},
		{"NA.ME=x", nil, false},
		{"HELO=a+0D+0AMAIL", nil, false},
		{"HELO=a\rb", nil, false},
		{"HELO=a+00", nil, false},
		{"HELO=a+4", nil, false},
		{"HELO=a=b", nil, false},
	}
	for _, tt := range tests {
		got, err := ParseAttrs(tt.in)
		if (err == nil) != tt.ok || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseAttrs(%q) = %v, %v; want %v, ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
		if err != nil && code(err) != "501 5.5.4" {
			t.Errorf("ParseAttrs(%q) error %v, want 501 5.5.4", tt.in, err)
		}
	}
}
