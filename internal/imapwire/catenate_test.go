package imapwire

import (
	"errors"
	"io"
	"strings"
	"testing"
)

// readParts reads the CATENATE parts of the current message: URLs as
// "URL x", texts as "TEXT data" ("TEXT8" for literal8).
func readParts(t *testing.T, r *Reader) []string {
	t.Helper()
	var got []string
	for {
		p, err := r.NextPart()
		if err != nil {
			t.Fatalf("NextPart after %q: %v", got, err)
		}
		switch {
		case p == nil:
			return got
		case p.Text != nil:
			b, err := io.ReadAll(p.Text)
			if err != nil {
				t.Fatal(err)
			}
			kind := "TEXT "
			if p.Text.Binary {
				kind = "TEXT8 "
			}
			got = append(got, kind+string(b))
		default:
			got = append(got, "URL "+p.URL)
		}
	}
}

// TestCatenate: the RFC 4469 3 example, then a MULTIAPPEND mixing a
// CATENATE message with a literal one and a literal8 TEXT part.
func TestCatenate(t *testing.T) {
	in := "A003 APPEND Drafts (\\Seen \\Draft $MDNSent) CATENATE (URL \"/Drafts;UIDVALIDITY=385759045/;UID=20/;section=HEADER\" TEXT {42}\r\n" +
		"\r\n--------------030308070208000400050907\r\n URL \"/Drafts;UIDVALIDITY=385759045/;UID=20/;section=1.MIME\" URL \"/Drafts;UIDVALIDITY=385759045/;UID=20/;section=1\" TEXT {42}\r\n" +
		"\r\n--------------030308070208000400050907\r\n URL \"/Drafts;UIDVALIDITY=385759045/;UID=30\" TEXT {44}\r\n" +
		"\r\n--------------030308070208000400050907--\r\n)\r\n" +
		"a2 APPEND INBOX CATENATE (TEXT ~{3+}\r\na\x00b url {6+}\r\n;UID=1) (\\Seen) {2+}\r\nxy CATENATE (TEXT {0+}\r\n)\r\n" +
		"a3 NOOP\r\n"
	r, out := newTestReader(in)
	c, err := r.ReadCommand()
	if err != nil {
		t.Fatal(err)
	}
	a := c.Args.(*AppendArgs)
	if !a.Catenate || a.Message != nil || a.Mailbox != "Drafts" || len(a.Flags) != 3 {
		t.Fatalf("A003: %+v", a)
	}
	sep := "\r\n--------------030308070208000400050907\r\n"
	want := []string{"URL /Drafts;UIDVALIDITY=385759045/;UID=20/;section=HEADER", "TEXT " + sep,
		"URL /Drafts;UIDVALIDITY=385759045/;UID=20/;section=1.MIME", "URL /Drafts;UIDVALIDITY=385759045/;UID=20/;section=1",
		"TEXT " + sep, "URL /Drafts;UIDVALIDITY=385759045/;UID=30", "TEXT \r\n--------------030308070208000400050907--\r\n"}
	if got := readParts(t, r); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("parts\n%q\nwant\n%q", got, want)
	}
	if out.String() != cont+cont+cont {
		t.Fatalf("continuations %q", out.String())
	}
	if m, err := r.NextAppend("A003", "Drafts"); m != nil || err != nil {
		t.Fatalf("NextAppend: %v %v", m, err)
	}
	if err := r.EndAppend(); err != nil {
		t.Fatal(err)
	}

	c, err = r.ReadCommand()
	if err != nil || !c.Args.(*AppendArgs).Catenate {
		t.Fatalf("a2: %v %v", c, err)
	}
	if got := readParts(t, r); strings.Join(got, "|") != "TEXT8 a\x00b|URL ;UID=1" {
		t.Fatalf("a2 parts %q", got)
	}
	m, err := r.NextAppend("a2", "INBOX")
	if err != nil || m == nil || m.Catenate || len(m.Flags) != 1 {
		t.Fatalf("a2 second: %+v %v", m, err)
	}
	// The third message's parts are read by NextAppend when the caller
	// leaves them (and the second's literal) unread.
	if m, err = r.NextAppend("a2", "INBOX"); err != nil || m == nil || !m.Catenate {
		t.Fatalf("a2 third: %+v %v", m, err)
	}
	if m, err = r.NextAppend("a2", "INBOX"); err != nil || m != nil {
		t.Fatalf("a2 end: %+v %v", m, err)
	}
	if c, err = r.ReadCommand(); err != nil || c.Tag != "a3" {
		t.Fatalf("a3: %v %v", c, err)
	}
}

func TestCatenateErrors(t *testing.T) {
	many := "a APPEND INBOX CATENATE (" + strings.Repeat("TEXT {0+}\r\n ", MaxCatParts) + "URL x)\r\n"
	for _, tc := range []struct{ in, want string }{
		{"a APPEND INBOX CATENATE ()\r\n", "expected TEXT or URL"},
		{"a APPEND INBOX CATENATE (FOO x)\r\n", "expected TEXT or URL, got FOO"},
		{"a APPEND INBOX CATENATE (TEXT \"abc\")\r\n", "expected literal"},
		{"a APPEND INBOX CATENATE (URL \"\")\r\n", "empty URL"},
		{"a APPEND INBOX CATENATE (URL x\r\n", "missing argument"},
		{"a APPEND INBOX CATENATE (URL x))\r\n", "unexpected ')'"},
		{"a APPEND INBOX CATENATEX (URL x)\r\n", "got CATENATEX"},
		{"a APPEND INBOX CATENATE URL x\r\n", "expected '('"},
		{many, "too many CATENATE parts"},
	} {
		r, _ := newTestReader(tc.in + "b NOOP\r\n")
		var err error
		if c, rerr := r.ReadCommand(); rerr != nil {
			err = rerr
		} else {
			_ = c
			for err == nil {
				var p *CatPart
				if p, err = r.NextPart(); p == nil && err == nil {
					err = r.EndAppend()
					break
				}
			}
		}
		var pe *ParseError
		if !errors.As(err, &pe) || !strings.Contains(pe.Msg, tc.want) || pe.Close {
			t.Errorf("%.60q: %v, want %q", tc.in, err, tc.want)
			continue
		}
		if c, err := r.ReadCommand(); err != nil || c.Tag != "b" {
			t.Errorf("%.60q: next command %v %v", tc.in, c, err)
		}
	}
}

// TestCatenateRefusals: a TEXT part refused by CheckText or over the
// limit is not asked for; SkipAppend resynchronises after a refused URL.
func TestCatenateRefusals(t *testing.T) {
	errBig := errors.New("too big together")
	r, out := newTestReader("a APPEND INBOX CATENATE (TEXT {3}\r\nabc TEXT {5}\r\n" +
		"b APPEND INBOX CATENATE (TEXT {5+}\r\n12345 TEXT {2+}\r\nxx)\r\nc NOOP\r\n")
	var boxes []string
	r.CheckAppend = func(tag, mailbox string, size int64) error {
		boxes = append(boxes, tag+" "+mailbox)
		if size != 0 {
			t.Errorf("CheckAppend size %d for CATENATE", size)
		}
		return nil
	}
	total := int64(0)
	r.CheckText = func(tag string, size int64) error {
		if total += size; total > 4 {
			return errBig
		}
		return nil
	}
	if _, err := r.ReadCommand(); err != nil {
		t.Fatal(err)
	}
	readOne := func() error {
		p, err := r.NextPart()
		if err == nil && p != nil && p.Text != nil {
			io.Copy(io.Discard, p.Text)
		}
		return err
	}
	if err := readOne(); err != nil {
		t.Fatal(err)
	}
	var pe *ParseError
	if err := readOne(); !errors.As(err, &pe) || !errors.Is(err, errBig) || pe.Tag != "a" {
		t.Fatalf("second TEXT: %v", err)
	}
	if out.String() != cont {
		t.Fatalf("continuations %q", out.String())
	}
	if err := r.EndAppend(); err != nil {
		t.Fatalf("EndAppend after a refusal: %v", err)
	}
	total = 0
	c, err := r.ReadCommand()
	if err != nil || c.Tag != "b" {
		t.Fatalf("b: %v %v", c, err)
	}
	if err := readOne(); !errors.Is(err, errBig) {
		t.Fatalf("b: %v", err)
	}
	if c, err = r.ReadCommand(); err != nil || c.Tag != "c" || strings.Join(boxes, ",") != "a INBOX,b INBOX" {
		t.Fatalf("c: %v %v %q", c, err, boxes)
	}

	// SkipAppend after a URL: the synchronizing literal that follows is
	// never asked for; a non-synchronizing one is skipped.
	for _, rest := range []string{" TEXT {5}\r\n", " TEXT {5+}\r\nhello URL y) {3+}\r\nabc\r\n"} {
		r, out := newTestReader("a APPEND INBOX CATENATE (URL x" + rest + "b NOOP\r\n")
		if _, err := r.ReadCommand(); err != nil {
			t.Fatal(err)
		}
		if p, err := r.NextPart(); err != nil || p.URL != "x" {
			t.Fatalf("%q: %v %v", rest, p, err)
		}
		if err := r.SkipAppend(); err != nil {
			t.Fatal(err)
		}
		if c, err := r.ReadCommand(); err != nil || c.Tag != "b" || out.Len() != 0 {
			t.Fatalf("%q: after SkipAppend %v %v %q", rest, c, err, out.String())
		}
	}
}

func TestParseSection(t *testing.T) {
	for in, want := range map[string]string{
		"1.2.MIME": "1.2.MIME", "header": "HEADER", "HEADER.FIELDS (To From)": "HEADER.FIELDS (To From)",
		"3": "3", "1.TEXT": "1.TEXT",
	} {
		if s, err := ParseSection(in); err != nil || s.String() != want {
			t.Errorf("ParseSection(%q) = %q, %v", in, s.String(), err)
		}
	}
	for _, in := range []string{"0", "MIME", "1.FOO", "HEADER.FIELDS", "1]", "1 x", "HEADER.FIELDS (a) x", "HEADER.FIELDS {1}\r\na"} {
		if s, err := ParseSection(in); err == nil {
			t.Errorf("ParseSection(%q) = %+v", in, s)
		}
	}
}
