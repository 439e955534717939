package smtpclient

import (
	"bufio"
	"fmt"
	"net"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeConfig scripts a fakeServer. Reply lines are complete ("250 2.1.5 ok").
type fakeConfig struct {
	ext  []string // EHLO keywords
	lmtp bool
	// group makes the server read MAIL, the RCPTs and DATA before it
	// answers any of them: a client that does not pipeline stalls, and
	// that is recorded as a violation.
	group bool
	// lockstep records a violation when a command arrives before the
	// reply to the previous one was sent.
	lockstep bool
	rcpt     map[string]string // reply to RCPT by address; default 250
	lmtpEnd  map[string]string // LMTP reply after the dot by address; default 250
	data     string            // reply to DATA; default 354, or 554 with no recipient
	rset     string            // reply to RSET; default 250
	mail     func(conn, msg int) string
	// closeAfter closes a connection (without a word) after that many
	// messages; 0 never.
	closeAfter int
	// smallBuffers shrinks the server's socket buffers, so a client that
	// writes all commands before reading any reply deadlocks.
	smallBuffers bool
	// unix listens on a unix socket (fixed buffers, no TCP autotuning).
	unix bool
	// lenient ends a line of DATA at CRLF, at a bare LF and at a bare CR,
	// as the servers that SMTP smuggling abuses do, and keeps the bytes
	// as they came in fakeMsg.raw.
	lenient bool
}

type fakeMsg struct {
	conn  int
	from  string
	rcpts []string
	body  string
	raw   string // with lenient: DATA as sent, final dot included
}

// fakeServer is a scripted SMTP/LMTP server on 127.0.0.1 that records
// what it receives, for the tests that need to see the wire.
type fakeServer struct {
	cfg  fakeConfig
	ln   net.Listener
	port int    // TCP
	path string // unix
	wg   sync.WaitGroup

	mu         sync.Mutex
	conns      int
	msgs       []fakeMsg
	cmds       map[int][]string // commands received, by connection
	violations []string
	quits      int
	open       map[net.Conn]bool
}

func newFake(t *testing.T, cfg fakeConfig) *fakeServer {
	t.Helper()
	network, addr := "tcp", "127.0.0.1:0"
	if cfg.unix {
		network, addr = "unix", filepath.Join(t.TempDir(), "fake.sock")
	}
	ln, err := net.Listen(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeServer{cfg: cfg, ln: ln, cmds: map[int][]string{}, open: map[net.Conn]bool{}}
	if cfg.unix {
		f.path = addr
	} else {
		f.port = ln.Addr().(*net.TCPAddr).Port
	}
	f.wg.Go(f.accept)
	t.Cleanup(f.close)
	return f
}

func (f *fakeServer) close() {
	f.ln.Close()
	f.mu.Lock()
	for c := range f.open {
		c.Close()
	}
	f.mu.Unlock()
	f.wg.Wait()
}

func (f *fakeServer) accept() {
	for {
		c, err := f.ln.Accept()
		if err != nil {
			return
		}
		if f.cfg.smallBuffers {
			bc := c.(interface {
				SetReadBuffer(int) error
				SetWriteBuffer(int) error
			})
			_ = bc.SetReadBuffer(4096)
			_ = bc.SetWriteBuffer(4096)
		}
		f.mu.Lock()
		f.conns++
		id := f.conns
		f.open[c] = true
		f.mu.Unlock()
		f.wg.Go(func() {
			defer func() {
				f.mu.Lock()
				delete(f.open, c)
				f.mu.Unlock()
				c.Close()
			}()
			s := &fakeSession{f: f, id: id, c: c, br: bufio.NewReader(c)}
			s.run()
		})
	}
}

func (f *fakeServer) violation(format string, args ...any) {
	f.mu.Lock()
	f.violations = append(f.violations, fmt.Sprintf(format, args...))
	f.mu.Unlock()
}

// snapshot returns copies of what was recorded.
func (f *fakeServer) snapshot() (conns int, msgs []fakeMsg, cmds map[int][]string, violations []string, quits int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	cmds = map[int][]string{}
	for k, v := range f.cmds {
		cmds[k] = append([]string(nil), v...)
	}
	return f.conns, append([]fakeMsg(nil), f.msgs...), cmds, append([]string(nil), f.violations...), f.quits
}

// hop is the fake server as an explicit next hop.
func (f *fakeServer) hop() Hop {
	if f.path != "" {
		return Hop{Unix: f.path, LMTP: f.cfg.lmtp}
	}
	return Hop{Host: "[127.0.0.1]", Port: f.port, NoMX: true, LMTP: f.cfg.lmtp}
}

type fakeSession struct {
	f     *fakeServer
	id    int
	c     net.Conn
	br    *bufio.Reader
	cur   *fakeMsg
	nmsgs int
}

func (s *fakeSession) readLine() (string, error) {
	_ = s.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	l, err := s.br.ReadString('\n')
	return strings.TrimRight(l, "\r\n"), err
}

func (s *fakeSession) write(lines ...string) bool {
	_ = s.c.SetWriteDeadline(time.Now().Add(10 * time.Second))
	_, err := s.c.Write([]byte(strings.Join(lines, "\r\n") + "\r\n"))
	return err == nil
}

func (s *fakeSession) record(cmd string) {
	s.f.mu.Lock()
	s.f.cmds[s.id] = append(s.f.cmds[s.id], cmd)
	s.f.mu.Unlock()
}

// early reports whether the client sent more before our reply.
func (s *fakeSession) early() bool {
	if !s.f.cfg.lockstep {
		return false
	}
	time.Sleep(20 * time.Millisecond)
	_ = s.c.SetReadDeadline(time.Now().Add(time.Millisecond))
	_, err := s.br.Peek(1)
	return err == nil
}

func (s *fakeSession) run() {
	if !s.write("220 fake.test ESMTP") {
		return
	}
	for {
		line, err := s.readLine()
		if err != nil {
			return
		}
		group := []string{line}
		if s.f.cfg.group && strings.HasPrefix(strings.ToUpper(line), "MAIL") {
			// Wait for the whole pipelined group (RFC 2920 3.1: DATA ends it).
			for !strings.EqualFold(group[len(group)-1], "DATA") {
				_ = s.c.SetReadDeadline(time.Now().Add(3 * time.Second))
				l, err := s.br.ReadString('\n')
				if err != nil {
					s.f.violation("conn %d: client did not pipeline (after %q: %v)", s.id, group, err)
					break
				}
				group = append(group, strings.TrimRight(l, "\r\n"))
			}
		}
		for _, cmd := range group {
			s.record(cmd)
			if s.early() {
				s.f.violation("conn %d: command sent before the reply to %q", s.id, cmd)
			}
			if !s.handle(cmd) {
				return
			}
		}
	}
}

// handle answers one command; false ends the connection.
func (s *fakeSession) handle(cmd string) bool {
	cfg := &s.f.cfg
	verb, arg, _ := strings.Cut(cmd, " ")
	switch strings.ToUpper(verb) {
	case "EHLO", "LHLO":
		lines := []string{"250-fake.test"}
		for _, e := range cfg.ext {
			lines = append(lines, "250-"+e)
		}
		lines[len(lines)-1] = "250 " + lines[len(lines)-1][4:]
		return s.write(lines...)
	case "HELO":
		return s.write("250 fake.test")
	case "RSET":
		s.cur = nil
		r := or(cfg.rset, "250 2.0.0 ok")
		if !s.write(r) {
			return false
		}
		return !strings.HasPrefix(r, "421")
	case "NOOP":
		return s.write("250 2.0.0 ok")
	case "QUIT":
		s.f.mu.Lock()
		s.f.quits++
		s.f.mu.Unlock()
		s.write("221 2.0.0 bye")
		return false
	case "MAIL":
		if s.cur != nil {
			s.f.violation("conn %d: nested MAIL", s.id)
			return s.write("503 5.5.1 nested MAIL")
		}
		if cfg.mail != nil {
			if r := cfg.mail(s.id, s.nmsgs); r != "" {
				s.write(r)
				return !strings.HasPrefix(r, "421")
			}
		}
		s.cur = &fakeMsg{conn: s.id, from: arg}
		return s.write("250 2.1.0 ok")
	case "RCPT":
		if s.cur == nil {
			return s.write("503 5.5.1 need MAIL")
		}
		addr := strings.TrimPrefix(arg, "TO:<")
		addr, _, _ = strings.Cut(addr, ">")
		r := or(cfg.rcpt[addr], "250 2.1.5 ok")
		if strings.HasPrefix(r, "2") {
			s.cur.rcpts = append(s.cur.rcpts, addr)
		}
		return s.write(r)
	case "DATA":
		return s.data()
	}
	return s.write("500 5.5.2 unknown command")
}

func (s *fakeSession) data() bool {
	cfg := &s.f.cfg
	r := cfg.data
	switch {
	case r != "":
	case s.cur == nil || len(s.cur.rcpts) == 0:
		r = "554 5.5.1 no valid recipients"
	default:
		r = "354 go ahead"
	}
	if !s.write(r) {
		return false
	}
	if !strings.HasPrefix(r, "354") {
		s.cur = nil
		return true
	}
	var body, raw strings.Builder
	for {
		var l string
		var err error
		if cfg.lenient {
			l, err = s.readLenient(&raw)
		} else {
			l, err = s.readLine()
		}
		if err != nil {
			return false
		}
		if l == "." {
			break
		}
		body.WriteString(strings.TrimPrefix(l, ".") + "\r\n")
	}
	m := s.cur
	if m == nil {
		m = &fakeMsg{conn: s.id}
	}
	s.cur = nil
	m.body, m.raw = body.String(), raw.String()
	s.f.mu.Lock()
	s.f.msgs = append(s.f.msgs, *m)
	s.f.mu.Unlock()
	s.nmsgs++
	if cfg.lmtp {
		var lines []string
		for _, rc := range m.rcpts {
			lines = append(lines, or(cfg.lmtpEnd[rc], "250 2.0.0 <"+rc+"> delivered"))
		}
		if len(lines) > 0 && !s.write(lines...) {
			return false
		}
	} else if !s.write("250 2.0.0 queued as Q" + fmt.Sprint(s.nmsgs)) {
		return false
	}
	return cfg.closeAfter == 0 || s.nmsgs < cfg.closeAfter
}

// readLenient reads a line ended by CRLF, LF or CR, adding its bytes to
// raw.
func (s *fakeSession) readLenient(raw *strings.Builder) (string, error) {
	_ = s.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	var l strings.Builder
	for {
		c, err := s.br.ReadByte()
		if err != nil {
			return l.String(), err
		}
		raw.WriteByte(c)
		switch c {
		case '\n':
			return l.String(), nil
		case '\r':
			if next, err := s.br.Peek(1); err == nil && next[0] == '\n' {
				s.br.ReadByte()
				raw.WriteByte('\n')
			}
			return l.String(), nil
		}
		l.WriteByte(c)
	}
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// noLeaks fails the test when goroutines of the package (not of its
// tests) are still running once the test and its cleanups are done.
// Register it first: cleanups run last-in first-out.
func noLeaks(t *testing.T) {
	t.Cleanup(func() {
		var left []string
		for range 200 {
			left = leaked()
			if len(left) == 0 {
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
		t.Errorf("goroutines left behind:\n%s", strings.Join(left, "\n\n"))
	})
}

func leaked() []string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var out []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		for _, l := range strings.Split(g, "\n") {
			l = strings.TrimSpace(l)
			if strings.Contains(l, "/internal/smtpclient/") && !strings.Contains(l, "_test.go") {
				out = append(out, g)
				break
			}
		}
	}
	return out
}
