package delivery

import (
	"context"
	"io"
	"log/slog"
	"mailwarden/internal/mlog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mailwarden/internal/config"
	"mailwarden/internal/directory"
	"mailwarden/internal/envelope"
	"mailwarden/internal/queue"
	"mailwarden/internal/sqldb"
	"mailwarden/internal/store"
	"mailwarden/internal/testutil"
)

// world is a data directory with a store, a queue, a directory of
// mailboxes at local.test and a router over them.
type world struct {
	db     *sqldb.DB
	dir    *directory.Directory
	store  *store.Store
	queue  *queue.Queue
	local  *Local
	router *Router
	log    *testutil.Buffer
	root   string
}

func newWorld(t *testing.T, boxes ...directory.Mailbox) *world {
	t.Helper()
	ctx := context.Background()
	root := t.TempDir()
	db, err := sqldb.Open(ctx, filepath.Join(root, "db.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	st, err := store.New(db, store.Options{Root: filepath.Join(root, "mail"), Hostname: "test", Fsync: true})
	if err != nil {
		t.Fatal(err)
	}
	q, err := queue.New(db, filepath.Join(root, "queue"), true)
	if err != nil {
		t.Fatal(err)
	}
	dir := directory.New(db)
	if err := dir.AddDomain(ctx, directory.Domain{Name: "local.test", Active: true}); err != nil {
		t.Fatal(err)
	}
	for _, m := range boxes {
		m.PasswordHash, m.Active = "x", true
		if _, err := dir.AddMailbox(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	buf := &testutil.Buffer{}
	bus, log := mlog.New(buf, "mx", slog.LevelDebug)
	w := &world{db: db, dir: dir, store: st, queue: q, log: buf, root: root}
	w.local = &Local{Store: st, Dir: dir, Log: log, Events: bus}
	w.router = &Router{Local: w.local, Store: st, Queue: q, Log: log, Events: bus}
	return w
}

// routed resolves addresses as the SMTP server does.
func (w *world) routed(t *testing.T, addrs ...string) []Routed {
	t.Helper()
	var out []Routed
	for _, a := range addrs {
		res, err := w.dir.Resolve(context.Background(), a, "+")
		if err != nil {
			t.Fatalf("resolve %s: %v", a, err)
		}
		for _, d := range res.Destinations {
			out = append(out, Routed{Rcpt: envelope.Recipient{Address: a}, Dest: d})
		}
	}
	return out
}

func newMessage(t *testing.T, body string, rcpts []Routed) *Message {
	t.Helper()
	sp := envelope.NewSpool(t.TempDir(), 1<<20, 0)
	if _, err := io.WriteString(sp, body); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sp.Close() })
	env := &envelope.Envelope{ID: envelope.NewID(), From: "a@sender.test", Received: time.Now()}
	return &Message{Env: env, Trace: []byte("Received: from sender.test by mail.local.test; now\r\n"), Body: sp, Rcpts: rcpts}
}

// messages returns the message files of a mailbox folder, read.
func (w *world) messages(t *testing.T, user, folder string) []string {
	t.Helper()
	a := store.Account{Username: user, Maildir: maildirOf(user)}
	msgs, _, err := w.store.Messages(context.Background(), a, folder)
	if err != nil {
		t.Fatalf("messages of %s %s: %v", user, folder, err)
	}
	var out []string
	for _, m := range msgs {
		f, err := w.store.OpenMessage(a, folder, m)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(f)
		f.Close()
		out = append(out, string(b))
	}
	return out
}

// maildirOf is the directory's default Maildir path of a mailbox.
func maildirOf(user string) string {
	local, domain, _ := strings.Cut(user, "@")
	return domain + "/" + local + "/"
}

// filesIn counts the files under a directory tree.
func filesIn(t *testing.T, root string) int {
	t.Helper()
	n := 0
	filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			n++
		}
		return nil
	})
	return n
}

func testConfig() *config.Config {
	cfg := config.Default()
	cfg.Hostname = "mail.local.test"
	return cfg
}
