package imapmsg

import (
	"fmt"
	"strings"
	"testing"
)

// TestOddStructures checks BODY/BODYSTRUCTURE of degenerate messages.
func TestOddStructures(t *testing.T) {
	tests := []struct {
		name, raw, body string
	}{
		{"empty", "", `("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 0 0)`},
		{"no header", "\r\nbody\r\n", `("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 6 1)`},
		{"garbage", "\x00\xff\r\n\r\n\x01", `("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 1 1)`},
		{"bare LF", "Content-Type: multipart/mixed; boundary=b\n\n--b\n\none\ntwo\n--b\nContent-Type: text/html\n\n<p>\n--b--\n",
			`(("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 7 2)("TEXT" "HTML" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 3 1) "MIXED")`},
		{"multipart without boundary", "Content-Type: multipart/mixed\r\n\r\n--b\r\nx\r\n",
			`("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 8 2)`},
		{"multipart without parts", "Content-Type: multipart/mixed; boundary=b\r\n\r\nno delimiter here\r\n",
			`(("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 0 0) "MIXED")`},
		{"close delimiter only", "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b--\r\n",
			`(("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 0 0) "MIXED")`},
		{"empty parts", "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n--b\r\n\r\n--b--",
			`(("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 0 0)("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 0 0) "MIXED")`},
		{"delimiter with padding", "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b  \t\r\n\r\nx\r\n--b-- \r\n",
			`(("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 1 1) "MIXED")`},
		{"boundary prefix of another", "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: multipart/alternative; boundary=b-1\r\n\r\n--b-1\r\n\r\ninner\r\n--b-1--\r\n--b\r\n\r\nouter\r\n--b--\r\n",
			`((("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 5 1) "ALTERNATIVE")("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 5 1) "MIXED")`},
		{"unclosed inner multipart", "Content-Type: multipart/mixed; boundary=o\r\n\r\n--o\r\nContent-Type: multipart/mixed; boundary=i\r\n\r\n--i\r\n\r\ninner\r\n--o\r\n\r\nouter\r\n--o--\r\n",
			`((("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 5 1) "MIXED")("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 5 1) "MIXED")`},
		{"part without header", "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nhello: world\r\nsecond line\r\n--b\r\nno header\r\n\r\nat all\r\n--b--",
			`(("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 0 0)("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 19 3) "MIXED")`},
		{"message without body", "Content-Type: message/rfc822\r\n\r\n",
			`("MESSAGE" "RFC822" NIL NIL NIL "7BIT" 0 (NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL) ("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 0 0) 0)`},
		{"message/global", "Content-Type: message/global\r\n\r\nSubject: hi\r\n\r\nx",
			`("MESSAGE" "GLOBAL" NIL NIL NIL "7BIT" 16 (NIL "hi" NIL NIL NIL NIL NIL NIL NIL NIL) ("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 1 1) 3)`},
		{"text without charset", "Content-Type: text/html; name=x.html\r\n\r\n",
			`("TEXT" "HTML" ("CHARSET" "US-ASCII" "NAME" "x.html") NIL NIL "7BIT" 0 0)`},
		{"odd values", "Content-Type: application/x-\"q\"; name=\"a\\\\b\"\r\nContent-Transfer-Encoding: (c) Base64 (d)\r\nContent-ID:\r\n\r\nAA==",
			`("APPLICATION" "X-" ("NAME" "a\\b") NIL NIL "BASE64" 4)`},
		{"8-bit parameter", "Content-Type: application/pdf; name=\"r\xc3\xa9sum\xc3\xa9.pdf\"\r\n\r\n",
			"(\"APPLICATION\" \"PDF\" (\"NAME\" {12}\r\nr\xc3\xa9sum\xc3\xa9.pdf) NIL NIL \"7BIT\" 0)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := Parse([]byte(tc.raw))
			if got := bodyOf(m, false); got != tc.body {
				t.Errorf("got  %s\nwant %s", got, tc.body)
			}
			if err := checkValue(bodyOf(m, true), false, true); err != nil {
				t.Errorf("BODYSTRUCTURE: %v", err)
			}
			if err := checkValue(envelopeOf(m, false), true, false); err != nil {
				t.Errorf("ENVELOPE: %v", err)
			}
		})
	}
}

func TestEnvelopeCases(t *testing.T) {
	tests := []struct {
		name, header string
		utf8         bool
		want         string
	}{
		{"empty", "", false, `(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)`},
		{"empty fields", "Date:\r\nSubject:\r\nFrom:\r\nSender:\r\nTo: ,\r\nMessage-ID: \r\n", false,
			`("" "" NIL NIL NIL NIL NIL NIL NIL "")`},
		{"sender and reply-to empty", "From: a@b\r\nSender: \r\nReply-To: <>\r\n", false,
			`(NIL NIL ((NIL NIL "a" "b")) ((NIL NIL "a" "b")) ((NIL NIL "a" "b")) NIL NIL NIL NIL NIL)`},
		{"first field wins", "Subject: one\r\nSubject: two\r\nFrom: a@b\r\nFrom: c@d\r\n", false,
			`(NIL "one" ((NIL NIL "a" "b")) ((NIL NIL "a" "b")) ((NIL NIL "a" "b")) NIL NIL NIL NIL NIL)`},
		{"quotes escaped", "Subject: say \"hi\" \\o/\r\nFrom: \"Q \\\"uote\\\"\" <q@x>\r\n", false,
			`(NIL "say \"hi\" \\o/" (("Q \"uote\"" NIL "q" "x")) (("Q \"uote\"" NIL "q" "x")) (("Q \"uote\"" NIL "q" "x")) NIL NIL NIL NIL NIL)`},
		{"raw UTF-8 without UTF8", "Subject: caf\xc3\xa9\r\n", false,
			"(NIL {5}\r\ncaf\xc3\xa9 NIL NIL NIL NIL NIL NIL NIL NIL)"},
		{"raw UTF-8 with UTF8", "Subject: caf\xc3\xa9\r\n", true,
			"(NIL \"caf\xc3\xa9\" NIL NIL NIL NIL NIL NIL NIL NIL)"},
		{"encoded group name", "To: =?utf-8?q?T=C3=A9am?=: a@b;\r\n", true,
			"(NIL NIL NIL NIL NIL ((NIL NIL \"T\xc3\xa9am\" NIL)(NIL NIL \"a\" \"b\")(NIL NIL NIL NIL)) NIL NIL NIL NIL)"},
		{"encoded group name raw", "To: =?utf-8?q?T=C3=A9am?=: a@b;\r\n", false,
			`(NIL NIL NIL NIL NIL ((NIL NIL "=?utf-8?q?T=C3=A9am?=" NIL)(NIL NIL "a" "b")(NIL NIL NIL NIL)) NIL NIL NIL NIL)`},
		{"folded addresses", "To: A <a@b>,\r\n\tB\r\n <b@c>\r\nIn-Reply-To: <x@y>\r\n <z@w>\r\n", false,
			`(NIL NIL NIL NIL NIL (("A" NIL "a" "b")("B" NIL "b" "c")) NIL NIL "<x@y> <z@w>" NIL)`},
		{"field name with space before colon", "Subject : obsolete\r\n", false,
			`(NIL "obsolete" NIL NIL NIL NIL NIL NIL NIL NIL)`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := Parse([]byte(tc.header + "\r\nbody\r\n"))
			got := envelopeOf(m, tc.utf8)
			if got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
			if err := checkValue(got, true, false); err != nil {
				t.Error(err)
			}
		})
	}
}

// TestLimits checks that nesting and part counts are bounded.
func TestLimits(t *testing.T) {
	t.Run("nested messages", func(t *testing.T) {
		raw := strings.Repeat("Content-Type: message/rfc822\r\n\r\n", 200) + "Subject: deep\r\n\r\nbottom"
		m := Parse([]byte(raw))
		n, err := parseValue(bodyOf(m, true))
		if err != nil {
			t.Fatal(err)
		}
		count, err := checkBody(n, true)
		if err != nil || count != maxDepth+1 {
			t.Errorf("count %d, err %v; want %d bodies", count, err, maxDepth+1)
		}
		path := make([]uint32, 100)
		for i := range path {
			path[i] = 1
		}
		if d, ok := m.Section(path, "", nil); !ok || len(d) != 0 {
			t.Errorf("deep section = %q, %v", d, ok)
		}
	})
	t.Run("nested multiparts", func(t *testing.T) {
		var b strings.Builder
		for i := range 100 {
			fmt.Fprintf(&b, "Content-Type: multipart/mixed; boundary=b%d\r\n\r\n--b%d\r\n", i, i)
		}
		b.WriteString("\r\nleaf\r\n")
		m := Parse([]byte(b.String()))
		n, err := parseValue(bodyOf(m, false))
		if err != nil {
			t.Fatal(err)
		}
		if count, err := checkBody(n, false); err != nil || count != maxDepth+1 {
			t.Errorf("count %d, err %v", count, err)
		}
		if !m.BodyContains("leaf") {
			t.Error("leaf not found")
		}
	})
	t.Run("many parts", func(t *testing.T) {
		raw := "Content-Type: multipart/mixed; boundary=b\r\n\r\n" + strings.Repeat("--b\r\n\r\nx\r\n", 20000) + "--b--\r\n"
		m := Parse([]byte(raw))
		n, err := parseValue(bodyOf(m, false))
		if err != nil {
			t.Fatal(err)
		}
		if count, err := checkBody(n, false); err != nil || count > maxParts {
			t.Errorf("count %d, err %v", count, err)
		}
		if d, _ := m.Section([]uint32{maxParts - 1}, "", nil); string(d) != "x" {
			t.Errorf("part %d = %q", maxParts-1, d)
		}
		if d, _ := m.Section([]uint32{15000}, "", nil); len(d) != 0 {
			t.Errorf("part 15000 = %q", d)
		}
	})
}

// TestConcurrentUse runs the lazy parsing from several goroutines (run
// with -race).
func TestConcurrentUse(t *testing.T) {
	raw := load(t, "nested.eml")
	wantBody, wantEnv := bodyOf(Parse(raw), true), envelopeOf(Parse(raw), false)
	m := Parse(raw)
	done := make(chan bool)
	for i := range 8 {
		go func() {
			if i%2 == 0 {
				done <- bodyOf(m, true) == wantBody
			} else {
				done <- envelopeOf(m, false) == wantEnv && m.BodyContains("part 4.2.2.2")
			}
		}()
	}
	for range 8 {
		if !<-done {
			t.Error("concurrent result differs")
		}
	}
}
