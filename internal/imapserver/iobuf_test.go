package imapserver

import (
	"bufio"
	"crypto/tls"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestParkedBuffersSplitInput: a session waiting for the client holds no
// buffers and waits for one byte (iobuf.go); commands, an IDLE's DONE and
// an APPEND literal whose first bytes arrive alone, then the rest, are
// read whole, in plain text and over STARTTLS, in both IMAP4rev1 and
// with pipelined commands behind them.
func TestParkedBuffersSplitInput(t *testing.T) {
	for _, useTLS := range []bool{false, true} {
		name := "plain"
		if useTLS {
			name = "starttls"
		}
		t.Run(name, func(t *testing.T) {
			h := start(t, nil)
			c := h.dial(t)
			if useTLS {
				c.expect("STARTTLS", "OK Begin TLS negotiation now.")
				tc := tls.Client(c.conn, h.clientTLS)
				if err := tc.Handshake(); err != nil {
					t.Fatal(err)
				}
				tc.SetDeadline(time.Now().Add(30 * time.Second))
				c.conn, c.br = tc, bufio.NewReader(tc)
			}
			c.ok("LOGIN alice@example.org " + testPass)
			// Each piece is written alone, with a pause: the server
			// parks its buffers before the first and wakes on it.
			split := func(parts ...string) {
				t.Helper()
				for _, p := range parts {
					if _, err := io.WriteString(c.conn, p); err != nil {
						t.Fatal(err)
					}
					time.Sleep(30 * time.Millisecond)
				}
			}
			split("a", "1 SELECT INBOX\r\n")
			if u, tagged := c.until("a1"); !strings.HasPrefix(tagged, "OK") || !containsLine(u, "* 0 EXISTS") {
				t.Fatalf("SELECT: %q %q", u, tagged)
			}
			msg := testMessage(1)
			split("a", "2 APPEND INBOX {"+strconv.Itoa(len(msg))+"+}\r\n"+msg[:10], msg[10:]+"\r\n")
			if _, tagged := c.until("a2"); !strings.HasPrefix(tagged, "OK") {
				t.Fatalf("APPEND: %q", tagged)
			}
			split("a3 IDLE\r\n")
			if l := c.line(); l != "+ idling" {
				t.Fatalf("IDLE: %q", l)
			}
			h.deliver(t, "alice@example.org", "INBOX", testMessage(2))
			if l := c.line(); l != "* 2 EXISTS" {
				t.Fatalf("IDLE update: %q", l)
			}
			// DONE in two pieces, and a command pipelined behind it.
			split("D", "ONE\r\na4 FETCH 1:* (UID)\r\n")
			if _, tagged := c.until("a3"); tagged != "OK Idle completed." {
				t.Fatalf("IDLE: %q", tagged)
			}
			if u, tagged := c.until("a4"); tagged != "OK Fetch completed." || !containsLine(u, "* 2 FETCH (UID 2)") {
				t.Fatalf("FETCH after IDLE: %q %q", u, tagged)
			}
			c.expect("NOOP", "OK Noop completed.")
		})
	}
}
