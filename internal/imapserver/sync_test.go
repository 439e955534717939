package imapserver

import (
	"context"
	"strings"
	"testing"
	"time"

	"mailwarden/internal/config"
)

func TestTwoSessions(t *testing.T) {
	h := start(t, nil)
	for i := 1; i <= 4; i++ {
		h.deliver(t, "alice@example.org", "INBOX", testMessage(i))
	}
	a := h.login(t, "alice@example.org")
	b := h.login(t, "alice@example.org")
	a.ok("SELECT INBOX")
	b.ok("SELECT INBOX")

	// Flags set by a reach b at its next command.
	a.ok(`STORE 2 +FLAGS.SILENT (\Seen)`)
	b.expect("NOOP", `* 2 FETCH (UID 2 FLAGS (\Seen))`, "OK Noop completed.")

	// An expunge by a is withheld from b during FETCH, STORE and SEARCH
	// by sequence number, but EXISTS and flag changes are not.
	a.ok(`STORE 1,3 +FLAGS.SILENT (\Deleted)`)
	a.expect("EXPUNGE", "* 3 EXPUNGE", "* 1 EXPUNGE", "OK Expunge completed.")
	h.deliver(t, "alice@example.org", "INBOX", testMessage(5))
	time.Sleep(50 * time.Millisecond)
	b.expect("FETCH 4 (UID)", "* 4 FETCH (UID 4)", "* 5 EXISTS", "* 1 RECENT", "OK Fetch completed.")
	// The expunged message is still there for b, without its file.
	b.expect("FETCH 1 (UID FLAGS)", `* 1 FETCH (UID 1 FLAGS ())`, "OK Fetch completed.")
	b.expect("FETCH 1 BODY.PEEK[]", "NO [EXPUNGEISSUED] Some of the requested messages no longer exist.")
	b.expect("SEARCH ALL", "* SEARCH 1 2 3 4 5", "OK Search completed.")
	// UID FETCH may expunge.
	b.expect("UID FETCH 4 UID", "* 4 FETCH (UID 4)", "* 3 EXPUNGE", "* 1 EXPUNGE", "OK Fetch completed.")
	b.expect("FETCH 1:* UID", "* 1 FETCH (UID 2)", "* 2 FETCH (UID 4)", "* 3 FETCH (UID 5)", "OK Fetch completed.")
}

func TestIdle(t *testing.T) {
	h := start(t, nil)
	h.deliver(t, "alice@example.org", "INBOX", testMessage(1))
	c := h.login(t, "alice@example.org")
	c.ok("SELECT INBOX")
	c.send("i1 IDLE")
	if l := c.line(); l != "+ idling" {
		t.Fatalf("got %q", l)
	}
	h.deliver(t, "alice@example.org", "INBOX", testMessage(2))
	c.conn.SetReadDeadline(time.Now().Add(time.Second)) // a delivery reaches IDLE within a second
	for _, want := range []string{"* 2 EXISTS", "* 2 RECENT"} {
		if l := c.line(); l != want {
			t.Fatalf("got %q, want %q", l, want)
		}
	}
	o := h.login(t, "alice@example.org")
	o.ok("SELECT INBOX")
	o.ok(`STORE 1 +FLAGS.SILENT (\Deleted)`)
	if l := c.line(); l != `* 1 FETCH (UID 1 FLAGS (\Deleted \Recent))` {
		t.Fatalf("got %q", l)
	}
	o.ok("EXPUNGE")
	if l := c.line(); l != "* 1 EXPUNGE" {
		t.Fatalf("got %q", l)
	}
	c.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	c.send("DONE")
	if _, tagged := c.until("i1"); tagged != "OK Idle completed." {
		t.Fatalf("got %q", tagged)
	}
	c.send("i2 IDLE")
	c.line()
	c.send("NOPE")
	if _, tagged := c.until("i2"); tagged != "BAD Expected DONE." {
		t.Fatalf("got %q", tagged)
	}
}

func TestIdleShutdownAndTimeout(t *testing.T) {
	h := start(t, nil)
	c := h.login(t, "alice@example.org")
	c.send("i1 IDLE")
	c.line()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := h.srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if l := c.line(); l != "* BYE Server shutting down." {
		t.Fatalf("got %q", l)
	}
	h.waitLog(t, "imap(alice@example.org): Disconnected: Server shutting down in=")
}

func TestAutologout(t *testing.T) {
	h := start(t, func(c *config.Config) { c.IMAP.IdleTimeout = config.Duration(300 * time.Millisecond) })
	c := h.login(t, "alice@example.org")
	if l := c.line(); l != "* BYE Disconnected for inactivity." {
		t.Fatalf("got %q", l)
	}
	h.waitLog(t, "imap(alice@example.org): Disconnected: Inactivity in=")
}

func TestMailboxDeletedWhileSelected(t *testing.T) {
	h := start(t, nil)
	a := h.login(t, "alice@example.org")
	b := h.login(t, "alice@example.org")
	a.ok("CREATE Work")
	a.ok("SELECT Work")
	b.ok("DELETE Work")
	a.send("a1 NOOP")
	if l := a.line(); !strings.HasPrefix(l, "* BYE Selected mailbox was deleted") {
		t.Fatalf("got %q", l)
	}
	b.ok("CREATE Work2")
	b.ok("SELECT Work2")
	b.expect("DELETE Work2", "* OK [CLOSED] Selected mailbox was deleted.", "OK Delete completed.")
	b.expect("NOOP", "OK Noop completed.")
}
