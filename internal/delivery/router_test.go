package delivery

import (
	"context"
	"errors"
	"io"
	"net/netip"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"mailwarden/internal/directory"
	"mailwarden/internal/envelope"
	"mailwarden/internal/queue"
)

var testBody = "From: a@sender.test\r\nSubject: hello\r\n\r\nbody line\r\n"

func remote(addr string) Routed {
	return Routed{Rcpt: envelope.Recipient{Address: addr}, Dest: directory.Destination{Kind: directory.Remote, Address: addr}}
}

// TestDeliverAllOrNothing injects a fault into each half of the one
// transaction (a trigger that refuses the queue's row, then the store's):
// the failed attempt leaves no copy anywhere, and the client's retry ends
// with exactly one copy per recipient.
func TestDeliverAllOrNothing(t *testing.T) {
	for _, tc := range []struct{ name, table string }{
		{"queue insert fails", "queue_message"},
		{"store index fails", "mail_message"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, directory.Mailbox{Username: "alice@local.test"}, directory.Mailbox{Username: "bob@local.test"})
			ctx := context.Background()
			rcpts := append(w.routed(t, "alice@local.test", "bob@local.test"), remote("x@remote.test"))
			if _, err := w.db.Write.ExecContext(ctx, `CREATE TRIGGER fault BEFORE INSERT ON `+tc.table+`
				BEGIN SELECT RAISE(ABORT, 'injected fault'); END`); err != nil {
				t.Fatal(err)
			}
			err := w.router.Deliver(ctx, newMessage(t, testBody, rcpts))
			if err == nil || !strings.Contains(err.Error(), "injected fault") {
				t.Fatalf("Deliver with the fault: %v", err)
			}
			for _, u := range []string{"alice@local.test", "bob@local.test"} {
				if got := w.messages(t, u, "INBOX"); len(got) != 0 {
					t.Errorf("%s has %d messages after the failed attempt", u, len(got))
				}
				if _, n, _ := w.store.Usage(ctx, u); n != 0 {
					t.Errorf("%s quota counts %d messages", u, n)
				}
			}
			for _, sub := range []string{"mail/local.test/alice/new", "mail/local.test/bob/new", "mail/local.test/alice/tmp", "queue"} {
				if n := filesIn(t, filepath.Join(w.root, sub)); n != 0 {
					t.Errorf("%s holds %d files after the failed attempt", sub, n)
				}
			}
			if es, _ := w.queue.List(ctx); len(es) != 0 {
				t.Errorf("queue holds %d messages after the failed attempt", len(es))
			}

			if _, err := w.db.Write.ExecContext(ctx, `DROP TRIGGER fault`); err != nil {
				t.Fatal(err)
			}
			if err := w.router.Deliver(ctx, newMessage(t, testBody, rcpts)); err != nil {
				t.Fatalf("retry: %v", err)
			}
			for _, u := range []string{"alice@local.test", "bob@local.test"} {
				if got := w.messages(t, u, "INBOX"); len(got) != 1 {
					t.Errorf("%s has %d messages after the retry, want 1", u, len(got))
				}
			}
			es, _ := w.queue.List(ctx)
			if len(es) != 1 || len(es[0].Rcpts) != 1 || es[0].Rcpts[0].Address != "x@remote.test" {
				t.Errorf("queue after the retry: %+v", es)
			}
			if n := filesIn(t, filepath.Join(w.root, "queue")); n != 1 {
				t.Errorf("queue directory holds %d files, want 1", n)
			}
		})
	}
}

// junkFor files bob's copies into Junk and carol's into a folder she does
// not have; it also records the HELO of the envelope it saw.
func junkFor(seen *[]string) FolderFunc {
	return func(_ context.Context, msg *Message, rc Routed) (string, error) {
		*seen = append(*seen, rc.Dest.Address+" "+msg.Env.Helo)
		switch rc.Dest.Address {
		case "bob@local.test":
			return "Junk", nil
		case "carol@local.test":
			return "Nope", nil
		}
		return "", nil
	}
}

// TestFolderHook: the folder hook decides where a copy is filed, on the
// direct path (the router) and on the queued one (the runner through
// Local.Queued, after a full mailbox made room), with the envelope whole.
func TestFolderHook(t *testing.T) {
	w := newWorld(t, directory.Mailbox{Username: "alice@local.test"}, directory.Mailbox{Username: "bob@local.test"},
		directory.Mailbox{Username: "carol@local.test"}, directory.Mailbox{Username: "dave@local.test", Quota: 10})
	ctx := context.Background()
	var seen []string
	w.local.Folder = junkFor(&seen)
	msg := newMessage(t, testBody, w.routed(t, "alice@local.test", "bob@local.test", "carol@local.test"))
	msg.Env.Helo = "client.sender.test"
	if err := w.router.Deliver(ctx, msg); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		user, folder string
		n            int
	}{{"alice@local.test", "INBOX", 1}, {"bob@local.test", "Junk", 1}, {"bob@local.test", "INBOX", 0}, {"carol@local.test", "INBOX", 1}} {
		if got := w.messages(t, c.user, c.folder); len(got) != c.n {
			t.Errorf("direct: %s %s has %d messages, want %d", c.user, c.folder, len(got), c.n)
		}
	}
	if !strings.Contains(w.log.String(), "folder Nope does not exist, delivered to INBOX") {
		t.Errorf("log:\n%s", w.log.String())
	}

	// Queued: bob is full, so his copy waits in the queue.
	if err := w.dir.SetQuota(ctx, "bob@local.test", 10); err != nil {
		t.Fatal(err)
	}
	msg = newMessage(t, testBody, w.routed(t, "bob@local.test", "dave@local.test"))
	msg.Rcpts[0].Dest.Mailbox.Quota = 10
	msg.Env.Helo = "queued.sender.test"
	if err := w.router.Deliver(ctx, msg); !errors.Is(err, ErrOverQuota) {
		t.Fatalf("every recipient full: %v, want ErrOverQuota", err)
	}
	msg = newMessage(t, testBody, w.routed(t, "bob@local.test", "alice@local.test"))
	msg.Rcpts[0].Dest.Mailbox.Quota = 10
	msg.Env.Helo = "queued.sender.test"
	if err := w.router.Deliver(ctx, msg); err != nil {
		t.Fatal(err)
	}
	es, _ := w.queue.List(ctx)
	if len(es) != 1 || es[0].Rcpts[0].Kind != queue.KindLocal || es[0].Rcpts[0].LastError != "552 5.2.2 mailbox full" {
		t.Fatalf("queue: %+v", es)
	}
	if !strings.Contains(w.log.String(), "to=<bob@local.test>, relay=none") || strings.Contains(w.log.String(), "queued for delivery") {
		t.Errorf("log:\n%s", w.log.String())
	}
	if err := w.dir.SetQuota(ctx, "bob@local.test", 0); err != nil {
		t.Fatal(err)
	}
	seen = nil
	r := queue.NewRunner(w.queue, queue.RunnerOptions{Config: testConfig, Local: w.local.Queued, Route: w.local.Route,
		PollInterval: 20 * time.Millisecond})
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { r.Run(rctx); close(done) }()
	defer func() { cancel(); <-done }()
	deadline := time.Now().Add(10 * time.Second)
	for es, _ := w.queue.List(ctx); len(es) > 0; es, _ = w.queue.List(ctx) {
		if time.Now().After(deadline) {
			t.Fatalf("queued copy not delivered: %+v", es)
		}
		time.Sleep(20 * time.Millisecond)
	}
	junk := w.messages(t, "bob@local.test", "Junk")
	if len(junk) != 2 || w.messages(t, "bob@local.test", "INBOX") != nil {
		t.Errorf("queued: bob's Junk has %d messages, want 2", len(junk))
	}
	if !reflect.DeepEqual(seen, []string{"bob@local.test queued.sender.test"}) {
		t.Errorf("hook saw %q on the queued path", seen)
	}
	if last := junk[len(junk)-1]; strings.Count(last, "Received:") != 1 || !strings.HasPrefix(last, "Return-Path: <a@sender.test>\r\nDelivered-To: bob@local.test\r\nReceived:") {
		t.Errorf("queued copy:\n%s", last)
	}
}

// TestEnvelopeKeptWhole: a queued message keeps every envelope field
// (client facts, HELO, TLS, protocol, AUTH=, verdicts, header edits).
func TestEnvelopeKeptWhole(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	msg := newMessage(t, testBody, []Routed{remote("x@remote.test")})
	ip := netip.MustParseAddr("192.0.2.7")
	e := msg.Env
	e.Recipients = []envelope.Recipient{{Address: "x@remote.test", Notify: []string{"FAILURE", "DELAY"}, ORCPT: "rfc822;X@remote.test"}}
	e.ClientIP, e.ClientHost, e.Helo, e.AuthUser = ip, "client.sender.test", "helo.sender.test", "a@sender.test"
	e.TLS, e.Protocol = "TLSv1.3 with cipher TLS_AES_128_GCM_SHA256", "ESMTPSA"
	e.Client = envelope.Client{IP: ip, Port: 40123, Host: "client.sender.test", HostConfirmed: true, ReverseHost: "client.sender.test",
		Helo: "helo.sender.test", TLSVersion: "TLSv1.3", TLSCipher: "TLS_AES_128_GCM_SHA256", AuthUser: "a@sender.test",
		AuthMech: "PLAIN", Service: "submission"}
	e.EnvID, e.Ret, e.Body8, e.SMTPUTF8, e.AuthParam, e.Size = "env1", "HDRS", true, true, "a@sender.test", 42
	e.Header = []envelope.HeaderEdit{{Op: envelope.Prepend, Field: "X-Checked: yes"}}
	e.Verdicts = []envelope.Verdict{{Stage: "rcpt", Check: "permit_sasl_authenticated", Action: "permit"}}
	if err := w.router.Deliver(ctx, msg); err != nil {
		t.Fatal(err)
	}
	es, err := w.queue.List(ctx)
	if err != nil || len(es) != 1 {
		t.Fatalf("queue: %v %+v", err, es)
	}
	got := *es[0].Env
	if !got.Received.Equal(e.Received) {
		t.Errorf("received %v, want %v", got.Received, e.Received)
	}
	want := *e
	got.Received, want.Received = time.Time{}, time.Time{}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("queued envelope:\n got %+v\nwant %+v", got, want)
	}
	if es[0].Client != "client.sender.test[192.0.2.7]" || es[0].EnvID != "env1" || !es[0].Body8 {
		t.Errorf("entry columns: %+v", es[0])
	}
}

// TestHoldAndDiscard: a hold verdict queues the whole message on hold,
// local copies included; a discard verdict stores nothing anywhere.
func TestHoldAndDiscard(t *testing.T) {
	w := newWorld(t, directory.Mailbox{Username: "alice@local.test"})
	ctx := context.Background()
	msg := newMessage(t, testBody, append(w.routed(t, "alice@local.test"), remote("x@remote.test")))
	msg.Env.Verdicts = []envelope.Verdict{{Stage: "end-of-data", Check: "header_checks", Action: ActionHold, Reply: "Subject: hello"}}
	if err := w.router.Deliver(ctx, msg); err != nil {
		t.Fatal(err)
	}
	es, _ := w.queue.List(ctx)
	if len(es) != 1 || !es[0].Held || len(es[0].Rcpts) != 2 {
		t.Fatalf("held: %+v", es)
	}
	if n := len(w.messages(t, "alice@local.test", "INBOX")); n != 0 {
		t.Errorf("held message delivered to alice (%d)", n)
	}
	if !strings.Contains(w.log.String(), msg.Env.ID+": hold: header_checks: Subject: hello") {
		t.Errorf("log:\n%s", w.log.String())
	}

	msg = newMessage(t, testBody, append(w.routed(t, "alice@local.test"), remote("x@remote.test")))
	msg.Env.Verdicts = []envelope.Verdict{{Stage: "rcpt", Check: "check_client_access", Action: ActionHold},
		{Stage: "data", Check: "check_sender_access", Action: ActionDiscard}}
	if err := w.router.Deliver(ctx, msg); err != nil {
		t.Fatal(err)
	}
	if es, _ := w.queue.List(ctx); len(es) != 1 {
		t.Errorf("discarded message queued: %+v", es)
	}
	if n := len(w.messages(t, "alice@local.test", "INBOX")); n != 0 {
		t.Errorf("discarded message delivered to alice (%d)", n)
	}
	if !strings.Contains(w.log.String(), msg.Env.ID+": discard: check_sender_access; from=<a@sender.test> nrcpt=2") {
		t.Errorf("log:\n%s", w.log.String())
	}
}

// TestHeaderEditsWritten: the edits reach the store's copy and the
// queue's file alike, and the trace is kept.
func TestHeaderEditsWritten(t *testing.T) {
	w := newWorld(t, directory.Mailbox{Username: "alice@local.test"})
	ctx := context.Background()
	msg := newMessage(t, "Subject: hello\r\nX-Spam: old\r\nFrom: a@sender.test\r\n\r\nbody\r\n",
		append(w.routed(t, "alice@local.test"), remote("x@remote.test")))
	msg.Env.Header = []envelope.HeaderEdit{
		{Op: envelope.Prepend, Field: "X-Top: 1"},
		{Op: envelope.Remove, Name: "from"},
		{Op: envelope.Replace, Name: "X-Spam", Field: "X-Spam: new"},
		{Op: envelope.Append, Field: "X-End: 2"},
	}
	if err := w.router.Deliver(ctx, msg); err != nil {
		t.Fatal(err)
	}
	want := "X-Top: 1\r\nReceived: from sender.test by mail.local.test; now\r\nSubject: hello\r\nX-Spam: new\r\nX-End: 2\r\n\r\nbody\r\n"
	got := w.messages(t, "alice@local.test", "INBOX")
	if len(got) != 1 || got[0] != "Return-Path: <a@sender.test>\r\nDelivered-To: alice@local.test\r\n"+want {
		t.Errorf("stored copy:\n%q", got)
	}
	_, rc, err := w.queue.Show(ctx, msg.Env.ID)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(rc)
	rc.Close()
	if string(b) != want {
		t.Errorf("queued copy:\n%q\nwant\n%q", b, want)
	}
}
