package queue

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"mailwarden/internal/mlog"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"mailwarden/internal/config"
	"mailwarden/internal/dnsx/dnstest"
	"mailwarden/internal/envelope"
	"mailwarden/internal/sqldb"
	"mailwarden/internal/testutil"
)

func newQueue(t *testing.T) *Queue {
	t.Helper()
	dir := t.TempDir()
	db, err := sqldb.Open(context.Background(), filepath.Join(dir, "test.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	q, err := New(db, filepath.Join(dir, "queue"), false)
	if err != nil {
		t.Fatal(err)
	}
	return q
}

const testBody = "From: a@sender.test\r\nTo: b@example.net\r\nSubject: hello\r\n\r\nHello there.\r\n"

// enqueue queues testBody from sender to rcpts (kind remote unless given
// as "kind:addr").
func enqueue(t *testing.T, q *Queue, sender string, arrival time.Time, rcpts ...string) string {
	t.Helper()
	var rs []Rcpt
	for _, r := range rcpts {
		kind, addr, ok := strings.Cut(r, ":")
		if !ok {
			kind, addr = KindRemote, r
		}
		rs = append(rs, Rcpt{Address: addr, Kind: kind})
	}
	return enqueueRcpts(t, q, sender, arrival, rs...)
}

// enqueueRcpts queues testBody from sender to rs.
func enqueueRcpts(t *testing.T, q *Queue, sender string, arrival time.Time, rs ...Rcpt) string {
	t.Helper()
	env := &envelope.Envelope{ID: envelope.NewID(), From: sender, Received: arrival}
	if err := q.Enqueue(context.Background(), env, []byte("Received: test\r\n"), bytesBody(testBody), rs); err != nil {
		t.Fatal(err)
	}
	return env.ID
}

// clock is a settable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// sink is a remote MX: it records messages and answers RCPT by rule.
type sink struct {
	mu       sync.Mutex
	msgs     []sunk
	rcptErr  map[string]*smtp.SMTPError
	hold     time.Duration   // how long DATA takes
	cur, top int             // concurrent sessions in DATA, and the most seen
	onRcpt   func(to string) // called at each RCPT before it is answered
}

type sunk struct {
	From  string
	Rcpts []string
	Body  string
}

func (s *sink) setRcptErr(addr string, e *smtp.SMTPError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.rcptErr == nil {
		s.rcptErr = map[string]*smtp.SMTPError{}
	}
	if e == nil {
		delete(s.rcptErr, addr)
	} else {
		s.rcptErr[addr] = e
	}
}

func (s *sink) messages() []sunk {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]sunk(nil), s.msgs...)
}

func (s *sink) NewSession(*smtp.Conn) (smtp.Session, error) { return &sinkSession{s: s}, nil }

type sinkSession struct {
	s   *sink
	cur sunk
}

func (ss *sinkSession) Reset()        { ss.cur = sunk{} }
func (ss *sinkSession) Logout() error { return nil }
func (ss *sinkSession) Mail(from string, _ *smtp.MailOptions) error {
	ss.cur.From = from
	return nil
}

func (ss *sinkSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.s.mu.Lock()
	hook := ss.s.onRcpt
	ss.s.mu.Unlock()
	if hook != nil {
		hook(to)
	}
	ss.s.mu.Lock()
	e := ss.s.rcptErr[to]
	ss.s.mu.Unlock()
	if e != nil {
		return e
	}
	ss.cur.Rcpts = append(ss.cur.Rcpts, to)
	return nil
}

func (ss *sinkSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	ss.s.mu.Lock()
	ss.s.cur++
	ss.s.top = max(ss.s.top, ss.s.cur)
	hold := ss.s.hold
	ss.s.mu.Unlock()
	time.Sleep(hold)
	ss.s.mu.Lock()
	ss.s.cur--
	ss.cur.Body = string(b)
	ss.s.msgs = append(ss.s.msgs, ss.cur)
	ss.s.mu.Unlock()
	return nil
}

func reply(code int, text string) *smtp.SMTPError {
	return &smtp.SMTPError{Code: code, EnhancedCode: smtp.EnhancedCode{code / 100, 1, 1}, Message: text}
}

// env is a runner test setup: a queue, a sink MX for example.net on
// 127.0.0.2, DNS and a fake clock.
type env struct {
	q     *Queue
	sink  *sink
	dns   *dnstest.Server
	clock *clock
	log   *testutil.Buffer
	cfg   *config.Config
	port  int
	wire  *testutil.Buffer // every byte the sink read, as sent
}

// teeListener copies what its connections read into wire.
type teeListener struct {
	net.Listener
	wire io.Writer
}

func (l teeListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return teeConn{c, l.wire}, nil
}

type teeConn struct {
	net.Conn
	wire io.Writer
}

func (c teeConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.wire.Write(p[:n])
	return n, err
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &sink{}
	srv := smtp.NewServer(s)
	srv.Domain = "mx.example.net"
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	wire := &testutil.Buffer{}
	go func() { _ = srv.Serve(teeListener{ln, wire}) }()
	t.Cleanup(func() { _ = srv.Close() })
	d := dnstest.New(t, `
example.net. MX 10 mx.example.net.
mx.example.net. A 127.0.0.2
sender.test. MX 10 mx.example.net.
`)
	cfg := config.Default()
	cfg.Hostname = "mail.local.test"
	cfg.Outbound.SMTPPort = ln.Addr().(*net.TCPAddr).Port
	cfg.Outbound.TLS = "none"
	cfg.Outbound.ConnectTimeout = config.Duration(2 * time.Second)
	return &env{q: newQueue(t), sink: s, dns: d, clock: &clock{t: time.Now()}, log: &testutil.Buffer{}, cfg: cfg,
		port: ln.Addr().(*net.TCPAddr).Port, wire: wire}
}

func (e *env) options() RunnerOptions {
	bus, lg := mlog.New(e.log, "mx", slog.LevelDebug)
	return RunnerOptions{
		Config:       func() *config.Config { return e.cfg },
		Resolver:     e.dns.Resolver(),
		Logger:       lg,
		Events:       bus,
		Now:          e.clock.Now,
		PollInterval: 20 * time.Millisecond,
	}
}

// start runs a runner until the test ends.
func (e *env) start(t *testing.T, o RunnerOptions) *Runner {
	r := NewRunner(e.q, o)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return r
}

// waitFor polls cond for up to 10 seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func entries(t *testing.T, q *Queue) []Entry {
	t.Helper()
	es, err := q.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return es
}

// rcptState returns a recipient's status in message id ("" when gone).
func rcptState(t *testing.T, q *Queue, id, addr string) Rcpt {
	t.Helper()
	for _, e := range entries(t, q) {
		if e.ID != id {
			continue
		}
		for _, r := range e.Rcpts {
			if r.Address == addr {
				return r
			}
		}
	}
	return Rcpt{}
}

func readAll(t *testing.T, r io.Reader) string {
	t.Helper()
	var b bytes.Buffer
	if _, err := io.Copy(&b, r); err != nil {
		t.Fatal(err)
	}
	return b.String()
}
