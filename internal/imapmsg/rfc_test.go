package imapmsg

import (
	"strings"
	"testing"
)

// lines of n octets (CRLF included) joined; the last one has no CRLF when
// last > 0 (a part's content before a delimiter).
func filler(n, size, last int) string {
	line := strings.Repeat("x", size-2) + "\r\n"
	s := strings.Repeat(line, n)
	if last > 0 {
		s += strings.Repeat("y", last)
	}
	return s
}

// rfc3501Message is the message of the FETCH example in RFC 3501 7.4.2
// (also RFC 9051 7.5.2): 92 lines, 3028 octets of text.
func rfc3501Message() string {
	return crlf(`Date: Wed, 17 Jul 1996 02:23:25 -0700 (PDT)
From: Terry Gray <gray@cac.washington.edu>
Subject: IMAP4rev1 WG mtg summary and minutes
To: imap@cac.washington.edu
cc: minutes@CNRI.Reston.VA.US, John Klensin <KLENSIN@MIT.EDU>
Message-Id: <B27397-0100000@cac.washington.edu>
MIME-Version: 1.0
Content-Type: TEXT/PLAIN; CHARSET=US-ASCII

`) + filler(84, 33, 0) + filler(8, 32, 0)
}

// rfc3501Multipart is a message with the BODYSTRUCTURE of the example in
// RFC 3501 7.4.2.
func rfc3501Multipart() string {
	return crlf(`From: Terry Gray <gray@cac.washington.edu>
Content-Type: MULTIPART/MIXED; BOUNDARY="--=b"

----=b
Content-Type: TEXT/PLAIN; CHARSET=US-ASCII

`) + filler(22, 52, 8) + crlf(`
----=b
Content-Type: TEXT/PLAIN; CHARSET=US-ASCII; NAME=cc.diff
Content-ID: <960723163407.20117h@cac.washington.edu>
Content-Description: Compiled diff
Content-Transfer-Encoding: BASE64

`) + filler(72, 63, 18) + crlf(`
----=b--
`)
}

// TestRFCExamples checks the ENVELOPE, BODY and BODYSTRUCTURE examples of
// RFC 3501 7.4.2 / RFC 9051 7.5.2 (their line wrapping removed: the
// grammar has no space between addresses or bodies).
func TestRFCExamples(t *testing.T) {
	m := Parse([]byte(rfc3501Message()))
	tests := []struct{ name, got, want string }{
		{"envelope", envelopeOf(m, false), `("Wed, 17 Jul 1996 02:23:25 -0700 (PDT)" ` +
			`"IMAP4rev1 WG mtg summary and minutes" ` +
			`(("Terry Gray" NIL "gray" "cac.washington.edu")) ` +
			`(("Terry Gray" NIL "gray" "cac.washington.edu")) ` +
			`(("Terry Gray" NIL "gray" "cac.washington.edu")) ` +
			`((NIL NIL "imap" "cac.washington.edu")) ` +
			`((NIL NIL "minutes" "CNRI.Reston.VA.US")("John Klensin" NIL "KLENSIN" "MIT.EDU")) NIL NIL ` +
			`"<B27397-0100000@cac.washington.edu>")`},
		{"body", bodyOf(m, false), `("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 3028 92)`},
		{"bodystructure", bodyOf(m, true), `("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 3028 92 NIL NIL NIL NIL)`},
		{"multipart body", bodyOf(Parse([]byte(rfc3501Multipart())), false),
			`(("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 1152 23)` +
				`("TEXT" "PLAIN" ("CHARSET" "US-ASCII" "NAME" "cc.diff") ` +
				`"<960723163407.20117h@cac.washington.edu>" "Compiled diff" "BASE64" 4554 73) "MIXED")`},
		{"multipart bodystructure", bodyOf(Parse([]byte(rfc3501Multipart())), true),
			`(("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 1152 23 NIL NIL NIL NIL)` +
				`("TEXT" "PLAIN" ("CHARSET" "US-ASCII" "NAME" "cc.diff") ` +
				`"<960723163407.20117h@cac.washington.edu>" "Compiled diff" "BASE64" 4554 73 NIL NIL NIL NIL) ` +
				`"MIXED" ("BOUNDARY" "--=b") NIL NIL NIL)`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.got != tc.want {
				t.Errorf("got  %s\nwant %s", tc.got, tc.want)
			}
		})
	}
	if m.Size() != int64(len(rfc3501Message())) {
		t.Errorf("Size = %d", m.Size())
	}
}

// TestGrammarChecker makes sure the test grammar rejects what it must.
func TestGrammarChecker(t *testing.T) {
	tests := []struct {
		s        string
		env, ext bool
		ok       bool
	}{
		{`(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)`, true, false, true},
		{`(NIL NIL ((NIL NIL "a" "b") (NIL NIL "c" "d")) NIL NIL NIL NIL NIL NIL NIL)`, true, false, false},
		{`(NIL NIL ((NIL NIL "g" NIL)) NIL NIL NIL NIL NIL NIL NIL)`, true, false, false},
		{`(NIL NIL () NIL NIL NIL NIL NIL NIL NIL)`, true, false, false},
		{`(("TEXT" "PLAIN" NIL NIL NIL "7BIT" 1 1) ("TEXT" "PLAIN" NIL NIL NIL "7BIT" 1 1) "MIXED")`, false, false, false},
		{`(("TEXT" "PLAIN" NIL NIL NIL "7BIT" 1 1)("TEXT" "PLAIN" NIL NIL NIL "7BIT" 1 1) "MIXED")`, false, false, true},
		{`("TEXT" "PLAIN" NIL NIL NIL "7BIT" 1)`, false, false, false},
		{`("TEXT" "PLAIN" ("A") NIL NIL "7BIT" 1 1)`, false, false, false},
		{`("TEXT" "PLAIN" NIL NIL NIL "7BIT" 1 1 NIL NIL NIL NIL)`, false, false, false},
		{`("TEXT" "PLAIN" NIL NIL NIL "7BIT" 1 1 NIL NIL NIL NIL)`, false, true, true},
		{`("TEXT" "PLAIN" NIL NIL NIL {4}` + "\r\n" + `7BIT 1 1)`, false, false, true},
		{`("TEXT"  "PLAIN" NIL NIL NIL "7BIT" 1 1)`, false, false, false},
	}
	for _, tc := range tests {
		if err := checkValue(tc.s, tc.env, tc.ext); (err == nil) != tc.ok {
			t.Errorf("%s: err %v, want ok=%v", tc.s, err, tc.ok)
		}
	}
}
