package e2e

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestQuota: a mailbox created with --quota 2K takes ~800-byte messages
// until the next one would not fit, then the sender gets 552 5.2.2 and the
// mailbox never holds more than 2K; a message to the full mailbox and a
// roomy one still reaches the roomy one; after over_quota_tempfail = true
// and SIGHUP the refusal is 452 4.2.2; `user quota` on the running server
// makes room again.
func TestQuota(t *testing.T) {
	t.Parallel()
	s := startServer(t, options{}, func(s *server) {
		s.admin("domain", "add", "dom.test")
		s.addUser("small@dom.test", "--quota", "2K")
		s.addUser("alice@dom.test")
	})
	body := strings.Repeat("quota filler line, quota filler line, quota filler line.\n", 6)
	var lastID string
	try := func(s *server, to string) swaksResult {
		s.t.Helper()
		lastID = newMessageID("quota")
		msg := message("sender@remote.example", to, "quota", lastID, body)
		return s.swaks("--local-interface", "127.0.0.2", "--from", "sender@remote.example", "--to", to,
			"--data", "@"+s.writeMessage(msg))
	}
	refusedWith := func(r swaksResult, reply string) bool {
		return (r.Code == 24 || r.Code == 26) && strings.Contains(r.Out, reply)
	}

	accepted := 0
	var refusal *swaksResult
	for i := 0; i < 10 && refusal == nil; i++ {
		r := try(s, "small@dom.test")
		switch {
		case r.Code == 0:
			accepted++
		case refusedWith(r, "552 5.2.2"):
			refusal = &r
		default:
			t.Fatalf("message %d to a 2K mailbox: swaks exit %d, want 0 or a 552 5.2.2 refusal:\n%s", i+1, r.Code, r.Out)
		}
	}
	if refusal == nil {
		t.Fatalf("10 messages of ~800 bytes accepted into a 2K mailbox; want 552 5.2.2 once it is full")
	}
	if accepted == 0 {
		t.Fatalf("the first ~800-byte message to an empty 2K mailbox was refused:\n%s", refusal.Out)
	}
	t.Logf("%d messages accepted before 552 5.2.2", accepted)
	if n := len(s.inbox("small@dom.test")); n != accepted {
		t.Errorf("small's INBOX holds %d messages, %d were accepted", n, accepted)
	}
	db := s.openDB()
	var used, msgs int64
	if err := db.QueryRow(`SELECT bytes, messages FROM quota2 WHERE username = 'small@dom.test'`).Scan(&used, &msgs); err != nil {
		t.Fatal(err)
	}
	if used > 2048 || msgs != int64(accepted) {
		t.Errorf("quota2: %d bytes in %d messages; want at most 2048 bytes in %d messages", used, msgs, accepted)
	}
	if ul := s.admin("user", "list"); !regexp.MustCompile(`small@dom\.test\s+2K\s+[\d.]+[BKMGT]\s+` + strconv.Itoa(accepted) + `\s`).MatchString(ul) {
		t.Errorf("user list does not show small@dom.test with quota 2K and %d messages:\n%s", accepted, ul)
	}

	t.Run("full and roomy recipients", func(t *testing.T) {
		s := s.on(t)
		id := newMessageID("both")
		msg := message("sender@remote.example", "small@dom.test, alice@dom.test", "both", id, body)
		r := s.swaks("--local-interface", "127.0.0.2", "--from", "sender@remote.example",
			"--to", "small@dom.test,alice@dom.test", "--data", "@"+s.writeMessage(msg))
		if r.Code != 0 {
			t.Fatalf("a message to a full and a roomy mailbox: swaks exit %d, want 0:\n%s", r.Code, r.Out)
		}
		if n := len(s.findMessage("alice@dom.test", id)); n != 1 {
			t.Errorf("alice got %d copies, want 1", n)
		}
		if n := len(s.findMessage("small@dom.test", id)); n != 0 {
			t.Errorf("the full mailbox got the message anyway")
		}
	})

	t.Run("tempfail after reload", func(t *testing.T) {
		s := s.on(t)
		s.setOptions(options{Delivery: []string{"over_quota_tempfail = true"}})
		s.reload()
		r := try(s, "small@dom.test")
		if !refusedWith(r, "452 4.2.2") {
			t.Fatalf("with over_quota_tempfail: swaks exit %d, want 24 or 26 with 452 4.2.2:\n%s", r.Code, r.Out)
		}
	})

	t.Run("raised with the CLI while running", func(t *testing.T) {
		s := s.on(t)
		s.admin("user", "quota", "small@dom.test", "1M")
		if r := try(s, "small@dom.test"); r.Code != 0 {
			t.Fatalf("after `user quota small@dom.test 1M`: swaks exit %d, want 0:\n%s", r.Code, r.Out)
		}
		if n := len(s.findMessage("small@dom.test", lastID)); n != 1 {
			t.Errorf("the message accepted after raising the quota is stored %d times, want 1", n)
		}
	})
	s.checkIndex()
}
