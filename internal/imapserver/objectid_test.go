package imapserver

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"mailwarden/internal/imapwire"
	"mailwarden/internal/store"
)

var (
	reMailboxID = regexp.MustCompile(`MAILBOXID \(([A-Za-z0-9_-]+)\)`)
	reEmailID   = regexp.MustCompile(`EMAILID \(([A-Za-z0-9_-]+)\)`)
	// reMailboxIDCode: normalize drops the codes Dovecot 2.3 does not send.
	reMailboxIDCode = regexp.MustCompile(`OK \[MAILBOXID \([A-Za-z0-9_-]+\)\]`)
)

// idIn returns the first id re finds in lines, failing when there is none.
func idIn(t *testing.T, re *regexp.Regexp, lines ...string) string {
	t.Helper()
	for _, l := range lines {
		if m := re.FindStringSubmatch(l); m != nil {
			if !imapwire.IsObjectID(m[1]) {
				t.Fatalf("%q is not an objectid", m[1])
			}
			return m[1]
		}
	}
	t.Fatalf("no %s in %q", re, lines)
	return ""
}

// TestObjectIDMailbox: MAILBOXID (RFC 8474 4) in the CREATE response, at
// SELECT and EXAMINE, in STATUS and LIST-STATUS; stable across sessions,
// kept by RENAME, new for a folder deleted and created again.
func TestObjectIDMailbox(t *testing.T) {
	h := start(t, nil)
	c := h.login(t, "alice@example.org")
	_, tagged := c.cmd("CREATE foo")
	// RFC 8474 4.1 example: "A3 OK [MAILBOXID (F2212ea87-...)] Completed"
	if !strings.HasPrefix(tagged, "OK [MAILBOXID (") {
		t.Fatalf("CREATE: %q", tagged)
	}
	id := idIn(t, reMailboxID, tagged)
	c.expect("STATUS foo (MAILBOXID MESSAGES)", "* STATUS foo (MAILBOXID ("+id+") MESSAGES 0)", "OK Status completed.")
	u := c.ok("EXAMINE foo")
	if got := idIn(t, reMailboxID, u...); got != id {
		t.Fatalf("EXAMINE: MAILBOXID %s, CREATE said %s", got, id)
	}
	if !contains(u, "* OK [MAILBOXID ("+id+")] Ok") {
		t.Fatalf("EXAMINE: %q", u)
	}
	// Another session (the ids are stored, not per session).
	d := h.login(t, "alice@example.org")
	d.expect("STATUS foo (MAILBOXID)", "* STATUS foo (MAILBOXID ("+id+"))", "OK Status completed.")
	// RFC 8474 4.2: RENAME keeps the id.
	c.ok("UNSELECT")
	c.ok("RENAME foo bar")
	c.expect("STATUS bar (MAILBOXID)", "* STATUS bar (MAILBOXID ("+id+"))", "OK Status completed.")
	// LIST-STATUS (RFC 5819) carries it too.
	u = c.ok(`LIST "" bar RETURN (STATUS (MAILBOXID UIDNEXT))`)
	if !contains(u, "* STATUS bar (MAILBOXID ("+id+") UIDNEXT 1)") {
		t.Fatalf("LIST-STATUS: %q", u)
	}
	// Deleted and created again: a new mailbox, a new id.
	c.ok("DELETE bar")
	_, tagged = c.cmd("CREATE bar")
	if again := idIn(t, reMailboxID, tagged); again == id {
		t.Fatalf("re-created mailbox got the old id %s", id)
	}
	// The default folders, made before anyone asked, have distinct ids.
	seen := map[string]string{}
	for _, f := range []string{"INBOX", "Sent", "Drafts", "Junk", "Trash", "bar"} {
		u := c.ok("STATUS " + f + " (MAILBOXID)")
		got := idIn(t, reMailboxID, u...)
		if other, dup := seen[got]; dup {
			t.Fatalf("%s and %s share MAILBOXID %s", f, other, got)
		}
		seen[got] = f
	}
}

func contains(lines []string, want string) bool {
	for _, l := range lines {
		if l == want {
			return true
		}
	}
	return false
}

// TestObjectIDEmail: FETCH EMAILID and THREADID (RFC 8474 5), SEARCH
// EMAILID/THREADID (6); COPY and MOVE keep the EMAILID; a message stored
// before ids existed gets one, once.
func TestObjectIDEmail(t *testing.T) {
	h := start(t, nil)
	c := h.login(t, "alice@example.org")
	c.appendMsg("INBOX", "()", testMessage(1))
	c.appendMsg("INBOX", "()", testMessage(2))
	c.appendMsg("INBOX", "()", testMessage(3))
	c.ok("CREATE Archive")
	c.ok("SELECT INBOX")
	u := c.ok("FETCH 1:3 (EMAILID THREADID)")
	if len(u) != 3 {
		t.Fatalf("FETCH: %q", u)
	}
	ids := make([]string, 3)
	for i, l := range u {
		ids[i] = idIn(t, reEmailID, l)
		// RFC 8474 5.2: THREADID NIL when threads are not kept.
		if want := "* " + string(rune('1'+i)) + " FETCH (EMAILID (" + ids[i] + ") THREADID NIL)"; l != want {
			t.Fatalf("FETCH: %q, want %q", l, want)
		}
	}
	if ids[0] == ids[1] || ids[1] == ids[2] || ids[0] == ids[2] {
		t.Fatalf("EMAILIDs not distinct: %q", ids)
	}
	c.expect("UID FETCH 2 EMAILID", "* 2 FETCH (UID 2 EMAILID ("+ids[1]+"))", "OK Fetch completed.")
	c.expect("SEARCH EMAILID "+ids[1], "* SEARCH 2", "OK Search completed.")
	c.expect("SEARCH OR EMAILID "+ids[0]+" EMAILID "+ids[2], "* SEARCH 1 3", "OK Search completed.")
	c.expect("SEARCH EMAILID Mnosuchid", "* SEARCH", "OK Search completed.")
	c.expect("SEARCH THREADID T1", "* SEARCH", "OK Search completed.")
	c.expect("SEARCH NOT THREADID T1", "* SEARCH 1 2 3", "OK Search completed.")
	_, tagged := c.cmd("SEARCH EMAILID \"bad id\"")
	if !strings.HasPrefix(tagged, "BAD") {
		t.Fatalf("SEARCH EMAILID with a space: %q", tagged)
	}
	// RFC 8474 5.1: MOVE keeps the EMAILID; so does COPY here (the copy
	// is a hard link to the same content).
	c.ok("COPY 1 Archive")
	c.ok("MOVE 2 Archive")
	c.ok("SELECT Archive")
	c.expect("FETCH 1:2 EMAILID", "* 1 FETCH (EMAILID ("+ids[0]+"))", "* 2 FETCH (EMAILID ("+ids[1]+"))", "OK Fetch completed.")
	c.expect("SEARCH EMAILID "+ids[1], "* SEARCH 2", "OK Search completed.")
	// A message indexed before the column existed gets an id when first
	// asked, and keeps it.
	if _, err := h.db.Write.Exec(`UPDATE mail_message SET emailid = NULL`); err != nil {
		t.Fatal(err)
	}
	c.ok("SELECT INBOX")
	first := idIn(t, reEmailID, c.ok("FETCH 2 EMAILID")...)
	d := h.login(t, "alice@example.org")
	d.ok("SELECT INBOX")
	d.expect("FETCH 2 EMAILID", "* 2 FETCH (EMAILID ("+first+"))", "OK Fetch completed.")
	d.expect("SEARCH EMAILID "+first, "* SEARCH 2", "OK Search completed.")
}

// TestObjectIDRenameInbox: RENAME INBOX makes a new folder (new
// MAILBOXID) holding INBOX's messages, with their EMAILIDs; INBOX keeps
// its MAILBOXID.
func TestObjectIDRenameInbox(t *testing.T) {
	h := start(t, nil)
	c := h.login(t, "alice@example.org")
	c.appendMsg("INBOX", "()", testMessage(1))
	inbox := idIn(t, reMailboxID, c.ok("STATUS INBOX (MAILBOXID)")...)
	c.ok("SELECT INBOX")
	email := idIn(t, reEmailID, c.ok("FETCH 1 EMAILID")...)
	c.ok("UNSELECT")
	c.ok("RENAME INBOX Old")
	c.expect("STATUS INBOX (MAILBOXID MESSAGES)", "* STATUS INBOX (MAILBOXID ("+inbox+") MESSAGES 0)", "OK Status completed.")
	old := idIn(t, reMailboxID, c.ok("STATUS Old (MAILBOXID)")...)
	if old == inbox {
		t.Fatalf("the folder made by RENAME INBOX has INBOX's id %s", old)
	}
	c.ok("SELECT Old")
	c.expect("FETCH 1 EMAILID", "* 1 FETCH (EMAILID ("+email+"))", "OK Fetch completed.")
}

// TestObjectIDStoreRestart: the ids are in the index: a new Store on the
// same database (a restart) answers the same.
func TestObjectIDStoreRestart(t *testing.T) {
	h := start(t, nil)
	ctx := context.Background()
	a := h.account("alice@example.org")
	h.deliver(t, "alice@example.org", "INBOX", testMessage(1))
	id, err := h.store.MailboxID(ctx, a, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := h.store.MessagesWith(ctx, a, "INBOX", []int64{1}, store.PartEmailID)
	if err != nil || len(msgs) != 1 || msgs[0].EmailID == "" {
		t.Fatalf("MessagesWith: %v %+v", err, msgs)
	}
	st2, err := store.New(h.db, store.Options{Root: t.TempDir(), Hostname: "mx.test"})
	if err != nil {
		t.Fatal(err)
	}
	if id2, err := st2.MailboxID(ctx, a, "INBOX"); err != nil || id2 != id {
		t.Fatalf("after restart MAILBOXID %q (%v), before %q", id2, err, id)
	}
	msgs2, err := st2.MessagesWith(ctx, a, "INBOX", []int64{1}, store.PartEmailID)
	if err != nil || len(msgs2) != 1 || msgs2[0].EmailID != msgs[0].EmailID {
		t.Fatalf("after restart EMAILID %+v (%v), before %q", msgs2, err, msgs[0].EmailID)
	}
}

// TestObjectIDImaplib drives OBJECTID with Python's imaplib; the answers
// are those of the examples of RFC 8474, with the ids named in order of
// appearance.
func TestObjectIDImaplib(t *testing.T) {
	h := start(t, nil)
	host, port, _ := strings.Cut(h.addr, ":")
	got := runJSON(t, "testdata/objectid_cases.py", host, port, "alice@example.org", testPass)
	want := map[string]any{
		"caps":           true,
		"create":         []any{"OK", []any{"[MAILBOXID (F1)] Create completed."}},
		"status":         []any{"OK", []any{"foo (MAILBOXID (F1) MESSAGES 0)"}},
		"select":         []any{"MAILBOXID", []any{"(F1)"}},
		"rename":         []any{"OK", []any{"Rename completed."}},
		"status_renamed": []any{"OK", []any{"bar (MAILBOXID (F1))"}},
		"delete":         []any{"OK", []any{"Delete completed."}},
		"recreate":       []any{"OK", []any{"[MAILBOXID (F2)] Create completed."}},
		"append1":        "OK",
		"append2":        "OK",
		"select_inbox":   []any{"MAILBOXID", []any{"(F3)"}},
		"fetch":          []any{"OK", []any{"1 (EMAILID (M1) THREADID NIL)", "2 (EMAILID (M2) THREADID NIL)"}},
		"search":         []any{"OK", []any{"2"}},
		"search_thread":  []any{"OK", []any{""}},
		"copy":           "OK",
		"move":           "OK",
		"select_bar":     []any{"MAILBOXID", []any{"(F2)"}},
		"fetch_bar":      []any{"OK", []any{"1 (EMAILID (M1))", "2 (EMAILID (M2))"}},
		"list_status":    []any{"STATUS", []any{"bar (MAILBOXID (F2))"}},
	}
	for k, v := range want {
		if !reflect.DeepEqual(got[k], v) {
			t.Errorf("%s: got %#v, want %#v", k, got[k], v)
		}
	}
	if len(got) != len(want) {
		t.Errorf("steps: got %d, want %d: %v", len(got), len(want), got)
	}
}

// runJSON runs a testdata script with /usr/bin/python3 and decodes the
// JSON object it prints.
func runJSON(t *testing.T, script string, args ...string) map[string]any {
	t.Helper()
	if _, err := os.Stat(python); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s not installed", python)
		}
		t.Skipf("%s not installed (apt-get install python3)", python)
	}
	cmd := exec.CommandContext(t.Context(), python, append([]string{script}, args...)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %v\n%s\n%s", script, err, out, stderr.String())
	}
	var res map[string]any
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("%s output %q: %v", script, out, err)
	}
	return res
}

// TestObjectIDShared: a folder shared with another user has one
// MAILBOXID and its messages one EMAILID, whoever looks.
func TestObjectIDShared(t *testing.T) {
	h := start(t, nil)
	a := h.login(t, "alice@example.org")
	a.ok("CREATE Team")
	a.appendMsg("Team", "()", testMessage(1))
	a.ok("SETACL Team bob@example.org lr")
	box := idIn(t, reMailboxID, a.ok("STATUS Team (MAILBOXID)")...)
	a.ok("EXAMINE Team")
	email := idIn(t, reEmailID, a.ok("FETCH 1 EMAILID")...)
	b := h.login(t, "bob@example.org")
	const team = `"Other Users/alice@example.org/Team"`
	b.expect("STATUS "+team+" (MAILBOXID)", "* STATUS "+team+" (MAILBOXID ("+box+"))", "OK Status completed.")
	if u := b.ok("EXAMINE " + team); !contains(u, "* OK [MAILBOXID ("+box+")] Ok") {
		t.Fatalf("EXAMINE: %q", u)
	}
	b.expect("FETCH 1 EMAILID", "* 1 FETCH (EMAILID ("+email+"))", "OK Fetch completed.")
	b.expect("SEARCH EMAILID "+email, "* SEARCH 1", "OK Search completed.")
}
