package imapserver

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"mailwarden/internal/acl"
	"mailwarden/internal/directory"
	"mailwarden/internal/store"
	"mailwarden/internal/testutil"
)

// addUser adds a mailbox of example.org to the harness.
func (h *harness) addUser(t *testing.T, user string) {
	t.Helper()
	if _, err := h.dir.AddMailbox(context.Background(), directory.Mailbox{Username: user, PasswordHash: testutil.SecretHash(t), Active: true}); err != nil {
		t.Fatal(err)
	}
}

// modseqRE is the MODSEQ of a FETCH response.
var modseqRE = regexp.MustCompile(`MODSEQ \((\d+)\)`)

// expectRE fails unless the responses match the patterns, in order.
func (c *client) expectRE(s string, want ...string) []string {
	c.t.Helper()
	u, tagged := c.cmd(s)
	got := append(u, tagged)
	if len(got) != len(want) {
		c.t.Fatalf("%s:\ngot  %q\nwant %q", s, got, want)
	}
	for i, w := range want {
		if !regexp.MustCompile("^" + w + "$").MatchString(got[i]) {
			c.t.Fatalf("%s: line %d:\ngot  %q\nwant %q", s, i, got[i], w)
		}
	}
	return got
}

// TestPrivateSeenIMAP: alice shares Work with bob and carol; each of
// the three has its own \Seen there (FETCH FLAGS, SEARCH SEEN/UNSEEN,
// STATUS UNSEEN, STORE), other flags are shared; bob's change of his
// \Seen reaches his other session (IDLE) with a MODSEQ and CHANGEDSINCE,
// and not carol's.
func TestPrivateSeenIMAP(t *testing.T) {
	h := start(t, nil)
	h.addUser(t, "carol@example.org")
	a := h.login(t, "alice@example.org")
	a.ok("CREATE Work")
	h.deliver(t, "alice@example.org", "Work", testMessage(1))
	h.deliver(t, "alice@example.org", "Work", testMessage(2))
	a.ok("SETACL Work bob@example.org lrsw")
	a.ok("SETACL Work carol@example.org lrs")
	a.ok("SELECT Work") // alice takes \Recent
	a.ok(`STORE 1 +FLAGS.SILENT (\Seen)`)

	const work = `"Other Users/alice@example.org/Work"`
	b := h.login(t, "bob@example.org")
	b2 := h.login(t, "bob@example.org")
	c := h.login(t, "carol@example.org")
	b.ok("SELECT " + work + " (CONDSTORE)")
	b.expect("FETCH 1:* (FLAGS)", `* 1 FETCH (FLAGS ())`, `* 2 FETCH (FLAGS ())`, "OK Fetch completed.")
	b.expect("SEARCH UNSEEN", "* SEARCH 1 2", "OK Search completed.")
	b.expect("SEARCH SEEN", "* SEARCH", "OK Search completed.")

	sel := strings.Join(b2.ok("SELECT "+work+" (CONDSTORE)"), "\n")
	c.ok("SELECT " + work)
	m := regexp.MustCompile(`HIGHESTMODSEQ (\d+)`).FindStringSubmatch(sel)
	if m == nil {
		t.Fatalf("SELECT: %q", sel)
	}
	since := m[1]
	for _, x := range []*client{b2, c} {
		x.send("i IDLE")
		if l := x.line(); !strings.HasPrefix(l, "+ ") {
			t.Fatalf("IDLE: %q", l)
		}
	}

	// bob's \Seen of message 2 is his.
	got := b.expectRE(`STORE 2 +FLAGS (\Seen)`, `\* 2 FETCH \(UID 2 FLAGS \(\\Seen\) MODSEQ \(\d+\)\)`, "OK Store completed.")
	seenMod := modseqRE.FindStringSubmatch(got[0])[1]
	b.expect("SEARCH SEEN", "* SEARCH 2", "OK Search completed.")
	b.expect("SEARCH UNSEEN", "* SEARCH 1", "OK Search completed.")
	// His other session hears it at once, with the MODSEQ.
	b2.conn.SetDeadline(time.Now().Add(10 * time.Second))
	if l := b2.line(); l != `* 2 FETCH (UID 2 FLAGS (\Seen) MODSEQ (`+seenMod+`))` {
		t.Fatalf("bob's IDLE: %q", l)
	}
	// A shared flag reaches everyone; carol's first news is that one,
	// not bob's \Seen.
	b.ok(`STORE 2 +FLAGS.SILENT ($Important)`)
	c.conn.SetDeadline(time.Now().Add(10 * time.Second))
	for {
		l := c.line()
		if strings.Contains(l, "FETCH") {
			if l != `* 2 FETCH (UID 2 FLAGS ($Important))` {
				t.Fatalf("carol's IDLE: %q", l)
			}
			break
		}
		if !strings.HasPrefix(l, "* FLAGS") && !strings.HasPrefix(l, "* OK [PERMANENTFLAGS") {
			t.Fatalf("carol's IDLE: %q", l)
		}
	}
	for _, x := range []*client{b2, c} {
		x.send("DONE")
		x.until("i")
	}
	b2.expectRE("FETCH 1:* (FLAGS) (CHANGEDSINCE "+since+")",
		`\* 2 FETCH \(FLAGS \(\$Important \\Seen\) MODSEQ \(\d+\)\)`, "OK Fetch completed.")
	c.expect("FETCH 1:* (FLAGS)", `* 1 FETCH (FLAGS ())`, `* 2 FETCH (FLAGS ($Important))`, "OK Fetch completed.")
	a.expect("NOOP", `* FLAGS (\Answered \Flagged \Deleted \Seen \Draft $Important)`,
		`* OK [PERMANENTFLAGS (\Answered \Flagged \Deleted \Seen \Draft $Important \*)] Flags permitted.`,
		`* 2 FETCH (UID 2 FLAGS ($Important \Recent))`, "OK Noop completed.")
	a.expect("FETCH 1:* (FLAGS)", `* 1 FETCH (FLAGS (\Seen \Recent))`, `* 2 FETCH (FLAGS ($Important \Recent))`, "OK Fetch completed.")

	// STATUS UNSEEN is each user's own.
	a.expect("STATUS Work (UNSEEN)", "* STATUS Work (UNSEEN 1)", "OK Status completed.")
	c.expect("STATUS "+work+" (UNSEEN)", "* STATUS "+work+" (UNSEEN 2)", "OK Status completed.")
	b.expect("STATUS "+work+" (UNSEEN)", "* STATUS "+work+" (UNSEEN 1)", "OK Status completed.")
	b.expect(`LIST "Other Users/" "*" RETURN (STATUS (UNSEEN))`,
		`* LIST (\NonExistent \HasChildren) "/" "Other Users/alice@example.org"`,
		`* LIST (\HasNoChildren) "/" `+work, `* STATUS `+work+` (UNSEEN 1)`, "OK List completed.")

	// A body fetch sets carol's \Seen, nobody else's.
	c.expect("FETCH 1 (BODY[HEADER.FIELDS (SUBJECT)])",
		"* 1 FETCH (BODY[HEADER.FIELDS (SUBJECT)] {19}\r\nSubject: test 1\r\n\r\n FLAGS (\\Seen))", "OK Fetch completed.")
	b.expect("SEARCH SEEN", "* SEARCH 2", "OK Search completed.")
	// QRESYNC: bob's other session, selecting again from the MODSEQ it
	// had, is told of his \Seen of message 2 (and carol's body fetch
	// changed nothing of his).
	validity := regexp.MustCompile(`UIDVALIDITY (\d+)`).FindStringSubmatch(sel)[1]
	b2.ok("ENABLE QRESYNC")
	got = b2.ok("SELECT " + work + " (QRESYNC (" + validity + " " + since + "))")
	var fetches []string
	for _, l := range got {
		if strings.Contains(l, "FETCH") {
			fetches = append(fetches, l)
		}
	}
	if len(fetches) != 1 || !regexp.MustCompile(`^\* 2 FETCH \(UID 2 FLAGS \(\$Important \\Seen\) MODSEQ \(\d+\)\)$`).MatchString(fetches[0]) {
		t.Fatalf("QRESYNC SELECT: %q", got)
	}
	// alice's own \Seen is hers: clearing it leaves bob's alone.
	a.ok(`STORE 1:2 -FLAGS.SILENT (\Seen)`)
	a.expect("SEARCH SEEN", "* SEARCH", "OK Search completed.")
	b.expect("SEARCH SEEN", "* SEARCH 2", "OK Search completed.")
}

// TestPrivateSeenSharedMailbox: in a shared mailbox of the domain
// (Shared/support) every user has its own \Seen; APPEND with \Seen and
// COPY out of it carry the user's.
func TestPrivateSeenSharedMailbox(t *testing.T) {
	h := start(t, nil)
	ctx := context.Background()
	sh := store.SharedAccount("example.org")
	if err := h.store.CreateFolder(ctx, sh, "support", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := h.store.SetACL(ctx, sh, "support", "anyone", acl.Replace, acl.Lookup|acl.Read|acl.Seen|acl.Insert|acl.Write); err != nil {
		t.Fatal(err)
	}
	a := h.login(t, "alice@example.org")
	b := h.login(t, "bob@example.org")
	a.appendMsg("Shared/support", `(\Seen $Label)`, testMessage(1))
	a.appendMsg("Shared/support", `()`, testMessage(2))
	b.ok("SELECT Shared/support")
	b.expect("FETCH 1:* (FLAGS)", `* 1 FETCH (FLAGS ($Label \Recent))`, `* 2 FETCH (FLAGS (\Recent))`, "OK Fetch completed.")
	a.ok("SELECT Shared/support")
	a.expect("FETCH 1:* (FLAGS)", `* 1 FETCH (FLAGS ($Label \Seen))`, `* 2 FETCH (FLAGS ())`, "OK Fetch completed.")
	b.ok(`STORE 2 +FLAGS.SILENT (\Seen)`)
	a.expect("STATUS Shared/support (MESSAGES UNSEEN)", "* STATUS Shared/support (MESSAGES 2 UNSEEN 1)", "OK Status completed.")
	b.expect("STATUS Shared/support (MESSAGES UNSEEN)", "* STATUS Shared/support (MESSAGES 2 UNSEEN 1)", "OK Status completed.")
	a.expect("SEARCH UNSEEN", "* SEARCH 2", "OK Search completed.")
	b.expect("SEARCH UNSEEN", "* SEARCH 1", "OK Search completed.")
	// COPY into bob's INBOX: his \Seen goes with it.
	b.ok("COPY 1:2 INBOX")
	msgs, _, err := h.store.Messages(ctx, h.account("bob@example.org"), "INBOX")
	if err != nil || len(msgs) != 2 || hasFlag(msgs[0].Flags, `\Seen`) || !hasFlag(msgs[1].Flags, `\Seen`) {
		t.Fatalf("bob's INBOX: %+v, %v", msgs, err)
	}
	// The shared message itself carries nobody's \Seen.
	msgs, _, err = h.store.Messages(ctx, sh, "support")
	if err != nil || len(msgs) != 2 || hasFlag(msgs[0].Flags, `\Seen`) || hasFlag(msgs[1].Flags, `\Seen`) {
		t.Fatalf("support: %+v, %v", msgs, err)
	}
}
