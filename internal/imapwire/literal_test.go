package imapwire

import (
	"bufio"
	"errors"
	"io"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

const cont = "+ Ready for literal data\r\n"

func TestLiterals(t *testing.T) {
	cases := []struct {
		name  string
		in    string
		want  *Command
		conts int // continuation requests expected
	}{
		{"sync", "a LOGIN {5}\r\nalice {6}\r\nsecret\r\n",
			cmd("a", "LOGIN", &LoginArgs{"alice", "secret"}), 2},
		{"non-sync", "a LOGIN {5+}\r\nalice {6+}\r\nsecret\r\n",
			cmd("a", "LOGIN", &LoginArgs{"alice", "secret"}), 0},
		{"mixed", "a LOGIN {5+}\r\nalice {6}\r\nsecret\r\n",
			cmd("a", "LOGIN", &LoginArgs{"alice", "secret"}), 1},
		{"zero length", "a LOGIN {0}\r\n {0+}\r\n\r\n",
			cmd("a", "LOGIN", &LoginArgs{"", ""}), 1},
		{"crlf inside", "a LOGIN x {4}\r\na\r\nb\r\n",
			cmd("a", "LOGIN", &LoginArgs{"x", "a\r\nb"}), 1},
		{"mailbox name", "a SELECT {5}\r\ninbox\r\n",
			cmd("a", "SELECT", &SelectArgs{Mailbox: "INBOX"}), 1},
		{"mailbox then params", "a SELECT {4+}\r\nWork (CONDSTORE)\r\n",
			cmd("a", "SELECT", &SelectArgs{Mailbox: "Work", CondStore: true}), 0},
		{"inside list", "a ID (\"name\" {11}\r\nThunderbird \"x\" {0+}\r\n)\r\n",
			cmd("a", "ID", &IDArgs{Fields: []IDField{{Name: "name", Value: "Thunderbird"}, {Name: "x"}}}), 1},
		{"list pattern", "a LIST \"\" ({1}\r\n* {5+}\r\nINBOX)\r\n",
			cmd("a", "LIST", &ListArgs{Patterns: []string{"*", "INBOX"}, Extended: true}), 1},
		{"bare LF header", "a LOGIN {3}\nbob x\n",
			cmd("a", "LOGIN", &LoginArgs{"bob", "x"}), 1},
		{"8-bit literal", "a LOGIN {4}\r\n\xc3\xa4\xc3\xb6 x\r\n",
			cmd("a", "LOGIN", &LoginArgs{"äö", "x"}), 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, out := newTestReader(tc.in)
			got, err := r.ReadCommand()
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got  %s\nwant %s", dump(got), dump(tc.want))
			}
			if want := strings.Repeat(cont, tc.conts); out.String() != want {
				t.Fatalf("continuations %q, want %q", out.String(), want)
			}
		})
	}
}

// TestSyncLiteralWaits checks that the reader asks for the literal before
// reading it: the client side only sends the data after "+".
func TestSyncLiteralWaits(t *testing.T) {
	cr, cw := io.Pipe()
	sr, sw := io.Pipe()
	r := NewReader(bufio.NewReader(cr), sw, 1024, 1024)
	go func() {
		io.WriteString(cw, "a1 LOGIN {5}\r\n")
		line, err := bufio.NewReader(sr).ReadString('\n')
		if err != nil || line != cont {
			cw.CloseWithError(errors.New("no continuation"))
			return
		}
		io.WriteString(cw, "alice pw\r\n")
	}()
	done := make(chan struct{})
	var got *Command
	var err error
	go func() { got, err = r.ReadCommand(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("reader blocked: it read the literal before asking for it")
	}
	if err != nil || got.Args.(*LoginArgs).Username != "alice" {
		t.Fatalf("got %v, %v", got, err)
	}
}

// TestRejectBeforeContinuation: an invalid command ending in a
// synchronizing literal gets no "+", and the next command parses.
func TestRejectBeforeContinuation(t *testing.T) {
	cases := []struct{ name, in, msg string }{
		{"unknown command", "a1 FROB {5}\r\n", "unknown command"},
		{"bad arg before literal", "a1 STATUS INBOX (BOGUS) {5}\r\n", "unknown STATUS item"},
		{"literal where none allowed", "a1 FETCH {3}\r\n", "expected sequence set"},
		{"literal too big", "a1 LOGIN {2000}\r\n", "literal too big"},
		{"append too big", "a1 APPEND INBOX {2000000}\r\n", "message too big"},
		{"literal8 outside append", "a1 LOGIN ~{3}\r\n", "expected ' '"},
		{"junk after literal header", "a1 LOGIN {3} x\r\n", "literal must end the line"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, out := newTestReader(tc.in + "a2 NOOP\r\n")
			_, err := r.ReadCommand()
			var pe *ParseError
			if !errors.As(err, &pe) || pe.Tag != "a1" || !strings.Contains(pe.Msg, tc.msg) || pe.Close {
				t.Fatalf("got %v, want ParseError a1 %q", err, tc.msg)
			}
			if out.Len() != 0 {
				t.Fatalf("continuation sent: %q", out.String())
			}
			next, err := r.ReadCommand()
			if err != nil || next.Tag != "a2" {
				t.Fatalf("next command: %v, %v", next, err)
			}
		})
	}
}

// TestDrain: after an error the rest of the command, including
// non-synchronizing literals, is skipped.
func TestDrain(t *testing.T) {
	cases := []struct {
		name, in string
		code     string
		close    bool
	}{
		{"error then non-sync literal", "a1 LOGIN (x) {5+}\r\nab\r\nc more {2+}\r\n}}\r\n", "", false},
		{"non-sync too big drained", "a1 LOGIN {2000+}\r\n" + strings.Repeat("x", 2000) + " pw\r\n", "TOOBIG", false},
		{"non-sync bigger than maxLiteral", "a1 LOGIN {2000000+}\r\n" + strings.Repeat("x", 10), "TOOBIG", true},
		{"line too long", "a1 LOGIN " + strings.Repeat("x", 2000) + "\r\n", "", true},
		{"nul in literal", "a1 LOGIN {3+}\r\na\x00b pw\r\n", "", false},
		{"stops at sync literal", "a1 LOGIN ) {5+}\r\nhello {3}\r\n", "", false},
		{"bad CR", "a1 NOOP\rx\r\n", "", false},
		{"error then huge non-sync", "a1 LOGIN ) {99999999999999999999999999+}\r\n", "", true},
		{"error then padded non-sync", "a1 LOGIN ) {000000000000000000000000003+}\r\nabc\r\n", "", true},
		{"error then non-sync over budget", "a1 LOGIN ) {9999999+}\r\n", "", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, out := newTestReader(tc.in + "a2 NOOP\r\n")
			_, err := r.ReadCommand()
			var pe *ParseError
			if !errors.As(err, &pe) || pe.Tag != "a1" || pe.Code != tc.code || pe.Close != tc.close {
				t.Fatalf("got %#v, want ParseError a1 code %q close %v", err, tc.code, tc.close)
			}
			if out.Len() != 0 {
				t.Fatalf("continuation sent: %q", out.String())
			}
			if tc.close {
				return
			}
			next, err := r.ReadCommand()
			if err != nil || next.Tag != "a2" {
				t.Fatalf("next command: %v, %v", next, err)
			}
		})
	}
}

func TestAppendStreaming(t *testing.T) {
	msg := "From: a@example.org\r\nSubject: hi\r\n\r\nbody\r\n"
	in := "a1 APPEND Drafts (\\Draft) {" + strconv.Itoa(len(msg)) + "}\r\n" + msg + "\r\n" +
		"a2 APPEND INBOX {5+}\r\nhello\r\n" + // not read by the caller
		"a3 APPEND INBOX ~{3}\r\na\x00b (\\Seen) \"01-Jan-2024 10:00:00 +0000\" {3}\r\nxyz\r\n" + // MULTIAPPEND
		"a5 APPEND INBOX {1+}\r\nx junk\r\n" +
		"a4 NOOP\r\n"
	r, out := newTestReader(in)
	c, err := r.ReadCommand()
	if err != nil {
		t.Fatal(err)
	}
	a := c.Args.(*AppendArgs)
	if out.String() != cont || a.Message.Size != int64(len(msg)) || a.Message.Binary {
		t.Fatalf("continuation %q, message %+v", out.String(), a.Message)
	}
	body, err := io.ReadAll(a.Message)
	if err != nil || string(body) != msg {
		t.Fatalf("message %q, %v", body, err)
	}
	if err := r.EndAppend(); err != nil {
		t.Fatal(err)
	}
	if c, err = r.ReadCommand(); err != nil || c.Tag != "a2" {
		t.Fatalf("a2: %v %v", c, err)
	}
	c, err = r.ReadCommand() // finishes a2 implicitly
	if err != nil || c.Tag != "a3" || !c.Args.(*AppendArgs).Message.Binary {
		t.Fatalf("a3: %v %v", c, err)
	}
	io.Copy(io.Discard, c.Args.(*AppendArgs).Message)
	// The second message of the MULTIAPPEND: its continuation is sent
	// only once the first one is read.
	if out.String() != cont+cont {
		t.Fatalf("continuations %q", out.String())
	}
	m, err := r.NextAppend("a3", "INBOX")
	if err != nil || m == nil || len(m.Flags) != 1 || m.Flags[0] != `\Seen` || m.Date.IsZero() || m.Message.Binary {
		t.Fatalf("NextAppend a3: %+v %v", m, err)
	}
	if body, err := io.ReadAll(m.Message); err != nil || string(body) != "xyz" {
		t.Fatalf("second message %q, %v", body, err)
	}
	if m, err := r.NextAppend("a3", "INBOX"); m != nil || err != nil {
		t.Fatalf("NextAppend at the end of a3: %+v %v", m, err)
	}
	if err := r.EndAppend(); err != nil {
		t.Fatalf("EndAppend a3: %v", err)
	}
	if out.String() != cont+cont+cont {
		t.Fatalf("continuations %q", out.String())
	}
	if c, err = r.ReadCommand(); err != nil || c.Tag != "a5" {
		t.Fatalf("a5: %v %v", c, err)
	}
	io.Copy(io.Discard, c.Args.(*AppendArgs).Message)
	var pe *ParseError
	if _, err := r.NextAppend("a5", "INBOX"); !errors.As(err, &pe) || pe.Tag != "a5" {
		t.Fatalf("NextAppend a5: %v", err)
	}
	if c, err = r.ReadCommand(); err != nil || c.Tag != "a4" {
		t.Fatalf("a4: %v %v", c, err)
	}
}

// TestWriterAsContinuation: a *Writer can carry the continuation requests.
func TestWriterAsContinuation(t *testing.T) {
	var buf strings.Builder
	w := NewWriter(&buf)
	r := NewReader(bufio.NewReader(strings.NewReader("a LOGIN {1}\r\nx y\r\n")), w, 0, 0)
	if _, err := r.ReadCommand(); err != nil {
		t.Fatal(err)
	}
	if buf.String() != cont {
		t.Fatalf("got %q", buf.String())
	}
}

func TestCheckAppend(t *testing.T) {
	errQuota := errors.New("over quota")
	for _, sync := range []bool{true, false} {
		lit := "{10+}\r\n0123456789"
		if sync {
			lit = "{10}"
		}
		r, out := newTestReader("a1 APPEND Sent " + lit + "\r\na2 NOOP\r\n")
		var gotBox string
		var gotSize int64
		r.CheckAppend = func(tag, mailbox string, size int64) error {
			gotBox, gotSize = mailbox, size
			return errQuota
		}
		_, err := r.ReadCommand()
		var pe *ParseError
		if !errors.As(err, &pe) || pe.Tag != "a1" || !errors.Is(err, errQuota) || gotBox != "Sent" || gotSize != 10 {
			t.Fatalf("sync=%v: %v (%q %d)", sync, err, gotBox, gotSize)
		}
		if out.Len() != 0 {
			t.Fatalf("continuation sent")
		}
		if c, err := r.ReadCommand(); err != nil || c.Tag != "a2" {
			t.Fatalf("sync=%v next: %v %v", sync, c, err)
		}
	}
}

func TestReadLine(t *testing.T) {
	r, _ := newTestReader("a AUTHENTICATE PLAIN\r\nAGFsaWNlAHB3\r\nb IDLE\r\nDONE\r\n" + strings.Repeat("x", 2000) + "\r\n")
	if c, err := r.ReadCommand(); err != nil || c.Name != "AUTHENTICATE" {
		t.Fatal(c, err)
	}
	if l, err := r.ReadLine(); err != nil || l != "AGFsaWNlAHB3" {
		t.Fatal(l, err)
	}
	if c, err := r.ReadCommand(); err != nil || c.Name != "IDLE" {
		t.Fatal(c, err)
	}
	if l, err := r.ReadLine(); err != nil || l != "DONE" {
		t.Fatal(l, err)
	}
	var pe *ParseError
	if _, err := r.ReadLine(); !errors.As(err, &pe) || !pe.Close {
		t.Fatalf("long line: %v", err)
	}
}

func TestEOF(t *testing.T) {
	r, _ := newTestReader("")
	if _, err := r.ReadCommand(); err != io.EOF {
		t.Fatalf("empty input: %v", err)
	}
	for _, in := range []string{"a1", "a1 NOOP", "a1 LOGIN {5}\r\nab", "a1 LOGIN \"x", "a1 APPEND INBOX {5+}\r\nab"} {
		r, _ := newTestReader(in)
		c, err := r.ReadCommand()
		if c != nil {
			_, err = io.ReadAll(c.Args.(*AppendArgs).Message)
		}
		if err != io.ErrUnexpectedEOF {
			t.Fatalf("%q: %v", in, err)
		}
	}
}
