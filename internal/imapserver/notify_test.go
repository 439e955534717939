package imapserver

import (
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

func TestNotifyRaw(t *testing.T) {
	h := start(t, nil)
	a := h.login(t, "alice@example.org")
	a.ok("CREATE Work")
	a.ok("SELECT INBOX")
	u, tagged := a.cmd("NOTIFY SET STATUS (selected (MessageNew (UID FLAGS) MessageExpunge FlagChange)) (personal (MessageNew MessageExpunge FlagChange MailboxName SubscriptionChange))")
	t.Logf("notify: %q %q", u, tagged)
	h.deliver(t, "alice@example.org", "INBOX", testMessage(1))
	t.Logf("inbox: %q", a.readUntil(t, "* 1 FETCH"))
	h.deliver(t, "alice@example.org", "Work", testMessage(2))
	t.Logf("work: %q", a.readUntil(t, "* STATUS"))
	b := h.login(t, "alice@example.org")
	b.ok("CREATE Other")
	t.Logf("create: %q", a.readUntil(t, "* LIST"))
	b.ok("RENAME Other Third")
	t.Logf("rename: %q", a.readUntil(t, "* LIST"))
	b.ok("SUBSCRIBE Third")
	t.Logf("sub: %q", a.readUntil(t, "* LIST"))
	b.ok("SELECT INBOX")
	b.ok("STORE 1 +FLAGS (\\Deleted)")
	t.Logf("flags: %q", a.readUntil(t, "* 1 FETCH"))
	b.ok("EXPUNGE")
	t.Logf("expunge: %q", a.readUntil(t, "* 1 EXPUNGE"))
	u, tagged = a.cmd("NOTIFY SET (selected (MessageNew MessageExpunge AnnotationChange))")
	t.Logf("badevent: %q %q", u, tagged)
	u, tagged = a.cmd("NOTIFY SET (selected (MessageNew))")
	t.Logf("bad: %q %q", u, tagged)
	u, tagged = a.cmd("UID SEARCH RETURN (UPDATE COUNT) UNSEEN")
	t.Logf("search: %q %q", u, tagged)
	h.deliver(t, "alice@example.org", "INBOX", testMessage(3))
	a.send("x1 NOOP")
	t.Logf("addto: %q", a.readUntil(t, "x1 "))
}
