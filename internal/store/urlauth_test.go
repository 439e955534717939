package store

import (
	"bytes"
	"context"
	"testing"
)

// TestURLAuthKey: one key per folder, made on demand, kept across
// RENAME, voided by RESETKEY and by DELETE.
func TestURLAuthKey(t *testing.T) {
	ctx := context.Background()
	s, a := newAccount(t)
	if k, err := s.URLAuthKey(ctx, a, "INBOX", false); k != nil || err != nil {
		t.Fatalf("key before GENURLAUTH: %x %v", k, err)
	}
	k1, err := s.URLAuthKey(ctx, a, "INBOX", true)
	if err != nil || len(k1) != 32 {
		t.Fatalf("new key: %x %v", k1, err)
	}
	if k, _ := s.URLAuthKey(ctx, a, "inbox", false); !bytes.Equal(k, k1) {
		t.Fatalf("key read back: %x, want %x", k, k1)
	}
	if err := s.CreateFolder(ctx, a, "Work", ""); err != nil {
		t.Fatal(err)
	}
	kw, _ := s.URLAuthKey(ctx, a, "Work", true)
	if bytes.Equal(kw, k1) {
		t.Fatal("two folders share a key")
	}
	if err := s.RenameFolder(ctx, a, "Work", "Jobs"); err != nil {
		t.Fatal(err)
	}
	if k, _ := s.URLAuthKey(ctx, a, "Jobs", false); !bytes.Equal(k, kw) {
		t.Fatalf("key after RENAME: %x, want %x", k, kw)
	}
	if err := s.ResetURLAuthKeys(ctx, a, "INBOX"); err != nil {
		t.Fatal(err)
	}
	if k, _ := s.URLAuthKey(ctx, a, "INBOX", false); k != nil {
		t.Fatalf("INBOX key after RESETKEY INBOX: %x", k)
	}
	if k, _ := s.URLAuthKey(ctx, a, "Jobs", false); !bytes.Equal(k, kw) {
		t.Fatal("RESETKEY INBOX reset Jobs")
	}
	if err := s.ResetURLAuthKeys(ctx, a, ""); err != nil {
		t.Fatal(err)
	}
	if k, _ := s.URLAuthKey(ctx, a, "Jobs", false); k != nil {
		t.Fatalf("key after RESETKEY: %x", k)
	}
	if _, err := s.URLAuthKey(ctx, a, "Nope", true); !errorsIs(err, ErrNoFolder) {
		t.Fatalf("missing folder: %v", err)
	}
	if err := s.ResetURLAuthKeys(ctx, a, "Nope"); !errorsIs(err, ErrNoFolder) {
		t.Fatalf("RESETKEY of a missing folder: %v", err)
	}
}
