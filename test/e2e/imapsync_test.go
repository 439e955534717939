package e2e

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// pyIMAPScript logs in over IMAPS with Python's imaplib, applies the
// requested changes and prints every folder's messages as
// {folder: ["<message-id> FLAGS", ...]}.
const pyIMAPScript = `
import imaplib, json, re, ssl, sys
req = json.load(sys.stdin)
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
m = imaplib.IMAP4_SSL("127.0.0.1", req["port"], ssl_context=ctx, timeout=60)
m.login(req["user"], req["pass"])
def check(r):
    if r[0] != "OK":
        raise SystemExit("IMAP error: %r" % (r,))
    return r[1]
for a in req.get("actions") or []:
    if a["op"] == "flag":
        check(m.select(a["folder"]))
        check(m.store(a["set"], "+FLAGS", a["flags"]))
    elif a["op"] == "delete":
        check(m.select(a["folder"]))
        check(m.store(a["set"], "+FLAGS", "\\Deleted"))
        check(m.expunge())
    elif a["op"] == "append":
        check(m.append(a["folder"], a.get("flags", ""), None, a["msg"].encode()))
out = {}
typ, lst = m.list()
for line in lst:
    name = line.decode().rsplit(' "." ', 1)[1].strip('"')
    check(m.select('"%s"' % name, readonly=True))
    typ, data = m.uid("FETCH", "1:*", "(FLAGS BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])")
    msgs = []
    for part in data:
        if not isinstance(part, tuple):
            continue
        flags = re.search(rb"FLAGS \(([^)]*)\)", part[0]).group(1).decode().split()
        mid = re.search(rb"<[^>]+>", part[1])
        msgs.append(("%s %s" % (mid.group(0).decode() if mid else "?", " ".join(sorted(f for f in flags if f != "\\Recent")))).strip())
    out[name] = sorted(msgs)
m.logout()
print(json.dumps(out))
`

func (s *server) imapState(user string, actions []map[string]any) map[string][]string {
	s.t.Helper()
	body, _ := json.Marshal(map[string]any{"port": s.IMAPSPort, "user": user, "pass": "correct horse battery", "actions": actions})
	cmd := exec.Command(python, "-c", pyIMAPScript)
	cmd.Stdin = bytes.NewReader(body)
	out, err := cmd.CombinedOutput()
	if err != nil {
		s.t.Fatalf("imaplib script: %v\n%s", err, out)
	}
	var st map[string][]string
	if err := json.Unmarshal(out, &st); err != nil {
		s.t.Fatalf("imaplib output %q: %v", out, err)
	}
	return st
}

// maildirFlagNames maps Maildir info letters to IMAP flags.
var maildirFlagNames = map[rune]string{'D': `\Draft`, 'F': `\Flagged`, 'R': `\Answered`, 'S': `\Seen`, 'T': `\Deleted`}

// localState reads a synced Maildir tree the way pyIMAPScript reports the
// server: folder -> sorted "<message-id> FLAGS". folderOf maps a directory
// (relative to root) to the IMAP folder name.
func localState(t testing.TB, root string, folderOf func(rel string) string) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		dir := filepath.Base(filepath.Dir(path))
		if dir != "cur" && dir != "new" {
			return nil
		}
		rel, _ := filepath.Rel(root, filepath.Dir(filepath.Dir(path)))
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		mid := "?"
		for _, l := range headerLines(data) {
			if strings.HasPrefix(strings.ToLower(l), "message-id:") {
				mid = strings.TrimSpace(l[len("message-id:"):])
			}
		}
		var flags []string
		if i := strings.Index(d.Name(), ":2,"); i >= 0 {
			for _, c := range d.Name()[i+3:] {
				if f, ok := maildirFlagNames[c]; ok {
					flags = append(flags, f)
				}
			}
		}
		sort.Strings(flags)
		name := folderOf(rel)
		out[name] = append(out[name], strings.TrimSpace(mid+" "+strings.Join(flags, " ")))
		return nil
	})
	for k := range out {
		sort.Strings(out[k])
	}
	return out
}

// compareStates fails the test unless both sides hold the same messages
// with the same flags in every folder that has messages.
func compareStates(t testing.TB, what string, server, local map[string][]string) {
	t.Helper()
	names := map[string]bool{}
	for k, v := range server {
		if len(v) > 0 {
			names[k] = true
		}
	}
	for k, v := range local {
		if len(v) > 0 {
			names[k] = true
		}
	}
	bad := 0
	for name := range names {
		a, b := strings.Join(server[name], "\n"), strings.Join(local[name], "\n")
		if a != b {
			bad++
			t.Errorf("%s: folder %q differs: server has %d messages, local %d\nfirst difference: %s", what, name, len(server[name]), len(local[name]), firstDiff(server[name], local[name]))
		}
	}
	if bad == 0 {
		t.Logf("%s: %d folders agree", what, len(names))
	}
}

func firstDiff(a, b []string) string {
	for i := 0; i < len(a) || i < len(b); i++ {
		var x, y string
		if i < len(a) {
			x = a[i]
		}
		if i < len(b) {
			y = b[i]
		}
		if x != y {
			return fmt.Sprintf("server %q vs local %q", x, y)
		}
	}
	return "none"
}

func total(st map[string][]string) int {
	n := 0
	for _, v := range st {
		n += len(v)
	}
	return n
}

// syncFixture is a server with a 2,000-message mailbox in 5 folders.
func syncFixture(t *testing.T, user string) *server {
	s := startServer(t, options{}, func(s *server) {
		s.admin("domain", "add", "sync.test")
		s.addUser(user)
	})
	src := filepath.Join(s.Dir, "seed")
	makeMaildirTree(t, src, map[string]int{"INBOX": 400, "Archive": 400, "Lists": 400, "Work": 400, "Sent": 400}, 0, func(i int) string {
		switch i % 7 {
		case 0:
			return "S"
		case 3:
			return "FS"
		case 5:
			return "RS"
		}
		return ""
	})
	if out := s.admin("import-maildir", user, src); !strings.Contains(out, "imported 2000 messages") {
		t.Fatalf("seeding: %s", out)
	}
	return s
}

// remoteChanges are the server-side edits made between two syncs.
func remoteChanges(s *server, user string) {
	s.imapState(user, []map[string]any{
		{"op": "flag", "folder": "Archive", "set": "1:10", "flags": `(\Flagged)`},
		{"op": "delete", "folder": "Lists", "set": "1:5"},
		{"op": "append", "folder": "INBOX", "flags": `(\Seen)`, "msg": message("a@far.test", user, "appended", "<appended.1@e2e.test>", "hello")},
	})
	s.send("sender@far.test", user, message("sender@far.test", user, "new mail", "<delivered.1@e2e.test>", "fresh"))
}

// localChanges edits a synced Maildir: marks INBOX messages seen and
// removes some Work messages, as a mail client on that side would.
func localChanges(t *testing.T, inbox, work string) {
	t.Helper()
	n := 0
	for _, sub := range []string{"new", "cur"} {
		ents, _ := os.ReadDir(filepath.Join(inbox, sub))
		for _, e := range ents {
			name := e.Name()
			if n == 10 {
				break
			}
			i := strings.Index(name, ":2,")
			if i >= 0 && strings.Contains(name[i:], "S") {
				continue
			}
			newName := name + ":2,S"
			if i >= 0 {
				newName = name + "S"
			}
			// A mail client reading a message: into cur/ with the S flag.
			if err := os.Rename(filepath.Join(inbox, sub, name), filepath.Join(inbox, "cur", newName)); err != nil {
				t.Fatal(err)
			}
			n++
		}
	}
	if n != 10 {
		t.Fatalf("marked %d local messages seen, want 10", n)
	}
	removed := 0
	for _, sub := range []string{"cur", "new"} {
		ents, _ := os.ReadDir(filepath.Join(work, sub))
		for _, e := range ents {
			if removed < 5 {
				os.Remove(filepath.Join(work, sub, e.Name()))
				removed++
			}
		}
	}
}

func TestMbsync(t *testing.T) {
	requireTool(t, "mbsync")
	requireTool(t, python)
	const user = "erin@sync.test"
	s := syncFixture(t, user)
	local := filepath.Join(s.Dir, "mbsync-local")
	os.MkdirAll(local, 0o700)
	rc := filepath.Join(s.Dir, "mbsyncrc")
	conf := fmt.Sprintf(`IMAPAccount remote
Host 127.0.0.1
Port %d
User %s
Pass "correct horse battery"
SSLType IMAPS
CertificateFile %s
AuthMechs PLAIN

IMAPStore remote
Account remote

MaildirStore local
Path %s/
Inbox %s/INBOX
SubFolders Verbatim

Channel sync
Far :remote:
Near :local:
Patterns *
Create Both
Expunge Both
SyncState *
`, s.IMAPSPort, user, filepath.Join(s.DataDir, "tls", "selfsigned.crt"), local, local)
	if err := os.WriteFile(rc, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	run := func(what string) {
		out, err := exec.Command("mbsync", "-c", rc, "-a").CombinedOutput()
		if err != nil {
			t.Fatalf("mbsync (%s): %v\n%s", what, err, out)
		}
	}
	folderOf := func(rel string) string { return rel }

	run("first sync")
	server := s.imapState(user, nil)
	if total(server) != 2000 {
		t.Fatalf("server holds %d messages, want 2000", total(server))
	}
	compareStates(t, "after the first sync", server, localState(t, local, folderOf))

	remoteChanges(s, user)
	localChanges(t, filepath.Join(local, "INBOX"), filepath.Join(local, "Work"))
	run("second sync")
	server = s.imapState(user, nil)
	if got := total(server); got != 2000-5-5+2 {
		t.Errorf("after changes the server holds %d messages, want %d", got, 2000-5-5+2)
	}
	compareStates(t, "after changes on both sides", server, localState(t, local, folderOf))
	s.checkIndex()
}

func TestOfflineimap(t *testing.T) {
	requireTool(t, "offlineimap")
	requireTool(t, python)
	const user = "frank@sync.test"
	s := syncFixture(t, user)
	local := filepath.Join(s.Dir, "oi-local")
	meta := filepath.Join(s.Dir, "oi-meta")
	rc := filepath.Join(s.Dir, "offlineimaprc")
	conf := fmt.Sprintf(`[general]
accounts = test
metadata = %s

[Account test]
localrepository = local
remoterepository = remote

[Repository local]
type = Maildir
localfolders = %s

[Repository remote]
type = IMAP
remotehost = 127.0.0.1
remoteport = %d
ssl = yes
cert_fingerprint = %s
remoteuser = %s
remotepass = correct horse battery
`, meta, local, s.IMAPSPort, certFingerprint(t, filepath.Join(s.DataDir, "tls", "selfsigned.crt")), user)
	if err := os.WriteFile(rc, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	run := func(what string) {
		out, err := exec.Command("offlineimap", "-c", rc, "-o", "-u", "basic").CombinedOutput()
		if err != nil || strings.Contains(string(out), "ERROR") {
			t.Fatalf("offlineimap (%s): %v\n%s", what, err, out)
		}
	}
	// offlineimap's Maildir layout: one directory per folder (INBOX, Archive, ...).
	folderOf := func(rel string) string { return rel }

	run("first sync")
	server := s.imapState(user, nil)
	compareStates(t, "after the first sync", server, localState(t, local, folderOf))
	remoteChanges(s, user)
	localChanges(t, filepath.Join(local, "INBOX"), filepath.Join(local, "Work"))
	run("second sync")
	server = s.imapState(user, nil)
	if got := total(server); got != 2000-5-5+2 {
		t.Errorf("after changes the server holds %d messages, want %d", got, 2000-5-5+2)
	}
	compareStates(t, "after changes on both sides", server, localState(t, local, folderOf))
	s.checkIndex()
}

// certFingerprint is the SHA-256 of a PEM certificate's DER bytes, in hex.
func certFingerprint(t testing.TB, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := pem.Decode(data)
	if b == nil {
		t.Fatalf("%s: no PEM block", path)
	}
	sum := sha256.Sum256(b.Bytes)
	return hex.EncodeToString(sum[:])
}
