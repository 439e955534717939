package imapserver

import (
	"bufio"
	"fmt"
	"net"
	"testing"
	"time"
)

// sortMessage makes varied messages for SORT and THREAD: subjects with
// reply prefixes and list tags, a few hundred senders, dates over two
// years, threads of up to five messages.
func sortMessage(i int) string {
	prefix := []string{"", "Re: ", "RE: [list] ", "Fwd: ", "Re: Re: "}[i%5]
	refs := ""
	if i%5 != 0 {
		refs = fmt.Sprintf("References: <%d@bench.test>\r\n", i-i%5)
	}
	date := time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i*7919%(730*24)) * time.Hour)
	return fmt.Sprintf("From: User %d <user%d@example.org>\r\nTo: bob@example.org\r\nSubject: %stopic %d\r\n"+
		"Date: %s\r\nMessage-ID: <%d@bench.test>\r\n%s\r\nbody %d\r\n",
		i*31%397, i*31%397, prefix, i/5%1500, date.Format(time.RFC1123Z), i, refs, i)
}

// BenchmarkSort times SORT and THREAD over a 10,000-message INBOX, read
// from the header cache, as webmail sends them for its message list.
//
//	go test -run '^$' -bench Sort -benchtime 10x ./internal/imapserver/
func BenchmarkSort(b *testing.B) {
	const msgs = 10000
	h := start(b, nil)
	h.importMessages(b, msgs, sortMessage)
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
	// The first FETCH of each message makes its header cache (import
	// writes none); webmail has listed the folder before it sorts it.
	rawCmd(b, conn, br, "c", "FETCH 1:* ENVELOPE")
	for _, cmd := range []string{
		"UID SORT (REVERSE DATE) UTF-8 ALL",
		"UID SORT (SUBJECT) UTF-8 ALL",
		"UID SORT (REVERSE ARRIVAL) UTF-8 ALL",
		"UID SORT (DISPLAYFROM) UTF-8 UNSEEN",
		"UID THREAD REFERENCES UTF-8 ALL",
		"UID THREAD ORDEREDSUBJECT UTF-8 ALL",
	} {
		b.Run(cmd, func(b *testing.B) {
			for b.Loop() {
				rawCmd(b, conn, br, "s", cmd)
			}
		})
	}
}
