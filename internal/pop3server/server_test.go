package pop3server

import (
	"context"
	"errors"
	"mailwarden/internal/testutil"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"mailwarden/internal/config"
)

func TestConnectionLimits(t *testing.T) {
	for _, tc := range []struct {
		name string
		mod  func(*config.Config)
	}{
		{"per IP", func(c *config.Config) { c.POP3.MaxConnectionsPerIP = 2 }},
		{"total", func(c *config.Config) { c.POP3.MaxConnections, c.POP3.ReservedConnections = 2, 0 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := start(t, tc.mod)
			a := h.dial(t, nil)
			h.dial(t, nil)
			conn, err := net.Dial("tcp", h.addr)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			c := &client{t: t, conn: conn}
			c.r = newReader(conn)
			if got := c.line(); got != "-ERR [SYS/TEMP] Too many connections, try again later." {
				t.Fatalf("third connection: %q", got)
			}
			c.closed()
			// A slot frees when a session ends.
			a.expect("QUIT", "+OK")
			a.closed()
			h.waitLog(t, "pop3-login: Disconnected: Logged out")
			h.dial(t, nil)
		})
	}
}

func TestSessionLimits(t *testing.T) {
	for _, tc := range []struct {
		name  string
		send  string
		reply string
		log   string
	}{
		{"line too long", strings.Repeat("X", 2000) + "\r\n", "-ERR Line too long.", "Disconnected: Line too long (no auth attempts"},
		{"too many bad commands", strings.Repeat("BAD\r\n", maxBadCommands), "-ERR Too many bad commands.", "Disconnected: Too many bad commands"},
		{"inactivity", "", "-ERR Disconnected for inactivity.", "Disconnected: Inactivity"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := start(t, func(c *config.Config) { c.POP3.Timeout = config.Duration(300 * time.Millisecond) })
			c := h.dial(t, nil)
			c.send(tc.send)
			var got string
			for {
				got = c.line()
				if got != "-ERR Unknown command." {
					break
				}
			}
			if got != tc.reply {
				t.Fatalf("got %q, want %q", got, tc.reply)
			}
			c.closed()
			h.waitLog(t, tc.log)
		})
	}
}

func TestLongAuthResponseAllowed(t *testing.T) {
	h := start(t, nil)
	c := h.dial(t, nil)
	c.stls(h.clientTLS)
	c.expect("AUTH PLAIN", "+ ")
	// Longer than a command line may be, within RFC 5034's allowance.
	c.expect(b64("\x00alice@example.org\x00"+strings.Repeat("p", 1000)), "-ERR [AUTH] Authentication failed.")
}

func TestPipelining(t *testing.T) {
	h := start(t, nil)
	h.store.add("alice@example.org", msg1, msg2)
	c := h.login(t, "alice@example.org")
	c.send("STAT\r\nLIST 1\r\nRETR 2\r\nNOOP\r\n")
	c.line()
	c.line()
	if got := c.line(); !strings.HasPrefix(got, "+OK") {
		t.Fatalf("RETR %q", got)
	}
	c.multi()
	if got := c.line(); got != "+OK" {
		t.Fatalf("NOOP %q", got)
	}
}

func TestShutdown(t *testing.T) {
	h := start(t, nil)
	h.store.add("alice@example.org", msg1)
	c := h.login(t, "alice@example.org")
	c.expect("DELE 1", "+OK")
	idle := h.dial(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := h.srv.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	for _, cl := range []*client{c, idle} {
		if got := cl.line(); got != "-ERR Server shutting down." {
			t.Fatalf("got %q", got)
		}
		cl.closed()
	}
	if err := <-h.done; err != nil {
		t.Fatalf("Serve: %v", err)
	}
	h.done <- nil
	if _, expunged := h.store.calls("alice@example.org"); len(expunged) != 0 {
		t.Fatalf("shutdown applied deletions: %v", expunged)
	}
	h.waitLog(t, "pop3(alice@example.org): Disconnected: Server shutting down top=0/0, retr=0/0, del=0/1")
	if _, err := net.Dial("tcp", h.addr); err == nil {
		t.Fatal("still accepting")
	}
	if err := h.srv.Serve(newListener(t)); !errors.Is(err, ErrServerClosed) {
		t.Fatalf("Serve after Shutdown: %v", err)
	}
}

func TestShutdownForced(t *testing.T) {
	h := start(t, nil)
	big := "Subject: big\r\n\r\n" + strings.Repeat(strings.Repeat("x", 998)+"\r\n", 16<<10)
	h.store.add("alice@example.org", big)
	c := h.login(t, "alice@example.org")
	c.send("RETR 1\r\n") // and never read: the session blocks writing
	h.waitLog(t, "pop3-login: Login:")
	time.Sleep(50 * time.Millisecond) // let it fill the socket buffers (not asserted)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	err := h.srv.Shutdown(ctx)
	if err != nil && !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown: %v", err)
	}
	h.waitLog(t, "pop3(alice@example.org): Disconnected: ")
}

func TestImplicitTLSHandshakeFailure(t *testing.T) {
	h := start(t, nil, func(o *Options) { o.Implicit = true })
	conn, err := net.Dial("tcp", h.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.Write([]byte("USER alice@example.org\r\n"))
	h.waitLog(t, "pop3-login: Disconnected: TLS handshaking failed")
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
		{"per network", func(c *config.Config) { c.POP3.MaxConnectionsPerNetwork = 20 }, [3]bool{false, true, true}},
		{"reserve", func(c *config.Config) { c.POP3.MaxConnections, c.POP3.ReservedConnections = 25, 5 }, [3]bool{false, false, true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := start(t, func(c *config.Config) {
				c.Networks = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
				tc.mod(c)
			})
			testutil.ConnectionClasses(t, h.addr, "+OK", tc.want)
		})
	}
}
