package store

import (
	"context"
	"testing"
	"time"
)

func nextEvent(t *testing.T, ch <-chan Event) Event {
	t.Helper()
	select {
	case ev, ok := <-ch:
		if !ok {
			t.Fatal("channel closed")
		}
		return ev
	case <-time.After(5 * time.Second):
		t.Fatal("no event")
	}
	return Event{}
}

func TestWatchReceivesEvents(t *testing.T) {
	ctx := context.Background()
	s, a := newAccount(t)
	ch, cancel := s.Watch(a.Username)
	defer cancel()
	other, cancelOther := s.Watch("someone@else")
	defer cancelOther()

	tg := Target{Username: a.Username, Maildir: a.Maildir, Folder: "INBOX", DeliveredTo: a.Username}
	d, err := s.Deliver(ctx, "", []Target{tg, tg}, nil, memBody("x\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name string
		do   func() error
		want Event
	}{
		{"deliver", func() error { return nil }, Event{Folder: "INBOX", Kind: EventAdded, UIDs: []int64{d[0].UID, d[1].UID}}},
		{"flags", func() error {
			_, _, err := s.StoreFlags(ctx, a, "INBOX", []int64{d[0].UID}, FlagsAdd, []string{`\Deleted`}, 0)
			return err
		}, Event{Folder: "INBOX", Kind: EventFlags, UIDs: []int64{d[0].UID}}},
		{"expunge", func() error { _, err := s.Expunge(ctx, a, "INBOX", nil); return err },
			Event{Folder: "INBOX", Kind: EventExpunged, UIDs: []int64{d[0].UID}}},
		{"append", func() error { _, _, err := s.Append(ctx, a, "Sent", nil, time.Time{}, memBody("y"), 0); return err },
			Event{Folder: "Sent", Kind: EventAdded, UIDs: []int64{1}}},
		{"create", func() error { return s.CreateFolder(ctx, a, "New", "") }, Event{Folder: "New", Kind: EventFolders}},
		{"copy", func() error { _, _, _, err := s.Copy(ctx, a, "INBOX", "New", []int64{d[1].UID}, 0); return err },
			Event{Folder: "New", Kind: EventAdded, UIDs: []int64{1}}},
		{"delete", func() error { return s.DeleteFolder(ctx, a, "New") }, Event{Folder: "New", Kind: EventFolders}},
	}
	for _, st := range steps {
		if err := st.do(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		ev := nextEvent(t, ch)
		if ev.Username != a.Username || ev.Folder != st.want.Folder || ev.Kind != st.want.Kind || !equalInts(ev.UIDs, st.want.UIDs) {
			t.Fatalf("%s: event %+v, want %+v", st.name, ev, st.want)
		}
		if ev.Kind != EventFolders && ev.ModSeq == 0 {
			t.Fatalf("%s: event without modseq: %+v", st.name, ev)
		}
	}
	select {
	case ev := <-other:
		t.Fatalf("other user got %+v", ev)
	default:
	}
	cancel()
	if _, ok := <-ch; ok {
		t.Fatal("channel not closed by cancel")
	}
	cancel() // twice is harmless
}

func TestWatchOverflowResyncs(t *testing.T) {
	s, a := newAccount(t)
	ch, cancel := s.Watch(a.Username)
	defer cancel()
	// Nobody reads: the publisher must not block.
	done := make(chan struct{})
	go func() {
		for i := 0; i < 3*watchBuffer; i++ {
			s.publish(Event{Username: a.Username, Folder: "INBOX", Kind: EventAdded, UIDs: []int64{int64(i + 1)}, ModSeq: int64(i + 2)})
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("publisher blocked on a full watcher")
	}
	ev := nextEvent(t, ch)
	if ev.Kind != EventResync || ev.Username != a.Username {
		t.Fatalf("first event after overflow = %+v, want resync", ev)
	}
	// What follows is fresh: no stale event from before the resync.
	n := len(ch)
	for i := 0; i < n; i++ {
		if ev := <-ch; ev.Kind == EventResync {
			t.Fatalf("second resync %+v", ev)
		}
	}
	s.publish(Event{Username: a.Username, Folder: "INBOX", Kind: EventFlags, ModSeq: 9999})
	if ev := nextEvent(t, ch); ev.Kind != EventFlags || ev.ModSeq != 9999 {
		t.Fatalf("after draining: %+v", ev)
	}
}
