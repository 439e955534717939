package imapserver

import (
	"context"
	"testing"
	"time"

	"mailwarden/internal/sessions"
)

// A kick ends the kicked user's sessions with "* BYE" — one waiting for
// a command and one in IDLE — and leaves the others alone; sessions not
// logged in are not registered.
func TestKick(t *testing.T) {
	var reg sessions.Registry
	h := start(t, nil, func(o *Options) { o.Sessions = &reg })
	a1 := h.login(t, "alice@example.org")
	a2 := h.login(t, "alice@example.org")
	a2.ok("SELECT INBOX")
	a2.send("i1 IDLE")
	if l := a2.line(); l != "+ idling" {
		t.Fatalf("IDLE: %q", l)
	}
	b := h.login(t, "bob@example.org")
	h.dial(t) // not logged in
	who := reg.Who()
	if len(who) != 3 || who[0].User != "alice@example.org" || who[2].User != "bob@example.org" || who[0].Protocol != "imap" {
		t.Fatalf("Who = %+v", who)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if kicked, left := reg.Kick(ctx, sessions.Match{User: "alice@example.org"}); kicked != 2 || left != 0 {
		t.Fatalf("Kick = %d, %d; want 2, 0", kicked, left)
	}
	for _, c := range []*client{a1, a2} {
		if l := c.line(); l != "* BYE Disconnected by the administrator." {
			t.Fatalf("kicked session got %q", l)
		}
		if l, err := c.br.ReadString('\n'); err == nil {
			t.Fatalf("kicked session still open: %q", l)
		}
	}
	h.waitLog(t, "imap(alice@example.org): Disconnected: Kicked by the administrator in=")
	b.ok("NOOP")
	if who := reg.Who(); len(who) != 1 || who[0].User != "bob@example.org" {
		t.Fatalf("Who after the kick = %+v", who)
	}
	b.ok("LOGOUT")
	for deadline := time.Now().Add(5 * time.Second); reg.Len() > 0 && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
	if reg.Len() != 0 {
		t.Fatalf("after LOGOUT: %+v", reg.Who())
	}
}
