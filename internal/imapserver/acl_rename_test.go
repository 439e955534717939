package imapserver

import (
	"strings"
	"testing"
	"time"
)

// TestACLRenameDelete: the rules of RFC 4314 4 on RENAME and DELETE of
// shared folders. The ACL belongs to the folder: it follows RENAME (by
// the owner or by a user with "x" on it and "k" on the new parent),
// with the subfolders' own; DELETE takes it, and a folder made again
// under the name starts from its parent's (CREATE inherits), not from
// the deleted one's. A user with the folder selected learns of the
// owner's DELETE.
func TestACLRenameDelete(t *testing.T) {
	h := start(t, nil)
	h.addUser(t, "carol@example.org")
	a := h.login(t, "alice@example.org")
	b := h.login(t, "bob@example.org")
	c := h.login(t, "carol@example.org")
	a.ok("CREATE Work")
	a.ok("CREATE Work.Sub")
	a.ok("SETACL Work bob@example.org lrkx")
	a.ok("SETACL Work.Sub bob@example.org lrx")
	a.ok("SETACL Work.Sub carol@example.org lr")
	const other = `"Other Users/alice@example.org/`

	// The owner renames: the shares follow, under the new name.
	a.ok("RENAME Work Projects")
	b.expect("MYRIGHTS "+other+`Work"`, "NO [NONEXISTENT] Mailbox doesn't exist.")
	b.expect("MYRIGHTS "+other+`Projects"`, `* MYRIGHTS `+other+`Projects" lrkxc`, "OK Myrights completed.")
	b.expect("MYRIGHTS "+other+`Projects/Sub"`, `* MYRIGHTS `+other+`Projects/Sub" lrxc`, "OK Myrights completed.")
	b.expect(`LIST "" "Other Users/*"`,
		`* LIST (\Noselect \HasChildren) "/" "Other Users/alice@example.org"`,
		`* LIST (\HasChildren) "/" `+other+`Projects"`,
		`* LIST (\HasNoChildren) "/" `+other+`Projects/Sub"`, "OK List completed.")

	// bob renames Sub ("x" on it, "k" on Projects): its ACL stays.
	b.ok("RENAME " + other + `Projects/Sub" ` + other + `Projects/Sub2"`)
	a.expect("GETACL Projects.Sub2", "* ACL Projects.Sub2 alice@example.org lrwstipekxacd bob@example.org lrxc carol@example.org lr", "OK Getacl completed.")
	// Without "k" on the new parent (alice's top level) he cannot.
	b.expect("RENAME "+other+`Projects/Sub2" `+other+`Top"`, "NO [NOPERM] Permission denied.")
	// carol, without "x", renames and deletes nothing.
	c.expect("RENAME "+other+`Projects/Sub2" `+other+`Projects/Sub3"`, "NO [NOPERM] Permission denied.")
	c.expect("DELETE "+other+`Projects/Sub2"`, "NO [NOPERM] Permission denied.")

	// carol has Sub2 selected when alice deletes it.
	c.ok("SELECT " + other + `Projects/Sub2"`)
	a.ok("DELETE Projects.Sub2")
	c.conn.SetDeadline(time.Now().Add(10 * time.Second))
	u, tagged := c.cmd("NOOP")
	if !strings.Contains(strings.Join(u, "\n"), "* BYE ") {
		t.Fatalf("carol after the DELETE: %q %q", u, tagged)
	}
	// Made again, it has its parent's ACL, not the deleted one's.
	a.ok("CREATE Projects.Sub2")
	a.expect("GETACL Projects.Sub2", "* ACL Projects.Sub2 alice@example.org lrwstipekxacd bob@example.org lrkxc", "OK Getacl completed.")
	// bob deletes it with "x" (inherited), and its ACL goes with it.
	b.ok("DELETE " + other + `Projects/Sub2"`)
	a.expect("GETACL Projects.Sub2", "NO [NONEXISTENT] Mailbox doesn't exist.")
	// The owner's DELETE of Projects: bob loses it.
	a.ok("DELETE Projects")
	b.expect(`LIST "" "Other Users/*"`, "OK List completed.")
	a.ok("CREATE Projects")
	a.expect("GETACL Projects", "* ACL Projects alice@example.org lrwstipekxacd", "OK Getacl completed.")
}
