package imapwire

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// Small limits so that the fuzzer reaches them.
const (
	fuzzMaxLine    = 128
	fuzzMaxLiteral = 512
	fuzzMaxArgLit  = 64
	fuzzMaxCommand = 256
)

var fuzzSeeds = []string{
	"a1 LOGIN {5}\r\nalice {6+}\r\nsecret\r\n",
	"a2 SELECT INBOX (QRESYNC (67890007 90060115194045000 41:211,214:541 (1:10 41:50)))\r\n",
	"a3 UID FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (From Subject)]<0.100>) (CHANGEDSINCE 5 VANISHED)\r\n",
	"a4 SEARCH RETURN (MIN SAVE) CHARSET UTF-8 OR (SEEN FROM {3}\r\nbob) NOT UID 1:5,$ MODSEQ \"/flags/\\\\seen\" all 3\r\n",
	"a5 APPEND Sent (\\Seen) \" 7-Feb-1994 21:52:25 -0800\" {10+}\r\n0123456789\r\n",
	"a6 APPEND Sent ~{3}\r\na\x00b (\\Seen) {2}\r\n",
	"a7 LIST (SUBSCRIBED RECURSIVEMATCH) \"\" (% \"Lists/*\") RETURN (CHILDREN STATUS (MESSAGES UNSEEN))\r\n",
	"a8 STORE 1:3 (UNCHANGEDSINCE 9) +FLAGS.SILENT (\\Deleted $Junk)\r\n",
	"a9 ID (\"name\" \"x\" \"os\" NIL)\r\na10 ENABLE QRESYNC\r\na11 CREATE x (USE (\\Sent))\r\n",
	"a12 LOGIN {2000+}\r\nxx\r\na13 NOOP\r\n",
	"a14 FETCH 0 (\r\n\r\na15 SETQUOTA \"\" (STORAGE 10)\r\na16 STATUS x (SIZE)\r\n",
	"a17 AUTHENTICATE PLAIN AGFsaWNlAHB3\r\na18 UID EXPUNGE 4:7\r\n",
	"a19 UID SORT RETURN (MIN PARTIAL -1:-10) (REVERSE DATE SUBJECT DISPLAYFROM) UTF-8 OR SEEN {1}\r\nx\r\n",
	"a24 APPEND INBOX (\\Seen) {2+}\r\nab \"1-Jan-2024 00:00:00 +0000\" ~{1+}\r\n\x00 {1}\r\nc\r\n",
	"a31 UID FETCH 1:* (EMAILID THREADID)\r\na32 SEARCH OR EMAILID M1-_x THREADID T2\r\na33 STATUS x (MAILBOXID)\r\n",
	"a34 GETMETADATA (MAXSIZE 10 DEPTH infinity) \"\" (/shared/admin /private)\r\na35 SETMETADATA INBOX (/private/comment {3}\r\nabc /shared/x ~{2+}\r\n\x00\x01 /shared/y NIL)\r\n",
	"a27 SEARCH SAVEDSINCE 1-Jan-2024 OR SAVEDATESUPPORTED SAVEDON \"2-Feb-2020\"\r\n",
	"a25 COMPRESS DEFLATE\r\na26 COMPRESS\r\n",
	"a22 UID FETCH 1:* (UID PREVIEW (LAZY) FLAGS)\r\na23 FETCH 1 PREVIEW\r\n",
	"a25 SETACL INBOX bob@x +lrs\r\na26 DELETEACL \"Shared/a b\" -anyone\r\na28 GETACL x\r\na29 LISTRIGHTS x {1}\r\ny\r\na30 MYRIGHTS INBOX\r\n",
	"a31 APPEND Drafts (\\Draft) CATENATE (URL \"/Drafts;UIDVALIDITY=1/;UID=20/;section=HEADER\" TEXT {4}\r\n\r\n-- URL ;UID=2 TEXT ~{1+}\r\n\x00) {1}\r\nx\r\n",
	"a32 APPEND INBOX CATENATE (URL {3+}\r\n/x/ TEXT {2}\r\nab)) CATENATE ()\r\na33 APPEND INBOX CATENATE (TEXT {9999999999+}\r\n",
	"a34 GENURLAUTH \"imap://joe@example.com/INBOX/;uid=20;urlauth=anonymous\" INTERNAL x {1}\r\ny\r\na35 RESETKEY INBOX INTERNAL\r\na36 URLFETCH a {2+}\r\nbc\r\n",
	"a20 THREAD REFERENCES US-ASCII (SINCE 1-Jan-2020 NOT DELETED)\r\na21 SEARCH RETURN (PARTIAL 1:5 COUNT) ALL\r\n",
	"a31 NOTIFY SET STATUS (selected (MessageNew (UID BODY.PEEK[HEADER.FIELDS (From)]<0.9>) MessageExpunge)) (subtree (Lists {1}\r\nx) NONE)\r\na32 NOTIFY NONE\r\n",
	"a33 NOTIFY SET (mailboxes misc (MailboxName QuotaChange)) (selected (MessageNew))\r\na34 CANCELUPDATE \"a1\" \"b\"\r\n",
	"a35 UID SEARCH RETURN (UPDATE (UID ENVELOPE) CONTEXT PARTIAL 1:10) KEYWORD $Junk\r\na36 SORT RETURN (UPDATE) (DATE) UTF-8 ALL\r\n",
}

// stringBytes sums the lengths of all strings and byte slices reachable
// from v: the memory a parsed command holds.
func stringBytes(v reflect.Value) int {
	switch v.Kind() {
	case reflect.String:
		return v.Len()
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return 0
		}
		return stringBytes(v.Elem())
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return v.Len()
		}
		n := 0
		for i := 0; i < v.Len(); i++ {
			n += stringBytes(v.Index(i))
		}
		return n
	case reflect.Struct:
		if v.Type() == reflect.TypeFor[Literal]() {
			return 0
		}
		n := 0
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				n += stringBytes(v.Field(i))
			}
		}
		return n
	}
	return 0
}

func FuzzReadCommand(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var out bytes.Buffer
		r := NewReader(bufio.NewReaderSize(bytes.NewReader(data), 16), &out, fuzzMaxLine, fuzzMaxLiteral)
		r.MaxArgLiteral = fuzzMaxArgLit
		r.MaxCommand = fuzzMaxCommand
		for i := 0; ; i++ {
			if i > len(data) {
				t.Fatal("more commands than input bytes")
			}
			cmd, err := r.ReadCommand()
			if r.lineLen > fuzzMaxLine+1 || r.cmdLen > fuzzMaxCommand {
				t.Fatalf("limits exceeded: line %d command %d", r.lineLen, r.cmdLen)
			}
			var pe *ParseError
			if errors.As(err, &pe) {
				if pe.Tag != "" && strings.IndexFunc(pe.Tag, func(c rune) bool { return c > 0x7f || !isTagChar(byte(c)) }) >= 0 {
					t.Fatalf("bad tag %q in error", pe.Tag)
				}
				if pe.Close {
					break
				}
				continue
			}
			if err != nil {
				if err != io.EOF && err != io.ErrUnexpectedEOF {
					t.Fatalf("unexpected error type %T %v", err, err)
				}
				break
			}
			if cmd.Tag == "" || cmd.Name == "" || cmd.Name != strings.ToUpper(cmd.Name) {
				t.Fatalf("bad command %+v", cmd)
			}
			if n := stringBytes(reflect.ValueOf(cmd.Args)); n > fuzzMaxCommand {
				t.Fatalf("command holds %d bytes", n)
			}
			if a, ok := cmd.Args.(*AppendArgs); ok {
				// Every message of a MULTIAPPEND, then the line end.
				for m, k := &a.AppendMessage, 0; m != nil; k++ {
					if k > len(data) {
						t.Fatal("more APPEND messages than input bytes")
					}
					var err error
					if m.Catenate {
						// RFC 4469: read every part; a refused one ends
						// the command.
						if err = fuzzParts(t, r, len(data)); err != nil {
							break
						}
					} else if n, _ := io.Copy(io.Discard, m.Message); n > fuzzMaxLiteral || n > m.Message.Size {
						t.Fatalf("message of %d bytes", n)
					}
					if m, err = r.NextAppend(cmd.Tag, a.Mailbox); err != nil {
						break
					}
				}
				r.EndAppend()
			}
		}
		if conts := strings.Count(out.String(), "+ "); conts > bytes.Count(data, []byte("}")) {
			t.Fatalf("%d continuations for input with fewer literals", conts)
		}
	})
}

// fuzzParts reads the parts of a CATENATE message, each within the
// limits, stopping at the first error.
func fuzzParts(t *testing.T, r *Reader, inputLen int) error {
	for k := 0; ; k++ {
		if k > inputLen || k > MaxCatParts {
			t.Fatal("more CATENATE parts than input bytes or MaxCatParts")
		}
		p, err := r.NextPart()
		if err != nil || p == nil {
			return err
		}
		if r.cmdLen > fuzzMaxCommand || len(p.URL) > fuzzMaxArgLit {
			t.Fatalf("part over the limits: command %d URL %d", r.cmdLen, len(p.URL))
		}
		if p.Text != nil {
			if n, _ := io.Copy(io.Discard, p.Text); n > fuzzMaxLiteral || n > p.Text.Size {
				t.Fatalf("TEXT of %d bytes", n)
			}
		}
	}
}

func FuzzSeqSet(f *testing.F) {
	for _, s := range []string{"1", "1:*", "*:3", "2,4:7,9", "$", "0", "1:", "4294967295:1", "*,*", "7:2,3,1:4"} {
		f.Add(s, uint32(10))
	}
	f.Fuzz(func(t *testing.T, s string, top uint32) {
		set, err := ParseSeqSet(s)
		if err != nil {
			return
		}
		again, err := ParseSeqSet(set.String())
		if err != nil || !reflect.DeepEqual(again, set) {
			t.Fatalf("%q: round trip %q -> %+v, %v", s, set.String(), again, err)
		}
		top %= 5000 // keep iteration cheap
		ranges := set.Resolve(top)
		for i, r := range ranges {
			if r.Start == 0 || r.Start > r.Stop || r.Stop > top {
				t.Fatalf("%q max %d: bad range %+v", s, top, r)
			}
			if i > 0 && uint64(ranges[i-1].Stop)+1 >= uint64(r.Start) {
				t.Fatalf("%q max %d: ranges not merged: %+v", s, top, ranges)
			}
		}
		all := slices.Collect(set.All(top))
		if !slices.IsSorted(all) || len(slices.Compact(slices.Clone(all))) != len(all) {
			t.Fatalf("%q: All not sorted/unique", s)
		}
		for n := uint32(0); n <= top+1; n++ {
			in := slices.Contains(all, n)
			if n <= top && set.Contains(n, top) != in {
				t.Fatalf("%q max %d: Contains(%d) = %v, All has it: %v", s, top, n, !in, in)
			}
		}
		if set.Contains(0, top) {
			t.Fatalf("%q: Contains(0)", s)
		}
		if len(set.String()) > len(s) { // "1:1" prints as "1"
			t.Fatalf("%q: String() = %q", s, set.String())
		}
	})
}

func FuzzMailboxName(f *testing.F) {
	for _, s := range []string{"INBOX", "Entwürfe", "&", "台北", "😀x", "a&AGE-"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		enc := EncodeMailboxName(s)
		dec, err := DecodeMailboxName(enc)
		if err != nil || dec != strings.ToValidUTF8(s, "\uFFFD") {
			if dec != string([]rune(s)) { // invalid UTF-8 maps rune by rune
				t.Fatalf("%q -> %q -> %q, %v", s, enc, dec, err)
			}
		}
		if d, err := DecodeMailboxName(s); err == nil && EncodeMailboxName(d) != s {
			t.Fatalf("decoded %q -> %q re-encodes differently", s, d)
		}
	})
}
