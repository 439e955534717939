package imapserver

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"mailwarden/internal/config"
)

// fetchBody returns the message bytes of the last FETCH BODY[] line.
func fetchBody(t *testing.T, c *client, cmd string) string {
	t.Helper()
	u := c.ok(cmd)
	for _, l := range u {
		if i := strings.Index(l, "}\r\n"); i >= 0 && (strings.Contains(l, "BODY") || strings.Contains(l, "BINARY")) {
			n, _ := strconv.Atoi(l[strings.LastIndexByte(l[:i], '{')+1 : i])
			return l[i+3 : i+3+n]
		}
	}
	t.Fatalf("%s: no body in %q", cmd, u)
	return ""
}

// catAppend sends an APPEND whose CATENATE parts follow, each TEXT with a
// synchronizing literal, and returns the tagged reply and how many
// continuations came.
func catAppend(t *testing.T, c *client, head string, parts ...string) (string, int) {
	t.Helper()
	c.n++
	tag := "t" + strconv.Itoa(c.n)
	line := tag + " APPEND " + head + " CATENATE ("
	conts := 0
	for i, p := range parts {
		if i > 0 {
			line += " "
		}
		if text, ok := strings.CutPrefix(p, "TEXT "); ok {
			c.send(line + "TEXT {" + strconv.Itoa(len(text)) + "}")
			l := c.line()
			if !strings.HasPrefix(l, "+ ") {
				return strings.TrimPrefix(l, tag+" "), conts // refused before the data
			}
			conts++
			line = text
			continue
		}
		line += p
	}
	c.send(line + ")")
	_, tagged := c.until(tag)
	return tagged, conts
}

// TestCatenate drives RFC 4469's example (section 3) against a stored
// MIME message and checks the bytes of the message it makes.
func TestCatenate(t *testing.T) {
	h := start(t, func(c *config.Config) { c.IMAP.AppendLimit = 4000 })
	c := h.login(t, "alice@example.org")
	if caps := c.ok("CAPABILITY"); !strings.Contains(caps[0], " CATENATE") {
		t.Fatalf("CATENATE not offered: %q", caps)
	}
	c.appendMsg("INBOX", "()", mimeMessage)
	c.appendMsg("INBOX", "()", testMessage(2))
	uv, _ := h.folder(t, "alice@example.org", "INBOX")
	src := fmt.Sprintf("/INBOX;UIDVALIDITY=%d/;UID=1", uv)
	sep := "\r\n--------------030308070208000400050907\r\n"
	tagged, conts := catAppend(t, c, `Drafts (\Seen \Draft $MDNSent)`,
		`URL "`+src+`/;section=HEADER"`, "TEXT "+sep,
		`URL "`+src+`/;section=1.MIME"`, `URL "`+src+`/;section=1"`, "TEXT "+sep,
		fmt.Sprintf(`URL "/INBOX;UIDVALIDITY=%d/;UID=2"`, uv),
		"TEXT \r\n--------------030308070208000400050907--\r\n")
	duv, _ := h.folder(t, "alice@example.org", "Drafts")
	if tagged != fmt.Sprintf("OK [APPENDUID %d 1] Append completed.", duv) || conts != 3 {
		t.Fatalf("APPEND: %q after %d continuations", tagged, conts)
	}
	hdrEnd := strings.Index(mimeMessage, "\r\n\r\n") + 4
	want := mimeMessage[:hdrEnd] + sep + "Content-Type: text/plain; charset=utf-8\r\n\r\n" + "Hello there" + sep +
		testMessage(2) + "\r\n--------------030308070208000400050907--\r\n"
	c.ok("SELECT Drafts")
	if got := fetchBody(t, c, "FETCH 1 BODY.PEEK[]"); got != want {
		t.Fatalf("catenated message:\n%q\nwant\n%q", got, want)
	}
	c.expect("FETCH 1 FLAGS", `* 1 FETCH (FLAGS ($MDNSent \Draft \Seen \Recent))`, "OK Fetch completed.")

	// Relative to the selected mailbox (RFC 5092 7.2), a PARTIAL, a
	// literal8 TEXT (RFC 5550), and a MULTIAPPEND mixing both kinds.
	c.ok("SELECT INBOX")
	c.send("m1 APPEND Drafts CATENATE (URL \";UID=2/;SECTION=TEXT\" TEXT ~{3+}\r\na\x00b URL \";UID=1/;SECTION=HEADER/;PARTIAL=6.5\") {3+}\r\nxyz")
	if _, tagged := c.until("m1"); tagged != fmt.Sprintf("OK [APPENDUID %d 2:3] Append completed.", duv) {
		t.Fatalf("m1: %q", tagged)
	}
	c.ok("SELECT Drafts")
	if got := fetchBody(t, c, "FETCH 2 BINARY.PEEK[]"); got != "Hello 2\r\na\x00bAlice" {
		t.Fatalf("m1 message 1: %q", got)
	}
	if got := fetchBody(t, c, "FETCH 3 BODY.PEEK[]"); got != "xyz" {
		t.Fatalf("m1 message 2: %q", got)
	}
	// The URLs read as BODY.PEEK: the source stays unseen.
	c.expect("STATUS INBOX (UNSEEN)", "* STATUS INBOX (UNSEEN 2)", "OK Status completed.")

	// [BADURL url]: nothing is stored and the literal after the bad URL
	// is never asked for.
	c.ok("UNSELECT")
	for _, u := range []string{
		fmt.Sprintf("/INBOX;UIDVALIDITY=%d/;UID=1", uv+1), // UIDVALIDITY changed
		fmt.Sprintf("/INBOX;UIDVALIDITY=%d/;UID=9", uv),   // no such UID
		"/Nope/;UID=1", // no such mailbox
		";UID=1",       // relative, nothing selected
		"imap://alice@elsewhere.example/INBOX/;UID=1",            // another server
		"imap://bob%40example.org@127.0.0.1/INBOX/;UID=1",        // another user
		"/INBOX/;UID=1/;SECTION=1.FOO",                           // no such section-spec
		"/INBOX/;UID=1/;URLAUTH=anonymous:internal:0123456789ab", // URLAUTH not offered
		"/%22Other%20Users%22/bob@example.org/INBOX/;UID=1",      // not shared
		"/Other%20Users/bob@example.org/INBOX/;UID=1",            // not shared
	} {
		tagged, conts := catAppend(t, c, "Drafts", "TEXT x", `URL "`+u+`"`, "TEXT never asked for")
		if tagged != "NO [BADURL "+u+"] CATENATE URL does not resolve to a message or part you may read." || conts != 1 {
			t.Errorf("%s: %q after %d continuations", u, tagged, conts)
		}
	}
	c.expect("NOOP", "OK Noop completed.")
	c.expect("STATUS Drafts (MESSAGES)", "* STATUS Drafts (MESSAGES 3)", "OK Status completed.")
	// The absolute forms that name this server and user are fine.
	for _, u := range []string{"imap://alice%40example.org;AUTH=*@127.0.0.1/INBOX/;UID=2", "//127.0.0.1/INBOX/;UID=2/;SECTION=TEXT"} {
		if tagged, _ := catAppend(t, c, "Drafts", `URL "`+u+`"`); !strings.HasPrefix(tagged, "OK [APPENDUID") {
			t.Errorf("%s: %q", u, tagged)
		}
	}

	// [TOOBIG]: a TEXT part beyond APPENDLIMIT together with what came
	// before is refused before it is sent; a URL before it is copied.
	big := strings.Repeat("x", 3000)
	if tagged, conts := catAppend(t, c, "Drafts", "TEXT "+big, "TEXT "+big); !strings.HasPrefix(tagged, "NO [TOOBIG]") || conts != 1 {
		t.Fatalf("TEXT over APPENDLIMIT: %q after %d", tagged, conts)
	}
	if tagged, _ := catAppend(t, c, "Drafts", "TEXT "+big+big[:700], `URL "`+src+`"`, `URL "`+src+`"`); !strings.HasPrefix(tagged, "NO [TOOBIG]") {
		t.Fatalf("URL over APPENDLIMIT: %q", tagged)
	}
	c.expect("STATUS Drafts (MESSAGES)", "* STATUS Drafts (MESSAGES 5)", "OK Status completed.")
	// Malformed: BAD, and the session goes on.
	for _, bad := range []string{"CATENATE ()", "CATENATE (FOO x)", "CATENATE (URL /INBOX/;UID=1", "CATENATE (TEXT \"q\")"} {
		if _, tagged := c.cmd("APPEND Drafts " + bad); !strings.HasPrefix(tagged, "BAD ") {
			t.Errorf("%s: %q", bad, tagged)
		}
	}
	c.expect("NOOP", "OK Noop completed.")
}

// TestCatenateShared: a URL into another user's folder works when the
// ACL gives the read right (RFC 4314 4), and is a BADURL otherwise.
func TestCatenateShared(t *testing.T) {
	h := start(t, nil)
	b := h.login(t, "bob@example.org")
	b.appendMsg("INBOX", "()", testMessage(7))
	a := h.login(t, "alice@example.org")
	u := `URL "/Other%20Users/bob@example.org/INBOX/;UID=1/;SECTION=TEXT"`
	if tagged, _ := catAppend(t, a, "INBOX", u); !strings.HasPrefix(tagged, "NO [BADURL ") {
		t.Fatalf("unshared: %q", tagged)
	}
	b.ok("SETACL INBOX alice@example.org l")
	if tagged, _ := catAppend(t, a, "INBOX", u); !strings.HasPrefix(tagged, "NO [BADURL ") {
		t.Fatalf("lookup right only: %q", tagged)
	}
	b.ok("SETACL INBOX alice@example.org lr")
	if tagged, _ := catAppend(t, a, "INBOX", u); !strings.HasPrefix(tagged, "OK [APPENDUID ") {
		t.Fatalf("shared: %q", tagged)
	}
	a.ok("SELECT INBOX")
	if got := fetchBody(t, a, "FETCH 1 BODY.PEEK[]"); got != "Hello 7\r\n" {
		t.Fatalf("shared part: %q", got)
	}
	// Relative to a selected shared folder.
	a.ok(`SELECT "Other Users/bob@example.org/INBOX"`)
	if tagged, _ := catAppend(t, a, "INBOX", `URL ";UID=1/;SECTION=HEADER.FIELDS%20(Subject)"`); !strings.HasPrefix(tagged, "OK [APPENDUID ") {
		t.Fatalf("relative shared: %q", tagged)
	}
	a.ok("SELECT INBOX")
	if got := fetchBody(t, a, "FETCH 2 BODY.PEEK[]"); got != "Subject: test 7\r\n\r\n" {
		t.Fatalf("relative shared part: %q", got)
	}
}

// TestCatenateAgainstDovecot runs the same CATENATE conversation with
// imaplib against Mailwarden and Dovecot and compares every answer and
// the bytes of every message made.
func TestCatenateAgainstDovecot(t *testing.T) {
	run := dovecot(t)
	h := start(t, nil)
	host, port, _ := strings.Cut(h.addr, ":")
	ours := runScript(t, "testdata/catenate_cases.py", "tcp", host, port, "alice@example.org", testPass)
	theirs := runScript(t, "testdata/catenate_cases.py", "stream", run)
	uv := regexp.MustCompile(`UIDVALIDITY=\d+`)
	for step, lines := range theirs {
		got, ref := normalize(ours[step]), normalize(lines)
		for i := range got {
			got[i] = uv.ReplaceAllString(got[i], "UIDVALIDITY=N")
		}
		for i := range ref {
			ref[i] = uv.ReplaceAllString(ref[i], "UIDVALIDITY=N")
		}
		if step == "bodies" || step == "binary" {
			got, ref = ours[step], lines
		}
		if step == "select" || step == "select_cat" || step == "create" {
			continue // the folder lists and CAPABILITY codes differ by design
		}
		if !slices.Equal(got, ref) {
			t.Errorf("%s:\nmailwarden %q\ndovecot    %q", step, got, ref)
		}
	}
	if len(ours["bodies"]) != 4 || len(ours["binary"]) != 1 || ours["binary"][0] != "Subject: bin\r\n\r\na\x00b\r\nline one\r\nline two\r\n" {
		t.Errorf("messages made: %q %q", ours["bodies"], ours["binary"])
	}
	if len(ours) != len(theirs) {
		t.Errorf("%d steps against Mailwarden, %d against Dovecot", len(ours), len(theirs))
	}
}

// TestCatenateSpool: a CATENATE message beyond the in-memory share goes
// to a temporary file, whole and in order.
func TestCatenateSpool(t *testing.T) {
	h := start(t, nil)
	c := h.login(t, "alice@example.org")
	big := "Subject: big\r\n\r\n" + strings.Repeat("0123456789abcde\r\n", 40000) // 680 KB
	c.appendMsg("INBOX", "()", big)
	tagged, _ := catAppend(t, c, "INBOX", `URL "/INBOX/;UID=1"`, "TEXT --\r\n", `URL "/INBOX/;UID=1/;SECTION=TEXT"`)
	if !strings.HasPrefix(tagged, "OK [APPENDUID ") {
		t.Fatalf("APPEND: %q", tagged)
	}
	c.ok("SELECT INBOX")
	want := big + "--\r\n" + big[len("Subject: big\r\n\r\n"):]
	if got := fetchBody(t, c, "FETCH 2 BODY.PEEK[]"); got != want {
		t.Fatalf("spooled message of %d bytes, want %d", len(got), len(want))
	}
}
