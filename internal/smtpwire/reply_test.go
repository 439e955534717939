package smtpwire

import (
	"bufio"
	"bytes"
	"errors"
	"testing"
)

func TestErrorString(t *testing.T) {
	tests := []struct {
		e    Error
		want string
	}{
		{Error{501, "5.5.4", "Syntax: MAIL FROM:<address>"}, "501 5.5.4 Syntax: MAIL FROM:<address>"},
		{Error{250, "", "Ok"}, "250 Ok"},
	}
	for _, tt := range tests {
		if got := tt.e.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
}

func TestWriteReply(t *testing.T) {
	tests := []struct {
		name     string
		code     int
		enhanced string
		lines    []string
		want     string
	}{
		{"single", 250, "2.1.0", []string{"Ok"}, "250 2.1.0 Ok\r\n"},
		{"no enhanced", 220, "", []string{"mx.test ESMTP"}, "220 mx.test ESMTP\r\n"},
		{"multi", 250, "", []string{"mx.test", "PIPELINING", "SIZE 1000"}, "250-mx.test\r\n250-PIPELINING\r\n250 SIZE 1000\r\n"},
		{"multi enhanced", 550, "5.7.1", []string{"first", "last"}, "550-5.7.1 first\r\n550 5.7.1 last\r\n"},
		{"no lines", 354, "", nil, "354\r\n"},
		{"empty text with enhanced", 250, "2.0.0", []string{""}, "250 2.0.0\r\n"},
		{"empty continuation", 250, "", []string{"", "x"}, "250-\r\n250 x\r\n"},
		{"CRLF injection", 550, "5.1.1", []string{"<a@b>\r\n250 fake"}, "550 5.1.1 <a@b>  250 fake\r\n"},
		{"bare LF and NUL", 550, "", []string{"a\nb\x00c\x7fd\te"}, "550 a b c d\te\r\n"},
		{"CR in enhanced", 550, "5.\r1.1", []string{"x"}, "550 5. 1.1 x\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			w := bufio.NewWriter(&b)
			if err := WriteReply(w, tt.code, tt.enhanced, tt.lines...); err != nil {
				t.Fatal(err)
			}
			w.Flush()
			if b.String() != tt.want {
				t.Errorf("got %q, want %q", b.String(), tt.want)
			}
		})
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("boom") }

func TestWriteReplyError(t *testing.T) {
	w := bufio.NewWriterSize(failWriter{}, 16)
	if err := WriteReply(w, 250, "", "a long line that does not fit in sixteen bytes"); err == nil {
		t.Fatal("no error from a failing writer")
	}
}
