package imapserver

import (
	"bufio"
	"mailwarden/internal/testutil"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"mailwarden/internal/config"
)

func TestConnectionLimits(t *testing.T) {
	tests := []struct {
		name string
		mod  func(*config.Config)
	}{
		{"per ip", func(c *config.Config) { c.IMAP.MaxConnectionsPerIP = 1 }},
		{"total", func(c *config.Config) { c.IMAP.MaxConnections = 1 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := start(t, tt.mod)
			c := h.dial(t)
			conn, err := net.Dial("tcp", h.addr)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(5 * time.Second))
			l, _ := bufio.NewReader(conn).ReadString('\n')
			if l != "* BYE [UNAVAILABLE] Too many connections, try again later.\r\n" {
				t.Fatalf("got %q", l)
			}
			h.waitLog(t, "imap-login: Disconnected: Too many connections: rip=127.0.0.1")
			c.ok("NOOP") // the first one is still served
		})
	}
}

func TestLineTooLong(t *testing.T) {
	h := start(t, func(c *config.Config) { c.IMAP.MaxLineLength = 1000 })
	c := h.login(t, "alice@example.org")
	c.send("a1 LIST \"\" " + strings.Repeat("x", 2000))
	if l := c.line(); !strings.HasPrefix(l, "a1 BAD ") {
		t.Fatalf("got %q", l)
	}
	if l := c.line(); l != "* BYE Can't resynchronize with the client, closing the connection." {
		t.Fatalf("got %q", l)
	}
}

func TestLiteralPlusAppendRefused(t *testing.T) {
	h := start(t, nil)
	c := h.login(t, "alice@example.org")
	// A refused non-synchronizing literal is skipped; the session goes on.
	c.send("a1 APPEND Nowhere {5+}")
	c.send("hello")
	if _, tagged := c.until("a1"); tagged != "NO [TRYCREATE] Mailbox doesn't exist." {
		t.Fatalf("got %q", tagged)
	}
	c.ok("NOOP")
}

// TestConnectionClasses: per-network caps and the reserve for mynetworks
// (127.0.0.1/32 here): strangers from 127.0.0.2-.14 fill what is theirs,
// and a client from mynetworks still gets in.
func TestConnectionClasses(t *testing.T) {
	for _, tc := range []struct {
		name string
		mod  func(*config.Config)
		// for 127.0.0.99 (same /24 as the flood), 127.0.1.99 (another
		// /24) and 127.0.0.1 (mynetworks)
		want [3]bool
	}{
		{"per network", func(c *config.Config) { c.IMAP.MaxConnectionsPerNetwork = 20 }, [3]bool{false, true, true}},
		{"reserve", func(c *config.Config) { c.IMAP.MaxConnections, c.IMAP.ReservedConnections = 25, 5 }, [3]bool{false, false, true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := start(t, func(c *config.Config) {
				c.Networks = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
				tc.mod(c)
			})
			testutil.ConnectionClasses(t, h.addr, "* OK ", tc.want)
		})
	}
}
