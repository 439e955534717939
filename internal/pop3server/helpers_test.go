package pop3server

import (
	"bufio"
	"context"
	"crypto/tls"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"mailwarden/internal/auth/login"
	"mailwarden/internal/config"
	"mailwarden/internal/mlog"
	"mailwarden/internal/testutil"
)

type harness struct {
	srv       *Server
	addr      string
	store     *fakeStore
	dir       *testutil.Dir
	auth      *login.Authenticator
	logs      *testutil.Buffer
	clientTLS *tls.Config
	caFile    string
	cfg       atomic.Pointer[config.Config]
	done      chan error
}

func testConfig() *config.Config {
	cfg := config.Default()
	cfg.Auth.FailureDelay = config.Duration(time.Millisecond)
	cfg.Auth.MaxFailures = 1000
	cfg.POP3.Timeout = config.Duration(10 * time.Second)
	return cfg
}

// start runs a Server on 127.0.0.1 with users alice@example.org and
// bob@example.org (password "secret").
func start(t testing.TB, mod func(*config.Config), opts ...func(*Options)) *harness {
	t.Helper()
	cfg := testConfig()
	if mod != nil {
		mod(cfg)
	}
	h := &harness{store: newFakeStore(), dir: newFakeDir(t, "alice@example.org", "bob@example.org"), logs: &testutil.Buffer{}}
	h.cfg.Store(cfg)
	bus, log := mlog.New(h.logs, "mx", slog.LevelDebug)
	h.auth = login.New(h.dir, h.cfg.Load, mlog.Component(log, "auth"))
	var serverTLS *tls.Config
	serverTLS, h.clientTLS, h.caFile = testutil.LocalTLS(t)
	o := Options{Config: h.cfg.Load, Auth: h.auth, Store: h.store, TLS: serverTLS, Events: bus, Logger: mlog.Component(log, "pop3")}
	for _, f := range opts {
		f(&o)
	}
	h.srv = New(o)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h.addr = l.Addr().String()
	h.done = make(chan error, 1)
	go func() { h.done <- h.srv.Serve(l) }()
	t.Cleanup(func() { h.shutdown(t) })
	return h
}

func (h *harness) shutdown(t testing.TB) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := h.srv.Shutdown(ctx); err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	if err := <-h.done; err != nil {
		t.Errorf("Serve: %v", err)
	}
	h.done <- nil // a second shutdown finds it too
}

// waitLog waits for a log line containing want.
func (h *harness) waitLog(t testing.TB, want string) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if strings.Contains(h.logs.String(), want) {
			return
		}
	}
	t.Fatalf("log has no %q:\n%s", want, h.logs.String())
}

// client speaks raw POP3 and sees every reply as sent.
type client struct {
	t    testing.TB
	conn net.Conn
	r    *bufio.Reader
}

// dial connects and reads the greeting (after the handshake when tlsConf
// is set: implicit TLS).
func (h *harness) dial(t testing.TB, tlsConf *tls.Config) *client {
	t.Helper()
	var conn net.Conn
	var err error
	if tlsConf != nil {
		conn, err = tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", h.addr, tlsConf)
	} else {
		conn, err = net.DialTimeout("tcp", h.addr, 5*time.Second)
	}
	if err != nil {
		t.Fatal(err)
	}
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	t.Cleanup(func() { conn.Close() })
	c := &client{t: t, conn: conn, r: bufio.NewReader(conn)}
	if g := c.line(); g != "+OK Mailwarden ready." {
		t.Fatalf("greeting %q", g)
	}
	return c
}

// line reads one line without its CRLF; it fails the test on a bare LF.
func (c *client) line() string {
	c.t.Helper()
	l, err := c.r.ReadString('\n')
	if err != nil {
		c.t.Fatalf("read: %v (got %q)", err, l)
	}
	if !strings.HasSuffix(l, "\r\n") {
		c.t.Fatalf("line %q does not end in CRLF", l)
	}
	return strings.TrimSuffix(l, "\r\n")
}

// send writes raw text.
func (c *client) send(s string) {
	c.t.Helper()
	if _, err := io.WriteString(c.conn, s); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// cmd sends line and returns the one-line reply.
func (c *client) cmd(line string) string {
	c.t.Helper()
	c.send(line + "\r\n")
	return c.line()
}

// multi reads the body of a multi-line reply, un-stuffed, each line
// followed by "\n".
func (c *client) multi() string {
	c.t.Helper()
	var b strings.Builder
	for {
		l := c.line()
		if l == "." {
			return b.String()
		}
		b.WriteString(strings.TrimPrefix(l, ".") + "\n")
	}
}

// expect sends line and checks the reply starts with prefix.
func (c *client) expect(line, prefix string) string {
	c.t.Helper()
	r := c.cmd(line)
	if !strings.HasPrefix(r, prefix) {
		c.t.Fatalf("%q: got %q, want %q...", line, r, prefix)
	}
	return r
}

// stls upgrades the connection.
func (c *client) stls(conf *tls.Config) {
	c.t.Helper()
	c.expect("STLS", "+OK")
	tc := tls.Client(c.conn, conf)
	if err := tc.Handshake(); err != nil {
		c.t.Fatalf("handshake: %v", err)
	}
	c.conn, c.r = tc, bufio.NewReader(tc)
}

// login logs in with USER/PASS over STLS.
func (h *harness) login(t testing.TB, user string) *client {
	t.Helper()
	c := h.dial(t, nil)
	c.stls(h.clientTLS)
	c.expect("USER "+user, "+OK")
	c.expect("PASS secret", "+OK Logged in.")
	return c
}

// closed checks that the server has closed the connection.
func (c *client) closed() {
	c.t.Helper()
	if l, err := c.r.ReadString('\n'); err == nil {
		c.t.Fatalf("connection still open, got %q", l)
	}
}

var loopback = netip.MustParseAddr("127.0.0.1")

func newReader(c net.Conn) *bufio.Reader { return bufio.NewReader(c) }

func newListener(t testing.TB) net.Listener {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// mpid is the ", mpid=N" of Login lines: the server runs in this process.
var mpid = ", mpid=" + strconv.Itoa(os.Getpid())
