package pop3server

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"strings"
	"sync"
	"testing"

	"mailwarden/internal/directory"
	"mailwarden/internal/testutil"
)

// newFakeDir returns a directory of users whose password is "secret".
func newFakeDir(t testing.TB, users ...string) *testutil.Dir {
	var boxes []directory.Mailbox
	for _, u := range users {
		boxes = append(boxes, directory.Mailbox{Username: u, PasswordHash: testutil.SecretHash(t), Maildir: u + "/", Active: true})
	}
	return testutil.NewDir(boxes...)
}

// fakeStore keeps INBOXes in memory.
type fakeStore struct {
	mu         sync.Mutex
	boxes      map[string]*fakeBox
	inboxErr   error
	expungeErr error
	seen       map[string][]int64 // MarkSeen calls, per user
	expunged   map[string][]int64
}

type fakeBox struct {
	uidValidity int64
	next        int64
	msgs        []fakeMsg
}

type fakeMsg struct {
	uid  int64
	body string
}

func newFakeStore() *fakeStore {
	return &fakeStore{boxes: map[string]*fakeBox{}, seen: map[string][]int64{}, expunged: map[string][]int64{}}
}

// add appends messages to user's INBOX and returns their UIDs.
func (f *fakeStore) add(user string, bodies ...string) []int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	b := f.boxes[user]
	if b == nil {
		b = &fakeBox{uidValidity: 1700000000, next: 1}
		f.boxes[user] = b
	}
	var uids []int64
	for _, body := range bodies {
		b.msgs = append(b.msgs, fakeMsg{uid: b.next, body: body})
		uids = append(uids, b.next)
		b.next++
	}
	return uids
}

func (f *fakeStore) Inbox(_ context.Context, user, maildir string) ([]Msg, int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.inboxErr != nil {
		return nil, 0, f.inboxErr
	}
	if maildir != user+"/" {
		return nil, 0, fmt.Errorf("maildir %q for %s", maildir, user)
	}
	b := f.boxes[user]
	if b == nil {
		return nil, 42, nil
	}
	var out []Msg
	for _, m := range b.msgs {
		out = append(out, Msg{UID: m.uid, Size: int64(len(m.body))})
	}
	return out, b.uidValidity, nil
}

func (f *fakeStore) Open(_ context.Context, user, _ string, m Msg) (io.ReadCloser, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if b := f.boxes[user]; b != nil {
		for _, x := range b.msgs {
			if x.uid == m.UID {
				return io.NopCloser(strings.NewReader(x.body)), nil
			}
		}
	}
	return nil, fmt.Errorf("uid %d: %w", m.UID, fs.ErrNotExist)
}

func (f *fakeStore) Expunge(_ context.Context, user, _ string, uids []int64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.expungeErr != nil {
		return f.expungeErr
	}
	f.expunged[user] = append(f.expunged[user], uids...)
	if b := f.boxes[user]; b != nil {
		b.msgs = slices.DeleteFunc(b.msgs, func(m fakeMsg) bool { return slices.Contains(uids, m.uid) })
	}
	return nil
}

func (f *fakeStore) MarkSeen(_ context.Context, user, _ string, uids []int64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seen[user] = append(f.seen[user], uids...)
	return nil
}

func (f *fakeStore) calls(user string) (seen, expunged []int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.seen[user]), slices.Clone(f.expunged[user])
}
