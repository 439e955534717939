package imapserver

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

func (h *harness) folder(t testing.TB, user, name string) (uidvalidity, highest int64) {
	t.Helper()
	fi, err := h.store.Folder(context.Background(), h.account(user), name)
	if err != nil {
		t.Fatal(err)
	}
	return fi.UIDValidity, fi.HighestModSeq
}

func TestSelectResponses(t *testing.T) {
	h := start(t, nil)
	c := h.login(t, "alice@example.org")
	c.appendMsg("INBOX", `(\Seen $Forwarded)`, testMessage(1))
	c.appendMsg("INBOX", "()", testMessage(2))
	uv, hms := h.folder(t, "alice@example.org", "INBOX")
	boxID, err := h.store.MailboxID(context.Background(), h.account("alice@example.org"), "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	flags := `(\Answered \Flagged \Deleted \Seen \Draft $Forwarded)`
	c.expect("SELECT INBOX",
		"* FLAGS "+flags,
		`* OK [PERMANENTFLAGS (\Answered \Flagged \Deleted \Seen \Draft $Forwarded \*)] Flags permitted.`,
		"* 2 EXISTS",
		"* 2 RECENT",
		"* OK [UNSEEN 2] First unseen.",
		fmt.Sprintf("* OK [UIDVALIDITY %d] UIDs valid", uv),
		"* OK [UIDNEXT 3] Predicted next UID",
		fmt.Sprintf("* OK [HIGHESTMODSEQ %d] Highest", hms),
		"* OK [MAILBOXID ("+boxID+")] Ok",
		"OK [READ-WRITE] Select completed.")
	c.expect("EXAMINE inbox",
		"* FLAGS "+flags,
		`* OK [PERMANENTFLAGS ()] Flags permitted.`,
		"* 2 EXISTS",
		"* 0 RECENT",
		"* OK [UNSEEN 2] First unseen.",
		fmt.Sprintf("* OK [UIDVALIDITY %d] UIDs valid", uv),
		"* OK [UIDNEXT 3] Predicted next UID",
		fmt.Sprintf("* OK [HIGHESTMODSEQ %d] Highest", hms),
		"* OK [MAILBOXID ("+boxID+")] Ok",
		"OK [READ-ONLY] Examine completed.")
	c.expect("STORE 1 +FLAGS (\\Deleted)", "NO [READ-ONLY] Mailbox is read-only.")
	c.expect("SELECT Nope", "NO [NONEXISTENT] Mailbox doesn't exist.")
	c.expect("FETCH 1 FLAGS", "BAD No mailbox selected.")
	c.ok("ENABLE IMAP4rev2")
	u := c.ok("SELECT INBOX")
	if strings.Contains(strings.Join(u, "\n"), "RECENT") || u[len(u)-1] != `* LIST () "." INBOX` {
		t.Fatalf("IMAP4rev2 SELECT: %q", u)
	}
	c.expect("UNSELECT", "OK Unselect completed.")
	c.expect("UNSELECT", "BAD No mailbox selected.")
}

func TestCloseExpunges(t *testing.T) {
	h := start(t, nil)
	c := h.login(t, "alice@example.org")
	c.appendMsg("INBOX", `(\Deleted)`, testMessage(1))
	c.appendMsg("INBOX", "()", testMessage(2))
	c.ok("EXAMINE INBOX")
	c.expect("CLOSE", "OK Close completed.")
	c.ok("SELECT INBOX")
	c.expect("CLOSE", "OK Close completed.")
	u := c.ok("SELECT INBOX")
	if u[2] != "* 1 EXISTS" {
		t.Fatalf("after CLOSE: %q", u)
	}
}

func TestQResyncSelect(t *testing.T) {
	h := start(t, nil)
	c := h.login(t, "alice@example.org")
	for i := 1; i <= 5; i++ {
		c.appendMsg("INBOX", "()", testMessage(i))
	}
	uv, hms := h.folder(t, "alice@example.org", "INBOX")
	c.ok("SELECT INBOX")
	c.ok("STORE 2 +FLAGS.SILENT (\\Deleted)")
	c.ok("EXPUNGE")
	c.ok("STORE 3 +FLAGS.SILENT (\\Flagged)")
	c.ok("UNSELECT")
	c.expect(fmt.Sprintf("SELECT INBOX (QRESYNC (%d %d))", uv, hms), "BAD QRESYNC isn't enabled.")
	c.ok("ENABLE QRESYNC")
	u := c.ok(fmt.Sprintf("SELECT INBOX (QRESYNC (%d %d))", uv, hms))
	tail := strings.Join(u[len(u)-2:], "\n")
	want := "* VANISHED (EARLIER) 2\n* 3 FETCH (UID 4 FLAGS (\\Flagged) MODSEQ (" // modseq checked below
	if !strings.HasPrefix(tail, want) {
		t.Fatalf("QRESYNC SELECT:\n%s", strings.Join(u, "\n"))
	}
	// Known UIDs limit the report; a wrong UIDVALIDITY gives none.
	u = c.ok(fmt.Sprintf("SELECT INBOX (QRESYNC (%d %d 1,3,5))", uv, hms))
	if strings.Contains(strings.Join(u, "\n"), "VANISHED") || strings.Contains(strings.Join(u, "\n"), "FETCH") {
		t.Fatalf("known UIDs 1,3,5: %q", u)
	}
	if u[0] != "* OK [CLOSED] Previous mailbox closed." {
		t.Fatalf("no CLOSED: %q", u)
	}
	u = c.ok(fmt.Sprintf("SELECT INBOX (QRESYNC (%d %d))", uv+1, hms))
	if strings.Contains(strings.Join(u, "\n"), "VANISHED") {
		t.Fatalf("wrong UIDVALIDITY: %q", u)
	}
}
