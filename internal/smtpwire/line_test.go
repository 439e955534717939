package smtpwire

import (
	"bufio"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestReadLine(t *testing.T) {
	type step struct {
		line string
		err  error
	}
	tests := []struct {
		name  string
		input string
		buf   int
		max   int
		want  []step
	}{
		{"crlf", "EHLO a\r\nQUIT\r\n", 16, 510, []step{{"EHLO a", nil}, {"QUIT", nil}, {"", io.EOF}}},
		{"bare LF", "EHLO a\nQUIT\n", 16, 510, []step{{"EHLO a", nil}, {"QUIT", nil}}},
		{"CR inside kept", "MAIL FROM:<a\rb>\r\n", 16, 510, []step{{"MAIL FROM:<a\rb>", nil}}},
		{"double CR", "NOOP\r\r\n", 16, 510, []step{{"NOOP\r", nil}}},
		{"empty line", "\r\n", 16, 510, []step{{"", nil}}},
		{"exactly max", "12345\r\nX\r\n", 16, 5, []step{{"12345", nil}, {"X", nil}}},
		{"too long then in sync", "123456\r\nNOOP\r\n", 16, 5, []step{{"", ErrLineTooLong}, {"NOOP", nil}}},
		{"longer than buffer, within max", strings.Repeat("a", 40) + "\r\nB\r\n", 16, 40, []step{{strings.Repeat("a", 40), nil}, {"B", nil}}},
		{"longer than buffer, CR split", strings.Repeat("a", 15) + "\r\nB\r\n", 16, 15, []step{{strings.Repeat("a", 15), nil}, {"B", nil}}},
		{"longer than buffer and max", strings.Repeat("a", 100) + "\r\nNOOP\r\n", 16, 40, []step{{"", ErrLineTooLong}, {"NOOP", nil}}},
		{"partial at EOF", "QUI", 16, 510, []step{{"", io.ErrUnexpectedEOF}}},
		{"long partial at EOF", strings.Repeat("a", 40), 16, 510, []step{{"", io.ErrUnexpectedEOF}}},
		{"EOF", "", 16, 510, []step{{"", io.EOF}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := bufio.NewReaderSize(strings.NewReader(tt.input), tt.buf)
			for i, s := range tt.want {
				got, err := ReadLine(r, tt.max)
				if !errors.Is(err, s.err) || string(got) != s.line {
					t.Fatalf("step %d: got %q, %v; want %q, %v", i, got, err, s.line, s.err)
				}
			}
		})
	}
}

func TestSplitCommand(t *testing.T) {
	tests := []struct{ line, verb, arg string }{
		{"mail FROM:<a@b>", "MAIL", "FROM:<a@b>"},
		{"MAIL  FROM:<a@b>  SIZE=1   ", "MAIL", "FROM:<a@b>  SIZE=1"},
		{"quit", "QUIT", ""},
		{"QUIT   ", "QUIT", ""},
		{"", "", ""},
		{"  NOOP", "", "NOOP"},
		{"ehlo Client.Example", "EHLO", "Client.Example"},
		{"\xc3\xa9hlo x", "\xc3\xa9HLO", "x"},
		{"data\r", "DATA\r", ""},
	}
	for _, tt := range tests {
		verb, arg := SplitCommand([]byte(tt.line))
		if verb != tt.verb || arg != tt.arg {
			t.Errorf("SplitCommand(%q) = %q, %q; want %q, %q", tt.line, verb, arg, tt.verb, tt.arg)
		}
	}
}
