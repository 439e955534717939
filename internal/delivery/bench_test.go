package delivery

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mailwarden/internal/directory"
	"mailwarden/internal/envelope"
	"mailwarden/internal/queue"
	"mailwarden/internal/sqldb"
	"mailwarden/internal/store"
)

// BenchmarkRouterDeliver measures handing one 5 KB message over: to 1
// and 5 local mailboxes, and to one remote recipient (the queue). Files
// are not fsync'd, so the figures are the code's cost, not the disk's.
func BenchmarkRouterDeliver(b *testing.B) {
	body := "Subject: bench\r\nFrom: a@y.test\r\n\r\n" + strings.Repeat("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde\r\n", 80)
	for _, c := range []struct {
		name   string
		local  int
		remote int
	}{{"local1", 1, 0}, {"local5", 5, 0}, {"queued", 0, 1}} {
		b.Run(c.name, func(b *testing.B) {
			r := benchRouter(b)
			var rcpts []Routed
			for i := range c.local {
				u := fmt.Sprintf("u%d@x.test", i)
				rcpts = append(rcpts, Routed{Rcpt: envelope.Recipient{Address: u},
					Dest: directory.Destination{Kind: directory.Local, Address: u,
						Mailbox: directory.Mailbox{Username: u, Maildir: fmt.Sprintf("x.test/u%d/", i)}}})
			}
			for i := range c.remote {
				a := fmt.Sprintf("r%d@remote.test", i)
				rcpts = append(rcpts, Routed{Rcpt: envelope.Recipient{Address: a}, Dest: directory.Destination{Kind: directory.Remote, Address: a}})
			}
			ctx := context.Background()
			spoolDir := b.TempDir()
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				sp := envelope.NewSpool(spoolDir, 256<<10, 0)
				io.WriteString(sp, body)
				env := &envelope.Envelope{ID: envelope.NewID(), From: "a@y.test", Received: time.Now(), Helo: "y.test", Protocol: "ESMTP"}
				msg := &Message{Env: env, Trace: []byte("Received: from y.test by x.test; now\r\n"), Body: sp, Rcpts: rcpts}
				if err := r.Deliver(ctx, msg); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func benchRouter(b *testing.B) *Router {
	dir := b.TempDir()
	db, err := sqldb.Open(context.Background(), filepath.Join(dir, "db.sqlite"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	st, err := store.New(db, store.Options{Root: filepath.Join(dir, "mail"), Hostname: "x.test"})
	if err != nil {
		b.Fatal(err)
	}
	q, err := queue.New(db, filepath.Join(dir, "queue"), false)
	if err != nil {
		b.Fatal(err)
	}
	return &Router{Store: st, Queue: q, Log: slog.New(slog.DiscardHandler)}
}
