package imapwire

import (
	"errors"
	"strings"
	"testing"
)

func TestParseMetadata(t *testing.T) {
	get := func(mbox string, depth int, entries ...string) *GetMetadataArgs {
		return &GetMetadataArgs{Mailbox: mbox, Depth: depth, Entries: entries}
	}
	set := func(mbox string, vs ...MetadataValue) *SetMetadataArgs {
		return &SetMetadataArgs{Mailbox: mbox, Values: vs}
	}
	val := func(e, v string) MetadataValue { return MetadataValue{Entry: e, Value: []byte(v)} }
	runParseCases(t, []parseCase{
		// The examples of RFC 5464 4.2 and 4.3.
		{name: "server entry", in: "a GETMETADATA \"\" /shared/comment\r\n", want: cmd("a", "GETMETADATA", get("", 0, "/shared/comment"))},
		{name: "list", in: "a GETMETADATA INBOX (/shared/comment /private/comment)\r\n",
			want: cmd("a", "GETMETADATA", get("INBOX", 0, "/shared/comment", "/private/comment"))},
		{name: "maxsize", in: "a GETMETADATA (MAXSIZE 1024) INBOX /shared/comment\r\n",
			want: cmd("a", "GETMETADATA", &GetMetadataArgs{Mailbox: "INBOX", HasMaxSize: true, MaxSize: 1024, Entries: []string{"/shared/comment"}})},
		{name: "depth", in: "a GETMETADATA (DEPTH 1) INBOX (/private/filters/values)\r\n",
			want: cmd("a", "GETMETADATA", get("INBOX", 1, "/private/filters/values"))},
		{name: "depth infinity both", in: "a getmetadata (depth infinity maxsize 0) inbox /Shared\r\n",
			want: cmd("a", "GETMETADATA", &GetMetadataArgs{Mailbox: "INBOX", Depth: DepthInfinity, HasMaxSize: true, Entries: []string{"/shared"}})},
		{name: "bad depth", in: "a GETMETADATA (DEPTH 2) INBOX /private\r\n", tag: "a", wantErr: "invalid value for DEPTH"},
		{name: "bad option", in: "a GETMETADATA (COLOR 2) INBOX /private\r\n", tag: "a", wantErr: "unknown GETMETADATA option"},
		{name: "bad prefix", in: "a GETMETADATA INBOX /foo\r\n", tag: "a", wantErr: "must begin with /private or /shared"},
		{name: "wildcard", in: "a GETMETADATA INBOX \"/private/a*\"\r\n", tag: "a", wantErr: "can't contain '*' or '%'"},
		{name: "double slash", in: "a GETMETADATA INBOX /private//a\r\n", tag: "a", wantErr: "consecutive '/'"},
		{name: "trailing slash", in: "a GETMETADATA INBOX /private/a/\r\n", tag: "a", wantErr: "can't end with '/'"},
		{name: "control", in: "a GETMETADATA INBOX \"/private/a\x01\"\r\n", tag: "a", wantErr: "without control characters"},
		{name: "empty list", in: "a GETMETADATA INBOX ()\r\n", tag: "a", wantErr: "expected string"},
		{name: "set literal", in: "a SETMETADATA INBOX (/private/comment {33}\r\nMy new comment across\r\ntwo lines.)\r\n",
			want: cmd("a", "SETMETADATA", set("INBOX", val("/private/comment", "My new comment across\r\ntwo lines.")))},
		{name: "set nil", in: "a SETMETADATA INBOX (/private/comment NIL)\r\n",
			want: cmd("a", "SETMETADATA", set("INBOX", MetadataValue{Entry: "/private/comment", Nil: true}))},
		{name: "set two", in: "a SETMETADATA INBOX (/shared/comment \"My new comment\" /private/Comment \"My own comment\")\r\n",
			want: cmd("a", "SETMETADATA", set("INBOX", val("/shared/comment", "My new comment"), val("/private/comment", "My own comment")))},
		{name: "set empty string", in: "a SETMETADATA \"\" (/private/vendor/x \"\")\r\n",
			want: cmd("a", "SETMETADATA", set("", val("/private/vendor/x", "")))},
		{name: "set literal8", in: "a SETMETADATA INBOX (/private/vendor/x/bin ~{3+}\r\na\x00b)\r\n",
			want: cmd("a", "SETMETADATA", set("INBOX", val("/private/vendor/x/bin", "a\x00b")))},
		{name: "NUL in literal", in: "a SETMETADATA INBOX (/private/x {3+}\r\na\x00b)\r\n", tag: "a", wantErr: "NUL in literal"},
		{name: "set bare prefix", in: "a SETMETADATA INBOX (/private \"x\")\r\n", tag: "a", wantErr: "below /private or /shared"},
		{name: "set no value", in: "a SETMETADATA INBOX (/private/x)\r\n", tag: "a", wantErr: "missing argument"},
		{name: "set atom value", in: "a SETMETADATA INBOX (/private/x abc)\r\n", tag: "a", wantErr: "expected a value or NIL"},
		{name: "set empty", in: "a SETMETADATA INBOX ()\r\n", tag: "a", wantErr: "expected string"},
	})
}

// TestMetadataMaxSize: a value literal over MaxMetadataValue is refused
// before its data is asked for, with the code RFC 5464 4.3 wants; the
// next command is read normally.
func TestMetadataMaxSize(t *testing.T) {
	for _, tc := range []struct{ name, lit string }{{"sync", "{20}\r\n"}, {"nonsync", "{20+}\r\n01234567890123456789)\r\n"}} {
		t.Run(tc.name, func(t *testing.T) {
			r, out := newTestReader("a SETMETADATA INBOX (/private/x " + tc.lit + "b NOOP\r\n")
			r.MaxMetadataValue = 10
			_, err := r.ReadCommand()
			var pe *ParseError
			if !errors.As(err, &pe) || !errors.Is(err, ErrMetadataTooBig) || pe.Code != "METADATA MAXSIZE 10" || pe.Tag != "a" || pe.Close {
				t.Fatalf("got %v", err)
			}
			if strings.Contains(out.String(), "+") {
				t.Fatalf("continuation sent for a refused literal: %q", out.String())
			}
			c, err := r.ReadCommand()
			if err != nil || c.Name != "NOOP" {
				t.Fatalf("next command: %+v %v", c, err)
			}
		})
	}
}
