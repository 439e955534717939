package pickup

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestPickerMovesAside: files the picker cannot use go to the corrupt
// directory with a log line; incomplete files wait until they are stale;
// nothing reaches the server.
func TestPickerMovesAside(t *testing.T) {
	data := t.TempDir()
	if _, err := Prepare(data); err != nil {
		t.Fatal(err)
	}
	dir := MaildropDir(data)
	write := func(name, content string, mode os.FileMode) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), mode); err != nil {
			t.Fatal(err)
		}
		os.Chmod(filepath.Join(dir, name), mode)
	}
	write("garbage", "hello\n", readyMode)
	write("truncated", magic+"\nSender: <a@x.example>\nRecipient: <b@y.example>\nSize: 100\n\nshort", readyMode)
	write("incomplete", magic+"\n", 0o600)
	write("stale", magic+"\n", 0o600)
	old := time.Now().Add(-48 * time.Hour)
	os.Chtimes(filepath.Join(dir, "stale"), old, old)
	os.Symlink("/etc/passwd", filepath.Join(dir, "link"))

	var log bytes.Buffer
	dialed := 0
	p := &Picker{Dir: dir, Corrupt: CorruptDir(data), Log: slog.New(slog.NewTextHandler(&log, nil)),
		Hostname: func() string { return "mx.test.example" },
		Dial: func(int) (net.Conn, error) {
			dialed++
			return nil, errors.New("no server in this test")
		}}
	if n := p.Scan(context.Background()); n != 0 {
		t.Errorf("Scan delivered %d", n)
	}
	for _, name := range []string{"garbage", "stale", "link"} {
		if _, err := os.Lstat(filepath.Join(CorruptDir(data), name)); err != nil {
			t.Errorf("%s not moved aside: %v", name, err)
		}
		if !strings.Contains(log.String(), "maildrop: "+name+": ") {
			t.Errorf("no log line for %s:\n%s", name, log.String())
		}
	}
	// A truncated file is only found out while it is sent: here the
	// server is unreachable, so it waits.
	for _, name := range []string{"incomplete", "truncated"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if dialed != 1 {
		t.Errorf("dialed %d times, want 1 (the truncated file)", dialed)
	}
}
