package store

import (
	"context"
	"testing"
)

// seenOf returns, by UID, whether the messages of a folder are \Seen as
// a's viewer (or owner) reads them.
func seenOf(t *testing.T, s *Store, a Account, folder string) map[int64]bool {
	t.Helper()
	msgs, _, err := s.View(context.Background(), a, folder)
	if err != nil {
		t.Fatal(err)
	}
	out := map[int64]bool{}
	for _, m := range msgs {
		out[m.UID] = hasFlag(m.Flags, `\Seen`)
	}
	return out
}

// TestPrivateSeen: on a folder read by two users who do not own it,
// each has its own \Seen; the owner's is untouched; other flags are
// shared; every private change gets a MODSEQ the viewer sees (and only
// it) in Changes.
func TestPrivateSeen(t *testing.T) {
	ctx := context.Background()
	s, owner := newAccount(t)
	bob := owner
	bob.Viewer = "bob@x.test"
	carol := owner
	carol.Viewer = "carol@x.test"
	u1 := mustAppend(t, s, owner, "INBOX", []string{`\Seen`}, "Subject: one\r\n\r\n1\r\n")
	u2 := mustAppend(t, s, owner, "INBOX", nil, "Subject: two\r\n\r\n2\r\n")

	// The owner's \Seen is not the viewers'.
	if got := seenOf(t, s, bob, "INBOX"); got[u1] || got[u2] {
		t.Fatalf("bob sees %v", got)
	}
	fi, err := s.Folder(ctx, bob, "INBOX")
	if err != nil || fi.Unseen != 2 {
		t.Fatalf("bob's STATUS UNSEEN = %d, %v", fi.Unseen, err)
	}
	_, _, before, err := s.Changes(ctx, carol, "INBOX", 0)
	if err != nil {
		t.Fatal(err)
	}

	// bob reads u2 and flags it: \Seen is his, \Flagged everyone's.
	upd, _, err := s.StoreFlags(ctx, bob, "INBOX", []int64{u2}, FlagsAdd, []string{`\Seen`, `\Flagged`}, 0)
	if err != nil || len(upd) != 1 || !sameFlags(upd[0].Flags, []string{`\Flagged`, `\Seen`}) {
		t.Fatalf("bob's STORE = %+v, %v", upd, err)
	}
	bobMod := upd[0].ModSeq
	if got := seenOf(t, s, bob, "INBOX"); got[u1] || !got[u2] {
		t.Fatalf("bob sees %v", got)
	}
	if got := seenOf(t, s, carol, "INBOX"); got[u1] || got[u2] {
		t.Fatalf("carol sees %v", got)
	}
	if got := seenOf(t, s, owner, "INBOX"); !got[u1] || got[u2] {
		t.Fatalf("the owner sees %v", got)
	}
	msgs, _ := mustMessages(t, s, owner, "INBOX")
	if !sameFlags(msgs[1].Flags, []string{`\Flagged`}) {
		t.Fatalf("owner's flags of u2: %q", msgs[1].Flags)
	}
	checkFilesMatchIndex(t, s, owner, "INBOX")

	// A \Seen-only change: bob learns of it in Changes, carol does not.
	upd, _, err = s.StoreFlags(ctx, bob, "INBOX", []int64{u1}, FlagsAdd, []string{`\Seen`}, 0)
	if err != nil || len(upd) != 1 || upd[0].ModSeq <= bobMod {
		t.Fatalf("bob's second STORE = %+v, %v", upd, err)
	}
	ch, _, info, err := s.Changes(ctx, bob, "INBOX", bobMod)
	if err != nil || len(ch) != 1 || ch[0].UID != u1 || ch[0].ModSeq != upd[0].ModSeq || !hasFlag(ch[0].Flags, `\Seen`) {
		t.Fatalf("bob's Changes = %+v, %v", ch, err)
	}
	if info.Unseen != 0 || info.HighestModSeq < upd[0].ModSeq {
		t.Fatalf("bob's folder state: %+v", info)
	}
	ch, _, info, err = s.Changes(ctx, carol, "INBOX", bobMod)
	if err != nil || len(ch) != 0 || info.Unseen != 2 {
		t.Fatalf("carol's Changes = %+v, %+v, %v", ch, info, err)
	}
	// carol does see the shared \Flagged with its MODSEQ.
	ch, _, _, _ = s.Changes(ctx, carol, "INBOX", before.HighestModSeq)
	if len(ch) != 1 || ch[0].UID != u2 || !sameFlags(ch[0].Flags, []string{`\Flagged`}) {
		t.Fatalf("carol's Changes since the start: %+v", ch)
	}

	// UNCHANGEDSINCE compares with the viewer's MODSEQ.
	_, failed, err := s.StoreFlags(ctx, bob, "INBOX", []int64{u1, u2}, FlagsRemove, []string{`\Seen`}, bobMod)
	if err != nil || !equalInts(failed, []int64{u1}) {
		t.Fatalf("UNCHANGEDSINCE: failed %v, %v", failed, err)
	}
	if got := seenOf(t, s, bob, "INBOX"); !got[u1] || got[u2] {
		t.Fatalf("bob sees %v after -FLAGS", got)
	}
	// The owner clears its \Seen; bob's stays.
	if _, _, err := s.StoreFlags(ctx, owner, "INBOX", []int64{u1}, FlagsRemove, []string{`\Seen`}, 0); err != nil {
		t.Fatal(err)
	}
	if got := seenOf(t, s, bob, "INBOX"); !got[u1] {
		t.Fatalf("bob lost his \\Seen: %v", got)
	}

	// APPEND and COPY by a viewer: \Seen is the viewer's.
	u3 := mustAppend(t, s, bob, "INBOX", []string{`\Seen`, `\Answered`}, "Subject: three\r\n\r\n3\r\n")
	if got := seenOf(t, s, bob, "INBOX"); !got[u3] {
		t.Fatalf("bob's append is not seen: %v", got)
	}
	if got := seenOf(t, s, owner, "INBOX"); got[u3] {
		t.Fatalf("the owner sees bob's append as seen")
	}
	if err := s.CreateFolder(ctx, owner, "Team", ""); err != nil {
		t.Fatal(err)
	}
	_, _, dst, err := s.CopyTo(ctx, bob, "INBOX", bob, "Team", []int64{u1, u2}, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := seenOf(t, s, bob, "Team"); !got[dst[0]] || got[dst[1]] {
		t.Fatalf("bob's copies: %v", got)
	}
	if got := seenOf(t, s, owner, "Team"); got[dst[0]] || got[dst[1]] {
		t.Fatalf("the owner's copies: %v", got)
	}
	lf, err := s.ListFolders(ctx, bob)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range lf {
		if f.Name == "Team" && f.Unseen != 1 || f.Name == "INBOX" && f.Unseen != 1 {
			t.Errorf("bob's LIST-STATUS of %s: unseen %d", f.Name, f.Unseen)
		}
	}

	// Expunge and folder DELETE take the rows with their messages; the
	// INBOX rename moves them along.
	if _, err := s.Expunge(ctx, owner, "Team", []int64{dst[0]}); err != nil {
		t.Fatal(err)
	}
	if err := s.RenameFolder(ctx, owner, "INBOX", "Old"); err != nil {
		t.Fatal(err)
	}
	if got := seenOf(t, s, bob, "Old"); !got[u1] || !got[u3] || got[u2] {
		t.Fatalf("bob after the INBOX rename: %v", got)
	}
	if err := s.DeleteFolder(ctx, owner, "Team"); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := s.db.Read.QueryRow(`SELECT COUNT(*) FROM mail_pvt_seen`).Scan(&n); err != nil || n != 3 {
		t.Fatalf("rows left: %d, %v", n, err)
	}
}
