package imapwire

import "testing"

func TestParseURLAuth(t *testing.T) {
	rump := `"imap://joe@example.com/INBOX/;uid=20/;section=1.2;urlauth=submit+fred"`
	runParseCases(t, []parseCase{
		// RFC 4467 7 (the example's commands).
		{name: "genurlauth", in: "a GENURLAUTH " + rump + " INTERNAL\r\n",
			want: &Command{Tag: "a", Name: "GENURLAUTH", Args: &GenURLAuthArgs{Items: []URLMech{
				{URL: "imap://joe@example.com/INBOX/;uid=20/;section=1.2;urlauth=submit+fred", Mechanism: "INTERNAL"}}}}},
		{name: "genurlauth two", in: "a GENURLAUTH x internal y X-Y.1\r\n",
			want: &Command{Tag: "a", Name: "GENURLAUTH", Args: &GenURLAuthArgs{Items: []URLMech{{"x", "INTERNAL"}, {"y", "X-Y.1"}}}}},
		{name: "urlfetch", in: "a URLFETCH \"imap://joe@example.com/INBOX/;uid=20/;section=1.2;urlauth=submit+fred:internal:91354a473744909de610943775f92038\" {1}\r\nz\r\n",
			want: &Command{Tag: "a", Name: "URLFETCH", Args: &URLFetchArgs{URLs: []string{
				"imap://joe@example.com/INBOX/;uid=20/;section=1.2;urlauth=submit+fred:internal:91354a473744909de610943775f92038", "z"}}}},
		{name: "resetkey", in: "a RESETKEY\r\n", want: &Command{Tag: "a", Name: "RESETKEY", Args: &ResetKeyArgs{}}},
		{name: "resetkey mailbox", in: "a RESETKEY INBOX INTERNAL x\r\n",
			want: &Command{Tag: "a", Name: "RESETKEY", Args: &ResetKeyArgs{Mailbox: "INBOX", HasMailbox: true, Mechanisms: []string{"INTERNAL", "X"}}}},
		{name: "genurlauth no mech", in: "a GENURLAUTH x\r\n", wantErr: "missing argument", tag: "a"},
		{name: "genurlauth bad mech", in: "a GENURLAUTH x in_ternal\r\n", wantErr: "invalid mechanism", tag: "a"},
		{name: "genurlauth none", in: "a GENURLAUTH\r\n", wantErr: "missing argument", tag: "a"},
		{name: "urlfetch none", in: "a URLFETCH\r\n", wantErr: "missing argument", tag: "a"},
		{name: "resetkey trailing", in: "a RESETKEY INBOX \r\n", wantErr: "missing", tag: "a"},
	})
}
