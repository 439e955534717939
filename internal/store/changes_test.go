package store

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"mailwarden/internal/sqldb"
)

// otherProcess opens a second Store on the same database and Maildirs,
// as `mailwarden import-maildir` or another node does.
func otherProcess(t testing.TB, s *Store) *Store {
	t.Helper()
	db, err := sqldb.Open(context.Background(), s.db.Path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	o, err := New(db, Options{Root: s.root, Hostname: "other.test", Fsync: false})
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// TestFeedAcrossProcesses: each kind of change another Store commits
// reaches this Store's watcher through mail_change after one Poll; this
// Store's own changes are not published twice.
func TestFeedAcrossProcesses(t *testing.T) {
	ctx := context.Background()
	s, a := newAccount(t)
	other := otherProcess(t, s)
	feed, err := s.NewFeed(ctx)
	if err != nil {
		t.Fatal(err)
	}
	events, stop := s.Watch(a.Username)
	defer stop()
	drain := func() []string {
		var out []string
		for {
			select {
			case ev := <-events:
				out = append(out, ev.Kind.String()+" "+ev.Folder)
			default:
				return out
			}
		}
	}
	uid := mustAppend(t, s, a, "INBOX", nil, "Subject: mine\r\n\r\nx\r\n")
	if got := drain(); fmt.Sprint(got) != "[added INBOX]" {
		t.Fatalf("in-process event: %v", got)
	}
	if n, err := feed.Poll(ctx); err != nil || n != 1 || len(drain()) != 0 {
		t.Fatalf("own change from the feed: n=%d err=%v (want it read, not published again)", n, err)
	}
	steps := []struct {
		do   func() error
		want string
	}{
		{func() error {
			_, err := other.Deliver(ctx, "x@y.test", []Target{{Username: a.Username, Maildir: a.Maildir, Folder: "INBOX", DeliveredTo: a.Username}}, nil, memBody("Subject: d\r\n\r\nx\r\n"))
			return err
		}, "[added INBOX]"},
		{func() error {
			_, _, err := other.StoreFlags(ctx, a, "INBOX", []int64{uid}, FlagsAdd, []string{`\Seen`}, 0)
			return err
		}, "[flags INBOX]"},
		{func() error { _, _, _, err := other.Move(ctx, a, "INBOX", "Trash", []int64{uid}); return err }, "[expunged INBOX added Trash]"},
		{func() error { return other.CreateFolder(ctx, a, "Lists", "") }, "[folders Lists]"},
		{func() error { return other.RenameFolder(ctx, a, "Lists", "Archive") }, "[folders Lists folders Archive]"},
		{func() error { return other.DeleteFolder(ctx, a, "Archive") }, "[folders Archive]"},
	}
	for i, st := range steps {
		if err := st.do(); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if got := drain(); len(got) != 0 {
			t.Fatalf("step %d: published before the poll: %v", i, got)
		}
		if _, err := feed.Poll(ctx); err != nil {
			t.Fatal(err)
		}
		if got := fmt.Sprint(drain()); got != st.want {
			t.Errorf("step %d: feed published %s, want %s", i, got, st.want)
		}
	}
}

// TestFeedPrune: old rows go, the newest stays (its id is never reused).
func TestFeedPrune(t *testing.T) {
	ctx := context.Background()
	s, a := newAccount(t)
	for range 3 {
		mustAppend(t, s, a, "INBOX", nil, "Subject: x\r\n\r\nx\r\n")
	}
	feed, _ := s.NewFeed(ctx)
	feed.Keep = -time.Hour // everything is old
	n, err := feed.Prune(ctx)
	if err != nil || n != 2 {
		t.Fatalf("pruned %d rows (%v), want 2", n, err)
	}
	var left int
	s.db.Read.QueryRow(`SELECT COUNT(*) FROM mail_change`).Scan(&left)
	if left != 1 {
		t.Errorf("%d rows left, want the newest", left)
	}
}

// BenchmarkFeedPoll is one Poll with nothing new, on a table with
// 10,000 mailboxes' worth of rows (what every serving process does once a
// second), and one write's extra cost is in BenchmarkNoteChange.
func BenchmarkFeedPoll(b *testing.B) {
	ctx := context.Background()
	dir := b.TempDir()
	db, err := sqldb.Open(ctx, filepath.Join(dir, "t.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	s, err := New(db, Options{Root: filepath.Join(dir, "mail"), Hostname: "mx.test"})
	if err != nil {
		b.Fatal(err)
	}
	tx, _ := db.Write.Begin()
	for i := range 10000 {
		for _, f := range []string{"INBOX", "Sent", "Trash"} {
			tx.Exec(`INSERT INTO mail_change(username, folder, kind, modseq, origin, created) VALUES (?,?,1,1,'x',?)`,
				fmt.Sprintf("user%d@x.test", i), f, time.Now().Unix())
		}
	}
	tx.Commit()
	feed, err := s.NewFeed(ctx)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		if _, err := feed.Poll(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkNoteChange is the INSERT every change adds to its transaction.
func BenchmarkNoteChange(b *testing.B) {
	ctx := context.Background()
	s, _ := newTestStore(b)
	tx, err := s.db.Write.BeginTx(ctx, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer tx.Rollback()
	b.ResetTimer()
	for i := range b.N {
		if err := s.noteChange(ctx, tx, "u@x.test", "INBOX", EventAdded, int64(i)); err != nil {
			b.Fatal(err)
		}
	}
}
