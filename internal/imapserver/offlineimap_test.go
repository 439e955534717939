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

// TestOfflineimap: two-way sync with offlineimap, plain and with
// usecompression (imaplib2's COMPRESS=DEFLATE, sync flushes).
func TestOfflineimap(t *testing.T) {
	for _, compress := range []bool{false, true} {
		t.Run(fmt.Sprintf("compress=%v", compress), func(t *testing.T) { testOfflineimap(t, compress) })
	}
}

func testOfflineimap(t *testing.T, compress bool) {
	bin := needTool(t, "offlineimap")
	h := start(t, func(c *config.Config) { c.Auth.AllowPlaintextLoopback = false })
	for i := 1; i <= 3; i++ {
		h.deliver(t, "alice@example.org", "INBOX", testMessage(i))
	}
	dir := t.TempDir()
	local := filepath.Join(dir, "mail")
	host, port, _ := net.SplitHostPort(h.addr)
	cfg := fmt.Sprintf(`[general]
accounts = test
metadata = %s/meta

[Account test]
localrepository = local
remoterepository = remote

[Repository local]
type = Maildir
localfolders = %s

[Repository remote]
type = IMAP
remotehost = %s
remoteport = %s
remoteuser = alice@example.org
remotepass = %s
ssl = no
starttls = yes
sslcacertfile = %s
usecompression = %s
`, dir, local, host, port, testPass, h.caFile, map[bool]string{false: "no", true: "yes"}[compress])
	cfgFile := filepath.Join(dir, "offlineimaprc")
	if err := os.WriteFile(cfgFile, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	run := func() {
		t.Helper()
		before := compressedSessions.Load()
		out, err := exec.CommandContext(t.Context(), bin, "-c", cfgFile, "-o", "-u", "basic").CombinedOutput()
		if err != nil || strings.Contains(string(out), "ERROR") {
			t.Fatalf("offlineimap: %v\n%s\nserver log:\n%s", err, out, h.logs.String())
		}
		if used := compressedSessions.Load() > before; used != compress {
			t.Fatalf("COMPRESS=DEFLATE used: %v, want %v", used, compress)
		}
	}
	run()
	n, names := countFiles(t, filepath.Join(local, "INBOX"))
	if n != 3 {
		t.Fatalf("INBOX: %d messages after first sync", n)
	}
	// Mark one seen and delete another locally; a new one arrives remotely.
	p := filepath.Join(local, "INBOX", names[0])
	if err := os.Rename(p, strings.Replace(p, "/new/", "/cur/", 1)+flagSuffix(p, "S")); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(local, "INBOX", names[1])); err != nil {
		t.Fatal(err)
	}
	h.deliver(t, "alice@example.org", "INBOX", testMessage(4))
	run()
	msgs, _, err := h.store.Messages(context.Background(), h.account("alice@example.org"), "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	for _, m := range msgs {
		if hasFlag(m.Flags, `\Seen`) {
			seen++
		}
	}
	if len(msgs) != 3 || seen != 1 {
		t.Fatalf("server INBOX: %+v", msgs)
	}
	if n, _ := countFiles(t, filepath.Join(local, "INBOX")); n != 3 {
		t.Fatalf("local INBOX: %d messages, want 3", n)
	}
}
