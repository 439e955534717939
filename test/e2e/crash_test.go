package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// crashMsg is one message of the burst and what its client saw.
type crashMsg struct {
	ID    string
	To    []string
	Msg   string
	Acked bool
}

// TestCrashRecovery: ~10 Go net/smtp clients send a burst of 300 messages
// (every fifth to two mailboxes); after about 100 have been acknowledged
// with 250 the server is killed with SIGKILL. After a restart on the same
// data dir: every acknowledged message is in each of its recipients'
// Maildirs exactly once, unacknowledged ones at most once, nothing is in a
// mailbox it was not sent to, the index agrees with the files (a row per
// file, sizes, UIDs, quota2), and the server takes mail again. Three
// rounds, killed at different points, on the same data dir.
func TestCrashRecovery(t *testing.T) {
	t.Parallel()
	users := []string{"c0@dom.test", "c1@dom.test", "c2@dom.test"}
	s := startServer(t, options{}, func(s *server) {
		s.admin("domain", "add", "dom.test")
		for _, u := range users {
			s.addUser(u)
		}
	})
	var all []*crashMsg
	for round, killAfter := range []int{100, 37, 150} {
		msgs := crashBurst(t, s, users, round, killAfter)
		all = append(all, msgs...)
		before := strings.Count(s.Log(), "did not shut down cleanly")
		s.start()
		if strings.Count(s.Log(), "did not shut down cleanly") == before {
			t.Errorf("round %d: the restart after SIGKILL did not log a recovery", round)
		}
		checkCrashResult(t, s, users, all)
		s.checkIndex()
		if t.Failed() {
			return
		}
	}
	for _, u := range users {
		tmp := filepath.Join(s.mailDir(u), "tmp")
		if ents, err := os.ReadDir(tmp); err == nil && len(ents) > 0 {
			t.Logf("%s: %d leftover files (kept until 36h old, as Maildir wants)", tmp, len(ents))
		}
	}

	id := newMessageID("after-crash")
	s.send("sender@remote.example", users[0], message("sender@remote.example", users[0], "after", id, "alive again"),
		"--local-interface", "127.0.0.2")
	if n := len(s.findMessage(users[0], id)); n != 1 {
		t.Errorf("message after the restarts stored %d times, want 1", n)
	}
	s.checkIndex()
}

// crashBurst sends 300 messages over 10 connections and kills the server
// with SIGKILL once killAfter of them are acknowledged.
func crashBurst(t *testing.T, s *server, users []string, round, killAfter int) []*crashMsg {
	const total, clients = 300, 10
	msgs := make([]*crashMsg, total)
	for i := range msgs {
		to := []string{users[i%len(users)]}
		if i%5 == 0 {
			to = append(to, users[(i+1)%len(users)])
		}
		id := newMessageID(fmt.Sprintf("crash%d-%d", round, i))
		body := strings.Repeat(fmt.Sprintf("crash test message %d, a line of filler text.\n", i), 20+(i*37)%400)
		msgs[i] = &crashMsg{ID: id, To: to, Msg: message("sender@remote.example", strings.Join(to, ", "), "crash", id, body)}
	}
	var (
		mu     sync.Mutex
		acked  int
		next   int
		killed = make(chan struct{})
		enough = make(chan struct{})
	)
	take := func() *crashMsg {
		mu.Lock()
		defer mu.Unlock()
		if next == total {
			return nil
		}
		next++
		return msgs[next-1]
	}
	var wg sync.WaitGroup
	for w := 0; w < clients; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := smtpDial(s.Addr(), "127.0.0.2")
			if err != nil {
				return
			}
			defer func() { c.Close() }()
			for m := take(); m != nil; m = take() {
				if err := sendOn(c, "sender@remote.example", m.To, m.Msg); err != nil {
					select {
					case <-killed:
						return
					default:
					}
					// A refusal before the kill: note it and go on in a fresh
					// session.
					t.Errorf("%s before the kill: %v", m.ID, err)
					c.Close()
					if c, err = smtpDial(s.Addr(), "127.0.0.2"); err != nil {
						return
					}
					continue
				}
				mu.Lock()
				m.Acked = true
				acked++
				if acked == killAfter {
					close(enough)
				}
				mu.Unlock()
			}
		}()
	}
	select {
	case <-enough:
	case <-time.After(3 * time.Minute):
		mu.Lock()
		n := acked
		mu.Unlock()
		t.Fatalf("round %d: only %d of %d messages acknowledged after 3 minutes", round, n, killAfter)
	}
	close(killed)
	s.kill()
	wg.Wait()
	n := 0
	for _, m := range msgs {
		if m.Acked {
			n++
		}
	}
	t.Logf("round %d: SIGKILL after %d acknowledgements; %d acknowledged in all, %d handed to clients", round, killAfter, n, next)
	return msgs
}

// checkCrashResult compares the Maildirs with what the clients were told.
func checkCrashResult(t *testing.T, s *server, users []string, msgs []*crashMsg) {
	t.Helper()
	byUser := map[string]map[string]int{}
	for _, u := range users {
		byUser[u] = countByMessageID(s.inbox(u))
	}
	sentTo := map[string]map[string]bool{}
	lost, dup, unackedKept := 0, 0, 0
	for _, m := range msgs {
		sentTo[m.ID] = map[string]bool{}
		for _, u := range m.To {
			sentTo[m.ID][u] = true
			n := byUser[u][m.ID]
			switch {
			case m.Acked && n != 1:
				lost++
				t.Errorf("acknowledged %s is in %s's Maildir %d times, want exactly 1", m.ID, u, n)
			case n > 1:
				dup++
				t.Errorf("unacknowledged %s is in %s's Maildir %d times, want at most 1", m.ID, u, n)
			case !m.Acked && n == 1:
				unackedKept++
			}
		}
	}
	for u, ids := range byUser {
		for id := range ids {
			if !sentTo[id][u] {
				t.Errorf("%s holds %q, which was not sent to it", u, id)
			}
		}
	}
	if lost+dup > 0 {
		t.Errorf("%d acknowledged copies lost or duplicated, %d unacknowledged duplicated", lost, dup)
	}
	t.Logf("%d copies of unacknowledged messages were kept (allowed)", unackedKept)
}
