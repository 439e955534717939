package imapserver

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// TestSortThreadAgainstDovecot appends one corpus of tricky messages
// (Re:/Fwd:/[list] prefixes, encoded words, comments in addresses,
// missing and broken dates, equal dates, missing, duplicate and looping
// Message-IDs) to Mailwarden and to Dovecot with imaplib, runs SORT (every
// key, REVERSE, several keys, ESORT) and THREAD (both algorithms) on
// both, and requires the same answers.
func TestSortThreadAgainstDovecot(t *testing.T) {
	run := dovecot(t)
	h := start(t, nil)
	host, port, _ := strings.Cut(h.addr, ":")
	ours := runScript(t, "testdata/sort_cases.py", "tcp", host, port, "alice@example.org", testPass)
	theirs := runScript(t, "testdata/sort_cases.py", "stream", run)
	if len(theirs) < 20 {
		t.Fatalf("Dovecot answered %d commands", len(theirs))
	}
	keys := make([]string, 0, len(theirs))
	for k := range theirs {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if !slices.Equal(ours[k], theirs[k]) {
			t.Errorf("%s:\nmailwarden %q\ndovecot    %q", k, ours[k], theirs[k])
		}
	}
}

// TestSortResponses checks SORT, ESORT and PARTIAL answers written from
// RFC 5256, 5267 and 9394.
func TestSortResponses(t *testing.T) {
	h := start(t, nil)
	c := h.login(t, "alice@example.org")
	msgs := []string{
		"From: Carol <carol@example.org>\r\nSubject: Re: banana\r\nDate: Wed, 3 Jan 2024 10:00:00 +0000\r\n\r\nx\r\n",
		"From: alice@example.org\r\nSubject: [list] apple\r\nDate: Tue, 2 Jan 2024 10:00:00 +0000\r\n\r\nxxxxxxxxxx\r\n",
		"From: Bob <bob@example.org>\r\nSubject: Banana\r\nDate: Mon, 1 Jan 2024 10:00:00 +0000\r\n\r\nxxxxx\r\n",
		"From: dave@example.org\r\nSubject: Fwd: apple\r\n\r\nxxxxxxxxxxxxxxxxxxxx\r\n", // no Date: the internal date
	}
	for i, m := range msgs {
		c.appendMsg("INBOX", fmt.Sprintf(`() "0%d-Feb-2024 10:00:00 +0000"`, i+1), m)
	}
	c.ok("SELECT INBOX")
	c.ok(`STORE 2 +FLAGS.SILENT (\Seen)`)
	tests := []struct {
		cmd  string
		want []string
	}{
		{"SORT (SUBJECT) UTF-8 ALL", []string{"* SORT 2 4 1 3"}},
		{"SORT (SUBJECT REVERSE DATE) UTF-8 ALL", []string{"* SORT 4 2 1 3"}},
		{"SORT (DATE) UTF-8 ALL", []string{"* SORT 3 2 1 4"}},
		{"SORT (REVERSE ARRIVAL) UTF-8 ALL", []string{"* SORT 4 3 2 1"}},
		{"SORT (SIZE) UTF-8 ALL", []string{"* SORT 4 3 1 2"}}, // 69, 93, 97, 100 octets
		{"SORT (FROM) UTF-8 ALL", []string{"* SORT 2 3 1 4"}},
		{"SORT (DISPLAYFROM) UTF-8 ALL", []string{"* SORT 2 3 1 4"}}, // alice@, Bob, Carol, dave@
		{"UID SORT (SUBJECT) UTF-8 UNSEEN", []string{"* SORT 4 1 3"}},
		{"SORT (SUBJECT) UTF-8 FROM nobody", []string{"* SORT"}},
		{"SORT (SUBJECT) KOI8-R ALL", nil},
		// ESORT (RFC 5267 3.2): MIN and MAX are first and last in sort
		// order; ALL keeps the order.
		{"SORT RETURN (MIN MAX COUNT) (SUBJECT) UTF-8 ALL", []string{`* ESEARCH (TAG "%s") MIN 2 MAX 3 COUNT 4`}},
		{"UID SORT RETURN (ALL) (DATE) UTF-8 ALL", []string{`* ESEARCH (TAG "%s") UID ALL 3,2,1,4`}},
		{"SORT RETURN () (ARRIVAL) UTF-8 ALL", []string{`* ESEARCH (TAG "%s") ALL 1:4`}},
		// PARTIAL (RFC 9394 3.1): a window of the results in their order.
		{"SORT RETURN (PARTIAL 2:3) (SUBJECT) UTF-8 ALL", []string{`* ESEARCH (TAG "%s") PARTIAL (2:3 4,1)`}},
		{"SORT RETURN (PARTIAL -1:-2 COUNT) (SUBJECT) UTF-8 ALL", []string{`* ESEARCH (TAG "%s") COUNT 4 PARTIAL (-1:-2 1,3)`}},
		{"SEARCH RETURN (PARTIAL 5:9) ALL", []string{`* ESEARCH (TAG "%s") PARTIAL (5:9 NIL)`}},
		{"UID SEARCH RETURN (PARTIAL 1:2) UNSEEN", []string{`* ESEARCH (TAG "%s") UID PARTIAL (1:2 1,3)`}},
	}
	for _, tt := range tests {
		tag := fmt.Sprintf("t%d", c.n+1)
		u, tagged := c.cmd(tt.cmd)
		if tt.want == nil {
			if tagged != "NO [BADCHARSET (US-ASCII UTF-8)] Unsupported charset." {
				t.Errorf("%s: %q %q", tt.cmd, u, tagged)
			}
			continue
		}
		var want []string
		for _, w := range tt.want {
			want = append(want, strings.ReplaceAll(w, "%s", tag))
		}
		if !slices.Equal(u, want) || !strings.HasPrefix(tagged, "OK") {
			t.Errorf("%s:\ngot  %q %q\nwant %q", tt.cmd, u, tagged, want)
		}
	}
	c.expect("THREAD ORDEREDSUBJECT UTF-8 ALL", "* THREAD (3 1)(2 4)", "OK Thread completed.")
	c.expect("THREAD X-UNKNOWN UTF-8 ALL", "BAD Unknown thread algorithm.")
}
