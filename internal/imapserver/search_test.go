package imapserver

import (
	"fmt"
	"strings"
	"testing"
)

func TestSearch(t *testing.T) {
	h := start(t, nil)
	c := h.login(t, "alice@example.org")
	c.appendMsg("INBOX", `(\Seen) "01-Jan-2022 10:00:00 +0000"`, testMessage(1))
	c.appendMsg("INBOX", `(\Flagged) "02-Jan-2022 10:00:00 +0000"`, mimeMessage)
	c.appendMsg("INBOX", `() "03-Jan-2022 10:00:00 +0000"`, "Subject: third\r\nFrom: carol@example.net\r\n\r\nbody text with Needle\r\n")
	c.ok("SELECT INBOX")
	c.ok("UID STORE 3 +FLAGS.SILENT (\\Deleted)")
	tests := []struct{ cmd, want string }{
		{"SEARCH ALL", "* SEARCH 1 2 3"},
		{"SEARCH SEEN", "* SEARCH 1"},
		{"SEARCH UNSEEN", "* SEARCH 2 3"},
		{"SEARCH FLAGGED UNDELETED", "* SEARCH 2"},
		{"SEARCH NOT DELETED", "* SEARCH 1 2"},
		{"SEARCH OR SEEN DELETED", "* SEARCH 1 3"},
		{"SEARCH 2:*", "* SEARCH 2 3"},
		{"SEARCH UID 1,3", "* SEARCH 1 3"},
		{"UID SEARCH 1:2", "* SEARCH 1 2"},
		{"SEARCH SUBJECT test", "* SEARCH 1"},
		{"SEARCH FROM carol", "* SEARCH 3"},
		{"SEARCH HEADER Message-ID m1", "* SEARCH 2"},
		{`SEARCH HEADER MIME-Version ""`, "* SEARCH 2"},
		{"SEARCH BODY needle", "* SEARCH 3"},
		{"SEARCH TEXT there", "* SEARCH 2"},
		{"SEARCH TEXT carol", "* SEARCH 3"},
		{"SEARCH CHARSET UTF-8 BODY hello", "* SEARCH 1 2"},
		{"SEARCH SINCE 2-Jan-2022", "* SEARCH 2 3"},
		{"SEARCH BEFORE 2-Jan-2022", "* SEARCH 1"},
		{"SEARCH ON 2-Jan-2022", "* SEARCH 2"},
		{"SEARCH SENTON 7-Feb-2022", "* SEARCH 1 2"},
		{"SEARCH SENTSINCE 1-Jan-2022", "* SEARCH 1 2 3"},
		{"SEARCH LARGER 300", "* SEARCH 2"},
		{"SEARCH SMALLER 100", "* SEARCH 3"},
		// The session that selected the mailbox first holds all three as
		// \Recent (RFC 3501 2.3.2); NEW is RECENT UNSEEN.
		{"SEARCH NEW", "* SEARCH 2 3"},
		{"SEARCH RECENT SEEN", "* SEARCH 1"},
		{"SEARCH OLD", "* SEARCH"},
		{"SEARCH KEYWORD $Junk", "* SEARCH"},
		{"SEARCH (SEEN) (UID 1)", "* SEARCH 1"},
	}
	for _, tt := range tests {
		c.expect(tt.cmd, tt.want, "OK Search completed.")
	}
	c.expect("SEARCH CHARSET KOI8-R ALL", "NO [BADCHARSET (US-ASCII UTF-8)] Unsupported charset.")
	_, hms := h.folder(t, "alice@example.org", "INBOX")
	c.expect(fmt.Sprintf("SEARCH MODSEQ %d", hms), fmt.Sprintf("* OK [HIGHESTMODSEQ %d] Highest", hms),
		fmt.Sprintf("* SEARCH 3 (MODSEQ %d)", hms), "OK Search completed.")
}

func TestESearch(t *testing.T) {
	h := start(t, nil)
	c := h.login(t, "alice@example.org")
	for i := 1; i <= 5; i++ {
		c.appendMsg("INBOX", "()", testMessage(i))
	}
	c.ok("SELECT INBOX")
	c.ok("STORE 2,4 +FLAGS.SILENT (\\Seen)")
	_, hms := h.folder(t, "alice@example.org", "INBOX")
	tests := []struct{ cmd, want string }{
		{"SEARCH RETURN (MIN MAX COUNT ALL) UNSEEN", `* ESEARCH (TAG "%s") MIN 1 MAX 5 ALL 1,3,5 COUNT 3`},
		{"UID SEARCH RETURN () SEEN", `* ESEARCH (TAG "%s") UID ALL 2,4`},
		{"SEARCH RETURN (COUNT) KEYWORD $Junk", `* ESEARCH (TAG "%s") COUNT 0`},
		{"SEARCH RETURN (MIN) KEYWORD $Junk", `* ESEARCH (TAG "%s")`},
		{fmt.Sprintf("SEARCH RETURN (MAX) MODSEQ %d", hms-1), fmt.Sprintf("* OK [HIGHESTMODSEQ %d] Highest\n"+`* ESEARCH (TAG "%%s") MAX 4 MODSEQ %d`, hms, hms)},
	}
	for _, tt := range tests {
		tag := fmt.Sprintf("t%d", c.n+1)
		c.expect(tt.cmd, append(strings.Split(fmt.Sprintf(tt.want, tag), "\n"), "OK Search completed.")...)
	}
	// SEARCHRES: SAVE alone answers nothing; "$" is the saved result.
	c.expect("SEARCH RETURN (SAVE) SEEN", "OK Search completed.")
	c.expect("FETCH $ (UID)", "* 2 FETCH (UID 2)", "* 4 FETCH (UID 4)", "OK Fetch completed.")
	c.expect("SEARCH $ UID 4", "* SEARCH 4", "OK Search completed.")
	c.expect("UID SEARCH RETURN (SAVE MIN) UNSEEN", fmt.Sprintf(`* ESEARCH (TAG "t%d") UID MIN 1`, c.n+1), "OK Search completed.")
	c.expect("UID FETCH $ (UID)", "* 1 FETCH (UID 1)", "OK Fetch completed.")
	// IMAP4rev2: SEARCH answers with ESEARCH.
	c.ok("ENABLE IMAP4rev2")
	tag := fmt.Sprintf("t%d", c.n+1)
	c.expect("SEARCH SEEN", fmt.Sprintf(`* ESEARCH (TAG "%s") ALL 2,4`, tag), "OK Search completed.")
}
