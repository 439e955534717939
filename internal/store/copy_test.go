package store

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestCopyAndMove(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name  string
		move  bool
		quota int64
		err   error
	}{
		{"copy", false, 0, nil},
		{"copy within quota", false, 1000, nil},
		{"copy over quota", false, 50, ErrOverQuota},
		{"move", true, 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, a := newAccount(t)
			u1 := mustAppend(t, s, a, "INBOX", []string{`\Seen`, `$Work`}, "first\r\n")
			u2 := mustAppend(t, s, a, "INBOX", nil, "second\r\n")
			u3 := mustAppend(t, s, a, "INBOX", nil, "third\r\n")
			mustAppend(t, s, a, "Trash", nil, "already there\r\n") // so target UIDs start at 2
			src, _ := mustMessages(t, s, a, "INBOX")
			trash, _ := s.Folder(ctx, a, "Trash")
			usedBefore, nBefore, _ := s.Usage(ctx, a.Username)
			var validity int64
			var from, to []int64
			var err error
			if tt.move {
				validity, from, to, err = s.Move(ctx, a, "INBOX", "Trash", []int64{u3, u1, 77})
			} else {
				validity, from, to, err = s.Copy(ctx, a, "INBOX", "Trash", []int64{u3, u1, 77}, tt.quota)
			}
			if tt.err != nil {
				if !errorsIs(err, tt.err) {
					t.Fatalf("err = %v, want %v", err, tt.err)
				}
				checkFilesMatchIndex(t, s, a, "Trash")
				if fi, _ := s.Folder(ctx, a, "Trash"); fi.Messages != 1 {
					t.Fatalf("failed copy left messages: %+v", fi)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if validity != trash.UIDValidity || !equalInts(from, []int64{u1, u3}) || !equalInts(to, []int64{2, 3}) {
				t.Fatalf("COPYUID %d %v %v (want %d [%d %d] [2 3])", validity, from, to, trash.UIDValidity, u1, u3)
			}
			got, _ := mustMessages(t, s, a, "Trash")
			if !reflect.DeepEqual(got[1].Flags, src[0].Flags) || !got[1].InternalDate.Equal(src[0].InternalDate) || got[1].Size != src[0].Size {
				t.Fatalf("copied %+v from %+v", got[1], src[0])
			}
			f, err := s.OpenMessage(a, "Trash", got[2])
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(f)
			f.Close()
			if string(b) != "third\r\n" {
				t.Fatalf("content %q", b)
			}
			left, _ := mustMessages(t, s, a, "INBOX")
			used, n, _ := s.Usage(ctx, a.Username)
			if tt.move {
				if !equalInts(msgUIDs(left), []int64{u2}) || used != usedBefore || n != nBefore {
					t.Fatalf("after move INBOX %v, usage %d/%d (before %d/%d)", msgUIDs(left), used, n, usedBefore, nBefore)
				}
				if _, v, _, _ := s.Changes(ctx, a, "INBOX", src[2].ModSeq); !equalInts(v, []int64{u1, u3}) {
					t.Fatalf("vanished after move = %v", v)
				}
			} else {
				if len(left) != 3 || used != usedBefore+src[0].Size+src[2].Size || n != nBefore+2 {
					t.Fatalf("after copy INBOX %v, usage %d/%d", msgUIDs(left), used, n)
				}
				// Hard links: the copy is the same inode.
				a1, _ := os.Stat(filepath.Join(s.MailboxPath(a.Maildir), src[0].File))
				a2, _ := os.Stat(filepath.Join(s.MailboxPath(a.Maildir), ".Trash", got[1].File))
				if !os.SameFile(a1, a2) {
					t.Error("copy is not a hard link")
				}
			}
			checkFilesMatchIndex(t, s, a, "INBOX")
			checkFilesMatchIndex(t, s, a, "Trash")
		})
	}
}

func TestCopyErrors(t *testing.T) {
	ctx := context.Background()
	s, a := newAccount(t)
	u := mustAppend(t, s, a, "INBOX", nil, "x")
	if _, _, _, err := s.Copy(ctx, a, "INBOX", "Nope", []int64{u}, 0); !errorsIs(err, ErrNoFolder) {
		t.Fatalf("copy to missing folder: %v", err)
	}
	if _, _, _, err := s.Move(ctx, a, "Nope", "INBOX", []int64{u}); !errorsIs(err, ErrNoFolder) {
		t.Fatalf("move from missing folder: %v", err)
	}
	v, src, dst, err := s.Copy(ctx, a, "INBOX", "Sent", []int64{999}, 0)
	if err != nil || v == 0 || len(src)+len(dst) != 0 {
		t.Fatalf("copy of nothing: %d %v %v %v", v, src, dst, err)
	}
	// Move within one folder gives new UIDs.
	_, src, dst, err = s.Move(ctx, a, "INBOX", "INBOX", []int64{u})
	if err != nil || !equalInts(src, []int64{u}) || !equalInts(dst, []int64{u + 1}) {
		t.Fatalf("move to self: %v %v %v", src, dst, err)
	}
	checkFilesMatchIndex(t, s, a, "INBOX")
}
