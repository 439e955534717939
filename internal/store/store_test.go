package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"mailwarden/internal/sqldb"
)

type memBody []byte

func (b memBody) Reader() io.Reader { return bytes.NewReader(b) }
func (b memBody) Size() int64       { return int64(len(b)) }

func newTestStore(t testing.TB) (*Store, *sqldb.DB) {
	t.Helper()
	dir := t.TempDir()
	db, err := sqldb.Open(context.Background(), filepath.Join(dir, "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	s, err := New(db, Options{Root: filepath.Join(dir, "mail"), Hostname: "mx.test", Fsync: true})
	if err != nil {
		t.Fatal(err)
	}
	return s, db
}

func TestDeliverWritesFileAndIndex(t *testing.T) {
	ctx := context.Background()
	s, db := newTestStore(t)
	tg := Target{Username: "a@x.test", Maildir: "x.test/a/", Folder: "INBOX", DeliveredTo: "a@x.test"}
	body := memBody("Subject: hi\r\n\r\nhello\r\n")
	trace := []byte("Received: from x\r\n")
	got, err := s.Deliver(ctx, "s@y.test", []Target{tg, tg}, trace, body)
	if err != nil {
		t.Fatal(err)
	}
	if got[0].UID != 1 || got[1].UID != 2 || got[1].ModSeq <= got[0].ModSeq {
		t.Fatalf("uids/modseqs: %+v", got)
	}
	root := s.MailboxPath("x.test/a/")
	for _, sub := range []string{"cur", "new", "tmp", ".Sent/cur", ".Trash/new", ".Junk/tmp", ".Drafts/maildirfolder"} {
		if _, err := os.Stat(filepath.Join(root, sub)); err != nil {
			t.Errorf("missing %s: %v", sub, err)
		}
	}
	ents, _ := os.ReadDir(filepath.Join(root, "new"))
	if len(ents) != 2 {
		t.Fatalf("new/ has %d files, want 2", len(ents))
	}
	data, _ := os.ReadFile(filepath.Join(root, "new", ents[0].Name()))
	want := "Return-Path: <s@y.test>\r\nDelivered-To: a@x.test\r\nReceived: from x\r\nSubject: hi\r\n\r\nhello\r\n"
	if string(data) != want {
		t.Fatalf("file = %q", data)
	}
	if !strings.Contains(ents[0].Name(), fmt.Sprintf(",S=%d,", len(want))) {
		t.Errorf("name %s lacks S=%d", ents[0].Name(), len(want))
	}
	used, n, err := s.Usage(ctx, "a@x.test")
	if err != nil || used != int64(2*len(want)) || n != 2 {
		t.Fatalf("usage = %d, %d, %v", used, n, err)
	}
	var uidnext, hms int64
	db.Read.QueryRow(`SELECT uidnext, highestmodseq FROM mail_folder WHERE username=? AND name='INBOX'`, "a@x.test").Scan(&uidnext, &hms)
	if uidnext != 3 || hms != got[1].ModSeq {
		t.Fatalf("uidnext=%d highestmodseq=%d", uidnext, hms)
	}
}

func TestQuota(t *testing.T) {
	ctx := context.Background()
	s, _ := newTestStore(t)
	tg := Target{Username: "q@x.test", Maildir: "x.test/q/", Folder: "INBOX", DeliveredTo: "q@x.test"}
	if _, err := s.Deliver(ctx, "", []Target{tg}, nil, memBody(strings.Repeat("x", 900))); err != nil {
		t.Fatal(err)
	}
	if err := s.CheckQuota(ctx, "q@x.test", 1000, 50); err != nil {
		t.Fatalf("room left: %v", err)
	}
	if err := s.CheckQuota(ctx, "q@x.test", 1000, 200); !errors.Is(err, ErrOverQuota) {
		t.Fatalf("over: err = %v", err)
	}
	if err := s.CheckQuota(ctx, "q@x.test", 0, 1<<40); err != nil {
		t.Fatalf("unlimited: %v", err)
	}
}

func TestConcurrentDeliveriesGetUniqueUIDs(t *testing.T) {
	ctx := context.Background()
	s, db := newTestStore(t)
	const n = 200
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			u := fmt.Sprintf("u%d@x.test", i%5)
			tg := Target{Username: u, Maildir: "x.test/" + u[:2] + "/", Folder: "INBOX", DeliveredTo: u}
			_, err := s.Deliver(ctx, "", []Target{tg}, nil, memBody(fmt.Sprintf("Subject: %d\r\n\r\n", i)))
			errs <- err
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	var rows, dup int
	db.Read.QueryRow(`SELECT COUNT(*) FROM mail_message`).Scan(&rows)
	db.Read.QueryRow(`SELECT COUNT(*) FROM (SELECT folder_id, uid FROM mail_message GROUP BY folder_id, uid HAVING COUNT(*)>1)`).Scan(&dup)
	if rows != n || dup != 0 {
		t.Fatalf("rows=%d dup=%d", rows, dup)
	}
}

func TestRecover(t *testing.T) {
	ctx := context.Background()
	s, db := newTestStore(t)
	tg := Target{Username: "r@x.test", Maildir: "x.test/r/", Folder: "INBOX", DeliveredTo: "r@x.test"}
	d, err := s.Deliver(ctx, "", []Target{tg, tg}, nil, memBody("Subject: x\r\n\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	root := s.MailboxPath("x.test/r/")
	// A crash after rename but before the index commit leaves a file without a row.
	orphan := filepath.Join(root, "new", "123.M1P1Q1.mx.test,S=5,W=5")
	os.WriteFile(orphan, []byte("x\r\n\r\n"), 0o600)
	// A file read by a Maildir tool in cur/ with flags.
	os.WriteFile(filepath.Join(root, "cur", "124.M1P1Q2.mx.test:2,FS"), []byte("y\r\n"), 0o600)
	// A row whose file vanished.
	var fn string
	db.Read.QueryRow(`SELECT filename FROM mail_message WHERE uid=?`, d[0].UID).Scan(&fn)
	os.Remove(filepath.Join(root, fn))

	if crashed, err := s.StartServing(); err != nil || crashed {
		t.Fatalf("first StartServing = %v, %v; want a fresh start", crashed, err)
	}
	// kill -9: no StopServing.
	if crashed, err := s.StartServing(); err != nil || !crashed {
		t.Fatalf("StartServing after a crash = %v, %v", crashed, err)
	}
	st, err := s.Recover(ctx, []Account{{Username: "r@x.test", Maildir: "x.test/r/"}})
	if err != nil {
		t.Fatal(err)
	}
	if st.Added != 2 || st.Removed != 1 {
		t.Fatalf("stats = %+v", st)
	}
	var flags string
	db.Read.QueryRow(`SELECT flags FROM mail_message WHERE filename LIKE 'cur/124%'`).Scan(&flags)
	if flags != `\Flagged \Seen` {
		t.Errorf("flags = %q", flags)
	}
	used, n, _ := s.Usage(ctx, "r@x.test")
	var sum, cnt int64
	db.Read.QueryRow(`SELECT COALESCE(SUM(size),0), COUNT(*) FROM mail_message m JOIN mail_folder f ON f.id=m.folder_id WHERE f.username=?`, "r@x.test").Scan(&sum, &cnt)
	if used != sum || n != cnt || cnt != 3 {
		t.Fatalf("quota2 = %d/%d, index = %d/%d", used, n, sum, cnt)
	}
	// A second pass finds nothing to do; a clean stop is remembered.
	if st, _ := s.Recover(ctx, []Account{{Username: "r@x.test", Maildir: "x.test/r/"}}); st.Added+st.Removed != 0 {
		t.Fatalf("second recover changed things: %+v", st)
	}
	s.StopServing()
	if crashed, _ := s.StartServing(); crashed {
		t.Fatal("clean stop not remembered")
	}
}
