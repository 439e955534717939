package imapwire

import (
	"io"
	"strconv"
	"strings"
	"testing"
)

// Client sessions written after real Thunderbird, mbsync and K-9 logs.

const tbMessage = "From: Alice <alice@example.org>\r\nTo: bob@example.org\r\nSubject: Hello\r\n" +
	"Date: Mon, 1 Jul 2024 10:00:00 +0200\r\nMessage-ID: <1@example.org>\r\n\r\nHi Bob!\r\n"

var thunderbird = "1 capability\r\n" +
	"2 authenticate PLAIN\r\n" +
	"AGFsaWNlQGV4YW1wbGUub3JnAHNlY3JldA==\r\n" +
	"3 ID (\"name\" \"Thunderbird\" \"version\" \"128.3.1\")\r\n" +
	"4 enable CONDSTORE\r\n" +
	"5 list (SUBSCRIBED) \"\" \"*\" RETURN (SPECIAL-USE)\r\n" +
	"6 select \"INBOX\" (CONDSTORE)\r\n" +
	"7 getquotaroot \"INBOX\"\r\n" +
	"8 UID fetch 1:* (FLAGS) (CHANGEDSINCE 1234)\r\n" +
	"9 UID fetch 57:58 (UID RFC822.SIZE FLAGS BODY.PEEK[HEADER.FIELDS (From To Cc Bcc Subject Date Message-ID " +
	"Priority X-Priority References Newsgroups In-Reply-To Content-Type Reply-To)])\r\n" +
	"10 IDLE\r\n" +
	"DONE\r\n" +
	"11 UID fetch 57 (UID RFC822.SIZE BODY.PEEK[]<0.10240>)\r\n" +
	"12 uid store 57 +Flags (\\Seen)\r\n" +
	"13 UID move 57 \"Trash\"\r\n" +
	"14 noop\r\n" +
	"15 append \"Sent\" (\\Seen) {" + strconv.Itoa(len(tbMessage)) + "}\r\n" + tbMessage + "\r\n" +
	"16 UID store 55 +FLAGS (\\Deleted)\r\n" +
	"17 expunge\r\n" +
	"18 list \"\" \"Sent\"\r\n" +
	"19 STATUS \"Sent\" (UIDNEXT MESSAGES UNSEEN RECENT)\r\n" +
	"20 logout\r\n"

var mbsync = "1 CAPABILITY\r\n" +
	"2 LOGIN \"alice@example.org\" {12+}\r\npa\"ss\\word!!\r\n" +
	"3 NAMESPACE\r\n" +
	"4 LIST \"\" \"*\"\r\n" +
	"5 SELECT \"INBOX\"\r\n" +
	"6 UID FETCH 1:1000000000 (UID FLAGS)\r\n" +
	"7 UID FETCH 12 (BODY.PEEK[])\r\n" +
	"8 APPEND \"Archive/2024\" (\\Seen \\Answered) \"21-Mar-2024 10:11:12 +0100\" {" + strconv.Itoa(len(tbMessage)) + "+}\r\n" +
	tbMessage + "\r\n" +
	"9 UID SEARCH HEADER X-TUID 5ge9Kd1b+zUm\r\n" +
	"10 UID STORE 12 +FLAGS.SILENT \\Deleted\r\n" +
	"11 UID EXPUNGE 12\r\n" +
	"12 CREATE \"Archive/2025\"\r\n" +
	"13 SELECT \"&AMQ-rger\"\r\n" +
	"14 CLOSE\r\n" +
	"15 LOGOUT\r\n"

var k9 = "1 CAPABILITY\r\n" +
	"2 AUTHENTICATE PLAIN AGFsaWNlAHNlY3JldA==\r\n" +
	"3 LIST \"\" \"*\"\r\n" +
	"4 EXAMINE \"INBOX\" (QRESYNC (1719820800 4242 1:300))\r\n" +
	"5 UID SEARCH 1:* NOT DELETED\r\n" +
	"6 UID FETCH 290:300 (UID INTERNALDATE RFC822.SIZE BODY.PEEK[HEADER.FIELDS (date subject from content-type to cc " +
	"reply-to message-id references in-reply-to X-K9mail-Identity Chat-Version)])\r\n" +
	"7 UID FETCH 300 (UID RFC822.SIZE BODY.PEEK[]<0.32768>)\r\n" +
	"8 UID FETCH 300 (UID BODYSTRUCTURE)\r\n" +
	"9 UID FETCH 300 (UID BODY.PEEK[1.2] BODY.PEEK[1.2.MIME])\r\n" +
	"10 UID SEARCH RETURN (COUNT) SINCE 1-Jun-2024 UNSEEN\r\n" +
	"11 UID COPY 299,300 \"Sent\"\r\n" +
	"12 LOGOUT\r\n"

func runSession(t *testing.T, in string) ([]*Command, int) {
	t.Helper()
	r, out := newTestReader(in)
	var cmds []*Command
	for {
		c, err := r.ReadCommand()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("after %d commands: %v", len(cmds), err)
		}
		cmds = append(cmds, c)
		switch a := c.Args.(type) {
		case *AuthenticateArgs:
			if !a.HasInitialResponse {
				if _, err := r.ReadLine(); err != nil {
					t.Fatal(err)
				}
			}
		case *AppendArgs:
			b, err := io.ReadAll(a.Message)
			if err != nil || string(b) != tbMessage {
				t.Fatalf("APPEND message %q, %v", b, err)
			}
			if err := r.EndAppend(); err != nil {
				t.Fatal(err)
			}
		}
		if c.Name == "IDLE" {
			if l, err := r.ReadLine(); err != nil || l != "DONE" {
				t.Fatalf("IDLE: %q %v", l, err)
			}
		}
	}
	return cmds, strings.Count(out.String(), cont)
}

func names(cmds []*Command) string {
	var s []string
	for _, c := range cmds {
		n := c.Tag + ":" + c.Name
		if c.UID {
			n = c.Tag + ":UID " + c.Name
		}
		s = append(s, n)
	}
	return strings.Join(s, " ")
}

func TestTranscripts(t *testing.T) {
	t.Run("thunderbird", func(t *testing.T) {
		cmds, conts := runSession(t, thunderbird)
		want := "1:CAPABILITY 2:AUTHENTICATE 3:ID 4:ENABLE 5:LIST 6:SELECT 7:GETQUOTAROOT 8:UID FETCH 9:UID FETCH " +
			"10:IDLE 11:UID FETCH 12:UID STORE 13:UID MOVE 14:NOOP 15:APPEND 16:UID STORE 17:EXPUNGE 18:LIST 19:STATUS 20:LOGOUT"
		if got := names(cmds); got != want || conts != 1 {
			t.Fatalf("got %s (%d continuations)", got, conts)
		}
		hdr := cmds[8].Args.(*FetchArgs).Items[3]
		if hdr.Name != "BODY[HEADER.FIELDS (From To Cc Bcc Subject Date Message-ID Priority X-Priority References "+
			"Newsgroups In-Reply-To Content-Type Reply-To)]" || !hdr.Peek || len(hdr.Section.Fields) != 14 {
			t.Errorf("header fetch item %+v", hdr)
		}
		if body := cmds[10].Args.(*FetchArgs).Items[2]; body.Name != "BODY[]<0>" || body.Partial.Count != 10240 {
			t.Errorf("body item %+v", body)
		}
		if l := cmds[4].Args.(*ListArgs); !l.SelectSubscribed || !l.ReturnSpecialUse || !l.Extended {
			t.Errorf("list %+v", l)
		}
	})
	t.Run("mbsync", func(t *testing.T) {
		cmds, conts := runSession(t, mbsync)
		want := "1:CAPABILITY 2:LOGIN 3:NAMESPACE 4:LIST 5:SELECT 6:UID FETCH 7:UID FETCH 8:APPEND 9:UID SEARCH " +
			"10:UID STORE 11:UID EXPUNGE 12:CREATE 13:SELECT 14:CLOSE 15:LOGOUT"
		if got := names(cmds); got != want || conts != 0 {
			t.Fatalf("got %s (%d continuations)", got, conts)
		}
		if l := cmds[1].Args.(*LoginArgs); l.Password != `pa"ss\word!!` {
			t.Errorf("login %+v", l)
		}
		if a := cmds[7].Args.(*AppendArgs); a.Mailbox != "Archive/2024" || len(a.Flags) != 2 || a.Date.Year() != 2024 {
			t.Errorf("append %+v", a)
		}
		if k := cmds[8].Args.(*SearchArgs).Key; k.Field != "X-TUID" || k.Value != "5ge9Kd1b+zUm" {
			t.Errorf("search %+v", k)
		}
		if s := cmds[12].Args.(*SelectArgs); s.Mailbox != "&AMQ-rger" {
			t.Errorf("select %+v", s)
		}
	})
	t.Run("k9", func(t *testing.T) {
		cmds, conts := runSession(t, k9)
		want := "1:CAPABILITY 2:AUTHENTICATE 3:LIST 4:EXAMINE 5:UID SEARCH 6:UID FETCH 7:UID FETCH 8:UID FETCH " +
			"9:UID FETCH 10:UID SEARCH 11:UID COPY 12:LOGOUT"
		if got := names(cmds); got != want || conts != 0 {
			t.Fatalf("got %s (%d continuations)", got, conts)
		}
		if q := cmds[3].Args.(*SelectArgs).QResync; q == nil || q.ModSeq != 4242 || q.KnownUIDs.String() != "1:300" {
			t.Errorf("qresync %+v", q)
		}
		if s := cmds[9].Args.(*SearchArgs); !s.ESearch || !s.Return.Count || s.Key.Op != SearchAnd {
			t.Errorf("esearch %+v", s)
		}
	})
}
