package imapwire

import (
	"strings"
	"testing"
	"time"
)

func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

func and(keys ...SearchKey) SearchKey { return SearchKey{Op: SearchAnd, Children: keys} }

func flagKey(f string) SearchKey   { return SearchKey{Op: SearchFlag, Flag: f} }
func noFlagKey(f string) SearchKey { return SearchKey{Op: SearchNoFlag, Flag: f} }

func search(k SearchKey) *SearchArgs { return &SearchArgs{Key: k} }

func TestParseSearch(t *testing.T) {
	hdr := func(f, v string) SearchKey { return SearchKey{Op: SearchHeader, Field: f, Value: v} }
	runParseCases(t, []parseCase{
		{name: "all", in: "s SEARCH ALL\r\n", want: cmd("s", "SEARCH", search(SearchKey{Op: SearchAll}))},
		{name: "rfc example", in: "s SEARCH FLAGGED SINCE 1-Feb-1994 NOT FROM \"Smith\"\r\n",
			want: cmd("s", "SEARCH", search(and(flagKey(`\Flagged`), SearchKey{Op: SearchSince, Date: day(1994, 2, 1)},
				SearchKey{Op: SearchNot, Children: []SearchKey{hdr("From", "Smith")}})))},
		{name: "flags", in: "s SEARCH ANSWERED UNANSWERED DELETED UNDELETED DRAFT UNDRAFT FLAGGED UNFLAGGED SEEN UNSEEN\r\n",
			want: cmd("s", "SEARCH", search(and(flagKey(`\Answered`), noFlagKey(`\Answered`), flagKey(`\Deleted`),
				noFlagKey(`\Deleted`), flagKey(`\Draft`), noFlagKey(`\Draft`), flagKey(`\Flagged`), noFlagKey(`\Flagged`),
				flagKey(`\Seen`), noFlagKey(`\Seen`))))},
		{name: "rev1 recent", in: "s SEARCH NEW OLD RECENT\r\n",
			want: cmd("s", "SEARCH", search(and(and(flagKey(`\Recent`), noFlagKey(`\Seen`)), noFlagKey(`\Recent`), flagKey(`\Recent`))))},
		{name: "keywords", in: "s SEARCH KEYWORD $Junk UNKEYWORD NonJunk\r\n",
			want: cmd("s", "SEARCH", search(and(flagKey("$Junk"), noFlagKey("NonJunk"))))},
		{name: "headers", in: "s SEARCH TO a CC b BCC c SUBJECT \"hello world\" HEADER X-TUID abc HEADER Message-ID \"\"\r\n",
			want: cmd("s", "SEARCH", search(and(hdr("To", "a"), hdr("Cc", "b"), hdr("Bcc", "c"), hdr("Subject", "hello world"),
				hdr("X-TUID", "abc"), hdr("Message-ID", ""))))},
		{name: "body text", in: "s SEARCH BODY foo TEXT {3}\r\nbar\r\n",
			want: cmd("s", "SEARCH", search(and(SearchKey{Op: SearchBody, Value: "foo"}, SearchKey{Op: SearchText, Value: "bar"})))},
		{name: "dates", in: "s SEARCH BEFORE 1-Jan-2024 ON \"15-mar-2024\" SENTBEFORE 2-Jan-2024 SENTON 3-Jan-2024 SENTSINCE 4-Jan-2024\r\n",
			want: cmd("s", "SEARCH", search(and(SearchKey{Op: SearchBefore, Date: day(2024, 1, 1)}, SearchKey{Op: SearchOn, Date: day(2024, 3, 15)},
				SearchKey{Op: SearchSentBefore, Date: day(2024, 1, 2)}, SearchKey{Op: SearchSentOn, Date: day(2024, 1, 3)},
				SearchKey{Op: SearchSentSince, Date: day(2024, 1, 4)})))},
		{name: "savedate", in: "s SEARCH SAVEDBEFORE 1-Jan-2024 SAVEDON 2-Jan-2024 SAVEDSINCE 3-Jan-2024 SAVEDATESUPPORTED\r\n",
			want: cmd("s", "SEARCH", search(and(SearchKey{Op: SearchSavedBefore, Date: day(2024, 1, 1)}, SearchKey{Op: SearchSavedOn, Date: day(2024, 1, 2)},
				SearchKey{Op: SearchSavedSince, Date: day(2024, 1, 3)}, SearchKey{Op: SearchSaveDateSupported})))},
		{name: "objectid", in: "s SEARCH EMAILID M6d99ac3275bb4e THREADID \"T64b478a75b7ea9\"\r\n",
			want: cmd("s", "SEARCH", search(and(SearchKey{Op: SearchEmailID, Value: "M6d99ac3275bb4e"}, SearchKey{Op: SearchThreadID, Value: "T64b478a75b7ea9"})))},
		{name: "bad objectid", in: "s SEARCH EMAILID \"a b\"\r\n", tag: "s", wantErr: "invalid object id"},
		{name: "sizes", in: "s SEARCH LARGER 1000 SMALLER 5000000000\r\n",
			want: cmd("s", "SEARCH", search(and(SearchKey{Op: SearchLarger, Size: 1000}, SearchKey{Op: SearchSmaller, Size: 5000000000})))},
		{name: "sets", in: "s SEARCH 1:5,7 UID 100:* $\r\n",
			want: cmd("s", "SEARCH", search(and(SearchKey{Op: SearchSeq, Set: set("1:5,7")}, SearchKey{Op: SearchUID, Set: set("100:*")},
				SearchKey{Op: SearchSeq, Set: SeqSet{Saved: true}})))},
		{name: "or not group", in: "s SEARCH OR (SEEN FLAGGED) NOT (DELETED) \r\n", tag: "s", wantErr: "missing search key"},
		{name: "or group", in: "s UID SEARCH OR (SEEN FLAGGED) NOT DELETED\r\n",
			want: uidCmd("s", "SEARCH", search(SearchKey{Op: SearchOr, Children: []SearchKey{
				and(flagKey(`\Seen`), flagKey(`\Flagged`)), {Op: SearchNot, Children: []SearchKey{flagKey(`\Deleted`)}}}}))},
		{name: "nested group", in: "s SEARCH ((SEEN))\r\n", want: cmd("s", "SEARCH", search(flagKey(`\Seen`)))},
		{name: "charset", in: "s SEARCH CHARSET utf-8 SUBJECT {4}\r\n\xc3\xa4bc\r\n",
			want: cmd("s", "SEARCH", &SearchArgs{Charset: "UTF-8", Key: hdr("Subject", "\xc3\xa4bc")})},
		{name: "return", in: "s SEARCH RETURN (MIN COUNT) UNSEEN\r\n",
			want: cmd("s", "SEARCH", &SearchArgs{ESearch: true, Return: SearchReturn{Min: true, Count: true}, Key: noFlagKey(`\Seen`)})},
		{name: "return empty", in: "s SEARCH RETURN () CHARSET US-ASCII ALL\r\n",
			want: cmd("s", "SEARCH", &SearchArgs{ESearch: true, Return: SearchReturn{All: true}, Charset: "US-ASCII", Key: SearchKey{Op: SearchAll}})},
		{name: "return save", in: "s UID SEARCH RETURN (SAVE MAX ALL) FROM x\r\n",
			want: uidCmd("s", "SEARCH", &SearchArgs{ESearch: true, Return: SearchReturn{Save: true, Max: true, All: true}, Key: hdr("From", "x")})},
		{name: "modseq", in: "s SEARCH MODSEQ 620162338\r\n",
			want: cmd("s", "SEARCH", search(SearchKey{Op: SearchModSeq, ModSeq: 620162338}))},
		{name: "modseq entry", in: "s SEARCH MODSEQ \"/flags/\\\\draft\" all 620162338\r\n",
			want: cmd("s", "SEARCH", search(SearchKey{Op: SearchModSeq, ModSeq: 620162338, ModSeqEntry: `/flags/\draft`, ModSeqType: "all"}))},

		{name: "unknown key", in: "s SEARCH X-GM-RAW foo\r\n", tag: "s", wantErr: "unknown search key"},
		{name: "unknown return", in: "s SEARCH RETURN (X-FOO) ALL\r\n", tag: "s", wantErr: "unknown SEARCH return"},
		{name: "partial", in: "s UID SEARCH RETURN (PARTIAL 100:1 COUNT) ALL\r\n",
			want: uidCmd("s", "SEARCH", &SearchArgs{ESearch: true, Return: SearchReturn{Count: true, Partial: &PartialRange{1, 100}}, Key: SearchKey{Op: SearchAll}})},
		{name: "partial from end", in: "s SEARCH RETURN (PARTIAL -1:-50) ALL\r\n",
			want: cmd("s", "SEARCH", &SearchArgs{ESearch: true, Return: SearchReturn{Partial: &PartialRange{-1, -50}}, Key: SearchKey{Op: SearchAll}})},
		{name: "partial mixed signs", in: "s SEARCH RETURN (PARTIAL -1:50) ALL\r\n", tag: "s", wantErr: "invalid PARTIAL range"},
		{name: "partial zero", in: "s SEARCH RETURN (PARTIAL 0:5) ALL\r\n", tag: "s", wantErr: "invalid PARTIAL range"},
		{name: "partial and all", in: "s SEARCH RETURN (PARTIAL 1:5 ALL) ALL\r\n", tag: "s", wantErr: "can't be combined"},
		{name: "missing arg", in: "s SEARCH FROM\r\n", tag: "s", wantErr: "missing argument"},
		{name: "bad date", in: "s SEARCH SINCE 32-Jan-2024\r\n", tag: "s", wantErr: "invalid day"},
		{name: "bad month", in: "s SEARCH SINCE 1-Foo-2024\r\n", tag: "s", wantErr: "invalid month"},
		{name: "unbalanced", in: "s SEARCH (SEEN\r\n", tag: "s", wantErr: "missing argument"},
		{name: "extra paren", in: "s SEARCH SEEN)\r\n", tag: "s", wantErr: "unexpected"},
		{name: "empty group", in: "s SEARCH ()\r\n", tag: "s", wantErr: "expected search key"},
		{name: "or one arg", in: "s SEARCH OR SEEN\r\n", tag: "s", wantErr: "missing argument"},
		{name: "seq zero", in: "s SEARCH 0\r\n", tag: "s", wantErr: "invalid sequence number 0"},
		{name: "too deep", in: "s SEARCH " + strings.Repeat("NOT ", 100) + "ALL\r\n", tag: "s", wantErr: "nested too deeply"},
		{name: "bad modseq entry", in: "s SEARCH MODSEQ \"/foo\" all 1\r\n", tag: "s", wantErr: "entry name"},
		{name: "larger huge", in: "s SEARCH LARGER 99999999999999999999\r\n", tag: "s", wantErr: "out of range"},
	})
}
