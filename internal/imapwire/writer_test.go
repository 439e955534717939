package imapwire

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestWriter(t *testing.T) {
	date := time.Date(1996, 7, 17, 2, 44, 25, 0, time.FixedZone("", -7*3600))
	cases := []struct {
		name  string
		utf8  bool
		write func(w *Writer)
		want  string
	}{
		{"tagged ok", false, func(w *Writer) { w.Status("a1", "OK", "", "LOGIN completed") }, "a1 OK LOGIN completed\r\n"},
		{"untagged code", false, func(w *Writer) { w.Status("", "OK", "UIDVALIDITY 3857529045", "UIDs valid") },
			"* OK [UIDVALIDITY 3857529045] UIDs valid\r\n"},
		{"empty text", false, func(w *Writer) { w.Status("a", "NO", "TRYCREATE", "") }, "a NO [TRYCREATE] done\r\n"},
		{"text injection", false, func(w *Writer) { w.Status("a", "BAD", "", "x\r\n* BYE") }, "a BAD x  * BYE\r\n"},
		{"text bracket", false, func(w *Writer) { w.Status("a", "NO", "", "[weird]") }, "a NO -[weird]\r\n"},
		{"continuation", false, func(w *Writer) { w.Continuation("idling") }, "+ idling\r\n"},
		{"exists", false, func(w *Writer) { w.Untagged().Num(172).Atom("EXISTS").End() }, "* 172 EXISTS\r\n"},
		{"fetch", false, func(w *Writer) {
			w.Untagged().Num(12).Atom("FETCH").Open().Atom("UID").Num(5).Atom("FLAGS").Flags([]string{`\Seen`, "$Forwarded"}).
				Atom("MODSEQ").Open().Num64(1 << 40).Close().Atom("INTERNALDATE").DateTime(date).
				Atom("BODY[]<0>").Literal([]byte("ab\r\n")).Close().End()
		}, "* 12 FETCH (UID 5 FLAGS (\\Seen $Forwarded) MODSEQ (1099511627776) INTERNALDATE \"17-Jul-1996 02:44:25 -0700\" BODY[]<0> {4}\r\nab\r\n)\r\n"},
		{"empty flags", false, func(w *Writer) { w.Untagged().Atom("FLAGS").Flags(nil).End() }, "* FLAGS ()\r\n"},
		{"strings", false, func(w *Writer) {
			w.Untagged().String("plain").String(`q"b\s`).String("").String("crlf\r\n").String("ünï").End()
		}, "* \"plain\" \"q\\\"b\\\\s\" \"\" {6}\r\ncrlf\r\n {5}\r\nünï\r\n"},
		{"utf8 quoted", true, func(w *Writer) { w.Untagged().String("ünï").String("\xff").End() }, "* \"ünï\" {1}\r\n\xff\r\n"},
		{"long string literal", false, func(w *Writer) { w.Untagged().String(strings.Repeat("a", 1025)).End() },
			"* {1025}\r\n" + strings.Repeat("a", 1025) + "\r\n"},
		{"nstring", false, func(w *Writer) { w.Untagged().NString("x", true).NString("", false).NIL().End() }, "* \"x\" NIL NIL\r\n"},
		{"astring", false, func(w *Writer) { w.Untagged().AString("foo").AString("a b").AString("nil").AString("").End() },
			"* foo \"a b\" \"nil\" \"\"\r\n"},
		{"list mailbox", false, func(w *Writer) {
			w.Untagged().Atom("LIST").List(`\HasNoChildren`, `\Drafts`).String("/").Mailbox("Entwürfe").End()
			w.Untagged().Atom("LIST").List().String("/").Mailbox("inbox").End()
			w.Untagged().Atom("LIST").List().NIL().Mailbox("A B&C").End()
		}, "* LIST (\\HasNoChildren \\Drafts) \"/\" Entw&APw-rfe\r\n* LIST () \"/\" INBOX\r\n* LIST () NIL \"A B&-C\"\r\n"},
		{"mailbox utf8", true, func(w *Writer) { w.Untagged().Atom("LIST").List().String("/").Mailbox("Entwürfe").End() },
			"* LIST () \"/\" \"Entwürfe\"\r\n"},
		{"seqset", false, func(w *Writer) {
			w.Tagged("a").Atom("OK").Text("COPYUID 38505 "+NewSeqSet(304, 319, 320).String()+" "+NewSeqSet(3956, 3957, 3958).String(), "Done").End()
		}, "a OK [COPYUID 38505 304,319:320 3956:3958] Done\r\n"},
		{"esearch", false, func(w *Writer) {
			w.Untagged().Atom("ESEARCH").Open().Atom("TAG").String("a").Close().Atom("UID").Atom("ALL").SeqSet(NewSeqSet(1, 2, 3, 7)).End()
		}, "* ESEARCH (TAG \"a\") UID ALL 1:3,7\r\n"},
		{"literal from", false, func(w *Writer) {
			w.Untagged().Num(1).Atom("FETCH").Open().Atom("BINARY[1]").LiteralFrom(strings.NewReader("a\x00b"), 3, true).Close().End()
		}, "* 1 FETCH (BINARY[1] ~{3}\r\na\x00b)\r\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			w := NewWriter(&buf)
			w.UTF8 = tc.utf8
			tc.write(w)
			if err := w.Flush(); err != nil {
				t.Fatal(err)
			}
			if buf.String() != tc.want {
				t.Fatalf("got  %q\nwant %q", buf.String(), tc.want)
			}
		})
	}
}

func TestWriterErrors(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf)
	w.Untagged().Atom("X\r\nY").End()
	if !errors.Is(w.Flush(), ErrInvalidToken) {
		t.Fatalf("atom with CRLF: %v", w.Err())
	}
	w = NewWriter(&buf)
	w.Untagged().LiteralFrom(strings.NewReader("ab"), 5, false)
	if w.Err() == nil {
		t.Fatal("short literal not reported")
	}
}

// TestWriterRoundTrip: strings the Writer emits parse back to themselves.
func TestWriterRoundTrip(t *testing.T) {
	for _, s := range []string{"plain", "", `a"b\c`, "line\r\nbreak", "ünï", "NIL", "x y", strings.Repeat("z", 3000)} {
		var buf bytes.Buffer
		w := NewWriter(&buf)
		w.Tagged("a").Atom("LOGIN").AString(s).String(s).End()
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		r, _ := newTestReader(buf.String())
		r.MaxArgLiteral = 1 << 20
		r.MaxCommand = 1 << 20
		c, err := r.ReadCommand()
		if err != nil {
			t.Fatalf("%.40q: %v", s, err)
		}
		if a := c.Args.(*LoginArgs); a.Username != s || a.Password != s {
			t.Fatalf("%.40q: got %.40q %.40q", s, a.Username, a.Password)
		}
	}
}
