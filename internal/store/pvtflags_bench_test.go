package store

import (
	"context"
	"sync"
	"testing"
)

var pvtBench sync.Once

// benchViewer is a reader of benchMailbox's INBOX with its own \Seen on
// every other message (5,000 rows).
func benchViewer(b *testing.B) (*Store, Account, []int64) {
	s, a, uids := benchMailbox(b)
	v := a
	v.Viewer = "v@x.test"
	pvtBench.Do(func() {
		var half []int64
		for i, u := range uids {
			if i%2 == 0 {
				half = append(half, u)
			}
		}
		if _, _, err := s.StoreFlags(context.Background(), v, "INBOX", half, FlagsAdd, []string{`\Seen`}, 0); err != nil {
			b.Fatal(err)
		}
	})
	return s, v, uids
}

// BenchmarkViewOwner and BenchmarkViewViewer: what SELECT reads of a
// folder of 10,000 messages, for its owner and for a user with its own
// \Seen there.
func BenchmarkViewOwner(b *testing.B) {
	s, a, _ := benchMailbox(b)
	for b.Loop() {
		if _, _, err := s.View(context.Background(), a, "INBOX"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkViewViewer(b *testing.B) {
	s, v, _ := benchViewer(b)
	for b.Loop() {
		msgs, fi, err := s.View(context.Background(), v, "INBOX")
		if err != nil || fi.Unseen != 5000 || len(msgs) != 10000 {
			b.Fatalf("%d messages, %d unseen, %v", len(msgs), fi.Unseen, err)
		}
	}
}

// BenchmarkStoreSeenOwner and BenchmarkStoreSeenViewer: one STORE
// toggling \Seen of a message.
func BenchmarkStoreSeenOwner(b *testing.B) {
	s, a, uids := benchMailbox(b)
	benchToggle(b, s, a, uids[1])
}

func BenchmarkStoreSeenViewer(b *testing.B) {
	s, v, uids := benchViewer(b)
	benchToggle(b, s, v, uids[1])
}

func benchToggle(b *testing.B, s *Store, a Account, uid int64) {
	op := FlagsRemove
	for b.Loop() {
		if op == FlagsRemove {
			op = FlagsAdd
		} else {
			op = FlagsRemove
		}
		if _, _, err := s.StoreFlags(context.Background(), a, "INBOX", []int64{uid}, op, []string{`\Seen`}, 0); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStatusViewer: STATUS UNSEEN for a user with its own \Seen.
func BenchmarkStatusViewer(b *testing.B) {
	s, v, _ := benchViewer(b)
	for b.Loop() {
		if _, err := s.Folder(context.Background(), v, "INBOX"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkStatusOwner(b *testing.B) {
	s, a, _ := benchMailbox(b)
	for b.Loop() {
		if _, err := s.Folder(context.Background(), a, "INBOX"); err != nil {
			b.Fatal(err)
		}
	}
}
