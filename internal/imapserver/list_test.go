package imapserver

import (
	"fmt"
	"testing"
)

func TestMatchPattern(t *testing.T) {
	tests := []struct {
		pattern, name string
		want          bool
	}{
		{"*", "INBOX", true},
		{"*", "a.b.c", true},
		{"%", "a", true},
		{"%", "a.b", false},
		{"a.%", "a.b", true},
		{"a.%", "a.b.c", false},
		{"a*", "a.b.c", true},
		{"inbox", "INBOX", true},
		{"Inbox.%", "INBOX.x", true},
		{"a%b", "axxb", true},
		{"a%b", "ax.xb", false},
		{"%.%", "a.b", true},
		{"*.c", "a.b.c", true},
		{"a", "ab", false},
		{"ab", "a", false},
		{"", "", true},
		{"%*%*%*%*%*%*%*%*%*%*%*%*%*%*%*%*%*%*%*%*x", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false},
	}
	for _, tt := range tests {
		if got := matchPattern(tt.pattern, tt.name); got != tt.want {
			t.Errorf("matchPattern(%q, %q) = %v", tt.pattern, tt.name, got)
		}
	}
}

func TestList(t *testing.T) {
	h := start(t, nil)
	c := h.login(t, "alice@example.org")
	c.ok("CREATE Work.2024.Q1")
	c.ok(`CREATE Archive (USE (\Archive))`)
	c.ok("CREATE Entw&APw-rfe")
	c.ok("SUBSCRIBE Work.2024.Q1")
	c.expect(`CREATE Bad (USE (\Important))`, "NO [USEATTR] Unsupported special-use attribute.")
	c.expect("CREATE Archive", "NO [ALREADYEXISTS] Mailbox already exists.")
	c.expect("CREATE inbox", "NO [ALREADYEXISTS] Mailbox already exists.")
	tests := []struct {
		cmd  string
		want []string
	}{
		{`LIST "" ""`, []string{`* LIST (\Noselect) "." ""`, "OK List completed."}},
		{`LIST "" *`, []string{
			`* LIST (\HasNoChildren) "." INBOX`,
			`* LIST (\HasNoChildren \Archive) "." Archive`,
			`* LIST (\HasNoChildren \Drafts) "." Drafts`,
			`* LIST (\HasNoChildren) "." Entw&APw-rfe`,
			`* LIST (\HasNoChildren \Junk) "." Junk`,
			`* LIST (\HasNoChildren \Sent) "." Sent`,
			`* LIST (\HasNoChildren \Trash) "." Trash`,
			`* LIST (\Noselect \HasChildren) "." Work`,
			`* LIST (\Noselect \HasChildren) "." Work.2024`,
			`* LIST (\HasNoChildren) "." Work.2024.Q1`,
			"OK List completed."}},
		{`LIST Work. %`, []string{`* LIST (\Noselect \HasChildren) "." Work.2024`, "OK List completed."}},
		{`LIST "" inbox`, []string{`* LIST (\HasNoChildren) "." INBOX`, "OK List completed."}},
		{`LIST (SPECIAL-USE) "" *`, []string{
			`* LIST (\HasNoChildren \Archive) "." Archive`,
			`* LIST (\HasNoChildren \Drafts) "." Drafts`,
			`* LIST (\HasNoChildren \Junk) "." Junk`,
			`* LIST (\HasNoChildren \Sent) "." Sent`,
			`* LIST (\HasNoChildren \Trash) "." Trash`,
			"OK List completed."}},
		{`LIST (SUBSCRIBED) "" "Work*"`, []string{
			`* LIST (\HasNoChildren \Subscribed) "." Work.2024.Q1`, "OK List completed."}},
		{`LIST (SUBSCRIBED RECURSIVEMATCH) "" %`, []string{
			`* LIST (\HasNoChildren \Subscribed) "." INBOX`,
			`* LIST (\HasNoChildren \Subscribed \Drafts) "." Drafts`,
			`* LIST (\HasNoChildren \Subscribed \Junk) "." Junk`,
			`* LIST (\HasNoChildren \Subscribed \Sent) "." Sent`,
			`* LIST (\HasNoChildren \Subscribed \Trash) "." Trash`,
			`* LIST (\NonExistent \HasChildren) "." Work ("CHILDINFO" ("SUBSCRIBED"))`,
			"OK List completed."}},
		{`LIST "" (INBOX Sent) RETURN (STATUS (MESSAGES UIDNEXT) SUBSCRIBED)`, []string{
			`* LIST (\HasNoChildren \Subscribed) "." INBOX`,
			`* STATUS INBOX (MESSAGES 0 UIDNEXT 1)`,
			`* LIST (\HasNoChildren \Subscribed \Sent) "." Sent`,
			`* STATUS Sent (MESSAGES 0 UIDNEXT 1)`,
			"OK List completed."}},
		{`LSUB "" *`, []string{
			`* LSUB () "." INBOX`, `* LSUB () "." Drafts`, `* LSUB () "." Junk`, `* LSUB () "." Sent`,
			`* LSUB () "." Trash`, `* LSUB () "." Work.2024.Q1`, "OK Lsub completed."}},
		{`LSUB "" Work.%`, []string{`* LSUB (\Noselect) "." Work.2024`, "OK Lsub completed."}},
	}
	for _, tt := range tests {
		c.expect(tt.cmd, tt.want...)
	}
	// UTF8=ACCEPT: names in UTF-8 both ways.
	c.ok("ENABLE UTF8=ACCEPT")
	c.expect(`LIST "" "Entw*"`, `* LIST (\HasNoChildren) "." "Entwürfe"`, "OK List completed.")
	c.ok(`CREATE "Größe"`)
	c.expect(`LIST "" "Gr*"`, `* LIST (\HasNoChildren) "." "Größe"`, "OK List completed.")
	o := h.login(t, "alice@example.org")
	o.expect(`LIST "" "Gr*"`, `* LIST (\HasNoChildren) "." Gr&APYA3w-e`, "OK List completed.")
	o.expect(`CREATE "Grö"`, "NO [CANNOT] Invalid mailbox name.")
}

func TestMailboxCommands(t *testing.T) {
	h := start(t, nil)
	c := h.login(t, "alice@example.org")
	c.ok("CREATE a.")
	c.expect(`LIST "" a*`, `* LIST (\HasNoChildren) "." a`, "OK List completed.")
	c.ok("CREATE a.b")
	c.expect("DELETE a", "NO [HASCHILDREN] Mailbox has children, delete them first.")
	c.expect("RENAME a c", "OK Rename completed.")
	c.expect(`LIST "" *c*`, `* LIST (\HasChildren) "." c`, `* LIST (\HasNoChildren) "." c.b`, "OK List completed.")
	c.expect("DELETE INBOX", "NO [CANNOT] INBOX can't be deleted.")
	c.expect("DELETE nope", "NO [NONEXISTENT] Mailbox doesn't exist.")
	c.expect("SUBSCRIBE nope", "NO [NONEXISTENT] Mailbox doesn't exist.")
	c.expect("UNSUBSCRIBE c", "OK Unsubscribe completed.")
	c.expect("STATUS nope (MESSAGES)", "NO [NONEXISTENT] Mailbox doesn't exist.")
	c.appendMsg("INBOX", `(\Deleted)`, testMessage(1))
	uv, hms := h.folder(t, "alice@example.org", "INBOX")
	c.expect("STATUS INBOX (MESSAGES RECENT UIDNEXT UIDVALIDITY UNSEEN DELETED SIZE HIGHESTMODSEQ APPENDLIMIT)",
		fmt.Sprintf("* STATUS INBOX (MESSAGES 1 RECENT 1 UIDNEXT 2 UIDVALIDITY %d UNSEEN 1 DELETED 1 SIZE %d HIGHESTMODSEQ %d APPENDLIMIT 26214400)",
			uv, len(testMessage(1)), hms), "OK Status completed.")
	// The selected mailbox renamed stays selected.
	c.ok("SELECT c.b")
	c.ok("RENAME c d")
	c.expect("NOOP", "OK Noop completed.")
	c.expect("STATUS d.b (MESSAGES)", "* STATUS d.b (MESSAGES 0)", "OK Status completed.")
}
