package store

import (
	"context"
	"fmt"
	"math/rand"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestConcurrentMonotonicity runs deliveries, appends, flag changes,
// expunges and moves at once on two folders and checks that UIDs are never
// reused, MODSEQs are strictly increasing per folder, snapshots are
// consistent, files agree with the index and the quota usage with the
// messages.
func TestConcurrentMonotonicity(t *testing.T) {
	ctx := context.Background()
	s, a := newAccount(t)
	const workers, rounds = 6, 25
	folders := []string{"INBOX", "Trash"}
	var mu sync.Mutex
	assigned := map[string]map[int64]bool{"INBOX": {}, "Trash": {}}
	record := func(folder string, uids ...int64) error {
		mu.Lock()
		defer mu.Unlock()
		for _, u := range uids {
			if assigned[folder][u] {
				return fmt.Errorf("%s: uid %d handed out twice", folder, u)
			}
			assigned[folder][u] = true
		}
		return nil
	}
	var stop atomic.Bool
	var observers sync.WaitGroup
	errs := make(chan error, 100)
	for _, f := range folders {
		observers.Add(1)
		go func(f string) {
			defer observers.Done()
			var lastNext, lastMod int64
			for !stop.Load() {
				msgs, fi, err := s.Messages(ctx, a, f)
				if err != nil {
					errs <- err
					return
				}
				if fi.UIDNext < lastNext || fi.HighestModSeq < lastMod {
					errs <- fmt.Errorf("%s went back: uidnext %d->%d modseq %d->%d", f, lastNext, fi.UIDNext, lastMod, fi.HighestModSeq)
					return
				}
				lastNext, lastMod = fi.UIDNext, fi.HighestModSeq
				time.Sleep(time.Millisecond)
				for _, m := range msgs {
					if m.UID >= fi.UIDNext || m.ModSeq > fi.HighestModSeq {
						errs <- fmt.Errorf("%s: inconsistent snapshot: %+v with %+v", f, m, fi)
						return
					}
				}
			}
		}(f)
	}
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			r := rand.New(rand.NewSource(int64(w)))
			for i := 0; i < rounds; i++ {
				if err := concurrentStep(ctx, s, a, r, w, record); err != nil {
					errs <- err
					return
				}
			}
		}(w)
	}
	wg.Wait()
	stop.Store(true)
	observers.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	var sum, count int64
	for _, f := range folders {
		checkFolderInvariants(t, s, a, f, assigned[f])
		msgs, _ := mustMessages(t, s, a, f)
		for _, m := range msgs {
			sum += m.Size
			count++
		}
		checkFilesMatchIndex(t, s, a, f)
	}
	if used, n, _ := s.Usage(ctx, a.Username); used != sum || n != count {
		t.Fatalf("quota2 %d/%d, messages %d/%d", used, n, sum, count)
	}
}

// concurrentStep does one random operation.
func concurrentStep(ctx context.Context, s *Store, a Account, r *rand.Rand, w int, record func(string, ...int64) error) error {
	folder := []string{"INBOX", "Trash"}[r.Intn(2)]
	msgs, _, err := s.Messages(ctx, a, folder)
	if err != nil {
		return err
	}
	pick := func() []int64 {
		var out []int64
		for _, m := range msgs {
			if r.Intn(3) == 0 {
				out = append(out, m.UID)
			}
		}
		return out
	}
	switch r.Intn(6) {
	case 0:
		tg := Target{Username: a.Username, Maildir: a.Maildir, Folder: folder, DeliveredTo: a.Username}
		d, err := s.Deliver(ctx, "", []Target{tg}, nil, memBody(fmt.Sprintf("w%d\r\n", w)))
		if err != nil {
			return err
		}
		return record(folder, d[0].UID)
	case 1:
		uid, _, err := s.Append(ctx, a, folder, []string{`\Seen`}, time.Time{}, memBody("append\r\n"), 0)
		if err != nil {
			return err
		}
		return record(folder, uid)
	case 2, 3:
		op := []FlagOp{FlagsAdd, FlagsRemove, FlagsSet}[r.Intn(3)]
		flags := [][]string{{`\Deleted`}, {`\Seen`, `$X`}, {`\Flagged`}}[r.Intn(3)]
		_, _, err := s.StoreFlags(ctx, a, folder, pick(), op, flags, 0)
		return err
	case 4:
		_, err := s.Expunge(ctx, a, folder, nil)
		return err
	default:
		to := map[string]string{"INBOX": "Trash", "Trash": "INBOX"}[folder]
		_, _, dst, err := s.Move(ctx, a, folder, to, pick())
		if err != nil {
			return err
		}
		return record(to, dst...)
	}
}

// checkFolderInvariants checks a folder's final index: every UID handed
// out is either present or expunged, never both; MODSEQs are unique and
// not above HIGHESTMODSEQ; UIDs are below UIDNEXT.
func checkFolderInvariants(t *testing.T, s *Store, a Account, folder string, assigned map[int64]bool) {
	t.Helper()
	msgs, fi := mustMessages(t, s, a, folder)
	_, vanished, _, err := s.Changes(context.Background(), a, folder, 0)
	if err != nil {
		t.Fatal(err)
	}
	present := map[int64]bool{}
	for _, m := range msgs {
		present[m.UID] = true
	}
	for _, u := range vanished {
		if present[u] {
			t.Fatalf("%s: uid %d both present and expunged", folder, u)
		}
		present[u] = true
	}
	for u := range assigned {
		if !present[u] {
			t.Fatalf("%s: uid %d lost (neither present nor expunged)", folder, u)
		}
	}
	modseqs := map[int64]bool{}
	var ms []int64
	for _, m := range msgs {
		ms = append(ms, m.ModSeq)
		if m.UID >= fi.UIDNext {
			t.Fatalf("%s: uid %d >= uidnext %d", folder, m.UID, fi.UIDNext)
		}
	}
	rows, err := s.db.Read.Query(`SELECT e.modseq FROM mail_expunged e JOIN mail_folder f ON f.id=e.folder_id WHERE f.username=? AND f.name=?`, a.Username, folder)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var m int64
		rows.Scan(&m)
		ms = append(ms, m)
	}
	for _, m := range ms {
		if modseqs[m] || m > fi.HighestModSeq {
			t.Fatalf("%s: modseq %d repeated or above %d", folder, m, fi.HighestModSeq)
		}
		modseqs[m] = true
	}
}
