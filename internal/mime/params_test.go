package mime

import (
	"reflect"
	"testing"
)

func TestParseMediaType(t *testing.T) {
	tests := []struct {
		in       string
		typ, sub string
		params   Params
		ok       bool
	}{
		{"text/plain", "text", "plain", nil, true},
		{"TEXT/PLAIN; CHARSET=US-ASCII", "text", "plain", Params{{"CHARSET", "US-ASCII"}}, true},
		{` text / html ; charset = "utf-8" (comment) ; format=flowed`, "text", "html", Params{{"charset", "utf-8"}, {"format", "flowed"}}, true},
		{`multipart/mixed; boundary="a\"b\\c"`, "multipart", "mixed", Params{{"boundary", `a"b\c`}}, true},
		// RFC 2231 3: continuations joined in number order
		{`application/pdf; name*1="b"; name*0="a"; name*3="d"`, "application", "pdf", Params{{"name", "ab"}}, true},
		{`application/pdf; name*0*=utf-8''%E2%82%AC; name*1=" x"`, "application", "pdf", Params{{"name*", "utf-8''%E2%82%AC%20x"}}, true},
		{"text", "", "", nil, false},
		{"", "", "", nil, false},
	}
	for _, tc := range tests {
		typ, sub, params, ok := ParseMediaType(tc.in)
		if typ != tc.typ || sub != tc.sub || ok != tc.ok || !reflect.DeepEqual(params, tc.params) {
			t.Errorf("ParseMediaType(%q) = %q %q %q %v; want %q %q %q %v", tc.in, typ, sub, params, ok, tc.typ, tc.sub, tc.params, tc.ok)
		}
	}
}

// TestParamsText decodes parameter values as a filter reads filenames.
func TestParamsText(t *testing.T) {
	tests := []struct {
		in, name, want string
		ok             bool
	}{
		{`attachment; filename="report.pdf"`, "filename", "report.pdf", true},
		{`attachment; FILENAME=report.pdf`, "filename", "report.pdf", true},
		// RFC 2231 4: charset and language, %-encoded octets
		{`attachment; filename*=iso-8859-1'de'M%FCller.exe`, "filename", "Müller.exe", true},
		{`attachment; filename*=UTF-8''%E2%82%AC%20rate.txt`, "filename", "€ rate.txt", true},
		// RFC 2231 4.1: continuations, encoded and not
		{`attachment; filename*0*=utf-8''bad%20; filename*1="file.e"; filename*2=xe`, "filename", "bad file.exe", true},
		{`attachment; filename*0="a"; filename*1="b.exe"`, "filename", "ab.exe", true},
		// the extended form wins over the plain one
		{`attachment; filename="safe.txt"; filename*=utf-8''evil.exe`, "filename", "evil.exe", true},
		// RFC 2047 words in a quoted value, as Outlook and Thunderbird write
		{`attachment; filename="=?UTF-8?B?w6l0w6kuZXhl?="`, "filename", "été.exe", true},
		{`attachment; filename*=x-unknown''a%41`, "filename", "aA", true},
		{`attachment; filename*=noquotes%41`, "filename", "noquotesA", true},
		{`attachment; filename*=utf-8''bad%4`, "filename", "bad%4", true},
		{`attachment`, "filename", "", false},
	}
	for _, tc := range tests {
		_, params := ParseDisposition(tc.in)
		if got, ok := params.Text(tc.name); got != tc.want || ok != tc.ok {
			t.Errorf("%q: Text(%q) = %q, %v; want %q, %v", tc.in, tc.name, got, ok, tc.want, tc.ok)
		}
	}
}

func TestQuotedString(t *testing.T) {
	for in, want := range map[string]struct {
		v string
		n int
	}{
		`"abc" rest`:      {"abc", 5},
		`"a\"b\\c"x`:      {`a"b\c`, 9},
		"\"fo\r\n lded\"": {"fo lded", 11},
		`"unterminated`:   {"unterminated", 13},
		`""`:              {"", 2},
		`"`:               {"", 1},
	} {
		if v, n := QuotedString(in); v != want.v || n != want.n {
			t.Errorf("QuotedString(%q) = %q, %d; want %q, %d", in, v, n, want.v, want.n)
		}
	}
}

func TestParseLanguage(t *testing.T) {
	for in, want := range map[string][]string{
		"en":                     {"en"},
		"en-US, fr (French), de": {"en-US", "fr", "de"},
		"":                       nil,
		",,;":                    nil,
	} {
		if got := ParseLanguage(in); !reflect.DeepEqual(got, want) {
			t.Errorf("ParseLanguage(%q) = %q, want %q", in, got, want)
		}
	}
}
