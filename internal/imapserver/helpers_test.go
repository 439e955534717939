package imapserver

import (
	"bufio"
	"context"
	"crypto/tls"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"mailwarden/internal/auth/login"
	"mailwarden/internal/auth/password"
	"mailwarden/internal/config"
	"mailwarden/internal/directory"
	"mailwarden/internal/mlog"
	"mailwarden/internal/sqldb"
	"mailwarden/internal/store"
	"mailwarden/internal/testutil"
)

type memBody string

func (b memBody) Reader() io.Reader { return strings.NewReader(string(b)) }
func (b memBody) Size() int64       { return int64(len(b)) }

type harness struct {
	srv       *Server
	addr      string
	store     *store.Store
	db        *sqldb.DB
	dir       *directory.Directory
	logs      *testutil.Buffer
	clientTLS *tls.Config
	caFile    string
	cfg       atomic.Pointer[config.Config]
	done      chan error
}

const testPass = testutil.Secret

var (
	scramOnce   sync.Once
	scramSecret password.SCRAMKeys
)

// scramKeys are SCRAM-SHA-256 keys of testPass, made once.
func scramKeys(t testing.TB) password.SCRAMKeys {
	scramOnce.Do(func() {
		var err error
		if scramSecret, err = password.NewSCRAMKeys(testPass, 4096); err != nil {
			panic(err)
		}
	})
	return scramSecret
}

func testConfig() *config.Config {
	cfg := config.Default()
	cfg.Auth.FailureDelay = config.Duration(time.Millisecond)
	cfg.Auth.MaxFailures = 1000
	cfg.Auth.AllowPlaintextLoopback = true
	cfg.IMAP.IdleTimeout = config.Duration(20 * time.Second)
	return cfg
}

// start runs a Server on 127.0.0.1 with a real store and the mailboxes
// alice@example.org (no quota) and bob@example.org (quota 1 MiB), both
// with password "secret".
func start(t testing.TB, mod func(*config.Config), opts ...func(*Options)) *harness {
	t.Helper()
	ctx := context.Background()
	cfg := testConfig()
	if mod != nil {
		mod(cfg)
	}
	h := &harness{logs: &testutil.Buffer{}}
	h.cfg.Store(cfg)
	tmp := t.TempDir()
	db, err := sqldb.Open(ctx, filepath.Join(tmp, "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	h.db = db
	h.store, err = store.New(db, store.Options{Root: filepath.Join(tmp, "mail"), Hostname: "mx.test"})
	if err != nil {
		t.Fatal(err)
	}
	h.dir = directory.New(db)
	if err := h.dir.AddDomain(ctx, directory.Domain{Name: "example.org", Active: true}); err != nil {
		t.Fatal(err)
	}
	hashed := testutil.SecretHash(t)
	for _, mb := range []directory.Mailbox{
		{Username: "alice@example.org", PasswordHash: hashed, Active: true},
		{Username: "bob@example.org", PasswordHash: hashed, Active: true, Quota: 1 << 20},
	} {
		if _, err := h.dir.AddMailbox(ctx, mb); err != nil {
			t.Fatal(err)
		}
		// As `mailwarden user add` does: clients such as mbsync pick
		// SCRAM-SHA-256 when it is offered.
		if err := h.dir.SetSCRAMKeys(ctx, mb.Username, hashed, scramKeys(t)); err != nil {
			t.Fatal(err)
		}
	}
	bus, log := mlog.New(h.logs, "mx", slog.LevelDebug)
	auth := login.New(h.dir, h.cfg.Load, mlog.Component(log, "auth"))
	var serverTLS *tls.Config
	serverTLS, h.clientTLS, h.caFile = testutil.LocalTLS(t)
	o := Options{Config: h.cfg.Load, Auth: auth, Store: h.store, Directory: h.dir, TLS: serverTLS, Events: bus, Logger: mlog.Component(log, "imap")}
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
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := h.srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		if err := <-h.done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return h
}

func (h *harness) account(user string) store.Account {
	mb, err := h.dir.Mailbox(context.Background(), user)
	if err != nil {
		panic(err)
	}
	return store.Account{Username: mb.Username, Maildir: mb.Maildir}
}

// deliver puts a message into a folder of alice's as SMTP would.
func (h *harness) deliver(t testing.TB, user, folder, msg string) {
	t.Helper()
	a := h.account(user)
	tg := store.Target{Username: a.Username, Maildir: a.Maildir, Folder: folder, DeliveredTo: a.Username}
	if _, err := h.store.Deliver(context.Background(), "sender@example.net", []store.Target{tg}, nil, memBody(msg)); err != nil {
		t.Fatal(err)
	}
}

// waitLog waits for a log line containing want.
func (h *harness) waitLog(t testing.TB, want string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if strings.Contains(h.logs.String(), want) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("log line %q not found in:\n%s", want, h.logs.String())
}

// client is a raw IMAP client for exact-response tests.
type client struct {
	t    testing.TB
	conn net.Conn
	br   *bufio.Reader
	n    int
}

func (h *harness) dial(t testing.TB) *client {
	t.Helper()
	conn, err := net.Dial("tcp", h.addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	c := &client{t: t, conn: conn, br: bufio.NewReader(conn)}
	c.conn.SetDeadline(time.Now().Add(30 * time.Second))
	if g := c.line(); !strings.HasPrefix(g, "* OK [CAPABILITY ") {
		t.Fatalf("greeting %q", g)
	}
	return c
}

// login dials and logs in as user.
func (h *harness) login(t testing.TB, user string) *client {
	c := h.dial(t)
	c.ok("LOGIN " + user + " " + testPass)
	return c
}

// line reads one response line; a literal is read into it, so that a
// response is one string with its CRLFs inside.
func (c *client) line() string {
	c.t.Helper()
	var b strings.Builder
	for {
		l, err := c.br.ReadString('\n')
		if err != nil {
			c.t.Fatalf("read: %v (got %q)", err, b.String()+l)
		}
		l = strings.TrimSuffix(l, "\r\n")
		b.WriteString(l)
		n, ok := literalSize(l)
		if !ok {
			return b.String()
		}
		buf := make([]byte, n)
		if _, err := io.ReadFull(c.br, buf); err != nil {
			c.t.Fatalf("read literal: %v", err)
		}
		b.WriteString("\r\n")
		b.Write(buf)
	}
}

func literalSize(l string) (int, bool) {
	if !strings.HasSuffix(l, "}") {
		return 0, false
	}
	i := strings.LastIndexByte(l, '{')
	if i < 0 {
		return 0, false
	}
	n, err := strconv.Atoi(l[i+1 : len(l)-1])
	return n, err == nil
}

func (c *client) send(s string) {
	c.t.Helper()
	if _, err := io.WriteString(c.conn, s+"\r\n"); err != nil {
		c.t.Fatal(err)
	}
}

// cmd sends a tagged command and returns the untagged lines and the
// tagged completion.
func (c *client) cmd(s string) (untagged []string, tagged string) {
	c.t.Helper()
	c.n++
	tag := "t" + strconv.Itoa(c.n)
	c.send(tag + " " + s)
	return c.until(tag)
}

// until reads responses up to the completion tagged tag.
func (c *client) until(tag string) (untagged []string, tagged string) {
	c.t.Helper()
	for {
		l := c.line()
		if strings.HasPrefix(l, tag+" ") {
			return untagged, strings.TrimPrefix(l, tag+" ")
		}
		untagged = append(untagged, l)
	}
}

// ok runs a command that must succeed and returns its untagged lines.
func (c *client) ok(s string) []string {
	c.t.Helper()
	u, tagged := c.cmd(s)
	if !strings.HasPrefix(tagged, "OK") {
		c.t.Fatalf("%s: %s (untagged %q)", s, tagged, u)
	}
	return u
}

// expect fails unless the responses equal want, untagged lines first and
// the tagged completion last (without tag).
func (c *client) expect(s string, want ...string) {
	c.t.Helper()
	u, tagged := c.cmd(s)
	got := append(u, tagged)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		c.t.Fatalf("%s:\ngot  %q\nwant %q", s, got, want)
	}
}

// appendMsg appends a message with a synchronizing literal.
func (c *client) appendMsg(folder, flags, msg string) string {
	c.t.Helper()
	c.n++
	tag := "t" + strconv.Itoa(c.n)
	c.send(tag + " APPEND " + folder + " " + flags + " {" + strconv.Itoa(len(msg)) + "}")
	if l := c.line(); !strings.HasPrefix(l, "+ ") {
		c.t.Fatalf("APPEND: got %q", l)
	}
	c.send(msg)
	_, tagged := c.until(tag)
	if !strings.HasPrefix(tagged, "OK") {
		c.t.Fatalf("APPEND: %s", tagged)
	}
	return tagged
}

func testMessage(i int) string {
	return "From: Alice <alice@example.org>\r\nTo: bob@example.org\r\nSubject: test " + strconv.Itoa(i) +
		"\r\nDate: Mon, 7 Feb 2022 21:52:25 -0800\r\nMessage-ID: <" + strconv.Itoa(i) + "@example.org>\r\n\r\nHello " + strconv.Itoa(i) + "\r\n"
}

// mpid is the ", mpid=N" of Login lines: the server runs in this process.
var mpid = ", mpid=" + strconv.Itoa(os.Getpid())
