package e2e

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// pyACLScenario: two users with imaplib, as in Dovecot with its acl
// plugin and shared namespaces. alice shares a folder with bob, bob
// finds it under "Other Users/", reads it (EXAMINE: imaplib treats a
// SELECT answered READ-ONLY as an error), is refused what his rights do
// not allow, appends once alice grants "i"; both use the domain's shared
// mailbox, and bob's IDLE there hears alice's APPEND. Each step records
// the lines the server sent for it.
const pyACLScenario = `
import imaplib, json, socket, ssl, sys
socket.setdefaulttimeout(30)
req = json.load(sys.stdin)
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE

class Rec(imaplib.IMAP4_SSL):
    log = None
    def _get_line(self):
        line = super()._get_line()
        if self.log is not None:
            self.log.append(line.decode("utf-8", "replace"))
        return line

out = {}
def login(user):
    c = Rec("127.0.0.1", req["imaps"], ssl_context=ctx)
    c.login(user, req["pass"])
    return c

def step(name, c, *args):
    c.log = []
    try:
        c._simple_command(*args)
    except imaplib.IMAP4.error as e:
        c.log.append("error: " + str(e))
    out[name] = c.log
    c.log = None

def select(name, c, mailbox, readonly):
    c.log = []
    try:
        c.select(mailbox, readonly)
    except imaplib.IMAP4.error as e:
        c.log.append("error: " + str(e))
    out[name] = c.log
    c.log = None

def fetch(name, c, items):
    try:
        typ, dat = c.fetch("1", items)
        out[name] = [typ] + [x[1].decode() for x in dat if isinstance(x, tuple)]
    except imaplib.IMAP4.error as e:
        out[name] = ["error: " + str(e)]

def append(name, c, mailbox, msg):
    c.log = []
    try:
        c.append(mailbox, None, None, msg.encode())
    except imaplib.IMAP4.error as e:
        c.log.append("error: " + str(e))
    out[name] = c.log
    c.log = None

a, b = login(req["alice"]), login(req["bob"])
work = '"Other Users/%s/Projects"' % req["alice"]
msg = "From: alice@acl.test\r\nSubject: plan\r\n\r\nthe plan\r\n"
step("caps", a, "CAPABILITY")
step("namespace", b, "NAMESPACE")
step("create", a, "CREATE", "Projects")
append("append_alice", a, "Projects", msg)
step("setacl", a, "SETACL", "Projects", req["bob"], "lr")
step("getacl", a, "GETACL", "Projects")
step("list_bob", b, "LIST", '""', '"Other Users/*"')
step("myrights_bob", b, "MYRIGHTS", work)
step("getacl_bob", b, "GETACL", work)
select("select_bob", b, work, True)
fetch("fetch_bob", b, "(BODY[HEADER.FIELDS (SUBJECT)])")
step("delete_bob", b, "DELETE", work)
append("append_bob_denied", b, work, "Subject: mine\r\n\r\nx\r\n")
step("setacl_insert", a, "SETACL", "Projects", req["bob"], "+i")
append("append_bob", b, work, "Subject: mine\r\n\r\nx\r\n")
step("myrights_after", b, "MYRIGHTS", work)
step("status_alice", a, "STATUS", "Projects", "(MESSAGES)")

# The domain's shared mailbox (made with "mailwarden shared create").
step("list_shared", b, "LIST", '""', '"Shared/*"')
step("myrights_shared", b, "MYRIGHTS", "Shared/support")
select("select_shared", b, "Shared/support", False)
try:
    tag = b._new_tag()
    b.send(tag + b" IDLE\r\n")
    out["idle_cont"] = b.readline().decode().strip()
    append("append_shared", a, "Shared/support", "Subject: ticket\r\n\r\nhelp\r\n")
    out["idle_push"] = b.readline().decode().strip()
    b.send(b"DONE\r\n")
    while True:
        l = b.readline().decode().strip()
        if l.startswith(tag.decode()):
            out["idle_done"] = l
            break
except OSError as e:
    out["idle_error"] = str(e)
    print(json.dumps(out))
    sys.exit(0)
select("fetch_shared_alice_select", a, "Shared/support", False)
fetch("fetch_shared_alice", a, "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
# Per-user \Seen: bob reads the ticket; it stays unseen for alice.
select("seen_bob_select", b, "Shared/support", False)
step("seen_bob_read", b, "FETCH", "1", "(BODY[TEXT])")
step("seen_bob_search", b, "SEARCH", "SEEN")
step("seen_alice_search", a, "SEARCH", "UNSEEN")
step("seen_alice_flags", a, "FETCH", "1", "(FLAGS)")
step("seen_alice_status", a, "STATUS", "Shared/support", "(UNSEEN)")
step("seen_bob_status", b, "STATUS", "Shared/support", "(UNSEEN)")
a.logout(); b.logout()
print(json.dumps(out))
`

func TestACLSharedFolders(t *testing.T) {
	requireTool(t, python)
	const alice, bob = "alice@acl.test", "bob@acl.test"
	s := startServer(t, options{}, func(s *server) {
		s.admin("domain", "add", "acl.test")
		s.addUser(alice)
		s.addUser(bob)
		out := s.admin("shared", "create", "acl.test", "support", "--anyone", "lrsi")
		if !strings.Contains(out, "created Shared/support") {
			t.Errorf("shared create said %q", out)
		}
	})
	body, _ := json.Marshal(map[string]any{"imaps": s.IMAPSPort, "alice": alice, "bob": bob, "pass": "correct horse battery"})
	cmd := exec.Command(python, "-c", pyACLScenario)
	cmd.Stdin = bytes.NewReader(body)
	raw, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("imaplib scenario: %v\n%s", err, raw)
	}
	var r map[string]any
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Fatalf("imaplib output %q: %v", raw, err)
	}
	lines := func(k string) []string {
		var out []string
		switch v := r[k].(type) {
		case []any:
			for _, l := range v {
				out = append(out, l.(string))
			}
		case string:
			out = []string{v}
		}
		return out
	}
	has := func(k, want string) {
		t.Helper()
		if !slices.ContainsFunc(lines(k), func(l string) bool { return strings.Contains(l, want) }) {
			t.Errorf("%s: %q lacks %q", k, lines(k), want)
		}
	}
	work := `"Other Users/alice@acl.test/Projects"`
	has("caps", " ACL ")
	has("caps", " RIGHTS=texk ")
	has("namespace", `* NAMESPACE (("" ".")) (("Other Users/" "/")) (("Shared/" "/"))`)
	has("getacl", "* ACL Projects alice@acl.test lrwstipekxacd bob@acl.test lr")
	if got := lines("list_bob"); len(got) != 3 || got[1] != `* LIST (\HasNoChildren) "/" `+work {
		t.Errorf("bob's LIST: %q", got)
	}
	has("myrights_bob", "* MYRIGHTS "+work+" lr")
	has("getacl_bob", "[NOPERM]")
	has("select_bob", "[READ-ONLY]")
	has("fetch_bob", "Subject: plan")
	has("delete_bob", "[NOPERM]")
	has("append_bob_denied", "[NOPERM]")
	has("append_bob", "[APPENDUID ")
	has("myrights_after", "* MYRIGHTS "+work+" lri")
	has("status_alice", "* STATUS Projects (MESSAGES 2)")
	has("list_shared", `* LIST (\HasNoChildren) "/" Shared/support`)
	has("myrights_shared", "* MYRIGHTS Shared/support lrsi")
	has("select_shared", "OK [READ-WRITE]")
	has("idle_cont", "+ ")
	has("idle_push", "* 1 EXISTS")
	has("idle_done", "OK")
	has("fetch_shared_alice", "Subject: ticket")
	has("seen_bob_read", `FLAGS (\Seen)`)
	has("seen_bob_search", "* SEARCH 1")
	has("seen_alice_search", "* SEARCH 1")
	has("seen_alice_flags", "* 1 FETCH (FLAGS ())")
	has("seen_alice_status", "* STATUS Shared/support (UNSEEN 1)")
	has("seen_bob_status", "* STATUS Shared/support (UNSEEN 0)")

	// The CLI sees and changes what IMAP set.
	if out := s.admin("acl", "list", alice, "Projects"); !strings.Contains(out, "Projects  bob@acl.test  lri") {
		t.Errorf("acl list: %q", out)
	}
	if out := s.admin("acl", "set", alice, "Projects", bob, "-r"); !strings.Contains(out, "bob@acl.test on Projects of alice@acl.test: li") {
		t.Errorf("acl set -r: %q", out)
	}
	s.admin("acl", "set", alice, "Projects", "-anyone", "i")
	if out := s.admin("acl", "list", alice); !strings.Contains(out, "-anyone") || !strings.Contains(out, "bob@acl.test  li") {
		t.Errorf("acl list after set: %q", out)
	}
	s.admin("acl", "delete", alice, "Projects", bob)
	if out := s.admin("acl", "list", "@acl.test"); !strings.Contains(out, "Shared/support  anyone      lrsi") {
		t.Errorf("acl list @acl.test: %q", out)
	}
	if code, _, errOut := s.cli("acl", "set", alice, "Projects", bob, "lz"); code == 0 || !strings.Contains(errOut, "not a right") {
		t.Errorf("acl set with a bad right: exit %d, %q", code, errOut)
	}
	if out := s.admin("shared", "list", "acl.test"); !strings.Contains(out, "Shared/support") || !strings.Contains(out, "1") {
		t.Errorf("shared list: %q", out)
	}
	// POP3 serves one's own INBOX only, whatever others share (RFC 4314
	// is IMAP's): bob may read alice's INBOX over IMAP, not over POP3.
	s.send("sender@far.test", alice, message("sender@far.test", alice, "for alice", newMessageID("acl"), "text\n"))
	s.admin("acl", "set", alice, "INBOX", bob, "lrswipkxtea")
	if r := s.pop3(map[string]any{"port": s.POP3Port, "tls": "stls", "user": bob, "pass": "correct horse battery"}); len(r.Stat) != 2 || r.Stat[0] != 0 {
		t.Errorf("bob's POP3 STAT: %v", r.Stat)
	}
	if r := s.pop3(map[string]any{"port": s.POP3Port, "tls": "stls", "user": alice, "pass": "correct horse battery"}); len(r.Stat) != 2 || r.Stat[0] != 1 {
		t.Errorf("alice's POP3 STAT: %v", r.Stat)
	}
	s.admin("acl", "delete", alice, "INBOX", bob)

	// acl import: dovecot-acl files as Dovecot writes them.
	tree := t.TempDir()
	for p, body := range map[string]string{
		".Projects/dovecot-acl": "anyone l\ngroup=staff lr\nuser=bob lrs\n",
		".Gone/dovecot-acl":     "anyone l\n",
	} {
		if err := os.MkdirAll(filepath.Join(tree, filepath.Dir(p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(tree, p), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out := s.admin("acl", "import", alice, tree)
	for _, want := range []string{`"group=staff": groups are not supported`, "folder Gone does not exist", "imported 2 entries on 1 folders of alice@acl.test"} {
		if !strings.Contains(out, want) {
			t.Errorf("acl import: %q lacks %q", out, want)
		}
	}
	if out := s.admin("acl", "list", alice, "Projects"); !strings.Contains(out, "bob@acl.test  lrs") || !strings.Contains(out, "anyone        l") {
		t.Errorf("acl list after import: %q", out)
	}
	s.admin("acl", "delete", alice, "Projects", bob)
	s.admin("acl", "delete", alice, "Projects", "anyone")

	// A Dovecot public namespace's tree: its messages into the domain's
	// shared mailboxes, then its dovecot-acl files.
	pub := t.TempDir()
	for _, d := range []string{"cur", "new", "tmp", ".helpdesk/cur", ".helpdesk/new", ".helpdesk/tmp"} {
		if err := os.MkdirAll(filepath.Join(pub, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for p, body := range map[string]string{
		".helpdesk/cur/1700000000.M1P1.old:2,S": "Subject: printer\r\n\r\nout of paper\r\n",
		".helpdesk/dovecot-acl":                 "anyone lrs\nuser=alice lrswipkxtea\n",
	} {
		if err := os.WriteFile(filepath.Join(pub, p), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if out := s.admin("import-maildir", "@acl.test", pub); !strings.Contains(out, "imported 1 messages") {
		t.Errorf("import-maildir @acl.test: %q", out)
	}
	if out := s.admin("acl", "import", "@acl.test", pub); !strings.Contains(out, "imported 2 entries on 1 folders of @acl.test") {
		t.Errorf("acl import @acl.test: %q", out)
	}
	if out := s.admin("acl", "list", "@acl.test", "helpdesk"); !strings.Contains(out, "alice@acl.test  lrwstipekxa") || !strings.Contains(out, "anyone          lrs") {
		t.Errorf("acl list @acl.test helpdesk: %q", out)
	}
	if out := s.admin("shared", "list", "acl.test"); !strings.Contains(out, "Shared/helpdesk") {
		t.Errorf("shared list after the import: %q", out)
	}
	s.admin("shared", "delete", "acl.test", "helpdesk")
	db := s.openDB()
	defer db.Close()
	if got := queryStrings(t, db, `SELECT f.username || ' ' || f.name || ' ' || a.identifier || ' ' || a.rights FROM mail_acl a JOIN mail_folder f ON f.id = a.folder_id ORDER BY 1`); strings.Join(got, ";") != "@acl.test support anyone lrsi;alice@acl.test Projects -anyone i" {
		t.Errorf("mail_acl rows: %q", got)
	}
	s.checkIndex()
}
