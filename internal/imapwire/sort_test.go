package imapwire

import "testing"

func TestParseSortThread(t *testing.T) {
	all := SearchKey{Op: SearchAll}
	runParseCases(t, []parseCase{
		{name: "rfc 5256 example", in: "A282 SORT (SUBJECT) UTF-8 SINCE 1-Feb-1994\r\n",
			want: cmd("A282", "SORT", &SortArgs{Keys: []SortKey{{Name: "SUBJECT"}}, Charset: "UTF-8",
				Key: SearchKey{Op: SearchSince, Date: day(1994, 2, 1)}})},
		{name: "reverse and uid", in: "A283 UID SORT (SUBJECT REVERSE DATE) utf-8 ALL\r\n",
			want: uidCmd("A283", "SORT", &SortArgs{Keys: []SortKey{{Name: "SUBJECT"}, {Name: "DATE", Reverse: true}}, Charset: "UTF-8", Key: all})},
		{name: "display", in: "s SORT (DISPLAYFROM REVERSE DISPLAYTO ARRIVAL SIZE CC TO FROM) US-ASCII UNSEEN\r\n",
			want: cmd("s", "SORT", &SortArgs{Keys: []SortKey{{Name: "DISPLAYFROM"}, {Name: "DISPLAYTO", Reverse: true},
				{Name: "ARRIVAL"}, {Name: "SIZE"}, {Name: "CC"}, {Name: "TO"}, {Name: "FROM"}}, Charset: "US-ASCII", Key: noFlagKey(`\Seen`)})},
		{name: "esort", in: "s SORT RETURN (MIN MAX) (DATE) UTF-8 ALL\r\n",
			want: cmd("s", "SORT", &SortArgs{ESearch: true, Return: SearchReturn{Min: true, Max: true}, Keys: []SortKey{{Name: "DATE"}}, Charset: "UTF-8", Key: all})},
		{name: "esort partial", in: "s UID SORT RETURN (PARTIAL 1:10) (ARRIVAL) UTF-8 ALL\r\n",
			want: uidCmd("s", "SORT", &SortArgs{ESearch: true, Return: SearchReturn{Partial: &PartialRange{1, 10}}, Keys: []SortKey{{Name: "ARRIVAL"}}, Charset: "UTF-8", Key: all})},
		{name: "empty criteria", in: "s SORT () UTF-8 ALL\r\n", tag: "s", wantErr: "sort key"},
		{name: "unknown key", in: "s SORT (COLOUR) UTF-8 ALL\r\n", tag: "s", wantErr: "unknown sort key"},
		{name: "double reverse", in: "s SORT (REVERSE REVERSE DATE) UTF-8 ALL\r\n", tag: "s", wantErr: "sort key"},
		{name: "dangling reverse", in: "s SORT (REVERSE) UTF-8 ALL\r\n", tag: "s", wantErr: "missing argument"},
		{name: "no charset", in: "s SORT (DATE)\r\n", tag: "s", wantErr: "missing argument"},
		{name: "no keys", in: "s SORT (DATE) UTF-8\r\n", tag: "s", wantErr: "missing argument"},
		{name: "not return", in: "s SORT FOO (DATE) UTF-8 ALL\r\n", tag: "s", wantErr: "expected sort criteria"},
		{name: "too many", in: "s SORT (DATE DATE DATE DATE DATE DATE DATE DATE DATE DATE DATE DATE DATE DATE DATE DATE DATE) UTF-8 ALL\r\n",
			tag: "s", wantErr: "too many sort criteria"},
		{name: "thread", in: "A283 THREAD ORDEREDSUBJECT UTF-8 SINCE 5-MAR-2000\r\n",
			want: cmd("A283", "THREAD", &ThreadArgs{Algorithm: "ORDEREDSUBJECT", Charset: "UTF-8", Key: SearchKey{Op: SearchSince, Date: day(2000, 3, 5)}})},
		{name: "uid thread", in: "A284 UID THREAD references US-ASCII TEXT \"gewp\"\r\n",
			want: uidCmd("A284", "THREAD", &ThreadArgs{Algorithm: "REFERENCES", Charset: "US-ASCII", Key: SearchKey{Op: SearchText, Value: "gewp"}})},
		{name: "thread no keys", in: "s THREAD REFERENCES UTF-8\r\n", tag: "s", wantErr: "missing argument"},
	})
}
