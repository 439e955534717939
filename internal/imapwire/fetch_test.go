package imapwire

import "testing"

func item(kind FetchKind, name string) FetchItem { return FetchItem{Kind: kind, Name: name} }

func fetch(setStr string, items ...FetchItem) *FetchArgs {
	return &FetchArgs{Set: set(setStr), Items: items}
}

func TestParseFetch(t *testing.T) {
	env, flags, idate, size := item(FetchEnvelope, "ENVELOPE"), item(FetchFlags, "FLAGS"),
		item(FetchInternalDate, "INTERNALDATE"), item(FetchRFC822Size, "RFC822.SIZE")
	runParseCases(t, []parseCase{
		{name: "macro all", in: "f FETCH 1:* ALL\r\n", want: cmd("f", "FETCH", fetch("1:*", flags, idate, size, env))},
		{name: "macro fast", in: "f FETCH 1 fast\r\n", want: cmd("f", "FETCH", fetch("1", flags, idate, size))},
		{name: "macro full", in: "f FETCH 2,4 FULL\r\n",
			want: cmd("f", "FETCH", fetch("2,4", flags, idate, size, env, item(FetchBody, "BODY")))},
		{name: "single item", in: "f FETCH 1 UID\r\n", want: cmd("f", "FETCH", fetch("1", item(FetchUID, "UID")))},
		{name: "simple list", in: "f UID FETCH 1:* (UID FLAGS RFC822.SIZE INTERNALDATE ENVELOPE BODYSTRUCTURE MODSEQ SAVEDATE)\r\n",
			want: uidCmd("f", "FETCH", fetch("1:*", item(FetchUID, "UID"), flags, size, idate, env,
				item(FetchBodyStructure, "BODYSTRUCTURE"), item(FetchModSeq, "MODSEQ"), item(FetchSaveDate, "SAVEDATE")))},
		{name: "rfc822 items", in: "f FETCH 1 (RFC822 RFC822.HEADER rfc822.text BODY)\r\n",
			want: cmd("f", "FETCH", fetch("1", item(FetchRFC822, "RFC822"), item(FetchRFC822Header, "RFC822.HEADER"),
				item(FetchRFC822Text, "RFC822.TEXT"), item(FetchBody, "BODY")))},
		{name: "body whole", in: "f FETCH 1 BODY[]\r\n",
			want: cmd("f", "FETCH", fetch("1", FetchItem{Kind: FetchBodySection, Name: "BODY[]"}))},
		{name: "body peek partial", in: "f FETCH 1 (BODY.PEEK[]<0.2048>)\r\n",
			want: cmd("f", "FETCH", fetch("1", FetchItem{Kind: FetchBodySection, Peek: true,
				Partial: &Partial{0, 2048}, Name: "BODY[]<0>"}))},
		{name: "header fields", in: "f FETCH 1 (BODY.PEEK[HEADER.FIELDS (Subject FROM)])\r\n",
			want: cmd("f", "FETCH", fetch("1", FetchItem{Kind: FetchBodySection, Peek: true,
				Section: Section{Specifier: "HEADER.FIELDS", Fields: []string{"Subject", "FROM"}},
				Name:    "BODY[HEADER.FIELDS (Subject FROM)]"}))},
		{name: "header fields not lower", in: "f FETCH 1 body[header.fields.not (x-spam \"Received\")]\r\n",
			want: cmd("f", "FETCH", fetch("1", FetchItem{Kind: FetchBodySection,
				Section: Section{Specifier: "HEADER.FIELDS.NOT", Fields: []string{"x-spam", "Received"}},
				Name:    "BODY[HEADER.FIELDS.NOT (x-spam Received)]"}))},
		{name: "header field literal", in: "f FETCH 1 BODY[HEADER.FIELDS ({7}\r\nSubject)]\r\n",
			want: cmd("f", "FETCH", fetch("1", FetchItem{Kind: FetchBodySection,
				Section: Section{Specifier: "HEADER.FIELDS", Fields: []string{"Subject"}},
				Name:    "BODY[HEADER.FIELDS (Subject)]"}))},
		{name: "part mime text header", in: "f FETCH 3 (BODY[1.2.MIME] BODY[2.TEXT] BODY[4.1.HEADER] BODY[1.2.3] BODY[TEXT]<10.5>)\r\n",
			want: cmd("f", "FETCH", fetch("3",
				FetchItem{Kind: FetchBodySection, Section: Section{Part: []uint32{1, 2}, Specifier: "MIME"}, Name: "BODY[1.2.MIME]"},
				FetchItem{Kind: FetchBodySection, Section: Section{Part: []uint32{2}, Specifier: "TEXT"}, Name: "BODY[2.TEXT]"},
				FetchItem{Kind: FetchBodySection, Section: Section{Part: []uint32{4, 1}, Specifier: "HEADER"}, Name: "BODY[4.1.HEADER]"},
				FetchItem{Kind: FetchBodySection, Section: Section{Part: []uint32{1, 2, 3}}, Name: "BODY[1.2.3]"},
				FetchItem{Kind: FetchBodySection, Section: Section{Specifier: "TEXT"}, Partial: &Partial{10, 5}, Name: "BODY[TEXT]<10>"},
			))},
		{name: "part header fields", in: "f FETCH 3 BODY[2.HEADER.FIELDS (To)]\r\n",
			want: cmd("f", "FETCH", fetch("3", FetchItem{Kind: FetchBodySection,
				Section: Section{Part: []uint32{2}, Specifier: "HEADER.FIELDS", Fields: []string{"To"}}, Name: "BODY[2.HEADER.FIELDS (To)]"}))},
		{name: "binary", in: "f FETCH 1 (BINARY[1.2] BINARY.PEEK[]<0.100> BINARY.SIZE[3])\r\n",
			want: cmd("f", "FETCH", fetch("1",
				FetchItem{Kind: FetchBinary, Section: Section{Part: []uint32{1, 2}}, Name: "BINARY[1.2]"},
				FetchItem{Kind: FetchBinary, Peek: true, Partial: &Partial{0, 100}, Name: "BINARY[]<0>"},
				FetchItem{Kind: FetchBinarySize, Section: Section{Part: []uint32{3}}, Name: "BINARY.SIZE[3]"},
			))},
		{name: "changedsince", in: "f UID FETCH 1:* (FLAGS) (CHANGEDSINCE 12345)\r\n",
			want: uidCmd("f", "FETCH", &FetchArgs{Set: set("1:*"), Items: []FetchItem{flags}, HasChangedSince: true, ChangedSince: 12345})},
		{name: "vanished", in: "f UID FETCH 300:500 (FLAGS) (CHANGEDSINCE 12345 VANISHED)\r\n",
			want: uidCmd("f", "FETCH", &FetchArgs{Set: set("300:500"), Items: []FetchItem{flags},
				HasChangedSince: true, ChangedSince: 12345, Vanished: true})},
		{name: "saved set", in: "f FETCH $ FLAGS\r\n", want: cmd("f", "FETCH", &FetchArgs{Set: SeqSet{Saved: true}, Items: []FetchItem{flags}})},

		{name: "vanished without uid", in: "f FETCH 1:* (FLAGS) (CHANGEDSINCE 1 VANISHED)\r\n", tag: "f", wantErr: "VANISHED"},
		{name: "vanished without changedsince", in: "f UID FETCH 1:* (FLAGS) (VANISHED)\r\n", tag: "f", wantErr: "VANISHED"},
		{name: "unknown item", in: "f FETCH 1 (FLAGS X-GM-LABELS)\r\n", tag: "f", wantErr: "unknown fetch item"},
		{name: "macro in list", in: "f FETCH 1 (ALL)\r\n", tag: "f", wantErr: "unknown fetch item"},
		{name: "peek without section", in: "f FETCH 1 BODY.PEEK\r\n", tag: "f", wantErr: "requires a section"},
		{name: "mime without part", in: "f FETCH 1 BODY[MIME]\r\n", tag: "f", wantErr: "MIME requires"},
		{name: "bad section", in: "f FETCH 1 BODY[FOO]\r\n", tag: "f", wantErr: "invalid section"},
		{name: "part zero", in: "f FETCH 1 BODY[0]\r\n", tag: "f", wantErr: "must not be 0"},
		{name: "binary header", in: "f FETCH 1 BINARY[1.HEADER]\r\n", tag: "f", wantErr: "only part numbers"},
		{name: "binary size partial", in: "f FETCH 1 BINARY.SIZE[1]<0.1>\r\n", tag: "f", wantErr: "no partial"},
		{name: "zero length partial", in: "f FETCH 1 BODY[]<0.0>\r\n", tag: "f", wantErr: "must not be 0"},
		{name: "unclosed section", in: "f FETCH 1 BODY[TEXT\r\n", tag: "f", wantErr: "expected ']'"},
		{name: "empty list", in: "f FETCH 1 ()\r\n", tag: "f", wantErr: "expected fetch item"},
		{name: "unbalanced", in: "f FETCH 1 (FLAGS UID\r\n", tag: "f", wantErr: "missing argument"},
		{name: "bad header name", in: "f FETCH 1 BODY[HEADER.FIELDS (\"a:b\")]\r\n", tag: "f", wantErr: "invalid header field name"},
		{name: "unknown modifier", in: "f FETCH 1 FLAGS (FOO)\r\n", tag: "f", wantErr: "unknown FETCH modifier"},
		{name: "missing items", in: "f FETCH 1\r\n", tag: "f", wantErr: "missing argument"},
	})
}

func TestParseStore(t *testing.T) {
	runParseCases(t, []parseCase{
		{name: "replace", in: "s STORE 2:4 FLAGS (\\Deleted)\r\n",
			want: cmd("s", "STORE", &StoreArgs{Set: set("2:4"), Op: StoreReplace, Flags: []string{`\Deleted`}})},
		{name: "add silent", in: "s UID STORE 1,3 +FLAGS.SILENT (\\seen $Forwarded)\r\n",
			want: uidCmd("s", "STORE", &StoreArgs{Set: set("1,3"), Op: StoreAdd, Silent: true, Flags: []string{`\Seen`, "$Forwarded"}})},
		{name: "remove bare flags", in: "s STORE 1 -flags \\Flagged Junk\r\n",
			want: cmd("s", "STORE", &StoreArgs{Set: set("1"), Op: StoreRemove, Flags: []string{`\Flagged`, "Junk"}})},
		{name: "empty list", in: "s STORE 1 FLAGS ()\r\n",
			want: cmd("s", "STORE", &StoreArgs{Set: set("1"), Flags: []string{}})},
		{name: "unchangedsince", in: "s STORE 7,5,9 (UNCHANGEDSINCE 320162338) +FLAGS.SILENT (\\Deleted)\r\n",
			want: cmd("s", "STORE", &StoreArgs{Set: set("7,5,9"), Op: StoreAdd, Silent: true, Flags: []string{`\Deleted`},
				HasUnchangedSince: true, UnchangedSince: 320162338})},
		{name: "unchangedsince zero", in: "s STORE 1 (UNCHANGEDSINCE 0) FLAGS ()\r\n",
			want: cmd("s", "STORE", &StoreArgs{Set: set("1"), Flags: []string{}, HasUnchangedSince: true})},
		{name: "bad item", in: "s STORE 1 LABELS (x)\r\n", tag: "s", wantErr: "FLAGS"},
		{name: "missing flags", in: "s STORE 1 +FLAGS\r\n", tag: "s", wantErr: "missing argument"},
		{name: "bad modifier", in: "s STORE 1 (FOO 1) FLAGS ()\r\n", tag: "s", wantErr: "unknown STORE modifier"},
	})
}
