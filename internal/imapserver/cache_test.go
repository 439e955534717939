package imapserver

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"mailwarden/internal/imapmsg"
)

// cacheCorpus returns messages with every kind of header the header
// cache must answer like the file: imapmsg's test messages, encoded
// words, 8-bit, groups, folding, duplicates, no body, and headers too
// large to cache.
func cacheCorpus(t *testing.T) []string {
	files, err := filepath.Glob(filepath.Join("..", "imapmsg", "testdata", "*.eml"))
	if err != nil || len(files) == 0 {
		t.Fatal("no imapmsg testdata", err)
	}
	var msgs []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, strings.ReplaceAll(string(b), "\n", "\r\n"))
	}
	return append(msgs, testMessage(1), mimeMessage,
		"Subject: =?UTF-8?B?w6l0w6k=?=\r\nFrom: =?iso-8859-1?q?J=F6rg?= <j@example.org>, undisclosed:;\r\n"+
			"To: \"Last, First\" <f@example.org>,\r\n\tg@example.org\r\nSubject: second\r\nX-Priority: 1\r\n\r\nbody\r\n",
		"Subject: caf\xe9 8-bit\r\nFrom: J\xf6rg <j@example.org>\r\nReferences: <a@b>\r\n <c@d>\r\n\r\nbody\r\n",
		"Subject: header only\r\nDate: Tue, 1 Mar 2022 10:00:00 +0100",
		"Subject: big header\r\nFrom: big@example.org\r\nX-Pad: "+strings.Repeat("p", imapmsg.MaxCacheScan)+"\r\n\r\nbody\r\n",
		"Subject: many recipients\r\nTo: "+strings.Repeat("someone@example.org, ", 1500)+"last@example.org\r\n\r\nbody\r\n",
	)
}

// cacheFetches are FETCHes answered from the header cache, wholly or in
// part, as clients send them.
var cacheFetches = []string{
	"FETCH 1:* (UID FLAGS ENVELOPE)",
	"UID FETCH 1:* (UID RFC822.SIZE FLAGS BODY.PEEK[HEADER.FIELDS (From To Cc Bcc Subject Date Message-ID Priority X-Priority References Newsgroups In-Reply-To Content-Type Reply-To)])",
	"FETCH 1:* (INTERNALDATE RFC822.SIZE ENVELOPE BODY.PEEK[HEADER.FIELDS (date subject)]<3.20>)",
	"FETCH 1:* (ENVELOPE BODY.PEEK[HEADER.FIELDS (Subject Received)] BODY.PEEK[HEADER.FIELDS.NOT (Subject)])",
	"FETCH 1:* (ENVELOPE BODYSTRUCTURE BODY.PEEK[TEXT])",
}

// cacheSearches mix keys the cache answers with others.
var cacheSearches = []string{
	"SEARCH SUBJECT second", "SEARCH FROM j\xc3\xb6rg", "SEARCH CHARSET UTF-8 SUBJECT été", "SEARCH TO example",
	"SEARCH NOT SUBJECT zzzz", "SEARCH SINCE 1-Jan-2000 NOT SUBJECT big", `SEARCH HEADER X-Priority ""`,
	`SEARCH HEADER Received ""`, "SEARCH HEADER MIME-Version 1.0", "SEARCH SENTSINCE 1-Jan-2022",
	"SEARCH SENTBEFORE 1-Jan-2000", "SEARCH OR FROM alice BODY hello", "SEARCH TEXT there", "SEARCH CC last",
	"SEARCH HEADER References c@d", `SEARCH BCC ""`,
}

// cacheTranscript runs the FETCHes and SEARCHes on alice's INBOX and
// returns the responses, with UTF8=ACCEPT enabled or not.
func cacheTranscript(t *testing.T, h *harness, utf8 bool) []string {
	c := h.login(t, "alice@example.org")
	if utf8 {
		c.ok("ENABLE UTF8=ACCEPT")
	}
	c.ok("EXAMINE INBOX")
	var out []string
	for _, cmd := range append(slices.Clone(cacheFetches), cacheSearches...) {
		u, tagged := c.cmd(cmd)
		out = append(out, cmd)
		out = append(out, u...)
		out = append(out, tagged)
	}
	c.ok("LOGOUT")
	return out
}

func cacheRows(t *testing.T, h *harness) (valid, invalid int) {
	t.Helper()
	if err := h.db.Read.QueryRow(`SELECT COUNT(envelope), COUNT(*) - COUNT(envelope) FROM mail_cache`).Scan(&valid, &invalid); err != nil {
		t.Fatal(err)
	}
	return valid, invalid
}

func sameTranscript(t *testing.T, what string, got, want []string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d response lines, want %d", what, len(got), len(want))
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("%s: line %d:\ngot  %.600q\nwant %.600q", what, i, got[i], want[i])
		}
	}
}

// TestCacheAnswersLikeFiles runs the same FETCHes and SEARCHes answered
// from the header cache, from the files (caches dropped, as for messages
// indexed before the cache existed), and from the caches those reads
// filled in: the responses must be byte for byte the same.
func TestCacheAnswersLikeFiles(t *testing.T) {
	h := start(t, nil)
	msgs := cacheCorpus(t)
	for _, m := range msgs {
		h.deliver(t, "alice@example.org", "INBOX", m)
	}
	if valid, invalid := cacheRows(t, h); valid != len(msgs)-2 || invalid != 2 {
		t.Fatalf("after delivery: %d valid and %d invalid caches, want %d and 2", valid, invalid, len(msgs)-2)
	}
	for _, utf8 := range []bool{false, true} {
		cached := cacheTranscript(t, h, utf8)
		if _, err := h.db.Write.Exec(`DELETE FROM mail_cache`); err != nil {
			t.Fatal(err)
		}
		fromFiles := cacheTranscript(t, h, utf8)
		sameTranscript(t, "from files", fromFiles, cached)
		if valid, invalid := cacheRows(t, h); valid != len(msgs)-2 || invalid != 2 {
			t.Fatalf("filled: %d valid and %d invalid caches, want %d and 2", valid, invalid, len(msgs)-2)
		}
		sameTranscript(t, "from filled caches", cacheTranscript(t, h, utf8), cached)
	}
}

// TestCacheSparesFiles removes the message files behind the index's back:
// what the header cache answers still works, what needs the file does
// not.
func TestCacheSparesFiles(t *testing.T) {
	h := start(t, nil)
	h.deliver(t, "alice@example.org", "INBOX", mimeMessage)
	c := h.login(t, "alice@example.org")
	c.ok("SELECT INBOX")
	env := c.ok("FETCH 1 (ENVELOPE BODY.PEEK[HEADER.FIELDS (Subject)])")
	dir := filepath.Join(h.store.MailboxPath(h.account("alice@example.org").Maildir), "new")
	ents, err := os.ReadDir(dir)
	if err != nil || len(ents) != 1 {
		t.Fatalf("new/: %v %v", ents, err)
	}
	if err := os.Remove(filepath.Join(dir, ents[0].Name())); err != nil {
		t.Fatal(err)
	}
	c.expect("FETCH 1 (ENVELOPE BODY.PEEK[HEADER.FIELDS (Subject)])", append(env, "OK Fetch completed.")...)
	c.expect("SEARCH SUBJECT parts", "* SEARCH 1", "OK Search completed.")
	c.expect("FETCH 1 BODY.PEEK[]", "NO [EXPUNGEISSUED] Some of the requested messages no longer exist.")
	c.expect("FETCH 1 BODY.PEEK[HEADER.FIELDS (Received)]", "NO [EXPUNGEISSUED] Some of the requested messages no longer exist.")
}
