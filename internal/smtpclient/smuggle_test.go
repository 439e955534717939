package smtpclient

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
)

// normalised is what the DATA writer must make of a message: NULs
// dropped, every bare CR and bare LF a CRLF, a CRLF at the end.
func normalised(s string) string {
	s = strings.ReplaceAll(s, "\x00", "")
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	s = strings.ReplaceAll(s, "\n", "\r\n")
	if s != "" && !strings.HasSuffix(s, "\r\n") {
		s += "\r\n"
	}
	return s
}

// onlyCRLF reports where s has a bare CR, a bare LF or a NUL (-1: none).
func onlyCRLF(s string) int {
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == 0,
			s[i] == '\r' && (i+1 == len(s) || s[i+1] != '\n'),
			s[i] == '\n' && (i == 0 || s[i-1] != '\r'):
			return i
		}
	}
	return -1
}

// unstuff undoes the DATA text (RFC 5321 4.5.2) as a strict receiver
// does: it must end with the only "." line; a leading dot goes.
func unstuff(t *testing.T, data string) string {
	t.Helper()
	body, ok := strings.CutSuffix(data, ".\r\n")
	if !ok || (body != "" && !strings.HasSuffix(body, "\r\n")) {
		t.Fatalf("DATA text does not end with <CRLF>.<CRLF>: %q", data)
	}
	var out strings.Builder
	for _, l := range strings.SplitAfter(body, "\r\n") {
		if l == ".\r\n" {
			t.Fatalf("a bare \".\" line before the end: %q", data)
		}
		out.WriteString(strings.TrimPrefix(l, "."))
	}
	return out.String()
}

const smuggled = "MAIL FROM:<evil@smuggle.test>\r\nRCPT TO:<victim@x.test>\r\nDATA\r\nSubject: smuggled\r\n\r\nsmuggled\r\n.\r\n"

// TestNoSmugglingOut: whatever line ends and NULs a message holds, the
// next hop, even one that ends lines at a bare CR or LF, reads exactly one
// message, with only CRLF line ends and no NUL, and every line of it.
func TestNoSmugglingOut(t *testing.T) {
	for _, tc := range []struct{ name, end string }{
		{"<LF>.<LF>", "\n.\n"},
		{"<CR>.<CR>", "\r.\r"},
		{"<LF>.<CRLF>", "\n.\r\n"},
		{"<CR>.<CRLF>", "\r.\r\n"},
		{"<CRLF>.<LF>", "\r\n.\n"},
		{"<CRLF>.<CR>", "\r\n.\r"},
		{"<CRLF><NUL>.<CRLF>", "\r\n\x00.\r\n"},
		{"<CRLF>.<NUL><CRLF>", "\r\n.\x00\r\n"},
		{"<CR><NUL><LF>.<CR><NUL><LF>", "\r\x00\n.\r\x00\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t, fakeConfig{ext: []string{"PIPELINING"}, lenient: true})
			text := "Subject: test\r\n\r\nhello" + tc.end + smuggled
			m := &Message{From: "sender@client.test", Rcpts: []Rcpt{{Addr: "rcpt@x.test"}}, Size: int64(len(text)),
				Body: func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(text)), nil }}
			res, err := DeliverTo(context.Background(), fakeOpts(), f.hop(), m)
			if err != nil {
				t.Fatal(err)
			}
			if !res[0].OK() {
				t.Fatalf("result %+v", res[0])
			}
			f.close()
			_, msgs, cmds, _, _ := f.snapshot()
			mails := 0
			for _, c := range cmds[1] {
				if strings.HasPrefix(strings.ToUpper(c), "MAIL") {
					mails++
				}
			}
			if len(msgs) != 1 || mails != 1 {
				t.Fatalf("the next hop read %d messages and %d MAIL commands, want 1 and 1: %q", len(msgs), mails, cmds[1])
			}
			if i := onlyCRLF(msgs[0].raw); i >= 0 {
				t.Fatalf("bare CR, bare LF or NUL at %d of %q", i, msgs[0].raw)
			}
			if got, want := unstuff(t, msgs[0].raw), normalised(text); got != want {
				t.Fatalf("the next hop got\n%q\nwant\n%q", got, want)
			}
		})
	}
}

// writeData runs the DATA writer over in, written in pieces of the given
// sizes (the rest in one), and returns its output.
func writeData(t *testing.T, in []byte, pieces []byte) string {
	t.Helper()
	var out bytes.Buffer
	bw := bufio.NewWriterSize(&out, 16)
	w := newDataWriter(bw)
	for _, n := range pieces {
		k := min(int(n), len(in))
		if _, err := w.Write(in[:k]); err != nil {
			t.Fatal(err)
		}
		in = in[k:]
	}
	if _, err := w.Write(in); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return out.String()
}

func TestDataWriter(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ".\r\n"},
		{"a", "a\r\n.\r\n"},
		{"a\r\n", "a\r\n.\r\n"},
		{".", "..\r\n.\r\n"},
		{".a\r\n..b\r\n", "..a\r\n...b\r\n.\r\n"},
		{"a\n.\nb", "a\r\n..\r\nb\r\n.\r\n"},
		{"a\r.\rb", "a\r\n..\r\nb\r\n.\r\n"},
		{"a\r\r\n", "a\r\n\r\n.\r\n"},
		{"a\r", "a\r\n.\r\n"},
		{"\x00.a", "..a\r\n.\r\n"},
		{"a\r\x00\nb", "a\r\nb\r\n.\r\n"},
		{"x.y\r\n", "x.y\r\n.\r\n"},
	} {
		for _, pieces := range [][]byte{nil, {1, 1, 1, 1, 1, 1, 1, 1}, {2, 3}} {
			if got := writeData(t, []byte(tc.in), pieces); got != tc.want {
				t.Errorf("%q in pieces %v: got %q, want %q", tc.in, pieces, got, tc.want)
			}
		}
	}
}

// FuzzDataWriter: for any message, cut anywhere, the DATA text has only
// CRLF line ends and no NUL, its only "." line is the last, and a strict
// receiver's unstuffing gives back the normalised message.
func FuzzDataWriter(f *testing.F) {
	for _, s := range []string{"", "hello\r\n", ".\r\n", "a\n.\nb", "a\r.\rMAIL FROM:<x>\r\n", "\r\n.\r\n", "x\r\x00\n.\x00\r", "..\r\r\n\n\r"} {
		f.Add([]byte(s), []byte{1, 2, 3})
	}
	f.Fuzz(func(t *testing.T, in, pieces []byte) {
		out := writeData(t, in, pieces)
		if i := onlyCRLF(out); i >= 0 {
			t.Fatalf("bare CR, bare LF or NUL at %d of %q (from %q)", i, out, in)
		}
		if got, want := unstuff(t, out), normalised(string(in)); got != want {
			t.Fatalf("from %q: unstuffed %q, want %q", in, got, want)
		}
	})
}

// TestQuotedLocalPartKept: addresses go out exactly as stored, quoted
// local parts included (RFC 5321 4.1.2): "x@inner.test"@remote.test is
// not x@inner.test@remote.test.
func TestQuotedLocalPartKept(t *testing.T) {
	f := newFake(t, fakeConfig{ext: []string{"PIPELINING"}})
	m := msg(`"x@inner.test"@remote.test`, `"john doe"@remote.test`)
	m.From = `"odd sender"@client.test`
	res, err := DeliverTo(context.Background(), fakeOpts(), f.hop(), m)
	if err != nil {
		t.Fatal(err)
	}
	check(t, res, want{250, "2.0.0", false, ""}, want{250, "2.0.0", false, ""})
	f.close()
	_, _, cmds, _, _ := f.snapshot()
	got := strings.Join(cmds[1], "\n")
	for _, line := range []string{`MAIL FROM:<"odd sender"@client.test>`, `RCPT TO:<"x@inner.test"@remote.test>`, `RCPT TO:<"john doe"@remote.test>`} {
		if !strings.Contains(got, line) {
			t.Errorf("no %q in what the next hop got:\n%s", line, got)
		}
	}
}
