package imapserver

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// tmuxClient is a terminal mail client run in a private tmux server.
type tmuxClient struct {
	t       *testing.T
	socket  string
	session string
}

func (c *tmuxClient) tmux(args ...string) string {
	c.t.Helper()
	out, err := exec.Command("tmux", append([]string{"-S", c.socket}, args...)...).CombinedOutput()
	if err != nil {
		c.t.Fatalf("tmux %q: %v\n%s", args, err, out)
	}
	return string(out)
}

// keys types keys (tmux send-keys names: "Enter", "Escape"...).
func (c *tmuxClient) keys(keys ...string) {
	c.t.Helper()
	c.tmux(append([]string{"send-keys", "-t", c.session}, keys...)...)
}

// screen is what the terminal shows.
func (c *tmuxClient) screen() string {
	c.t.Helper()
	return c.tmux("capture-pane", "-p", "-t", c.session)
}

// waitFor waits until the screen shows every one of want.
func (c *tmuxClient) waitFor(want ...string) string {
	c.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		s := c.screen()
		ok := true
		for _, w := range want {
			ok = ok && strings.Contains(s, w)
		}
		if ok {
			return s
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("the screen never showed %q:\n%s", want, s)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestNeomuttSharedFolder: bob, with neomutt, browses the folders
// alice shares with him under "Other Users/", opens one and reads a
// message of hers; the folder list shows it, and the index its subject.
func TestNeomuttSharedFolder(t *testing.T) {
	for _, tool := range []string{"neomutt", "tmux"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s not installed (apt-get install %s)", tool, tool)
			}
			t.Skipf("%s not installed (apt-get install %s)", tool, tool)
		}
	}
	h := start(t, nil)
	a := h.login(t, "alice@example.org")
	a.ok("CREATE Work")
	a.ok("CREATE Private")
	a.ok("CREATE Team")
	a.ok("SETACL Team bob@example.org lr")
	h.deliver(t, "alice@example.org", "Work", "From: Alice <alice@example.org>\r\nTo: team@example.org\r\nSubject: quarterly plan\r\nDate: Mon, 7 Feb 2022 21:52:25 -0800\r\n\r\nThe plan.\r\n")
	a.ok("SETACL Work bob@example.org lrs")

	dir := t.TempDir()
	host, port, _ := strings.Cut(h.addr, ":")
	rc := fmt.Sprintf(`set folder="imap://bob%%40example.org@%s:%s/"
set spoolfile="+INBOX"
set imap_pass="%s"
set ssl_starttls=no
set ssl_force_tls=no
set imap_check_subscribed=no
set imap_list_subscribed=no
set header_cache=""
set message_cachedir=""
set mail_check=60
set timeout=0
set move=no
set mbox_type=Maildir
set sort=date
set browser_abbreviate_mailboxes=no
set index_format="%%4C %%-20.20n %%s"
`, host, port, testPass)
	rcPath := filepath.Join(dir, "neomuttrc")
	if err := os.WriteFile(rcPath, []byte(rc), 0o600); err != nil {
		t.Fatal(err)
	}
	c := &tmuxClient{t: t, socket: filepath.Join(dir, "tmux.sock"), session: "mutt"}
	cmd := fmt.Sprintf("HOME=%s TERM=xterm neomutt -n -F %s", dir, rcPath)
	c.tmux("new-session", "-d", "-s", c.session, "-x", "160", "-y", "40", cmd)
	t.Cleanup(func() { exec.Command("tmux", "-S", c.socket, "kill-server").Run() })

	c.waitFor("INBOX")
	// Tab at an empty change-folder prompt opens the folder browser on
	// $folder (neomutt LISTs it); bob walks down Other Users/ and
	// alice's: her shared folders, not her private one.
	c.keys("c")
	c.waitFor("Open mailbox")
	c.keys("C-u", "Tab")
	c.waitFor("Other Users", "Trash")
	c.keys("/", "Other", "Enter", "Enter")
	c.waitFor("alice@example.org")
	c.keys("/", "alice", "Enter", "Enter")
	s := c.waitFor("Work", "Team")
	t.Logf("neomutt's folder browser:\n%s", s)
	if strings.Contains(s, "Private") {
		t.Fatalf("neomutt lists a folder alice did not share:\n%s", s)
	}
	// Enter on Work opens it: the index shows alice's message.
	c.keys("/", "Work", "Enter", "Enter")
	c.waitFor("quarterly plan", "Alice")
	c.keys("Enter")
	c.waitFor("The plan.")
	c.keys("q")
	c.keys("q")
	// neomutt syncs the \Seen it set on leaving the folder: wait for it
	// to exit.
	deadline := time.Now().Add(20 * time.Second)
	for exec.Command("tmux", "-S", c.socket, "has-session", "-t", c.session).Run() == nil {
		if time.Now().After(deadline) {
			t.Fatalf("neomutt did not quit:\n%s", c.screen())
		}
		time.Sleep(100 * time.Millisecond)
	}
	// Reading set bob's \Seen, not alice's.
	a.ok("SELECT Work")
	a.expect("FETCH 1 (FLAGS)", `* 1 FETCH (FLAGS ())`, "OK Fetch completed.")
	b := h.login(t, "bob@example.org")
	b.ok(`SELECT "Other Users/alice@example.org/Work"`)
	b.expect("FETCH 1 (FLAGS)", `* 1 FETCH (FLAGS (\Seen))`, "OK Fetch completed.")
}
