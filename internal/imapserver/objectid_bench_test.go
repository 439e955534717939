package imapserver

import (
	"bufio"
	"net"
	"testing"
	"time"
)

// BenchmarkObjectID times what OBJECTID and METADATA add over a
// 10,000-message INBOX: FETCH EMAILID beside FETCH RFC822.SIZE (both
// read the index rows), SEARCH EMAILID beside SEARCH LARGER, STATUS with
// and without MAILBOXID, and one SETMETADATA and GETMETADATA.
//
//	go test -run '^$' -bench ObjectID -benchtime 20x ./internal/imapserver/
func BenchmarkObjectID(b *testing.B) {
	const msgs = 10000
	h := start(b, nil)
	h.importMessages(b, msgs, testMessage)
	conn, err := net.Dial("tcp", h.addr)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Minute))
	br := bufio.NewReaderSize(conn, 64<<10)
	if _, err := br.ReadSlice('\n'); err != nil {
		b.Fatal(err)
	}
	rawCmd(b, conn, br, "a", "LOGIN alice@example.org "+testPass)
	rawCmd(b, conn, br, "b", "SELECT INBOX")
	for _, cmd := range []string{
		"FETCH 1:* (RFC822.SIZE)",
		"FETCH 1:* (EMAILID)",
		"SEARCH LARGER 1",
		"SEARCH EMAILID Mnone",
		"SELECT INBOX",
		"STATUS INBOX (MESSAGES UIDNEXT)",
		"STATUS INBOX (MESSAGES UIDNEXT MAILBOXID)",
		`SETMETADATA INBOX (/private/comment "hello")`,
		"GETMETADATA INBOX (/private/comment /shared/comment)",
	} {
		b.Run(cmd, func(b *testing.B) {
			for b.Loop() {
				rawCmd(b, conn, br, "s", cmd)
			}
		})
	}
}
