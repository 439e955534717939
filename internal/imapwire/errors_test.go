package imapwire

import (
	"errors"
	"strings"
	"testing"
)

func TestParseErrors(t *testing.T) {
	runParseCases(t, []parseCase{
		{name: "no tag", in: "(\r\n", tag: "", wantErr: "missing or invalid tag"},
		{name: "plus tag", in: "+ NOOP\r\n", tag: "", wantErr: "missing or invalid tag"},
		{name: "no command", in: "a1\r\n", tag: "a1", wantErr: "missing command"},
		{name: "unknown command", in: "a1 XYZZY\r\n", tag: "a1", wantErr: "unknown command XYZZY"},
		{name: "uid bad sub", in: "a1 UID LOGIN x y\r\n", tag: "a1", wantErr: "UID LOGIN is not a command"},
		{name: "extra args", in: "a1 NOOP now\r\n", tag: "a1", wantErr: "too many arguments"},
		{name: "double space", in: "a1 LOGIN  x y\r\n", tag: "a1", wantErr: "expected string"},
		{name: "login missing pass", in: "a1 LOGIN alice\r\n", tag: "a1", wantErr: "missing argument"},
		{name: "login missing all", in: "a1 LOGIN\r\n", tag: "a1", wantErr: "missing argument"},
		{name: "select missing", in: "a1 SELECT\r\n", tag: "a1", wantErr: "missing argument"},
		{name: "rename one", in: "a1 RENAME foo\r\n", tag: "a1", wantErr: "missing argument"},
		{name: "bad escape", in: "a1 LOGIN \"a\\b\" x\r\n", tag: "a1", wantErr: "invalid escape"},
		{name: "unterminated quote", in: "a1 LOGIN \"abc\r\n", tag: "a1", wantErr: "unterminated quoted string"},
		{name: "bad base64", in: "a1 AUTHENTICATE PLAIN !!!\r\n", tag: "a1", wantErr: "invalid base64"},
		{name: "enable nothing", in: "a1 ENABLE\r\n", tag: "a1", wantErr: "missing argument"},
		{name: "id garbage", in: "a1 ID foo\r\n", tag: "a1", wantErr: "expected ( or NIL"},
		{name: "id odd", in: "a1 ID (\"name\")\r\n", tag: "a1", wantErr: "missing argument"},
		{name: "id unbalanced", in: "a1 ID (\"a\" \"b\"\r\n", tag: "a1", wantErr: "missing argument"},
		{name: "select unknown param", in: "a1 SELECT INBOX (FOO)\r\n", tag: "a1", wantErr: "unknown select parameter"},
		{name: "qresync zero uidvalidity", in: "a1 SELECT INBOX (QRESYNC (0 1))\r\n", tag: "a1", wantErr: "must not be 0"},
		{name: "qresync zero modseq", in: "a1 SELECT INBOX (QRESYNC (1 0))\r\n", tag: "a1", wantErr: "must not be 0"},
		{name: "qresync star", in: "a1 SELECT INBOX (QRESYNC (1 2 1:*))\r\n", tag: "a1", wantErr: "must not contain"},
		{name: "qresync unbalanced", in: "a1 SELECT INBOX (QRESYNC (1 2 (1:3 4:6))\r\n", tag: "a1", wantErr: "missing argument"},
		{name: "create bad param", in: "a1 CREATE foo (BAR)\r\n", tag: "a1", wantErr: "unknown CREATE parameter"},
		{name: "create bad use", in: "a1 CREATE foo (USE (Sent))\r\n", tag: "a1", wantErr: "invalid special-use"},
		{name: "status empty", in: "a1 STATUS INBOX ()\r\n", tag: "a1", wantErr: "empty STATUS item list"},
		{name: "status unknown", in: "a1 STATUS INBOX (MESSAGES FOO)\r\n", tag: "a1", wantErr: "unknown STATUS item FOO"},
		{name: "status no list", in: "a1 STATUS INBOX MESSAGES\r\n", tag: "a1", wantErr: "expected '('"},
		{name: "seq zero", in: "a1 FETCH 0 FLAGS\r\n", tag: "a1", wantErr: "invalid sequence number 0"},
		{name: "seq open range", in: "a1 FETCH 1: FLAGS\r\n", tag: "a1", wantErr: "invalid sequence set"},
		{name: "seq trailing comma", in: "a1 FETCH 1, FLAGS\r\n", tag: "a1", wantErr: "invalid sequence set"},
		{name: "seq leading zero", in: "a1 FETCH 01 FLAGS\r\n", tag: "a1", wantErr: "invalid sequence number 0"},
		{name: "seq huge", in: "a1 FETCH 4294967296 FLAGS\r\n", tag: "a1", wantErr: "out of range"},
		{name: "seq max ok then bad", in: "a1 COPY 4294967295:4294967296 x\r\n", tag: "a1", wantErr: "out of range"},
		{name: "seq dollar mix", in: "a1 FETCH 1,$ FLAGS\r\n", tag: "a1", wantErr: "invalid sequence set"},
		{name: "seq triple", in: "a1 FETCH 1:2:3 FLAGS\r\n", tag: "a1", wantErr: "invalid sequence set"},
		{name: "uidvalidity huge", in: "a1 SELECT INBOX (QRESYNC (4294967296 1))\r\n", tag: "a1", wantErr: "out of range"},
		{name: "modseq huge", in: "a1 FETCH 1 FLAGS (CHANGEDSINCE 9223372036854775808)\r\n", tag: "a1", wantErr: "out of range"},
		{name: "literal size huge", in: "a1 LOGIN {99999999999999999999}\r\n", tag: "a1", wantErr: "out of range"},
		{name: "copy no mailbox", in: "a1 COPY 1:2\r\n", tag: "a1", wantErr: "missing argument"},
		{name: "uid expunge no set", in: "a1 UID EXPUNGE\r\n", tag: "a1", wantErr: "missing argument"},
		{name: "store unbalanced", in: "a1 STORE 1 FLAGS (\\Seen\r\n", tag: "a1", wantErr: "missing argument"},
		{name: "store extra paren", in: "a1 STORE 1 FLAGS (\\Seen))\r\n", tag: "a1", wantErr: "unexpected"},
		{name: "flag empty", in: "a1 STORE 1 FLAGS (\\)\r\n", tag: "a1", wantErr: "expected atom"},
		{name: "list unbalanced", in: "a1 LIST \"\" (INBOX\r\n", tag: "a1", wantErr: "missing argument"},
		{name: "list return junk", in: "a1 LIST \"\" * FOO (X)\r\n", tag: "a1", wantErr: "expected RETURN"},
		{name: "setacl without rights", in: "a1 SETACL x bob\r\n", tag: "a1", wantErr: "missing argument"},
		{name: "myrights extra", in: "a1 MYRIGHTS x y\r\n", tag: "a1", wantErr: "too many arguments"},
		{name: "setquota bad number", in: "a1 SETQUOTA x (STORAGE abc)\r\n", tag: "a1", wantErr: "expected quota limit"},
		{name: "append bad flags", in: "a1 APPEND x (\\Seen {3}\r\n", tag: "a1", wantErr: "expected atom"},
		{name: "append bad datetime", in: "a1 APPEND x \"1-Jan-2024 25:00:00 +0000\" {3}\r\n", tag: "a1", wantErr: "invalid date-time"},
	})
}

// TestErrorsKeepStream: after each bad command of a stream the next one is
// still read correctly.
func TestErrorsKeepStream(t *testing.T) {
	in := "a1 FETCH 0 FLAGS\r\n" +
		"a2 NOOP\r\n" +
		"a3 SEARCH (SEEN\r\n" +
		"a4 LOGIN \"x\r\n" +
		"a5 CAPABILITY\r\n"
	r, _ := newTestReader(in)
	cmds, errs := readAll(t, r)
	var tags []string
	for i, c := range cmds {
		var pe *ParseError
		switch {
		case errs[i] == nil:
			tags = append(tags, c.Tag)
		case errors.As(errs[i], &pe):
			tags = append(tags, "BAD:"+pe.Tag)
		default:
			t.Fatal(errs[i])
		}
	}
	if got := strings.Join(tags, " "); got != "BAD:a1 a2 BAD:a3 BAD:a4 a5" {
		t.Fatalf("got %s", got)
	}
}

func TestParseErrorString(t *testing.T) {
	cause := errors.New("cause")
	cases := []struct {
		e    *ParseError
		want string
	}{
		{&ParseError{Msg: "missing or invalid tag"}, "imapwire: missing or invalid tag"},
		{&ParseError{Tag: "a1", Msg: "literal too big", Code: "TOOBIG"}, "imapwire: a1: [TOOBIG] literal too big"},
		{&ParseError{Tag: "a1", Msg: "x", Err: cause}, "imapwire: a1: x"},
	}
	for _, tc := range cases {
		if got := tc.e.Error(); got != tc.want {
			t.Errorf("got %q, want %q", got, tc.want)
		}
	}
	if !errors.Is(cases[2].e, cause) {
		t.Error("Unwrap")
	}
}
