package imapserver

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"mailwarden/internal/imapwire"
)

const mimeMessage = "From: Alice <alice@example.org>\r\n" +
	"To: Bob <bob@example.org>\r\n" +
	"Subject: parts\r\n" +
	"Date: Mon, 7 Feb 2022 21:52:25 -0800\r\n" +
	"Message-ID: <m1@example.org>\r\n" +
	"MIME-Version: 1.0\r\n" +
	"Content-Type: multipart/mixed; boundary=XX\r\n" +
	"\r\n" +
	"--XX\r\n" +
	"Content-Type: text/plain; charset=utf-8\r\n" +
	"\r\n" +
	"Hello there\r\n" +
	"--XX\r\n" +
	"Content-Type: application/octet-stream\r\n" +
	"Content-Transfer-Encoding: base64\r\n" +
	"\r\n" +
	"AAEC\r\n" +
	"--XX--\r\n"

func lit(s string) string { return "{" + strconv.Itoa(len(s)) + "}\r\n" + s }

func TestFetchForms(t *testing.T) {
	h := start(t, nil)
	c := h.login(t, "alice@example.org")
	c.appendMsg("INBOX", `(\Flagged) "07-Feb-2022 21:52:25 -0800"`, mimeMessage)
	c.ok("SELECT INBOX")
	hdrEnd := strings.Index(mimeMessage, "\r\n\r\n") + 4
	header, text := mimeMessage[:hdrEnd], mimeMessage[hdrEnd:]
	tests := []struct{ cmd, want string }{
		{"FETCH 1 (FLAGS UID)", `* 1 FETCH (FLAGS (\Flagged \Recent) UID 1)`},
		{"UID FETCH 1 FLAGS", `* 1 FETCH (UID 1 FLAGS (\Flagged \Recent))`},
		{"FETCH 1 (INTERNALDATE RFC822.SIZE)", fmt.Sprintf(`* 1 FETCH (INTERNALDATE "%s" RFC822.SIZE %d)`,
			imapwire.FormatDateTime(time.Unix(1644299545, 0)), len(mimeMessage))},
		{"FETCH 1 BODY.PEEK[]", "* 1 FETCH (BODY[] " + lit(mimeMessage) + ")"},
		{"FETCH 1 BODY.PEEK[]<5.10>", "* 1 FETCH (BODY[]<5> " + lit(mimeMessage[5:15]) + ")"},
		{"FETCH 1 BODY.PEEK[]<100000.10>", "* 1 FETCH (BODY[]<100000> {0}\r\n)"},
		{"FETCH 1 BODY.PEEK[HEADER]", "* 1 FETCH (BODY[HEADER] " + lit(header) + ")"},
		{"FETCH 1 RFC822.HEADER", "* 1 FETCH (RFC822.HEADER " + lit(header) + ")"},
		{"FETCH 1 BODY.PEEK[TEXT]<2.4>", "* 1 FETCH (BODY[TEXT]<2> " + lit(text[2:6]) + ")"},
		{"FETCH 1 BODY.PEEK[HEADER.FIELDS (Subject TO)]", "* 1 FETCH (BODY[HEADER.FIELDS (Subject TO)] " +
			lit("To: Bob <bob@example.org>\r\nSubject: parts\r\n\r\n") + ")"},
		{"FETCH 1 BODY.PEEK[1]", "* 1 FETCH (BODY[1] " + lit("Hello there") + ")"},
		{"FETCH 1 BODY.PEEK[1.MIME]", "* 1 FETCH (BODY[1.MIME] " + lit("Content-Type: text/plain; charset=utf-8\r\n\r\n") + ")"},
		{"FETCH 1 BINARY.PEEK[2]", "* 1 FETCH (BINARY[2] ~{3}\r\n\x00\x01\x02)"},
		{"FETCH 1 BINARY.SIZE[2]", "* 1 FETCH (BINARY.SIZE[2] 3)"},
		{"FETCH 1 ENVELOPE", `* 1 FETCH (ENVELOPE ("Mon, 7 Feb 2022 21:52:25 -0800" "parts" (("Alice" NIL "alice" "example.org")) ` +
			`(("Alice" NIL "alice" "example.org")) (("Alice" NIL "alice" "example.org")) (("Bob" NIL "bob" "example.org")) NIL NIL NIL "<m1@example.org>"))`},
		{"FETCH 1 BODY", `* 1 FETCH (BODY (("TEXT" "PLAIN" ("CHARSET" "utf-8") NIL NIL "7BIT" 11 1)("APPLICATION" "OCTET-STREAM" NIL NIL NIL "BASE64" 4) "MIXED"))`},
	}
	for _, tt := range tests {
		c.expect(tt.cmd, tt.want, "OK Fetch completed.")
	}
	u := c.ok("FETCH 1 BODYSTRUCTURE")
	if !strings.HasPrefix(u[0], `* 1 FETCH (BODYSTRUCTURE (("TEXT" "PLAIN"`) || !strings.Contains(u[0], `"MIXED" ("BOUNDARY" "XX")`) {
		t.Fatalf("BODYSTRUCTURE: %q", u)
	}
	// Still not \Seen: everything above peeked.
	c.expect("FETCH 1 FLAGS", `* 1 FETCH (FLAGS (\Flagged \Recent))`, "OK Fetch completed.")
	c.expect("FETCH 1 BODY[1]", "* 1 FETCH (BODY[1] "+lit("Hello there")+" FLAGS (\\Flagged \\Seen \\Recent))", "OK Fetch completed.")
}

func TestFetchImplicitSeen(t *testing.T) {
	h := start(t, nil)
	c := h.login(t, "alice@example.org")
	c.appendMsg("INBOX", "()", testMessage(1))
	c.appendMsg("INBOX", "()", testMessage(2))
	c.ok("EXAMINE INBOX")
	c.expect("FETCH 1 RFC822.TEXT", "* 1 FETCH (RFC822.TEXT "+lit("Hello 1\r\n")+")", "OK Fetch completed.")
	c.ok("SELECT INBOX")
	c.expect("FETCH 1 RFC822.TEXT", "* 1 FETCH (RFC822.TEXT "+lit("Hello 1\r\n")+" FLAGS (\\Seen \\Recent))", "OK Fetch completed.")
	c.ok("ENABLE CONDSTORE")
	u := c.ok("UID FETCH 2 (BODY[TEXT])")
	if len(u) != 1 || !strings.HasPrefix(u[0], "* 2 FETCH (UID 2 BODY[TEXT] "+lit("Hello 2\r\n")+" FLAGS (\\Seen \\Recent) MODSEQ (") {
		t.Fatalf("got %q", u)
	}
}

func TestFetchSets(t *testing.T) {
	h := start(t, nil)
	c := h.login(t, "alice@example.org")
	c.ok("SELECT INBOX")
	c.expect("FETCH 1:* FLAGS", "BAD Invalid message sequence number.")
	c.expect("UID FETCH 1:* FLAGS", "OK Fetch completed.")
	for i := 1; i <= 4; i++ {
		c.appendMsg("INBOX", "()", testMessage(i))
	}
	c.ok("NOOP")
	c.expect("FETCH 5 FLAGS", "BAD Invalid message sequence number.")
	c.expect("FETCH 4:* UID", "* 4 FETCH (UID 4)", "OK Fetch completed.")
	c.expect("UID FETCH 3:2,9:* UID", "* 2 FETCH (UID 2)", "* 3 FETCH (UID 3)", "* 4 FETCH (UID 4)", "OK Fetch completed.")
	c.expect("UID FETCH 7:9 UID", "OK Fetch completed.")
	c.ok("STORE 2 +FLAGS.SILENT (\\Flagged)")
	_, hms := h.folder(t, "alice@example.org", "INBOX")
	// CHANGEDSINCE enables CONDSTORE: HIGHESTMODSEQ first (RFC 7162 3.1).
	c.expect(fmt.Sprintf("UID FETCH 1:* (FLAGS) (CHANGEDSINCE %d)", hms-1),
		fmt.Sprintf("* OK [HIGHESTMODSEQ %d] Highest", hms),
		fmt.Sprintf("* 2 FETCH (UID 2 FLAGS (\\Flagged \\Recent) MODSEQ (%d))", hms), "OK Fetch completed.")
	c.expect(fmt.Sprintf("UID FETCH 1:* (FLAGS) (CHANGEDSINCE %d VANISHED)", hms-1), "BAD VANISHED requires QRESYNC to be enabled.")
	c.ok("ENABLE QRESYNC")
	c.ok("UID STORE 3 +FLAGS.SILENT (\\Deleted)")
	u := c.ok("UID EXPUNGE 3")
	if u[0] != "* VANISHED 3" {
		t.Fatalf("UID EXPUNGE with QRESYNC: %q", u)
	}
	c.expect(fmt.Sprintf("UID FETCH 1:* (FLAGS) (CHANGEDSINCE %d VANISHED)", hms-1),
		"* VANISHED (EARLIER) 3", fmt.Sprintf("* 2 FETCH (UID 2 FLAGS (\\Flagged \\Recent) MODSEQ (%d))", hms), "OK Fetch completed.")
}

func TestFetchManyNoFiles(t *testing.T) {
	h := start(t, nil)
	for i := 0; i < 200; i++ {
		h.deliver(t, "alice@example.org", "INBOX", testMessage(i))
	}
	c := h.login(t, "alice@example.org")
	c.ok("SELECT INBOX")
	u := c.ok("UID FETCH 1:* (UID FLAGS)")
	if len(u) != 200 || u[199] != "* 200 FETCH (UID 200 FLAGS (\\Recent))" {
		t.Fatalf("got %d lines, last %q", len(u), u[len(u)-1])
	}
}
