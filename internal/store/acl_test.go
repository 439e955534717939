package store

import (
	"context"
	"reflect"
	"testing"

	"mailwarden/internal/acl"
)

func TestACL(t *testing.T) {
	ctx := context.Background()
	s, a := newAccount(t)
	other := Account{Username: "v@y.test", Maildir: "y.test/v/"}
	same := Account{Username: "w@x.test", Maildir: "x.test/w/"}
	for _, u := range []Account{other, same} {
		if err := s.EnsureMailbox(ctx, u.Username, u.Maildir); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.CreateFolder(ctx, a, "Projects", ""); err != nil {
		t.Fatal(err)
	}
	lr, _ := acl.Parse("lr")
	if got, err := s.SetACL(ctx, a, "Projects", "v@y.test", acl.Replace, lr); err != nil || got != lr {
		t.Fatalf("SetACL = %v, %v", got, err)
	}
	if got, err := s.SetACL(ctx, a, "Projects", "v@y.test", acl.Add, acl.Insert); err != nil || got != lr|acl.Insert {
		t.Fatalf("SetACL +i = %v, %v", got, err)
	}
	if _, err := s.SetACL(ctx, a, "Projects", "anyone", acl.Replace, acl.Lookup); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetACL(ctx, a, "Nope", "anyone", acl.Replace, acl.Lookup); !errorsIs(err, ErrNoFolder) {
		t.Fatalf("SetACL on a missing folder: %v", err)
	}
	want := []acl.Entry{{Identifier: "anyone", Rights: acl.Lookup}, {Identifier: "v@y.test", Rights: lr | acl.Insert}}
	if got, err := s.ACL(ctx, a, "Projects"); err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("ACL = %v, %v; want %v", got, err, want)
	}

	// A subfolder inherits its parent's entries; RENAME keeps them.
	if err := s.CreateFolder(ctx, a, "Projects.2024", ""); err != nil {
		t.Fatal(err)
	}
	if err := s.RenameFolder(ctx, a, "Projects", "Work"); err != nil {
		t.Fatal(err)
	}
	if got, err := s.ACL(ctx, a, "Work.2024"); err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("ACL of the renamed child = %v, %v; want %v", got, err, want)
	}

	// v (another domain) is named; w (same domain) gets anyone's rights.
	for _, tc := range []struct {
		user string
		want []string
	}{
		{"v@y.test", []string{"Work", "Work.2024"}},
		{"w@x.test", []string{"Work", "Work.2024"}},
		{"z@z.test", nil},
		{"u@x.test", nil}, // the owner's own folders are not "shared with" it
	} {
		fs, err := s.SharedWith(ctx, tc.user)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, f := range fs {
			if f.Owner != a.Username {
				t.Errorf("%s: owner %s", tc.user, f.Owner)
			}
			names = append(names, f.Folder)
		}
		if !reflect.DeepEqual(names, tc.want) {
			t.Errorf("SharedWith(%s) = %v, want %v", tc.user, names, tc.want)
		}
	}

	// Removing every right removes the entry.
	if got, err := s.SetACL(ctx, a, "Work", "v@y.test", acl.Remove, acl.All); err != nil || got != 0 {
		t.Fatalf("SetACL -all = %v, %v", got, err)
	}
	if err := s.DeleteACL(ctx, a, "Work", "anyone"); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.ACL(ctx, a, "Work"); len(got) != 0 {
		t.Fatalf("entries left: %v", got)
	}
	// DELETE takes the folder's entries; a new folder of that name has none.
	if err := s.DeleteFolder(ctx, a, "Work.2024"); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateFolder(ctx, a, "Work.2024", ""); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.ACL(ctx, a, "Work.2024"); len(got) != 0 {
		t.Fatalf("entries of a new folder: %v", got)
	}
	var n int
	if err := s.db.Read.QueryRow(`SELECT COUNT(*) FROM mail_acl`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("rows left in mail_acl: %d, %v", n, err)
	}
}

func TestSharedAccount(t *testing.T) {
	ctx := context.Background()
	s, a := newAccount(t)
	sh := SharedAccount("X.test")
	if sh.Username != "@x.test" || sh.Maildir != ".shared/x.test/" {
		t.Fatalf("SharedAccount = %+v", sh)
	}
	if d, ok := SharedDomain(sh.Username); !ok || d != "x.test" {
		t.Fatalf("SharedDomain = %q, %v", d, ok)
	}
	if _, ok := SharedDomain(a.Username); ok {
		t.Fatal("a user is a shared owner")
	}
	if err := s.CreateFolder(ctx, sh, "support", ""); err != nil {
		t.Fatal(err)
	}
	fs, err := s.ListFolders(ctx, sh)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range fs {
		names = append(names, f.Name)
	}
	if !reflect.DeepEqual(names, []string{"INBOX", "support"}) {
		t.Fatalf("folders of the shared owner: %v", names)
	}
	mustAppend(t, s, sh, "support", nil, "Subject: hi\r\n\r\nbody\r\n")
	accts, err := s.SharedAccounts(ctx)
	if err != nil || !reflect.DeepEqual(accts, []Account{sh}) {
		t.Fatalf("SharedAccounts = %v, %v", accts, err)
	}
	// Shared mailboxes are not "shared with" anyone through SharedWith.
	if _, err := s.SetACL(ctx, sh, "support", "anyone", acl.Replace, acl.Lookup); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.SharedWith(ctx, a.Username); len(got) != 0 {
		t.Fatalf("SharedWith lists shared mailboxes: %v", got)
	}
}

func TestDeleteMailboxDropsACL(t *testing.T) {
	ctx := context.Background()
	s, a := newAccount(t)
	b := Account{Username: "b@x.test", Maildir: "x.test/b/"}
	if err := s.EnsureMailbox(ctx, b.Username, b.Maildir); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetACL(ctx, a, "INBOX", b.Username, acl.Replace, acl.Lookup|acl.Read); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetACL(ctx, b, "INBOX", a.Username, acl.Replace, acl.Lookup); err != nil {
		t.Fatal(err)
	}
	// b's own \Seen of a's message goes with b.
	uid := mustAppend(t, s, a, "INBOX", nil, "Subject: x\r\n\r\nx\r\n")
	viewer := a
	viewer.Viewer = b.Username
	if _, _, err := s.StoreFlags(ctx, viewer, "INBOX", []int64{uid}, FlagsAdd, []string{`\Seen`}, 0); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteMailbox(ctx, b.Username, b.Maildir, true); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := s.db.Read.QueryRow(`SELECT COUNT(*) FROM mail_acl`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("rows left in mail_acl: %d, %v", n, err)
	}
	if err := s.db.Read.QueryRow(`SELECT COUNT(*) FROM mail_pvt_seen`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("rows left in mail_pvt_seen: %d, %v", n, err)
	}
}

func TestTransferBetweenMailboxes(t *testing.T) {
	ctx := context.Background()
	s, a := newAccount(t)
	b := SharedAccount("x.test")
	if err := s.CreateFolder(ctx, b, "support", ""); err != nil {
		t.Fatal(err)
	}
	u1 := mustAppend(t, s, a, "INBOX", []string{`\Seen`}, "Subject: one\r\n\r\n1\r\n")
	u2 := mustAppend(t, s, a, "INBOX", nil, "Subject: two\r\n\r\n2\r\n")
	if _, _, _, err := s.CopyTo(ctx, a, "INBOX", b, "support", []int64{u1}, 0, nil); err != nil {
		t.Fatal(err)
	}
	// The destination's quota counts: 10 bytes do not hold the message.
	if _, _, _, err := s.MoveTo(ctx, a, "INBOX", b, "support", []int64{u2}, 10, nil); !errorsIs(err, ErrOverQuota) {
		t.Fatalf("MoveTo over quota: %v", err)
	}
	// Without the right to keep \Flagged there, the moved copy loses it.
	noFlagged := func(f string) bool { return f != `\Flagged` }
	if _, _, err := s.StoreFlags(ctx, a, "INBOX", []int64{u2}, FlagsAdd, []string{`\Flagged`, `\Answered`}, 0); err != nil {
		t.Fatal(err)
	}
	_, src, dst, err := s.MoveTo(ctx, a, "INBOX", b, "support", []int64{u2}, 0, noFlagged)
	if err != nil || !equalInts(src, []int64{u2}) || !equalInts(dst, []int64{2}) {
		t.Fatalf("MoveTo = %v %v %v", src, dst, err)
	}
	msgs, _ := mustMessages(t, s, b, "support")
	if len(msgs) != 2 || !hasFlag(msgs[0].Flags, `\Seen`) || !sameFlags(msgs[1].Flags, []string{`\Answered`}) {
		t.Fatalf("shared folder holds %+v", msgs)
	}
	checkFilesMatchIndex(t, s, b, "support")
	checkFilesMatchIndex(t, s, a, "INBOX")
	ab, an, _ := s.Usage(ctx, a.Username)
	bb, bn, _ := s.Usage(ctx, b.Username)
	if an != 1 || bn != 2 || ab <= 0 || bb <= ab {
		t.Fatalf("usage: a %d/%d, b %d/%d", ab, an, bb, bn)
	}
}
