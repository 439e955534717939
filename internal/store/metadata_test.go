package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
)

// TestMetadataStore: entries per folder and per user, all-or-nothing
// changes, the per-user limit, and removal with the folder and with the
// mailbox.
func TestMetadataStore(t *testing.T) {
	s, _ := newTestStore(t)
	ctx := context.Background()
	alice, bob := Account{Username: "a@x.test", Maildir: "x.test/a/"}, Account{Username: "b@x.test", Maildir: "x.test/b/"}
	for _, a := range []Account{alice, bob} {
		if err := s.EnsureMailbox(ctx, a.Username, a.Maildir); err != nil {
			t.Fatal(err)
		}
	}
	set := func(owner Account, folder, viewer string, max int, es ...MetaEntry) error {
		return s.SetMetadata(ctx, owner, folder, viewer, es, max)
	}
	names := func(owner Account, folder, viewer string) []string {
		es, err := s.Metadata(ctx, owner, folder, viewer)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, e := range es {
			out = append(out, e.Name+"="+string(e.Value))
		}
		return out
	}
	if err := set(alice, "INBOX", alice.Username, 0, MetaEntry{Name: "/shared/comment", Value: []byte("s")},
		MetaEntry{Name: "/private/comment", Value: []byte("a")}); err != nil {
		t.Fatal(err)
	}
	if err := set(alice, "INBOX", bob.Username, 0, MetaEntry{Name: "/private/comment", Value: []byte("b")}); err != nil {
		t.Fatal(err)
	}
	if got := names(alice, "INBOX", bob.Username); len(got) != 2 || got[0] != "/private/comment=b" || got[1] != "/shared/comment=s" {
		t.Fatalf("bob sees %q", got)
	}
	// alice has 2 entries; a limit of 3 refuses two more, keeping none.
	err := set(alice, "", alice.Username, 3, MetaEntry{Name: "/private/x", Value: []byte("1")}, MetaEntry{Name: "/private/y", Value: []byte("2")})
	if !errors.Is(err, ErrMetaTooMany) {
		t.Fatalf("over the limit: %v", err)
	}
	if got := names(alice, "", alice.Username); len(got) != 0 {
		t.Fatalf("a refused change left %q", got)
	}
	if err := set(alice, "Nope", alice.Username, 0, MetaEntry{Name: "/private/x", Value: []byte("1")}); !errors.Is(err, ErrNoFolder) {
		t.Fatalf("unknown folder: %v", err)
	}
	if err := s.CreateFolder(ctx, alice, "Work", ""); err != nil {
		t.Fatal(err)
	}
	if err := set(alice, "Work", alice.Username, 0, MetaEntry{Name: "/shared/comment", Value: []byte("w")}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteFolder(ctx, alice, "Work"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteMailbox(ctx, bob.Username, bob.Maildir, false); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := s.db.Read.QueryRow(`SELECT COUNT(*) FROM imap_metadata`).Scan(&n); err != nil || n != 2 {
		t.Fatalf("rows left: %d (%v), want alice's two on INBOX", n, err)
	}
}

// TestMetadataEvents: SETMETADATA's changes reach the watchers
// concerned (RFC 5465 5.9, 5.10): a folder's shared entries its owner's,
// private entries (of a folder or of the server) their user's; a failed
// change publishes nothing.
func TestMetadataEvents(t *testing.T) {
	s, _ := newTestStore(t)
	ctx := context.Background()
	alice, bob := Account{Username: "a@x.test", Maildir: "x.test/a/"}, Account{Username: "b@x.test", Maildir: "x.test/b/"}
	for _, a := range []Account{alice, bob} {
		if err := s.EnsureMailbox(ctx, a.Username, a.Maildir); err != nil {
			t.Fatal(err)
		}
	}
	aEv, stopA := s.Watch(alice.Username)
	defer stopA()
	bEv, stopB := s.Watch(bob.Username)
	defer stopB()
	e := func(name string) MetaEntry { return MetaEntry{Name: name, Value: []byte("v")} }
	tests := []struct {
		name           string
		owner          Account
		folder, viewer string
		changes        []MetaEntry
		alice, bob     []string // "owner folder private entries"
	}{
		{"shared and private of alice's folder by bob", alice, "INBOX", bob.Username,
			[]MetaEntry{e("/shared/comment"), e("/private/comment"), {Name: "/shared/old", Remove: true}},
			[]string{"a@x.test INBOX false [/shared/comment /shared/old]"},
			[]string{"a@x.test INBOX true [/private/comment]"}},
		{"private server entry", Account{}, "", bob.Username, []MetaEntry{e("/private/vendor/x")},
			nil, []string{"b@x.test  true [/private/vendor/x]"}},
		{"unknown folder", alice, "nope", alice.Username, []MetaEntry{e("/shared/comment")}, nil, nil},
	}
	drain := func(ch <-chan Event) []string {
		var out []string
		for {
			select {
			case ev := <-ch:
				if ev.Kind != EventMetadata || ev.Meta == nil {
					t.Fatalf("event %v %+v", ev.Kind, ev)
				}
				out = append(out, fmt.Sprintf("%s %s %v %v", ev.Meta.Owner, ev.Folder, ev.Meta.Private, ev.Meta.Entries))
			default:
				return out
			}
		}
	}
	for _, tc := range tests {
		err := s.SetMetadata(ctx, tc.owner, tc.folder, tc.viewer, tc.changes, 0)
		if (err != nil) != (tc.alice == nil && tc.bob == nil) {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got := drain(aEv); !slices.Equal(got, tc.alice) {
			t.Errorf("%s: alice's watch got %q, want %q", tc.name, got, tc.alice)
		}
		if got := drain(bEv); !slices.Equal(got, tc.bob) {
			t.Errorf("%s: bob's watch got %q, want %q", tc.name, got, tc.bob)
		}
	}
}
