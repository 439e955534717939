package smtpclient

import (
	"bufio"
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestReadReply(t *testing.T) {
	many := strings.Repeat("250-x\r\n", maxReplyLines) + "250 end\r\n"
	tests := []struct {
		name, in string
		code     int
		enh      string // as enhanced() gives it
		text     string
		err      bool
	}{
		{"simple", "250 ok\r\n", 250, "2.0.0", "ok", false},
		{"enhanced", "550 5.1.1 no such user\r\n", 550, "5.1.1", "no such user", false},
		{"multi-line, code on each line", "451-4.3.0 first\r\n451 4.3.0 second\r\n", 451, "4.3.0", "first second", false},
		{"enhanced code of another class is text", "250 5.1.1 odd\r\n", 250, "2.0.0", "5.1.1 odd", false},
		{"bare code", "354\r\n", 354, "3.0.0", "", false},
		{"LF only", "220 hi\n", 220, "2.0.0", "hi", false},
		{"code changes", "250-a\r\n251 b\r\n", 0, "", "", true},
		{"not a code", "hello\r\n", 0, "", "", true},
		{"no separator", "250x\r\n", 0, "", "", true},
		{"too many lines", many, 0, "", "", true},
		{"cut off", "250-a\r\n", 0, "", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := readReply(bufio.NewReader(strings.NewReader(tt.in)))
			if (err != nil) != tt.err {
				t.Fatalf("err = %v, want error %v", err, tt.err)
			}
			if err == nil && (r.code != tt.code || r.enhanced() != tt.enh || r.text != tt.text) {
				t.Errorf("got %d %q %q, want %d %q %q", r.code, r.enhanced(), r.text, tt.code, tt.enh, tt.text)
			}
		})
	}
}

func TestReadReplyLongLine(t *testing.T) {
	in := "250 " + strings.Repeat("a", 100_000) + "\r\n250 next\r\n"
	br := bufio.NewReaderSize(strings.NewReader(in), 4096)
	r, err := readReply(br)
	if err != nil || len(r.text) != maxReplyLine-4 {
		t.Fatalf("long line: %d bytes kept, %v", len(r.text), err)
	}
	if r, err := readReply(br); err != nil || r.text != "next" {
		t.Fatalf("after a long line: %+v %v", r, err)
	}
	if _, err := readReply(bufio.NewReader(strings.NewReader("999 x\r\n"))); !errors.Is(err, errProtocol) {
		t.Errorf("code 999: %v", err)
	}
}

func TestParseEHLO(t *testing.T) {
	var lines []string
	for i := range 2 * maxExtensions {
		lines = append(lines, fmt.Sprintf("X-EXT%d", i))
	}
	tests := []struct {
		name  string
		lines []string
		check func(extensions) bool
	}{
		{"keywords upper-cased, params kept", []string{"mx.test", "pipelining", "SIZE 1000", "AUTH PLAIN LOGIN"}, func(e extensions) bool {
			return e.has("PIPELINING") && e.size() == 1000 && e.auth("plain") && !e.auth("CRAM-MD5")
		}},
		{"old AUTH= form", []string{"mx.test", "AUTH=LOGIN PLAIN"}, func(e extensions) bool { return e.auth("PLAIN") && e.auth("LOGIN") }},
		{"SIZE without a number", []string{"mx.test", "SIZE", "SIZE x"}, func(e extensions) bool { return e.has("SIZE") && e.size() == 0 }},
		{"bounded", append([]string{"mx.test"}, lines...), func(e extensions) bool { return len(e) == maxExtensions }},
		{"greeting only", []string{"mx.test"}, func(e extensions) bool { return len(e) == 0 }},
	}
	for _, tt := range tests {
		if e := parseEHLO(tt.lines); !tt.check(e) {
			t.Errorf("%s: %v", tt.name, e)
		}
	}
}
