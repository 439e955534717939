package testutil

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"mailwarden/internal/auth/password"
	"mailwarden/internal/directory"
)

// Secret is the password the tests give their mailboxes.
const Secret = "secret"

var (
	hashOnce   sync.Once
	secretHash string
	hashErr    error
)

// SecretHash returns an argon2id hash of Secret, made once per test binary
// (each costs some tens of milliseconds).
func SecretHash(t testing.TB) string {
	t.Helper()
	hashOnce.Do(func() { secretHash, hashErr = password.Hash(Secret) })
	if hashErr != nil {
		t.Fatal(hashErr)
	}
	return secretHash
}

// Dir is a fake of the account database as login.Authenticator uses it:
// mailboxes by normalized address, and password updates.
type Dir struct {
	mu     sync.Mutex
	boxes  map[string]directory.Mailbox
	err    error // Mailbox fails with it
	setErr error // SetPassword fails with it
	sets   int
}

// NewDir returns a Dir holding boxes.
func NewDir(boxes ...directory.Mailbox) *Dir {
	d := &Dir{boxes: map[string]directory.Mailbox{}}
	for _, m := range boxes {
		d.boxes[m.Username] = m
	}
	return d
}

// Mailbox looks address up.
func (d *Dir) Mailbox(_ context.Context, address string) (directory.Mailbox, error) {
	addr, err := directory.Normalize(address)
	if err != nil {
		return directory.Mailbox{}, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.err != nil {
		return directory.Mailbox{}, d.err
	}
	m, ok := d.boxes[addr]
	if !ok {
		return m, fmt.Errorf("mailbox %s: %w", addr, directory.ErrNotFound)
	}
	return m, nil
}

// SetPassword stores a new password hash and counts the call.
func (d *Dir) SetPassword(_ context.Context, address, hash string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.setErr != nil {
		return d.setErr
	}
	m := d.boxes[address]
	m.PasswordHash = hash
	d.boxes[address] = m
	d.sets++
	return nil
}

// Fail makes Mailbox fail with err; nil makes it work again.
func (d *Dir) Fail(err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.err = err
}

// FailSetPassword makes SetPassword fail with err; nil makes it work again.
func (d *Dir) FailSetPassword(err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.setErr = err
}

// Sets is how often SetPassword succeeded.
func (d *Dir) Sets() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.sets
}

// Hash is the stored password hash of address.
func (d *Dir) Hash(address string) string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.boxes[address].PasswordHash
}
