package imapserver

import (
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// FuzzSession feeds arbitrary input to a logged-in session with a mailbox
// selected; the server must neither panic nor hang.
func FuzzSession(f *testing.F) {
	seeds := []string{
		"a FETCH 1:* (FLAGS UID BODY.PEEK[] ENVELOPE BODYSTRUCTURE)",
		"a UID FETCH 1:* (BODY.PEEK[1.2.MIME] BINARY[2]<0.3> BODY[HEADER.FIELDS.NOT (To)])",
		"a STORE 1:* +FLAGS (\\Deleted $x)\r\nb EXPUNGE",
		"a SEARCH OR (FROM x) NOT BODY y MODSEQ 1",
		"a UID SEARCH RETURN (MIN MAX ALL COUNT SAVE) UNDELETED\r\nb FETCH $ UID",
		"a APPEND INBOX (\\Seen) {5+}\r\nhello\r\nb NOOP",
		"a APPEND INBOX {3}\r\nabc",
		"a LIST (SUBSCRIBED RECURSIVEMATCH) \"\" * RETURN (CHILDREN STATUS (MESSAGES SIZE))",
		"a CREATE x.y\r\nb RENAME x z\r\nc DELETE z.y\r\nd LSUB \"\" %",
		"a ENABLE QRESYNC\r\nb SELECT INBOX (QRESYNC (1 1 1:5))\r\nc UID FETCH 1:* FLAGS (CHANGEDSINCE 1 VANISHED)",
		"a IDLE\r\nDONE",
		"a UID MOVE 1 Trash\r\nb COPY 1:* Junk\r\nc UID EXPUNGE 1:*",
		"a GETQUOTAROOT INBOX\r\nb STATUS INBOX (MESSAGES HIGHESTMODSEQ)",
		"a ENABLE UTF8=ACCEPT IMAP4rev2\r\nb CREATE \"Größe\"\r\nc LIST \"\" *",
		"a CLOSE\r\nb UNSELECT\r\nc EXAMINE Trash",
		"a UID FETCH 1:* (RFC822.SIZE BODY.PEEK[HEADER.FIELDS (From SUBJECT)]<0.5> BODY[HEADER.FIELDS (Received)])\r\nb SEARCH SENTSINCE 1-Jan-2020 CC x",
		"a SORT (REVERSE ARRIVAL SUBJECT DISPLAYTO) UTF-8 ALL\r\nb UID SORT RETURN (MIN MAX ALL COUNT SAVE) (SIZE) UTF-8 BODY x",
		"a FETCH 1:* (PREVIEW (LAZY) UID)\r\nb APPEND INBOX ~{3}\r\na\x00b",
		"a APPEND INBOX (\\Seen) {3+}\r\nabc {2+}\r\nde\r\nb APPEND INBOX {1+}\r\nx (",
		"a COMPRESS DEFLATE\r\nb NOOP",
		// After COMPRESS the rest is raw deflate: commands ending in a
		// partial flush and in a sync flush, and garbage.
		"a COMPRESS DEFLATE\r\nJR\xf0\xf3\xf7\x0f\xe0\xe5JVps\rq\xf6P0\xb4\xd2R\xd0p\xf3qt\x0f\xd6\xe4\xe5\x02\x08",
		"a COMPRESS DEFLATE\r\nJR\xf0t\xf1q\xe5\xe5r\xf1\xf7\x03\x92\x00\x00\x00\x00\xff\xff",
		"a COMPRESS DEFLATE\r\n\xff\xfe\x00\x05\x00\xfa\xffhello",
		"a UID FETCH 1:* (SAVEDATE)\r\nb SEARCH OR SAVEDBEFORE 1-Jan-2024 SAVEDATESUPPORTED NOT SAVEDON 2-Feb-2020",
		"a SETACL INBOX bob@example.org +lrs\r\nb GETACL INBOX\r\nc MYRIGHTS \"Other Users/bob@example.org/INBOX\"\r\nd LISTRIGHTS INBOX anyone\r\ne DELETEACL INBOX -anyone",
		"a LIST \"\" \"Other Users/*\" RETURN (STATUS (MESSAGES))\r\nb SELECT Shared/x\r\nc CREATE \"Other Users/bob@example.org/x\"\r\nd NAMESPACE\r\ne COPY 1 Shared/y",
		"a CREATE o\r\nb STATUS o (MAILBOXID)\r\nc UID FETCH 1:* (EMAILID THREADID)\r\nd SEARCH OR EMAILID Mx THREADID T-1\r\ne MOVE 1 o\r\nf LIST \"\" o RETURN (STATUS (MAILBOXID))",
		"a APPEND Drafts (\\Seen) CATENATE (URL \"/INBOX/;UID=1/;SECTION=1.MIME\" TEXT {3+}\r\nabc URL \";UID=2/;SECTION=HEADER.FIELDS%20(To)/;PARTIAL=1.2\")",
		"a APPEND INBOX CATENATE (URL /INBOX/;UID=1 TEXT ~{2+}\r\n\x00x) (\\Seen) {1+}\r\ny CATENATE (URL x TEXT {1}\r\nb NOOP",
		"a APPEND INBOX CATENATE (URL \"imap://alice%40example.org@localhost/INBOX;UIDVALIDITY=1/;UID=1\" TEXT {99999999+}\r\n",
		"a ENABLE UIDONLY\r\nb UID FETCH 1:* (UID FLAGS)\r\nc FETCH 1 FLAGS\r\nd UID SEARCH OR 1 UID 2\r\ne UID STORE 1 +FLAGS (\\Deleted)\r\nf EXPUNGE",
		"a UNSELECT\r\nb ENABLE UIDONLY QRESYNC\r\nc SELECT INBOX (QRESYNC (1 1 1:3 (1 1)))\r\nd UID SORT (DATE) UTF-8 $\r\ne MOVE 1 Trash",
		"a SETMETADATA INBOX (/private/comment {3+}\r\nabc /shared/vendor/x ~{2+}\r\n\x00\x01 /shared/y NIL)\r\nb GETMETADATA (MAXSIZE 2 DEPTH infinity) INBOX (/private /shared)\r\nc SETMETADATA \"\" (/private/a \"1\")\r\nd GETMETADATA \"\" /shared/admin\r\ne SETMETADATA INBOX (/private/big {70000}",
		"a COMPRESS X-LZ4",
		"a GENURLAUTH \"imap://alice%40example.org@127.0.0.1/INBOX/;UID=1/;SECTION=1;URLAUTH=anonymous\" INTERNAL\r\nb URLFETCH \"imap://alice%40example.org@127.0.0.1/INBOX/;UID=1;URLAUTH=authuser:internal:00112233445566778899aabbccddeeff\" x\r\nc RESETKEY INBOX INTERNAL\r\nd RESETKEY",
		"a THREAD REFERENCES UTF-8 ALL\r\nb UID THREAD ORDEREDSUBJECT US-ASCII NOT SEEN\r\nc SEARCH RETURN (PARTIAL -5:-1) ALL",
		"a NOTIFY SET STATUS (selected (MessageNew (UID BODY.PEEK[HEADER.FIELDS (From)]) MessageExpunge FlagChange)) (subtree Lists (MessageNew MessageExpunge)) (mailboxes (misc \"Other Users/bob@example.org/x\") (MailboxName))\r\nb APPEND INBOX {1+}\r\nx\r\nc IDLE\r\nDONE\r\nd NOTIFY NONE",
		"a NOTIFY SET (selected-delayed (MessageNew MessageExpunge)) (personal (MessageNew MessageExpunge SubscriptionChange AnnotationChange))\r\nb NOTIFY SET (inboxes NONE) (subscribed (MailboxName))\r\nc SUBSCRIBE INBOX",
		"a NOTIFY SET (personal (MailboxMetadataChange ServerMetadataChange)) (mailboxes \"Other Users/bob@example.org/x\" (MailboxMetadataChange))\r\nb SETMETADATA INBOX (/shared/comment \"x\" /private/y NIL)\r\nc SETMETADATA \"\" (/private/vendor/z {1+}\r\nz)\r\nd NOOP",
		"a UID SEARCH RETURN (UPDATE (UID FLAGS) CONTEXT COUNT) UNSEEN\r\nb STORE 1:* +FLAGS (\\Seen)\r\nc SORT RETURN (UPDATE PARTIAL 1:2) (REVERSE SIZE) UTF-8 ALL\r\nd CANCELUPDATE \"a\" \"c\"\r\ne UID SEARCH RETURN (UPDATE) ALL\r\ne UID SEARCH RETURN (UPDATE) ALL",
	}
	for _, s := range seeds {
		f.Add(s)
	}
	h := start(f, nil)
	for i := 0; i < 3; i++ {
		h.deliver(f, "alice@example.org", "INBOX", testMessage(i))
	}
	h.deliver(f, "alice@example.org", "INBOX", mimeMessage)
	f.Fuzz(func(t *testing.T, input string) {
		if len(input) > 4096 {
			return
		}
		conn, err := net.Dial("tcp", h.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(20 * time.Second))
		io.WriteString(conn, "l LOGIN alice@example.org secret\r\ns SELECT INBOX\r\n"+input+"\r\nDONE\r\nz LOGOUT\r\n")
		conn.(*net.TCPConn).CloseWrite()
		if _, err := io.Copy(io.Discard, conn); err != nil {
			t.Fatalf("session did not end: %v", err)
		}
		if strings.Contains(h.logs.String(), "panic") {
			t.Fatalf("panic:\n%s", h.logs.String())
		}
	})
}
