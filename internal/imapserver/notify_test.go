package imapserver

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
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
		"badevent":              {"NO [BADEVENT (MessageNew MessageExpunge FlagChange MailboxName SubscriptionChange)] Unsupported NOTIFY events."},
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
		"sort_expunge_noop": {`* 1 FETCH (UID 3 FLAGS (\Deleted \Seen))`, `* ESEARCH (TAG "A17") REMOVEFROM (2 1)`, "* 1 EXPUNGE", "OK Noop completed."},
		"cancel":            {"OK Updates cancelled."},
		"cancel_unknown":    {`NO Unknown search context "nope".`},
		"cancel_noop":       {"* 3 EXISTS", "OK Noop completed."},
		"noupdate":          {`* NO [NOUPDATE "A30"] Too many updating contexts.`, `* ESEARCH (TAG "A30") COUNT 3`, "OK Search completed."},
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
