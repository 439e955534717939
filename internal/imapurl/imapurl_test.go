package imapurl

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	cases := []struct {
		in   string
		want URL
	}{
		// RFC 4469 3 (the example's URLs, lower-case "section" included).
		{"/Drafts;UIDVALIDITY=385759045/;UID=20/;section=HEADER",
			URL{Mailbox: "Drafts", HasMailbox: true, UIDValidity: 385759045, UID: 20, Section: "HEADER"}},
		{"/Drafts;UIDVALIDITY=385759045/;UID=20/;section=1.MIME",
			URL{Mailbox: "Drafts", HasMailbox: true, UIDValidity: 385759045, UID: 20, Section: "1.MIME"}},
		{"/Drafts;UIDVALIDITY=385759045/;UID=30",
			URL{Mailbox: "Drafts", HasMailbox: true, UIDValidity: 385759045, UID: 30}},
		// RFC 5092 7.1 style, with server, user and ;AUTH=.
		{"imap://michael@example.org/INBOX/;UID=2/;SECTION=1.2/;PARTIAL=10.20",
			URL{Server: true, User: "michael", Host: "example.org", Mailbox: "INBOX", HasMailbox: true,
				UID: 2, Section: "1.2", Partial: &Partial{10, 20}}},
		{"IMAP://fred;AUTH=*@[::1]:143/Other%20Users/bob/INBOX;UIDVALIDITY=7/;UID=1",
			URL{Server: true, User: "fred", Auth: "*", Host: "[::1]", Port: 143, Mailbox: "Other Users/bob/INBOX",
				HasMailbox: true, UIDValidity: 7, UID: 1}},
		{"//host/a%2Fb;UIDVALIDITY=1/;UID=3/;SECTION=HEADER.FIELDS%20(To%20From)",
			URL{Server: true, Host: "host", Mailbox: "a/b", HasMailbox: true, UIDValidity: 1, UID: 3,
				Section: "HEADER.FIELDS (To From)"}},
		{"/Gr%C3%B6%C3%9Fe/;UID=5/;PARTIAL=0", URL{Mailbox: "Größe", HasMailbox: true, UID: 5, Partial: &Partial{}}},
		// Relative to the selected mailbox (RFC 5092 7.2).
		{";UID=20/;SECTION=1.2", URL{UID: 20, Section: "1.2"}},
		{";uid=20", URL{UID: 20}},
		// RFC 4467 2: a URLAUTH-authorized URL.
		{"imap://joe@example.com/INBOX/;uid=20/;section=1.2;urlauth=submit+fred:internal:91354a473744909de610943775f92038",
			URL{Server: true, User: "joe", Host: "example.com", Mailbox: "INBOX", HasMailbox: true, UID: 20, Section: "1.2",
				URLAuth: "submit+fred:internal:91354a473744909de610943775f92038"}},
		{"imap://example.com", URL{Server: true, Host: "example.com"}},
	}
	for _, c := range cases {
		u, err := Parse(c.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", c.in, err)
			continue
		}
		if !reflect.DeepEqual(*u, c.want) {
			t.Errorf("Parse(%q) = %+v, want %+v", c.in, *u, c.want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, in := range []string{
		"", "INBOX", "http://x/INBOX/;UID=1", "/", "/INBOX;UID=1", "/INBOX/;UID=0", "/INBOX/;UID=01",
		"/INBOX/;UID=4294967296", "/INBOX/;UID=1/;SECTION=", "/INBOX/;SECTION=1", "/INBOX/;UID=1/;FOO=2",
		"/INBOX/;UID=1;SECTION=1", "/INBOX/;UID=1/;PARTIAL=1.0", "/INBOX/;UID=1/;PARTIAL=x", "/IN BOX/;UID=1",
		"/INBOX%zz/;UID=1", "/INBOX%4/;UID=1", "/INBOX/;UID=1/;UIDVALIDITY=3", "/%FF%FE/;UID=1", "imap://@x/INBOX",
		"imap://h:0/INBOX", "imap://h:x/INBOX", "imap://[::1/INBOX", "imap:///INBOX", ";SECTION", "/INBOX?SUBJECT%20x",
		strings.Repeat("a", MaxLen+1),
	} {
		if u, err := Parse(in); !errors.Is(err, ErrSyntax) {
			t.Errorf("Parse(%q) = %+v, %v; want a syntax error", in, u, err)
		}
	}
}

func TestResolve(t *testing.T) {
	base := &URL{Mailbox: "Drafts", HasMailbox: true, UIDValidity: 9}
	u, _ := Parse(";UID=20/;SECTION=1")
	if err := u.Resolve(base); err != nil || u.Mailbox != "Drafts" || u.UIDValidity != 9 || u.UID != 20 || u.Section != "1" {
		t.Fatalf("Resolve: %+v %v", u, err)
	}
	u, _ = Parse(";UID=20")
	if err := u.Resolve(nil); err == nil {
		t.Fatal("relative URL resolved without a base")
	}
	u, _ = Parse(";SECTION=1")
	if err := u.Resolve(base); err == nil {
		t.Fatal("URL without UID resolved")
	}
	u, _ = Parse("/INBOX")
	if err := u.Resolve(base); err == nil {
		t.Fatal("mailbox URL resolved as a message")
	}
	u, _ = Parse("/INBOX/;UID=3")
	if err := u.Resolve(base); err != nil || u.Mailbox != "INBOX" || u.UIDValidity != 0 {
		t.Fatalf("absolute Resolve: %+v %v", u, err)
	}
}

func TestRespText(t *testing.T) {
	for in, want := range map[string]string{
		"/INBOX;UIDVALIDITY=785799047/;UID=113330;section=1.5.9": "/INBOX;UIDVALIDITY=785799047/;UID=113330;section=1.5.9",
		"/a]b c\r\n%": "/a%5Db%20c%0D%0A%25",
		"/a%20b":      "/a%20b",
		"":            "%20",
	} {
		if got := RespText(in); got != want {
			t.Errorf("RespText(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzParse: no input panics, and what parses yields a URL whose texts
// came through the decoder.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"/Drafts;UIDVALIDITY=385759045/;UID=20/;section=HEADER", ";UID=20/;SECTION=1.2/;PARTIAL=0.5",
		"imap://u;AUTH=*@[::1]:143/a%2Fb;UIDVALIDITY=1/;UID=3/;SECTION=HEADER.FIELDS%20(To)",
		"imap://joe@example.com/INBOX/;uid=20/;section=1.2;expire=2026-12-03T18:00:00Z;urlauth=submit+fred:internal:91354a",
		"//h/%", "/a/;UID=1/;PARTIAL=4294967295.4294967295",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, err := Parse(s)
		if err != nil {
			if !errors.Is(err, ErrSyntax) {
				t.Fatalf("error %v does not wrap ErrSyntax", err)
			}
			return
		}
		_ = u.Resolve(&URL{Mailbox: "INBOX", HasMailbox: true})
		if a, ok := ParseAuthorization(s, u); ok && !strings.HasPrefix(s, a.Rump) {
			t.Fatalf("rump %q is not a prefix of %q", a.Rump, s)
		}
		u.Expires()
		if r := RespText(s); strings.ContainsAny(r, "]\r\n") {
			t.Fatalf("RespText(%q) = %q", s, r)
		}
	})
}

func TestParseAuthorization(t *testing.T) {
	for _, c := range []struct {
		in   string
		want Authorization
		ok   bool
	}{
		{"imap://joe@example.com/INBOX/;uid=20/;section=1.2;urlauth=submit+fred:internal:91354a473744909de610943775f92038",
			Authorization{Access: "submit+fred", User: "fred", Mechanism: "INTERNAL", Token: "91354a473744909de610943775f92038",
				Rump: "imap://joe@example.com/INBOX/;uid=20/;section=1.2;urlauth=submit+fred"}, true},
		{"imap://joe@example.com/INBOX/;UID=1;EXPIRE=2026-12-03T18:00:00Z;URLAUTH=anonymous",
			Authorization{Access: "anonymous", Rump: "imap://joe@example.com/INBOX/;UID=1;EXPIRE=2026-12-03T18:00:00Z;URLAUTH=anonymous"}, true},
		{"imap://joe@h/INBOX/;UID=1;URLAUTH=User+bob%40example.org", Authorization{Access: "user+bob@example.org", User: "bob@example.org",
			Rump: "imap://joe@h/INBOX/;UID=1;URLAUTH=User+bob%40example.org"}, true},
		{"imap://joe@h/INBOX/;UID=1;URLAUTH=someone", Authorization{}, false},
		{"imap://joe@h/INBOX/;UID=1;URLAUTH=authuser:internal:short", Authorization{}, false},
		{"imap://joe@h/INBOX/;UID=1;URLAUTH=authuser:internal:91354a473744909de610943775f9203g", Authorization{}, false},
		{"imap://joe@h/INBOX/;UID=1;URLAUTH=user+:internal:91354a473744909de610943775f92038", Authorization{}, false},
		{"imap://joe@h/INBOX/;UID=1", Authorization{}, false},
	} {
		u, err := Parse(c.in)
		if err != nil {
			t.Fatalf("Parse(%q): %v", c.in, err)
		}
		got, ok := ParseAuthorization(c.in, u)
		if ok != c.ok || got != c.want {
			t.Errorf("ParseAuthorization(%q) = %+v %v, want %+v %v", c.in, got, ok, c.want, c.ok)
		}
	}
	u, _ := Parse("imap://joe@h/INBOX/;UID=1;EXPIRE=2026-12-03T18:00:00+01:00;URLAUTH=anonymous")
	if e, ok, err := u.Expires(); !ok || err != nil || e.UTC().Hour() != 17 {
		t.Errorf("Expires: %v %v %v", e, ok, err)
	}
	u, _ = Parse("imap://joe@h/INBOX/;UID=1;EXPIRE=tomorrow;URLAUTH=anonymous")
	if _, ok, err := u.Expires(); !ok || err == nil {
		t.Errorf("Expires of a bad date: %v %v", ok, err)
	}
}
