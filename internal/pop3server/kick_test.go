package pop3server

import (
	"context"
	"testing"
	"time"

	"mailwarden/internal/sessions"
)

// A kick ends the kicked user's session with "-ERR" and without the
// UPDATE state (a DELE is not applied), and leaves the others alone.
func TestKick(t *testing.T) {
	var reg sessions.Registry
	h := start(t, nil, func(o *Options) { o.Sessions = &reg })
	h.store.add("alice@example.org", msg1)
	a := h.login(t, "alice@example.org")
	a.expect("DELE 1", "+OK")
	b := h.login(t, "bob@example.org")
	if who := reg.Who(); len(who) != 2 || who[0].User != "alice@example.org" || who[0].Protocol != "pop3" || who[0].Remote != loopback {
		t.Fatalf("Who = %+v", who)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if kicked, left := reg.Kick(ctx, sessions.ParseMatch("alice@example.org")); kicked != 1 || left != 0 {
		t.Fatalf("Kick = %d, %d; want 1, 0", kicked, left)
	}
	if l := a.line(); l != "-ERR Disconnected by the administrator." {
		t.Fatalf("kicked session got %q", l)
	}
	a.closed()
	h.waitLog(t, "pop3(alice@example.org): Disconnected: Kicked by the administrator top=0/0, retr=0/0, del=0/1")
	if _, expunged := h.store.calls("alice@example.org"); len(expunged) != 0 {
		t.Fatalf("a kick applied deletions: %v", expunged)
	}
	b.expect("NOOP", "+OK")
	if who := reg.Who(); len(who) != 1 || who[0].User != "bob@example.org" {
		t.Fatalf("Who after the kick = %+v", who)
	}
	// The mailbox lock went with the session: alice logs in again.
	h.login(t, "alice@example.org")
}
