package imapserver

import (
	"strconv"
	"strings"
	"testing"
)

// TestUIDOnly: after ENABLE UIDONLY (RFC 9586) a session neither sends
// nor takes message sequence numbers.
func TestUIDOnly(t *testing.T) {
	h := start(t, nil)
	c := h.login(t, "alice@example.org")
	if caps := c.ok("CAPABILITY"); !strings.Contains(caps[0], " UIDONLY") {
		t.Fatalf("UIDONLY not offered: %q", caps)
	}
	for i := 1; i <= 4; i++ {
		c.appendMsg("INBOX", "()", testMessage(i))
	}
	c.expect("ENABLE UIDONLY", "* ENABLED UIDONLY", "OK Enabled.")
	c.expect("ENABLE UIDONLY", "* ENABLED", "OK Enabled.")
	u := c.ok("SELECT INBOX")
	for _, l := range u {
		if strings.Contains(l, "UNSEEN") {
			t.Errorf("SELECT sent a sequence number: %q", l)
		}
	}
	if !strings.Contains(strings.Join(u, "\n"), "* 4 EXISTS") {
		t.Errorf("SELECT: %q", u)
	}
	for _, cmd := range []string{"FETCH 1 FLAGS", "STORE 1 +FLAGS (\\Seen)", "SEARCH ALL", "COPY 1 Trash", "MOVE 1 Trash",
		"SORT (DATE) UTF-8 ALL", "THREAD REFERENCES UTF-8 ALL", "UID SEARCH 1:2", "UID SEARCH OR UID 1 2",
		"UID SORT (DATE) UTF-8 NOT 1", "UID THREAD ORDEREDSUBJECT UTF-8 (1:*)"} {
		if _, tagged := c.cmd(cmd); !strings.HasPrefix(tagged, "BAD [UIDREQUIRED] ") {
			t.Errorf("%s: %q", cmd, tagged)
		}
	}
	c.expect("UID FETCH 2:3 (FLAGS)", `* 2 UIDFETCH (FLAGS (\Recent))`, `* 3 UIDFETCH (FLAGS (\Recent))`, "OK Fetch completed.")
	c.expect("UID FETCH 3 (UID RFC822.SIZE)", `* 3 UIDFETCH (UID 3 RFC822.SIZE 149)`, "OK Fetch completed.")
	c.expect("UID SEARCH UID 2:3 NOT DELETED", "* SEARCH 2 3", "OK Search completed.")
	c.expect("UID SEARCH RETURN (SAVE) SUBJECT \"test 3\"", "OK Search completed.")
	c.expect("UID SEARCH $", "* SEARCH 3", "OK Search completed.")
	c.expect("UID STORE 2 +FLAGS (\\Deleted)", `* 2 UIDFETCH (FLAGS (\Deleted \Recent))`, "OK Store completed.")
	c.expect("UID EXPUNGE 2", "* VANISHED 2", "OK Expunge completed.")

	// Changes made elsewhere arrive as UIDFETCH and VANISHED.
	o := h.login(t, "alice@example.org")
	o.ok("SELECT INBOX")
	o.ok("STORE 1 +FLAGS (\\Flagged \\Deleted)")
	o.ok("STORE 2 +FLAGS (\\Deleted)")
	o.ok("EXPUNGE")
	o.ok("STORE 1 +FLAGS (\\Seen)")
	c.expect("NOOP", "* VANISHED 1,3", `* 4 UIDFETCH (FLAGS (\Seen \Recent))`, "OK Noop completed.")
	// IDLE too.
	c.send("i IDLE")
	if l := c.line(); !strings.HasPrefix(l, "+ ") {
		t.Fatalf("IDLE: %q", l)
	}
	o.ok("STORE 1 -FLAGS (\\Seen)")
	if l := c.line(); l != `* 4 UIDFETCH (FLAGS (\Recent))` {
		t.Fatalf("IDLE flag change: %q", l)
	}
	o.appendMsg("INBOX", "()", testMessage(5))
	if l := c.line(); l != "* 2 EXISTS" {
		t.Fatalf("IDLE new message: %q", l)
	}
	c.send("DONE")
	if _, tagged := c.until("i"); !strings.HasPrefix(tagged, "OK") {
		t.Fatalf("IDLE: %q", tagged)
	}
	c.expect("UID FETCH 1:* (UID)", `* 4 UIDFETCH (UID 4)`, `* 5 UIDFETCH (UID 5)`, "OK Fetch completed.")

	// QRESYNC with UIDONLY: VANISHED (EARLIER) as ever, but no sequence
	// match data.
	c.ok("ENABLE QRESYNC")
	c.ok("UNSELECT")
	uv, _ := h.folder(t, "alice@example.org", "INBOX")
	sel := "SELECT INBOX (QRESYNC (" + strconv.FormatInt(uv, 10) + " 1 1:5 (1:2 4:5)))"
	if _, tagged := c.cmd(sel); !strings.HasPrefix(tagged, "BAD [UIDREQUIRED] ") {
		t.Fatalf("%s: %q", sel, tagged)
	}
	u = c.ok("SELECT INBOX (QRESYNC (" + strconv.FormatInt(uv, 10) + " 1 1:5))")
	if j := strings.Join(u, "\n"); !strings.Contains(j, "* VANISHED (EARLIER) 1:3") || !strings.Contains(j, "* 4 UIDFETCH (FLAGS () MODSEQ (") {
		t.Fatalf("QRESYNC SELECT: %q", u)
	}

	// Not in the selected state (RFC 5161 3): the mode stays off.
	d := h.login(t, "alice@example.org")
	d.ok("SELECT INBOX")
	d.expect("ENABLE UIDONLY", "* ENABLED", "OK Enabled.")
	d.expect("FETCH 1 UID", "* 1 FETCH (UID 4)", "OK Fetch completed.")
}

// TestUIDOnlyImaplib: Python's imaplib against UIDONLY, answers as RFC
// 9586 has them.
func TestUIDOnlyImaplib(t *testing.T) {
	h := start(t, nil)
	host, port, _ := strings.Cut(h.addr, ":")
	got := runScript(t, "testdata/uidonly_cases.py", host, port, "alice@example.org", testPass)
	tuv, _ := h.folder(t, "alice@example.org", "Trash")
	want := map[string][]string{
		"enable":         {"* ENABLED UIDONLY", "OK"},
		"fetch_seq":      {"BAD [UIDREQUIRED]", "error: FETCH command error: BAD [b'[UIDREQUIRED] Message sequence numbers are not allowed once UIDONLY is enabled, use UID FETCH.']"},
		"search_seq":     {"BAD [UIDREQUIRED]", "error: SEARCH command error: BAD [b'[UIDREQUIRED] Message sequence numbers are not allowed once UIDONLY is enabled, use UID SEARCH.']"},
		"uid_search_seq": {"BAD [UIDREQUIRED]", "error: UID command error: BAD [b'[UIDREQUIRED] Message sequence numbers are not allowed in search criteria once UIDONLY is enabled, use UID <set>.']"},
		"uid_fetch": {`* 1 UIDFETCH (FLAGS (\Recent) BODY[TEXT] {8}`, ")", `* 2 UIDFETCH (FLAGS (\Recent) BODY[TEXT] {8}`, ")",
			`* 3 UIDFETCH (FLAGS (\Recent) BODY[TEXT] {8}`, ")", "OK"},
		"uid_fetch_parsed": {`(b'1 (FLAGS (\\Recent) BODY[TEXT] {8}', b'body 1\r\n')`, `b')'`,
			`(b'2 (FLAGS (\\Recent) BODY[TEXT] {8}', b'body 2\r\n')`, `b')'`,
			`(b'3 (FLAGS (\\Recent) BODY[TEXT] {8}', b'body 3\r\n')`, `b')'`},
		"uid_store":  {`* 2 UIDFETCH (FLAGS (\Deleted \Seen \Recent))`, "OK"},
		"uid_search": {"* SEARCH 2", "OK"},
		"expunge":    {"* VANISHED 2", "OK"},
		"noop":       {"* VANISHED 1", `* 3 UIDFETCH (FLAGS (\Answered \Recent))`, "OK"},
		"uid_copy":   {"OK [COPYUID " + strconv.FormatInt(tuv, 10) + " 3 1]"},
	}
	for step, w := range want {
		g := got[step]
		for i, l := range g {
			// The tagged line: status and code only.
			if m := reTagged.FindStringSubmatch(l); m != nil && !strings.HasPrefix(l, "*") {
				g[i] = m[1] + m[2]
			}
		}
		if strings.Join(g, "\n") != strings.Join(w, "\n") {
			t.Errorf("%s:\ngot  %q\nwant %q", step, g, w)
		}
	}
	if sel := strings.Join(got["select"], "\n"); strings.Contains(sel, "UNSEEN") || !strings.Contains(sel, "* 3 EXISTS") {
		t.Errorf("select: %q", got["select"])
	}
}
