package store

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

func folderNamesOf(t *testing.T, s *Store, a Account) []string {
	t.Helper()
	fs, err := s.ListFolders(context.Background(), a)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range fs {
		out = append(out, f.Name)
	}
	return out
}

func TestCreateAndListFolders(t *testing.T) {
	ctx := context.Background()
	s, a := newAccount(t)
	root := s.MailboxPath(a.Maildir)
	if err := s.CreateFolder(ctx, a, "Work.2024", `\archive`); err != nil {
		t.Fatal(err)
	}
	for _, sub := range []string{"cur", "new", "tmp", "maildirfolder"} {
		if _, err := os.Stat(filepath.Join(root, ".Work.2024", sub)); err != nil {
			t.Errorf("missing .Work.2024/%s: %v", sub, err)
		}
	}
	errTests := []struct {
		name, use string
		err       error
	}{
		{"work.2024", "", nil}, // names other than INBOX are case-sensitive
		{"Work.2024", "", ErrFolderExists},
		{"inbox", "", ErrFolderExists},
		{"a..b", "", ErrBadName},
		{"Other", `\Important`, ErrBadSpecialUse},
	}
	for _, tt := range errTests {
		if err := s.CreateFolder(ctx, a, tt.name, tt.use); !errors.Is(err, tt.err) || (tt.err == nil && err != nil) {
			t.Errorf("CreateFolder(%q, %q) = %v, want %v", tt.name, tt.use, err, tt.err)
		}
	}
	mustAppend(t, s, a, "Work.2024", []string{`\Seen`}, "a\r\n")
	mustAppend(t, s, a, "Work.2024", []string{`\Deleted`}, "bb\r\n")
	want := []string{"INBOX", "Drafts", "Junk", "Sent", "Trash", "Work.2024", "work.2024"}
	if got := folderNamesOf(t, s, a); !reflect.DeepEqual(got, want) {
		t.Fatalf("folders = %q, want %q", got, want)
	}
	fi, err := s.Folder(ctx, a, "Work.2024")
	if err != nil {
		t.Fatal(err)
	}
	if fi.SpecialUse != `\Archive` || fi.Subscribed || fi.Messages != 2 || fi.Unseen != 1 || fi.Deleted != 1 ||
		fi.Size != 7 || fi.UIDNext != 3 || fi.HighestModSeq < 3 || fi.UIDValidity == 0 {
		t.Fatalf("folder info = %+v", fi)
	}
	if _, err := s.Folder(ctx, a, "Nope"); !errors.Is(err, ErrNoFolder) {
		t.Fatalf("Folder(Nope) = %v", err)
	}
	if err := s.SetSubscribed(ctx, a, "Work.2024", true); err != nil {
		t.Fatal(err)
	}
	if fi, _ := s.Folder(ctx, a, "Work.2024"); !fi.Subscribed {
		t.Fatal("not subscribed")
	}
	if err := s.SetSubscribed(ctx, a, "Nope", true); !errors.Is(err, ErrNoFolder) {
		t.Fatalf("SetSubscribed(Nope) = %v", err)
	}
}

func TestDeleteFolder(t *testing.T) {
	ctx := context.Background()
	s, a := newAccount(t)
	root := s.MailboxPath(a.Maildir)
	for _, n := range []string{"A", "A.b", "C"} {
		if err := s.CreateFolder(ctx, a, n, ""); err != nil {
			t.Fatal(err)
		}
	}
	mustAppend(t, s, a, "C", nil, "12345")
	mustAppend(t, s, a, "INBOX", nil, "1")
	c, _ := s.Folder(ctx, a, "C")
	tests := []struct {
		name string
		err  error
	}{
		{"INBOX", ErrCannotDelete},
		{"inbox", ErrCannotDelete},
		{"A", ErrHasChildren},
		{"Nope", ErrNoFolder},
		{"A.b", nil},
		{"A", nil},
		{"C", nil},
	}
	for _, tt := range tests {
		if err := s.DeleteFolder(ctx, a, tt.name); !errors.Is(err, tt.err) || (tt.err == nil && err != nil) {
			t.Errorf("DeleteFolder(%q) = %v, want %v", tt.name, err, tt.err)
		}
	}
	if _, err := os.Stat(filepath.Join(root, ".C")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf(".C still there: %v", err)
	}
	if ents, _ := os.ReadDir(filepath.Join(root, "tmp")); len(ents) != 0 {
		t.Errorf("tmp/ not cleaned: %v", ents)
	}
	if used, n, _ := s.Usage(ctx, a.Username); used != 1 || n != 1 {
		t.Errorf("usage after delete = %d bytes, %d messages", used, n)
	}
	// Created again, C must not get its old UIDVALIDITY (clients may cache it).
	if err := s.CreateFolder(ctx, a, "C", ""); err != nil {
		t.Fatal(err)
	}
	if c2, _ := s.Folder(ctx, a, "C"); c2.UIDValidity <= c.UIDValidity || c2.Messages != 0 {
		t.Fatalf("recreated C: %+v, old uidvalidity %d", c2, c.UIDValidity)
	}
}

func TestRenameFolderWithChildren(t *testing.T) {
	ctx := context.Background()
	s, a := newAccount(t)
	root := s.MailboxPath(a.Maildir)
	for _, n := range []string{"A", "A.x", "A.x.y", "AB", "Z"} {
		if err := s.CreateFolder(ctx, a, n, ""); err != nil {
			t.Fatal(err)
		}
	}
	uid := mustAppend(t, s, a, "A.x", []string{`\Seen`}, "hello\r\n")
	before, _ := s.Folder(ctx, a, "A.x")
	errTests := []struct {
		from, to string
		err      error
	}{
		{"A", "Z", ErrFolderExists},
		{"A", "INBOX", ErrFolderExists},
		{"A", "A.x.new", ErrBadName},
		{"Nope", "Q", ErrNoFolder},
	}
	for _, tt := range errTests {
		if err := s.RenameFolder(ctx, a, tt.from, tt.to); !errors.Is(err, tt.err) {
			t.Errorf("RenameFolder(%q, %q) = %v, want %v", tt.from, tt.to, err, tt.err)
		}
	}
	if err := s.RenameFolder(ctx, a, "A", "B.c"); err != nil {
		t.Fatal(err)
	}
	want := []string{"INBOX", "AB", "B.c", "B.c.x", "B.c.x.y", "Drafts", "Junk", "Sent", "Trash", "Z"}
	if got := folderNamesOf(t, s, a); !reflect.DeepEqual(got, want) {
		t.Fatalf("folders = %q, want %q", got, want)
	}
	for _, d := range []string{".B.c", ".B.c.x", ".B.c.x.y", ".AB"} {
		if _, err := os.Stat(filepath.Join(root, d, "cur")); err != nil {
			t.Errorf("%s: %v", d, err)
		}
	}
	for _, d := range []string{".A", ".A.x", ".A.x.y"} {
		if _, err := os.Stat(filepath.Join(root, d)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s still there: %v", d, err)
		}
	}
	after, _ := s.Folder(ctx, a, "B.c.x")
	if after.UIDValidity != before.UIDValidity || after.Messages != 1 {
		t.Fatalf("renamed folder %+v, before %+v", after, before)
	}
	msgs, _ := mustMessages(t, s, a, "B.c.x")
	f, err := s.OpenMessage(a, "B.c.x", msgs[0])
	if err != nil || msgs[0].UID != uid {
		t.Fatalf("open after rename: %v (uid %d)", err, msgs[0].UID)
	}
	f.Close()
}

func TestRenameInbox(t *testing.T) {
	ctx := context.Background()
	s, a := newAccount(t)
	if err := s.CreateFolder(ctx, a, "INBOX.kid", ""); err != nil {
		t.Fatal(err)
	}
	u1 := mustAppend(t, s, a, "INBOX", nil, "one\r\n")
	u2 := mustAppend(t, s, a, "INBOX", []string{`\Seen`}, "two\r\n")
	before, _ := s.Folder(ctx, a, "INBOX")
	if err := s.RenameFolder(ctx, a, "inbox", "Old"); err != nil {
		t.Fatal(err)
	}
	inbox, err := s.Folder(ctx, a, "INBOX")
	if err != nil || inbox.Messages != 0 || inbox.UIDValidity != before.UIDValidity || inbox.UIDNext != before.UIDNext {
		t.Fatalf("INBOX after rename: %+v, %v (before %+v)", inbox, err, before)
	}
	if _, vanished, _, _ := s.Changes(ctx, a, "INBOX", before.HighestModSeq); !equalInts(vanished, []int64{u1, u2}) {
		t.Fatalf("INBOX vanished = %v", vanished)
	}
	msgs, old := mustMessages(t, s, a, "Old")
	if !equalInts(msgUIDs(msgs), []int64{u1, u2}) || old.UIDNext != before.UIDNext {
		t.Fatalf("Old: %v %+v", msgUIDs(msgs), old)
	}
	checkFilesMatchIndex(t, s, a, "Old")
	checkFilesMatchIndex(t, s, a, "INBOX")
	if names := folderNamesOf(t, s, a); !reflect.DeepEqual(names, []string{"INBOX", "Drafts", "INBOX.kid", "Junk", "Old", "Sent", "Trash"}) {
		t.Fatalf("folders = %q", names)
	}
	// New mail still arrives in INBOX, with UIDs above the moved ones.
	if u3 := mustAppend(t, s, a, "INBOX", nil, "three\r\n"); u3 <= u2 {
		t.Fatalf("new INBOX uid %d reuses", u3)
	}
}

func TestRecoverFinishesFolderRename(t *testing.T) {
	ctx := context.Background()
	s, a := newAccount(t)
	root := s.MailboxPath(a.Maildir)
	if err := s.CreateFolder(ctx, a, "P", ""); err != nil {
		t.Fatal(err)
	}
	mustAppend(t, s, a, "P", nil, "x\r\n")
	// A crash after the index commit but before the directory rename.
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE mail_folder SET name='Q' WHERE username=? AND name='P'`, a.Username); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO mail_folder_rename(username, src, dst) VALUES (?, '.P', '.Q')`, a.Username)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	st, err := s.Recover(ctx, []Account{a})
	if err != nil {
		t.Fatal(err)
	}
	if st.Added+st.Removed != 0 {
		t.Fatalf("recover changed messages: %+v", st)
	}
	if _, err := os.Stat(filepath.Join(root, ".Q", "cur")); err != nil {
		t.Fatal(err)
	}
	checkFilesMatchIndex(t, s, a, "Q")
}

// TestFolderExists: nil for a folder (any case of INBOX), ErrNoFolder for
// a missing or deleted one, ErrBadName for a name no folder can have.
func TestFolderExists(t *testing.T) {
	ctx := context.Background()
	s, a := newAccount(t)
	if err := s.CreateFolder(ctx, a, "Work", ""); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		want error
	}{
		{"INBOX", nil}, {"inbox", nil}, {"Work", nil},
		{"Play", ErrNoFolder}, {"Work.x", ErrNoFolder}, {"a..b", ErrBadName},
	}
	for _, tc := range tests {
		if err := s.FolderExists(ctx, a, tc.name); !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
			t.Errorf("FolderExists(%q) = %v, want %v", tc.name, err, tc.want)
		}
	}
	if err := s.DeleteFolder(ctx, a, "Work"); err != nil {
		t.Fatal(err)
	}
	if err := s.FolderExists(ctx, a, "Work"); !errors.Is(err, ErrNoFolder) {
		t.Errorf("FolderExists after DELETE = %v", err)
	}
}

// TestFolderState: the folder's row as Folder has it, without counts.
func TestFolderState(t *testing.T) {
	ctx := context.Background()
	s, a := newAccount(t)
	if _, _, err := s.Append(ctx, a, "INBOX", []string{`\Seen`}, time.Time{}, memBody("Subject: x\r\n\r\nbody\r\n"), 0); err != nil {
		t.Fatal(err)
	}
	full, err := s.Folder(ctx, a, "inbox")
	if err != nil {
		t.Fatal(err)
	}
	st, err := s.FolderState(ctx, a, "inbox")
	if err != nil {
		t.Fatal(err)
	}
	if st.Name != "INBOX" || st.UIDValidity != full.UIDValidity || st.UIDNext != full.UIDNext || st.UIDNext < 2 ||
		st.HighestModSeq != full.HighestModSeq || st.RecentUID != full.RecentUID || st.Subscribed != full.Subscribed || st.Messages != 0 {
		t.Errorf("FolderState = %+v, Folder = %+v", st, full)
	}
	if _, err := s.FolderState(ctx, a, "Nope"); !errors.Is(err, ErrNoFolder) {
		t.Errorf("FolderState of a missing folder: %v", err)
	}
}

// TestListFolderStates: the folders of ListFolders, in its order, with
// the same rows and no counts.
func TestListFolderStates(t *testing.T) {
	ctx := context.Background()
	s, a := newAccount(t)
	if err := s.CreateFolder(ctx, a, "Work", `\archive`); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Append(ctx, a, "Work", nil, time.Time{}, memBody("Subject: x\r\n\r\nbody\r\n"), 0); err != nil {
		t.Fatal(err)
	}
	full, err := s.ListFolders(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := s.ListFolderStates(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != len(full) || len(rows) < 2 {
		t.Fatalf("%d folders, ListFolders has %d", len(rows), len(full))
	}
	for i, f := range full {
		f.Messages, f.Unseen, f.Deleted, f.Size, f.Recent = 0, 0, 0, 0, 0
		if rows[i] != f {
			t.Errorf("folder %d: %+v, want %+v", i, rows[i], f)
		}
	}
}
