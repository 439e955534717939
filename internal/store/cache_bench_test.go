package store

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"mailwarden/internal/imapmsg"
	"mailwarden/internal/sqldb"
)

var benchStore struct {
	once sync.Once
	s    *Store
	a    Account
	uids []int64
	err  error
}

// benchMailbox returns a store whose INBOX holds 10,000 imported
// messages with headers like bench/imap.sh's, made once per test binary.
func benchMailbox(b *testing.B) (*Store, Account, []int64) {
	bs := &benchStore
	bs.once.Do(func() {
		dir, err := os.MkdirTemp("", "storebench")
		if err != nil {
			bs.err = err
			return
		}
		db, err := sqldb.Open(context.Background(), filepath.Join(dir, "t.db"))
		if err != nil {
			bs.err = err
			return
		}
		bs.s, bs.err = New(db, Options{Root: filepath.Join(dir, "mail"), Hostname: "mx.test"})
		if bs.err != nil {
			return
		}
		bs.a = Account{Username: "u@x.test", Maildir: "x.test/u/"}
		src := filepath.Join(dir, "src")
		for _, d := range []string{"cur", "new", "tmp"} {
			os.MkdirAll(filepath.Join(src, d), 0o700)
		}
		for i := range 10000 {
			msg := fmt.Sprintf("Received: from mx%d.example.org (mx.example.org [192.0.2.1])\r\n\tby mail.bench.test with ESMTPS id %X\r\n\tfor <u0@bench.test>; Mon, 15 Jan 2024 08:30:12 +0000\r\n"+
				"Return-Path: <alice.smith@example.org>\r\nDate: Mon, 15 Jan 2024 08:30:12 +0000\r\nFrom: Alice Smith <alice.smith@example.org>\r\n"+
				"To: Bench User <u0@bench.test>\r\nSubject: Weekly report meeting budget %d\r\nMessage-ID: <%d.%d@example.org>\r\n"+
				"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nlorem ipsum\r\n", i, i*7919, i, i, i)
			os.WriteFile(filepath.Join(src, "cur", fmt.Sprintf("%d.M%dP1.host:2,S", 1600000000+i, i)), []byte(msg), 0o600)
		}
		if _, bs.err = bs.s.Import(context.Background(), bs.a, src); bs.err != nil {
			return
		}
		msgs, _, err := bs.s.Messages(context.Background(), bs.a, "INBOX")
		bs.err = err
		for _, m := range msgs {
			bs.uids = append(bs.uids, m.UID)
		}
	})
	if bs.err != nil {
		b.Fatal(bs.err)
	}
	return bs.s, bs.a, bs.uids
}

// BenchmarkIndexReads times reading a 10,000-message folder the ways an
// IMAP session does: SELECT (Messages, View), then 500 messages at a time
// the rows FETCH and SEARCH read (MessagesWith).
func BenchmarkIndexReads(b *testing.B) {
	s, a, uids := benchMailbox(b)
	ctx := context.Background()
	chunked := func(f func([]int64) ([]Msg, error)) func(b *testing.B) {
		return func(b *testing.B) {
			for b.Loop() {
				for i := 0; i < len(uids); i += 500 {
					if _, err := f(uids[i:min(i+500, len(uids))]); err != nil {
						b.Fatal(err)
					}
				}
			}
		}
	}
	b.Run("Messages", func(b *testing.B) {
		for b.Loop() {
			if _, _, err := s.Messages(ctx, a, "INBOX"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("View", func(b *testing.B) {
		for b.Loop() {
			if _, _, err := s.View(ctx, a, "INBOX"); err != nil {
				b.Fatal(err)
			}
		}
	})
	for _, p := range []struct {
		name  string
		parts Parts
	}{{"Meta", PartSize | PartDate}, {"Envelope", PartEnvelope}, {"Fields", PartFields}, {"DateFields", PartDate | PartFields}} {
		b.Run(p.name, chunked(func(u []int64) ([]Msg, error) { return s.MessagesWith(ctx, a, "INBOX", u, p.parts) }))
	}
}

// BenchmarkDeliver is the CPU cost of delivering one 5 KB message (no
// fsync): file, header cache, index row.
func BenchmarkDeliver(b *testing.B) {
	dir := b.TempDir()
	db, err := sqldb.Open(context.Background(), filepath.Join(dir, "t.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	s, err := New(db, Options{Root: filepath.Join(dir, "mail"), Hostname: "mx.test"})
	if err != nil {
		b.Fatal(err)
	}
	body := []byte("Date: Mon, 15 Jan 2024 08:30:12 +0000\r\nFrom: Alice Smith <alice.smith@example.org>\r\n" +
		"To: Bench User <u0@bench.test>\r\nSubject: Weekly report meeting budget\r\nMessage-ID: <1.2@example.org>\r\n" +
		"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n")
	for len(body) < 5120 {
		body = append(body, "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor\r\n"...)
	}
	trace := []byte("Received: from client.example (client.example [192.0.2.1])\r\n\tby mx.test with ESMTP id 1234; Mon, 15 Jan 2024 08:30:12 +0000\r\n")
	tg := []Target{{Username: "u@x.test", Maildir: "x.test/u/", Folder: "INBOX", DeliveredTo: "u@x.test"}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Deliver(context.Background(), "s@y.test", tg, trace, memBody(body)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkInsertMessage is the index work of one new message, in one
// long transaction (no commit, so no fsync): what a delivery adds to its
// group commit.
func BenchmarkInsertMessage(b *testing.B) {
	dir := b.TempDir()
	db, err := sqldb.Open(context.Background(), filepath.Join(dir, "t.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	s, err := New(db, Options{Root: filepath.Join(dir, "mail"), Hostname: "mx.test"})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	if err := s.EnsureMailbox(ctx, "u@x.test", "x.test/u/"); err != nil {
		b.Fatal(err)
	}
	c := imapmsg.NewCache(bench5KHeader, false)
	tx, err := db.Write.BeginTx(ctx, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer tx.Rollback()
	for i := 0; b.Loop(); i++ {
		if _, _, _, err := s.insertMessage(ctx, tx, "u@x.test", "INBOX", fmt.Sprintf("new/%d", i), 5120, 1700000000, "", &c); err != nil {
			b.Fatal(err)
		}
	}
}

var bench5KHeader = []byte("Return-Path: <s@y.test>\r\nDelivered-To: u@x.test\r\nDate: Mon, 15 Jan 2024 08:30:12 +0000\r\n" +
	"From: Alice Smith <alice.smith@example.org>\r\nTo: Bench User <u0@bench.test>\r\nSubject: Weekly report meeting budget\r\n" +
	"Message-ID: <1.2@example.org>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n")
