package store

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"mailwarden/internal/imapmsg"
	"mailwarden/internal/sqldb"
)

const cacheMsg = "From: Alice <alice@example.org>\r\nTo: bob@example.org\r\nSubject: cached\r\nReceived: x\r\n\r\nbody\r\n"

// withCache reads the messages uids of a folder with their caches.
func withCache(t *testing.T, s *Store, a Account, folder string, uids ...int64) []Msg {
	t.Helper()
	if uids == nil {
		msgs, _ := mustMessages(t, s, a, folder)
		uids = msgUIDs(msgs)
	}
	ms, err := s.MessagesWith(context.Background(), a, folder, uids, PartFile|PartEnvelope|PartFields)
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

// checkCaches fails unless every message of the folder has a valid cache
// equal to the one made from its file.
func checkCaches(t *testing.T, s *Store, a Account, folder string) {
	t.Helper()
	dir := folderDir(s.MailboxPath(a.Maildir), folder)
	for _, m := range withCache(t, s, a, folder) {
		raw, err := os.ReadFile(filepath.Join(dir, m.File))
		if err != nil {
			t.Fatal(err)
		}
		want := imapmsg.NewCache(raw, true)
		if m.Cache == nil || !m.Cache.Valid {
			t.Fatalf("%s UID %d: no cache (%v)", folder, m.UID, m.Cache)
		}
		if !bytes.Equal(m.Cache.Envelope, want.Envelope) || !bytes.Equal(m.Cache.Fields, want.Fields) {
			t.Fatalf("%s UID %d: cache %s, file gives %s", folder, m.UID, show(*m.Cache), show(want))
		}
	}
}

func show(c imapmsg.Cache) string { return fmt.Sprintf("{%v %q %q}", c.Valid, c.Envelope, c.Fields) }

// cacheRows counts the rows of mail_cache.
func cacheRows(t *testing.T, db *sqldb.DB) int {
	t.Helper()
	var n int
	if err := db.Read.QueryRow(`SELECT COUNT(*) FROM mail_cache`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func newCacheAccount(t *testing.T) (*Store, *sqldb.DB, Account) {
	s, db := newTestStore(t)
	a := Account{Username: "u@x.test", Maildir: "x.test/u/"}
	if err := s.EnsureMailbox(context.Background(), a.Username, a.Maildir); err != nil {
		t.Fatal(err)
	}
	return s, db, a
}

func TestCacheWrittenWithTheMessage(t *testing.T) {
	ctx := context.Background()
	s, db, a := newCacheAccount(t)
	tg := Target{Username: a.Username, Maildir: a.Maildir, Folder: "INBOX", DeliveredTo: a.Username}
	tg2 := Target{Username: "v@x.test", Maildir: "x.test/v/", Folder: "INBOX", DeliveredTo: "v@x.test"}
	d, err := s.Deliver(ctx, "s@y.test", []Target{tg, tg2, tg}, []byte("Received: from y\r\n"), memBody(cacheMsg))
	if err != nil {
		t.Fatal(err)
	}
	mustAppend(t, s, a, "INBOX", []string{`\Seen`}, cacheMsg)
	mustAppend(t, s, a, "Sent", nil, "Subject: header only, no body") // the whole message is header
	checkCaches(t, s, a, "INBOX")
	checkCaches(t, s, a, "Sent")
	checkCaches(t, s, Account{Username: "v@x.test", Maildir: "x.test/v/"}, "INBOX")
	if got := withCache(t, s, a, "INBOX", d[0].UID)[0].Cache; !strings.Contains(string(got.Envelope), `"cached"`) ||
		strings.Contains(string(got.Fields), "Received") {
		t.Fatalf("cache %s", show(*got))
	}

	// COPY and MOVE take the cache along; EXPUNGE and a move's source
	// drop it.
	if _, _, _, err := s.Copy(ctx, a, "INBOX", "Trash", []int64{1, 2}, 0); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := s.Move(ctx, a, "INBOX", "Junk", []int64{3}); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"INBOX", "Trash", "Junk"} {
		checkCaches(t, s, a, f)
	}
	if n := cacheRows(t, db); n != 2+1+2+1+1 { // INBOX 2, Sent 1, Trash 2, Junk 1, v's INBOX 1
		t.Fatalf("%d cache rows, want 7", n)
	}
	if _, err := s.Expunge(ctx, a, "Trash", []int64{1}); err != nil {
		t.Fatal(err)
	}
	if n := cacheRows(t, db); n != 6 {
		t.Fatalf("after expunge: %d cache rows, want 6", n)
	}
	// Renaming INBOX moves its messages, caches included.
	if err := s.RenameFolder(ctx, a, "INBOX", "Old"); err != nil {
		t.Fatal(err)
	}
	checkCaches(t, s, a, "Old")
	if len(withCache(t, s, a, "Old")) != 2 {
		t.Fatal("renamed INBOX lost messages")
	}
	if err := s.DeleteFolder(ctx, a, "Old"); err != nil {
		t.Fatal(err)
	}
	if n := cacheRows(t, db); n != 4 {
		t.Fatalf("after deleting a folder: %d cache rows, want 4", n)
	}
	if err := s.DeleteMailbox(ctx, a.Username, a.Maildir, true); err != nil {
		t.Fatal(err)
	}
	if n := cacheRows(t, db); n != 1 {
		t.Fatalf("after deleting the mailbox: %d cache rows, want 1", n)
	}
}

func TestCacheOfImportAndRecover(t *testing.T) {
	ctx := context.Background()
	s, _, a := newCacheAccount(t)
	src := t.TempDir()
	writeTree(t, src, dovecotTree)
	if _, err := s.Import(ctx, a, src); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"INBOX", "Work", "Sent Messages"} {
		checkCaches(t, s, a, f)
	}
	// A file a crash left without a row gets its cache when recovered.
	orphan := filepath.Join(s.MailboxPath(a.Maildir), "new", "123.M1P1Q1.mx.test,S=30,W=30")
	if err := os.WriteFile(orphan, []byte("Subject: orphan\r\n\r\nx\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if st, err := s.Recover(ctx, []Account{a}); err != nil || st.Added != 1 {
		t.Fatalf("recover: %+v, %v", st, err)
	}
	checkCaches(t, s, a, "INBOX")
}

func TestFillCache(t *testing.T) {
	ctx := context.Background()
	s, db, a := newCacheAccount(t)
	u1 := mustAppend(t, s, a, "INBOX", nil, cacheMsg)
	u2 := mustAppend(t, s, a, "INBOX", nil, "Subject: two\r\n\r\n")
	// Rows from before the cache, and rows of an older cache version,
	// read as missing.
	db.Write.Exec(`DELETE FROM mail_cache WHERE uid=?`, u1)
	db.Write.Exec(`UPDATE mail_cache SET version=version-1 WHERE uid=?`, u2)
	for _, m := range withCache(t, s, a, "INBOX") {
		if m.Cache != nil {
			t.Fatalf("UID %d: cache %v, want none", m.UID, m.Cache)
		}
	}
	fills := []CacheFill{
		{u1, imapmsg.NewCache([]byte(cacheMsg), true)},
		{u2, imapmsg.NewCache([]byte("Subject: two\r\n\r\n"), true)},
		{99, imapmsg.NewCache([]byte("Subject: gone\r\n\r\n"), true)}, // expunged meanwhile
	}
	if err := s.FillCache(ctx, a, "INBOX", fills); err != nil {
		t.Fatal(err)
	}
	checkCaches(t, s, a, "INBOX")
	if n := cacheRows(t, db); n != 2 {
		t.Fatalf("%d cache rows, want 2", n)
	}
	// A message that cannot be cached is recorded as such, not retried.
	if err := s.FillCache(ctx, a, "INBOX", []CacheFill{{u2, imapmsg.Cache{}}}); err != nil {
		t.Fatal(err)
	}
	ms := withCache(t, s, a, "INBOX", u2, u1)
	if len(ms) != 2 || ms[0].UID != u1 || ms[1].Cache == nil || ms[1].Cache.Valid {
		t.Fatalf("messages %+v", ms)
	}
}

func TestCacheOfLargeHeader(t *testing.T) {
	s, _, a := newCacheAccount(t)
	big := "Subject: big\r\nX-Pad: " + strings.Repeat("p", imapmsg.MaxCacheScan) + "\r\n\r\nbody\r\n"
	uid := mustAppend(t, s, a, "INBOX", nil, big)
	m := withCache(t, s, a, "INBOX", uid)[0]
	if m.Cache == nil || m.Cache.Valid {
		t.Fatalf("cache of a %d-octet header: %v; want present and not valid", len(big), m.Cache)
	}
}

// TestHeaderTap checks that the header kept while writing is the same
// whatever the writes' boundaries.
func TestHeaderTap(t *testing.T) {
	msgs := []string{
		cacheMsg, "Subject: x\n\nbody", "Subject: x\r\n\r", "Subject: no end", "", "\r\nbody",
		"A: b\r\n" + strings.Repeat("X-Long: "+strings.Repeat("y", 1000)+"\r\n", 70) + "\r\nbody",
	}
	for _, msg := range msgs {
		want := imapmsg.NewCache([]byte(msg), true)
		for cut := 0; cut <= len(msg); cut += max(1, len(msg)/200) {
			for _, step := range []int{1, 7, len(msg) + 1} {
				var out bytes.Buffer
				tap := &headerTap{w: &out}
				tap.Write([]byte(msg[:cut]))
				for i := cut; i < len(msg); i += step {
					tap.Write([]byte(msg[i:min(i+step, len(msg))]))
				}
				if out.String() != msg {
					t.Fatal("tap changed the data")
				}
				got := tap.cache(int64(len(msg)))
				if got.Valid != want.Valid || !bytes.Equal(got.Envelope, want.Envelope) || !bytes.Equal(got.Fields, want.Fields) {
					t.Fatalf("%.40q cut %d step %d: %s, want %s", msg, cut, step, show(*got), show(want))
				}
				if len(tap.buf) > min(len(msg), imapmsg.MaxCacheScan) {
					t.Fatalf("tap kept %d octets", len(tap.buf))
				}
			}
		}
	}
}

// FuzzHeaderTap checks the header kept while writing in two or more
// pieces against the cache of the whole message.
func FuzzHeaderTap(f *testing.F) {
	f.Add([]byte(cacheMsg), uint16(10), uint8(3))
	f.Add([]byte("Subject: x\r\n\r"), uint16(12), uint8(1))
	f.Add([]byte("S: x\n\nbody"), uint16(0), uint8(0))
	f.Fuzz(func(t *testing.T, msg []byte, cut uint16, step uint8) {
		want := imapmsg.NewCache(msg, true)
		var out bytes.Buffer
		tap := &headerTap{w: &out}
		k := min(int(cut), len(msg))
		tap.Write(msg[:k])
		for i := k; i < len(msg); i += int(step) + 1 {
			tap.Write(msg[i:min(i+int(step)+1, len(msg))])
		}
		got := tap.cache(int64(len(msg)))
		if !bytes.Equal(out.Bytes(), msg) {
			t.Fatal("tap changed the data")
		}
		if got.Valid != want.Valid || !bytes.Equal(got.Envelope, want.Envelope) || !bytes.Equal(got.Fields, want.Fields) {
			t.Fatalf("cut %d step %d: %s, want %s", k, step, show(*got), show(want))
		}
	})
}
