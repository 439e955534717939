package smtpwire

import (
	"bytes"
	"errors"
	"testing"
)

func TestNormalizer(t *testing.T) {
	tests := []struct {
		name       string
		writes     []string
		out        string
		nul        int
		normalized bool
	}{
		{"crlf kept", []string{"a\r\nb\r\n"}, "a\r\nb\r\n", 0, false},
		{"no dot-stuffing", []string{".\r\n..\r\n"}, ".\r\n..\r\n", 0, false},
		{"bare LF", []string{"a\nb\n"}, "a\r\nb\r\n", 0, true},
		{"bare CR", []string{"a\rb\r"}, "a\r\nb\r\n", 0, true},
		{"CR CR LF", []string{"a\r\r\n"}, "a\r\n\r\n", 0, true},
		{"CR NUL LF", []string{"a\r\x00\n"}, "a\r\n\r\n", 1, true},
		{"NUL dropped", []string{"\x00a\x00\x00b\x00"}, "ab", 4, false},
		{"CRLF split across writes", []string{"a\r", "\nb"}, "a\r\nb", 0, false},
		{"CR then empty write then LF", []string{"a\r", "", "\nb"}, "a\r\nb", 0, false},
		{"CR at end, then text", []string{"a\r", "b"}, "a\r\nb", 0, true},
		{"CR at end, then CR", []string{"a\r", "\r", "\n"}, "a\r\n\r\n", 0, true},
		{"trailing CR flushed by Close", []string{"a\r"}, "a\r\n", 0, true},
		{"LF at start of write", []string{"a", "\nb"}, "a\r\nb", 0, true},
		{"empty", nil, "", 0, false},
	}
	for _, tt := range tests {
		var b bytes.Buffer
		n := NewNormalizer(&b)
		for _, w := range tt.writes {
			if k, err := n.Write([]byte(w)); k != len(w) || err != nil {
				t.Fatalf("%s: Write = %d, %v", tt.name, k, err)
			}
		}
		if err := n.Close(); err != nil {
			t.Fatal(err)
		}
		if b.String() != tt.out || n.Nul() != tt.nul || n.Normalized() != tt.normalized || n.Size() != int64(b.Len()) {
			t.Errorf("%s: got %q nul %d normalized %v size %d; want %q nul %d normalized %v",
				tt.name, b.String(), n.Nul(), n.Normalized(), n.Size(), tt.out, tt.nul, tt.normalized)
		}
	}
}

func TestNormalizerWriteError(t *testing.T) {
	n := NewNormalizer(failWriter{})
	if _, err := n.Write([]byte("a")); err == nil {
		t.Fatal("no error")
	}
	if _, err := n.Write([]byte("b")); err == nil {
		t.Fatal("error not sticky")
	}
	if err := n.Close(); err == nil {
		t.Fatal("Close after a failure returned nil")
	}
	n = NewNormalizer(failWriter{})
	n.Write([]byte("\r"))
	if err := n.Close(); err == nil || errors.Is(err, nil) {
		t.Fatal("Close did not report the write error of the pending CR")
	}
}
