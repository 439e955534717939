package pop3server

import (
	"bufio"
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
)

const (
	msg1 = "Subject: one\r\nFrom: a@example.org\r\n\r\nline 1\r\n.dot line\r\nline 3\r\n"
	msg2 = "Subject: two\n\nbare LF body\n..two dots\n" // stored with bare LF
	msg3 = "Subject: three\r\n\r\nno final newline"
)

func TestTransaction(t *testing.T) {
	h := start(t, nil)
	uids := h.store.add("alice@example.org", msg1, msg2, msg3)
	c := h.login(t, "alice@example.org")
	total := len(msg1) + len(msg2) + len(msg3)
	steps := []struct {
		cmd, reply string
		body       *string // multi-line body expected after the reply
	}{
		{"STAT", fmt.Sprintf("+OK 3 %d", total), nil},
		{"LIST", "+OK 3 messages:", ptr(fmt.Sprintf("1 %d\n2 %d\n3 %d\n", len(msg1), len(msg2), len(msg3)))},
		{"LIST 2", fmt.Sprintf("+OK 2 %d", len(msg2)), nil},
		{"LIST 4", "-ERR There's no message 4.", nil},
		{"LIST 0", "-ERR Invalid message number.", nil},
		{"LIST x", "-ERR Invalid message number.", nil},
		{"UIDL", "+OK", ptr(fmt.Sprintf("1 %08X6553F100\n2 %08X6553F100\n3 %08X6553F100\n", uids[0], uids[1], uids[2]))},
		{"UIDL 3", "+OK 3 000000036553F100", nil},
		{"RETR 1", fmt.Sprintf("+OK %d octets", len(msg1)), ptr("Subject: one\nFrom: a@example.org\n\nline 1\n.dot line\nline 3\n")},
		{"RETR 2", fmt.Sprintf("+OK %d octets", len(msg2)), ptr("Subject: two\n\nbare LF body\n..two dots\n")},
		{"TOP 1 0", "+OK", ptr("Subject: one\nFrom: a@example.org\n\n")},
		{"TOP 1 2", "+OK", ptr("Subject: one\nFrom: a@example.org\n\nline 1\n.dot line\n")},
		{"TOP 3 10", "+OK", ptr("Subject: three\n\nno final newline\n")},
		{"TOP 1", "-ERR TOP needs a message number and a number of lines.", nil},
		{"TOP 1 -1", "-ERR TOP needs a message number and a number of lines.", nil},
		{"DELE 1", "+OK Marked to be deleted.", nil},
		{"DELE 1", "-ERR Message is deleted.", nil},
		{"RETR 1", "-ERR Message is deleted.", nil},
		{"STAT", fmt.Sprintf("+OK 2 %d", len(msg2)+len(msg3)), nil},
		{"LIST", "+OK 2 messages:", ptr(fmt.Sprintf("2 %d\n3 %d\n", len(msg2), len(msg3)))},
		{"UIDL 1", "-ERR Message is deleted.", nil},
		{"RSET", "+OK", nil},
		{"STAT", fmt.Sprintf("+OK 3 %d", total), nil},
		{"DELE 3", "+OK Marked to be deleted.", nil},
		{"NOOP", "+OK", nil},
		{"USER bob@example.org", "-ERR Command not allowed in this state.", nil},
		{"XYZZY", "-ERR Unknown command.", nil},
		{"QUIT", "+OK Logging out, messages deleted.", nil},
	}
	for _, s := range steps {
		if got := c.cmd(s.cmd); got != s.reply {
			t.Fatalf("%s: got %q, want %q", s.cmd, got, s.reply)
		}
		if s.body != nil {
			if got := c.multi(); got != *s.body {
				t.Fatalf("%s: body %q, want %q", s.cmd, got, *s.body)
			}
		}
	}
	c.closed()
	h.waitLog(t, fmt.Sprintf("pop3(alice@example.org): Disconnected: Logged out top=3/%d, retr=2/%d, del=1/3, size=%d",
		2*len(msg1)+len(msg3), len(msg1)+len(msg2), total))
	seen, expunged := h.store.calls("alice@example.org")
	// Retrieved 1 and 2; 3 is deleted, 1 was undeleted by RSET.
	if !slices.Equal(seen, uids[:2]) || !slices.Equal(expunged, uids[2:]) {
		t.Fatalf("seen %v, expunged %v", seen, expunged)
	}
}

func ptr(s string) *string { return &s }

func TestDeletesOnlyAtQuit(t *testing.T) {
	h := start(t, nil)
	uids := h.store.add("alice@example.org", msg1, msg2, msg3)
	c := h.login(t, "alice@example.org")
	c.expect("UIDL", "+OK")
	before := c.multi()
	c.expect("DELE 1", "+OK")
	c.expect("RETR 2", "+OK")
	c.multi()
	c.conn.Close() // no QUIT: no UPDATE state
	h.waitLog(t, "pop3(alice@example.org): Disconnected: Connection closed top=0/0, retr=1/")
	if seen, expunged := h.store.calls("alice@example.org"); len(seen)+len(expunged) != 0 {
		t.Fatalf("without QUIT: seen %v, expunged %v", seen, expunged)
	}

	// The next session sees the same messages with the same UIDLs.
	c = h.login(t, "alice@example.org")
	c.expect("UIDL", "+OK")
	if again := c.multi(); again != before {
		t.Fatalf("UIDL changed:\n%s\nthen\n%s", before, again)
	}
	c.expect("DELE 1", "+OK")
	c.expect("QUIT", "+OK")
	c.closed()
	h.waitLog(t, "del=1/3")

	// After an expunge numbers shift, UIDLs stay.
	c = h.login(t, "alice@example.org")
	c.expect("UIDL", "+OK")
	want := fmt.Sprintf("1 %08X6553F100\n2 %08X6553F100\n", uids[1], uids[2])
	if got := c.multi(); got != want {
		t.Fatalf("UIDL after expunge %q, want %q", got, want)
	}
}

func TestExpungeError(t *testing.T) {
	h := start(t, nil)
	h.store.add("alice@example.org", msg1)
	h.store.expungeErr = fmt.Errorf("read-only file system")
	c := h.login(t, "alice@example.org")
	c.expect("DELE 1", "+OK")
	c.expect("QUIT", "-ERR [SYS/TEMP] Some deleted messages were not removed.")
	c.closed()
	h.waitLog(t, "expunging deleted messages: read-only file system")
}

func TestMessageGone(t *testing.T) {
	h := start(t, nil)
	h.store.add("alice@example.org", msg1, msg2)
	c := h.login(t, "alice@example.org")
	// Another session (IMAP) expunges message 1 meanwhile.
	h.store.Expunge(t.Context(), "alice@example.org", "", []int64{1})
	c.expect("RETR 1", "-ERR Message 1 was expunged by another session.")
	c.expect("RETR 2", "+OK")
	c.multi()
}

func TestWriteMessage(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		lines    int
		want     string
	}{
		{"CRLF", "a\r\n\r\nb\r\n", -1, "a\r\n\r\nb\r\n.\r\n"},
		{"bare LF", "a\n\nb\n", -1, "a\r\n\r\nb\r\n.\r\n"},
		{"mixed", "a\r\nb\n\r\nc\n", -1, "a\r\nb\r\n\r\nc\r\n.\r\n"},
		{"dots", ".\r\n..\r\n.a\r\nb.\r\n", -1, "..\r\n...\r\n..a\r\nb.\r\n.\r\n"},
		{"no final newline", "a\r\n\r\nb", -1, "a\r\n\r\nb\r\n.\r\n"},
		{"final CR only", "a\r\n\r\nb\r", -1, "a\r\n\r\nb\r\n.\r\n"},
		{"empty", "", -1, ".\r\n"},
		{"bare CR kept", "a\rb\r\n", -1, "a\rb\r\n.\r\n"},
		{"TOP 0", "h: 1\r\nh: 2\r\n\r\nb1\r\nb2\r\n", 0, "h: 1\r\nh: 2\r\n\r\n.\r\n"},
		{"TOP 1", "h: 1\r\n\r\nb1\r\nb2\r\n", 1, "h: 1\r\n\r\nb1\r\n.\r\n"},
		{"TOP 1 bare LF", "h: 1\n\n.b1\nb2\n", 1, "h: 1\r\n\r\n..b1\r\n.\r\n"},
		{"TOP more than there is", "h: 1\r\n\r\nb1\r\n", 5, "h: 1\r\n\r\nb1\r\n.\r\n"},
		{"TOP header only", "h: 1\r\nh: 2", 0, "h: 1\r\nh: 2\r\n.\r\n"},
		{"TOP blank body lines count", "h\r\n\r\n\r\n\r\nx\r\n", 2, "h\r\n\r\n\r\n\r\n.\r\n"},
	} {
		for _, oneByte := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/onebyte=%v", tc.name, oneByte), func(t *testing.T) {
				var out bytes.Buffer
				w := bufio.NewWriter(&out)
				r := strings.NewReader(tc.in)
				var err error
				if oneByte {
					err = writeMessage(w, iotest.OneByteReader(r), tc.lines)
				} else {
					err = writeMessage(w, r, tc.lines)
				}
				w.Flush()
				if err != nil || out.String() != tc.want {
					t.Fatalf("got %q (%v), want %q", out.String(), err, tc.want)
				}
			})
		}
	}
}

func TestWriteMessageReadError(t *testing.T) {
	var out bytes.Buffer
	w := bufio.NewWriter(&out)
	if err := writeMessage(w, iotest.TimeoutReader(strings.NewReader("a\r\nb\r\n")), -1); err == nil {
		t.Fatal("no error from a failing reader")
	}
}
