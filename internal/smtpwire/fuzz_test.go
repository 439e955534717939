package smtpwire

import (
	"bufio"
	"bytes"
	"io"
	"strings"
	"testing"
)

func FuzzParsePath(f *testing.F) {
	for _, s := range []string{
		"FROM:<a@b.example>", "FROM:<>", "FROM: <a@b.example> SIZE=10 BODY=8BITMIME",
		`FROM:<"x@inner.test"@remote.test>`, "FROM:<\"x\rX-Injected: 1\"@evil.test>",
		"FROM:<a\x00@b>", "FROM:<@a.example,@b.example:user@c.example>",
		"FROM:<a@[IPv6:2001:db8::1]> SMTPUTF8 RET=HDRS ENVID=a+2Bb AUTH=<>",
		"TO:<postmaster>", "TO:<b@[192.0.2.1]> NOTIFY=SUCCESS,DELAY ORCPT=rfc822;b+40c",
		"TO:<用户@例子.测试>", `TO:<"a\"b"@c>`, "FROM:<a@b> SIZE=99999999999999999999",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, arg string) {
		for _, rcpt := range []bool{false, true} {
			parse, addrCode, paramParse := ParseMail, "501 5.1.7", func(ps []Param) error { _, err := ParseMailParams(ps); return err }
			if rcpt {
				parse, addrCode, paramParse = ParseRcpt, "501 5.1.3", func(ps []Param) error { _, err := ParseRcptParams(ps); return err }
			}
			p, ps, err := parse(arg)
			if err != nil {
				if c := code(err); c != "501 5.5.4" && c != addrCode {
					t.Fatalf("%q: error %v", arg, err)
				}
				continue
			}
			if hasCtl(p.Addr) || hasCtl(p.Local) || hasCtl(p.Domain) {
				t.Fatalf("%q: accepted a control character: %+v", arg, p)
			}
			if p.UTF8 != !isASCII(p.Addr) || (p.UTF8 && !validUTF8(p.Addr)) {
				t.Fatalf("%q: UTF8 flag wrong: %+v", arg, p)
			}
			switch {
			case p.Addr == "":
				if rcpt || p.Local != "" || p.Domain != "" {
					t.Fatalf("%q: bad null path %+v", arg, p)
				}
			case p.Domain == "":
				if !rcpt || !strings.EqualFold(p.Addr, "postmaster") || p.Local != p.Addr {
					t.Fatalf("%q: domainless %+v", arg, p)
				}
			default:
				if p.Addr != p.Local+"@"+p.Domain || len(p.Local) > MaxLocal || len(p.Domain) > MaxDomain {
					t.Fatalf("%q: inconsistent %+v", arg, p)
				}
			}
			if !strings.Contains(arg, p.Addr) {
				t.Fatalf("%q: Addr %q is not what the client wrote", arg, p.Addr)
			}
			for _, q := range ps {
				if !validKeyword(q.Key) || q.Key != strings.ToUpper(q.Key) || hasCtl(q.Value) {
					t.Fatalf("%q: bad param %+v", arg, q)
				}
			}
			if err := paramParse(ps); err != nil {
				if c := code(err); c != "501 5.5.4" && c != "555 5.5.4" {
					t.Fatalf("%q: params error %v", arg, err)
				}
			}
			m, err := ParseMailParams(ps)
			if err == nil && (hasCtl(m.EnvID) || hasCtl(m.Auth)) {
				t.Fatalf("%q: control character in %+v", arg, m)
			}
			r, err := ParseRcptParams(ps)
			if err == nil && hasCtl(r.ORCPT) {
				t.Fatalf("%q: control character in %+v", arg, r)
			}
		}
	})
}

func FuzzParseAttrs(f *testing.F) {
	for _, s := range []string{
		"NAME=mail.example ADDR=192.0.2.1 PORT=25", "HELO=a+20b LOGIN=", "NAME=[UNAVAILABLE] ADDR=[TEMPUNAVAIL]",
		"HELO=a+0D+0AMAIL", "x", "=", "A=+", "A=\xc3\xa9",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, arg string) {
		ps, err := ParseAttrs(arg)
		if err != nil {
			if code(err) != "501 5.5.4" {
				t.Fatalf("%q: error %v", arg, err)
			}
			return
		}
		if len(ps) == 0 {
			t.Fatalf("%q: accepted without attributes", arg)
		}
		for _, p := range ps {
			if !validAttrName(p.Key) || p.Key != strings.ToUpper(p.Key) || hasCtl(p.Value) {
				t.Fatalf("%q: bad attribute %+v", arg, p)
			}
			if !isASCII(p.Value) && !validUTF8(p.Value) {
				t.Fatalf("%q: invalid UTF-8 in %+v", arg, p)
			}
		}
	})
}

// refData is a slow, obviously-correct model of DataReader without limits:
// it splits the raw input into lines (ended by CRLF, bare LF or bare CR),
// stops at a "." line that follows a CRLF (or the start) and ends with CRLF,
// unstuffs, drops NULs and ends every output line with CRLF. consumed is
// the number of input bytes through the end marker; ok is false when the
// input ends first.
func refData(in []byte) (out []byte, consumed int, nul int, normalized, ok bool) {
	afterCRLF := true
	for i := 0; ; {
		j := i
		for j < len(in) && in[j] != '\r' && in[j] != '\n' {
			j++
		}
		if j == len(in) || (in[j] == '\r' && j+1 == len(in)) {
			return out, 0, nul, normalized, false
		}
		line := in[i:j]
		isCRLF := in[j] == '\r' && in[j+1] == '\n'
		next := j + 1
		if isCRLF {
			next = j + 2
		}
		if string(line) == "." && isCRLF && afterCRLF {
			return out, next, nul, normalized, true
		}
		if len(line) > 1 && line[0] == '.' {
			line = line[1:]
		}
		for _, c := range line {
			if c == 0 {
				nul++
			} else {
				out = append(out, c)
			}
		}
		out = append(out, '\r', '\n')
		normalized = normalized || !isCRLF
		afterCRLF = isCRLF
		i = next
	}
}

// checkClean fails on a bare CR, bare LF or NUL in out.
func checkClean(t *testing.T, out []byte) {
	t.Helper()
	for i, c := range out {
		switch {
		case c == 0:
			t.Fatalf("NUL at %d in %q", i, out)
		case c == '\r' && (i+1 == len(out) || out[i+1] != '\n'):
			t.Fatalf("bare CR at %d in %q", i, out)
		case c == '\n' && (i == 0 || out[i-1] != '\r'):
			t.Fatalf("bare LF at %d in %q", i, out)
		}
	}
}

// dotStuff writes lines the way a correct SMTP client does (RFC 5321 4.5.2).
func dotStuff(lines [][]byte) (msg, wire []byte) {
	for _, l := range lines {
		msg = append(append(msg, l...), '\r', '\n')
		if len(l) > 0 && l[0] == '.' {
			wire = append(wire, '.')
		}
		wire = append(append(wire, l...), '\r', '\n')
	}
	return msg, append(wire, ".\r\n"...)
}

func FuzzDataReader(f *testing.F) {
	for _, s := range []string{
		"Subject: x\r\n\r\nbody\r\n", "..\r\n.x\r\n", "a\n.\nMAIL FROM:<x@evil.test>\r\n", "a\r.\rb",
		"a\n.\r\nb", "a\r.\r\nb", "a\r\n.\nb", "a\r\n.\rb", "a\r\n.\x00\r\nb", "\x00\r\r\n\n.", "a\r\n.\r\nSMUGGLED\r\n",
		".\r\n", "\r\n.\r", strings.Repeat("x", 100) + "\r\n",
	} {
		f.Add([]byte(s), uint8(16), uint8(7), uint16(0), uint16(0))
	}
	f.Fuzz(func(t *testing.T, data []byte, bufSize, readSize uint8, maxLine, maxSize uint16) {
		const next = "NEXT"
		full := append(append(append([]byte{}, data...), "\r\n.\r\n"...), next...)
		wantOut, consumed, wantNul, wantNorm, ok := refData(full)
		if !ok {
			t.Fatalf("model found no end in %q", full)
		}
		br := bufio.NewReaderSize(bytes.NewReader(full), int(bufSize)+16)
		d := NewDataReader(br, int(maxLine), int64(maxSize))
		var out bytes.Buffer
		p := make([]byte, int(readSize)+1)
		var err error
		for err == nil {
			var n int
			n, err = d.Read(p)
			out.Write(p[:n])
		}
		rest, _ := io.ReadAll(br)
		if !bytes.Equal(rest, full[consumed:]) {
			t.Fatalf("%q: left %q, want %q", full, rest, full[consumed:])
		}
		// When the first end marker of CRLF+input is the one appended after
		// data, everything after it must still be in the bufio.Reader.
		prefixed := append([]byte("\r\n"), full...)
		if bytes.Index(prefixed, []byte("\r\n.\r\n")) == 2+len(data) && string(rest) != next {
			t.Fatalf("%q: consumed past the end marker: left %q", full, rest)
		}
		checkClean(t, out.Bytes())
		if d.Nul() != wantNul || d.Normalized() != wantNorm {
			t.Fatalf("%q: nul %d normalized %v, want %d %v", full, d.Nul(), d.Normalized(), wantNul, wantNorm)
		}
		if d.Size() != int64(len(wantOut)) {
			t.Fatalf("%q: Size %d, want %d", full, d.Size(), len(wantOut))
		}
		switch {
		case maxSize > 0 && len(wantOut) > int(maxSize):
			if err != ErrTooLarge || out.Len() > int(maxSize) || !bytes.HasPrefix(wantOut, out.Bytes()) && maxLine == 0 {
				t.Fatalf("%q: got %q, %v for a message over %d bytes", full, out.Bytes(), err, maxSize)
			}
		case maxLine > 0 && longestLine(wantOut) > int(maxLine):
			if err != ErrLineTooLong || longestLine(out.Bytes()) > int(maxLine) {
				t.Fatalf("%q: got %q, %v for a line over %d bytes", full, out.Bytes(), err, maxLine)
			}
		default:
			if err != io.EOF || !bytes.Equal(out.Bytes(), wantOut) {
				t.Fatalf("%q: got %q, %v; want %q", full, out.Bytes(), err, wantOut)
			}
		}

		// A message with CRLF line ends only, written by a correct
		// dot-stuffing client, reads back identical.
		var lines [][]byte
		for l := range bytes.SplitSeq(data, []byte("\n")) {
			lines = append(lines, bytes.Map(func(r rune) rune {
				if r == '\r' || r == 0 {
					return -1
				}
				return r
			}, l))
		}
		msg, wire := dotStuff(lines)
		br = bufio.NewReaderSize(bytes.NewReader(append(wire, next...)), int(bufSize)+16)
		got, err := io.ReadAll(NewDataReader(br, 0, 0))
		rest, _ = io.ReadAll(br)
		if err != nil || !bytes.Equal(got, msg) || string(rest) != next {
			t.Fatalf("dot-stuffed %q: got %q, %v, rest %q; want %q", wire, got, err, rest, msg)
		}
	})
}

func longestLine(b []byte) int {
	m := 0
	for l := range bytes.SplitSeq(b, []byte("\r\n")) {
		m = max(m, len(l))
	}
	return m
}

func FuzzNormalizer(f *testing.F) {
	for _, s := range []string{"a\r\nb\r\n", "a\rb\nc\r", "\r\r\n\n\x00", ".\r\n"} {
		f.Add([]byte(s), []byte{1, 2, 3})
	}
	f.Fuzz(func(t *testing.T, data, cuts []byte) {
		var whole bytes.Buffer
		n := NewNormalizer(&whole)
		n.Write(data)
		if err := n.Close(); err != nil {
			t.Fatal(err)
		}
		checkClean(t, whole.Bytes())
		// The same bytes split into Writes at the positions given by cuts.
		var split bytes.Buffer
		m := NewNormalizer(&split)
		rest := data
		for _, c := range cuts {
			k := min(int(c), len(rest))
			m.Write(rest[:k])
			rest = rest[k:]
		}
		m.Write(rest)
		m.Close()
		if !bytes.Equal(whole.Bytes(), split.Bytes()) || n.Nul() != m.Nul() || n.Normalized() != m.Normalized() {
			t.Fatalf("%q split by %v: %q, want %q", data, cuts, split.Bytes(), whole.Bytes())
		}
		// Same line rules as DataReader, without dot-stuffing.
		var want []byte
		for i := 0; i < len(data); i++ {
			switch c := data[i]; c {
			case 0:
			case '\r':
				want = append(want, '\r', '\n')
				if i+1 < len(data) && data[i+1] == '\n' {
					i++
				}
			case '\n':
				want = append(want, '\r', '\n')
			default:
				want = append(want, c)
			}
		}
		if !bytes.Equal(whole.Bytes(), want) {
			t.Fatalf("%q: got %q, want %q", data, whole.Bytes(), want)
		}
	})
}

func FuzzReadLine(f *testing.F) {
	for _, s := range []string{"EHLO a\r\nQUIT\r\n", "a\nb\r\r\n", strings.Repeat("x", 70) + "\r\nNOOP\r\n", "partial"} {
		f.Add([]byte(s), uint8(0), uint8(20))
	}
	f.Fuzz(func(t *testing.T, data []byte, bufSize, max uint8) {
		// Reference: lines end at LF, one CR before it is removed.
		var want []string
		rest := data
		for {
			i := bytes.IndexByte(rest, '\n')
			if i < 0 {
				break
			}
			want = append(want, string(bytes.TrimSuffix(rest[:i], []byte("\r"))))
			rest = rest[i+1:]
		}
		r := bufio.NewReaderSize(bytes.NewReader(data), int(bufSize)+16)
		for _, w := range want {
			got, err := ReadLine(r, int(max))
			if len(w) > int(max) {
				if err != ErrLineTooLong {
					t.Fatalf("%q: line %q over %d: got %q, %v", data, w, max, got, err)
				}
				continue
			}
			if err != nil || string(got) != w {
				t.Fatalf("%q: got %q, %v; want %q", data, got, err, w)
			}
		}
		got, err := ReadLine(r, int(max))
		if want := io.EOF; len(rest) > 0 {
			if err != io.ErrUnexpectedEOF {
				t.Fatalf("%q: trailing %q: got %q, %v", data, rest, got, err)
			}
		} else if err != want {
			t.Fatalf("%q: at the end got %q, %v", data, got, err)
		}
	})
}
