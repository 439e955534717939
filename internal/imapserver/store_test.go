package imapserver

import (
	"fmt"
	"strings"
	"testing"
)

func TestStore(t *testing.T) {
	h := start(t, nil)
	c := h.login(t, "alice@example.org")
	for i := 1; i <= 3; i++ {
		c.appendMsg("INBOX", "()", testMessage(i))
	}
	c.ok("SELECT INBOX")
	c.expect(`STORE 1 +FLAGS (\Seen)`, `* 1 FETCH (UID 1 FLAGS (\Seen \Recent))`, "OK Store completed.")
	c.expect(`STORE 1:2 FLAGS.SILENT (\Answered)`, "OK Store completed.")
	c.expect(`UID STORE 1,2 -FLAGS (\Answered)`, `* 1 FETCH (UID 1 FLAGS (\Recent))`, `* 2 FETCH (UID 2 FLAGS (\Recent))`, "OK Store completed.")
	c.expect(`STORE 4 +FLAGS (\Seen)`, "BAD Invalid message sequence number.")
	c.expect(`STORE 1 +FLAGS (\Recent)`, `BAD \Recent can't be stored.`)
	// A new keyword is announced in FLAGS and PERMANENTFLAGS.
	// A new keyword is announced before the FETCH that shows it.
	c.expect(`STORE 3 +FLAGS ($Label1)`,
		`* FLAGS (\Answered \Flagged \Deleted \Seen \Draft $Label1)`,
		`* OK [PERMANENTFLAGS (\Answered \Flagged \Deleted \Seen \Draft $Label1 \*)] Flags permitted.`,
		`* 3 FETCH (UID 3 FLAGS ($Label1 \Recent))`,
		"OK Store completed.")
}

func TestStoreUnchangedSince(t *testing.T) {
	h := start(t, nil)
	c := h.login(t, "alice@example.org")
	for i := 1; i <= 3; i++ {
		c.appendMsg("INBOX", "()", testMessage(i))
	}
	c.ok("SELECT INBOX (CONDSTORE)")
	c.ok(`STORE 2 +FLAGS.SILENT (\Flagged)`) // message 2 now has the highest MODSEQ
	_, hms := h.folder(t, "alice@example.org", "INBOX")
	tests := []struct {
		cmd  string
		want []string
	}{
		{fmt.Sprintf(`STORE 1:3 (UNCHANGEDSINCE %d) +FLAGS.SILENT (\Seen)`, hms-1), []string{
			fmt.Sprintf(`* 1 FETCH (UID 1 MODSEQ (%d))`, hms+1),
			fmt.Sprintf(`* 3 FETCH (UID 3 MODSEQ (%d))`, hms+2),
			"OK [MODIFIED 2] Conditional store failed."}},
		{`UID STORE 1:3 (UNCHANGEDSINCE 0) +FLAGS (\Seen)`, []string{"OK [MODIFIED 1:3] Conditional store failed."}},
		{fmt.Sprintf(`UID STORE 2 (UNCHANGEDSINCE %d) -FLAGS (\Flagged)`, hms), []string{
			fmt.Sprintf(`* 2 FETCH (UID 2 FLAGS (\Recent) MODSEQ (%d))`, hms+3), "OK Store completed."}},
	}
	for _, tt := range tests {
		c.expect(tt.cmd, tt.want...)
	}
}

func TestCopyMoveAppendUID(t *testing.T) {
	h := start(t, nil)
	c := h.login(t, "alice@example.org")
	for i := 1; i <= 3; i++ {
		h.deliver(t, "alice@example.org", "INBOX", testMessage(i))
	}
	c.ok("SELECT INBOX")
	uvArchive := int64(0)
	c.ok("CREATE Archive")
	uvArchive, _ = h.folder(t, "alice@example.org", "Archive")
	c.expect("COPY 1:2 Archive", fmt.Sprintf("OK [COPYUID %d 1:2 1:2] Copy completed.", uvArchive))
	c.expect("UID COPY 9 Archive", "OK No messages found.")
	c.expect("COPY 1 Nowhere", "NO [TRYCREATE] Mailbox doesn't exist.")
	c.expect("UID MOVE 2:3 Archive",
		fmt.Sprintf("* OK [COPYUID %d 2:3 3:4] Moved UIDs.", uvArchive),
		"* 3 EXPUNGE", "* 2 EXPUNGE", "OK Move completed.")
	c.expect("MOVE 1 Nowhere", "NO [TRYCREATE] Mailbox doesn't exist.")
	tagged := c.appendMsg("Archive", `(\Seen) "01-Jan-2023 10:00:00 +0000"`, testMessage(9))
	if tagged != fmt.Sprintf("OK [APPENDUID %d 5] Append completed.", uvArchive) {
		t.Fatalf("APPEND: %q", tagged)
	}
	// Appending to the selected mailbox announces the new message.
	c.send(`a1 APPEND INBOX {5+}`)
	c.send("Hi!\r\n")
	u, tagged := c.until("a1")
	if len(u) != 2 || u[0] != "* 2 EXISTS" || u[1] != "* 2 RECENT" || !strings.HasPrefix(tagged, "OK [APPENDUID ") {
		t.Fatalf("APPEND to selected: %q %q", u, tagged)
	}
	c.expect("APPEND Nowhere {3}", "NO [TRYCREATE] Mailbox doesn't exist.")
	c.expect("APPEND INBOX {99999999999}", "NO [TOOBIG] message too big")
	c.expect("STATUS Archive (MESSAGES UIDNEXT UNSEEN)", "* STATUS Archive (MESSAGES 5 UIDNEXT 6 UNSEEN 4)", "OK Status completed.")
}

func TestAppendOverQuota(t *testing.T) {
	h := start(t, nil)
	c := h.login(t, "bob@example.org") // quota 1 MiB
	big := strings.Repeat("x", 700<<10)
	c.appendMsg("INBOX", "()", "Subject: big\r\n\r\n"+big)
	c.expect(fmt.Sprintf("APPEND INBOX {%d}", len(big)), "NO [OVERQUOTA] Quota exceeded (mailbox for user is full).")
	c.ok("SELECT INBOX")
	c.expect("COPY 1 Trash", "NO [OVERQUOTA] Quota exceeded (mailbox for user is full).")
	c.expect("GETQUOTAROOT INBOX", `* QUOTAROOT INBOX ""`, `* QUOTA "" (STORAGE 701 1024)`, "OK Getquotaroot completed.")
	c.expect(`GETQUOTA ""`, `* QUOTA "" (STORAGE 701 1024)`, "OK Getquota completed.")
	c.expect(`GETQUOTA "other"`, "NO [NONEXISTENT] No such quota root.")
	c.expect(`SETQUOTA "" (STORAGE 10)`, "NO [NOPERM] Quota can't be changed over IMAP.")
	a := h.login(t, "alice@example.org") // no quota: no quota root
	a.expect("GETQUOTAROOT INBOX", `* QUOTAROOT INBOX`, "OK Getquotaroot completed.")
}
