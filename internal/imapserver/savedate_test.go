package imapserver

import (
	"strings"
	"testing"
	"time"
)

// TestSaveDate: SAVEDATE (RFC 8514) is when a message was saved into its
// folder, not its internal date; searches by it; NIL when unknown.
func TestSaveDate(t *testing.T) {
	h := start(t, nil)
	c := h.login(t, "alice@example.org")
	before := time.Now().Add(-time.Second)
	c.appendMsg("INBOX", `() "01-Jan-2020 10:00:00 +0000"`, testMessage(1))
	c.appendMsg("INBOX", `() "02-Jan-2020 10:00:00 +0000"`, testMessage(2))
	c.ok("SELECT INBOX")
	u := c.ok("FETCH 1 (INTERNALDATE SAVEDATE)")
	const prefix = `* 1 FETCH (INTERNALDATE " 1-Jan-2020 10:00:00 +0000" SAVEDATE "`
	if len(u) != 1 || !strings.HasPrefix(u[0], prefix) {
		t.Fatalf("FETCH SAVEDATE: %q", u)
	}
	saved, err := time.Parse("_2-Jan-2006 15:04:05 -0700", strings.TrimSuffix(u[0][len(prefix):], `")`))
	if err != nil || saved.Before(before.Truncate(time.Second)) || saved.After(time.Now()) {
		t.Fatalf("SAVEDATE %q (%v) not the time of the APPEND", u[0], err)
	}
	today := time.Now().Format("2-Jan-2006")
	c.expect("SEARCH SAVEDSINCE "+today, "* SEARCH 1 2", "OK Search completed.")
	c.expect("SEARCH SAVEDON "+today+" BEFORE 2-Jan-2020", "* SEARCH 1", "OK Search completed.")
	c.expect("SEARCH SAVEDBEFORE 1-Jan-2021", "* SEARCH", "OK Search completed.")
	c.expect("SEARCH SAVEDATESUPPORTED", "* SEARCH 1 2", "OK Search completed.")
	// A message stored before save dates were kept has none.
	if _, err := h.db.Write.Exec(`UPDATE mail_message SET save_date = NULL WHERE uid = 2`); err != nil {
		t.Fatal(err)
	}
	c.expect("FETCH 2 SAVEDATE", "* 2 FETCH (SAVEDATE NIL)", "OK Fetch completed.")
	c.expect("SEARCH SAVEDSINCE 1-Jan-2000", "* SEARCH 1", "OK Search completed.")
	c.expect("SEARCH NOT SAVEDSINCE 1-Jan-2000", "* SEARCH 2", "OK Search completed.")
	// COPY saves anew: the copy has a save date again.
	c.ok("CREATE Archive")
	c.ok("COPY 2 Archive")
	c.ok("SELECT Archive")
	if u := c.ok("FETCH 1 SAVEDATE"); len(u) != 1 || strings.Contains(u[0], "NIL") {
		t.Fatalf("SAVEDATE of a copy: %q", u)
	}
}
