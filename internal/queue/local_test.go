package queue

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mailwarden/internal/directory"
	"mailwarden/internal/store"
)

// TestStoreLocal: a copy for a full mailbox waits in the queue and lands
// in the store once the quota is raised; a bounce for a local sender is
// routed to the sender's mailbox.
func TestStoreLocal(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	dir := directory.New(e.q.db)
	st, err := store.New(e.q.db, store.Options{Root: filepath.Join(t.TempDir(), "mail"), Hostname: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if err := dir.AddDomain(ctx, directory.Domain{Name: "local.test", Active: true}); err != nil {
		t.Fatal(err)
	}
	for _, m := range []directory.Mailbox{
		{Username: "box@local.test", PasswordHash: "x", Quota: 10, Active: true},
		{Username: "me@local.test", PasswordHash: "x", Active: true},
	} {
		if _, err := dir.AddMailbox(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	sl := StoreLocal{Dir: dir, Store: st}
	o := e.options()
	o.Local, o.Route = sl.Deliver, sl.Route
	r := e.start(t, o)

	id := enqueue(t, e.q, "a@sender.test", time.Now(), "local:box@local.test")
	waitFor(t, "deferral", func() bool { return rcptState(t, e.q, id, "box@local.test").Status == StatusDeferred })
	if got := rcptState(t, e.q, id, "box@local.test"); got.DSN != "4.2.2" {
		t.Errorf("full mailbox: %+v", got)
	}
	if err := dir.SetQuota(ctx, "box@local.test", 0); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(6 * time.Minute)
	r.Kick()
	waitFor(t, "delivery", func() bool { return len(entries(t, e.q)) == 0 })
	if _, n, err := st.Usage(ctx, "box@local.test"); err != nil || n != 1 {
		t.Errorf("box has %d messages (%v)", n, err)
	}

	// A bounce to a local sender goes to its mailbox.
	e.sink.setRcptErr("b@example.net", reply(550, "no such user"))
	enqueue(t, e.q, "me@local.test", time.Now(), "b@example.net")
	waitFor(t, "bounce in the mailbox", func() bool {
		_, n, err := st.Usage(ctx, "me@local.test")
		return err == nil && n == 1
	})
	waitFor(t, "queue empty", func() bool { return len(entries(t, e.q)) == 0 })
	if !strings.Contains(e.log.String(), "relay=local") {
		t.Errorf("log:\n%s", e.log.String())
	}
}
