package delivery

import (
	"bytes"
	"io"
	"strings"
	"testing"

	"mailwarden/internal/envelope"
)

type memBody []byte

func (b memBody) Reader() io.Reader { return bytes.NewReader(b) }
func (b memBody) Size() int64       { return int64(len(b)) }

// onlyReader hides Seek, so Compose must skip by reading.
type onlyReader struct{ memBody }

func (b onlyReader) Reader() io.Reader { return io.MultiReader(bytes.NewReader(b.memBody)) }

func TestCompose(t *testing.T) {
	const trace = "Received: by us\r\n"
	const msg = "Subject: hi\r\nX-A: 1\r\n folded\r\nx-a: 2\r\nTo: b@x\r\n\r\nX-A: body, not header\r\n"
	for _, tc := range []struct {
		name  string
		body  string
		edits []envelope.HeaderEdit
		want  string
	}{
		{"none", msg, nil, trace + msg},
		{"prepend goes above the trace", msg, []envelope.HeaderEdit{{Op: envelope.Prepend, Field: "X-P: 1"}, {Op: envelope.Prepend, Field: "X-P: 2"}},
			"X-P: 1\r\nX-P: 2\r\n" + trace + msg},
		{"append ends the header", msg, []envelope.HeaderEdit{{Op: envelope.Append, Field: "X-E: 1"}},
			trace + "Subject: hi\r\nX-A: 1\r\n folded\r\nx-a: 2\r\nTo: b@x\r\nX-E: 1\r\n\r\nX-A: body, not header\r\n"},
		{"remove every field of the name, folded lines too", msg, []envelope.HeaderEdit{{Op: envelope.Remove, Name: "X-A"}},
			trace + "Subject: hi\r\nTo: b@x\r\n\r\nX-A: body, not header\r\n"},
		{"remove never touches the trace", msg, []envelope.HeaderEdit{{Op: envelope.Remove, Name: "Received"}}, trace + msg},
		{"replace", msg, []envelope.HeaderEdit{{Op: envelope.Replace, Name: "subject", Field: "Subject: [SPAM] hi"}},
			trace + "X-A: 1\r\n folded\r\nx-a: 2\r\nTo: b@x\r\nSubject: [SPAM] hi\r\n\r\nX-A: body, not header\r\n"},
		{"edits apply in order", msg, []envelope.HeaderEdit{{Op: envelope.Append, Field: "X-S: 1"}, {Op: envelope.Remove, Name: "X-S"}},
			trace + msg},
		{"a value cannot add a field or end the header", msg, []envelope.HeaderEdit{{Op: envelope.Append, Field: "X-V: a\r\nBcc: evil\n\r\nbody\x00"}},
			trace + "Subject: hi\r\nX-A: 1\r\n folded\r\nx-a: 2\r\nTo: b@x\r\nX-V: a\r\n Bcc: evil\r\n body\r\n\r\nX-A: body, not header\r\n"},
		{"no body", "Subject: hi\r\n", []envelope.HeaderEdit{{Op: envelope.Append, Field: "X-E: 1"}},
			trace + "Subject: hi\r\nX-E: 1\r\n"},
		{"no header", "\r\nbody\r\n", []envelope.HeaderEdit{{Op: envelope.Append, Field: "X-E: 1"}},
			trace + "X-E: 1\r\n\r\nbody\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := &envelope.Envelope{Header: tc.edits}
			for _, body := range []Body{memBody(tc.body), onlyReader{memBody(tc.body)}} {
				c, err := Compose(env, []byte(trace), body)
				if err != nil {
					t.Fatal(err)
				}
				got, _ := io.ReadAll(c.Reader())
				if string(got) != tc.want {
					t.Errorf("got\n%q\nwant\n%q", got, tc.want)
				}
				if c.Size() != int64(len(got)) {
					t.Errorf("Size %d, read %d", c.Size(), len(got))
				}
				again, _ := io.ReadAll(c.Reader())
				if !bytes.Equal(again, got) {
					t.Errorf("second read differs")
				}
			}
		})
	}
}

// TestComposeTrickyHeaders applies each edit to headers that an ad-hoc
// reader gets wrong: folding, repeated and oddly cased names, lines that
// are not fields, a header without its empty line, no header at all.
func TestComposeTrickyHeaders(t *testing.T) {
	const trace = "Received: by us\r\n"
	rm := func(name string) []envelope.HeaderEdit {
		return []envelope.HeaderEdit{{Op: envelope.Remove, Name: name}}
	}
	repl := func(name, field string) []envelope.HeaderEdit {
		return []envelope.HeaderEdit{{Op: envelope.Replace, Name: name, Field: field}}
	}
	app := []envelope.HeaderEdit{{Op: envelope.Append, Field: "X-E: 1"}}
	pre := []envelope.HeaderEdit{{Op: envelope.Prepend, Field: "X-P: 1"}}
	big := "X-Big: " + strings.Repeat("b", maxEditHeader) + "\r\nSubject: past the limit\r\n\r\nbody"
	for _, tc := range []struct {
		name  string
		body  string
		edits []envelope.HeaderEdit
		want  string
	}{
		{"folded field removed whole", "Subject: hi\r\nX-Spam: yes\r\n\tvery\r\n  much\r\nTo: b\r\n\r\nbody", rm("x-spam"),
			"Subject: hi\r\nTo: b\r\n\r\nbody"},
		{"folded with bare LF", "X: a\n b\nY: c\n\nX: body\n", rm("X"), "Y: c\n\nX: body\n"},
		{"every occurrence, any case, blank before colon", "X-A: 1\r\nx-a: 2\r\nFrom: f\r\nX-A : 3\r\nX-AB: keep\r\n\r\n", rm("X-A"),
			"From: f\r\nX-AB: keep\r\n\r\n"},
		{"replace every occurrence", "Subject: a\r\nSUBJECT: b\r\n\r\nbody", repl("Subject", "Subject: c"), "Subject: c\r\n\r\nbody"},
		{"only ASCII letters fold", "K: 1\r\n\r\n", rm("\u212a"), "K: 1\r\n\r\n"},
		{"replace with no header", "\r\nbody\r\n", repl("Subject", "Subject: new"), "Subject: new\r\n\r\nbody\r\n"},
		{"replace on a body without header", "just text\r\nX: not a field here\r\n", repl("X", "X: new"),
			"X: new\r\n\r\njust text\r\nX: not a field here\r\n"},
		{"remove on a body without header", " indented\r\n\r\nmore", rm("X"), "\r\n indented\r\n\r\nmore"},
		{"replace on an empty message", "", repl("Subject", "Subject: new"), "Subject: new\r\n"},
		{"replace the last field, no empty line", "A: 1\r\nSubject: old", repl("subject", "Subject: new"), "A: 1\r\nSubject: new\r\n"},
		{"append after a field without line end", "A: 1\r\nB: 2", app, "A: 1\r\nB: 2\r\nX-E: 1\r\n"},
		{"prepend ends a field without line end", "A: 1", pre, ""},
		{"body-less, bare LF", "Subject: a\nTo: b\n", rm("subject"), "To: b\n"},
		{"a line that is not a field stays", "From: a\r\ngarbage\r\nSubject: s\r\n\r\nb", repl("Subject", "Subject: new"),
			"From: a\r\ngarbage\r\nSubject: new\r\n\r\nb"},
		{"header past the limit", "A: 1\r\n" + big, append(rm("a"), app...), "X-E: 1\r\n" + big},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := trace + tc.want
			if tc.edits[0].Op == envelope.Prepend {
				want = "X-P: 1\r\n" + trace + tc.body + "\r\n"
			}
			for _, body := range []Body{memBody(tc.body), onlyReader{memBody(tc.body)}} {
				c, err := Compose(&envelope.Envelope{Header: tc.edits}, []byte(trace), body)
				if err != nil {
					t.Fatal(err)
				}
				got, _ := io.ReadAll(c.Reader())
				if string(got) != want {
					t.Errorf("got\n%.200q\nwant\n%.200q", got, want)
				}
				if c.Size() != int64(len(got)) {
					t.Errorf("Size %d, read %d", c.Size(), len(got))
				}
			}
		})
	}
}

// FuzzCompose: whatever the message and the edit, the copy is the
// message's bytes with only whole header fields changed: the body after
// the header is kept byte for byte, Size is exact, and a written field is
// one field (folded lines only, CRLF, no NUL), so it never escapes the header.
func FuzzCompose(f *testing.F) {
	f.Add("Subject: hi\r\nX-A: 1\r\n\r\nbody\r\n", "X-A", "X-B: v")
	f.Add("Subject: hi\r\n folded\r\n", "subject", "S: a\r\nb")
	f.Add("\r\n\r\n", "", "")
	f.Add("no header line\r\nX: y\r\n\r\n", "X", "X: z")
	f.Add(strings.Repeat("A", 5000)+": x\r\n\r\nb", "a", "Y: 1\n\n")
	f.Add("A: 1\r\nB: 2", "b", "B: 3")
	f.Add("A: 1\n folded\nA: 2\n\nA: body\n", "a", "A: x")
	f.Add("body only\r\n", "x", "X: 1")
	f.Fuzz(func(t *testing.T, msg, name, field string) {
		for op := envelope.Prepend; op <= envelope.Replace; op++ {
			env := &envelope.Envelope{Header: []envelope.HeaderEdit{{Op: op, Name: name, Field: field}}}
			c, err := Compose(env, []byte("Received: x\r\n"), memBody(msg))
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(c.Reader())
			if err != nil {
				t.Fatal(err)
			}
			if int64(len(got)) != c.Size() {
				t.Fatalf("Size %d, read %d", c.Size(), len(got))
			}
			_, used, _, _ := readHeader(strings.NewReader(msg))
			if !bytes.HasSuffix(got, []byte(msg[used:])) {
				t.Fatalf("rest of the message changed: %q -> %q", msg, got)
			}
		}
		if fb := fieldBytes(field); fb != nil {
			lines := strings.Split(strings.TrimSuffix(string(fb), "\r\n"), "\r\n")
			for i, l := range lines {
				if strings.ContainsAny(l, "\r\n\x00") || i > 0 && l[0] != ' ' && l[0] != '\t' || strings.TrimSpace(l) == "" {
					t.Fatalf("unsafe field %q from %q", fb, field)
				}
			}
			if !bytes.HasSuffix(fb, []byte("\r\n")) {
				t.Fatalf("field %q does not end in CRLF", fb)
			}
		}
	})
}
