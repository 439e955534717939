package imapserver

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"mailwarden/internal/config"
)

// needTool skips (or fails under CI=true) when a client program is missing.
func needTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s not installed", name)
		}
		t.Skipf("%s not installed (apt-get install %s)", name, name)
	}
	return p
}

// countFiles counts the messages of a local Maildir folder.
func countFiles(t *testing.T, dir string) (n int, names []string) {
	t.Helper()
	for _, sub := range []string{"new", "cur"} {
		ents, err := os.ReadDir(filepath.Join(dir, sub))
		if err != nil {
			continue
		}
		for _, e := range ents {
			names = append(names, sub+"/"+e.Name())
		}
	}
	return len(names), names
}

func TestMbsync(t *testing.T) {
	bin := needTool(t, "mbsync")
	h := start(t, func(c *config.Config) { c.Auth.AllowPlaintextLoopback = false })
	for i := 1; i <= 3; i++ {
		h.deliver(t, "alice@example.org", "INBOX", testMessage(i))
	}
	h.deliver(t, "alice@example.org", "Sent", testMessage(10))
	dir := t.TempDir()
	local := filepath.Join(dir, "mail")
	if err := os.MkdirAll(local, 0o700); err != nil {
		t.Fatal(err)
	}
	host, port, _ := net.SplitHostPort(h.addr)
	cfg := fmt.Sprintf(`IMAPAccount test
Host %s
Port %s
User alice@example.org
Pass %s
SSLType STARTTLS
CertificateFile %s

IMAPStore remote
Account test

MaildirStore local
Path %s/
Inbox %s/INBOX
SubFolders Verbatim

Channel all
Far :remote:
Near :local:
Patterns *
Create Both
Expunge Both
SyncState *
Sync All
`, host, port, testPass, h.caFile, local, local)
	cfgFile := filepath.Join(dir, "mbsyncrc")
	if err := os.WriteFile(cfgFile, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	run := func() {
		t.Helper()
		before := compressedSessions.Load()
		out, err := exec.CommandContext(t.Context(), bin, "-c", cfgFile, "-a").CombinedOutput()
		if err != nil {
			t.Fatalf("mbsync: %v\n%s\nserver log:\n%s", err, out, h.logs.String())
		}
		// mbsync turns COMPRESS=DEFLATE on when offered (isync 1.4 with
		// zlib), so every sync runs compressed, with partial flushes.
		if compressedSessions.Load() == before {
			t.Fatalf("mbsync did not use COMPRESS=DEFLATE")
		}
	}
	run()
	if n, _ := countFiles(t, filepath.Join(local, "INBOX")); n != 3 {
		t.Fatalf("INBOX: %d messages after first sync", n)
	}
	if n, _ := countFiles(t, filepath.Join(local, "Sent")); n != 1 {
		t.Fatalf("Sent: %d messages", n)
	}
	// Local changes go up: a new message, a flag, a deletion.
	_, names := countFiles(t, filepath.Join(local, "INBOX"))
	first := filepath.Join(local, "INBOX", names[0])
	if err := os.Rename(first, strings.Replace(first, "/new/", "/cur/", 1)+flagSuffix(first, "S")); err != nil {
		t.Fatal(err)
	}
	second := filepath.Join(local, "INBOX", names[1])
	if err := os.Rename(second, strings.Replace(second, "/new/", "/cur/", 1)+flagSuffix(second, "T")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(local, "INBOX", "new", "123.local"), []byte(testMessage(20)), 0o600); err != nil {
		t.Fatal(err)
	}
	// Remote changes come down.
	h.deliver(t, "alice@example.org", "INBOX", testMessage(4))
	run()
	msgs, _, err := h.store.Messages(context.Background(), h.account("alice@example.org"), "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 4 {
		t.Fatalf("server INBOX has %d messages, want 4", len(msgs))
	}
	seen := 0
	for _, m := range msgs {
		if hasFlag(m.Flags, `\Seen`) {
			seen++
		}
	}
	if seen != 1 {
		t.Fatalf("server INBOX: %d seen messages, want 1: %+v", seen, msgs)
	}
	if n, _ := countFiles(t, filepath.Join(local, "INBOX")); n != 4 {
		t.Fatalf("local INBOX: %d messages, want 4", n)
	}
	run() // a sync with nothing to do
}

// flagSuffix is the Maildir info to add to a file name in new/.
func flagSuffix(name, letters string) string {
	if strings.Contains(filepath.Base(name), ":2,") {
		return letters
	}
	return ":2," + letters
}
