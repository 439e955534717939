package imapserver

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"mailwarden/internal/acl"
	"mailwarden/internal/directory"
	"mailwarden/internal/store"
	"mailwarden/internal/testutil"
)

const bobWork = `"Other Users/alice@example.org/Work"`

// TestACLOwnFolders: the ACL commands on one's own folders (RFC 4314 3).
func TestACLOwnFolders(t *testing.T) {
	h := start(t, nil)
	a := h.login(t, "alice@example.org")
	a.ok("CREATE Work")
	a.expect("MYRIGHTS Work", `* MYRIGHTS Work lrwstipekxacd`, "OK Myrights completed.")
	a.expect("GETACL Work", `* ACL Work alice@example.org lrwstipekxacd`, "OK Getacl completed.")
	a.expect("SETACL Work bob@example.org lrs", "OK Setacl complete.")
	a.expect("SETACL Work Bob@Example.org +i", "OK Setacl complete.")
	a.expect("SETACL Work anyone l", "OK Setacl complete.")
	a.expect("SETACL Work -carol@example.org r", "OK Setacl complete.")
	a.expect("GETACL Work", `* ACL Work alice@example.org lrwstipekxacd -carol@example.org r anyone l bob@example.org lrsi`, "OK Getacl completed.")
	a.expect("SETACL Work bob@example.org -s", "OK Setacl complete.")
	a.expect("DELETEACL Work anyone", "OK Deleteacl complete.")
	a.expect("DELETEACL Work -carol@example.org", "OK Deleteacl complete.")
	a.expect("GETACL Work", `* ACL Work alice@example.org lrwstipekxacd bob@example.org lri`, "OK Getacl completed.")
	a.expect("LISTRIGHTS Work bob@example.org", `* LISTRIGHTS Work bob@example.org "" l r w s t p i e k x a c d`, "OK Listrights completed.")
	a.expect("LISTRIGHTS Work alice@example.org", `* LISTRIGHTS Work alice@example.org lrwstipekxacd`, "OK Listrights completed.")
	a.expect("SETACL Work bob@example.org lq", "BAD invalid rights: 'q' is not a right")
	a.expect("SETACL Work $group l", `BAD invalid identifier: "$group": groups and global ACLs are not supported`)
	a.expect("SETACL Work alice@example.org l", "NO [CANNOT] The owner of a mailbox always has every right.")
	a.expect("GETACL Nope", "NO [NONEXISTENT] Mailbox doesn't exist.")
	a.expect("SETACL Nope bob@example.org l", "NO [NONEXISTENT] Mailbox doesn't exist.")
	a.expect("MYRIGHTS Nope", "NO [NONEXISTENT] Mailbox doesn't exist.")
	// c and d are the virtual rights of RFC 4314 2.1.1.
	a.expect("SETACL Work bob@example.org lrc", "OK Setacl complete.")
	a.expect("GETACL Work", `* ACL Work alice@example.org lrwstipekxacd bob@example.org lrkxc`, "OK Getacl completed.")
}

// TestACLOtherUsers: alice shares a folder with bob, who finds it under
// "Other Users/", and gets exactly the rights she gave.
func TestACLOtherUsers(t *testing.T) {
	h := start(t, nil)
	a := h.login(t, "alice@example.org")
	a.ok("CREATE Work")
	a.ok("CREATE Work.2024")
	a.ok("CREATE Private")
	h.deliver(t, "alice@example.org", "Work", testMessage(1))
	b := h.login(t, "bob@example.org")

	// Nothing shared yet: the namespace is empty and the name unknown.
	b.expect(`LIST "" "Other Users*"`, "OK List completed.")
	b.expect("SELECT "+bobWork, "NO [NONEXISTENT] Mailbox doesn't exist.")

	a.expect("SETACL Work bob@example.org lr", "OK Setacl complete.")
	b.expect(`LIST "" "*"`,
		`* LIST (\HasNoChildren) "." INBOX`,
		`* LIST (\HasNoChildren \Drafts) "." Drafts`,
		`* LIST (\HasNoChildren \Junk) "." Junk`,
		`* LIST (\HasNoChildren \Sent) "." Sent`,
		`* LIST (\HasNoChildren \Trash) "." Trash`,
		`* LIST (\Noselect \HasChildren) "/" "Other Users"`,
		`* LIST (\Noselect \HasChildren) "/" "Other Users/alice@example.org"`,
		`* LIST (\HasNoChildren) "/" "Other Users/alice@example.org/Work"`,
		"OK List completed.")
	b.expect(`LIST "Other Users/" %`,
		`* LIST (\Noselect \HasChildren) "/" "Other Users/alice@example.org"`, "OK List completed.")
	b.expect("MYRIGHTS "+bobWork, `* MYRIGHTS `+bobWork+` lr`, "OK Myrights completed.")
	b.expect("GETACL "+bobWork, "NO [NOPERM] You lack administrator privileges on this mailbox.")
	b.expect("STATUS "+bobWork+" (MESSAGES UNSEEN)", `* STATUS `+bobWork+` (MESSAGES 1 UNSEEN 1)`, "OK Status completed.")
	// The subfolder inherited nothing: it was made before the SETACL.
	b.expect(`MYRIGHTS "Other Users/alice@example.org/Work/2024"`, "NO [NONEXISTENT] Mailbox doesn't exist.")
	b.expect(`SELECT "Other Users/alice@example.org/Private"`, "NO [NONEXISTENT] Mailbox doesn't exist.")

	// lr: read-only; a body fetch does not set \Seen; STORE, EXPUNGE,
	// DELETE, APPEND are refused.
	u := b.ok("SELECT " + bobWork)
	if !strings.Contains(strings.Join(u, "\n"), `* OK [PERMANENTFLAGS ()]`) {
		t.Fatalf("SELECT: %q", u)
	}
	b.ok("FETCH 1 BODY[]")
	b.expect("FETCH 1 FLAGS", `* 1 FETCH (FLAGS (\Recent))`, "OK Fetch completed.")
	b.expect(`STORE 1 +FLAGS (\Deleted)`, "NO [READ-ONLY] Mailbox is read-only.")
	b.expect("EXPUNGE", "NO [READ-ONLY] Mailbox is read-only.")
	b.expect("DELETE "+bobWork, "NO [NOPERM] Permission denied.")
	b.expect("APPEND "+bobWork+" {1+}\r\nx", "NO [NOPERM] Permission denied.")
	b.expect("COPY 1 INBOX", "OK [COPYUID "+validity(t, h, "bob@example.org", "INBOX")+" 1 1] Copy completed.")
	b.expect("MOVE 1 INBOX", "NO [READ-ONLY] Mailbox is read-only.")

	// lrsi: read-write for \Seen only; APPEND works, its other flags dropped.
	a.expect("SETACL Work bob@example.org +si", "OK Setacl complete.")
	u = b.ok("SELECT " + bobWork)
	if !strings.Contains(strings.Join(u, "\n"), `* OK [PERMANENTFLAGS (\Seen)]`) {
		t.Fatalf("SELECT: %q", u)
	}
	b.expect(`STORE 1 +FLAGS (\Seen \Flagged)`, `* 1 FETCH (UID 1 FLAGS (\Seen \Recent))`, "OK Store completed.")
	b.expect(`STORE 1 FLAGS ()`, `* 1 FETCH (UID 1 FLAGS (\Recent))`, "OK Store completed.")
	b.expect("EXPUNGE", "NO [NOPERM] Permission denied.")
	b.appendMsg(bobWork, `(\Seen \Deleted $Label)`, testMessage(2))
	b.expect("UID FETCH 2 FLAGS", `* 2 FETCH (UID 2 FLAGS (\Seen \Recent))`, "OK Fetch completed.")
	b.expect("CREATE "+strings.TrimSuffix(bobWork, `"`)+`/Sub"`, "NO [NOPERM] Permission denied.")

	// COPY into it keeps only the flags bob may set there.
	b.ok("SELECT INBOX")
	b.ok(`STORE 1 FLAGS (\Seen \Flagged \Deleted)`)
	b.ok("COPY 1 " + bobWork)

	// What bob appended and copied is alice's, in her folder and quota.
	msgs, _, err := h.store.Messages(context.Background(), h.account("alice@example.org"), "Work")
	if err != nil || len(msgs) != 3 {
		t.Fatalf("alice's Work: %d messages, %v", len(msgs), err)
	}
	// \Seen, the one flag bob may keep there, is his own (pvtflags.go).
	if f := msgs[2].Flags; len(f) != 0 {
		t.Fatalf("flags of the copy: %q", f)
	}
	b.ok("SELECT " + bobWork)
	b.expect("UID FETCH 3 FLAGS", `* 3 FETCH (UID 3 FLAGS (\Seen \Recent))`, "OK Fetch completed.")

	// With k bob makes a subfolder, which inherits the ACL; with x he
	// deletes it.
	a.expect("SETACL Work bob@example.org +kx", "OK Setacl complete.")
	b.ok("CREATE " + strings.TrimSuffix(bobWork, `"`) + `/Sub"`)
	a.expect("GETACL Work.Sub", `* ACL Work.Sub alice@example.org lrwstipekxacd bob@example.org lrsikxc`, "OK Getacl completed.")
	b.ok("DELETE " + strings.TrimSuffix(bobWork, `"`) + `/Sub"`)
	b.expect(`RENAME `+bobWork+` "Other Users/alice@example.org/Top"`, "NO [NOPERM] Permission denied.")
	b.expect(`RENAME `+bobWork+` Mine`, "NO [CANNOT] Mailboxes can't be moved to another namespace or owner.")

	// Revoking l hides the folder from LIST; revoking all hides it.
	a.expect("SETACL Work bob@example.org -l", "OK Setacl complete.")
	b.expect(`LIST "" "Other Users/*"`, "OK List completed.")
	a.expect("DELETEACL Work bob@example.org", "OK Deleteacl complete.")
	b.expect("MYRIGHTS "+bobWork, "NO [NONEXISTENT] Mailbox doesn't exist.")
}

func validity(t *testing.T, h *harness, user, folder string) string {
	t.Helper()
	fi, err := h.store.Folder(context.Background(), h.account(user), folder)
	if err != nil {
		t.Fatal(err)
	}
	return strconv.FormatInt(fi.UIDValidity, 10)
}

// TestACLSharedMailbox: a shared mailbox of the domain, used by two
// users; a message one appends wakes the other's IDLE.
func TestACLSharedMailbox(t *testing.T) {
	h := start(t, nil)
	ctx := context.Background()
	sh := store.SharedAccount("example.org")
	if err := h.store.CreateFolder(ctx, sh, "support", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := h.store.SetACL(ctx, sh, "support", "anyone", acl.Replace, acl.Lookup|acl.Read|acl.Seen|acl.Insert); err != nil {
		t.Fatal(err)
	}
	if _, err := h.store.SetACL(ctx, sh, "support", "alice@example.org", acl.Replace, acl.All); err != nil {
		t.Fatal(err)
	}
	a := h.login(t, "alice@example.org")
	b := h.login(t, "bob@example.org")
	b.expect(`LIST "" "Shared*"`,
		`* LIST (\Noselect \HasChildren) "/" Shared`,
		`* LIST (\HasNoChildren) "/" Shared/support`, "OK List completed.")
	b.expect("MYRIGHTS Shared/support", "* MYRIGHTS Shared/support lrsi", "OK Myrights completed.")
	a.expect("GETACL Shared/support", "* ACL Shared/support alice@example.org lrwstipekxacd anyone lrsi", "OK Getacl completed.")
	b.expect("GETACL Shared/support", "NO [NOPERM] You lack administrator privileges on this mailbox.")
	b.expect("SELECT Shared/INBOX", "NO [NONEXISTENT] Mailbox doesn't exist.")
	b.expect("CREATE Shared/new", "NO [NOPERM] Permission denied.")
	b.expect(`LIST "" "Shared/%" RETURN (SUBSCRIBED)`, `* LIST (\HasNoChildren) "/" Shared/support`, "OK List completed.")
	b.ok("SUBSCRIBE Shared/support")
	b.expect(`LSUB "" "*"`, `* LSUB () "." INBOX`, `* LSUB () "." Drafts`, `* LSUB () "." Junk`, `* LSUB () "." Sent`,
		`* LSUB () "." Trash`, `* LSUB () "/" Shared/support`, "OK Lsub completed.")

	b.ok("SELECT Shared/support")
	b.send("i IDLE")
	if l := b.line(); !strings.HasPrefix(l, "+ ") {
		t.Fatalf("IDLE: %q", l)
	}
	a.appendMsg("Shared/support", "()", testMessage(1))
	b.conn.SetDeadline(time.Now().Add(10 * time.Second))
	if l := b.line(); l != "* 1 EXISTS" {
		t.Fatalf("IDLE got %q", l)
	}
	b.send("DONE")
	b.until("i")
	// Another domain's users see nothing of it.
	if err := h.dir.AddDomain(ctx, directory.Domain{Name: "other.test", Active: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.dir.AddMailbox(ctx, directory.Mailbox{Username: "carol@other.test", PasswordHash: testutil.SecretHash(t), Active: true}); err != nil {
		t.Fatal(err)
	}
	c := h.login(t, "carol@other.test")
	c.expect(`LIST "" "Shared*"`, "OK List completed.")
	c.expect("SELECT Shared/support", "NO [NONEXISTENT] Mailbox doesn't exist.")
}
