package store

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"testing"
	"time"
)

// newAccount returns a store and a mailbox with its default folders.
func newAccount(t *testing.T) (*Store, Account) {
	t.Helper()
	s, _ := newTestStore(t)
	a := Account{Username: "u@x.test", Maildir: "x.test/u/"}
	if err := s.EnsureMailbox(context.Background(), a.Username, a.Maildir); err != nil {
		t.Fatal(err)
	}
	return s, a
}

func mustAppend(t *testing.T, s *Store, a Account, folder string, flags []string, body string) int64 {
	t.Helper()
	uid, _, err := s.Append(context.Background(), a, folder, flags, time.Unix(1700000000, 0), memBody(body), 0)
	if err != nil {
		t.Fatalf("append to %s: %v", folder, err)
	}
	return uid
}

func mustMessages(t *testing.T, s *Store, a Account, folder string) ([]Msg, FolderInfo) {
	t.Helper()
	msgs, fi, err := s.Messages(context.Background(), a, folder)
	if err != nil {
		t.Fatalf("messages of %s: %v", folder, err)
	}
	return msgs, fi
}

func msgUIDs(msgs []Msg) []int64 {
	out := []int64{}
	for _, m := range msgs {
		out = append(out, m.UID)
	}
	return out
}

// diskFiles lists the message files of a folder directory, relative to it.
func diskFiles(t *testing.T, dir string) []string {
	t.Helper()
	out := []string{}
	for _, sub := range []string{"new", "cur"} {
		ents, err := os.ReadDir(filepath.Join(dir, sub))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range ents {
			out = append(out, sub+"/"+e.Name())
		}
	}
	sort.Strings(out)
	return out
}

// checkFilesMatchIndex fails unless every message's File exists and no
// other message file is in the folder.
func checkFilesMatchIndex(t *testing.T, s *Store, a Account, folder string) {
	t.Helper()
	msgs, _ := mustMessages(t, s, a, folder)
	want := []string{}
	for _, m := range msgs {
		want = append(want, m.File)
	}
	sort.Strings(want)
	got := diskFiles(t, folderDir(s.MailboxPath(a.Maildir), folder))
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s: files on disk %q, index %q", folder, got, want)
	}
}

func equalInts(a, b []int64) bool {
	if len(a) == 0 && len(b) == 0 {
		return true
	}
	return reflect.DeepEqual(a, b)
}

func errorsIs(err, target error) bool { return errors.Is(err, target) }
