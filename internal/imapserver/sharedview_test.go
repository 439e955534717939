package imapserver

import (
	"context"
	"io"
	"slices"
	"strings"
	"testing"

	"mailwarden/internal/imapwire"
	"mailwarden/internal/store"
)

// TestSharedViewCopyOnWrite: two mailboxes sharing a snapshot; changing
// one (a flag, a new message, an expunge) leaves the other and the
// snapshot as they were, and the changed one shares again once it is at a
// state published by the other.
func TestSharedViewCopyOnWrite(t *testing.T) {
	msgs := []store.Msg{
		{UID: 1, ModSeq: 5, Flags: []string{`\Seen`}},
		{UID: 2, ModSeq: 6, Flags: []string{}},
		{UID: 4, ModSeq: 7, Flags: []string{`\Seen`}},
	}
	info := store.FolderInfo{UIDValidity: 9, UIDNext: 5, HighestModSeq: 7}
	st := &store.Store{} // a key only
	open := func() *mailbox {
		m := newMailbox("INBOX", false, msgs, info)
		m.at.owner.Username = "cow@example.org"
		m.share(st)
		return m
	}
	a, b := open(), open()
	if a.base == nil || a.base != b.base || &a.uids[0] != &b.uids[0] {
		t.Fatalf("two mailboxes at one state do not share: %p %p", a.base, b.base)
	}
	snap := a.base
	a.setMsg(store.Msg{UID: 2, ModSeq: 8, Flags: []string{`\Flagged`}})
	a.add(store.Msg{UID: 7, ModSeq: 9, Flags: []string{}})
	if a.base != nil || b.base != snap {
		t.Fatal("a change did not give the changed mailbox its own arrays")
	}
	if got := b.flagsAt(1); len(got) != 0 || b.count() != 3 || b.modseqs[1] != 6 || len(snap.uids) != 3 {
		t.Fatalf("the other mailbox changed: flags %q, %d messages", got, b.count())
	}
	if got := a.flagsAt(1); !slices.Equal(got, []string{`\Flagged`}) || a.count() != 4 {
		t.Fatalf("changed mailbox: flags %q, %d messages", got, a.count())
	}
	// b expunges UID 1 itself: its own copy, a untouched.
	b.gone[1] = true
	s := &session{sel: b, w: imapwire.NewWriter(io.Discard)}
	s.sendExpunges()
	if b.base != nil || b.count() != 2 || a.count() != 4 || a.uid(0) != 1 || len(snap.uids) != 3 || snap.uids[0] != 1 {
		t.Fatalf("expunge in b: b %v, a %v, snapshot %v", b.uids, a.uids, snap.uids)
	}
	// a reaches modseq 9 and publishes; c at the same state takes it.
	a.modseq, a.info.UIDNext = 9, 8
	a.share(st)
	c := newMailbox("INBOX", false, []store.Msg{
		{UID: 1, ModSeq: 5, Flags: []string{`\Seen`}},
		{UID: 2, ModSeq: 8, Flags: []string{`\Flagged`}},
		{UID: 4, ModSeq: 7, Flags: []string{`\Seen`}},
		{UID: 7, ModSeq: 9, Flags: []string{}},
	}, store.FolderInfo{UIDValidity: 9, UIDNext: 8, HighestModSeq: 9})
	c.at.owner.Username = "cow@example.org"
	c.share(st)
	if a.base == nil || c.base != a.base {
		t.Fatalf("mailboxes at modseq 9 do not share: %p %p", a.base, c.base)
	}
	if got := views.get(a.viewKey(st)); got != a.base {
		t.Fatalf("registry holds %p, want the modseq 9 snapshot %p", got, a.base)
	}
}

// TestSharedViewSessions: sessions on one INBOX share its snapshot and
// still learn every change another makes, as if each had its own view:
// a flag change, an expunge and a new message are announced to the
// others at their next command, never silently applied.
func TestSharedViewSessions(t *testing.T) {
	h := start(t, nil)
	for i := range 5 {
		h.deliver(t, "alice@example.org", "INBOX", testMessage(i))
	}
	a := h.login(t, "alice@example.org")
	b := h.login(t, "alice@example.org")
	a.ok("SELECT INBOX")
	b.ok("SELECT INBOX")
	key := viewKey{st: h.store, owner: h.account("alice@example.org"), folder: "INBOX"}
	fi, err := h.store.Folder(context.Background(), h.account("alice@example.org"), "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	key.uidValidity = fi.UIDValidity
	if sv := views.get(key); sv == nil || sv.modseq != fi.HighestModSeq || len(sv.uids) != 5 {
		t.Fatalf("no shared snapshot at modseq %d after two SELECTs: %+v", fi.HighestModSeq, sv)
	}
	a.ok(`STORE 2 +FLAGS.SILENT (\Flagged)`)
	if u := b.ok("NOOP"); !slices.ContainsFunc(u, func(l string) bool {
		return strings.HasPrefix(l, "* 2 FETCH (") && strings.Contains(l, `FLAGS (\Flagged`)
	}) {
		t.Fatalf("b was not told of a's flag change: %q", u)
	}
	a.ok(`STORE 1 +FLAGS.SILENT (\Deleted)`)
	a.ok("EXPUNGE")
	a.appendMsg("INBOX", "()", testMessage(9))
	u := b.ok("NOOP")
	if !containsLine(u, "* 1 EXPUNGE") || !containsLine(u, "* 5 EXISTS") {
		t.Fatalf("b was not told of the expunge and the new message: %q", u)
	}
	// A third session selects at the new state, from the snapshot the
	// others left and the changes after it, and sees what they see.
	c := h.login(t, "alice@example.org")
	if u := c.ok("SELECT INBOX"); !containsLine(u, "* 5 EXISTS") {
		t.Fatalf("c's SELECT: %q", u)
	}
	for _, cl := range []*client{a, b, c} {
		u := cl.ok("FETCH 1:* (UID FLAGS)")
		var got []string
		for _, l := range u {
			got = append(got, strings.ReplaceAll(strings.ReplaceAll(l, ` \Recent`, ``), `\Recent`, ``))
		}
		want := []string{
			`* 1 FETCH (UID 2 FLAGS (\Flagged))`, `* 2 FETCH (UID 3 FLAGS ())`, `* 3 FETCH (UID 4 FLAGS ())`,
			`* 4 FETCH (UID 5 FLAGS ())`, `* 5 FETCH (UID 6 FLAGS ())`,
		}
		if !slices.Equal(got, want) {
			t.Fatalf("FETCH 1:* (UID FLAGS):\ngot  %q\nwant %q", got, want)
		}
	}
	fi, _ = h.store.Folder(context.Background(), h.account("alice@example.org"), "INBOX")
	if sv := views.get(key); sv == nil || sv.modseq != fi.HighestModSeq || len(sv.uids) != 5 {
		t.Fatalf("no shared snapshot at the final modseq %d: %+v", fi.HighestModSeq, sv)
	}
}

func containsLine(lines []string, want string) bool {
	return slices.Contains(lines, want)
}
