package imapwire

import (
	"bytes"
	"testing"
)

func TestParseCompress(t *testing.T) {
	runParseCases(t, []parseCase{
		{name: "rfc 4978 example", in: "b compress deflate\r\n", want: cmd("b", "COMPRESS", &CompressArgs{Mechanism: "DEFLATE"})},
		{name: "other mechanism", in: "c COMPRESS X-LZ4\r\n", want: cmd("c", "COMPRESS", &CompressArgs{Mechanism: "X-LZ4"})},
		{name: "no mechanism", in: "c COMPRESS\r\n", tag: "c", wantErr: "missing argument"},
		{name: "quoted", in: "c COMPRESS \"DEFLATE\"\r\n", tag: "c", wantErr: "compression mechanism"},
		{name: "two", in: "c COMPRESS DEFLATE DEFLATE\r\n", tag: "c", wantErr: "too many arguments"},
	})
}

// flushCounter is a writer with its own Flush, as a compressor has.
type flushCounter struct {
	bytes.Buffer
	flushes int
}

func (f *flushCounter) Flush() error { f.flushes++; return nil }

// TestWriterFlushesUnder: Flush writes the buffer out and then flushes
// Under (the session's compressor), once per Flush.
func TestWriterFlushesUnder(t *testing.T) {
	var f flushCounter
	w := NewWriter(&f)
	w.Under = &f
	w.Status("a", "OK", "", "done")
	if f.Len() != 0 || f.flushes != 0 {
		t.Fatalf("before Flush: %q, %d flushes", f.String(), f.flushes)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if f.String() != "a OK done\r\n" || f.flushes != 1 {
		t.Fatalf("after Flush: %q, %d flushes", f.String(), f.flushes)
	}
}
