package pop3server

import (
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"mailwarden/internal/config"
)

// FuzzCommands feeds command lines through a real session on a plaintext
// loopback connection (plaintext logins allowed there) and checks that
// nothing panics, the session ends, and deletions happen only after QUIT.
// Inputs that log in cost an argon2id verification (~30 ms) each, so this
// runs at some hundreds of inputs a second per worker.
func FuzzCommands(f *testing.F) {
	for _, seed := range []string{
		"CAPA\nUSER alice@example.org\nPASS secret\nSTAT\nLIST\nUIDL\nRETR 1\nTOP 2 1\nDELE 1\nRSET\nDELE 2\nQUIT",
		"AUTH PLAIN AGFsaWNlQGV4YW1wbGUub3JnAHNlY3JldA==\nLIST 3\nUIDL 2\nRETR 3\nTOP 3 0\nDELE 9\nNOOP\nQUIT",
		"AUTH PLAIN\nAGFsaWNlQGV4YW1wbGUub3JnAHNlY3JldA==\nRETR 2\nDELE 1\nDELE 1\nLIST 1",
		"AUTH\nAUTH PLAIN\n*\nAUTH PLAIN =\nAUTH X\nUSER\nPASS\nSTLS\nQUIT",
		"USER bob@example.org\nPASS wrong\nUSER bob@example.org\nPASS secret\nTOP\nTOP 1 x\nRETR -1\nLIST +1\nQUIT",
		"\n\n\x00\r\nuser alice@example.org\npass secret\nstat\nquit",
	} {
		f.Add(seed)
	}
	h := start(f, func(c *config.Config) {
		c.Auth.AllowPlaintextLoopback = true
		c.POP3.MaxConnectionsPerIP = 1000
		c.POP3.Timeout = config.Duration(2 * time.Second)
		c.Auth.FailureDelay = 0
	})
	f.Fuzz(func(t *testing.T, script string) {
		if len(script) > 4096 || strings.Count(script, "\n") > 64 {
			return
		}
		h.logs.Reset()
		h.store.mu.Lock()
		h.store.boxes = map[string]*fakeBox{}
		h.store.expunged = map[string][]int64{}
		h.store.mu.Unlock()
		h.store.add("alice@example.org", msg1, msg2, msg3)
		h.store.add("bob@example.org", msg1)
		conn, err := net.Dial("tcp", h.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(15 * time.Second))
		go func() {
			io.WriteString(conn, strings.ReplaceAll(script, "\n", "\r\n")+"\r\n")
			conn.(*net.TCPConn).CloseWrite()
		}()
		out, _ := io.ReadAll(conn)
		replies := string(out)
		if strings.Contains(h.logs.String(), "panic") {
			t.Fatalf("panic:\n%s", h.logs.String())
		}
		if !strings.HasPrefix(replies, "+OK Mailwarden ready.\r\n") {
			t.Fatalf("replies:\n%q", replies)
		}
		// Wait for the session's end (its lock and updates) before the next
		// input reuses the store.
		for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
			if h.srv.ns.Idle() {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("session did not end")
			}
		}
		_, expunged := h.store.calls("alice@example.org")
		_, expungedBob := h.store.calls("bob@example.org")
		if len(expunged)+len(expungedBob) > 0 && !strings.Contains(replies, "+OK Logging out, messages deleted.") {
			t.Fatalf("expunged %v %v without QUIT:\n%s", expunged, expungedBob, replies)
		}
	})
}
