package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// makeMaildirTree writes a Dovecot-style Maildir++ tree: INBOX at the root,
// other folders as .Name, n messages each with Message-IDs
// <folder.i@tree.test>. flagged(i) gives a message's Maildir info letters.
// With uidValidity > 0 each folder gets a dovecot-uidlist giving message i
// the UID 100+i.
func makeMaildirTree(t testing.TB, root string, folders map[string]int, uidValidity int64, flags func(i int) string) {
	t.Helper()
	for folder, n := range folders {
		dir := root
		if folder != "INBOX" {
			dir = filepath.Join(root, "."+folder)
		}
		for _, sub := range []string{"cur", "new", "tmp"} {
			if err := os.MkdirAll(filepath.Join(dir, sub), 0o700); err != nil {
				t.Fatal(err)
			}
		}
		var uidlist strings.Builder
		if uidValidity > 0 {
			fmt.Fprintf(&uidlist, "3 V%d N%d G0123456789abcdef\n", uidValidity, 100+n)
		}
		base := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
		for i := 0; i < n; i++ {
			name := fmt.Sprintf("%d.M%dP1.oldhost", base.Unix()+int64(i), i)
			msg := fmt.Sprintf("From: Old Sender <old@tree.test>\nTo: someone@tree.test\nSubject: %s message %d\nDate: %s\nMessage-ID: <%s.%d@tree.test>\n\nBody of message %d in %s.\n",
				folder, i, base.Add(time.Duration(i)*time.Minute).Format(time.RFC1123Z), folder, i, i, folder)
			sub, info := "new", ""
			if f := flags(i); f != "" || i%2 == 0 {
				sub, info = "cur", ":2,"+f
			}
			path := filepath.Join(dir, sub, name+info)
			if err := os.WriteFile(path, []byte(msg), 0o600); err != nil {
				t.Fatal(err)
			}
			mt := base.Add(time.Duration(i) * time.Minute)
			os.Chtimes(path, mt, mt)
			if uidValidity > 0 {
				fmt.Fprintf(&uidlist, "%d :%s\n", 100+i, name)
			}
		}
		if uidValidity > 0 {
			if err := os.WriteFile(filepath.Join(dir, "dovecot-uidlist"), []byte(uidlist.String()), 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func TestImportMaildir(t *testing.T) {
	requireTool(t, python)
	s := startServer(t, options{}, func(s *server) {
		s.admin("domain", "add", "imp.test")
		s.addUser("dave@imp.test")
	})
	src := filepath.Join(s.Dir, "old-maildir")
	makeMaildirTree(t, src, map[string]int{"INBOX": 5, "Archive": 3, "Sent": 2}, 1700000000, func(i int) string {
		if i == 1 {
			return "FS"
		}
		return ""
	})
	out := s.admin("import-maildir", "dave@imp.test", src)
	if !strings.Contains(out, "imported 10 messages") {
		t.Fatalf("import-maildir said %q", out)
	}
	// Running it again must not duplicate anything.
	out = s.admin("import-maildir", "dave@imp.test", src)
	if !strings.Contains(out, "imported 0 messages") {
		t.Fatalf("second import-maildir said %q", out)
	}
	// POP3 UIDLs carry UID and UIDVALIDITY (%08X%08X): the Dovecot UIDs were kept.
	r := s.pop3(map[string]any{"port": s.POP3SPort, "tls": "implicit", "user": "dave@imp.test", "pass": "correct horse battery"})
	if len(r.UIDL) != 5 {
		t.Fatalf("INBOX over POP3: %v", r.UIDL)
	}
	for i, l := range r.UIDL {
		want := fmt.Sprintf("%08X%08X", 100+i, 1700000000)
		if uidlOf(l) != want {
			t.Errorf("message %d: UIDL %s, want %s (Dovecot UID and UIDVALIDITY kept)", i+1, uidlOf(l), want)
		}
	}
	db := s.openDB()
	defer db.Close()
	folders := queryStrings(t, db, `SELECT name || ':' || (SELECT COUNT(*) FROM mail_message m WHERE m.folder_id=f.id) FROM mail_folder f WHERE username='dave@imp.test' ORDER BY name`)
	if got := strings.Join(folders, " "); got != "Archive:3 Drafts:0 INBOX:5 Junk:0 Sent:2 Trash:0" {
		t.Fatalf("folders after import: %s", got)
	}
	flags := queryStrings(t, db, `SELECT m.flags FROM mail_message m JOIN mail_folder f ON f.id=m.folder_id WHERE f.username='dave@imp.test' AND f.name='INBOX' AND m.uid=101`)
	if len(flags) != 1 || flags[0] != `\Flagged \Seen` {
		t.Fatalf("flags of UID 101: %q", flags)
	}
	s.checkIndex()
}
