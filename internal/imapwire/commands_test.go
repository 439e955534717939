package imapwire

import (
	"testing"
	"time"
)

func cmd(tag, name string, args any) *Command {
	return &Command{Tag: tag, Name: name, Args: args}
}

func uidCmd(tag, name string, args any) *Command {
	return &Command{Tag: tag, Name: name, UID: true, Args: args}
}

func set(s string) SeqSet {
	ss, err := ParseSeqSet(s)
	if err != nil {
		panic(err)
	}
	return ss
}

func TestParseSimpleCommands(t *testing.T) {
	runParseCases(t, []parseCase{
		{name: "capability", in: "a1 CAPABILITY\r\n", want: cmd("a1", "CAPABILITY", nil)},
		{name: "lower case", in: "a1 capability\r\n", want: cmd("a1", "CAPABILITY", nil)},
		{name: "bare LF", in: "a1 NOOP\n", want: cmd("a1", "NOOP", nil)},
		{name: "leading empty lines", in: "\r\n\r\na1 NOOP\r\n", want: cmd("a1", "NOOP", nil)},
		{name: "logout", in: "x.1 LOGOUT\r\n", want: cmd("x.1", "LOGOUT", nil)},
		{name: "starttls", in: "t STARTTLS\r\n", want: cmd("t", "STARTTLS", nil)},
		{name: "namespace", in: "t NAMESPACE\r\n", want: cmd("t", "NAMESPACE", nil)},
		{name: "idle", in: "t IDLE\r\n", want: cmd("t", "IDLE", nil)},
		{name: "close", in: "t CLOSE\r\n", want: cmd("t", "CLOSE", nil)},
		{name: "unselect", in: "t UNSELECT\r\n", want: cmd("t", "UNSELECT", nil)},
		{name: "check", in: "t CHECK\r\n", want: cmd("t", "CHECK", nil)},
		{name: "expunge", in: "t EXPUNGE\r\n", want: cmd("t", "EXPUNGE", nil)},
		{name: "uid expunge", in: "t UID EXPUNGE 3000:3002,3005\r\n",
			want: uidCmd("t", "EXPUNGE", &ExpungeArgs{Set: set("3000:3002,3005")})},
		{name: "tag with ]", in: "a]1 NOOP\r\n", want: cmd("a]1", "NOOP", nil)},

		{name: "authenticate", in: "a AUTHENTICATE plain\r\n",
			want: cmd("a", "AUTHENTICATE", &AuthenticateArgs{Mechanism: "PLAIN"})},
		{name: "authenticate sasl-ir", in: "a AUTHENTICATE PLAIN AGFsaWNlAHNlY3JldA==\r\n",
			want: cmd("a", "AUTHENTICATE", &AuthenticateArgs{Mechanism: "PLAIN", HasInitialResponse: true,
				InitialResponse: []byte("\x00alice\x00secret")})},
		{name: "authenticate empty ir", in: "a AUTHENTICATE EXTERNAL =\r\n",
			want: cmd("a", "AUTHENTICATE", &AuthenticateArgs{Mechanism: "EXTERNAL", HasInitialResponse: true,
				InitialResponse: []byte{}})},

		{name: "login atoms", in: "a LOGIN alice secret\r\n",
			want: cmd("a", "LOGIN", &LoginArgs{Username: "alice", Password: "secret"})},
		{name: "login quoted escapes", in: `a LOGIN "al ice" "p\"w\\d"` + "\r\n",
			want: cmd("a", "LOGIN", &LoginArgs{Username: "al ice", Password: `p"w\d`})},
		{name: "login utf8 quoted", in: "a LOGIN \"jörg\" \"pässword\"\r\n",
			want: cmd("a", "LOGIN", &LoginArgs{Username: "jörg", Password: "pässword"})},

		{name: "enable", in: "e ENABLE CONDSTORE qresync UTF8=ACCEPT\r\n",
			want: cmd("e", "ENABLE", &EnableArgs{Caps: []string{"CONDSTORE", "QRESYNC", "UTF8=ACCEPT"}})},

		{name: "id nil", in: "i ID NIL\r\n", want: cmd("i", "ID", &IDArgs{})},
		{name: "id empty", in: "i ID ()\r\n", want: cmd("i", "ID", &IDArgs{Fields: []IDField{}})},
		{name: "id params", in: `i ID ("name" "Thunderbird" "os" NIL)` + "\r\n",
			want: cmd("i", "ID", &IDArgs{Fields: []IDField{{Name: "name", Value: "Thunderbird"}, {Name: "os", Nil: true}}})},

		{name: "select", in: "s SELECT inbox\r\n", want: cmd("s", "SELECT", &SelectArgs{Mailbox: "INBOX"})},
		{name: "examine", in: "s EXAMINE \"Lists/Go\"\r\n",
			want: cmd("s", "EXAMINE", &SelectArgs{Mailbox: "Lists/Go", ReadOnly: true})},
		{name: "select condstore", in: "s SELECT INBOX (CONDSTORE)\r\n",
			want: cmd("s", "SELECT", &SelectArgs{Mailbox: "INBOX", CondStore: true})},
		{name: "select mutf7 kept", in: "s SELECT &AMQ-pfel\r\n",
			want: cmd("s", "SELECT", &SelectArgs{Mailbox: "&AMQ-pfel"})},
		{name: "select qresync minimal", in: "s SELECT INBOX (QRESYNC (67890007 20050715194045000))\r\n",
			want: cmd("s", "SELECT", &SelectArgs{Mailbox: "INBOX",
				QResync: &QResyncArgs{UIDValidity: 67890007, ModSeq: 20050715194045000}})},
		{name: "select qresync full", in: "s SELECT INBOX (QRESYNC (67890007 90060115194045000 41:211,214:541 (1:10 41:50)))\r\n",
			want: cmd("s", "SELECT", &SelectArgs{Mailbox: "INBOX", QResync: &QResyncArgs{UIDValidity: 67890007,
				ModSeq: 90060115194045000, KnownUIDs: set("41:211,214:541"), KnownSeqNums: set("1:10"), KnownSeqUIDs: set("41:50")}})},
		{name: "select qresync seq-match only", in: "s SELECT INBOX (QRESYNC (1 2 (1 5)))\r\n",
			want: cmd("s", "SELECT", &SelectArgs{Mailbox: "INBOX", QResync: &QResyncArgs{UIDValidity: 1,
				ModSeq: 2, KnownSeqNums: set("1"), KnownSeqUIDs: set("5")}})},

		{name: "create", in: "c CREATE Archive/2024\r\n", want: cmd("c", "CREATE", &CreateArgs{Mailbox: "Archive/2024"})},
		{name: "create use", in: "c CREATE MySent (USE (\\sent \\Archive))\r\n",
			want: cmd("c", "CREATE", &CreateArgs{Mailbox: "MySent", SpecialUse: []string{`\Sent`, `\Archive`}})},
		{name: "delete", in: "d DELETE \"Old Stuff\"\r\n", want: cmd("d", "DELETE", &MailboxArgs{Mailbox: "Old Stuff"})},
		{name: "subscribe", in: "d SUBSCRIBE Lists\r\n", want: cmd("d", "SUBSCRIBE", &MailboxArgs{Mailbox: "Lists"})},
		{name: "unsubscribe", in: "d UNSUBSCRIBE Lists\r\n", want: cmd("d", "UNSUBSCRIBE", &MailboxArgs{Mailbox: "Lists"})},
		{name: "rename", in: "r RENAME Foo \"Bar Baz\"\r\n", want: cmd("r", "RENAME", &RenameArgs{From: "Foo", To: "Bar Baz"})},
		{name: "getquotaroot", in: "q GETQUOTAROOT INBOX\r\n", want: cmd("q", "GETQUOTAROOT", &MailboxArgs{Mailbox: "INBOX"})},
		{name: "getquota", in: "q GETQUOTA \"\"\r\n", want: cmd("q", "GETQUOTA", &GetQuotaArgs{Root: ""})},
		{name: "setquota", in: "q SETQUOTA \"\" (STORAGE 512 message 1000)\r\n",
			want: cmd("q", "SETQUOTA", &SetQuotaArgs{Root: "", Limits: []QuotaLimit{{"STORAGE", 512}, {"MESSAGE", 1000}}})},
		{name: "setacl", in: "a SETACL Shared/support bob@example.org +lrs\r\n",
			want: cmd("a", "SETACL", &ACLArgs{Mailbox: "Shared/support", Identifier: "bob@example.org", Rights: "+lrs"})},
		{name: "setacl empty rights", in: "a SETACL inbox \"-anyone\" \"\"\r\n",
			want: cmd("a", "SETACL", &ACLArgs{Mailbox: "INBOX", Identifier: "-anyone"})},
		{name: "deleteacl", in: "a DELETEACL {3+}\r\nx.y anyone\r\n", want: cmd("a", "DELETEACL", &ACLArgs{Mailbox: "x.y", Identifier: "anyone"})},
		{name: "getacl", in: "a GETACL INBOX\r\n", want: cmd("a", "GETACL", &ACLArgs{Mailbox: "INBOX"})},
		{name: "listrights", in: "a LISTRIGHTS Work bob\r\n", want: cmd("a", "LISTRIGHTS", &ACLArgs{Mailbox: "Work", Identifier: "bob"})},
		{name: "myrights", in: "a MYRIGHTS \"Other Users/alice@example.org/Work\"\r\n",
			want: cmd("a", "MYRIGHTS", &ACLArgs{Mailbox: "Other Users/alice@example.org/Work"})},
		{name: "setquota empty", in: "q SETQUOTA user ()\r\n", want: cmd("q", "SETQUOTA", &SetQuotaArgs{Root: "user"})},

		{name: "status", in: "s STATUS blurdybloop (UIDNEXT MESSAGES unseen HIGHESTMODSEQ SIZE DELETED UIDVALIDITY RECENT)\r\n",
			want: cmd("s", "STATUS", &StatusArgs{Mailbox: "blurdybloop",
				Items: []string{"UIDNEXT", "MESSAGES", "UNSEEN", "HIGHESTMODSEQ", "SIZE", "DELETED", "UIDVALIDITY", "RECENT"}})},

		{name: "status mailboxid", in: "s STATUS foo (MAILBOXID)\r\n", want: cmd("s", "STATUS", &StatusArgs{Mailbox: "foo", Items: []string{"MAILBOXID"}})},
		{name: "copy", in: "c COPY 2:4 MEETING\r\n", want: cmd("c", "COPY", &CopyArgs{Set: set("2:4"), Mailbox: "MEETING"})},
		{name: "uid move", in: "c UID MOVE 42:69 foo\r\n", want: uidCmd("c", "MOVE", &CopyArgs{Set: set("42:69"), Mailbox: "foo"})},
		{name: "uid copy saved", in: "c uid copy $ Trash\r\n", want: uidCmd("c", "COPY", &CopyArgs{Set: SeqSet{Saved: true}, Mailbox: "Trash"})},
	})
}

func TestParseList(t *testing.T) {
	runParseCases(t, []parseCase{
		{name: "basic", in: "l LIST \"\" *\r\n", want: cmd("l", "LIST", &ListArgs{Patterns: []string{"*"}})},
		{name: "percent", in: "l LIST ~/Mail/ %\r\n", want: cmd("l", "LIST", &ListArgs{Reference: "~/Mail/", Patterns: []string{"%"}})},
		{name: "quoted pattern", in: "l LIST \"\" \"INBOX/%\"\r\n", want: cmd("l", "LIST", &ListArgs{Patterns: []string{"INBOX/%"}})},
		{name: "lsub", in: "l LSUB \"#news.\" \"comp.mail.*\"\r\n",
			want: cmd("l", "LSUB", &ListArgs{Reference: "#news.", Patterns: []string{"comp.mail.*"}})},
		{name: "select opts", in: "l LIST (SUBSCRIBED RECURSIVEMATCH) \"\" \"%\"\r\n",
			want: cmd("l", "LIST", &ListArgs{Patterns: []string{"%"}, Extended: true, SelectSubscribed: true, SelectRecursiveMatch: true})},
		{name: "empty select opts", in: "l LIST () \"\" %\r\n",
			want: cmd("l", "LIST", &ListArgs{Patterns: []string{"%"}, Extended: true})},
		{name: "special-use select", in: "l LIST (SPECIAL-USE REMOTE) \"\" *\r\n",
			want: cmd("l", "LIST", &ListArgs{Patterns: []string{"*"}, Extended: true, SelectSpecialUse: true, SelectRemote: true})},
		{name: "patterns", in: "l LIST \"\" (\"INBOX\" \"Drafts\" Sent/%)\r\n",
			want: cmd("l", "LIST", &ListArgs{Patterns: []string{"INBOX", "Drafts", "Sent/%"}, Extended: true})},
		{name: "return", in: "l LIST \"\" \"*\" RETURN (CHILDREN SUBSCRIBED SPECIAL-USE)\r\n",
			want: cmd("l", "LIST", &ListArgs{Patterns: []string{"*"}, Extended: true,
				ReturnChildren: true, ReturnSubscribed: true, ReturnSpecialUse: true})},
		{name: "return status", in: "l LIST \"\" % RETURN (STATUS (MESSAGES UNSEEN))\r\n",
			want: cmd("l", "LIST", &ListArgs{Patterns: []string{"%"}, Extended: true, ReturnStatus: []string{"MESSAGES", "UNSEEN"}})},
		{name: "everything", in: "l LIST (SUBSCRIBED) \"\" (\"*\") RETURN (CHILDREN STATUS (UIDNEXT))\r\n",
			want: cmd("l", "LIST", &ListArgs{Patterns: []string{"*"}, Extended: true, SelectSubscribed: true,
				ReturnChildren: true, ReturnStatus: []string{"UIDNEXT"}})},
		{name: "recursivematch alone", in: "l LIST (RECURSIVEMATCH) \"\" %\r\n", tag: "l", wantErr: "RECURSIVEMATCH"},
		{name: "recursivematch remote", in: "l LIST (REMOTE RECURSIVEMATCH) \"\" %\r\n", tag: "l", wantErr: "RECURSIVEMATCH"},
		{name: "unknown option", in: "l LIST (FOO) \"\" %\r\n", tag: "l", wantErr: "unknown LIST selection option"},
		{name: "unknown return", in: "l LIST \"\" % RETURN (FOO)\r\n", tag: "l", wantErr: "unknown LIST return option"},
	})
}

func TestParseAppendArgs(t *testing.T) {
	date := time.Date(1994, time.February, 7, 21, 52, 25, 0, time.FixedZone("", -8*3600))
	runParseCases(t, []parseCase{
		{name: "plain", in: "A003 APPEND saved-messages {3}\r\nabc\r\n",
			want: cmd("A003", "APPEND", &AppendArgs{Mailbox: "saved-messages"})},
		{name: "flags date", in: "A003 APPEND saved-messages (\\Seen $Label1) \" 7-Feb-1994 21:52:25 -0800\" {3+}\r\nabc\r\n",
			want: cmd("A003", "APPEND", &AppendArgs{Mailbox: "saved-messages", AppendMessage: AppendMessage{Flags: []string{`\Seen`, "$Label1"}, Date: date}})},
		{name: "empty flags", in: "A APPEND INBOX () {0}\r\n\r\n",
			want: cmd("A", "APPEND", &AppendArgs{Mailbox: "INBOX", AppendMessage: AppendMessage{Flags: []string{}}})},
		{name: "date only", in: "A APPEND inbox \"07-Feb-1994 21:52:25 -0800\" ~{2}\r\nab\r\n",
			want: cmd("A", "APPEND", &AppendArgs{Mailbox: "INBOX", AppendMessage: AppendMessage{Date: date}})},
		{name: "bad date", in: "A APPEND inbox \"30-Feb-1994 21:52:25 -0800\" {2}\r\nab\r\n", tag: "A", wantErr: "invalid day"},
		{name: "no literal", in: "A APPEND inbox (\\Seen) hello\r\n", tag: "A", wantErr: "expected message literal"},
	})
}
