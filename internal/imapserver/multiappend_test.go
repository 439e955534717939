package imapserver

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"mailwarden/internal/config"
)

// TestMultiAppend: several messages in one APPEND (RFC 3502) are stored
// together with one APPENDUID set, or none is when one of them is
// refused.
func TestMultiAppend(t *testing.T) {
	h := start(t, func(c *config.Config) { c.IMAP.AppendLimit = 2000 })
	c := h.login(t, "alice@example.org")
	if caps := c.ok("CAPABILITY"); !strings.Contains(caps[0], " MULTIAPPEND") {
		t.Fatalf("MULTIAPPEND not offered: %q", caps)
	}
	c.ok("SELECT INBOX")
	m1, m2, m3 := testMessage(1), testMessage(2), testMessage(3)
	// Synchronizing literals: each continuation comes when asked.
	c.send(fmt.Sprintf(`a1 APPEND INBOX (\Seen) {%d}`, len(m1)))
	if l := c.line(); !strings.HasPrefix(l, "+ ") {
		t.Fatalf("got %q", l)
	}
	c.send(m1 + fmt.Sprintf(` "01-Jan-2024 10:00:00 +0000" {%d}`, len(m2)))
	if l := c.line(); !strings.HasPrefix(l, "+ ") {
		t.Fatalf("got %q", l)
	}
	c.send(m2 + fmt.Sprintf(` () {%d+}`, len(m3)))
	c.send(m3)
	u, tagged := c.until("a1")
	uv, _ := h.folder(t, "alice@example.org", "INBOX")
	if tagged != fmt.Sprintf("OK [APPENDUID %d 1:3] Append completed.", uv) || strings.Join(u, "|") != "* 3 EXISTS|* 3 RECENT" {
		t.Fatalf("MULTIAPPEND: %q %q", u, tagged)
	}
	c.expect("FETCH 1:3 (FLAGS INTERNALDATE)",
		`* 1 FETCH (FLAGS (\Seen \Recent) INTERNALDATE "`+c.ok("FETCH 1 INTERNALDATE")[0][len(`* 1 FETCH (INTERNALDATE "`):],
		`* 2 FETCH (FLAGS (\Recent) INTERNALDATE " 1-Jan-2024 10:00:00 +0000")`,
		`* 3 FETCH (FLAGS (\Recent) INTERNALDATE "`+c.ok("FETCH 3 INTERNALDATE")[0][len(`* 3 FETCH (INTERNALDATE "`):],
		"OK Fetch completed.")
	// All or nothing: the second message is over APPENDLIMIT, so the
	// first is not stored either; the client is not asked for it.
	c.send(fmt.Sprintf(`a2 APPEND INBOX {%d+}`, len(m1)))
	c.send(m1 + " {5000}")
	if _, tagged := c.until("a2"); !strings.HasPrefix(tagged, "NO [TOOBIG] ") {
		t.Fatalf("a2: %q", tagged)
	}
	c.expect("STATUS INBOX (MESSAGES)", "* STATUS INBOX (MESSAGES 3)", "OK Status completed.")
	// A malformed second message: BAD, nothing stored.
	c.send(fmt.Sprintf(`a3 APPEND INBOX {%d+}`, len(m1)))
	c.send(m1 + " (\\Seen")
	if _, tagged := c.until("a3"); !strings.HasPrefix(tagged, "BAD ") {
		t.Fatalf("a3: %q", tagged)
	}
	c.expect("NOOP", "OK Noop completed.")
	c.expect("STATUS INBOX (MESSAGES)", "* STATUS INBOX (MESSAGES 3)", "OK Status completed.")

	// Over quota together, though each would fit: none stored.
	b := start(t, nil).login(t, "bob@example.org") // quota 1 MiB
	big := strings.Repeat("x", 600<<10)
	b.send("b1 APPEND INBOX {" + strconv.Itoa(len(big)) + "+}")
	b.send(big + " {" + strconv.Itoa(len(big)) + "+}")
	b.send(big)
	if _, tagged := b.until("b1"); !strings.HasPrefix(tagged, "NO [OVERQUOTA]") {
		t.Fatalf("b1: %q", tagged)
	}
	b.expect("STATUS INBOX (MESSAGES)", "* STATUS INBOX (MESSAGES 0)", "OK Status completed.")
}
