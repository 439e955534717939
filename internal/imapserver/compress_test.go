package imapserver

import (
	"bufio"
	"bytes"
	"compress/flate"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"reflect"
	"strings"
	"testing"
	"time"

	"mailwarden/internal/config"
)

// TestCompressImaplib: COMPRESS=DEFLATE (RFC 4978) inside STARTTLS with
// Python's imaplib over a zlib-wrapped socket, the client ending its
// bursts with sync flushes (imaplib2, offlineimap) or partial flushes
// (mbsync): APPEND, SELECT, FETCH, SEARCH, five pipelined commands and
// IDLE with new mail arriving all work through the compressed stream, a
// second COMPRESS is refused, and the 11 KB message crosses the wire in
// far fewer bytes both ways.
func TestCompressImaplib(t *testing.T) {
	if _, err := os.Stat(python); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s not installed", python)
		}
		t.Skipf("%s not installed", python)
	}
	for _, flush := range []string{"sync", "partial"} {
		t.Run(flush, func(t *testing.T) {
			h := start(t, func(c *config.Config) { c.Auth.AllowPlaintextLoopback = false })
			before := compressedSessions.Load()
			res := runCompressClient(t, h, flush)
			if n := compressedSessions.Load() - before; n != 1 {
				t.Errorf("%d sessions compressed, want 1", n)
			}
			if !strings.Contains(res["caps"].(string), "COMPRESS=DEFLATE") {
				t.Errorf("caps %q", res["caps"])
			}
			want := map[string]any{
				"unknown":  "COMPRESS command error: BAD [b'Unknown compression mechanism.']",
				"compress": []any{"OK", "DEFLATE active"},
				"append":   "OK", "select": "1", "body_ok": true, "search": "1",
				"again": []any{"NO", "[COMPRESSIONACTIVE] DEFLATE is active already."},
				"pipelined": []any{"p0 OK Noop completed.", "p1 OK Fetch completed.", "p2 OK Store completed.",
					"* SEARCH 1", "p3 OK Search completed.", "p4 OK Check completed."},
				"idle_start": "+ idling",
				"idle_push":  []any{"* 2 EXISTS", "* 2 RECENT"},
				"idle_done":  "i OK Idle completed.",
				"noop":       "OK",
			}
			for k, w := range want {
				if got := res[k]; !reflect.DeepEqual(got, w) {
					t.Errorf("%s: got %#v, want %#v", k, got, w)
				}
			}
			// The message went up compressed and came back compressed.
			msg := res["msg"].(float64)
			if out := res["raw_out"].(float64); out > msg/4 {
				t.Errorf("client sent %v bytes for a %v-byte message and a few commands", out, msg)
			}
			if in := res["raw_in"].(float64); in > msg/4 {
				t.Errorf("client received %v bytes for a %v-byte message and a few responses", in, msg)
			}
		})
	}
}

// runCompressClient runs testdata/compress_client.py, delivering a
// message to alice's INBOX while the client is in IDLE.
func runCompressClient(t *testing.T, h *harness, flush string) map[string]any {
	t.Helper()
	host, port, _ := net.SplitHostPort(h.addr)
	cmd := exec.CommandContext(t.Context(), python, "testdata/compress_client.py", host, port, h.caFile,
		"alice@example.org", testPass, flush)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var errText strings.Builder
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		errText.WriteString(sc.Text() + "\n")
		if sc.Text() == "idling" {
			h.deliver(t, "alice@example.org", "INBOX", testMessage(1))
			io.WriteString(stdin, "go\n")
		}
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("compress_client.py %s: %v\n%s\n%s\nserver log:\n%s", flush, err, stdout.String(), errText.String(), h.logs.String())
	}
	var res map[string]any
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		t.Fatalf("%q: %v", stdout.String(), err)
	}
	return res
}

// zclient is a test client on a compressed connection.
type zclient struct {
	t    testing.TB
	conn net.Conn
	bw   *bufio.Writer // the compressed burst, written at once
	fw   *flate.Writer
	zr   *bufio.Reader
}

func compressClient(t testing.TB, c *client) *zclient {
	t.Helper()
	c.expect("COMPRESS DEFLATE", "OK DEFLATE active")
	// compress/flate writes a flush in pieces; a server that has all it
	// needs from the first (LOGOUT) may close before the last arrives,
	// and the client's write then fails. A client writes a burst at once.
	bw := bufio.NewWriterSize(c.conn, 64<<10)
	fw, _ := flate.NewWriter(bw, flate.BestSpeed)
	return &zclient{t: t, conn: c.conn, bw: bw, fw: fw, zr: bufio.NewReader(flate.NewReader(c.br))}
}

// send writes lines as one burst, sync-flushed.
func (z *zclient) send(lines ...string) {
	z.t.Helper()
	for _, l := range lines {
		fmt.Fprintf(z.fw, "%s\r\n", l)
	}
	if err := z.fw.Flush(); err != nil {
		z.t.Fatal(err)
	}
	if err := z.bw.Flush(); err != nil {
		z.t.Fatal(err)
	}
}

func (z *zclient) line() string {
	z.t.Helper()
	z.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	l, err := z.zr.ReadString('\n')
	if err != nil {
		z.t.Fatalf("read: %v", err)
	}
	return strings.TrimSuffix(l, "\r\n")
}

// until reads lines up to the one starting with prefix, and returns them.
func (z *zclient) until(prefix string) []string {
	z.t.Helper()
	var ls []string
	for {
		l := z.line()
		ls = append(ls, l)
		if strings.HasPrefix(l, prefix) {
			return ls
		}
	}
}

// TestCompressIdle: a compressed session in IDLE is told of new mail at
// once (each burst of responses is sync-flushed).
func TestCompressIdle(t *testing.T) {
	h := start(t, nil)
	z := compressClient(t, h.login(t, "alice@example.org"))
	z.send("s SELECT INBOX")
	z.until("s OK")
	z.send("i IDLE")
	if l := z.line(); l != "+ idling" {
		t.Fatalf("got %q", l)
	}
	h.deliver(t, "alice@example.org", "INBOX", testMessage(1))
	if l := z.line(); l != "* 1 EXISTS" {
		t.Fatalf("got %q", l)
	}
	if l := z.line(); l != "* 1 RECENT" {
		t.Fatalf("got %q", l)
	}
	z.send("DONE")
	if l := z.line(); l != "i OK Idle completed." {
		t.Fatalf("got %q", l)
	}
	z.send("f FETCH 1 (FLAGS)")
	if l := z.line(); l != `* 1 FETCH (FLAGS (\Recent))` {
		t.Fatalf("got %q", l)
	}
}

// TestCompressStates: where COMPRESS is allowed and what it answers
// (RFC 4978 3).
func TestCompressStates(t *testing.T) {
	h := start(t, nil)
	// Before login without TLS: not offered, refused.
	c := h.dial(t)
	if u, _ := c.cmd("CAPABILITY"); strings.Contains(u[0], "COMPRESS") {
		t.Errorf("offered before login without TLS: %q", u[0])
	}
	c.expect("COMPRESS DEFLATE", "BAD COMPRESS before login needs TLS.")
	c.expect("COMPRESS", "BAD missing argument")
	// After login: unknown mechanisms are BAD, DEFLATE once.
	c.expect("LOGIN alice@example.org "+testPass, "OK [CAPABILITY "+postAuthCaps+"] Logged in")
	c.expect("COMPRESS X-LZ4", "BAD Unknown compression mechanism.")
	z := compressClient(t, c)
	z.send("a COMPRESS DEFLATE")
	if l := z.line(); l != "a NO [COMPRESSIONACTIVE] DEFLATE is active already." {
		t.Fatalf("got %q", l)
	}
	z.send("b LOGOUT")
	if ls := z.until("b "); !reflect.DeepEqual(ls, []string{"* BYE Logging out", "b OK Logout completed."}) {
		t.Fatalf("got %q", ls)
	}
	h.waitLog(t, "imap(alice@example.org): Logged out in=")
}

// TestCompressInsideTLS: after STARTTLS, COMPRESS before login is
// allowed; LOGIN and the rest then run compressed inside TLS (RFC 4978
// 3's example).
func TestCompressInsideTLS(t *testing.T) {
	h := start(t, func(c *config.Config) { c.Auth.AllowPlaintextLoopback = false })
	c := h.dial(t)
	c.expect("STARTTLS", "OK Begin TLS negotiation now.")
	tc := tls.Client(c.conn, h.clientTLS)
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	c.conn, c.br = tc, bufio.NewReader(tc)
	if u, _ := c.cmd("CAPABILITY"); !strings.Contains(u[0], " COMPRESS=DEFLATE") {
		t.Fatalf("not offered inside TLS: %q", u[0])
	}
	z := compressClient(t, c)
	z.send("l LOGIN alice@example.org "+testPass, "s SELECT INBOX", "n NOOP")
	z.until("l OK")
	z.until("s OK")
	if l := z.line(); l != "n OK Noop completed." {
		t.Fatalf("got %q", l)
	}
}

// TestCompressInvalidInput: garbage after COMPRESS ends the session, with
// the reason logged.
func TestCompressInvalidInput(t *testing.T) {
	h := start(t, nil)
	c := h.login(t, "alice@example.org")
	c.expect("COMPRESS DEFLATE", "OK DEFLATE active")
	c.conn.Write([]byte{0xff, 0xff, 0xff, 0xff}) // block type 3: reserved
	c.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	io.Copy(io.Discard, c.br)
	h.waitLog(t, "Invalid compressed data in=")
}

// FuzzCompressedSession feeds arbitrary commands to a logged-in session
// with a mailbox selected, through COMPRESS DEFLATE: the input is
// compressed with a sync flush every step bytes (its first byte), so the
// inflater's units are cut at every place. The server must neither panic
// nor hang. (FuzzSession has seeds that send garbage after COMPRESS.)
func FuzzCompressedSession(f *testing.F) {
	seeds := []string{
		"\x01a NOOP\r\nb FETCH 1:* (FLAGS UID ENVELOPE)",
		"\x07a IDLE\r\nDONE\r\nb COMPRESS DEFLATE\r\nc CAPABILITY",
		"\x40a APPEND INBOX {20}\r\nSubject: x\r\n\r\nbody\r\n\r\nb SEARCH TEXT body",
		"\x00a STORE 1:* +FLAGS (\\Seen)\r\nb UID FETCH 1:* (BODY.PEEK[])\r\nc EXPUNGE",
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	h := start(f, nil)
	for i := range 3 {
		h.deliver(f, "alice@example.org", "INBOX", testMessage(i))
	}
	f.Fuzz(func(t *testing.T, input []byte) {
		if len(input) < 1 || len(input) > 4096 {
			return
		}
		step := max(int(input[0]), 1)
		conn, err := net.Dial("tcp", h.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(20 * time.Second))
		io.WriteString(conn, "l LOGIN alice@example.org secret\r\ns SELECT INBOX\r\nz COMPRESS DEFLATE\r\n")
		// Wait for the tagged OK: compressed input must not arrive
		// before it (RFC 4978 3).
		br := bufio.NewReader(conn)
		for {
			l, err := br.ReadString('\n')
			if err != nil {
				t.Fatalf("before COMPRESS: %v", err)
			}
			if strings.HasPrefix(l, "z ") {
				break
			}
		}
		done := make(chan error, 1)
		go func() {
			_, err := io.Copy(io.Discard, br)
			done <- err
		}()
		fw, _ := flate.NewWriter(conn, flate.BestSpeed)
		data := append(input[1:], "\r\nDONE\r\ny LOGOUT\r\n"...)
		for len(data) > 0 {
			n := min(step, len(data))
			fw.Write(data[:n])
			fw.Flush()
			data = data[n:]
		}
		conn.(*net.TCPConn).CloseWrite()
		// The session ends (the server may reset the connection when it
		// ends with input unread); only a timeout is a hang.
		var ne net.Error
		if err := <-done; errors.As(err, &ne) && ne.Timeout() {
			t.Fatalf("session did not end: %v", err)
		}
		if strings.Contains(h.logs.String(), "panic") {
			t.Fatalf("panic:\n%s", h.logs.String())
		}
	})
}

// BenchmarkCompressIdleHeap measures the heap a session keeps in IDLE
// with a 10,000-message INBOX selected, plain and after COMPRESS DEFLATE
// (compressors are pooled, so an idle compressed session keeps only its
// inflater and small buffers), each mode on a server of its own where one
// session selected the INBOX first (what sessions share is not counted).
// The client's compressor is shared and its inflaters dropped before the
// heap is read.
//
//	go test -run '^$' -bench CompressIdleHeap -benchtime 1x ./internal/imapserver/
func BenchmarkCompressIdleHeap(b *testing.B) {
	for _, compress := range []bool{false, true} {
		b.Run(fmt.Sprintf("compress=%v", compress), func(b *testing.B) { benchIdleHeap(b, compress) })
	}
}

func benchIdleHeap(b *testing.B, compress bool) {
	const msgs, sessions = 10000, 100
	h := start(b, func(c *config.Config) {
		c.IMAP.MaxConnections = 10 * sessions
		c.IMAP.MaxConnectionsPerIP = 10 * sessions
	})
	h.importINBOX(b, msgs)
	fw, _ := flate.NewWriter(nil, flate.BestSpeed)
	idle := func(n int) (conns []net.Conn) {
		for range n {
			c, err := net.Dial("tcp", h.addr)
			if err != nil {
				b.Fatal(err)
			}
			conns = append(conns, c)
			c.SetDeadline(time.Now().Add(time.Minute))
			br := bufio.NewReaderSize(c, 512)
			if _, err := br.ReadString('\n'); err != nil { // the greeting, of any length
				b.Fatal(err)
			}
			rawCmd(b, c, br, "a", "LOGIN alice@example.org "+testPass)
			r := br
			if compress {
				rawCmd(b, c, br, "z", "COMPRESS DEFLATE")
				fw.Reset(c)
				fmt.Fprintf(fw, "b SELECT INBOX\r\nc IDLE\r\n")
				fw.Flush()
				r = bufio.NewReader(flate.NewReader(br))
			} else {
				fmt.Fprintf(c, "b SELECT INBOX\r\nc IDLE\r\n")
			}
			for l := ""; !strings.HasPrefix(l, "+ "); {
				s, err := r.ReadString('\n')
				if err != nil {
					b.Fatal(err)
				}
				l = s
			}
		}
		return conns
	}
	for range b.N {
		first := idle(1)
		base := heapInUse()
		conns := idle(sessions)
		b.ReportMetric((float64(heapInUse())-float64(base))/sessions, "B/session")
		for _, c := range append(first, conns...) {
			c.Close()
		}
	}
}
