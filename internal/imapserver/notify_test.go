package imapserver

import (
	"bufio"
	"fmt"
	"net"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"mailwarden/internal/config"
)

// readUntil reads lines until one has prefix, returning all read.
func (c *client) readUntil(t *testing.T, prefix string) []string {
	t.Helper()
	c.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	var got []string
	for {
		l := c.line()
		got = append(got, l)
		if strings.HasPrefix(l, prefix) {
			return got
		}
	}
}

// TestNotifyImaplib drives NOTIFY (RFC 5465) and CONTEXT=SEARCH/SORT
// (RFC 5267) with two Python imaplib connections: one watching, one
// changing mailboxes. The expected lines follow the RFCs' examples
// (RFC 5465 3.1, 5.1-5.5; RFC 5267 4.3.1-4.3.5).
func TestNotifyImaplib(t *testing.T) {
	h := start(t, nil)
	host, port, _ := strings.Cut(h.addr, ":")
	res := runScript(t, "testdata/notify_cases.py", host, port, "alice@example.org", testPass)
	// misc is deleted and made again later: its first UIDVALIDITY is gone.
	res["notify_set"][2] = regexp.MustCompile(`UIDVALIDITY \d+`).ReplaceAllString(res["notify_set"][2], "UIDVALIDITY N")
	uv := func(f string) string {
		v, _ := h.folder(t, "alice@example.org", f)
		return strconv.FormatInt(v, 10)
	}
	want := map[string][]string{
		"notify_set": {
			"* STATUS Lists (MESSAGES 0 UIDNEXT 1 UIDVALIDITY " + uv("Lists") + ")",
			"* STATUS Lists.Lemonade (MESSAGES 0 UIDNEXT 1 UIDVALIDITY " + uv("Lists.Lemonade") + ")",
			"* STATUS misc (MESSAGES 0 UIDNEXT 1 UIDVALIDITY N)",
			"OK NOTIFY completed."},
		"new_selected": {"* 1 EXISTS",
			"* 1 FETCH (UID 1 BODY[HEADER.FIELDS (From Subject)] {50}\r\nFrom: Boss <boss@example.org>\r\nSubject: urgent\r\n\r\n)"},
		"new_other":             {"* STATUS Lists.Lemonade (UIDNEXT 2 MESSAGES 1)"},
		"unwatched":             nil,
		"flags_selected":        {`* 1 FETCH (UID 1 FLAGS (\Flagged \Recent))`},
		"flags_deleted":         {`* 1 FETCH (UID 1 FLAGS (\Deleted \Flagged \Recent))`},
		"expunge_selected":      {"* 1 EXPUNGE"},
		"delete_watched":        {`* LIST (\NonExistent) "." misc`},
		"create_watched":        {`* LIST (\HasNoChildren) "." misc`},
		"noop_after":            {"OK Noop completed."},
		"own_append":            nil,
		"badevent":              {"NO [BADEVENT (MessageNew MessageExpunge FlagChange MailboxName SubscriptionChange MailboxMetadataChange ServerMetadataChange)] Unsupported NOTIFY events."},
		"bad_pairing":           {"BAD MessageNew and MessageExpunge go together"},
		"bad_selected":          {"BAD MailboxName can't be used with SELECTED"},
		"delayed_set":           {"OK NOTIFY completed."},
		"delayed_new":           {"* 1 EXISTS"},
		"delayed_expunge_waits": nil,
		"delayed_expunge_noop":  {"* 1 EXPUNGE", "OK Noop completed."},
		"subscribe":             {`* LIST (\HasNoChildren \Subscribed) "." Lists.Lemonade`},
		"unsubscribe":           {`* LIST (\HasNoChildren) "." Lists.Lemonade`},
		"none":                  {"OK NOTIFY completed."},
		"none_quiet":            nil,
		"none_noop":             {"* 1 EXISTS", "OK Noop completed."},
		"search_update":         {`* ESEARCH (TAG "A16") UID COUNT 1`, "OK Search completed, will notify."},
		"addto":                 {"* 2 EXISTS", `* ESEARCH (TAG "A16") UID ADDTO (0 4)`},
		"removefrom":            {`* ESEARCH (TAG "A16") UID REMOVEFROM (0 3:4)`},
		"tag_reuse":             {"A16 BAD Tag reuse: an updating search with this tag is still active."},
		"sort_update":           {`* ESEARCH (TAG "A17") ALL 1:2`, "OK Sort completed, will notify."},
		// The message appended with an older internal date sorts first.
		"sort_addto": {"* 3 EXISTS", `* ESEARCH (TAG "A16") UID ADDTO (0 5)`, `* ESEARCH (TAG "A17") ADDTO (1 3)`},
		// REMOVEFROM before the EXPUNGE, with the number it had.
		"sort_flag":         {`* 1 FETCH (UID 3 FLAGS (\Deleted \Seen))`},
		"sort_expunge_noop": {`* ESEARCH (TAG "A17") REMOVEFROM (2 1)`, "* 1 EXPUNGE", "OK Noop completed."},
		"cancel":            {"OK Updates cancelled."},
		"cancel_unknown":    {`NO Unknown search context "nope".`},
		"cancel_noop":       {"* 3 EXISTS", "OK Noop completed."},
		// RFC 5465 7: the FETCH of UPDATE's items comes before the ADDTO.
		"update_fetch":        {`* ESEARCH (TAG "A22") UID`, "OK Search completed, will notify."},
		"update_fetch_addto":  {"* 4 EXISTS", "* 4 FETCH (UID 7 RFC822.SIZE 56)", `* ESEARCH (TAG "A22") UID ADDTO (0 7)`},
		"update_fetch_cancel": {"OK Updates cancelled."},
		"noupdate":            {`* NO [NOUPDATE "A32"] Too many updating contexts.`, `* ESEARCH (TAG "A32") COUNT 4`, "OK Search completed."},
	}
	for k, w := range want {
		if !slices.Equal(res[k], w) {
			t.Errorf("%s:\ngot  %q\nwant %q", k, res[k], w)
		}
	}
	for k := range res {
		if _, ok := want[k]; !ok {
			t.Errorf("%s: not checked: %q", k, res[k])
		}
	}
}

// quiet fails if the client receives anything within d.
func (c *client) quiet(t *testing.T, d time.Duration) {
	t.Helper()
	c.conn.SetReadDeadline(time.Now().Add(d))
	l, err := c.br.ReadString('\n')
	c.conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	if err == nil || l != "" {
		t.Fatalf("unexpected %q (%v)", l, err)
	}
}

// TestNotifyShared: a folder another user shares is watched through
// its owner's events, and only while the user may see it (RFC 5465 5,
// 5.9; RFC 4314).
func TestNotifyShared(t *testing.T) {
	h := start(t, nil)
	bob := h.login(t, "bob@example.org")
	bob.ok("CREATE Work")
	bob.ok("SETACL Work alice@example.org lr")
	a := h.login(t, "alice@example.org")
	a.expect(`NOTIFY SET STATUS (mailboxes "Other Users/bob@example.org/Work" (MessageNew MessageExpunge MailboxName))`,
		`* STATUS "Other Users/bob@example.org/Work" (MESSAGES 0 UIDNEXT 1 UIDVALIDITY `+func() string {
			v, _ := h.folder(t, "bob@example.org", "Work")
			return strconv.FormatInt(v, 10)
		}()+`)`, "OK NOTIFY completed.")
	h.deliver(t, "bob@example.org", "Work", testMessage(1))
	if got := a.readUntil(t, "* STATUS"); !slices.Equal(got, []string{`* STATUS "Other Users/bob@example.org/Work" (UIDNEXT 2 MESSAGES 1)`}) {
		t.Fatalf("delivery to the shared folder: %q", got)
	}
	h.deliver(t, "bob@example.org", "INBOX", testMessage(2)) // not shared
	a.quiet(t, 300*time.Millisecond)
	// RFC 5465 5.9: the right taken away, the folder is gone for alice.
	bob.ok("DELETEACL Work alice@example.org")
	if got := a.readUntil(t, "* LIST"); !slices.Equal(got, []string{`* LIST (\NonExistent) "/" "Other Users/bob@example.org/Work"`}) {
		t.Fatalf("rights removed: %q", got)
	}
	h.deliver(t, "bob@example.org", "Work", testMessage(3))
	a.quiet(t, 300*time.Millisecond)
	// A folder alice may not see cannot be watched into view.
	a.expect(`NOTIFY SET STATUS (mailboxes "Other Users/bob@example.org/INBOX" (MessageNew MessageExpunge))`, "OK NOTIFY completed.")
	h.deliver(t, "bob@example.org", "INBOX", testMessage(4))
	a.quiet(t, 300*time.Millisecond)
}

// TestNotifyIdleAndExpungeRules: IDLE sends what NOTIFY asks for (RFC
// 5465 4), other folders included; with SELECTED-DELAYED, expunges wait
// for a command that may carry them, never FETCH by number (RFC 9051
// 7.4.1).
func TestNotifyIdleAndExpungeRules(t *testing.T) {
	h := start(t, nil)
	for i := range 3 {
		h.deliver(t, "alice@example.org", "INBOX", testMessage(i))
	}
	a := h.login(t, "alice@example.org")
	a.ok("CREATE Work")
	a.ok("SELECT INBOX")
	a.ok("NOTIFY SET (selected-delayed (MessageNew MessageExpunge)) (personal (MessageNew MessageExpunge))")
	b := h.login(t, "alice@example.org")
	b.ok("SELECT INBOX")

	a.send("i IDLE")
	if l := a.line(); !strings.HasPrefix(l, "+ ") {
		t.Fatalf("IDLE: %q", l)
	}
	h.deliver(t, "alice@example.org", "Work", testMessage(9))
	if got := a.readUntil(t, "* STATUS"); !slices.Equal(got, []string{"* STATUS Work (UIDNEXT 2 MESSAGES 1)"}) {
		t.Fatalf("in IDLE: %q", got)
	}
	b.ok(`UID STORE 3 +FLAGS.SILENT (\Deleted)`)
	b.ok("EXPUNGE")
	if got := a.readUntil(t, "* 3 EXPUNGE"); !slices.Equal(got, []string{"* 3 EXPUNGE"}) {
		t.Fatalf("expunge in IDLE: %q", got)
	}
	a.send("DONE")
	if got := a.readUntil(t, "i "); !slices.Equal(got, []string{"i OK Idle completed."}) {
		t.Fatalf("DONE: %q", got)
	}

	b.ok(`UID STORE 2 +FLAGS.SILENT (\Deleted)`)
	b.ok("EXPUNGE")
	a.quiet(t, 300*time.Millisecond) // SELECTED-DELAYED: no command in progress
	a.expect("FETCH 2 (UID)", "* 2 FETCH (UID 2)", "OK Fetch completed.")
	a.expect("NOOP", "* 2 EXPUNGE", "OK Noop completed.")
}

// TestNotifyOverflow: a client that stops reading while notifications
// pile up is told NOTIFICATIONOVERFLOW and gets NOTIFY NONE (RFC 5465
// 5.8); what waits for it is bounded by the store watch's buffer.
func TestNotifyOverflow(t *testing.T) {
	h := start(t, func(c *config.Config) { c.IMAP.IdleTimeout = config.Duration(time.Minute) })
	d := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		return rc.Control(func(fd uintptr) {
			syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096)
		})
	}}
	conn, err := d.Dial("tcp", h.addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	a := &client{t: t, conn: conn, br: bufio.NewReader(conn)}
	a.conn.SetDeadline(time.Now().Add(2 * time.Minute))
	a.line()
	a.ok("LOGIN alice@example.org " + testPass)
	a.ok("SELECT INBOX")
	a.ok("NOTIFY SET (selected (MessageNew (UID BODY.PEEK[]) MessageExpunge))")
	big := testMessage(0) + strings.Repeat(strings.Repeat("x", 76)+"\r\n", 800) // 62 KB
	const n = 450
	for i := range n {
		h.deliver(t, "alice@example.org", "INBOX", big)
		if i%50 == 0 {
			time.Sleep(10 * time.Millisecond)
		}
	}
	got := a.readUntil(t, "* OK [NOTIFICATIONOVERFLOW]")
	fetched := 0
	for _, l := range got {
		if strings.Contains(l, " FETCH (UID ") {
			fetched++
		}
	}
	t.Logf("%d of %d new messages pushed before the overflow", fetched, n)
	if fetched >= n {
		t.Fatalf("all %d messages were pushed before the overflow", fetched)
	}
	// NOTIFY is off now: nothing is pushed, NOOP still reports.
	h.deliver(t, "alice@example.org", "INBOX", testMessage(1))
	a.quiet(t, 300*time.Millisecond)
	u, tagged := a.cmd("NOOP")
	if tagged != "OK Noop completed." || len(u) == 0 || u[0] != fmt.Sprintf("* %d EXISTS", n+1) {
		t.Fatalf("NOOP after overflow: %q %q", u, tagged)
	}
}

// TestContextEnds: updating contexts end with the mailbox (RFC 5267
// 4.3): after UNSELECT and SELECT again, a new message makes no ADDTO.
func TestContextEnds(t *testing.T) {
	h := start(t, nil)
	h.deliver(t, "alice@example.org", "INBOX", testMessage(1))
	a := h.login(t, "alice@example.org")
	a.ok("SELECT INBOX")
	a.expect("SEARCH RETURN (UPDATE COUNT) ALL", `* ESEARCH (TAG "t3") COUNT 1`, "OK Search completed, will notify.")
	a.ok("UNSELECT")
	a.ok("SELECT INBOX")
	h.deliver(t, "alice@example.org", "INBOX", testMessage(2))
	a.expect("NOOP", "* 2 EXISTS", "* 1 RECENT", "OK Noop completed.")
	a.expect(`CANCELUPDATE "t3"`, `NO Unknown search context "t3".`)
}

// TestContextPartial: UPDATE and PARTIAL do not interact (RFC 5267 4.3,
// 4.4): the page is answered, the updates cover every result.
func TestContextPartial(t *testing.T) {
	h := start(t, nil)
	for i := range 3 {
		h.deliver(t, "alice@example.org", "INBOX", testMessage(i))
	}
	a := h.login(t, "alice@example.org")
	a.ok("SELECT INBOX")
	a.expect("UID SORT RETURN (UPDATE PARTIAL 1:2) (REVERSE SUBJECT) UTF-8 ALL",
		`* ESEARCH (TAG "t3") UID PARTIAL (1:2 3,2)`, "OK Sort completed, will notify.")
	h.deliver(t, "alice@example.org", "INBOX", testMessage(0)) // "test 0" again: sorts last
	a.expect("NOOP", "* 4 EXISTS", "* 4 RECENT", `* ESEARCH (TAG "t3") UID ADDTO (4 4)`, "OK Noop completed.")
	a.expect(`UID STORE 2 +FLAGS.SILENT (\Deleted)`, "OK Store completed.")
	a.expect("EXPUNGE", `* ESEARCH (TAG "t3") UID REMOVEFROM (2 2)`, "* 2 EXPUNGE", "OK Expunge completed.")
}

// TestContextAgainstDovecot runs updating searches on one connection
// while another changes the mailbox, on Mailwarden and on Dovecot (which
// offers CONTEXT=SEARCH), and requires the same ESEARCH ADDTO and
// REMOVEFROM lines, REMOVEFROM before the EXPUNGE (RFC 5267 4.3.3,
// 4.3.4).
func TestContextAgainstDovecot(t *testing.T) {
	run := dovecot(t, "mailbox_list_index = yes")
	h := start(t, nil)
	host, port, _ := strings.Cut(h.addr, ":")
	ours := runScript(t, "testdata/context_cases.py", "tcp", host, port, "alice@example.org", testPass)
	theirs := runScript(t, "testdata/context_cases.py", "stream", run)
	want := map[string][]string{
		"uid_update":    {`* ESEARCH (TAG "A3") UID COUNT 3`, "OK"},
		"seq_update":    {`* ESEARCH (TAG "A4") MIN 1`, "OK"},
		"after_append":  {"* 4 EXISTS", `* ESEARCH (TAG "A3") UID ADDTO (0 4)`, `* ESEARCH (TAG "A4") ADDTO (0 4)`, "OK"},
		"after_seen":    {`* ESEARCH (TAG "A3") UID REMOVEFROM (0 1,3)`, "OK"},
		"after_deleted": {`* ESEARCH (TAG "A4") REMOVEFROM (0 2)`, "OK"},
		"after_expunge": {`* ESEARCH (TAG "A3") UID REMOVEFROM (0 2)`, "* 2 EXPUNGE", "OK"},
		"cancel":        {"OK"},
		"after_cancel":  {"* 4 EXISTS", `* ESEARCH (TAG "A4") ADDTO (0 4)`, "OK"},
	}
	for step, lines := range theirs {
		got, ref := normalize(ours[step]), normalize(lines)
		if !slices.Equal(got, ref) {
			t.Errorf("%s:\nmailwarden %q\ndovecot    %q", step, got, ref)
		}
		if w, ok := want[step]; ok && !slices.Equal(got, w) {
			t.Errorf("%s: got %q, want %q", step, got, w)
		}
	}
	if len(ours) != len(theirs) {
		t.Errorf("steps: mailwarden %d, dovecot %d", len(ours), len(theirs))
	}
}

// TestNotifySubscribed: the SUBSCRIBED filter follows the subscriptions
// as they change (RFC 5465 6.4), and SubscriptionChange reports them
// (5.5).
func TestNotifySubscribed(t *testing.T) {
	h := start(t, nil)
	a := h.login(t, "alice@example.org")
	a.ok("CREATE Work")
	a.ok("NOTIFY SET (subscribed (MessageNew MessageExpunge SubscriptionChange))")
	b := h.login(t, "alice@example.org")
	h.deliver(t, "alice@example.org", "Work", testMessage(1))
	a.quiet(t, 300*time.Millisecond)
	b.ok("SUBSCRIBE Work")
	if got := a.readUntil(t, "* LIST"); !slices.Equal(got, []string{`* LIST (\HasNoChildren \Subscribed) "." Work`}) {
		t.Fatalf("subscribe: %q", got)
	}
	h.deliver(t, "alice@example.org", "Work", testMessage(2))
	if got := a.readUntil(t, "* STATUS"); !slices.Equal(got, []string{"* STATUS Work (UIDNEXT 3 MESSAGES 2)"}) {
		t.Fatalf("delivery when subscribed: %q", got)
	}
	b.ok("UNSUBSCRIBE Work")
	if got := a.readUntil(t, "* LIST"); !slices.Equal(got, []string{`* LIST (\HasNoChildren) "." Work`}) {
		t.Fatalf("unsubscribe: %q", got)
	}
	h.deliver(t, "alice@example.org", "Work", testMessage(3))
	a.quiet(t, 300*time.Millisecond)
	// Its own SUBSCRIBE is not echoed (RFC 5465 5).
	a.expect("SUBSCRIBE Work", "OK Subscribe completed.")
	a.quiet(t, 300*time.Millisecond)
}

// TestNotifyMetadataImaplib drives MailboxMetadataChange and
// ServerMetadataChange (RFC 5465 5.9, 5.10) with three Python imaplib
// connections: two of alice's, one of bob's, who shares a folder with
// her. The responses carry entry names only (RFC 5464 4.4.2).
func TestNotifyMetadataImaplib(t *testing.T) {
	h := start(t, nil)
	host, port, _ := strings.Cut(h.addr, ":")
	res := runScript(t, "testdata/notify_metadata.py", host, port, "alice@example.org", "bob@example.org", testPass)
	work := `"Other Users/bob@example.org/Work"`
	want := map[string][]string{
		"set":            {"OK NOTIFY completed."},
		"shared":         {"* METADATA Notes /shared/comment"},
		"private":        {"* METADATA Notes /private/comment"},
		"several":        {"* METADATA Notes /private/todo /shared/comment"},
		"server":         {`* METADATA "" /private/vendor/mailwarden/x`},
		"other_user":     {"* METADATA " + work + " /shared/comment"},
		"own":            {"OK Setmetadata completed."},
		"after_own":      {"* METADATA Notes /shared/marker"},
		"no_read":        nil,
		"no_read_marker": {"* METADATA Notes /shared/marker"},
		"set_other":      {"OK NOTIFY completed."},
		"not_asked":      nil,
	}
	for k, w := range want {
		if !slices.Equal(res[k], w) {
			t.Errorf("%s:\ngot  %q\nwant %q", k, res[k], w)
		}
	}
	for k := range res {
		if _, ok := want[k]; !ok {
			t.Errorf("%s: not checked: %q", k, res[k])
		}
	}
}
