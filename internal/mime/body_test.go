package mime

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

// readerBody can only be read, as a spool held in a file.
type readerBody struct{ b []byte }

func (r readerBody) Reader() io.Reader { return io.MultiReader(bytes.NewReader(r.b)) }
func (r readerBody) Size() int64       { return int64(len(r.b)) }

// memBody also gives its bytes, as a spool held in memory.
type memBody struct{ readerBody }

func (m memBody) Bytes() []byte { return m.b }

// liar claims more than it holds.
type liar struct{ readerBody }

func (l liar) Size() int64 { return int64(len(l.b)) + 10 }

func TestReadBody(t *testing.T) {
	raw := []byte(sample)
	for name, b := range map[string]Body{"reader": readerBody{raw}, "bytes": memBody{readerBody{raw}}} {
		m, err := ReadBody(b, int64(len(raw)))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !bytes.Equal(m.Bytes(), raw) || m.Root().Parts()[1].Filename() != "résumé.pdf" {
			t.Errorf("%s: parsed %d octets, filename %q", name, len(m.Bytes()), m.Root().Parts()[1].Filename())
		}
		shared := &m.Bytes()[0] == &raw[0]
		if _, inMemory := b.(memBody); shared != inMemory {
			t.Errorf("%s: bytes shared %v", name, shared)
		}
	}
	if _, err := ReadBody(readerBody{raw}, int64(len(raw))-1); !errors.Is(err, ErrTooLarge) {
		t.Errorf("over the limit: %v", err)
	}
	if _, err := ReadBody(liar{readerBody{raw}}, 0); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("short body: %v", err)
	}
	if m, err := ReadBody(readerBody{nil}, 10); err != nil || m.Size() != 0 || m.Root().MediaType() != "text/plain" {
		t.Errorf("empty body: %v", err)
	}
}

// countingBody counts how often it is read.
type countingBody struct {
	readerBody
	reads int
}

func (c *countingBody) Reader() io.Reader { c.reads++; return c.readerBody.Reader() }

func TestSharedBody(t *testing.T) {
	cb := &countingBody{readerBody: readerBody{[]byte(sample)}}
	sb := Shared(cb)
	m1, err := ReadBody(sb, 0)
	if err != nil {
		t.Fatal(err)
	}
	m2, err := ReadBody(sb, int64(len(sample)))
	if err != nil || m2 != m1 || cb.reads != 1 {
		t.Errorf("second ReadBody: same message %v, err %v, %d reads", m2 == m1, err, cb.reads)
	}
	if _, err := ReadBody(sb, 10); !errors.Is(err, ErrTooLarge) {
		t.Errorf("a caller's limit: %v", err)
	}
	if r, _ := io.ReadAll(sb.Reader()); string(r) != sample || sb.Size() != int64(len(sample)) {
		t.Error("the shared body does not stream the message")
	}
	bad := Shared(liar{readerBody{[]byte(sample)}})
	if _, err := ReadBody(bad, 0); err == nil {
		t.Error("a short body parsed")
	}
	if _, err := ReadBody(bad, 0); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("the error is not kept: %v", err)
	}
}
