package delivery

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mailwarden/internal/directory"
	"mailwarden/internal/smtpclient"
	"mailwarden/internal/testutil"
)

// TestNextHopLMTP: recipients a Choose hook sends to a next hop (a real
// Dovecot over LMTP) are handed over in the same transaction as the local
// copies; a hop that cannot be reached fails the whole message and
// leaves no local copy.
func TestNextHopLMTP(t *testing.T) {
	dc := testutil.StartDovecot(t, testutil.DovecotOptions{
		Protocols:    "lmtp",
		MailLocation: "maildir:~/Maildir",
		UserHome:     "%HOME%/%d/%n",
		Extra:        "service lmtp {\n  unix_listener lmtp {\n    mode = 0666\n  }\n}\n",
	})
	socket := filepath.Join(dc.Base, "run", "lmtp")
	for i := 0; ; i++ {
		if _, err := os.Stat(socket); err == nil {
			break
		}
		if i == 100 {
			t.Fatalf("dovecot's LMTP socket did not appear: %s", dc.Log())
		}
		time.Sleep(50 * time.Millisecond)
	}
	w := newWorld(t, directory.Mailbox{Username: "alice@local.test"})
	ctx := context.Background()
	hop := &NextHop{Hop: smtpclient.Hop{LMTP: true, Unix: socket},
		Options: func() smtpclient.Options { return smtpclient.Options{HeloName: "mail.local.test", TLS: "none"} }}
	w.router.Choose = func(_ *Message, rc Routed) Target {
		if strings.HasSuffix(rc.Dest.Address, "@lmtp.test") {
			return hop
		}
		return nil
	}
	rcpts := append(w.routed(t, "alice@local.test"), remote("bob@lmtp.test"))
	if err := w.router.Deliver(ctx, newMessage(t, testBody, rcpts)); err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(filepath.Join(dc.Home, "lmtp.test", "bob", "Maildir", "new"))
	if len(ents) != 1 {
		t.Fatalf("Dovecot holds %d messages for bob, want 1; log:\n%s", len(ents), dc.Log())
	}
	b, _ := os.ReadFile(filepath.Join(dc.Home, "lmtp.test", "bob", "Maildir", "new", ents[0].Name()))
	if !strings.Contains(string(b), "Received: from sender.test by mail.local.test") || !strings.Contains(string(b), "body line") {
		t.Errorf("bob's copy at the hop:\n%s", b)
	}
	if n := len(w.messages(t, "alice@local.test", "INBOX")); n != 1 {
		t.Errorf("alice holds %d messages, want 1", n)
	}

	hop.Hop.Unix = filepath.Join(t.TempDir(), "nowhere")
	if err := w.router.Deliver(ctx, newMessage(t, testBody, rcpts)); err == nil {
		t.Fatal("Deliver with the hop unreachable: nil error")
	}
	if n := len(w.messages(t, "alice@local.test", "INBOX")); n != 1 {
		t.Errorf("alice holds %d messages after the failed delivery, want still 1", n)
	}
	if n := filesIn(t, filepath.Join(w.root, "mail", "local.test", "alice", "new")); n != 1 {
		t.Errorf("alice's new/ holds %d files, want 1", n)
	}
}
