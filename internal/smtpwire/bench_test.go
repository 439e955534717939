package smtpwire

import (
	"bufio"
	"bytes"
	"io"
	"strings"
	"testing"
)

// benchMessage is a ~5 KB dot-stuffed message with 78-character lines.
func benchMessage() []byte {
	var b bytes.Buffer
	b.WriteString("From: a@b.example\r\nTo: c@d.example\r\nSubject: benchmark\r\n\r\n")
	line := strings.Repeat("abcdefghijklm", 6) // 78 characters
	for i := 0; b.Len() < 5000; i++ {
		if i%10 == 9 {
			b.WriteString(".") // a line starting with "." goes out stuffed
		}
		b.WriteString(line + "\r\n")
	}
	b.WriteString(".\r\n")
	return b.Bytes()
}

func BenchmarkDataReader(b *testing.B) {
	msg := benchMessage()
	src := bytes.NewReader(msg)
	br := bufio.NewReaderSize(src, 4096)
	buf := make([]byte, 32<<10)
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		src.Reset(msg)
		br.Reset(src)
		d := NewDataReader(br, 998, 0)
		for {
			_, err := d.Read(buf)
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkReadSliceBaseline is the floor: the same input read line by line
// with bufio and copied out, no parsing. Compare DataReader with it.
func BenchmarkReadSliceBaseline(b *testing.B) {
	msg := benchMessage()
	src := bytes.NewReader(msg)
	br := bufio.NewReaderSize(src, 4096)
	out := make([]byte, 0, 8192)
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		src.Reset(msg)
		br.Reset(src)
		out = out[:0]
		for {
			line, err := br.ReadSlice('\n')
			out = append(out, line...)
			if err != nil {
				break
			}
		}
	}
}

func BenchmarkNormalizer(b *testing.B) {
	msg := benchMessage()
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		n := NewNormalizer(io.Discard)
		n.Write(msg)
		n.Close()
	}
}
