package imapmsg

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestBaseSubject(t *testing.T) {
	tests := []struct {
		in, want string
		reply    bool
	}{
		{"hello", "hello", false},
		{"Re: hello", "hello", true},
		{"RE: re: Re:hello", "hello", true},
		{"Fwd: hello", "hello", true},
		{"FW: hello", "hello", true},
		{"Re[2]: hello", "hello", true},
		{"Re [2] : hello", "hello", true},
		{"[list] Re: hello", "hello", true},
		{"Re: [list] hello", "hello", true},
		{"[a][b] Re: c", "c", true},
		{"[fwd: hello]", "hello", true},
		{"[Fwd: Re: hello] (fwd)", "hello", true},
		{"hello (fwd)", "hello", true},
		{"hello (FWD) (fwd)  ", "hello", true},
		{"[x]", "[x]", false}, // a blob alone stays (step 4)
		{"[list]   ", "[list]", false},
		{"   spaced \t  subject  ", "spaced subject", false},
		{"line\r\n folded", "line folded", false},
		{"=?UTF-8?B?UmU6IEdyw7zDn2U=?=", "Grüße", true},
		{"Re:", "", true},
		{"Reply: x", "Reply: x", false},
		{"re-: x", "re-: x", false},
		{"", "", false},
		{"[unclosed Re: x", "[unclosed Re: x", false},
	}
	for _, tc := range tests {
		got, reply := BaseSubject(tc.in)
		if got != tc.want || reply != tc.reply {
			t.Errorf("BaseSubject(%q) = %q, %v; want %q, %v", tc.in, got, reply, tc.want, tc.reply)
		}
	}
}

func TestCollate(t *testing.T) {
	tests := []struct{ a, b string }{
		{"apfel", "APFEL"},
		{"Äpfel", "äpfel"},
		{"ǆ", "ǅ"},    // titlecase, not uppercase
		{"ﬁx", "fix"}, // compatibility decomposition
	}
	for _, tc := range tests {
		if Collate(tc.a) != Collate(tc.b) {
			t.Errorf("Collate(%q) = %q, Collate(%q) = %q: want equal", tc.a, Collate(tc.a), tc.b, Collate(tc.b))
		}
	}
	if Collate("a") >= Collate("B") {
		t.Errorf("a sorts after B")
	}
}

func TestSortAddress(t *testing.T) {
	m := Parse([]byte("From: \"Zed\" <alpha (c) @example.org>\r\nTo: team: x@y.example;\r\nCc: <cc@example.org>\r\n\r\n"))
	for _, tc := range []struct{ got, want string }{
		{m.SortAddress("from"), "ALPHA"},
		{m.DisplayAddress("from"), "ZED"},
		{m.SortAddress("to"), "TEAM"}, // the group's name, as ENVELOPE lists it first
		{m.DisplayAddress("cc"), "CC@EXAMPLE.ORG"},
		{m.SortAddress("bcc"), ""},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}

// threadString renders threads as THREAD does, with message indexes+1.
func threadString(roots []*ThreadNode) string {
	var b strings.Builder
	var members func(n *ThreadNode)
	members = func(n *ThreadNode) {
		if n.Msg >= 0 {
			fmt.Fprint(&b, n.Msg+1)
		}
		switch {
		case len(n.Children) == 1 && n.Msg >= 0:
			b.WriteByte(' ')
			members(n.Children[0])
		case len(n.Children) > 0:
			if n.Msg >= 0 {
				b.WriteByte(' ')
			}
			for _, c := range n.Children {
				b.WriteByte('(')
				members(c)
				b.WriteByte(')')
			}
		}
	}
	for _, n := range roots {
		b.WriteByte('(')
		members(n)
		b.WriteByte(')')
	}
	return b.String()
}

func TestThread(t *testing.T) {
	day := func(d int) time.Time { return time.Date(2024, 1, d, 0, 0, 0, 0, time.UTC) }
	msg := func(i int, subj, id string, refs ...string) ThreadMsg {
		base, reply := BaseSubject(subj)
		return ThreadMsg{ID: uint32(i), Seq: i, Date: day(i), Base: Collate(base), Reply: reply, MessageID: id, Refs: refs}
	}
	msgs := []ThreadMsg{
		msg(1, "a", "1@x"),
		msg(2, "Re: a", "2@x", "1@x"),
		msg(3, "Re: a", "3@x", "1@x", "2@x"),
		msg(4, "b", "4@x"),
		msg(5, "Re: a", "5@x", "1@x"),
		msg(6, "c", "6@x", "gone@x"), // reply to a missing message
		msg(7, "Re: c", "7@x", "gone@x"),
		msg(8, "Re: b", "8@x"), // no reference: joined by subject
		msg(9, "loop", "9@x", "10@x"),
		msg(10, "loop", "10@x", "9@x"),
		msg(11, "dup", "1@x"), // duplicate id: a message of its own
	}
	tests := []struct {
		name string
		fn   func([]ThreadMsg) []*ThreadNode
		want string
	}{
		{"references", References, "(1 (2 3)(5))(4 8)((6)(7))(10 9)(11)"}, // 9 replies to 10; 10 to 9 would loop
		{"orderedsubject", OrderedSubject, "(1 (2)(3)(5))(4 8)(6 7)(9 10)(11)"},
	}
	for _, tc := range tests {
		if got := threadString(tc.fn(msgs)); got != tc.want {
			t.Errorf("%s: got %s, want %s", tc.name, got, tc.want)
		}
	}
}

func TestMessageIDs(t *testing.T) {
	got := MessageIDs("<a@b> (comment) <no-at> < c @ d >\r\n <e@f")
	if strings.Join(got, ",") != "a@b,c@d" {
		t.Errorf("MessageIDs = %q", got)
	}
}

// FuzzThread checks that any header yields threads that hold every
// message exactly once, whatever the references (loops, self-references,
// duplicates).
func FuzzThread(f *testing.F) {
	f.Add("Re: [x] Fwd: a (fwd)", "<1@x>", "<2@x> <1@x>", "<3@x>")
	f.Add("[fwd: [fwd: b]]", "<1@x>", "<1@x>", "<1@x> <1@x>")
	f.Add("=?UTF-8?Q?=C3=A4?=", "", "<a@b> <b@c> <c@a>", "<b@c>")
	f.Fuzz(func(t *testing.T, subj, id, refs1, refs2 string) {
		BaseSubject(subj)
		Collate(subj)
		var msgs []ThreadMsg
		for i, refs := range []string{refs1, refs2, id, refs1 + refs2, ""} {
			base, reply := BaseSubject(subj + strings.Repeat("x", i%2))
			ids := MessageIDs(id)
			m := ThreadMsg{ID: uint32(i + 1), Seq: i + 1, Base: Collate(base), Reply: reply, Refs: MessageIDs(refs)}
			if len(ids) > 0 {
				m.MessageID = ids[0]
			}
			msgs = append(msgs, m)
		}
		for _, fn := range []func([]ThreadMsg) []*ThreadNode{References, OrderedSubject} {
			seen := map[int]int{}
			var walk func(n *ThreadNode, depth int)
			walk = func(n *ThreadNode, depth int) {
				if depth > len(msgs)+1 {
					t.Fatalf("threads deeper than the messages")
				}
				if n.Msg >= 0 {
					seen[n.Msg]++
				}
				for _, c := range n.Children {
					walk(c, depth+1)
				}
			}
			for _, r := range fn(msgs) {
				walk(r, 0)
			}
			for i := range msgs {
				if seen[i] != 1 {
					t.Fatalf("message %d appears %d times", i, seen[i])
				}
			}
		}
	})
}

func TestPreview(t *testing.T) {
	tests := []struct{ msg, want string }{
		{"Subject: x\r\n\r\nHi\r\n\r\n-- \r\nsignature\r\n", "Hi"},
		{"Content-Type: text/html\r\n\r\n<html><style>p{color:red}</style><p>Hello&nbsp;<b>you</b> &amp; me</p>", "Hello you & me"},
		{"Content-Type: text/plain\r\nContent-Disposition: attachment\r\n\r\nnot a preview\r\n", ""},
		{"Subject: x\r\n\r\n" + strings.Repeat("é", 300), strings.Repeat("é", PreviewLen)},
		{"Subject: x\r\n\r\n  > quoted\r\n\tindented\x00text\r\n", "indentedtext"},
	}
	for _, tc := range tests {
		if got := Parse([]byte(tc.msg)).Preview(); got != tc.want {
			t.Errorf("Preview(%q) = %q, want %q", tc.msg, got, tc.want)
		}
	}
}
