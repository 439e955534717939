package smtpclient

import (
	"bufio"
	"strings"
	"testing"
)

// FuzzReadReply feeds arbitrary server output to the reply reader and the
// EHLO parser: they must never panic, must respect their bounds, and a
// reply they accept must have a valid code.
func FuzzReadReply(f *testing.F) {
	for _, s := range []string{
		"250 ok\r\n",
		"250-mx.example\r\n250-PIPELINING\r\n250-SIZE 1000\r\n250-AUTH PLAIN LOGIN\r\n250 DSN\r\n",
		"550 5.1.1 <x@y>: no such user\r\n",
		"421-4.7.0 bye\r\n421 4.7.0 closing\r\n",
		"220 TLS go ahead\r\n250 smuggled\r\n",
		"2500 x\r\n", "25", "250-\n250 x\n", "abc\r\n", "250 " + strings.Repeat("x", 5000) + "\r\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		br := bufio.NewReader(strings.NewReader(in))
		for i := 0; i < 4; i++ {
			r, err := readReply(br)
			if err != nil {
				return
			}
			if r.code < 100 || r.code > 599 {
				t.Fatalf("accepted reply code %d from %q", r.code, in)
			}
			if len(r.lines) > maxReplyLines {
				t.Fatalf("%d lines accepted", len(r.lines))
			}
			for _, l := range r.lines {
				if len(l) > maxReplyLine {
					t.Fatalf("line of %d bytes kept", len(l))
				}
			}
			ext := parseEHLO(r.lines)
			if len(ext) > maxExtensions {
				t.Fatalf("%d extensions kept", len(ext))
			}
			_ = ext.size()
			_ = ext.auth("PLAIN")
			_ = r.String()
		}
	})
}
