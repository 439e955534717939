package smtpserver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"net/textproto"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"mailwarden/internal/config"
	"mailwarden/internal/delivery"
	"mailwarden/internal/directory"
	"mailwarden/internal/envelope"
	"mailwarden/internal/mlog"
	"mailwarden/internal/testutil"
)

// fakeDir classifies domains like the real directory (through
// directory.Split) from a fixed table.
type fakeDir struct {
	mu      sync.Mutex
	domains map[string]directory.DomainClass
	users   map[string]directory.Destination
	fail    error
}

func newFakeDir() *fakeDir {
	local := func(u string) directory.Destination {
		return directory.Destination{Kind: directory.Local, Address: u, Mailbox: directory.Mailbox{Username: u, Active: true}}
	}
	return &fakeDir{
		domains: map[string]directory.DomainClass{
			"example.org":    directory.Virtual,
			"backup.example": directory.BackupMX,
		},
		users: map[string]directory.Destination{
			"alice@example.org": local("alice@example.org"),
			"bob@example.org":   local("bob@example.org"),
			"full@example.org":  local("full@example.org"),
			"fwd@example.org":   {Kind: directory.Remote, Address: "someone@elsewhere.example"},
		},
	}
}

func (f *fakeDir) Resolve(_ context.Context, addr, delims string) (directory.Resolution, error) {
	local, domain, err := directory.Split(addr)
	if err != nil {
		return directory.Resolution{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return directory.Resolution{}, f.fail
	}
	class, ok := f.domains[domain]
	switch {
	case !ok:
		return directory.Resolution{Class: directory.Foreign, Destinations: []directory.Destination{{Kind: directory.Remote, Address: local + "@" + domain}}}, nil
	case class == directory.BackupMX:
		return directory.Resolution{Class: class, Destinations: []directory.Destination{{Kind: directory.Relay, Address: local + "@" + domain}}}, nil
	}
	d, ok := f.users[strings.ToLower(directory.StripExtension(local, delims))+"@"+domain]
	if !ok {
		return directory.Resolution{Class: class}, fmt.Errorf("<%s>: %w", addr, directory.ErrUnknownUser)
	}
	return directory.Resolution{Class: class, Destinations: []directory.Destination{d}}, nil
}

type delivered struct {
	env   envelope.Envelope
	trace string
	body  string
	rcpts []delivery.Routed
}

type fakeDeliverer struct {
	mu    sync.Mutex
	full  map[string]bool
	err   error
	msgs  []delivered
	calls int
	// discard: read the body and keep nothing (benchmarks)
	discard bool
}

func (f *fakeDeliverer) CheckQuota(_ context.Context, m directory.Mailbox, size int64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.full[m.Username] || m.Username == "full@example.org" {
		return fmt.Errorf("%s: %w", m.Username, delivery.ErrOverQuota)
	}
	return nil
}

func (f *fakeDeliverer) Deliver(_ context.Context, msg *delivery.Message) error {
	if f.discard {
		_, err := io.Copy(io.Discard, msg.Body.Reader())
		return err
	}
	body, err := io.ReadAll(msg.Body.Reader())
	if err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.err != nil {
		return f.err
	}
	if bytes.Contains(body, []byte("FAILME")) {
		return errors.New("disk on fire")
	}
	f.msgs = append(f.msgs, delivered{env: *msg.Env, trace: string(msg.Trace), body: string(body), rcpts: msg.Rcpts})
	return nil
}

func (f *fakeDeliverer) delivered() []delivered {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]delivered(nil), f.msgs...)
}

func testConfig() *config.Config {
	cfg := config.Default()
	cfg.Hostname = "mx.test.example"
	cfg.SMTP.Banner = "$hostname ESMTP Mailwarden-test"
	cfg.MyNetworks = []string{"10.0.0.0/8"}
	cfg.Networks = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	cfg.SMTP.MessageSizeLimit = 64 << 10
	cfg.SMTP.Timeout = config.Duration(10 * time.Second)
	return cfg
}

type harness struct {
	srv  *Server
	addr string
	dir  *fakeDir
	del  *fakeDeliverer
	logs *testutil.Buffer
	cfg  atomic.Pointer[config.Config]
}

func start(t testing.TB, mod func(*config.Config), opts ...func(*Options)) *harness {
	t.Helper()
	cfg := testConfig()
	if mod != nil {
		mod(cfg)
	}
	h := &harness{dir: newFakeDir(), del: &fakeDeliverer{}, logs: &testutil.Buffer{}}
	h.cfg.Store(cfg)
	bus, lg := mlog.New(h.logs, "mx", slog.LevelDebug)
	o := Options{
		Config: h.cfg.Load, Resolver: h.dir, Deliverer: h.del, Events: bus,
		Logger:   mlog.Component(lg, "smtpd"),
		SpoolDir: t.TempDir(),
	}
	for _, f := range opts {
		f(&o)
	}
	h.srv = New(o)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h.addr = l.Addr().String()
	done := make(chan error, 1)
	go func() { done <- h.srv.Serve(l) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		h.srv.Shutdown(ctx)
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return h
}

// waitLog waits for a log line containing want.
func (h *harness) waitLog(t testing.TB, want string) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if strings.Contains(h.logs.String(), want) {
			return
		}
	}
	t.Fatalf("log has no %q:\n%s", want, h.logs.String())
}

// client is a raw SMTP client: it sees every reply as sent.
type client struct {
	t    testing.TB
	conn net.Conn
	tp   *textproto.Conn
}

func dial(t testing.TB, addr string) *client {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	t.Cleanup(func() { conn.Close() })
	return &client{t: t, conn: conn, tp: textproto.NewConn(conn)}
}

// greet dials, reads the banner and says EHLO.
func greet(t testing.TB, addr string) *client {
	t.Helper()
	c := dial(t, addr)
	c.expect("", "220 ")
	c.expect("EHLO client.example", "250")
	return c
}

// reply reads one reply, its lines joined by "\n".
func (c *client) reply() string {
	c.t.Helper()
	var lines []string
	for {
		line, err := c.tp.ReadLine()
		if err != nil {
			c.t.Fatalf("read reply after %q: %v", lines, err)
		}
		lines = append(lines, line)
		if len(line) < 4 || line[3] != '-' {
			return strings.Join(lines, "\n")
		}
	}
}

// expect sends line (unless empty) and checks the reply's start.
func (c *client) expect(line, prefix string) string {
	c.t.Helper()
	if line != "" {
		if err := c.tp.PrintfLine("%s", line); err != nil {
			c.t.Fatal(err)
		}
	}
	r := c.reply()
	if !strings.HasPrefix(r, prefix) {
		c.t.Fatalf("%q: got %q, want %q...", line, r, prefix)
	}
	return r
}

func (c *client) write(s string) {
	c.t.Helper()
	if _, err := io.WriteString(c.conn, s); err != nil {
		c.t.Fatal(err)
	}
}

// rest reads until the server closes, and returns what it sent.
func (c *client) rest() string {
	c.t.Helper()
	b, err := io.ReadAll(c.tp.R)
	if err != nil && !errors.Is(err, net.ErrClosed) && !isReset(err) {
		c.t.Fatalf("reading to EOF: %v (got %q)", err, b)
	}
	return string(b)
}

func isReset(err error) bool { return strings.Contains(err.Error(), "connection reset") }

// send runs one transaction and returns the final reply.
func (c *client) send(from string, rcpts []string, body string) string {
	c.t.Helper()
	c.expect("MAIL FROM:<"+from+">", "250")
	for _, r := range rcpts {
		c.expect("RCPT TO:<"+r+">", "250")
	}
	c.expect("DATA", "354")
	c.write(body + ".\r\n")
	return c.reply()
}

const simpleBody = "From: s@sender.example\r\nTo: alice@example.org\r\nSubject: hi\r\n\r\nhello\r\n"
