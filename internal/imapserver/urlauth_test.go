package imapserver

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"
)

var reGenURLAuth = regexp.MustCompile(`^\* GENURLAUTH "([^"]*:internal:[0-9a-f]{64})"$`)

// genURLAuth signs rump as c's user and returns the full URL.
func genURLAuth(t *testing.T, c *client, rump string) string {
	t.Helper()
	u := c.ok(`GENURLAUTH "` + rump + `" INTERNAL`)
	if len(u) != 1 || !reGenURLAuth.MatchString(u[0]) {
		t.Fatalf("GENURLAUTH %s: %q", rump, u)
	}
	full := reGenURLAuth.FindStringSubmatch(u[0])[1]
	if !strings.HasPrefix(full, rump+":internal:") {
		t.Fatalf("GENURLAUTH %s gave %s", rump, full)
	}
	return full
}

// TestURLAuth: RFC 4467's flow: alice signs a URL to a part of her
// message for bob, bob fetches it and builds a message with it by
// CATENATE, though alice shares nothing with him; RESETKEY voids it.
func TestURLAuth(t *testing.T) {
	h := start(t, nil)
	a := h.login(t, "alice@example.org")
	b := h.login(t, "bob@example.org")
	if caps := a.ok("CAPABILITY"); !strings.Contains(caps[0], " URLAUTH") {
		t.Fatalf("URLAUTH not offered: %q", caps)
	}
	a.appendMsg("INBOX", "()", mimeMessage)
	uv, _ := h.folder(t, "alice@example.org", "INBOX")
	base := fmt.Sprintf("imap://alice%%40example.org@127.0.0.1/INBOX;UIDVALIDITY=%d/;UID=1", uv)
	forBob := genURLAuth(t, a, base+"/;SECTION=1;URLAUTH=user+bob%40example.org")
	b.expect(`URLFETCH "`+forBob+`"`, `* URLFETCH "`+forBob+`" {11}`+"\r\nHello there", "OK Urlfetch completed.")
	// Not for alice herself; a changed token, a submit+ URL, an expired
	// one and one of another host give NIL.
	a.expect(`URLFETCH "`+forBob+`"`, `* URLFETCH "`+forBob+`" NIL`, "OK Urlfetch completed.")
	tampered := forBob[:len(forBob)-1] + map[bool]string{true: "0", false: "1"}[!strings.HasSuffix(forBob, "0")]
	submit := genURLAuth(t, a, base+";URLAUTH=submit+bob%40example.org")
	past := time.Now().Add(-time.Minute).UTC().Format(time.RFC3339)
	expired := genURLAuth(t, a, base+";EXPIRE="+past+";URLAUTH=authuser")
	later := genURLAuth(t, a, base+"/;SECTION=HEADER.FIELDS%20(Subject);EXPIRE="+time.Now().Add(time.Hour).UTC().Format(time.RFC3339)+";URLAUTH=authuser")
	anon := genURLAuth(t, a, base+"/;SECTION=2/;PARTIAL=0.2;URLAUTH=anonymous")
	b.expect(`URLFETCH "`+tampered+`" "`+submit+`" "`+expired+`" "`+later+`" "`+anon+`" "/INBOX/;UID=1"`,
		`* URLFETCH "`+tampered+`" NIL`, `* URLFETCH "`+submit+`" NIL`, `* URLFETCH "`+expired+`" NIL`,
		`* URLFETCH "`+later+`" {18}`+"\r\nSubject: parts\r\n\r\n", `* URLFETCH "`+anon+`" {2}`+"\r\nAA",
		`* URLFETCH /INBOX/;UID=1 NIL`, "OK Urlfetch completed.")

	// CATENATE takes a URLAUTH URL (RFC 4469 3 with RFC 4467).
	if tagged, _ := catAppend(t, b, "INBOX", "TEXT Subject: fwd\r\n\r\n", `URL "`+forBob+`"`); !strings.HasPrefix(tagged, "OK [APPENDUID ") {
		t.Fatalf("CATENATE with URLAUTH: %q", tagged)
	}
	b.ok("SELECT INBOX")
	if got := fetchBody(t, b, "FETCH 1 BODY.PEEK[]"); got != "Subject: fwd\r\n\r\nHello there" {
		t.Fatalf("CATENATE with URLAUTH made %q", got)
	}

	// GENURLAUTH only for the user's own messages on this server.
	for _, bad := range []string{
		"imap://bob%40example.org@127.0.0.1/INBOX/;UID=1;URLAUTH=anonymous",   // another user
		"imap://alice%40example.org@elsewhere/INBOX/;UID=1;URLAUTH=anonymous", // another server
		"/INBOX/;UID=1;URLAUTH=anonymous",                                     // not absolute
		"imap://alice%40example.org@127.0.0.1/INBOX;URLAUTH=anonymous",        // no UID
		"imap://alice%40example.org@127.0.0.1/Nope/;UID=1;URLAUTH=anonymous",  // no mailbox
		forBob, // already signed
		fmt.Sprintf("imap://alice%%40example.org@127.0.0.1/INBOX;UIDVALIDITY=%d/;UID=1;URLAUTH=anonymous", uv+1),
		"imap://alice%40example.org@127.0.0.1/INBOX/;UID=1;EXPIRE=soon;URLAUTH=anonymous",
	} {
		if _, tagged := a.cmd(`GENURLAUTH "` + bad + `" INTERNAL`); !strings.HasPrefix(tagged, "NO [BADURL ") {
			t.Errorf("GENURLAUTH %s: %q", bad, tagged)
		}
	}
	if _, tagged := a.cmd(`GENURLAUTH "` + base + `;URLAUTH=anonymous" XSECRET`); !strings.HasPrefix(tagged, "NO [BADURL ") {
		t.Errorf("GENURLAUTH with an unknown mechanism: %q", tagged)
	}

	// RESETKEY voids the URLs; new ones work.
	a.expect("RESETKEY INBOX INTERNAL", "OK Resetkey completed.")
	b.expect(`URLFETCH "`+forBob+`"`, `* URLFETCH "`+forBob+`" NIL`, "OK Urlfetch completed.")
	again := genURLAuth(t, a, base+"/;SECTION=1;URLAUTH=user+bob%40example.org")
	if again == forBob {
		t.Fatal("RESETKEY kept the key")
	}
	b.expect(`URLFETCH "`+again+`"`, `* URLFETCH "`+again+`" {11}`+"\r\nHello there", "OK Urlfetch completed.")
	a.expect("RESETKEY", "OK Resetkey completed.")
	b.expect(`URLFETCH "`+again+`"`, `* URLFETCH "`+again+`" NIL`, "OK Urlfetch completed.")
	a.expect("RESETKEY INBOX XSECRET", "NO Unknown authorization mechanism XSECRET.")
	a.expect("RESETKEY Nope", "NO [NONEXISTENT] Mailbox doesn't exist.")
}

// TestURLAuthImaplib: RFC 4467 7's flow driven by Python's imaplib.
func TestURLAuthImaplib(t *testing.T) {
	h := start(t, nil)
	host, port, _ := strings.Cut(h.addr, ":")
	got := runScript(t, "testdata/urlauth_cases.py", host, port, "alice@example.org", "bob@example.org", testPass)
	rump := got["rump"][0]
	url := strings.TrimPrefix(got["genurlauth"][1], `"`)
	url = strings.TrimSuffix(url, `"`)
	if got["genurlauth"][0] != "OK" || !strings.HasPrefix(url, rump+":internal:") || len(url) != len(rump)+len(":internal:")+64 {
		t.Fatalf("genurlauth: %q (rump %q)", got["genurlauth"], rump)
	}
	want := map[string][]string{
		"urlfetch":             {"OK", `(b'"` + url + `" {17}', b'the report itself')`, "b''"},
		"urlfetch_owner":       {"OK", `b'"` + url + `" NIL'`},
		"resetkey":             {"OK"},
		"urlfetch_after_reset": {"OK", `b'"` + url + `" NIL'`},
	}
	for step, w := range want {
		if strings.Join(got[step], "\n") != strings.Join(w, "\n") {
			t.Errorf("%s:\ngot  %q\nwant %q", step, got[step], w)
		}
	}
}
