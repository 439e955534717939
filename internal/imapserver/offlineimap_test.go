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

func TestOfflineimap(t *testing.T) {
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
`, dir, local, host, port, testPass, h.caFile)
	cfgFile := filepath.Join(dir, "offlineimaprc")
	if err := os.WriteFile(cfgFile, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	run := func() {
		t.Helper()
		out, err := exec.CommandContext(t.Context(), bin, "-c", cfgFile, "-o", "-u", "basic").CombinedOutput()
		if err != nil || strings.Contains(string(out), "ERROR") {
			t.Fatalf("offlineimap: %v\n%s\nserver log:\n%s", err, out, h.logs.String())
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
