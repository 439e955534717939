package imapmsg

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"mailwarden/internal/imapwire"
)

// cachedLists are HEADER.FIELDS lists of cached names, as clients send
// them (Thunderbird's, mutt's subset, single fields, odd case).
var cachedLists = [][]string{
	{"From", "To", "Cc", "Bcc", "Subject", "Date", "Message-ID", "Priority", "X-Priority", "References", "Newsgroups", "In-Reply-To", "Content-Type", "Reply-To"},
	{"DATE", "FROM", "SENDER", "SUBJECT", "TO", "CC", "MESSAGE-ID", "REFERENCES", "CONTENT-TYPE", "IN-REPLY-TO", "REPLY-TO", "LIST-POST"},
	{"message-id"}, {"subject"}, {"list-id", "List-Unsubscribe", "importance", "disposition-notification-to"},
}

// searchNeedles are substrings header searches look for.
var searchNeedles = []string{"", "a", "example", "é", "WEEKLY", "<", "@", "re:", "zzz"}

// checkCache fails t when c, made from raw, answers anything it claims to
// answer differently from the whole message.
func checkCache(t *testing.T, raw []byte, c Cache) {
	t.Helper()
	full, cm := Parse(raw), FromCache(c)
	for _, utf8 := range []bool{false, true} {
		want := envelopeOf(full, utf8)
		got := render(utf8, func(w *imapwire.Writer) { WriteCachedEnvelope(w, c) })
		if got != want {
			t.Fatalf("ENVELOPE (utf8 %v) from the cache:\n%q\nfrom the message:\n%q", utf8, got, want)
		}
		if fromFields := envelopeOf(cm, utf8); fromFields != want {
			t.Fatalf("ENVELOPE (utf8 %v) from the cached fields:\n%q\nfrom the message:\n%q", utf8, fromFields, want)
		}
	}
	for _, list := range cachedLists {
		want, _ := full.Section(nil, "HEADER.FIELDS", list)
		got, _ := cm.Section(nil, "HEADER.FIELDS", list)
		if !bytes.Equal(got, want) {
			t.Fatalf("HEADER.FIELDS %v from the cache:\n%q\nfrom the message:\n%q", list, got, want)
		}
	}
	for name := range cachedNames {
		for _, n := range []string{name, strings.ToUpper(name)} {
			if cm.HasHeader(n) != full.HasHeader(n) {
				t.Fatalf("HasHeader(%q): cache %v, message %v", n, cm.HasHeader(n), full.HasHeader(n))
			}
			for _, s := range searchNeedles {
				if cm.HeaderContains(n, s) != full.HeaderContains(n, s) {
					t.Fatalf("HeaderContains(%q, %q): cache %v, message %v", n, s, cm.HeaderContains(n, s), full.HeaderContains(n, s))
				}
			}
		}
	}
	if !cm.Date().Equal(full.Date()) || cm.Date().String() != full.Date().String() {
		t.Fatalf("Date: cache %v, message %v", cm.Date(), full.Date())
	}
}

func cacheSeeds(t testing.TB) [][]byte {
	var seeds [][]byte
	files, _ := filepath.Glob(filepath.Join("testdata", "*.eml"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		seeds = append(seeds, b, []byte(crlf(string(b))))
	}
	for _, s := range []string{
		rfc3501Message(), rfc3501Multipart(), string(bench5K()), "",
		"Subject: no body",              // header to the end, no line end
		"Subject: ends with CR\r",       // a lone CR at the very end
		"From: a@b\r\nSubject: x\r\n\r", // empty line cut after its CR
		" continuation first\r\nSubject: s\r\n\r\nbody",
		"garbage line\r\n folded garbage\r\nSubject: kept\r\n\tfolded\r\nX-Other: y\r\n\r\n",
		"Subject: one\r\nSUBJECT: two\r\nsubject : three\r\nDate: Mon, 7 Feb 2022 21:52:25 -0800\r\nDate: Tue, 8 Feb 2022 01:00:00 +0000\r\n\r\n",
		"Received: x\r\nFrom: \"Q\\\"x\" <a@b>, g: c@d;\r\nTo: =?utf-8?q?J=C3=B6rg?= <j@x>\r\nSubject: =?utf-8?b?w6k=?=\r\n\r\nbody\r\n",
		"From:\r\nTo: \r\nCc: undisclosed-recipients:;\r\nSubject:\r\n\r\n",
		"Subject: caf\xe9 8-bit\r\nFrom: J\xf6rg <j@x>\r\n\n\nbody",
		"Sub ject: not a field\r\nSubject\r\n: odd\r\nSubject: real\r\n\r\n",
		"Reply-To: r@x\r\nSender: s@x\r\nIn-Reply-To: <a@b>\r\nReferences: <a@b>\r\n <c@d>\r\nX-Priority: 1\r\n\r\n",
	} {
		seeds = append(seeds, []byte(s))
	}
	return seeds
}

func TestCacheAnswersLikeTheMessage(t *testing.T) {
	for _, raw := range cacheSeeds(t) {
		c := NewCache(raw, true)
		if !c.Valid {
			t.Fatalf("no cache for %q", raw)
		}
		if err := checkValue(string(c.Envelope), true, false); err != nil {
			t.Fatalf("cached ENVELOPE %v: %s", err, c.Envelope)
		}
		checkCache(t, raw, c)
	}
}

func TestCacheKeepsOnlyCachedFields(t *testing.T) {
	raw := bench5K()
	c := NewCache(raw, false)
	want := "From: =?UTF-8?Q?Example_Newsletter_=E2=80=94_Weekly?= <newsletter@lists.example.org>\r\n" +
		"To: Bob Example <bob@example.com>, \"Carol, C.\" <carol@example.com>,\r\n dave@example.com\r\n" +
		"Cc: Team: eve@example.com, frank@example.com;\r\n" +
		"Reply-To: no-reply@lists.example.org\r\n" +
		"Subject: =?UTF-8?B?V2Vla2x5IGRpZ2VzdDogbmV3cyDigJQgdXBkYXRlcyBhbmQgbW9yZQ==?=\r\n" +
		"Date: Mon, 15 Jan 2024 09:30:10 +0100\r\n" +
		"Message-ID: <20240115083010.4B1C9@app.example.org>\r\n" +
		"In-Reply-To: <20240108083010.1A2B3@app.example.org>\r\n" +
		"List-Id: Weekly <weekly.lists.example.org>\r\n" +
		"List-Unsubscribe: <mailto:unsubscribe@lists.example.org>\r\n" +
		"Content-Type: multipart/alternative; boundary=\"==b==\"\r\n\r\n"
	if string(c.Fields) != want {
		t.Fatalf("fields:\n%s\nwant:\n%s", c.Fields, want)
	}
	for _, n := range []string{"From", "SUBJECT", "message-id", "X-Priority"} {
		if !CachedField(n) {
			t.Errorf("CachedField(%q) = false", n)
		}
	}
	// Only ASCII letters fold, as header field matching does.
	for _, n := range []string{"Received", "DKIM-Signature", "Subjecſ", "", strings.Repeat("x", 100), "Sub ject"} {
		if CachedField(n) {
			t.Errorf("CachedField(%q) = true", n)
		}
	}
	if !CachedFields([]string{"From", "to"}) || CachedFields([]string{"From", "Received"}) || CachedFields(nil) {
		t.Error("CachedFields")
	}
}

func TestCacheBounds(t *testing.T) {
	body := "\r\nbody\r\n"
	cases := []struct {
		name     string
		raw      string
		complete bool
		valid    bool
	}{
		{"header only, whole message", "Subject: x\r\nFrom: a@b\r\n", true, true},
		{"header not ended in a prefix", "Subject: x\r\nFrom: a@b\r\n", false, false},
		{"empty line cut after CR in a prefix", "Subject: x\r\n\r", false, false},
		{"header ended in a prefix", "Subject: x\r\n\r\nbo", false, true},
		{"header beyond the scan bound", "Subject: x\r\nX-Pad: " + strings.Repeat("p", MaxCacheScan) + "\r\n" + body, true, false},
		{"long uncached field within the bound", "Subject: x\r\nX-Pad: " + strings.Repeat("p", MaxCacheScan-100) + "\r\n" + body, true, true},
		{"cached fields too large", "Subject: x\r\nTo: " + strings.Repeat("a@example.org, ", 2000) + "b@x\r\n" + body, true, false},
	}
	for _, tc := range cases {
		c := NewCache([]byte(tc.raw), tc.complete)
		if c.Valid != tc.valid {
			t.Errorf("%s: valid %v, want %v", tc.name, c.Valid, tc.valid)
		}
		if c.Valid {
			checkCache(t, []byte(tc.raw), c)
		}
	}
}

// FuzzCache checks that a cache made from a message, or from any prefix
// of it that holds the header, answers as the message does.
func FuzzCache(f *testing.F) {
	for _, s := range cacheSeeds(f) {
		f.Add(s, uint16(len(s)))
		f.Add(s, uint16(len(s)/2))
	}
	f.Fuzz(func(t *testing.T, raw []byte, cut uint16) {
		c := NewCache(raw, true)
		if len(raw) <= MaxCacheScan && len(raw) < maxCacheData/2 && !c.Valid {
			t.Fatalf("small message not cached: %q", raw)
		}
		if c.Valid {
			if err := checkValue(string(c.Envelope), true, false); err != nil {
				t.Fatalf("cached ENVELOPE %v: %s", err, c.Envelope)
			}
			checkCache(t, raw, c)
		}
		k := min(int(cut), len(raw))
		p := NewCache(raw[:k], k == len(raw))
		if p.Valid && (!bytes.Equal(p.Envelope, c.Envelope) || !bytes.Equal(p.Fields, c.Fields)) {
			t.Fatalf("cache of the first %d octets differs from the whole message's:\n%v %q %q\n%v %q %q", k, p.Valid, p.Envelope, p.Fields, c.Valid, c.Envelope, c.Fields)
		}
	})
}

// BenchmarkNewCache is the work delivery adds per message.
func BenchmarkNewCache(b *testing.B) {
	raw := bench5K()
	b.ReportAllocs()
	for b.Loop() {
		NewCache(raw, true)
	}
}

// BenchmarkCachedEnvelope is a FETCH ENVELOPE from the cache.
func BenchmarkCachedEnvelope(b *testing.B) {
	c := NewCache(bench5K(), true)
	w := imapwire.NewWriter(io.Discard)
	b.ReportAllocs()
	for b.Loop() {
		w.Atom("ENVELOPE")
		WriteCachedEnvelope(w, c)
		w.End()
	}
}
