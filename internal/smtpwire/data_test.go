package smtpwire

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

// readData runs a DataReader over in with the given bufio size and returns
// its output, its final error and what stays in the bufio.Reader.
func readData(t *testing.T, in string, bufSize, maxLine int, maxSize int64, readSize int) (out string, d *DataReader, err error, rest string) {
	t.Helper()
	br := bufio.NewReaderSize(strings.NewReader(in), bufSize)
	d = NewDataReader(br, maxLine, maxSize)
	var b bytes.Buffer
	p := make([]byte, readSize)
	for {
		n, e := d.Read(p)
		b.Write(p[:n])
		if e != nil {
			err = e
			break
		}
	}
	r, _ := io.ReadAll(br)
	return b.String(), d, err, string(r)
}

func TestDataReader(t *testing.T) {
	const next = "QUIT\r\n"
	tests := []struct {
		name       string
		in         string // next is appended
		out        string
		err        error
		nul        int
		normalized bool
	}{
		{"empty message", ".\r\n", "", io.EOF, 0, false},
		{"one line", "Subject: x\r\n\r\nbody\r\n.\r\n", "Subject: x\r\n\r\nbody\r\n", io.EOF, 0, false},
		{"dot-stuffed", "..\r\n..x\r\n...\r\n.\r\n", ".\r\n.x\r\n..\r\n", io.EOF, 0, false},
		{"first line stuffed", ".hidden\r\n.\r\n", "hidden\r\n", io.EOF, 0, false},
		{"dot inside line", "a.b\r\n a\r\n.\r\n", "a.b\r\n a\r\n", io.EOF, 0, false},
		{"dot-space is not the end", "a\r\n. \r\n.\r\n", "a\r\n \r\n", io.EOF, 0, false},
		{"NUL dropped", "a\x00b\r\n\x00\r\n.\r\n", "ab\r\n\r\n", io.EOF, 2, false},
		{"dot NUL is not the end", "a\r\n.\x00\r\n.\r\n", "a\r\n\r\n", io.EOF, 1, false},
		{"NUL dot is not the end", "a\r\n\x00.\r\n.\r\n", "a\r\n.\r\n", io.EOF, 1, false},
		{"bare LF normalized", "a\nb\r\n.\r\n", "a\r\nb\r\n", io.EOF, 0, true},
		{"bare CR normalized", "a\rb\r\n.\r\n", "a\r\nb\r\n", io.EOF, 0, true},
		{"CR CR LF", "a\r\r\nb\r\n.\r\n", "a\r\n\r\nb\r\n", io.EOF, 0, true},
		{"stuffing after bare LF", "a\n..b\r\n.\r\n", "a\r\n.b\r\n", io.EOF, 0, true},
		{"stuffing after bare CR", "a\r..b\r\n.\r\n", "a\r\n.b\r\n", io.EOF, 0, true},
		{"line end CRLF then CR CRLF end", "a\r\r\n.\r\n", "a\r\n\r\n", io.EOF, 0, true},

		// SMTP smuggling: none of these ends the data; the "." is content.
		{"smuggle LF.LF", "a\n.\nMAIL FROM:<x@evil.test>\r\n.\r\n", "a\r\n.\r\nMAIL FROM:<x@evil.test>\r\n", io.EOF, 0, true},
		{"smuggle CR.CR", "a\r.\rMAIL FROM:<x@evil.test>\r\n.\r\n", "a\r\n.\r\nMAIL FROM:<x@evil.test>\r\n", io.EOF, 0, true},
		{"smuggle LF.CRLF", "a\n.\r\nMAIL FROM:<x@evil.test>\r\n.\r\n", "a\r\n.\r\nMAIL FROM:<x@evil.test>\r\n", io.EOF, 0, true},
		{"smuggle CR.CRLF", "a\r.\r\nMAIL FROM:<x@evil.test>\r\n.\r\n", "a\r\n.\r\nMAIL FROM:<x@evil.test>\r\n", io.EOF, 0, true},
		{"smuggle CRLF.LF", "a\r\n.\nMAIL FROM:<x@evil.test>\r\n.\r\n", "a\r\n.\r\nMAIL FROM:<x@evil.test>\r\n", io.EOF, 0, true},
		{"smuggle CRLF.CR", "a\r\n.\rMAIL FROM:<x@evil.test>\r\n.\r\n", "a\r\n.\r\nMAIL FROM:<x@evil.test>\r\n", io.EOF, 0, true},
		{"smuggle at start LF", ".\nMAIL\r\n.\r\n", ".\r\nMAIL\r\n", io.EOF, 0, true},
		{"smuggle at start CR", ".\rMAIL\r\n.\r\n", ".\r\nMAIL\r\n", io.EOF, 0, true},
		{"smuggle CRLF.NUL CRLF", "a\r\n.\x00\r\nMAIL\r\n.\r\n", "a\r\n\r\nMAIL\r\n", io.EOF, 1, false},
		{"smuggle CR.CR.CRLF", "a\r.\r.\r\nb\r\n.\r\n", "a\r\n.\r\n.\r\nb\r\n", io.EOF, 0, true},

		{"long line cut", "12345678\r\nabc\r\n.\r\n", "12345\r\nabc\r\n", ErrLineTooLong, 0, false},
		{"line at limit", "12345\r\n.\r\n", "12345\r\n", io.EOF, 0, false},
		{"stuffed line at limit", ".12345\r\n.\r\n", "12345\r\n", io.EOF, 0, false},
		{"too large", strings.Repeat("0123456789\r\n", 20) + ".\r\n", strings.Repeat("0123456789\r\n", 8), ErrTooLarge, 0, false},
		{"too large and long line", strings.Repeat("0123456789\r\n", 20) + "123456789\r\n.\r\n", strings.Repeat("01234\r\n", 8), ErrTooLarge, 0, false},
	}
	for _, tt := range tests {
		for _, bufSize := range []int{16, 64, 4096} {
			for _, readSize := range []int{1, 7, 4096} {
				maxLine, maxSize := 0, int64(0)
				if strings.HasPrefix(tt.name, "long") || strings.HasSuffix(tt.name, "at limit") || strings.HasSuffix(tt.name, "long line") {
					maxLine = 5
				}
				if strings.HasPrefix(tt.name, "too large") {
					maxSize = 100
				}
				out, d, err, rest := readData(t, tt.in+next, bufSize, maxLine, maxSize, readSize)
				if out != tt.out || !errors.Is(err, tt.err) || rest != next || d.Nul() != tt.nul || d.Normalized() != tt.normalized {
					t.Errorf("%s (buf %d, read %d): got %q, %v, rest %q, nul %d, normalized %v; want %q, %v, rest %q, nul %d, normalized %v",
						tt.name, bufSize, readSize, out, err, rest, d.Nul(), d.Normalized(), tt.out, tt.err, next, tt.nul, tt.normalized)
				}
				if err == io.EOF && d.Size() != int64(len(out)) {
					t.Errorf("%s: Size() = %d, output %d bytes", tt.name, d.Size(), len(out))
				}
				// After the end, Read keeps returning the same error.
				if n, e := d.Read(make([]byte, 10)); n != 0 || e != err {
					t.Errorf("%s: Read after end = %d, %v", tt.name, n, e)
				}
			}
		}
	}
}

func TestDataReaderSize(t *testing.T) {
	in := strings.Repeat("0123456789\r\n", 20) + ".\r\n"
	_, d, err, _ := readData(t, in, 4096, 5, 100, 4096)
	if err != ErrTooLarge || d.Size() != 240 {
		t.Errorf("got %v, size %d; want ErrTooLarge, 240", err, d.Size())
	}
}

func TestDataReaderUnexpectedEOF(t *testing.T) {
	for _, in := range []string{"", "a\r\n", "a\r\n.", "a\r\n.\r", "a\n.\n", "a\r\n..\r\n"} {
		out, _, err, _ := readData(t, in, 16, 0, 0, 4096)
		if err != io.ErrUnexpectedEOF {
			t.Errorf("%q: got %q, %v; want io.ErrUnexpectedEOF", in, out, err)
		}
	}
}

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

func TestDataReaderReadError(t *testing.T) {
	boom := errors.New("boom")
	d := NewDataReader(bufio.NewReader(io.MultiReader(strings.NewReader("a\r\n"), errReader{boom})), 0, 0)
	got, err := io.ReadAll(d)
	if string(got) != "a\r\n" || err != boom {
		t.Errorf("got %q, %v; want the data, then boom", got, err)
	}
}

func TestDataReaderDrain(t *testing.T) {
	br := bufio.NewReader(strings.NewReader("a\r\nb\r\n.\r\nNOOP\r\n"))
	d := NewDataReader(br, 0, 0)
	if _, err := d.Read(make([]byte, 1)); err != nil {
		t.Fatal(err)
	}
	if err := d.Drain(); err != nil {
		t.Fatal(err)
	}
	if line, err := ReadLine(br, 100); string(line) != "NOOP" || err != nil {
		t.Errorf("after Drain: %q, %v", line, err)
	}
	d = NewDataReader(bufio.NewReader(strings.NewReader("123456\r\n.\r\n")), 3, 0)
	if err := d.Drain(); err != ErrLineTooLong {
		t.Errorf("Drain of a long line: %v", err)
	}
}
