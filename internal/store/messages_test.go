package store

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestAppendAndMessages(t *testing.T) {
	ctx := context.Background()
	s, a := newAccount(t)
	date := time.Date(2020, 5, 6, 7, 8, 9, 0, time.UTC)
	u1, v1, err := s.Append(ctx, a, "inbox", []string{`\seen`, `$Work`}, date, memBody("Subject: a\r\n\r\nx\r\n"), 0)
	if err != nil {
		t.Fatal(err)
	}
	u2, v2, err := s.Append(ctx, a, "INBOX", nil, time.Time{}, memBody("Subject: b\r\n\r\ny\r\n"), 0)
	if err != nil || u2 != u1+1 || v1 != v2 || v1 == 0 {
		t.Fatalf("second append: uid %d validity %d/%d err %v", u2, v1, v2, err)
	}
	msgs, fi := mustMessages(t, s, a, "INBOX")
	if len(msgs) != 2 || fi.Messages != 2 || fi.Unseen != 1 || fi.UIDValidity != v1 || fi.UIDNext != u2+1 {
		t.Fatalf("messages %+v info %+v", msgs, fi)
	}
	m := msgs[0]
	if !reflect.DeepEqual(m.Flags, []string{`$Work`, `\Seen`}) || !m.InternalDate.Equal(date) ||
		!strings.HasPrefix(m.File, "cur/") || !strings.HasSuffix(m.File, ":2,S") || m.Size != 17 {
		t.Fatalf("first message %+v", m)
	}
	if !strings.HasPrefix(msgs[1].File, "new/") || len(msgs[1].Flags) != 0 {
		t.Fatalf("second message %+v", msgs[1])
	}
	info, err := os.Stat(filepath.Join(s.MailboxPath(a.Maildir), m.File))
	if err != nil || !info.ModTime().Equal(date) {
		t.Fatalf("file mtime %v, err %v", info.ModTime(), err)
	}
	if _, _, err := s.Append(ctx, a, "Nope", nil, date, memBody("x"), 0); !errorsIs(err, ErrNoFolder) {
		t.Fatalf("append to missing folder: %v", err)
	}
	if _, _, err := s.Append(ctx, a, "INBOX", nil, date, memBody(strings.Repeat("x", 100)), 120); !errorsIs(err, ErrOverQuota) {
		t.Fatalf("append over quota: %v", err)
	}
	checkFilesMatchIndex(t, s, a, "INBOX")
}

func TestStoreFlagsRenamesFiles(t *testing.T) {
	ctx := context.Background()
	s, a := newAccount(t)
	var uids []int64
	for i := 0; i < 3; i++ {
		uids = append(uids, mustAppend(t, s, a, "INBOX", nil, "m\r\n"))
	}
	old, _ := mustMessages(t, s, a, "INBOX")
	tests := []struct {
		name    string
		uids    []int64
		op      FlagOp
		flags   []string
		wantSuf []string // file name endings of the three messages after the call
		changed int      // how many got a new MODSEQ
	}{
		{"add seen flagged", []int64{uids[0], uids[1], 999}, FlagsAdd, []string{`\Seen`, `\Flagged`}, []string{":2,FS", ":2,FS", ""}, 2},
		{"add again changes nothing", []int64{uids[0]}, FlagsAdd, []string{`\seen`}, []string{":2,FS", ":2,FS", ""}, 0},
		{"keyword only keeps letters", []int64{uids[1]}, FlagsAdd, []string{`$Junk`}, []string{":2,FS", ":2,FS", ""}, 1},
		{"remove flagged", uids, FlagsRemove, []string{`\Flagged`}, []string{":2,S", ":2,S", ""}, 2},
		{"set deleted draft", []int64{uids[2]}, FlagsSet, []string{`\Deleted`, `\Draft`}, []string{":2,S", ":2,S", ":2,DT"}, 1},
	}
	for _, tt := range tests {
		before, fi := mustMessages(t, s, a, "INBOX")
		updated, failed, err := s.StoreFlags(ctx, a, "INBOX", tt.uids, tt.op, tt.flags, 0)
		if err != nil || len(failed) != 0 {
			t.Fatalf("%s: %v, failed %v", tt.name, err, failed)
		}
		after, fi2 := mustMessages(t, s, a, "INBOX")
		if !reflect.DeepEqual(updated, intersect(after, tt.uids)) {
			t.Fatalf("%s: updated %+v, index %+v", tt.name, updated, after)
		}
		changed := 0
		for i := range after {
			if !strings.HasSuffix(after[i].File, tt.wantSuf[i]) || (tt.wantSuf[i] == "" && !strings.HasPrefix(after[i].File, "new/")) {
				t.Errorf("%s: file %d = %s, want suffix %q", tt.name, i, after[i].File, tt.wantSuf[i])
			}
			if after[i].ModSeq != before[i].ModSeq {
				changed++
				if after[i].ModSeq <= fi.HighestModSeq {
					t.Errorf("%s: modseq %d not above %d", tt.name, after[i].ModSeq, fi.HighestModSeq)
				}
			}
		}
		if changed != tt.changed || fi2.HighestModSeq != fi.HighestModSeq+int64(tt.changed) {
			t.Errorf("%s: %d changed, highestmodseq %d -> %d", tt.name, changed, fi.HighestModSeq, fi2.HighestModSeq)
		}
		checkFilesMatchIndex(t, s, a, "INBOX")
	}
	// A reader holding the old names still gets the files.
	for _, m := range old {
		f, err := s.OpenMessage(a, "INBOX", m)
		if err != nil {
			t.Fatalf("open stale %s: %v", m.File, err)
		}
		b, _ := io.ReadAll(f)
		f.Close()
		if string(b) != "m\r\n" {
			t.Fatalf("content %q", b)
		}
	}
	// Recover agrees with renamed files.
	if st, err := s.Recover(ctx, []Account{a}); err != nil || st.Added+st.Removed+st.Renamed != 0 {
		t.Fatalf("recover after renames: %+v, %v", st, err)
	}
}

func intersect(msgs []Msg, uids []int64) []Msg {
	var out []Msg
	for _, m := range msgs {
		for _, u := range uids {
			if m.UID == u {
				out = append(out, m)
				break
			}
		}
	}
	return out
}

func TestStoreFlagsUnchangedSince(t *testing.T) {
	ctx := context.Background()
	s, a := newAccount(t)
	u1 := mustAppend(t, s, a, "INBOX", nil, "1")
	u2 := mustAppend(t, s, a, "INBOX", nil, "2")
	msgs, _ := mustMessages(t, s, a, "INBOX")
	// Another session changes u2 after our client read its MODSEQ.
	if _, _, err := s.StoreFlags(ctx, a, "INBOX", []int64{u2}, FlagsAdd, []string{`\Answered`}, 0); err != nil {
		t.Fatal(err)
	}
	updated, failed, err := s.StoreFlags(ctx, a, "INBOX", []int64{u1, u2}, FlagsAdd, []string{`\Seen`}, msgs[1].ModSeq)
	if err != nil {
		t.Fatal(err)
	}
	if !equalInts(failed, []int64{u2}) || len(updated) != 1 || updated[0].UID != u1 || !hasFlag(updated[0].Flags, `\Seen`) {
		t.Fatalf("updated %+v failed %v", updated, failed)
	}
	after, _ := mustMessages(t, s, a, "INBOX")
	if hasFlag(after[1].Flags, `\Seen`) {
		t.Fatal("UNCHANGEDSINCE did not protect u2")
	}
}

func TestExpungeAndChanges(t *testing.T) {
	ctx := context.Background()
	s, a := newAccount(t)
	var uids []int64
	for i := 0; i < 5; i++ {
		uids = append(uids, mustAppend(t, s, a, "INBOX", nil, strings.Repeat("x", 10*(i+1))))
	}
	_, fi := mustMessages(t, s, a, "INBOX")
	since := fi.HighestModSeq
	if _, _, err := s.StoreFlags(ctx, a, "INBOX", []int64{uids[0], uids[2]}, FlagsAdd, []string{`\Deleted`}, 0); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.StoreFlags(ctx, a, "INBOX", []int64{uids[3]}, FlagsAdd, []string{`\Seen`}, 0); err != nil {
		t.Fatal(err)
	}
	got, err := s.Expunge(ctx, a, "INBOX", nil)
	if err != nil || !equalInts(got, []int64{uids[0], uids[2]}) {
		t.Fatalf("expunge deleted = %v, %v", got, err)
	}
	if got, err = s.Expunge(ctx, a, "INBOX", []int64{uids[4], 12345}); err != nil || !equalInts(got, []int64{uids[4]}) {
		t.Fatalf("expunge by uid = %v, %v", got, err)
	}
	if used, n, _ := s.Usage(ctx, a.Username); used != 20+40 || n != 2 {
		t.Fatalf("quota2 = %d bytes %d messages", used, n)
	}
	checkFilesMatchIndex(t, s, a, "INBOX")
	changed, vanished, info, err := s.Changes(ctx, a, "INBOX", since)
	if err != nil {
		t.Fatal(err)
	}
	if !equalInts(msgUIDs(changed), []int64{uids[3]}) || !equalInts(vanished, []int64{uids[0], uids[2], uids[4]}) || info.UIDNext != uids[4]+1 {
		t.Fatalf("changes: %v vanished %v info %+v", msgUIDs(changed), vanished, info)
	}
	// Changes leaves the counts to Folder.
	if fi, err := s.Folder(ctx, a, "INBOX"); err != nil || fi.Messages != 2 || fi.HighestModSeq != info.HighestModSeq {
		t.Fatalf("folder after expunges: %+v, %v (changes said %+v)", fi, err, info)
	}
	// Since the very latest MODSEQ nothing is reported.
	if c, v, _, _ := s.Changes(ctx, a, "INBOX", info.HighestModSeq); len(c)+len(v) != 0 {
		t.Fatalf("changes since highest: %v %v", c, v)
	}
	// A MODSEQ between the two expunges reports only the later one.
	_, v, _, _ := s.Changes(ctx, a, "INBOX", info.HighestModSeq-1)
	if !equalInts(v, []int64{uids[4]}) {
		t.Fatalf("vanished since highest-1 = %v", v)
	}
	if ents, _ := os.ReadDir(filepath.Join(s.MailboxPath(a.Maildir), "tmp")); len(ents) != 0 {
		t.Fatalf("tmp/ not empty: %v", ents)
	}
}

func TestRecoverAfterInterruptedFlagRename(t *testing.T) {
	ctx := context.Background()
	s, a := newAccount(t)
	uid := mustAppend(t, s, a, "INBOX", []string{`\Seen`}, "x\r\n")
	mustAppend(t, s, a, "INBOX", nil, "y\r\n")
	if _, _, err := s.StoreFlags(ctx, a, "INBOX", []int64{uid}, FlagsAdd, []string{`\Flagged`}, 0); err != nil {
		t.Fatal(err)
	}
	msgs, _ := mustMessages(t, s, a, "INBOX")
	dir := s.MailboxPath(a.Maildir)
	// The index says :2,FS; the file still has its old name, as if the
	// process died between the commit and the rename.
	stale := strings.TrimSuffix(msgs[0].File, "FS") + "S"
	if err := os.Rename(filepath.Join(dir, msgs[0].File), filepath.Join(dir, stale)); err != nil {
		t.Fatal(err)
	}
	// A message in cur/ renamed by another Maildir tool is matched by base name too.
	st, err := s.Recover(ctx, []Account{a})
	if err != nil || st.Renamed != 1 || st.Added+st.Removed != 0 {
		t.Fatalf("recover: %+v, %v", st, err)
	}
	checkFilesMatchIndex(t, s, a, "INBOX")
	// A row whose file is gone becomes a VANISHED UID.
	_, fi := mustMessages(t, s, a, "INBOX")
	os.Remove(filepath.Join(dir, msgs[1].File))
	if st, err := s.Recover(ctx, []Account{a}); err != nil || st.Removed != 1 {
		t.Fatalf("recover: %+v, %v", st, err)
	}
	if _, v, _, _ := s.Changes(ctx, a, "INBOX", fi.HighestModSeq); !equalInts(v, []int64{msgs[1].UID}) {
		t.Fatalf("vanished = %v", v)
	}
}
