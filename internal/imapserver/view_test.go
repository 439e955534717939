package imapserver

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"mailwarden/internal/store"
)

func TestFlagInterner(t *testing.T) {
	saved := flagSets
	t.Cleanup(func() { flagSets = saved })
	flagSets = newFlagInterner(2)
	seen, none := []string{`\Seen`}, []string{}
	h1, ok1 := flagSets.intern(seen)
	h2, ok2 := flagSets.intern(slices.Clone(seen))
	h3, ok3 := flagSets.intern(none)
	if !ok1 || !ok2 || !ok3 || h1 != h2 || h1 == h3 {
		t.Fatalf("handles %d %d %d (%v %v %v)", h1, h2, h3, ok1, ok2, ok3)
	}
	if _, ok := flagSets.intern([]string{`$Junk`}); ok {
		t.Fatal("a full table took a new list")
	}
	// A full table leaves new lists to the mailbox.
	m := newMailbox("INBOX", false, []store.Msg{
		{UID: 1, ModSeq: 5, Flags: seen},
		{UID: 3, ModSeq: 6, Flags: []string{`$Junk`, `\Seen`}},
		{UID: 7, ModSeq: 7, Flags: []string{`$Junk`, `\Seen`}},
		{UID: 9, ModSeq: 8, Flags: none},
	}, store.FolderInfo{})
	if m.flags[1]&localSet == 0 || m.flags[1] != m.flags[2] || len(m.local) != 1 || m.flags[0] != h1 {
		t.Fatalf("handles %v, local %q", m.flags, m.local)
	}
	for i, want := range []string{`\Seen`, `$Junk \Seen`, `$Junk \Seen`, ``} {
		if got := strings.Join(m.flagsAt(i), " "); got != want {
			t.Fatalf("flags of %d: %q, want %q", i, got, want)
		}
	}
	if !slices.Equal(m.keywords, []string{`$Junk`}) {
		t.Fatalf("keywords %q", m.keywords)
	}
	for uid, want := range map[int64]int{0: -1, 1: 0, 2: -1, 3: 1, 7: 2, 9: 3, 10: -1, 1 << 33: -1} {
		if got := m.index(uid); got != want {
			t.Fatalf("index(%d) = %d, want %d", uid, got, want)
		}
	}
}

// TestFetchFlagsFromView: FETCH of UID, FLAGS and MODSEQ is answered from
// the session's view, with no file and no store query; a size needs the
// store.
func TestFetchFlagsFromView(t *testing.T) {
	h := start(t, nil)
	c := h.login(t, "alice@example.org")
	c.appendMsg("INBOX", `(\Seen)`, testMessage(1))
	c.appendMsg("INBOX", `(\Seen $Work)`, testMessage(2))
	c.appendMsg("INBOX", `()`, testMessage(3))
	c.ok("ENABLE CONDSTORE")
	c.ok("SELECT INBOX")
	before := c.ok("UID FETCH 1:* (MODSEQ)")
	root := h.store.MailboxPath(h.account("alice@example.org").Maildir)
	for _, d := range []string{"cur", "new"} {
		if err := os.RemoveAll(filepath.Join(root, d)); err != nil {
			t.Fatal(err)
		}
	}
	if err := h.db.Read.Close(); err != nil {
		t.Fatal(err)
	}
	c.expect("FETCH 1:* (UID FLAGS)", `* 1 FETCH (UID 1 FLAGS (\Seen \Recent))`, `* 2 FETCH (UID 2 FLAGS ($Work \Seen \Recent))`,
		`* 3 FETCH (UID 3 FLAGS (\Recent))`, "OK Fetch completed.")
	if got := c.ok("UID FETCH 1:* (MODSEQ)"); len(got) != 3 || !slices.Equal(got, before) {
		t.Fatalf("UID FETCH MODSEQ: %q, before %q", got, before)
	}
	c.ok("SEARCH UNSEEN KEYWORD $Work UID 1:*")
	if _, tagged := c.cmd("FETCH 1 RFC822.SIZE"); strings.HasPrefix(tagged, "OK") {
		t.Fatalf("FETCH RFC822.SIZE with the store closed: %s", tagged)
	}
}
