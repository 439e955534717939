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
			_, used, _ := readHeader(strings.NewReader(msg))
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
